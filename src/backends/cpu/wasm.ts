// Loads build/cpu/sinkrt_cpu.wasm (standalone WASM, no emscripten glue) in Node, browsers and
// workers, and owns its memory: allocation through the module's own malloc, and typed views that are
// re-derived whenever the memory has grown (growth detaches every view of the old buffer).

import { SinkrtError } from '../types.js';
import { CPU_ABI_VERSION, PARAM_BYTES, type CpuExports } from './abi.js';

/** Where the module comes from: compiled, bytes, or a URL / path (Node: file path or file: URL). */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView<ArrayBuffer> | URL | string;

const WASM_NAME = 'build/cpu/sinkrt_cpu.wasm';

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

async function readNodeFile(pathOrUrl: string | URL): Promise<ArrayBuffer> {
  const fs = await import('node:fs/promises');
  const b = await fs.readFile(pathOrUrl);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Node: walk up from this file (src/backends/cpu or dist/src/backends/cpu) to the package root. */
async function findInNode(): Promise<ArrayBuffer> {
  const fs = await import('node:fs');
  const tried: string[] = [];
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 6; i++) {
    const candidate = new URL(WASM_NAME, dir);
    tried.push(candidate.pathname);
    if (fs.existsSync(candidate)) return readNodeFile(candidate);
    dir = new URL('..', dir);
  }
  throw new SinkrtError('E_CPU_WASM_MISSING', `CPU backend WASM not found (run npm run build:cpu); tried ${tried.join(', ')}`);
}

/** Browsers and workers: fetch relative to this module, from the source or the dist layout. */
async function findInBrowser(): Promise<ArrayBuffer> {
  const tried: string[] = [];
  for (const rel of ['../../../', '../../../../']) {
    const url = new URL(rel + WASM_NAME, import.meta.url);
    tried.push(url.href);
    try {
      const res = await fetch(url);
      if (res.ok) return await res.arrayBuffer();
    } catch {
      // try the next layout; all failures are reported together below
    }
  }
  throw new SinkrtError('E_CPU_WASM_MISSING', `CPU backend WASM not found; pass options.wasm (tried ${tried.join(', ')})`);
}

async function compile(src: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  let bytes: BufferSource;
  if (src === undefined) bytes = isNode() ? await findInNode() : await findInBrowser();
  else if (typeof src === 'string' || src instanceof URL) {
    if (isNode() && (typeof src === 'string' ? !/^https?:/.test(src) : src.protocol === 'file:')) bytes = await readNodeFile(src);
    else {
      const res = await fetch(src);
      if (!res.ok) throw new SinkrtError('E_CPU_WASM_MISSING', `options.wasm = ${String(src)}: fetch failed with HTTP ${res.status}`);
      bytes = await res.arrayBuffer();
    }
  } else bytes = src;
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new SinkrtError('E_CPU_WASM_INVALID', `CPU backend WASM does not compile (WASM SIMD needed): ${(e as Error).message}`, { cause: e });
  }
}

/** One instance of the kernels' module and its memory. */
export class CpuModule {
  readonly exports: CpuExports;
  private buffer: ArrayBuffer | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);
  private u16View = new Uint16Array(0);

  private constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as CpuExports;
  }

  static async load(src?: WasmSource): Promise<CpuModule> {
    const module = await compile(src);
    let self: CpuModule | null = null;
    const imports = {
      env: {
        // Called by the module's malloc after memory.grow: the old views are detached now.
        emscripten_notify_memory_growth: () => {
          if (self) self.buffer = null;
        },
      },
    };
    const instance = await WebAssembly.instantiate(module, imports);
    self = new CpuModule(instance);
    self.exports._initialize();
    const abi = self.exports.sinkrt_abi_version();
    const bytes = self.exports.sinkrt_params_bytes();
    if (abi !== CPU_ABI_VERSION || bytes !== PARAM_BYTES) {
      throw new SinkrtError(
        'E_CPU_WASM_ABI',
        `CPU backend WASM has ABI ${abi} with ${bytes}-byte params; this runtime needs ABI ${CPU_ABI_VERSION} with ${PARAM_BYTES} (rebuild: npm run build:cpu)`,
      );
    }
    return self;
  }

  private refresh(): void {
    const buf = this.exports.memory.buffer;
    if (buf === this.buffer) return;
    this.buffer = buf;
    this.f32View = new Float32Array(buf);
    this.i32View = new Int32Array(buf);
    this.u16View = new Uint16Array(buf);
  }

  /** Views over the whole memory, valid until the next allocation. */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }
  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
  get u16(): Uint16Array {
    this.refresh();
    return this.u16View;
  }
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** A 16-byte-aligned block; throws E_CPU_OUT_OF_MEMORY when the 4 GiB wasm32 space is exhausted. */
  alloc(bytes: number, what: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 0xfff00000) {
      throw new SinkrtError('E_CPU_OUT_OF_MEMORY', `${what}: ${bytes} bytes exceeds the CPU backend's 4 GiB WASM memory`);
    }
    const p = this.exports.sinkrt_alloc(Math.max(16, bytes)) >>> 0;
    if (p === 0) {
      throw new SinkrtError('E_CPU_OUT_OF_MEMORY', `${what}: could not allocate ${bytes} bytes (WASM memory now ${this.memoryBytes} bytes, 4 GiB max)`);
    }
    this.buffer = null;
    return p;
  }

  free(ptr: number): void {
    if (ptr !== 0) this.exports.sinkrt_free(ptr);
  }
}
