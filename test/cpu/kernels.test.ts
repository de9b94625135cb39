// CPU-specific checks beyond the shared table: split-KV segment lengths that do and do not line up
// with blocks and tiles (the sink must be counted once however many segments a row has), decode sent
// to unified_attention by selection, memory growth mid-life (views re-derived), no allocation in
// steady-state forward calls, and f16/bf16 storage conversion of special values.
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { roundToDtype } from '../../src/backends/reference/index.js';
import { buildCase } from '../helpers/cases.js';
import { runCase } from '../helpers/run-case.js';
import { shapeByName } from '../helpers/shapes.js';

describe('cpu paged_decode split-KV segments', () => {
  const shapes = ['decode-gptoss-large-sinks', 'decode-gptoss-window-128', 'mha-1-1-long-context'];
  const cases = new Map(shapes.map((n) => [n, buildCase(shapeByName(n), 'f32')]));
  for (const segmentLen of [16, 100, 1 << 20]) {
    it(`segment length ${segmentLen}`, async () => {
      const b = await createCpuBackend({ decodeSegmentLen: segmentLen });
      try {
        for (const name of shapes) {
          const r = await runCase(b, shapeByName(name), 'f32', cases.get(name));
          expect(r.selection?.decode.kernel).toBe('paged_decode');
          expect(r.problems, `${name}: ${r.problems.join('\n')}`).toEqual([]);
        }
      } finally {
        await b.close();
      }
    });
  }
});

describe('cpu routing and memory', () => {
  it('decode with 9 query tokens goes to unified_attention and matches the reference', async () => {
    const b = await createCpuBackend();
    const shape = { ...shapeByName('decode-speculative-q3'), name: 'decode-speculative-q9', decodeQueryLen: 9 };
    const r = await runCase(b, shape, 'f32');
    expect(r.selection?.decode.kernel).toBe('unified_attention');
    expect(r.selection?.decode.rejected[0].reasons.join()).toMatch(/queryLen 9 exceeds kernel maxQueryLen 8/);
    expect(r.problems).toEqual([]);
    await b.close();
  });

  it('steady-state forward calls allocate nothing; growth mid-life keeps results right', async () => {
    const b = await createCpuBackend();
    const c = buildCase(shapeByName('mixed-decode-extend-prefill-padded'), 'f32');
    const { numQueryHeads: Hq, headSize: D } = c.layer;
    const cache = await b.createCache(c.cacheSpec);
    const run = async () => {
      await b.uploadCache(cache, c.keyCache, c.valueCache);
      const out = { output: new Float32Array(c.meta.numTokens * Hq * D), lse: new Float32Array(c.meta.numTokens * Hq) };
      await b.forward(cache, c.layer, c.meta, c.inputs, out);
      return out;
    };
    const first = await run();
    const mem = b.describe().wasmMemoryBytes as number;
    for (let i = 0; i < 5; i++) await run();
    expect(b.describe().wasmMemoryBytes).toBe(mem);
    // A 2 x 64 MiB cache forces memory.grow; every view taken before it is detached now.
    const big = await b.createCache({ numBlocks: 1024, blockSize: 64, numKvHeads: 4, headSize: 64, dtype: 'f32' });
    expect(b.describe().wasmMemoryBytes as number).toBeGreaterThan(mem);
    const again = await run();
    expect(again.output).toEqual(first.output);
    expect(again.lse).toEqual(first.lse);
    const r = await runCase(b, shapeByName('mixed-decode-extend-prefill-padded'), 'f32', c);
    expect(r.problems).toEqual([]);
    b.destroyCache(big);
    await b.close();
  });
});

describe('cpu 16-bit storage', () => {
  const vals = [0, -0, 1, -1, 65504, 65519, 65520, -1e6, Infinity, -Infinity, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3895e38, 3.4e38, 1e-40, 3.14159, -2.71828, 1e-5, 0.1, 1000.3];
  for (const dtype of ['f16', 'bf16'] as const) {
    it(`${dtype}: stores f32 values rounded to nearest even, special values included`, async () => {
      const b = await createCpuBackend();
      const spec = { numBlocks: 1, blockSize: 16, numKvHeads: 1, headSize: 4, dtype };
      const n = 64;
      const src = new Float32Array(n);
      for (let i = 0; i < n; i++) src[i] = i < vals.length ? vals[i] : (i - 40) * 0.377;
      const cache = await b.createCache(spec);
      await b.uploadCache(cache, src, src.map((x) => -x));
      const { keyCache, valueCache } = await b.downloadCache(cache);
      for (let i = 0; i < n; i++) {
        expect(keyCache[i], `key ${src[i]}`).toBe(roundToDtype(src[i], dtype));
        expect(valueCache[i], `value ${-src[i]}`).toBe(roundToDtype(-src[i], dtype));
      }
      await b.close();
    });
  }
});

describe('cpu edge steps', () => {
  it('a step with no sequences, only padding rows, writes nothing and zeroes the padding output', async () => {
    const b = await createCpuBackend();
    const c = buildCase(shapeByName('mixed-softcap-small-sinks'), 'f32');
    const cache = await b.createCache(c.cacheSpec);
    await b.uploadCache(cache, c.keyCache, c.valueCache);
    const { numQueryHeads: Hq, headSize: D, numKvHeads: Hkv } = c.layer;
    const numTokens = 3;
    const meta = {
      numSeqs: 0, numTokens, queryStartLoc: new Int32Array([0]), seqLens: new Int32Array(0), contextLens: new Int32Array(0),
      blockTable: new Int32Array(0), maxBlocksPerSeq: 0, slotMapping: new Int32Array(numTokens).fill(-1),
      numDecodes: 0, numExtends: 0, numPrefills: 0, maxQueryLen: 0, maxDecodeQueryLen: 0, maxSeqLen: 0,
    };
    const inputs = { query: new Float32Array(numTokens * Hq * D).fill(1), key: new Float32Array(numTokens * Hkv * D).fill(1), value: new Float32Array(numTokens * Hkv * D).fill(1) };
    const out = { output: new Float32Array(numTokens * Hq * D).fill(NaN), lse: new Float32Array(numTokens * Hq).fill(NaN) };
    await b.forward(cache, c.layer, meta, inputs, out);
    expect(out.output.every((x) => x === 0)).toBe(true);
    expect(out.lse.every((x) => x === -Infinity)).toBe(true);
    const after = await b.downloadCache(cache);
    expect(after.keyCache).toEqual(c.keyCache);
    await b.close();
  });
});
