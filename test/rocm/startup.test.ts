// What the rocm backend decides without a GPU: the addon's ABI check, the start-up errors a host sees
// when the device is missing, and the capability declaration kernel selection works from. These run
// in CI (no GPU); the addon-dependent ones skip, saying why, when scripts/build-rocm.sh had no nvcc.
import { describe, expect, it } from 'vitest';
import { findAddon, loadAddon, probeDevice, ROCM_ABI_VERSION } from '../../src/backends/rocm/addon.js';
import { createRocmBackend, rocmCapabilities, rocmSkipReason } from '../../src/backends/rocm/backend.js';
import { explainSelection, selectKernels } from '../../src/backends/select.js';
import type { LayerConfig } from '../../src/backends/types.js';
import { SinkrtError } from '../../src/backends/types.js';

const addonPath = findAddon();
const gptOss: LayerConfig = { numQueryHeads: 64, numKvHeads: 8, headSize: 64, scale: 0.125, slidingWindow: 128, softcap: 0, sinks: new Float32Array(64) };

describe.skipIf(addonPath === null)(`rocm addon${addonPath === null ? ' (skipped: native-rocm/build/sinkrt.node not built)' : ''}`, () => {
  it('exports the ABI version this TS expects and the archs it was built for', () => {
    const a = loadAddon();
    expect(a.abiVersion).toBe(ROCM_ABI_VERSION);
    expect(a.builtArchs.length).toBeGreaterThan(0);
    for (const fn of ['deviceInfo', 'createContext', 'createCache', 'forward', 'uploadCache', 'downloadCache'] as const) {
      expect(typeof a[fn]).toBe('function');
    }
  });

  it('start-up either finds a device it was built for or says why not, as a SinkrtError', async () => {
    const reason = await rocmSkipReason();
    if (reason === null) {
      const { info } = probeDevice();
      expect(info.computeUnits).toBeGreaterThan(0);
      expect([32, 64]).toContain(info.waveSize);
      return;
    }
    expect(reason).toMatch(/GPU|device|driver/i);
    await expect(createRocmBackend()).rejects.toBeInstanceOf(SinkrtError);
    await expect(createRocmBackend()).rejects.toMatchObject({ code: expect.stringMatching(/^E_(NO_DEVICE|DEVICE_UNSUPPORTED)$/) });
  });

  it('refuses bad options before touching the device', async () => {
    await expect(createRocmBackend({ forceSegments: -1 })).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
  });
});

describe('rocm capability declaration', () => {
  it('routes a sinks + window layer to paged_decode and prefill when the device has matrix units', () => {
    const sel = selectKernels(rocmCapabilities({ hasMatrixUnits: 1 }), {
      layer: gptOss, blockSize: 16, dtype: 'bf16', maxDecodeQueryLen: 1, maxExtendQueryLen: 300, maxPrefillQueryLen: 8192,
    });
    expect(sel.decode.kernel).toBe('paged_decode');
    expect(sel.extend.kernel).toBe('unified_attention');
    expect(sel.prefill.kernel).toBe('prefill');
  });

  it('falls back to unified_attention for prefill without matrix units, and says why', () => {
    const sel = selectKernels(rocmCapabilities({ hasMatrixUnits: 0 }), {
      layer: gptOss, blockSize: 16, dtype: 'f16', maxDecodeQueryLen: 1, maxPrefillQueryLen: 100,
    });
    expect(sel.prefill.kernel).toBe('unified_attention');
    expect(explainSelection(sel)[2]).toContain('prefill is not implemented by this backend');
  });

  it('declares no f32 storage, so an f32 layer has no kernel and the error names the dtype', () => {
    expect(() => selectKernels(rocmCapabilities({ hasMatrixUnits: 1 }), { layer: gptOss, blockSize: 16, dtype: 'f32', maxDecodeQueryLen: 1 }))
      .toThrow(/dtype f32 not in \[f16, bf16\]/);
  });

  it('sends long speculative decodes to unified_attention', () => {
    const sel = selectKernels(rocmCapabilities({ hasMatrixUnits: 1 }), { layer: gptOss, blockSize: 16, dtype: 'bf16', maxDecodeQueryLen: 9 });
    expect(sel.decode.kernel).toBe('unified_attention');
    expect(sel.decode.rejected[0].reasons[0]).toContain('queryLen 9 exceeds kernel maxQueryLen 8');
  });
});
