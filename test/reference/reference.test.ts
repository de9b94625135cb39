import { describe, expect, it } from 'vitest';
import {
  attendRow,
  contiguousSource,
  mergeByLse,
  pagedAttentionReference,
  prefillReference,
  writeKvReference,
} from '../../src/backends/reference/index.js';
import type { LayerConfig, StepMetadata } from '../../src/backends/types.js';
import { buildCase, rng } from '../helpers/cases.js';
import { compareArrays } from '../helpers/compare.js';
import { BATCH_SHAPES, shapeByName, type BatchShape } from '../helpers/shapes.js';
import { denseAttention } from './dense.js';

const small: BatchShape = {
  name: 'ref-small', numQueryHeads: 4, numKvHeads: 2, headSize: 64, blockSize: 16, slidingWindow: 0, softcap: 0,
  sinks: 'large', decodes: [40], extends: [[37, 9]], prefills: [23], shuffle: true, padTokens: 2, tags: [],
};

function layerOf(h: { Hq: number; Hk: number; D: number }, over: Partial<LayerConfig> = {}): LayerConfig {
  return { numQueryHeads: h.Hq, numKvHeads: h.Hk, headSize: h.D, scale: 1 / Math.sqrt(h.D), slidingWindow: 0, softcap: 0, sinks: null, ...over };
}

function randArray(n: number, rand: () => number, amp = 1): Float64Array {
  return Float64Array.from({ length: n }, () => amp * (rand() * 2 - 1));
}

/** Gathers one sequence's logical K/V [seqLen, Hk, D] out of the paged cache. */
function gather(c: ReturnType<typeof buildCase>, s: number, cache: Float64Array): Float64Array {
  const { meta, cacheSpec: cs } = c;
  const row = cs.numKvHeads * cs.headSize;
  const out = new Float64Array(meta.seqLens[s] * row);
  for (let pos = 0; pos < meta.seqLens[s]; pos++) {
    const slot = meta.blockTable[s * meta.maxBlocksPerSeq + Math.floor(pos / cs.blockSize)] * cs.blockSize + (pos % cs.blockSize);
    out.set(cache.subarray(slot * row, (slot + 1) * row), pos * row);
  }
  return out;
}

describe('float64 reference vs an independent dense formulation', () => {
  const variants: Array<[string, Partial<BatchShape>]> = [
    ['sinks large', {}],
    ['sinks small, window 8', { sinks: 'small', slidingWindow: 8 }],
    ['no sinks, softcap 2', { sinks: 'none', softcap: 2 }],
    ['MQA 8/1, block 32, head 128', { numQueryHeads: 8, numKvHeads: 1, headSize: 128, blockSize: 32 }],
  ];
  for (const [label, over] of variants) {
    it(`paged reference equals dense softmax over [logits, sink] minus the sink column: ${label}`, () => {
      const c = buildCase({ ...small, ...over, name: `ref-${label}` }, 'f32');
      const { meta, layer } = c;
      const Hq = layer.numQueryHeads;
      const D = layer.headSize;
      for (let s = 0; s < meta.numSeqs; s++) {
        const k = gather(c, s, c.expected.keyCache);
        const v = gather(c, s, c.expected.valueCache);
        const q0 = meta.queryStartLoc[s];
        const ql = meta.queryStartLoc[s + 1] - q0;
        const dense = denseAttention(layer, c.inputs.query.subarray(q0 * Hq * D, (q0 + ql) * Hq * D), k, v, meta.contextLens[s], ql);
        const o = compareArrays(c.expected.output.subarray(q0 * Hq * D), dense.out, dense.out.length, 1e-12, 1e-12);
        const l = compareArrays(c.expected.lse.subarray(q0 * Hq), dense.lse, dense.lse.length, 1e-12, 1e-12);
        expect(o.bad, `seq ${s} output`).toBe(0);
        expect(l.bad, `seq ${s} lse`).toBe(0);
      }
    });
  }

  it('prefill over contiguous Q/K/V equals the paged path on the same prefill batch', () => {
    const c = buildCase({ ...small, decodes: [], extends: [], prefills: [1, 23, 40], padTokens: 0, slidingWindow: 16, name: 'ref-prefill' }, 'f32');
    const cu = Array.from(c.meta.queryStartLoc);
    const p = prefillReference(c.layer, cu, c.inputs.query, c.inputs.key, c.inputs.value);
    expect(compareArrays(p.output, c.expected.output, p.output.length, 1e-13, 0).bad).toBe(0);
    expect(compareArrays(p.lse, c.expected.lse, p.lse.length, 1e-13, 0).bad).toBe(0);
  });
});

describe('properties of the sink contract', () => {
  const rand = rng(7);
  const H = { Hq: 2, Hk: 1, D: 16 };
  const n = 300;
  const q = randArray(H.Hq * H.D, rand, 3);
  const k = randArray(n * H.D, rand);
  const v = randArray(n * H.D, rand);

  it('sinks = -inf is plain causal attention (same as no sinks)', () => {
    const none = layerOf(H);
    const negInf = layerOf(H, { sinks: new Float32Array([-Infinity, -Infinity]) });
    const a = denseAttention(none, q, k, v, n - 1, 1);
    const b = pagedAttentionReference(negInf, oneSeqMeta(n), n, q, k, v);
    expect(compareArrays(b.output, a.out, a.out.length, 1e-13, 0).bad).toBe(0);
    expect(compareArrays(b.lse, a.lse, a.lse.length, 1e-13, 0).bad).toBe(0);
  });

  it('a large sink changes the output a lot (so the table\'s large sinks matter)', () => {
    const c1 = buildCase(shapeByName('decode-gptoss-large-sinks'), 'f32');
    const noSink = pagedAttentionReference({ ...c1.layer, sinks: null }, c1.meta, c1.cacheSpec.blockSize, c1.inputs.query, c1.expected.keyCache, c1.expected.valueCache);
    let num = 0;
    let den = 0;
    for (let i = 0; i < noSink.output.length; i++) {
      num += (noSink.output[i] - c1.expected.output[i]) ** 2;
      den += noSink.output[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeGreaterThan(0.5);
  });

  it('merging two halves of a context by LSE with the sink counted once equals the whole; twice does not', () => {
    const layer = layerOf(H, { sinks: new Float32Array([8, 1.5]) });
    const src = contiguousSource(layer, k, v, 0);
    for (let h = 0; h < 2; h++) {
      const whole = new Float64Array(H.D);
      const wholeLse = attendRow(layer, q, h * H.D, h, src, 0, n - 1, whole, 0);
      const a = new Float64Array(H.D);
      const b = new Float64Array(H.D);
      const cut = 137;
      const lseA = attendRow(layer, q, h * H.D, h, src, 0, cut - 1, a, 0, 0);
      const lseB = attendRow(layer, q, h * H.D, h, src, cut, n - 1, b, 0, 0);
      const once = mergeByLse([{ out: a, lse: lseA }, { out: b, lse: lseB }], layer.sinks![h], H.D);
      expect(compareArrays(once.out, whole, H.D, 1e-13, 1e-12).bad).toBe(0);
      expect(Math.abs(once.lse - wholeLse)).toBeLessThan(1e-12);
      // The known bug: each chunk carries the sink and the merge adds it again.
      const a2 = new Float64Array(H.D);
      const b2 = new Float64Array(H.D);
      const lA = attendRow(layer, q, h * H.D, h, src, 0, cut - 1, a2, 0, 1);
      const lB = attendRow(layer, q, h * H.D, h, src, cut, n - 1, b2, 0, 1);
      const thrice = mergeByLse([{ out: a2, lse: lA }, { out: b2, lse: lB }], layer.sinks![h], H.D);
      const err = Math.max(...whole.map((x, d) => Math.abs(x - thrice.out[d])));
      expect(err).toBeGreaterThan(h === 0 ? 1e-3 : 1e-6);
      expect(Math.abs(thrice.lse - wholeLse)).toBeGreaterThan(1e-6);
    }
  });

  it('keys outside the sliding window have no influence; the last key inside does', () => {
    const layer = layerOf(H, { slidingWindow: 50, sinks: new Float32Array([2, 3]) });
    const p = n - 1;
    const base = pagedAttentionReference(layer, oneSeqMeta(n), n, q, k, v);
    const k2 = Float64Array.from(k);
    const v2 = Float64Array.from(v);
    for (let d = 0; d < H.D; d++) { k2[(p - 50) * H.D + d] += 5; v2[(p - 50) * H.D + d] += 5; } // just outside
    const outside = pagedAttentionReference(layer, oneSeqMeta(n), n, q, k2, v2);
    expect(compareArrays(outside.output, base.output, base.output.length, 0, 0).bad).toBe(0);
    for (let d = 0; d < H.D; d++) v2[(p - 49) * H.D + d] += 5; // just inside
    const inside = pagedAttentionReference(layer, oneSeqMeta(n), n, q, k2, v2);
    expect(compareArrays(inside.output, base.output, base.output.length, 1e-6, 0).bad).toBeGreaterThan(0);
  });

  it('sinks are neither scaled nor softcapped; logits are', () => {
    const layer = layerOf({ Hq: 1, Hk: 1, D: 16 }, { softcap: 1, scale: 1, sinks: new Float32Array([5]) });
    const src = contiguousSource(layer, k, v, 0);
    const out = new Float64Array(16);
    const lse = attendRow(layer, q, 0, 0, src, 0, 9, out, 0);
    // Every capped logit is in (-1, 1), so lse is within log(10 e^1 + e^5) of above.
    expect(lse).toBeLessThanOrEqual(Math.log(10 * Math.E + Math.exp(5)) + 1e-12);
    expect(lse).toBeGreaterThan(5);
  });

  it('a row with no visible key gives o = 0 (lse -inf without a sink, lse = s with one)', () => {
    const src = contiguousSource(layerOf(H), k, v, 0);
    const out = new Float64Array(H.D).fill(9);
    expect(attendRow(layerOf(H), q, 0, 0, src, 5, 4, out, 0)).toBe(-Infinity);
    expect(out.every((x) => x === 0)).toBe(true);
    const withSink = layerOf(H, { sinks: new Float32Array([1.25, 0]) });
    out.fill(9);
    expect(attendRow(withSink, q, 0, 0, src, 5, 4, out, 0)).toBe(1.25);
    expect(out.every((x) => x === 0)).toBe(true);
  });
});

describe('writeKvReference', () => {
  it('writes by slot, skips -1 and refuses a slot outside the cache', () => {
    const layer = layerOf({ Hq: 1, Hk: 1, D: 2 });
    const meta = { ...oneSeqMeta(3), numTokens: 3, slotMapping: new Int32Array([4, -1, 0]) };
    const kc = new Float64Array(12).fill(7);
    const vc = new Float64Array(12).fill(7);
    writeKvReference(layer, meta, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], kc, vc);
    expect(Array.from(kc)).toEqual([5, 6, 7, 7, 7, 7, 7, 7, 1, 2, 7, 7]);
    const bad = { ...meta, slotMapping: new Int32Array([6, -1, 0]) };
    expect(() => writeKvReference(layer, bad, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], kc, vc)).toThrow(/slotMapping\[0\] = 6 is outside the cache \[0, 6\)/);
  });
});

/** One sequence of n tokens, all of them context except the last, cache = contiguous (block size n). */
function oneSeqMeta(n: number): StepMetadata {
  return {
    numSeqs: 1, numTokens: 1, queryStartLoc: new Int32Array([0, 1]), seqLens: new Int32Array([n]),
    contextLens: new Int32Array([n - 1]), blockTable: new Int32Array([0]), maxBlocksPerSeq: 1,
    slotMapping: new Int32Array([n - 1]), numDecodes: 1, numExtends: 0, numPrefills: 0, maxQueryLen: 1,
    maxDecodeQueryLen: 1, maxSeqLen: n,
  };
}

describe('the table of batch shapes', () => {
  const has = (f: (s: BatchShape) => boolean) => BATCH_SHAPES.some(f);
  it('covers what the design asks for', () => {
    expect(has((s) => s.decodes.length > 0 && s.extends.length === 0 && s.prefills.length === 0)).toBe(true);
    expect(has((s) => s.prefills.length > 0 && s.decodes.length === 0 && s.extends.length === 0)).toBe(true);
    expect(has((s) => s.decodes.length > 0 && s.extends.length > 0 && s.prefills.length > 0)).toBe(true);
    for (const [hq, hk] of [[64, 8], [8, 1], [1, 1]]) expect(has((s) => s.numQueryHeads === hq && s.numKvHeads === hk)).toBe(true);
    for (const d of [64, 128, 256]) expect(has((s) => s.headSize === d)).toBe(true);
    for (const b of [16, 32, 64]) expect(has((s) => s.blockSize === b)).toBe(true);
    for (const k of ['none', 'small', 'large'] as const) expect(has((s) => s.sinks === k)).toBe(true);
    expect(has((s) => s.slidingWindow === 128 && s.sinks === 'large')).toBe(true);
    expect(has((s) => s.softcap > 0)).toBe(true);
    expect(has((s) => s.padTokens > 0)).toBe(true);
    expect(has((s) => s.shuffle)).toBe(true);
    expect(has((s) => Math.max(0, ...s.decodes) >= 2048)).toBe(true); // many tiles, several split-KV segments
    expect(has((s) => s.extends.some(([ctx]) => ctx >= 700))).toBe(true); // several context chunks
  });

  it('builds consistent cases: every block owned once, slots inside their own blocks, spare blocks unowned', () => {
    for (const shape of BATCH_SHAPES.filter((s) => !s.tags.includes('heavy'))) {
      const c = buildCase(shape, 'f32');
      const { meta } = c;
      const bs = c.cacheSpec.blockSize;
      const owner = new Map<number, number>();
      for (let s = 0; s < meta.numSeqs; s++) {
        for (let b = 0; b < Math.ceil(meta.seqLens[s] / bs); b++) {
          const id = meta.blockTable[s * meta.maxBlocksPerSeq + b];
          expect(owner.has(id), `${shape.name}: block ${id} owned twice`).toBe(false);
          owner.set(id, s);
        }
        for (let t = meta.queryStartLoc[s]; t < meta.queryStartLoc[s + 1]; t++) {
          expect(owner.get(Math.floor(meta.slotMapping[t] / bs))).toBe(s);
        }
      }
      expect(owner.size).toBeLessThan(c.cacheSpec.numBlocks);
      for (let t = c.numRealTokens; t < meta.numTokens; t++) expect(meta.slotMapping[t]).toBe(-1);
    }
  });
});
