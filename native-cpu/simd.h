// SIMD helpers (WASM SIMD, f32x4) shared by the kernels: a vector exp for the softmax weights,
// horizontal sums, and IEEE half / bfloat16 <-> float conversion for 16-bit cache storage (WASM SIMD
// has no 16-bit float instructions, so both are widened with integer ops).
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>

static inline float hsum(v128_t v) {
  v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}

// exp(x) for x <= 0 (all the softmax needs: x = logit - running max). Range reduction
// x = n ln2 + r, |r| <= ln2/2, then Cephes' degree-6 polynomial for exp(r) (about 1 ulp), then the
// exponent n is added to the float's bits. Below -87.3 (and for -inf, i.e. masked keys) gives 0.
static inline v128_t exp4_nonpos(v128_t x) {
  const v128_t lo = wasm_f32x4_splat(-87.3f);
  v128_t under = wasm_f32x4_lt(x, lo);  // also true for -inf; NaN never reaches here
  x = wasm_f32x4_max(x, lo);
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  v128_t r2 = wasm_f32x4_mul(r, r);
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, r2), r), wasm_f32x4_splat(1.0f));
  // n in [-126, 0]: 2^n is a normal float built from its exponent bits.
  v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(p, pow2n);
  return wasm_v128_andnot(y, under);
}

// Four halves (the low 64 bits of a load) to four floats. The half's exponent+mantissa shifted into
// float position and multiplied by 2^112 rebias normals and subnormals alike; inf/NaN get the float's
// all-ones exponent; the sign is or-ed back.
static inline v128_t f16x4_to_f32x4(const uint16_t* p) {
  v128_t h = wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(p));
  v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
  v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
  v128_t bits = wasm_i32x4_shl(em, 13);
  v128_t f = wasm_f32x4_mul(bits, wasm_i32x4_splat(0x77800000));  // 0x77800000 = 2^112
  v128_t special = wasm_i32x4_gt(em, wasm_i32x4_splat(0x7bff));
  f = wasm_v128_bitselect(wasm_v128_or(bits, wasm_i32x4_splat(0x7f800000)), f, special);
  return wasm_v128_or(f, sign);
}

// Eight halves to eight floats, the same conversion with the masks worked on 16-bit lanes before
// widening, and inf/NaN (rare in a KV cache) handled only when one of the eight is special.
struct F16Widen {
  const v128_t emMask = wasm_i16x8_splat(0x7fff), signMask = wasm_i16x8_splat((short)0x8000);
  const v128_t maxFinite = wasm_i16x8_splat(0x7bff), rebias = wasm_i32x4_splat(0x77800000);
  const v128_t expAll = wasm_i32x4_splat(0x7f800000), maxFinite32 = wasm_i32x4_splat(0x7bff);

  inline void row(const uint16_t* src, float* dst, int n) const {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const v128_t h = wasm_v128_load(src + i);
      const v128_t em = wasm_v128_and(h, emMask), sign = wasm_v128_and(h, signMask);
      const v128_t eLo = wasm_u32x4_extend_low_u16x8(em), eHi = wasm_u32x4_extend_high_u16x8(em);
      v128_t lo = wasm_f32x4_mul(wasm_i32x4_shl(eLo, 13), rebias);
      v128_t hi = wasm_f32x4_mul(wasm_i32x4_shl(eHi, 13), rebias);
      if (wasm_v128_any_true(wasm_i16x8_gt(em, maxFinite))) {
        lo = wasm_v128_bitselect(wasm_v128_or(wasm_i32x4_shl(eLo, 13), expAll), lo, wasm_i32x4_gt(eLo, maxFinite32));
        hi = wasm_v128_bitselect(wasm_v128_or(wasm_i32x4_shl(eHi, 13), expAll), hi, wasm_i32x4_gt(eHi, maxFinite32));
      }
      lo = wasm_v128_or(lo, wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(sign), 16));
      hi = wasm_v128_or(hi, wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(sign), 16));
      wasm_v128_store(dst + i, lo);
      wasm_v128_store(dst + i + 4, hi);
    }
    for (; i < n; i += 4) wasm_v128_store(dst + i, f16x4_to_f32x4(src + i));  // n is a multiple of 4
  }
};

// Eight bfloat16 to eight floats: a bfloat16 is the top half of a float's bits.
static inline void bf16_row(const uint16_t* src, float* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const v128_t h = wasm_v128_load(src + i);
    wasm_v128_store(dst + i, wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h), 16));
    wasm_v128_store(dst + i + 4, wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(h), 16));
  }
  for (; i < n; i++) {
    const uint32_t u = (uint32_t)src[i] << 16;
    memcpy(dst + i, &u, 4);
  }
}

// Float to bfloat16, round to nearest even (overflow rounds to inf), NaN stays a quiet NaN.
static inline uint16_t f32_to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// Float to half, round to nearest even, overflow to inf, subnormals kept, NaN stays NaN.
static inline uint16_t f32_to_f16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t a = u & 0x7fffffff;
  if (a >= 0x7f800000) return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0));
  if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00);  // rounds past 65504
  if (a < 0x38800000) {                                     // half subnormal (or zero)
    if (a < 0x33000000) return (uint16_t)sign;              // below half of the smallest subnormal
    uint32_t e = a >> 23, m = (a & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e;  // 14..24 + 1: m * 2^(e-150) in units of 2^-24
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return (uint16_t)(sign | q);
  }
  uint32_t r = a + 0xfff + ((a >> 13) & 1);  // round mantissa to 10 bits, ties to even
  return (uint16_t)(sign | ((r - 0x38000000) >> 13));
}
