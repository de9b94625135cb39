// createRuntime end to end: requests through the worker engine and a backend, every step checked
// against the float64 reference, determinism across runs and across worker / in-thread engines,
// backend auto-selection with reasons, and release of everything on close.

import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { CPU_MODEL, cpuSkipReason, createRuntime, drive, ReferenceTestBackend, tinyOptions, WORKER_URL } from './fixtures.js';

const cpuSkip = await cpuSkipReason();

describe('runtime: requests to completion (reference test backend)', () => {
  it('every request gets exactly maxTokens tokens and finishes once, with checks on every step', async () => {
    const backend = new ReferenceTestBackend();
    const rt = await createRuntime(tinyOptions(backend));
    const want = new Map<number, number>();
    for (let i = 0; i < 12; i++) {
      const maxTokens = 1 + (i % 5);
      const id = await rt.addRequest({ prompt: 3 + ((i * 7) % 40), maxTokens });
      want.set(id, maxTokens);
    }
    const r = await drive(rt, { check: true });
    for (const [id, n] of want) {
      expect(r.tokens.get(id)?.length, `request ${id}`).toBe(n);
      expect(r.finishes.get(id), `request ${id}`).toEqual(['length']);
    }
    const problems = r.steps.flatMap((s) => s.checks ?? []).flatMap((c) => c.problems);
    expect(problems).toEqual([]);
    expect(r.steps.some((s) => s.numPrefills > 0) && r.steps.some((s) => s.numDecodes > 0)).toBe(true);
    const st = await rt.stats();
    expect(st.engine.full.usedBlocks).toBe(0);
    expect(st.engine.sliding?.usedBlocks).toBe(0);
    await rt.close();
    expect(backend.liveCaches).toBe(0);
    expect(backend.closed).toBe(false); // the host's backend stays the host's
  });

  it('prefix caching: a request sharing a prompt reuses its blocks, and generates the same tokens', async () => {
    const rt = await createRuntime(tinyOptions(new ReferenceTestBackend()));
    const prompt = Int32Array.from({ length: 70 }, (_, i) => (i * 31 + 7) % 1000);
    const a = await rt.addRequest({ prompt, maxTokens: 6 });
    const first = await drive(rt, { check: true });
    const b = await rt.addRequest({ prompt, maxTokens: 6 });
    const second = await drive(rt, { check: true });
    expect((await rt.stats()).engine.prefixHitTokens).toBeGreaterThanOrEqual(64);
    expect(second.tokens.get(b)).toEqual(first.tokens.get(a));
    expect(second.steps.flatMap((s) => s.checks ?? []).flatMap((c) => c.problems)).toEqual([]);
    await rt.close();
  });

  it('is deterministic: same requests, same tokens, worker or in-thread engine', async () => {
    const runs: string[] = [];
    for (const worker of [true, false, true]) {
      const rt = await createRuntime(tinyOptions(new ReferenceTestBackend(), { worker }));
      for (let i = 0; i < 6; i++) await rt.addRequest({ id: 100 + i, prompt: 5 + i * 9, maxTokens: 4 });
      const r = await drive(rt);
      runs.push(JSON.stringify([...r.tokens.entries()].sort((a, b) => a[0] - b[0])));
      await rt.close();
    }
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
  });
});

describe.skipIf(cpuSkip !== null)(`runtime on the CPU backend${cpuSkip ? ` (skipped: ${cpuSkip})` : ''}`, () => {
  it('serves a mixed batch with sliding and full layers; sampled rows match the float64 reference', async () => {
    const rt = await createRuntime({
      backend: 'cpu',
      model: CPU_MODEL,
      cache: { numBlocks: 96, blockSize: 16 },
      scheduler: { maxNumSeqs: 8, maxNumBatchedTokens: 96 },
      engine: { workerUrl: WORKER_URL },
    });
    expect(rt.backendName).toBe('cpu');
    for (let i = 0; i < 10; i++) await rt.addRequest({ prompt: 10 + i * 23, maxTokens: 2 + (i % 6) });
    const r = await drive(rt, { check: true });
    const checks = r.steps.flatMap((s) => s.checks ?? []);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.some((c) => c.group === 'sliding') && checks.some((c) => c.group === 'full')).toBe(true);
    expect(checks.flatMap((c) => c.problems)).toEqual([]);
    expect(checks.reduce((a, c) => a + c.rowsChecked, 0)).toBeGreaterThan(20);
    expect(r.finishes.size).toBe(10);
    await rt.close();
  });

  it('auto picks the first backend that starts, and says why the others were passed over', async () => {
    const rt = await createRuntime({ backend: 'auto', model: CPU_MODEL, cache: { numBlocks: 16, blockSize: 16 }, scheduler: { maxNumSeqs: 4, maxNumBatchedTokens: 32 }, engine: { workerUrl: WORKER_URL } });
    expect(rt.probes.length).toBeGreaterThan(0);
    const firstOk = rt.probes.find((p) => p.available);
    expect(rt.backendName).toBe(firstOk?.name);
    expect(rt.backendReason).toContain(`auto picked ${rt.backendName}`);
    for (const p of rt.probes.filter((x) => !x.available)) {
      expect(p.reason.length).toBeGreaterThan(0);
      expect(rt.backendReason).toContain(p.name);
    }
    await rt.close();
  });

  it('close releases the caches of a backend it started (CPU WASM memory back to no caches)', async () => {
    const host = await createCpuBackend();
    const rt = await createRuntime({ backend: host, model: CPU_MODEL, cache: { numBlocks: 32, blockSize: 16 }, engine: { workerUrl: WORKER_URL } });
    expect(host.describe().caches).toBe(CPU_MODEL.numLayers);
    await rt.close();
    expect(host.describe().caches).toBe(0);
    await host.close();
  });
});

describe('auto selection and software adapters', async () => {
  const { probeBackend, releaseBackend, softwareAdapter, startAuto } = await import('../../src/runtime/probe.js');
  const webgpu = await probeBackend('webgpu');
  const skip = webgpu.available ? null : `webgpu unavailable: ${webgpu.reason}`;
  it.skipIf(skip !== null)(`passes over a software adapter, but takes it when nothing else starts${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const software = softwareAdapter(webgpu.facts ?? {});
    const alone = await startAuto({}, ['webgpu']);
    try {
      expect(alone.name).toBe('webgpu');
      if (software !== null) expect(alone.reason).toContain('software adapter, the only backend that starts');
      else expect(alone.reason).toContain('auto picked webgpu');
    } finally {
      await releaseBackend(alone.backend);
    }
    if (software !== null && cpuSkip === null) {
      const both = await startAuto({}, ['webgpu', 'cpu']);
      try {
        expect(both.name).toBe('cpu');
        expect(both.reason).toContain('software rasterizer');
      } finally {
        await releaseBackend(both.backend);
      }
    }
  });
});
