// Status codes of assembly/errors.ts, turned into named SinkrtErrors whose messages name the field,
// the rule and the value. The values come from the header (H_ERR_ARG0/1), written by the engine next
// to the failing status, so a status crossing from a worker carries no strings.

import { SinkrtError } from '../backends/types.js';

export const Status = {
  OK: 0,
  NOT_INIT: -1,
  BAD_CONFIG: -2,
  UNKNOWN_REQUEST: -3,
  EMPTY_PROMPT: -4,
  BAD_MAX_NEW_TOKENS: -5,
  SEQUENCE_TOO_LONG: -6,
  EXCEEDS_CACHE: -7,
  TOO_MANY_REQUESTS: -8,
  STEP_NOT_COMMITTED: -9,
  NOTHING_TO_COMMIT: -10,
  OUT_OF_MEMORY: -11,
  INTERNAL: -12,
} as const;

const CONFIG_FIELDS = [
  'numBlocks', 'blockSize', 'slidingWindow', 'numSlidingBlocks', 'maxNumSeqs', 'maxNumBatchedTokens',
  'maxModelLen', 'maxRequests',
];

const CONFIG_RULES = [
  'must be an integer in [1, 2^24]',
  'must be a power of two in [1, 256]',
  'must be >= 0 (0 = no sliding layers)',
  'must be in [2, 2^24] when slidingWindow > 0 (block 0 is the null block)',
  'must be in [1, 65536]',
  'must be in [1, 2^24]',
  'must be in [1, 2^24]',
  'must be >= maxNumSeqs and <= 2^20',
];

/** What the call was about, for the message (a request id, or nothing). */
export interface ErrorContext {
  call: string;
  id?: number;
}

/** The SinkrtError for a negative status; a0/a1 are H_ERR_ARG0/1 as read right after the call. */
export function statusError(status: number, a0: number, a1: number, ctx: ErrorContext): SinkrtError {
  const who = ctx.id === undefined ? ctx.call : `${ctx.call}(id ${ctx.id})`;
  switch (status) {
    case Status.NOT_INIT:
      return new SinkrtError('ENGINE_NOT_INITIALIZED', `${who}: the engine is not initialized (call init first)`);
    case Status.BAD_CONFIG: {
      if (a0 < 0) return new SinkrtError('BAD_CONFIG', `${who}: the engine is already initialized`);
      const field = CONFIG_FIELDS[a0] ?? `field ${a0}`;
      return new SinkrtError('BAD_CONFIG', `${who}: config.${field} = ${a1} ${CONFIG_RULES[a0] ?? 'is invalid'}`);
    }
    case Status.UNKNOWN_REQUEST:
      return new SinkrtError('UNKNOWN_REQUEST', `${who}: no such request (not added, or already finished/aborted)`);
    case Status.EMPTY_PROMPT:
      return new SinkrtError('EMPTY_PROMPT', `${who}: prompt length = ${a0} must be >= 1`);
    case Status.BAD_MAX_NEW_TOKENS:
      return new SinkrtError('BAD_MAX_NEW_TOKENS', `${who}: maxNewTokens = ${a0} must be an integer >= 1`);
    case Status.SEQUENCE_TOO_LONG:
      return new SinkrtError('SEQUENCE_TOO_LONG', `${who}: prompt + maxNewTokens = ${a0} is past maxModelLen ${a1}`);
    case Status.EXCEEDS_CACHE:
      return new SinkrtError('EXCEEDS_CACHE', `${who}: the sequence needs ${a0} blocks of one group but the cache can only ever give it ${a1}`);
    case Status.TOO_MANY_REQUESTS:
      return new SinkrtError('TOO_MANY_REQUESTS', `${who}: all maxRequests = ${a0} request slots are in use`);
    case Status.STEP_NOT_COMMITTED:
      return new SinkrtError('STEP_NOT_COMMITTED', `${who}: the previous step is not committed (call commit first)`);
    case Status.NOTHING_TO_COMMIT:
      return new SinkrtError('NOTHING_TO_COMMIT', `${who}: no step to commit (call step first)`);
    case Status.OUT_OF_MEMORY:
      return new SinkrtError('OUT_OF_MEMORY', `${who}: the engine needs ${a0} pages of 64 KiB but the memory can have ${a1}; lower the config or raise maxMemoryPages`);
    default:
      return new SinkrtError('ENGINE_INTERNAL', `${who}: engine status ${status} (args ${a0}, ${a1}): an internal invariant broke`);
  }
}
