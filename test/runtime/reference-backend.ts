// An AttentionBackend over the float64 reference (src/backends/reference), for runtime tests that
// must run whether or not a real backend is built here: scheduling, worker death, aborts, the soak.
// It stores the cache as host f32 and computes with the oracle; it is slow and only for small models.
// It declares one kernel (unified_attention) supporting everything, which is true of the reference.

import type { AttentionBackend, KvCache, KvCacheSpec, StepInputs, StepOutputs } from '../../src/backends/backend.js';
import { pagedAttentionReference, writeKvReference } from '../../src/backends/reference/index.js';
import { declareKernel, selectKernels, type BackendCapabilities, type Selection } from '../../src/backends/select.js';
import type { LayerConfig, StepMetadata } from '../../src/backends/types.js';
import { checkBlockList, gatherBlocks } from '../../src/backends/blocks.js';

interface RefCache extends KvCache {
  keyCache: Float32Array;
  valueCache: Float32Array;
  destroyed: boolean;
}

export class ReferenceTestBackend implements AttentionBackend {
  // The runtime only reads `name` for reports; the union has no 'reference' member, by design.
  readonly name = 'cpu' as const;
  readonly capabilities: BackendCapabilities = {
    backend: 'reference-test',
    kernels: {
      unified_attention: declareKernel({
        supportsSink: true,
        supportsSlidingWindow: true,
        supportsSoftcap: true,
        maxQueryLen: 1 << 20,
        headSizes: [4, 8, 16, 32, 64, 128, 256],
        blockSizes: [1, 2, 4, 8, 16, 32, 64],
        dtypes: ['f32'],
      }),
    },
  };
  liveCaches = 0;
  forwardCalls = 0;
  closed = false;

  describe(): Record<string, unknown> {
    return { kind: 'float64 reference (tests only)' };
  }

  async createCache(spec: KvCacheSpec): Promise<RefCache> {
    const n = spec.numBlocks * spec.blockSize * spec.numKvHeads * spec.headSize;
    this.liveCaches++;
    return { spec, keyCache: new Float32Array(n), valueCache: new Float32Array(n), destroyed: false };
  }

  async uploadCache(cache: KvCache, k: Float32Array, v: Float32Array): Promise<void> {
    (cache as RefCache).keyCache.set(k);
    (cache as RefCache).valueCache.set(v);
  }

  async downloadCache(cache: KvCache): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    return { keyCache: (cache as RefCache).keyCache.slice(), valueCache: (cache as RefCache).valueCache.slice() };
  }

  async downloadBlocks(cache: KvCache, blocks: Int32Array): Promise<{ keyCache: Float32Array; valueCache: Float32Array }> {
    checkBlockList(cache.spec, blocks);
    return gatherBlocks(cache.spec, cache as RefCache, blocks);
  }

  async forward(cache: KvCache, layer: LayerConfig, meta: StepMetadata, inputs: StepInputs, out: StepOutputs): Promise<Selection> {
    const c = cache as RefCache;
    if (c.destroyed) throw new Error('forward on a destroyed cache');
    this.forwardCalls++;
    const sel = selectKernels(this.capabilities, {
      layer,
      blockSize: c.spec.blockSize,
      dtype: c.spec.dtype,
      maxDecodeQueryLen: meta.maxDecodeQueryLen,
      maxExtendQueryLen: meta.maxQueryLen,
      maxPrefillQueryLen: meta.maxQueryLen,
    });
    writeKvReference(layer, meta, inputs.key, inputs.value, c.keyCache, c.valueCache);
    const r = pagedAttentionReference(layer, meta, c.spec.blockSize, inputs.query, c.keyCache, c.valueCache);
    const n = meta.queryStartLoc[meta.numSeqs] * layer.numQueryHeads;
    for (let i = 0; i < n * layer.headSize; i++) out.output[i] = r.output[i];
    if (out.lse) for (let i = 0; i < n; i++) out.lse[i] = r.lse[i];
    return sel;
  }

  destroyCache(cache: KvCache): void {
    const c = cache as RefCache;
    if (!c.destroyed) this.liveCaches--;
    c.destroyed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
