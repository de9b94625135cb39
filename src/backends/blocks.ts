// Reading back part of a paged cache (AttentionBackend.downloadBlocks): the block-list rule every
// backend applies, and the host-side gather for backends that can only copy whole caches.

import type { KvCacheSpec } from './backend.js';
import { fail } from './validate.js';

/** The block list of downloadBlocks: an Int32Array of ids inside the cache. */
export function checkBlockList(spec: KvCacheSpec, blocks: unknown): asserts blocks is Int32Array {
  if (!(blocks instanceof Int32Array)) fail('E_INVALID_INPUT', `blocks must be an Int32Array (got ${blocks === null ? 'null' : typeof blocks === 'object' ? (blocks as object).constructor?.name : typeof blocks})`);
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b < 0 || b >= spec.numBlocks) fail('E_INVALID_INPUT', `blocks[${i}] = ${b} must be in [0, numBlocks = ${spec.numBlocks})`);
  }
}

/** Elements of one cache block of one side (K or V). */
export function blockElems(spec: KvCacheSpec): number {
  return spec.blockSize * spec.numKvHeads * spec.headSize;
}

/** The listed blocks of whole host copies, packed in list order. */
export function gatherBlocks(
  spec: KvCacheSpec,
  all: { keyCache: Float32Array; valueCache: Float32Array },
  blocks: Int32Array,
): { keyCache: Float32Array; valueCache: Float32Array } {
  const per = blockElems(spec);
  const keyCache = new Float32Array(blocks.length * per);
  const valueCache = new Float32Array(blocks.length * per);
  for (let i = 0; i < blocks.length; i++) {
    keyCache.set(all.keyCache.subarray(blocks[i] * per, (blocks[i] + 1) * per), i * per);
    valueCache.set(all.valueCache.subarray(blocks[i] * per, (blocks[i] + 1) * per), i * per);
  }
  return { keyCache, valueCache };
}
