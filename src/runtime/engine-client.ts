// createEngine: the Engine of engine-api.ts, in this thread or in a worker. The comlink transport
// stays in this file (and the bottom of engine-worker.ts). Control calls are queued one at a time:
// addRequest stages its prompt in the shared input region, so two calls must not overlap. Step data
// is read from the shared memory in place (EngineViews), never posted.

import * as Comlink from 'comlink';
import { SinkrtError } from '../backends/types.js';
import type { CommitSummary, Engine, EngineOptions, EngineStats, StepPlan, StepSummary } from './engine-api.js';
import type { EngineWorkerApi } from './engine-worker.js';
import type { BenchFigures, BenchSpec } from '../wasm/bench-loop.js';
import { EngineCore, IdTable, check, initArgs, resolveConfig, stagePrompt, stepSummary, type FullConfig } from '../wasm/engine-core.js';
import { compileEngine, createEngineMemory } from '../wasm/loader.js';
import { statusError } from '../wasm/errors.js';
import * as L from '../wasm/layout.js';
import { EngineViews } from '../wasm/views.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The engine in this thread: EngineCore behind the async interface. */
class InThreadEngine implements Engine {
  constructor(private readonly core: EngineCore) {}
  get config(): FullConfig { return this.core.config; }
  get plan(): StepPlan { return this.core.plan; }
  async addRequest(id: number, prompt: Int32Array | number[] | number, maxNewTokens: number): Promise<void> { this.core.addRequest(id, prompt, maxNewTokens); }
  async abort(id: number): Promise<void> { this.core.abort(id); }
  async finish(id: number): Promise<void> { this.core.finish(id); }
  async step(): Promise<StepSummary> { return this.core.step(); }
  async commit(): Promise<CommitSummary> { return this.core.commit(); }
  async stats(): Promise<EngineStats> { return this.core.stats(); }
  async hasWork(): Promise<boolean> { return this.core.hasWork(); }
  async close(): Promise<void> {}
}

interface WorkerHandle {
  terminate(): unknown;
}

/** Calls `died` once when the worker exits or fails on its own (not through close()). */
function watchDeath(w: unknown, isClosing: () => boolean, died: (e: SinkrtError) => void): void {
  let done = false;
  const fire = (why: string) => {
    if (done || isClosing()) return;
    done = true;
    died(new SinkrtError('WORKER_DIED', `engine: the engine worker died (${why})`));
  };
  if (isNode) {
    const nw = w as { on(ev: string, fn: (x: unknown) => void): void };
    nw.on('exit', (code) => fire(`exit code ${String(code)}`));
    nw.on('error', (e) => fire(e instanceof Error ? e.message : String(e)));
  } else {
    (w as Worker).addEventListener('error', (ev) => fire(ev.message || 'error event'));
  }
}

/** The engine in a worker; this side keeps the ids and the views. */
export class WorkerEngine implements Engine {
  private readonly ids = new IdTable();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private dead: SinkrtError | null = null;
  /** Rejecters of the remote calls in flight, settled with WORKER_DIED if the worker dies. */
  private readonly inFlight = new Set<(e: unknown) => void>();

  private constructor(
    private readonly worker: WorkerHandle,
    // Kept as a field: a comlink proxy must stay strongly referenced across awaits.
    private readonly remote: Comlink.Remote<EngineWorkerApi>,
    private readonly views: EngineViews,
    readonly config: FullConfig,
  ) {
    watchDeath(worker, () => this.closed, (e) => {
      this.dead = e;
      for (const reject of this.inFlight) reject(e);
      this.inFlight.clear();
    });
  }

  /**
   * A remote call that rejects with WORKER_DIED instead of hanging when the worker is gone. (Not a
   * Promise.race against one long-lived promise: each race would leave a reaction on it forever.)
   */
  private call<T>(p: Promise<T>): Promise<T> {
    if (this.dead !== null) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      p.then(
        (v) => { this.inFlight.delete(reject); resolve(v); },
        (e) => { this.inFlight.delete(reject); reject(e); },
      );
    });
  }

  static async create(options: EngineOptions): Promise<WorkerEngine> {
    const cfg = resolveConfig(options);
    const module = await compileEngine(options.wasmUrl);
    const memory = createEngineMemory();
    const url = options.workerUrl ?? new URL('./engine-worker.js', import.meta.url);
    let worker: WorkerHandle;
    let endpoint: Comlink.Endpoint;
    if (isNode) {
      const { Worker } = await import('node:worker_threads');
      const w = new Worker(url);
      const adapter = await import('comlink/dist/umd/node-adapter.js');
      const nodeEndpoint = ((adapter as { default: unknown }).default ?? adapter) as (p: unknown) => Comlink.Endpoint;
      endpoint = nodeEndpoint(w);
      worker = w;
    } else {
      const w = new Worker(url, { type: 'module' });
      endpoint = w as unknown as Comlink.Endpoint;
      worker = w;
    }
    const remote = Comlink.wrap<EngineWorkerApi>(endpoint);
    // A worker that fails to start (a missing or broken entry file) never answers init: watch for it
    // during the handshake only, then drop the listeners.
    let stopWatching = () => {};
    const startFailure = new Promise<never>((_, reject) => {
      const fail = (why: unknown) => reject(new SinkrtError('WORKER_DIED', `engine: the engine worker failed to start from ${String(url)} (${why instanceof Error ? why.message : String(why)})`));
      if (isNode) {
        const nw = worker as unknown as { once(ev: string, fn: (x: unknown) => void): void; off(ev: string, fn: (x: unknown) => void): void };
        const onExit = (code: unknown) => fail(`exit code ${String(code)}`);
        nw.once('error', fail);
        nw.once('exit', onExit);
        stopWatching = () => { nw.off('error', fail); nw.off('exit', onExit); };
      } else {
        const bw = worker as unknown as Worker;
        const onError = (ev: ErrorEvent) => fail(ev.message || 'error event');
        bw.addEventListener('error', onError);
        stopWatching = () => bw.removeEventListener('error', onError);
      }
    });
    try {
      // Handshake (see engine-worker.ts): views only after the worker's init() has grown the memory.
      const [st, hdr] = await Promise.race([remote.init(module, memory, initArgs(cfg)), startFailure]);
      stopWatching();
      if (st < 0) {
        const h = new Int32Array(memory.buffer, hdr, L.HEADER_WORDS);
        Atomics.load(h, L.H_PUBLISH);
        throw statusError(st, h[L.H_ERR_ARG0], h[L.H_ERR_ARG1], { call: 'init' });
      }
      return new WorkerEngine(worker, remote, new EngineViews(memory, hdr), cfg);
    } catch (e) {
      stopWatching();
      remote[Comlink.releaseProxy]();
      await worker.terminate();
      throw e;
    }
  }

  get plan(): StepPlan { return this.views.plan; }

  /** Runs calls one at a time, in order; a failed call does not block the next. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SinkrtError('ENGINE_CLOSED', 'engine: closed'));
    const guarded = () => (this.dead !== null ? Promise.reject(this.dead) : fn());
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  addRequest(id: number, prompt: Int32Array | number[] | number, maxNewTokens: number): Promise<void> {
    return this.serial(async () => {
      this.ids.checkNew(id);
      const [len, withTokens] = stagePrompt(this.views, prompt, maxNewTokens, id);
      const slot = check(await this.call(this.remote.addRequest(id, len, maxNewTokens, withTokens)), this.views, 'addRequest', id);
      this.ids.set(id, slot);
    });
  }

  private remove(id: number, stopped: number, call: string): Promise<void> {
    return this.serial(async () => {
      check(await this.call(this.remote.removeRequest(this.ids.slotOf(id, call), stopped)), this.views, call, id);
      this.ids.delete(id);
    });
  }

  abort(id: number): Promise<void> { return this.remove(id, 0, 'abort'); }
  finish(id: number): Promise<void> { return this.remove(id, 1, 'finish'); }

  step(): Promise<StepSummary> {
    return this.serial(async () => {
      check(await this.call(this.remote.step()), this.views, 'step');
      this.views.plan.refresh();
      return stepSummary(this.views);
    });
  }

  commit(): Promise<CommitSummary> {
    return this.serial(async () => {
      this.views.release(); // sampledTokens were written by the caller
      const n = check(await this.call(this.remote.commit()), this.views, 'commit');
      this.views.plan.refreshFinished();
      this.ids.dropFinished(this.views.plan);
      return { numFinished: n };
    });
  }

  // Stats and hasWork read the header in place: the worker publishes them at the end of every call.
  stats(): Promise<EngineStats> { return this.serial(async () => this.views.stats()); }

  hasWork(): Promise<boolean> {
    return this.serial(async () => {
      this.views.acquire();
      return this.views.header[L.H_RUNNING] + this.views.header[L.H_WAITING] > 0;
    });
  }

  /** Runs the engine benchmark loop inside the worker (bench/engine.ts). */
  bench(spec: BenchSpec): Promise<BenchFigures> { return this.serial(() => this.call(this.remote.bench(spec))); }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    if (this.dead !== null) return;
    this.remote[Comlink.releaseProxy]();
    await this.worker.terminate();
  }

  /** Test hook: kills the worker as a crash would (pending and later calls reject with WORKER_DIED). */
  __kill(): void { void this.worker.terminate(); }
}

/** The engine of engine-api.ts: in this thread, or (options.worker) in a worker. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  if (options.worker) return WorkerEngine.create(options);
  return new InThreadEngine(await EngineCore.create(options, { wasmUrl: options.wasmUrl }));
}
