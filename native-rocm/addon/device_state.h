// Device-side state the addon owns, in plain C++ over the C interface (no Node, no HIP headers):
// a Context (stream, device facts, step buffers that grow and are reused, so a steady-state forward
// allocates nothing) and a Cache (one layer's K and V blocks). ForwardDesc is the plain struct one
// forward() call is unpacked into.
#pragma once
#include <stddef.h>

#include <string>

#include "../kernels/sinkrt_kernels.h"

namespace sinkrt_addon {

struct Cache {
  int numBlocks, blockSize, numKvHeads, headSize, dtype;
  void* key = nullptr;
  void* value = nullptr;
  Cache(int nb, int bs, int hkv, int d, int dt) : numBlocks(nb), blockSize(bs), numKvHeads(hkv), headSize(d), dtype(dt) {}
  ~Cache() { release(); }
  size_t elements() const { return (size_t)numBlocks * blockSize * numKvHeads * headSize; }
  int allocate();
  void release();
};

struct ForwardDesc {
  int numQueryHeads = 0, numKvHeads = 0, headSize = 0, slidingWindow = 0;
  float scale = 0, softcap = 0;
  int numSeqs = 0, numTokens = 0, maxBlocksPerSeq = 0, numDecodes = 0, numExtends = 0, numPrefills = 0;
  int decodeMaxQueryLen = 0, decodeMaxKeys = 0, extendMaxQueryLen = 0, extendMaxKeys = 0;
  int prefillMaxQueryLen = 0, prefillMaxKeys = 0, prefillOnMatrixUnits = 0, decodeOnMatrixUnits = 0, forceSegments = 0, prefillRowTiles = 0;
  const float* sinks = nullptr;
  const int *queryStartLoc = nullptr, *seqLens = nullptr, *blockTable = nullptr, *slotMapping = nullptr;
  const float *query = nullptr, *key = nullptr, *value = nullptr;
  float* output = nullptr;
  float* lse = nullptr;
  size_t sinksLen = 0, queryStartLocLen = 0, seqLensLen = 0, blockTableLen = 0, slotMappingLen = 0;
  size_t queryLen = 0, keyLen = 0, valueLen = 0, outputLen = 0, lseLen = 0;
  // Empty when every array is as long as the counts say (the memory-safety check; TS checks values).
  std::string check_lengths(const Cache& cache) const;
};

// A device buffer that only grows.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  int ensure(size_t need);
  void release();
};

struct Context {
  void* stream = nullptr;
  sinkrt_device_info info{};
  Buffer staging, q, k, v, meta, sinks, out, lse, workspace, bad;
  int init();
  void release();
  ~Context() { release(); }
  int upload_cache(const Cache& c, const float* k, const float* v);
  int download_cache(const Cache& c, float* k, float* v);
  int forward(const Cache& c, const ForwardDesc& f);
};

}  // namespace sinkrt_addon
