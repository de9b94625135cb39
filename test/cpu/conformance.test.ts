// The CPU backend (WASM SIMD) over the whole table of batch shapes, f32, f16 and bf16 storage, against the
// float64 reference. The suite skips, saying why, when build/cpu/sinkrt_cpu.wasm cannot be loaded.
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { describeConformance } from '../helpers/conformance.js';

await describeConformance({
  name: 'cpu (WASM SIMD)',
  skipReason: async () => {
    try {
      const b = await createCpuBackend();
      await b.close();
      return null;
    } catch (e) {
      return `CPU backend WASM not loadable: ${(e as Error).message}`;
    }
  },
  create: () => createCpuBackend(),
  dtypes: ['f32', 'f16', 'bf16'],
});
