// Runs one conformance case on a backend through the AttentionBackend interface and checks it
// against the float64 reference: outputs and lse of every real row, the cache after the write
// (new tokens in place, padding slots and spare blocks untouched), a partial read-back of the cache
// (downloadBlocks, as the runtime's checks use it), and the kernel selection.
// Test-runner free, so vitest suites, `sinkrt conformance` and the GPU-machine runners share it.

import type { AttentionBackend } from '../../src/backends/backend.js';
import { kernelRejections, type Selection } from '../../src/backends/select.js';
import type { Dtype } from '../../src/backends/types.js';
import { buildCase, type AttentionCase } from './cases.js';
import { compareArrays, describeMismatch, TOLERANCES } from './compare.js';
import type { BatchShape } from './shapes.js';

export interface CaseResult {
  shape: string;
  dtype: Dtype;
  pass: boolean;
  outMaxAbsErr: number;
  lseMaxAbsErr: number;
  selection: Selection | null;
  problems: string[];
  ms: number;
}

/** Problems with the selection a backend reported for a case (sinks honoured, fast decode taken). */
export function selectionProblems(backend: AttentionBackend, c: AttentionCase, sel: Selection): string[] {
  const out: string[] = [];
  const req = { layer: c.layer, blockSize: c.cacheSpec.blockSize, dtype: c.dtype, maxDecodeQueryLen: c.meta.maxDecodeQueryLen };
  for (const path of ['decode', 'extend', 'prefill'] as const) {
    const k = sel[path].kernel;
    const caps = backend.capabilities.kernels[k];
    if (c.layer.sinks !== null && !caps?.supportsSink) out.push(`${path} routed to ${k}, which does not declare supportsSink`);
  }
  if (c.meta.numDecodes > 0) {
    const fast = kernelRejections('paged_decode', backend.capabilities.kernels.paged_decode, req, Math.max(1, c.meta.maxDecodeQueryLen));
    if (fast.length === 0 && sel.decode.kernel !== 'paged_decode') out.push(`decode took ${sel.decode.kernel} though paged_decode supports the layer`);
  }
  return out;
}

/** A few blocks out of order with a repeat and a run of neighbours: the last, the first two, the middle twice. */
function blockSample(c: AttentionCase): Int32Array {
  const n = c.cacheSpec.numBlocks;
  return Int32Array.from([n - 1, 0, Math.min(1, n - 1), n >> 1, n >> 1]);
}

function blockReadProblems(c: AttentionCase, got: { keyCache: Float32Array; valueCache: Float32Array }): string[] {
  const blocks = blockSample(c);
  const per = c.cacheSpec.blockSize * c.cacheSpec.numKvHeads * c.cacheSpec.headSize;
  const out: string[] = [];
  for (const [name, have, want] of [['key', got.keyCache, c.expected.keyCache], ['value', got.valueCache, c.expected.valueCache]] as const) {
    if (have.length !== blocks.length * per) {
      out.push(`downloadBlocks: ${name} length ${have.length}, expected ${blocks.length} blocks x ${per}`);
      continue;
    }
    for (let i = 0; i < blocks.length; i++) {
      const cmp = compareArrays(have.subarray(i * per, (i + 1) * per), want.subarray(blocks[i] * per, (blocks[i] + 1) * per), per, 0, 0);
      if (cmp.bad > 0) out.push(`downloadBlocks: ${name} block ${blocks[i]} (position ${i}) differs from the cache: ${describeMismatch(name, cmp, per)}`);
    }
  }
  return out;
}

export async function runCase(backend: AttentionBackend, shape: BatchShape, dtype: Dtype, prebuilt?: AttentionCase): Promise<CaseResult> {
  const t0 = performance.now();
  const c = prebuilt ?? buildCase(shape, dtype);
  const tol = TOLERANCES[dtype];
  const { numQueryHeads: Hq, headSize: D } = c.layer;
  const cache = await backend.createCache(c.cacheSpec);
  const problems: string[] = [];
  let selection: Selection | null = null;
  const output = new Float32Array(c.meta.numTokens * Hq * D).fill(NaN);
  const lse = new Float32Array(c.meta.numTokens * Hq).fill(NaN);
  let outCmp = { maxAbsErr: NaN, bad: 0, first: null } as ReturnType<typeof compareArrays>;
  let lseCmp = outCmp;
  try {
    await backend.uploadCache(cache, c.keyCache, c.valueCache);
    selection = await backend.forward(cache, c.layer, c.meta, c.inputs, { output, lse });
    const after = await backend.downloadCache(cache);
    outCmp = compareArrays(output, c.expected.output, c.numRealTokens * Hq * D, tol.outAtol, tol.outRtol);
    lseCmp = compareArrays(lse, c.expected.lse, c.numRealTokens * Hq, tol.lseAtol, 0);
    const row = c.cacheSpec.numKvHeads * D;
    // The cache holds stored values: exact equality after rounding, everywhere (spare blocks too).
    const kCmp = compareArrays(after.keyCache, c.expected.keyCache, c.expected.keyCache.length, 0, 0);
    const vCmp = compareArrays(after.valueCache, c.expected.valueCache, c.expected.valueCache.length, 0, 0);
    if (outCmp.bad > 0) problems.push(describeMismatch('output', outCmp, D));
    if (lseCmp.bad > 0) problems.push(describeMismatch('lse', lseCmp, Hq));
    if (kCmp.bad > 0) problems.push(describeMismatch('keyCache', kCmp, row));
    if (vCmp.bad > 0) problems.push(describeMismatch('valueCache', vCmp, row));
    problems.push(...blockReadProblems(c, await backend.downloadBlocks(cache, blockSample(c))));
    problems.push(...selectionProblems(backend, c, selection));
  } finally {
    backend.destroyCache(cache);
  }
  return {
    shape: shape.name,
    dtype,
    pass: problems.length === 0,
    outMaxAbsErr: outCmp.maxAbsErr,
    lseMaxAbsErr: lseCmp.maxAbsErr,
    selection,
    problems,
    ms: performance.now() - t0,
  };
}
