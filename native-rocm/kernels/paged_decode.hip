// paged_decode on the matrix units: decode (and short speculative) queries over the paged KV cache,
// with sinks, sliding window and softcap; the fast path selection prefers for decode.
//
// Why matrix units for decode: with GQA the G query heads of a KV head share every K/V row, so per
// key there are 2 * G * D multiply-adds (G = 8 for GPT-OSS). On SIMT lanes that arithmetic, not the
// memory, was the limit; as a 16-row mma/MFMA tile (rows = G heads x query tokens, padded to 16) it is
// cheap, and the kernel can stay at memory speed.
//
// Work item: one sequence, one KV head, one chunk of 16 rows (row = t * G + g), one split-KV segment.
// Block = 128 threads; each wave works alone on its own keys (wave w takes key tiles w, w + NW, ...
// of KW keys), so the main loop has no block barrier: a wave gathers KW keys' K and V rows through the
// block table into its own shared-memory tile (16-byte async copies, double-buffered), then
// S = Q K^T, online softmax (running m, l per row), O += P V exactly as prefill.hip does. At the end the
// waves' (m, l, O) are merged in shared memory (reusing the K/V tiles), and the block either finishes
// the rows (one segment: the sink enters here, once) or writes the segment's partial for the reduce
// kernel of paged_common.h (which adds the sink once).
// Grid: x = KV head (fastest) x chunk x segment, z = sequence, so the Hkv blocks that read the same
// cache blocks (one 128-byte row piece each) run side by side. Segments (paged_decode_mma_plan): a
// grid that one segment leaves under a full wave of resident blocks (batch 1-8) is split to about 2
// blocks per compute unit (long segments); a grid of two or more full waves with one segment keeps
// one segment; in between, the count that fills whole waves.
// Large grids (batch 256 at 8 KV heads, head size 64, NVIDIA) run the stream form of this kernel
// instead: where the block has one wave per KV head (Hkv <= 8) the row form (paged_decode_rows.h:
// a block per sequence x chunk x segment copies whole token rows of K and V, then each wave computes
// its KV head), else the stream form (paged_decode_stream.h: one wave per unit, a persistent grid, the
// pipeline running across units); decode_kind below says which.
// The split-KV reduce is launched on NVIDIA as a programmatic dependent (PDL), so its launch overlaps
// the main kernel's tail. Shared memory rows are padded by 16 bytes (ldmatrix bank spread).
// Measurements behind each choice: bench/rocm/NOTES.md. (Over 400 lines: the kernel, its plan and
// launch, and the A/B switches kept for re-measuring them belong in one place.)
//
// Switches (compile-time, for A/B builds on the GPU machine; the defaults are what measured best):
//   SK_PD_BTPF       block-table entries of a tile loaded one tile ahead (off the gather's path)
//   SK_PD_KVFAST     KV head fastest in the grid (0: head in grid y, the earlier order)
//   SK_PD_HOSTCACHE  occupancy and the shared-memory attribute looked up once per device, not per call
//   SK_PD_PDL        NVIDIA: the reduce as a programmatic dependent launch
//   SK_PD_SEGRULE    0: segments only fill whole waves; 1: small grids get SK_PD_SMALL_PER_CU blocks/CU
//   SK_PD_L2PF       NVIDIA: L2 prefetch size (bytes: 64/128/256) on the K/V async copies; 0 = none
//   SK_PD_STREAM_MIN_ITEMS  grids of at least this many items (sequence x KV head x chunk) run the
//                    stream kernel (paged_decode_stream.h; NVIDIA, head size 64): 2048 = batch 256 at 8 KV heads
//   SK_PD_BIGRULE    block kernel: one segment for grids of >= 2 full waves
//   SK_PD_STAGES, SK_PD_STREAM_THREADS  the stream kernel's pipeline stages and block size
//   SK_PD_ROWS       large grids with Hkv <= 8 run the row kernel (paged_decode_rows.h) instead of the
//                    stream kernel; SK_PD_ROW_STAGES its pipeline stages
//   SK_PD_TRACE      1: the row kernel stamps per-block times for the bench's --trace (never the addon)
#ifndef SK_PD_BTPF
#define SK_PD_BTPF 1
#endif
#ifndef SK_PD_KVFAST
#define SK_PD_KVFAST 1
#endif
#ifndef SK_PD_HOSTCACHE
#define SK_PD_HOSTCACHE 1
#endif
#ifndef SK_PD_PDL
#define SK_PD_PDL 1
#endif
#ifndef SK_PD_SEGRULE
#define SK_PD_SEGRULE 1
#endif
#ifndef SK_PD_SMALL_PER_CU
#define SK_PD_SMALL_PER_CU 2
#endif
#ifndef SK_PD_L2PF
#define SK_PD_L2PF 0
#endif
#ifndef SK_PD_STREAM_MIN_ITEMS
#define SK_PD_STREAM_MIN_ITEMS 2048
#endif
#ifndef SK_PD_BIGRULE
#define SK_PD_BIGRULE 1
#endif
#ifndef SK_PD_ROWS
#define SK_PD_ROWS 1
#endif
#include "paged_common.h"
#include "../mma_compat.h"

#include <stdlib.h>
#include <string.h>

#include <atomic>


namespace sinkrt {
namespace {
using namespace sinkrt::paged;

constexpr int kRows = 16;
constexpr int kMinSegmentMma = 256;

__host__ __device__ constexpr int keys_per_wave(int) { return 16; }
__host__ __device__ constexpr int ld_of(int D) { return D + 8; }

#if SINKRT_HAS_MMA
// One 16-byte async K/V copy; with SK_PD_L2PF the L2 also fetches the rest of the aligned
// SK_PD_L2PF-byte span (the neighbouring KV heads' pieces of the same token row).
__device__ __forceinline__ void kv_copy16(void* smem, const void* gmem, bool valid) {
#if SK_PD_L2PF && defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SK_PD_STR2(x) #x
#define SK_PD_STR(x) SK_PD_STR2(x)
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global.L2::" SK_PD_STR(SK_PD_L2PF) "B [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0));
#else
  sk_copy16_async(smem, gmem, valid);
#endif
}

__device__ __forceinline__ void sync_wave() {
#if defined(SINKRT_NVIDIA)
  __syncwarp();
#else
  __builtin_amdgcn_fence(__ATOMIC_SEQ_CST, "workgroup");
  __builtin_amdgcn_wave_barrier();
#endif
}

// One tile of KW keys for the 16 rows of a wave: S = Q K^T (masked past the segment end, causally
// and by the window), online-softmax update of (m, l) and O += P V. Shared by both decode kernels.
template <class T, int D, int KW>
__device__ __forceinline__ void attend_tile(const skmma::QFrag (&qf)[D / 16], const sk_u16* Kb, const sk_u16* Vb, int LD, int kt,
                                            int segEnd, const int (&qpos)[skmma::kSlots], const PagedParams& p, float sMul,
                                            float (&m)[skmma::kSlots], float (&l)[skmma::kSlots], float (&o)[D / 16][skmma::kOElems]) {
  using namespace skmma;
  float s[KW / 16][kSElems];
#pragma unroll
  for (int j = 0; j < KW / 16; j++) qk<T, D>(s[j], qf, Kb, LD, j * 16);
#pragma unroll
  for (int j = 0; j < KW / 16; j++)
#pragma unroll
    for (int i = 0; i < kSElems; i++) {
      float x = s[j][i] * sMul;
      if (p.softcap > 0.f) x = p.softcap * tanhf(x / p.softcap) * kLog2e;
      const int key = kt + j * 16 + s_key(i), qp = qpos[s_slot(i)];
      if (key >= segEnd || key > qp || (p.window > 0 && key <= qp - p.window)) x = -INFINITY;
      s[j][i] = x;
    }
  float mUse[kSlots];
#pragma unroll
  for (int sl = 0; sl < kSlots; sl++) {
    float mx = -INFINITY;
#pragma unroll
    for (int j = 0; j < KW / 16; j++)
#pragma unroll
      for (int i = 0; i < kSElems; i++)
        if (s_slot(i) == sl) mx = fmaxf(mx, s[j][i]);
    mx = slot_max(mx);
    const float mNew = fmaxf(m[sl], mx);
    mUse[sl] = mNew == -INFINITY ? 0.f : mNew;
    const float alpha = exp2f(m[sl] - mUse[sl]);
    m[sl] = mNew;
    l[sl] *= alpha;
#pragma unroll
    for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
      for (int i = 0; i < kOElems; i++)
        if (o_slot(i) == sl) o[dc][i] *= alpha;
  }
#pragma unroll
  for (int j = 0; j < KW / 16; j++) {
#pragma unroll
    for (int i = 0; i < kSElems; i++) {
      const float e = exp2f(s[j][i] - mUse[s_slot(i)]);
      s[j][i] = e;
      l[s_slot(i)] += e;
    }
    pv<T, D>(o, s[j], Vb, LD, j * 16);
  }
}
#endif

template <class T, int D>
__global__ void __launch_bounds__(kPagedThreads) paged_decode_mma_kernel(PagedParams p) {
#if SINKRT_HAS_MMA
  using namespace skmma;
  constexpr int WAVE = SINKRT_WAVE;
  constexpr int NW = kPagedThreads / WAVE;
  constexpr int KW = keys_per_wave(D);
  constexpr int LD = ld_of(D);
  constexpr int VPR = D / 8;             // 16-byte vectors per K/V row
  constexpr int NL = KW * VPR / WAVE;    // vectors per lane per tile (each of K and V)
  static_assert(NL * WAVE == KW * VPR, "tile must split evenly over the wave");
  extern __shared__ __align__(16) sk_u16 smem[];
  sk_u16* Qs = smem;
  const int tid = threadIdx.x, w = tid / WAVE, lane = tid % WAVE;
  sk_u16* Kw = Qs + kRows * LD + w * 4 * KW * LD;  // this wave's two buffers of K then V tiles

#if SK_PD_KVFAST
  const int seq = p.seqBegin + blockIdx.z, kvh = blockIdx.x % p.numKvHeads;
  const int cs = blockIdx.x / p.numKvHeads;
  const int chunk = cs / p.numSegments, seg = cs % p.numSegments;
#else
  const int seq = p.seqBegin + blockIdx.z, kvh = blockIdx.y;
  const int chunk = blockIdx.x / p.numSegments, seg = blockIdx.x % p.numSegments;
#endif
#if SK_PD_PDL && defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::);
#endif
  RowRange rr;
  if (!row_range(p, seq, chunk, kRows, rr)) return;
  const int segStart = rr.lo + seg * p.segLen;
  const int segEnd = min(rr.hi, segStart + p.segLen);
  const int Hq = p.numQueryHeads;

  for (int idx = tid; idx < kRows * VPR; idx += kPagedThreads) {
    const int r = idx / VPR, cc = idx % VPR;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < rr.rowsHere) {
      const int row = rr.rowBase + r, t = row / p.G, h = kvh * p.G + row % p.G;
      v = *reinterpret_cast<const uint4*>(p.query + ((size_t)(rr.qStart + t) * Hq + h) * D + cc * 8);
    }
    *reinterpret_cast<uint4*>(Qs + r * LD + cc * 8) = v;
  }
  __syncthreads();
  QFrag qf[D / 16];
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) load_q(qf[kc], Qs, LD, kc * 16);

  const float sMul = p.softcap > 0.f ? p.scale : p.scale * kLog2e;
  int qpos[kSlots];
  float m[kSlots], l[kSlots];
#pragma unroll
  for (int s = 0; s < kSlots; s++) {
    const int r = slot_query(s);
    qpos[s] = r < rr.rowsHere ? rr.ctx + (rr.rowBase + r) / p.G : -1;
    m[s] = -INFINITY;
    l[s] = 0.f;
  }
  float o[D / 16][kOElems];
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
    for (int i = 0; i < kOElems; i++) o[dc][i] = 0.f;

  const size_t tokenStride = (size_t)p.numKvHeads * D;
  const int* bt = p.blockTable + (size_t)seq * p.maxBlocksPerSeq;
  const int bmask = p.blockSize - 1;
  // Gathers the KW keys from kt into buffer b (cp.async: nothing held in registers meanwhile).
  // With SK_PD_BTPF the cache-block numbers come from blk[], loaded one tile earlier.
  int blk[NL];
  auto load_blk = [&](int kt) {
#pragma unroll
    for (int n = 0; n < NL; n++) {
      const int key = kt + (n * WAVE + lane) / VPR;
      blk[n] = key < segEnd ? bt[key >> p.blockShift] : 0;
    }
  };
  auto gather = [&](int kt, int b) {
    sk_u16* Kb = Kw + b * 2 * KW * LD;
    sk_u16* Vb = Kb + KW * LD;
#pragma unroll
    for (int n = 0; n < NL; n++) {
      const int idx = n * WAVE + lane, r = idx / VPR, cc = idx % VPR, key = kt + r;
      const bool valid = key < segEnd;
      size_t off = 0;
#if SK_PD_BTPF
      if (valid) off = ((size_t)blk[n] * p.blockSize + (key & bmask)) * tokenStride + (size_t)kvh * D + cc * 8;
#else
      if (valid) off = ((size_t)bt[key >> p.blockShift] * p.blockSize + (key & bmask)) * tokenStride + (size_t)kvh * D + cc * 8;
#endif
      kv_copy16(Kb + r * LD + cc * 8, p.keyCache + off, valid);
      kv_copy16(Vb + r * LD + cc * 8, p.valueCache + off, valid);
    }
    sk_copy_commit();
  };
  const int stride = NW * KW;
  int buf = 0;
#if SK_PD_BTPF
  if (segStart + w * KW < segEnd) {
    load_blk(segStart + w * KW);
    gather(segStart + w * KW, 0);
    load_blk(segStart + w * KW + stride);
  }
#else
  (void)load_blk;
  if (segStart + w * KW < segEnd) gather(segStart + w * KW, 0);
#endif
  for (int kt = segStart + w * KW; kt < segEnd; kt += stride, buf ^= 1) {
    // Double buffering: the next tile loads while this one is computed.
    if (kt + stride < segEnd) {
      gather(kt + stride, buf ^ 1);
#if SK_PD_BTPF
      load_blk(kt + 2 * stride);
#endif
      sk_copy_wait<1>();
    } else {
      sk_copy_wait<0>();
    }
    sync_wave();
    const sk_u16* Kb = Kw + buf * 2 * KW * LD;
    attend_tile<T, D, KW>(qf, Kb, Kb + KW * LD, LD, kt, segEnd, qpos, p, sMul, m, l, o);
    sync_wave();
  }

  // Merge the waves' partial results (the K/V tiles are free now: reuse them as f32 scratch).
#pragma unroll
  for (int sl = 0; sl < kSlots; sl++) l[sl] = slot_sum(l[sl]);
  __syncthreads();
  float* sO = reinterpret_cast<float*>(Qs + kRows * LD);  // [NW][16][D]
  float* sML = sO + NW * kRows * D;                         // [NW][16][2]
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
    for (int i = 0; i < kOElems; i++) sO[(w * kRows + slot_query(o_slot(i))) * D + dc * 16 + o_dim(i)] = o[dc][i];
  if (slot_writer()) {
#pragma unroll
    for (int sl = 0; sl < kSlots; sl++) {
      sML[(w * kRows + slot_query(sl)) * 2] = m[sl];
      sML[(w * kRows + slot_query(sl)) * 2 + 1] = l[sl];
    }
  }
  __syncthreads();
  const size_t item = ((size_t)blockIdx.z * p.numKvHeads + kvh) * p.numChunks + chunk;
  for (int e = tid; e < rr.rowsHere * D; e += kPagedThreads) {
    const int r = e / D, d = e % D;
    float M = -INFINITY;
#pragma unroll
    for (int ww = 0; ww < NW; ww++) M = fmaxf(M, sML[(ww * kRows + r) * 2]);
    const float mUse = M == -INFINITY ? 0.f : M;
    float acc = 0.f, L = 0.f;
#pragma unroll
    for (int ww = 0; ww < NW; ww++) {
      const float f = exp2f(sML[(ww * kRows + r) * 2] - mUse);
      acc += sO[(ww * kRows + r) * D + d] * f;
      L += sML[(ww * kRows + r) * 2 + 1] * f;
    }
    if (p.numSegments == 1) {
      const int row = rr.rowBase + r, t = row / p.G, h = kvh * p.G + row % p.G;
      const float sink2 = p.sinks ? p.sinks[h] * kLog2e : -INFINITY;
      const size_t outRow = (size_t)(rr.qStart + t) * Hq + h;
      float* lseOut = (d == 0 && p.lse) ? p.lse + outRow : nullptr;
      p.output[outRow * D + d] = finish_row(acc, M, L, sink2, lseOut);
    } else {
      const size_t base = (item * p.numSegments + seg) * kRows + r;
      p.partialO[base * D + d] = acc;
      if (d == 0) {
        p.partialML[base * 2] = M;
        p.partialML[base * 2 + 1] = L;
      }
    }
  }
#endif
}

size_t smem_bytes(int D) {
  const int NW = kPagedThreads / 32;  // the most waves a block has (wave 32); wave 64 uses less
  return (size_t)(kRows + NW * 4 * keys_per_wave(D)) * ld_of(D) * sizeof(sk_u16);
}

#include "paged_decode_stream.h"
#include "paged_decode_rows.h"

#if SK_PD_HOSTCACHE
// Current device id (the cache below is per device: function attributes and occupancy are).
inline int current_device() {
  int dev = 0;
#if defined(SINKRT_NVIDIA)
  if (cudaGetDevice(&dev) != cudaSuccess) return -1;
#else
  if (hipGetDevice(&dev) != hipSuccess) return -1;
#endif
  return dev;
}
constexpr int kCachedDevices = 16;
#endif

// Resident blocks per compute unit of the block kernel (Stream = false) or the stream kernel; also
// raises the kernel's dynamic shared-memory limit. With SK_PD_HOSTCACHE both happen once per device
// and kernel (they cost microseconds of host time per call, which a batch-1 decode step of ~50 us feels).
template <class T, int D, bool Stream>
int occupancy(int* blocksPerCu) {
#if SK_PD_HOSTCACHE
  static std::atomic<int> cache[kCachedDevices];  // 0 = not yet known, else blocks per CU
  const int dev = current_device();
  if (dev >= 0 && dev < kCachedDevices) {
    const int c = cache[dev].load(std::memory_order_relaxed);
    if (c > 0) {
      *blocksPerCu = c;
      return 0;
    }
  }
#endif
  if (Stream) {
    const size_t smem = stream_smem_bytes(D);
    SK_CHECK(hipFuncSetAttribute((const void*)paged_decode_stream_kernel<T, D>, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    SK_CHECK(hipOccupancyMaxActiveBlocksPerMultiprocessor(blocksPerCu, paged_decode_stream_kernel<T, D>, kStreamThreads, smem));
  } else {
    const size_t smem = smem_bytes(D);
    SK_CHECK(hipFuncSetAttribute((const void*)paged_decode_mma_kernel<T, D>, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    SK_CHECK(hipOccupancyMaxActiveBlocksPerMultiprocessor(blocksPerCu, paged_decode_mma_kernel<T, D>, kPagedThreads, smem));
  }
#if SK_PD_HOSTCACHE
  if (dev >= 0 && dev < kCachedDevices && *blocksPerCu > 0) cache[dev].store(*blocksPerCu, std::memory_order_relaxed);
#endif
  return 0;
}

// Resident blocks per compute unit of the row kernel at Hkv KV heads (its block has 32 x Hkv threads;
// shared memory follows Hkv). Cached per device and Hkv like occupancy() above.
template <class T, int D>
int occupancy_rows(int hkv, int* blocksPerCu) {
#if SK_PD_HOSTCACHE
  static std::atomic<int> cache[kCachedDevices][kRowMaxKvHeads + 1];
  const int dev = current_device();
  if (dev >= 0 && dev < kCachedDevices) {
    const int c = cache[dev][hkv].load(std::memory_order_relaxed);
    if (c > 0) {
      *blocksPerCu = c;
      return 0;
    }
  }
#endif
  SK_CHECK(hipFuncSetAttribute((const void*)paged_decode_rows_kernel<T, D>, hipFuncAttributeMaxDynamicSharedMemorySize,
                               (int)rows_smem_bytes(kRowMaxKvHeads, D)));
  SK_CHECK(hipOccupancyMaxActiveBlocksPerMultiprocessor(blocksPerCu, paged_decode_rows_kernel<T, D>, 32 * hkv, rows_smem_bytes(hkv, D)));
#if SK_PD_HOSTCACHE
  if (dev >= 0 && dev < kCachedDevices && *blocksPerCu > 0) cache[dev][hkv].store(*blocksPerCu, std::memory_order_relaxed);
#endif
  return 0;
}

template <class T, bool Stream>
int occupancy_for(int D, int* n) {
  switch (D) {
    case 64: return occupancy<T, 64, Stream>(n);
    case 128: return occupancy<T, 128, Stream>(n);
    case 256: return occupancy<T, 256, Stream>(n);
  }
  return fail("paged_decode", "headSize must be 64, 128 or 256", __FILE__, __LINE__);
}

// kind: 0 block kernel, 1 stream kernel, 2 row kernel (head size 64 only).
int occupancy_of(const sinkrt_paged_args* a, int kind, int* n) {
  const bool f16 = a->dtype == SINKRT_F16;
  if (kind == 2) return f16 ? occupancy_rows<sk_f16, 64>(a->numKvHeads, n) : occupancy_rows<sk_bf16, 64>(a->numKvHeads, n);
  if (f16) return kind == 1 ? occupancy_for<sk_f16, true>(a->headSize, n) : occupancy_for<sk_f16, false>(a->headSize, n);
  return kind == 1 ? occupancy_for<sk_bf16, true>(a->headSize, n) : occupancy_for<sk_bf16, false>(a->headSize, n);
}

#if defined(SINKRT_NVIDIA)
// SINKRT_PD_KERNEL=block|stream|rows forces one decode kernel (conformance runs and the bench measure
// each on every shape; rows where it applies, else stream); unset or anything else: the rule in
// decode_kind. Read once per process.
int forced_kernel() {
  static const int forced = [] {
    const char* e = getenv("SINKRT_PD_KERNEL");
    if (e && !strcmp(e, "block")) return 0;
    if (e && !strcmp(e, "stream")) return 1;
    if (e && !strcmp(e, "rows")) return 2;
    return -1;
  }();
  return forced;
}

// SINKRT_PD_STREAM_MIN_ITEMS=N overrides SK_PD_STREAM_MIN_ITEMS (the bench measures the rule's
// threshold with it). Read once per process.
long stream_min_items() {
  static const long n = [] {
    const char* e = getenv("SINKRT_PD_STREAM_MIN_ITEMS");
    return e && *e ? atol(e) : (long)SK_PD_STREAM_MIN_ITEMS;
  }();
  return n;
}
#endif

// Work items (sequence x KV head x row chunk) of a decode call.
long decode_items(const sinkrt_paged_args* a, int* numChunks) {
  const int G = a->numQueryHeads / a->numKvHeads;
  *numChunks = (G * (a->maxQueryLen > 0 ? a->maxQueryLen : 1) + kRows - 1) / kRows;
  return (long)a->numSeqs * a->numKvHeads * *numChunks;
}

// Host side, waves per stream block: the stream kernel runs on NVIDIA only (warp 32).
constexpr int kStreamHostWave = 32;

// The stream kernel for grids of at least SK_PD_STREAM_MIN_ITEMS items (one wave each) at head size
// 64 (the measured shape); other grids keep the block kernel, whose waves share a unit's keys and
// merge in shared memory. H100, same run, stream vs block kernel: batch 256 +1% (1K), +1% (8K),
// +1.7% (32K); batch 64 -8% (1K), -3% (8K), -0.5% (32K); batch 1-8 -5 to -40% (many more, shorter
// units and their partials). NVIDIA only: measured on the H100 only, and its shared memory
// (8 waves x 2 stages) exceeds AMD's 64 KB of LDS.
// The row kernel serves the same grids where its block (one wave per KV head) exists: head size 64,
// Hkv <= 8 (GPT-OSS: 8). H100, same run, rows vs stream at batch 256: +4-6% (1K), +6% (8K), +6%
// (32K). Forced at batch 64 it lost at 1K (-12%) and 8K (-1%) and won at 32K (+3.5%, 4 segments):
// batch 64 keeps the block kernel (NOTES.md, decode pass 3).
// Returns 0 block kernel, 1 stream kernel, 2 row kernel.
int decode_kind(const sinkrt_paged_args* a) {
#if defined(SINKRT_NVIDIA)
  const bool rowsFit = a->headSize == 64 && a->numKvHeads >= 1 && a->numKvHeads <= kRowMaxKvHeads;
  const int f = forced_kernel();
  if (f == 2) return rowsFit ? 2 : 1;
  if (f >= 0) return f;
  int chunks = 0;
  if (a->headSize != 64 || decode_items(a, &chunks) < stream_min_items()) return 0;
  return SK_PD_ROWS && rowsFit ? 2 : 1;
#else
  (void)a;
  return 0;
#endif
}

template <class T, int D>
int launch_mma(const sinkrt_paged_args* a, const PagedPlan& pl, const PagedParams& p) {
  hipStream_t stream = (hipStream_t)a->stream;
  const int kind = decode_kind(a);
  if (kind == 2) {
    if constexpr (D == 64) {
      int bps = 0;  // cached by the plan's call
      if (occupancy_rows<T, D>(a->numKvHeads, &bps) != 0) return 1;
      const long units = (long)a->numSeqs * pl.numChunks * pl.numSegments;
      long blocks = units;
      const long resident = (long)bps * (a->computeUnits > 0 ? a->computeUnits : 1);
      if (blocks > resident) blocks = resident;
      hipLaunchKernelGGL((paged_decode_rows_kernel<T, D>), dim3((unsigned)blocks), dim3(32 * a->numKvHeads), rows_smem_bytes(a->numKvHeads, D), stream,
                         p, units);
      SK_CHECK_LAUNCH("paged_decode_rows");
    } else {
      return fail("paged_decode", "row kernel needs head size 64", __FILE__, __LINE__);
    }
  } else if (kind == 1) {
    int bps = 0;  // the plan ran occupancy on this device already: this only reads the cache
    if (occupancy<T, D, true>(&bps) != 0) return 1;
    const long units = (long)a->numSeqs * a->numKvHeads * pl.numChunks * pl.numSegments;
    const int nw = kStreamThreads / kStreamHostWave;
    long blocks = (units + nw - 1) / nw;
    const long resident = (long)bps * (a->computeUnits > 0 ? a->computeUnits : 1);
    if (blocks > resident) blocks = resident;
    hipLaunchKernelGGL((paged_decode_stream_kernel<T, D>), dim3((unsigned)blocks), dim3(kStreamThreads), stream_smem_bytes(D), stream, p, units);
    SK_CHECK_LAUNCH("paged_decode_stream");
  } else {
#if SK_PD_HOSTCACHE
    int bps = 0;
    if (occupancy<T, D, false>(&bps) != 0) return 1;
#else
    SK_CHECK(hipFuncSetAttribute((const void*)paged_decode_mma_kernel<T, D>, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem_bytes(D)));
#endif
#if SK_PD_KVFAST
    dim3 grid(a->numKvHeads * pl.numChunks * pl.numSegments, 1, a->numSeqs);
#else
    dim3 grid(pl.numChunks * pl.numSegments, a->numKvHeads, a->numSeqs);
#endif
    hipLaunchKernelGGL((paged_decode_mma_kernel<T, D>), grid, dim3(kPagedThreads), smem_bytes(D), stream, p);
    SK_CHECK_LAUNCH("paged_decode");
  }
  if (pl.numSegments > 1) {
    dim3 rgrid(pl.numChunks * pl.R, a->numKvHeads, a->numSeqs);
#if SK_PD_PDL && defined(SINKRT_NVIDIA)
    // The reduce may be scheduled while the main kernel's last blocks run; it waits for them
    // (griddepcontrol.wait) before reading the partials. Saves the launch gap between the two.
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = rgrid;
    cfg.blockDim = dim3(kPagedThreads);
    cfg.dynamicSmemBytes = 0;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    SK_CHECK(cudaLaunchKernelEx(&cfg, paged_attention_reduce_kernel<D, kRows>, p));
#else
    hipLaunchKernelGGL((paged_attention_reduce_kernel<D, kRows>), rgrid, dim3(kPagedThreads), 0, stream, p);
#endif
    SK_CHECK_LAUNCH("paged_decode_reduce");
  }
  return 0;
}

template <class T>
int launch_for(const sinkrt_paged_args* a, const PagedPlan& pl, const PagedParams& p) {
  switch (a->headSize) {
    case 64: return launch_mma<T, 64>(a, pl, p);
    case 128: return launch_mma<T, 128>(a, pl, p);
    case 256: return launch_mma<T, 256>(a, pl, p);
  }
  return fail("paged_decode", "headSize must be 64, 128 or 256", __FILE__, __LINE__);
}

}  // namespace

// Segments. Block kernel: among counts that keep segments >= kMinSegmentMma keys, the one whose grid
// fills the device's resident block slots best (whole waves), preferring fewer segments (less partial
// traffic); small grids get about SK_PD_SMALL_PER_CU blocks per CU. Stream kernel: the count whose
// units fill the resident waves in whole rounds, with a stronger preference for fewer segments (one
// segment needs no reduce at all).
int paged_decode_mma_plan(const sinkrt_paged_args* a, PagedPlan* pl) {
  const int kind = decode_kind(a);
  const bool stream = kind == 1;
  int bps = 0;
  const int st = occupancy_of(a, kind, &bps);
  if (st != 0) return st;
  if (bps < 1) return fail("paged_decode", "kernel cannot be resident on this device (occupancy 0)", __FILE__, __LINE__);
  pl->R = kRows;
  const long items = decode_items(a, &pl->numChunks);
  const long cus = a->computeUnits > 0 ? a->computeUnits : 1;
  const int grain = keys_per_wave(a->headSize);
  const int maxKeys = a->maxKeys > 1 ? a->maxKeys : 1;
  const int most = (maxKeys + kMinSegmentMma - 1) / kMinSegmentMma;
  if (kind == 2) {
    // Row kernel: a unit is a whole sequence x chunk x segment (all KV heads). Split only until
    // there is about one unit per compute unit: batch 256 keeps one segment (no partials, no reduce;
    // 256 blocks of 2 resident per SM all stream at once).
    const long units = items / a->numKvHeads;
    long want = (cus + units - 1) / units;
    if (want > most) want = most;
    split_segments(a, items, (int)(want < 1 ? 1 : want), kMinSegmentMma, grain, pl);
    return 0;
  }
  // Slots a unit of work fills: blocks (block kernel) or waves (stream kernel).
  const double slots = (double)bps * cus * (stream ? kStreamThreads / kStreamHostWave : 1);
  const double perSegment = stream ? 0.002 : 0.0005;
#if SK_PD_SEGRULE
  // Small grids (batch 1-8 with long contexts): measured on the H100 at batch 1 x 32K, 8 KV heads,
  // about 2 blocks per SM (32 segments, 1024 keys each) beat one full wave of 4 per SM (64 segments)
  // by 11% of GPU time: fewer, longer streams per SM. Larger grids keep the wave-filling rule.
  if (!stream && items < (long)bps * cus) {
    long want = (long)SK_PD_SMALL_PER_CU * cus / items;
    if (want < 1) want = 1;
    if (want > most) want = most;
    split_segments(a, items, (int)want, kMinSegmentMma, grain, pl);
    return 0;
  }
#endif
#if SK_PD_BIGRULE
  // Grids of two or more full waves with one segment (batch 256): one segment. Forced sweep on the
  // H100 (batch 256, GPU time): 8K 2.73 TB/s with 1 segment vs 2.64 with 9 (wave-filling rule);
  // 32K 2.77 vs 2.78 (both within noise of 4 segments, 2.79). No partials, no reduce.
  if (!stream && items >= 2L * bps * cus) {
    split_segments(a, items, 1, kMinSegmentMma, grain, pl);
    return 0;
  }
#endif
  int bestS = 1;
  double bestScore = -1e9;
  for (int want = 1; want <= most && want <= kMaxSegments; want++) {
    // The count split_segments makes of this wish (inlined: this loop runs on every decode call).
    const int segLen = ((maxKeys + want - 1) / want + grain - 1) / grain * grain;
    const int S = (maxKeys + segLen - 1) / segLen;
    const double waves = items * (double)S / slots;
    const double score = waves / ceil(waves) - perSegment * S;
    if (score > bestScore + 1e-9) {
      bestScore = score;
      bestS = want;
    }
  }
  split_segments(a, items, bestS, kMinSegmentMma, grain, pl);
  return 0;
}

int paged_decode_mma_launch(const sinkrt_paged_args* a, const PagedPlan& pl, const PagedParams& p) {
  if (a->dtype == SINKRT_F16) return launch_for<sk_f16>(a, pl, p);
  if (a->dtype == SINKRT_BF16) return launch_for<sk_bf16>(a, pl, p);
  return fail("paged_decode", "dtype must be f16 or bf16", __FILE__, __LINE__);
}

}  // namespace sinkrt

// Which matrix-unit decode kernel these args run: 0 block, 1 stream, 2 rows (the bench reports it).
extern "C" int sinkrt_paged_decode_variant(const sinkrt_paged_args* a) { return sinkrt::decode_kind(a); }

#if SK_PD_TRACE
// Trace builds (SK_PD_TRACE=1, the bench on NVIDIA only): clears or copies out the row kernel's
// stamps (kRowTraceBlocks x kRowTraceStride u64, layout in paged_decode_rows.h). Returns the stride.
extern "C" int sinkrt_pd_trace_read(unsigned long long* host, int clear) {
#if defined(SINKRT_NVIDIA)
  const size_t bytes = sizeof(sinkrt::sk_pd_trace);
  if (clear) {
    void* dev = nullptr;
    if (cudaGetSymbolAddress(&dev, sinkrt::sk_pd_trace) != cudaSuccess || cudaMemset(dev, 0, bytes) != cudaSuccess) return -1;
  } else if (cudaMemcpyFromSymbol(host, sinkrt::sk_pd_trace, bytes) != cudaSuccess) {
    return -1;
  }
  return sinkrt::kRowTraceStride;
#else
  (void)host;
  (void)clear;
  return -1;
#endif
}
#endif
