/**
 * Queueing delay measured from abs-send-time: each packet's one-way delay (arrival minus send
 * time, both clocks' offsets included) less the smallest one-way delay seen lately, which is the
 * path's propagation delay plus the clocks' offset. The enhanced profile's stages read it; the
 * faithful ones never do (libwebrtc's receiver looks only at delay gradients, reference §6–§7).
 *
 * What these minima still hold besides the queue — jitter that no packet of the window escaped,
 * and a large packet's own transmission time at the bottleneck against the small packet that set
 * the base (16 ms for 1200 bytes at 600 kbit/s) — changes slowly, so a third minimum keeps it: the
 * **floor**, the smallest standing queue over the last ~10 s. A queue that is ours to drain is the
 * standing queue above that floor; and as the drain empties our own queue every few seconds, the
 * floor holds no queue of ours for long.
 *
 * Two minima are kept in buckets of fixed length, so memory is fixed and nothing is allocated per
 * packet:
 * - the **base** (propagation delay): the smallest one-way delay over the last half minute;
 * - the **standing queue**: the smallest queueing delay over the last ~200 ms. A queue that every
 *   packet of that window waited in is one the sender is keeping up, not a frame's burst, a key
 *   frame or jitter, which leave some packet of the window unqueued (Copa's "standing RTT",
 *   Arun and Balakrishnan, NSDI 2018, uses a window of half an RTT the same way).
 *
 * @module
 */

import { TICKS_PER_SECOND } from "./abs_send_time.ts";
import type { PacketBatch } from "./packet_batch.ts";

// Half a minute of base delay, in 5 s buckets: long enough to keep the propagation delay through
// congested seconds, short enough that clock drift between sender and receiver (tens of ppm, a
// few ms a minute) does not pile up and that a transmission time taken off at a rate since
// outgrown leaves the base soon.
const BASE_BUCKET_US = 5_000_000;
const BASE_BUCKETS = 6;
// The standing queue: four 50 ms buckets, so the minimum always covers 150–200 ms, several frames
// at 30 fps and more than a pacer burst.
const STANDING_BUCKET_US = 50_000;
const STANDING_BUCKETS = 4;
// The persistent queue: six 100 ms buckets (500–600 ms), for a queue that stays without growing.
// Under RFC 8867's 30 ms of jitter the 200 ms minimum still exceeds 15 ms once in ~60 windows;
// over 600 ms (18 frames) once in ~250 000.
const PERSISTENT_BUCKET_US = 100_000;
const PERSISTENT_BUCKETS = 6;
// The floor: the smallest standing queue over the last 10 s, in 1 s buckets.
const FLOOR_BUCKET_US = 1_000_000;
const FLOOR_BUCKETS = 10;
// The largest queueing delay over the last minute, in 10 s buckets: where a drop-tail queue
// overflows (a NewReno flow filling a 1 s queue at 2 Mbit/s overflows every ~30 s).
const PEAK_BUCKET_US = 10_000_000;
const PEAK_BUCKETS = 6;
// A one-way delay this far above the base is no queue but a jump of either clock; start afresh.
const MAX_QUEUE_US = 10_000_000;
// After this much silence the send clock can no longer be unwrapped (it wraps every 64 s) and the
// base may be stale: start afresh.
const MAX_GAP_US = 20_000_000;
const WRAP_TICKS = 2 ** 32;
const HALF_WRAP_TICKS = 2 ** 31;
const US_PER_TICK = 1_000_000 / TICKS_PER_SECOND;
// Slots of a sample handed to BucketExtreme.addFrom().
const SAMPLE_TIME = 0;
const SAMPLE_VALUE = 1;
// Where addFrom() leaves the window's extreme: a getter returning a double boxes it where V8
// does not inline the call.
const SAMPLE_EXTREME = 2;
// Slots of BucketExtreme's doubles.
const HEAD_START = 0;
const VALUE = 1;
// Slots of QueueDelayTracker's doubles.
const LAST_TICKS = 0;
const LAST_ARRIVAL = 1;
const BASE = 2;
const QUEUE = 3;

/**
 * A sliding minimum (or maximum) over fixed-length buckets of time.
 *
 * @example
 * ```ts
 * import { BucketExtreme } from "./queue_delay.ts";
 * import assert from "node:assert/strict";
 * const min = new BucketExtreme(4, 50_000, false);
 * min.add(0, 7);
 * min.add(60_000, 3);
 * assert.equal(min.value, 3);
 * min.add(260_000, 9); // the buckets holding 7 and 3 have slid out
 * assert.equal(min.value, 9);
 * ```
 */
export class BucketExtreme {
  readonly #values: Float64Array;
  readonly #bucketUs: number;
  readonly #max: boolean;
  readonly #empty: number;
  #head = 0;
  // Doubles live in a typed array: a field's stores box its values where V8 tracks it as tagged.
  readonly #f = new Float64Array([-Infinity, 0]);
  readonly #sample = new Float64Array(3);

  /**
   * Creates an empty window.
   *
   * @param buckets Buckets kept.
   * @param bucketUs Length of a bucket, µs.
   * @param max Whether it keeps the maximum rather than the minimum.
   */
  constructor(buckets: number, bucketUs: number, max: boolean) {
    this.#values = new Float64Array(buckets);
    this.#bucketUs = bucketUs;
    this.#max = max;
    this.#empty = max ? -Infinity : Infinity;
    this.#values.fill(this.#empty);
    this.#f[VALUE] = this.#empty;
  }

  /** The extreme over the window; ±Infinity while empty. */
  get value(): number {
    return this.#f[VALUE];
  }

  /**
   * Adds a sample.
   *
   * @param timeUs Its time, µs; not earlier than the last one's bucket.
   * @param value The sample.
   */
  add(timeUs: number, value: number): void {
    const sample = this.#sample;
    sample[SAMPLE_TIME] = timeUs;
    sample[SAMPLE_VALUE] = value;
    this.addFrom(sample);
  }

  /**
   * Adds the sample held in `sample` (time in µs at index 0, value at 1) and leaves the extreme
   * at index 2: the per-packet form, which passes no fresh number to or from a call (a double is
   * boxed there where V8 does not inline).
   *
   * @param sample Time, value and the extreme.
   */
  addFrom(sample: Float64Array): void {
    if (sample[SAMPLE_TIME] >= this.#f[HEAD_START] + this.#bucketUs) this.#roll(sample);
    const value = sample[SAMPLE_VALUE];
    const values = this.#values;
    const head = values[this.#head];
    if (this.#max ? value > head : value < head) {
      values[this.#head] = value;
      if (this.#max ? value > this.#f[VALUE] : value < this.#f[VALUE]) this.#f[VALUE] = value;
    }
    sample[SAMPLE_EXTREME] = this.#f[VALUE];
  }

  // Apart from addFrom() so that it stays small enough for V8 to inline at every call site.
  #roll(sample: Float64Array): void {
    const timeUs = sample[SAMPLE_TIME];
    const values = this.#values;
    const steps = Math.floor((timeUs - this.#f[HEAD_START]) / this.#bucketUs);
    if (!(steps < values.length)) {
      values.fill(this.#empty);
      this.#f[HEAD_START] = timeUs;
    } else {
      for (let i = 0; i < steps; i++) {
        this.#head = this.#head + 1 === values.length ? 0 : this.#head + 1;
        values[this.#head] = this.#empty;
      }
      this.#f[HEAD_START] += steps * this.#bucketUs;
    }
    this.#recompute();
  }

  /** Forgets every sample. */
  reset(): void {
    this.#values.fill(this.#empty);
    this.#f[HEAD_START] = -Infinity;
    this.#f[VALUE] = this.#empty;
  }

  #recompute(): void {
    const values = this.#values;
    let value = this.#empty;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (this.#max ? v > value : v < value) value = v;
    }
    this.#f[VALUE] = value;
  }
}

/**
 * One-way delay, base delay and standing queue of one sender's packets (all SSRCs of a sender
 * share its abs-send-time clock).
 *
 * @example
 * ```ts
 * import { QueueDelayTracker } from "./queue_delay.ts";
 * import { TICKS_PER_SECOND } from "./abs_send_time.ts";
 * import assert from "node:assert/strict";
 * const tracker = new QueueDelayTracker();
 * // A packet every 10 ms, the last 30 of them 40 ms late (a standing queue).
 * for (let i = 0; i < 100; i++) {
 *   const ticks = (i * 10 * TICKS_PER_SECOND / 1000) >>> 0;
 *   tracker.onPacket(ticks, 5_000_000 + i * 10_000 + (i >= 70 ? 40_000 : 0));
 * }
 * assert.ok(Math.abs(tracker.standingQueueMs - 40) < 0.01);
 * ```
 */
export class QueueDelayTracker {
  readonly #base = new BucketExtreme(BASE_BUCKETS, BASE_BUCKET_US, false);
  readonly #standing = new BucketExtreme(STANDING_BUCKETS, STANDING_BUCKET_US, false);
  readonly #persistent = new BucketExtreme(PERSISTENT_BUCKETS, PERSISTENT_BUCKET_US, false);
  readonly #peak = new BucketExtreme(PEAK_BUCKETS, PEAK_BUCKET_US, true);
  readonly #floor = new BucketExtreme(FLOOR_BUCKETS, FLOOR_BUCKET_US, false);
  #started = false;
  readonly #f = new Float64Array([0, 0, Infinity, 0]);
  readonly #sample = new Float64Array(3);
  readonly #sendClock = new Float64Array(1);
  readonly #one = new Float64Array(2);

  /** Packets seen since the last restart. */
  packets = 0;

  /**
   * Send time of the last packet on a continuous clock (abs-send-time unwrapped), µs from the first
   * packet since the last restart.
   */
  get sendUs(): number {
    return this.#sendClock[0];
  }

  /** {@linkcode QueueDelayTracker.sendUs} at index 0, for the per-packet path. */
  get sendClock(): Float64Array {
    return this.#sendClock;
  }

  /** Queueing delay of the last packet, ms. */
  get queueMs(): number {
    return this.#f[QUEUE] / 1000;
  }

  /** The smallest queueing delay over the last ~200 ms, ms; 0 before any packet. */
  get standingQueueMs(): number {
    const standing = this.#standing.value - this.#f[BASE];
    return standing > 0 ? standing / 1000 : 0;
  }

  /**
   * The smallest one-way delay over the last ~200 ms, clock offsets included, µs: what
   * {@linkcode QueueDelayTracker.standingQueueMs} measures from, on a scale that does not move with
   * the base; Infinity before any packet.
   */
  get standingDelayUs(): number {
    return this.#standing.value;
  }

  /** The base (the smallest one-way delay of the last half minute) on the same scale, µs. */
  get baseDelayUs(): number {
    return this.#f[BASE];
  }

  /** The smallest queueing delay over the last ~600 ms, ms; 0 before any packet. */
  get persistentQueueMs(): number {
    const persistent = this.#persistent.value - this.#f[BASE];
    return persistent > 0 ? persistent / 1000 : 0;
  }

  /** The smallest standing queue over the last ~10 s, ms; 0 before any packet. */
  get floorMs(): number {
    const floor = this.#floor.value;
    return floor > 0 ? floor / 1000 : 0;
  }

  /** The standing queue above the floor, ms. */
  get standingAboveFloorMs(): number {
    const above = this.#standing.value - this.#f[BASE] - this.#floor.value;
    return above > 0 ? above / 1000 : 0;
  }

  /** The persistent queue above the floor, ms. */
  get persistentAboveFloorMs(): number {
    const above = this.#persistent.value - this.#f[BASE] - this.#floor.value;
    return above > 0 ? above / 1000 : 0;
  }

  /** The largest queueing delay over the last ~minute, ms; 0 before any packet. */
  get peakQueueMs(): number {
    const peak = this.#peak.value;
    return peak > 0 ? peak / 1000 : 0;
  }

  /**
   * Adds record `index` of a batch whose timestamp column holds upshifted abs-send-time ticks.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  onRecord(batch: PacketBatch, index: number): void {
    this.#observe(batch.timestamp, batch.arrivalUs, index);
  }

  /**
   * Adds a packet.
   *
   * @param ticks Send time: upshifted abs-send-time, a 32-bit unsigned integer.
   * @param arrivalUs Arrival time, µs.
   */
  onPacket(ticks: number, arrivalUs: number): void {
    const one = this.#one;
    one[0] = ticks;
    one[1] = arrivalUs;
    this.#observe(one, one, 0, 1);
  }

  // Reads the packet from columns rather than arguments: no fresh double is passed to a call.
  #observe(
    ticksColumn: Float64Array,
    arrivalColumn: Float64Array,
    index: number,
    arrivalOffset = 0,
  ): void {
    const ticks = ticksColumn[index];
    const arrivalUs = arrivalColumn[index + arrivalOffset];
    if (
      this.#started &&
      (arrivalUs < this.#f[LAST_ARRIVAL] || arrivalUs - this.#f[LAST_ARRIVAL] > MAX_GAP_US)
    ) {
      this.restart();
    }
    if (!this.#started) {
      this.#started = true;
      this.#f[LAST_TICKS] = ticks;
      this.#sendClock[0] = 0;
    } else {
      // The send clock wraps every 64 s; a step back (reordering) is the short way round.
      let delta = ticks - this.#f[LAST_TICKS];
      if (delta < 0) delta += WRAP_TICKS;
      if (delta >= HALF_WRAP_TICKS) delta -= WRAP_TICKS;
      this.#f[LAST_TICKS] = ticks;
      this.#sendClock[0] += delta * US_PER_TICK;
    }
    this.#f[LAST_ARRIVAL] = arrivalUs;
    const delayUs = arrivalUs - this.#sendClock[0];
    const sample = this.#sample;
    sample[SAMPLE_TIME] = arrivalUs;
    sample[SAMPLE_VALUE] = delayUs;
    this.#base.addFrom(sample);
    this.#f[BASE] = sample[SAMPLE_EXTREME];
    const queueUs = delayUs - this.#f[BASE];
    if (queueUs > MAX_QUEUE_US) {
      this.restart();
      this.#observe(ticksColumn, arrivalColumn, index, arrivalOffset);
      return;
    }
    this.#f[QUEUE] = queueUs;
    this.#standing.addFrom(sample);
    const standingUs = sample[SAMPLE_EXTREME];
    this.#persistent.addFrom(sample);
    sample[SAMPLE_VALUE] = queueUs;
    this.#peak.addFrom(sample);
    sample[SAMPLE_VALUE] = standingUs - this.#f[BASE];
    this.#floor.addFrom(sample);
    this.packets++;
  }

  /** Forgets everything, as after a clock jump or a long silence. */
  restart(): void {
    this.#started = false;
    this.#base.reset();
    this.#f[BASE] = Infinity;
    this.#standing.reset();
    this.#persistent.reset();
    this.#peak.reset();
    this.#floor.reset();
    this.#f[QUEUE] = 0;
    this.packets = 0;
  }
}
