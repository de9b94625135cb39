// Probe of Dawn's matrix units (chromium-experimental-subgroup-matrix) on this machine: the adapter's
// features with and without the allow_unsafe_apis toggle, its subgroupMatrixConfigs, and for every
// f16 configuration a tiny multiply C = A B (A row-major, and A read column-major from A^T, as a
// decode kernel would read V^T) in both builtin spellings, checked against the host. Session 2 used
// it before its matrix-unit decode kernel (bench/webgpu/NOTES.md); the later cases cover what a decode
// kernel needs beyond that: strides wider than the tile with an offset, operands and results in
// workgroup memory, and (session 3) A staged in workgroup memory with a padded stride, and workgroup
// operands that are not the first workgroup variable of the shader.
//   node dist/bench/webgpu/probe-mma.js [--json out.json]

import { writeFileSync } from 'node:fs';
import { createNodeDevice } from '../../src/backends/webgpu/node.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/backends/webgpu/half.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export interface Cfg {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** One multiply case: where each operand lives and how it is laid out (what a decode kernel needs). */
export interface Case {
  old: boolean;
  aCol: boolean;
  /** A's stride and offset in elements (0 = tight, no offset). */
  aStride: number;
  aOffset: number;
  /** B from storage, or copied by the lanes into workgroup memory and loaded from there. */
  bWorkgroup: boolean;
  bCol: boolean;
  /** C stored to workgroup memory and copied out by the lanes, or stored to storage directly. */
  cWorkgroup: boolean;
  /** A copied by the lanes into workgroup memory (same layout) and loaded from there. */
  aWorkgroup?: boolean;
  /** Another, live workgroup array declared before the operands (they do not start at address 0). */
  pad?: boolean;
  /** A live 4-byte workgroup u32 declared before the operands (the session-2 kernel's flag). */
  padU32?: boolean;
}

function caseName(c: Cfg, k: Case): string {
  return `${c.M}x${c.N}x${c.K} ${k.old ? 'old' : 'new'} spelling, A ${k.aCol ? 'col' : 'row'}-major stride ${k.aStride || 'tight'} offset ${k.aOffset} in ${k.aWorkgroup ? 'workgroup' : 'storage'}, B ${k.bCol ? 'col' : 'row'}-major in ${k.bWorkgroup ? 'workgroup' : 'storage'}, C to ${k.cWorkgroup ? 'workgroup' : 'storage'}${k.pad ? ', after a padding array' : ''}${k.padU32 ? ', after a u32' : ''}`;
}

export function kernel(c: Cfg, k: Case): string {
  const L = `subgroup_matrix_left<f16, ${c.K}, ${c.M}>`;
  const R = `subgroup_matrix_right<f16, ${c.N}, ${c.K}>`;
  const T = `subgroup_matrix_result<f32, ${c.N}, ${c.M}>`;
  const ld = (ty: string, arr: string, off: number, col: boolean, stride: number) =>
    k.old ? `subgroupMatrixLoad<${ty}>(&${arr}, ${off}u, ${col}, ${stride}u)` : `subgroupMatrixLoad<${ty}, ${col ? 'col_major' : 'row_major'}>(&${arr}, ${off}u, ${stride}u)`;
  const st = (arr: string) => (k.old ? `subgroupMatrixStore(&${arr}, 0u, r, false, ${c.N}u)` : `subgroupMatrixStore<row_major>(&${arr}, 0u, r, ${c.N}u)`);
  const aStride = k.aStride || (k.aCol ? c.M : c.K);
  const bStride = k.bCol ? c.K : c.N;
  const aLen = k.aOffset + aStride * (k.aCol ? c.K : c.M);
  return `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
${k.pad ? 'var<workgroup> pad: array<f32, 72>;' : ''}
${k.padU32 ? 'var<workgroup> flag4: u32;' : ''}
var<workgroup> bw: array<f16, ${c.K * c.N}>;
var<workgroup> cw: array<f32, ${c.M * c.N}>;
var<workgroup> aw: array<f16, ${aLen}>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) lane: u32) {
  for (var i = lane; i < ${c.K * c.N}u; i += 32u) {
    bw[i] = b[i];
  }
  for (var i = lane; i < ${aLen}u; i += 32u) {
    aw[i] = a[i];
  }
  ${k.pad ? 'for (var i = lane; i < 72u; i += 32u) { pad[i] = f32(i); }' : ''}
  ${k.padU32 ? 'if (lane == 0u) { flag4 = 7u; }' : ''}
  workgroupBarrier();
  var r = ${T}();
  r = subgroupMatrixMultiplyAccumulate(${ld(L, k.aWorkgroup ? 'aw' : 'a', k.aOffset, k.aCol, aStride)}, ${ld(R, k.bWorkgroup ? 'bw' : 'b', 0, k.bCol, bStride)}, r);
  ${k.cWorkgroup ? st('cw') : st('o')};
  workgroupBarrier();
  if (${k.cWorkgroup}) {
    for (var i = lane; i < ${c.M * c.N}u; i += 32u) {
      o[i] = cw[i];
    }
  }
  ${k.pad ? 'if (b[0] == f16(1234.0)) { o[lane] = pad[lane]; }' : ''}
  ${k.padU32 ? 'if (b[0] == f16(1234.0)) { o[lane] = f32(flag4); }' : ''}
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
    const cases: Case[] = [];
    for (const old of [false, true]) for (const aCol of [false, true]) cases.push({ old, aCol, aStride: 0, aOffset: 0, bWorkgroup: false, bCol: false, cWorkgroup: false });
    // What a paged decode kernel needs beyond the basic multiply: cache rows (stride Hkv * D = 512,
    // an offset), operands in workgroup memory in both layouts, results to workgroup memory.
    for (const aCol of [false, true]) cases.push({ old: false, aCol, aStride: 512, aOffset: 64, bWorkgroup: false, bCol: false, cWorkgroup: false });
    for (const bCol of [false, true]) cases.push({ old: false, aCol: false, aStride: 0, aOffset: 0, bWorkgroup: true, bCol, cWorkgroup: false });
    cases.push({ old: false, aCol: false, aStride: 0, aOffset: 0, bWorkgroup: false, bCol: false, cWorkgroup: true });
    cases.push({ old: false, aCol: true, aStride: 512, aOffset: 64, bWorkgroup: true, bCol: false, cWorkgroup: true });
    // Session 3: the staged decode kernel (K rows and V rows in workgroup memory, row stride 72
    // halves, V^T read column-major at a column offset), operands behind another workgroup array.
    for (const aCol of [false, true]) cases.push({ old: false, aCol, aStride: 72, aOffset: 16, aWorkgroup: true, bWorkgroup: true, bCol: false, cWorkgroup: true });
    cases.push({ old: false, aCol: false, aStride: 0, aOffset: 0, bWorkgroup: true, bCol: false, cWorkgroup: false, pad: true });
    cases.push({ old: false, aCol: false, aStride: 0, aOffset: 0, bWorkgroup: false, bCol: false, cWorkgroup: true, pad: true });
    cases.push({ old: false, aCol: true, aStride: 72, aOffset: 16, aWorkgroup: true, bWorkgroup: true, bCol: false, cWorkgroup: true, pad: true });
    // The session-2/3 bug: a 4-byte workgroup variable beside the operands (expected to fail where
    // the driver packs workgroup variables without 16-byte alignment).
    cases.push({ old: false, aCol: false, aStride: 0, aOffset: 0, bWorkgroup: true, bCol: false, cWorkgroup: true, padU32: true });
    cases.push({ old: false, aCol: true, aStride: 72, aOffset: 16, aWorkgroup: true, bWorkgroup: true, bCol: false, cWorkgroup: true, padU32: true });
    const mk = (data: ArrayBufferView, usage: number) => {
      const buf = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage });
      device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      return buf;
    };
    for (const k of cases) {
      {
        const name = caseName(c, k);
        const aStride = k.aStride || (k.aCol ? c.M : c.K);
        const aHost = new Uint16Array(k.aOffset + aStride * (k.aCol ? c.K : c.M));
        for (let m = 0; m < c.M; m++) for (let q = 0; q < c.K; q++) aHost[k.aOffset + (k.aCol ? q * aStride + m : m * aStride + q)] = f32ToF16Bits(A[m * c.K + q]);
        const bHost = new Uint16Array(c.K * c.N);
        for (let q = 0; q < c.K; q++) for (let n = 0; n < c.N; n++) bHost[k.bCol ? n * c.K + q : q * c.N + n] = f32ToF16Bits(B[q * c.N + n]);
        device.pushErrorScope('validation');
        try {
          const module = device.createShaderModule({ code: kernel(c, k) });
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

if (process.argv[1]?.endsWith('probe-mma.js')) main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
