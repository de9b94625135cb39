// Step validation shared by every backend, all in TS before any kernel runs (kernels re-check only
// what could write or read outside their buffers). Each error names the field, the rule and the value.
// Besides shapes and lengths this checks the invariant the kernels rely on to stay in bounds: every
// block a sequence uses is inside the cache, and every real token's slot is the slot its position has
// in the block table (attention reads the new K/V back through the table), padding slots are -1.

import type { KvCacheSpec, StepInputs, StepOutputs } from './backend.js';
import { selectKernels, validateLayer, type BackendCapabilities, type Selection } from './select.js';
import { SinkrtError, type LayerConfig, type StepMetadata } from './types.js';

export function fail(code: string, msg: string): never {
  throw new SinkrtError(code, msg);
}

export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function checkArray(name: string, a: unknown, ctor: typeof Int32Array | typeof Float32Array, minLen: number): void {
  if (!(a instanceof ctor)) fail('E_INVALID_INPUT', `${name} must be a ${ctor.name} (got ${a === null ? 'null' : typeof a === 'object' ? (a as object).constructor?.name : typeof a})`);
  if (a.length < minLen) fail('E_INVALID_INPUT', `${name}.length = ${a.length} must be at least ${minLen}`);
}

/** Longest query per path and the longest seqLen, as the data says (not as the caller claims). */
export interface StepFacts {
  maxDecodeQueryLen: number;
  maxExtendQueryLen: number;
  maxPrefillQueryLen: number;
  maxSeqLen: number;
  numRealTokens: number;
}

export function validateStep(
  spec: KvCacheSpec,
  layer: LayerConfig,
  meta: StepMetadata,
  inputs: StepInputs,
  out: StepOutputs,
): StepFacts {
  if (layer === null || typeof layer !== 'object') fail('E_INVALID_LAYER', `layer = ${String(layer)} must be an object`);
  const bad = validateLayer(layer);
  if (bad.length > 0) fail('E_INVALID_LAYER', bad.join('; '));
  if (layer.numKvHeads !== spec.numKvHeads) fail('E_INVALID_LAYER', `layer.numKvHeads = ${layer.numKvHeads} must equal the cache's numKvHeads ${spec.numKvHeads}`);
  if (layer.headSize !== spec.headSize) fail('E_INVALID_LAYER', `layer.headSize = ${layer.headSize} must equal the cache's headSize ${spec.headSize}`);
  if (meta === null || typeof meta !== 'object') fail('E_INVALID_META', `meta = ${String(meta)} must be an object`);

  const { numSeqs, numTokens } = meta;
  for (const k of ['numSeqs', 'numTokens', 'numDecodes', 'numExtends', 'numPrefills', 'maxBlocksPerSeq'] as const) {
    if (!isCount(meta[k])) fail('E_INVALID_META', `meta.${k} = ${String(meta[k])} must be an integer >= 0`);
  }
  if (meta.numDecodes + meta.numExtends + meta.numPrefills !== numSeqs) {
    fail('E_INVALID_META', `meta.numDecodes + numExtends + numPrefills = ${meta.numDecodes} + ${meta.numExtends} + ${meta.numPrefills} must equal numSeqs ${numSeqs}`);
  }
  checkArray('meta.queryStartLoc', meta.queryStartLoc, Int32Array, numSeqs + 1);
  checkArray('meta.seqLens', meta.seqLens, Int32Array, numSeqs);
  checkArray('meta.contextLens', meta.contextLens, Int32Array, numSeqs);
  checkArray('meta.slotMapping', meta.slotMapping, Int32Array, numTokens);
  if (numSeqs > 0 && meta.maxBlocksPerSeq === 0) fail('E_INVALID_META', `meta.maxBlocksPerSeq = 0 must be positive when numSeqs = ${numSeqs}`);
  checkArray('meta.blockTable', meta.blockTable, Int32Array, numSeqs * meta.maxBlocksPerSeq);

  const { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D } = layer;
  checkArray('inputs.query', inputs?.query, Float32Array, numTokens * Hq * D);
  checkArray('inputs.key', inputs?.key, Float32Array, numTokens * Hkv * D);
  checkArray('inputs.value', inputs?.value, Float32Array, numTokens * Hkv * D);
  checkArray('out.output', out?.output, Float32Array, numTokens * Hq * D);
  if (out.lse !== undefined) checkArray('out.lse', out.lse, Float32Array, numTokens * Hq);

  const qsl = meta.queryStartLoc;
  if (qsl[0] !== 0) fail('E_INVALID_META', `meta.queryStartLoc[0] = ${qsl[0]} must be 0`);
  const bs = spec.blockSize;
  const facts: StepFacts = { maxDecodeQueryLen: 0, maxExtendQueryLen: 0, maxPrefillQueryLen: 0, maxSeqLen: 0, numRealTokens: qsl[numSeqs] };
  for (let s = 0; s < numSeqs; s++) {
    const queryLen = qsl[s + 1] - qsl[s];
    if (queryLen < 0) fail('E_INVALID_META', `meta.queryStartLoc[${s + 1}] = ${qsl[s + 1]} must be >= queryStartLoc[${s}] ${qsl[s]}`);
    const ctx = meta.contextLens[s];
    if (ctx < 0) fail('E_INVALID_META', `meta.contextLens[${s}] = ${ctx} must be >= 0`);
    if (meta.seqLens[s] !== ctx + queryLen) {
      fail('E_INVALID_META', `meta.seqLens[${s}] = ${meta.seqLens[s]} must equal contextLens + queryLen = ${ctx} + ${queryLen}`);
    }
    const seqLen = ctx + queryLen;
    if (s < meta.numDecodes) facts.maxDecodeQueryLen = Math.max(facts.maxDecodeQueryLen, queryLen);
    else if (s < meta.numDecodes + meta.numExtends) facts.maxExtendQueryLen = Math.max(facts.maxExtendQueryLen, queryLen);
    else {
      if (ctx !== 0) fail('E_INVALID_META', `meta.contextLens[${s}] = ${ctx} must be 0: sequence ${s} is in the prefill range`);
      facts.maxPrefillQueryLen = Math.max(facts.maxPrefillQueryLen, queryLen);
    }
    facts.maxSeqLen = Math.max(facts.maxSeqLen, seqLen);
    const blocks = Math.ceil(seqLen / bs);
    if (blocks > meta.maxBlocksPerSeq) {
      fail('E_INVALID_META', `meta.seqLens[${s}] = ${seqLen} needs ${blocks} blocks of ${bs}, more than maxBlocksPerSeq ${meta.maxBlocksPerSeq}`);
    }
    const row = s * meta.maxBlocksPerSeq;
    for (let b = 0; b < blocks; b++) {
      const id = meta.blockTable[row + b];
      if (id < 0 || id >= spec.numBlocks) fail('E_INVALID_META', `meta.blockTable[${s}][${b}] = ${id} is outside the cache [0, numBlocks ${spec.numBlocks})`);
    }
    for (let t = 0; t < queryLen; t++) {
      const pos = ctx + t;
      const want = meta.blockTable[row + Math.floor(pos / bs)] * bs + (pos % bs);
      const slot = meta.slotMapping[qsl[s] + t];
      if (slot !== want) {
        fail('E_INVALID_META', `meta.slotMapping[${qsl[s] + t}] = ${slot} must be ${want}, the slot of position ${pos} of sequence ${s} in its block table`);
      }
    }
  }
  if (qsl[numSeqs] > numTokens) fail('E_INVALID_META', `meta.queryStartLoc[${numSeqs}] = ${qsl[numSeqs]} must be <= numTokens ${numTokens}`);
  for (let t = qsl[numSeqs]; t < numTokens; t++) {
    if (meta.slotMapping[t] !== -1) fail('E_INVALID_META', `meta.slotMapping[${t}] = ${meta.slotMapping[t]} must be -1: token ${t} is padding`);
  }
  if (meta.maxDecodeQueryLen < facts.maxDecodeQueryLen) {
    fail('E_INVALID_META', `meta.maxDecodeQueryLen = ${meta.maxDecodeQueryLen} must be >= the longest decode query ${facts.maxDecodeQueryLen}`);
  }
  return facts;
}

/**
 * Validates a step and picks its kernels from what the data says (the longest query per path as
 * validation measured it, not as the caller's metadata claims). Every backend's forward starts here.
 */
export function validateAndSelect(
  capabilities: BackendCapabilities,
  spec: KvCacheSpec,
  layer: LayerConfig,
  meta: StepMetadata,
  inputs: StepInputs,
  out: StepOutputs,
): { facts: StepFacts; selection: Selection } {
  const facts = validateStep(spec, layer, meta, inputs, out);
  const selection = selectKernels(capabilities, {
    layer,
    blockSize: spec.blockSize,
    dtype: spec.dtype,
    maxDecodeQueryLen: facts.maxDecodeQueryLen,
    maxExtendQueryLen: facts.maxExtendQueryLen,
    maxPrefillQueryLen: facts.maxPrefillQueryLen,
  });
  return { facts, selection };
}
