// Bad input to the CPU backend: every rejection is a SinkrtError naming the field, the rule and the
// value, happens before any kernel runs, and leaves the cache exactly as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvCache } from '../../src/backends/backend.js';
import { CpuBackend, CpuModule, createCpuBackend } from '../../src/backends/cpu/index.js';
import { SinkrtError, type StepMetadata } from '../../src/backends/types.js';
import { buildCase, type AttentionCase } from '../helpers/cases.js';
import { shapeByName } from '../helpers/shapes.js';

let backend: CpuBackend;
let c: AttentionCase;
let cache: KvCache;

beforeAll(async () => {
  backend = await createCpuBackend();
  c = buildCase(shapeByName('mixed-softcap-small-sinks'), 'f32');
});
afterAll(async () => {
  await backend.close();
});

async function freshCache(): Promise<KvCache> {
  const k = await backend.createCache(c.cacheSpec);
  await backend.uploadCache(k, c.keyCache, c.valueCache);
  return k;
}

function outputs() {
  const { numQueryHeads: Hq, headSize: D } = c.layer;
  return { output: new Float32Array(c.meta.numTokens * Hq * D), lse: new Float32Array(c.meta.numTokens * Hq) };
}

function cloneMeta(): StepMetadata {
  const m = c.meta;
  return {
    ...m,
    queryStartLoc: m.queryStartLoc.slice(),
    seqLens: m.seqLens.slice(),
    contextLens: m.contextLens.slice(),
    blockTable: m.blockTable.slice(),
    slotMapping: m.slotMapping.slice(),
  };
}

/** Runs a forward that must be rejected with `code` and a message matching `msg`; checks the cache is unchanged. */
async function expectRejected(run: (k: KvCache) => Promise<unknown>, code: string, msg: RegExp) {
  cache = await freshCache();
  try {
    const err = await run(cache).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, 'expected a rejection').toBeInstanceOf(SinkrtError);
    expect((err as SinkrtError).code).toBe(code);
    expect((err as SinkrtError).message).toMatch(msg);
    const after = await backend.downloadCache(cache);
    expect(after.keyCache).toEqual(c.keyCache);
    expect(after.valueCache).toEqual(c.valueCache);
  } finally {
    backend.destroyCache(cache);
  }
}

describe('cpu backend: bad step input', () => {
  it('a valid step passes (the baseline the cases below mutate)', async () => {
    const k = await freshCache();
    const sel = await backend.forward(k, c.layer, c.meta, c.inputs, outputs());
    expect(sel.decode.kernel).toBe('paged_decode');
    expect(sel.extend.kernel).toBe('unified_attention');
    backend.destroyCache(k);
  });

  it('slot past the cache', async () => {
    const m = cloneMeta();
    const numSlots = c.cacheSpec.numBlocks * c.cacheSpec.blockSize;
    m.slotMapping[0] = numSlots;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', new RegExp(`slotMapping\\[0\\] = ${numSlots} must be \\d+`));
  });

  it('padding token with a real slot', async () => {
    const m = cloneMeta();
    const t = m.numTokens - 1;
    m.slotMapping[t] = 0;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', new RegExp(`slotMapping\\[${t}\\] = 0 must be -1`));
  });

  it('block id past numBlocks', async () => {
    const m = cloneMeta();
    m.blockTable[1 * m.maxBlocksPerSeq] = 9000;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /blockTable\[1\]\[0\] = 9000 is outside the cache \[0, numBlocks \d+\)/);
  });

  it('negative block id', async () => {
    const m = cloneMeta();
    m.blockTable[0] = -1;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /blockTable\[0\]\[0\] = -1 is outside/);
  });

  it('seqLens that disagree with contextLens + queryLen', async () => {
    const m = cloneMeta();
    m.seqLens[0] += 1;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /seqLens\[0\] = \d+ must equal contextLens \+ queryLen/);
  });

  it('a sequence longer than its block table row', async () => {
    const m = cloneMeta();
    m.contextLens[0] += m.maxBlocksPerSeq * c.cacheSpec.blockSize;
    m.seqLens[0] += m.maxBlocksPerSeq * c.cacheSpec.blockSize;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /seqLens\[0\] = \d+ needs \d+ blocks of 16, more than maxBlocksPerSeq/);
  });

  it('prefill sequence with a context', async () => {
    const m = cloneMeta();
    const s = m.numSeqs - 1;
    m.contextLens[s] = 1;
    m.seqLens[s] += 1;
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', new RegExp(`contextLens\\[${s}\\] = 1 must be 0: sequence ${s} is in the prefill range`));
  });

  it('path counts that do not add up', async () => {
    const m = { ...cloneMeta(), numPrefills: 5 };
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /numDecodes \+ numExtends \+ numPrefills = .* must equal numSeqs/);
  });

  it('understated maxDecodeQueryLen', async () => {
    const m = { ...cloneMeta(), maxDecodeQueryLen: 0 };
    await expectRejected((k) => backend.forward(k, c.layer, m, c.inputs, outputs()), 'E_INVALID_META', /maxDecodeQueryLen = 0 must be >= the longest decode query 1/);
  });

  it('query too short, wrong array type, output too short', async () => {
    const short = { ...c.inputs, query: c.inputs.query.subarray(0, 10) };
    await expectRejected((k) => backend.forward(k, c.layer, c.meta, short, outputs()), 'E_INVALID_INPUT', /inputs\.query\.length = 10 must be at least \d+/);
    const typed = { ...c.inputs, key: Array.from(c.inputs.key) as unknown as Float32Array };
    await expectRejected((k) => backend.forward(k, c.layer, c.meta, typed, outputs()), 'E_INVALID_INPUT', /inputs\.key must be a Float32Array \(got Array\)/);
    const o = outputs();
    await expectRejected((k) => backend.forward(k, c.layer, c.meta, c.inputs, { output: o.output.subarray(1) }), 'E_INVALID_INPUT', /out\.output\.length = \d+ must be at least/);
  });

  it('bad layer: sinks length, NaN sink, heads that disagree with the cache', async () => {
    const sinks = new Float32Array(3);
    await expectRejected((k) => backend.forward(k, { ...c.layer, sinks }, c.meta, c.inputs, outputs()), 'E_INVALID_LAYER', /layer\.sinks\.length = 3 must equal numQueryHeads 8/);
    const nan = new Float32Array(8).fill(NaN);
    await expectRejected((k) => backend.forward(k, { ...c.layer, sinks: nan }, c.meta, c.inputs, outputs()), 'E_INVALID_LAYER', /layer\.sinks\[0\] = NaN must be finite or -Infinity/);
    await expectRejected((k) => backend.forward(k, { ...c.layer, numKvHeads: 2 }, c.meta, c.inputs, outputs()), 'E_INVALID_LAYER', /layer\.numKvHeads = 2 must equal the cache's numKvHeads 1/);
    await expectRejected((k) => backend.forward(k, { ...c.layer, scale: -1 }, c.meta, c.inputs, outputs()), 'E_INVALID_LAYER', /layer\.scale = -1 must be finite and > 0/);
  });
});

describe('cpu backend: bad cache and lifecycle use', () => {
  it('unsupported cache specs', async () => {
    const spec = c.cacheSpec;
    await expect(backend.createCache({ ...spec, dtype: 'fp8' as 'f32' })).rejects.toThrow(/spec\.dtype = "fp8" must be one of f32, f16, bf16/);
    await expect(backend.createCache({ ...spec, headSize: 30 })).rejects.toThrow(/spec\.headSize = 30 must be a multiple of 4/);
    await expect(backend.createCache({ ...spec, numBlocks: 0 })).rejects.toThrow(/spec\.numBlocks = 0 must be a positive integer/);
    await expect(backend.createCache({ ...spec, numBlocks: 1 << 20, headSize: 4096 })).rejects.toThrow(/exceeds 2\^31 - 1/);
  });

  it('a cache larger than the 4 GiB WASM memory is a named error, not a crash', async () => {
    // 8192 x 64 x 8 x 256 f32 = 4 GiB per tensor: refused before the memory grows at all.
    const spec = { numBlocks: 8192, blockSize: 64, numKvHeads: 8, headSize: 256, dtype: 'f32' as const };
    const err = await backend.createCache(spec).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SinkrtError);
    expect((err as SinkrtError).code).toBe('E_CPU_OUT_OF_MEMORY');
    expect((err as Error).message).toMatch(/keyCache: 4294967296 bytes exceeds the CPU backend's 4 GiB WASM memory/);
    // The backend still works afterwards.
    const k = await freshCache();
    await backend.forward(k, c.layer, c.meta, c.inputs, outputs());
    backend.destroyCache(k);
  });

  it('upload of the wrong length', async () => {
    const k = await backend.createCache(c.cacheSpec);
    await expect(backend.uploadCache(k, c.keyCache.subarray(1), c.valueCache)).rejects.toThrow(/keyCache\.length = \d+ must equal numBlocks x blockSize x numKvHeads x headSize = \d+/);
    backend.destroyCache(k);
  });

  it('kernel selection explains a head size no kernel declares', async () => {
    const c96 = buildCase({ ...shapeByName('mixed-softcap-small-sinks'), headSize: 96 as 64 }, 'f32');
    const k = await backend.createCache(c96.cacheSpec);
    const { numQueryHeads: Hq, headSize: D } = c96.layer;
    const out = { output: new Float32Array(c96.meta.numTokens * Hq * D) };
    const err = await backend.forward(k, c96.layer, c96.meta, c96.inputs, out).then(() => null, (e: unknown) => e);
    expect((err as SinkrtError).code).toBe('E_NO_KERNEL');
    expect((err as Error).message).toMatch(/paged_decode: headSize 96 not in \[64, 128, 256\]/);
    backend.destroyCache(k);
  });

  it('downloadBlocks refuses ids outside the cache and other array types, naming the index and the value', async () => {
    const k = await freshCache();
    const n = c.cacheSpec.numBlocks;
    await expect(backend.downloadBlocks(k, Int32Array.from([0, n]))).rejects.toThrow(`blocks[1] = ${n} must be in [0, numBlocks = ${n})`);
    await expect(backend.downloadBlocks(k, Int32Array.from([-1]))).rejects.toThrow('blocks[0] = -1 must be in [0');
    await expect(backend.downloadBlocks(k, [0] as unknown as Int32Array)).rejects.toThrow('blocks must be an Int32Array (got Array)');
    const none = await backend.downloadBlocks(k, new Int32Array(0));
    expect(none.keyCache.length).toBe(0);
    backend.destroyCache(k);
  });

  it('destroyed caches, foreign caches and closed backends', async () => {
    const k = await freshCache();
    backend.destroyCache(k);
    await expect(backend.forward(k, c.layer, c.meta, c.inputs, outputs())).rejects.toThrow(/cache has been destroyed/);
    const other = await createCpuBackend();
    const foreign = await other.createCache(c.cacheSpec);
    await expect(backend.downloadCache(foreign)).rejects.toThrow(/not created by this cpu backend/);
    await other.close();
    await expect(other.createCache(c.cacheSpec)).rejects.toThrow(/cpu backend is closed/);
    await expect(other.forward(foreign, c.layer, c.meta, c.inputs, outputs())).rejects.toThrow(/closed/);
  });

  it('bad options', async () => {
    await expect(createCpuBackend({ decodeSegmentLen: 0 })).rejects.toThrow(/options\.decodeSegmentLen = 0 must be a positive integer/);
    await expect(createCpuBackend({ wasm: new Uint8Array([0, 1, 2, 3]) as Uint8Array<ArrayBuffer> })).rejects.toThrow(/does not compile/);
  });
});

describe('cpu kernels: the backstop behind validation', () => {
  it('reshape_and_cache refuses an out-of-range slot and writes nothing', async () => {
    const mod = await CpuModule.load();
    const row = 8;
    const numSlots = 4;
    const kc = mod.alloc(numSlots * row * 4, 'k');
    const vc = mod.alloc(numSlots * row * 4, 'v');
    const src = mod.alloc(2 * row * 4, 'src');
    const slots = mod.alloc(8, 'slots');
    mod.f32.fill(7, kc >>> 2, (kc >>> 2) + numSlots * row);
    mod.f32.fill(1, src >>> 2, (src >>> 2) + 2 * row);
    mod.i32[slots >>> 2] = 1;
    mod.i32[(slots >>> 2) + 1] = numSlots; // one past the end
    const st = mod.exports.sinkrt_reshape_and_cache(src, src, slots, 2, row, numSlots, kc, vc, 0);
    expect(st).toBe(-2);
    expect(Array.from(mod.f32.subarray(kc >>> 2, (kc >>> 2) + numSlots * row)).every((x) => x === 7)).toBe(true);
  });
});
