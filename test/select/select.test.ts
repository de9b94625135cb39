import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  declareKernel,
  explainSelection,
  kernelRejections,
  selectKernels,
  validateLayer,
  type BackendCapabilities,
  type KernelCapabilities,
} from '../../src/backends/select.js';
import { SinkrtError, type LayerConfig } from '../../src/backends/types.js';

const all = { headSizes: [64, 128, 256], blockSizes: [16, 32, 64], dtypes: ['f16', 'bf16'] as const };

const layer = (over: Partial<LayerConfig> = {}): LayerConfig => ({
  numQueryHeads: 64, numKvHeads: 8, headSize: 64, scale: 0.125, slidingWindow: 0, softcap: 0, sinks: null, ...over,
});

// The seed's situation: an ASM paged-decode kernel without sinks or windows, beside a general kernel.
const legacy: BackendCapabilities = {
  backend: 'legacy',
  kernels: {
    paged_decode: declareKernel({ ...all }),
    unified_attention: declareKernel({ ...all, supportsSink: true, supportsSlidingWindow: true, supportsSoftcap: true, maxQueryLen: 1 << 20 }),
  },
};

describe('kernel selection', () => {
  it('declarations default to unsupported (conservative)', () => {
    const k = declareKernel({});
    expect([k.supportsSink, k.supportsSlidingWindow, k.supportsSoftcap, k.maxQueryLen]).toEqual([false, false, false, 1]);
    expect(kernelRejections('paged_decode', k, { layer: layer(), blockSize: 16, dtype: 'f16', maxDecodeQueryLen: 1 }, 1)).toContain('headSize 64 not in []');
  });

  it('routes decode of a layer with sinks away from a kernel without sink support, and says why', () => {
    const sel = selectKernels(legacy, { layer: layer({ sinks: new Float32Array(64) }), blockSize: 16, dtype: 'bf16', maxDecodeQueryLen: 1 });
    expect(sel.decode.kernel).toBe('unified_attention');
    expect(sel.decode.rejected).toEqual([{ kernel: 'paged_decode', reasons: ['layer has sinks; kernel does not support sinks'] }]);
    expect(sel.prefill.kernel).toBe('unified_attention');
    expect(sel.prefill.rejected[0].reasons).toEqual(['prefill is not implemented by this backend']);
    expect(explainSelection(sel)[0]).toBe('decode: unified_attention (not paged_decode: layer has sinks; kernel does not support sinks)');
  });

  it('takes the fast decode kernel when it supports the layer, and leaves it for longer queries', () => {
    const sel = selectKernels(legacy, { layer: layer(), blockSize: 16, dtype: 'bf16', maxDecodeQueryLen: 1 });
    expect(sel.decode).toEqual({ path: 'decode', kernel: 'paged_decode', rejected: [] });
    const spec = selectKernels(legacy, { layer: layer(), blockSize: 16, dtype: 'bf16', maxDecodeQueryLen: 4 });
    expect(spec.decode.kernel).toBe('unified_attention');
    expect(spec.decode.rejected[0].reasons).toEqual(['queryLen 4 exceeds kernel maxQueryLen 1']);
  });

  it('fails with every reason when no kernel can run a path', () => {
    const weak: BackendCapabilities = { backend: 'weak', kernels: { paged_decode: declareKernel({ ...all }) } };
    expect(() => selectKernels(weak, { layer: layer({ slidingWindow: 128 }), blockSize: 16, dtype: 'f16', maxDecodeQueryLen: 1 })).toThrow(
      /backend weak has no kernel for decode: paged_decode: layer has slidingWindow 128; kernel does not support sliding windows \| unified_attention: unified_attention is not implemented/,
    );
    let err: unknown = null;
    try {
      selectKernels(weak, { layer: layer(), blockSize: 16, dtype: 'f32', maxDecodeQueryLen: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SinkrtError);
    expect((err as SinkrtError).code).toBe('E_NO_KERNEL');
    expect((err as Error).message).toContain('dtype f32 not in [f16, bf16]');
  });

  it('validates the layer, naming field, rule and value', () => {
    expect(validateLayer(layer({ numQueryHeads: 12, numKvHeads: 8 }))).toEqual(['layer.numQueryHeads = 12 must be a multiple of numKvHeads 8']);
    expect(validateLayer(layer({ sinks: new Float32Array(3) }))).toEqual(['layer.sinks.length = 3 must equal numQueryHeads 64']);
    expect(validateLayer(layer({ sinks: new Float32Array(64).fill(NaN) }))[0]).toBe('layer.sinks[0] = NaN must be finite or -Infinity');
    expect(validateLayer(layer({ slidingWindow: -1, scale: 0 }))).toEqual([
      'layer.scale = 0 must be finite and > 0',
      'layer.slidingWindow = -1 must be an integer >= 0 (0 = none)',
    ]);
    expect(() => selectKernels(legacy, { layer: layer({ headSize: 0 }), blockSize: 16, dtype: 'f16', maxDecodeQueryLen: 1 })).toThrow(/layer.headSize = 0 must be a positive integer/);
  });

  // Over random backends and layers: a layer with sinks never reaches a kernel without sink support,
  // and decode takes paged_decode whenever paged_decode can run it.
  const kernelArb: fc.Arbitrary<KernelCapabilities | undefined> = fc.option(
    fc.record({
      supportsSink: fc.boolean(),
      supportsSlidingWindow: fc.boolean(),
      supportsSoftcap: fc.boolean(),
      maxQueryLen: fc.constantFrom(1, 4, 1 << 20),
      headSizes: fc.subarray([64, 128, 256]),
      blockSizes: fc.subarray([16, 32, 64]),
      dtypes: fc.subarray(['f32', 'f16', 'bf16'] as const),
      gqaRatios: fc.constantFrom([], [1], [8]),
    }),
    { nil: undefined },
  );
  it('property: sinks are honoured and the fast decode kernel is preferred', () => {
    fc.assert(
      fc.property(
        kernelArb, kernelArb, kernelArb,
        fc.record({
          sinks: fc.boolean(), window: fc.constantFrom(0, 128), softcap: fc.constantFrom(0, 30), headSize: fc.constantFrom(64, 128, 256),
          ratio: fc.constantFrom(1, 8), blockSize: fc.constantFrom(16, 32, 64), dtype: fc.constantFrom('f32', 'f16', 'bf16' as const),
          decodeLen: fc.constantFrom(1, 3),
        }),
        (pd, ua, pf, l) => {
          const backend: BackendCapabilities = { backend: 'random', kernels: { paged_decode: pd, unified_attention: ua, prefill: pf } };
          const lay = layer({ numQueryHeads: 8, numKvHeads: 8 / l.ratio, headSize: l.headSize, slidingWindow: l.window, softcap: l.softcap, sinks: l.sinks ? new Float32Array(8).fill(3) : null });
          const req = { layer: lay, blockSize: l.blockSize, dtype: l.dtype, maxDecodeQueryLen: l.decodeLen, maxExtendQueryLen: 100, maxPrefillQueryLen: 100 };
          let sel;
          try {
            sel = selectKernels(backend, req);
          } catch (e) {
            expect((e as SinkrtError).code).toBe('E_NO_KERNEL');
            return;
          }
          for (const p of ['decode', 'extend', 'prefill'] as const) {
            const caps = backend.kernels[sel[p].kernel]!;
            if (l.sinks) expect(caps.supportsSink).toBe(true);
            expect(kernelRejections(sel[p].kernel, caps, req, p === 'decode' ? l.decodeLen : 100)).toEqual([]);
          }
          if (kernelRejections('paged_decode', pd, req, l.decodeLen).length === 0) expect(sel.decode.kernel).toBe('paged_decode');
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});
