// Starts the WebGPU backend on the page's navigator.gpu (the path an Electron renderer takes), or
// says why it cannot. Shaders are fetched from the bundle's static/shaders/.

import type { AttentionBackend } from '../../../src/backends/backend.js';
import { createWebGpuBackend, loadShadersFromUrl, requestSinkrtDevice } from '../../../src/backends/webgpu/index.js';

export async function startPageWebGpu(shaderBase: URL): Promise<{ backend: AttentionBackend; device: GPUDevice } | { skip: string }> {
  if (!('gpu' in navigator) || !navigator.gpu) return { skip: 'navigator.gpu is missing (WebGPU not enabled in this browser)' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { skip: 'navigator.gpu.requestAdapter() returned null' };
  const device = await requestSinkrtDevice(adapter);
  const shaders = await loadShadersFromUrl(shaderBase);
  return { backend: await createWebGpuBackend(device, { shaders }), device };
}
