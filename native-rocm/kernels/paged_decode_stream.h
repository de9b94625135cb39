// paged_decode, stream form: for large grids (batch 256) at head size 64 with more than 8 KV heads,
// included by paged_decode.hip. At GPT-OSS shape (8 KV heads) the row form (paged_decode_rows.h,
// whole token rows per block) replaced it: 3-6% faster at batch 256 in the same run.
//
// Why: at batch 256 the block kernel of paged_decode.hip lost KV-read speed at block boundaries
// (each block's pipeline drains at its end and refills at the next block's start, behind a dependent
// chain of loads: query range, block table, first tile) and in the last partial wave of blocks
// (batch 256 x 8K was 3.9 waves of blocks).
//
// Work unit: one sequence, one KV head, one 16-row chunk, one split-KV segment, done by ONE wave alone
// (all its tiles; nothing to merge across waves, no block barrier anywhere). The grid is at most one
// wave of resident blocks; wave g of T takes units g, g + T, g + 2T, ... KV head fastest: with 256
// threads (8 waves) one block reads all 8 KV heads' 128-byte pieces of the same token rows at about
// the same time, i.e. whole 1 KB rows of the cache block from one SM (H100: +1.5% at batch 256 x 32K
// over 4 waves per block; the same bytes read as 128-byte pieces cap at 2.90 TB/s, as whole rows 3.04).
// The wave's async-copy pipeline (SK_PD_STAGES tiles of 16 keys) runs across unit boundaries: the
// next unit's first tiles are already in flight while the current unit finishes. A unit's result goes
// straight from registers to the output (one segment: the sink enters here, once) or to the segment's
// partial for the reduce kernel of paged_common.h (same layout as the block kernel's partials).
// Shared memory per wave: stream_stages(D) x (K and V tiles of 16 rows, padded by 16 bytes). Q
// fragments come straight from global memory into registers (no shared-memory staging).
// Measured choices (bench/rocm/NOTES.md): 2 stages (3 measured equal, 4 lose occupancy), 256 threads.
#pragma once

#ifndef SK_PD_STAGES
#define SK_PD_STAGES 2
#endif
#ifndef SK_PD_STREAM_THREADS
#define SK_PD_STREAM_THREADS 256
#endif

constexpr int kStreamThreads = SK_PD_STREAM_THREADS;

// Pipeline stages for head size D: SK_PD_STAGES, fewer where the block's stages would exceed 227 KB
// of shared memory (the H100's per-block limit), at least one (then each tile loads, then computes).
__host__ __device__ constexpr int stream_stages(int D) {
  return (227 * 1024) / ((kStreamThreads / 32) * 2 * keys_per_wave(D) * ld_of(D) * 2) >= SK_PD_STAGES
             ? SK_PD_STAGES
             : ((227 * 1024) / ((kStreamThreads / 32) * 2 * keys_per_wave(D) * ld_of(D) * 2) > 0
                    ? (227 * 1024) / ((kStreamThreads / 32) * 2 * keys_per_wave(D) * ld_of(D) * 2)
                    : 1);
}

// Bytes of dynamic shared memory of the stream kernel (the most waves a block has: wave 32).
inline size_t stream_smem_bytes(int D) {
  return (size_t)(kStreamThreads / 32) * stream_stages(D) * 2 * keys_per_wave(D) * ld_of(D) * sizeof(sk_u16);
}

#if SINKRT_HAS_MMA
// Where one unit's work lies. Returns false when the chunk has no query rows.
struct Unit {
  int seq, z, kvh, chunk, seg, segStart, segEnd;
  RowRange rr;
};
__device__ __forceinline__ bool decode_unit(const PagedParams& p, long u, Unit& un) {
  un.kvh = (int)(u % p.numKvHeads);
  long rest = u / p.numKvHeads;
  un.seg = (int)(rest % p.numSegments);
  rest /= p.numSegments;
  un.chunk = (int)(rest % p.numChunks);
  un.z = (int)(rest / p.numChunks);
  un.seq = p.seqBegin + un.z;
  if (!row_range(p, un.seq, un.chunk, kRows, un.rr)) return false;
  un.segStart = un.rr.lo + un.seg * p.segLen;
  un.segEnd = min(un.rr.hi, un.segStart + p.segLen);
  return true;
}

// A unit's rows, from the wave's registers: finished (one segment; the sink counted here, once) or
// as the segment's partial (unnormalised O, m, l in log2 units) for the reduce. Shared by the
// stream and row kernels.
template <int D>
__device__ __forceinline__ void write_unit_rows(const PagedParams& p, const Unit& un, const float (&m)[skmma::kSlots],
                                                const float (&l)[skmma::kSlots], const float (&o)[D / 16][skmma::kOElems]) {
  using namespace skmma;
  const size_t item = ((size_t)un.z * p.numKvHeads + un.kvh) * p.numChunks + un.chunk;
#pragma unroll
  for (int sl = 0; sl < kSlots; sl++) {
    const float L = slot_sum(l[sl]);
    const int r = slot_query(sl);
    if (r >= un.rr.rowsHere) continue;
    if (p.numSegments == 1) {
      const int row = un.rr.rowBase + r, t = row / p.G, h = un.kvh * p.G + row % p.G;
      const float sink2 = p.sinks ? p.sinks[h] * kLog2e : -INFINITY;
      const size_t outRow = (size_t)(un.rr.qStart + t) * p.numQueryHeads + h;
      float* lseOut = (slot_writer() && p.lse) ? p.lse + outRow : nullptr;
#pragma unroll
      for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
        for (int i = 0; i < kOElems; i++)
          if (o_slot(i) == sl) {
            p.output[outRow * D + dc * 16 + o_dim(i)] = finish_row(o[dc][i], m[sl], L, sink2, lseOut);
            lseOut = nullptr;
          }
    } else {
      const size_t base = (item * p.numSegments + un.seg) * kRows + r;
#pragma unroll
      for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
        for (int i = 0; i < kOElems; i++)
          if (o_slot(i) == sl) p.partialO[base * D + dc * 16 + o_dim(i)] = o[dc][i];
      if (slot_writer()) {
        p.partialML[base * 2] = m[sl];
        p.partialML[base * 2 + 1] = L;
      }
    }
  }
}

// The wave's Q fragments for rows [0, rowsHere) of the unit (zero rows beyond), read from global
// memory in the matrix units' A/B layout (mma_compat.h): NVIDIA lane 4g+t holds rows g, g+8 and
// columns 2t, 2t+1 (+8); AMD lane l holds row l%16, columns 4(l/16)..+3.
template <int D>
__device__ __forceinline__ void load_q_global(skmma::QFrag (&qf)[D / 16], const PagedParams& p, const Unit& un) {
  const int lane = skmma::lane_id();
#if defined(SINKRT_NVIDIA)
  const sk_u16* qrow[2];
#pragma unroll
  for (int h2 = 0; h2 < 2; h2++) {
    const int r = (lane >> 2) + 8 * h2, row = un.rr.rowBase + r;
    const int t = row / p.G, h = un.kvh * p.G + row % p.G;
    qrow[h2] = r < un.rr.rowsHere ? p.query + ((size_t)(un.rr.qStart + t) * p.numQueryHeads + h) * D : nullptr;
  }
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++)
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const sk_u16* q = qrow[j & 1];
      qf[kc].a[j] = q ? *reinterpret_cast<const uint32_t*>(q + kc * 16 + (j >> 1) * 8 + 2 * (lane & 3)) : 0u;
    }
#else
  const int r = lane & 15, row = un.rr.rowBase + r;
  const int t = row / p.G, h = un.kvh * p.G + row % p.G;
  const sk_u16* q = r < un.rr.rowsHere ? p.query + ((size_t)(un.rr.qStart + t) * p.numQueryHeads + h) * D : nullptr;
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    if (q) {
      const uint2 v = *reinterpret_cast<const uint2*>(q + kc * 16 + 4 * (lane >> 4));
      qf[kc].b[0] = (short)(v.x & 0xffff);
      qf[kc].b[1] = (short)(v.x >> 16);
      qf[kc].b[2] = (short)(v.y & 0xffff);
      qf[kc].b[3] = (short)(v.y >> 16);
    } else {
      qf[kc].b = skmma::i16x4{0, 0, 0, 0};
    }
  }
#endif
}

// A unit's start, in the wave's registers: its Q fragments, each slot's query position (-1 past the
// unit's rows), and empty online-softmax state. Shared by the stream and row kernels.
template <int D>
__device__ __forceinline__ void begin_unit(const PagedParams& p, const Unit& un, skmma::QFrag (&qf)[D / 16], int (&qpos)[skmma::kSlots],
                                           float (&m)[skmma::kSlots], float (&l)[skmma::kSlots], float (&o)[D / 16][skmma::kOElems]) {
  using namespace skmma;
  load_q_global<D>(qf, p, un);
#pragma unroll
  for (int s = 0; s < kSlots; s++) {
    const int r = slot_query(s);
    qpos[s] = r < un.rr.rowsHere ? un.rr.ctx + (un.rr.rowBase + r) / p.G : -1;
    m[s] = -INFINITY;
    l[s] = 0.f;
  }
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
    for (int i = 0; i < kOElems; i++) o[dc][i] = 0.f;
}

#endif

template <class T, int D>
__global__ void __launch_bounds__(kStreamThreads) paged_decode_stream_kernel(PagedParams p, long numUnits) {
#if SINKRT_HAS_MMA
  using namespace skmma;
  constexpr int WAVE = SINKRT_WAVE;
  constexpr int NW = kStreamThreads / WAVE;
  constexpr int KW = keys_per_wave(D);
  constexpr int LD = ld_of(D);
  constexpr int VPR = D / 8;
  constexpr int NL = KW * VPR / WAVE;
  constexpr int ST = stream_stages(D);
  static_assert(NL * WAVE == KW * VPR, "tile must split evenly over the wave");
  extern __shared__ __align__(16) sk_u16 smem[];
  const int w = threadIdx.x / WAVE, lane = threadIdx.x % WAVE;
  sk_u16* Kw = smem + w * ST * 2 * KW * LD;  // this wave's stages, each K then V
#if SK_PD_PDL && defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::);
#endif
  const long nWaves = (long)gridDim.x * NW;
  const long first = (long)blockIdx.x * NW + w;
  const size_t tokenStride = (size_t)p.numKvHeads * D;
  const int bmask = p.blockSize - 1;

  // Producer: the next tile to gather (unit pu, keys [pkt, pkt + KW) below pend), its block-table
  // entries already loaded (blk). Units without rows or keys have no tiles and are skipped here; the
  // consumer below visits the same units in the same order.
  long pu = first;
  int pkt = 0, pend = 0, pkvh = 0;
  const int* pbt = nullptr;
  int blk[NL];
  auto seek = [&](long from) {
    for (pu = from; pu < numUnits; pu += nWaves) {
      Unit un;
      if (decode_unit(p, pu, un) && un.segStart < un.segEnd) {
        pkt = un.segStart;
        pend = un.segEnd;
        pkvh = un.kvh;
        pbt = p.blockTable + (size_t)un.seq * p.maxBlocksPerSeq;
        return;
      }
    }
  };
  auto load_blk = [&]() {
#pragma unroll
    for (int n = 0; n < NL; n++) {
      const int key = pkt + (n * WAVE + lane) / VPR;
      blk[n] = (pu < numUnits && key < pend) ? pbt[key >> p.blockShift] : 0;
    }
  };
  // Gathers the producer's tile into stage b (or commits an empty group once nothing is left, so
  // the wait counts below stay exact), then moves the producer on by one tile.
  auto issue = [&](int b) {
    if (pu < numUnits) {
      sk_u16* Kb = Kw + b * 2 * KW * LD;
      sk_u16* Vb = Kb + KW * LD;
#pragma unroll
      for (int n = 0; n < NL; n++) {
        const int idx = n * WAVE + lane, r = idx / VPR, cc = idx % VPR, key = pkt + r;
        const bool valid = key < pend;
        size_t off = 0;
        if (valid) off = ((size_t)blk[n] * p.blockSize + (key & bmask)) * tokenStride + (size_t)pkvh * D + cc * 8;
        kv_copy16(Kb + r * LD + cc * 8, p.keyCache + off, valid);
        kv_copy16(Vb + r * LD + cc * 8, p.valueCache + off, valid);
      }
    }
    sk_copy_commit();
    if (pu < numUnits) {
      pkt += KW;
      if (pkt >= pend) seek(pu + nWaves);
      load_blk();
    }
  };
  seek(first);
  load_blk();
#pragma unroll
  for (int b = 0; b < ST - 1; b++) issue(b);

  const float sMul = p.softcap > 0.f ? p.scale : p.scale * kLog2e;
  int stage = 0;
  for (long cu = first; cu < numUnits; cu += nWaves) {
    Unit un;
    if (!decode_unit(p, cu, un)) continue;
    QFrag qf[D / 16];
    int qpos[kSlots];
    float m[kSlots], l[kSlots], o[D / 16][kOElems];
    begin_unit<D>(p, un, qf, qpos, m, l, o);

    for (int kt = un.segStart; kt < un.segEnd; kt += KW) {
      issue(stage == 0 ? ST - 1 : stage - 1);  // the stage consumed last iteration
      sk_copy_wait<ST - 1>();
      sync_wave();
      const sk_u16* Kb = Kw + stage * 2 * KW * LD;
      attend_tile<T, D, KW>(qf, Kb, Kb + KW * LD, LD, kt, un.segEnd, qpos, p, sMul, m, l, o);
      sync_wave();
      stage = stage == ST - 1 ? 0 : stage + 1;
    }

    write_unit_rows<D>(p, un, m, l, o);
  }
  sk_copy_wait<0>();  // no copy may still target shared memory when the wave exits
#endif
}
