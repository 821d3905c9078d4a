/**
 * Where the coordinators get time: a clock and repeating timers, both injectable so tests drive
 * time themselves.
 *
 * @module
 */

/** A clock in milliseconds; the default is `performance.now()`. */
export interface Clock {
  /** The current time in milliseconds. */
  nowMs(): number;
}

/** Repeating timers; the default uses `setInterval` and unrefs it so an idle process can exit. */
export interface Timers {
  /** Calls `callback` every `ms` milliseconds; returns a handle. */
  setInterval(callback: () => void, ms: number): unknown;
  /** Stops a timer. */
  clearInterval(handle: unknown): void;
}

/** The default {@linkcode Clock}: `performance.now()`. */
export const performanceClock: Clock = { nowMs: () => performance.now() };

/**
 * The default {@linkcode Timers}: `setInterval`, unreffed so an idle estimator lets the process
 * exit (with `Deno.unrefTimer` in Deno, the timer's own `unref()` in Node.js and Bun).
 *
 * @example
 * ```ts
 * import { unrefTimers } from "@rbe/receiver-gcc";
 * const handle = unrefTimers.setInterval(() => {}, 1000);
 * unrefTimers.clearInterval(handle);
 * ```
 */
export const unrefTimers: Timers = {
  setInterval(callback, ms) {
    return unref(setInterval(callback, ms));
  },
  clearInterval(handle) {
    clearInterval(handle as number);
  },
};

/**
 * `setTimeout`, unreffed as {@linkcode unrefTimers} are: a pending one does not keep the process
 * alive.
 *
 * @param callback Called once.
 * @param ms Delay in milliseconds.
 * @returns The handle for `clearTimeout`.
 * @example
 * ```ts
 * import { unrefTimeout } from "./clock.ts";
 * clearTimeout(unrefTimeout(() => {}, 1000));
 * ```
 */
export function unrefTimeout(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
  return unref(setTimeout(callback, ms));
}

// Deno's timers are numbers unreffed by id; Node.js and Bun's are objects with `unref()`.
function unref<T>(handle: T): T {
  const deno = (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno;
  if (deno && typeof handle === "number") deno.unrefTimer(handle);
  else (handle as { unref?: () => void }).unref?.();
  return handle;
}
