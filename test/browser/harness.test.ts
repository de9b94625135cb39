// The portable harness as part of `npm test`: bundles test/browser/page with vite, serves it on
// 127.0.0.1 (cross-origin isolated), and drives headless Chromium (Debian's, via playwright-core)
// with WebGPU enabled. In the page: the conformance table on WebGPU (SwiftShader here: no shader-f16,
// so f32) and on the CPU backend (WASM), then a serving run through createRuntime with the engine in
// a Web Worker, checked against the float64 reference. Heavy shapes are left out (software adapter).

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHarness, missingInputs } from './bundle.js';
import { serveStatic } from './serve-static.js';

const CHROMIUM = process.env.SINKRT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set SINKRT_CHROMIUM)`;
  return missingInputs();
}

const reason = skipReason();

interface PageResult {
  done: boolean;
  error: string | null;
  crossOriginIsolated: boolean;
  adapter: Record<string, unknown> | null;
  conformance: Record<string, { shape: string; pass: boolean; problems: string[]; outMaxAbsErr: number }[]>;
  backendsSkipped: Record<string, string>;
  serve: { backend: string; requests: number; steps: number; finished: number; checks: number; problems: string[]; engineInWorker: boolean } | null;
}

describe.skipIf(reason !== null)(`portable harness in headless Chromium${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let result: PageResult;
  let pageErrors: string[] = [];
  let close: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    const dir = await bundleHarness();
    const server = await serveStatic(dir);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    close = async () => {
      await browser.close();
      await server.close();
    };
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`${server.url}?skipTags=heavy`);
    await page.waitForFunction(() => (window as unknown as { __sinkrt?: { done: boolean } }).__sinkrt?.done === true, null, { timeout: 240_000, polling: 500 });
    result = await page.evaluate(() => (window as unknown as { __sinkrt: PageResult }).__sinkrt);
    const summary = Object.entries(result.conformance).map(([b, rows]) => `${b} ${rows.filter((r) => r.pass).length}/${rows.length} pass`);
    console.log(`browser harness: ${summary.join(', ')}; skipped ${JSON.stringify(result.backendsSkipped)}; serve ${JSON.stringify(result.serve)}`);
  }, 300_000);

  afterAll(async () => {
    await close?.();
  });

  it('the page ran to the end without an error, cross-origin isolated', () => {
    expect(result.error).toBeNull();
    expect(result.crossOriginIsolated).toBe(true);
  });

  it('conformance table passes on the CPU backend (WASM) in the browser', () => {
    const rows = result.conformance.cpu ?? [];
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => !r.pass).map((r) => `${r.shape}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  it('conformance table on WebGPU (navigator.gpu), or the stated reason it cannot run', () => {
    if (result.backendsSkipped.webgpu) {
      console.log(`webgpu in Chromium skipped: ${result.backendsSkipped.webgpu}`);
      expect(result.conformance.webgpu).toBeUndefined();
      return;
    }
    const rows = result.conformance.webgpu ?? [];
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => !r.pass).map((r) => `${r.shape}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  it('createRuntime with the engine in a Web Worker serves every request, each step checked against the reference', () => {
    expect(result.serve).not.toBeNull();
    const s = result.serve!;
    expect(s.engineInWorker).toBe(true);
    expect(s.finished).toBe(s.requests);
    expect(s.checks).toBeGreaterThan(0);
    expect(s.problems).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
