// Runtime error codes and the one helper that builds a "field, rule, value" message. Every public
// runtime function validates its input with these before anything reaches the worker or a backend,
// so a bad call fails synchronously (or as a rejected promise for async calls) with a SinkrtError.

import { SinkrtError } from '../backends/types.js';

export { SinkrtError };

/** The codes the runtime itself raises (backends and the engine add their own). */
export const RuntimeErrorCode = {
  /** An option or argument broke a rule; the message names the field, the rule and the value. */
  INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  /** The named backend cannot run here; the message carries the probe's reason. */
  BACKEND_UNAVAILABLE: 'E_BACKEND_UNAVAILABLE',
  /** The engine worker exited or crashed; pending calls reject with this, `restart()` recovers. */
  WORKER_DIED: 'E_WORKER_DIED',
  /** The backend failed while running a step; the step was not committed and `restart()` recovers. */
  STEP_FAILED: 'E_STEP_FAILED',
  /** A call after `close()`. */
  CLOSED: 'E_CLOSED',
  /** A call while the runtime is down after a worker death, before `restart()`. */
  NOT_RUNNING: 'E_NOT_RUNNING',
  /** A request id that is unknown (never added, or already finished and collected). */
  UNKNOWN_REQUEST: 'E_UNKNOWN_REQUEST',
  /** A request id that is already in flight. */
  DUPLICATE_REQUEST: 'E_DUPLICATE_REQUEST',
  /** A second step() while one is still running (the runtime executes one plan at a time). */
  BUSY: 'E_BUSY',
} as const;

export type RuntimeErrorCodeName = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];

/** Renders a value for an error message: short, and unambiguous about its type. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (typeof value === 'function') return 'function';
  return Object.prototype.toString.call(value);
}

/** `field = value must <rule>` as an E_INVALID_ARGUMENT error. */
export function invalid(field: string, rule: string, value: unknown): SinkrtError {
  return new SinkrtError(RuntimeErrorCode.INVALID_ARGUMENT, `${field} = ${show(value)} must ${rule}`);
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInt(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'be an integer', value);
  if (value < min || value > max) {
    const rule = max === Number.MAX_SAFE_INTEGER ? `be >= ${min}` : `be in [${min}, ${max}]`;
    throw invalid(field, rule, value);
  }
  return value;
}

/** Throws unless `value` is a finite number in [min, max]. */
export function checkNumber(field: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, 'be a finite number', value);
  if (value < min || value > max) throw invalid(field, max === Infinity ? `be >= ${min}` : `be in [${min}, ${max}]`, value);
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
  return value as T;
}

/** Throws unless `value` is a plain object (not null, not an array). */
export function checkObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'be an object', value);
  return value as Record<string, unknown>;
}

/** Throws on keys of `obj` not in `known` (a typo in an option must not pass silently). */
export function checkKnownKeys(field: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw invalid(`${field}.${key}`, `be one of the known options (${known.join(', ')})`, obj[key]);
  }
}
