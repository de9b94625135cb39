// The engine in this thread (tests, the CLI's reference checks), and the pieces the worker client
// shares with it: config defaults and checks, the request-id table, prompt staging, status -> error.
// The WASM side knows requests by slot; ids live here, on the side that reads the plan.

import { SinkrtError } from '../backends/types.js';
import type { CommitSummary, EngineConfig, EngineStats, StepSummary } from '../runtime/engine-api.js';
import { statusError, Status } from './errors.js';
import * as L from './layout.js';
import { compileEngine, createEngineMemory, instantiateEngine, type EngineExports } from './loader.js';
import { EngineViews, type PlanViews } from './views.js';

export type FullConfig = Required<EngineConfig>;

function bad(field: string, rule: string, value: unknown): SinkrtError {
  return new SinkrtError('BAD_CONFIG', `config.${field} = ${String(value)} ${rule}`);
}

/** Fills defaults and checks types; the numeric rules are the engine's own (init's BAD_CONFIG). */
export function resolveConfig(c: EngineConfig): FullConfig {
  if (c === null || typeof c !== 'object') throw bad('', 'must be an object', c);
  const int = (field: keyof EngineConfig, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw bad(field, 'must be a non-negative 32-bit integer', v);
    return v;
  };
  const maxNumSeqs = int('maxNumSeqs', c.maxNumSeqs);
  const numBlocks = int('numBlocks', c.numBlocks);
  const pc = c.enablePrefixCaching ?? true;
  if (typeof pc !== 'boolean') throw bad('enablePrefixCaching', 'must be a boolean', pc);
  return {
    numBlocks,
    blockSize: int('blockSize', c.blockSize),
    slidingWindow: int('slidingWindow', c.slidingWindow),
    numSlidingBlocks: int('numSlidingBlocks', c.numSlidingBlocks ?? numBlocks),
    maxNumSeqs,
    maxNumBatchedTokens: int('maxNumBatchedTokens', c.maxNumBatchedTokens),
    maxModelLen: int('maxModelLen', c.maxModelLen),
    maxRequests: int('maxRequests', c.maxRequests ?? 4 * maxNumSeqs),
    enablePrefixCaching: pc,
  };
}

/** init()'s arguments, in its order. */
export function initArgs(c: FullConfig): number[] {
  return [c.numBlocks, c.blockSize, c.slidingWindow, c.numSlidingBlocks, c.maxNumSeqs, c.maxNumBatchedTokens,
    c.maxModelLen, c.maxRequests, c.enablePrefixCaching ? 1 : 0];
}

/** Throws the named error of a negative status (values from the header, written by the failing call). */
export function check(status: number, views: EngineViews | null, call: string, id?: number): number {
  if (status >= 0) return status;
  const [a0, a1] = views ? views.errArgs() : [0, 0];
  throw statusError(status, a0, a1, { call, id });
}

/** Request ids <-> engine slots. Ids are any int32 the caller picks, unique among live requests. */
export class IdTable {
  private readonly slots = new Map<number, number>();

  get size(): number { return this.slots.size; }

  checkNew(id: number): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < -0x80000000 || id > 0x7fffffff) {
      throw new SinkrtError('BAD_REQUEST_ID', `addRequest: id = ${String(id)} must be a 32-bit integer`);
    }
    if (this.slots.has(id)) throw new SinkrtError('DUPLICATE_REQUEST', `addRequest(id ${id}): a request with this id is still live`);
  }

  set(id: number, slot: number): void { this.slots.set(id, slot); }

  slotOf(id: number, call: string): number {
    const s = this.slots.get(id);
    if (s === undefined) throw new SinkrtError('UNKNOWN_REQUEST', `${call}(id ${id}): no such request (not added, or already finished/aborted)`);
    return s;
  }

  delete(id: number): void { this.slots.delete(id); }

  /** After commit(): forget every id that ended by its last token (abort/finish already deleted theirs). */
  dropFinished(plan: PlanViews): void {
    for (let i = 0; i < plan.finishedIds.length; i++) {
      if (plan.finishedReasons[i] === 1) this.slots.delete(plan.finishedIds[i]);
    }
  }
}

/**
 * Checks a prompt and stages its token ids in the shared input region; returns [promptLen, withTokens].
 * A prompt given as a length has no token ids: it gets no prefix caching.
 */
export function stagePrompt(views: EngineViews, prompt: Int32Array | number[] | number, maxNew: number, id: number): [number, number] {
  if (typeof maxNew !== 'number' || !Number.isInteger(maxNew) || maxNew < 1 || maxNew > 0x7fffffff) {
    throw new SinkrtError('BAD_MAX_NEW_TOKENS', `addRequest(id ${id}): maxNewTokens = ${String(maxNew)} must be an integer >= 1`);
  }
  if (typeof prompt === 'number') {
    if (!Number.isInteger(prompt) || prompt > 0x7fffffff) throw new SinkrtError('EMPTY_PROMPT', `addRequest(id ${id}): prompt length = ${prompt} must be an integer >= 1`);
    return [prompt, 0];
  }
  const n = prompt.length;
  const cap = views.whole.inputTokens.length;
  if (n + maxNew > views.config.maxModelLen || n > cap) {
    throw new SinkrtError('SEQUENCE_TOO_LONG', `addRequest(id ${id}): prompt + maxNewTokens = ${n + maxNew} is past maxModelLen ${views.config.maxModelLen}`);
  }
  if (prompt instanceof Int32Array) views.whole.inputTokens.set(prompt);
  else {
    for (let i = 0; i < n; i++) {
      const t = prompt[i];
      if (!Number.isInteger(t) || t < -0x80000000 || t > 0x7fffffff) throw new SinkrtError('BAD_TOKEN', `addRequest(id ${id}): prompt[${i}] = ${t} must be a 32-bit integer`);
      views.whole.inputTokens[i] = t;
    }
  }
  views.release();
  return [n, 1];
}

export function stepSummary(views: EngineViews): StepSummary {
  const h = views.header;
  return {
    stepId: h[L.H_STEP_ID], numSeqs: h[L.H_NUM_SEQS], numTokens: h[L.H_NUM_TOKENS], numDecodes: h[L.H_NUM_DECODES],
    numExtends: h[L.H_NUM_EXTENDS], numPrefills: h[L.H_NUM_PREFILLS], numPreempted: h[L.H_NUM_PREEMPTED],
  };
}

export interface CoreOptions {
  /** A compiled engine module (default: build/engine.wasm). */
  module?: WebAssembly.Module;
  wasmUrl?: string | URL;
  memory?: WebAssembly.Memory;
  maxMemoryPages?: number;
}

/** The engine in this thread, synchronous. */
export class EngineCore {
  private readonly ids = new IdTable();

  private constructor(readonly exports: EngineExports, readonly views: EngineViews, readonly config: FullConfig) {}

  static async create(config: EngineConfig, opts: CoreOptions = {}): Promise<EngineCore> {
    const cfg = resolveConfig(config);
    const module = opts.module ?? (await compileEngine(opts.wasmUrl));
    const memory = opts.memory ?? createEngineMemory(opts.maxMemoryPages);
    const ex = await instantiateEngine(module, memory);
    const st = ex.init(...(initArgs(cfg) as [number, number, number, number, number, number, number, number, number]));
    if (st < 0) {
      // The header is valid only after a successful init; read the error words at its address directly.
      const h = new Int32Array(memory.buffer, ex.headerPtr(), L.HEADER_WORDS);
      throw statusError(st, h[L.H_ERR_ARG0], h[L.H_ERR_ARG1], { call: 'init' });
    }
    return new EngineCore(ex, new EngineViews(memory, ex.headerPtr()), cfg);
  }

  get plan(): PlanViews { return this.views.plan; }

  addRequest(id: number, prompt: Int32Array | number[] | number, maxNewTokens: number): void {
    this.ids.checkNew(id);
    const [len, withTokens] = stagePrompt(this.views, prompt, maxNewTokens, id);
    const slot = check(this.exports.addRequest(id, len, maxNewTokens, withTokens), this.views, 'addRequest', id);
    this.ids.set(id, slot);
  }

  private remove(id: number, stopped: number, call: string): void {
    check(this.exports.removeRequest(this.ids.slotOf(id, call), stopped), this.views, call, id);
    this.ids.delete(id);
  }

  abort(id: number): void { this.remove(id, 0, 'abort'); }

  finish(id: number): void { this.remove(id, 1, 'finish'); }

  step(): StepSummary {
    check(this.exports.step(), this.views, 'step');
    this.views.plan.refresh();
    return stepSummary(this.views);
  }

  commit(): CommitSummary {
    this.views.release(); // sampledTokens were written by the caller
    const n = check(this.exports.commit(), this.views, 'commit');
    this.views.plan.refreshFinished();
    this.ids.dropFinished(this.views.plan);
    return { numFinished: n };
  }

  stats(): EngineStats { return this.views.stats(); }

  hasWork(): boolean {
    const h = this.views.header;
    return h[L.H_RUNNING] + h[L.H_WAITING] > 0;
  }

  /** Live request count as the id table sees it (tests compare it with the engine's). */
  get liveRequests(): number { return this.ids.size; }
}

export { Status };
