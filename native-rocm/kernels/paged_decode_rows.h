// paged_decode, row form: batch 256 at GPT-OSS shape (NVIDIA, head size 64), included by paged_decode.hip
// after paged_decode_stream.h (it reuses its Unit, begin_unit and write_unit_rows).
//
// Why: the stream kernel's waves each gather their own KV head's 128-byte pieces of every token row.
// On the H100 that access pattern alone caps at 2.90 TB/s (bench "gather piece"), while the same bytes
// read as whole 1 KB token rows reach 3.04 (read-only 3.05): at batch 256 x 8K the stream kernel ran
// at 2.75, 95% of the piece ceiling. Here the block copies whole token rows instead (same run, batch
// 256: 8K 2.75 -> 2.92, 32K 2.81 -> 2.98, 1K 2.51 -> 2.60-2.65 TB/s; bench/rocm/NOTES.md, pass 3).
//
// Work unit: one sequence, one 16-row chunk, one split-KV segment, for ALL KV heads: the block has one
// wave per KV head (32 x Hkv threads, Hkv <= 8). Per tile of 16 keys the whole block gathers the 16
// token rows of K and of V (Hkv x D x 2 bytes each: 16 KB per tile of K at Hkv 8, D 64, which is one
// cache block at block size 16) with 16-byte cp.async, consecutive threads on consecutive 16 bytes of
// a row (fully coalesced), into a stage of shared memory; one block barrier per tile; then wave w
// computes KV head w's 16 rows from columns [w D, (w + 1) D) of the staged rows (attend_tile, the
// code both other decode kernels use). The grid is at most one wave of resident blocks, block b takes
// units b, b + grid, ...; the copy pipeline (SK_PD_ROW_STAGES tiles) runs across unit boundaries as
// in the stream kernel. All waves of a block see the same key range (row_range does not depend on the
// KV head), so the tile loop and its barrier are block-uniform.
// Pipeline order per tile i: wait for tile i's copies, barrier (tile i visible to all; every wave is
// done with the stage tile i - 1 used), issue tile i + ST - 1 into that stage, compute tile i. One
// barrier per tile; ST - 1 tiles in flight while a tile is computed, and (SK_PD_ROW_L2PF) the tile
// after those already on its way into the L2.
// Shared memory: ST stages x (K and V: 16 rows x (Hkv x D + 8) elements). The 16-byte pad makes the
// row stride 16 mod 128 bytes, so ldmatrix's 8 rows hit 8 different bank groups.
// Results go from registers to the output (one segment; the sink counted here, once) or to the
// segment's partials in the block kernel's layout (the reduce of paged_common.h adds the sink once).
#pragma once

#ifndef SK_PD_ROW_STAGES
#define SK_PD_ROW_STAGES 3
#endif
// SK_PD_ROW_L2PF = N > 0: with each tile's copies, wave 0 also asks the L2 to prefetch the token
// rows of the tile N tiles beyond it (cp.async.bulk.prefetch.L2, one row per lane, within the same
// unit), so more bytes are in flight at the DRAM than the shared-memory stages hold (2 blocks per SM
// x 2 tiles x 32 KB; 127 registers and 100 KB of shared memory per block allow no more). 0 = off.
// H100, same run, batch 256: N = 1 +2-3% at 8K/32K, +1% at 1K over 0; N = 2 lost 8-12% (the L2
// then holds too much not-yet-read data). Default 1.
#ifndef SK_PD_ROW_L2PF
#define SK_PD_ROW_L2PF 1
#endif

// SK_PD_TRACE = 1 (diagnostic builds of the bench only, never the addon): thread 0 of every block
// stamps %globaltimer (ns) at entry, after each tile's data is in shared memory (the first
// kRowTraceTiles tiles) and at exit, into sk_pd_trace (read by sinkrt_pd_trace_read in
// paged_decode.hip). It shows where a call's time goes that the bandwidth figure cannot: the ramp
// before the first K/V bytes arrive, the tile cadence and the spread of the blocks' end times.
#if !defined(SK_PD_TRACE) || !defined(SINKRT_NVIDIA)
#undef SK_PD_TRACE
#define SK_PD_TRACE 0
#endif
#if SK_PD_TRACE
constexpr int kRowTraceBlocks = 1024, kRowTraceTiles = 128, kRowTraceStride = kRowTraceTiles + 4;
__device__ unsigned long long sk_pd_trace[kRowTraceBlocks * kRowTraceStride];
__device__ __forceinline__ unsigned long long sk_now() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
// Slots per block: [0] SM id, [1] entry, [2] exit, [3] tiles done, [4 + i] tile i ready.
#define SK_ROW_TRACE(slot, value)                                                             \
  do {                                                                                       \
    if (threadIdx.x == 0 && blockIdx.x < kRowTraceBlocks) sk_pd_trace[blockIdx.x * kRowTraceStride + (slot)] = (value); \
  } while (0)
#else
#define SK_ROW_TRACE(slot, value) \
  do {                            \
  } while (0)
#endif

constexpr int kRowMaxKvHeads = 8;
constexpr int kRowMaxThreads = 32 * kRowMaxKvHeads;

// Shared-memory row stride (elements): the whole token row of all KV heads plus 16 bytes.
__host__ __device__ constexpr int row_ld(int hkv, int D) { return hkv * D + 8; }
inline size_t rows_smem_bytes(int hkv, int D) {
  return (size_t)SK_PD_ROW_STAGES * 2 * keys_per_wave(D) * row_ld(hkv, D) * sizeof(sk_u16);
}

#if SINKRT_HAS_MMA && defined(SINKRT_NVIDIA)
// Unit u of the row kernel (sequence, chunk, segment; segment fastest). Returns false when the chunk
// has no query rows. kvh is left for the caller (the wave's own head).
__device__ __forceinline__ bool rows_unit(const PagedParams& p, long u, Unit& un) {
  un.seg = (int)(u % p.numSegments);
  const long rest = u / p.numSegments;
  un.chunk = (int)(rest % p.numChunks);
  un.z = (int)(rest / p.numChunks);
  un.seq = p.seqBegin + un.z;
  un.kvh = 0;
  if (!row_range(p, un.seq, un.chunk, kRows, un.rr)) return false;
  un.segStart = un.rr.lo + un.seg * p.segLen;
  un.segEnd = min(un.rr.hi, un.segStart + p.segLen);
  return true;
}
#endif

template <class T, int D>
__global__ void __launch_bounds__(kRowMaxThreads) paged_decode_rows_kernel(PagedParams p, long numUnits) {
#if SINKRT_HAS_MMA && defined(SINKRT_NVIDIA)
  using namespace skmma;
  constexpr int KW = keys_per_wave(D);
  constexpr int ST = SK_PD_ROW_STAGES;
  constexpr int RPI = 256 / D;      // token rows one copy instruction of the block covers (4 at D 64)
  constexpr int NL = KW / RPI;      // 16-byte copies per thread per tile, each of K and V
  static_assert(ST >= 2, "the row kernel's pipeline needs two stages at least");
  static_assert(256 % D == 0 && NL * RPI == KW, "tile must split evenly over the block (32 x Hkv threads = RPI rows of Hkv x D / 8 vectors)");
  extern __shared__ __align__(16) sk_u16 smem[];
  const int Hkv = p.numKvHeads;
  const int tid = threadIdx.x, w = tid / 32;
  const int LD = Hkv * D + 8;
  const int VPR = Hkv * (D / 8);    // 16-byte vectors per token row; blockDim.x = RPI * VPR
  const int r0 = tid / VPR, cv = tid % VPR;
  const int stageElems = 2 * KW * LD;
  const size_t tokenStride = (size_t)Hkv * D;
  const int bmask = p.blockSize - 1;
  const long nBlocks = gridDim.x;
#if SK_PD_TRACE
  unsigned smid;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
  SK_ROW_TRACE(0, smid);
  SK_ROW_TRACE(1, sk_now());
  int traced = 0;
#endif
#if SK_PD_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::);
#endif

  // Producer (block-uniform except blk[]): the next tile to gather is keys [pkt, pkt + KW) of unit
  // pu (below pend); blk[] holds this thread's block-table entries for it.
  long pu = blockIdx.x;
  int pkt = 0, pend = 0;
  const int* pbt = nullptr;
  int blk[NL];
#if SK_PD_ROW_L2PF
  // Wave 0's lanes 0..2 KW-1: lane l prefetches row l % KW of K (l < KW) or V of the tile
  // SK_PD_ROW_L2PF tiles beyond the one being copied; pfOff is its cache offset (-1: nothing).
  long pfOff = -1;
  const int pfRow = tid % KW;
  const bool pfLane = tid < 2 * KW;
#endif
  auto seek = [&](long from) {
    for (pu = from; pu < numUnits; pu += nBlocks) {
      Unit un;
      if (rows_unit(p, pu, un) && un.segStart < un.segEnd) {
        pkt = un.segStart;
        pend = un.segEnd;
        pbt = p.blockTable + (size_t)un.seq * p.maxBlocksPerSeq;
        return;
      }
    }
  };
  auto load_blk = [&]() {
#pragma unroll
    for (int n = 0; n < NL; n++) {
      const int key = pkt + n * RPI + r0;
      blk[n] = (pu < numUnits && key < pend) ? pbt[key >> p.blockShift] : 0;
    }
#if SK_PD_ROW_L2PF
    if (pfLane) {
      const int key = pkt + SK_PD_ROW_L2PF * KW + pfRow;
      pfOff = (pu < numUnits && key < pend) ? ((long)pbt[key >> p.blockShift] * p.blockSize + (key & bmask)) * (long)tokenStride : -1;
    }
#endif
  };
  // Gathers the producer's tile into stage b (or commits an empty group once nothing is left, so the
  // wait counts stay exact), then moves the producer on by one tile.
  auto issue = [&](int b) {
    if (pu < numUnits) {
      sk_u16* Kb = smem + b * stageElems;
      sk_u16* Vb = Kb + KW * LD;
#pragma unroll
      for (int n = 0; n < NL; n++) {
        const int r = n * RPI + r0, key = pkt + r;
        const bool valid = key < pend;
        size_t off = 0;
        if (valid) off = ((size_t)blk[n] * p.blockSize + (key & bmask)) * tokenStride + (size_t)cv * 8;
        kv_copy16(Kb + r * LD + cv * 8, p.keyCache + off, valid);
        kv_copy16(Vb + r * LD + cv * 8, p.valueCache + off, valid);
      }
#if SK_PD_ROW_L2PF && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      if (pfLane && pfOff >= 0) {
        const sk_u16* src = (tid < KW ? p.keyCache : p.valueCache) + pfOff;
        asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(src), "r"((unsigned)(tokenStride * sizeof(sk_u16))) : "memory");
      }
#endif
    }
    sk_copy_commit();
    if (pu < numUnits) {
      pkt += KW;
      if (pkt >= pend) seek(pu + nBlocks);
      load_blk();
    }
  };
  seek(blockIdx.x);
  load_blk();
#pragma unroll
  for (int b = 0; b < ST - 1; b++) issue(b);

  const float sMul = p.softcap > 0.f ? p.scale : p.scale * kLog2e;
  int stage = 0;
  for (long cu = blockIdx.x; cu < numUnits; cu += nBlocks) {
    Unit un;
    if (!rows_unit(p, cu, un)) continue;
    un.kvh = w;
    QFrag qf[D / 16];
    int qpos[kSlots];
    float m[kSlots], l[kSlots], o[D / 16][kOElems];
    begin_unit<D>(p, un, qf, qpos, m, l, o);

    for (int kt = un.segStart; kt < un.segEnd; kt += KW) {
      sk_copy_wait<ST - 2>();  // this thread's copies of tile kt have landed
      __syncthreads();         // everyone's have; everyone is done with the previous tile's stage
#if SK_PD_TRACE
      if (traced < kRowTraceTiles) SK_ROW_TRACE(4 + traced, sk_now());
      traced++;
#endif
      issue(stage == 0 ? ST - 1 : stage - 1);
      const sk_u16* Kb = smem + stage * stageElems + w * D;
      attend_tile<T, D, KW>(qf, Kb, Kb + KW * LD, LD, kt, un.segEnd, qpos, p, sMul, m, l, o);
      stage = stage == ST - 1 ? 0 : stage + 1;
    }

    write_unit_rows<D>(p, un, m, l, o);
  }
  sk_copy_wait<0>();  // no copy may still target shared memory when the block exits
#if SK_PD_TRACE
  SK_ROW_TRACE(3, traced);
  SK_ROW_TRACE(2, sk_now());
#endif
#endif
}
