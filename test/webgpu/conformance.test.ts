// The WebGPU backend over the whole table of batch shapes, f32 and f16 storage, against the float64
// reference. Runs wherever Dawn finds an adapter (Mesa 25 lavapipe in CI, the H100 through the
// runner in bench/webgpu/conformance.ts); skips, saying why, where none is found. f16 cases are
// excluded with the reason when the adapter lacks shader-f16.
import { describeConformance } from '../helpers/conformance.js';
import { createNodeBackend, probeAdapter } from './adapter.js';

const probe = await probeAdapter();

await describeConformance({
  name: 'webgpu (Dawn)',
  skipReason: async () => probe.skipReason,
  create: () => createNodeBackend(),
  dtypes: ['f32', 'f16'],
  exclude: (_shape, dtype) => (dtype === 'f16' && !probe.f16 ? 'adapter lacks shader-f16' : null),
});
