// Dawn's SPIR-V for the WebGPU backend's kernels on this adapter, for bench/webgpu/vkstats.c (the
// driver's registers and spills, which Dawn does not report). Runs one decode case through the
// backend with Dawn's dump_shaders toggle on, so every pipeline the case compiles is logged (WGSL,
// then its SPIR-V disassembly) to this process's output; split-dump.py cuts that log into one
// .spvasm per kernel, and spirv-as assembles them.
//   node dist/bench/webgpu/dump-spirv.js [--backend vulkan] [--opts '{"gqa8Steps":6}'] [--shape NAME] [--dtype f16]
// Long segments (the f16 default's 6-step form) need gqa8Steps: the table's shapes are short.

import { createNodeDevice, loadShadersFromDisk } from '../../src/backends/webgpu/node.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import type { Dtype } from '../../src/backends/types.js';
import { buildCase } from '../../test/helpers/cases.js';
import { runCase } from '../../test/helpers/run-case.js';
import { shapeByName } from '../../test/helpers/shapes.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const { device } = await createNodeDevice({ backend: arg('backend'), dawnOptions: ['enable-dawn-features=dump_shaders'] });
  const opts = JSON.parse(arg('opts') ?? '{}') as Record<string, unknown>;
  const backend = await createWebGpuBackend(device, { shaders: loadShadersFromDisk(), ...opts });
  const shape = shapeByName(arg('shape') ?? 'decode-gptoss-large-sinks');
  const dtype = (arg('dtype') ?? (device.features.has('shader-f16') ? 'f16' : 'f32')) as Dtype;
  const r = await runCase(backend, shape, dtype, buildCase(shape, dtype));
  console.log(`dump-spirv: ${shape.name} ${dtype} ${JSON.stringify(opts)} ${r.pass ? 'PASS' : 'FAIL'}`);
  await backend.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
