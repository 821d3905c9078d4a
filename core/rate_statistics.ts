/**
 * Sliding-window byte rate in 1 ms buckets, computed in float32 exactly as libwebrtc's RateStatistics
 * (reference §4.2).
 *
 * @module
 */

import { usToMs } from "./_math.ts";

const fround = Math.fround;

/**
 * Counts bytes per millisecond over a sliding window and reports the rate in bits per second.
 *
 * Buckets live in a preallocated ring, so updates allocate nothing. A sample stamped earlier than the
 * newest bucket is added to that bucket (libwebrtc appends a twin bucket with the same timestamp,
 * which is indistinguishable).
 *
 * @example
 * ```ts
 * import { RateStatistics } from "./rate_statistics.ts";
 * import assert from "node:assert/strict";
 * const rate = new RateStatistics(1000);
 * for (let t = 0; t < 1000; t += 10) rate.update(1250, t); // 1250 B every 10 ms
 * assert.equal(rate.rate(999), 1_000_000);
 * ```
 */
export class RateStatistics {
  readonly #windowMs: number;
  readonly #mask: number;
  readonly #times: Float64Array;
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;
  #start = 0;
  #length = 0;
  #accumulated = 0;
  #numSamples = 0;
  #firstTimestamp = 0;
  #hasFirstTimestamp = false;
  // Input registers: fractional arguments to calls that are not inlined would be boxed.
  #nowInput = 0;
  #bytesInput = 0;
  #sumInput = 0;
  #samplesInput = 0;

  /**
   * Creates an empty window.
   *
   * @param windowMs Window length in milliseconds.
   */
  constructor(windowMs: number) {
    this.#windowMs = windowMs;
    // One bucket per distinct millisecond inside the window, rounded up to a power of two so that
    // ring indices wrap with a mask.
    const capacity = 2 ** Math.ceil(Math.log2(windowMs + 1));
    this.#mask = capacity - 1;
    this.#times = new Float64Array(capacity);
    this.#sums = new Float64Array(capacity);
    this.#counts = new Float64Array(capacity);
  }

  /** Forgets every sample, including when the window started. */
  reset(): void {
    this.#start = 0;
    this.#length = 0;
    this.#accumulated = 0;
    this.#numSamples = 0;
    this.#hasFirstTimestamp = false;
  }

  /**
   * Adds `bytes` at `nowMs`.
   *
   * @param bytes Byte count, non-negative.
   * @param nowMs Time in integer milliseconds.
   */
  update(bytes: number, nowMs: number): void {
    this.#nowInput = nowMs;
    this.#bytesInput = bytes;
    this.#update();
  }

  /**
   * {@linkcode RateStatistics.update} with the time taken from `times[index]` (µs, rounded to ms)
   * and the byte count from `sizes[index]`, so nothing is boxed on the way in.
   *
   * @param sizes Byte counts.
   * @param timesUs Times in integer microseconds.
   * @param index Which record.
   */
  updateFrom(sizes: Float64Array, timesUs: Float64Array, index: number): void {
    this.#nowInput = usToMs(timesUs[index]);
    this.#bytesInput = sizes[index];
    this.#update();
  }

  #update(): void {
    const nowMs = this.#nowInput;
    const bytes = this.#bytesInput;
    this.#eraseOld();
    if (!this.#hasFirstTimestamp || this.#numSamples === 0) {
      this.#firstTimestamp = nowMs;
      this.#hasFirstTimestamp = true;
    }
    const mask = this.#mask;
    let last = (this.#start + this.#length - 1) & mask;
    if (this.#length === 0 || nowMs > this.#times[last]) {
      last = (this.#start + this.#length) & mask;
      this.#times[last] = nowMs;
      this.#sums[last] = 0;
      this.#counts[last] = 0;
      this.#length++;
    }
    this.#sums[last] += bytes;
    this.#counts[last]++;
    this.#accumulated += bytes;
    this.#numSamples++;
  }

  /**
   * The rate over the active window.
   *
   * @param nowMs Time in integer milliseconds.
   * @returns Bits per second (at most 2^32 − 1), or `undefined` while there is too little data.
   */
  rate(nowMs: number): number | undefined {
    this.#nowInput = nowMs;
    return this.#rate();
  }

  /**
   * {@linkcode RateStatistics.rate} at `timesUs[index]` (µs, rounded to ms).
   *
   * @param timesUs Times in integer microseconds.
   * @param index Which record.
   * @returns Bits per second, or `undefined` while there is too little data.
   */
  rateAt(timesUs: Float64Array, index: number): number | undefined {
    this.#nowInput = usToMs(timesUs[index]);
    return this.#rate();
  }

  /**
   * The rate {@linkcode RateStatistics.rate} would report, without erasing old buckets: for
   * observers, so that looking never changes what the estimator computes next.
   *
   * @param nowMs Time in integer milliseconds.
   * @returns Bits per second, or `undefined` while there is too little data.
   */
  peekRate(nowMs: number): number | undefined {
    const oldest = nowMs - this.#windowMs + 1;
    let accumulated = 0;
    let samples = 0;
    for (let i = 0, slot = this.#start; i < this.#length; i++, slot = (slot + 1) & this.#mask) {
      if (this.#times[slot] < oldest) continue;
      accumulated += this.#sums[slot];
      samples += this.#counts[slot];
    }
    this.#nowInput = nowMs;
    this.#sumInput = accumulated;
    this.#samplesInput = samples;
    return this.#compute();
  }

  #rate(): number | undefined {
    this.#eraseOld();
    this.#sumInput = this.#accumulated;
    this.#samplesInput = this.#numSamples;
    return this.#compute();
  }

  // Inputs in fields, as elsewhere on the per-packet path: arguments would be boxed.
  #compute(): number | undefined {
    const nowMs = this.#nowInput;
    const accumulated = this.#sumInput;
    const numSamples = this.#samplesInput;
    let activeWindow = 0;
    if (this.#hasFirstTimestamp) {
      activeWindow = this.#firstTimestamp <= nowMs - this.#windowMs
        ? this.#windowMs
        : nowMs - this.#firstTimestamp + 1;
    }
    if (
      numSamples === 0 || activeWindow <= 1 ||
      (numSamples <= 1 && activeWindow < this.#windowMs)
    ) {
      return undefined;
    }
    const scale = fround(fround(8000) / activeWindow);
    const bps = fround(fround(fround(accumulated) * scale) + fround(0.5));
    // `>>> 0` types the result as an integer, so returning it does not box; rates beyond
    // 4.29 Gbit/s saturate.
    return (bps < 4294967295 ? bps : 4294967295) >>> 0;
  }

  #eraseOld(): void {
    const oldest = this.#nowInput - this.#windowMs + 1;
    while (this.#length > 0 && this.#times[this.#start] < oldest) {
      this.#accumulated -= this.#sums[this.#start];
      this.#numSamples -= this.#counts[this.#start];
      this.#start = (this.#start + 1) & this.#mask;
      this.#length--;
    }
  }
}
