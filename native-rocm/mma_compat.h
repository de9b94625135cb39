// Matrix units behind one interface (the second half of the portability header).
//
// A wave owns 16 query rows. The kernel asks for two things per 16-key step:
//   qk(s, q, K)   s = Q K^T          16 queries x 16 keys, f32 accumulate
//   pv(o, p, V)   o += P V           16 queries x D dims,  P rounded to the storage dtype
// and reads its lane's elements of s and o through s_query/s_key/o_query/o_dim. Row statistics
// (max, sum) are per "slot": the query rows a lane holds elements of (2 on NVIDIA, 1 on AMD), and
// slot_max/slot_sum combine them across the lanes that share a row.
//
// NVIDIA (sm_80+, warp 32): mma.sync m16n8k16, S = Q K^T with Q as A (ldmatrix.x4 from shared),
//   K as col-major B (ldmatrix.x4), V as B via ldmatrix.x4.trans. The S accumulators of two n8 tiles
//   are exactly the A fragment of P for the P V product, so P never leaves registers.
//   Lane l = 4g + t holds rows g and g+8 (slots 0, 1), columns 2t, 2t+1 of each n8 tile.
// AMD CDNA (gfx90a/gfx94x, wave 64): v_mfma_f32_16x16x16{f16,bf16_1k} on the transposed problem,
//   S^T = K Q^T and O^T = V^T P^T, so the S^T accumulators (key 4*(l/16)+i, query l%16) are exactly
//   the B operand P^T of the second product. Lane l holds query l%16 (one slot).
// Elsewhere (RDNA2, older NVIDIA) SINKRT_HAS_MMA is 0 and the prefill kernel is not built; the
// backend then routes prefill to unified attention (declared at start-up, never at launch).
#pragma once
#include "hip_compat.h"

namespace skmma {

#if (defined(__CUDACC__) || defined(__HIPCC__)) && SINKRT_HAS_MMA

#if defined(SINKRT_NVIDIA)
constexpr int kSElems = 8;  // per lane, per 16x16 S tile
constexpr int kOElems = 8;  // per lane, per 16 dims of O
constexpr int kSlots = 2;

__device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }
__device__ __forceinline__ int s_slot(int i) { return (i & 3) >> 1; }
__device__ __forceinline__ int slot_query(int slot) { return (lane_id() >> 2) + 8 * slot; }
__device__ __forceinline__ int s_key(int i) { return (i >> 2) * 8 + 2 * (lane_id() & 3) + (i & 1); }
__device__ __forceinline__ int o_slot(int i) { return (i & 3) >> 1; }
__device__ __forceinline__ int o_dim(int i) { return (i >> 2) * 8 + 2 * (lane_id() & 3) + (i & 1); }
// One lane per row writes the row's lse.
__device__ __forceinline__ bool slot_writer() { return (lane_id() & 3) == 0; }
__device__ __forceinline__ float slot_max(float v) {
  v = fmaxf(v, sk_shfl_xor(v, 1));
  return fmaxf(v, sk_shfl_xor(v, 2));
}
__device__ __forceinline__ float slot_sum(float v) {
  v += sk_shfl_xor(v, 1);
  return v + sk_shfl_xor(v, 2);
}

struct QFrag { uint32_t a[4]; };

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// Q rows [16][ld] (row-major), dims k0..k0+15.
__device__ __forceinline__ void load_q(QFrag& f, const sk_u16* q, int ld, int k0) {
  const int l = lane_id();
  const sk_u16* p = q + (l & 15) * ld + k0 + (l >> 4) * 8;
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(f.a[0]), "=r"(f.a[1]), "=r"(f.a[2]), "=r"(f.a[3]) : "r"(smem_addr(p)));
}

template <class T>
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  if constexpr (T::kIsBf16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// s (16 queries x keys key0..key0+15) = Q K^T; K rows [keys][ld] row-major in shared memory.
template <class T, int D>
__device__ __forceinline__ void qk(float s[kSElems], const QFrag (&q)[D / 16], const sk_u16* k, int ld, int key0) {
  const int l = lane_id();
  const int mat = l >> 3;
  const sk_u16* base = k + (key0 + (mat >> 1) * 8 + (l & 7)) * ld + (mat & 1) * 8;
#pragma unroll
  for (int i = 0; i < kSElems; i++) s[i] = 0.f;
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    uint32_t b[4];
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(smem_addr(base + kc * 16)));
    mma16816<T>(s, q[kc].a, b[0], b[1]);
    mma16816<T>(s + 4, q[kc].a, b[2], b[3]);
  }
}

template <class T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t r;
  if constexpr (T::kIsBf16) asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  else asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// o[dc] (16 queries x dims 16dc..16dc+15) += P V; p is this lane's S-tile elements (already exp'd),
// V rows [keys][ld] row-major in shared memory.
template <class T, int D>
__device__ __forceinline__ void pv(float (&o)[D / 16][kOElems], const float p[kSElems], const sk_u16* v, int ld, int key0) {
  uint32_t a[4] = {pack2<T>(p[0], p[1]), pack2<T>(p[2], p[3]), pack2<T>(p[4], p[5]), pack2<T>(p[6], p[7])};
  const int l = lane_id();
  const int mat = l >> 3;
  const sk_u16* base = v + (key0 + (mat & 1) * 8 + (l & 7)) * ld + (mat >> 1) * 8;
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++) {
    uint32_t b[4];
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(smem_addr(base + dc * 16)));
    mma16816<T>(o[dc], a, b[0], b[1]);
    mma16816<T>(o[dc] + 4, a, b[2], b[3]);
  }
}

// M row tiles (16 rows each) against the same keys: each K/V fragment is loaded from shared memory
// once and used for all M tiles (fewer shared-memory reads per multiply-add).
template <class T, int D, int M>
__device__ __forceinline__ void qk_m(float (&s)[M][kSElems], const QFrag (&q)[M][D / 16], const sk_u16* k, int ld, int key0) {
  const int l = lane_id();
  const int mat = l >> 3;
  const sk_u16* base = k + (key0 + (mat >> 1) * 8 + (l & 7)) * ld + (mat & 1) * 8;
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int i = 0; i < kSElems; i++) s[m][i] = 0.f;
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    uint32_t b[4];
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(smem_addr(base + kc * 16)));
#pragma unroll
    for (int m = 0; m < M; m++) {
      mma16816<T>(s[m], q[m][kc].a, b[0], b[1]);
      mma16816<T>(s[m] + 4, q[m][kc].a, b[2], b[3]);
    }
  }
}

template <class T, int D, int M>
__device__ __forceinline__ void pv_m(float (&o)[M][D / 16][kOElems], const float (&p)[M][kSElems], const sk_u16* v, int ld, int key0) {
  uint32_t a[M][4];
#pragma unroll
  for (int m = 0; m < M; m++) {
    a[m][0] = pack2<T>(p[m][0], p[m][1]);
    a[m][1] = pack2<T>(p[m][2], p[m][3]);
    a[m][2] = pack2<T>(p[m][4], p[m][5]);
    a[m][3] = pack2<T>(p[m][6], p[m][7]);
  }
  const int l = lane_id();
  const int mat = l >> 3;
  const sk_u16* base = v + (key0 + (mat & 1) * 8 + (l & 7)) * ld + (mat >> 1) * 8;
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++) {
    uint32_t b[4];
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(smem_addr(base + dc * 16)));
#pragma unroll
    for (int m = 0; m < M; m++) {
      mma16816<T>(o[m][dc], a[m], b[0], b[1]);
      mma16816<T>(o[m][dc] + 4, a[m], b[2], b[3]);
    }
  }
}

#else  // AMD CDNA, wave 64

constexpr int kSElems = 4;
constexpr int kOElems = 4;
constexpr int kSlots = 1;

typedef float f32x4 __attribute__((ext_vector_type(4)));
typedef _Float16 f16x4 __attribute__((ext_vector_type(4)));
typedef short i16x4 __attribute__((ext_vector_type(4)));

__device__ __forceinline__ int lane_id() { return threadIdx.x & 63; }
__device__ __forceinline__ int s_slot(int) { return 0; }
__device__ __forceinline__ int slot_query(int) { return lane_id() & 15; }
__device__ __forceinline__ int s_key(int i) { return 4 * (lane_id() >> 4) + i; }
__device__ __forceinline__ int o_slot(int) { return 0; }
__device__ __forceinline__ int o_dim(int i) { return 4 * (lane_id() >> 4) + i; }
__device__ __forceinline__ bool slot_writer() { return (lane_id() >> 4) == 0; }
__device__ __forceinline__ float slot_max(float v) {
  v = fmaxf(v, sk_shfl_xor(v, 16));
  return fmaxf(v, sk_shfl_xor(v, 32));
}
__device__ __forceinline__ float slot_sum(float v) {
  v += sk_shfl_xor(v, 16);
  return v + sk_shfl_xor(v, 32);
}

struct QFrag { i16x4 b; };

__device__ __forceinline__ i16x4 load4(const sk_u16* p) {
  i16x4 r;
  r[0] = (short)p[0]; r[1] = (short)p[1]; r[2] = (short)p[2]; r[3] = (short)p[3];
  return r;
}

__device__ __forceinline__ void load_q(QFrag& f, const sk_u16* q, int ld, int k0) {
  const int l = lane_id();
  f.b = load4(q + (l & 15) * ld + k0 + 4 * (l >> 4));
}

template <class T>
__device__ __forceinline__ f32x4 mfma(i16x4 a, i16x4 b, f32x4 c) {
  if constexpr (T::kIsBf16) {
#if defined(SINKRT_MFMA_BF16_1K)
    return __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(a, b, c, 0, 0, 0);
#else
    static_assert(!T::kIsBf16, "bf16 MFMA needs gfx90a or newer");
    return c;
#endif
  } else {
    return __builtin_amdgcn_mfma_f32_16x16x16f16(__builtin_bit_cast(f16x4, a), __builtin_bit_cast(f16x4, b), c, 0, 0, 0);
  }
}

template <class T, int D>
__device__ __forceinline__ void qk(float s[kSElems], const QFrag (&q)[D / 16], const sk_u16* k, int ld, int key0) {
  const int l = lane_id();
  f32x4 acc = {0.f, 0.f, 0.f, 0.f};
  const sk_u16* row = k + (key0 + (l & 15)) * ld + 4 * (l >> 4);
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) acc = mfma<T>(load4(row + kc * 16), q[kc].b, acc);
#pragma unroll
  for (int i = 0; i < 4; i++) s[i] = acc[i];
}

template <class T, int D>
__device__ __forceinline__ void pv(float (&o)[D / 16][kOElems], const float p[kSElems], const sk_u16* v, int ld, int key0) {
  const int l = lane_id();
  i16x4 b;
#pragma unroll
  for (int i = 0; i < 4; i++) b[i] = (short)T::from_f32(p[i]);
  const sk_u16* col = v + (key0 + 4 * (l >> 4)) * ld + (l & 15);
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++) {
    i16x4 a;
#pragma unroll
    for (int i = 0; i < 4; i++) a[i] = (short)col[i * ld + dc * 16];
    f32x4 acc = {o[dc][0], o[dc][1], o[dc][2], o[dc][3]};
    acc = mfma<T>(a, b, acc);
#pragma unroll
    for (int i = 0; i < 4; i++) o[dc][i] = acc[i];
  }
}
template <class T, int D, int M>
__device__ __forceinline__ void qk_m(float (&s)[M][kSElems], const QFrag (&q)[M][D / 16], const sk_u16* k, int ld, int key0) {
  const int l = lane_id();
  f32x4 acc[M];
#pragma unroll
  for (int m = 0; m < M; m++) acc[m] = f32x4{0.f, 0.f, 0.f, 0.f};
  const sk_u16* row = k + (key0 + (l & 15)) * ld + 4 * (l >> 4);
#pragma unroll
  for (int kc = 0; kc < D / 16; kc++) {
    const i16x4 a = load4(row + kc * 16);
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = mfma<T>(a, q[m][kc].b, acc[m]);
  }
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int i = 0; i < 4; i++) s[m][i] = acc[m][i];
}

template <class T, int D, int M>
__device__ __forceinline__ void pv_m(float (&o)[M][D / 16][kOElems], const float (&p)[M][kSElems], const sk_u16* v, int ld, int key0) {
  const int l = lane_id();
  i16x4 b[M];
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int i = 0; i < 4; i++) b[m][i] = (short)T::from_f32(p[m][i]);
  const sk_u16* col = v + (key0 + 4 * (l >> 4)) * ld + (l & 15);
#pragma unroll
  for (int dc = 0; dc < D / 16; dc++) {
    i16x4 a;
#pragma unroll
    for (int i = 0; i < 4; i++) a[i] = (short)col[i * ld + dc * 16];
#pragma unroll
    for (int m = 0; m < M; m++) {
      f32x4 acc = {o[m][dc][0], o[m][dc][1], o[m][dc][2], o[m][dc][3]};
      acc = mfma<T>(a, b[m], acc);
#pragma unroll
      for (int i = 0; i < 4; i++) o[m][dc][i] = acc[i];
    }
  }
}
#endif

#endif  // SINKRT_HAS_MMA

}  // namespace skmma
