// A small argument parser for the CLI: `--name value`, `--name=value`, boolean `--flag`. Unknown
// flags and malformed numbers are errors that name the flag, the rule and the value.

import { SinkrtError } from '../backends/types.js';

export interface FlagSpec {
  type: 'number' | 'string' | 'boolean';
  help: string;
  default?: number | string | boolean;
}

export type Flags = Record<string, number | string | boolean | undefined>;

export function parseFlags(argv: string[], spec: Record<string, FlagSpec>): Flags {
  const out: Flags = {};
  for (const [k, s] of Object.entries(spec)) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new SinkrtError('E_INVALID_ARGUMENT', `argument ${JSON.stringify(arg)} must be a --flag`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (!s) throw new SinkrtError('E_INVALID_ARGUMENT', `flag --${name} must be one of ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`);
    if (s.type === 'boolean') {
      out[name] = eq > 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new SinkrtError('E_INVALID_ARGUMENT', `flag --${name} must be followed by a value`);
    if (s.type === 'number') {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new SinkrtError('E_INVALID_ARGUMENT', `flag --${name} = ${JSON.stringify(raw)} must be a number`);
      out[name] = v;
    } else out[name] = raw;
  }
  return out;
}

export function helpText(spec: Record<string, FlagSpec>): string {
  return Object.entries(spec)
    .map(([k, s]) => `  --${k.padEnd(22)} ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ''}`)
    .join('\n');
}
