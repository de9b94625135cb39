// Probe of Dawn's matrix units (chromium-experimental-subgroup-matrix) on this machine: the adapter's
// features with and without the allow_unsafe_apis toggle, its subgroupMatrixConfigs, and for every
// f16 configuration a tiny multiply C = A B (A row-major, and A read column-major from A^T, as a
// decode kernel would read V^T) in both builtin spellings, checked against the host. Session 2 used
// it before its matrix-unit decode kernel (bench/webgpu/NOTES.md); cases that kernel needed and this
// probe does not check yet: operands in workgroup memory, strides wider than the tile.
//   node dist/bench/webgpu/probe-mma.js [--json out.json]

import { writeFileSync } from 'node:fs';
import { createNodeDevice } from '../../src/backends/webgpu/node.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/backends/webgpu/half.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Cfg {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

function kernel(c: Cfg, old: boolean, colMajorA: boolean): string {
  const L = `subgroup_matrix_left<f16, ${c.K}, ${c.M}>`;
  const R = `subgroup_matrix_right<f16, ${c.N}, ${c.K}>`;
  const T = `subgroup_matrix_result<f32, ${c.N}, ${c.M}>`;
  const strideA = colMajorA ? c.M : c.K;
  const ldA = old ? `subgroupMatrixLoad<${L}>(&a, 0u, ${colMajorA}, ${strideA}u)` : `subgroupMatrixLoad<${L}, ${colMajorA ? 'col_major' : 'row_major'}>(&a, 0u, ${strideA}u)`;
  const ldB = old ? `subgroupMatrixLoad<${R}>(&b, 0u, false, ${c.N}u)` : `subgroupMatrixLoad<${R}, row_major>(&b, 0u, ${c.N}u)`;
  const st = old ? `subgroupMatrixStore(&o, 0u, r, false, ${c.N}u)` : `subgroupMatrixStore<row_major>(&o, 0u, r, ${c.N}u)`;
  return `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(32)
fn main() {
  var r = ${T}();
  r = subgroupMatrixMultiplyAccumulate(${ldA}, ${ldB}, r);
  ${st};
}
`;
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = { date: new Date().toISOString() };
  const plain = await createNodeDevice({ allowUnsafeApis: false });
  report.featuresWithoutToggle = [...plain.adapter.features].sort();
  plain.device.destroy();
  const { device, adapter } = await createNodeDevice({ allowUnsafeApis: true });
  const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: Cfg[] };
  report.adapter = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  report.adapterFeatures = [...adapter.features].sort();
  report.deviceFeatures = [...device.features].sort();
  const configs = [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K }));
  report.subgroupMatrixConfigs = configs;
  console.log(JSON.stringify(report, null, 1));
  const tests: Record<string, unknown>[] = [];
  for (const c of configs.filter((x) => x.componentType === 'f16' && x.resultComponentType === 'f32')) {
    const A = Float32Array.from({ length: c.M * c.K }, (_, i) => f16BitsToF32(f32ToF16Bits(((i * 37) % 17) / 8 - 1)));
    const B = Float32Array.from({ length: c.K * c.N }, (_, i) => f16BitsToF32(f32ToF16Bits(((i * 11) % 13) / 6 - 1)));
    const want = new Float64Array(c.M * c.N);
    for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) for (let k = 0; k < c.K; k++) want[m * c.N + n] += A[m * c.K + k] * B[k * c.N + n];
    for (const old of [false, true]) {
      for (const colMajorA of [false, true]) {
        const name = `${c.M}x${c.N}x${c.K} ${old ? 'old' : 'new'} spelling, A ${colMajorA ? 'col' : 'row'}-major`;
        const aHost = new Uint16Array(c.M * c.K);
        for (let m = 0; m < c.M; m++) for (let k = 0; k < c.K; k++) aHost[colMajorA ? k * c.M + m : m * c.K + k] = f32ToF16Bits(A[m * c.K + k]);
        const bHost = Uint16Array.from(B, (v) => f32ToF16Bits(v));
        const mk = (data: ArrayBufferView, usage: number) => {
          const buf = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage });
          device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
          return buf;
        };
        device.pushErrorScope('validation');
        try {
          const module = device.createShaderModule({ code: kernel(c, old, colMajorA) });
          const msgs = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
          if (msgs.length > 0) throw new Error(msgs.join('; '));
          const pipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
          const a = mk(aHost, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
          const b = mk(bHost, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
          const o = device.createBuffer({ size: c.M * c.N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
          const rd = device.createBuffer({ size: c.M * c.N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
          const enc = device.createCommandEncoder();
          const pass = enc.beginComputePass();
          pass.setPipeline(pipe);
          pass.setBindGroup(0, device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [a, b, o].map((buffer, i) => ({ binding: i, resource: { buffer } })) }));
          pass.dispatchWorkgroups(1);
          pass.end();
          enc.copyBufferToBuffer(o, 0, rd, 0, c.M * c.N * 4);
          device.queue.submit([enc.finish()]);
          await rd.mapAsync(GPUMapMode.READ);
          const got = new Float32Array(rd.getMappedRange().slice(0));
          rd.unmap();
          let err = 0;
          for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
          tests.push({ name, compiled: true, maxAbsErr: err, pass: err < 1e-3 });
        } catch (e) {
          tests.push({ name, compiled: false, error: String((e as Error).message).slice(0, 600) });
        }
        const ve = await device.popErrorScope();
        if (ve) tests[tests.length - 1].validationError = ve.message.slice(0, 600);
        console.log(JSON.stringify(tests[tests.length - 1]));
      }
    }
  }
  report.tests = tests;
  const out = arg('json');
  if (out) writeFileSync(out, JSON.stringify(report, null, 1));
  device.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
