// Node helpers for the WebGPU backend: read shaders/ from the package, and create a GPUDevice with
// the `webgpu` package (Dawn). Kept apart from the backend so a browser bundle never imports node:*.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SinkrtError } from '../types.js';
import { requestSinkrtDevice } from './device.js';
import { checkSources, SHADER_NAMES, type ShaderSources } from './shaders.js';

/** Finds the package's shaders/ folder by walking up from this module (src/ in tests, dist/src/ when built). */
export function shaderDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'shaders', 'paged_decode.wgsl'))) return join(dir, 'shaders');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new SinkrtError('E_SHADER', `shaders/ not found above ${dirname(fileURLToPath(import.meta.url))}`);
}

export function loadShadersFromDisk(dir = shaderDir()): ShaderSources {
  const rec: Record<string, string> = {};
  for (const n of SHADER_NAMES) rec[n] = readFileSync(join(dir, `${n}.wgsl`), 'utf8');
  return checkSources(rec);
}

export interface NodeDeviceOptions {
  /** Dawn backend, e.g. 'vulkan' (default: Dawn's choice). */
  backend?: string;
  /** Dawn hides shader-f16 on NVIDIA/Vulkan unless this toggle is set. Default true. */
  enableF16OnNvidia?: boolean;
  /** Extra Dawn create() options. */
  dawnOptions?: string[];
  /**
   * Dawn toggle allow_unsafe_apis (default false): Dawn lists its experimental features, among them
   * chromium-experimental-subgroup-matrix (matrix units for the opt-in decodeVariant 'mma', reported
   * by the backend's subgroupMatrix), only with it. Request it only where 'mma' is used: the bench
   * and conformance runners turn it on for that variant, and probe-mma.ts / diag-mma.ts always.
   */
  allowUnsafeApis?: boolean;
  /** Ask for features the adapter offers (default: all the backend can use). */
  features?: GPUFeatureName[];
}

export interface NodeDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** The object `create()` returned: keep it referenced while the device lives (else Dawn aborts). */
  gpu: GPU;
}

/** null when Dawn (the optional `webgpu` package) gives an adapter here, else the reason it does not. */
export async function nodeAdapterUnavailable(opts: NodeDeviceOptions = {}): Promise<string | null> {
  try {
    const d = await createNodeDevice(opts);
    d.device.destroy();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export async function createNodeDevice(opts: NodeDeviceOptions = {}): Promise<NodeDevice> {
  let mod: { create: (o: string[]) => GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    // ES-module resolution ignores NODE_PATH; the GPU-machine bundle relies on it, so retry with
    // CommonJS resolution (which honours NODE_PATH) and import the file it finds.
    try {
      const path = createRequire(import.meta.url).resolve('webgpu');
      mod = (await import(pathToFileURL(path).href)) as unknown as typeof mod;
    } catch {
      throw new SinkrtError('E_NO_ADAPTER', `the optional 'webgpu' package (Dawn for Node) is not installed: ${(e as Error).message}`);
    }
  }
  // GPUBufferUsage and friends are globals in browsers; Dawn exports them.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const options = (opts.dawnOptions ?? []).filter((o) => !o.startsWith('enable-dawn-features='));
  if (opts.backend) options.push(`backend=${opts.backend}`);
  // Dawn takes one enable-dawn-features option: merge the caller's toggles with the f16 one.
  const enable = (opts.dawnOptions ?? []).filter((o) => o.startsWith('enable-dawn-features=')).map((o) => o.slice('enable-dawn-features='.length));
  if (opts.enableF16OnNvidia !== false) enable.push('vulkan_enable_f16_on_nvidia');
  if (opts.allowUnsafeApis === true) enable.push('allow_unsafe_apis');
  if (enable.length > 0) options.push(`enable-dawn-features=${enable.join(',')}`);
  const gpu = mod.create(options);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new SinkrtError('E_NO_ADAPTER', `Dawn found no WebGPU adapter (options: ${options.join(' ') || 'none'})`);
  const device = await requestSinkrtDevice(adapter, opts.features);
  // Keep Dawn's GPU object alive as long as the device (see TOOLCHAIN: GC of it aborts node).
  (device as unknown as { __sinkrtGpu?: GPU }).__sinkrtGpu = gpu;
  return { device, adapter, gpu };
}
