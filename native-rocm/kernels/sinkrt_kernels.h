// The C interface of the native kernels: plain structs in, a status code out. It knows nothing of
// Node; the addon (native-rocm/addon) and the benchmark binary (bench/rocm) both call it.
// Every HIP call behind it is checked; a failure returns non-zero and sinkrt_last_error() says
// which call failed and why (thread-local text).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a struct below or a function's meaning changes; the TS side refuses a mismatch.
#define SINKRT_ABI_VERSION 3

enum sinkrt_dtype { SINKRT_F16 = 1, SINKRT_BF16 = 2 };
// Which paged kernel: SIMT (every device; unified_attention, and paged_decode without matrix units)
// or the matrix-unit paged_decode (16 query rows per block; needs hasMatrixUnits).
enum sinkrt_paged_kernel { SINKRT_KERNEL_SIMT = 0, SINKRT_KERNEL_MMA = 1 };

typedef struct sinkrt_device_info {
  char name[256];
  char arch[64];        // "sm_90" or "gfx90a:sramecc+:xnack-"
  char vendor[16];      // "nvidia" | "amd"
  int computeUnits;     // SMs / CUs
  int waveSize;
  int hasMatrixUnits;   // prefill kernel available on this device
  size_t totalMemory;
  int runtimeVersion;
  int driverVersion;
} sinkrt_device_info;

// Paged attention over the KV cache for a contiguous range of sequences [seqBegin, seqBegin+numSeqs).
// Used by paged_decode (decode range) and unified_attention (extend range); every device pointer
// indexes the whole step (queryStartLoc etc. of all sequences).
typedef struct sinkrt_paged_args {
  int kernel;            // sinkrt_paged_kernel
  int dtype;
  int headSize, numQueryHeads, numKvHeads, blockSize;
  float scale, softcap;  // softcap 0 = none
  int slidingWindow;     // 0 = none
  const float* sinks;    // device [numQueryHeads] or NULL
  const void* query;     // device [numTokens, Hq, D] storage dtype
  const void* keyCache;  // device [numBlocks, blockSize, Hkv, D]
  const void* valueCache;
  float* output;         // device [numTokens, Hq, D] f32
  float* lse;            // device [numTokens, Hq] f32 or NULL
  const int* queryStartLoc;  // device [numSeqsTotal + 1]
  const int* seqLens;        // device
  const int* blockTable;     // device [numSeqsTotal, maxBlocksPerSeq]
  int maxBlocksPerSeq;
  int seqBegin, numSeqs;
  int maxQueryLen;       // longest query of the range (host-known)
  int maxKeys;           // longest key range any query row of the range sees (host-known)
  int computeUnits;      // for the split-KV heuristic
  int forceSegments;     // 0 = heuristic; else this many split-KV segments (tests, bench)
  void* workspace;       // device scratch for split-KV partials
  size_t workspaceBytes;
  void* stream;
} sinkrt_paged_args;

typedef struct sinkrt_prefill_args {
  int dtype;
  int headSize, numQueryHeads, numKvHeads;
  float scale, softcap;
  int slidingWindow;
  const float* sinks;
  const void* query;     // device [numTokens, Hq, D]
  const void* key;       // device [numTokens, Hkv, D]
  const void* value;
  float* output;
  float* lse;
  const int* queryStartLoc;  // device; prefill sequences have no context
  int seqBegin, numSeqs;
  int maxQueryLen;
  int waveSize;
  int rowTiles;          // 0 = default (wgmma on sm_90 at head size 64, else one 16-row tile per wave);
                         // 1 = one tile; 2 = two (head size 64 only); 3..5 = wgmma variants (bench, prefill.hip)
  void* stream;
} sinkrt_prefill_args;

typedef struct sinkrt_cache_write_args {
  int dtype;
  int numTokens, numKvHeads, headSize, numSlots;  // numSlots = numBlocks * blockSize (bounds check)
  const void* key;       // device [numTokens, Hkv, D]
  const void* value;
  void* keyCache;
  void* valueCache;
  const int* slotMapping;  // device [numTokens]; -1 skipped; >= numSlots counted, not written
  int* badSlots;           // device int, incremented per out-of-range slot (may be NULL)
  void* stream;
} sinkrt_cache_write_args;

int sinkrt_abi_version(void);
const char* sinkrt_last_error(void);
// Records a caller's own failure as the last error (same thread); returns 1.
int sinkrt_report(const char* message);
int sinkrt_device_info_get(sinkrt_device_info* out);

int sinkrt_malloc(void** ptr, size_t bytes);
int sinkrt_free(void* ptr);
int sinkrt_memcpy_h2d(void* dst, const void* src, size_t bytes, void* stream);
int sinkrt_memcpy_d2h(void* dst, const void* src, size_t bytes, void* stream);
int sinkrt_memset(void* dst, int value, size_t bytes, void* stream);
int sinkrt_stream_create(void** stream);
int sinkrt_stream_destroy(void* stream);
int sinkrt_stream_sync(void* stream);

// dst (storage dtype) <- src (f32), and back; n elements, device pointers.
int sinkrt_f32_to_storage(void* dst, const float* src, size_t n, int dtype, void* stream);
int sinkrt_storage_to_f32(float* dst, const void* src, size_t n, int dtype, void* stream);

int sinkrt_reshape_and_cache(const sinkrt_cache_write_args* a);
// Bytes of workspace sinkrt_paged_attention needs for these args (segments chosen as it will).
size_t sinkrt_paged_attention_workspace(const sinkrt_paged_args* a);
// Split-KV segment count the heuristic picks (for logs and the benchmark's table).
int sinkrt_paged_attention_segments(const sinkrt_paged_args* a);
int sinkrt_paged_attention(const sinkrt_paged_args* a);
int sinkrt_prefill(const sinkrt_prefill_args* a);

#ifdef __cplusplus
}
#endif
