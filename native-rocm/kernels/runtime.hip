// Host side of the C interface that is not a kernel launch: errors, device facts, memory, streams,
// and the f32 <-> storage-dtype conversions (tiny element-wise kernels, grid-stride).
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

namespace sinkrt {
static thread_local char g_error[512] = "";

int fail(const char* what, const char* why, const char* file, int line) {
  const char* base = strrchr(file, '/');
  snprintf(g_error, sizeof g_error, "%s failed: %s (%s:%d)", what, why, base ? base + 1 : file, line);
  return 1;
}
}  // namespace sinkrt

template <class T>
__global__ void f32_to_storage_kernel(sk_u16* dst, const float* src, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = T::from_f32(src[i]);
}
template <class T>
__global__ void storage_to_f32_kernel(float* dst, const sk_u16* src, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = T::to_f32(src[i]);
}

static unsigned grid_for(size_t n) {
  size_t g = (n + 255) / 256;
  return (unsigned)(g < 8192 ? (g ? g : 1) : 8192);
}

extern "C" {

int sinkrt_abi_version(void) { return SINKRT_ABI_VERSION; }
const char* sinkrt_last_error(void) { return sinkrt::g_error; }
int sinkrt_report(const char* message) {
  snprintf(sinkrt::g_error, sizeof sinkrt::g_error, "%s", message);
  return 1;
}

int sinkrt_device_info_get(sinkrt_device_info* out) {
  memset(out, 0, sizeof *out);
  int count = 0;
  const hipError_t e = hipGetDeviceCount(&count);
#if defined(SINKRT_NVIDIA)
  // The usual case on a machine without a GPU: say so plainly rather than "driver version is insufficient".
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice)
    return sinkrt::fail("hipGetDeviceCount", "no NVIDIA driver (libcuda.so.1) new enough for the CUDA 13 runtime, or no GPU", __FILE__, __LINE__);
#endif
  if (e != hipSuccess) return sinkrt::fail_hip(e, "hipGetDeviceCount", __FILE__, __LINE__);
  if (count < 1) return sinkrt::fail("hipGetDeviceCount", "no GPU device found", __FILE__, __LINE__);
  SK_CHECK(hipSetDevice(0));
  hipDeviceProp_t prop;
  SK_CHECK(hipGetDeviceProperties(&prop, 0));
  snprintf(out->name, sizeof out->name, "%s", prop.name);
  snprintf(out->vendor, sizeof out->vendor, "%s", SINKRT_VENDOR);
  out->computeUnits = prop.multiProcessorCount;
  out->waveSize = prop.warpSize;
  out->totalMemory = prop.totalGlobalMem;
#if defined(SINKRT_NVIDIA)
  snprintf(out->arch, sizeof out->arch, "sm_%d%d", prop.major, prop.minor);
  out->hasMatrixUnits = prop.major >= 8;
#else
  snprintf(out->arch, sizeof out->arch, "%s", prop.gcnArchName);
  out->hasMatrixUnits = strncmp(prop.gcnArchName, "gfx90a", 6) == 0 || strncmp(prop.gcnArchName, "gfx94", 5) == 0;
#endif
  SK_CHECK(hipRuntimeGetVersion(&out->runtimeVersion));
  SK_CHECK(hipDriverGetVersion(&out->driverVersion));
  return 0;
}

int sinkrt_malloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  SK_CHECK(hipMalloc(ptr, bytes ? bytes : 16));
  return 0;
}
int sinkrt_free(void* ptr) {
  if (ptr) SK_CHECK(hipFree(ptr));
  return 0;
}
int sinkrt_memcpy_h2d(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes) SK_CHECK(hipMemcpyAsync(dst, src, bytes, hipMemcpyHostToDevice, (hipStream_t)stream));
  return 0;
}
int sinkrt_memcpy_d2h(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes) SK_CHECK(hipMemcpyAsync(dst, src, bytes, hipMemcpyDeviceToHost, (hipStream_t)stream));
  return 0;
}
int sinkrt_memset(void* dst, int value, size_t bytes, void* stream) {
  if (bytes) SK_CHECK(hipMemsetAsync(dst, value, bytes, (hipStream_t)stream));
  return 0;
}
int sinkrt_stream_create(void** stream) {
  hipStream_t s;
  SK_CHECK(hipStreamCreate(&s));
  *stream = (void*)s;
  return 0;
}
int sinkrt_stream_destroy(void* stream) {
  SK_CHECK(hipStreamDestroy((hipStream_t)stream));
  return 0;
}
int sinkrt_stream_sync(void* stream) {
  SK_CHECK(hipStreamSynchronize((hipStream_t)stream));
  return 0;
}

int sinkrt_f32_to_storage(void* dst, const float* src, size_t n, int dtype, void* stream) {
  if (!n) return 0;
  hipStream_t s = (hipStream_t)stream;
  if (dtype == SINKRT_F16) hipLaunchKernelGGL(f32_to_storage_kernel<sk_f16>, dim3(grid_for(n)), dim3(256), 0, s, (sk_u16*)dst, src, n);
  else if (dtype == SINKRT_BF16) hipLaunchKernelGGL(f32_to_storage_kernel<sk_bf16>, dim3(grid_for(n)), dim3(256), 0, s, (sk_u16*)dst, src, n);
  else return sinkrt::fail("f32_to_storage", "dtype must be f16 (1) or bf16 (2)", __FILE__, __LINE__);
  SK_CHECK_LAUNCH("f32_to_storage");
  return 0;
}
int sinkrt_storage_to_f32(float* dst, const void* src, size_t n, int dtype, void* stream) {
  if (!n) return 0;
  hipStream_t s = (hipStream_t)stream;
  if (dtype == SINKRT_F16) hipLaunchKernelGGL(storage_to_f32_kernel<sk_f16>, dim3(grid_for(n)), dim3(256), 0, s, dst, (const sk_u16*)src, n);
  else if (dtype == SINKRT_BF16) hipLaunchKernelGGL(storage_to_f32_kernel<sk_bf16>, dim3(grid_for(n)), dim3(256), 0, s, dst, (const sk_u16*)src, n);
  else return sinkrt::fail("storage_to_f32", "dtype must be f16 (1) or bf16 (2)", __FILE__, __LINE__);
  SK_CHECK_LAUNCH("storage_to_f32");
  return 0;
}

}  // extern "C"
