// Public options of createRuntime and their validation. Every field is checked here, before a
// worker starts or a backend allocates, and a bad one throws E_INVALID_ARGUMENT naming the field,
// the rule and the value.

import type { AttentionBackend, BackendName } from '../backends/backend.js';
import type { EngineConfig } from './engine-api.js';
import { checkInt, checkKnownKeys, checkObject, checkOneOf, invalid } from './errors.js';
import { normalizeCache, normalizeModel, type CacheOptions, type ModelOptions, type NormalizedModel } from './model.js';
import type { BackendHostOptions } from './probe.js';

export interface SchedulerOptions {
  /** Most sequences in one step. Default 64. */
  maxNumSeqs?: number;
  /** Token budget of one step (sum of query lengths). Default 512. */
  maxNumBatchedTokens?: number;
  /** Most tokens of one sequence (prompt + generated). Default: what the cache can hold, at most 131072. */
  maxModelLen?: number;
  /** Most requests known at once (waiting + running). Default 4 * maxNumSeqs. */
  maxRequests?: number;
  /** Share full prompt blocks between requests with the same token prefix. Default true. */
  enablePrefixCaching?: boolean;
  /** Blocks of the sliding-window layers' pool (block 0 is the null block). Default: cache.numBlocks. */
  numSlidingBlocks?: number;
}

export interface RuntimeOptions {
  /** 'auto' (rocm, then webgpu, then cpu), a backend name, or a backend instance the host owns. Default 'auto'. */
  backend?: 'auto' | BackendName | AttentionBackend;
  model: ModelOptions;
  cache: CacheOptions;
  scheduler?: SchedulerOptions;
  /** Run the scheduler engine in a worker (worker_threads / Web Worker). Default true. */
  worker?: boolean;
  /** Where the engine's wasm and worker entry are (defaults: this package's build/ and dist/). */
  engine?: { wasmUrl?: string | URL; workerUrl?: string | URL };
  /** Passed to the backend factory (e.g. { gpuDevice } in a browser or Electron renderer). */
  host?: BackendHostOptions;
}

export interface NormalizedOptions {
  backend: 'auto' | BackendName | AttentionBackend;
  model: NormalizedModel;
  cache: Required<CacheOptions>;
  engine: EngineConfig;
  worker: boolean;
  wasmUrl?: string | URL;
  workerUrl?: string | URL;
  host: BackendHostOptions;
}

const TOP_KEYS = ['backend', 'model', 'cache', 'scheduler', 'worker', 'engine', 'host'];
const SCHED_KEYS = ['maxNumSeqs', 'maxNumBatchedTokens', 'maxModelLen', 'maxRequests', 'enablePrefixCaching', 'numSlidingBlocks'];

function isBackendInstance(b: unknown): b is AttentionBackend {
  return typeof b === 'object' && b !== null && typeof (b as AttentionBackend).forward === 'function' && typeof (b as AttentionBackend).createCache === 'function';
}

export function normalizeOptions(raw: unknown): NormalizedOptions {
  const o = checkObject('options', raw);
  checkKnownKeys('options', o, TOP_KEYS);
  const backend = o.backend === undefined ? 'auto' : isBackendInstance(o.backend) ? o.backend : checkOneOf('options.backend', o.backend, ['auto', 'rocm', 'webgpu', 'cpu'] as const);
  const model = normalizeModel(o.model);
  const cache = normalizeCache(o.cache);
  if (![16, 32, 64].includes(cache.blockSize)) throw invalid('cache.blockSize', 'be 16, 32 or 64 (the block sizes the kernels and engine support)', cache.blockSize);
  const s = o.scheduler === undefined ? {} : checkObject('scheduler', o.scheduler);
  checkKnownKeys('scheduler', s, SCHED_KEYS);
  const maxNumSeqs = s.maxNumSeqs === undefined ? 64 : checkInt('scheduler.maxNumSeqs', s.maxNumSeqs, 1, 65536);
  const maxNumBatchedTokens = s.maxNumBatchedTokens === undefined ? 512 : checkInt('scheduler.maxNumBatchedTokens', s.maxNumBatchedTokens, 1, 1 << 20);
  if (maxNumBatchedTokens < maxNumSeqs) {
    throw invalid('scheduler.maxNumBatchedTokens', `be >= scheduler.maxNumSeqs (${maxNumSeqs}) so every running sequence can decode in one step`, maxNumBatchedTokens);
  }
  const cacheTokens = cache.numBlocks * cache.blockSize;
  const maxModelLen = s.maxModelLen === undefined ? Math.min(cacheTokens, 131072) : checkInt('scheduler.maxModelLen', s.maxModelLen, 2, cacheTokens);
  const maxRequests = s.maxRequests === undefined ? 4 * maxNumSeqs : checkInt('scheduler.maxRequests', s.maxRequests, maxNumSeqs);
  const enablePrefixCaching = s.enablePrefixCaching === undefined ? true : s.enablePrefixCaching;
  if (typeof enablePrefixCaching !== 'boolean') throw invalid('scheduler.enablePrefixCaching', 'be a boolean', enablePrefixCaching);
  const hasSliding = model.sliding.some((x) => x);
  const slidingWindow = hasSliding ? model.slidingWindow : 0;
  const numSlidingBlocks = s.numSlidingBlocks === undefined ? cache.numBlocks : checkInt('scheduler.numSlidingBlocks', s.numSlidingBlocks, 2, 1 << 24);
  const worker = o.worker === undefined ? true : o.worker;
  if (typeof worker !== 'boolean') throw invalid('options.worker', 'be a boolean', worker);
  const eng = o.engine === undefined ? {} : checkObject('options.engine', o.engine);
  checkKnownKeys('options.engine', eng, ['wasmUrl', 'workerUrl']);
  const host = o.host === undefined ? {} : (checkObject('options.host', o.host) as BackendHostOptions);
  return {
    backend,
    model,
    cache,
    engine: {
      numBlocks: cache.numBlocks,
      blockSize: cache.blockSize,
      slidingWindow,
      ...(hasSliding ? { numSlidingBlocks } : {}),
      maxNumSeqs,
      maxNumBatchedTokens,
      maxModelLen,
      maxRequests,
      enablePrefixCaching,
    },
    worker,
    wasmUrl: eng.wasmUrl as string | URL | undefined,
    workerUrl: eng.workerUrl as string | URL | undefined,
    host,
  };
}

export interface AddRequestInput {
  /** Request id, an int32 >= 0; default: the next free id. */
  id?: number;
  /** Prompt token ids, or just a length (synthetic ids). */
  prompt: Int32Array | readonly number[] | number;
  /** Tokens to generate (the request finishes with reason 'length' after them). */
  maxTokens: number;
}

export function validateAddRequest(raw: unknown, maxModelLen: number): { id: number | undefined; prompt: Int32Array | readonly number[] | number; maxTokens: number } {
  const r = checkObject('request', raw);
  checkKnownKeys('request', r, ['id', 'prompt', 'maxTokens']);
  const id = r.id === undefined ? undefined : checkInt('request.id', r.id, 0, 0x7fffffff);
  let promptLen: number;
  const p = r.prompt;
  if (typeof p === 'number') promptLen = checkInt('request.prompt', p, 1, maxModelLen - 1);
  else if (p instanceof Int32Array || Array.isArray(p)) {
    if (p.length === 0) throw invalid('request.prompt.length', 'be >= 1 (an empty prompt has nothing to attend to)', 0);
    for (let i = 0; i < p.length; i++) checkInt(`request.prompt[${i}]`, p[i], 0, 0x7fffffff);
    promptLen = p.length;
  } else throw invalid('request.prompt', 'be a token count, an Int32Array or an array of token ids', p);
  const maxTokens = checkInt('request.maxTokens', r.maxTokens, 1);
  if (promptLen + maxTokens > maxModelLen) {
    throw invalid('request.maxTokens', `keep prompt (${promptLen}) + maxTokens within scheduler.maxModelLen (${maxModelLen})`, maxTokens);
  }
  return { id, prompt: p as Int32Array | readonly number[] | number, maxTokens };
}
