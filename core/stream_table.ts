/**
 * The table of active SSRCs with libwebrtc's stream timeout (reference §4.3 step 4, §9): an SSRC
 * whose last packet is more than the timeout before `now` is retired.
 *
 * @module
 */

import { SsrcMap } from "./ssrc_map.ts";

/** What every entry of a {@linkcode StreamTable} carries. */
export interface StreamEntry {
  /** The stream's SSRC. */
  readonly ssrc: number;
  /** Receiver clock at its last packet, µs. */
  lastSeenUs: number;
}

/** Options of {@linkcode StreamTable}. */
export interface StreamTableOptions<T extends StreamEntry> {
  /** Silence after which an SSRC is retired, µs. */
  timeoutUs: number;
  /** Whether each packet first retires timed-out SSRCs (abs-send-time) or only expire() does (RTP). */
  timeoutsOnPacket: boolean;
  /** Makes the entry of a new SSRC. */
  create: (ssrc: number) => T;
  /** Called after an entry left the table, by timeout or removal. */
  retire: (entry: T) => void;
}

/**
 * SSRC entries with timeouts. Lookups are allocation-free; timeouts are only scanned for when the
 * oldest entry may be due, so a packet normally costs one lookup.
 *
 * @example
 * ```ts
 * import { StreamTable } from "./stream_table.ts";
 * import assert from "node:assert/strict";
 * const retired: number[] = [];
 * const table = new StreamTable({
 *   timeoutUs: 2_000_000, timeoutsOnPacket: true,
 *   create: (ssrc) => ({ ssrc, lastSeenUs: 0 }), retire: (e) => retired.push(e.ssrc),
 * });
 * table.touch(1, 0);
 * table.touch(2, 2_500_000); // SSRC 1 has been silent for more than 2 s
 * assert.deepEqual(retired, [1]);
 * assert.deepEqual(table.sortedKeys(), [2]);
 * ```
 */
export class StreamTable<T extends StreamEntry> {
  readonly #options: StreamTableOptions<T>;
  readonly #entries = new SsrcMap<T>();
  readonly #timeoutUs: number;
  readonly #timeoutsOnPacket: boolean;
  // Lower bound of every lastSeenUs, so timeouts are only scanned for when one may be due, and the
  // clock beyond which one is (`now - oldest > timeout`, as one comparison).
  #oldestSeenUs = Infinity;
  #scanAfterUs = Infinity;
  // The entry of the last packet, while in the table: a single stream needs no lookup. Its SSRC and
  // its lastSeenUs live here while it stays the last one (written back before anything reads
  // entries): the entries of the two tables (lanes, estimator) differ in shape, and a store or load
  // of a double field through both would be generic, boxing the number on every packet.
  #last: T | undefined = undefined;
  #lastSsrc = -1;
  #lastSeenUs = 0;
  // Input registers: large numbers passed as arguments would be boxed.
  #ssrcInput = 0;
  #nowInput = 0;
  /** Whether the last touch() created its entry. */
  created = false;

  /**
   * Creates an empty table.
   *
   * @param options Timeout and entry hooks.
   */
  constructor(options: StreamTableOptions<T>) {
    this.#options = options;
    this.#timeoutUs = options.timeoutUs;
    this.#timeoutsOnPacket = options.timeoutsOnPacket;
  }

  #setOldest(oldestUs: number): void {
    this.#oldestSeenUs = oldestUs;
    this.#scanAfterUs = this.#timeoutsOnPacket ? oldestUs + this.#timeoutUs : Infinity;
  }

  /** Number of active SSRCs. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entries (order changes when one is removed). */
  get values(): readonly T[] {
    this.#writeBack();
    return this.#entries.values;
  }

  /**
   * Active SSRCs, ascending.
   *
   * @returns A frozen array, shared until the set changes.
   */
  sortedKeys(): number[] {
    return this.#entries.sortedKeys();
  }

  /**
   * Looks an SSRC up.
   *
   * @param ssrc The SSRC.
   * @returns Its entry, or `undefined`.
   */
  get(ssrc: number): T | undefined {
    this.#writeBack();
    return this.#entries.get(ssrc);
  }

  /**
   * Registers a packet of `ssrc` at `nowUs` (plain-number form of {@linkcode StreamTable.touchAt}).
   *
   * @param ssrc The packet's SSRC.
   * @param nowUs Receiver clock, µs.
   * @returns The SSRC's entry.
   */
  touch(ssrc: number, nowUs: number): T {
    this.#ssrcInput = ssrc;
    this.#nowInput = nowUs;
    return this.#touch();
  }

  /**
   * Registers record `index`'s packet: retires timed-out SSRCs first (when packets drive timeouts),
   * then finds or creates the entry and stamps it.
   *
   * @param ssrcs SSRC column.
   * @param nowsUs Receiver-clock column, µs.
   * @param index The record.
   * @returns The SSRC's entry.
   */
  touchAt(ssrcs: Float64Array, nowsUs: Float64Array, index: number): T {
    const nowUs = nowsUs[index];
    if (
      ssrcs[index] === this.#lastSsrc && nowUs <= this.#scanAfterUs && nowUs >= this.#oldestSeenUs
    ) {
      this.created = false;
      this.#lastSeenUs = nowUs;
      return this.#last!;
    }
    this.#ssrcInput = ssrcs[index];
    this.#nowInput = nowUs;
    return this.#touch();
  }

  #touch(): T {
    this.#writeBack();
    const nowUs = this.#nowInput;
    if (nowUs > this.#scanAfterUs) this.#expire();
    let entry = this.#entries.get(this.#ssrcInput);
    this.created = entry === undefined;
    if (entry === undefined) {
      entry = this.#options.create(this.#ssrcInput);
      this.#entries.set(this.#ssrcInput, entry);
    }
    entry.lastSeenUs = nowUs;
    if (nowUs < this.#oldestSeenUs) this.#setOldest(nowUs);
    this.#last = entry;
    this.#lastSsrc = entry.ssrc;
    this.#lastSeenUs = nowUs;
    return entry;
  }

  #writeBack(): void {
    if (this.#last !== undefined) this.#last.lastSeenUs = this.#lastSeenUs;
  }

  #forgetLast(): void {
    this.#last = undefined;
    this.#lastSsrc = -1;
  }

  /**
   * Retires every SSRC silent for more than the timeout at `nowUs`.
   *
   * @param nowUs Receiver clock, µs.
   */
  expire(nowUs: number): void {
    this.#nowInput = nowUs;
    this.#expire();
  }

  /**
   * Retires an SSRC now.
   *
   * @param ssrc The SSRC.
   */
  remove(ssrc: number): void {
    this.#writeBack();
    const entry = this.#entries.get(ssrc);
    if (!entry) return;
    this.#entries.delete(ssrc);
    if (entry === this.#last) this.#forgetLast();
    this.#options.retire(entry);
  }

  /** Retires every SSRC. */
  clear(): void {
    const values = this.#entries.values;
    for (let i = values.length - 1; i >= 0; i--) this.remove(values[i].ssrc);
  }

  #expire(): void {
    this.#writeBack();
    const nowUs = this.#nowInput;
    let oldest = Infinity;
    const values = this.#entries.values;
    // Backwards, because deleting moves the last entry into the freed place.
    for (let i = values.length - 1; i >= 0; i--) {
      const entry = values[i];
      if (nowUs - entry.lastSeenUs > this.#timeoutUs) {
        this.#entries.delete(entry.ssrc);
        if (entry === this.#last) this.#forgetLast();
        this.#options.retire(entry);
      } else if (entry.lastSeenUs < oldest) {
        oldest = entry.lastSeenUs;
      }
    }
    this.#setOldest(oldest);
  }
}
