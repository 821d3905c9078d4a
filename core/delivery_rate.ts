/**
 * The rate packets are delivered at, over the last quarter second of arrivals: bytes after the
 * window's first packet over the time from its first to its last arrival; and the rate the same
 * packets were sent at, over their send times. Both count whole packets, headers included. While a queue stands at
 * the bottleneck the link is never idle, so this is the bottleneck's rate (our share of it when
 * others send too) — what libwebrtc's robust throughput estimator measures on the send side
 * (`robust_throughput_estimator.cc`) and what its receive side lacks: its 1 s average still holds
 * most of the rate from before a capacity drop (reference §4.2).
 *
 * @module
 */

import type { PacketBatch } from "./packet_batch.ts";

// A quarter second: several frames, so one large frame or a pacer burst does not set the rate,
// and short enough to show a capacity drop within a few frame intervals.
const WINDOW_US = 250_000;
// Fewer packets or a shorter span than this give no rate.
const MIN_PACKETS = 5;
const MIN_SPAN_US = 50_000;
// What each packet carries besides its payload (the records' size): the RTP header with
// abs-send-time (20 bytes), the SRTP tag (10) and UDP/IPv4 (28). The rates count it, because the
// sender's target, which REMB caps, covers whole packets (libwebrtc counts packet overhead in its
// target): a cut to 95 % of the payload rate would still leave the sender ~3 % above the link.
const PACKET_OVERHEAD_BYTES = 58;
// 512 packets cover the window up to ~15 Mbit/s of 1200-byte packets; beyond, the window shortens.
const CAPACITY = 512;

/**
 * Delivered bytes per second over a sliding window of arrivals.
 *
 * @example
 * ```ts
 * import { DeliveryRate } from "./delivery_rate.ts";
 * import assert from "node:assert/strict";
 * const rate = new DeliveryRate();
 * // 942 bytes of payload (1000 with headers) sent every 4 ms, delivered every 8 ms: sent at 2,
 * // delivered at 1 Mbit/s.
 * for (let i = 0; i < 60; i++) rate.onPacket(i * 4000, 1_000_000 + i * 8000, 942);
 * assert.equal(rate.rateBps, 1_000_000);
 * assert.equal(rate.sendRateBps, 2_000_000);
 * ```
 */
export class DeliveryRate {
  readonly #arrivalUs = new Float64Array(CAPACITY);
  readonly #sendUs = new Float64Array(CAPACITY);
  readonly #bytes = new Float64Array(CAPACITY);
  #head = 0;
  #length = 0;
  #sum = 0;
  readonly #one = new Float64Array(2);
  readonly #oneClock = new Float64Array(1);

  /** The delivery rate, whole packets, bps; 0 while the window holds too little. */
  get rateBps(): number {
    if (this.#length < MIN_PACKETS) return 0;
    const first = this.#head;
    const last = (this.#head + this.#length - 1) % CAPACITY;
    const spanUs = this.#arrivalUs[last] - this.#arrivalUs[first];
    if (spanUs < MIN_SPAN_US) return 0;
    return Math.round((this.#sum - this.#bytes[first]) * 8_000_000 / spanUs);
  }

  /**
   * The rate the window's packets were sent at, bps; 0 while the window holds too little. Above
   * {@linkcode DeliveryRate.rateBps}, a queue is growing by the ratio less one, each second.
   */
  get sendRateBps(): number {
    if (this.#length < MIN_PACKETS) return 0;
    const first = this.#head;
    const last = (this.#head + this.#length - 1) % CAPACITY;
    const spanUs = this.#sendUs[last] - this.#sendUs[first];
    if (spanUs < MIN_SPAN_US) return 0;
    return Math.round((this.#sum - this.#bytes[first]) * 8_000_000 / spanUs);
  }

  /**
   * Adds record `index` of a batch.
   *
   * @param batch Packet records.
   * @param index The record.
   * @param clock Its send time on a continuous clock, µs, at index 0 (the queue-delay tracker's
   * `sendClock`; an array, not a number, which a call would box).
   */
  onRecord(batch: PacketBatch, index: number, clock: Float64Array): void {
    this.#add(clock, batch.arrivalUs, batch.size, index);
  }

  /**
   * Adds a packet.
   *
   * @param sendUs Send time on a continuous clock, µs.
   * @param arrivalUs Arrival time, µs.
   * @param bytes Its payload (and padding) size, bytes.
   */
  onPacket(sendUs: number, arrivalUs: number, bytes: number): void {
    const one = this.#one;
    this.#oneClock[0] = sendUs;
    one[0] = arrivalUs;
    one[1] = bytes;
    this.#add(this.#oneClock, one, one, 0, 1);
  }

  // Reads the packet from columns rather than arguments: no fresh double is passed to a call.
  #add(
    clock: Float64Array,
    arrivals: Float64Array,
    sizes: Float64Array,
    index: number,
    sizeOffset = 0,
  ): void {
    const sendUs = clock[0];
    const arrivalUs = arrivals[index];
    const bytes = sizes[index + sizeOffset];
    if (this.#length > 0) {
      const last = (this.#head + this.#length - 1) % CAPACITY;
      if (arrivalUs < this.#arrivalUs[last]) this.reset(); // the arrival clock stepped back
    }
    if (this.#length === CAPACITY) this.#dropOldest();
    const slot = (this.#head + this.#length) % CAPACITY;
    this.#arrivalUs[slot] = arrivalUs;
    this.#sendUs[slot] = sendUs;
    const total = bytes + PACKET_OVERHEAD_BYTES;
    this.#bytes[slot] = total;
    this.#length++;
    this.#sum += total;
    while (this.#length > 1 && this.#arrivalUs[this.#head] < arrivalUs - WINDOW_US) {
      this.#dropOldest();
    }
  }

  /** Forgets every packet. */
  reset(): void {
    this.#head = 0;
    this.#length = 0;
    this.#sum = 0;
  }

  #dropOldest(): void {
    this.#sum -= this.#bytes[this.#head];
    this.#head = this.#head + 1 === CAPACITY ? 0 : this.#head + 1;
    this.#length--;
  }
}
