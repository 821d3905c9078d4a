/**
 * A fake clock with fake repeating timers, for driving interceptors and coordinators along a
 * timeline: `advanceTo(t)` runs every timer due up to `t` in time order, with the clock set to each
 * timer's due time, then leaves the clock at `t`.
 *
 * @module
 */

import type { Clock, Timers } from "../../workers/coordinator.ts";

interface FakeTimer {
  callback: () => void;
  ms: number;
  dueMs: number;
}

/** A clock and timers that move only when told. */
export class FakeTime {
  /** The current time, ms. */
  nowMs: number;
  readonly #timers = new Map<number, FakeTimer>();
  #nextId = 1;

  /** @param startMs The clock's first reading. */
  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  /** The clock to inject. */
  readonly clock: Clock = { nowMs: () => this.nowMs };

  /** The timers to inject. */
  readonly timers: Timers = {
    setInterval: (callback, ms) => {
      const id = this.#nextId++;
      this.#timers.set(id, { callback, ms, dueMs: this.nowMs + ms });
      return id;
    },
    clearInterval: (handle) => {
      this.#timers.delete(handle as number);
    },
  };

  /** Timers not cleared. */
  get activeTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves the clock forward, running the timers that fall due on the way.
   *
   * @param timeMs Where the clock ends; not before now.
   */
  advanceTo(timeMs: number): void {
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.dueMs <= timeMs && (!next || timer.dueMs < next.dueMs)) next = timer;
      }
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.dueMs += next.ms;
      next.callback();
    }
    this.nowMs = Math.max(this.nowMs, timeMs);
  }
}
