/**
 * One delay-gradient sample as it passes from the inter-arrival stage through a filter to a
 * detector. Stages read and write its fields instead of taking plain number arguments, because a
 * fractional number passed to a call that is not inlined is boxed on the heap.
 *
 * @module
 */

/**
 * Mutable fields of one group delta and what the filter made of it.
 *
 * @example
 * ```ts
 * import { DelaySample } from "./delay_sample.ts";
 * import assert from "node:assert/strict";
 * const sample = new DelaySample();
 * sample.tsDeltaMs = 33.3;
 * assert.equal(sample.tsDeltaMs, 33.3);
 * ```
 */
export class DelaySample {
  /** Arrival-time delta between the two groups, ms. */
  tDeltaMs = 0;
  /** Send-time delta between the two groups, ms. */
  tsDeltaMs = 0;
  /** Size difference between the two groups, bytes. */
  sizeDelta = 0;
  /** Time that paces the filter and the threshold, ms. */
  nowMs = 0;
  /** The filter's output for this sample (Kalman offset or trendline slope). */
  offset = 0;
  /** Deltas the filter has seen, including this one. */
  numOfDeltas = 0;
}
