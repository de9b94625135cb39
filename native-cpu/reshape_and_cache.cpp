// reshape_and_cache: writes the step's new K/V rows into the paged cache.
//
// key/value: [numTokens, numKvHeads, headSize] f32; caches: [numBlocks, blockSize, numKvHeads,
// headSize] as f32, f16 or bf16 (round to nearest even). Token t goes to slot slotMapping[t] (slot =
// block * blockSize + offset, so its row starts at slot * numKvHeads * headSize); slot -1 is padding
// and is skipped. TS validates every slot first; this kernel checks them all again before writing
// anything and returns -(t + 1) for the first bad token, so the cache is never written out of bounds.
#include "abi.h"
#include "simd.h"

SINKRT_EXPORT int sinkrt_reshape_and_cache(const float* key, const float* value, const int32_t* slotMapping,
                                           int numTokens, int rowFloats, int numSlots, void* keyCache,
                                           void* valueCache, int dtype) {
  for (int t = 0; t < numTokens; t++) {
    const int slot = slotMapping[t];
    if (slot != -1 && (slot < 0 || slot >= numSlots)) return -(t + 1);
  }
  for (int t = 0; t < numTokens; t++) {
    const int slot = slotMapping[t];
    if (slot == -1) continue;
    const float* k = key + (size_t)t * rowFloats;
    const float* v = value + (size_t)t * rowFloats;
    if (dtype == SINKRT_F32) {
      memcpy((float*)keyCache + (size_t)slot * rowFloats, k, rowFloats * 4);
      memcpy((float*)valueCache + (size_t)slot * rowFloats, v, rowFloats * 4);
    } else {
      uint16_t* kd = (uint16_t*)keyCache + (size_t)slot * rowFloats;
      uint16_t* vd = (uint16_t*)valueCache + (size_t)slot * rowFloats;
      const bool half = dtype == SINKRT_F16;
      for (int i = 0; i < rowFloats; i++) {
        kd[i] = half ? f32_to_f16(k[i]) : f32_to_bf16(k[i]);
        vd[i] = half ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
      }
    }
  }
  return 0;
}
