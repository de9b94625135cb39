// Asking an adapter for the device the kernels want, the same way in Node (Dawn) and in browsers
// (navigator.gpu): the optional features sinkrt uses where offered, and the adapter's own limits
// rather than WebGPU's defaults (16 KiB of workgroup storage and 128 MiB bindings would cap the
// kernels' tiles and the cache size for no reason).

/** Features the kernels use where the adapter offers them. */
export const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

export function requestSinkrtDevice(adapter: GPUAdapter, features: GPUFeatureName[] = WANTED_FEATURES): Promise<GPUDevice> {
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures: features.filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    },
  });
}
