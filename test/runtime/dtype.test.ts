import { describe, expect, it } from 'vitest';
import type { AttentionBackend } from '../../src/backends/backend.js';
import { declareKernel } from '../../src/backends/select.js';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { backendDtypes, preferredDtype } from '../../src/runtime/probe.js';
import { createRuntime, tinyOptions } from './fixtures.js';

function declaring(dtypes: Array<'f32' | 'f16' | 'bf16'>): AttentionBackend {
  return { capabilities: { backend: 'fake', kernels: { unified_attention: declareKernel({ dtypes }) } } } as unknown as AttentionBackend;
}

describe("cache dtype 'auto'", () => {
  it('takes each backend\'s fastest declared dtype, and says when there is none', () => {
    expect(preferredDtype('rocm', declaring(['f16', 'bf16']))).toBe('bf16');
    expect(preferredDtype('webgpu', declaring(['f32', 'f16']))).toBe('f16');
    expect(preferredDtype('webgpu', declaring(['f32']))).toBe('f32'); // an adapter without shader-f16
    expect(preferredDtype('cpu', declaring(['f32', 'f16', 'bf16']))).toBe('f32');
    expect(backendDtypes(declaring(['f32', 'bf16']))).toEqual(['bf16', 'f32']);
    expect(() => preferredDtype('rocm', declaring(['f32']))).toThrow(/backend rocm declares no storage dtype/);
  });

  it('resolves for the backend the runtime starts, and caches are made in it', async () => {
    const cpu = await createCpuBackend();
    const rt = await createRuntime(tinyOptions(cpu, { cache: { numBlocks: 64, blockSize: 16, dtype: 'auto' } }));
    try {
      // A host-given instance is named by its own `name`: the cpu backend, so f32.
      expect(rt.cacheDtype).toBe('f32');
      expect((await rt.stats()).cacheBytes).toBe(2 * 2 * 64 * 16 * 2 * 8 * 4); // 2 layers x K,V x blocks x blockSize x kvHeads x headSize x 4 B
    } finally {
      await rt.close();
      await cpu.close();
    }
  });
});
