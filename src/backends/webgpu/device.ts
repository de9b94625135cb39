// Asking an adapter for the device the kernels want, the same way in Node (Dawn) and in browsers
// (navigator.gpu): the optional features sinkrt uses where offered, and the adapter's own limits
// rather than WebGPU's defaults (16 KiB of workgroup storage and 128 MiB bindings would cap the
// kernels' tiles and the cache size for no reason).

/** Dawn's experimental matrix-unit feature (VK_KHR_cooperative_matrix on Vulkan, simdgroup matrices on Metal). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;

/** Features the kernels use where the adapter offers them. */
export const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query', SUBGROUP_MATRIX_FEATURE];

/** One matrix-unit shape: M x K (f16) times K x N (f16) into M x N (f32). */
export interface SubgroupMatrixShape {
  M: number;
  N: number;
  K: number;
}

interface MatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/**
 * The matrix-unit configurations a GQA-8 decode kernel (paged_decode_mma) can use on this device,
 * best first: the feature enabled, f16 x f16 -> f32 with M = 16 (a row tile divides every accepted
 * block size), N of 8 or 16 (8 heads per KV head; 8 first: no padded columns), K = 16. Empty where
 * the adapter offers none (lavapipe, browsers without the experimental feature, Dawn without the
 * allow_unsafe_apis toggle).
 */
export function subgroupMatrixShapes(device: GPUDevice): SubgroupMatrixShape[] {
  if (!device.features.has(SUBGROUP_MATRIX_FEATURE) || !device.features.has('shader-f16')) return [];
  // Dawn (node 0.6.2) lists the configurations on the adapter's info but not on device.adapterInfo
  // (seen on the H100): requestSinkrtDevice keeps the adapter's list for the device it returns.
  const info = (device as unknown as { adapterInfo?: { subgroupMatrixConfigs?: readonly MatrixConfig[] } }).adapterInfo;
  const listed = info?.subgroupMatrixConfigs?.length ? info.subgroupMatrixConfigs : (adapterConfigs.get(device) ?? []);
  const usable = [...listed].filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && (c.N === 8 || c.N === 16) && c.K === 16);
  usable.sort((a, b) => a.N - b.N);
  return usable.map((c) => ({ M: c.M, N: c.N, K: c.K }));
}

/** The first of subgroupMatrixShapes, or null. */
export function subgroupMatrixShape(device: GPUDevice): SubgroupMatrixShape | null {
  return subgroupMatrixShapes(device)[0] ?? null;
}

const adapterConfigs = new WeakMap<GPUDevice, readonly MatrixConfig[]>();

export async function requestSinkrtDevice(adapter: GPUAdapter, features: GPUFeatureName[] = WANTED_FEATURES): Promise<GPUDevice> {
  const l = adapter.limits;
  const device = await adapter.requestDevice({
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
  const configs = (adapter.info as unknown as { subgroupMatrixConfigs?: readonly MatrixConfig[] } | undefined)?.subgroupMatrixConfigs;
  if (configs) adapterConfigs.set(device, configs.map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K })));
  return device;
}
