/**
 * Logs each cause at most once a second, so that a fault repeated per packet cannot flood the log;
 * every occurrence is still counted by the caller.
 *
 * @module
 */

const INTERVAL_MS = 1000;

/** A logger's two levels. */
export interface LevelLogger {
  /** Something outside failed. */
  warn(message: string, ...data: unknown[]): void;
  /** Something inside failed. */
  error(message: string, ...data: unknown[]): void;
}

/**
 * Rate-limits a logger per cause.
 *
 * @example
 * ```ts
 * import { LogLimiter } from "./_log_limiter.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const log = new LogLimiter({ warn: (m) => lines.push(m), error: (m) => lines.push(m) });
 * log.error("packet", 0, "bad packet");
 * log.error("packet", 10, "bad packet");
 * log.error("packet", 1000, "bad packet");
 * assert.deepEqual(lines, ["bad packet", "bad packet (1 more since the last report)"]);
 * ```
 */
export class LogLimiter {
  readonly #logger: LevelLogger;
  readonly #lastMs = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();

  /**
   * Wraps a logger.
   *
   * @param logger Where lines go.
   */
  constructor(logger: LevelLogger) {
    this.#logger = logger;
  }

  /**
   * Warns about `cause`, unless it was reported less than a second ago.
   *
   * @param cause What failed, as a short key.
   * @param nowMs Clock, ms.
   * @param message The line.
   * @param data Attached values.
   */
  warn(cause: string, nowMs: number, message: string, ...data: unknown[]): void {
    this.#log("warn", cause, nowMs, message, data);
  }

  /**
   * Reports an error of `cause`, unless one was reported less than a second ago.
   *
   * @param cause What failed, as a short key.
   * @param nowMs Clock, ms.
   * @param message The line.
   * @param data Attached values.
   */
  error(cause: string, nowMs: number, message: string, ...data: unknown[]): void {
    this.#log("error", cause, nowMs, message, data);
  }

  #log(
    level: "warn" | "error",
    cause: string,
    nowMs: number,
    message: string,
    data: unknown[],
  ): void {
    const last = this.#lastMs.get(cause);
    if (last !== undefined && nowMs - last < INTERVAL_MS) {
      this.#suppressed.set(cause, (this.#suppressed.get(cause) ?? 0) + 1);
      return;
    }
    this.#lastMs.set(cause, nowMs);
    const suppressed = this.#suppressed.get(cause) ?? 0;
    this.#suppressed.delete(cause);
    const line = suppressed > 0 ? `${message} (${suppressed} more since the last report)` : message;
    try {
      this.#logger[level](line, ...data);
    } catch {
      // A logger that throws has nowhere left to report to.
    }
  }
}
