/**
 * What the two estimators ask of a rate controller: libwebrtc's `AimdRateControl` (reference §8)
 * answers it, and so does the enhanced profile's controller, so either can sit behind the same
 * estimator.
 *
 * @module
 */

import type { BandwidthUsage, RateControlState } from "./types.ts";

/**
 * The rate controller's side of the estimators: detector states and the incoming rate in, a target
 * out, with the timing figures the estimators pace their updates by. Times are integer µs, rates
 * integer bps.
 *
 * @example
 * ```ts
 * import type { RateController } from "./rate_controller.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import assert from "node:assert/strict";
 * const controller: RateController = new AimdRateControl();
 * controller.setEstimate(300_000, 0);
 * assert.equal(controller.latestEstimateBps, 300_000);
 * ```
 */
export interface RateController {
  /** Whether an estimate exists. */
  readonly validEstimate: boolean;
  /** The current target, bps. */
  readonly latestEstimateBps: number;
  /** The rate-control state after the last update. */
  readonly state: RateControlState;
  /** The round-trip time in use, ms. */
  readonly rttMs: number;
  /** The link-capacity estimate, bps, when there is one. */
  readonly linkCapacityBps: number | undefined;
  /**
   * Sets the round-trip time.
   *
   * @param rttMs Milliseconds.
   */
  setRtt(rttMs: number): void;
  /**
   * Sets the starting bitrate and marks the estimate valid.
   *
   * @param bitrateBps bps.
   */
  setStartBitrate(bitrateBps: number): void;
  /**
   * Overrides the estimate with a probe result.
   *
   * @param bitrateBps bps.
   * @param nowUs µs.
   */
  setEstimate(bitrateBps: number, nowUs: number): void;
  /**
   * Runs one rate-control step.
   *
   * @param usage The fused detector state.
   * @param throughputBps The incoming rate, or `undefined` while unknown.
   * @param nowUs µs.
   * @returns The new target, bps.
   */
  update(usage: BandwidthUsage, throughputBps: number | undefined, nowUs: number): number;
  /**
   * Whether an overuse may cut the estimate again already.
   *
   * @param nowUs µs.
   * @param throughputBps The incoming rate, bps.
   * @returns `true` when a further reduction is due.
   */
  timeToReduceFurther(nowUs: number, throughputBps: number): boolean;
  /**
   * How often estimates are reported while nothing forces one.
   *
   * @returns µs.
   */
  getFeedbackIntervalUs(): number;
}
