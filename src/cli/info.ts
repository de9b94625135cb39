// `sinkrt info`: which backends can run here (with the reason for each that cannot), the facts each
// reports (adapter, device, limits, features), and the kernel selection for the default GPT-OSS-shaped
// model (full and sliding layers) on each available backend, with the reasons behind every choice.

import type { BackendName } from '../backends/backend.js';
import { explainSelection, selectKernels } from '../backends/select.js';
import { AUTO_ORDER, releaseBackend, softwareAdapter, startBackend } from '../runtime/probe.js';
import { normalizeModel } from '../runtime/model.js';
import { helpText, parseFlags, type FlagSpec } from './args.js';

export const INFO_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', help: 'print as JSON', default: false },
  help: { type: 'boolean', help: 'this help', default: false },
};

/** The default model of `sinkrt serve`, two layers: one sliding (window 128), one full. */
const DEFAULT_MODEL = { numLayers: 2, numQueryHeads: 64, numKvHeads: 8, headSize: 64, slidingWindow: 128 };

export async function info(argv: string[]): Promise<number> {
  const f = parseFlags(argv, INFO_FLAGS);
  if (f.help) {
    process.stdout.write(`sinkrt info [flags]\n${helpText(INFO_FLAGS)}\n`);
    return 0;
  }
  const model = normalizeModel(DEFAULT_MODEL);
  const report: { name: BackendName; available: boolean; reason: string; facts?: Record<string, unknown>; selection?: Record<string, string[]> }[] = [];
  for (const name of AUTO_ORDER) {
    try {
      const b = await startBackend(name);
      try {
        const facts = b.describe();
        const selection: Record<string, string[]> = {};
        for (const [label, layer] of [['sliding layer (window 128)', model.layers[0]], ['full layer', model.layers[1]]] as const) {
          try {
            selection[label] = explainSelection(selectKernels(b.capabilities, { layer, blockSize: 16, dtype: 'f32', maxDecodeQueryLen: 1, maxExtendQueryLen: 256, maxPrefillQueryLen: 256 }));
          } catch (e) {
            selection[label] = [(e as Error).message];
          }
        }
        const software = softwareAdapter(facts);
        report.push({ name, available: true, reason: software === null ? 'started' : `started; auto passes it over: ${software}`, facts, selection });
      } finally {
        await releaseBackend(b);
      }
    } catch (e) {
      report.push({ name, available: false, reason: (e as Error).message });
    }
  }
  const picked = report.find((r) => r.available && r.reason === 'started');
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ command: 'info', auto: picked?.name ?? null, backends: report }, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [`sinkrt info: auto order ${AUTO_ORDER.join(' > ')}; auto picks ${picked ? picked.name : 'nothing (no backend can run here)'}`, ''];
  for (const r of report) {
    lines.push(`${r.name}: ${r.available ? 'available' : 'unavailable'}${r.reason === 'started' ? '' : ` (${r.reason})`}`);
    if (r.facts) for (const [k, v] of Object.entries(r.facts)) lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    if (r.selection) {
      lines.push('  kernel selection, default model (64 q heads, 8 kv heads, head size 64, sinks, block 16, f32):');
      for (const [label, sel] of Object.entries(r.selection)) {
        lines.push(`    ${label}:`);
        for (const l of sel) lines.push(`      ${l}`);
      }
    }
    lines.push('');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
