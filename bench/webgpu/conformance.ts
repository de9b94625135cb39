// Conformance runner for the WebGPU backend outside vitest (the GPU machine has node but no npm):
// runs the shared table of batch shapes (test/helpers) through the AttentionBackend interface
// against the float64 reference, for every dtype the adapter offers, and prints one line per case.
//   node dist/bench/webgpu/conformance.js [--json out.json] [--only name-substring] [--backend vulkan]
//     [--variant auto|workgroup|subgroup|gqa8|mma] [--opts '{"packedF16":true}']   (backend options)
//     [--unsafe]   (Dawn's allow_unsafe_apis toggle, which exposes the matrix units; on by itself for --variant mma)
// Exit code 1 when any case fails.

import { writeFileSync } from 'node:fs';
import type { Dtype } from '../../src/backends/types.js';
import type { DecodeVariant } from '../../src/backends/webgpu/step.js';
import { createWebGpuBackend, type WebGpuBackendOptions } from '../../src/backends/webgpu/index.js';
import { createNodeDevice, loadShadersFromDisk } from '../../src/backends/webgpu/node.js';
import { runCase, type CaseResult } from '../../test/helpers/run-case.js';
import { BATCH_SHAPES } from '../../test/helpers/shapes.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const variant = (arg('variant') ?? 'auto') as DecodeVariant;
  const { device, adapter } = await createNodeDevice({ backend: arg('backend'), allowUnsafeApis: variant === 'mma' || process.argv.includes('--unsafe') });
  const extra = JSON.parse(arg('opts') ?? '{}') as Partial<WebGpuBackendOptions>;
  const backend = await createWebGpuBackend(device, { shaders: loadShadersFromDisk(), decodeVariant: variant, ...extra });
  const info = backend.describe();
  console.log(`adapter: ${JSON.stringify(info.adapter)} f16=${info.f16} subgroupMinSize=${info.subgroupMinSize} subgroupSize=${info.subgroupSize} decodeVariant=${variant} opts=${JSON.stringify(extra)}`);
  const dtypes: Dtype[] = backend.f16 ? ['f32', 'f16'] : ['f32'];
  const only = arg('only');
  const results: CaseResult[] = [];
  for (const dtype of dtypes) {
    for (const shape of BATCH_SHAPES) {
      if (only && !shape.name.includes(only)) continue;
      let r: CaseResult;
      try {
        r = await runCase(backend, shape, dtype);
      } catch (e) {
        r = { shape: shape.name, dtype, pass: false, outMaxAbsErr: NaN, lseMaxAbsErr: NaN, selection: null, problems: [String((e as Error).stack ?? e)], ms: 0 };
      }
      results.push(r);
      const kern = r.selection ? `${r.selection.decode.kernel}/${r.selection.extend.kernel}` : '-';
      console.log(`${r.pass ? 'PASS' : 'FAIL'} ${dtype} ${shape.name.padEnd(40)} out ${r.outMaxAbsErr.toExponential(2)} lse ${r.lseMaxAbsErr.toExponential(2)} ${kern} ${r.ms.toFixed(0)} ms`);
      for (const p of r.problems) console.log(`     ${p.slice(0, 400)}`);
    }
  }
  console.log(`matrix units: ${JSON.stringify(backend.subgroupMatrix)} mma failure: ${JSON.stringify(backend.describe().mmaFailure)}`);
  const failed = results.filter((r) => !r.pass).length;
  console.log(`${results.length - failed}/${results.length} cases pass`);
  const out = arg('json');
  if (out) writeFileSync(out, JSON.stringify({ adapter: info, date: new Date().toISOString(), results }, null, 1));
  await backend.close();
  void adapter;
  device.destroy();
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
