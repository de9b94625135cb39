// Dumps what paged_decode_mma computes for one small table shape (default decode-mqa-small-sinks,
// f16), per load path and matrix shape, next to the float64 reference: every output and lse value,
// so a wrong result can be matched offline against a model of the kernel (which load or store is
// wrong, and how) instead of guessing from the conformance runner's max errors.
//   node dist/bench/webgpu/diag-mma.js [--shape name] [--json out.json]

import { writeFileSync } from 'node:fs';
import { createWebGpuBackend, type WebGpuBackendOptions } from '../../src/backends/webgpu/index.js';
import { createNodeDevice, loadShadersFromDisk } from '../../src/backends/webgpu/node.js';
import { buildCase } from '../../test/helpers/cases.js';
import { BATCH_SHAPES } from '../../test/helpers/shapes.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const name = arg('shape') ?? 'decode-mqa-small-sinks';
  const shape = BATCH_SHAPES.find((s) => s.name === name);
  if (!shape) throw new Error(`--shape: no table shape named ${name}`);
  const { device } = await createNodeDevice({ backend: arg('backend'), allowUnsafeApis: true });
  const c = buildCase(shape, 'f16');
  const { numQueryHeads: Hq, headSize: D } = c.layer;
  const rows = c.numRealTokens;
  const sets: [string, Partial<WebGpuBackendOptions>][] = [
    ['n8 ch64', {}],
    ['n8 ch32', { mmaChunk: 32 }],
    ['n16 ch64', { mmaN: 16 }],
    ['n8 ch64 slack0', { mmaSlack: 0 }],
  ];
  const report: Record<string, unknown> = { shape: name, date: new Date().toISOString(), expected: { output: Array.from(c.expected.output.subarray(0, rows * Hq * D)), lse: Array.from(c.expected.lse.subarray(0, rows * Hq)) }, runs: [] };
  for (const [label, opts] of sets) {
    const backend = await createWebGpuBackend(device, { shaders: loadShadersFromDisk(), decodeVariant: 'mma', ...opts });
    const entry: Record<string, unknown> = { label, opts, shape: backend.subgroupMatrix };
    try {
      const cache = await backend.createCache(c.cacheSpec);
      await backend.uploadCache(cache, c.keyCache, c.valueCache);
      const output = new Float32Array(c.meta.numTokens * Hq * D);
      const lse = new Float32Array(c.meta.numTokens * Hq);
      const sel = await backend.forward(cache, c.layer, c.meta, c.inputs, { output, lse });
      let outErr = 0;
      let lseErr = 0;
      for (let i = 0; i < rows * Hq * D; i++) outErr = Math.max(outErr, Math.abs(output[i] - c.expected.output[i]));
      for (let i = 0; i < rows * Hq; i++) lseErr = Math.max(lseErr, Math.abs(lse[i] - c.expected.lse[i]));
      Object.assign(entry, { kernel: sel.decode.kernel, outErr, lseErr, output: Array.from(output.subarray(0, rows * Hq * D)), lse: Array.from(lse.subarray(0, rows * Hq)) });
      backend.destroyCache(cache);
    } catch (e) {
      entry.error = String((e as Error).message).slice(0, 1500);
    }
    entry.mmaFailure = backend.describe().mmaFailure;
    console.log(`${label} (${JSON.stringify(backend.subgroupMatrix)}): ${entry.error ? `error ${String(entry.error).slice(0, 300)}` : `out err ${(entry.outErr as number).toExponential(2)} lse err ${(entry.lseErr as number).toExponential(2)} lse[0] ${(entry.lse as number[])[0]} out[0] ${(entry.output as number[])[0]}`}`);
    (report.runs as unknown[]).push(entry);
    await backend.close();
  }
  const out = arg('json');
  if (out) writeFileSync(out, JSON.stringify(report));
  device.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
