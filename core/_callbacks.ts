/**
 * Calling user callbacks so that a throw never breaks the caller: what it throws goes to an error
 * sink, and a sink that throws too is ignored, having nowhere left to report to.
 *
 * @module
 */

/**
 * Hands `error` to `onError`, swallowing what `onError` throws.
 *
 * @param onError The error sink.
 * @param error What was thrown.
 * @example
 * ```ts
 * import { report } from "./_callbacks.ts";
 * report(() => {
 *   throw new Error("the sink fails too");
 * }, new Error("first")); // Does not throw.
 * ```
 */
export function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error);
  } catch {
    // A reporter that throws too has nowhere left to report to.
  }
}

/**
 * Calls `callback`; what it throws goes to {@linkcode report}.
 *
 * @param callback The user's code.
 * @param onError The error sink.
 * @example
 * ```ts
 * import { callSafely } from "./_callbacks.ts";
 * import assert from "node:assert/strict";
 * const errors: unknown[] = [];
 * callSafely(() => {
 *   throw new Error("listener failed");
 * }, (error) => errors.push(error));
 * assert.equal(errors.length, 1);
 * ```
 */
export function callSafely(callback: () => void, onError: (error: unknown) => void): void {
  try {
    callback();
  } catch (error) {
    report(onError, error);
  }
}
