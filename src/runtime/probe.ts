// Backend discovery: which backends can run in this process, and why not where they cannot.
// `auto` tries rocm, then webgpu, then cpu, and keeps the first that starts; every attempt leaves a
// reason, so the caller (and `sinkrt info`) can say which backend was picked and why the others were not.
//
// A backend "can run" when its module loads and its factory returns a working backend: the native
// addon loads and sees a device (rocm), an adapter and device are granted (webgpu), the WASM module
// instantiates with SIMD (cpu). Backend modules are imported lazily, so a host without the native
// addon or the `webgpu` package never loads them.

import type { AttentionBackend, BackendName } from '../backends/backend.js';
import { SinkrtError } from '../backends/types.js';
import { RuntimeErrorCode } from './errors.js';

export const AUTO_ORDER: readonly BackendName[] = ['rocm', 'webgpu', 'cpu'];

/** Host objects a backend factory may use (a GPUDevice handed over by an Electron/browser host, ...). */
export interface BackendHostOptions {
  /** A WebGPU device to use instead of requesting one (browsers, Electron renderers). */
  gpuDevice?: GPUDevice;
  /** Extra factory options, per backend, passed through as given. */
  [key: string]: unknown;
}

type Factory = (opts: BackendHostOptions) => Promise<AttentionBackend>;

// Module paths are relative to this file (dist/src/runtime/probe.js after tsc). The factories are
// looked up by name so a backend that has not been built yet gives a reason, not a load error.
const MODULES: Record<BackendName, { path: string; factory: string }> = {
  rocm: { path: '../backends/rocm/index.js', factory: 'createRocmBackend' },
  webgpu: { path: '../backends/webgpu/index.js', factory: 'createWebGpuBackend' },
  cpu: { path: '../backends/cpu/index.js', factory: 'createCpuBackend' },
};

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

async function loadFactory(name: BackendName): Promise<Factory> {
  const m = MODULES[name];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ m.path)) as Record<string, unknown>;
  } catch (e) {
    throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `${name} backend module did not load (${message(e).split('\n')[0]})`, { cause: e });
  }
  const f = mod[m.factory];
  if (typeof f !== 'function') {
    throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `${name} backend module has no ${m.factory}()`);
  }
  return f as Factory;
}

/** Starts one backend, or throws E_BACKEND_UNAVAILABLE with the reason. */
export async function startBackend(name: BackendName, host: BackendHostOptions = {}): Promise<AttentionBackend> {
  const factory = await loadFactory(name);
  try {
    return await factory(host);
  } catch (e) {
    throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `${name} backend did not start: ${message(e)}`, { cause: e });
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
      await b.close();
    }
  } catch (e) {
    return { name, available: false, reason: message(e), ms: performance.now() - t0 };
  }
}

export interface AutoChoice {
  backend: AttentionBackend;
  name: BackendName;
  /** One line: which backend and why (with why the earlier ones in the order were passed over). */
  reason: string;
  probes: ProbeResult[];
}

/** Starts `rocm`, then `webgpu`, then `cpu`; returns the first that starts, with every reason. */
export async function startAuto(host: BackendHostOptions = {}, order: readonly BackendName[] = AUTO_ORDER): Promise<AutoChoice> {
  const probes: ProbeResult[] = [];
  for (const name of order) {
    const t0 = performance.now();
    try {
      const backend = await startBackend(name, host);
      const facts = backend.describe();
      probes.push({ name, available: true, reason: summarize(facts), facts, ms: performance.now() - t0 });
      const passed = probes.filter((p) => !p.available).map((p) => `${p.name}: ${p.reason}`);
      const reason = `auto picked ${name} (${summarize(facts)})${passed.length > 0 ? `; passed over ${passed.join('; ')}` : ''}`;
      return { backend, name, reason, probes };
    } catch (e) {
      probes.push({ name, available: false, reason: message(e), ms: performance.now() - t0 });
    }
  }
  const why = probes.map((p) => `${p.name}: ${p.reason}`).join('; ');
  throw new SinkrtError(RuntimeErrorCode.BACKEND_UNAVAILABLE, `backend "auto": no backend can run here (${why})`);
}
