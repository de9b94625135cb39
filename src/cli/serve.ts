// `sinkrt serve`: the main job. A serving run of a GPT-OSS-shaped attention stack (64 query heads,
// 8 KV heads, head size 64, a 128-token window on alternate layers, learned sinks) over a seeded
// synthetic request trace, on the auto-selected backend: requests arrive by a Poisson process in
// engine steps, the runtime schedules and runs them, and every --check-every-th step is checked
// against the float64 reference. Prints a progress bar (stderr), then a throughput and latency table,
// or JSON with --json. Exits 1 if any checked step is out of tolerance.

import os from 'node:os';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { makeTrace, type TraceRequest } from '../runtime/trace.js';
import type { LayerCheck } from '../runtime/check.js';
import { explainSelection } from '../backends/select.js';
import { helpText, parseFlags, type FlagSpec } from './args.js';
import { Progress } from './progress.js';
import { percentile, table } from './table.js';

export const SERVE_FLAGS: Record<string, FlagSpec> = {
  backend: { type: 'string', help: 'auto | rocm | webgpu | cpu', default: 'auto' },
  layers: { type: 'number', help: 'attention layers (alternate sliding / full)', default: 4 },
  'query-heads': { type: 'number', help: 'query heads', default: 64 },
  'kv-heads': { type: 'number', help: 'KV heads', default: 8 },
  'head-size': { type: 'number', help: 'head size', default: 64 },
  window: { type: 'number', help: 'sliding window on alternate layers (0 = none)', default: 128 },
  sinks: { type: 'boolean', help: 'learned sinks (--sinks=false for none)', default: true },
  dtype: { type: 'string', help: "KV cache dtype auto | f32 | f16 | bf16 (auto: bf16 on rocm, f16 on webgpu with shader-f16, f32 on cpu)", default: 'auto' },
  'block-size': { type: 'number', help: 'KV block size', default: 16 },
  'num-blocks': { type: 'number', help: 'KV blocks per layer', default: 1024 },
  'max-seqs': { type: 'number', help: 'most sequences per step', default: 32 },
  'max-batched-tokens': { type: 'number', help: 'token budget per step', default: 256 },
  requests: { type: 'number', help: 'requests in the trace', default: 160 },
  seed: { type: 'number', help: 'trace seed', default: 1 },
  'arrivals-per-step': { type: 'number', help: 'mean arrivals per step (Poisson)', default: 0.5 },
  'min-prompt': { type: 'number', help: 'shortest prompt', default: 8 },
  'mid-prompt': { type: 'number', help: 'longest short prompt', default: 192 },
  'max-prompt': { type: 'number', help: 'longest long prompt', default: 768 },
  'long-fraction': { type: 'number', help: 'fraction of long prompts', default: 0.2 },
  'min-output': { type: 'number', help: 'fewest generated tokens', default: 4 },
  'max-output': { type: 'number', help: 'most generated tokens', default: 64 },
  'check-every': { type: 'number', help: 'check every Nth step against the float64 reference (0 = never)', default: 8 },
  'check-seqs': { type: 'number', help: 'sequences sampled per checked layer', default: 2 },
  worker: { type: 'boolean', help: 'run the engine in a worker (--worker=false: in this thread)', default: true },
  json: { type: 'boolean', help: 'print the result as JSON on stdout', default: false },
  quiet: { type: 'boolean', help: 'no progress bar', default: false },
  help: { type: 'boolean', help: 'this help', default: false },
};

interface ReqTimes {
  arrival: number;
  firstToken: number | null;
  finish: number | null;
  generated: number;
  promptLen: number;
}

export async function serve(argv: string[]): Promise<number> {
  const f = parseFlags(argv, SERVE_FLAGS);
  if (f.help) {
    process.stdout.write(`sinkrt serve [flags]\n${helpText(SERVE_FLAGS)}\n`);
    return 0;
  }
  const n = (k: string) => f[k] as number;
  const trace = makeTrace({
    seed: n('seed'), numRequests: n('requests'), arrivalsPerStep: n('arrivals-per-step'),
    minPrompt: n('min-prompt'), midPrompt: n('mid-prompt'), maxPrompt: n('max-prompt'), longFraction: n('long-fraction'),
    minOutput: n('min-output'), maxOutput: n('max-output'),
  });
  const config = {
    backend: f.backend as 'auto',
    model: {
      numLayers: n('layers'), numQueryHeads: n('query-heads'), numKvHeads: n('kv-heads'), headSize: n('head-size'),
      slidingWindow: n('window'), sinks: f.sinks ? ('synthetic' as const) : ('none' as const),
    },
    cache: { numBlocks: n('num-blocks'), blockSize: n('block-size'), dtype: f.dtype as 'auto' },
    scheduler: { maxNumSeqs: n('max-seqs'), maxNumBatchedTokens: n('max-batched-tokens') },
    worker: f.worker as boolean,
  };
  const tStart = performance.now();
  const rt = await createRuntime(config);
  const startMs = performance.now() - tStart;
  if (!f.json && !f.quiet) process.stderr.write(`sinkrt serve: ${rt.backendReason}; KV cache ${rt.cacheDtype}\n`);
  try {
    const result = await runTrace(rt, trace, { checkEvery: n('check-every'), checkSeqs: n('check-seqs'), quiet: f.quiet as boolean || f.json as boolean });
    const report = {
      command: 'serve',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.arch()}`, node: process.version },
      backend: rt.backendName,
      backendReason: rt.backendReason,
      backendFacts: rt.backend.describe(),
      config: { ...config, cache: { ...config.cache, dtype: rt.cacheDtype, dtypeAsked: config.cache.dtype }, trace: { seed: n('seed'), requests: n('requests'), arrivalsPerStep: n('arrivals-per-step') } },
      startupMs: startMs,
      ...result,
    };
    if (f.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${render(report)}\n`);
    return result.check.failed > 0 ? 1 : 0;
  } finally {
    await rt.close();
  }
}

async function runTrace(rt: Runtime, trace: TraceRequest[], o: { checkEvery: number; checkSeqs: number; quiet: boolean }) {
  const times = new Map<number, ReqTimes>();
  const maxInFlight = rt.limits.maxRequests;
  const progress = new Progress('serve', trace.length, process.stderr, o.quiet);
  let next = 0;
  let step = 0;
  let done = 0;
  let processedTokens = 0;
  let generatedTokens = 0;
  let preempted = 0;
  let steps = 0;
  const stepMs: number[] = [];
  const forwardMs: number[] = [];
  const scheduleMs: number[] = [];
  const checks: LayerCheck[] = [];
  let checkedSteps = 0;
  const selections = new Set<string>();
  // Serving clock: wall time minus the reference checks (float64 attention in JS, verification, not
  // serving), so throughput and latencies describe the runtime; the checks' time is reported apart.
  let checkMs = 0;
  const clock = () => performance.now() - checkMs;
  const wall0 = performance.now();
  const t0 = clock();
  while (done < trace.length) {
    // Admit arrivals due by this step; when idle, jump ahead to the next arrival.
    if (!rt.hasWork && next < trace.length && trace[next].arrivalStep > step) step = trace[next].arrivalStep;
    while (next < trace.length && trace[next].arrivalStep <= step && times.size - done < maxInFlight) {
      const r = trace[next++];
      const id = await rt.addRequest({ prompt: r.promptLen, maxTokens: r.maxTokens });
      times.set(id, { arrival: clock(), firstToken: null, finish: null, generated: 0, promptLen: r.promptLen });
    }
    const check = o.checkEvery > 0 && steps % o.checkEvery === 0;
    const s0 = clock();
    const res = await rt.step({ check, checkSeqs: o.checkSeqs });
    if (res.ran) checkMs += res.ms.check;
    const now = clock();
    step++;
    if (!res.ran) continue;
    steps++;
    stepMs.push(now - s0);
    forwardMs.push(res.ms.forward);
    scheduleMs.push(res.ms.schedule);
    preempted += res.numPreempted;
    if (res.checks) {
      checkedSteps++;
      checks.push(...res.checks);
    }
    for (const sel of [res.selection.full, res.selection.sliding]) if (sel) selections.add(explainSelection(sel).map((l) => l.split(' (')[0]).join(', '));
    for (const a of res.advanced) {
      const t = times.get(a.id) as ReqTimes;
      if (a.token !== null) {
        generatedTokens++;
        t.generated++;
        if (t.firstToken === null) t.firstToken = now;
      }
      processedTokens += a.queryLen;
    }
    for (const fin of res.finished) {
      const t = times.get(fin.id) as ReqTimes;
      t.finish = now;
      done++;
    }
    progress.update(done, `${steps} steps`);
  }
  progress.done();
  const wallS = (performance.now() - wall0) / 1000;
  const servingS = (clock() - t0) / 1000;
  const all = [...times.values()];
  const ttft = all.map((t) => (t.firstToken as number) - t.arrival);
  const e2e = all.map((t) => (t.finish as number) - t.arrival);
  const tpot = all.filter((t) => t.generated > 1).map((t) => ((t.finish as number) - (t.firstToken as number)) / (t.generated - 1));
  const problems = checks.flatMap((c) => c.problems);
  const stat = (v: number[]) => ({ mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length), p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99) });
  return {
    wallSeconds: wallS,
    /** Wall time less the reference checks: the time throughput is measured over. */
    servingSeconds: servingS,
    checkSeconds: checkMs / 1000,
    requests: all.length,
    steps,
    preempted,
    tokens: { processed: processedTokens, generated: generatedTokens },
    throughput: {
      tokensPerSecond: processedTokens / servingS,
      generatedTokensPerSecond: generatedTokens / servingS,
      requestsPerSecond: all.length / servingS,
      stepsPerSecond: steps / servingS,
    },
    latencyMs: { ttft: stat(ttft), tpot: stat(tpot), e2e: stat(e2e), step: stat(stepMs), forward: stat(forwardMs), schedule: stat(scheduleMs) },
    kernels: [...selections],
    check: {
      steps: checkedSteps,
      layers: checks.length,
      rows: checks.reduce((a, c) => a + c.rowsChecked, 0),
      slots: checks.reduce((a, c) => a + c.slotsChecked, 0),
      outMaxAbsErr: checks.reduce((a, c) => Math.max(a, c.outMaxAbsErr), 0),
      lseMaxAbsErr: checks.reduce((a, c) => Math.max(a, c.lseMaxAbsErr), 0),
      failed: checks.filter((c) => c.problems.length > 0).length,
      problems: problems.slice(0, 10),
    },
  };
}

type Report = Awaited<ReturnType<typeof runTrace>> & { backend: string; backendReason: string; config: { cache: { dtype: string } } };

function render(r: Report): string {
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const L = r.latencyMs;
  const lat = table(['latency (ms)', 'mean', 'p50', 'p90', 'p99'], (
    [['time to first token', L.ttft], ['time per output token', L.tpot], ['request end-to-end', L.e2e], ['step', L.step], ['  attention (all layers)', L.forward], ['  schedule (engine)', L.schedule]] as const
  ).map(([k, v]) => [k, ms(v.mean), ms(v.p50), ms(v.p90), ms(v.p99)]));
  const T = r.throughput;
  const thr = table(['throughput', 'value'], [
    ['tokens/s processed (all query rows)', T.tokensPerSecond.toFixed(1)],
    ['generated tokens/s', T.generatedTokensPerSecond.toFixed(1)],
    ['requests/s', T.requestsPerSecond.toFixed(2)],
    ['steps/s', T.stepsPerSecond.toFixed(2)],
  ]);
  const c = r.check;
  const verdict = c.layers === 0 ? 'not run' : c.failed === 0 ? 'PASS' : `FAIL (${c.failed} layer checks)`;
  return [
    `backend: ${r.backend} (${r.backendReason})`,
    `kernels: ${r.kernels.join(' | ')}; KV cache ${r.config.cache.dtype}`,
    `${r.requests} requests, ${r.steps} steps, ${r.tokens.processed} tokens processed, ${r.tokens.generated} generated, ${r.preempted} preemptions, ${r.wallSeconds.toFixed(1)} s (${r.checkSeconds.toFixed(1)} s of it reference checks, left out of throughput and latencies)`,
    '',
    thr,
    '',
    lat,
    '',
    `reference check: ${verdict}: ${c.steps} steps, ${c.layers} layer checks, ${c.rows} rows x all heads, ${c.slots} K/V slots; max abs err output ${c.outMaxAbsErr.toExponential(2)}, lse ${c.lseMaxAbsErr.toExponential(2)}`,
    ...c.problems.map((p) => `  ${p}`),
  ].join('\n');
}
