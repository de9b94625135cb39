// Builds a concrete, seeded test case from a batch shape: layer, paged cache with the context in
// place (and garbage everywhere else, so a missed or stray write shows), step metadata, new-token
// Q/K/V, and the float64 expectation. Inputs are rounded to the dtype under test first, so the
// reference sees exactly what a f16/bf16 backend stores and the tolerance covers kernel arithmetic.

import { pagedAttentionReference, roundArray, writeKvReference } from '../../src/backends/reference/index.js';
import type { KvCacheSpec } from '../../src/backends/backend.js';
import { prng } from '../../src/runtime/trace.js';
import type { Dtype, LayerConfig, StepMetadata } from '../../src/backends/types.js';
import type { BatchShape } from './shapes.js';

/** Seeded PRNG (mulberry32): the same seed gives the same case on every host. */
export const rng = prng;

export function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface AttentionCase {
  shape: BatchShape;
  dtype: Dtype;
  layer: LayerConfig;
  cacheSpec: KvCacheSpec;
  meta: StepMetadata;
  inputs: { query: Float32Array; key: Float32Array; value: Float32Array };
  /** Cache contents before the step (host f32, already rounded to dtype). */
  keyCache: Float32Array;
  valueCache: Float32Array;
  /** Rows 0..numRealTokens-1 are real; the rest are padding. */
  numRealTokens: number;
  expected: { output: Float64Array; lse: Float64Array; keyCache: Float64Array; valueCache: Float64Array };
}

export function makeSinks(kind: BatchShape['sinks'], numHeads: number, rand: () => number): Float32Array | null {
  if (kind === 'none') return null;
  const s = new Float32Array(numHeads);
  for (let h = 0; h < numHeads; h++) {
    if (kind === 'small') s[h] = rand() * 2 - 1;
    else s[h] = h % 8 === 7 ? -Infinity : 6 + 4 * rand();
  }
  return s;
}

function fillUniform(a: Float32Array, rand: () => number): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
  return a;
}

interface SeqPlan {
  contextLen: number;
  queryLen: number;
}

function plansOf(shape: BatchShape): { seqs: SeqPlan[]; numDecodes: number; numExtends: number; numPrefills: number } {
  const dq = shape.decodeQueryLen ?? 1;
  const seqs: SeqPlan[] = [
    ...shape.decodes.map((c) => ({ contextLen: c, queryLen: dq })),
    ...shape.extends.map(([c, q]) => ({ contextLen: c, queryLen: q })),
    ...shape.prefills.map((q) => ({ contextLen: 0, queryLen: q })),
  ];
  return { seqs, numDecodes: shape.decodes.length, numExtends: shape.extends.length, numPrefills: shape.prefills.length };
}

/** Step metadata with (optionally shuffled) block tables and a few spare blocks nobody owns. */
function buildMeta(shape: BatchShape, rand: () => number): { meta: StepMetadata; numBlocks: number } {
  const { seqs, numDecodes, numExtends, numPrefills } = plansOf(shape);
  const bs = shape.blockSize;
  const blocksPer = seqs.map((s) => Math.ceil((s.contextLen + s.queryLen) / bs));
  const used = blocksPer.reduce((a, b) => a + b, 0);
  const numBlocks = used + 3; // spare blocks: must stay untouched
  const ids = Array.from({ length: numBlocks }, (_, i) => i);
  if (shape.shuffle) {
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
  }
  const maxBlocksPerSeq = Math.max(1, ...blocksPer) + 1; // one unused column, as real tables have
  const blockTable = new Int32Array(seqs.length * maxBlocksPerSeq);
  const numRealTokens = seqs.reduce((a, s) => a + s.queryLen, 0);
  const numTokens = numRealTokens + shape.padTokens;
  const slotMapping = new Int32Array(numTokens).fill(-1);
  const queryStartLoc = new Int32Array(seqs.length + 1);
  const seqLens = new Int32Array(seqs.length);
  const contextLens = new Int32Array(seqs.length);
  let next = 0;
  seqs.forEach((s, i) => {
    for (let b = 0; b < blocksPer[i]; b++) blockTable[i * maxBlocksPerSeq + b] = ids[next++];
    queryStartLoc[i + 1] = queryStartLoc[i] + s.queryLen;
    seqLens[i] = s.contextLen + s.queryLen;
    contextLens[i] = s.contextLen;
    for (let t = 0; t < s.queryLen; t++) {
      const pos = s.contextLen + t;
      slotMapping[queryStartLoc[i] + t] = blockTable[i * maxBlocksPerSeq + Math.floor(pos / bs)] * bs + (pos % bs);
    }
  });
  const meta: StepMetadata = {
    numSeqs: seqs.length,
    numTokens,
    queryStartLoc,
    seqLens,
    contextLens,
    blockTable,
    maxBlocksPerSeq,
    slotMapping,
    numDecodes,
    numExtends,
    numPrefills,
    maxQueryLen: Math.max(0, ...seqs.map((s) => s.queryLen)),
    maxDecodeQueryLen: numDecodes > 0 ? (shape.decodeQueryLen ?? 1) : 0,
    maxSeqLen: Math.max(0, ...seqLens),
  };
  return { meta, numBlocks };
}

/** Writes each sequence's context tokens into the cache (the state a previous step left). */
function placeContext(shape: BatchShape, meta: StepMetadata, row: number, kc: Float32Array, vc: Float32Array, rand: () => number) {
  for (let s = 0; s < meta.numSeqs; s++) {
    for (let pos = 0; pos < meta.contextLens[s]; pos++) {
      const slot = meta.blockTable[s * meta.maxBlocksPerSeq + Math.floor(pos / shape.blockSize)] * shape.blockSize + (pos % shape.blockSize);
      for (let i = 0; i < row; i++) {
        kc[slot * row + i] = rand() * 2 - 1;
        vc[slot * row + i] = rand() * 2 - 1;
      }
    }
  }
}

export function buildCase(shape: BatchShape, dtype: Dtype, seed = hashName(shape.name)): AttentionCase {
  const rand = rng(seed);
  const layer: LayerConfig = {
    numQueryHeads: shape.numQueryHeads,
    numKvHeads: shape.numKvHeads,
    headSize: shape.headSize,
    scale: 1 / Math.sqrt(shape.headSize),
    slidingWindow: shape.slidingWindow,
    softcap: shape.softcap,
    sinks: makeSinks(shape.sinks, shape.numQueryHeads, rand),
  };
  const { meta, numBlocks } = buildMeta(shape, rand);
  const row = shape.numKvHeads * shape.headSize;
  const cacheLen = numBlocks * shape.blockSize * row;
  // Garbage everywhere first (large values, so reading an unwritten slot is a visible error).
  const kc = new Float32Array(cacheLen).map(() => 4 * (rand() * 2 - 1));
  const vc = new Float32Array(cacheLen).map(() => 4 * (rand() * 2 - 1));
  placeContext(shape, meta, row, kc, vc, rand);
  const keyCache = roundArray(kc, dtype);
  const valueCache = roundArray(vc, dtype);
  const q = fillUniform(new Float32Array(meta.numTokens * shape.numQueryHeads * shape.headSize), rand);
  if (shape.queryScale !== undefined) for (let i = 0; i < q.length; i++) q[i] *= shape.queryScale;
  const query = roundArray(q, dtype);
  const key = roundArray(fillUniform(new Float32Array(meta.numTokens * row), rand), dtype);
  const value = roundArray(fillUniform(new Float32Array(meta.numTokens * row), rand), dtype);

  const expKeyCache = Float64Array.from(keyCache);
  const expValueCache = Float64Array.from(valueCache);
  writeKvReference(layer, meta, key, value, expKeyCache, expValueCache);
  const { output, lse } = pagedAttentionReference(layer, meta, shape.blockSize, query, expKeyCache, expValueCache);
  return {
    shape,
    dtype,
    layer,
    cacheSpec: { numBlocks, blockSize: shape.blockSize, dtype, numKvHeads: shape.numKvHeads, headSize: shape.headSize },
    meta,
    inputs: { query, key, value },
    keyCache,
    valueCache,
    numRealTokens: meta.queryStartLoc[meta.numSeqs],
    expected: { output, lse, keyCache: expKeyCache, valueCache: expValueCache },
  };
}
