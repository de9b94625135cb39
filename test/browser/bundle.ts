// Bundles the portable harness for the browser with vite (which vitest already brings; no other
// dependency): the page (page/index.html + page/main.ts, with the conformance table, the reference,
// the backends and the runtime) and the engine's Web Worker entry as a second entry, plus the static
// files the page fetches: build/engine.wasm, build/cpu/sinkrt_cpu.wasm, shaders/*.wgsl.
// Usage: bundleHarness(outDir) from the harness test, or `node dist/test/browser/bundle.js [outDir]`.

import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from src (vitest) or dist/ (compiled). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'browser', 'page', 'index.html'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`repository root not found above ${dirname(fileURLToPath(import.meta.url))}`);
}

/** Files the bundle needs that the build makes; null when all are there, else what is missing. */
export function missingInputs(root = repoRoot()): string | null {
  const need = ['build/engine.wasm', 'build/cpu/sinkrt_cpu.wasm', 'src/runtime/engine-worker.ts'];
  const missing = need.filter((p) => !existsSync(join(root, p)));
  return missing.length === 0 ? null : `missing ${missing.join(', ')} (run npm run build)`;
}

export async function bundleHarness(outDir = join(repoRoot(), 'dist', 'browser')): Promise<string> {
  const root = repoRoot();
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: join(root, 'test', 'browser', 'page'),
    base: './',
    logLevel: 'warn',
    publicDir: false,
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      rollupOptions: {
        input: {
          index: join(root, 'test', 'browser', 'page', 'index.html'),
          'engine-worker': join(root, 'src', 'runtime', 'engine-worker.ts'),
        },
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
        // Node-only paths of the backends and the engine are behind dynamic imports never taken here.
        external: [/^node:/, 'webgpu'],
      },
    },
    worker: { format: 'es' },
  });
  const stat = join(outDir, 'static');
  mkdirSync(join(stat, 'shaders'), { recursive: true });
  copyFileSync(join(root, 'build', 'engine.wasm'), join(stat, 'engine.wasm'));
  copyFileSync(join(root, 'build', 'cpu', 'sinkrt_cpu.wasm'), join(stat, 'sinkrt_cpu.wasm'));
  const shaders = join(root, 'shaders');
  if (existsSync(shaders)) for (const f of readdirSync(shaders)) if (f.endsWith('.wgsl')) copyFileSync(join(shaders, f), join(stat, 'shaders', f));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleHarness(process.argv[2]).then((d) => console.log(`bundled the portable harness into ${d}`));
}
