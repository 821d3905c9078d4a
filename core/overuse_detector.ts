/**
 * The adaptive-threshold detector that turns a delay-gradient estimate into overuse, normal or
 * underuse (reference §7, libwebrtc's OveruseDetector; §10 for the trendline variant).
 *
 * @module
 */

import { DelaySample } from "./delay_sample.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";

const MAX_ADAPT_OFFSET_MS = 15;
const OVERUSING_TIME_THRESHOLD_MS = 10;
const MAX_NUM_DELTAS = 60;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const MIN_THRESHOLD_MS = 6;
const MAX_THRESHOLD_MS = 600;
/** The threshold of a fresh detector, ms: what a stream reports before it has any figures. */
export const INITIAL_THRESHOLD_MS = 12.5;
const MAX_TIME_DELTA_MS = 100;

/** Numbers {@linkcode OveruseDetector.save} writes. */
export const DETECTOR_STATE_LENGTH = 8;
/**
 * Where the hypothesis sits among them, coded as a batch's `usage` column codes it (0 normal,
 * 1 underusing, 2 overusing).
 */
export const DETECTOR_STATE_HYPOTHESIS = 6;

/** Options of {@linkcode OveruseDetector}. */
export interface OveruseDetectorOptions {
  /**
   * Multiplies the modified offset before it is compared to the threshold. The trendline filter
   * uses 4.
   *
   * @default {1}
   */
  thresholdGain?: number;
  /**
   * Whether a sample with fewer than two deltas resets the state to normal (the trendline filter's
   * rule) instead of leaving it untouched (the Kalman filter's).
   *
   * @default {false}
   */
  resetOnFewDeltas?: boolean;
}

/**
 * Compares `min(deltas, 60) × offset` against a threshold that adapts to the offset's recent
 * magnitude, and declares overuse only after it has lasted more than 10 ms over two samples while
 * the offset keeps growing.
 *
 * @example
 * ```ts
 * import { OveruseDetector } from "./overuse_detector.ts";
 * import assert from "node:assert/strict";
 * const detector = new OveruseDetector();
 * let now = 0;
 * for (let i = 0; i < 3; i++) detector.detect(0.5, 33, 60, (now += 33));
 * assert.equal(detector.state, "overusing");
 * ```
 */
export class OveruseDetector {
  readonly #gain: number;
  readonly #resetOnFewDeltas: boolean;
  #threshold = INITIAL_THRESHOLD_MS;
  #lastUpdateMs = 0;
  #hasLastUpdate = false;
  #prevOffset = 0;
  #timeOverUsing = -1;
  #overuseCounter = 0;
  // The hypothesis as its severity code (0 normal, 1 underusing, 2 overusing): a number, so that
  // the per-packet path compares and copies it without string checks.
  #severity = 0;
  #modifiedOffset = 0;
  #nowInput = 0;
  readonly #sample = new DelaySample();

  /**
   * Creates a detector in the normal state with a 12.5 ms threshold.
   *
   * @param options Threshold gain and few-delta rule; the defaults are the Kalman filter's.
   */
  constructor(options: OveruseDetectorOptions = {}) {
    this.#gain = options.thresholdGain ?? 1;
    this.#resetOnFewDeltas = options.resetOnFewDeltas ?? false;
  }

  /** The current hypothesis. */
  get state(): BandwidthUsage {
    return usageOfSeverity(this.#severity);
  }

  /** The current hypothesis as its severity code: 0 normal, 1 underusing, 2 overusing. */
  get severity(): number {
    return this.#severity;
  }

  /** The adaptive threshold in milliseconds. */
  get threshold(): number {
    return this.#threshold;
  }

  /** The last value compared to the threshold: `min(deltas, 60) × offset × gain`. */
  get modifiedOffset(): number {
    return this.#modifiedOffset;
  }

  /**
   * Classifies one delay-gradient sample.
   *
   * @param offset The filter's estimate (Kalman offset or trendline slope).
   * @param tsDeltaMs Send-time delta of the sample, in milliseconds.
   * @param numOfDeltas How many deltas the filter has seen.
   * @param nowMs The sample's time in milliseconds, used to pace threshold adaptation.
   * @returns The new hypothesis.
   */
  detect(offset: number, tsDeltaMs: number, numOfDeltas: number, nowMs: number): BandwidthUsage {
    const sample = this.#sample;
    sample.offset = offset;
    sample.tsDeltaMs = tsDeltaMs;
    sample.numOfDeltas = numOfDeltas;
    sample.nowMs = nowMs;
    return this.detectWith(sample);
  }

  /**
   * {@linkcode OveruseDetector.detect} with the inputs read from a sample's `offset`, `tsDeltaMs`,
   * `numOfDeltas` and `nowMs`.
   *
   * @param sample The filtered sample.
   * @returns The new hypothesis.
   */
  detectWith(sample: DelaySample): BandwidthUsage {
    const offset = sample.offset;
    const tsDeltaMs = sample.tsDeltaMs;
    const numOfDeltas = sample.numOfDeltas;
    const nowMs = sample.nowMs;
    if (numOfDeltas < 2) {
      if (this.#resetOnFewDeltas) this.#severity = 0;
      return "normal";
    }
    const t = (numOfDeltas < MAX_NUM_DELTAS ? numOfDeltas : MAX_NUM_DELTAS) * offset *
      this.#gain;
    this.#modifiedOffset = t;
    if (t > this.#threshold) {
      // Assume half of the time since the previous sample was already spent over-using.
      if (this.#timeOverUsing === -1) this.#timeOverUsing = tsDeltaMs / 2;
      else this.#timeOverUsing += tsDeltaMs;
      this.#overuseCounter++;
      if (
        this.#timeOverUsing > OVERUSING_TIME_THRESHOLD_MS && this.#overuseCounter > 1 &&
        offset >= this.#prevOffset
      ) {
        this.#timeOverUsing = 0;
        this.#overuseCounter = 0;
        this.#severity = 2;
      }
    } else if (t < -this.#threshold) {
      this.#timeOverUsing = -1;
      this.#overuseCounter = 0;
      this.#severity = 1;
    } else {
      this.#timeOverUsing = -1;
      this.#overuseCounter = 0;
      this.#severity = 0;
    }
    this.#prevOffset = offset;
    this.#nowInput = nowMs;
    this.#updateThreshold();
    return usageOfSeverity(this.#severity);
  }

  // Reads its inputs from fields: fractional arguments to a call that is not inlined are boxed.
  /**
   * Writes the detector's whole state into `out` from `offset` ({@linkcode DETECTOR_STATE_LENGTH}
   * numbers), so it can be restored in another pipeline or thread.
   *
   * @param out Destination.
   * @param offset First index.
   */
  save(out: Float64Array, offset: number): void {
    out[offset] = this.#threshold;
    out[offset + 1] = this.#hasLastUpdate ? 1 : 0;
    out[offset + 2] = this.#lastUpdateMs;
    out[offset + 3] = this.#prevOffset;
    out[offset + 4] = this.#timeOverUsing;
    out[offset + 5] = this.#overuseCounter;
    out[offset + DETECTOR_STATE_HYPOTHESIS] = this.#severity;
    out[offset + 7] = this.#modifiedOffset;
  }

  /**
   * Restores a state written by {@linkcode OveruseDetector.save}.
   *
   * @param from Source.
   * @param offset First index.
   */
  restore(from: Float64Array, offset: number): void {
    this.#threshold = from[offset];
    this.#hasLastUpdate = from[offset + 1] === 1;
    this.#lastUpdateMs = from[offset + 2];
    this.#prevOffset = from[offset + 3];
    this.#timeOverUsing = from[offset + 4];
    this.#overuseCounter = from[offset + 5];
    const hypothesis = from[offset + DETECTOR_STATE_HYPOTHESIS];
    this.#severity = hypothesis === 0 ? 0 : hypothesis === 1 ? 1 : 2;
    this.#modifiedOffset = from[offset + 7];
  }

  #updateThreshold(): void {
    const modifiedOffset = this.#modifiedOffset;
    const nowMs = this.#nowInput;
    if (!this.#hasLastUpdate) {
      this.#lastUpdateMs = nowMs;
      this.#hasLastUpdate = true;
    }
    const magnitude = Math.abs(modifiedOffset);
    // Big spikes (a sudden capacity drop) must not drag the threshold up.
    if (magnitude > this.#threshold + MAX_ADAPT_OFFSET_MS) {
      this.#lastUpdateMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? K_DOWN : K_UP;
    const elapsed = nowMs - this.#lastUpdateMs;
    const timeDeltaMs = elapsed < MAX_TIME_DELTA_MS ? elapsed : MAX_TIME_DELTA_MS;
    this.#threshold += k * (magnitude - this.#threshold) * timeDeltaMs;
    if (this.#threshold < MIN_THRESHOLD_MS) this.#threshold = MIN_THRESHOLD_MS;
    else if (this.#threshold > MAX_THRESHOLD_MS) this.#threshold = MAX_THRESHOLD_MS;
    this.#lastUpdateMs = nowMs;
  }
}
