// The runtime's model: a stack of attention layers (no weights; see synthetic.ts). This file turns the
// public model options into one LayerConfig per layer, validating every field on the way in.
//
// Sliding windows follow GPT-OSS by default: layers alternate sliding (even layers, starting at 0) and
// full attention. Layers that use the window form the "sliding" layer group; when the engine plans a
// separate block table for that group, those layers read it (see runtime.ts).

import type { Dtype, LayerConfig } from '../backends/types.js';
import { checkInt, checkKnownKeys, checkNumber, checkObject, checkOneOf, invalid } from './errors.js';
import { syntheticSinks } from './synthetic.js';

export interface ModelOptions {
  numLayers: number;
  numQueryHeads: number;
  numKvHeads: number;
  headSize: number;
  /** Window W in tokens for the layers that use one; 0 = no sliding layers. */
  slidingWindow?: number;
  /**
   * Which layers use the window: 'alternate' (GPT-OSS: layers 0, 2, 4, ...), 'all', 'none', or an explicit
   * list of layer indices. Default 'alternate' when slidingWindow > 0.
   */
  slidingLayers?: 'alternate' | 'all' | 'none' | readonly number[];
  /**
   * Learned sinks: 'synthetic' (deterministic per layer and head, the default), 'none', or one
   * Float32Array of numQueryHeads logits per layer (null entries = no sinks on that layer).
   */
  sinks?: 'synthetic' | 'none' | readonly (Float32Array | null)[];
  /** Logit softcap c (0 = none). */
  softcap?: number;
  /** q.k multiplier; default 1/sqrt(headSize). */
  scale?: number;
}

export interface CacheOptions {
  /** KV blocks per layer (every layer's cache has the same geometry; block ids are shared). */
  numBlocks: number;
  blockSize: number;
  /**
   * Storage dtype; default 'f32' (every backend has it; f16/bf16 where the backend declares them).
   * 'auto' takes the backend's preferred one: bf16 on rocm, f16 on webgpu with shader-f16, else f32.
   */
  dtype?: Dtype | 'auto';
}

const MODEL_KEYS = ['numLayers', 'numQueryHeads', 'numKvHeads', 'headSize', 'slidingWindow', 'slidingLayers', 'sinks', 'softcap', 'scale'];
const CACHE_KEYS = ['numBlocks', 'blockSize', 'dtype'];

export interface NormalizedModel {
  layers: LayerConfig[];
  /** For each layer, whether it belongs to the sliding-window group. */
  sliding: boolean[];
  numQueryHeads: number;
  numKvHeads: number;
  headSize: number;
  slidingWindow: number;
}

function slidingMask(n: number, window: number, which: ModelOptions['slidingLayers']): boolean[] {
  if (window === 0) {
    if (which !== undefined && which !== 'none') throw invalid('model.slidingLayers', 'be "none" (or absent) when model.slidingWindow is 0', which);
    return new Array<boolean>(n).fill(false);
  }
  const spec = which ?? 'alternate';
  if (spec === 'alternate') return Array.from({ length: n }, (_, i) => i % 2 === 0);
  if (spec === 'all') return new Array<boolean>(n).fill(true);
  if (spec === 'none') return new Array<boolean>(n).fill(false);
  if (!Array.isArray(spec)) throw invalid('model.slidingLayers', 'be "alternate", "all", "none" or an array of layer indices', spec);
  const mask = new Array<boolean>(n).fill(false);
  spec.forEach((l, i) => {
    checkInt(`model.slidingLayers[${i}]`, l, 0, n - 1);
    mask[l] = true;
  });
  return mask;
}

export function normalizeModel(raw: unknown): NormalizedModel {
  const m = checkObject('model', raw);
  checkKnownKeys('model', m, MODEL_KEYS);
  const numLayers = checkInt('model.numLayers', m.numLayers, 1, 4096);
  const numQueryHeads = checkInt('model.numQueryHeads', m.numQueryHeads, 1, 1024);
  const numKvHeads = checkInt('model.numKvHeads', m.numKvHeads, 1, 1024);
  if (numQueryHeads % numKvHeads !== 0) {
    throw invalid('model.numQueryHeads', `be a multiple of model.numKvHeads (${numKvHeads})`, numQueryHeads);
  }
  const headSize = checkInt('model.headSize', m.headSize, 1, 1024);
  const slidingWindow = m.slidingWindow === undefined ? 0 : checkInt('model.slidingWindow', m.slidingWindow, 0);
  const softcap = m.softcap === undefined ? 0 : checkNumber('model.softcap', m.softcap, 0);
  const scale = m.scale === undefined ? 1 / Math.sqrt(headSize) : checkNumber('model.scale', m.scale, Number.MIN_VALUE);
  const sliding = slidingMask(numLayers, slidingWindow, m.slidingLayers as ModelOptions['slidingLayers']);
  const sinksOpt = m.sinks ?? 'synthetic';
  let sinks: (Float32Array | null)[];
  if (sinksOpt === 'synthetic') sinks = Array.from({ length: numLayers }, (_, l) => syntheticSinks(l, numQueryHeads));
  else if (sinksOpt === 'none') sinks = new Array<Float32Array | null>(numLayers).fill(null);
  else if (Array.isArray(sinksOpt)) {
    if (sinksOpt.length !== numLayers) throw invalid('model.sinks.length', `equal model.numLayers (${numLayers})`, sinksOpt.length);
    sinks = sinksOpt.map((s, l) => {
      if (s === null) return null;
      if (!(s instanceof Float32Array)) throw invalid(`model.sinks[${l}]`, 'be a Float32Array or null', s);
      if (s.length !== numQueryHeads) throw invalid(`model.sinks[${l}].length`, `equal model.numQueryHeads (${numQueryHeads})`, s.length);
      s.forEach((v, h) => {
        if (Number.isNaN(v) || v === Infinity) throw invalid(`model.sinks[${l}][${h}]`, 'be finite or -Infinity', v);
      });
      return s;
    });
  } else throw invalid('model.sinks', 'be "synthetic", "none" or an array of Float32Array|null per layer', sinksOpt);
  const layers = sinks.map<LayerConfig>((s, l) => ({
    numQueryHeads,
    numKvHeads,
    headSize,
    scale,
    slidingWindow: sliding[l] ? slidingWindow : 0,
    softcap,
    sinks: s,
  }));
  return { layers, sliding, numQueryHeads, numKvHeads, headSize, slidingWindow };
}

export function normalizeCache(raw: unknown): Required<CacheOptions> {
  const c = checkObject('cache', raw);
  checkKnownKeys('cache', c, CACHE_KEYS);
  const numBlocks = checkInt('cache.numBlocks', c.numBlocks, 1, 1 << 24);
  const blockSize = checkInt('cache.blockSize', c.blockSize, 1, 1024);
  if ((blockSize & (blockSize - 1)) !== 0) throw invalid('cache.blockSize', 'be a power of two', blockSize);
  const dtype = c.dtype === undefined ? 'f32' : checkOneOf<Dtype | 'auto'>('cache.dtype', c.dtype, ['f32', 'f16', 'bf16', 'auto']);
  return { numBlocks, blockSize, dtype };
}
