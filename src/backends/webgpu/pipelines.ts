// Compiles each pipeline variant once and caches it. A key holds only init-time facts: the kernel,
// the storage dtype, whether subgroups are used, and the layer geometry (head size, GQA group),
// never anything of a step (batch size, lengths), so a serving run compiles a handful of pipelines
// at its first steps and none after.

import { SinkrtError } from '../types.js';
import { compose, type ComposeOptions, type ShaderName, type ShaderPiece, type ShaderSources } from './shaders.js';

export type KernelFile = Exclude<ShaderName, ShaderPiece>;

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** Number of pipelines compiled so far (tests check that repeated steps compile nothing). */
  compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly sources: ShaderSources,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(kernel: KernelFile, opts: ComposeOptions): Promise<GPUComputePipeline> {
    const key = `${kernel}|${opts.f16 ? (opts.packedF16 ? 'f16packed' : 'f16') : 'f32'}|${opts.rolled ? 'rolled' : 'unrolled'}|${Object.entries(opts.flags).filter(([, v]) => v).map(([k]) => k).join(',')}|${Object.entries(opts.constants).map(([k, v]) => `${k}=${v}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.build(kernel, opts, key);
      this.pipelines.set(key, p);
      // A failed compile is not cached: the next call reports it again instead of a stale promise.
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async build(kernel: KernelFile, opts: ComposeOptions, key: string): Promise<GPUComputePipeline> {
    const code = compose(this.sources, kernel, opts);
    const module = this.device.createShaderModule({ code, label: key });
    try {
      const pipeline = await this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.compiled++;
      return pipeline;
    } catch (e) {
      const info = await module.getCompilationInfo().catch(() => null);
      const msgs = info?.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('; ') ?? '';
      throw new SinkrtError('E_SHADER', `compiling ${key} failed: ${(e as Error).message}${msgs ? ` [${msgs}]` : ''}`, { cause: e });
    }
  }
}

/** Buffers reused across steps; each grows (to the next power of two) only when a step needs more. */
export class BufferPool {
  private readonly buffers = new Map<string, GPUBuffer>();
  constructor(private readonly device: GPUDevice) {}

  get(name: string, bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const have = this.buffers.get(name);
    if (have && have.size >= size) return have;
    have?.destroy();
    let grown = 16;
    while (grown < size) grown *= 2;
    grown = Math.max(size, Math.min(grown, this.device.limits.maxStorageBufferBindingSize));
    const b = this.device.createBuffer({ size: grown, usage, label: `sinkrt.${name}` });
    this.buffers.set(name, b);
    return b;
  }

  destroyAll(): void {
    for (const b of this.buffers.values()) b.destroy();
    this.buffers.clear();
  }
}
