// Turns one planned step into GPU work: uploads, uniform parameters, pipelines and bind groups
// (prepareStep), then the dispatches (encodeStep). Kept apart from the backend facade so that a
// benchmark can prepare a step once and encode it many times between GPU timestamps.
//
// Dispatch order inside one command buffer: reshape_and_cache (its own pass), then one pass with
// paged_decode + paged_decode_reduce for the decode range when selection chose paged_decode, and
// unified_attention over its work list (extend, prefill, and decode when selection sent it there).
// WebGPU orders the storage writes of one dispatch before the reads of the next.

import type { StepInputs } from '../backend.js';
import type { Selection } from '../select.js';
import type { LayerConfig, StepMetadata } from '../types.js';
import type { BufferPool, KernelFile, PipelineCache } from './pipelines.js';
import { packMeta, planSegments, tileOf, type SegmentPlan } from './plan.js';
import type { SubgroupMatrixShape } from './device.js';

const STORAGE = 0x80; // GPUBufferUsage.STORAGE (literal: the global is absent until a Node device exists)
const COPY_DST = 0x08;
const COPY_SRC = 0x04;
const UNIFORM = 0x40;
const WG = 256;
const PARAM_SLOT = 256; // minUniformBufferOffsetAlignment is at most 256

/** paged_decode variants: see paged_decode.wgsl, paged_decode_sg.wgsl, paged_decode_gqa8.wgsl, paged_decode_mma.wgsl. */
export type DecodeVariant = 'auto' | 'workgroup' | 'subgroup' | 'gqa8' | 'mma';

export interface StepContext {
  device: GPUDevice;
  pipelines: PipelineCache;
  pool: BufferPool;
  /** Smallest subgroup size the adapter guarantees (0 = no subgroups). */
  subgroupMinSize: number;
  /** Fixed subgroup size (min == max), 0 when unknown or variable: enables paged_decode_sg. */
  subgroupSize: number;
  /** Which paged_decode variant to use: 'auto' (subgroup variant where subgroupSize is fixed). */
  decodeVariant: DecodeVariant;
  /** gqa8 tuning: key rows per lane per tile (STEPS; 0 = auto, see gqa8Steps below) and column lanes per row (0 = max(8, D4 / 2)). */
  gqa8Steps: number;
  /** gqa8 auto STEPS for long segments of f16 caches (see gqa8AutoSteps). */
  gqa8LongSteps: number;
  /** Read f16 caches as packed u32 pairs (see ComposeOptions.packedF16). */
  packedF16: boolean;
  gqa8Lanes: number;
  /** gqa8: block-table lookups by shift and mask (log2 blockSize uniform) instead of division. */
  gqa8BlockShift: boolean;
  /** gqa8: keep staged K/V rows in storage precision until each use (LATECVT). */
  gqa8LateConvert: boolean;
  /** gqa8: read q from workgroup memory at each use instead of registers (QSHARED). Absent = auto: on for f32 caches only. */
  gqa8SharedQ?: boolean;
  /** gqa8: QK by dot() with each staged K vec4 converted once for the 8 heads (QKDOT). Absent = auto: on for f16 caches only. */
  gqa8DotQK?: boolean;
  /** gqa8: q straight into registers, no workgroup copy (QDIRECT; only where QR = 8 and no HQK). */
  gqa8DirectQ: boolean;
  /** gqa8, f16 caches, opt-in: QK products and per-lane partial sums in f16 (HQK); PV summed per tile in f16 (HPV). */
  gqa8HalfQK: boolean;
  gqa8HalfPV: boolean;
  /** gqa8: each head's QK dot as one chain of scalar FMAs (QKDOT 2). */
  gqa8FmaChain: boolean;
  /** gqa8: q kept in a per-lane head order so the QK reduce-scatter needs no selects (PERMQ). */
  gqa8PermQ: boolean;
  /** gqa8, f16 caches: K/V read as 16-byte words, two vec4<f16> per load (KV16). */
  gqa8Wide: boolean;
  /** gqa8 with a one-segment plan: the decode kernel finishes the rows itself, no partials and no reduce dispatch (DIRECT). */
  decodeDirect: boolean;
  /** Split-KV reduce: 'serial' (64 invocations walk the segments), 'parallel' (segments over lanes + tree), 'auto' (parallel from 8 segments). */
  decodeReduce: 'serial' | 'parallel' | 'auto';
  /** Keep kernel loops rolled (software adapters: see ComposeOptions.rolled). */
  rolled: boolean;
  decodeTargetWorkgroups: number;
  decodeMinSegmentTiles: number;
  /** Matrix-unit shape paged_decode_mma uses on this device (f16 x f16 -> f32, M = 16), null when none. */
  mmaShape: SubgroupMatrixShape | null;
  /** paged_decode_mma: keys per chunk (16, 32 or 64; 0 = 64). */
  mmaChunk: number;
  /** paged_decode_mma: rise of a head's max (natural log) tolerated before the accumulator is rescaled (8; 0 = every rise). */
  mmaSlack: number;
  /** Set when paged_decode_mma failed to compile here: 'auto' then keeps gqa8 (the message says why). */
  mmaFailure?: string;
  sinksBuffer: (layer: LayerConfig) => GPUBuffer;
}

export interface CacheBuffers {
  key: GPUBuffer;
  value: GPUBuffer;
  numBlocks: number;
  blockSize: number;
  /** Storage dtype of the cache: picks `alias KV` of every kernel. */
  f16: boolean;
}

export interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number, number];
}

export interface PreparedStep {
  reshape: Dispatch | null;
  attention: Dispatch[];
  output: GPUBuffer;
  lse: GPUBuffer;
  outputBytes: number;
  lseBytes: number;
  segments: SegmentPlan | null;
  /** The paged_decode variant this step runs (null when it has no paged_decode dispatch). */
  decodeVariant: DecodeVariant | null;
}

function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

function bind(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[], paramOffset: number): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, i) =>
      i === 0 ? { binding: 0, resource: { buffer, offset: paramOffset, size: PARAM_SLOT } } : { binding: i, resource: { buffer } },
    ),
  });
}

function upload(ctx: StepContext, name: string, data: ArrayBufferView, usage = STORAGE | COPY_DST): GPUBuffer {
  const b = ctx.pool.get(name, data.byteLength, usage);
  if (data.byteLength > 0) ctx.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}

/**
 * gqa8 STEPS when not set: gqa8LongSteps (6) key rows per lane per tile for an f16 cache where the split-KV plan
 * at 4 steps gives segments of >= 1024 keys (more loads in flight pay off over long segments),
 * else 4 (short segments: batch 1 at any context, small batches at short contexts, and f32).
 * 6 rather than 8 since the diet pass (webgpu-decode-h100-20261125-diet*.json, NOTES.md "Register diet").
 * H100 (bench/results/webgpu-decode-h100-20261124-perf3.json, f16, q in registers + QKDOT, % of
 * copy, 4 -> 8 steps): batch 1 x 32K (256 keys per segment) 34.5 -> 30.8, batch 64 x 1K (512)
 * 43.7 -> 41.3, batch 8 x 32K (2048) 56.8 -> 56.7, batch 256 x 1K (1024) 54.3 -> 55.1,
 * batch 64 x 32K 62.0 -> 63.9, batch 256 x 32K 64.2 -> 69.1. With HQK + HPV (session 2,
 * webgpu-decode-h100-20261124-s2.json) the rule still holds: steps 8 everywhere costs batch 1 x 32K
 * 35.1 -> 32.9, steps 4 everywhere costs 256 x 32K 75.2 -> 63.7 (HPV merges once per tile).
 */
/**
 * paged_decode_mma for this geometry. Dawn builds have spelled the matrix load/store layout two
 * ways (a template argument, or a bool argument before the stride): the current spelling first,
 * then the older one (SMOLD).
 */
async function mmaPipeline(ctx: StepContext, base: { f16: boolean; packedF16: boolean; rolled: boolean }, D: number, Hkv: number, SG: number, CH: number): Promise<GPUComputePipeline> {
  const { M, N, K } = ctx.mmaShape!;
  const NG = SG / 8;
  const constants = {
    SG, D, D4: D / 4, MM: M, NN: N, KK: K, CH, MT: CH / M, KS: D / K, DT: D / M, PK: CH / K, NG, KPL: CH / NG,
    FW: N * Math.max(CH, D), RS: Hkv * D, NVT: (CH / K) * (D / M), MSLACK: ctx.mmaSlack,
  };
  const flags = (old: boolean) => ({ SUBGROUPS: true, MMA: true, SMOLD: old });
  try {
    return await ctx.pipelines.get('paged_decode_mma', { ...base, rolled: false, flags: flags(false), constants });
  } catch (first) {
    try {
      return await ctx.pipelines.get('paged_decode_mma', { ...base, rolled: false, flags: flags(true), constants });
    } catch {
      throw first;
    }
  }
}

function gqa8AutoSteps(cache: CacheBuffers, meta: StepMetadata, layer: LayerConfig, NPW: number, ctx: StepContext): number {
  if (!cache.f16) return 4;
  const probe = planSegments(meta, layer, 4 * NPW, ctx.decodeTargetWorkgroups, ctx.decodeMinSegmentTiles);
  return probe.segTiles * 4 * NPW >= 1024 ? ctx.gqa8LongSteps : 4;
}

export async function prepareStep(
  ctx: StepContext,
  cache: CacheBuffers,
  layer: LayerConfig,
  meta: StepMetadata,
  inputs: StepInputs,
  sel: Selection,
): Promise<PreparedStep> {
  const { device, pipelines } = ctx;
  const Hq = layer.numQueryHeads;
  const Hkv = layer.numKvHeads;
  const D = layer.headSize;
  const D4 = D / 4;
  const G = Hq / Hkv;
  const TILE = tileOf(D);
  const rowVec4 = Hkv * D4;
  const useFastDecode = meta.numDecodes > 0 && sel.decode.kernel === 'paged_decode';
  const unifiedFrom = useFastDecode ? meta.numDecodes : 0;
  const HPT = Math.min(G, TILE);
  const QT = Math.floor(TILE / HPT);
  const HCH = ceilDiv(G, HPT);
  const packed = packMeta(meta, unifiedFrom, QT);
  const numTokens = meta.numTokens;
  const negInfBits = 0xff800000;

  const metaBuf = upload(ctx, 'meta', packed.data);
  const qBuf = upload(ctx, 'query', inputs.query.subarray(0, numTokens * Hq * D));
  const kBuf = upload(ctx, 'key', inputs.key.subarray(0, numTokens * rowVec4 * 4));
  const vBuf = upload(ctx, 'value', inputs.value.subarray(0, numTokens * rowVec4 * 4));
  const outputBytes = numTokens * Hq * D * 4;
  const lseBytes = numTokens * Hq * 4;
  const output = ctx.pool.get('output', outputBytes, STORAGE | COPY_SRC);
  const lse = ctx.pool.get('lse', lseBytes, STORAGE | COPY_SRC);
  const sinks = ctx.sinksBuffer(layer);
  const params = ctx.pool.get('params', 4 * PARAM_SLOT, UNIFORM | COPY_DST);
  const pdata = new ArrayBuffer(4 * PARAM_SLOT);
  const u32 = (slot: number) => new Uint32Array(pdata, slot * PARAM_SLOT, PARAM_SLOT / 4);
  const f32 = (slot: number) => new Float32Array(pdata, slot * PARAM_SLOT, PARAM_SLOT / 4);
  const base = { f16: cache.f16, packedF16: ctx.packedF16, rolled: ctx.rolled };
  const numSlots = cache.numBlocks * cache.blockSize;

  // reshape_and_cache (slot 0)
  let reshape: Dispatch | null = null;
  const writes = numTokens * rowVec4;
  if (writes > 0) {
    const groups = ceilDiv(writes, 64);
    const gx = Math.min(groups, 65535);
    u32(0).set([numTokens, numSlots, rowVec4, packed.slotOff, gx * 64]);
    const pipe = await pipelines.get('reshape_and_cache', { ...base, flags: {}, constants: {} });
    reshape = { pipeline: pipe, bindGroup: bind(device, pipe, [params, metaBuf, kBuf, vBuf, cache.key, cache.value], 0), grid: [gx, ceilDiv(groups, gx), 1] };
  }

  const attention: Dispatch[] = [];
  let segments: SegmentPlan | null = null;
  let decodeVariant: DecodeVariant | null = null;
  if (useFastDecode) {
    const SG = ctx.subgroupSize;
    const L = Math.min(SG, ctx.gqa8Lanes > 0 ? Math.min(ctx.gqa8Lanes, D4) : Math.max(8, D4 / 2));
    const gqa8Ok = G === 8 && SG >= 8 && L >= 8 && D4 % L === 0;
    const sgOk = SG >= 4 && G <= 8;
    const want = ctx.decodeVariant;
    // paged_decode_mma: f16 cache (not packed), GQA 8, head size 64 or 128, chunks of 16-64 keys that
    // split into whole M-row tiles and whole per-lane key runs inside one block.
    const MC = ctx.mmaChunk > 0 ? ctx.mmaChunk : 64;
    const mmaOk =
      ctx.mmaShape !== null && ctx.mmaFailure === undefined && cache.f16 && !ctx.packedF16 && G === 8 && SG >= 8 && SG % 8 === 0 && (D === 64 || D === 128) &&
      [16, 32, 64].includes(MC) && MC % ctx.mmaShape.M === 0 && MC % ctx.mmaShape.K === 0 && MC / (SG / 8) <= 16 && Number.isInteger(MC / (SG / 8)) &&
      cache.blockSize >= 16 && Number.isInteger(Math.log2(cache.blockSize));
    // 'auto' never takes mma: on the H100 it is not faster than gqa8 (bench/webgpu/NOTES.md, session 3).
    const variant: DecodeVariant = want === 'auto' || (want === 'mma' && !mmaOk) ? (gqa8Ok ? 'gqa8' : 'workgroup') : want;
    if ((variant === 'gqa8' && !gqa8Ok) || (variant === 'subgroup' && !sgOk)) {
      throw new Error(`paged_decode variant ${variant} does not fit: subgroup size ${SG}, GQA group ${G}, headSize ${D}`);
    }
    let decode: GPUComputePipeline | null = null;
    let direct = false;
    if (variant === 'mma') {
      try {
        decode = await mmaPipeline(ctx, base, D, Hkv, SG, MC);
      } catch (e) {
        // Remembered (describe() reports it): later steps asking for mma run what 'auto' picks.
        ctx.mmaFailure = (e as Error).message;
        throw e;
      }
    }
    const NPW = SG / L;
    const STEPS = ctx.gqa8Steps > 0 ? ctx.gqa8Steps : gqa8AutoSteps(cache, meta, layer, NPW, ctx);
    const tileTokens = variant === 'mma' ? MC : variant === 'gqa8' ? STEPS * NPW : variant === 'subgroup' ? SG : TILE;
    // mma chunks are aligned to MC keys, so a window's range can span one chunk more.
    const planLayer = variant === 'mma' && layer.slidingWindow > 0 ? { ...layer, slidingWindow: layer.slidingWindow + MC } : layer;
    segments = planSegments(meta, planLayer, tileTokens, ctx.decodeTargetWorkgroups, ctx.decodeMinSegmentTiles);
    if (decode !== null) {
      // paged_decode_mma, compiled above
    } else if (variant === 'gqa8') {
      if (!Number.isInteger(Math.log2(cache.blockSize))) throw new Error(`paged_decode gqa8 needs a power-of-two block size, got ${cache.blockSize}`);
      // Half-precision math needs f16 rows kept as WGSL f16 until use (f16 cache, not packed, LATECVT).
      const halfOk = cache.f16 && !ctx.packedF16 && ctx.gqa8LateConvert;
      const HQK = halfOk && ctx.gqa8HalfQK;
      const HPV = halfOk && ctx.gqa8HalfPV;
      // q heads in registers (QR): all 8, or none (QSHARED); splits lost on the H100 (NOTES.md "Register diet").
      const QR = (ctx.gqa8SharedQ ?? !cache.f16) ? 0 : 8;
      // q straight into registers, no workgroup copy: only with all of q in registers and f32 QK.
      const QDIRECT = ctx.gqa8DirectQ && QR === 8 && !HQK;
      // 16-byte loads of two f16 vec4 (rows hold whole vec4 pairs where CPL is even: D4 and rowVec4 are then even).
      const KV16 = ctx.gqa8Wide && halfOk && (D4 / L) % 2 === 0;
      direct = ctx.decodeDirect && segments.numSegments === 1;
      decode = await pipelines.get('paged_decode_gqa8', {
        ...base,
        flags: { SUBGROUPS: true, BLOCK_DIV: !ctx.gqa8BlockShift, LATECVT: ctx.gqa8LateConvert, HQK, HPV, QDIRECT, DIRECT: direct, KV16 },
        constants: {
          SG, D4, L, CPL: D4 / L, CPLM1: D4 / L - 1, CPLH: Math.floor(D4 / L / 2), NPW, STEPS, TT: tileTokens, HL: L / 8, O1: L / 2, O2: L / 4, O3: L / 8,
          QKDOT: ctx.gqa8FmaChain ? 2 : (ctx.gqa8DotQK ?? cache.f16) ? 1 : 0, PERMQ: ctx.gqa8PermQ ? 1 : 0, HQK: HQK ? 1 : 0, QR, QS: 8 - QR,
        },
      });
    } else if (variant === 'subgroup') {
      const CL = Math.min(D4, SG);
      decode = await pipelines.get('paged_decode_sg', { ...base, flags: { SUBGROUPS: true }, constants: { SG, D4, G, CL, CPL: D4 / CL, TGW: SG / CL } });
    } else {
      const QKR = ceilDiv(G * TILE, WG);
      const TG = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, WG / (G * D4)))));
      const PVR = ceilDiv(TG * G * D4, WG);
      const LD = (TILE * D4) / WG;
      const sg = ctx.subgroupMinSize >= TILE;
      decode = await pipelines.get('paged_decode', {
        ...base,
        flags: { SUBGROUPS: sg },
        constants: { D4, KD4P: D4 + 1, G, TILE, WG, QKR, TG, PVR, LD },
      });
    }
    // Parallel reduce where there are segments to spread over lanes; with 1-2 segments its idle lanes
    // and tree barriers cost more than the serial walk (H100: batch 256 x 1K 40.8% -> 38.9% of copy).
    u32(1).set([Hq, Hkv, cache.blockSize, meta.maxBlocksPerSeq, packed.qslOff, packed.seqLensOff, packed.blockTableOff, segments.numSegments, segments.segTiles, layer.slidingWindow]);
    f32(1).set([layer.softcap, layer.scale], 10);
    // [14] zero (rolled loops), [15] log2(blockSize): block sizes are powers of two (16, 32, 64);
    // [16..17] sinks on / -inf bits for a kernel that finishes rows itself (DIRECT).
    u32(1).set([cache.numBlocks, rowVec4, 0, Math.log2(cache.blockSize), layer.sinks ? 1 : 0, negInfBits], 12);
    decodeVariant = variant;
    if (decode === null) throw new Error('paged_decode: no pipeline');
    if (direct) {
      // One segment: the decode kernel writes output and lse (and counts the sink) itself.
      attention.push({
        pipeline: decode,
        bindGroup: bind(device, decode, [params, metaBuf, qBuf, cache.key, cache.value, output, lse, sinks], PARAM_SLOT),
        grid: [1, Hkv, meta.numDecodes],
      });
    } else {
      const parallelReduce = ctx.decodeReduce === 'parallel' || (ctx.decodeReduce === 'auto' && segments.numSegments >= 8);
      const reduce = parallelReduce
        ? await pipelines.get('paged_decode_reduce', { ...base, flags: { PARALLEL: true }, constants: { D4, WGR: 256, R: Math.max(1, 256 / D4) } })
        : await pipelines.get('paged_decode_reduce', { ...base, flags: {}, constants: { D4 } });
      const partialO = ctx.pool.get('partialO', meta.numDecodes * segments.numSegments * Hq * D * 4, STORAGE);
      const partialML = ctx.pool.get('partialML', meta.numDecodes * segments.numSegments * Hq * 8, STORAGE);
      u32(2).set([Hq, segments.numSegments, packed.qslOff, layer.sinks ? 1 : 0, negInfBits]);
      attention.push({
        pipeline: decode,
        bindGroup: bind(device, decode, [params, metaBuf, qBuf, cache.key, cache.value, partialO, partialML], PARAM_SLOT),
        grid: [segments.numSegments, Hkv, meta.numDecodes],
      });
      attention.push({
        pipeline: reduce,
        bindGroup: bind(device, reduce, [params, metaBuf, partialO, partialML, sinks, output, lse], 2 * PARAM_SLOT),
        grid: [Hq, meta.numDecodes, 1],
      });
    }
  }
  if (packed.numWork > 0) {
    const RW = TILE;
    const unified = await pipelines.get('unified_attention', {
      ...base,
      flags: {},
      constants: { D4, KD4P: D4 + 1, G, BK: TILE, RW, HPT, QT, HCH, WG, QKR: ceilDiv(RW * TILE, WG), PVR: ceilDiv(RW * D4, WG), LD: (TILE * D4) / WG },
    });
    u32(3).set([Hq, Hkv, cache.blockSize, meta.maxBlocksPerSeq, packed.qslOff, packed.seqLensOff, packed.blockTableOff, packed.workOff, layer.slidingWindow]);
    f32(3).set([layer.softcap, layer.scale], 9);
    u32(3).set([cache.numBlocks, rowVec4, layer.sinks ? 1 : 0, negInfBits], 11);
    attention.push({
      pipeline: unified,
      bindGroup: bind(device, unified, [params, metaBuf, qBuf, cache.key, cache.value, sinks, output, lse], 3 * PARAM_SLOT),
      grid: [packed.numWork, Hkv * HCH, 1],
    });
  }
  device.queue.writeBuffer(params, 0, pdata);
  return { reshape, attention, output, lse, outputBytes, lseBytes, segments, decodeVariant };
}

/** Records the step: reshape_and_cache in one pass, attention in another (optionally timestamped). */
export function encodeStep(step: PreparedStep, encoder: GPUCommandEncoder, attentionTimestamps?: GPUComputePassTimestampWrites): void {
  if (step.reshape) encodePass(encoder, 'sinkrt.reshape_and_cache', [step.reshape]);
  encodePass(encoder, 'sinkrt.attention', step.attention, attentionTimestamps);
}

/** Records one compute pass holding `dispatches` in order (the benchmarks time a step's dispatches through it too). */
export function encodePass(encoder: GPUCommandEncoder, label: string, dispatches: readonly Dispatch[], timestamps?: GPUComputePassTimestampWrites): void {
  const pass = encoder.beginComputePass({ label, timestampWrites: timestamps });
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.grid);
  }
  pass.end();
}

export type { KernelFile };
