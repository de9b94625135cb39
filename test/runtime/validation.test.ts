// Bad input at every public runtime function gets a SinkrtError naming the field, the rule and the
// value, before anything reaches the worker or the backend.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createRuntime, ReferenceTestBackend, tinyOptions } from './fixtures.js';

/** The error must be a SinkrtError whose message holds every fragment. */
async function expectError(p: Promise<unknown> | (() => unknown), code: string, ...fragments: string[]): Promise<void> {
  let err: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(Error);
  const e = err as Error & { code?: string };
  expect(e.name).toBe('SinkrtError');
  expect(e.code).toBe(code);
  for (const f of fragments) expect(e.message).toContain(f);
}

describe('createRuntime option validation', () => {
  const base = () => tinyOptions(new ReferenceTestBackend());
  const cases: [string, (o: any) => void, string[]][] = [
    ['options not an object', (o) => Object.assign(o, { model: 7 }), ['model = 7', 'be an object']],
    ['unknown option', (o) => (o.modle = {}), ['options.modle', 'known options']],
    ['backend name', (o) => (o.backend = 'cuda'), ['options.backend = "cuda"', '"auto"']],
    ['numLayers 0', (o) => (o.model = { ...o.model, numLayers: 0 }), ['model.numLayers = 0', '[1, 4096]']],
    ['fractional heads', (o) => (o.model = { ...o.model, numQueryHeads: 4.5 }), ['model.numQueryHeads = 4.5', 'integer']],
    ['GQA not a multiple', (o) => (o.model = { ...o.model, numQueryHeads: 5 }), ['model.numQueryHeads = 5', 'multiple of model.numKvHeads (2)']],
    ['negative window', (o) => (o.model = { ...o.model, slidingWindow: -1 }), ['model.slidingWindow = -1', '>= 0']],
    ['sliding layer out of range', (o) => (o.model = { ...o.model, slidingLayers: [0, 9] }), ['model.slidingLayers[1] = 9', '[0, 1]']],
    ['sinks per layer count', (o) => (o.model = { ...o.model, sinks: [null] }), ['model.sinks.length = 1', 'model.numLayers (2)']],
    ['sink NaN', (o) => (o.model = { ...o.model, sinks: [new Float32Array([0, 0, NaN, 0]), null] }), ['model.sinks[0][2] = NaN', 'finite or -Infinity']],
    ['softcap negative', (o) => (o.model = { ...o.model, softcap: -2 }), ['model.softcap = -2', '>= 0']],
    ['block size', (o) => (o.cache = { ...o.cache, blockSize: 24 }), ['cache.blockSize = 24', 'power of two']],
    ['block size unsupported', (o) => (o.cache = { ...o.cache, blockSize: 8 }), ['cache.blockSize = 8', '16, 32 or 64']],
    ['dtype', (o) => (o.cache = { ...o.cache, dtype: 'fp8' }), ['cache.dtype = "fp8"', '"f32"']],
    ['numBlocks', (o) => (o.cache = { ...o.cache, numBlocks: 0 }), ['cache.numBlocks = 0', '[1, 16777216]']],
    ['budget below seqs', (o) => (o.scheduler = { maxNumSeqs: 16, maxNumBatchedTokens: 8 }), ['scheduler.maxNumBatchedTokens = 8', '>= scheduler.maxNumSeqs (16)']],
    ['maxModelLen past cache', (o) => (o.scheduler = { maxModelLen: 1 << 20 }), ['scheduler.maxModelLen = 1048576', '[2, 1024]']],
    ['worker flag', (o) => (o.worker = 'yes'), ['options.worker = "yes"', 'boolean']],
  ];
  for (const [name, mutate, fragments] of cases) {
    it(`rejects ${name}`, async () => {
      const o = base();
      mutate(o);
      await expectError(createRuntime(o), 'E_INVALID_ARGUMENT', ...fragments);
    });
  }
});

describe('runtime call validation', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime(tinyOptions(new ReferenceTestBackend(), { scheduler: { maxNumSeqs: 4, maxNumBatchedTokens: 32, maxModelLen: 200 } }));
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('addRequest', async () => {
    await expectError(rt.addRequest({ prompt: 0, maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.prompt = 0', '[1, 199]');
    await expectError(rt.addRequest({ prompt: [], maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.prompt.length = 0', '>= 1');
    await expectError(rt.addRequest({ prompt: [1, 2.5], maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.prompt[1] = 2.5', 'integer');
    await expectError(rt.addRequest({ prompt: 'hello' as never, maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.prompt = "hello"');
    await expectError(rt.addRequest({ prompt: 4, maxTokens: 0 }), 'E_INVALID_ARGUMENT', 'request.maxTokens = 0', '>= 1');
    await expectError(rt.addRequest({ prompt: 150, maxTokens: 60 }), 'E_INVALID_ARGUMENT', 'request.maxTokens = 60', 'scheduler.maxModelLen (200)');
    await expectError(rt.addRequest({ id: -3, prompt: 4, maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.id = -3', '[0, 2147483647]');
    await expectError(rt.addRequest({ prompt: 4, maxTokens: 1, temperature: 1 } as never), 'E_INVALID_ARGUMENT', 'request.temperature', 'known options');
    const id = await rt.addRequest({ id: 7, prompt: 4, maxTokens: 1 });
    await expectError(rt.addRequest({ id, prompt: 4, maxTokens: 1 }), 'E_INVALID_ARGUMENT', 'request.id = 7', 'in flight');
    await rt.abort(id);
  });

  it('abort', async () => {
    await expectError(rt.abort(12345), 'E_UNKNOWN_REQUEST', 'id = 12345');
    await expectError(rt.abort('7' as never), 'E_INVALID_ARGUMENT', 'id = "7"', 'integer');
  });

  it('step', async () => {
    await expectError(rt.step({ check: 'yes' } as never), 'E_INVALID_ARGUMENT', 'step options.check = "yes"', 'boolean');
    await expectError(rt.step({ checkSeqs: 0 }), 'E_INVALID_ARGUMENT', 'step options.checkSeqs = 0', '>= 1');
    await expectError(rt.step({ fast: true } as never), 'E_INVALID_ARGUMENT', 'step options.fast', 'known options');
    await rt.addRequest({ prompt: 40, maxTokens: 2 });
    const first = rt.step();
    await expectError(rt.step(), 'E_BUSY', 'already running');
    await first;
  });

  it('restart while running, and every call after close', async () => {
    await expectError(rt.restart(), 'E_INVALID_ARGUMENT', 'state = "running"', '"down"');
    const other = await createRuntime(tinyOptions(new ReferenceTestBackend()));
    await other.close();
    await expectError(other.addRequest({ prompt: 3, maxTokens: 1 }), 'E_CLOSED', 'closed');
    await expectError(other.step(), 'E_CLOSED', 'closed');
    await expectError(other.stats(), 'E_CLOSED', 'closed');
    await expectError(other.abort(0), 'E_CLOSED', 'closed');
    await expectError(other.restart(), 'E_CLOSED', 'closed');
  });
});
