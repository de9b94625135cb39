// prefill on Hopper's warpgroup matrix units (wgmma, sm_90a only), head size 64. Included by
// prefill.hip inside its anonymous namespace, after PrefillParams; the host code there picks it on an
// sm_90 device and keeps the mma.sync/MFMA kernel for everything else (AMD never sees this file's body).
//
// Why: the mma.sync kernel feeds 2 m16n8k16 per 512-byte ldmatrix.x4, so on an H100 SM it is bound by
// shared-memory bandwidth and tops out near 200 TFLOP/s. wgmma reads B once per warpgroup (64 rows)
// straight from shared memory through a descriptor, with A (Q, then P) in registers.
//
// Tiling: a block of NWG warpgroups (128 threads each) owns BM = 64 * NWG query rows of one head of one
// sequence; warpgroup g owns rows q0 + 64g .. +63, its warp w rows +16w (the wgmma fragment layouts).
// Configurations (see prefill.hip): KT = 64 with two warpgroups (the default: BM = 128 halves the K/V
// traffic per flop; 111 registers, 2 blocks = 4 warpgroups per SM), KT = 64 with one, and KT = 128 with
// one (151 registers, 3 per SM). Q fragments are read from shared memory again for every tile (4
// ldmatrix.x4): with them loaded once, inside the loop on its first tile, ptxas kept the KT = 64 builds
// at 109 registers and the scores of every later tile came out wrong on the H100 (the Q registers did
// not survive the loop); bench/rocm/NOTES.md, prefill.
// Grid: (query heads, query tiles heaviest first, sequences): the G heads of a KV head and the
// neighbouring tiles run together and read the same K/V through L2; the long causal tiles start first.
// Shared memory (1024-byte aligned): Q [BM rows], then two stages of (K tile, V tile) of KT keys; a row
// (64 dims = 128 bytes) r sits at r * 128 with its 16-byte chunk c at chunk c ^ (r & 7) (the 128-byte
// swizzle wgmma descriptors name; also free of ldmatrix bank conflicts). cp.async fills the next stage
// while the current one is computed.
// Per key tile and warpgroup:
//   S = Q K^T  4 x wgmma m64nKTk16: A = Q fragments (ldmatrix once), B = K tile, K-major (descriptor
//              start + 32 bytes per 16 dims)
//   softmax    the S accumulators hold, per warp, exactly the mma.sync m16n8 layout (lane 4g+t: rows g
//              and g+8, keys 8j+2t, 8j+2t+1 of each 8-key group j). Row max over raw scores, then
//              p = exp2(s*c - m*c): one FFMA and one EX2 per score (c = scale * log2 e; with softcap the
//              scores are transformed first and c = 1). Masks only on tiles that need them.
//   O += P V   KT/16 x wgmma m64n64k16: A = P rounded to the storage dtype in registers (the S
//              accumulators of 16 keys are one A fragment), B = V tile, N-major (transposed; start +
//              2048 bytes per 16 keys)
// The finish (sink once, lse, f32 output) is the mma.sync kernel's.
#pragma once
#if defined(SINKRT_NVIDIA)

namespace wg {

__device__ __forceinline__ uint32_t saddr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// 128-byte swizzle; lbo/sbo in bytes. K-major: sbo = 1024 (8 rows of 128 bytes), lbo unused.
// N-major: sbo = 1024 (8 keys), lbo = the next 64-column panel (unused: N = 64 is one panel).
__device__ __forceinline__ uint64_t desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
         ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

__device__ __forceinline__ void cp16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Keeps the compiler from moving reads or writes of accumulators across an in-flight wgmma.
template <int N>
__device__ __forceinline__ void pin(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}

#define SKW_F4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define SKW_F16(i) SKW_F4(i), SKW_F4(i + 4), SKW_F4(i + 8), SKW_F4(i + 12)
#define SKW_D32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
                "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define SKW_D64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
                "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "  \
                "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "   \
                "%56, %57, %58, %59, %60, %61, %62, %63}"
// d (+)= A B: A in registers (4 x 2 values), B by descriptor; scaleD = 0 overwrites d.
#define SKW_RS(SHAPE, DT, DLIST, AL, DI, SI, TI, ...)                                                  \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" SI ", 0;\n"                                    \
               "wgmma.mma_async.sync.aligned." SHAPE ".f32." DT "." DT " " DLIST ", " AL ", %" DI \
               ", p, 1, 1, %" TI ";\n}\n"                                                           \
               : __VA_ARGS__                                                                       \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD), "n"(TB))

template <class T, int TB>
__device__ __forceinline__ void mma_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t descB, int scaleD) {
  if constexpr (T::kIsBf16)
    SKW_RS("m64n64k16", "bf16", SKW_D32, "{%32, %33, %34, %35}", "36", "37", "38", SKW_F16(0), SKW_F16(16));
  else
    SKW_RS("m64n64k16", "f16", SKW_D32, "{%32, %33, %34, %35}", "36", "37", "38", SKW_F16(0), SKW_F16(16));
}
template <class T, int TB>
__device__ __forceinline__ void mma_n128(float (&d)[64], const uint32_t (&a)[4], uint64_t descB, int scaleD) {
  if constexpr (T::kIsBf16)
    SKW_RS("m64n128k16", "bf16", SKW_D64, "{%64, %65, %66, %67}", "68", "69", "70", SKW_F16(0), SKW_F16(16),
           SKW_F16(32), SKW_F16(48));
  else
    SKW_RS("m64n128k16", "f16", SKW_D64, "{%64, %65, %66, %67}", "68", "69", "70", SKW_F16(0), SKW_F16(16),
           SKW_F16(32), SKW_F16(48));
}
#undef SKW_RS
#undef SKW_D64
#undef SKW_D32
#undef SKW_F16
#undef SKW_F4

template <class T, int N, int TB>
__device__ __forceinline__ void mma(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t descB, int scaleD) {
  if constexpr (N == 64) mma_n64<T, TB>(d, a, descB, scaleD);
  else mma_n128<T, TB>(d, a, descB, scaleD);
}

}  // namespace wg

// Registers: KT = 64 holds S (32), P (16), O (32), Q (16) per thread, so 4 warpgroups fit an SM
// (<= 128 registers); KT = 128 doubles S and P: 3 warpgroups (<= 168).
template <class T, int KT, int NWG>
__global__ void __launch_bounds__(128 * NWG, KT == 64 ? 4 / NWG : (NWG == 1 ? 3 : 1)) prefill_wgmma_kernel(PrefillParams p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int D = 64, NT = 128 * NWG, BM = 64 * NWG, TILE = KT * 128;
  extern __shared__ __align__(16) unsigned char wg_smem[];
  const uint32_t sQ = (wg::saddr(wg_smem) + 1023u) & ~1023u;
  const uint32_t sKV = sQ + BM * 128;  // stage b: K at sKV + 2b TILE, V at sKV + (2b + 1) TILE

  const int tid = threadIdx.x, grp = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
  const int g = lane >> 2, t = lane & 3;
  const int h = blockIdx.x, seq = p.seqBegin + blockIdx.z, kvh = h / p.G;
  const int qStart = p.queryStartLoc[seq], qLen = p.queryStartLoc[seq + 1] - qStart;
  const int q0 = (gridDim.y - 1 - blockIdx.y) * BM;
  if (q0 >= qLen) return;
  const int Hq = p.numQueryHeads, Hkv = p.numKvHeads, W = p.window;
  const int r0 = q0 + grp * 64, w0 = r0 + warp * 16;  // first row of this warpgroup, of this warp

  for (int idx = tid; idx < BM * 8; idx += NT) {
    const int r = idx >> 3, c = idx & 7;
    const bool valid = q0 + r < qLen;
    const sk_u16* src = p.query + (valid ? ((size_t)(qStart + q0 + r) * Hq + h) * D + c * 8 : 0);
    wg::cp16(sQ + r * 128 + ((c ^ (r & 7)) << 4), src, valid);
  }
  auto load_tile = [&](int kt, int b) {
    const uint32_t sK = sKV + 2 * b * TILE, sV = sK + TILE;
#pragma unroll
    for (int it = 0; it < KT * 8 / NT; it++) {
      const int idx = tid + it * NT, r = idx >> 3, c = idx & 7;
      const bool valid = kt + r < qLen;
      const size_t off = valid ? ((size_t)(qStart + kt + r) * Hkv + kvh) * D + c * 8 : 0;
      const uint32_t dst = r * 128 + ((c ^ (r & 7)) << 4);
      wg::cp16(sK + dst, p.key + off, valid);
      wg::cp16(sV + dst, p.value + off, valid);
    }
    sk_copy_commit();
  };

  float o[32], m[2], l[2];
#pragma unroll
  for (int i = 0; i < 32; i++) o[i] = 0.f;
  m[0] = m[1] = -INFINITY;
  l[0] = l[1] = 0.f;
  // Scores are used raw (max, then one FFMA into exp2) when c > 0; a softcap (or a scale <= 0, where the
  // max would not commute) transforms them first and uses c = 1.
  const float c0 = p.scale * sinkrt::kLog2e;
  const bool transform = p.softcap > 0.f || !(c0 > 0.f);
  const float c = transform ? 1.f : c0;

  const int hi = min(qLen, q0 + BM);
  int lo = W > 0 ? max(0, q0 - W + 1) : 0;
  lo = lo / KT * KT;
  load_tile(lo, 0);  // one group with Q
  for (int kt = lo, buf = 0; kt < hi; kt += KT, buf ^= 1) {
    if (kt + KT < hi) {
      load_tile(kt + KT, buf ^ 1);
      sk_copy_wait<1>();
    } else {
      sk_copy_wait<0>();
    }
    // cp.async writes are generic-proxy; wgmma reads through the async proxy.
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
    const uint32_t sK = sKV + 2 * buf * TILE, sV = sK + TILE;
    // Uniform over the warpgroup (wgmma is warpgroup-wide): some row of it sees some key of the tile.
    const bool active = kt <= r0 + 63 && r0 < qLen && (W == 0 || kt + KT - 1 > r0 - W);
    if (active) {
      uint32_t qa[4][4];
#pragma unroll
      for (int kc = 0; kc < 4; kc++) {
        const int row = grp * 64 + warp * 16 + (lane & 15), ch = kc * 2 + (lane >> 4);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(qa[kc][0]), "=r"(qa[kc][1]), "=r"(qa[kc][2]), "=r"(qa[kc][3])
                     : "r"(sQ + row * 128 + ((ch ^ (row & 7)) << 4)));
      }
      float s[KT / 2];
      wg::fence();
#pragma unroll
      for (int kc = 0; kc < 4; kc++) wg::mma<T, KT, 0>(s, qa[kc], wg::desc(sK + kc * 32, 16, 1024), kc);
      wg::commit();
      wg::wait<0>();
      wg::pin(s);
      if (transform) {
#pragma unroll
        for (int i = 0; i < KT / 2; i++) {
          float x = s[i] * p.scale;
          s[i] = p.softcap > 0.f ? p.softcap * tanhf(x / p.softcap) * sinkrt::kLog2e : x * sinkrt::kLog2e;
        }
      }
      const bool needMask = kt + KT - 1 > w0 || kt + KT > qLen || (W > 0 && kt <= w0 + 15 - W);
      if (needMask) {
#pragma unroll
        for (int i = 0; i < KT / 2; i++) {
          const int key = kt + (i >> 2) * 8 + 2 * t + (i & 1), qp = w0 + g + 8 * ((i >> 1) & 1);
          if (key > qp || key >= qLen || (W > 0 && key <= qp - W)) s[i] = -INFINITY;
        }
      }
      float mUse[2];
#pragma unroll
      for (int sl = 0; sl < 2; sl++) {
        float mx = -INFINITY;
#pragma unroll
        for (int i = 0; i < KT / 2; i++)
          if (((i >> 1) & 1) == sl) mx = fmaxf(mx, s[i]);
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mNew = fmaxf(m[sl], mx);
        mUse[sl] = mNew == -INFINITY ? 0.f : mNew * c;
        const float alpha = exp2f(m[sl] * c - mUse[sl]);
        m[sl] = mNew;
        l[sl] *= alpha;
#pragma unroll
        for (int i = 0; i < 32; i++)
          if (((i >> 1) & 1) == sl) o[i] *= alpha;
      }
      uint32_t pa[KT / 16][4];
#pragma unroll
      for (int i = 0; i < KT / 2; i++) {
        const int sl = (i >> 1) & 1;
        s[i] = exp2f(fmaf(s[i], c, -mUse[sl]));
        l[sl] += s[i];
      }
#pragma unroll
      for (int k = 0; k < KT / 16; k++)
#pragma unroll
        for (int j = 0; j < 4; j++) pa[k][j] = skmma::pack2<T>(s[8 * k + 2 * j], s[8 * k + 2 * j + 1]);
      wg::pin(o);
      wg::fence();
#pragma unroll
      for (int k = 0; k < KT / 16; k++) wg::mma<T, 64, 1>(o, pa[k], wg::desc(sV + k * 2048, TILE, 1024), 1);
      wg::commit();
      wg::wait<0>();
      wg::pin(o);
    }
    __syncthreads();
  }

  const float sink2 = p.sinks ? p.sinks[h] * sinkrt::kLog2e : -INFINITY;
#pragma unroll
  for (int sl = 0; sl < 2; sl++) {
    float lt = l[sl];
    lt += __shfl_xor_sync(0xffffffffu, lt, 1);
    lt += __shfl_xor_sync(0xffffffffu, lt, 2);
    const float mr = m[sl] * c;  // log2 domain
    const float M = fmaxf(mr, sink2);
    float f = 0.f, lseV = -INFINITY;
    if (M != -INFINITY) {
      const float L = lt * exp2f(mr - M) + exp2f(sink2 - M);
      f = exp2f(mr - M) / L;
      lseV = (M + log2f(L)) * sinkrt::kLn2;
    }
    const int qp = w0 + g + 8 * sl;
    if (qp < qLen) {
      const size_t row = (size_t)(qStart + qp) * Hq + h;
      if (p.lse && t == 0) p.lse[row] = lseV;
#pragma unroll
      for (int j = 0; j < 8; j++)
        *reinterpret_cast<float2*>(p.output + row * D + 8 * j + 2 * t) = make_float2(o[4 * j + 2 * sl] * f, o[4 * j + 2 * sl + 1] * f);
    }
  }
#endif
}

#endif  // SINKRT_NVIDIA
