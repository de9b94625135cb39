// The runtime's own record of every request it was given and has not yet reported finished. This
// record, not the engine, is the source of truth across a worker death: on restart every unfinished
// request is re-added with its prompt plus the tokens it has generated so far (the engine then
// recomputes their K/V, as after a preemption), so no request is lost and no token is duplicated.
//
// Token ids are synthetic: a prompt given as a length gets ids drawn from the request id; a generated
// token is a hash of the sequence so far (a deterministic "greedy" model). Each position also keeps a
// hash chained over all token ids up to it; q/k/v of that position are drawn from that hash and the
// layer (synthetic.ts). So a token's K/V depends on the request's tokens up to it, exactly the
// property that makes prefix caching and recompute-after-preemption exact, and a request's activations
// are a fixed function of (request id, position, layer) when its prompt is synthetic.

import { mix32, requestSeed } from './synthetic.js';

/** Synthetic vocabulary size (ids stay small positive int32s). */
export const VOCAB_SIZE = 50_000;

export interface RequestRecord {
  id: number;
  /** Prompt token ids, then generated ones: tokens[0 .. promptLen + generated). */
  tokens: Int32Array;
  /** chain[p] = hash of tokens[0..p]; q/k/v of position p come from it. */
  chain: Uint32Array;
  promptLen: number;
  maxTokens: number;
  generated: number;
  /** Set when abort() was called; the request leaves at the next commit. */
  aborting: boolean;
}

/** Start of every chain: the same for all requests, so equal token prefixes give equal hashes. */
const CHAIN_ROOT = 0x2545f491;

function chainStep(prev: number, token: number, pos: number): number {
  return mix32(prev ^ mix32(token + Math.imul(pos, 0x9e3779b1)));
}

export function makeRecord(id: number, prompt: Int32Array | readonly number[] | number, maxTokens: number): RequestRecord {
  const promptLen = typeof prompt === 'number' ? prompt : prompt.length;
  const tokens = new Int32Array(promptLen + maxTokens);
  const chain = new Uint32Array(promptLen + maxTokens);
  const seed = requestSeed(id);
  let h = CHAIN_ROOT;
  for (let p = 0; p < promptLen; p++) {
    tokens[p] = typeof prompt === 'number' ? mix32(seed ^ Math.imul(p + 1, 0x85ebca6b)) % VOCAB_SIZE : prompt[p];
    h = chainStep(h, tokens[p], p);
    chain[p] = h;
  }
  return { id, tokens, chain, promptLen, maxTokens, generated: 0, aborting: false };
}

/** The token a sequence "samples" after position `pos` (deterministic greedy model). */
export function nextToken(r: RequestRecord, pos: number): number {
  return mix32(r.chain[pos] ^ 0x5bd1e995) % VOCAB_SIZE;
}

/** Appends a generated token (after the engine committed it). */
export function appendToken(r: RequestRecord, token: number): void {
  const p = r.promptLen + r.generated;
  r.tokens[p] = token;
  r.chain[p] = chainStep(p === 0 ? CHAIN_ROOT : r.chain[p - 1], token, p);
  r.generated++;
}

/** What to hand a fresh engine: the prompt plus what was generated, and the tokens still owed. */
export function resumeArgs(r: RequestRecord): { prompt: Int32Array; maxNewTokens: number } {
  return { prompt: r.tokens.subarray(0, r.promptLen + r.generated), maxNewTokens: r.maxTokens - r.generated };
}
