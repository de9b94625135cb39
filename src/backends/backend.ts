// The contract every backend (cpu, webgpu, rocm) implements. Backends only execute plans: they never
// decide which blocks a sequence owns (assembly/ does) and never pick kernels on their own (select.ts
// does). The KV cache of a layer lives where the backend's kernels run (GPU buffers, WASM memory).

import type { BackendCapabilities, Selection } from './select.js';
import type { CacheConfig, LayerConfig, StepMetadata } from './types.js';

export type BackendName = 'cpu' | 'webgpu' | 'rocm';

/** Shape of a layer's KV cache: the cache config plus the KV head geometry it stores. */
export interface KvCacheSpec extends CacheConfig {
  numKvHeads: number;
  headSize: number;
}

/** A backend-owned paged KV cache for one layer (key and value). */
export interface KvCache {
  readonly spec: KvCacheSpec;
}

/** Host-side step inputs: new tokens' q/k/v as f32 (the backend converts to its storage dtype). */
export interface StepInputs {
  /** [numTokens, numQueryHeads, headSize] */
  query: Float32Array;
  /** [numTokens, numKvHeads, headSize] */
  key: Float32Array;
  /** [numTokens, numKvHeads, headSize] */
  value: Float32Array;
}

/** Caller-owned outputs; forward writes into them and allocates nothing of its own per call. */
export interface StepOutputs {
  /** [numTokens, numQueryHeads, headSize] */
  output: Float32Array;
  /** [numTokens, numQueryHeads]; optional. */
  lse?: Float32Array;
}

export interface AttentionBackend {
  readonly name: BackendName;
  /** Per-kernel capability declarations fed to select.ts (conservative). */
  readonly capabilities: BackendCapabilities;
  /** Facts for `sinkrt info` and logs: adapter, device, limits, features. */
  describe(): Record<string, unknown>;
  createCache(spec: KvCacheSpec): Promise<KvCache>;
  /** Overwrites the whole cache from host f32 data [numBlocks, blockSize, numKvHeads, headSize] (tests, warm start). */
  uploadCache(cache: KvCache, keyCache: Float32Array, valueCache: Float32Array): Promise<void>;
  /** Reads the whole cache back as f32 (tests). */
  downloadCache(cache: KvCache): Promise<{ keyCache: Float32Array; valueCache: Float32Array }>;
  /**
   * Reads only the listed blocks back as f32, packed in the order given:
   * [blocks.length, blockSize, numKvHeads, headSize]. Reference checks of a live cache read what they
   * check, not the whole cache (validated by checkBlockList: each id an integer in [0, numBlocks)).
   */
  downloadBlocks(cache: KvCache, blocks: Int32Array): Promise<{ keyCache: Float32Array; valueCache: Float32Array }>;
  /**
   * One step of one layer: writes the new tokens' K/V into the cache at meta.slotMapping (-1 skipped),
   * then runs attention for the decode, extend and prefill ranges with the kernels `selectKernels` picks.
   * Returns the selection it used.
   */
  forward(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Promise<Selection>;
  destroyCache(cache: KvCache): void;
  /** Releases everything the backend holds. */
  close(): Promise<void>;
}
