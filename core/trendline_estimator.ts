/**
 * The trendline filter: a least-squares slope of smoothed accumulated delay over a sliding window
 * (reference §10, libwebrtc's TrendlineEstimator). Selectable instead of the Kalman filter.
 *
 * @module
 */

import { DelaySample } from "./delay_sample.ts";
import { OveruseDetector } from "./overuse_detector.ts";
import type { BandwidthUsage } from "./types.ts";

const DELTA_COUNTER_MAX = 1000;
const SMOOTHING_COEF = 0.9;
const THRESHOLD_GAIN = 4.0;
const SCALARS = 8;

/**
 * Estimates the delay trend from group deltas and classifies it with its own adaptive-threshold
 * detector (gain 4).
 *
 * @example
 * ```ts
 * import { TrendlineEstimator } from "./trendline_estimator.ts";
 * import assert from "node:assert/strict";
 * const trendline = new TrendlineEstimator();
 * // Sent 20 ms apart, received 22 ms apart: the queue grows.
 * for (let i = 1; i < 25; i++) trendline.update(22, 20, 1000 + 22 * i);
 * assert.equal(trendline.state, "overusing");
 * ```
 */
export class TrendlineEstimator {
  readonly #windowSize: number;
  readonly #detector: OveruseDetector;
  // Ring buffer of (arrival time since first, smoothed delay) points.
  readonly #x: Float64Array;
  readonly #y: Float64Array;
  #start = 0;
  #length = 0;
  #numOfDeltas = 0;
  #firstArrivalMs = 0;
  #hasFirstArrival = false;
  #accumulatedDelay = 0;
  #smoothedDelay = 0;
  #trend = 0;
  readonly #input = new DelaySample();
  readonly #detection = new DelaySample();

  /**
   * Creates an empty filter.
   *
   * @param windowSize Number of points in the regression window (default 20).
   * @param detector The detector to classify the trend with; pass one to keep its state across a
   * filter reset. It should be made by {@linkcode TrendlineEstimator.createDetector}.
   */
  constructor(windowSize = 20, detector: OveruseDetector = TrendlineEstimator.createDetector()) {
    this.#windowSize = windowSize;
    this.#detector = detector;
    this.#x = new Float64Array(windowSize);
    this.#y = new Float64Array(windowSize);
  }

  /**
   * Makes a detector with the trendline's settings: gain 4, and normal while fewer than two deltas.
   *
   * @returns A fresh detector.
   */
  static createDetector(): OveruseDetector {
    return new OveruseDetector({ thresholdGain: THRESHOLD_GAIN, resetOnFewDeltas: true });
  }

  /** The detector's current hypothesis. */
  get state(): BandwidthUsage {
    return this.#detector.state;
  }

  /** The latest slope of smoothed delay against arrival time (ms per ms). */
  get trend(): number {
    return this.#trend;
  }

  /** Number of deltas seen so far, capped at 1000. */
  get numOfDeltas(): number {
    return this.#numOfDeltas;
  }

  /** The detector's adaptive threshold in milliseconds. */
  get threshold(): number {
    return this.#detector.threshold;
  }

  /** The last value compared to the threshold: `min(deltas, 60) × trend × 4`. */
  get modifiedTrend(): number {
    return this.#detector.modifiedOffset;
  }

  /**
   * Feeds one group delta and runs detection.
   *
   * @param recvDeltaMs Arrival-time delta in milliseconds.
   * @param sendDeltaMs Send-time delta in milliseconds.
   * @param arrivalTimeMs Arrival time of the packet that completed the delta.
   */
  update(recvDeltaMs: number, sendDeltaMs: number, arrivalTimeMs: number): void {
    const sample = this.#input;
    sample.tDeltaMs = recvDeltaMs;
    sample.tsDeltaMs = sendDeltaMs;
    sample.nowMs = arrivalTimeMs;
    this.updateWith(sample);
  }

  /**
   * {@linkcode TrendlineEstimator.update} with the delta read from a sample (`tDeltaMs` received,
   * `tsDeltaMs` sent, `nowMs` arrival time).
   *
   * @param sample The group delta.
   */
  updateWith(sample: DelaySample): void {
    const recvDeltaMs = sample.tDeltaMs;
    const sendDeltaMs = sample.tsDeltaMs;
    const arrivalTimeMs = sample.nowMs;
    const deltaMs = recvDeltaMs - sendDeltaMs;
    if (++this.#numOfDeltas > DELTA_COUNTER_MAX) this.#numOfDeltas = DELTA_COUNTER_MAX;
    if (!this.#hasFirstArrival) {
      this.#firstArrivalMs = arrivalTimeMs;
      this.#hasFirstArrival = true;
    }
    this.#accumulatedDelay += deltaMs;
    this.#smoothedDelay = SMOOTHING_COEF * this.#smoothedDelay +
      (1 - SMOOTHING_COEF) * this.#accumulatedDelay;

    const size = this.#windowSize;
    if (this.#length === size) {
      this.#start = (this.#start + 1) % size;
      this.#length--;
    }
    const slot = (this.#start + this.#length) % size;
    this.#x[slot] = arrivalTimeMs - this.#firstArrivalMs;
    this.#y[slot] = this.#smoothedDelay;
    this.#length++;

    // An undefined slope (all points at one arrival time) keeps the previous trend.
    if (this.#length === size) this.#fitTrend();
    const detection = this.#detection;
    detection.offset = this.#trend;
    detection.tsDeltaMs = sendDeltaMs;
    detection.numOfDeltas = this.#numOfDeltas;
    detection.nowMs = arrivalTimeMs;
    this.#detector.detectWith(detection);
  }

  /** Numbers {@linkcode TrendlineEstimator.save} writes: 8 plus two per point of the window. */
  get stateLength(): number {
    return SCALARS + 2 * this.#windowSize;
  }

  /**
   * Writes the filter's whole state, its detector's excepted, into `out` from `offset`
   * ({@linkcode TrendlineEstimator.stateLength} numbers), so that a filter restored from it continues
   * exactly as this one would.
   *
   * @param out Destination.
   * @param offset First index.
   */
  save(out: Float64Array, offset: number): void {
    out[offset] = this.#start;
    out[offset + 1] = this.#length;
    out[offset + 2] = this.#numOfDeltas;
    out[offset + 3] = this.#firstArrivalMs;
    out[offset + 4] = this.#hasFirstArrival ? 1 : 0;
    out[offset + 5] = this.#accumulatedDelay;
    out[offset + 6] = this.#smoothedDelay;
    out[offset + 7] = this.#trend;
    out.set(this.#x, offset + SCALARS);
    out.set(this.#y, offset + SCALARS + this.#windowSize);
  }

  /**
   * Restores a state written by {@linkcode TrendlineEstimator.save} of a filter with the same
   * window.
   *
   * @param from Source.
   * @param offset First index.
   */
  restore(from: Float64Array, offset: number): void {
    const size = this.#windowSize;
    this.#start = from[offset];
    this.#length = from[offset + 1];
    this.#numOfDeltas = from[offset + 2];
    this.#firstArrivalMs = from[offset + 3];
    this.#hasFirstArrival = from[offset + 4] === 1;
    this.#accumulatedDelay = from[offset + 5];
    this.#smoothedDelay = from[offset + 6];
    this.#trend = from[offset + 7];
    const x = offset + SCALARS;
    this.#x.set(from.subarray(x, x + size));
    this.#y.set(from.subarray(x + size, x + 2 * size));
  }

  // Least-squares slope of the window into #trend, unless all x are equal.
  #fitTrend(): void {
    const n = this.#length;
    const size = this.#windowSize;
    // Oldest to newest, as the sums' rounding depends on the order.
    let sumX = 0;
    let sumY = 0;
    for (let i = 0, slot = this.#start; i < n; i++) {
      sumX += this.#x[slot];
      sumY += this.#y[slot];
      if (++slot === size) slot = 0;
    }
    const avgX = sumX / n;
    const avgY = sumY / n;
    let numerator = 0;
    let denominator = 0;
    for (let i = 0, slot = this.#start; i < n; i++) {
      const dx = this.#x[slot] - avgX;
      numerator += dx * (this.#y[slot] - avgY);
      denominator += dx * dx;
      if (++slot === size) slot = 0;
    }
    if (denominator !== 0) this.#trend = numerator / denominator;
  }
}
