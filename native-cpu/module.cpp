// The module's own exports: ABI checks for the TS loader, heap allocation (caches and scratch are
// allocated once, at createCache / first use, never per forward call), 16-bit <-> f32 bulk conversion
// for uploadCache / downloadCache, and a plain copy used by bench/cpu.ts as its memory baseline.
#include <stdlib.h>

#include "abi.h"
#include "simd.h"

SINKRT_EXPORT int sinkrt_abi_version() { return SINKRT_CPU_ABI_VERSION; }
SINKRT_EXPORT int sinkrt_params_bytes() { return (int)sizeof(AttnParams); }
SINKRT_EXPORT void* sinkrt_alloc(size_t bytes) { return aligned_alloc(16, (bytes + 15) & ~(size_t)15); }
SINKRT_EXPORT void sinkrt_free(void* p) { free(p); }

// Host f32 <-> 16-bit storage (SINKRT_F16 or SINKRT_BF16), for uploadCache / downloadCache.
SINKRT_EXPORT void sinkrt_to_storage(const float* src, uint16_t* dst, int n, int dtype) {
  if (dtype == SINKRT_F16)
    for (int i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
  else
    for (int i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

SINKRT_EXPORT void sinkrt_from_storage(const uint16_t* src, float* dst, int n, int dtype) {
  if (dtype == SINKRT_BF16) {
    bf16_row(src, dst, n);
    return;
  }
  const int n4 = n & ~3;
  F16Widen().row(src, dst, n4);
  for (int i = n4; i < n; i++) {
    uint16_t tmp[4] = {src[i], 0, 0, 0};
    dst[i] = wasm_f32x4_extract_lane(f16x4_to_f32x4(tmp), 0);
  }
}

// memcpy compiles to memory.copy (bulk memory) or emscripten's SIMD-free loop depending on flags;
// the bench wants the fastest honest copy the module can do, so it streams f32x4 loads and stores.
SINKRT_EXPORT void sinkrt_copy(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a = wasm_v128_load(src + i), b = wasm_v128_load(src + i + 4);
    v128_t c = wasm_v128_load(src + i + 8), d = wasm_v128_load(src + i + 12);
    wasm_v128_store(dst + i, a);
    wasm_v128_store(dst + i + 4, b);
    wasm_v128_store(dst + i + 8, c);
    wasm_v128_store(dst + i + 12, d);
  }
  for (; i < n; i++) dst[i] = src[i];
}

// The same bytes through libc memcpy, so the bench can report both baselines.
SINKRT_EXPORT void sinkrt_memcpy(void* dst, const void* src, size_t n) { memcpy(dst, src, n); }

// Sum of n floats: a read-only streaming baseline (decode only reads the cache).
SINKRT_EXPORT float sinkrt_read_sum(const float* src, int n) {
  v128_t a = wasm_f32x4_splat(0), b = a, c = a, d = a;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    a = wasm_f32x4_add(a, wasm_v128_load(src + i));
    b = wasm_f32x4_add(b, wasm_v128_load(src + i + 4));
    c = wasm_f32x4_add(c, wasm_v128_load(src + i + 8));
    d = wasm_f32x4_add(d, wasm_v128_load(src + i + 12));
  }
  float s = hsum(wasm_f32x4_add(wasm_f32x4_add(a, b), wasm_f32x4_add(c, d)));
  for (; i < n; i++) s += src[i];
  return s;
}
