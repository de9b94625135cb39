// The float64 reference of the sink contract (../../../DESIGN: "The sink contract"). It is the oracle
// every backend is tested against, so it is deliberately plain: one query row at a time, two passes
// (max, then sums), no tiling, no online softmax, no cleverness. Speed is not a goal here.
//
// For query token i at absolute position p, query head h, KV head g = floor(h / (Hq / Hkv)):
//   visible keys j: pos_j <= p, and pos_j > p - W when a sliding window W is set
//   l_j  = scale * q.k_j        (then c * tanh(l_j / c) when softcap c is set)
//   m    = max(s_h, max_j l_j)  (s_h = -inf without sinks; sinks are never scaled or capped)
//   o    = sum_j exp(l_j - m) v_j / (exp(s_h - m) + sum_j exp(l_j - m))
//   lse  = m + log(exp(s_h - m) + sum_j exp(l_j - m))
// A row with no visible key and no sink has o = 0 and lse = -inf.

import type { LayerConfig, StepMetadata } from '../types.js';

/** Reads key/value vectors of one sequence by position. */
export interface KeySource {
  key(pos: number, kvHead: number, d: number): number;
  value(pos: number, kvHead: number, d: number): number;
}

export interface ReferenceResult {
  /** [numTokens, numQueryHeads, headSize] */
  output: Float64Array;
  /** [numTokens, numQueryHeads] */
  lse: Float64Array;
}

function sinkOf(layer: LayerConfig, h: number): number {
  return layer.sinks === null ? -Infinity : layer.sinks[h];
}

function logit(layer: LayerConfig, q: ArrayLike<number>, qOff: number, src: KeySource, pos: number, g: number): number {
  let dot = 0;
  for (let d = 0; d < layer.headSize; d++) dot += q[qOff + d] * src.key(pos, g, d);
  const l = layer.scale * dot;
  return layer.softcap > 0 ? layer.softcap * Math.tanh(l / layer.softcap) : l;
}

/** First visible key position for a query at position p (keys run to p inclusive). */
export function firstVisible(layer: LayerConfig, p: number): number {
  return layer.slidingWindow > 0 ? Math.max(0, p - layer.slidingWindow + 1) : 0;
}

/**
 * One query row over keys [lo, hi] of one sequence, with the sink of head h counted `sinkCount`
 * times (1 per the contract; the tests use 0 and 2 to show what merging bugs look like).
 * Writes headSize outputs at out[outOff..] and returns the lse.
 */
export function attendRow(
  layer: LayerConfig,
  q: ArrayLike<number>,
  qOff: number,
  h: number,
  src: KeySource,
  lo: number,
  hi: number,
  out: Float64Array,
  outOff: number,
  sinkCount = 1,
): number {
  const g = Math.floor(h / (layer.numQueryHeads / layer.numKvHeads));
  const D = layer.headSize;
  const s = sinkCount > 0 ? sinkOf(layer, h) : -Infinity;
  const logits: number[] = [];
  let m = s;
  for (let pos = lo; pos <= hi; pos++) {
    const l = logit(layer, q, qOff, src, pos, g);
    logits.push(l);
    if (l > m) m = l;
  }
  for (let d = 0; d < D; d++) out[outOff + d] = 0;
  if (m === -Infinity) return -Infinity; // nothing visible and no sink
  let denom = sinkCount * Math.exp(s - m);
  for (let j = 0; j < logits.length; j++) {
    const w = Math.exp(logits[j] - m);
    denom += w;
    for (let d = 0; d < D; d++) out[outOff + d] += w * src.value(lo + j, g, d);
  }
  for (let d = 0; d < D; d++) out[outOff + d] /= denom;
  return m + Math.log(denom);
}

/** K/V of one sequence read from a paged cache [numBlocks, blockSize, numKvHeads, headSize]. */
export function pagedSource(
  layer: LayerConfig,
  keyCache: ArrayLike<number>,
  valueCache: ArrayLike<number>,
  blockSize: number,
  blockTable: ArrayLike<number>,
  rowOffset: number,
): KeySource {
  const H = layer.numKvHeads;
  const D = layer.headSize;
  const at = (pos: number, g: number, d: number) => {
    const block = blockTable[rowOffset + Math.floor(pos / blockSize)];
    return ((block * blockSize + (pos % blockSize)) * H + g) * D + d;
  };
  return {
    key: (pos, g, d) => keyCache[at(pos, g, d)],
    value: (pos, g, d) => valueCache[at(pos, g, d)],
  };
}

/** K/V of one sequence read from contiguous new-token tensors [numTokens, numKvHeads, headSize]. */
export function contiguousSource(layer: LayerConfig, key: ArrayLike<number>, value: ArrayLike<number>, start: number): KeySource {
  const H = layer.numKvHeads;
  const D = layer.headSize;
  const at = (pos: number, g: number, d: number) => ((start + pos) * H + g) * D + d;
  return { key: (pos, g, d) => key[at(pos, g, d)], value: (pos, g, d) => value[at(pos, g, d)] };
}

/**
 * Writes the new tokens' K/V into the paged cache at meta.slotMapping; slot -1 is padding and is
 * skipped. Throws on a slot outside the cache (the reference never writes out of bounds either).
 */
export function writeKvReference(
  layer: LayerConfig,
  meta: StepMetadata,
  key: ArrayLike<number>,
  value: ArrayLike<number>,
  keyCache: Float64Array | Float32Array,
  valueCache: Float64Array | Float32Array,
): void {
  const row = layer.numKvHeads * layer.headSize;
  const numSlots = keyCache.length / row;
  for (let t = 0; t < meta.numTokens; t++) {
    const slot = meta.slotMapping[t];
    if (slot === -1) continue;
    if (!Number.isInteger(slot) || slot < 0 || slot >= numSlots) {
      throw new RangeError(`slotMapping[${t}] = ${slot} is outside the cache [0, ${numSlots})`);
    }
    for (let i = 0; i < row; i++) {
      keyCache[slot * row + i] = key[t * row + i];
      valueCache[slot * row + i] = value[t * row + i];
    }
  }
}

/**
 * Attention of every sequence in the step over the paged cache, which must already hold the step's
 * new tokens (call writeKvReference first). Covers decode, extend and prefill alike: query token i
 * of sequence s sits at position contextLens[s] + i. Padding rows (past queryStartLoc[numSeqs])
 * are left at 0 / -inf.
 */
export function pagedAttentionReference(
  layer: LayerConfig,
  meta: StepMetadata,
  blockSize: number,
  query: ArrayLike<number>,
  keyCache: ArrayLike<number>,
  valueCache: ArrayLike<number>,
): ReferenceResult {
  const Hq = layer.numQueryHeads;
  const D = layer.headSize;
  const output = new Float64Array(meta.numTokens * Hq * D);
  const lse = new Float64Array(meta.numTokens * Hq).fill(-Infinity);
  for (let s = 0; s < meta.numSeqs; s++) {
    const src = pagedSource(layer, keyCache, valueCache, blockSize, meta.blockTable, s * meta.maxBlocksPerSeq);
    for (let t = meta.queryStartLoc[s]; t < meta.queryStartLoc[s + 1]; t++) {
      const p = meta.contextLens[s] + (t - meta.queryStartLoc[s]);
      for (let h = 0; h < Hq; h++) {
        const off = (t * Hq + h) * D;
        lse[t * Hq + h] = attendRow(layer, query, off, h, src, firstVisible(layer, p), p, output, off);
      }
    }
  }
  return { output, lse };
}

/** Varlen prefill over contiguous Q/K/V (no cached context), sequences delimited by cuSeqlens. */
export function prefillReference(
  layer: LayerConfig,
  cuSeqlens: ArrayLike<number>,
  query: ArrayLike<number>,
  key: ArrayLike<number>,
  value: ArrayLike<number>,
): ReferenceResult {
  const Hq = layer.numQueryHeads;
  const D = layer.headSize;
  const numTokens = cuSeqlens[cuSeqlens.length - 1];
  const output = new Float64Array(numTokens * Hq * D);
  const lse = new Float64Array(numTokens * Hq);
  for (let s = 0; s + 1 < cuSeqlens.length; s++) {
    const start = cuSeqlens[s];
    const src = contiguousSource(layer, key, value, start);
    for (let t = start; t < cuSeqlens[s + 1]; t++) {
      const p = t - start;
      for (let h = 0; h < Hq; h++) {
        const off = (t * Hq + h) * D;
        lse[t * Hq + h] = attendRow(layer, query, off, h, src, firstVisible(layer, p), p, output, off);
      }
    }
  }
  return { output, lse };
}
