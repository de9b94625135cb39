// Portability header: the kernels are written against the HIP API; this header lets the same sources
// build with hipcc for AMD (gfx90a, gfx940, gfx1030, ...) and with nvcc for NVIDIA (sm_90a), the way
// HIP's own NVIDIA mode maps one API onto the other. Only what the kernels and the host glue use is
// mapped; anything else is a compile error, which is the point.
//
// Also defines, for device code:
//   SINKRT_WAVE      lanes per wave/warp at compile time (64 on CDNA, 32 on NVIDIA and RDNA wave32)
//   SINKRT_HAS_MMA   1 where matrix units exist (MFMA on CDNA gfx90a/gfx94x, mma.sync on sm_80+)
//   sk_shfl_xor      a butterfly shuffle across the whole wave
// Storage dtypes are carried as raw 16-bit words (sk_u16) and converted by hand, so the two vendors'
// bf16 classes never meet the kernels.
#pragma once

#if defined(__CUDACC__) && !defined(__HIP_PLATFORM_AMD__)
#define SINKRT_NVIDIA 1
#include <cuda_runtime.h>
#include <cuda_fp16.h>

typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
typedef cudaDeviceProp hipDeviceProp_t;
#define hipSuccess cudaSuccess
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError
#define hipGetDeviceCount cudaGetDeviceCount
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipSetDevice cudaSetDevice
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemset cudaMemset
#define hipMemsetAsync cudaMemsetAsync
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipStreamCreate cudaStreamCreate
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipDeviceSynchronize cudaDeviceSynchronize
#define hipEventCreate cudaEventCreate
#define hipEventDestroy cudaEventDestroy
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipFuncSetAttribute cudaFuncSetAttribute
#define hipOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define hipFuncAttributeMaxDynamicSharedMemorySize cudaFuncAttributeMaxDynamicSharedMemorySize
#define hipDriverGetVersion cudaDriverGetVersion
#define hipRuntimeGetVersion cudaRuntimeGetVersion
#define hipLaunchKernelGGL(k, grid, block, shmem, stream, ...) k<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#define SINKRT_VENDOR "nvidia"
#else
#define SINKRT_AMD 1
#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>
#define SINKRT_VENDOR "amd"
#endif

#include <stdint.h>

typedef uint16_t sk_u16;

// ---- wave size and matrix units (device pass only; the host pass sees placeholders) ----
#if defined(SINKRT_NVIDIA)
#define SINKRT_WAVE 32
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SINKRT_HAS_MMA 1
#endif
#else
#if defined(__AMDGCN_WAVEFRONT_SIZE)
#define SINKRT_WAVE __AMDGCN_WAVEFRONT_SIZE
#else
#define SINKRT_WAVE 64
#endif
#if defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#define SINKRT_HAS_MMA 1
#define SINKRT_MFMA_BF16_1K 1
#elif defined(__gfx908__)
#define SINKRT_HAS_MMA 1
#endif
#endif
#ifndef SINKRT_HAS_MMA
#define SINKRT_HAS_MMA 0
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)
__device__ __forceinline__ float sk_shfl_xor(float v, int mask) {
#if defined(SINKRT_NVIDIA)
  return __shfl_xor_sync(0xffffffffu, v, mask);
#else
  return __shfl_xor(v, mask);
#endif
}

// 16-byte global -> shared copies that complete asynchronously where the hardware has them
// (cp.async, sm_80+): no registers held while in flight, so a wave can keep a whole tile loading
// while it computes on another. Elsewhere a plain load and store (complete at once). !valid zero-fills.
__device__ __forceinline__ void sk_copy16_async(void* smem, const void* gmem, bool valid) {
#if defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0));
#else
  *reinterpret_cast<uint4*>(smem) = valid ? *reinterpret_cast<const uint4*>(gmem) : make_uint4(0, 0, 0, 0);
#endif
}
__device__ __forceinline__ void sk_copy_commit() {
#if defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void sk_copy_wait() {
#if defined(SINKRT_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// bf16 <-> f32 by bit manipulation (round to nearest even; NaN stays NaN).
__device__ __forceinline__ float sk_bf16_to_f32(sk_u16 x) { return __uint_as_float(((uint32_t)x) << 16); }
__device__ __forceinline__ sk_u16 sk_f32_to_bf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (sk_u16)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (sk_u16)(u >> 16);
}
__device__ __forceinline__ float sk_f16_to_f32(sk_u16 x) { return __half2float(__ushort_as_half(x)); }
__device__ __forceinline__ sk_u16 sk_f32_to_f16(float f) { return __half_as_ushort(__float2half_rn(f)); }

// Storage dtype tags: the kernels are templates over these.
struct sk_f16 {
  static __device__ __forceinline__ float to_f32(sk_u16 x) { return sk_f16_to_f32(x); }
  static __device__ __forceinline__ sk_u16 from_f32(float f) { return sk_f32_to_f16(f); }
  // Two packed values (low half first) to two floats.
  static __device__ __forceinline__ float2 to_f32x2(uint32_t w) {
    return __half22float2(*reinterpret_cast<const __half2*>(&w));
  }
  static constexpr bool kIsBf16 = false;
};
struct sk_bf16 {
  static __device__ __forceinline__ float to_f32(sk_u16 x) { return sk_bf16_to_f32(x); }
  static __device__ __forceinline__ sk_u16 from_f32(float f) { return sk_f32_to_bf16(f); }
  static __device__ __forceinline__ float2 to_f32x2(uint32_t w) {
    return make_float2(__uint_as_float(w << 16), __uint_as_float(w & 0xffff0000u));
  }
  static constexpr bool kIsBf16 = true;
};
#endif
