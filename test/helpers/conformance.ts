// One vitest suite that runs the whole table of batch shapes on a backend against the reference.
// Every backend's conformance test is one call of describeConformance.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionBackend } from '../../src/backends/backend.js';
import type { Dtype } from '../../src/backends/types.js';
import { runCase } from './run-case.js';
import { BATCH_SHAPES, type BatchShape } from './shapes.js';

export interface ConformanceOptions {
  /** Suite name, e.g. 'webgpu (lavapipe)'. */
  name: string;
  /** null when the backend can run here; otherwise the reason the suite skips. */
  skipReason: () => Promise<string | null>;
  create: () => Promise<AttentionBackend>;
  dtypes: Dtype[];
  /** Shapes to leave out, each with the reason (printed in the skipped test's name). */
  exclude?: (shape: BatchShape, dtype: Dtype) => string | null;
}

export async function describeConformance(opts: ConformanceOptions): Promise<void> {
  const reason = await opts.skipReason();
  // Said out loud: the default reporter shows a skipped suite only as a count.
  if (reason !== null) console.warn(`conformance: ${opts.name} skipped: ${reason}`);
  describe.skipIf(reason !== null)(`conformance: ${opts.name}${reason ? ` (skipped: ${reason})` : ''}`, () => {
    let backend: AttentionBackend;
    beforeAll(async () => {
      backend = await opts.create();
    });
    afterAll(async () => {
      await backend?.close();
    });
    for (const dtype of opts.dtypes) {
      for (const shape of BATCH_SHAPES) {
        const excluded = opts.exclude?.(shape, dtype) ?? null;
        const title = `${shape.name} [${dtype}]`;
        if (excluded !== null) {
          it.skip(`${title} (excluded: ${excluded})`, () => {});
          continue;
        }
        it(title, async () => {
          const r = await runCase(backend, shape, dtype);
          expect(r.problems, r.problems.join('\n')).toEqual([]);
        });
      }
    }
  });
}
