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
  // Bucket `slot` is (time ms, bytes, samples) at 3·slot: one array, so a packet checks one map.
  readonly #buckets: Float64Array;
  #start = 0;
  #length = 0;
  // Slot and time of the newest bucket, while #length > 0.
  #lastSlot = 0;
  #lastTimeMs = 0;
  #accumulated = 0;
  #numSamples = 0;
  #firstTimestamp = 0;
  #hasFirstTimestamp = false;
  // Whether the rate was available at the last {@linkcode RateStatistics.updateRestartingFrom}.
  #wasAvailable = false;
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
    this.#mask = (capacity - 1) | 0; // a small integer, not a double to convert at each use
    this.#buckets = new Float64Array(capacity * 3);
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
    this.#eraseOld();
    this.#add();
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
    this.#eraseOld();
    this.#add();
  }

  /**
   * How the abs-send-time estimator feeds its tracker (reference §4.2): before the record's bytes
   * are added at its time, a window whose rate was available at the previous call and no longer is
   * (it drained, e.g. over a silence) is reset, so that it restarts from new data. One time
   * conversion and one erase serve both steps.
   *
   * @param sizes Byte counts.
   * @param timesUs Times in integer microseconds.
   * @param index Which record.
   */
  updateRestartingFrom(sizes: Float64Array, timesUs: Float64Array, index: number): void {
    this.#nowInput = usToMs(timesUs[index]);
    this.#bytesInput = sizes[index];
    this.#eraseOld();
    if (this.#available()) {
      this.#wasAvailable = true;
    } else if (this.#wasAvailable === true) {
      this.reset();
      this.#wasAvailable = false;
    }
    this.#add();
  }

  // Adds #bytesInput at #nowInput, old buckets already erased at that time.
  #add(): void {
    const nowMs = this.#nowInput;
    const bytes = this.#bytesInput;
    const buckets = this.#buckets;
    let last = this.#lastSlot * 3;
    // A sample before the newest bucket's time joins that bucket.
    if (this.#length === 0 || nowMs > this.#lastTimeMs) {
      // `!== true`: a boolean read from a field is otherwise tested as any value could be.
      if (this.#numSamples === 0 || this.#hasFirstTimestamp !== true) {
        this.#firstTimestamp = nowMs;
        this.#hasFirstTimestamp = true;
      }
      const slot = (this.#start + this.#length) & this.#mask;
      last = slot * 3;
      buckets[last] = nowMs;
      buckets[last + 1] = 0;
      buckets[last + 2] = 0;
      this.#length++;
      this.#lastSlot = slot;
      this.#lastTimeMs = nowMs;
    }
    buckets[last + 1] += bytes;
    buckets[last + 2]++;
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
    const buckets = this.#buckets;
    let accumulated = 0;
    let samples = 0;
    for (let i = 0, slot = this.#start; i < this.#length; i++, slot = (slot + 1) & this.#mask) {
      if (buckets[slot * 3] < oldest) continue;
      accumulated += buckets[slot * 3 + 1];
      samples += buckets[slot * 3 + 2];
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
    const accumulated = this.#sumInput;
    const numSamples = this.#samplesInput;
    const activeWindow = this.#activeWindow();
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

  // #compute's availability test on the erased totals at #nowInput, in integers.
  #available(): boolean {
    const numSamples = this.#numSamples;
    if (numSamples === 0) return false;
    const activeWindow = this.#activeWindow();
    return activeWindow > 1 && (numSamples > 1 || activeWindow >= this.#windowMs);
  }

  // Reads #nowInput.
  #activeWindow(): number {
    if (this.#hasFirstTimestamp !== true) return 0;
    const nowMs = this.#nowInput;
    return this.#firstTimestamp <= nowMs - this.#windowMs
      ? this.#windowMs
      : nowMs - this.#firstTimestamp + 1;
  }

  #eraseOld(): void {
    const oldest = this.#nowInput - this.#windowMs + 1;
    const buckets = this.#buckets;
    let start = this.#start;
    let length = this.#length;
    if (length === 0 || buckets[start * 3] >= oldest) return;
    let accumulated = this.#accumulated;
    let numSamples = this.#numSamples;
    do {
      accumulated -= buckets[start * 3 + 1];
      numSamples -= buckets[start * 3 + 2];
      start = (start + 1) & this.#mask;
      length--;
    } while (length > 0 && buckets[start * 3] < oldest);
    this.#start = start;
    this.#length = length;
    this.#accumulated = accumulated;
    this.#numSamples = numSamples;
  }
}
