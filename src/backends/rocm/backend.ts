// The rocm backend: HIP kernels (native-rocm/kernels) behind the thin async addon, as an AttentionBackend.
//
// Start-up (createRocmBackend): load the addon, check its ABI version, find the device and check the
// addon was built for it, then declare capabilities from what the device has: paged_decode and
// unified_attention everywhere, prefill only where the device has matrix units (MFMA / tensor cores);
// without them selection routes prefill to unified_attention and says why.
// Per step: validate everything in TS (the native side only re-checks array lengths and slot bounds),
// select kernels (select.ts), then one native forward: upload, convert to the storage dtype,
// reshape_and_cache, the decode / extend / prefill launches, download. Native failures come back as
// rejected promises and are re-thrown here as SinkrtError (E_NATIVE) with this call's JS stack.
// Storage dtypes: f16 and bf16 (f32 accumulation in every kernel).

import type { AttentionBackend, KvCache, KvCacheSpec, StepInputs, StepOutputs } from '../backend.js';
import { checkBlockList, gatherBlocks } from '../blocks.js';
import { validateAndSelect } from '../validate.js';
import { declareKernel, type BackendCapabilities, type Selection } from '../select.js';
import { SinkrtError, type LayerConfig, type StepMetadata } from '../types.js';
import { probeDevice, type NativeAddon, type NativeCache, type NativeContext, type NativeDeviceInfo } from './addon.js';

export interface RocmBackendOptions {
  /** Fixed split-KV segment count for paged launches (tests); 0 = the heuristic (default). */
  forceSegments?: number;
  /** 16-row tiles per wave in prefill: 0 = the kernel's default (one), 2 = two (head size 64; tests cover both). */
  prefillRowTiles?: 0 | 2;
}

const DTYPE_CODE = { f16: 1, bf16: 2 } as const;
const DTYPES = ['f16', 'bf16'] as const;

/** Capabilities as declared for a device (prefill needs matrix units). */
export function rocmCapabilities(info: Pick<NativeDeviceInfo, 'hasMatrixUnits'>): BackendCapabilities {
  const shared = {
    supportsSink: true,
    supportsSlidingWindow: true,
    supportsSoftcap: true,
    headSizes: [64, 128, 256],
    blockSizes: [16, 32, 64],
    dtypes: [...DTYPES],
    gqaRatios: [],
  };
  return {
    backend: 'rocm',
    kernels: {
      // Rows (query tokens x GQA group) are chunked per block, so a few speculative tokens stay on it.
      paged_decode: declareKernel({ ...shared, maxQueryLen: 8 }),
      unified_attention: declareKernel({ ...shared, maxQueryLen: 1 << 30 }),
      ...(info.hasMatrixUnits ? { prefill: declareKernel({ ...shared, maxQueryLen: 1 << 30 }) } : {}),
    },
  };
}

/** null when the backend can run here, else why not (for suites that must skip). */
export async function rocmSkipReason(): Promise<string | null> {
  try {
    probeDevice();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

class RocmKvCache implements KvCache {
  destroyed = false;
  constructor(readonly spec: KvCacheSpec, readonly owner: RocmBackend, readonly handle: NativeCache, readonly elems: number) {}
}

function validateCacheSpec(spec: KvCacheSpec): void {
  if (spec === null || typeof spec !== 'object') throw new SinkrtError('E_INVALID_CACHE_SPEC', `cache spec = ${String(spec)} must be an object`);
  for (const k of ['numBlocks', 'blockSize', 'numKvHeads', 'headSize'] as const) {
    const v = spec[k];
    if (!Number.isInteger(v) || v <= 0) throw new SinkrtError('E_INVALID_CACHE_SPEC', `spec.${k} = ${String(v)} must be a positive integer`);
  }
  if (![64, 128, 256].includes(spec.headSize)) throw new SinkrtError('E_INVALID_CACHE_SPEC', `spec.headSize = ${spec.headSize} must be 64, 128 or 256 on the rocm backend`);
  if ((spec.blockSize & (spec.blockSize - 1)) !== 0) throw new SinkrtError('E_INVALID_CACHE_SPEC', `spec.blockSize = ${spec.blockSize} must be a power of two`);
  if (!(DTYPES as readonly string[]).includes(spec.dtype)) {
    throw new SinkrtError('E_UNSUPPORTED_DTYPE', `spec.dtype = ${JSON.stringify(spec.dtype)} must be one of ${DTYPES.join(', ')} on the rocm backend`);
  }
  if (spec.numBlocks * spec.blockSize > 0x7fffffff) {
    throw new SinkrtError('E_INVALID_CACHE_SPEC', `numBlocks x blockSize = ${spec.numBlocks * spec.blockSize} slots exceeds 2^31 - 1`);
  }
}

/** Re-throws a native rejection as a SinkrtError whose stack is this call's. */
async function native<T>(what: string, p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new SinkrtError(err.code === 'E_NATIVE_ARG' ? 'E_INVALID_INPUT' : 'E_NATIVE', `rocm ${what}: ${err.message}`, { cause: e });
  }
}

export class RocmBackend implements AttentionBackend {
  readonly name = 'rocm' as const;
  readonly capabilities: BackendCapabilities;
  private readonly ctx: NativeContext;
  private readonly caches = new Set<RocmKvCache>();
  private closed = false;

  private constructor(private readonly addon: NativeAddon, readonly device: NativeDeviceInfo, private readonly opts: RocmBackendOptions) {
    this.capabilities = rocmCapabilities(device);
    try {
      this.ctx = addon.createContext();
    } catch (e) {
      throw new SinkrtError('E_NATIVE', `rocm createContext: ${(e as Error).message}`, { cause: e });
    }
  }

  static create(opts: RocmBackendOptions = {}): RocmBackend {
    const seg = opts.forceSegments ?? 0;
    if (!Number.isInteger(seg) || seg < 0) throw new SinkrtError('E_INVALID_OPTION', `options.forceSegments = ${seg} must be an integer >= 0`);
    const tiles = opts.prefillRowTiles ?? 0;
    if (tiles !== 0 && tiles !== 2) throw new SinkrtError('E_INVALID_OPTION', `options.prefillRowTiles = ${String(tiles)} must be 0 (default) or 2`);
    const { addon, info } = probeDevice();
    return new RocmBackend(addon, info, opts);
  }

  describe(): Record<string, unknown> {
    return {
      backend: 'rocm',
      device: this.device.name,
      arch: this.device.arch,
      vendor: this.device.vendor,
      computeUnits: this.device.computeUnits,
      waveSize: this.device.waveSize,
      matrixUnits: this.device.hasMatrixUnits === 1,
      builtArchs: this.addon.builtArchs,
      kernels: Object.keys(this.capabilities.kernels),
      dtypes: DTYPES,
      caches: this.caches.size,
    };
  }

  private own(cache: KvCache): RocmKvCache {
    if (this.closed) throw new SinkrtError('E_CLOSED', 'rocm backend is closed');
    if (!(cache instanceof RocmKvCache) || cache.owner !== this) throw new SinkrtError('E_INVALID_CACHE', 'cache was not created by this rocm backend');
    if (cache.destroyed) throw new SinkrtError('E_INVALID_CACHE', 'cache has been destroyed');
    return cache;
  }

  async createCache(spec: KvCacheSpec): Promise<KvCache> {
    if (this.closed) throw new SinkrtError('E_CLOSED', 'rocm backend is closed');
    validateCacheSpec(spec);
    const code = DTYPE_CODE[spec.dtype as keyof typeof DTYPE_CODE];
    const handle = await native('createCache', () =>
      this.addon.createCache(this.ctx, spec.numBlocks, spec.blockSize, spec.numKvHeads, spec.headSize, code));
    const cache = new RocmKvCache({ ...spec }, this, handle, spec.numBlocks * spec.blockSize * spec.numKvHeads * spec.headSize);
    this.caches.add(cache);
    return cache;
  }

  private checkHost(c: RocmKvCache, keyCache: Float32Array, valueCache: Float32Array): void {
    for (const [name, a] of [['keyCache', keyCache], ['valueCache', valueCache]] as const) {
      if (!(a instanceof Float32Array) || a.length !== c.elems) {
        throw new SinkrtError('E_INVALID_INPUT', `${name}.length = ${(a as Float32Array)?.length} must equal numBlocks x blockSize x numKvHeads x headSize = ${c.elems}`);
      }
    }
  }

  async uploadCache(cache: KvCache, keyCache: Float32Array, valueCache: Float32Array): Promise<void> {
    const c = this.own(cache);
    this.checkHost(c, keyCache, valueCache);
    await native('uploadCache', () => this.addon.uploadCache(this.ctx, c.handle, keyCache, valueCache));
  }

  async downloadCache(cache: KvCache): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    const keyCache = new Float32Array(c.elems);
    const valueCache = new Float32Array(c.elems);
    await native('downloadCache', () => this.addon.downloadCache(this.ctx, c.handle, keyCache, valueCache));
    return { keyCache, valueCache };
  }

  // The addon copies whole caches only: the listed blocks are gathered on the host after one
  // download (a checked step on the rocm path costs one cache copy over PCIe, as before).
  async downloadBlocks(cache: KvCache, blocks: Int32Array): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    checkBlockList(c.spec, blocks);
    return gatherBlocks(c.spec, await this.downloadCache(cache), blocks);
  }

  async forward(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Promise<Selection> {
    const c = this.own(cache);
    const spec = c.spec;
    const { facts, selection } = validateAndSelect(this.capabilities, spec, layer, meta, inputs, out);
    // The longest key range any query row of a path sees: the split-KV plan is sized from it.
    const W = layer.slidingWindow;
    const maxKeys = (begin: number, end: number) => {
      let m = 0;
      for (let s = begin; s < end; s++) {
        const q = meta.queryStartLoc[s + 1] - meta.queryStartLoc[s];
        const seqLen = meta.seqLens[s];
        m = Math.max(m, W > 0 ? Math.min(seqLen, W + q - 1) : seqLen);
      }
      return m;
    };
    const nd = meta.numDecodes, ne = meta.numExtends;
    const desc = {
      numQueryHeads: layer.numQueryHeads, numKvHeads: layer.numKvHeads, headSize: layer.headSize,
      slidingWindow: W, scale: layer.scale, softcap: layer.softcap,
      numSeqs: meta.numSeqs, numTokens: meta.numTokens, maxBlocksPerSeq: meta.maxBlocksPerSeq,
      numDecodes: nd, numExtends: ne, numPrefills: meta.numPrefills,
      decodeMaxQueryLen: facts.maxDecodeQueryLen, decodeMaxKeys: maxKeys(0, nd),
      extendMaxQueryLen: facts.maxExtendQueryLen, extendMaxKeys: maxKeys(nd, nd + ne),
      prefillMaxQueryLen: facts.maxPrefillQueryLen, prefillMaxKeys: maxKeys(nd + ne, meta.numSeqs),
      prefillOnMatrixUnits: selection.prefill.kernel === 'prefill' ? 1 : 0,
      decodeOnMatrixUnits: selection.decode.kernel === 'paged_decode' && this.device.hasMatrixUnits ? 1 : 0,
      forceSegments: this.opts.forceSegments ?? 0,
      prefillRowTiles: this.opts.prefillRowTiles ?? 0,
      sinks: layer.sinks, queryStartLoc: meta.queryStartLoc, seqLens: meta.seqLens, blockTable: meta.blockTable,
      slotMapping: meta.slotMapping, query: inputs.query, key: inputs.key, value: inputs.value,
      output: out.output, lse: out.lse ?? null,
    };
    await native('forward', () => this.addon.forward(this.ctx, c.handle, desc));
    // Padding rows: o = 0 and lse = -inf, like the reference (their values are unspecified).
    const { numQueryHeads: Hq, headSize: D } = layer;
    out.output.fill(0, facts.numRealTokens * Hq * D, meta.numTokens * Hq * D);
    out.lse?.fill(-Infinity, facts.numRealTokens * Hq, meta.numTokens * Hq);
    return selection;
  }

  destroyCache(cache: KvCache): void {
    if (!(cache instanceof RocmKvCache) || cache.owner !== this || cache.destroyed) return;
    this.addon.destroyCache(cache.handle);
    cache.destroyed = true;
    this.caches.delete(cache);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.caches]) this.destroyCache(c);
    this.addon.destroyContext(this.ctx);
    this.closed = true;
  }
}

export async function createRocmBackend(opts: RocmBackendOptions = {}): Promise<RocmBackend> {
  return RocmBackend.create(opts);
}
