// The boundary between src/backends/cpu/ (TypeScript) and the WASM kernels: numbers and pointers only.
//
// AttnParams is written by TS into WASM memory, one 4-byte field per index (wasm32 pointers are 4
// bytes), in exactly this order; src/backends/cpu/abi.ts holds the same list and checks
// sinkrt_abi_version() and sinkrt_params_bytes() when the module loads, so a stale build gives a
// clear error instead of garbage. Validation happens in TS before any kernel runs; the kernels still
// refuse (status code, no write) anything that would touch memory outside the cache.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SINKRT_CPU_ABI_VERSION 2

enum { SINKRT_F32 = 0, SINKRT_F16 = 1, SINKRT_BF16 = 2 };

enum {
  SINKRT_OK = 0,
  SINKRT_E_SCRATCH = -1,  // scratch smaller than sinkrt_scratch_floats() asked for
  SINKRT_E_SHAPE = -2,    // headSize not a multiple of 4, or a non-positive dimension
  SINKRT_E_BLOCK = -3,    // a block id outside [0, numBlocks) (TS validates first; this is the backstop)
};

struct AttnParams {
  int32_t numQueryHeads;         // 0
  int32_t numKvHeads;            // 1
  int32_t headSize;              // 2
  int32_t blockSize;             // 3
  int32_t numBlocks;             // 4
  int32_t dtype;                 // 5  SINKRT_F32 | SINKRT_F16 | SINKRT_BF16 (cache storage; math is f32)
  float scale;                   // 6
  int32_t slidingWindow;         // 7  0 = full attention
  float softcap;                 // 8  0 = none
  const float* sinks;            // 9  [numQueryHeads] or null (= -inf)
  const int32_t* queryStartLoc;  // 10 [numSeqs + 1]
  const int32_t* seqLens;        // 11 [numSeqs]
  const int32_t* contextLens;    // 12 [numSeqs]
  const int32_t* blockTable;     // 13 [numSeqs * maxBlocksPerSeq]
  int32_t maxBlocksPerSeq;       // 14
  int32_t seqBegin;              // 15 the sequences this launch covers: [seqBegin, seqEnd)
  int32_t seqEnd;                // 16
  const float* query;            // 17 [numTokens, numQueryHeads, headSize]
  const void* keyCache;          // 18 [numBlocks, blockSize, numKvHeads, headSize]
  const void* valueCache;        // 19
  float* output;                 // 20 [numTokens, numQueryHeads, headSize]
  float* lse;                    // 21 [numTokens, numQueryHeads]
  float* scratch;                // 22
  int32_t scratchFloats;         // 23
  int32_t segmentLen;            // 24 paged_decode split-KV segment length in tokens
  int32_t maxSeqLen;             // 25 longest seqLen in [seqBegin, seqEnd); sizes the segment scratch
};

static_assert(sizeof(AttnParams) == 26 * 4, "AttnParams must stay 26 four-byte fields (see abi.ts)");

#define SINKRT_EXPORT extern "C" __attribute__((used, visibility("default")))
