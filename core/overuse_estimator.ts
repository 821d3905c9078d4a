/**
 * The Kalman filter that estimates one-way delay growth ("offset") from group deltas (reference §6,
 * libwebrtc's OveruseEstimator).
 *
 * @module
 */

import { DelaySample } from "./delay_sample.ts";
import type { BandwidthUsage } from "./types.ts";

const MIN_FRAME_PERIOD_HISTORY = 60;
const DELTA_COUNTER_MAX = 1000;
const PROCESS_NOISE_SLOPE = 1e-13;
const PROCESS_NOISE_OFFSET = 1e-3;
const MIN_QUEUE_CAPACITY = 64; // a power of two above MIN_FRAME_PERIOD_HISTORY
const SEQ_MASK = 0x3fffffff;
const SCALARS = 13;

/**
 * Numbers {@linkcode OveruseEstimator.save} writes: the scalars, then the minimum queue's values and
 * sequence numbers (at most one per delta of the window).
 */
export const OVERUSE_ESTIMATOR_STATE_LENGTH: number = SCALARS + 2 * MIN_FRAME_PERIOD_HISTORY;

/**
 * A two-state (slope, offset) Kalman filter over `(arrival delta − send delta)` against size delta.
 * The offset, in milliseconds, is the delay-gradient estimate the detector compares to its threshold.
 *
 * @example
 * ```ts
 * import { OveruseEstimator } from "./overuse_estimator.ts";
 * import assert from "node:assert/strict";
 * const filter = new OveruseEstimator();
 * // Groups arriving 2 ms further apart than they were sent: delay is growing.
 * for (let i = 0; i < 20; i++) filter.update(35, 33, 0, "normal", i * 35);
 * assert.ok(filter.offset > 0);
 * assert.equal(filter.numOfDeltas, 20);
 * ```
 */
export class OveruseEstimator {
  #slope = 8 / 512;
  #offset = 0;
  #prevOffset = 0;
  #e00 = 100;
  #e01 = 0;
  #e10 = 0;
  #e11 = 1e-1;
  #avgNoise = 0;
  #varNoise = 50;
  #numOfDeltas = 0;
  #tsDeltaInput = 0;
  #residualInput = 0;
  #minFramePeriod = 0;
  readonly #sample = new DelaySample();
  // The minimum of the last 60 send deltas as a monotonic queue: each value stays while no later one
  // is smaller, so the front is the window's minimum and a delta costs O(1) on average.
  readonly #minValues = new Float64Array(MIN_QUEUE_CAPACITY);
  readonly #minSeqs = new Int32Array(MIN_QUEUE_CAPACITY); // sequence numbers mod 2^30
  #minTail = 0; // next free slot
  #minLength = 0;
  #deltaSeq = 0;
  // beta depends only on alpha and the minimum frame period, which rarely change: pow() once.
  #betaAlpha = -1;
  #betaPeriod = 0;
  #beta = 0;

  /** The delay-gradient estimate in milliseconds. */
  get offset(): number {
    return this.#offset;
  }

  /** Estimated milliseconds of extra delay per byte of group-size difference. */
  get slope(): number {
    return this.#slope;
  }

  /** Number of deltas seen so far, capped at 1000. */
  get numOfDeltas(): number {
    return this.#numOfDeltas;
  }

  /** Measurement-noise variance estimate. */
  get varNoise(): number {
    return this.#varNoise;
  }

  /**
   * Feeds one group delta.
   *
   * @param tDeltaMs Arrival-time delta in integer milliseconds.
   * @param tsDeltaMs Send-time delta in milliseconds.
   * @param sizeDelta Group-size difference in bytes.
   * @param hypothesis The detector's current state; the noise estimate only adapts while normal.
   * @param nowMs The sample's time (unused by the filter; kept for the libwebrtc call shape).
   */
  update(
    tDeltaMs: number,
    tsDeltaMs: number,
    sizeDelta: number,
    hypothesis: BandwidthUsage,
    nowMs: number,
  ): void {
    const sample = this.#sample;
    sample.tDeltaMs = tDeltaMs;
    sample.tsDeltaMs = tsDeltaMs;
    sample.sizeDelta = sizeDelta;
    sample.nowMs = nowMs;
    this.updateWith(sample, hypothesis);
  }

  /**
   * {@linkcode OveruseEstimator.update} with the delta read from a sample; writes the new offset
   * and delta count back into it.
   *
   * @param sample The group delta.
   * @param hypothesis The detector's current state.
   */
  updateWith(sample: DelaySample, hypothesis: BandwidthUsage): void {
    const tDeltaMs = sample.tDeltaMs;
    const tsDeltaMs = sample.tsDeltaMs;
    const sizeDelta = sample.sizeDelta;
    this.#tsDeltaInput = tsDeltaMs;
    this.#updateMinFramePeriod();
    const tTsDelta = tDeltaMs - tsDeltaMs;
    const fsDelta = sizeDelta;
    if (++this.#numOfDeltas > DELTA_COUNTER_MAX) this.#numOfDeltas = DELTA_COUNTER_MAX;

    this.#e00 += PROCESS_NOISE_SLOPE;
    this.#e11 += PROCESS_NOISE_OFFSET;
    // Let the offset move faster when it heads away from the hypothesis.
    if (
      (hypothesis === "overusing" && this.#offset < this.#prevOffset) ||
      (hypothesis === "underusing" && this.#offset > this.#prevOffset)
    ) {
      this.#e11 += 10 * PROCESS_NOISE_OFFSET;
    }

    const eh0 = this.#e00 * fsDelta + this.#e01 * 1.0;
    const eh1 = this.#e10 * fsDelta + this.#e11 * 1.0;
    const residual = tTsDelta - this.#slope * fsDelta - this.#offset;

    if (hypothesis === "normal") {
      // Clip late outliers (key frames) to 3σ before they reach the noise estimate.
      const maxResidual = 3.0 * Math.sqrt(this.#varNoise);
      this.#residualInput = Math.abs(residual) < maxResidual
        ? residual
        : residual < 0
        ? -maxResidual
        : maxResidual;
      this.#updateNoise();
    }

    const denom = this.#varNoise + fsDelta * eh0 + 1.0 * eh1;
    const k0 = eh0 / denom;
    const k1 = eh1 / denom;
    const ikh00 = 1.0 - k0 * fsDelta;
    const ikh01 = -k0 * 1.0;
    const ikh10 = -k1 * fsDelta;
    const ikh11 = 1.0 - k1 * 1.0;
    const e00 = this.#e00;
    const e01 = this.#e01;
    this.#e00 = e00 * ikh00 + this.#e10 * ikh01;
    this.#e01 = e01 * ikh00 + this.#e11 * ikh01;
    this.#e10 = e00 * ikh10 + this.#e10 * ikh11;
    this.#e11 = e01 * ikh10 + this.#e11 * ikh11;

    this.#slope = this.#slope + k0 * residual;
    this.#prevOffset = this.#offset;
    this.#offset = this.#offset + k1 * residual;
    sample.offset = this.#offset;
    sample.numOfDeltas = this.#numOfDeltas;
  }

  /**
   * Writes the filter's whole state into `out` from `offset`
   * ({@linkcode OVERUSE_ESTIMATOR_STATE_LENGTH} numbers), so that a filter restored from it
   * continues exactly as this one would.
   *
   * @param out Destination.
   * @param offset First index.
   */
  save(out: Float64Array, offset: number): void {
    out[offset] = this.#slope;
    out[offset + 1] = this.#offset;
    out[offset + 2] = this.#prevOffset;
    out[offset + 3] = this.#e00;
    out[offset + 4] = this.#e01;
    out[offset + 5] = this.#e10;
    out[offset + 6] = this.#e11;
    out[offset + 7] = this.#avgNoise;
    out[offset + 8] = this.#varNoise;
    out[offset + 9] = this.#numOfDeltas;
    out[offset + 10] = this.#minFramePeriod;
    out[offset + 11] = this.#deltaSeq;
    const length = this.#minLength;
    out[offset + 12] = length;
    // The queue from its front, so that a restored one starts at slot 0.
    const mask = MIN_QUEUE_CAPACITY - 1;
    const head = (this.#minTail - length) & mask;
    const values = offset + SCALARS;
    const seqs = values + MIN_FRAME_PERIOD_HISTORY;
    for (let i = 0; i < MIN_FRAME_PERIOD_HISTORY; i++) {
      out[values + i] = i < length ? this.#minValues[(head + i) & mask] : 0;
      out[seqs + i] = i < length ? this.#minSeqs[(head + i) & mask] : 0;
    }
  }

  /**
   * Restores a state written by {@linkcode OveruseEstimator.save}.
   *
   * @param from Source.
   * @param offset First index.
   */
  restore(from: Float64Array, offset: number): void {
    this.#slope = from[offset];
    this.#offset = from[offset + 1];
    this.#prevOffset = from[offset + 2];
    this.#e00 = from[offset + 3];
    this.#e01 = from[offset + 4];
    this.#e10 = from[offset + 5];
    this.#e11 = from[offset + 6];
    this.#avgNoise = from[offset + 7];
    this.#varNoise = from[offset + 8];
    this.#numOfDeltas = from[offset + 9];
    this.#minFramePeriod = from[offset + 10];
    this.#deltaSeq = from[offset + 11];
    const length = from[offset + 12];
    const values = offset + SCALARS;
    const seqs = values + MIN_FRAME_PERIOD_HISTORY;
    for (let i = 0; i < length; i++) {
      this.#minValues[i] = from[values + i];
      this.#minSeqs[i] = from[seqs + i];
    }
    this.#minLength = length;
    this.#minTail = length;
    this.#betaAlpha = -1; // beta is recomputed, to the same value, at the next update
  }

  // Inputs come through fields: fractional arguments to a call that is not inlined are boxed.
  #updateNoise(): void {
    const residual = this.#residualInput;
    const tsDeltaMs = this.#minFramePeriod;
    // alpha is tuned for 30 fps and scaled to the frame period.
    const alpha = this.#numOfDeltas > 10 * 30 ? 0.002 : 0.01;
    if (alpha !== this.#betaAlpha || tsDeltaMs !== this.#betaPeriod) {
      this.#beta = Math.pow(1 - alpha, tsDeltaMs * 30.0 / 1000.0);
      this.#betaAlpha = alpha;
      this.#betaPeriod = tsDeltaMs;
    }
    const beta = this.#beta;
    this.#avgNoise = beta * this.#avgNoise + (1 - beta) * residual;
    const d = this.#avgNoise - residual;
    this.#varNoise = beta * this.#varNoise + (1 - beta) * d * d;
    if (this.#varNoise < 1) this.#varNoise = 1;
  }

  // Minimum send delta over the last 60 deltas, including this one.
  #updateMinFramePeriod(): void {
    const tsDeltaMs = this.#tsDeltaInput;
    const values = this.#minValues;
    const seqs = this.#minSeqs;
    const mask = MIN_QUEUE_CAPACITY - 1;
    const seq = this.#deltaSeq;
    this.#deltaSeq = (seq + 1) & SEQ_MASK;
    // Values no smaller than the new one can never be the minimum again.
    let tail = this.#minTail;
    let length = this.#minLength;
    while (length > 0 && values[(tail - 1) & mask] >= tsDeltaMs) {
      tail = (tail - 1) & mask;
      length--;
    }
    values[tail] = tsDeltaMs;
    seqs[tail] = seq;
    tail = (tail + 1) & mask;
    length++;
    let head = (tail - length) & mask;
    while (((seq - seqs[head]) & SEQ_MASK) >= MIN_FRAME_PERIOD_HISTORY) {
      head = (head + 1) & mask;
      length--;
    }
    this.#minTail = tail;
    this.#minLength = length;
    this.#minFramePeriod = values[head];
  }
}
