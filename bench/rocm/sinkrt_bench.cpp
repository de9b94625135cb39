// Benchmark binary for the native kernels (built by scripts/build-rocm.sh with the same HIP sources,
// through the portability header; run on the GPU machine by bench/rocm/run.sh). Prints JSON lines.
//
//   copy     device-to-device copy bandwidth of a 2 GiB buffer (bytes read + written): the ceiling the
//            decode figures are compared with, measured in the same run
//   read     read-only bandwidth of the same kind of buffer (16-byte loads, four in flight per thread):
//            what a pure streaming kernel such as decode can reach on this device, same run
//   gather   the decode's own bytes without the attention (batch 256 x 32K, K and V through the
//            shuffled block table): "piece" = a wave per (sequence, KV head, quarter) reading its
//            128-byte pieces of each token row (the decode kernels' pattern), "row" = the same bytes
//            read as whole 1 KB token rows; the ceiling of each access pattern
//   decode   paged_decode KV-read bandwidth (matrix-unit kernel, and the SIMT kernel for comparison) at the GPT-OSS-120B attention shape (64 query heads, 8 KV
//            heads, head size 64, block size 16, bf16) for batch 1, 8, 64, 256 x context 1K, 8K, 32K,
//            sinks on and off. Bytes = K and V of every context token once. Block tables are shuffled
//            and rotate among disjoint sets of blocks (>= 1 GiB footprint), so small configs are not
//            timed out of the 50 MB L2. "variant": which matrix-unit kernel ran (block, stream or
//            rows, paged_decode.hip); SINKRT_PD_KERNEL=block|stream|rows in the environment forces one.
//            --segments N forces N split-KV segments, --batch N runs one batch size, --no-simt skips
//            the SIMT kernel, --no-prefill skips the prefill section.
//   prefill  prefill (varlen, causal, sinks on and off) throughput in TFLOP/s, 4 * S^2 / 2 * D * Hq per
//            sequence, on the same head shape, for the (batch, seqLen) list bench/rocm/sdpa.py also runs;
//            every prefill kernel variant (rowTiles) with its largest difference from the mma.sync kernel.
//   --trace  (only in a build with -DSK_PD_TRACE=1, see bench/rocm/variants.sh): per-block time
//            stamps of the row kernel at batch 256 x 1K and 8K (entry, each tile's data ready, exit).
// Timing: device events around each launch, after warm-up; median of the repeats.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <random>
#include <vector>

#include "../../native-rocm/hip_compat.h"
#include "sinkrt_kernels.h"

#define CHECK(x)                                                                         \
  do {                                                                                   \
    hipError_t e_ = (x);                                                                 \
    if (e_ != hipSuccess) { fprintf(stderr, "%s: %s\n", #x, hipGetErrorString(e_)); exit(1); } \
  } while (0)
#define SK(x)                                                                            \
  do {                                                                                   \
    if ((x) != 0) { fprintf(stderr, "%s: %s\n", #x, sinkrt_last_error()); exit(1); }     \
  } while (0)

__global__ void fill_bf16(uint16_t* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 2654435761u ^ seed;
    h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
    const float f = (h & 0xffffff) / 8388608.f - 1.f;  // [-1, 1)
    p[i] = (uint16_t)(__float_as_uint(f) >> 16);
  }
}

static void fill(void* p, size_t n, uint32_t seed) {
  hipLaunchKernelGGL(fill_bf16, dim3(4096), dim3(256), 0, (hipStream_t)0, (uint16_t*)p, n, seed);
  CHECK(hipGetLastError());
}

template <class F>
static float median_ms(int warm, int reps, F&& launch) {
  hipEvent_t a, b;
  CHECK(hipEventCreate(&a));
  CHECK(hipEventCreate(&b));
  for (int i = 0; i < warm; i++) launch(i);
  std::vector<float> t;
  for (int i = 0; i < reps; i++) {
    CHECK(hipEventRecord(a, 0));
    launch(i);
    CHECK(hipEventRecord(b, 0));
    CHECK(hipEventSynchronize(b));
    float ms;
    CHECK(hipEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CHECK(hipEventDestroy(a));
  CHECK(hipEventDestroy(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static const int Hq = 64, Hkv = 8, D = 64, BS = 16;

static void bench_copy() {
  const size_t bytes = 2ull << 30;
  void *a, *b;
  CHECK(hipMalloc(&a, bytes));
  CHECK(hipMalloc(&b, bytes));
  fill(a, bytes / 2, 1);
  const float ms = median_ms(3, 20, [&](int) { CHECK(hipMemcpyAsync(b, a, bytes, hipMemcpyDeviceToDevice, 0)); });
  printf("{\"kind\":\"copy\",\"bytes\":%zu,\"ms\":%.5f,\"tbps\":%.4f}\n", bytes, ms, 2.0 * bytes / (ms * 1e-3) / 1e12);
  CHECK(hipFree(a));
  CHECK(hipFree(b));
}

// A sum over a buffer with four independent 16-byte loads in flight per thread (the result is kept
// only so the loads are not removed).
__global__ void read_all(const uint4* p, size_t n, unsigned* keep) {
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  unsigned acc = 0;
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    const uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n; i += stride) acc ^= p[i].x;
  if (acc == 0x9e3779b9u) *keep = acc;
}

static void bench_read(const sinkrt_device_info& info) {
  const size_t bytes = 2ull << 30;
  void* a;
  unsigned* keep;
  CHECK(hipMalloc(&a, bytes));
  CHECK(hipMalloc(&keep, 4));
  fill(a, bytes / 2, 3);
  const int blocks = info.computeUnits * 8;
  const float ms = median_ms(3, 20, [&](int) {
    hipLaunchKernelGGL(read_all, dim3(blocks), dim3(256), 0, (hipStream_t)0, (const uint4*)a, bytes / 16, keep);
  });
  CHECK(hipGetLastError());
  printf("{\"kind\":\"read\",\"bytes\":%zu,\"ms\":%.5f,\"tbps\":%.4f}\n", bytes, ms, bytes / (ms * 1e-3) / 1e12);
  CHECK(hipFree(a));
  CHECK(hipFree(keep));
}

extern "C" int sinkrt_paged_decode_variant(const sinkrt_paged_args* a);  // paged_decode.hip
static const char* variant_name(int v) { return v == 2 ? "rows" : v == 1 ? "stream" : "block"; }

// One wave per unit (sequence, quarter of the context, j of 8); rowMode 0: j = KV head, 16-byte
// chunk c of the unit = token c / 8, piece c % 8 of the head's 128 bytes; rowMode 1: j = eighth of
// the quarter, chunk c = token c / 64, 16 bytes c % 64 of the 1 KB row. Four K and four V loads in
// flight per lane.
__global__ void gather_kv(const uint4* kc, const uint4* vc, const int* bt, int ctx, int mbps, int rowMode, unsigned* keep) {
  const int lane = threadIdx.x % 32;
  const long unit = (blockIdx.x * (long)blockDim.x + threadIdx.x) / 32;
  const int j = (int)(unit % 8), quarter = (int)(unit / 8 % 4), seq = (int)(unit / 32);
  const int tokens = rowMode ? ctx / 32 : ctx / 4, first = rowMode ? quarter * (ctx / 4) + j * tokens : quarter * tokens;
  const int per = rowMode ? 64 : 8;  // 16-byte chunks per token of the unit
  const int* b = bt + (size_t)seq * mbps;
  unsigned acc = 0;
  for (int c0 = 0; c0 < tokens * per; c0 += 128) {
    uint4 k[4], v[4];
#pragma unroll
    for (int n = 0; n < 4; n++) {
      const int c = c0 + n * 32 + lane, t = first + c / per;
      const size_t row = (size_t)b[t / BS] * BS + t % BS;  // 1 KB token rows = 64 chunks
      const size_t idx = row * 64 + (rowMode ? c % 64 : j * 8 + c % 8);
      k[n] = kc[idx];
      v[n] = vc[idx];
    }
#pragma unroll
    for (int n = 0; n < 4; n++) acc ^= k[n].x ^ k[n].w ^ v[n].y ^ v[n].z;
  }
  if (acc == 0x9e3779b9u) *keep = acc;
}

// Decode and prefill checks share this: the largest |a - b|, reduced on the device.
// Largest |a - b| over n floats (NaN or inf counts as inf), into *out as float bits (atomicMax on
// non-negative floats orders like their bits).
__global__ void max_abs_diff(const float* a, const float* b, size_t n, unsigned* out) {
  float m = 0.f;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float d = fabsf(a[i] - b[i]);
    m = d == d && d <= 3.4e38f ? fmaxf(m, d) : __int_as_float(0x7f800000);
  }
  atomicMax(out, __float_as_uint(m));
}

static float diff(const float* a, const float* b, size_t n, unsigned* dev) {
  CHECK(hipMemset(dev, 0, 4));
  hipLaunchKernelGGL(max_abs_diff, dim3(2048), dim3(256), 0, (hipStream_t)0, a, b, n, dev);
  CHECK(hipGetLastError());
  unsigned bits;
  CHECK(hipMemcpy(&bits, dev, 4, hipMemcpyDeviceToHost));
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

#if defined(SINKRT_NVIDIA)
// GPU time per call without the host's launch gaps: `per` calls captured once in a CUDA graph and
// replayed (median of the replays). The event figure above includes the host side of each call.
template <class F>
static float graph_ms(int per, int reps, F&& launch) {
  cudaStream_t st;
  CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeRelaxed));
  for (int i = 0; i < per; i++) launch(i, st);
  CHECK(cudaStreamEndCapture(st, &g));
  CHECK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  std::vector<float> t;
  for (int i = 0; i < reps + 1; i++) {
    CHECK(cudaEventRecord(a, st));
    CHECK(cudaGraphLaunch(ge, st));
    CHECK(cudaEventRecord(b, st));
    CHECK(cudaEventSynchronize(b));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    if (i > 0) t.push_back(ms / per);
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  CHECK(cudaGraphExecDestroy(ge));
  CHECK(cudaGraphDestroy(g));
  CHECK(cudaStreamDestroy(st));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
#endif

// Device buffers of the decode benchmarks: a cache of numBlocks blocks (K and V filled in [-1, 1)),
// queries and outputs for up to 256 sequences, one sink logit per head (uniform in [0, 3)), the
// workspace, and perm, a shuffled order of the cache blocks for the block tables.
struct DecodeBufs {
  void *kc, *vc, *q, *sinks, *ws;
  float *out, *lse;
  int *qsl, *sl, *bt;
  size_t wsBytes;
  std::vector<int> perm;
  DecodeBufs(size_t numBlocks, size_t workspaceBytes) : wsBytes(workspaceBytes), perm(numBlocks) {
    const size_t cacheElems = numBlocks * BS * Hkv * D;
    CHECK(hipMalloc(&kc, cacheElems * 2));
    CHECK(hipMalloc(&vc, cacheElems * 2));
    fill(kc, cacheElems, 11);
    fill(vc, cacheElems, 12);
    CHECK(hipMalloc(&q, 256 * Hq * D * 2));
    fill(q, 256 * Hq * D, 13);
    CHECK(hipMalloc(&out, 256 * Hq * D * 4));
    CHECK(hipMalloc(&lse, 256 * Hq * 4));
    std::vector<float> hs(Hq);
    std::mt19937 rng(7);
    for (auto& x : hs) x = std::uniform_real_distribution<float>(0.f, 3.f)(rng);
    CHECK(hipMalloc(&sinks, Hq * 4));
    CHECK(hipMemcpy(sinks, hs.data(), Hq * 4, hipMemcpyHostToDevice));
    for (size_t i = 0; i < numBlocks; i++) perm[i] = (int)i;
    std::shuffle(perm.begin(), perm.end(), rng);
    CHECK(hipMalloc(&ws, wsBytes));
    CHECK(hipMalloc(&qsl, 257 * 4));
    CHECK(hipMalloc(&sl, 256 * 4));
    CHECK(hipMalloc(&bt, numBlocks * 4));
  }
  ~DecodeBufs() {
    for (void* p : {kc, vc, q, sinks, ws, (void*)out, (void*)lse, (void*)qsl, (void*)sl, (void*)bt}) CHECK(hipFree(p));
  }
  // batch decode sequences (one query token each) of ctx keys: query ranges and lengths uploaded,
  // the block table is the caller's (bt + an offset), args for one call returned.
  sinkrt_paged_args decode(const sinkrt_device_info& info, int kernel, int batch, int ctx, bool withSinks) {
    std::vector<int> hq(batch + 1), hl(batch, ctx);
    for (int i = 0; i <= batch; i++) hq[i] = i;
    CHECK(hipMemcpy(qsl, hq.data(), (batch + 1) * 4, hipMemcpyHostToDevice));
    CHECK(hipMemcpy(sl, hl.data(), batch * 4, hipMemcpyHostToDevice));
    sinkrt_paged_args a{};
    a.kernel = kernel;
    a.dtype = SINKRT_BF16;
    a.headSize = D; a.numQueryHeads = Hq; a.numKvHeads = Hkv; a.blockSize = BS;
    a.scale = 0.125f; a.softcap = 0; a.slidingWindow = 0;
    a.sinks = withSinks ? (const float*)sinks : nullptr;
    a.query = q; a.keyCache = kc; a.valueCache = vc; a.output = out; a.lse = lse;
    a.queryStartLoc = qsl; a.seqLens = sl; a.blockTable = bt; a.maxBlocksPerSeq = ctx / BS;
    a.seqBegin = 0; a.numSeqs = batch; a.maxQueryLen = 1; a.maxKeys = ctx;
    a.computeUnits = info.computeUnits;
    a.workspace = ws; a.workspaceBytes = wsBytes; a.stream = nullptr;
    if (sinkrt_paged_attention_workspace(&a) > wsBytes) { fprintf(stderr, "workspace too small\n"); exit(1); }
    return a;
  }
};

static void bench_decode(const sinkrt_device_info& info, int segOverride, int onlyBatch, bool simt, bool gather) {
  const size_t numBlocks = 256ull * 32768 / BS;
  DecodeBufs m(numBlocks, 1ull << 30);  // workspace: partials of the most-split config fit easily
  void *kc = m.kc, *vc = m.vc, *ws = m.ws;
  float *out = m.out, *lse = m.lse;
  int* bt = m.bt;
  const std::vector<int>& perm = m.perm;
  float *refOut, *refLse;  // the matrix-unit kernel's result (sinks on), compared with the SIMT kernel's
  unsigned* dmax;
  CHECK(hipMalloc(&refOut, 256 * Hq * D * 4));
  CHECK(hipMalloc(&refLse, 256 * Hq * 4));
  CHECK(hipMalloc(&dmax, 4));
  if (gather) {
    const int batch = 256, ctx = 32768, mbps = ctx / BS;
    CHECK(hipMemcpy(bt, perm.data(), (size_t)batch * mbps * 4, hipMemcpyHostToDevice));
    const double bytes = (double)batch * ctx * Hkv * D * 2 * 2;
    for (int rowMode : {0, 1}) {
      const float ms = median_ms(2, 10, [&](int) {
        hipLaunchKernelGGL(gather_kv, dim3(batch * 32 * 32 / 256), dim3(256), 0, (hipStream_t)0, (const uint4*)kc, (const uint4*)vc, bt, ctx, mbps,
                           rowMode, (unsigned*)ws);
      });
      CHECK(hipGetLastError());
      printf("{\"kind\":\"gather\",\"mode\":\"%s\",\"batch\":%d,\"context\":%d,\"ms\":%.5f,\"tbps\":%.4f}\n", rowMode ? "row" : "piece", batch, ctx, ms,
             bytes / (ms * 1e-3) / 1e12);
      fflush(stdout);
    }
  }
  for (int batch : {1, 8, 64, 256}) {
    if (onlyBatch > 0 && batch != onlyBatch) continue;
    for (int ctx : {1024, 8192, 32768}) {
      const int blocksPerSeq = ctx / BS;
      const size_t need = (size_t)batch * blocksPerSeq;
      const double bytes = (double)batch * ctx * Hkv * D * 2 * 2;
      const int rot = (int)std::max<size_t>(1, std::min<size_t>(numBlocks / need, (size_t)((1ull << 30) / bytes + 1)));
      // Rotation r uses blocks perm[r * need, (r + 1) * need): disjoint sets, shuffled.
      CHECK(hipMemcpy(bt, perm.data(), (size_t)rot * need * 4, hipMemcpyHostToDevice));
      for (int kernel : {SINKRT_KERNEL_MMA, SINKRT_KERNEL_SIMT})
      for (int withSinks : {0, 1}) {
        if (kernel == SINKRT_KERNEL_SIMT && !simt) continue;
        sinkrt_paged_args a = m.decode(info, kernel, batch, ctx, withSinks);
        a.forceSegments = segOverride;
        if (sinkrt_paged_attention_workspace(&a) > m.wsBytes) { fprintf(stderr, "workspace too small\n"); exit(1); }
        const float ms = median_ms(3, 30, [&](int i) {
          a.blockTable = bt + (size_t)(i % rot) * need;
          SK(sinkrt_paged_attention(&a));
        });
        // The same rotation's result (the last timed call) of both kernels, sinks on: largest differences.
        const size_t nOut = (size_t)batch * Hq * D, nLse = (size_t)batch * Hq;
        if (withSinks && kernel == SINKRT_KERNEL_MMA) {
          CHECK(hipMemcpy(refOut, out, nOut * 4, hipMemcpyDeviceToDevice));
          CHECK(hipMemcpy(refLse, lse, nLse * 4, hipMemcpyDeviceToDevice));
        } else if (withSinks) {
          printf("{\"kind\":\"decodeCheck\",\"batch\":%d,\"context\":%d,\"maxDiffOutMmaVsSimt\":%.3g,\"maxDiffLseMmaVsSimt\":%.3g}\n", batch, ctx,
                 diff(out, refOut, nOut, dmax), diff(lse, refLse, nLse, dmax));
        }
        float gms = -1.f;
#if defined(SINKRT_NVIDIA)
        if (kernel == SINKRT_KERNEL_MMA) {
          gms = graph_ms(10, 6, [&](int i, cudaStream_t st) {
            sinkrt_paged_args g = a;
            g.blockTable = bt + (size_t)(i % rot) * need;
            g.stream = st;
            SK(sinkrt_paged_attention(&g));
          });
        }
#endif
        printf("{\"kind\":\"decode\",\"kernel\":\"%s\",\"batch\":%d,\"context\":%d,\"sinks\":%s,\"segments\":%d,\"variant\":\"%s\",\"rotations\":%d,\"ms\":%.5f,\"tbps\":%.4f,\"graphMs\":%.5f,\"graphTbps\":%.4f}\n",
               kernel == SINKRT_KERNEL_MMA ? "paged_decode_mma" : "paged_decode_simt", batch, ctx, withSinks ? "true" : "false", sinkrt_paged_attention_segments(&a),
               kernel == SINKRT_KERNEL_SIMT ? "simt" : variant_name(sinkrt_paged_decode_variant(&a)), rot, ms, bytes / (ms * 1e-3) / 1e12, gms,
               gms > 0 ? bytes / (gms * 1e-3) / 1e12 : -1.0);
        fflush(stdout);
      }
    }
  }
  for (void* p : {(void*)refOut, (void*)refLse, (void*)dmax}) CHECK(hipFree(p));
}

#if SK_PD_TRACE
extern "C" int sinkrt_pd_trace_read(unsigned long long* host, int clear);  // paged_decode.hip, trace builds
// --trace (a build with -DSK_PD_TRACE=1): batch 256, sinks on, contexts 1K and 8K: one call after
// warm-up, timed by events, then every block's stamps of the row kernel (paged_decode_rows.h) as one
// JSON line per block, times in ns from the earliest block entry.
static void trace_decode(const sinkrt_device_info& info) {
  const int batch = 256, blocksMax = 256 * 8192 / BS;
  DecodeBufs m(blocksMax, 1ull << 28);
  const std::vector<int>& perm = m.perm;
  std::vector<unsigned long long> tr(1 << 20);
  for (int ctx : {1024, 8192}) {
    const int mbps = ctx / BS;
    // One call reads batch x ctx tokens; 8K uses the whole cache, 1K an eighth of it per call
    // (the warm-up calls read other eighths, so the traced call's bytes are not in the L2).
    const int rot = 8192 / ctx;
    CHECK(hipMemcpy(m.bt, perm.data(), (size_t)blocksMax * 4, hipMemcpyHostToDevice));
    sinkrt_paged_args a = m.decode(info, SINKRT_KERNEL_MMA, batch, ctx, true);
    // The same bytes gathered as whole token rows without the attention (gather_kv, row mode): the
    // access pattern's ceiling at this size, by events, as one call.
    {
      const double bytes = (double)batch * ctx * Hkv * D * 2 * 2;
      const float gms = median_ms(2, 10, [&](int i) {
        hipLaunchKernelGGL(gather_kv, dim3(batch * 32 * 32 / 256), dim3(256), 0, (hipStream_t)0, (const uint4*)m.kc, (const uint4*)m.vc,
                           m.bt + (size_t)(i % rot) * batch * mbps, ctx, mbps, 1, (unsigned*)m.ws);
      });
      CHECK(hipGetLastError());
      printf("{\"kind\":\"traceGather\",\"context\":%d,\"ms\":%.5f,\"tbps\":%.4f}\n", ctx, gms, bytes / (gms * 1e-3) / 1e12);
    }
    for (int rep = 0; rep < 3; rep++) {
      float ms = 0;
      for (int i = 0; i < 4; i++) {
        a.blockTable = m.bt + (size_t)((rep * 4 + i) % rot) * batch * mbps;
        if (i == 3 && sinkrt_pd_trace_read(nullptr, 1) < 0) { fprintf(stderr, "trace clear failed\n"); exit(1); }
        ms = median_ms(0, 1, [&](int) { SK(sinkrt_paged_attention(&a)); });
      }
      const int stride = sinkrt_pd_trace_read(tr.data(), 0);
      if (stride < 0) { fprintf(stderr, "trace read failed\n"); exit(1); }
      const int blocks = 2 * info.computeUnits < batch ? 2 * info.computeUnits : batch;
      unsigned long long t0 = ~0ull;
      for (int b = 0; b < blocks; b++) if (tr[b * stride + 1] && tr[b * stride + 1] < t0) t0 = tr[b * stride + 1];
      const double bytes = (double)batch * ctx * Hkv * D * 2 * 2;
      printf("{\"kind\":\"traceCall\",\"context\":%d,\"rep\":%d,\"variant\":\"%s\",\"ms\":%.5f,\"tbps\":%.4f}\n", ctx, rep,
             variant_name(sinkrt_paged_decode_variant(&a)), ms, bytes / (ms * 1e-3) / 1e12);
      for (int b = 0; b < blocks; b++) {
        const unsigned long long* r = &tr[(size_t)b * stride];
        const int n = (int)std::min<unsigned long long>(r[3], (unsigned long long)(stride - 4));
        printf("{\"kind\":\"trace\",\"context\":%d,\"rep\":%d,\"block\":%d,\"sm\":%llu,\"entry\":%lld,\"exit\":%lld,\"tiles\":%llu,\"ready\":[", ctx, rep, b,
               r[0], (long long)(r[1] - t0), (long long)(r[2] - t0), r[3]);
        for (int i = 0; i < n; i++) printf("%s%lld", i ? "," : "", (long long)(r[4 + i] - t0));
        printf("]}\n");
      }
      fflush(stdout);
    }
  }
}
#endif

// rowTiles selects the prefill kernel (sinkrt_prefill in prefill.hip): 0 default, 1 mma.sync one
// 16-row tile per warp (the default before wgmma), 2 two tiles, 3..5 wgmma variants (sm_90 only).
// Every variant's output and lse are compared with rowTiles 1 (sinks on) in the same run: "maxDiff".
static void bench_prefill(const sinkrt_device_info& info, bool wgmma) {
  const int shapes[][2] = {{1, 1024}, {1, 8192}, {1, 32768}, {8, 1024}, {8, 8192}, {64, 1024}, {256, 1024}};
  for (const auto& s : shapes) {
    const int batch = s[0], S = s[1];
    const size_t T = (size_t)batch * S;
    void *q, *k, *v, *sinks;
    float *out, *lse, *refOut, *refLse;
    int* qsl;
    unsigned* dmax;
    CHECK(hipMalloc(&q, T * Hq * D * 2));
    CHECK(hipMalloc(&k, T * Hkv * D * 2));
    CHECK(hipMalloc(&v, T * Hkv * D * 2));
    CHECK(hipMalloc(&out, T * Hq * D * 4));
    CHECK(hipMalloc(&lse, T * Hq * 4));
    CHECK(hipMalloc(&refOut, T * Hq * D * 4));
    CHECK(hipMalloc(&refLse, T * Hq * 4));
    CHECK(hipMalloc(&dmax, 4));
    CHECK(hipMalloc(&sinks, Hq * 4));
    CHECK(hipMalloc(&qsl, (batch + 1) * 4));
    fill(q, T * Hq * D, 21);
    fill(k, T * Hkv * D, 22);
    fill(v, T * Hkv * D, 23);
    std::vector<float> hs(Hq, 1.5f);
    CHECK(hipMemcpy(sinks, hs.data(), Hq * 4, hipMemcpyHostToDevice));
    std::vector<int> hq(batch + 1);
    for (int i = 0; i <= batch; i++) hq[i] = i * S;
    CHECK(hipMemcpy(qsl, hq.data(), (batch + 1) * 4, hipMemcpyHostToDevice));
    const double flops = 2.0 * batch * (double)S * S * D * Hq;  // QK^T and PV, causal half
    // (sinks, rowTiles); the first is the reference for maxDiff.
    const int variants[][2] = {{1, 1}, {1, 0}, {0, 0}, {1, 2}, {1, 3}, {1, 4}, {1, 5}};
    for (const auto& var : variants) {
      const int withSinks = var[0];
      if (var[1] >= 3 && !wgmma) continue;
      sinkrt_prefill_args a{};
      a.rowTiles = var[1];
      a.dtype = SINKRT_BF16;
      a.headSize = D; a.numQueryHeads = Hq; a.numKvHeads = Hkv;
      a.scale = 0.125f; a.softcap = 0; a.slidingWindow = 0;
      a.sinks = withSinks ? (const float*)sinks : nullptr;
      a.query = q; a.key = k; a.value = v; a.output = out; a.lse = lse;
      a.queryStartLoc = qsl; a.seqBegin = 0; a.numSeqs = batch; a.maxQueryLen = S;
      a.waveSize = info.waveSize; a.stream = nullptr;
      const float ms = median_ms(3, 20, [&](int) { SK(sinkrt_prefill(&a)); });
      float dOut = 0.f, dLse = 0.f;
      if (var[1] == 1) {
        CHECK(hipMemcpy(refOut, out, T * Hq * D * 4, hipMemcpyDeviceToDevice));
        CHECK(hipMemcpy(refLse, lse, T * Hq * 4, hipMemcpyDeviceToDevice));
      } else if (withSinks) {
        dOut = diff(out, refOut, T * Hq * D, dmax);
        dLse = diff(lse, refLse, T * Hq, dmax);
      }
      printf("{\"kind\":\"prefill\",\"batch\":%d,\"seqLen\":%d,\"sinks\":%s,\"rowTiles\":%d,\"ms\":%.5f,\"tflops\":%.3f,\"maxDiffOut\":%.3g,\"maxDiffLse\":%.3g}\n",
             batch, S, withSinks ? "true" : "false", a.rowTiles, ms, flops / (ms * 1e-3) / 1e12, dOut, dLse);
      fflush(stdout);
    }
    for (void* p : {q, k, v, sinks, (void*)out, (void*)lse, (void*)refOut, (void*)refLse, (void*)qsl, (void*)dmax}) CHECK(hipFree(p));
  }
}

// --prefill-diag DIR: one sequence of 128 tokens, one head, head size 64, bf16, scale 1, no sinks;
// Q and K uniform in [-1, 1) from a fixed LCG, V[key][d] = (key % 64 == d), so out[q][d] holds the
// attention weights of keys d and d + 64. Writes DIR/prefill-diag.bin: Q and K (bf16), then per kernel
// variant rowTiles 1, 3, 4, 5 its output and lse (f32), for offline comparison with an exact softmax.
static void prefill_diag(const char* dir) {
  const int S = 128, Dm = 64;
  std::vector<uint16_t> hq(S * Dm), hk(S * Dm), hv(S * Dm);
  uint32_t st = 12345;
  auto rnd = [&]() { st = st * 1664525u + 1013904223u; return (st >> 8) / 8388608.f - 1.f; };
  auto bf = [](float f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); };
  for (auto& x : hq) x = bf(rnd());
  for (auto& x : hk) x = bf(rnd());
  for (int r = 0; r < S; r++)
    for (int d = 0; d < Dm; d++) hv[r * Dm + d] = bf(r % 64 == d ? 1.f : 0.f);
  void *q, *k, *v;
  float *out, *lse;
  int* qsl;
  CHECK(hipMalloc(&q, S * Dm * 2));
  CHECK(hipMalloc(&k, S * Dm * 2));
  CHECK(hipMalloc(&v, S * Dm * 2));
  CHECK(hipMalloc(&out, S * Dm * 4));
  CHECK(hipMalloc(&lse, S * 4));
  CHECK(hipMalloc(&qsl, 8));
  CHECK(hipMemcpy(q, hq.data(), S * Dm * 2, hipMemcpyHostToDevice));
  CHECK(hipMemcpy(k, hk.data(), S * Dm * 2, hipMemcpyHostToDevice));
  CHECK(hipMemcpy(v, hv.data(), S * Dm * 2, hipMemcpyHostToDevice));
  const int hqsl[2] = {0, S};
  CHECK(hipMemcpy(qsl, hqsl, 8, hipMemcpyHostToDevice));
  char path[512];
  snprintf(path, sizeof path, "%s/prefill-diag.bin", dir);
  FILE* f = fopen(path, "wb");
  if (!f) { perror(path); exit(1); }
  auto save = [&](const char*, const void* p, size_t n) { fwrite(p, 1, n, f); };
  save("q", hq.data(), S * Dm * 2);
  save("k", hk.data(), S * Dm * 2);
  for (int rt : {1, 3, 4, 5}) {
    sinkrt_prefill_args a{};
    a.rowTiles = rt;
    a.dtype = SINKRT_BF16;
    a.headSize = Dm; a.numQueryHeads = 1; a.numKvHeads = 1;
    a.scale = 1.f; a.softcap = 0; a.slidingWindow = 0; a.sinks = nullptr;
    a.query = q; a.key = k; a.value = v; a.output = out; a.lse = lse;
    a.queryStartLoc = qsl; a.seqBegin = 0; a.numSeqs = 1; a.maxQueryLen = S; a.waveSize = 32; a.stream = nullptr;
    CHECK(hipMemset(out, 0, S * Dm * 4));
    SK(sinkrt_prefill(&a));
    CHECK(hipDeviceSynchronize());
    std::vector<float> ho(S * Dm), hl(S);
    CHECK(hipMemcpy(ho.data(), out, S * Dm * 4, hipMemcpyDeviceToHost));
    CHECK(hipMemcpy(hl.data(), lse, S * 4, hipMemcpyDeviceToHost));
    save("out", ho.data(), S * Dm * 4);
    save("lse", hl.data(), S * 4);
  }
  fclose(f);
  for (void* p : {q, k, v, (void*)out, (void*)lse, (void*)qsl}) CHECK(hipFree(p));
}

int main(int argc, char** argv) {
  sinkrt_device_info info;
  SK(sinkrt_device_info_get(&info));
  printf("{\"kind\":\"device\",\"name\":\"%s\",\"arch\":\"%s\",\"computeUnits\":%d,\"waveSize\":%d}\n", info.name, info.arch,
         info.computeUnits, info.waveSize);
  int seg = 0, onlyBatch = 0;
  bool simt = true;
  bool copy = true, decode = true, prefill = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--segments") && i + 1 < argc) seg = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) onlyBatch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--no-simt")) simt = false;
    else if (!strcmp(argv[i], "--no-prefill")) prefill = false;
    else if (!strcmp(argv[i], "--only-decode")) copy = prefill = false;
    else if (!strcmp(argv[i], "--only-prefill")) copy = decode = false;
    else if (!strcmp(argv[i], "--prefill-diag") && i + 1 < argc) { prefill_diag(argv[++i]); return 0; }
#if SK_PD_TRACE
    else if (!strcmp(argv[i], "--trace")) { trace_decode(info); return 0; }
#endif
  }
  if (copy) bench_copy();
  if (copy) bench_read(info);
  if (decode) bench_decode(info, seg, onlyBatch, simt, copy);
  if (prefill) bench_prefill(info, !strncmp(info.arch, "sm_9", 4));
  return 0;
}
