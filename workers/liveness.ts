/**
 * When the coordinator stops waiting for workers: a lane whose worker has not answered for
 * `workerTimeoutMs` of real time, or a backlog of unreplayed records past `maxPendingRecords`.
 * Both move lanes to the inline fallback, so nothing waits or queues without limit.
 *
 * @module
 */

import type { Lane } from "./lane.ts";

// A worker that never answered gets this many timeouts: starting one can take a second.
const STARTING_GRACE = 5;

/**
 * The two limits, checked at every tick (the watchdog) and every packet (the backlog).
 *
 * @example
 * ```ts
 * import { Liveness } from "./liveness.ts";
 * import assert from "node:assert/strict";
 * const liveness = new Liveness({ workerTimeoutMs: 2000, maxPendingRecords: 1024 });
 * assert.equal(liveness.shouldShed(1024), true);
 * assert.equal(liveness.shouldShed(2048), false); // Once per tick at most.
 * liveness.onTick();
 * assert.equal(liveness.shouldShed(100), false);
 * ```
 */
export class Liveness {
  readonly #workerTimeoutMs: number;
  readonly #maxPendingRecords: number;
  #shedThisTick = false;

  /**
   * Creates the limits.
   *
   * @param limits Real-time silence after which a worker lane fails, ms, and the backlog bound.
   */
  constructor(limits: { workerTimeoutMs: number; maxPendingRecords: number }) {
    this.#workerTimeoutMs = limits.workerTimeoutMs;
    this.#maxPendingRecords = limits.maxPendingRecords;
  }

  /** The worker timeout, ms. */
  get workerTimeoutMs(): number {
    return this.#workerTimeoutMs;
  }

  /** A new tick: the backlog may be shed again (it only shrinks when the next flush sends). */
  onTick(): void {
    this.#shedThisTick = false;
  }

  /**
   * Whether the backlog must be shed now; at most once per tick.
   *
   * @param pendingRecords Records written and not replayed.
   * @returns `true` once when the bound is reached.
   */
  shouldShed(pendingRecords: number): boolean {
    if (pendingRecords < this.#maxPendingRecords || this.#shedThisTick) return false;
    this.#shedThisTick = true;
    return true;
  }

  /**
   * Whether a worker lane's oldest batch has waited too long.
   *
   * @param lane The lane.
   * @param realNowMs Real time, ms.
   * @returns `true` when its worker is to be given up on.
   */
  overdue(lane: Lane, realNowMs: number): boolean {
    if (lane.inFlight.length === 0) return false;
    const grace = lane.state === "starting" ? STARTING_GRACE : 1;
    return realNowMs - lane.waitingSinceMs > grace * this.#workerTimeoutMs;
  }
}
