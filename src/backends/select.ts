// Kernel selection: one policy shared by every backend.
//
// Each backend declares, per kernel, what that kernel supports. Declarations are conservative:
// anything not stated is unsupported (supportsSink = false unless proven by the conformance table).
// Selection maps each path of a step to a kernel:
//   decode  -> paged_decode when it supports everything the layer needs, else unified_attention
//   extend  -> unified_attention
//   prefill -> prefill (varlen over contiguous Q/K/V) when it supports the layer, else unified_attention
// Every rejection carries reasons, so a caller can print why a kernel was not taken. A layer with
// sinks is never routed to a kernel that does not declare supportsSink: the seed's bug class.

import { SinkrtError, type AttentionPath, type Dtype, type LayerConfig } from './types.js';

export type KernelName = 'paged_decode' | 'unified_attention' | 'prefill';

export interface KernelCapabilities {
  supportsSink: boolean;
  supportsSlidingWindow: boolean;
  supportsSoftcap: boolean;
  /** Largest query length per sequence the kernel handles (1 for a pure decode kernel). */
  maxQueryLen: number;
  headSizes: readonly number[];
  blockSizes: readonly number[];
  dtypes: readonly Dtype[];
  /** GQA ratios (numQueryHeads / numKvHeads) supported; empty = any ratio. */
  gqaRatios: readonly number[];
}

export interface BackendCapabilities {
  backend: string;
  kernels: Partial<Record<KernelName, KernelCapabilities>>;
}

/** Fills a kernel declaration with the conservative defaults. */
export function declareKernel(caps: Partial<KernelCapabilities>): KernelCapabilities {
  return {
    supportsSink: false,
    supportsSlidingWindow: false,
    supportsSoftcap: false,
    maxQueryLen: 1,
    headSizes: [],
    blockSizes: [],
    dtypes: [],
    gqaRatios: [],
    ...caps,
  };
}

/** What a step asks of a layer's kernels. */
export interface SelectionRequest {
  layer: LayerConfig;
  blockSize: number;
  dtype: Dtype;
  /** Longest query of the decode range (1, or a few tokens for speculative decoding). */
  maxDecodeQueryLen: number;
  /** Longest query of the extend / prefill ranges (0 when the range is empty). */
  maxExtendQueryLen?: number;
  maxPrefillQueryLen?: number;
}

export interface Rejection {
  kernel: KernelName;
  reasons: string[];
}

export interface PathChoice {
  path: AttentionPath;
  kernel: KernelName;
  rejected: Rejection[];
}

export type Selection = Record<AttentionPath, PathChoice>;

/** Why `caps` cannot run `req` at query length `queryLen`; empty when it can. */
export function kernelRejections(
  kernel: KernelName,
  caps: KernelCapabilities | undefined,
  req: SelectionRequest,
  queryLen: number,
): string[] {
  if (!caps) return [`${kernel} is not implemented by this backend`];
  const { layer } = req;
  const reasons: string[] = [];
  if (layer.sinks !== null && !caps.supportsSink) reasons.push('layer has sinks; kernel does not support sinks');
  if (layer.slidingWindow > 0 && !caps.supportsSlidingWindow) {
    reasons.push(`layer has slidingWindow ${layer.slidingWindow}; kernel does not support sliding windows`);
  }
  if (layer.softcap > 0 && !caps.supportsSoftcap) reasons.push(`layer has softcap ${layer.softcap}; kernel does not support softcap`);
  if (queryLen > caps.maxQueryLen) reasons.push(`queryLen ${queryLen} exceeds kernel maxQueryLen ${caps.maxQueryLen}`);
  if (!caps.headSizes.includes(layer.headSize)) reasons.push(`headSize ${layer.headSize} not in [${caps.headSizes.join(', ')}]`);
  if (!caps.blockSizes.includes(req.blockSize)) reasons.push(`blockSize ${req.blockSize} not in [${caps.blockSizes.join(', ')}]`);
  if (!caps.dtypes.includes(req.dtype)) reasons.push(`dtype ${req.dtype} not in [${caps.dtypes.join(', ')}]`);
  const ratio = layer.numQueryHeads / layer.numKvHeads;
  if (caps.gqaRatios.length > 0 && !caps.gqaRatios.includes(ratio)) {
    reasons.push(`GQA ratio ${ratio} not in [${caps.gqaRatios.join(', ')}]`);
  }
  return reasons;
}

function choose(
  path: AttentionPath,
  preferred: KernelName[],
  backend: BackendCapabilities,
  req: SelectionRequest,
  queryLen: number,
): PathChoice {
  const rejected: Rejection[] = [];
  for (const kernel of preferred) {
    const reasons = kernelRejections(kernel, backend.kernels[kernel], req, queryLen);
    if (reasons.length === 0) return { path, kernel, rejected };
    rejected.push({ kernel, reasons });
  }
  const why = rejected.map((r) => `${r.kernel}: ${r.reasons.join('; ')}`).join(' | ');
  throw new SinkrtError('E_NO_KERNEL', `backend ${backend.backend} has no kernel for ${path}: ${why}`);
}

/** Validates the layer itself; returns reasons (empty = valid). */
export function validateLayer(layer: LayerConfig): string[] {
  const r: string[] = [];
  const posInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) r.push(`layer.${name} = ${v} must be a positive integer`);
  };
  posInt('numQueryHeads', layer.numQueryHeads);
  posInt('numKvHeads', layer.numKvHeads);
  posInt('headSize', layer.headSize);
  if (r.length === 0 && layer.numQueryHeads % layer.numKvHeads !== 0) {
    r.push(`layer.numQueryHeads = ${layer.numQueryHeads} must be a multiple of numKvHeads ${layer.numKvHeads}`);
  }
  if (!Number.isFinite(layer.scale) || layer.scale <= 0) r.push(`layer.scale = ${layer.scale} must be finite and > 0`);
  if (!Number.isInteger(layer.slidingWindow) || layer.slidingWindow < 0) {
    r.push(`layer.slidingWindow = ${layer.slidingWindow} must be an integer >= 0 (0 = none)`);
  }
  if (!Number.isFinite(layer.softcap) || layer.softcap < 0) r.push(`layer.softcap = ${layer.softcap} must be finite and >= 0 (0 = none)`);
  if (layer.sinks !== null) {
    if (layer.sinks.length !== layer.numQueryHeads) {
      r.push(`layer.sinks.length = ${layer.sinks.length} must equal numQueryHeads ${layer.numQueryHeads}`);
    }
    layer.sinks.forEach((s, h) => {
      if (Number.isNaN(s) || s === Infinity) r.push(`layer.sinks[${h}] = ${s} must be finite or -Infinity`);
    });
  }
  return r;
}

/**
 * Picks a kernel for each path. Throws E_NO_KERNEL (with every rejection's reasons) when a path that
 * the step uses has no kernel able to run it.
 */
export function selectKernels(backend: BackendCapabilities, req: SelectionRequest): Selection {
  const invalid = validateLayer(req.layer);
  if (invalid.length > 0) throw new SinkrtError('E_INVALID_LAYER', invalid.join('; '));
  const extendLen = req.maxExtendQueryLen ?? 1;
  const prefillLen = req.maxPrefillQueryLen ?? 1;
  return {
    decode: choose('decode', ['paged_decode', 'unified_attention'], backend, req, Math.max(1, req.maxDecodeQueryLen)),
    extend: choose('extend', ['unified_attention'], backend, req, Math.max(1, extendLen)),
    prefill: choose('prefill', ['prefill', 'unified_attention'], backend, req, Math.max(1, prefillLen)),
  };
}

/** One line per path, e.g. for `sinkrt info` and logs. */
export function explainSelection(sel: Selection): string[] {
  return (['decode', 'extend', 'prefill'] as const).map((p) => {
    const c = sel[p];
    const rej = c.rejected.map((r) => ` (not ${r.kernel}: ${r.reasons.join('; ')})`).join('');
    return `${p}: ${c.kernel}${rej}`;
  });
}
