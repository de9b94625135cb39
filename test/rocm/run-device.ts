// The conformance table on a GPU machine without vitest (node only): every shape of BATCH_SHAPES, f16
// and bf16, through the rocm backend against the float64 reference, with the same checks as the vitest
// suite (test/helpers/run-case.ts), once with the split-KV heuristic and once forced to one segment.
// Usage: node dist/test/rocm/run-device.js [out.json]   Exit status 1 if any case fails.
import { writeFileSync } from 'node:fs';
import { createRocmBackend, rocmSkipReason } from '../../src/backends/rocm/index.js';
import { explainSelection } from '../../src/backends/select.js';
import type { Dtype } from '../../src/backends/types.js';
import { buildCase, type AttentionCase } from '../helpers/cases.js';
import { runCase, type CaseResult } from '../helpers/run-case.js';
import { BATCH_SHAPES } from '../helpers/shapes.js';

const reason = await rocmSkipReason();
if (reason !== null) {
  console.log(`rocm conformance skipped: ${reason}`);
  process.exit(2);
}
// The second mode also runs prefill with two 16-row tiles per wave (opt-in; the default is one).
const modes = [
  { name: 'heuristic', forceSegments: 0, prefillRowTiles: 0 as const },
  { name: 'one-segment', forceSegments: 1, prefillRowTiles: 2 as const },
];
const results: Array<CaseResult & { mode: string }> = [];
let device: Record<string, unknown> = {};
for (const dtype of ['f16', 'bf16'] as Dtype[]) {
  const cases = new Map<string, AttentionCase>();
  for (const mode of modes) {
    const backend = await createRocmBackend({ forceSegments: mode.forceSegments, prefillRowTiles: mode.prefillRowTiles });
    device = backend.describe();
    for (const shape of BATCH_SHAPES) {
      if (!cases.has(shape.name)) cases.set(shape.name, buildCase(shape, dtype));
      let r: CaseResult;
      try {
        r = await runCase(backend, shape, dtype, cases.get(shape.name));
      } catch (e) {
        r = { shape: shape.name, dtype, pass: false, outMaxAbsErr: NaN, lseMaxAbsErr: NaN, selection: null, problems: [String((e as Error).stack ?? e)], ms: 0 };
      }
      results.push({ ...r, mode: mode.name });
      const sel = r.selection ? explainSelection(r.selection).map((l) => l.split(' (')[0]).join(', ') : '-';
      console.log(`${r.pass ? 'PASS' : 'FAIL'} ${mode.name.padEnd(11)} ${dtype.padEnd(4)} ${shape.name.padEnd(40)} out ${r.outMaxAbsErr.toExponential(2)} lse ${r.lseMaxAbsErr.toExponential(2)}  ${sel}`);
      for (const p of r.problems) console.log(`     ${p}`);
    }
    await backend.close();
  }
}
const failed = results.filter((r) => !r.pass).length;
console.log(`rocm conformance: ${results.length - failed} passed, ${failed} failed of ${results.length}`);
const out = process.argv[2];
if (out) writeFileSync(out, JSON.stringify({ device, date: new Date().toISOString(), passed: results.length - failed, failed, results }, null, 1));
process.exit(failed > 0 ? 1 : 0);
