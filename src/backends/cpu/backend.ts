// The CPU backend: the C++ kernels of native-cpu/ compiled to WASM SIMD, behind AttentionBackend.
//
// Memory: one WASM instance per backend. Each cache's key and value tensors are allocated in WASM
// memory at createCache and freed at destroyCache. A forward call copies the step's inputs and
// metadata into one staging area and the kernels use one scratch area; both are allocated at first
// use and only re-allocated when a step needs more than any before it, so steady-state forward calls
// allocate nothing. Any allocation may grow the memory, which detaches JS views: CpuModule hands
// out fresh views after every growth, and nothing here keeps a view across an allocation.
//
// Per step: validate (TS), select kernels (select.ts), reshape_and_cache, then one launch per
// non-empty path range (decode, extend, prefill) with the kernel selection chose for it.

import type { AttentionBackend, KvCache, KvCacheSpec, StepInputs, StepOutputs } from '../backend.js';
import { declareKernel, type BackendCapabilities, type KernelName, type Selection } from '../select.js';
import { SinkrtError, type LayerConfig, type StepMetadata } from '../types.js';
import { DTYPE_CODE, FLOAT_PARAMS, PARAM, PARAM_BYTES, STATUS_TEXT } from './abi.js';
import { blockElems, checkBlockList } from '../blocks.js';
import { validateAndSelect } from '../validate.js';
import { validateCacheSpec } from './validate.js';
import { CpuModule, type WasmSource } from './wasm.js';

export interface CpuBackendOptions {
  /** The kernels' module; by default build/cpu/sinkrt_cpu.wasm found next to the package. */
  wasm?: WasmSource;
  /** paged_decode split-KV segment length in tokens (default 512). */
  decodeSegmentLen?: number;
}

const SHARED = {
  supportsSink: true,
  supportsSlidingWindow: true,
  supportsSoftcap: true,
  headSizes: [64, 128, 256],
  blockSizes: [16, 32, 64],
  dtypes: ['f32', 'f16', 'bf16'],
  gqaRatios: [],
} as const;

export const CPU_CAPABILITIES: BackendCapabilities = {
  backend: 'cpu',
  kernels: {
    // Decode rows are (query tokens x GQA group) per KV head; 8 tokens covers speculative decoding.
    paged_decode: declareKernel({ ...SHARED, maxQueryLen: 8 }),
    unified_attention: declareKernel({ ...SHARED, maxQueryLen: 1 << 30 }),
  },
};

class CpuKvCache implements KvCache {
  constructor(
    readonly spec: KvCacheSpec,
    readonly owner: CpuBackend,
    readonly elems: number,
    public keyPtr: number,
    public valuePtr: number,
  ) {}
  destroyed = false;
}

/** A reusable WASM block that only ever grows. */
interface Area {
  ptr: number;
  bytes: number;
}

const align16 = (n: number) => (n + 15) & ~15;

export class CpuBackend implements AttentionBackend {
  readonly name = 'cpu' as const;
  readonly capabilities = CPU_CAPABILITIES;
  private readonly segmentLen: number;
  private readonly params: number;
  private staging: Area = { ptr: 0, bytes: 0 };
  private scratch: Area = { ptr: 0, bytes: 0 };
  private readonly caches = new Set<CpuKvCache>();
  private closed = false;

  private constructor(private readonly mod: CpuModule, opts: CpuBackendOptions) {
    const seg = opts.decodeSegmentLen ?? 512;
    if (!Number.isInteger(seg) || seg <= 0) throw new SinkrtError('E_INVALID_OPTION', `options.decodeSegmentLen = ${seg} must be a positive integer`);
    this.segmentLen = seg;
    this.params = mod.alloc(PARAM_BYTES, 'kernel parameters');
  }

  static async create(opts: CpuBackendOptions = {}): Promise<CpuBackend> {
    return new CpuBackend(await CpuModule.load(opts.wasm), opts);
  }

  describe(): Record<string, unknown> {
    return {
      backend: 'cpu',
      engine: 'C++ kernels compiled with emscripten to WASM SIMD (f32x4), single thread',
      kernels: Object.keys(this.capabilities.kernels),
      dtypes: SHARED.dtypes,
      decodeSegmentLen: this.segmentLen,
      wasmMemoryBytes: this.mod.memoryBytes,
      caches: this.caches.size,
    };
  }

  private live(): void {
    if (this.closed) throw new SinkrtError('E_CLOSED', 'cpu backend is closed');
  }

  private own(cache: KvCache): CpuKvCache {
    this.live();
    if (!(cache instanceof CpuKvCache) || cache.owner !== this) throw new SinkrtError('E_INVALID_CACHE', 'cache was not created by this cpu backend');
    if (cache.destroyed) throw new SinkrtError('E_INVALID_CACHE', 'cache has been destroyed');
    return cache;
  }

  async createCache(spec: KvCacheSpec): Promise<KvCache> {
    this.live();
    validateCacheSpec(spec);
    const elems = spec.numBlocks * spec.blockSize * spec.numKvHeads * spec.headSize;
    const bytes = elems * (spec.dtype === 'f32' ? 4 : 2);
    const k = this.mod.alloc(bytes, 'keyCache');
    let v: number;
    try {
      v = this.mod.alloc(bytes, 'valueCache');
    } catch (e) {
      this.mod.free(k);
      throw e;
    }
    const cache = new CpuKvCache({ ...spec }, this, elems, k, v);
    this.caches.add(cache);
    return cache;
  }

  async uploadCache(cache: KvCache, keyCache: Float32Array, valueCache: Float32Array): Promise<void> {
    const c = this.own(cache);
    for (const [name, a] of [['keyCache', keyCache], ['valueCache', valueCache]] as const) {
      if (!(a instanceof Float32Array) || a.length !== c.elems) {
        throw new SinkrtError('E_INVALID_INPUT', `${name}.length = ${(a as Float32Array)?.length} must equal numBlocks x blockSize x numKvHeads x headSize = ${c.elems}`);
      }
    }
    if (c.spec.dtype === 'f32') {
      this.mod.f32.set(keyCache, c.keyPtr >>> 2);
      this.mod.f32.set(valueCache, c.valuePtr >>> 2);
      return;
    }
    const code = DTYPE_CODE[c.spec.dtype];
    this.convertChunks(c.elems, (src, off, n) => this.mod.exports.sinkrt_to_storage(src, c.keyPtr + off * 2, n, code), keyCache, true);
    this.convertChunks(c.elems, (src, off, n) => this.mod.exports.sinkrt_to_storage(src, c.valuePtr + off * 2, n, code), valueCache, true);
  }

  async downloadCache(cache: KvCache): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    if (c.spec.dtype === 'f32') {
      return {
        keyCache: this.mod.f32.slice(c.keyPtr >>> 2, (c.keyPtr >>> 2) + c.elems),
        valueCache: this.mod.f32.slice(c.valuePtr >>> 2, (c.valuePtr >>> 2) + c.elems),
      };
    }
    const keyCache = new Float32Array(c.elems);
    const valueCache = new Float32Array(c.elems);
    const code = DTYPE_CODE[c.spec.dtype];
    this.convertChunks(c.elems, (dst, off, n) => this.mod.exports.sinkrt_from_storage(c.keyPtr + off * 2, dst, n, code), keyCache, false);
    this.convertChunks(c.elems, (dst, off, n) => this.mod.exports.sinkrt_from_storage(c.valuePtr + off * 2, dst, n, code), valueCache, false);
    return { keyCache, valueCache };
  }

  async downloadBlocks(cache: KvCache, blocks: Int32Array): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    checkBlockList(c.spec, blocks);
    const per = blockElems(c.spec);
    const keyCache = new Float32Array(blocks.length * per);
    const valueCache = new Float32Array(blocks.length * per);
    const code = DTYPE_CODE[c.spec.dtype];
    const buf = c.spec.dtype === 'f32' ? 0 : this.ensure(this.scratch, per * 4, 'conversion scratch');
    for (let i = 0; i < blocks.length; i++) {
      for (const [base, host] of [[c.keyPtr, keyCache], [c.valuePtr, valueCache]] as const) {
        if (c.spec.dtype === 'f32') {
          const at = (base >>> 2) + blocks[i] * per;
          host.set(this.mod.f32.subarray(at, at + per), i * per);
        } else {
          this.mod.exports.sinkrt_from_storage(base + blocks[i] * per * 2, buf, per, code);
          host.set(this.mod.f32.subarray(buf >>> 2, (buf >>> 2) + per), i * per);
        }
      }
    }
    return { keyCache, valueCache };
  }

  /** f16/bf16 upload/download through the scratch area in chunks, so no cache-sized staging is needed. */
  private convertChunks(total: number, run: (buf: number, off: number, n: number) => void, host: Float32Array, toWasm: boolean): void {
    const chunk = 1 << 16;
    const buf = this.ensure(this.scratch, chunk * 4, 'conversion scratch');
    for (let off = 0; off < total; off += chunk) {
      const n = Math.min(chunk, total - off);
      if (toWasm) this.mod.f32.set(host.subarray(off, off + n), buf >>> 2);
      run(buf, off, n);
      if (!toWasm) host.set(this.mod.f32.subarray(buf >>> 2, (buf >>> 2) + n), off);
    }
  }

  private ensure(area: Area, bytes: number, what: string): number {
    if (area.bytes >= bytes) return area.ptr;
    const grown = Math.max(bytes, Math.ceil(area.bytes * 1.5));
    this.mod.free(area.ptr);
    area.ptr = 0;
    area.bytes = 0;
    area.ptr = this.mod.alloc(grown, what);
    area.bytes = grown;
    return area.ptr;
  }

  async forward(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Promise<Selection> {
    const c = this.own(cache);
    const spec = c.spec;
    const { facts, selection } = validateAndSelect(this.capabilities, spec, layer, meta, inputs, out);
    const { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D } = layer;
    const { numSeqs, numTokens } = meta;

    // Staging layout (16-byte aligned parts, in floats/int32s): query, key, value, output, lse,
    // queryStartLoc, seqLens, contextLens, blockTable, slotMapping, sinks.
    const sizes = [numTokens * Hq * D, numTokens * Hkv * D, numTokens * Hkv * D, numTokens * Hq * D, numTokens * Hq,
      numSeqs + 1, numSeqs, numSeqs, numSeqs * meta.maxBlocksPerSeq, numTokens, Hq];
    const offs: number[] = [];
    let total = 0;
    for (const n of sizes) {
      offs.push(total);
      total += align16(n * 4);
    }
    const base = this.ensure(this.staging, total, 'step staging');
    const [pQ, pK, pV, pOut, pLse, pQsl, pSeq, pCtx, pBt, pSlot, pSinks] = offs.map((o) => base + o);
    const f32 = this.mod.f32;
    const i32 = this.mod.i32;
    f32.set(inputs.query.subarray(0, sizes[0]), pQ >>> 2);
    f32.set(inputs.key.subarray(0, sizes[1]), pK >>> 2);
    f32.set(inputs.value.subarray(0, sizes[2]), pV >>> 2);
    i32.set(meta.queryStartLoc.subarray(0, numSeqs + 1), pQsl >>> 2);
    i32.set(meta.seqLens.subarray(0, numSeqs), pSeq >>> 2);
    i32.set(meta.contextLens.subarray(0, numSeqs), pCtx >>> 2);
    i32.set(meta.blockTable.subarray(0, sizes[8]), pBt >>> 2);
    i32.set(meta.slotMapping.subarray(0, numTokens), pSlot >>> 2);
    if (layer.sinks) f32.set(layer.sinks, pSinks >>> 2);

    const rowFloats = Hkv * D;
    const st = this.mod.exports.sinkrt_reshape_and_cache(pK, pV, pSlot, numTokens, rowFloats, spec.numBlocks * spec.blockSize,
      c.keyPtr, c.valuePtr, DTYPE_CODE[spec.dtype]);
    if (st !== 0) throw new SinkrtError('E_KERNEL', `reshape_and_cache refused slotMapping[${-st - 1}] (outside the cache); nothing was written`);

    const p = this.params >>> 2;
    const setParam = (field: number, v: number) => {
      if (FLOAT_PARAMS.has(field)) this.mod.f32[p + field] = v;
      else this.mod.i32[p + field] = v;
    };
    const fixed: Array<[number, number]> = [
      [PARAM.numQueryHeads, Hq], [PARAM.numKvHeads, Hkv], [PARAM.headSize, D], [PARAM.blockSize, spec.blockSize],
      [PARAM.numBlocks, spec.numBlocks], [PARAM.dtype, DTYPE_CODE[spec.dtype]], [PARAM.scale, layer.scale],
      [PARAM.slidingWindow, layer.slidingWindow], [PARAM.softcap, layer.softcap], [PARAM.sinks, layer.sinks ? pSinks : 0],
      [PARAM.queryStartLoc, pQsl], [PARAM.seqLens, pSeq], [PARAM.contextLens, pCtx], [PARAM.blockTable, pBt],
      [PARAM.maxBlocksPerSeq, meta.maxBlocksPerSeq], [PARAM.query, pQ], [PARAM.keyCache, c.keyPtr],
      [PARAM.valueCache, c.valuePtr], [PARAM.output, pOut], [PARAM.lse, pLse], [PARAM.segmentLen, this.segmentLen],
    ];
    for (const [f, v] of fixed) setParam(f, v);

    const ranges: Array<[keyof Selection, number, number]> = [
      ['decode', 0, meta.numDecodes],
      ['extend', meta.numDecodes, meta.numDecodes + meta.numExtends],
      ['prefill', meta.numDecodes + meta.numExtends, numSeqs],
    ];
    for (const [path, begin, end] of ranges) {
      if (end <= begin) continue;
      let maxSeqLen = 0;
      for (let s = begin; s < end; s++) maxSeqLen = Math.max(maxSeqLen, meta.seqLens[s]);
      setParam(PARAM.seqBegin, begin);
      setParam(PARAM.seqEnd, end);
      setParam(PARAM.maxSeqLen, maxSeqLen);
      this.launch(selection[path].kernel, path);
    }

    // Copy out; padding rows get o = 0 and lse = -inf like the reference (their values are unspecified).
    const real = facts.numRealTokens;
    const f32b = this.mod.f32;
    out.output.set(f32b.subarray(pOut >>> 2, (pOut >>> 2) + real * Hq * D));
    out.output.fill(0, real * Hq * D, numTokens * Hq * D);
    if (out.lse) {
      out.lse.set(f32b.subarray(pLse >>> 2, (pLse >>> 2) + real * Hq));
      out.lse.fill(-Infinity, real * Hq, numTokens * Hq);
    }
    return selection;
  }

  private launch(kernel: KernelName, path: string): void {
    const ex = this.mod.exports;
    const [run, need] = kernel === 'paged_decode'
      ? [ex.sinkrt_paged_decode, ex.sinkrt_paged_decode_scratch_floats]
      : kernel === 'unified_attention'
        ? [ex.sinkrt_unified_attention, ex.sinkrt_unified_attention_scratch_floats]
        : [null, null];
    if (!run || !need) throw new SinkrtError('E_NO_KERNEL', `cpu backend has no ${kernel} kernel (path ${path})`);
    const floats = need(this.params);
    // ensure() may grow memory; the scratch pointer and size are written after it, with fresh views.
    const ptr = this.ensure(this.scratch, floats * 4, `${kernel} scratch`);
    this.mod.i32[(this.params >>> 2) + PARAM.scratch] = ptr;
    this.mod.i32[(this.params >>> 2) + PARAM.scratchFloats] = Math.floor(this.scratch.bytes / 4);
    const st = run(this.params);
    if (st !== 0) throw new SinkrtError('E_KERNEL', `${kernel} (${path}) failed with status ${st}: ${STATUS_TEXT[st] ?? 'unknown'}`);
  }

  destroyCache(cache: KvCache): void {
    if (!(cache instanceof CpuKvCache) || cache.owner !== this || cache.destroyed) return;
    this.mod.free(cache.keyPtr);
    this.mod.free(cache.valuePtr);
    cache.keyPtr = 0;
    cache.valuePtr = 0;
    cache.destroyed = true;
    this.caches.delete(cache);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.caches]) this.destroyCache(c);
    this.mod.free(this.staging.ptr);
    this.mod.free(this.scratch.ptr);
    this.mod.free(this.params);
    this.staging = { ptr: 0, bytes: 0 };
    this.scratch = { ptr: 0, bytes: 0 };
    this.closed = true;
  }
}

export async function createCpuBackend(opts: CpuBackendOptions = {}): Promise<CpuBackend> {
  return CpuBackend.create(opts);
}
