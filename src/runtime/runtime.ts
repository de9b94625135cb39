// createRuntime: the public facade. The scheduler engine (assembly/, via engine-client.ts) runs in a
// worker; this thread (the caller's) owns the backend and every layer's KV cache and executes the
// plans the engine makes (executor.ts). One engine call runs at a time (a small queue), because a
// plan's views in shared memory stay valid only from step() to commit().
//
// Lifecycle: 'running' -> ('down' after a worker death -> restart() -> 'running') -> 'closed'.
// On a worker death every call in flight or queued rejects with E_WORKER_DIED; the runtime keeps its
// own record of unfinished requests (requests.ts), and restart() starts a fresh engine and re-adds
// them, prompt plus what they generated, so nothing is lost or duplicated.

import type { AttentionBackend, BackendName, KvCache } from '../backends/backend.js';
import type { Selection } from '../backends/select.js';
import type { Dtype } from '../backends/types.js';
import type { Engine, EngineStats } from './engine-api.js';
import { FinishReason } from './engine-api.js';
import { createEngine } from './engine-client.js';
import { SinkrtError, RuntimeErrorCode, checkInt, checkObject, checkKnownKeys, invalid } from './errors.js';
import { StepExecutor, type LayerRun } from './executor.js';
import { checkLayer, type LayerCheck } from './check.js';
import { normalizeOptions, validateAddRequest, type AddRequestInput, type NormalizedOptions, type RuntimeOptions } from './options.js';
import { preferredDtype, releaseBackend, startAuto, startBackend, type ProbeResult } from './probe.js';
import { appendToken, makeRecord, nextToken, resumeArgs, type RequestRecord } from './requests.js';
import { isWorkerDeath } from './worker-death.js';

export type FinishKind = 'length' | 'stopped' | 'aborted';

export interface StepResult {
  stepId: number;
  /** False when there was nothing to run (no request waiting or running). */
  ran: boolean;
  numSeqs: number;
  numTokens: number;
  numDecodes: number;
  numExtends: number;
  numPrefills: number;
  numPreempted: number;
  /** Requests that advanced this step: query tokens run, and the token generated (if the step sampled one). */
  advanced: { id: number; queryLen: number; token: number | null }[];
  /** Requests that ended this step (their blocks are back in the pool). */
  finished: { id: number; reason: FinishKind; generated: number }[];
  selection: { full: Selection | null; sliding: Selection | null };
  /** Per-layer reference checks, when step({ check: true }). */
  checks: LayerCheck[] | null;
  /** Wall times: engine step, attention of all layers (checks excluded), reference checks, engine commit. */
  ms: { schedule: number; forward: number; check: number; commit: number };
}

export interface RuntimeStats {
  backend: BackendName;
  state: 'running' | 'down' | 'closed';
  /** Requests added and not yet reported finished. */
  requests: number;
  engine: EngineStats;
  /** Bytes of KV cache the backend holds for this runtime (K and V, all layers). */
  cacheBytes: number;
  restarts: number;
}

const FINISH_KIND: Record<number, FinishKind> = { [FinishReason.Length]: 'length', [FinishReason.Stopped]: 'stopped', [FinishReason.Aborted]: 'aborted' };
const BYTES: Record<string, number> = { f32: 4, f16: 2, bf16: 2 };

export class Runtime {
  readonly backendName: BackendName;
  /** Why this backend: the auto choice with the reasons for the ones passed over, or "requested". */
  readonly backendReason: string;
  readonly probes: ProbeResult[];
  private state: 'running' | 'down' | 'closed' = 'running';
  private readonly records = new Map<number, RequestRecord>();
  private nextId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private stepping = false;
  private restarts = 0;
  /** Requests that ended outside a commit (aborted before a worker death); reported by the next step. */
  private carryFinished: StepResult['finished'] = [];
  private readonly executor: StepExecutor;

  private constructor(
    private readonly opts: NormalizedOptions,
    private engine: Engine,
    readonly backend: AttentionBackend,
    private readonly ownsBackend: boolean,
    private readonly caches: KvCache[],
    choice: { name: BackendName; reason: string; probes: ProbeResult[] },
  ) {
    this.backendName = choice.name;
    this.backendReason = choice.reason;
    this.probes = choice.probes;
    this.executor = new StepExecutor(backend, opts.model, caches);
    this.executor.reserve(opts.engine.maxNumBatchedTokens);
  }

  static async create(raw: RuntimeOptions): Promise<Runtime> {
    const opts = normalizeOptions(raw);
    let backend: AttentionBackend;
    let choice: { name: BackendName; reason: string; probes: ProbeResult[] };
    const owns = typeof opts.backend === 'string';
    if (opts.backend === 'auto') {
      const auto = await startAuto(opts.host, undefined, opts.cache.dtype === 'auto' ? undefined : opts.cache.dtype);
      backend = auto.backend;
      choice = { name: auto.name, reason: auto.reason, probes: auto.probes };
    } else if (typeof opts.backend === 'string') {
      backend = await startBackend(opts.backend, opts.host);
      choice = { name: opts.backend, reason: `requested backend ${opts.backend}`, probes: [] };
    } else {
      backend = opts.backend;
      choice = { name: backend.name, reason: 'backend instance given by the host', probes: [] };
    }
    const caches: KvCache[] = [];
    let engine: Engine | null = null;
    try {
      const dtype = opts.cache.dtype === 'auto' ? preferredDtype(choice.name, backend) : opts.cache.dtype;
      opts.cache = { ...opts.cache, dtype };
      const { model } = opts;
      const cache = { ...opts.cache, dtype };
      for (let l = 0; l < model.layers.length; l++) {
        const numBlocks = model.sliding[l] && opts.engine.numSlidingBlocks !== undefined ? opts.engine.numSlidingBlocks : cache.numBlocks;
        caches.push(await backend.createCache({ numBlocks, blockSize: cache.blockSize, dtype: cache.dtype, numKvHeads: model.numKvHeads, headSize: model.headSize }));
      }
      engine = await Runtime.startEngine(opts);
      return new Runtime(opts, engine, backend, owns, caches, choice);
    } catch (e) {
      for (const c of caches) backend.destroyCache(c);
      if (owns) await releaseBackend(backend);
      throw e;
    }
  }

  private static startEngine(opts: NormalizedOptions): Promise<Engine> {
    return createEngine({ ...opts.engine, worker: opts.worker, wasmUrl: opts.wasmUrl, workerUrl: opts.workerUrl });
  }

  /** Runs engine work one call at a time; a worker death turns into E_WORKER_DIED and the 'down' state. */
  private exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.state === 'closed') throw new SinkrtError(RuntimeErrorCode.CLOSED, `${what}: the runtime is closed`);
      if (this.state === 'down') throw new SinkrtError(RuntimeErrorCode.WORKER_DIED, `${what}: the runtime went down before this call ran; call restart()`);
      try {
        return await fn();
      } catch (e) {
        if (this.state === 'running' && isWorkerDeath(e)) {
          this.state = 'down';
          throw new SinkrtError(RuntimeErrorCode.WORKER_DIED, `${what}: the engine worker died (${e instanceof Error ? e.message : String(e)}); call restart()`, { cause: e });
        }
        throw e;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private guard(what: string): void {
    if (this.state === 'closed') throw new SinkrtError(RuntimeErrorCode.CLOSED, `${what}: the runtime is closed`);
    if (this.state === 'down') throw new SinkrtError(RuntimeErrorCode.NOT_RUNNING, `${what}: the runtime is down (engine worker died or a step failed); call restart() first`);
  }

  /** Adds a request; resolves to its id. */
  async addRequest(input: AddRequestInput): Promise<number> {
    this.guard('addRequest');
    const r = validateAddRequest(input, this.opts.engine.maxModelLen);
    let id = r.id;
    if (id === undefined) {
      while (this.records.has(this.nextId)) this.nextId = (this.nextId + 1) & 0x7fffffff;
      id = this.nextId;
      this.nextId = (this.nextId + 1) & 0x7fffffff;
    } else if (this.records.has(id)) throw invalid('request.id', 'not be a request still in flight', id);
    const rec = makeRecord(id, r.prompt, r.maxTokens);
    this.records.set(id, rec);
    try {
      await this.exclusive('addRequest', () => this.engine.addRequest(rec.id, rec.tokens.subarray(0, rec.promptLen), rec.maxTokens));
    } catch (e) {
      this.records.delete(id);
      throw e;
    }
    return id;
  }

  /** Aborts a request wherever it is; its blocks are freed now, and the next step reports it finished. */
  async abort(id: number): Promise<void> {
    this.guard('abort');
    checkInt('id', id, 0, 0x7fffffff);
    const rec = this.records.get(id);
    if (rec === undefined) throw new SinkrtError(RuntimeErrorCode.UNKNOWN_REQUEST, `id = ${id} must be a request in flight (unknown or already finished)`);
    if (rec.aborting) return;
    rec.aborting = true;
    // Queued behind a running step, the request may finish at that step's commit: then there is nothing to abort.
    await this.exclusive('abort', () => (this.records.has(id) ? this.engine.abort(id) : Promise.resolve()));
  }

  /** The scheduler limits in force (defaults filled in). */
  get limits(): { maxNumSeqs: number; maxNumBatchedTokens: number; maxModelLen: number; maxRequests: number } {
    const e = this.opts.engine;
    return { maxNumSeqs: e.maxNumSeqs, maxNumBatchedTokens: e.maxNumBatchedTokens, maxModelLen: e.maxModelLen, maxRequests: e.maxRequests ?? 4 * e.maxNumSeqs };
  }

  /** True while any request is waiting or running. */
  /** The KV cache's storage dtype (cache.dtype 'auto' resolved for the chosen backend). */
  get cacheDtype(): Dtype {
    return this.caches[0]?.spec.dtype ?? (this.opts.cache.dtype as Dtype);
  }

  get hasWork(): boolean {
    return this.records.size > 0;
  }

  /** One engine step: schedule, run every layer, commit; see StepResult. */
  async step(options: { check?: boolean; checkSeqs?: number } = {}): Promise<StepResult> {
    this.guard('step');
    const o = checkObject('step options', options);
    checkKnownKeys('step options', o, ['check', 'checkSeqs']);
    if (o.check !== undefined && typeof o.check !== 'boolean') throw invalid('step options.check', 'be a boolean', o.check);
    const checkSeqs = o.checkSeqs === undefined ? 4 : checkInt('step options.checkSeqs', o.checkSeqs, 1);
    if (this.stepping) throw new SinkrtError(RuntimeErrorCode.BUSY, 'step: a step is already running; await it first');
    this.stepping = true;
    try {
      return await this.exclusive('step', () => this.runStep(o.check === true, checkSeqs));
    } finally {
      this.stepping = false;
    }
  }

  private async runStep(check: boolean, checkSeqs: number): Promise<StepResult> {
    const t0 = performance.now();
    const sum = await this.engine.step();
    const plan = this.engine.plan;
    const t1 = performance.now();
    const checks: LayerCheck[] | null = check ? [] : null;
    let checkMs = 0;
    const onLayer = checks === null ? undefined : async (run: LayerRun) => {
      const c0 = performance.now();
      checks.push(await checkLayer(this.backend, this.opts.model.layers[run.layer], run, checkSeqs));
      checkMs += performance.now() - c0;
    };
    let selection: StepResult['selection'] = { full: null, sliding: null };
    try {
      if (sum.numSeqs > 0) selection = await this.executor.run(plan, this.records, onLayer);
    } catch (e) {
      // The plan is scheduled but cannot be committed without its results: stop here. restart()
      // re-runs every unfinished request from the runtime's own record, as after a worker death.
      this.state = 'down';
      const msg = e instanceof SinkrtError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
      throw new SinkrtError(RuntimeErrorCode.STEP_FAILED, `step: the backend failed (${msg}); the step was not committed; call restart()`, { cause: e });
    }
    const advanced: StepResult['advanced'] = [];
    const sampled: [RequestRecord, number][] = [];
    for (let s = 0; s < sum.numSeqs; s++) {
      const rec = this.records.get(plan.requestIds[s]) as RequestRecord;
      let token: number | null = null;
      if (plan.sample[s] === 1) {
        token = nextToken(rec, plan.full.seqLens[s] - 1);
        plan.sampledTokens[s] = token;
        sampled.push([rec, token]);
      }
      advanced.push({ id: rec.id, queryLen: plan.queryLens[s], token });
    }
    const t2 = performance.now();
    const commit = await this.engine.commit();
    // Only a committed token counts: a death before this point leaves the record as it was.
    for (const [rec, token] of sampled) appendToken(rec, token);
    const finished: StepResult['finished'] = this.carryFinished;
    this.carryFinished = [];
    for (let i = 0; i < commit.numFinished; i++) {
      const id = plan.finishedIds[i];
      const rec = this.records.get(id);
      if (rec === undefined) continue;
      finished.push({ id, reason: FINISH_KIND[plan.finishedReasons[i]] ?? 'stopped', generated: rec.generated });
      this.records.delete(id);
    }
    return {
      stepId: sum.stepId,
      ran: sum.numSeqs > 0,
      numSeqs: sum.numSeqs,
      numTokens: sum.numTokens,
      numDecodes: sum.numDecodes,
      numExtends: sum.numExtends,
      numPrefills: sum.numPrefills,
      numPreempted: sum.numPreempted,
      advanced,
      finished,
      selection,
      checks,
      ms: { schedule: t1 - t0, forward: t2 - t1 - checkMs, check: checkMs, commit: performance.now() - t2 },
    };
  }

  async stats(): Promise<RuntimeStats> {
    this.guard('stats');
    const engine = await this.exclusive('stats', () => this.engine.stats());
    const { model, cache } = this.opts;
    const cacheBytes = this.caches.reduce((a, c) => a + 2 * c.spec.numBlocks * c.spec.blockSize * model.numKvHeads * model.headSize * BYTES[cache.dtype], 0);
    return { backend: this.backendName, state: this.state, requests: this.records.size, engine, cacheBytes, restarts: this.restarts };
  }

  /**
   * After a worker death: starts a fresh engine and re-adds every unfinished request (prompt plus the
   * tokens it generated). Requests aborted before the death are dropped. The KV caches are kept: the
   * new engine recomputes what it needs into blocks it allocates.
   */
  async restart(): Promise<{ readded: number }> {
    if (this.state === 'closed') throw new SinkrtError(RuntimeErrorCode.CLOSED, 'restart: the runtime is closed');
    if (this.state === 'running') throw new SinkrtError(RuntimeErrorCode.INVALID_ARGUMENT, 'restart: state = "running" must be "down" (restart follows a worker death or a failed step)');
    await this.engine.close().catch(() => undefined);
    this.engine = await Runtime.startEngine(this.opts);
    this.state = 'running';
    this.restarts++;
    let readded = 0;
    for (const rec of [...this.records.values()]) {
      if (rec.aborting || rec.generated >= rec.maxTokens) {
        this.carryFinished.push({ id: rec.id, reason: rec.aborting ? 'aborted' : 'length', generated: rec.generated });
        this.records.delete(rec.id);
        continue;
      }
      const { prompt, maxNewTokens } = resumeArgs(rec);
      await this.exclusive('restart', () => this.engine.addRequest(rec.id, prompt, maxNewTokens));
      readded++;
    }
    return { readded };
  }

  /** Test hook: the live engine (to kill its worker in reliability tests). */
  get engineForTests(): Engine {
    return this.engine;
  }

  /** Releases the engine (and its worker), every KV cache, and the backend if this runtime started it. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.queue;
    const errors: unknown[] = [];
    await this.engine.close().catch((e) => errors.push(e));
    for (const c of this.caches) {
      try {
        this.backend.destroyCache(c);
      } catch (e) {
        errors.push(e);
      }
    }
    this.caches.length = 0;
    if (this.ownsBackend) await releaseBackend(this.backend).catch((e) => errors.push(e));
    this.records.clear();
    if (errors.length > 0) throw new SinkrtError('E_CLOSE', `close: ${errors.length} release(s) failed: ${errors.map(String).join('; ')}`);
  }
}

export function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  return Runtime.create(options);
}
