// Internals shared by the kernel files: error recording, the checked-call macro, dtype dispatch and
// 16-byte vector loads. Host code returns a status; sinkrt_last_error() holds the message.
#pragma once
#include "../hip_compat.h"
#include "sinkrt_kernels.h"

namespace sinkrt {

// Records "what failed: why (file:line)" for sinkrt_last_error() and returns a non-zero status.
int fail(const char* what, const char* why, const char* file, int line);
inline int fail_hip(hipError_t e, const char* what, const char* file, int line) {
  return fail(what, hipGetErrorString(e), file, line);
}

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

}  // namespace sinkrt

#define SK_CHECK(call)                                                              \
  do {                                                                              \
    hipError_t sk_e_ = (call);                                                      \
    if (sk_e_ != hipSuccess) return sinkrt::fail_hip(sk_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define SK_CHECK_LAUNCH(name) SK_CHECK(hipGetLastError())
#define SK_REQUIRE(cond, msg)                                                       \
  do {                                                                              \
    if (!(cond)) return sinkrt::fail("argument check", msg, __FILE__, __LINE__);     \
  } while (0)

#if defined(__CUDACC__) || defined(__HIPCC__)
// Eight 16-bit values as four 32-bit words, converted to f32 in order.
template <class T>
__device__ __forceinline__ void sk_unpack8(const uint4& w, float (&f)[8]) {
  float2 a = T::to_f32x2(w.x), b = T::to_f32x2(w.y), c = T::to_f32x2(w.z), d = T::to_f32x2(w.w);
  f[0] = a.x; f[1] = a.y; f[2] = b.x; f[3] = b.y; f[4] = c.x; f[5] = c.y; f[6] = d.x; f[7] = d.y;
}
#endif
