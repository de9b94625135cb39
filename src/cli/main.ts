#!/usr/bin/env node
// The sinkrt command line: `sinkrt serve` (the main job, and the default), `sinkrt conformance`,
// `sinkrt info`. Errors print as one line (code and message) and exit 2; a failed check exits 1.

import { SinkrtError } from '../backends/types.js';

const USAGE = `usage: sinkrt [serve|conformance|info] [flags]   (sinkrt <command> --help for flags)
  serve        serving run of a GPT-OSS-shaped attention stack over a synthetic trace (default)
  conformance  the table of batch shapes on one backend, against the float64 reference
  info         backends found here, device facts, kernel selection for the default model`;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const cmd = first === undefined || first.startsWith('--') ? 'serve' : first;
  const args = cmd === first ? rest : argv;
  switch (cmd) {
    case 'serve':
      return (await import('./serve.js')).serve(args);
    case 'conformance':
      return (await import('./conformance.js')).conformance(args);
    case 'info':
      return (await import('./info.js')).info(args);
    case 'help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`sinkrt: command ${JSON.stringify(cmd)} must be serve, conformance or info\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const msg = e instanceof SinkrtError ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`sinkrt: ${msg}\n`);
    process.exitCode = 2;
  },
);
