// Decode KV-read bandwidth of the WebGPU backend at the GPT-OSS-120B attention shape (64 query
// heads, 8 KV heads, head size 64, block size 16, f16 cache where the adapter has shader-f16),
// for batch 1, 8, 64, 256 x context 1K, 8K, 32K, sinks on and off, as a fraction of a copy shader's
// bandwidth measured in the same run. Timed: the attention pass (paged_decode + reduce) by GPU
// timestamps, median of reps; the reshape_and_cache pass is outside the timed pass.
//
// KV bytes read per step = batch * context * numKvHeads * headSize * 2 (K and V) * bytes per element.
// The physical pool is capped at one storage binding; when batch * context needs more blocks than
// fit, block tables reuse pool blocks in a shuffled order (stated as `aliased` in the JSON: distinct
// bytes < bytes read). The pool is GiBs, far over the 50 MB L2, so reuse does not come from cache.
//   node dist/bench/webgpu/decode.js [--json out.json] [--commit sha] [--quick] [--configs ...]
//     [--batches 1,64,256] [--contexts 32768] [--unsafe] [--parts] [--seq N]   (--unsafe: Dawn's allow_unsafe_apis, which
//     exposes the matrix units; on by itself when a config names the mma variant)
// --seq N adds a figure per row: the time per call of the same attention call N times in a row, one
// pass each in one command buffer, timed from the first pass's start to the last one's end. A call then
// starts behind the previous one, as a layer's attention does in a model step, rather than on an idle
// GPU. Each call rewrites the partials the call before it read and the outputs it wrote, so WebGPU
// orders each call after the one before, as a layer waits on the one before it. They re-read the same KV bytes: rows under 2.5x the 50 MB L2 (1 x 32K and smaller)
// are marked l2Reuse, since part of their bytes may come from L2. The single-call figure stays the
// headline one.

import { writeFileSync } from 'node:fs';
import type { StepMetadata } from '../../src/backends/types.js';
import type { DecodeVariant } from '../../src/backends/webgpu/step.js';
import { createWebGpuBackend, type WebGpuKvCache } from '../../src/backends/webgpu/index.js';
import { createNodeDevice, loadShadersFromDisk } from '../../src/backends/webgpu/node.js';
import { encodePass } from '../../src/backends/webgpu/step.js';
import { copyBandwidth, fillRandom, makeTimer, median, passFloor, spanWrites } from './timing.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const Hq = 64;
const Hkv = 8;
const D = 64;
const BS = 16;

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function decodeMeta(batch: number, context: number, poolBlocks: number, r: () => number): StepMetadata {
  const blocksPer = Math.ceil(context / BS);
  const perm = Array.from({ length: poolBlocks }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const blockTable = new Int32Array(batch * blocksPer);
  for (let i = 0; i < blockTable.length; i++) blockTable[i] = perm[i % poolBlocks];
  const queryStartLoc = Int32Array.from({ length: batch + 1 }, (_, i) => i);
  const seqLens = new Int32Array(batch).fill(context);
  const contextLens = new Int32Array(batch).fill(context - 1);
  const slotMapping = new Int32Array(batch);
  for (let s = 0; s < batch; s++) {
    const pos = context - 1;
    slotMapping[s] = blockTable[s * blocksPer + Math.floor(pos / BS)] * BS + (pos % BS);
  }
  return {
    numSeqs: batch, numTokens: batch, queryStartLoc, seqLens, contextLens, blockTable, maxBlocksPerSeq: blocksPer, slotMapping,
    numDecodes: batch, numExtends: 0, numPrefills: 0, maxQueryLen: 1, maxDecodeQueryLen: 1, maxSeqLen: context,
  };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // Dawn quantizes timestamps (to ~65 us here) unless this toggle is off: the benchmark needs them exact.
  const wantsMma = (arg('configs') ?? '').split(',').some((c) => c.startsWith('mma'));
  const { device, adapter } = await createNodeDevice({
    backend: arg('backend'),
    dawnOptions: ['disable-dawn-features=timestamp_quantization'],
    allowUnsafeApis: wantsMma || process.argv.includes('--unsafe'),
  });
  const timer = makeTimer(device);
  // --configs variant:target[:steps[:lanes[:packed[:opts]]]],...  (steps/lanes tune gqa8, 0 = backend default; packed = 1 reads f16 as u32 pairs;
  // opts letters: l / L = 16-byte K/V loads (gqa8Wide) on / off, m / M = QK dots as FMA chains (gqa8FmaChain) on / off, z / Z = q in per-lane head order, reduce-scatter without selects (gqa8PermQ) on / off,
  // f / F = one-segment plans finish in the decode kernel with no reduce (decodeDirect) on / off (results of 61b4dc9 name
  // e = block-table reads one tile ahead, an option then, always on since; those of 19eb2d7 name k = K rows one tile ahead, measured and removed),
  // j = q straight into registers (gqa8DirectQ), r / s = parallel / serial split-KV reduce, d = block lookup by division, c / C = late conversion (LATECVT)
  // on / off, q / Q = q from workgroup memory (QSHARED) on / off, o = QK by dot() with one K conversion for 8 heads (QKDOT), h / H and v / V = half-precision QK (HQK) / PV tile sums (HPV) on / off; absent = backend defaults.
  // For the mma variant, steps = keys per chunk (0 = 64), w = 16x16x16 (N = 16) instead of 16x8x16. (Session 3's results also
  // name g / G = K/V staged through workgroup memory / loaded straight from the cache, u = reductions without subgroup operations,
  // P = next chunk's tiles prefetched: options measured and removed, bench/webgpu/NOTES.md; their configs ran as G. The 20261125
  // split / targets results name x = split heads (4 q heads per subgroup) and y = p / alpha by subgroup shuffles: gqa8 options
  // measured and removed, NOTES.md "Split heads".) The letters p / n in results
  // before this pass's last commit named a PREFETCH option measured and removed (bench/webgpu/NOTES.md).)
  // steps 'aN' = the auto rule with N steps for long segments (gqa8LongSteps; a8 = the rule before the diet pass). The diet
  // results (webgpu-decode-h100-20261125-diet*.json) also name a 7th field = q heads in registers, an 8th = workgroups per
  // wave for the planner, and letter b = validity bits: options measured and removed (NOTES.md "Register diet").
  const configs = (arg('configs') ?? 'auto:1024').split(',').map((c) => {
    const [variant, target, steps, lanes, packed, opts] = c.split(':');
    const o = opts ?? '';
    if (/[^rsdcCqQohHvVwjfFmMzZlL]/.test(o)) throw new Error(`--configs: unknown opts letters in '${o}' (known: r s d c C q Q o h H v V w j f F m M z Z l L)`);
    return {
      variant: variant as DecodeVariant, target: Number(target ?? 1024), steps: steps?.startsWith('a') ? 0 : Number(steps ?? 0), longSteps: steps?.startsWith('a') ? Number(steps.slice(1)) : undefined, lanes: Number(lanes ?? 0), packed: packed === '1', opts: o,
      blockShift: o.includes('d') ? false : undefined,
      lateCvt: o.includes('c') ? true : o.includes('C') ? false : undefined,
      sharedQ: o.includes('q') ? true : o.includes('Q') ? false : undefined,
      dotQK: o.includes('o') ? true : undefined,
      halfQK: o.includes('h') ? true : o.includes('H') ? false : undefined,
      halfPV: o.includes('v') ? true : o.includes('V') ? false : undefined,
      reduce: o.includes('r') ? ('parallel' as const) : o.includes('s') ? ('serial' as const) : undefined,
      mmaN: o.includes('w') ? (16 as const) : undefined,
      directQ: o.includes('j') ? true : undefined,
      direct: o.includes('f') ? true : o.includes('F') ? false : undefined,
      fmaChain: o.includes('m') ? true : o.includes('M') ? false : undefined,
      permQ: o.includes('z') ? true : o.includes('Z') ? false : undefined,
      wide: o.includes('l') ? true : o.includes('L') ? false : undefined,
    };
  });
  const f32Check = process.argv.includes('--f32-check');
  const dtype: 'f16' | 'f32' = device.features.has('shader-f16') ? 'f16' : 'f32';
  const elt = dtype === 'f16' ? 2 : 4;
  const info = adapter.info;
  const machine = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
  console.log(`adapter: ${machine}; dtype ${dtype}; timer ${timer.kind}`);

  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const copyBytes = Math.min(1 << 30, Math.floor(limit / 16) * 16);
  const copy = await copyBandwidth(device, timer, quick ? Math.min(copyBytes, 64 << 20) : copyBytes);
  console.log(`copy shader: ${(copy.bytesPerSec / 1e9).toFixed(0)} GB/s (read + write of ${copy.bytes} B in ${copy.ms.toFixed(3)} ms)`);

  // --parts: also time the paged_decode dispatch and the reduce each alone per row, and an empty timed pass (the floor
  // every timed figure includes: the timestamp pair and the first dispatch of a submission), split into its parts.
  const parts = process.argv.includes('--parts');
  const floor = parts ? await passFloor(device, timer) : null;
  // What the floor is made of: the timestamp pair with no dispatch, and two dispatches with a barrier between.
  const floor0 = parts ? await passFloor(device, timer, 0) : null;
  const floor2 = parts ? await passFloor(device, timer, 2) : null;
  const floorPasses = parts ? await passFloor(device, timer, 1, 2) : null;
  if (floor !== null) {
    console.log(
      `timed-pass floor: ${floor.toFixed(4)} ms with one 1-workgroup dispatch, ${floor0?.toFixed(4)} ms with none, ${floor2?.toFixed(4)} ms with two (a barrier between), ` +
        `${floorPasses?.toFixed(4)} ms for two such passes in a row`,
    );
  }
  const seqCalls = Number(arg('seq') ?? 0);
  if (!Number.isInteger(seqCalls) || seqCalls < 0) throw new Error(`--seq: calls in a row must be an integer >= 0 (got '${arg('seq')}')`);
  const list = (name: string) => arg(name)?.split(',').map(Number);
  const batches = list('batches') ?? (quick ? [1, 8] : [1, 8, 64, 256]);
  const contexts = list('contexts') ?? (quick ? [1024, 4096] : [1024, 8192, 32768]);
  const blockBytes = BS * Hkv * D * elt;
  const maxNeed = Math.max(...batches) * Math.ceil(Math.max(...contexts) / BS);
  const poolBlocks = Math.min(maxNeed, Math.floor(limit / blockBytes));
  const rows: Record<string, unknown>[] = [];
  let backendInfo: unknown = null;
  for (const { variant, target, steps, lanes, packed, opts, reduce, blockShift, lateCvt, sharedQ, dotQK, halfQK, halfPV, mmaN, longSteps, directQ, direct, fmaChain, permQ, wide } of configs) for (const cacheDtype of f32Check ? [dtype, 'f32' as const] : [dtype]) {
    const mma = variant === 'mma';
    const backend = await createWebGpuBackend(device, {
      shaders: loadShadersFromDisk(), decodeTargetWorkgroups: target, decodeVariant: variant, gqa8Steps: mma ? 0 : steps, gqa8Lanes: lanes, packedF16: packed, decodeReduce: reduce,
      gqa8BlockShift: blockShift, gqa8LateConvert: lateCvt, gqa8SharedQ: sharedQ, gqa8DotQK: dotQK, gqa8HalfQK: halfQK, gqa8HalfPV: halfPV,
      mmaChunk: mma ? steps : undefined, mmaN, gqa8LongSteps: longSteps, gqa8DirectQ: directQ, decodeDirect: direct, gqa8FmaChain: fmaChain, gqa8PermQ: permQ, gqa8Wide: wide,
    });
    const celt = cacheDtype === 'f16' ? 2 : 4;
    const cBlocks = Math.min(poolBlocks, Math.floor(limit / (BS * Hkv * D * celt)));
    const f32Only = cacheDtype !== dtype; // the f32 check runs one row only
    backendInfo = { subgroupMinSize: backend.subgroupMinSize, subgroupSize: backend.subgroupSize, subgroupMatrix: backend.subgroupMatrix, allowUnsafeApis: wantsMma || process.argv.includes('--unsafe') };
    const cache = (await backend.createCache({ numBlocks: cBlocks, blockSize: BS, numKvHeads: Hkv, headSize: D, dtype: cacheDtype })) as WebGpuKvCache;
    await fillRandom(device, cache.keyBuffer, 1);
    await fillRandom(device, cache.valueBuffer, 2);
    const r = rand(42);
    const sinks = Float32Array.from({ length: Hq }, () => 6 + 4 * r());
    // A config that fails (e.g. a matrix kernel that does not compile here) is reported and skipped.
    try {
      for (const batch of f32Only ? [64] : batches) {
        for (const context of f32Only ? [8192] : contexts) {
          const meta = decodeMeta(batch, context, cBlocks, r);
          const inputs = {
            query: Float32Array.from({ length: batch * Hq * D }, () => r() * 2 - 1),
            key: Float32Array.from({ length: batch * Hkv * D }, () => r() * 2 - 1),
            value: Float32Array.from({ length: batch * Hkv * D }, () => r() * 2 - 1),
          };
          const out = { output: new Float32Array(batch * Hq * D), lse: new Float32Array(batch * Hq) };
          const ms: Record<string, number> = {};
          let segments = 0;
          let kernel: string | null = null;
          for (const withSinks of [false, true]) {
            const layer = { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D, scale: 1 / 8, slidingWindow: 0, softcap: 0, sinks: withSinks ? sinks : null };
            const sel = backend.select(cache, layer, meta, inputs, out);
            if (sel.decode.kernel !== 'paged_decode') throw new Error(`decode routed to ${sel.decode.kernel}`);
            const step = await backend.prepare(cache, layer, meta, inputs, sel);
            segments = step.segments?.numSegments ?? 1;
            kernel = step.decodeVariant;
            const reps = quick ? 5 : 20;
            const times = await timer.time((enc, ts) => backend.encode(step, enc, ts), reps, 3);
            ms[withSinks ? 'sinks' : 'noSinks'] = median(times);
            if (parts && !withSinks) {
              // Diagnostic: the paged_decode dispatch alone (no reduce) in a timed pass of its own.
              // Then the split-KV reduce alone (its partials left by the runs above), where there is one.
              const alone = async (i: number) => median(await timer.time((enc, ts) => encodePass(enc, 'bench.alone', [step.attention[i]], ts), reps, 3));
              ms.decodeAlone = await alone(0);
              if (step.segments !== null && step.attention.length > 1) ms.reduceAlone = await alone(1);
            }
            if (seqCalls > 0 && !f32Only) {
              const inRow = await timer.time((enc, ts) => {
                for (let k = 0; k < seqCalls; k++) encodePass(enc, 'sinkrt.attention', step.attention, spanWrites(ts, k, seqCalls));
              }, reps, 3);
              ms[withSinks ? 'seqSinks' : 'seqNoSinks'] = median(inRow) / seqCalls;
            }
            // Sanity: the step's output is finite (correctness itself is the conformance table's job).
            await backend.forward(cache, layer, meta, inputs, out);
            if (!out.output.every(Number.isFinite)) throw new Error(`non-finite output at batch ${batch} context ${context}`);
          }
          const kvBytes = batch * context * Hkv * D * 2 * celt;
          const bwNo = kvBytes / (ms.noSinks / 1e3);
          const bwS = kvBytes / (ms.sinks / 1e3);
          const row = {
            variant, kernel, target, steps, longSteps: longSteps ?? null, lanes, packedF16: packed, opts, cacheDtype, batch, context, segments, kvBytes, aliased: batch * Math.ceil(context / BS) > cBlocks,
            msNoSinks: ms.noSinks, msSinks: ms.sinks,
            bwNoSinksGBs: bwNo / 1e9, bwSinksGBs: bwS / 1e9,
            fracCopyNoSinks: bwNo / copy.bytesPerSec, fracCopySinks: bwS / copy.bytesPerSec,
            sinkCost: ms.sinks / ms.noSinks - 1,
            ...(parts ? { msDecodeAlone: ms.decodeAlone, msReduceAlone: ms.reduceAlone ?? null } : {}),
            ...(ms.seqNoSinks !== undefined
              ? {
                  inRow: {
                    calls: seqCalls, l2Reuse: kvBytes < 2.5 * 50e6, msPerCallNoSinks: ms.seqNoSinks, msPerCallSinks: ms.seqSinks,
                    fracCopyNoSinks: kvBytes / (ms.seqNoSinks / 1e3) / copy.bytesPerSec, fracCopySinks: kvBytes / (ms.seqSinks / 1e3) / copy.bytesPerSec,
                  },
                }
              : {}),
          };
          rows.push(row);
          console.log(
            `${variant.padEnd(5)}>${String(kernel).padEnd(5)} ${cacheDtype}${packed ? 'p' : ' '} t${target}:s${longSteps ? `a${longSteps}` : steps}:l${lanes}:${opts || '-'} batch ${String(batch).padStart(3)} ctx ${String(context).padStart(5)} seg ${String(segments).padStart(3)}  ` +
              `no-sinks ${ms.noSinks.toFixed(3)} ms ${(bwNo / 1e9).toFixed(0)} GB/s ${(100 * row.fracCopyNoSinks).toFixed(1)}%  ` +
              `sinks ${ms.sinks.toFixed(3)} ms ${(bwS / 1e9).toFixed(0)} GB/s ${(100 * row.fracCopySinks).toFixed(1)}%  sink cost ${(100 * row.sinkCost).toFixed(1)}%` +
              (parts ? `  decode alone ${ms.decodeAlone.toFixed(4)} ms` + (ms.reduceAlone !== undefined ? `, reduce alone ${ms.reduceAlone.toFixed(4)} ms` : '') : '') +
              (ms.seqNoSinks !== undefined
                ? `  in a row of ${seqCalls}: ${(1e3 * ms.seqNoSinks).toFixed(1)} us/call ${((100 * kvBytes) / (ms.seqNoSinks / 1e3) / copy.bytesPerSec).toFixed(1)}%` +
                  ` / sinks ${(1e3 * ms.seqSinks).toFixed(1)} us/call ${((100 * kvBytes) / (ms.seqSinks / 1e3) / copy.bytesPerSec).toFixed(1)}%${kvBytes < 2.5 * 50e6 ? ' (L2 reuse possible)' : ''}`
                : ''),
          );
        }
      }
    } catch (e) {
      console.log(`config ${variant}:${target}:${steps}:${opts || '-'} ${cacheDtype} failed: ${String((e as Error).message).slice(0, 600)}`);
      rows.push({ variant, target, steps, longSteps: longSteps ?? null, opts, cacheDtype, error: String((e as Error).message).slice(0, 600) });
    }
    backend.destroyCache(cache);
    await backend.close();
    save(); // after every config: a run cut off by its time limit keeps what it measured
  }
  save();
  device.destroy();
  function save(): void {
    const json = arg('json');
    if (json) {
      writeFileSync(json, JSON.stringify({
        bench: 'webgpu paged_decode KV-read bandwidth', machine, date: new Date().toISOString(), commit: arg('commit') ?? null,
        config: { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D, blockSize: BS, dtype, poolBlocks, timer: timer.kind, dawnOptions: 'enable-dawn-features=vulkan_enable_f16_on_nvidia disable-dawn-features=timestamp_quantization', subgroupSize: backendInfo },
        baseline: { name: 'copy shader (bytes read + written)', ...copy },
        ...(floor !== null ? { passFloorMs: floor, passFloorNoDispatchMs: floor0, passFloorTwoDispatchesMs: floor2, passFloorTwoPassesMs: floorPasses } : {}),
        ...(seqCalls > 0 ? { seqCalls } : {}),
        rows,
      }, null, 1));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
