// GPU timing helpers for the WebGPU benchmarks: timestamp queries around compute passes where the
// device has timestamp-query (median of the per-pass GPU times), else wall time around
// submit + onSubmittedWorkDone (marked as such in the results). Plus the copy-shader baseline and
// a GPU-side fill of large buffers (so a multi-GiB KV cache needs no host upload).

import { encodePass, type Dispatch } from '../../src/backends/webgpu/step.js';

export interface Timer {
  kind: 'gpu-timestamps' | 'wall-clock';
  /** Runs `encodePass(encoder, timestampWrites)` reps times after warmup; returns per-rep ms. */
  time(encodePass: (enc: GPUCommandEncoder, ts?: GPUComputePassTimestampWrites) => void, reps: number, warmup: number): Promise<number[]>;
}

export function makeTimer(device: GPUDevice): Timer {
  const hasTs = device.features.has('timestamp-query');
  return {
    kind: hasTs ? 'gpu-timestamps' : 'wall-clock',
    async time(encodePass, reps, warmup) {
      for (let i = 0; i < warmup; i++) {
        const enc = device.createCommandEncoder();
        encodePass(enc);
        device.queue.submit([enc.finish()]);
      }
      await device.queue.onSubmittedWorkDone();
      if (!hasTs) {
        const out: number[] = [];
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          const enc = device.createCommandEncoder();
          encodePass(enc);
          device.queue.submit([enc.finish()]);
          await device.queue.onSubmittedWorkDone();
          out.push(performance.now() - t0);
        }
        return out;
      }
      const qs = device.createQuerySet({ type: 'timestamp', count: 2 * reps });
      const resolve = device.createBuffer({ size: 16 * reps, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const read = device.createBuffer({ size: 16 * reps, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      // One submit per rep, so reps do not overlap and each pass is timed alone.
      for (let i = 0; i < reps; i++) {
        const enc = device.createCommandEncoder();
        encodePass(enc, { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 });
        device.queue.submit([enc.finish()]);
      }
      const enc = device.createCommandEncoder();
      enc.resolveQuerySet(qs, 0, 2 * reps, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * reps);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const t = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      qs.destroy();
      resolve.destroy();
      read.destroy();
      const out: number[] = [];
      for (let i = 0; i < reps; i++) out.push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
      return out;
    },
  };
}

/** The timestamp writes of pass k of n timed as one span: the start on the first pass, the end on the last. */
export function spanWrites(ts: GPUComputePassTimestampWrites | undefined, k: number, n: number): GPUComputePassTimestampWrites | undefined {
  if (ts === undefined || (k > 0 && k < n - 1)) return undefined;
  return {
    querySet: ts.querySet,
    ...(k === 0 ? { beginningOfPassWriteIndex: ts.beginningOfPassWriteIndex } : {}),
    ...(k === n - 1 ? { endOfPassWriteIndex: ts.endOfPassWriteIndex } : {}),
  };
}

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

const COPY_WGSL = `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Grid-stride over 16-byte words: each invocation copies 4 words per step, coalesced.
  let stride = nwg.x * 256u;
  var i = gid.x;
  let n = arrayLength(&src);
  loop {
    if (i >= n) { break; }
    dst[i] = src[i];
    i += stride;
  }
}`;

/** Copy-shader bandwidth (bytes read + written per second) over `bytes`-sized buffers. */
export async function copyBandwidth(device: GPUDevice, timer: Timer, bytes: number): Promise<{ bytes: number; ms: number; bytesPerSec: number }> {
  const usage = GPUBufferUsage.STORAGE;
  const src = device.createBuffer({ size: bytes, usage });
  const dst = device.createBuffer({ size: bytes, usage });
  await fillRandom(device, src, 7);
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: COPY_WGSL }), entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const groups = Math.min(65535, Math.ceil(bytes / 16 / 256 / 4));
  const times = await timer.time((enc, ts) => encodePass(enc, 'bench.copy', [{ pipeline, bindGroup: bg, grid: [groups, 1, 1] }], ts), 15, 3);
  src.destroy();
  dst.destroy();
  const ms = median(times);
  return { bytes, ms, bytesPerSec: (2 * bytes) / (ms / 1e3) };
}

const EMPTY_WGSL = `
@group(0) @binding(0) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) i: u32) {
  sink[i] = i;
}`;

/**
 * Median GPU time (ms) of `passes` passes in one command buffer, each holding `dispatches` 1-workgroup
 * dispatches, from the first pass's start to the last pass's end (defaults 1 and 1: the floor of every
 * timed pass). They all write one buffer, so each dispatch after the first waits on a barrier, as the
 * split-KV reduce waits on the decode; dispatches 0 times the timestamp pair alone.
 */
export async function passFloor(device: GPUDevice, timer: Timer, dispatches = 1, passes = 1): Promise<number> {
  const buf = device.createBuffer({ size: 128, usage: GPUBufferUsage.STORAGE });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: EMPTY_WGSL }), entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const one: Dispatch = { pipeline, bindGroup: bg, grid: [1, 1, 1] };
  const times = await timer.time((enc, ts) => {
    for (let k = 0; k < passes; k++) encodePass(enc, 'bench.floor', Array<Dispatch>(dispatches).fill(one), spanWrites(ts, k, passes));
  }, 31, 3);
  buf.destroy();
  return median(times);
}

const FILL_WGSL = `
struct P { seed: u32, words: u32, strideX: u32, _p: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> buf: array<u32>;
fn hash(x: u32) -> u32 {
  var h = x * 0x9e3779b1u + p.seed;
  h ^= h >> 16u; h *= 0x85ebca6bu; h ^= h >> 13u; h *= 0xc2b2ae35u; h ^= h >> 16u;
  return h;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.strideX;
  if (i >= p.words) { return; }
  // Two halves in [-1, 1): valid f16 pairs (and ordinary f32 bit patterns of modest size).
  let h = hash(i);
  let a = f32(h & 0xffffu) / 32768.0 - 1.0;
  let b = f32(h >> 16u) / 32768.0 - 1.0;
  buf[i] = pack2x16float(vec2<f32>(a, b));
}`;

/** Fills a STORAGE buffer with random f16 pairs in [-1, 1) on the GPU. */
export async function fillRandom(device: GPUDevice, buffer: GPUBuffer, seed: number): Promise<void> {
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: FILL_WGSL }), entryPoint: 'main' } });
  const limit = device.limits.maxStorageBufferBindingSize;
  for (let off = 0; off < buffer.size; off += limit) {
    const size = Math.min(limit, buffer.size - off);
    const words = size / 4;
    const groups = Math.ceil(words / 256);
    const gx = Math.min(groups, 65535);
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([seed + off, words, gx * 256, 0]));
    const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: params } }, { binding: 1, resource: { buffer, offset: off, size } }] });
    const enc = device.createCommandEncoder();
    encodePass(enc, 'bench.fill', [{ pipeline, bindGroup: bg, grid: [gx, Math.ceil(groups / gx), 1] }]);
    device.queue.submit([enc.finish()]);
  }
  await device.queue.onSubmittedWorkDone();
}
