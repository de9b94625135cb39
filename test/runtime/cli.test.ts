// The sinkrt CLI as a user runs it: the compiled bin (npm test builds first) in a child process.
// serve: a small serving run, JSON out, every request served and the reference check passed;
// conformance: one shape on the CPU backend; info: backends with reasons; bad flags: exit 2 with the
// flag, the rule and the value.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuSkipReason } from './fixtures.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const cpuSkip = await cpuSkipReason();
const skip = !existsSync(BIN) ? `${BIN} not built (npm run build)` : cpuSkip;

function sinkrt(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON document in stdout (Dawn may print warnings before it). */
function json(stdout: string): any {
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

describe.skipIf(skip !== null)(`sinkrt CLI${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('serve --json: every request served, sampled steps match the reference', () => {
    const r = sinkrt('serve', '--backend', 'cpu', '--layers', '2', '--requests', '10', '--max-prompt', '300', '--check-every', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out.backend).toBe('cpu');
    expect(out.requests).toBe(10);
    expect(out.check.layers).toBeGreaterThan(0);
    expect(out.check.failed).toBe(0);
    expect(out.tokens.generated).toBeGreaterThan(10);
    expect(out.throughput.tokensPerSecond).toBeGreaterThan(0);
    expect(out.latencyMs.ttft.p50).toBeGreaterThan(0);
    // Throughput is measured over serving time: the wall time less the reference checks.
    expect(out.checkSeconds).toBeGreaterThan(0);
    expect(out.servingSeconds).toBeCloseTo(out.wallSeconds - out.checkSeconds, 1);
    expect(out.throughput.tokensPerSecond).toBeCloseTo(out.tokens.processed / out.servingSeconds, 6);
  });

  it('serve prints the tables, and the progress bar goes to stderr only', () => {
    const r = sinkrt('serve', '--backend', 'cpu', '--layers', '1', '--requests', '4', '--max-prompt', '200');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('time to first token');
    expect(r.stdout).toContain('reference check: PASS');
    expect(r.stdout).not.toContain('serve: ');
    expect(r.stderr).toContain('serve: 4/4'); // not a TTY: one plain line per 10%
  });

  it('conformance on one shape', () => {
    const r = sinkrt('conformance', '--backend', 'cpu', '--shapes', 'decode-mqa-small-sinks', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out.results).toHaveLength(1);
    expect(out.results[0].pass).toBe(true);
  });

  it('info lists every backend with a reason', () => {
    const r = sinkrt('info', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out.backends.map((b: { name: string }) => b.name)).toEqual(['rocm', 'webgpu', 'cpu']);
    for (const b of out.backends) expect(b.reason.length).toBeGreaterThan(0);
    expect(out.backends.find((b: { name: string }) => b.name === 'cpu').available).toBe(true);
  });

  it('bad flags exit 2 naming the flag, the rule and the value', () => {
    let r = sinkrt('serve', '--layers', 'many');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--layers = "many" must be a number');
    r = sinkrt('serve', '--colour');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flag --colour must be one of');
    r = sinkrt('serve', '--backend', 'cpu', '--layers', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('model.numLayers = 0 must be in [1, 4096]');
    r = sinkrt('conformance', '--backend', 'tpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--backend = "tpu" must be one of');
    r = sinkrt('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be serve, conformance or info');
  });
});
