// How many workgroups of a compute shader the adapter keeps resident per SM, measured by time: every
// invocation walks a chain of dependent loads through a shuffled 256 MiB table (one DRAM latency per
// step, nothing to overlap within an invocation), so a grid that fits in one wave of resident
// workgroups takes one chain's time and each further wave adds another. The knee of time over grid
// size gives the residency.
//
// Why: the f16 decode kernel's planner-target sweeps (bench/webgpu/NOTES.md, "Register diet" and
// "Direct q") break between 1024 and 1152 one-subgroup workgroups on 132 SMs, i.e. 8 per SM, and no
// register or workgroup-memory cut moved that. This asks whether 8 per SM is the adapter's cap for
// small workgroups at all (then more subgroups per workgroup are the lever), or follows from the
// kernel's registers (then the probe's own knee moves with its register load).
// Knobs per case: workgroup size (32 / 64 / 128) and R, the number of vec4<f32> accumulators every
// invocation keeps live across the chain (4 R registers; R is written out as named variables, so no
// array can be spilled to local memory on purpose).
//   node dist/bench/webgpu/probe-residency.js [--backend vulkan] [--json out.json] [--steps 64] [--mi 64] [--sms 132]

import { writeFileSync } from 'node:fs';
import { createNodeDevice } from '../../src/backends/webgpu/node.js';
import { makeTimer, median } from './timing.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// The chain shader for workgroup size wg and r live vec4 accumulators.
function shader(wg: number, r: number, steps: number, n: number): string {
  const decl: string[] = [];
  const upd: string[] = [];
  const sum: string[] = [];
  for (let j = 0; j < r; j++) {
    decl.push(`  var a${j} = vec4<f32>(f32(g + ${j}u));`);
    upd.push(`    a${j} = a${j} * 1.0001 + vec4<f32>(f32(i ^ ${j}u));`);
    sum.push(`a${j}`);
  }
  return `
@group(0) @binding(0) var<storage, read> nxt: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  var i = (g * 2654435761u) % ${n}u;
${decl.join('\n')}
  for (var k = 0u; k < ${steps}u; k++) {
    i = nxt[i];
${upd.join('\n')}
  }
  out[g] = ${r > 0 ? sum.join(' + ') : 'vec4<f32>(0.0)'} + vec4<f32>(f32(i));
}`;
}

async function main(): Promise<void> {
  const { device, adapter } = await createNodeDevice({ backend: arg('backend'), dawnOptions: ['disable-dawn-features=timestamp_quantization'] });
  const timer = makeTimer(device);
  const steps = Number(arg('steps') ?? 64);
  const n = Number(arg('mi') ?? 64) << 20; // default 64 Mi u32 = 256 MiB, far over the L2
  // A single cycle through all n entries (Sattolo's shuffle), so no chain falls into a short loop.
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % i;
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const nxt = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(nxt, 0, perm);
  const info = adapter.info;
  const machine = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
  const sms = Number(arg('sms') ?? 132);
  const perSm = [4, 6, 7, 8, 9, 10, 12, 16, 20, 24, 32];
  const cases = [
    { wg: 32, r: 0 },
    { wg: 32, r: 16 },
    { wg: 32, r: 40 },
    { wg: 32, r: 56 },
    { wg: 64, r: 0 },
    { wg: 128, r: 0 },
  ];
  console.log(`adapter: ${machine}; timer ${timer.kind}; ${steps} dependent loads per invocation; grid in workgroups per SM of ${sms}`);
  const rows: Record<string, unknown>[] = [];
  for (const { wg, r } of cases) {
    const module = device.createShaderModule({ code: shader(wg, r, steps, n) });
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const line: string[] = [];
    for (const k of perSm) {
      const groups = k * sms;
      const out = device.createBuffer({ size: groups * wg * 16, usage: GPUBufferUsage.STORAGE });
      const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: nxt } }, { binding: 1, resource: { buffer: out } }] });
      const ms = median(
        await timer.time((enc, ts) => {
          const pass = enc.beginComputePass(ts ? { timestampWrites: ts } : undefined);
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bind);
          pass.dispatchWorkgroups(groups);
          pass.end();
        }, 7, 2),
      );
      out.destroy();
      rows.push({ workgroupSize: wg, liveVec4: r, workgroupsPerSm: k, workgroups: groups, ms });
      line.push(`${k}:${(ms * 1000).toFixed(0)}`);
    }
    console.log(`wg ${String(wg).padStart(3)} live vec4 ${String(r).padStart(2)}  us by workgroups/SM  ${line.join(' ')}`);
  }
  const json = arg('json');
  if (json) writeFileSync(json, JSON.stringify({ bench: 'webgpu residency probe', machine, date: new Date().toISOString(), commit: arg('commit') ?? null, config: { steps, tableEntries: n, sms, timer: timer.kind }, rows }, null, 1));
  device.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
