// Cache-spec validation for the CPU backend; step validation is shared (../validate.ts).

import type { KvCacheSpec } from '../backend.js';
import { fail, isCount } from '../validate.js';

export const SUPPORTED_DTYPES = ['f32', 'f16', 'bf16'] as const;

export function validateCacheSpec(spec: KvCacheSpec): void {
  if (spec === null || typeof spec !== 'object') fail('E_INVALID_CACHE_SPEC', `cache spec = ${String(spec)} must be an object`);
  for (const k of ['numBlocks', 'blockSize', 'numKvHeads', 'headSize'] as const) {
    const v = spec[k];
    if (!isCount(v) || v === 0) fail('E_INVALID_CACHE_SPEC', `spec.${k} = ${String(v)} must be a positive integer`);
  }
  if (spec.headSize % 4 !== 0) fail('E_INVALID_CACHE_SPEC', `spec.headSize = ${spec.headSize} must be a multiple of 4 (f32x4 kernels)`);
  if (!(SUPPORTED_DTYPES as readonly string[]).includes(spec.dtype)) {
    fail('E_UNSUPPORTED_DTYPE', `spec.dtype = ${JSON.stringify(spec.dtype)} must be one of ${SUPPORTED_DTYPES.join(', ')} on the cpu backend`);
  }
  const elems = spec.numBlocks * spec.blockSize * spec.numKvHeads * spec.headSize;
  if (elems > 0x7fffffff) {
    fail('E_INVALID_CACHE_SPEC', `cache of ${elems} elements per tensor (numBlocks ${spec.numBlocks} x blockSize ${spec.blockSize} x numKvHeads ${spec.numKvHeads} x headSize ${spec.headSize}) exceeds 2^31 - 1`);
  }
}

