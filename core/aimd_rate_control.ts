/**
 * The additive-increase / multiplicative-decrease rate controller (reference §8, libwebrtc's
 * AimdRateControl), with its unit-type rounding rules.
 *
 * Times are integer microseconds and rates integer bits per second, as in libwebrtc.
 *
 * @module
 */

import { llround } from "./_math.ts";
import { LinkCapacityEstimator } from "./link_capacity_estimator.ts";
import type { BandwidthUsage, RateControlState } from "./types.ts";

const DEFAULT_MIN_BITRATE_BPS = 5_000;
const DEFAULT_MAX_BITRATE_BPS = 30_000_000;
const INITIALIZATION_TIME_US = 5_000_000;
const BETA = 0.85;
const DEFAULT_RTT_MS = 200;
const FRAME_INTERVAL_US = 33_333; // 1 s / 30, integer microseconds
const PACKET_SIZE_BYTES = 1200;
const RTCP_SIZE_BYTES = 80;

/** Options of {@linkcode AimdRateControl}. */
export interface AimdRateControlOptions {
  /**
   * Floor of the estimate in bps.
   *
   * @default {5000}
   */
  minBitrateBps?: number;
  /**
   * Ceiling of the estimate in bps, and the bitrate it starts from before it is initialized.
   *
   * @default {30000000}
   */
  maxBitrateBps?: number;
}

/**
 * Turns detector states and the measured incoming rate into a target bitrate: multiplicative
 * increase (8 %/s) until a link capacity is known, additive near it, and a cut to 85 % of the
 * measured rate on overuse.
 *
 * @example
 * ```ts
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import assert from "node:assert/strict";
 * const aimd = new AimdRateControl();
 * aimd.setEstimate(264_000, 0);
 * aimd.update("overusing", 260_000, 100_000);
 * assert.equal(aimd.latestEstimateBps, 216_000); // 0.85 × 260 k − 5 k
 * ```
 */
export class AimdRateControl {
  readonly #minBitrateBps: number;
  readonly #maxBitrateBps: number;
  readonly #linkCapacity = new LinkCapacityEstimator();
  #currentBitrateBps: number;
  #latestThroughputBps: number;
  #state: RateControlState = "hold";
  #timeLastBitrateChangeUs = -Infinity;
  #timeFirstThroughputUs = -Infinity;
  #initialized = false;
  #rttMs = DEFAULT_RTT_MS;
  #lastDecreaseBps = -1; // -1: no decrease yet

  /**
   * Creates an uninitialized controller.
   *
   * @param options Bitrate bounds.
   */
  constructor(options: AimdRateControlOptions = {}) {
    this.#minBitrateBps = options.minBitrateBps ?? DEFAULT_MIN_BITRATE_BPS;
    this.#maxBitrateBps = options.maxBitrateBps ?? DEFAULT_MAX_BITRATE_BPS;
    this.#currentBitrateBps = this.#maxBitrateBps;
    this.#latestThroughputBps = this.#maxBitrateBps;
  }

  /** Whether an estimate exists (from throughput, a probe, an overuse or a start bitrate). */
  get validEstimate(): boolean {
    return this.#initialized;
  }

  /** The current target in bps. */
  get latestEstimateBps(): number {
    return this.#currentBitrateBps;
  }

  /** The rate-control state after the last update. */
  get state(): RateControlState {
    return this.#state;
  }

  /** The round-trip time used for response-time figures, in milliseconds. */
  get rttMs(): number {
    return this.#rttMs;
  }

  /** The link-capacity estimate in bps, or `undefined` when there is none. */
  get linkCapacityBps(): number | undefined {
    return this.#linkCapacity.hasEstimate ? this.#linkCapacity.estimateBps : undefined;
  }

  /**
   * Sets the starting bitrate and marks the estimate valid.
   *
   * @param bitrateBps Start bitrate in bps.
   */
  setStartBitrate(bitrateBps: number): void {
    this.#currentBitrateBps = bitrateBps;
    this.#latestThroughputBps = bitrateBps;
    this.#initialized = true;
  }

  /**
   * Sets the round-trip time.
   *
   * @param rttMs Round-trip time in milliseconds.
   */
  setRtt(rttMs: number): void {
    this.#rttMs = rttMs;
  }

  /**
   * Overrides the estimate (a probe result), clamped to the bounds.
   *
   * @param bitrateBps New estimate in bps.
   * @param nowUs Current time in microseconds.
   */
  setEstimate(bitrateBps: number, nowUs: number): void {
    this.#initialized = true;
    this.#currentBitrateBps = this.#clamp(bitrateBps);
    this.#timeLastBitrateChangeUs = nowUs;
  }

  /**
   * Runs one rate-control step.
   *
   * @param usage The detector state.
   * @param throughputBps The measured incoming rate, or `undefined` when unavailable.
   * @param nowUs Current time in microseconds.
   * @returns The new target in bps.
   */
  update(usage: BandwidthUsage, throughputBps: number | undefined, nowUs: number): number {
    if (!this.#initialized) {
      // Start from what has been received, once there are 5 s of it.
      if (this.#timeFirstThroughputUs === -Infinity) {
        if (throughputBps !== undefined) this.#timeFirstThroughputUs = nowUs;
      } else if (
        nowUs - this.#timeFirstThroughputUs > INITIALIZATION_TIME_US && throughputBps !== undefined
      ) {
        this.#currentBitrateBps = throughputBps;
        this.#initialized = true;
      }
    }
    this.#changeBitrate(usage, throughputBps, nowUs);
    return this.#currentBitrateBps;
  }

  /**
   * Whether an overuse may cut the estimate again already: one RTT (10–200 ms) after the last change,
   * or at once when the incoming rate fell below half the estimate.
   *
   * @param nowUs Current time in microseconds.
   * @param throughputBps The measured incoming rate in bps.
   * @returns `true` when a further reduction is due.
   */
  timeToReduceFurther(nowUs: number, throughputBps: number): boolean {
    const rttUs = this.#rttMs * 1000;
    const intervalUs = rttUs < 10_000 ? 10_000 : rttUs > 200_000 ? 200_000 : rttUs;
    if (nowUs - this.#timeLastBitrateChangeUs >= intervalUs) return true;
    if (this.#initialized) return throughputBps < llround(0.5 * this.#currentBitrateBps);
    return false;
  }

  /**
   * How often feedback may be sent with 5 % of the bitrate for 80-byte RTCP packets.
   *
   * @returns The interval in microseconds, between 200 ms and 1 s.
   */
  getFeedbackIntervalUs(): number {
    const rtcpBitrateBps = llround(this.#currentBitrateBps * 0.05);
    if (rtcpBitrateBps <= 0) return 1_000_000;
    const intervalUs = Math.floor(RTCP_SIZE_BYTES * 8_000_000 / rtcpBitrateBps);
    // `| 0` (safe within the clamp) types the result as an integer, so returning it does not box.
    return (intervalUs < 200_000 ? 200_000 : intervalUs > 1_000_000 ? 1_000_000 : intervalUs) | 0;
  }

  /**
   * The additive-increase rate: half an average packet per response time, at least 4 kbit/s per
   * second.
   *
   * @returns Bits per second per second.
   */
  getNearMaxIncreaseRateBpsPerSecond(): number {
    const frameSizeBytes = Math.floor(
      (this.#currentBitrateBps * FRAME_INTERVAL_US + 4_000_000) / 8_000_000,
    );
    const packetsPerFrame = Math.ceil(frameSizeBytes / PACKET_SIZE_BYTES);
    const avgPacketBytes = llround(frameSizeBytes / packetsPerFrame);
    const responseTimeUs = (this.#rttMs * 1000 + 100_000) * 2;
    const increaseBps = Math.floor(avgPacketBytes * 8_000_000 / responseTimeUs);
    return increaseBps > 4000 ? increaseBps : 4000;
  }

  /**
   * The time the additive increase needs to win back the last decrease.
   *
   * @returns Microseconds, 3 s before any decrease, else between 2 s and 50 s.
   */
  getExpectedBandwidthPeriodUs(): number {
    if (this.#lastDecreaseBps < 0) return 3_000_000;
    const seconds = this.#lastDecreaseBps / this.getNearMaxIncreaseRateBpsPerSecond();
    const periodUs = Math.trunc(seconds * 1_000_000);
    return periodUs < 2_000_000 ? 2_000_000 : periodUs > 50_000_000 ? 50_000_000 : periodUs;
  }

  #changeBitrate(usage: BandwidthUsage, throughputBps: number | undefined, nowUs: number): void {
    const throughput = throughputBps ?? this.#latestThroughputBps;
    if (throughputBps !== undefined) this.#latestThroughputBps = throughputBps;
    // An overuse acts even before the first estimate, and creates one.
    if (!this.#initialized && usage !== "overusing") return;

    if (usage === "normal") {
      if (this.#state === "hold") {
        this.#timeLastBitrateChangeUs = nowUs;
        this.#state = "increase";
      }
    } else if (usage === "overusing") {
      this.#state = "decrease";
    } else {
      this.#state = "hold";
    }

    let next = this.#currentBitrateBps;
    if (this.#state === "increase") {
      if (throughput > this.#linkCapacity.upperBoundBps) this.#linkCapacity.reset();
      // Cap by what is actually received, so an idle sender cannot inflate the estimate.
      const limit = llround(1.5 * throughput) + 10_000;
      if (this.#currentBitrateBps < limit) {
        const increase = this.#linkCapacity.hasEstimate
          ? this.#additiveIncrease(nowUs)
          : this.#multiplicativeIncrease(nowUs);
        const increased = this.#currentBitrateBps + increase;
        next = increased < limit ? increased : limit;
      }
      this.#timeLastBitrateChangeUs = nowUs;
    } else if (this.#state === "decrease") {
      let decreased = llround(throughput * BETA);
      if (decreased > 5_000) decreased -= 5_000;
      if (decreased > this.#currentBitrateBps && this.#linkCapacity.hasEstimate) {
        decreased = llround(BETA * this.#linkCapacity.estimateBps);
      }
      const lowered = decreased < this.#currentBitrateBps;
      if (lowered) next = decreased;
      if (this.#initialized && throughput < this.#currentBitrateBps) {
        this.#lastDecreaseBps = lowered ? this.#currentBitrateBps - decreased : 0;
      }
      if (throughput < this.#linkCapacity.lowerBoundBps) this.#linkCapacity.reset();
      this.#initialized = true;
      this.#linkCapacity.onOveruseDetected(throughput);
      // Hold until the queues have drained.
      this.#state = "hold";
      this.#timeLastBitrateChangeUs = nowUs;
    }
    this.#currentBitrateBps = this.#clamp(next);
  }

  #multiplicativeIncrease(nowUs: number): number {
    let alpha = 1.08;
    if (this.#timeLastBitrateChangeUs !== -Infinity) {
      const seconds = (nowUs - this.#timeLastBitrateChangeUs) * 1e-6;
      alpha = Math.pow(alpha, seconds < 1.0 ? seconds : 1.0);
    }
    const increase = llround(this.#currentBitrateBps * (alpha - 1.0));
    return increase > 1000 ? increase : 1000;
  }

  #additiveIncrease(nowUs: number): number {
    const seconds = (nowUs - this.#timeLastBitrateChangeUs) * 1e-6;
    return Math.trunc(this.getNearMaxIncreaseRateBpsPerSecond() * seconds);
  }

  #clamp(bitrateBps: number): number {
    if (bitrateBps < this.#minBitrateBps) return this.#minBitrateBps;
    return bitrateBps > this.#maxBitrateBps ? this.#maxBitrateBps : bitrateBps;
  }
}
