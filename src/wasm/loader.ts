// Loads the compiled engine (build/engine.wasm) and instantiates it over a shared WebAssembly.Memory.
// The module imports its memory (`env.memory`, shared): the host creates it, so the same memory can
// be handed to a worker (it stays shared across postMessage) and viewed from every thread.

import { SinkrtError } from '../backends/types.js';

export interface EngineExports {
  init(nb: number, bs: number, w: number, nsb: number, s: number, t: number, l: number, r: number, pc: number): number;
  headerPtr(): number;
  inputTokensPtr(): number;
  addRequest(extId: number, promptLen: number, maxNew: number, withTokens: number): number;
  removeRequest(slot: number, stopped: number): number;
  step(): number;
  commit(): number;
  seqSlot(b: number): number;
}

/** Default ceiling of the engine's memory in 64 KiB pages (1 GiB); init() grows to what it needs. */
export const DEFAULT_MAX_MEMORY_PAGES = 16384;

export function createEngineMemory(maxPages = DEFAULT_MAX_MEMORY_PAGES): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true });
  } catch (e) {
    // Browsers give shared memory only to cross-origin isolated pages.
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    throw new SinkrtError('SHARED_MEMORY_UNAVAILABLE',
      `engine: cannot create a shared WebAssembly.Memory of ${maxPages} pages` +
      (isolated === false ? ': this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)' : ''),
      { cause: e });
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function findWasmInNode(name: string): Promise<Uint8Array> {
  const { readFile, access } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  // src/wasm/ in the sources, dist/src/wasm/ when compiled: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'build', name);
    try {
      await access(candidate);
      return await readFile(candidate);
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error(`engine: build/${name} not found above ${fileURLToPath(import.meta.url)}; run npm run build:asm`);
}

/** Compiles the engine module from a URL/path, bytes, or (default) this package's build/engine.wasm. */
export async function compileEngine(source?: string | URL | BufferSource, debug = false): Promise<WebAssembly.Module> {
  if (source === undefined) {
    const name = debug ? 'engine.debug.wasm' : 'engine.wasm';
    if (isNode) return WebAssembly.compile((await findWasmInNode(name)) as Uint8Array<ArrayBuffer>);
    // Browsers: build/ sits at the package root, two levels above src/wasm/, three above dist/src/wasm/.
    const up = import.meta.url.includes('/dist/src/') ? '../../../' : '../../';
    return WebAssembly.compileStreaming(fetch(new URL(`${up}build/${name}`, import.meta.url)));
  }
  if (typeof source === 'string' || source instanceof URL) {
    if (isNode && !(source instanceof URL && source.protocol.startsWith('http'))) {
      const { readFile } = await import('node:fs/promises');
      return WebAssembly.compile((await readFile(source)) as Uint8Array<ArrayBuffer>);
    }
    return WebAssembly.compileStreaming(fetch(source));
  }
  return WebAssembly.compile(source);
}

export async function instantiateEngine(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<EngineExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory,
      // Built with noAssert and the stub runtime, the module has no abort import; kept for debug builds.
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new Error(`engine: abort at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as EngineExports;
}
