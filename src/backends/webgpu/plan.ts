// Per-step planning for the WebGPU backend, apart from execution: validation of the step against
// the cache and layer (errors name the field, the rule and the value), the packed i32 metadata the
// kernels read, the unified_attention work list, and the split-KV segment count of paged_decode.
//
// Packed metadata (i32, one storage buffer):
//   [queryStartLoc: numSeqs+1][seqLens: numSeqs][blockTable: numSeqs*maxBlocksPerSeq]
//   [slotMapping: numTokens][work: 2 * numWork of (seq, qStart)]

import type { KvCacheSpec, StepInputs, StepOutputs } from '../backend.js';
import { SinkrtError, type LayerConfig, type StepMetadata } from '../types.js';

/** Geometry of a kernel variant for head size D (shared by paged_decode and unified_attention). */
export function tileOf(headSize: number): number {
  return 2048 / headSize;
}

function fail(field: string, rule: string, value: unknown): never {
  throw new SinkrtError('E_INVALID_STEP', `${field} = ${String(value)} ${rule}`);
}

export function validateStep(spec: KvCacheSpec, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): void {
  if (layer.numKvHeads !== spec.numKvHeads) fail('layer.numKvHeads', `must equal the cache's numKvHeads ${spec.numKvHeads}`, layer.numKvHeads);
  if (layer.headSize !== spec.headSize) fail('layer.headSize', `must equal the cache's headSize ${spec.headSize}`, layer.headSize);
  const { numSeqs, numTokens } = meta;
  if (!Number.isInteger(numSeqs) || numSeqs < 0) fail('meta.numSeqs', 'must be an integer >= 0', numSeqs);
  if (!Number.isInteger(numTokens) || numTokens < 0) fail('meta.numTokens', 'must be an integer >= 0', numTokens);
  if (meta.numDecodes + meta.numExtends + meta.numPrefills !== numSeqs) {
    fail('meta.numDecodes + numExtends + numPrefills', `must equal numSeqs ${numSeqs}`, meta.numDecodes + meta.numExtends + meta.numPrefills);
  }
  const need = (name: string, arr: ArrayLike<number>, n: number) => {
    if (arr.length < n) fail(`meta.${name}.length`, `must be >= ${n}`, arr.length);
  };
  need('queryStartLoc', meta.queryStartLoc, numSeqs + 1);
  need('seqLens', meta.seqLens, numSeqs);
  need('contextLens', meta.contextLens, numSeqs);
  need('blockTable', meta.blockTable, numSeqs * meta.maxBlocksPerSeq);
  need('slotMapping', meta.slotMapping, numTokens);
  const Hq = layer.numQueryHeads;
  const D = layer.headSize;
  const kvRow = spec.numKvHeads * D;
  if (inputs.query.length < numTokens * Hq * D) fail('inputs.query.length', `must be >= numTokens * numQueryHeads * headSize = ${numTokens * Hq * D}`, inputs.query.length);
  if (inputs.key.length < numTokens * kvRow) fail('inputs.key.length', `must be >= numTokens * numKvHeads * headSize = ${numTokens * kvRow}`, inputs.key.length);
  if (inputs.value.length < numTokens * kvRow) fail('inputs.value.length', `must be >= ${numTokens * kvRow}`, inputs.value.length);
  if (out.output.length < numTokens * Hq * D) fail('out.output.length', `must be >= ${numTokens * Hq * D}`, out.output.length);
  if (out.lse && out.lse.length < numTokens * Hq) fail('out.lse.length', `must be >= ${numTokens * Hq}`, out.lse.length);

  const qsl = meta.queryStartLoc;
  if (numSeqs >= 0 && qsl[0] !== 0) fail('meta.queryStartLoc[0]', 'must be 0', qsl[0]);
  const bs = spec.blockSize;
  for (let s = 0; s < numSeqs; s++) {
    const ql = qsl[s + 1] - qsl[s];
    if (!(ql >= 1)) fail(`meta.queryStartLoc[${s + 1}]`, `must be > queryStartLoc[${s}] = ${qsl[s]} (queryLen >= 1)`, qsl[s + 1]);
    const sl = meta.seqLens[s];
    if (sl !== meta.contextLens[s] + ql) fail(`meta.seqLens[${s}]`, `must equal contextLens + queryLen = ${meta.contextLens[s] + ql}`, sl);
    if (s < meta.numDecodes + meta.numExtends && s >= meta.numDecodes && meta.contextLens[s] < 0) fail(`meta.contextLens[${s}]`, 'must be >= 0', meta.contextLens[s]);
    const blocks = Math.ceil(sl / bs);
    if (blocks > meta.maxBlocksPerSeq) fail(`meta.seqLens[${s}]`, `needs ${blocks} blocks, more than maxBlocksPerSeq ${meta.maxBlocksPerSeq}`, sl);
    for (let b = 0; b < blocks; b++) {
      const id = meta.blockTable[s * meta.maxBlocksPerSeq + b];
      if (!Number.isInteger(id) || id < 0 || id >= spec.numBlocks) fail(`meta.blockTable[${s}][${b}]`, `is outside [0, numBlocks ${spec.numBlocks})`, id);
    }
  }
  if (numSeqs > 0 && qsl[numSeqs] > numTokens) fail(`meta.queryStartLoc[${numSeqs}]`, `must be <= numTokens ${numTokens}`, qsl[numSeqs]);
  const numSlots = spec.numBlocks * bs;
  for (let t = 0; t < numTokens; t++) {
    const slot = meta.slotMapping[t];
    if (slot !== -1 && !(Number.isInteger(slot) && slot >= 0 && slot < numSlots)) {
      fail(`meta.slotMapping[${t}]`, `is outside [0, numBlocks * blockSize = ${numSlots}) and is not -1`, slot);
    }
  }
}

export interface PackedMeta {
  data: Int32Array;
  qslOff: number;
  seqLensOff: number;
  blockTableOff: number;
  slotOff: number;
  workOff: number;
  numWork: number;
}

/**
 * Packs the metadata and the unified_attention work list: one (seq, qStart) item per QT query
 * tokens of every sequence in [unifiedFrom, numSeqs).
 */
export function packMeta(meta: StepMetadata, unifiedFrom: number, queryTokensPerItem: number): PackedMeta {
  const { numSeqs, numTokens } = meta;
  let numWork = 0;
  for (let s = unifiedFrom; s < numSeqs; s++) {
    numWork += Math.ceil((meta.queryStartLoc[s + 1] - meta.queryStartLoc[s]) / queryTokensPerItem);
  }
  const qslOff = 0;
  const seqLensOff = qslOff + numSeqs + 1;
  const blockTableOff = seqLensOff + numSeqs;
  const slotOff = blockTableOff + numSeqs * meta.maxBlocksPerSeq;
  const workOff = slotOff + numTokens;
  const data = new Int32Array(Math.max(4, workOff + 2 * numWork));
  data.set(meta.queryStartLoc.subarray(0, numSeqs + 1), qslOff);
  data.set(meta.seqLens.subarray(0, numSeqs), seqLensOff);
  data.set(meta.blockTable.subarray(0, numSeqs * meta.maxBlocksPerSeq), blockTableOff);
  data.set(meta.slotMapping.subarray(0, numTokens), slotOff);
  let w = workOff;
  for (let s = unifiedFrom; s < numSeqs; s++) {
    const ql = meta.queryStartLoc[s + 1] - meta.queryStartLoc[s];
    for (let q = 0; q < ql; q += queryTokensPerItem) {
      data[w++] = s;
      data[w++] = q;
    }
  }
  return { data, qslOff, seqLensOff, blockTableOff, slotOff, workOff, numWork };
}

export interface SegmentPlan {
  numSegments: number;
  segTiles: number;
}

/**
 * Split-KV plan of paged_decode: enough workgroups to fill the GPU (targetWorkgroups), but no
 * segment shorter than minSegTiles tiles (each segment costs a partial write and a merge).
 */
export function planSegments(meta: StepMetadata, layer: LayerConfig, tile: number, targetWorkgroups: number, minSegTiles: number): SegmentPlan {
  let maxTiles = 1;
  for (let s = 0; s < meta.numDecodes; s++) {
    let keys = meta.seqLens[s];
    if (layer.slidingWindow > 0) keys = Math.min(keys, layer.slidingWindow);
    maxTiles = Math.max(maxTiles, Math.ceil(keys / tile));
  }
  const base = Math.max(1, meta.numDecodes * layer.numKvHeads);
  let want = Math.max(1, Math.ceil(targetWorkgroups / base));
  want = Math.min(want, Math.max(1, Math.floor(maxTiles / minSegTiles)));
  const segTiles = Math.ceil(maxTiles / want);
  return { numSegments: Math.ceil(maxTiles / segTiles), segTiles };
}
