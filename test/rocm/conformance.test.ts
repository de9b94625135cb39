// The rocm backend over the whole table of batch shapes, f16 and bf16 storage, against the float64
// reference: once with the split-KV heuristic (many segments on a big GPU: the sink-once merge) and
// once with every paged launch forced to one segment (the in-block finish) and prefill on its
// two-tiles-per-wave variant. Skips, saying why, where
// the addon is not built or no GPU it was built for is present (CI has none).
import { createRocmBackend, rocmSkipReason } from '../../src/backends/rocm/index.js';
import { describeConformance } from '../helpers/conformance.js';

await describeConformance({
  name: 'rocm (HIP kernels, split-KV heuristic)',
  skipReason: rocmSkipReason,
  create: () => createRocmBackend(),
  dtypes: ['f16', 'bf16'],
});

await describeConformance({
  name: 'rocm (HIP kernels, one segment, two prefill row tiles per wave)',
  skipReason: rocmSkipReason,
  create: () => createRocmBackend({ forceSegments: 1, prefillRowTiles: 2 }),
  dtypes: ['bf16'],
});
