// Backend discovery: which backends can run in this process, and why not where they cannot.
// `auto` tries rocm, then webgpu, then cpu, and keeps the first that starts; every attempt leaves a
// reason, so the caller (and `sinkrt info`) can say which backend was picked and why the others were not.
//
// A backend "can run" when its module loads and its factory returns a working backend: the native
// addon loads and sees a device (rocm), an adapter and device are granted (webgpu), the WASM module
// instantiates with SIMD (cpu). Backend modules are imported lazily, so a host without the native
// addon or the `webgpu` package never loads them.

import type { AttentionBackend, BackendName } from '../backends/backend.js';
import { SinkrtError, type Dtype } from '../backends/types.js';
import { RuntimeErrorCode } from './errors.js';

export const AUTO_ORDER: readonly BackendName[] = ['rocm', 'webgpu', 'cpu'];

/** Host objects a backend factory may use (a GPUDevice handed over by an Electron/browser host, ...). */
export interface BackendHostOptions {
  /** A WebGPU device to use instead of requesting one (browsers, Electron renderers). */
  gpuDevice?: GPUDevice;
  /** WGSL sources (shaders/*.wgsl by name); Node reads them from the package. */
  shaders?: unknown;
  /** Browsers: the URL of the folder of shaders/*.wgsl, when `shaders` is not given. */
  shaderUrl?: string | URL;
  /** Options of the CPU backend (e.g. { wasm: bytes } in a browser). */
  cpu?: Record<string, unknown>;
  /** Options of the rocm backend (RocmBackendOptions). */
  rocm?: Record<string, unknown>;
  /** Extra factory options, per backend, passed through as given. */
  [key: string]: unknown;
}

export interface ProbeResult {
  name: BackendName;
  available: boolean;
  /** Why it is available ("device ...") or why not (the error it gave). */
  reason: string;
  /** backend.describe() when it started. */
  facts?: Record<string, unknown>;
  ms: number;
}

function message(e: unknown): string {
  if (e instanceof Error) return e instanceof SinkrtError ? `${e.code}: ${e.message}` : e.message;
  return String(e);
}

// The WebGPU backend's browser-safe module is imported by its literal path, so bundlers (vite for
// browsers and Electron renderers) include it. Its Node helpers (node:fs, Dawn) and the ROCm addon
// are imported by computed names: bundlers leave them out, and Node loads them only when used.
const WEBGPU_NODE = '../backends/webgpu/node.js';
interface WebGpuNodeModule {
  createNodeDevice(): Promise<{ device: GPUDevice }>;
  loadShadersFromDisk(): import('../backends/webgpu/index.js').ShaderSources;
}

type Starter = (host: BackendHostOptions) => Promise<{ backend: AttentionBackend; release?: () => void }>;

/** What a starter created besides the backend (a GPUDevice it requested), released with it. */
const extras = new WeakMap<AttentionBackend, () => void>();

const inBrowser = typeof navigator !== 'undefined' && typeof (navigator as { gpu?: unknown }).gpu !== 'undefined' && typeof process === 'undefined';

const STARTERS: Record<BackendName, Starter> = {
  cpu: async (host) => {
    const { createCpuBackend } = await import('../backends/cpu/index.js');
    return { backend: await createCpuBackend((host.cpu ?? {}) as Parameters<typeof createCpuBackend>[0]) };
  },
  webgpu: async (host) => {
    const wg = await import('../backends/webgpu/index.js');
    let device = host.gpuDevice;
    let release: (() => void) | undefined;
    let shaders = host.shaders as import('../backends/webgpu/index.js').ShaderSources | undefined;
    if (device === undefined && inBrowser) {
      // Browsers and Electron renderers: navigator.gpu; shaders from host.shaders or host.shaderUrl.
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
      const d = await wg.requestSinkrtDevice(adapter);
      device = d;
      release = () => d.destroy();
    } else if (device === undefined) {
      // Node: Dawn through the optional `webgpu` package.
      const node = (await import(/* @vite-ignore */ WEBGPU_NODE)) as WebGpuNodeModule;
      const nd = await node.createNodeDevice();
      device = nd.device;
      release = () => nd.device.destroy();
      shaders ??= node.loadShadersFromDisk();
    }
    try {
      if (shaders === undefined) {
        if (host.shaderUrl === undefined) throw new Error('in a browser, host.shaders or host.shaderUrl (the folder of shaders/*.wgsl) is required');
        shaders = await wg.loadShadersFromUrl(host.shaderUrl);
      }
      return { backend: await wg.createWebGpuBackend(device, { shaders }), release };
    } catch (e) {
      release?.();
      throw e;
    }
  },
  rocm: async (host) => {
    // Imported by a computed name: the native addon's module exists only where it was built.
    const path = '../backends/rocm/index.js';
    const mod = (await import(/* @vite-ignore */ path)) as Record<string, unknown>;
    const f = mod.createRocmBackend;
    if (typeof f !== 'function') throw new Error('rocm backend module has no createRocmBackend()');
    return { backend: await (f as (o: Record<string, unknown>) => Promise<AttentionBackend>)(host.rocm ?? {}) };
  },
};

/** Starts one backend, or throws E_BACKEND_UNAVAILABLE with the reason. Release it with releaseBackend. */
export async function startBackend(name: BackendName, host: BackendHostOptions = {}): Promise<AttentionBackend> {
  try {
    const { backend, release } = await STARTERS[name](host);
    if (release) extras.set(backend, release);
    return backend;
  } catch (e) {
    const first = message(e).split('\n')[0];
    const what = /Cannot find module|Failed to fetch dynamically imported module/.test(first) ? `is not built or not installed here (${first})` : `did not start: ${first}`;
    throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `${name} backend ${what}`, { cause: e });
  }
}

/** Closes a backend from startBackend and whatever its starter created for it (a GPUDevice). */
export async function releaseBackend(backend: AttentionBackend): Promise<void> {
  try {
    await backend.close();
  } finally {
    extras.get(backend)?.();
    extras.delete(backend);
  }
}

function summarize(facts: Record<string, unknown>): string {
  const keys = ['adapter', 'device', 'vendor', 'architecture', 'description', 'simd', 'threads'];
  const parts = keys.filter((k) => facts[k] !== undefined && typeof facts[k] !== 'object').map((k) => `${k} ${String(facts[k])}`);
  return parts.length > 0 ? parts.join(', ') : 'started';
}

/** Probes one backend: starts it, reads its facts, closes it. */
export async function probeBackend(name: BackendName, host: BackendHostOptions = {}): Promise<ProbeResult> {
  const t0 = performance.now();
  try {
    const b = await startBackend(name, host);
    try {
      const facts = b.describe();
      return { name, available: true, reason: summarize(facts), facts, ms: performance.now() - t0 };
    } finally {
      await releaseBackend(b);
    }
  } catch (e) {
    return { name, available: false, reason: message(e), ms: performance.now() - t0 };
  }
}

/**
 * A WebGPU adapter that is a software rasterizer (lavapipe/llvmpipe, SwiftShader) runs attention far
 * slower than the cpu backend (2-core team machine, `node dist/bench/serve.js --quick`: 654 tokens/s
 * on cpu, 173 on webgpu over llvmpipe; bench/results/serve-x64-2core-20261124-quick.json), so `auto`
 * passes it over. Asking for
 * backend 'webgpu' by name still uses it. Returns the reason, or null for a hardware adapter.
 */
export function softwareAdapter(facts: Record<string, unknown>): string | null {
  const a = facts.adapter as Record<string, unknown> | undefined;
  if (a === undefined || typeof a !== 'object') return null;
  const text = [a.architecture, a.device, a.description, a.vendor].map((x) => String(x ?? '')).join(' ');
  if (a.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(text)) {
    return `adapter "${String(a.description || a.device || a.vendor)}" is a software rasterizer; the cpu backend is faster (ask for backend "webgpu" to use it anyway)`;
  }
  return null;
}

export interface AutoChoice {
  backend: AttentionBackend;
  name: BackendName;
  /** One line: which backend and why (with why the earlier ones in the order were passed over). */
  reason: string;
  probes: ProbeResult[];
}

/** Storage dtypes a backend's kernels declare (any kernel). */
export function backendDtypes(backend: AttentionBackend): Dtype[] {
  const all = Object.values(backend.capabilities.kernels).flatMap((k) => (k ? [...k.dtypes] : []));
  return (['bf16', 'f16', 'f32'] as const).filter((d) => all.includes(d));
}

/** Fastest storage dtype per backend, in order of preference (measured: bench/README.md). */
const PREFERRED_DTYPES: Record<BackendName, readonly Dtype[]> = {
  rocm: ['bf16', 'f16'], // matrix units; GPT-OSS's own dtype
  webgpu: ['f16', 'f32'], // half the bytes where shader-f16 exists
  cpu: ['f32', 'bf16', 'f16'], // no f16 arithmetic in WASM SIMD: f32 decodes fastest
};

/** Resolves cache dtype 'auto' for a started backend. */
export function preferredDtype(name: BackendName, backend: AttentionBackend): Dtype {
  const have = backendDtypes(backend);
  const d = PREFERRED_DTYPES[name].find((x) => have.includes(x));
  if (d === undefined) throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `backend ${name} declares no storage dtype (kernels: ${Object.keys(backend.capabilities.kernels).join(', ')})`);
  return d;
}

/**
 * Starts `rocm`, then `webgpu`, then `cpu`; returns the first that starts (and stores `dtype`, when
 * one is asked for), with every reason.
 */
export async function startAuto(host: BackendHostOptions = {}, order: readonly BackendName[] = AUTO_ORDER, dtype?: Dtype): Promise<AutoChoice> {
  const probes: ProbeResult[] = [];
  for (const name of order) {
    const t0 = performance.now();
    try {
      const backend = await startBackend(name, host);
      const facts = backend.describe();
      const software = softwareAdapter(facts);
      const have = backendDtypes(backend);
      const passOver = software ?? (dtype !== undefined && !have.includes(dtype) ? `stores ${have.join(', ')}, not cache.dtype ${dtype}` : null);
      if (passOver !== null) {
        await releaseBackend(backend);
        probes.push({ name, available: false, reason: passOver, facts, ms: performance.now() - t0 });
        continue;
      }
      probes.push({ name, available: true, reason: summarize(facts), facts, ms: performance.now() - t0 });
      const passed = probes.filter((p) => !p.available).map((p) => `${p.name}: ${p.reason}`);
      const reason = `auto picked ${name} (${summarize(facts)})${passed.length > 0 ? `; passed over ${passed.join('; ')}` : ''}`;
      return { backend, name, reason, probes };
    } catch (e) {
      probes.push({ name, available: false, reason: message(e), ms: performance.now() - t0 });
    }
  }
  const why = probes.map((p) => `${p.name}: ${p.reason}`).join('; ');
  // Nothing else starts: a software adapter is slow, but it runs.
  const soft = probes.find((p) => p.facts !== undefined && softwareAdapter(p.facts) !== null);
  if (soft !== undefined) {
    try {
      const backend = await startBackend(soft.name, host);
      return { backend, name: soft.name, reason: `auto picked ${soft.name} on a software adapter, the only backend that starts (${why})`, probes };
    } catch (e) {
      probes.push({ name: soft.name, available: false, reason: message(e), ms: 0 });
    }
  }
  throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `backend "auto": no backend can run here (${why})`);
}
