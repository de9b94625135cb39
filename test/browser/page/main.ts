// The portable harness, in a browser page (headless Chromium in the tests; any WebGPU browser or an
// Electron renderer by hand): the shared conformance table on the WebGPU backend (navigator.gpu) and
// on the CPU backend (WASM), each case against the float64 reference with the same runner the Node
// suites use; then a small serving run through createRuntime with the engine in a Web Worker and
// the page thread owning the GPU, every step checked against the reference.
// Results go to window.__sinkrt (read by test/browser/harness.test.ts) and to the page.
// Query parameters: ?skipTags=heavy&shapes=a,b (filters), ?only=cpu|webgpu.

import type { AttentionBackend } from '../../../src/backends/backend.js';
import { createCpuBackend } from '../../../src/backends/cpu/index.js';
import { runCase, type CaseResult } from '../../helpers/run-case.js';
import { BATCH_SHAPES } from '../../helpers/shapes.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { startPageWebGpu } from './webgpu.js';

interface HarnessResult {
  done: boolean;
  error: string | null;
  crossOriginIsolated: boolean;
  adapter: Record<string, unknown> | null;
  conformance: Record<string, (CaseResult & { skipped?: string })[]>;
  backendsSkipped: Record<string, string>;
  serve: { backend: string; requests: number; steps: number; finished: number; checks: number; problems: string[]; engineInWorker: boolean } | null;
}

const result: HarnessResult = { done: false, error: null, crossOriginIsolated, adapter: null, conformance: {}, backendsSkipped: {}, serve: null };
(window as unknown as { __sinkrt: HarnessResult }).__sinkrt = result;
const log = (s: string) => {
  document.getElementById('log')!.textContent += `${s}\n`;
};

const params = new URLSearchParams(location.search);
const skipTags = (params.get('skipTags') ?? '').split(',').filter(Boolean);
const onlyShapes = (params.get('shapes') ?? '').split(',').filter(Boolean);
const only = params.get('only');
const shapes = BATCH_SHAPES.filter((s) => (onlyShapes.length === 0 || onlyShapes.includes(s.name)) && !s.tags.some((t) => skipTags.includes(t)));

async function conformance(name: string, backend: AttentionBackend): Promise<void> {
  const rows: CaseResult[] = [];
  result.conformance[name] = rows;
  for (const shape of shapes) {
    try {
      rows.push(await runCase(backend, shape, 'f32'));
    } catch (e) {
      rows.push({ shape: shape.name, dtype: 'f32', pass: false, outMaxAbsErr: NaN, lseMaxAbsErr: NaN, selection: null, problems: [String(e)], ms: 0 });
    }
    const r = rows[rows.length - 1];
    log(`${name} ${r.shape}: ${r.pass ? 'pass' : `FAIL ${r.problems.join('; ')}`} (${r.ms.toFixed(0)} ms)`);
  }
}

/**
 * A serving run through createRuntime the way an app (or an Electron renderer) would call it: the
 * backend by name with its static files given by URL, the engine in a module Web Worker.
 */
async function serveRun(backend: 'webgpu' | 'cpu', cpuWasm: ArrayBuffer | null): Promise<void> {
  const rt = await createRuntime({
    backend,
    model: { numLayers: 2, numQueryHeads: 8, numKvHeads: 2, headSize: 64, slidingWindow: 16 },
    cache: { numBlocks: 64, blockSize: 16 },
    scheduler: { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
    worker: true,
    engine: { wasmUrl: new URL('./static/engine.wasm', location.href), workerUrl: new URL('./engine-worker.js', location.href) },
    host: { shaderUrl: new URL('./static/shaders/', location.href), cpu: cpuWasm ? { wasm: cpuWasm } : undefined },
  });
  const problems: string[] = [];
  let steps = 0;
  let finished = 0;
  let checks = 0;
  try {
    for (let i = 0; i < 8; i++) await rt.addRequest({ prompt: 5 + i * 11, maxTokens: 3 + (i % 4) });
    while (rt.hasWork && steps < 500) {
      const s = await rt.step({ check: true });
      steps++;
      finished += s.finished.length;
      for (const c of s.checks ?? []) {
        checks++;
        problems.push(...c.problems);
      }
    }
  } finally {
    await rt.close();
  }
  result.serve = { backend: rt.backendName, requests: 8, steps, finished, checks, problems, engineInWorker: true };
  log(`serve on ${rt.backendName}: ${finished}/8 finished in ${steps} steps, ${checks} layer checks, ${problems.length} problems`);
}

async function main(): Promise<void> {
  const cpuWasm = await (await fetch('./static/sinkrt_cpu.wasm')).arrayBuffer();
  if (only !== 'webgpu') {
    const cpu = await createCpuBackend({ wasm: cpuWasm.slice(0) });
    try {
      await conformance('cpu', cpu);
    } finally {
      await cpu.close();
    }
  }
  if (only !== 'cpu') {
    const gpu = await startPageWebGpu(new URL('./static/shaders/', location.href));
    if ('skip' in gpu) result.backendsSkipped.webgpu = gpu.skip;
    else {
      result.adapter = gpu.backend.describe();
      try {
        await conformance('webgpu', gpu.backend);
      } finally {
        await gpu.backend.close();
        gpu.device.destroy();
      }
      await serveRun('webgpu', null);
    }
  }
  // No WebGPU here: still prove the runtime and its Web Worker engine, on the CPU backend.
  if (result.serve === null && only !== 'webgpu') await serveRun('cpu', cpuWasm);
}

main().then(
  () => {
    result.done = true;
  },
  (e: unknown) => {
    result.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
    result.done = true;
    log(`error: ${result.error}`);
  },
);
