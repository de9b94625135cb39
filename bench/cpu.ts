// Decode throughput of the CPU backend (WASM SIMD) at GPT-OSS-like shapes, as KV bytes read per
// second, against copies of the same number of bytes inside WASM measured in the same run:
//   memcpy    libc memcpy (memory.copy, bulk memory): bytes read = bytes written = N
//   read-sum  a SIMD loop that only reads N bytes (decode only reads the cache)
// The decode figure is an end-to-end backend.forward() (validation, staging copies, the cache write
// of the step's new tokens, paged_decode, copy-out), divided into the K+V bytes its keys occupy.
// Usage: node dist/bench/cpu.js [--quick]   (prints a table, writes bench/results/cpu-<machine>-<date>.json)

import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { CpuModule, createCpuBackend } from '../src/backends/cpu/index.js';
import type { StepMetadata } from '../src/backends/types.js';

interface Config {
  name: string;
  batch: number;
  contextLen: number;
  slidingWindow: number;
  dtype: 'f32' | 'f16' | 'bf16';
}

const quick = process.argv.includes('--quick');
const GPT_OSS = { numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16 };
const CONFIGS: Config[] = [
  { name: 'b8-ctx4k-full', batch: 8, contextLen: 4096, slidingWindow: 0, dtype: 'f32' },
  { name: 'b1-ctx32k-full', batch: 1, contextLen: 32768, slidingWindow: 0, dtype: 'f32' },
  { name: 'b64-ctx1k-full', batch: 64, contextLen: 1024, slidingWindow: 0, dtype: 'f32' },
  { name: 'b8-ctx4k-full-f16', batch: 8, contextLen: 4096, slidingWindow: 0, dtype: 'f16' },
  { name: 'b8-ctx4k-full-bf16', batch: 8, contextLen: 4096, slidingWindow: 0, dtype: 'bf16' },
  { name: 'b64-ctx2k-window128', batch: 64, contextLen: 2048, slidingWindow: 128, dtype: 'f32' },
];

/** Seconds per call: warm up, then repeat until at least `minS` seconds have passed. */
async function timeIt(fn: () => unknown | Promise<unknown>, minS = quick ? 0.3 : 1.5): Promise<{ s: number; cpuS: number; iters: number }> {
  for (let i = 0; i < 2; i++) await fn();
  let iters = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minS * 1000 || iters < 3) {
    await fn();
    iters++;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  // Process CPU time per call too: on a shared machine, wall time above CPU time means contention.
  return { s: (t - t0) / 1000 / iters, cpuS: (c.user + c.system) / 1e6 / iters, iters };
}

function fillRandom(a: Float32Array, seed: number): Float32Array {
  let x = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = x / 2147483648 - 1;
  }
  return a;
}

function decodeMeta(cfg: Config): { meta: StepMetadata; numBlocks: number } {
  const { blockSize } = GPT_OSS;
  const seqLen = cfg.contextLen + 1;
  const per = Math.ceil(seqLen / blockSize);
  const numBlocks = per * cfg.batch;
  // Interleaved block ids: a sequence's blocks are spread across the cache, as after real paging.
  const blockTable = new Int32Array(cfg.batch * per);
  for (let s = 0; s < cfg.batch; s++) for (let b = 0; b < per; b++) blockTable[s * per + b] = b * cfg.batch + s;
  const slotMapping = new Int32Array(cfg.batch);
  for (let s = 0; s < cfg.batch; s++) {
    const pos = cfg.contextLen;
    slotMapping[s] = blockTable[s * per + Math.floor(pos / blockSize)] * blockSize + (pos % blockSize);
  }
  const meta: StepMetadata = {
    numSeqs: cfg.batch, numTokens: cfg.batch,
    queryStartLoc: Int32Array.from({ length: cfg.batch + 1 }, (_, i) => i),
    seqLens: new Int32Array(cfg.batch).fill(seqLen), contextLens: new Int32Array(cfg.batch).fill(cfg.contextLen),
    blockTable, maxBlocksPerSeq: per, slotMapping,
    numDecodes: cfg.batch, numExtends: 0, numPrefills: 0,
    maxQueryLen: 1, maxDecodeQueryLen: 1, maxSeqLen: seqLen,
  };
  return { meta, numBlocks };
}

async function benchDecode(cfg: Config) {
  const { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D, blockSize } = GPT_OSS;
  const backend = await createCpuBackend();
  const { meta, numBlocks } = decodeMeta(cfg);
  const cache = await backend.createCache({ numBlocks, blockSize, numKvHeads: Hkv, headSize: D, dtype: cfg.dtype });
  const elems = numBlocks * blockSize * Hkv * D;
  await backend.uploadCache(cache, fillRandom(new Float32Array(elems), 1), fillRandom(new Float32Array(elems), 2));
  const sinks = fillRandom(new Float32Array(Hq), 3);
  const layer = { numQueryHeads: Hq, numKvHeads: Hkv, headSize: D, scale: 1 / Math.sqrt(D), slidingWindow: cfg.slidingWindow, softcap: 0, sinks };
  const inputs = {
    query: fillRandom(new Float32Array(cfg.batch * Hq * D), 4),
    key: fillRandom(new Float32Array(cfg.batch * Hkv * D), 5),
    value: fillRandom(new Float32Array(cfg.batch * Hkv * D), 6),
  };
  const out = { output: new Float32Array(cfg.batch * Hq * D), lse: new Float32Array(cfg.batch * Hq) };
  let kernel = '';
  const t = await timeIt(async () => {
    kernel = (await backend.forward(cache, layer, meta, inputs, out)).decode.kernel;
  });
  const keysRead = cfg.slidingWindow > 0 ? Math.min(cfg.slidingWindow, cfg.contextLen + 1) : cfg.contextLen + 1;
  const bytes = cfg.batch * keysRead * Hkv * D * (cfg.dtype === 'f32' ? 4 : 2) * 2;
  await backend.close();
  return { kernel, seconds: t.s, cpuSeconds: t.cpuS, iters: t.iters, kvBytesRead: bytes };
}

async function benchCopies(bytes: number) {
  const mod = await CpuModule.load();
  const src = mod.alloc(bytes, 'bench src');
  const dst = mod.alloc(bytes, 'bench dst');
  fillRandom(mod.f32.subarray(src >>> 2, (src >>> 2) + bytes / 4), 7);
  const memcpy = await timeIt(() => mod.exports.sinkrt_memcpy(dst, src, bytes));
  const readSum = await timeIt(() => mod.exports.sinkrt_read_sum(src, bytes / 4));
  return { memcpyGBs: bytes / memcpy.s / 1e9, readSumGBs: bytes / readSum.s / 1e9, memcpyCpuGBs: bytes / memcpy.cpuS / 1e9 };
}

function gitCommit(): string {
  try {
    return execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  const loadAtStart = os.loadavg();
  const configs = quick ? CONFIGS.slice(0, 1) : CONFIGS;
  const rows = [];
  for (const cfg of configs) {
    const d = await benchDecode(cfg);
    // Baselines over the same byte count, in the same run, right after the decode they are compared with.
    const base = await benchCopies(d.kvBytesRead);
    const decodeGBs = d.kvBytesRead / d.seconds / 1e9;
    rows.push({
      config: { ...GPT_OSS, ...cfg, sinks: true },
      kernel: d.kernel,
      kvBytesRead: d.kvBytesRead,
      msPerStep: d.seconds * 1e3,
      iters: d.iters,
      decodeGBs,
      decodeCpuTimeGBs: d.kvBytesRead / d.cpuSeconds / 1e9,
      memcpyGBs: base.memcpyGBs,
      memcpyCpuTimeGBs: base.memcpyCpuGBs,
      readSumGBs: base.readSumGBs,
      ratioVsMemcpy: decodeGBs / base.memcpyGBs,
      ratioVsReadSum: decodeGBs / base.readSumGBs,
    });
  }
  const f = (x: number, n = 2) => x.toFixed(n);
  console.log('CPU backend (WASM SIMD, 1 thread) decode, GPT-OSS-like: 64 q heads, 8 kv heads, head 64, block 16, sinks');
  console.log('config                 dtype kernel        KV MB   ms/step  decode GB/s  memcpy GB/s  read GB/s  vs memcpy  vs read');
  for (const r of rows) {
    console.log(
      `${r.config.name.padEnd(22)} ${r.config.dtype.padEnd(5)} ${r.kernel.padEnd(13)} ${f(r.kvBytesRead / 1e6, 1).padStart(6)} ${f(r.msPerStep).padStart(9)} ${f(r.decodeGBs).padStart(12)} ${f(r.memcpyGBs).padStart(12)} ${f(r.readSumGBs).padStart(10)} ${f(r.ratioVsMemcpy, 3).padStart(10)} ${f(r.ratioVsReadSum, 3).padStart(8)}`,
    );
  }
  const now = new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, '');
  const machine = process.env.SINKRT_MACHINE ?? `${os.arch()}-${os.cpus().length}core`;
  const result = {
    part: 'cpu',
    figure: 'decode KV bytes read per second (end-to-end backend.forward), vs WASM memcpy of the same bytes',
    loadAverageAtStart: loadAtStart,
    machine: { label: machine, cpu: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
    date: now.toISOString(),
    gitCommit: gitCommit(),
    command: `node dist/bench/cpu.js${quick ? ' --quick' : ''}`,
    quick,
    rows,
  };
  mkdirSync('bench/results', { recursive: true });
  const path = `bench/results/cpu-${machine}-${date}${quick ? '-quick' : ''}.json`;
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path}`);
}

await main();
