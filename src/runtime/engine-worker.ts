// Worker entry of the engine (worker_threads in Node, a module Web Worker in browsers) and the one
// class of its protocol (STYLE rule 8). Everything that crosses is numbers, except at init: the
// compiled module and the shared memory, both of which stay what they are across postMessage (the
// module is cloned by reference to the same code; the memory stays shared). The transport (comlink)
// is confined to this file's bottom and to engine-client.ts.
//
// Handshake: the client creates the shared memory, sends it with the module to init(); the worker
// instantiates over it and runs the engine's init(), which grows the memory once and writes the
// header. init() then returns the header address; only after that reply does the client read
// memory.buffer and build its views (a buffer taken earlier would have the pre-growth length).
// Each later call writes shared memory in the worker and ends with an atomic add to the header's
// publish word; the client, after the reply arrives, does an Atomics.load of that word before it
// reads (EngineViews.acquire): the atomics order the reads after the writes, not just the message.

import * as Comlink from 'comlink';
import { instantiateEngine, type EngineExports } from '../wasm/loader.js';
import { runBenchLoop, type BenchSpec, type BenchFigures } from '../wasm/bench-loop.js';

export class EngineWorkerApi {
  private ex: EngineExports | null = null;
  private memory: WebAssembly.Memory | null = null;

  /** Returns [status, headerPtr]. */
  async init(module: WebAssembly.Module, memory: WebAssembly.Memory, args: number[]): Promise<[number, number]> {
    if (this.ex !== null) return [-2, 0];
    const ex = await instantiateEngine(module, memory);
    const st = ex.init(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]);
    if (st >= 0) { this.ex = ex; this.memory = memory; }
    return [st, ex.headerPtr()];
  }

  private get e(): EngineExports {
    if (this.ex === null) throw new Error('engine worker: init() first');
    return this.ex;
  }

  addRequest(extId: number, promptLen: number, maxNew: number, withTokens: number): number {
    return this.e.addRequest(extId, promptLen, maxNew, withTokens);
  }

  removeRequest(slot: number, stopped: number): number { return this.e.removeRequest(slot, stopped); }

  step(): number { return this.e.step(); }

  commit(): number { return this.e.commit(); }

  /** Times step()+metadata (and commit) inside this thread; see src/wasm/bench-loop.ts. */
  bench(spec: BenchSpec): BenchFigures {
    return runBenchLoop(this.e, this.memory as WebAssembly.Memory, spec);
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function main(): Promise<void> {
  const api = new EngineWorkerApi();
  if (isNode) {
    const wt = await import('node:worker_threads');
    if (wt.isMainThread || wt.parentPort === null) return; // imported for its types, not as a worker
    const adapter = await import('comlink/dist/umd/node-adapter.js');
    // The adapter is CommonJS (module.exports = fn); its .d.ts says `export default`: unwrap either.
    const nodeEndpoint = ((adapter as { default: unknown }).default ?? adapter) as (p: unknown) => Comlink.Endpoint;
    Comlink.expose(api, nodeEndpoint(wt.parentPort));
  } else if (typeof self !== 'undefined' && typeof (self as { postMessage?: unknown }).postMessage === 'function' && typeof window === 'undefined') {
    Comlink.expose(api, self as unknown as Comlink.Endpoint);
  }
}

void main();
