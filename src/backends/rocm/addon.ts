// Loads the native addon (native-rocm/build/sinkrt.node) and checks, at start-up, that it is the ABI
// this TS expects and that a device it was built for is present. Every failure here is a SinkrtError
// that says what is missing, so a host gets a clear reason (or falls back) instead of a crash at the
// first launch.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SinkrtError } from '../types.js';

/** Must equal SINKRT_ABI_VERSION in native-rocm/kernels/sinkrt_kernels.h. */
export const ROCM_ABI_VERSION = 3;

export interface NativeDeviceInfo {
  name: string;
  arch: string;
  vendor: string;
  computeUnits: number;
  waveSize: number;
  hasMatrixUnits: number;
  totalMemory: number;
  runtimeVersion: number;
  driverVersion: number;
}

/** Opaque handles owned by the addon. */
export type NativeContext = { readonly __ctx: unique symbol };
export type NativeCache = { readonly __cache: unique symbol };

/** The plain description one forward() call is unpacked from (see native-rocm/addon/device_state.h). */
export interface ForwardDesc {
  numQueryHeads: number; numKvHeads: number; headSize: number; slidingWindow: number; scale: number; softcap: number;
  numSeqs: number; numTokens: number; maxBlocksPerSeq: number; numDecodes: number; numExtends: number; numPrefills: number;
  decodeMaxQueryLen: number; decodeMaxKeys: number; extendMaxQueryLen: number; extendMaxKeys: number;
  prefillMaxQueryLen: number; prefillMaxKeys: number; prefillOnMatrixUnits: number; decodeOnMatrixUnits: number; forceSegments: number; prefillRowTiles: number;
  sinks: Float32Array | null; queryStartLoc: Int32Array; seqLens: Int32Array; blockTable: Int32Array; slotMapping: Int32Array;
  query: Float32Array; key: Float32Array; value: Float32Array; output: Float32Array; lse: Float32Array | null;
}

export interface NativeAddon {
  abiVersion: number;
  builtArchs: string;
  deviceInfo(): NativeDeviceInfo;
  createContext(): NativeContext;
  destroyContext(ctx: NativeContext): void;
  createCache(ctx: NativeContext, numBlocks: number, blockSize: number, numKvHeads: number, headSize: number, dtype: number): Promise<NativeCache>;
  destroyCache(cache: NativeCache): void;
  uploadCache(ctx: NativeContext, cache: NativeCache, k: Float32Array, v: Float32Array): Promise<void>;
  downloadCache(ctx: NativeContext, cache: NativeCache, k: Float32Array, v: Float32Array): Promise<void>;
  forward(ctx: NativeContext, cache: NativeCache, desc: ForwardDesc): Promise<void>;
}

/** Where the addon is looked for: $SINKRT_ROCM_ADDON, else native-rocm/build/ above this file. */
export function findAddon(): string | null {
  const env = process.env.SINKRT_ROCM_ADDON;
  if (env) return existsSync(env) ? resolve(env) : null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'native-rocm', 'build', 'sinkrt.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

let cached: NativeAddon | null = null;

/** Loads the addon and checks its ABI version (no device access). */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const path = findAddon();
  if (path === null) {
    throw new SinkrtError('E_ADDON_MISSING', 'native-rocm/build/sinkrt.node not found (run scripts/build-rocm.sh; it needs nvcc or hipcc), or set SINKRT_ROCM_ADDON');
  }
  let mod: NativeAddon;
  try {
    mod = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new SinkrtError('E_ADDON_LOAD', `cannot load ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (mod.abiVersion !== ROCM_ABI_VERSION) {
    throw new SinkrtError('E_ADDON_VERSION', `addon ${path} has abiVersion ${mod.abiVersion}, this sinkrt needs ${ROCM_ABI_VERSION}: rebuild it (scripts/build-rocm.sh)`);
  }
  cached = mod;
  return mod;
}

/** Loads the addon and asks for the device; throws E_NO_DEVICE / E_DEVICE_UNSUPPORTED with the reason. */
export function probeDevice(): { addon: NativeAddon; info: NativeDeviceInfo } {
  const addon = loadAddon();
  let info: NativeDeviceInfo;
  try {
    info = addon.deviceInfo();
  } catch (e) {
    throw new SinkrtError('E_NO_DEVICE', `no usable GPU for the rocm backend: ${(e as Error).message}`, { cause: e });
  }
  const built = addon.builtArchs.split(',').filter((s) => s.length > 0);
  // sm_90a code runs on compute capability 9.0 ("sm_90"); gfx targets must match by name.
  const base = (a: string) => a.replace(/a$/, '').split(':')[0];
  if (built.length > 0 && !built.some((b) => base(b) === base(info.arch))) {
    throw new SinkrtError('E_DEVICE_UNSUPPORTED', `device ${info.name} (${info.arch}) is not a target of this addon build (${built.join(', ')}): rebuild for it`);
  }
  return { addon, info };
}
