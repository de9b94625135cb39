// Status codes returned by every export (negative = error). src/wasm/errors.ts turns each into a
// named SinkrtError; the offending value(s) are left in the header at H_ERR_ARG0 / H_ERR_ARG1 so the
// message can name them. Keep the numbers stable: they are the ABI.

export const OK: i32 = 0;
export const E_NOT_INIT: i32 = -1;
/** A config field breaks a rule; ERR_ARG0 = field id (CFG_* in layout.ts), ERR_ARG1 = value. */
export const E_BAD_CONFIG: i32 = -2;
/** Slot or id does not name a live request; ERR_ARG0 = slot. */
export const E_UNKNOWN_REQUEST: i32 = -3;
export const E_EMPTY_PROMPT: i32 = -4;
/** maxNewTokens < 1; ERR_ARG0 = value. */
export const E_BAD_MAX_NEW_TOKENS: i32 = -5;
/** promptLen + maxNewTokens > maxModelLen; ERR_ARG0 = total, ERR_ARG1 = maxModelLen. */
export const E_SEQUENCE_TOO_LONG: i32 = -6;
/** The sequence needs more blocks than the pool has; ERR_ARG0 = blocks needed, ERR_ARG1 = blocks usable. */
export const E_EXCEEDS_CACHE: i32 = -7;
/** All request slots are in use; ERR_ARG0 = maxRequests. */
export const E_TOO_MANY_REQUESTS: i32 = -8;
/** step() while the previous plan is not committed. */
export const E_STEP_NOT_COMMITTED: i32 = -9;
/** commit() without a step() to commit. */
export const E_NOTHING_TO_COMMIT: i32 = -10;
/** The memory cannot grow to what the config needs; ERR_ARG0 = pages needed, ERR_ARG1 = pages available. */
export const E_OUT_OF_MEMORY: i32 = -11;
/** A bookkeeping invariant broke (a bug); ERR_ARG0 = which check. */
export const E_INTERNAL: i32 = -12;
