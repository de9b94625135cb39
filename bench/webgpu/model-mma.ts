// Host model of paged_decode_mma (direct path, chunks of 64 keys, 16 x NN x 16 matrices) in float64
// with f16 rounding where the kernel rounds, used in session 3 to find the session-2 bug without a
// GPU: every matrix load / store follows Dawn's spec (offset and stride in elements, row- or
// column-major), optionally displaced by a number of elements for the workgroup-memory operands
// (the f16 arrays q^T / P^T and the f32 array S^T / O^T). With no displacement the model matches the
// float64 reference (lse to ~1e-8 on decode-mqa-small-sinks); with f16 loads 2 halves early and f32
// stores 1 float early (4 bytes each) it reproduces the wrong lse the H100 gave (session-3 call 1,
// bench/results/webgpu-diag-mma-h100-20261124-s3-run1.json) to ~4e-7, and session 2's
// decode-gptoss-large-sinks figures (lse[0][1] 7.67764, max lse error 1.1861).
//   node dist/bench/webgpu/model-mma.js [--shape decode-mqa-small-sinks] [--nn 8] [--shift-f16 -2]
//     [--shift-f32 -1] [--diag bench/results/webgpu-diag-mma-h100-20261124-s3-run1.json --label 'direct n8 ch64']

import { readFileSync } from 'node:fs';
import { f16BitsToF32, f32ToF16Bits } from '../../src/backends/webgpu/half.js';
import { buildCase } from '../../test/helpers/cases.js';
import { BATCH_SHAPES } from '../../test/helpers/shapes.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

type Mat = number[][];
const h16 = (x: number) => f16BitsToF32(f32ToF16Bits(x));
const NEG = -3e38;

/** Matrix load per Dawn's spec: [r][c] at off + r * stride + c (row-major) or off + c * stride + r. */
function load(mem: ArrayLike<number>, off: number, stride: number, rows: number, cols: number, colMajor: boolean): Mat {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => mem[off + (colMajor ? c * stride + r : r * stride + c)] ?? 0));
}
function store(mem: number[], off: number, stride: number, m: Mat): void {
  m.forEach((row, r) => row.forEach((v, c) => {
    const i = off + r * stride + c;
    if (i >= 0 && i < mem.length) mem[i] = v;
  }));
}
function mma(a: Mat, b: Mat, acc: Mat): Mat {
  return acc.map((row, i) => row.map((v, j) => Math.fround(v + a[i].reduce((s, x, k) => s + x * b[k][j], 0))));
}
const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));

function main(): void {
  const shape = BATCH_SHAPES.find((s) => s.name === (arg('shape') ?? 'decode-mqa-small-sinks'));
  if (!shape) throw new Error('--shape: unknown table shape');
  const NN = Number(arg('nn') ?? 8);
  const sh16 = Number(arg('shift-f16') ?? 0);
  const sh32 = Number(arg('shift-f32') ?? 0);
  const c = buildCase(shape, 'f16');
  const { layer, meta } = c;
  const Hq = layer.numQueryHeads;
  const D = layer.headSize;
  const bs = shape.blockSize;
  const RS = layer.numKvHeads * D;
  const K = c.expected.keyCache;
  const V = c.expected.valueCache;
  const CH = 64;
  const M = 16;
  const FW = NN * Math.max(CH, D);
  const lse = new Float64Array(meta.numDecodes * Hq);
  const out = new Float64Array(meta.numDecodes * Hq * D);
  for (let seq = 0; seq < meta.numDecodes; seq++) {
    const seqLen = meta.seqLens[seq];
    const qtok = meta.queryStartLoc[seq];
    const kStart = layer.slidingWindow > 0 && seqLen > layer.slidingWindow ? seqLen - layer.slidingWindow : 0;
    const kAlign = kStart - (kStart % CH);
    const blockOf = (j: number) => {
      const b = meta.blockTable[seq * meta.maxBlocksPerSeq + Math.floor(j / bs)];
      return b >= 0 && b < c.cacheSpec.numBlocks ? b : -1;
    };
    const rowBase = (j: number, kvh: number) => ((j < seqLen ? Math.max(blockOf(j), 0) : 0) * bs + (j % bs)) * RS + kvh * D;
    for (let kvh = 0; kvh < layer.numKvHeads; kvh++) {
      const qw = new Array<number>(NN * D).fill(0);
      for (let h = 0; h < 8; h++) for (let d = 0; d < D; d++) qw[d * NN + h] = h16(Math.fround(c.inputs.query[(qtok * Hq + kvh * 8 + h) * D + d] * Math.fround(layer.scale)));
      const qt = Array.from({ length: D / M }, (_, k) => load(qw, k * M * NN + sh16, NN, M, NN, false));
      const fw = new Array<number>(FW).fill(0);
      const hw = new Array<number>(FW).fill(0);
      let acc = Array.from({ length: D / M }, () => zeros(M, NN));
      const m = new Array<number>(8).fill(NEG);
      const l = new Array<number>(8).fill(0);
      for (let j0 = kAlign; j0 < seqLen; j0 += CH) {
        for (let t = 0; t < CH / M; t++) {
          let s = zeros(M, NN);
          for (let k = 0; k < D / M; k++) s = mma(load(K, rowBase(j0 + t * M, kvh) + k * M, RS, M, M, false), qt[k], s);
          store(fw, t * M * NN + sh32, NN, s);
        }
        for (let h = 0; h < 8; h++) {
          const sv = Array.from({ length: CH }, (_, i) => {
            const j = j0 + i;
            return j < seqLen && j >= kStart && blockOf(j) >= 0 ? fw[i * NN + h] : NEG;
          });
          const mn = Math.max(m[h], ...sv);
          const alpha = Math.exp(m[h] - mn);
          l[h] *= alpha;
          for (const tile of acc) for (const row of tile) row[h] *= alpha;
          m[h] = mn;
          sv.forEach((x, i) => {
            const pj = x > -1e38 ? Math.exp(x - mn) : 0;
            l[h] += pj;
            hw[i * NN + h] = h16(pj);
          });
        }
        for (let t = 0; t < CH / M; t++) {
          const pt = load(hw, t * M * NN + sh16, NN, M, NN, false);
          acc = acc.map((a, d) => mma(load(V, rowBase(j0 + t * M, kvh) + d * M, RS, M, M, true), pt, a));
        }
      }
      acc.forEach((a, d) => store(fw, d * M * NN + sh32, NN, a));
      for (let h = 0; h < 8; h++) {
        const H = kvh * 8 + h;
        const sink = layer.sinks ? layer.sinks[H] : -Infinity;
        const mm = Math.max(m[h], sink);
        const ll = l[h] * Math.exp(m[h] - mm) + (sink > -1e38 ? Math.exp(sink - mm) : 0);
        lse[seq * Hq + H] = mm + Math.log(ll);
        for (let d = 0; d < D; d++) out[(seq * Hq + H) * D + d] = (fw[d * NN + h] * Math.exp(m[h] - mm)) / ll;
      }
    }
  }
  const diagPath = arg('diag');
  const run = diagPath ? (JSON.parse(readFileSync(diagPath, 'utf8')) as { runs: { label: string; lse: number[]; output: number[] }[] }).runs.find((r) => r.label === arg('label')) : null;
  let lseRef = 0;
  let lseRun = 0;
  let outRun = 0;
  for (let s = 0; s < meta.numDecodes; s++) {
    for (let H = 0; H < Hq; H++) {
      const row = meta.queryStartLoc[s] * Hq + H;
      lseRef = Math.max(lseRef, Math.abs(lse[s * Hq + H] - c.expected.lse[row]));
      if (run) lseRun = Math.max(lseRun, Math.abs(lse[s * Hq + H] - run.lse[row]));
      if (run) for (let d = 0; d < D; d++) outRun = Math.max(outRun, Math.abs(out[(s * Hq + H) * D + d] - run.output[row * D + d]));
    }
  }
  console.log(`${shape.name} NN ${NN}, f16 workgroup loads shifted ${sh16}, f32 stores shifted ${sh32}: lse[0][0..2] ${Array.from(lse.subarray(0, 3)).map((x) => x.toFixed(6)).join(' ')}; max |lse - reference| ${lseRef.toExponential(3)}` +
    (run ? `; vs the GPU run '${run.label}': max |lse diff| ${lseRun.toExponential(3)}, max |out diff| ${outRun.toExponential(3)}` : ''));
}

main();
