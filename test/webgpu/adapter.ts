// Shared by the WebGPU suites: one probe of the Node adapter (Dawn over Vulkan; lavapipe in CI).
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../../src/backends/webgpu/index.js';
import { createNodeDevice, loadShadersFromDisk } from '../../src/backends/webgpu/node.js';

export interface AdapterProbe {
  /** null when a device can be created here, else why the suites skip. */
  skipReason: string | null;
  f16: boolean;
}

export async function probeAdapter(): Promise<AdapterProbe> {
  try {
    const { device } = await createNodeDevice();
    const f16 = device.features.has('shader-f16');
    device.destroy();
    return { skipReason: null, f16 };
  } catch (e) {
    return { skipReason: `no WebGPU adapter through Dawn (the 'webgpu' package): ${(e as Error).message}`, f16: false };
  }
}

export async function createNodeBackend(opts: Partial<Omit<WebGpuBackendOptions, 'shaders'>> = {}): Promise<WebGpuBackend> {
  const { device } = await createNodeDevice();
  return createWebGpuBackend(device, { shaders: loadShadersFromDisk(), ...opts });
}
