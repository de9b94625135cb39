// Context and Cache over the C interface. Every call's status is checked and returned; the message
// is left in sinkrt_last_error() for the addon to reject with. No HIP headers: the kernels library
// is the only thing that talks to the runtime.
#include "device_state.h"

#include <stdio.h>
#include <string.h>

#include <algorithm>

namespace sinkrt_addon {

#define TRY(call)               \
  do {                          \
    int st_ = (call);           \
    if (st_ != 0) return st_;   \
  } while (0)

int Cache::allocate() {
  const size_t bytes = elements() * 2;
  TRY(sinkrt_malloc(&key, bytes));
  TRY(sinkrt_malloc(&value, bytes));
  return 0;
}
void Cache::release() {
  sinkrt_free(key);
  sinkrt_free(value);
  key = value = nullptr;
}

int Buffer::ensure(size_t need) {
  if (need <= bytes && ptr) return 0;
  sinkrt_free(ptr);
  ptr = nullptr;
  bytes = 0;
  const size_t grow = std::max(need, (size_t)256) + need / 4;  // headroom: fewer regrowths
  TRY(sinkrt_malloc(&ptr, grow));
  bytes = grow;
  return 0;
}
void Buffer::release() {
  sinkrt_free(ptr);
  ptr = nullptr;
  bytes = 0;
}

int Context::init() {
  TRY(sinkrt_device_info_get(&info));
  TRY(sinkrt_stream_create(&stream));
  return 0;
}
void Context::release() {
  for (Buffer* b : {&staging, &q, &k, &v, &meta, &sinks, &out, &lse, &workspace, &bad}) b->release();
  if (stream) sinkrt_stream_destroy(stream);
  stream = nullptr;
}

int Context::upload_cache(const Cache& c, const float* kh, const float* vh) {
  const size_t n = c.elements();
  TRY(staging.ensure(n * 4));
  TRY(sinkrt_memcpy_h2d(staging.ptr, kh, n * 4, stream));
  TRY(sinkrt_f32_to_storage(c.key, (const float*)staging.ptr, n, c.dtype, stream));
  TRY(sinkrt_stream_sync(stream));  // staging is reused for V
  TRY(sinkrt_memcpy_h2d(staging.ptr, vh, n * 4, stream));
  TRY(sinkrt_f32_to_storage(c.value, (const float*)staging.ptr, n, c.dtype, stream));
  return sinkrt_stream_sync(stream);
}

int Context::download_cache(const Cache& c, float* kh, float* vh) {
  const size_t n = c.elements();
  TRY(staging.ensure(n * 4));
  TRY(sinkrt_storage_to_f32((float*)staging.ptr, c.key, n, c.dtype, stream));
  TRY(sinkrt_memcpy_d2h(kh, staging.ptr, n * 4, stream));
  TRY(sinkrt_stream_sync(stream));
  TRY(sinkrt_storage_to_f32((float*)staging.ptr, c.value, n, c.dtype, stream));
  TRY(sinkrt_memcpy_d2h(vh, staging.ptr, n * 4, stream));
  return sinkrt_stream_sync(stream);
}

std::string ForwardDesc::check_lengths(const Cache& c) const {
  char buf[160];
  const size_t T = numTokens, qRow = (size_t)numQueryHeads * headSize, kvRow = (size_t)numKvHeads * headSize;
  struct { const char* name; size_t have, need; } rows[] = {
      {"queryStartLoc", queryStartLocLen, (size_t)numSeqs + 1}, {"seqLens", seqLensLen, (size_t)numSeqs},
      {"blockTable", blockTableLen, (size_t)numSeqs * maxBlocksPerSeq}, {"slotMapping", slotMappingLen, T},
      {"query", queryLen, T * qRow}, {"key", keyLen, T * kvRow}, {"value", valueLen, T * kvRow},
      {"output", outputLen, T * qRow}};
  for (const auto& r : rows)
    if (r.have < r.need) {
      snprintf(buf, sizeof buf, "%s has %zu elements, needs %zu", r.name, r.have, r.need);
      return buf;
    }
  if (lse && lseLen < T * numQueryHeads) return "lse is shorter than numTokens * numQueryHeads";
  if (sinks && sinksLen < (size_t)numQueryHeads) return "sinks is shorter than numQueryHeads";
  if (numKvHeads != c.numKvHeads || headSize != c.headSize) return "layer KV geometry does not match the cache";
  return "";
}

int Context::forward(const Cache& c, const ForwardDesc& f) {
  const size_t T = f.numTokens, D = f.headSize, Hq = f.numQueryHeads, Hkv = f.numKvHeads;
  const size_t nq = T * Hq * D, nkv = T * Hkv * D;
  // Step buffers (grow-only): f32 staging for q|k|v, storage q, k, v, int metadata, outputs.
  TRY(staging.ensure((nq + 2 * nkv) * 4));
  TRY(q.ensure(nq * 2));
  TRY(k.ensure(nkv * 2));
  TRY(v.ensure(nkv * 2));
  const size_t nQsl = f.numSeqs + 1, nSl = f.numSeqs, nBt = (size_t)f.numSeqs * f.maxBlocksPerSeq;
  TRY(meta.ensure((nQsl + nSl + nBt + T) * 4));
  TRY(out.ensure(nq * 4));
  TRY(lse.ensure(T * Hq * 4));
  TRY(bad.ensure(4));
  if (f.sinks) TRY(sinks.ensure(Hq * 4));

  float* st = (float*)staging.ptr;
  TRY(sinkrt_memcpy_h2d(st, f.query, nq * 4, stream));
  TRY(sinkrt_memcpy_h2d(st + nq, f.key, nkv * 4, stream));
  TRY(sinkrt_memcpy_h2d(st + nq + nkv, f.value, nkv * 4, stream));
  TRY(sinkrt_f32_to_storage(q.ptr, st, nq, c.dtype, stream));
  TRY(sinkrt_f32_to_storage(k.ptr, st + nq, nkv, c.dtype, stream));
  TRY(sinkrt_f32_to_storage(v.ptr, st + nq + nkv, nkv, c.dtype, stream));
  int* m = (int*)meta.ptr;
  int *dQsl = m, *dSl = m + nQsl, *dBt = dSl + nSl, *dSlot = dBt + nBt;
  TRY(sinkrt_memcpy_h2d(dQsl, f.queryStartLoc, nQsl * 4, stream));
  TRY(sinkrt_memcpy_h2d(dSl, f.seqLens, nSl * 4, stream));
  TRY(sinkrt_memcpy_h2d(dBt, f.blockTable, nBt * 4, stream));
  TRY(sinkrt_memcpy_h2d(dSlot, f.slotMapping, T * 4, stream));
  if (f.sinks) TRY(sinkrt_memcpy_h2d(sinks.ptr, f.sinks, Hq * 4, stream));
  TRY(sinkrt_memset(bad.ptr, 0, 4, stream));

  sinkrt_cache_write_args w{};
  w.dtype = c.dtype;
  w.numTokens = f.numTokens;
  w.numKvHeads = f.numKvHeads;
  w.headSize = f.headSize;
  w.numSlots = c.numBlocks * c.blockSize;
  w.key = k.ptr;
  w.value = v.ptr;
  w.keyCache = c.key;
  w.valueCache = c.value;
  w.slotMapping = dSlot;
  w.badSlots = (int*)bad.ptr;
  w.stream = stream;
  TRY(sinkrt_reshape_and_cache(&w));

  sinkrt_paged_args pa{};
  pa.dtype = c.dtype;
  pa.headSize = f.headSize;
  pa.numQueryHeads = f.numQueryHeads;
  pa.numKvHeads = f.numKvHeads;
  pa.blockSize = c.blockSize;
  pa.scale = f.scale;
  pa.softcap = f.softcap;
  pa.slidingWindow = f.slidingWindow;
  pa.sinks = f.sinks ? (const float*)sinks.ptr : nullptr;
  pa.query = q.ptr;
  pa.keyCache = c.key;
  pa.valueCache = c.value;
  pa.output = (float*)out.ptr;
  pa.lse = (float*)lse.ptr;
  pa.queryStartLoc = dQsl;
  pa.seqLens = dSl;
  pa.blockTable = dBt;
  pa.maxBlocksPerSeq = f.maxBlocksPerSeq;
  pa.computeUnits = info.computeUnits;
  pa.forceSegments = f.forceSegments;
  pa.stream = stream;
  // The three ranges run in batch order; each paged launch gets its own workspace check.
  // Decode takes the matrix-unit paged_decode where selection chose paged_decode and the device has
  // them; everything else here is the SIMT kernel (unified_attention, or paged_decode without them).
  struct { int begin, count, maxQ, maxKeys, kernel; } ranges[] = {
      {0, f.numDecodes, f.decodeMaxQueryLen, f.decodeMaxKeys, f.decodeOnMatrixUnits ? SINKRT_KERNEL_MMA : SINKRT_KERNEL_SIMT},
      {f.numDecodes, f.numExtends, f.extendMaxQueryLen, f.extendMaxKeys, SINKRT_KERNEL_SIMT},
      {f.numDecodes + f.numExtends, f.prefillOnMatrixUnits ? 0 : f.numPrefills, f.prefillMaxQueryLen, f.prefillMaxKeys, SINKRT_KERNEL_SIMT}};
  for (const auto& r : ranges) {
    if (r.count <= 0) continue;
    pa.seqBegin = r.begin;
    pa.numSeqs = r.count;
    pa.maxQueryLen = r.maxQ;
    pa.maxKeys = r.maxKeys;
    pa.kernel = r.kernel;
    TRY(workspace.ensure(sinkrt_paged_attention_workspace(&pa)));
    pa.workspace = workspace.ptr;
    pa.workspaceBytes = workspace.bytes;
    TRY(sinkrt_paged_attention(&pa));
    TRY(sinkrt_stream_sync(stream));  // the next range may regrow the workspace
  }
  if (f.prefillOnMatrixUnits && f.numPrefills > 0) {
    sinkrt_prefill_args pf{};
    pf.dtype = c.dtype;
    pf.headSize = f.headSize;
    pf.numQueryHeads = f.numQueryHeads;
    pf.numKvHeads = f.numKvHeads;
    pf.scale = f.scale;
    pf.softcap = f.softcap;
    pf.slidingWindow = f.slidingWindow;
    pf.sinks = pa.sinks;
    pf.query = q.ptr;
    pf.key = k.ptr;
    pf.value = v.ptr;
    pf.output = (float*)out.ptr;
    pf.lse = (float*)lse.ptr;
    pf.queryStartLoc = dQsl;
    pf.seqBegin = f.numDecodes + f.numExtends;
    pf.numSeqs = f.numPrefills;
    pf.maxQueryLen = f.prefillMaxQueryLen;
    pf.waveSize = info.waveSize;
    pf.rowTiles = f.prefillRowTiles;
    pf.stream = stream;
    TRY(sinkrt_prefill(&pf));
  }
  TRY(sinkrt_memcpy_d2h(f.output, out.ptr, nq * 4, stream));
  if (f.lse) TRY(sinkrt_memcpy_d2h(f.lse, lse.ptr, T * Hq * 4, stream));
  int badSlots = 0;
  TRY(sinkrt_memcpy_d2h(&badSlots, bad.ptr, 4, stream));
  TRY(sinkrt_stream_sync(stream));
  if (badSlots > 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "reshape_and_cache: %d slotMapping entries were past the cache and were not written", badSlots);
    return sinkrt_report(msg);  // unreachable when the TS validation ran
  }
  return 0;
}

}  // namespace sinkrt_addon
