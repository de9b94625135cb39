// What the two paged kernels share: launch parameters, the rows and key range of a work item, the
// finish of a row (sink counted once), and the split-KV reduce. paged_attention.hip (SIMT, every
// device; unified_attention and the decode fallback) and paged_decode.hip (matrix units) both write
// per-segment partials as [items][segments][R][D] unnormalised O plus [..][R][2] (m, l), log2 units.
#pragma once
#include <math.h>

#include "common.h"

// Launch parameters of both paged kernels (global scope: nvcc's stub generator mishandles kernel
// parameters of a namespaced type in an unnamed namespace).
struct PagedParams {
  const sk_u16* query;
  const sk_u16* keyCache;
  const sk_u16* valueCache;
  float* output;
  float* lse;
  const float* sinks;
  const int* queryStartLoc;
  const int* seqLens;
  const int* blockTable;
  float* partialO;   // [items][S][R][D]
  float* partialML;  // [items][S][R][2]
  int maxBlocksPerSeq, seqBegin;
  int numQueryHeads, numKvHeads, G, blockSize, blockShift;
  int numChunks, numSegments, segLen;
  float scale, softcap;
  int window;
};

namespace sinkrt {

constexpr int kPagedThreads = 128;

// A launch plan: rows per block, row chunks per sequence, split-KV segments and their length.
struct PagedPlan {
  int R, numChunks, numSegments, segLen;
};


// Bytes of split-KV partials a plan needs (none for one segment).
inline size_t workspace_bytes(const sinkrt_paged_args* a, const PagedPlan& pl) {
  if (pl.numSegments <= 1) return 0;
  const size_t items = (size_t)a->numSeqs * a->numKvHeads * pl.numChunks;
  return items * pl.numSegments * pl.R * (a->headSize + 2) * sizeof(float);
}

// Segment length from a wanted segment count: at least minSeg keys, a multiple of `grain`; the real
// count follows from the length. forceSegments (tests, bench) overrides the wish.
constexpr int kMaxSegments = 512;

inline void split_segments(const sinkrt_paged_args* a, long items, int want, int minSeg, int grain, PagedPlan* pl) {
  (void)items;
  const int maxKeys = a->maxKeys > 1 ? a->maxKeys : 1;
  int S = a->forceSegments > 0 ? a->forceSegments : want;
  if (a->forceSegments <= 0) {
    const int most = (maxKeys + minSeg - 1) / minSeg;
    if (S > most) S = most;
  }
  if (S < 1) S = 1;
  if (S > kMaxSegments) S = kMaxSegments;
  int segLen = (maxKeys + S - 1) / S;
  segLen = (segLen + grain - 1) / grain * grain;
  pl->numSegments = (maxKeys + segLen - 1) / segLen;
  pl->segLen = segLen;
}

// paged_decode on the matrix units (paged_decode.hip).
int paged_decode_mma_plan(const sinkrt_paged_args* a, PagedPlan* plan);
int paged_decode_mma_launch(const sinkrt_paged_args* a, const PagedPlan& plan, const PagedParams& p);

namespace paged {

// Rows of the work item and the key range they see. Returns false when the chunk has no rows.
struct RowRange {
  int qStart, ctx, rowBase, rowsHere, lo, hi;
};
__device__ __forceinline__ bool row_range(const PagedParams& p, int seq, int chunk, int R, RowRange& rr) {
  rr.qStart = p.queryStartLoc[seq];
  const int qLen = p.queryStartLoc[seq + 1] - rr.qStart;
  rr.ctx = p.seqLens[seq] - qLen;
  rr.rowBase = chunk * R;
  const int numRows = qLen * p.G;
  if (rr.rowBase >= numRows) return false;
  rr.rowsHere = min(R, numRows - rr.rowBase);
  const int tFirst = rr.rowBase / p.G, tLast = (rr.rowBase + rr.rowsHere - 1) / p.G;
  rr.hi = rr.ctx + tLast + 1;
  rr.lo = p.window > 0 ? max(0, rr.ctx + tFirst - p.window + 1) : 0;
  return true;
}

__device__ __forceinline__ float finish_row(float acc, float m, float l, float sink2, float* lseOut) {
  const float M = fmaxf(m, sink2);
  if (M == -INFINITY) {
    if (lseOut) *lseOut = -INFINITY;
    return 0.f;
  }
  const float f = exp2f(m - M);
  const float L = l * f + exp2f(sink2 - M);
  if (lseOut) *lseOut = (M + log2f(L)) * kLn2;
  return acc * f / L;
}


// Block-wide max / sum over kPagedThreads threads (wave-size agnostic); every thread gets the result.
template <bool IsMax>
__device__ __forceinline__ float block_reduce(float v, float* scratch) {
  constexpr int WAVE = SINKRT_WAVE, NW = kPagedThreads / WAVE;
#pragma unroll
  for (int m = WAVE / 2; m >= 1; m >>= 1) {
    const float o = sk_shfl_xor(v, m);
    v = IsMax ? fmaxf(v, o) : v + o;
  }
  __syncthreads();
  if (threadIdx.x % WAVE == 0) scratch[threadIdx.x / WAVE] = v;
  __syncthreads();
  v = scratch[0];
#pragma unroll
  for (int w = 1; w < NW; w++) v = IsMax ? fmaxf(v, scratch[w]) : v + scratch[w];
  return v;
}

// Merges the split-KV segments of one row (block = one row of one work item) and counts the sink
// once. Segment weights 2^(m_s - m) are computed once into shared memory, then each thread sums its
// dims over the segments with independent loads (no serial latency chain over segments).
template <int D, int R>
__global__ void __launch_bounds__(kPagedThreads) paged_attention_reduce_kernel(PagedParams p) {
  __shared__ float sF[kMaxSegments];
  __shared__ float scratch[kPagedThreads / 32];
  const int seq = p.seqBegin + blockIdx.z, kvh = blockIdx.y, chunk = blockIdx.x / R, r = blockIdx.x % R;
  RowRange rr;
  if (!row_range(p, seq, chunk, R, rr) || r >= rr.rowsHere) return;
#if defined(SK_PD_PDL) && SK_PD_PDL && defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // paged_decode.hip launches this as a programmatic dependent of the kernel that writes the
  // partials: wait for that grid to complete (and its writes to be visible). The rows' ranges above
  // come from inputs it does not write. In an ordinary launch this returns at once.
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
  const size_t item = ((size_t)blockIdx.z * gridDim.y + blockIdx.y) * p.numChunks + chunk;
  const int S = p.numSegments;
  float m = -INFINITY;
  for (int s = threadIdx.x; s < S; s += kPagedThreads) m = fmaxf(m, p.partialML[((item * S + s) * R + r) * 2]);
  m = block_reduce<true>(m, scratch);
  const float mUse = m == -INFINITY ? 0.f : m;
  float l = 0.f;
  for (int s = threadIdx.x; s < S; s += kPagedThreads) {
    const size_t base = (item * S + s) * R + r;
    const float f = exp2f(p.partialML[base * 2] - mUse);
    sF[s] = f;
    l += p.partialML[base * 2 + 1] * f;
  }
  l = block_reduce<false>(l, scratch);  // its barriers also publish sF
  const int row = rr.rowBase + r, t = row / p.G, h = kvh * p.G + row % p.G;
  const float sink2 = p.sinks ? p.sinks[h] * kLog2e : -INFINITY;
  const size_t outRow = (size_t)(rr.qStart + t) * p.numQueryHeads + h;
  for (int d = threadIdx.x; d < D; d += kPagedThreads) {
    float acc = 0.f;
    const float* po = p.partialO + (item * S * R + r) * D + d;
#pragma unroll 8
    for (int s = 0; s < S; s++) acc += po[(size_t)s * R * D] * sF[s];
    float* lseOut = (d == 0 && p.lse) ? p.lse + outRow : nullptr;
    p.output[outRow * D + d] = finish_row(acc, m, l, sink2, lseOut);
  }
}

}  // namespace paged
}  // namespace sinkrt
