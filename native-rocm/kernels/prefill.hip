// prefill: varlen flash attention with sinks over contiguous Q/K/V (no cached context), on the
// matrix units through mma_compat.h (mma.sync on NVIDIA, MFMA on CDNA). On sm_90 (Hopper) head size 64
// runs the wgmma kernel of prefill_wgmma.h instead (its own tiling comment there); what follows
// describes the portable kernel, which every other case uses.
//
// Grid: (query tiles, query heads, sequences); a block of 128 threads owns BM = 16 * MT * waves query
// rows (64 on NVIDIA, 32 on CDNA with MT = 1) of one head of one sequence; each wave owns MT tiles of
// 16 rows, which share every K/V fragment it loads from shared memory. Shared memory holds
// the Q tile and one K tile and one V tile of KT keys (64, or 32 for head size 256), rows padded by
// 8 values (16 bytes) so ldmatrix row addresses fall in distinct banks.
// Per key tile: S = Q K^T on the matrix units (f32), scale (+ softcap) and log2 e, mask only on tiles
// that cross the causal diagonal, the window edge or the end of the sequence, online softmax per row
// (running max m and per-lane partial sum l), O = O * alpha + P V with P rounded to the storage dtype.
// Keys visited: [max(0, q0 - W + 1), min(qLen, q0 + BM)); a wave skips tiles wholly after its rows.
// Finish: L = l 2^(m-M) + 2^(sink-M), M = max(m, sink): the sink enters once, at the end.
// Where SINKRT_HAS_MMA is 0 (RDNA2 and older) the kernel body is empty and the host refuses to
// launch it; the backend declares prefill only when the device reports matrix units.
#include <math.h>

#include "common.h"
#include "../mma_compat.h"

namespace {

constexpr int kThreads = 128;

struct PrefillParams {
  const sk_u16* query;
  const sk_u16* key;
  const sk_u16* value;
  float* output;
  float* lse;
  const float* sinks;
  const int* queryStartLoc;
  int seqBegin, numQueryHeads, numKvHeads, G;
  float scale, softcap;
  int window;
};

__host__ __device__ constexpr int key_tile(int D) { return D <= 128 ? 64 : 32; }
__host__ __device__ constexpr int row_pad(int D) { return D + 8; }

#include "prefill_wgmma.h"

template <class T, int D, int MT>
__global__ void __launch_bounds__(kThreads) prefill_kernel(PrefillParams p) {
#if SINKRT_HAS_MMA
  using namespace skmma;
  constexpr int WAVE = SINKRT_WAVE;
  constexpr int NW = kThreads / WAVE;
  constexpr int WR = 16 * MT;  // rows per wave
  constexpr int BM = NW * WR;
  constexpr int KT = key_tile(D);
  constexpr int LD = row_pad(D);
  constexpr int VPR = D / 8;  // 16-byte vectors per row
  extern __shared__ __align__(16) sk_u16 smem[];
  sk_u16* Qs = smem;
  sk_u16* Ks = Qs + BM * LD;  // two buffers of [K tile, V tile]

  const int tid = threadIdx.x, w = tid / WAVE;
  const int seq = p.seqBegin + blockIdx.z, h = blockIdx.y, kvh = h / p.G;
  const int qStart = p.queryStartLoc[seq], qLen = p.queryStartLoc[seq + 1] - qStart;
  const int q0 = blockIdx.x * BM;
  if (q0 >= qLen) return;
  const int Hq = p.numQueryHeads, Hkv = p.numKvHeads;

  for (int idx = tid; idx < BM * VPR; idx += kThreads) {
    const int r = idx / VPR, cc = idx % VPR;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (q0 + r < qLen) v = *reinterpret_cast<const uint4*>(p.query + ((size_t)(qStart + q0 + r) * Hq + h) * D + cc * 8);
    *reinterpret_cast<uint4*>(Qs + r * LD + cc * 8) = v;
  }
  __syncthreads();
  const int w0 = q0 + w * WR;  // first row of this wave
  QFrag qf[MT][D / 16];
  int qpos[MT][kSlots];
  float m[MT][kSlots], l[MT][kSlots];
  float o[MT][D / 16][kOElems];
#pragma unroll
  for (int t = 0; t < MT; t++) {
#pragma unroll
    for (int kc = 0; kc < D / 16; kc++) load_q(qf[t][kc], Qs + (w * WR + t * 16) * LD, LD, kc * 16);
#pragma unroll
    for (int sl = 0; sl < kSlots; sl++) {
      qpos[t][sl] = w0 + t * 16 + slot_query(sl);
      m[t][sl] = -INFINITY;
      l[t][sl] = 0.f;
    }
#pragma unroll
    for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
      for (int i = 0; i < kOElems; i++) o[t][dc][i] = 0.f;
  }
  const float sMul = p.softcap > 0.f ? p.scale : p.scale * sinkrt::kLog2e;

  const int hi = min(qLen, q0 + BM);
  int lo = p.window > 0 ? max(0, q0 - p.window + 1) : 0;
  lo = lo / KT * KT;
  // K/V tiles are double-buffered: tile i+1 is copied (asynchronously where cp.async exists) while
  // tile i is computed.
  auto load_tile = [&](int kt, int b) {
    sk_u16* Kb = Ks + b * 2 * KT * LD;
    sk_u16* Vb = Kb + KT * LD;
    for (int idx = tid; idx < KT * VPR; idx += kThreads) {
      const int r = idx / VPR, cc = idx % VPR;
      const bool valid = kt + r < qLen;
      const size_t off = valid ? ((size_t)(qStart + kt + r) * Hkv + kvh) * D + cc * 8 : 0;
      sk_copy16_async(Kb + r * LD + cc * 8, p.key + off, valid);
      sk_copy16_async(Vb + r * LD + cc * 8, p.value + off, valid);
    }
    sk_copy_commit();
  };
  if (lo < hi) load_tile(lo, 0);
  for (int kt = lo, buf = 0; kt < hi; kt += KT, buf ^= 1) {
    if (kt + KT < hi) {
      load_tile(kt + KT, buf ^ 1);
      sk_copy_wait<1>();
    } else {
      sk_copy_wait<0>();
    }
    __syncthreads();
    const sk_u16* Kt = Ks + buf * 2 * KT * LD;
    const sk_u16* Vt = Kt + KT * LD;
    const bool waveActive = kt <= w0 + WR - 1 && w0 < qLen && (p.window == 0 || kt + KT - 1 > w0 - p.window);
    if (waveActive) {
      float s[KT / 16][MT][kSElems];
#pragma unroll
      for (int j = 0; j < KT / 16; j++) qk_m<T, D, MT>(s[j], qf, Kt, LD, j * 16);
      const bool needMask = kt + KT - 1 > w0 || kt + KT > qLen || (p.window > 0 && kt <= w0 + WR - 1 - p.window);
#pragma unroll
      for (int j = 0; j < KT / 16; j++)
#pragma unroll
        for (int t = 0; t < MT; t++)
#pragma unroll
          for (int i = 0; i < kSElems; i++) {
            float x = s[j][t][i] * sMul;
            if (p.softcap > 0.f) x = p.softcap * tanhf(x / p.softcap) * sinkrt::kLog2e;
            if (needMask) {
              const int key = kt + j * 16 + s_key(i), qp = qpos[t][s_slot(i)];
              if (key > qp || key >= qLen || (p.window > 0 && key <= qp - p.window)) x = -INFINITY;
            }
            s[j][t][i] = x;
          }
      float mUse[MT][kSlots];
#pragma unroll
      for (int t = 0; t < MT; t++)
#pragma unroll
        for (int sl = 0; sl < kSlots; sl++) {
          float mx = -INFINITY;
#pragma unroll
          for (int j = 0; j < KT / 16; j++)
#pragma unroll
            for (int i = 0; i < kSElems; i++)
              if (s_slot(i) == sl) mx = fmaxf(mx, s[j][t][i]);
          mx = slot_max(mx);
          const float mNew = fmaxf(m[t][sl], mx);
          mUse[t][sl] = mNew == -INFINITY ? 0.f : mNew;
          const float alpha = exp2f(m[t][sl] - mUse[t][sl]);
          m[t][sl] = mNew;
          l[t][sl] *= alpha;
#pragma unroll
          for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
            for (int i = 0; i < kOElems; i++)
              if (o_slot(i) == sl) o[t][dc][i] *= alpha;
        }
#pragma unroll
      for (int j = 0; j < KT / 16; j++) {
#pragma unroll
        for (int t = 0; t < MT; t++)
#pragma unroll
          for (int i = 0; i < kSElems; i++) {
            const float e = exp2f(s[j][t][i] - mUse[t][s_slot(i)]);
            s[j][t][i] = e;
            l[t][s_slot(i)] += e;
          }
        pv_m<T, D, MT>(o, s[j], Vt, LD, j * 16);
      }
    }
    __syncthreads();
  }

  const float sink2 = p.sinks ? p.sinks[h] * sinkrt::kLog2e : -INFINITY;
#pragma unroll
  for (int t = 0; t < MT; t++) {
    float f[kSlots], invL[kSlots];
#pragma unroll
    for (int sl = 0; sl < kSlots; sl++) {
      const float lt = slot_sum(l[t][sl]);
      const float M = fmaxf(m[t][sl], sink2);
      float lseV;
      if (M == -INFINITY) {
        f[sl] = 0.f;
        invL[sl] = 0.f;
        lseV = -INFINITY;
      } else {
        f[sl] = exp2f(m[t][sl] - M);
        const float L = lt * f[sl] + exp2f(sink2 - M);
        invL[sl] = 1.f / L;
        lseV = (M + log2f(L)) * sinkrt::kLn2;
      }
      if (p.lse && qpos[t][sl] < qLen && slot_writer()) p.lse[(size_t)(qStart + qpos[t][sl]) * Hq + h] = lseV;
    }
#pragma unroll
    for (int dc = 0; dc < D / 16; dc++)
#pragma unroll
      for (int i = 0; i < kOElems; i++) {
        const int sl = o_slot(i);
        if (qpos[t][sl] < qLen) p.output[((size_t)(qStart + qpos[t][sl]) * Hq + h) * D + dc * 16 + o_dim(i)] = o[t][dc][i] * f[sl] * invL[sl];
      }
  }
#endif
}

// Row tiles per wave for the mma.sync/MFMA kernel: rowTiles = 2 (head size 64 only) makes each K/V
// fragment feed two 16-row tiles; on the H100 it measured slower (254 registers, 2 blocks per SM: 86-204
// vs 104-203 TFLOP/s, bench/results/rocm-h100-20261124-v3.json), so it is opt-in. For 128/256 it would
// spill. Function attributes are set once per kernel instantiation and device (`done`, a static of the
// caller; a call per launch costs host time that shows at small shapes).
template <class K>
int set_smem_once(K kernel, size_t smem, int (&done)[32]) {
  int dev = 0;
#if defined(SINKRT_NVIDIA)
  SK_CHECK(cudaGetDevice(&dev));
#else
  SK_CHECK(hipGetDevice(&dev));
#endif
  if (dev >= 0 && dev < 32 && done[dev]) return 0;  // a benign race sets the same attribute twice
  SK_CHECK(hipFuncSetAttribute((const void*)kernel, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  if (dev >= 0 && dev < 32) done[dev] = 1;
  return 0;
}

template <class T, int D, int MT>
int launch(const sinkrt_prefill_args* a, const PrefillParams& p) {
  const int wave = a->waveSize > 0 ? a->waveSize : 32;
  const int BM = (kThreads / wave) * 16 * MT;
  const size_t smem = (size_t)(BM + 4 * key_tile(D)) * row_pad(D) * sizeof(sk_u16);
  static int done[32];
  if (int e = set_smem_once(prefill_kernel<T, D, MT>, smem, done)) return e;
  dim3 grid((a->maxQueryLen + BM - 1) / BM, a->numQueryHeads, a->numSeqs);
  hipLaunchKernelGGL((prefill_kernel<T, D, MT>), grid, dim3(kThreads), smem, (hipStream_t)a->stream, p);
  SK_CHECK_LAUNCH("prefill");
  return 0;
}

#if defined(SINKRT_NVIDIA)
// sm_90 (Hopper) runs the wgmma kernel; asked once per device.
bool device_has_wgmma() {
  static int cache[32];  // 0 unknown, 1 yes, 2 no
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 32) return false;
  if (!cache[dev]) {
    int major = 0;
    cache[dev] = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess && major == 9 ? 1 : 2;
  }
  return cache[dev] == 1;
}

template <class T, int KT, int NWG>
int launch_wgmma(const sinkrt_prefill_args* a, const PrefillParams& p) {
  const int BM = 64 * NWG;
  const size_t smem = 1024 + (size_t)(BM + 4 * KT) * 128;  // + 1024: the kernel aligns the base up
  static int done[32];
  if (int e = set_smem_once(prefill_wgmma_kernel<T, KT, NWG>, smem, done)) return e;
  dim3 grid(a->numQueryHeads, (a->maxQueryLen + BM - 1) / BM, a->numSeqs);
  hipLaunchKernelGGL((prefill_wgmma_kernel<T, KT, NWG>), grid, dim3(128 * NWG), smem, (hipStream_t)a->stream, p);
  SK_CHECK_LAUNCH("prefill (wgmma)");
  return 0;
}
#endif

// rowTiles: 0 = default (wgmma on sm_90 for head size 64, else one 16-row tile per wave); 1 = one
// 16-row tile per wave (the mma.sync kernel even on sm_90: the bench's baseline); 2 = two tiles; for
// the bench on sm_90: 3 = wgmma with 64-key tiles and two warpgroups (the default there), 4 = 128-key
// tiles and one warpgroup, 5 = 64-key tiles and one warpgroup. The default was chosen on the H100
// (bench/results/rocm-prefill-h100-20261124-s2.json): 3 was fastest on 6 of the 7 bench shapes
// (1.16-2.0x SDPA), 4 ranged 1.0-1.9x, 5 0.95-1.9x.
template <class T>
int dispatch(const sinkrt_prefill_args* a, const PrefillParams& p) {
  switch (a->headSize) {
    case 64:
#if defined(SINKRT_NVIDIA)
      if ((a->rowTiles == 0 || a->rowTiles >= 3) && device_has_wgmma() && (a->maxQueryLen + 63) / 64 <= 65535) {
        if (a->rowTiles == 4) return launch_wgmma<T, 128, 1>(a, p);
        if (a->rowTiles == 5) return launch_wgmma<T, 64, 1>(a, p);
        return launch_wgmma<T, 64, 2>(a, p);
      }
#endif
      if (a->rowTiles >= 3) return sinkrt::fail("prefill", "rowTiles 3..5 need wgmma (sm_90)", __FILE__, __LINE__);
      return a->rowTiles == 2 ? launch<T, 64, 2>(a, p) : launch<T, 64, 1>(a, p);
    case 128: return launch<T, 128, 1>(a, p);
    case 256: return launch<T, 256, 1>(a, p);
  }
  return sinkrt::fail("prefill", "headSize must be 64, 128 or 256", __FILE__, __LINE__);
}

}  // namespace

extern "C" int sinkrt_prefill(const sinkrt_prefill_args* a) {
  if (a->numSeqs <= 0 || a->maxQueryLen <= 0) return 0;
  SK_REQUIRE(a->numKvHeads > 0 && a->numQueryHeads % a->numKvHeads == 0, "numQueryHeads must be a multiple of numKvHeads");
  SK_REQUIRE(a->numQueryHeads <= 65535 && a->numSeqs <= 65535, "numQueryHeads and numSeqs must be <= 65535");
  SK_REQUIRE(a->rowTiles >= 0 && a->rowTiles <= 5, "rowTiles must be 0..5");
  PrefillParams p;
  p.query = (const sk_u16*)a->query;
  p.key = (const sk_u16*)a->key;
  p.value = (const sk_u16*)a->value;
  p.output = a->output;
  p.lse = a->lse;
  p.sinks = a->sinks;
  p.queryStartLoc = a->queryStartLoc;
  p.seqBegin = a->seqBegin;
  p.numQueryHeads = a->numQueryHeads;
  p.numKvHeads = a->numKvHeads;
  p.G = a->numQueryHeads / a->numKvHeads;
  p.scale = a->scale;
  p.softcap = a->softcap;
  p.window = a->slidingWindow;
  if (a->dtype == SINKRT_F16) return dispatch<sk_f16>(a, p);
  if (a->dtype == SINKRT_BF16) return dispatch<sk_bf16>(a, p);
  return sinkrt::fail("prefill", "dtype must be f16 or bf16", __FILE__, __LINE__);
}
