// STYLE rule 5: the shared-memory layout is defined once (assembly/layout.ts) and mirrored in TS
// (src/wasm/layout.ts); the compiled module exports every constant, so both sides are compared here,
// name by name, along with the status codes (assembly/errors.ts vs src/wasm/errors.ts).

import { describe, expect, it } from 'vitest';
import * as L from '../../src/wasm/layout.js';
import { Status } from '../../src/wasm/errors.js';
import { compileEngine, createEngineMemory, instantiateEngine } from '../../src/wasm/loader.js';
import { EngineCore } from '../../src/wasm/engine-core.js';

async function exportsOf(): Promise<Record<string, unknown>> {
  const module = await compileEngine();
  return (await instantiateEngine(module, createEngineMemory(64))) as unknown as Record<string, unknown>;
}

const globalValue = (g: unknown) => (g as WebAssembly.Global).value as number;

describe('layout: TS mirror agrees with the AssemblyScript definition', () => {
  it('every TS constant equals the exported AS constant of the same name, and vice versa', async () => {
    const ex = await exportsOf();
    const ts = Object.entries(L);
    expect(ts.length).toBeGreaterThan(60);
    for (const [name, value] of ts) {
      expect(ex[name], `AS exports no ${name}`).toBeInstanceOf(WebAssembly.Global);
      expect(globalValue(ex[name]), name).toBe(value);
    }
    const asLayoutNames = Object.keys(ex).filter((k) => /^(H_|CFG_|REQ_|FINISH_|BLK_|BLOCK_BYTES|MAGIC|LAYOUT_VERSION|HEADER_WORDS)/.test(k));
    expect(asLayoutNames.sort()).toEqual(Object.keys(L).sort());
  });

  it('status codes agree', async () => {
    const ex = await exportsOf();
    for (const [name, value] of Object.entries(Status)) {
      const asName = name === 'OK' ? 'OK' : `E_${name}`;
      expect(globalValue(ex[asName]), asName).toBe(value);
    }
  });

  it('header words are distinct and inside the header; regions are 16-byte aligned and disjoint', async () => {
    const words = Object.entries(L).filter(([k]) => k.startsWith('H_')).map(([, v]) => v);
    expect(new Set(words).size).toBe(words.length);
    for (const w of words) expect(w).toBeLessThan(L.HEADER_WORDS);
    const e = await EngineCore.create({ numBlocks: 40, blockSize: 16, slidingWindow: 128, numSlidingBlocks: 30, maxNumSeqs: 8, maxNumBatchedTokens: 256, maxModelLen: 512 });
    const h = e.views.header;
    const regions = Object.entries(e.views.whole).filter(([, v]) => v !== null) as [string, Int32Array][];
    for (const [name, v] of regions) expect(v.byteOffset % 16, name).toBe(0);
    const spans = regions.map(([name, v]) => [v.byteOffset, v.byteOffset + v.byteLength, name] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0], `${spans[i - 1][2]} overlaps ${spans[i][2]}`).toBeGreaterThanOrEqual(spans[i - 1][1]);
    expect(spans[spans.length - 1][1]).toBeLessThanOrEqual(h[L.H_MEMORY_BYTES]);
    expect(h[L.H_MEMORY_BYTES]).toBeLessThanOrEqual(e.views.memory.buffer.byteLength);
  });
});

describe('no allocation after init', () => {
  it('the memory never grows after init, whatever the workload (views stay valid)', async () => {
    const e = await EngineCore.create({ numBlocks: 64, blockSize: 4, slidingWindow: 8, numSlidingBlocks: 32, maxNumSeqs: 8, maxNumBatchedTokens: 32, maxModelLen: 64 });
    const bytes = e.views.memory.buffer.byteLength;
    for (let i = 0; i < 30; i++) e.addRequest(i, Array.from({ length: 5 + (i % 20) }, (_, k) => (k * i) % 7), 1 + (i % 9));
    let steps = 0;
    while (e.hasWork()) {
      const s = e.step();
      for (let k = 0; k < s.numSeqs; k++) e.plan.sampledTokens[k] = k;
      e.commit();
      const w = e.views.whole;
      if (steps++ % 7 === 3 && e.stats().running > 0) e.abort(w.reqExtId[w.runList[0]]);
    }
    expect(steps).toBeGreaterThan(20);
    expect(e.views.memory.buffer.byteLength).toBe(bytes);
  });
});
