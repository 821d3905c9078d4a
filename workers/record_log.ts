/**
 * The coordinator's ordered log: every admitted packet's record and every step that must happen
 * at its place among them (a periodic update, a removed stream, an estimator switch), in arrival
 * order. Replay reads it from the head as lanes' verdicts come back, so every host yields the same
 * sequence; a lane that fails over is finished from it.
 *
 * @module
 */

import { PacketBatch } from "../core/packet_batch.ts";

/** A packet's record; `lanes` holds the lane it went to. */
export const ENTRY_RECORD = 0;
/** The single-stream estimator's periodic update; `values` holds the receiver clock, µs. */
export const ENTRY_PROCESS = 1;
/** A stream removed by the application; `values` holds the SSRC. */
export const ENTRY_REMOVE = 2;
/** A fresh abs-send-time estimator starts here. */
export const ENTRY_SWITCH_ABS = 3;
/** A fresh RTP-timestamp estimator starts here. */
export const ENTRY_SWITCH_RTP = 4;

const INITIAL_CAPACITY = 4096;

/**
 * A growable ring of entries: a kind, a number and a lane per entry, and a packet record per entry
 * in {@linkcode RecordLog.records} (used by records only).
 *
 * @example
 * ```ts
 * import { ENTRY_RECORD, ENTRY_REMOVE, RecordLog } from "./record_log.ts";
 * import assert from "node:assert/strict";
 * const log = new RecordLog<string>();
 * const at = log.push(ENTRY_RECORD, 0, "lane A");
 * log.records.ssrc[at] = 7;
 * log.push(ENTRY_REMOVE, 7, undefined);
 * assert.equal(log.length, 2);
 * assert.equal(log.lanes[log.head], "lane A");
 * log.shift();
 * assert.equal(log.kinds[log.head], ENTRY_REMOVE);
 * ```
 */
export class RecordLog<Lane> {
  /** Packet records, by entry index. */
  records = new PacketBatch(INITIAL_CAPACITY);
  /** Entry kinds, by index. */
  kinds = new Uint8Array(INITIAL_CAPACITY);
  /** The lane of each record entry. */
  lanes: (Lane | undefined)[] = new Array(INITIAL_CAPACITY).fill(undefined);
  /** The number of each non-record entry. */
  values = new Float64Array(INITIAL_CAPACITY);
  /** Index of the oldest entry. */
  head = 0;
  /** Entries held. */
  length = 0;

  /** Entries it can hold before it grows; a power of two. */
  get capacity(): number {
    return this.kinds.length;
  }

  /**
   * Appends an entry, growing the ring when it is full.
   *
   * @param kind Its kind.
   * @param value Its number.
   * @param lane Its lane (records only).
   * @returns Its index, where a record's fields go.
   */
  push(kind: number, value: number, lane: Lane | undefined): number {
    if (this.length === this.capacity) this.#grow();
    const index = (this.head + this.length) & (this.capacity - 1);
    this.kinds[index] = kind;
    this.values[index] = value;
    this.lanes[index] = lane;
    this.length++;
    return index;
  }

  /** Removes the oldest entry. */
  shift(): void {
    this.lanes[this.head] = undefined;
    this.head = (this.head + 1) & (this.capacity - 1);
    this.length--;
  }

  #grow(): void {
    const old = this.capacity;
    const capacity = old * 2;
    const records = new PacketBatch(capacity);
    const kinds = new Uint8Array(capacity);
    const lanes: (Lane | undefined)[] = new Array(capacity).fill(undefined);
    const values = new Float64Array(capacity);
    for (let i = 0; i < this.length; i++) {
      const from = (this.head + i) & (old - 1);
      records.copyRecord(this.records, from, i);
      kinds[i] = this.kinds[from];
      lanes[i] = this.lanes[from];
      values[i] = this.values[from];
    }
    this.records = records;
    this.kinds = kinds;
    this.lanes = lanes;
    this.values = values;
    this.head = 0;
  }
}
