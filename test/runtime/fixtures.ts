// Shared fixtures of the runtime tests: small models (the float64-reference test backend runs
// anything; the CPU backend needs head sizes 64/128/256), and a loop that drives a runtime until
// every request finished, recording what each request generated.

import type { AttentionBackend } from '../../src/backends/backend.js';
import { createRuntime, type Runtime, type StepResult } from '../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../src/runtime/options.js';
import { ReferenceTestBackend } from './reference-backend.js';

export const TINY_MODEL = { numLayers: 2, numQueryHeads: 4, numKvHeads: 2, headSize: 8, slidingWindow: 8 };
export const CPU_MODEL = { numLayers: 2, numQueryHeads: 8, numKvHeads: 2, headSize: 64, slidingWindow: 16 };

/** null when the CPU backend (build/cpu/sinkrt_cpu.wasm) starts here, else why not. */
export async function cpuSkipReason(): Promise<string | null> {
  try {
    const { createCpuBackend } = await import('../../src/backends/cpu/index.js');
    const b = await createCpuBackend();
    await b.close();
    return null;
  } catch (e) {
    return `CPU backend unavailable: ${(e as Error).message}`;
  }
}

/**
 * The compiled engine worker: worker_threads cannot run the .ts sources vitest runs, so worker
 * engines in these tests use the build's dist/ copy (npm test builds first).
 */
export const WORKER_URL = new URL('../../dist/src/runtime/engine-worker.js', import.meta.url);

export function tinyOptions(backend: AttentionBackend = new ReferenceTestBackend(), over: Partial<RuntimeOptions> = {}): RuntimeOptions {
  return {
    backend,
    model: TINY_MODEL,
    cache: { numBlocks: 64, blockSize: 16 },
    scheduler: { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
    worker: true,
    engine: { workerUrl: WORKER_URL },
    ...over,
  };
}

export { createRuntime, ReferenceTestBackend };

export interface DriveResult {
  steps: StepResult[];
  /** id -> tokens generated, in order. */
  tokens: Map<number, number[]>;
  /** id -> finish reasons seen (must be exactly one). */
  finishes: Map<number, string[]>;
}

/** Steps until the runtime has no work (bounded), collecting tokens and finishes. */
export async function drive(rt: Runtime, opts: { check?: boolean; maxSteps?: number; into?: DriveResult } = {}): Promise<DriveResult> {
  const r: DriveResult = opts.into ?? { steps: [], tokens: new Map(), finishes: new Map() };
  const maxSteps = opts.maxSteps ?? 100_000;
  for (let i = 0; i < maxSteps && rt.hasWork; i++) {
    const s = await rt.step({ check: opts.check ?? false });
    r.steps.push(s);
    for (const a of s.advanced) if (a.token !== null) (r.tokens.get(a.id) ?? r.tokens.set(a.id, []).get(a.id))!.push(a.token);
    for (const f of s.finished) (r.finishes.get(f.id) ?? r.finishes.set(f.id, []).get(f.id))!.push(f.reason);
  }
  return r;
}
