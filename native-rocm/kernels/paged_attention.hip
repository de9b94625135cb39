// paged_attention: attention of query rows over the paged KV cache, with sinks, sliding window and
// softcap; the device code behind both paged_decode (decode range) and unified_attention (extend
// range). They differ only in the launch: rows per block and split-KV segments.
//
// Work item (one block of 128 threads = 4 warps on NVIDIA, 2 waves on CDNA): one sequence, one KV
// head, one chunk of R "rows", and one split-KV segment of keys. Rows are (query token, query head)
// pairs of that KV head, row = t * G + g with G = Hq / Hkv, so the G query heads of a KV head share
// every K/V load (GQA); a decode of GPT-OSS (G = 8, one token) is R = 8 rows.
//
// Lane layout (wave-size agnostic): a token's K (or V) row for one head is D values; a lane takes 8
// of them as one 16-byte load, so LPT = D / 8 lanes cover a token and a wave covers WAVE / LPT tokens.
// A tile of T = 1024 * U / D keys (independent of the wave size) is processed in three phases:
//   1. each lane loads its K and V pieces for U tokens (all loads in flight together), computes the
//      R partial dot products over its 8 dims, and a reduce-scatter across the LPT lanes leaves each
//      lane one row's full score (R - 1 shuffles instead of R log2 LPT); scores go to shared memory
//      (log2 units, masked keys -inf).
//   2. one wave per row: tile max, online-softmax update of the row's running (m, l), p = 2^(s - m).
//   3. O[r] = O[r] * alpha[r] + sum p[r][k] V[k], V already in registers from phase 1.
// After the last tile, partial O is reduced across the lanes of a wave and across waves.
// Split-KV: with S > 1 segments, each block writes unnormalised O and (m, l) of its segment; the
// reduce kernel merges them and adds the sink ONCE: M = max(sink, m_s), L = 2^(sink-M) + sum l_s
// 2^(m_s-M). With S = 1 the block finishes the row itself with the same formula.
// Segment count follows the work: enough blocks for ~4 per compute unit, never segments under 256
// keys. Softmax runs in log2 units (scores scaled by log2 e); lse is converted back to natural log.
#include <math.h>

#include "paged_common.h"

namespace {
using namespace sinkrt;
using namespace sinkrt::paged;
constexpr int kThreads = kPagedThreads;

constexpr int kVec = 8;
constexpr int kUnroll = 4;  // tokens per lane per tile
constexpr int kMinSegment = 256;

__host__ __device__ constexpr int tile_keys(int D) { return 1024 * kUnroll / D; }

template <class T, int D, int R>
__global__ void __launch_bounds__(kThreads) paged_attention_kernel(PagedParams p) {
  constexpr int WAVE = SINKRT_WAVE;
  constexpr int LPT = D / kVec;          // lanes per token
  constexpr int TPW = WAVE / LPT;        // tokens per wave per step
  constexpr int NW = kThreads / WAVE;    // waves per block
  constexpr int TK = tile_keys(D);       // keys per tile = NW * TPW * kUnroll
  static_assert(NW * TPW * kUnroll == TK, "tile size must not depend on the wave size");
  static_assert(R <= LPT, "reduce-scatter assumes R <= lanes per token");

  __shared__ float sS[R][TK];
  __shared__ float sM[R], sL[R], sA[R];
  __shared__ float sO[NW][R][D];

  const int tid = threadIdx.x, lane = tid % WAVE, w = tid / WAVE;
  const int ts = lane / LPT, c = lane % LPT;
  const int seq = p.seqBegin + blockIdx.z;
  const int kvh = blockIdx.y;
  const int chunk = blockIdx.x / p.numSegments, seg = blockIdx.x % p.numSegments;
  RowRange rr;
  if (!row_range(p, seq, chunk, R, rr)) return;
  const int segStart = rr.lo + seg * p.segLen;
  const int segEnd = min(rr.hi, segStart + p.segLen);
  const int Hq = p.numQueryHeads;

  // Query pieces of every row, pre-multiplied by scale (and by log2 e when there is no softcap).
  const float qMul = p.softcap > 0.f ? p.scale : p.scale * sinkrt::kLog2e;
  float q[R][kVec];
#pragma unroll
  for (int r = 0; r < R; r++) {
    if (r < rr.rowsHere) {
      const int row = rr.rowBase + r, t = row / p.G, h = kvh * p.G + row % p.G;
      const uint4 w4 = *reinterpret_cast<const uint4*>(p.query + ((size_t)(rr.qStart + t) * Hq + h) * D + c * kVec);
      sk_unpack8<T>(w4, q[r]);
#pragma unroll
      for (int i = 0; i < kVec; i++) q[r][i] *= qMul;
    } else {
#pragma unroll
      for (int i = 0; i < kVec; i++) q[r][i] = 0.f;
    }
  }
  // The row this lane owns after the reduce-scatter: bit-reversed low log2(R) bits of c.
  int myRow = 0;
#pragma unroll
  for (int bit = 1, half = R / 2; half >= 1; bit <<= 1, half >>= 1) myRow += (c & bit) ? half : 0;
  const int myPos = myRow < rr.rowsHere ? rr.ctx + (rr.rowBase + myRow) / p.G : -1;
  const bool writer = c < R;

  if (tid < R) {
    sM[tid] = -INFINITY;
    sL[tid] = 0.f;
  }
  float o[R][kVec];
#pragma unroll
  for (int r = 0; r < R; r++)
#pragma unroll
    for (int i = 0; i < kVec; i++) o[r][i] = 0.f;

  const size_t tokenStride = (size_t)p.numKvHeads * D;
  const int* bt = p.blockTable + (size_t)seq * p.maxBlocksPerSeq;
  const int bmask = p.blockSize - 1;
  __syncthreads();

  for (int t0 = segStart; t0 < segEnd; t0 += TK) {
    // Phase 1: loads, partial dots, reduce-scatter, masked scores to shared memory.
    uint4 kr[kUnroll], vr[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int key = t0 + (w * kUnroll + u) * TPW + ts;
      if (key < segEnd) {
        const size_t slot = (size_t)bt[key >> p.blockShift] * p.blockSize + (key & bmask);
        const size_t off = slot * tokenStride + (size_t)kvh * D + c * kVec;
        kr[u] = *reinterpret_cast<const uint4*>(p.keyCache + off);
        vr[u] = *reinterpret_cast<const uint4*>(p.valueCache + off);
      } else {
        kr[u] = make_uint4(0, 0, 0, 0);
        vr[u] = make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int k = (w * kUnroll + u) * TPW + ts;
      const int key = t0 + k;
      float kf[kVec];
      sk_unpack8<T>(kr[u], kf);
      float part[R];
#pragma unroll
      for (int r = 0; r < R; r++) {
        float acc = 0.f;
#pragma unroll
        for (int i = 0; i < kVec; i++) acc = fmaf(q[r][i], kf[i], acc);
        part[r] = acc;
      }
      // Reduce-scatter: at each step a lane keeps half of its rows and receives its partner's sums.
#pragma unroll
      for (int mask = 1, n = R; n > 1; mask <<= 1, n >>= 1) {
        const bool upper = (c & mask) != 0;
#pragma unroll
        for (int i = 0; i < n / 2; i++) {
          const float send = upper ? part[i] : part[i + n / 2];
          const float keep = upper ? part[i + n / 2] : part[i];
          part[i] = keep + sk_shfl_xor(send, mask);
        }
      }
#pragma unroll
      for (int mask = R; mask < LPT; mask <<= 1) part[0] += sk_shfl_xor(part[0], mask);
      float s = part[0];
      if (p.softcap > 0.f) s = p.softcap * tanhf(s / p.softcap) * sinkrt::kLog2e;
      const bool visible = key < segEnd && key <= myPos && (p.window == 0 || key > myPos - p.window);
      if (writer) sS[myRow][k] = visible ? s : -INFINITY;
    }
    __syncthreads();
    // Phase 2: online softmax, one wave per row.
    for (int r = w; r < R; r += NW) {
      float mx = -INFINITY;
      for (int k = lane; k < TK; k += WAVE) mx = fmaxf(mx, sS[r][k]);
#pragma unroll
      for (int mask = WAVE / 2; mask >= 1; mask >>= 1) mx = fmaxf(mx, sk_shfl_xor(mx, mask));
      const float mOld = sM[r];
      const float mNew = fmaxf(mOld, mx);
      const float mUse = mNew == -INFINITY ? 0.f : mNew;
      float sum = 0.f;
      for (int k = lane; k < TK; k += WAVE) {
        const float e = exp2f(sS[r][k] - mUse);
        sS[r][k] = e;
        sum += e;
      }
#pragma unroll
      for (int mask = WAVE / 2; mask >= 1; mask >>= 1) sum += sk_shfl_xor(sum, mask);
      if (lane == 0) {
        const float alpha = exp2f(mOld - mUse);
        sA[r] = alpha;
        sL[r] = sL[r] * alpha + sum;
        sM[r] = mNew;
      }
    }
    __syncthreads();
    // Phase 3: rescale and accumulate P V.
#pragma unroll
    for (int r = 0; r < R; r++) {
      const float a = sA[r];
#pragma unroll
      for (int i = 0; i < kVec; i++) o[r][i] *= a;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int k = (w * kUnroll + u) * TPW + ts;
      float vf[kVec];
      sk_unpack8<T>(vr[u], vf);
#pragma unroll
      for (int r = 0; r < R; r++) {
        const float pr = sS[r][k];
#pragma unroll
        for (int i = 0; i < kVec; i++) o[r][i] = fmaf(pr, vf[i], o[r][i]);
      }
    }
    __syncthreads();
  }

  // Reduce O across the tokens of a wave, then across waves.
#pragma unroll
  for (int mask = LPT; mask < WAVE; mask <<= 1)
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
      for (int i = 0; i < kVec; i++) o[r][i] += sk_shfl_xor(o[r][i], mask);
  if (ts == 0) {
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
      for (int i = 0; i < kVec; i++) sO[w][r][c * kVec + i] = o[r][i];
  }
  __syncthreads();
  const size_t item = ((size_t)blockIdx.z * gridDim.y + blockIdx.y) * p.numChunks + chunk;
  for (int e = tid; e < rr.rowsHere * D; e += kThreads) {
    const int r = e / D, d = e % D;
    float acc = 0.f;
#pragma unroll
    for (int ww = 0; ww < NW; ww++) acc += sO[ww][r][d];
    if (p.numSegments == 1) {
      const int row = rr.rowBase + r, t = row / p.G, h = kvh * p.G + row % p.G;
      const float sink2 = p.sinks ? p.sinks[h] * sinkrt::kLog2e : -INFINITY;
      const size_t outRow = (size_t)(rr.qStart + t) * Hq + h;
      float* lseOut = (d == 0 && p.lse) ? p.lse + outRow : nullptr;
      p.output[outRow * D + d] = finish_row(acc, sM[r], sL[r], sink2, lseOut);
    } else {
      const size_t base = (item * p.numSegments + seg) * R + r;
      p.partialO[base * D + d] = acc;
      if (d == 0) {
        p.partialML[base * 2] = sM[r];
        p.partialML[base * 2 + 1] = sL[r];
      }
    }
  }
}

int rows_per_block(const sinkrt_paged_args* a) {
  const int G = a->numQueryHeads / a->numKvHeads;
  const int want = G * (a->maxQueryLen > 0 ? a->maxQueryLen : 1);
  int R = 1;
  while (R < want && R < 8) R <<= 1;
  return R;
}

// SIMT plan: about 4 blocks per compute unit, segments of at least kMinSegment keys.
int make_plan(const sinkrt_paged_args* a, PagedPlan* pl) {
  if (a->kernel == SINKRT_KERNEL_MMA) return paged_decode_mma_plan(a, pl);
  const int G = a->numQueryHeads / a->numKvHeads;
  pl->R = rows_per_block(a);
  pl->numChunks = (G * (a->maxQueryLen > 0 ? a->maxQueryLen : 1) + pl->R - 1) / pl->R;
  const long items = (long)a->numSeqs * a->numKvHeads * pl->numChunks;
  const long target = 4L * (a->computeUnits > 0 ? a->computeUnits : 1);
  split_segments(a, items, (int)((target + items - 1) / items), kMinSegment, tile_keys(a->headSize), pl);
  return 0;
}

template <class T, int D, int R>
int launch(const sinkrt_paged_args* a, const PagedPlan& pl, PagedParams& p) {
  hipStream_t stream = (hipStream_t)a->stream;
  dim3 grid(pl.numChunks * pl.numSegments, a->numKvHeads, a->numSeqs);
  hipLaunchKernelGGL((paged_attention_kernel<T, D, R>), grid, dim3(kThreads), 0, stream, p);
  SK_CHECK_LAUNCH("paged_attention");
  if (pl.numSegments > 1) {
    dim3 rgrid(pl.numChunks * pl.R, a->numKvHeads, a->numSeqs);
    hipLaunchKernelGGL((paged_attention_reduce_kernel<D, R>), rgrid, dim3(kThreads), 0, stream, p);
    SK_CHECK_LAUNCH("paged_attention_reduce");
  }
  return 0;
}

template <class T, int D>
int dispatch_rows(const sinkrt_paged_args* a, const PagedPlan& pl, PagedParams& p) {
  switch (pl.R) {
    case 1: return launch<T, D, 1>(a, pl, p);
    case 2: return launch<T, D, 2>(a, pl, p);
    case 4: return launch<T, D, 4>(a, pl, p);
    default: return launch<T, D, 8>(a, pl, p);
  }
}

template <class T>
int dispatch_head(const sinkrt_paged_args* a, const PagedPlan& pl, PagedParams& p) {
  switch (a->headSize) {
    case 64: return dispatch_rows<T, 64>(a, pl, p);
    case 128: return dispatch_rows<T, 128>(a, pl, p);
    case 256: return dispatch_rows<T, 256>(a, pl, p);
  }
  return sinkrt::fail("paged_attention", "headSize must be 64, 128 or 256", __FILE__, __LINE__);
}


}  // namespace

extern "C" size_t sinkrt_paged_attention_workspace(const sinkrt_paged_args* a) {
  if (a->numSeqs <= 0 || a->numKvHeads <= 0) return 0;
  PagedPlan pl;
  if (make_plan(a, &pl) != 0) return 0;
  return workspace_bytes(a, pl);
}

extern "C" int sinkrt_paged_attention_segments(const sinkrt_paged_args* a) {
  PagedPlan pl;
  return make_plan(a, &pl) == 0 ? pl.numSegments : -1;
}

extern "C" int sinkrt_paged_attention(const sinkrt_paged_args* a) {
  if (a->numSeqs <= 0) return 0;
  SK_REQUIRE(a->numKvHeads > 0 && a->numQueryHeads % a->numKvHeads == 0, "numQueryHeads must be a multiple of numKvHeads");
  SK_REQUIRE(a->blockSize > 0 && (a->blockSize & (a->blockSize - 1)) == 0, "blockSize must be a power of two");
  SK_REQUIRE(a->numSeqs <= 65535 && a->numKvHeads <= 65535, "numSeqs and numKvHeads must be <= 65535");
  SK_REQUIRE(a->kernel == SINKRT_KERNEL_SIMT || a->kernel == SINKRT_KERNEL_MMA, "kernel must be SINKRT_KERNEL_SIMT or SINKRT_KERNEL_MMA");
  PagedPlan pl;
  if (make_plan(a, &pl) != 0) return 1;
  const size_t need = workspace_bytes(a, pl);
  SK_REQUIRE(need <= a->workspaceBytes, "workspace smaller than sinkrt_paged_attention_workspace()");
  PagedParams p;
  p.query = (const sk_u16*)a->query;
  p.keyCache = (const sk_u16*)a->keyCache;
  p.valueCache = (const sk_u16*)a->valueCache;
  p.output = a->output;
  p.lse = a->lse;
  p.sinks = a->sinks;
  p.queryStartLoc = a->queryStartLoc;
  p.seqLens = a->seqLens;
  p.blockTable = a->blockTable;
  p.maxBlocksPerSeq = a->maxBlocksPerSeq;
  p.seqBegin = a->seqBegin;
  p.numQueryHeads = a->numQueryHeads;
  p.numKvHeads = a->numKvHeads;
  p.G = a->numQueryHeads / a->numKvHeads;
  p.blockSize = a->blockSize;
  p.blockShift = 0;
  while ((1 << p.blockShift) < a->blockSize) p.blockShift++;
  p.numChunks = pl.numChunks;
  p.numSegments = pl.numSegments;
  p.segLen = pl.segLen;
  p.scale = a->scale;
  p.softcap = a->softcap;
  p.window = a->slidingWindow;
  const size_t partialO = need ? (size_t)a->numSeqs * a->numKvHeads * pl.numChunks * pl.numSegments * pl.R * a->headSize : 0;
  p.partialO = (float*)a->workspace;
  p.partialML = need ? (float*)a->workspace + partialO : nullptr;
  if (a->kernel == SINKRT_KERNEL_MMA) return paged_decode_mma_launch(a, pl, p);
  if (a->dtype == SINKRT_F16) return dispatch_head<sk_f16>(a, pl, p);
  if (a->dtype == SINKRT_BF16) return dispatch_head<sk_bf16>(a, pl, p);
  return sinkrt::fail("paged_attention", "dtype must be f16 or bf16", __FILE__, __LINE__);
}
