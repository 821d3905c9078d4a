/**
 * Groups packets into bursts by send time and reports the deltas between consecutive complete groups
 * (reference §5, libwebrtc's InterArrival).
 *
 * Send timestamps are 32-bit tick counters that wrap; all timestamp arithmetic is modulo 2^32.
 *
 * @module
 */

import { usToMs } from "./_math.ts";
import type { PacketBatch } from "./packet_batch.ts";

const REORDERED_RESET_THRESHOLD = 3;
const ARRIVAL_TIME_OFFSET_THRESHOLD_MS = 3000;
const BURST_DELTA_THRESHOLD_MS = 5;
const MAX_BURST_DURATION_MS = 100;

/** Numbers {@linkcode InterArrival.save} writes. */
export const INTER_ARRIVAL_STATE_LENGTH = 16;

/** Modular difference `a − b` of two 32-bit timestamps, as an unsigned 32-bit value. */
function diff32(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** libwebrtc's `IsNewerTimestamp`: `a` is ahead of `b` on the 32-bit circle. */
function isNewer(a: number, b: number): boolean {
  const d = diff32(a, b);
  return d === 0x80000000 ? a > b : d !== 0 && d < 0x80000000;
}

/**
 * Splits a packet sequence into send-time groups and computes, at the first packet of each new group,
 * the send-time, arrival-time and size deltas between the two groups before it.
 *
 * The deltas are published in {@linkcode InterArrival.timestampDelta},
 * {@linkcode InterArrival.arrivalTimeDeltaMs} and {@linkcode InterArrival.packetSizeDelta} whenever
 * {@linkcode InterArrival.computeDeltas} returns `true`, so nothing is allocated per packet.
 *
 * @example
 * ```ts
 * import { InterArrival } from "./inter_arrival.ts";
 * import assert from "node:assert/strict";
 * // Timestamps in milliseconds, 5 ms groups.
 * const ia = new InterArrival(5, 1);
 * assert.equal(ia.computeDeltas(0, 100, 100, 1000), false);
 * assert.equal(ia.computeDeltas(10, 112, 112, 1000), false);
 * assert.equal(ia.computeDeltas(20, 121, 121, 1000), true);
 * assert.equal(ia.timestampDelta, 10);
 * assert.equal(ia.arrivalTimeDeltaMs, 12);
 * ```
 */
export class InterArrival {
  /** Send-time delta between the last two complete groups, in timestamp ticks. */
  timestampDelta = 0;
  /** Arrival-time delta between the last two complete groups, in milliseconds. */
  arrivalTimeDeltaMs = 0;
  /** Byte-size difference between the last two complete groups. */
  packetSizeDelta = 0;

  readonly #groupLengthTicks: number;
  readonly #timestampToMs: number;
  #reorderedPackets = 0;
  // Input registers: a double field is written in place, an argument to a call that is not
  // inlined would be boxed on the heap.
  #timestampInput = 0;
  #arrivalInput = 0;
  #systemInput = 0;
  #sizeInput = 0;

  // Current group.
  #curEmpty = true;
  #curFirstTimestamp = 0;
  #curTimestamp = 0;
  #curFirstArrivalMs = 0;
  #curCompleteTimeMs = 0;
  #curLastSystemTimeMs = 0;
  #curSize = 0;

  // Previous group.
  #prevComplete = false;
  #prevTimestamp = 0;
  #prevCompleteTimeMs = 0;
  #prevLastSystemTimeMs = 0;
  #prevSize = 0;

  /**
   * Creates an empty grouper.
   *
   * @param groupLengthTicks Send-time span of one group, in timestamp ticks (e.g. 335 544 for 5 ms of
   * upshifted abs-send-time, 450 for 5 ms of a 90 kHz RTP clock).
   * @param timestampToMsCoeff Milliseconds per timestamp tick.
   */
  constructor(groupLengthTicks: number, timestampToMsCoeff: number) {
    this.#groupLengthTicks = groupLengthTicks;
    this.#timestampToMs = timestampToMsCoeff;
  }

  /**
   * Adds one packet.
   *
   * @param timestamp Send time in ticks, a 32-bit unsigned integer.
   * @param arrivalTimeMs Arrival time in integer milliseconds.
   * @param systemTimeMs The receiver's clock in integer milliseconds, to detect arrival-clock jumps.
   * @param packetSize Packet size in bytes.
   * @returns `true` when this packet started a new group and deltas between the two previous groups
   * were computed into the public fields.
   */
  computeDeltas(
    timestamp: number,
    arrivalTimeMs: number,
    systemTimeMs: number,
    packetSize: number,
  ): boolean {
    this.#timestampInput = timestamp;
    this.#arrivalInput = arrivalTimeMs;
    this.#systemInput = systemTimeMs;
    this.#sizeInput = packetSize;
    return this.#compute();
  }

  /**
   * {@linkcode InterArrival.computeDeltas} for record `index` of a batch, with its microsecond times
   * rounded to milliseconds. Nothing is boxed on the way in.
   *
   * @param batch Packet records.
   * @param index The record.
   * @returns `true` when deltas were computed.
   */
  computeDeltasFrom(batch: PacketBatch, index: number): boolean {
    this.#timestampInput = batch.timestamp[index];
    const arrivalUs = batch.arrivalUs[index];
    const nowUs = batch.nowUs[index];
    const arrivalMs = usToMs(arrivalUs);
    this.#arrivalInput = arrivalMs;
    // The clock is usually the arrival time itself: one division instead of two.
    this.#systemInput = nowUs === arrivalUs ? arrivalMs : usToMs(nowUs);
    this.#sizeInput = batch.size[index];
    return this.#compute();
  }

  #compute(): boolean {
    const timestamp = this.#timestampInput;
    // Most packets join the current group: in order and within its length, whatever the burst
    // rule says (it can only keep a packet in the group).
    // `=== false`: a boolean read from a field is otherwise tested as any value could be.
    if (
      this.#curEmpty === false &&
      diff32(timestamp, this.#curFirstTimestamp) <= this.#groupLengthTicks
    ) {
      if (isNewer(timestamp, this.#curTimestamp)) this.#curTimestamp = timestamp;
      this.#curSize += this.#sizeInput;
      this.#curCompleteTimeMs = this.#arrivalInput;
      this.#curLastSystemTimeMs = this.#systemInput;
      return false;
    }
    return this.#computeAtEdge();
  }

  // The first packet, a reordered one, or one past the current group's length.
  #computeAtEdge(): boolean {
    const arrivalTimeMs = this.#arrivalInput;
    const systemTimeMs = this.#systemInput;
    const packetSize = this.#sizeInput;
    const timestamp = this.#timestampInput;
    let computed = false;
    if (this.#curEmpty === true) {
      this.#curTimestamp = timestamp;
      this.#curFirstTimestamp = timestamp;
      this.#curFirstArrivalMs = arrivalTimeMs;
      this.#curEmpty = false;
    } else if (diff32(timestamp, this.#curFirstTimestamp) >= 0x80000000) {
      return false; // Out of order: older than the current group, belongs to no group.
    } else if (!this.#belongsToBurst()) {
      if (this.#prevComplete === true) {
        const tsDelta = diff32(this.#curTimestamp, this.#prevTimestamp);
        const tDelta = this.#curCompleteTimeMs - this.#prevCompleteTimeMs;
        const systemDelta = this.#curLastSystemTimeMs - this.#prevLastSystemTimeMs;
        if (tDelta - systemDelta >= ARRIVAL_TIME_OFFSET_THRESHOLD_MS) {
          this.reset(); // The arrival clock jumped forward.
          return false;
        }
        if (tDelta < 0) {
          // Groups reordered after stamping, or the arrival clock went back.
          if (++this.#reorderedPackets >= REORDERED_RESET_THRESHOLD) this.reset();
          return false;
        }
        this.#reorderedPackets = 0;
        this.timestampDelta = tsDelta;
        this.arrivalTimeDeltaMs = tDelta;
        this.packetSizeDelta = this.#curSize - this.#prevSize;
        computed = true;
      }
      this.#prevComplete = true;
      this.#prevTimestamp = this.#curTimestamp;
      this.#prevCompleteTimeMs = this.#curCompleteTimeMs;
      this.#prevLastSystemTimeMs = this.#curLastSystemTimeMs;
      this.#prevSize = this.#curSize;
      this.#curFirstTimestamp = timestamp;
      this.#curTimestamp = timestamp;
      this.#curFirstArrivalMs = arrivalTimeMs;
      this.#curSize = 0;
    } else if (isNewer(timestamp, this.#curTimestamp)) {
      this.#curTimestamp = timestamp;
    }
    this.#curSize += packetSize;
    this.#curCompleteTimeMs = arrivalTimeMs;
    this.#curLastSystemTimeMs = systemTimeMs;
    return computed;
  }

  /**
   * Writes the grouper's whole state into `out` from `offset` ({@linkcode INTER_ARRIVAL_STATE_LENGTH}
   * numbers), so that a grouper restored from it continues exactly as this one would.
   *
   * @param out Destination.
   * @param offset First index.
   */
  save(out: Float64Array, offset: number): void {
    out[offset] = this.timestampDelta;
    out[offset + 1] = this.arrivalTimeDeltaMs;
    out[offset + 2] = this.packetSizeDelta;
    out[offset + 3] = this.#reorderedPackets;
    out[offset + 4] = this.#curEmpty ? 1 : 0;
    out[offset + 5] = this.#curFirstTimestamp;
    out[offset + 6] = this.#curTimestamp;
    out[offset + 7] = this.#curFirstArrivalMs;
    out[offset + 8] = this.#curCompleteTimeMs;
    out[offset + 9] = this.#curLastSystemTimeMs;
    out[offset + 10] = this.#curSize;
    out[offset + 11] = this.#prevComplete ? 1 : 0;
    out[offset + 12] = this.#prevTimestamp;
    out[offset + 13] = this.#prevCompleteTimeMs;
    out[offset + 14] = this.#prevLastSystemTimeMs;
    out[offset + 15] = this.#prevSize;
  }

  /**
   * Restores a state written by {@linkcode InterArrival.save} of a grouper with the same group
   * length and timestamp scale.
   *
   * @param from Source.
   * @param offset First index.
   */
  restore(from: Float64Array, offset: number): void {
    this.timestampDelta = from[offset];
    this.arrivalTimeDeltaMs = from[offset + 1];
    this.packetSizeDelta = from[offset + 2];
    this.#reorderedPackets = from[offset + 3];
    this.#curEmpty = from[offset + 4] === 1;
    this.#curFirstTimestamp = from[offset + 5];
    this.#curTimestamp = from[offset + 6];
    this.#curFirstArrivalMs = from[offset + 7];
    this.#curCompleteTimeMs = from[offset + 8];
    this.#curLastSystemTimeMs = from[offset + 9];
    this.#curSize = from[offset + 10];
    this.#prevComplete = from[offset + 11] === 1;
    this.#prevTimestamp = from[offset + 12];
    this.#prevCompleteTimeMs = from[offset + 13];
    this.#prevLastSystemTimeMs = from[offset + 14];
    this.#prevSize = from[offset + 15];
  }

  /** Forgets both groups and the reorder count, as after a clock jump. */
  reset(): void {
    this.#reorderedPackets = 0;
    this.#curEmpty = true;
    this.#curSize = 0;
    this.#prevComplete = false;
    this.#prevSize = 0;
  }

  // A packet that arrives sooner after the group than it was sent is part of the same burst.
  #belongsToBurst(): boolean {
    const arrivalTimeMs = this.#arrivalInput;
    const arrivalDeltaMs = arrivalTimeMs - this.#curCompleteTimeMs;
    const tsDeltaMs = Math.trunc(
      this.#timestampToMs * diff32(this.#timestampInput, this.#curTimestamp) + 0.5,
    );
    if (tsDeltaMs === 0) return true;
    return arrivalDeltaMs - tsDeltaMs < 0 &&
      arrivalDeltaMs <= BURST_DELTA_THRESHOLD_MS &&
      arrivalTimeMs - this.#curFirstArrivalMs < MAX_BURST_DURATION_MS;
  }
}
