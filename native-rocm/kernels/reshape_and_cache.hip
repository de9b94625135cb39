// reshape_and_cache: writes the step's new K/V rows into the paged cache.
//
// Algorithm: one block per token; its numKvHeads * headSize values (K and V) are copied in 16-byte
// pieces to cache row `slot` (slot = block * blockSize + offset; the cache is
// [numBlocks, blockSize, numKvHeads, headSize], so a slot's row is contiguous). slot -1 is padding and
// is skipped; a slot past the cache (numSlots) is never written and is counted in *badSlots, so a
// bad slot mapping cannot corrupt memory even if host validation were bypassed.
#include "common.h"

__global__ void reshape_and_cache_kernel(const uint4* __restrict__ key, const uint4* __restrict__ value,
                                         uint4* __restrict__ keyCache, uint4* __restrict__ valueCache,
                                         const int* __restrict__ slotMapping, int numSlots, int rowVecs, int* badSlots) {
  const int token = blockIdx.x;
  const int slot = slotMapping[token];
  if (slot < 0) return;
  if (slot >= numSlots) {
    if (threadIdx.x == 0 && badSlots) atomicAdd(badSlots, 1);
    return;
  }
  const size_t src = (size_t)token * rowVecs, dst = (size_t)slot * rowVecs;
  for (int i = threadIdx.x; i < rowVecs; i += blockDim.x) {
    keyCache[dst + i] = key[src + i];
    valueCache[dst + i] = value[src + i];
  }
}

extern "C" int sinkrt_reshape_and_cache(const sinkrt_cache_write_args* a) {
  SK_REQUIRE(a->dtype == SINKRT_F16 || a->dtype == SINKRT_BF16, "dtype must be f16 or bf16");
  SK_REQUIRE((a->numKvHeads * a->headSize) % 8 == 0, "numKvHeads * headSize must be a multiple of 8");
  if (a->numTokens <= 0) return 0;
  const int rowVecs = a->numKvHeads * a->headSize / 8;  // 8 x 16-bit per uint4
  hipLaunchKernelGGL(reshape_and_cache_kernel, dim3(a->numTokens), dim3(64), 0, (hipStream_t)a->stream,
                     (const uint4*)a->key, (const uint4*)a->value, (uint4*)a->keyCache, (uint4*)a->valueCache,
                     a->slotMapping, a->numSlots, rowVecs, a->badSlots);
  SK_CHECK_LAUNCH("reshape_and_cache");
  return 0;
}
