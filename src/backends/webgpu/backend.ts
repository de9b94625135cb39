// The WebGPU backend: AttentionBackend over any GPUDevice (Dawn's `webgpu` package in Node,
// navigator.gpu in browsers and Electron renderers). It declares its kernels' capabilities for the
// adapter it was given (shader-f16 decides the f16 dtype, subgroups the fast tile max), validates
// each step on the host, routes it through selectKernels, and runs the WGSL kernels of shaders/.
// A lost device is remembered and every later call rejects with E_DEVICE_LOST; a readback in
// flight when the device is lost rejects too, it never hangs.

import type { AttentionBackend, KvCache, KvCacheSpec, StepInputs, StepOutputs } from '../backend.js';
import { declareKernel, type BackendCapabilities, type Selection } from '../select.js';
import { SinkrtError, type Dtype, type LayerConfig, type StepMetadata } from '../types.js';
import { fromF16Array, toF16Array } from './half.js';
import { blockElems, checkBlockList } from '../blocks.js';
import { validateAndSelect } from '../validate.js';
import { BufferPool, PipelineCache } from './pipelines.js';
import type { ShaderSources } from './shaders.js';
import { subgroupMatrixShapes, type SubgroupMatrixShape } from './device.js';
import { encodeStep, prepareStep, type DecodeVariant, type PreparedStep, type StepContext } from './step.js';

export interface WebGpuBackendOptions {
  /** Text of every shaders/*.wgsl (loadShadersFromDisk in Node, loadShadersFromUrl in a browser). */
  shaders: ShaderSources;
  /** Use subgroup operations where the adapter offers them (default true). */
  useSubgroups?: boolean;
  /** paged_decode split-KV: workgroups to aim for per step (default 1024) ... */
  decodeTargetWorkgroups?: number;
  /** ... and the fewest key tiles per segment (default 2). */
  decodeMinSegmentTiles?: number;
  /**
   * paged_decode variant: 'auto' (default) takes gqa8 where it fits (GQA group 8, fixed subgroup size
   * >= 8), else workgroup; 'mma' the matrix-unit kernel (paged_decode_mma) where the device offers a
   * usable configuration and the layer fits (else what 'auto' picks).
   */
  decodeVariant?: DecodeVariant;
  /** paged_decode_mma: keys per chunk (16, 32 or 64; default 64), N of the matrix shape (8 or 16; default the first offered, 8). */
  mmaChunk?: number;
  mmaN?: 8 | 16;
  /** paged_decode_mma: rise of a head's max (natural log, integer) tolerated before rescaling the accumulator (default 8; 0 = at every rise). */
  mmaSlack?: number;
  /** gqa8 tuning (benchmarks): key rows per lane per tile (default auto: gqa8LongSteps for f16 caches with segments of >= 1024 keys, else 4), column lanes per row (default max(8, headSize / 8)). */
  gqa8Steps?: number;
  /** gqa8: key rows per lane per tile that the auto rule picks for long segments of f16 caches (default 6; 8 before the diet pass, NOTES.md "Register diet"). */
  gqa8LongSteps?: number;
  gqa8Lanes?: number;
  /** Read/write an f16 cache as packed u32 pairs (unpack2x16float) instead of WGSL f16 (default false). */
  packedF16?: boolean;
  /** gqa8: block-table lookups by shift and mask instead of integer division (default true). */
  gqa8BlockShift?: boolean;
  /** gqa8: keep staged K/V rows in storage precision until each use (default true). */
  gqa8LateConvert?: boolean;
  /** gqa8: read q from workgroup memory at each use instead of registers (default: f32 caches only). */
  gqa8SharedQ?: boolean;
  /** gqa8: QK by dot() with each staged K vec4 converted once for the 8 heads (default: f16 caches only). */
  gqa8DotQK?: boolean;
  /** gqa8: q loaded straight into registers with no workgroup copy (applies where all of q is in registers and QK is f32; default true: bench/webgpu/NOTES.md "Direct q"). */
  gqa8DirectQ?: boolean;
  /**
   * gqa8, f16 caches, opt-in (default false): QK products and per-lane partial logits in f16. Faster
   * (H100 256 x 32K: 70.7 -> 74.2% of copy) but outside the f32-accumulation rule, and it fails the
   * table's peaked-logit shapes (logits ~50: f16 partial logits are off by ~0.016 in lse).
   */
  gqa8HalfQK?: boolean;
  /**
   * gqa8, f16 caches, opt-in (default false): p * v summed per key tile (<= 32 keys) in f16, then
   * folded into the f32 accumulator. Passes the whole table, peaked logits included, but the
   * per-tile sums are f16 accumulation, which the backend's contract rules out by default.
   */
  gqa8HalfPV?: boolean;
  /**
   * gqa8: each head's QK dot as one chain of scalar FMAs instead of dot() plus an add per vec4, and q
   * held in a per-lane head order so the QK reduce-scatter needs no selects (both default true: the
   * kernel is bound by issued instructions; H100 f16, batch 64-256 x 8K-32K: +6-12 points of copy,
   * bench/webgpu/NOTES.md "Session 4").
   */
  gqa8FmaChain?: boolean;
  gqa8PermQ?: boolean;
  /** gqa8, f16 caches: K/V rows read as 16-byte words, two vec4<f16> per load instruction (default true: H100 f16, 256 x 32K 84 -> 90% of copy, NOTES.md "Session 4"). */
  gqa8Wide?: boolean;
  /**
   * gqa8, one-segment plans (large batches): the decode kernel finishes rows and counts the sink
   * itself, with no partials and no reduce dispatch (default true; H100 batch 256 x 1K: +2.5 points
   * of copy, bench/webgpu/NOTES.md "Session 4").
   */
  decodeDirect?: boolean;
  /** Split-KV reduce of paged_decode: 'serial', 'parallel' (segments over lanes, then a tree) or 'auto' (default: parallel from 8 segments). */
  decodeReduce?: 'serial' | 'parallel' | 'auto';
  /** Keep kernel loops rolled; default: true on software adapters (lavapipe, SwiftShader), whose
   * compilers take minutes over unrolled kernels, false elsewhere. */
  rolledLoops?: boolean;
}

/** True for CPU (software) adapters: fallback adapters, llvmpipe/lavapipe, SwiftShader. */
export function isSoftwareAdapter(info: Partial<GPUAdapterInfo> | undefined): boolean {
  if (!info) return false;
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`;
  return /llvmpipe|lavapipe|swiftshader|software/i.test(text);
}

export interface WebGpuKvCache extends KvCache {
  readonly keyBuffer: GPUBuffer;
  readonly valueBuffer: GPUBuffer;
  /** Bytes of each of key and value. */
  readonly bytes: number;
}

const HEAD_SIZES = [64, 128, 256] as const;
const BLOCK_SIZES = [16, 32, 64] as const;
const MIN_WORKGROUP_STORAGE = 29_568; // unified_attention at headSize 64 (see its shared arrays)
const BUF_STORAGE = 0x80;
const BUF_COPY_SRC = 0x04;
const BUF_COPY_DST = 0x08;
const BUF_MAP_READ = 0x01;

class CacheImpl implements WebGpuKvCache {
  destroyed = false;
  constructor(
    readonly spec: KvCacheSpec,
    readonly keyBuffer: GPUBuffer,
    readonly valueBuffer: GPUBuffer,
    readonly bytes: number,
  ) {}
}

export class WebGpuBackend implements AttentionBackend {
  readonly name = 'webgpu' as const;
  readonly capabilities: BackendCapabilities;
  readonly f16: boolean;
  readonly subgroupMinSize: number;
  /** Fixed subgroup size (min == max), else 0. */
  readonly subgroupSize: number;
  /** Matrix-unit shape paged_decode_mma uses (f16 x f16 -> f32, M = 16), null where the device offers none. */
  readonly subgroupMatrix: SubgroupMatrixShape | null;
  readonly pipelines: PipelineCache;
  private readonly pool: BufferPool;
  private readonly sinks = new WeakMap<Float32Array, GPUBuffer>();
  private readonly noSinks: GPUBuffer;
  private lost: string | null = null;
  private readonly lostRejection: Promise<never>;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly ctx: StepContext;

  constructor(
    readonly device: GPUDevice,
    opts: WebGpuBackendOptions,
  ) {
    const lim = device.limits;
    if (lim.maxComputeWorkgroupStorageSize < MIN_WORKGROUP_STORAGE) {
      throw new SinkrtError('E_ADAPTER', `device limit maxComputeWorkgroupStorageSize = ${lim.maxComputeWorkgroupStorageSize} is below the ${MIN_WORKGROUP_STORAGE} bytes unified_attention needs`);
    }
    if (lim.maxComputeInvocationsPerWorkgroup < 256) {
      throw new SinkrtError('E_ADAPTER', `device limit maxComputeInvocationsPerWorkgroup = ${lim.maxComputeInvocationsPerWorkgroup} is below 256`);
    }
    this.f16 = device.features.has('shader-f16');
    const info = (device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    const sgOk = opts.useSubgroups !== false && device.features.has('subgroups' as GPUFeatureName);
    this.subgroupMinSize = sgOk ? (info?.subgroupMinSize ?? 0) : 0;
    const sgMax = sgOk ? (info?.subgroupMaxSize ?? 0) : 0;
    this.subgroupSize = this.subgroupMinSize === sgMax && (sgMax & (sgMax - 1)) === 0 ? sgMax : 0;
    const shapes = this.subgroupSize >= 8 ? subgroupMatrixShapes(device) : [];
    this.subgroupMatrix = shapes.find((m) => opts.mmaN === undefined || m.N === opts.mmaN) ?? null;
    const dtypes: Dtype[] = this.f16 ? ['f32', 'f16'] : ['f32'];
    const common = { supportsSink: true, supportsSlidingWindow: true, supportsSoftcap: true, headSizes: HEAD_SIZES, blockSizes: BLOCK_SIZES, dtypes };
    this.capabilities = {
      backend: 'webgpu',
      kernels: {
        paged_decode: declareKernel({ ...common, maxQueryLen: 1, gqaRatios: [1, 2, 4, 8] }),
        unified_attention: declareKernel({ ...common, maxQueryLen: Number.MAX_SAFE_INTEGER }),
      },
    };
    this.pipelines = new PipelineCache(device, opts.shaders);
    this.pool = new BufferPool(device);
    this.noSinks = device.createBuffer({ size: 16, usage: BUF_STORAGE, label: 'sinkrt.noSinks' });
    this.lostRejection = device.lost.then((i) => {
      this.lost = `${i.reason}: ${i.message}`;
      throw new SinkrtError('E_DEVICE_LOST', `WebGPU device lost (${this.lost})`);
    });
    this.lostRejection.catch(() => {});
    this.ctx = {
      device,
      pipelines: this.pipelines,
      pool: this.pool,
      subgroupMinSize: this.subgroupMinSize,
      subgroupSize: this.subgroupSize,
      decodeVariant: opts.decodeVariant ?? 'auto',
      gqa8Steps: opts.gqa8Steps ?? 0,
      gqa8LongSteps: opts.gqa8LongSteps ?? 6,
      gqa8Lanes: opts.gqa8Lanes ?? 0,
      packedF16: opts.packedF16 ?? false,
      gqa8BlockShift: opts.gqa8BlockShift ?? true,
      gqa8LateConvert: opts.gqa8LateConvert ?? true,
      gqa8SharedQ: opts.gqa8SharedQ,
      gqa8DotQK: opts.gqa8DotQK,
      gqa8DirectQ: opts.gqa8DirectQ ?? true,
      decodeReduce: opts.decodeReduce ?? 'auto',
      gqa8HalfQK: opts.gqa8HalfQK ?? false,
      gqa8HalfPV: opts.gqa8HalfPV ?? false,
      decodeDirect: opts.decodeDirect ?? true,
      gqa8FmaChain: opts.gqa8FmaChain ?? true,
      gqa8PermQ: opts.gqa8PermQ ?? true,
      gqa8Wide: opts.gqa8Wide ?? true,
      rolled: opts.rolledLoops ?? isSoftwareAdapter((device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo),
      decodeTargetWorkgroups: opts.decodeTargetWorkgroups ?? 1024,
      decodeMinSegmentTiles: opts.decodeMinSegmentTiles ?? 2,
      mmaShape: this.subgroupMatrix,
      mmaChunk: opts.mmaChunk ?? 0,
      mmaSlack: opts.mmaSlack ?? 8,
      sinksBuffer: (layer) => this.sinksBuffer(layer),
    };
  }

  describe(): Record<string, unknown> {
    const info = (this.device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const l = this.device.limits;
    return {
      backend: 'webgpu',
      adapter: info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : null,
      features: [...this.device.features].sort(),
      f16: this.f16,
      subgroupMinSize: this.subgroupMinSize,
      subgroupSize: this.subgroupSize,
      subgroupMatrix: this.subgroupMatrix,
      mmaFailure: this.ctx.mmaFailure ?? null,
      limits: { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize, maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize },
      pipelinesCompiled: this.pipelines.compiled,
      lost: this.lost,
    };
  }

  private alive(): void {
    if (this.closed) throw new SinkrtError('E_CLOSED', 'the WebGPU backend is closed');
    if (this.lost !== null) throw new SinkrtError('E_DEVICE_LOST', `WebGPU device lost (${this.lost})`);
  }

  /** Runs GPU work one call at a time (pooled staging buffers) and rejects if the device is lost meanwhile. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      this.alive();
      return Promise.race([fn(), this.lostRejection]);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private own(cache: KvCache): CacheImpl {
    if (!(cache instanceof CacheImpl)) throw new SinkrtError('E_INVALID_CACHE', 'cache was not created by this WebGPU backend');
    if (cache.destroyed) throw new SinkrtError('E_INVALID_CACHE', 'cache was destroyed');
    return cache;
  }

  /** Bytes of one of key/value for `spec`, or a named error when the adapter cannot hold it. */
  checkCacheSpec(spec: KvCacheSpec): number {
    const posInt = (f: string, v: number) => {
      if (!Number.isInteger(v) || v <= 0) throw new SinkrtError('E_INVALID_CACHE', `cacheSpec.${f} = ${v} must be a positive integer`);
    };
    posInt('numBlocks', spec.numBlocks);
    posInt('blockSize', spec.blockSize);
    posInt('numKvHeads', spec.numKvHeads);
    posInt('headSize', spec.headSize);
    if (!(HEAD_SIZES as readonly number[]).includes(spec.headSize)) throw new SinkrtError('E_INVALID_CACHE', `cacheSpec.headSize = ${spec.headSize} must be one of ${HEAD_SIZES.join(', ')}`);
    if (spec.dtype === 'bf16') throw new SinkrtError('E_DTYPE', "cacheSpec.dtype = 'bf16' is not available on WebGPU: WGSL has no bf16 (use 'f16' or 'f32')");
    if (spec.dtype === 'f16' && !this.f16) throw new SinkrtError('E_DTYPE', "cacheSpec.dtype = 'f16' needs the adapter feature shader-f16, which this device lacks (use 'f32')");
    if (spec.dtype !== 'f16' && spec.dtype !== 'f32') throw new SinkrtError('E_DTYPE', `cacheSpec.dtype = ${String(spec.dtype)} must be 'f32' or 'f16'`);
    const blockBytes = spec.blockSize * spec.numKvHeads * spec.headSize * (spec.dtype === 'f16' ? 2 : 4);
    const bytes = spec.numBlocks * blockBytes;
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (bytes > limit) {
      throw new SinkrtError(
        'E_CACHE_TOO_LARGE',
        `cacheSpec.numBlocks = ${spec.numBlocks} gives a ${bytes}-byte key cache (and as large a value cache), over this device's ` +
          `maxStorageBufferBindingSize/maxBufferSize of ${limit} bytes; at most ${Math.floor(limit / blockBytes)} blocks fit in one binding`,
      );
    }
    return bytes;
  }

  async createCache(spec: KvCacheSpec): Promise<KvCache> {
    this.alive();
    const bytes = this.checkCacheSpec(spec);
    const usage = BUF_STORAGE | BUF_COPY_DST | BUF_COPY_SRC;
    this.device.pushErrorScope('out-of-memory');
    const key = this.device.createBuffer({ size: bytes, usage, label: 'sinkrt.keyCache' });
    const value = this.device.createBuffer({ size: bytes, usage, label: 'sinkrt.valueCache' });
    const oom = await Promise.race([this.device.popErrorScope(), this.lostRejection]);
    if (oom) {
      key.destroy();
      value.destroy();
      throw new SinkrtError('E_OUT_OF_MEMORY', `allocating a ${bytes}-byte KV cache (x2) failed: ${oom.message}`);
    }
    return new CacheImpl({ ...spec }, key, value, bytes);
  }

  async uploadCache(cache: KvCache, keyCache: Float32Array, valueCache: Float32Array): Promise<void> {
    const c = this.own(cache);
    const n = c.bytes / (c.spec.dtype === 'f16' ? 2 : 4);
    if (keyCache.length !== n) throw new SinkrtError('E_INVALID_CACHE', `keyCache.length = ${keyCache.length} must equal numBlocks * blockSize * numKvHeads * headSize = ${n}`);
    if (valueCache.length !== n) throw new SinkrtError('E_INVALID_CACHE', `valueCache.length = ${valueCache.length} must equal ${n}`);
    return this.serial(async () => {
      for (const [buf, host] of [[c.keyBuffer, keyCache], [c.valueBuffer, valueCache]] as const) {
        const data = c.spec.dtype === 'f16' ? toF16Array(host) : host;
        this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      }
      await this.device.queue.onSubmittedWorkDone();
    });
  }

  async downloadCache(cache: KvCache): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    return this.readBack(c, [[0, c.bytes]]);
  }

  // A check reads the blocks it checks instead of the whole cache: one copy per run of consecutive ids.
  async downloadBlocks(cache: KvCache, blocks: Int32Array): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const c = this.own(cache);
    checkBlockList(c.spec, blocks);
    const blockBytes = blockElems(c.spec) * (c.spec.dtype === 'f16' ? 2 : 4);
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < blocks.length; ) {
      let n = 1;
      while (i + n < blocks.length && blocks[i + n] === blocks[i] + n) n++;
      runs.push([blocks[i] * blockBytes, n * blockBytes]);
      i += n;
    }
    return this.readBack(c, runs);
  }

  /** Byte ranges [offset, size] of both sides, packed in order into one staging buffer per side, as f32. */
  private readBack(c: CacheImpl, ranges: Array<[number, number]>): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    const total = ranges.reduce((a, r) => a + r[1], 0);
    if (total === 0) return Promise.resolve({ keyCache: new Float32Array(0), valueCache: new Float32Array(0) });
    return this.serial(async () => {
      const out: Float32Array[] = [];
      for (const src of [c.keyBuffer, c.valueBuffer]) {
        const s = this.device.createBuffer({ size: total, usage: BUF_MAP_READ | BUF_COPY_DST });
        try {
          const enc = this.device.createCommandEncoder();
          let at = 0;
          for (const [offset, size] of ranges) {
            enc.copyBufferToBuffer(src, offset, s, at, size);
            at += size;
          }
          this.device.queue.submit([enc.finish()]);
          await s.mapAsync(0x0001);
          const raw = s.getMappedRange();
          out.push(c.spec.dtype === 'f16' ? fromF16Array(new Uint16Array(raw)) : new Float32Array(raw.slice(0)));
          s.unmap();
        } finally {
          s.destroy();
        }
      }
      return { keyCache: out[0], valueCache: out[1] };
    });
  }

  private sinksBuffer(layer: LayerConfig): GPUBuffer {
    if (layer.sinks === null) return this.noSinks;
    // Sinks are model weights: uploaded once per array (callers must not mutate them in place).
    let b = this.sinks.get(layer.sinks);
    if (!b) {
      b = this.device.createBuffer({ size: Math.max(16, Math.ceil(layer.sinks.byteLength / 16) * 16), usage: BUF_STORAGE | BUF_COPY_DST });
      this.device.queue.writeBuffer(b, 0, layer.sinks.buffer, layer.sinks.byteOffset, layer.sinks.byteLength);
      this.sinks.set(layer.sinks, b);
    }
    return b;
  }

  /** Validation and kernel selection of a step (no GPU work). */
  select(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Selection {
    const c = this.own(cache);
    return validateAndSelect(this.capabilities, c.spec, layer, meta, inputs, out).selection;
  }

  /** Uploads a step and builds its dispatches; valid until the next prepare/forward (pooled buffers). */
  async prepare(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, sel: Selection): Promise<PreparedStep> {
    this.alive();
    const c = this.own(cache);
    return prepareStep(this.ctx, { key: c.keyBuffer, value: c.valueBuffer, numBlocks: c.spec.numBlocks, blockSize: c.spec.blockSize, f16: c.spec.dtype === 'f16' }, layer, meta, inputs, sel);
  }

  encode(step: PreparedStep, encoder: GPUCommandEncoder, attentionTimestamps?: GPUComputePassTimestampWrites): void {
    encodeStep(step, encoder, attentionTimestamps);
  }

  forward(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Promise<Selection> {
    let sel: Selection;
    try {
      sel = this.select(cache, layer, meta, inputs, out);
    } catch (e) {
      return Promise.reject(e); // async API: bad input rejects, it does not throw
    }
    return this.serial(async () => {
      this.device.pushErrorScope('validation');
      let step: PreparedStep;
      let stageOut: GPUBuffer;
      let stageLse: GPUBuffer;
      let err: GPUError | null = null;
      try {
        step = await this.prepare(cache, layer, meta, inputs, sel);
        const enc = this.device.createCommandEncoder();
        this.encode(step, enc);
        stageOut = this.pool.get('stage.output', step.outputBytes, BUF_MAP_READ | BUF_COPY_DST);
        stageLse = this.pool.get('stage.lse', step.lseBytes, BUF_MAP_READ | BUF_COPY_DST);
        if (step.outputBytes > 0) enc.copyBufferToBuffer(step.output, 0, stageOut, 0, step.outputBytes);
        if (step.lseBytes > 0) enc.copyBufferToBuffer(step.lse, 0, stageLse, 0, step.lseBytes);
        this.device.queue.submit([enc.finish()]);
      } finally {
        err = await this.device.popErrorScope();
      }
      if (err) throw new SinkrtError('E_WEBGPU', `WebGPU rejected the step: ${err.message}`);
      if (step.outputBytes === 0) return sel;
      await Promise.all([stageOut.mapAsync(0x0001, 0, step.outputBytes), stageLse.mapAsync(0x0001, 0, step.lseBytes)]);
      out.output.set(new Float32Array(stageOut.getMappedRange(0, step.outputBytes)));
      if (out.lse) out.lse.set(new Float32Array(stageLse.getMappedRange(0, step.lseBytes)));
      stageOut.unmap();
      stageLse.unmap();
      return sel;
    });
  }

  destroyCache(cache: KvCache): void {
    const c = this.own(cache);
    c.destroyed = true;
    c.keyBuffer.destroy();
    c.valueBuffer.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    this.pool.destroyAll();
    this.noSinks.destroy();
  }
}

/** The backend over a device the host created (navigator.gpu, Dawn, Electron). */
export async function createWebGpuBackend(device: GPUDevice, opts: WebGpuBackendOptions): Promise<WebGpuBackend> {
  return new WebGpuBackend(device, opts);
}
