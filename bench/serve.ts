// The serving run (`sinkrt serve`) on every backend that starts here, with the same seeded trace,
// model and scheduler, as a child process each (a fresh process per backend, so one backend's
// memory or GPU state cannot slow another). The baseline is the CPU backend in the same run; the
// ratio is each backend's processed tokens/s over the CPU's. Also records the load average, because
// the 2-core team machine is shared and wall-clock figures move with it.
// Usage: node dist/bench/serve.js [--quick] [--backends cpu,webgpu]
//   (prints a table, writes bench/results/serve-<machine>-<yyyymmdd>.json)

import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'src', 'cli', 'main.js');
const quick = process.argv.includes('--quick');
const bi = process.argv.indexOf('--backends');
const backends = bi > 0 ? process.argv[bi + 1].split(',') : ['cpu', 'webgpu', 'rocm'];
const flags = quick ? ['--layers', '2', '--requests', '12'] : ['--layers', '4', '--requests', '48'];

interface ServeJson {
  backend: string;
  backendReason: string;
  wallSeconds: number;
  steps: number;
  tokens: { processed: number; generated: number };
  throughput: { tokensPerSecond: number; generatedTokensPerSecond: number; requestsPerSecond: number };
  latencyMs: Record<string, { mean: number; p50: number; p90: number; p99: number }>;
  check: { failed: number; layers: number; outMaxAbsErr: number };
}

const runs: { backend: string; ok: boolean; reason?: string; result?: ServeJson }[] = [];
for (const b of backends) {
  try {
    const out = execFileSync(process.execPath, [cli, 'serve', '--backend', b, '--json', ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    runs.push({ backend: b, ok: true, result: JSON.parse(out.slice(out.indexOf('{'))) as ServeJson });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    runs.push({ backend: b, ok: false, reason: (err.stderr || err.message).trim().split('\n').pop() });
  }
}

const base = runs.find((r) => r.backend === 'cpu' && r.ok)?.result?.throughput.tokensPerSecond ?? NaN;
const rows = runs.map((r) => r.ok && r.result
  ? [r.backend, r.result.throughput.tokensPerSecond.toFixed(1), r.result.throughput.generatedTokensPerSecond.toFixed(1), r.result.latencyMs.ttft.p50.toFixed(0), r.result.latencyMs.tpot.p50.toFixed(0), (r.result.throughput.tokensPerSecond / base).toFixed(3), r.result.check.failed === 0 ? 'pass' : 'FAIL']
  : [r.backend, '-', '-', '-', '-', '-', `unavailable: ${r.reason}`]);
const header = ['backend', 'tokens/s', 'gen tok/s', 'ttft p50 ms', 'tpot p50 ms', 'vs cpu', 'check'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r: string[]) => r.map((c, i) => (i === 6 ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log([line(header), ...rows.map(line)].join('\n'));

let commit = 'unknown';
try {
  commit = execSync('git rev-parse HEAD', { encoding: 'utf8' }).trim();
} catch {
  /* not a git checkout */
}
const date = new Date().toISOString();
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, node: process.version, loadavg: os.loadavg() };
const tag = `${os.arch()}-${machine.cpus}core`;
const out = join(here, '..', '..', 'bench', 'results', `serve-${tag}-${date.slice(0, 10).replace(/-/g, '')}${quick ? '-quick' : ''}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ bench: 'serve', date, commit, machine, config: { flags, quick }, baseline: 'cpu tokens/s (all query rows) in the same run', runs }, null, 2)}\n`);
console.log(`wrote ${out}`);
