// WebGPU-specific checks beyond the shared table: bad input refused with named errors and the cache
// left untouched, the storage-binding limit, the pipeline cache, split-KV segment counts, a lost
// device reported (never a hang), shader composition, and host f16 conversion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundToDtype } from '../../src/backends/reference/index.js';
import { SinkrtError } from '../../src/backends/types.js';
import { checkSources, compose, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/backends/webgpu/half.js';
import { loadShadersFromDisk } from '../../src/backends/webgpu/node.js';
import { buildCase } from '../helpers/cases.js';
import { runCase } from '../helpers/run-case.js';
import { shapeByName } from '../helpers/shapes.js';
import { createNodeBackend, probeAdapter } from './adapter.js';

const probe = await probeAdapter();

describe('webgpu host pieces (no adapter needed)', () => {
  it('f32 -> f16 rounding matches the reference rounding, subnormals and overflow included', () => {
    const vals = [0, -0, 1, -1, 65504, 65520, 1e6, -1e6, 6e-8, 3e-8, 2.98e-8, 1e-5, 0.1, 1 / 3, 2049, 2051, -7.123e-6];
    for (let i = 0; i < 2000; i++) vals.push((Math.random() * 2 - 1) * 10 ** (Math.random() * 12 - 8));
    for (const v of vals) expect(f16BitsToF32(f32ToF16Bits(v)), `value ${v}`).toBe(roundToDtype(v, 'f16'));
  });

  it('compose expands the include, the flags and the header; missing sources are named', () => {
    const src = loadShadersFromDisk();
    const code = compose(src, 'paged_decode', { f16: true, rolled: true, flags: { SUBGROUPS: true }, constants: { D4: 16 } });
    expect(code).toContain('enable f16;');
    expect(code).toContain('subgroupShuffleXor');
    expect(code).toContain('fn finish_row');
    expect(code).toContain('return p.zero;');
    const plain = compose(src, 'paged_decode', { f16: false, flags: {}, constants: { D4: 16 } });
    expect(plain).not.toContain('subgroupShuffleXor');
    expect(plain).not.toContain('enable subgroups');
    expect(plain).toContain('alias KV4 = vec4<f32>;');
    const packed = compose(src, 'reshape_and_cache', { f16: true, packedF16: true, flags: {}, constants: {} });
    expect(packed).not.toContain('enable f16');
    expect(packed).toContain('unpack2x16float');
    // //#unroll: literal indices on GPUs, a loop when rolled.
    const c = { SG: 32, D4: 16, L: 8, CPL: 2, CPLM1: 1, CPLH: 1, NPW: 4, STEPS: 4, TT: 16, HL: 1, O1: 4, O2: 2, O3: 1, QR: 8, QS: 0 };
    const unrolled = compose(src, 'paged_decode_gqa8', { f16: false, flags: { SUBGROUPS: true }, constants: c });
    expect(unrolled).toContain('q[7u * CPL + 1u]');
    expect(unrolled).not.toContain('$');
    const rolled = compose(src, 'paged_decode_gqa8', { f16: false, rolled: true, flags: { SUBGROUPS: true }, constants: c });
    expect(rolled).toContain('for (var h_i = 0u; h_i < 8u; h_i++)');
    expect(() => checkSources({ ...src, unified_attention: '' })).toThrow(/unified_attention\.wgsl/);
  });

  it('composes paged_decode_mma in both builtin spellings (no adapter here offers matrix units to compile it)', () => {
    const src = loadShadersFromDisk();
    const c = { SG: 32, D: 64, D4: 16, MM: 16, NN: 8, KK: 16, CH: 64, MT: 4, KS: 4, DT: 4, PK: 4, NG: 4, KPL: 16, FW: 512, RS: 512, NVT: 16, MSLACK: 8 };
    for (const old of [false, true]) {
      const code = compose(src, 'paged_decode_mma', { f16: true, flags: { SUBGROUPS: true, MMA: true, SMOLD: old }, constants: c });
      expect(code.indexOf('enable chromium_experimental_subgroup_matrix;')).toBeLessThan(code.indexOf('const SG'));
      expect(code).not.toContain('$');
      expect(code).not.toMatch(/\/\/#(if|else|endif|unroll|end)\b/);
      expect(code).toContain('var<storage, read> keyCache: array<f16>;');
      expect(code.match(/fn ld_k\(/g)?.length).toBe(1);
      expect(code.includes('subgroupMatrixLoad<LeftM, col_major>')).toBe(!old);
      expect(code).toContain('vl[3u * DT + 3u] = ld_vt(vb + 3u * MM);');
      // Matrix loads/stores need 16-byte-aligned workgroup arrays: every workgroup variable is a
      // multiple of 16 bytes, so none pushes the others off alignment (the session-2 bug).
      const bytes: Record<string, number> = { f16: 2, f32: 4, u32: 4 };
      const cval = (e: string) => Function(...Object.keys(c), `return (${e});`)(...Object.values(c)) as number;
      for (const m of code.matchAll(/var<workgroup> (\w+): ([^;]+);/g)) {
        const arr = /^array<(f16|f32|u32), (.+)>$/.exec(m[2]);
        expect(arr, `workgroup variable ${m[1]}: ${m[2]}`).not.toBeNull();
        expect((bytes[arr![1]] * cval(arr![2])) % 16, `workgroup variable ${m[1]}: ${m[2]}`).toBe(0);
      }
    }
  });
});

describe.skipIf(probe.skipReason !== null)(`webgpu backend${probe.skipReason ? ` (skipped: ${probe.skipReason})` : ''}`, () => {
  let backend: WebGpuBackend;
  beforeAll(async () => {
    backend = await createNodeBackend();
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('declares matrix units only where the device has chromium-experimental-subgroup-matrix', () => {
    if (!backend.device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)) expect(backend.subgroupMatrix).toBeNull();
    else expect(backend.subgroupMatrix === null || backend.subgroupMatrix.M === 16).toBe(true);
    expect(backend.describe().subgroupMatrix).toEqual(backend.subgroupMatrix);
  });

  it('refuses a KV cache larger than maxStorageBufferBindingSize with a named error', async () => {
    const limit = backend.device.limits.maxStorageBufferBindingSize;
    const blockBytes = 16 * 8 * 64 * 4;
    const numBlocks = Math.floor(limit / blockBytes) + 1;
    const err = await backend.createCache({ numBlocks, blockSize: 16, numKvHeads: 8, headSize: 64, dtype: 'f32' }).catch((e) => e);
    expect(err).toBeInstanceOf(SinkrtError);
    expect(err.code).toBe('E_CACHE_TOO_LARGE');
    expect(err.message).toContain(`cacheSpec.numBlocks = ${numBlocks}`);
    expect(err.message).toContain(`at most ${numBlocks - 1} blocks`);
    // The largest cache that fits is accepted (not allocated here beyond a small case: check only).
    expect(backend.checkCacheSpec({ numBlocks: numBlocks - 1, blockSize: 16, numKvHeads: 8, headSize: 64, dtype: 'f32' })).toBe((numBlocks - 1) * blockBytes);
  });

  it('refuses bf16 (WGSL has none) and bad geometry', async () => {
    const spec = { numBlocks: 4, blockSize: 16, numKvHeads: 1, headSize: 64 };
    await expect(backend.createCache({ ...spec, dtype: 'bf16' })).rejects.toThrow(/WGSL has no bf16/);
    await expect(backend.createCache({ ...spec, headSize: 96, dtype: 'f32' })).rejects.toThrow(/cacheSpec.headSize = 96/);
    await expect(backend.createCache({ ...spec, numBlocks: 0, dtype: 'f32' })).rejects.toThrow(/cacheSpec.numBlocks = 0/);
    expect(backend.capabilities.kernels.paged_decode?.dtypes).not.toContain('bf16');
  });

  it('refuses bad step metadata with the field, rule and value, and leaves the cache untouched', async () => {
    const c = buildCase(shapeByName('mixed-softcap-small-sinks'), 'f32');
    const cache = await backend.createCache(c.cacheSpec);
    try {
      await backend.uploadCache(cache, c.keyCache, c.valueCache);
      const numSlots = c.cacheSpec.numBlocks * c.cacheSpec.blockSize;
      const out = { output: new Float32Array(c.meta.numTokens * c.layer.numQueryHeads * c.layer.headSize) };
      const bad = (patch: (m: typeof c.meta) => void) => {
        const meta = { ...c.meta, slotMapping: c.meta.slotMapping.slice(), blockTable: c.meta.blockTable.slice(), seqLens: c.meta.seqLens.slice() };
        patch(meta);
        return backend.forward(cache, c.layer, meta, c.inputs, out);
      };
      await expect(bad((m) => (m.slotMapping[1] = numSlots))).rejects.toThrow(new RegExp(`meta.slotMapping\\[1\\] = ${numSlots} must be \\d+, the slot of position`));
      await expect(bad((m) => (m.slotMapping[0] = -2))).rejects.toThrow(/meta.slotMapping\[0\] = -2/);
      await expect(bad((m) => (m.blockTable[0] = c.cacheSpec.numBlocks))).rejects.toThrow(/meta.blockTable\[0\]\[0\] = \d+ is outside/);
      await expect(bad((m) => (m.seqLens[0] += 1))).rejects.toThrow(/meta.seqLens\[0\] = \d+ must equal contextLens \+ queryLen/);
      await expect(backend.forward(cache, c.layer, c.meta, { ...c.inputs, key: c.inputs.key.subarray(0, 5) }, out)).rejects.toThrow(/inputs.key.length = 5/);
      await expect(backend.forward(cache, { ...c.layer, numKvHeads: 2, numQueryHeads: 8 }, c.meta, c.inputs, out)).rejects.toThrow(/layer.numKvHeads = 2 must equal/);
      await expect(backend.forward(cache, { ...c.layer, scale: -1 }, c.meta, c.inputs, out)).rejects.toThrow(/layer.scale = -1/);
      const after = await backend.downloadCache(cache);
      expect(after.keyCache).toEqual(c.keyCache);
      expect(after.valueCache).toEqual(c.valueCache);
    } finally {
      backend.destroyCache(cache);
    }
  });

  it('compiles each pipeline once: repeated steps and other batch sizes of the same layer compile nothing', async () => {
    const first = await runCase(backend, shapeByName('decode-mqa-small-sinks'), 'f32');
    expect(first.problems).toEqual([]);
    const compiled = backend.pipelines.compiled;
    const again = await runCase(backend, shapeByName('decode-mqa-small-sinks'), 'f32');
    const other = await runCase(backend, shapeByName('mixed-softcap-small-sinks'), 'f32'); // same geometry, other batch
    expect(again.problems).toEqual([]);
    expect(other.problems).toEqual([]);
    // mixed-softcap-small-sinks adds unified_attention (extend/prefill) for the first time: exactly one pipeline.
    expect(backend.pipelines.compiled).toBe(compiled + 1);
    await runCase(backend, shapeByName('mixed-softcap-small-sinks'), 'f32');
    expect(backend.pipelines.compiled).toBe(compiled + 1);
  });

  // Every paged_decode variant ('auto' takes gqa8 for GQA-8 layers where the subgroup size is fixed,
  // as on lavapipe and NVIDIA, and workgroup elsewhere), with 1 to many segments.
  for (const variant of ['workgroup', 'subgroup', 'gqa8'] as const) {
    it(`paged_decode (${variant} variant) counts the sink once for any number of split-KV segments`, async (ctx) => {
      const probeB = await createNodeBackend();
      const fixed = probeB.subgroupSize;
      await probeB.close();
      if (variant !== 'workgroup' && fixed < 8) ctx.skip(); // adapter without a fixed subgroup size >= 8
      const shape = shapeByName('decode-gptoss-large-sinks');
      const c = buildCase(shape, 'f32');
      for (const target of [1, 64, 4096]) {
        const b = await createNodeBackend({ decodeTargetWorkgroups: target, decodeMinSegmentTiles: 1, decodeVariant: variant });
        try {
          const r = await runCase(b, shape, 'f32', c);
          expect(r.selection?.decode.kernel).toBe('paged_decode');
          expect(r.problems, `target ${target}`).toEqual([]);
        } finally {
          await b.close();
        }
      }
    });
  }

  it('gqa8 paged_decode handles head sizes 128 and 256 with GQA 8 (shapes outside the shared table)', async (ctx) => {
    const b = await createNodeBackend({ decodeVariant: 'auto' });
    try {
      if (b.subgroupSize < 8) ctx.skip();
      for (const headSize of [128, 256] as const) {
        const shape = { ...shapeByName('decode-mqa-small-sinks'), name: `gqa8-h${headSize}`, headSize, blockSize: 32 as const, softcap: 25, slidingWindow: 100, decodes: [1, 99, 250] };
        const r = await runCase(b, shape, 'f32');
        expect(r.selection?.decode.kernel).toBe('paged_decode');
        expect(r.problems, shape.name).toEqual([]);
      }
    } finally {
      await b.close();
    }
  });

  it('paged_decode workgroup variant passes the decode shapes (GQA 8, window, h128, h256 softcap, ordered blocks)', async () => {
    const b = await createNodeBackend({ decodeVariant: 'workgroup' });
    try {
      for (const name of ['decode-mqa-small-sinks', 'decode-gptoss-window-128', 'decode-mha-no-sinks-h128', 'mixed-h256-softcap', 'decode-ordered-blocks-no-sinks-window']) {
        for (const dtype of probe.f16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
          const r = await runCase(b, shapeByName(name), dtype);
          expect(r.problems, `${name} ${dtype}`).toEqual([]);
        }
      }
    } finally {
      await b.close();
    }
  });

  // The f16 shortcuts of the gqa8 kernel are opt-in. HPV (per-tile p * v sums in f16) stays inside
  // the f16 bounds on every GQA-8 decode shape, peaked logits included; HQK (partial logits in f16)
  // does not once logits are tens of units apart, which is why neither is a default.
  it('gqa8 opt-in f16 arithmetic: HPV passes the GQA-8 decode shapes, HQK fails on peaked logits', async (ctx) => {
    if (!probe.f16) ctx.skip(); // adapter lacks shader-f16
    const hpv = await createNodeBackend({ decodeVariant: 'gqa8', gqa8HalfPV: true });
    try {
      if (hpv.subgroupSize < 8) ctx.skip(); // adapter without a fixed subgroup size >= 8
      for (const name of ['decode-gptoss-large-sinks', 'decode-gptoss-window-128', 'decode-gptoss-peaked-logits']) {
        const r = await runCase(hpv, shapeByName(name), 'f16');
        expect(r.problems, name).toEqual([]);
      }
    } finally {
      await hpv.close();
    }
    const hqk = await createNodeBackend({ decodeVariant: 'gqa8', gqa8HalfQK: true });
    try {
      expect((await runCase(hqk, shapeByName('decode-gptoss-large-sinks'), 'f16')).problems).toEqual([]);
      const peaked = await runCase(hqk, shapeByName('decode-gptoss-peaked-logits'), 'f16');
      expect(peaked.problems.join('\n')).toMatch(/lse: \d+ elements out of tolerance/);
    } finally {
      await hqk.close();
    }
  });

  // gqa8 forms the defaults do not reach on the table's short segments: 6 steps (a tile of 24 keys, not a
  // power of two; the f16 default for long segments since the diet pass, NOTES.md "Register diet"), q
  // in workgroup memory (QR = 0) or registers (QR = 8) under each QK path, and q in registers by way
  // of the workgroup copy (gqa8DirectQ false; the default loads it straight into registers); one
  // segment per row (target 1 workgroup), finished in the decode kernel (the default for one-segment
  // plans, which the table's small batches never reach) and through the reduce; QK by dot() with the
  // select-based reduce-scatter and 8-byte K/V loads (the defaults before the instruction diet).
  it('gqa8 passes the GQA-8 decode shapes at 6 steps, with q in workgroup memory or registers, with one segment, and in its older QK and load form', async (ctx) => {
    const sets = [
      { gqa8Steps: 6 }, { gqa8SharedQ: true, gqa8DotQK: true }, { gqa8SharedQ: false, gqa8DotQK: false }, { gqa8DirectQ: false },
      { decodeTargetWorkgroups: 1 }, { decodeTargetWorkgroups: 1, decodeDirect: false }, { decodeTargetWorkgroups: 1, gqa8Steps: 6 },
      { gqa8FmaChain: false, gqa8PermQ: false, gqa8Wide: false },
    ];
    for (const opts of sets) {
      const b = await createNodeBackend({ decodeVariant: 'gqa8', decodeMinSegmentTiles: 1, ...opts });
      try {
        if (b.subgroupSize < 8) ctx.skip(); // adapter without a fixed subgroup size >= 8
        for (const name of ['decode-gptoss-large-sinks', 'decode-gptoss-window-128', 'decode-gptoss-peaked-logits']) {
          for (const dtype of probe.f16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
            const r = await runCase(b, shapeByName(name), dtype);
            expect(r.selection?.decode.kernel).toBe('paged_decode');
            expect(r.problems, `${name} ${dtype} ${JSON.stringify(opts)}`).toEqual([]);
          }
        }
      } finally {
        await b.close();
      }
    }
  });

  // Split-KV over hundreds of segments (batch 1 at long contexts plans 128): the parallel reduce's
  // unrolled rounds of four segments per invocation and its remainder loop, the sink counted once,
  // at head sizes 64 and 128.
  it('merges hundreds of split-KV segments with the parallel reduce', async (ctx) => {
    const b = await createNodeBackend({ decodeReduce: 'parallel', decodeTargetWorkgroups: 100000, decodeMinSegmentTiles: 1 });
    try {
      if (b.subgroupSize < 8) ctx.skip(); // adapter without a fixed subgroup size >= 8
      for (const name of ['decode-long-8k-large-sinks', 'decode-gptoss-large-sinks', 'decode-mha-no-sinks-h128']) {
        const r = await runCase(b, shapeByName(name), 'f32');
        expect(r.selection?.decode.kernel).toBe('paged_decode');
        expect(r.problems, name).toEqual([]);
      }
    } finally {
      await b.close();
    }
  });

  it('reports a lost device as a rejected promise, never a hang', async () => {
    const b = await createNodeBackend();
    const c = buildCase(shapeByName('decode-mqa-small-sinks'), 'f32');
    const cache = await b.createCache(c.cacheSpec);
    b.device.destroy();
    const out = { output: new Float32Array(c.meta.numTokens * c.layer.numQueryHeads * c.layer.headSize) };
    const err = await b.forward(cache, c.layer, c.meta, c.inputs, out).catch((e) => e);
    expect(err).toBeInstanceOf(SinkrtError);
    expect(err.code).toBe('E_DEVICE_LOST');
    await expect(b.createCache(c.cacheSpec)).rejects.toThrow(/device lost/);
  });
});
