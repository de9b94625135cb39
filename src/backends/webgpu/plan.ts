// Per-step planning for the WebGPU backend, apart from execution (validation is shared:
// ../validate.ts): the packed i32 metadata the kernels read, the unified_attention work list,
// and the split-KV segment count of paged_decode.
//
// Packed metadata (i32, one storage buffer):
//   [queryStartLoc: numSeqs+1][seqLens: numSeqs][blockTable: numSeqs*maxBlocksPerSeq]
//   [slotMapping: numTokens][work: 2 * numWork of (seq, qStart)]

import type { LayerConfig, StepMetadata } from '../types.js';

/** Geometry of a kernel variant for head size D (shared by paged_decode and unified_attention). */
export function tileOf(headSize: number): number {
  return 2048 / headSize;
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
