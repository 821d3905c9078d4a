/**
 * The simulator's clock and agenda: a binary heap of timed actions in integer microseconds. Ties
 * run in the order they were scheduled, so a run is a pure function of its seed.
 *
 * @module
 */

interface Entry {
  timeUs: number;
  seq: number;
  action: () => void;
}

/** Timed actions in time order, first scheduled first among equals. */
export class EventQueue {
  #heap: Entry[] = [];
  #seq = 0;
  #nowUs = 0;

  /**
   * Simulated time of the action being run (or last run), µs.
   *
   * @returns The time.
   */
  get nowUs(): number {
    return this.#nowUs;
  }

  /** Actions waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Schedules an action.
   *
   * @param timeUs When, µs; never before the current time.
   * @param action What to run.
   * @throws {RangeError} The time is in the past or not finite.
   * @example
   * ```ts
   * import { EventQueue } from "./event_queue.ts";
   * import assert from "node:assert/strict";
   * const queue = new EventQueue();
   * const order: string[] = [];
   * queue.at(20, () => order.push("b"));
   * queue.at(10, () => order.push("a"));
   * queue.at(20, () => order.push("c"));
   * while (queue.runNext(100));
   * assert.deepEqual(order, ["a", "b", "c"]);
   * ```
   */
  at(timeUs: number, action: () => void): void {
    if (!(timeUs >= this.#nowUs) || !Number.isFinite(timeUs)) {
      throw new RangeError(
        `Cannot schedule an action as 'timeUs' must not be before now (${this.#nowUs}): current value is ${timeUs}`,
      );
    }
    const heap = this.#heap;
    const entry: Entry = { timeUs, seq: this.#seq++, action };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  /**
   * Time of the next action.
   *
   * @returns µs, or `Infinity` when nothing waits.
   */
  peekUs(): number {
    return this.#heap.length > 0 ? this.#heap[0].timeUs : Infinity;
  }

  /**
   * Runs the next action if it is due no later than `untilUs`.
   *
   * @param untilUs Horizon, µs.
   * @returns Whether an action ran.
   */
  runNext(untilUs: number): boolean {
    const heap = this.#heap;
    if (heap.length === 0 || heap[0].timeUs > untilUs) return false;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && before(heap[r], heap[l]) ? r : l;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    this.#nowUs = top.timeUs;
    top.action();
    return true;
  }

  /**
   * Moves the clock forward without running anything (to a horizon with nothing due before it).
   *
   * @param timeUs The new time, µs; not before now nor after the next action.
   */
  advanceTo(timeUs: number): void {
    if (timeUs < this.#nowUs || timeUs > this.peekUs()) {
      throw new RangeError(`Cannot advance the clock to ${timeUs}: current time is ${this.#nowUs}`);
    }
    this.#nowUs = timeUs;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.seq < b.seq);
}
