/**
 * The one error every closable object of this package throws for a call made after `close()`.
 *
 * @module
 */

/**
 * Thrown (or, for promise-returning methods, rejected) by a call made after `close()`. The
 * coordinators and the interceptor throw subclasses that name themselves; catching `ClosedError`
 * catches them all.
 *
 * @example
 * ```ts
 * import { ClosedError } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const error = new ClosedError("flush", "the coordinator");
 * assert.equal(error.message, "Cannot flush as the coordinator is closed");
 * assert.ok(error instanceof Error);
 * ```
 */
export class ClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param action What was attempted, e.g. "set RTT".
   * @param subject What is closed, e.g. "the coordinator".
   */
  constructor(action: string, subject: string) {
    super(`Cannot ${action} as ${subject} is closed`);
    this.name = "ClosedError";
  }
}
