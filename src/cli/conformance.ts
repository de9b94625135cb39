// `sinkrt conformance --backend X`: the shared table of batch shapes (test/helpers/shapes.ts) run on
// one backend through the AttentionBackend interface, each against the float64 reference, with the
// same runner the vitest suites use (test/helpers/run-case.ts). Prints pass/fail and max errors per
// shape; exits 1 if any shape fails. The table lives in test/helpers (the lead's); the compiled
// copy under dist/test/ is what this imports.

import type { BackendName } from '../backends/backend.js';
import { SinkrtError, type Dtype } from '../backends/types.js';
import { releaseBackend, startBackend } from '../runtime/probe.js';
import { checkOneOf } from '../runtime/errors.js';
import { BATCH_SHAPES } from '../../test/helpers/shapes.js';
import { runCase, type CaseResult } from '../../test/helpers/run-case.js';
import { helpText, parseFlags, type FlagSpec } from './args.js';
import { Progress } from './progress.js';
import { table } from './table.js';

export const CONFORMANCE_FLAGS: Record<string, FlagSpec> = {
  backend: { type: 'string', help: 'rocm | webgpu | cpu', default: 'cpu' },
  dtype: { type: 'string', help: 'comma-separated dtypes (f32, f16, bf16)', default: 'f32' },
  shapes: { type: 'string', help: 'comma-separated shape names or tags to run (default: all)' },
  'skip-tags': { type: 'string', help: 'comma-separated tags to leave out (e.g. heavy)' },
  json: { type: 'boolean', help: 'print results as JSON', default: false },
  quiet: { type: 'boolean', help: 'no progress bar', default: false },
  help: { type: 'boolean', help: 'this help', default: false },
};

export async function conformance(argv: string[]): Promise<number> {
  const f = parseFlags(argv, CONFORMANCE_FLAGS);
  if (f.help) {
    process.stdout.write(`sinkrt conformance [flags]\n${helpText(CONFORMANCE_FLAGS)}\n`);
    return 0;
  }
  const name = checkOneOf<BackendName>('--backend', f.backend, ['rocm', 'webgpu', 'cpu']);
  const dtypes = String(f.dtype).split(',').map((d) => checkOneOf<Dtype>('--dtype', d.trim(), ['f32', 'f16', 'bf16']));
  const want = f.shapes ? String(f.shapes).split(',').map((s) => s.trim()) : null;
  const skip = f['skip-tags'] ? String(f['skip-tags']).split(',').map((s) => s.trim()) : [];
  const shapes = BATCH_SHAPES.filter((s) => (want === null || want.includes(s.name) || s.tags.some((t) => want.includes(t))) && !s.tags.some((t) => skip.includes(t)));
  if (shapes.length === 0) throw new SinkrtError('E_INVALID_ARGUMENT', `--shapes = ${JSON.stringify(f.shapes)} must name at least one shape or tag of the table`);
  const backend = await startBackend(name);
  const results: CaseResult[] = [];
  try {
    const progress = new Progress('conformance', shapes.length * dtypes.length, process.stderr, Boolean(f.quiet || f.json));
    for (const dtype of dtypes) {
      for (const shape of shapes) {
        const kernels = backend.capabilities.kernels;
        const hasDtype = Object.values(kernels).some((k) => k?.dtypes.includes(dtype));
        if (!hasDtype) {
          results.push({ shape: shape.name, dtype, pass: false, outMaxAbsErr: NaN, lseMaxAbsErr: NaN, selection: null, problems: [`backend ${name} declares no kernel for dtype ${dtype}`], ms: 0 });
        } else {
          try {
            results.push(await runCase(backend, shape, dtype));
          } catch (e) {
            results.push({ shape: shape.name, dtype, pass: false, outMaxAbsErr: NaN, lseMaxAbsErr: NaN, selection: null, problems: [(e as Error).message], ms: 0 });
          }
        }
        progress.update(results.length, shape.name);
      }
    }
    progress.done();
  } finally {
    await releaseBackend(backend);
  }
  const failed = results.filter((r) => !r.pass).length;
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ command: 'conformance', backend: name, facts: null, date: new Date().toISOString(), results }, null, 2)}\n`);
  } else {
    const e = (x: number) => (Number.isNaN(x) ? '-' : x.toExponential(2));
    const rows = results.map((r) => [r.shape, r.dtype, r.pass ? 'pass' : 'FAIL', e(r.outMaxAbsErr), e(r.lseMaxAbsErr), r.selection ? `${r.selection.decode.kernel}/${r.selection.extend.kernel}/${r.selection.prefill.kernel}` : '-', r.ms.toFixed(0)]);
    process.stdout.write(`${table(['shape', 'dtype', 'result', 'out max err', 'lse max err', 'kernels d/e/p', 'ms'], rows)}\n`);
    for (const r of results.filter((x) => !x.pass)) process.stdout.write(`${r.shape} [${r.dtype}]: ${r.problems.join('; ')}\n`);
    process.stdout.write(`${results.length - failed}/${results.length} shapes pass on ${name}\n`);
  }
  return failed > 0 ? 1 : 0;
}
