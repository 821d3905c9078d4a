/**
 * The enhanced profile's delay-gated ramp: while the standing queue stays short, the estimate grows
 * multiplicatively (+50 % a second) while it is far below the last capacity learnt at a congestion,
 * and additively (one packet per RTT + 100 ms, the same step for every flow, so that flows sharing
 * a link converge to equal rates as under AIMD) near it and above it until what is delivered shows
 * the link carries more, or the memory has aged. It leads what is delivered by at most twice the
 * growth it allows (the sender's encoder takes about a second to follow), so it never runs away
 * from what flows. NADA's accelerated ramp-up (RFC 8698 §4.3) grows on the same condition; the
 * slow-near-the-last-maximum rule is SCReAM v2's (draft-johansson-ccwg-rfc8298bis-screamv2).
 * libwebrtc instead grows by at most 8 %/s, and only additively (~1.5 %/s at 1 Mbit/s) once it has
 * seen an overuse, until the incoming rate leaves its link-capacity band (reference §8.3).
 *
 * @module
 */

// Far from any known capacity: +50 % a second (NADA's largest γ). Chrome's encoder meets a higher
// target at about 80 % within a second, so the rate it sends roughly follows this; a 1 → 2 Mbit/s
// step is taken in under 2 s.
const FAST_GROWTH_PER_S = 0.5;
// "Near" is from 7.5 % below the last capacity to 3 % above it; twice as far the growth is fast.
// Below: the drain leaves the estimate 10 % or more under the delivery rate; the ramp takes the
// first part of that back fast and climbs the last 7.5 % by the additive step, a few seconds on
// which the queue stays short (with 5 % the estimate was back over the capacity within a second:
// p95 queues 10–20 ms longer in RFC 8867's cases and 25–70 ms RTT p95 against real Chromium;
// with 10 % §5.1 lost 3 % utilization). Above: delivering 3–6 % more than the capacity learnt,
// with no standing queue, is the link showing more, the first sign after a capacity rise (10 %
// took §5.1's 1 → 2.5 Mbit/s step 3 s longer; the delivery rate's own noise over a quarter
// second only ever starts a climb that the queue gate stops).
const NEAR_BELOW = 0.075;
const NEAR_ABOVE = 0.03;
// The memory of the last capacity holds for 30 s, then fades over 10 s, so a capacity learnt
// long ago, e.g. before an application-limited spell, does not hold the ramp back for ever. (A
// fade after 5 s made the estimate overshoot every few seconds on a steady link: the additive
// step, not the clock, is what finds out that the link carries more.)
const MEMORY_HOLD_US = 30_000_000;
const MEMORY_FADE_US = 10_000_000;

// The estimate may lead the delivery rate by twice its growth per second (the encoder follows a
// higher target at about 80 % within a second, and the delivery rate is a quarter second late), and
// by at least 10 % (a sender whose next step, e.g. a simulcast layer, needs more is not held back
// when there is no recent capacity: the fast growth allows twice what flows).
const LEAD_PER_GROWTH = 2;
const MIN_LEAD = 0.1;
const LEAD_BPS = 10_000;

/**
 * How fast the estimate may grow, given the last capacity learnt at a congestion (or by a probe)
 * and its age.
 *
 * @example
 * ```ts
 * import { RampUp } from "./ramp_up.ts";
 * import assert from "node:assert/strict";
 * const ramp = new RampUp();
 * // Nothing known: +50 % a second.
 * assert.equal(ramp.increasePerSecond(500_000, 500_000, 30_000, 0), 250_000);
 * assert.equal(ramp.limit(500_000, 0.5), 1_010_000); // up to twice what flows
 * ramp.noteCapacity(1_000_000, 0);
 * // At the last capacity, or above it with nothing delivered to show more: the additive step.
 * assert.equal(ramp.increasePerSecond(1_000_000, 900_000, 30_000, 0), 30_000);
 * assert.equal(ramp.increasePerSecond(1_300_000, 900_000, 30_000, 0), 30_000);
 * // Far below it, more delivered than it, or its memory faded: fast.
 * assert.equal(ramp.increasePerSecond(600_000, 600_000, 30_000, 0), 300_000);
 * assert.equal(ramp.increasePerSecond(1_300_000, 1_250_000, 30_000, 0), 650_000);
 * assert.equal(ramp.increasePerSecond(1_000_000, 900_000, 30_000, 40_000_000), 500_000);
 * ```
 */
export class RampUp {
  #capacityBps = 0;
  #learntUs = 0;

  /** The last capacity learnt, bps; 0 when none. */
  get capacityBps(): number {
    return this.#capacityBps;
  }

  /**
   * Remembers a capacity: the delivery rate measured while a queue stood.
   *
   * @param bitrateBps The capacity, bps.
   * @param nowUs When, µs.
   */
  noteCapacity(bitrateBps: number, nowUs: number): void {
    this.#capacityBps = bitrateBps;
    this.#learntUs = nowUs;
  }

  /**
   * Raises the capacity remembered to what was delivered while a queue stood: the link was busy,
   * so that is its rate. (The rate at a cut alone can be low — the sender may already have backed
   * off — and a later, higher delivery rate would then pass as the link growing.)
   *
   * @param bitrateBps The delivery rate, bps.
   * @param nowUs When, µs.
   */
  noteSaturated(bitrateBps: number, nowUs: number): void {
    if (this.#capacityBps > 0 && bitrateBps > this.#capacityBps) {
      this.#capacityBps = bitrateBps;
      this.#learntUs = nowUs;
    }
  }

  /** Forgets the capacity. */
  forget(): void {
    this.#capacityBps = 0;
  }

  /**
   * The highest estimate the ramp allows over a delivery rate.
   *
   * @param deliveryBps What is delivered now, bps.
   * @param growth The growth per second in force.
   * @returns bps.
   */
  limit(deliveryBps: number, growth: number): number {
    const lead = LEAD_PER_GROWTH * growth > MIN_LEAD ? LEAD_PER_GROWTH * growth : MIN_LEAD;
    return Math.round(deliveryBps * (1 + lead)) + LEAD_BPS;
  }

  /**
   * The increase allowed now: additive while the estimate is at or above the last capacity (less
   * the near band) and nothing delivered shows the link carries more — the same step for every
   * flow, so that flows sharing a link converge to equal rates as under AIMD, each cut taking the
   * same share off each — and multiplicatively fast far below it, once what is delivered exceeds
   * it, or as the memory fades.
   *
   * @param estimateBps The current estimate, bps.
   * @param deliveredBps What is delivered now, bps.
   * @param additiveBps The additive step, bps a second.
   * @param nowUs µs.
   * @returns bps a second.
   */
  increasePerSecond(
    estimateBps: number,
    deliveredBps: number,
    additiveBps: number,
    nowUs: number,
  ): number {
    const fast = FAST_GROWTH_PER_S * estimateBps;
    const capacity = this.#capacityBps;
    if (capacity <= 0) return fast;
    const age = nowUs - this.#learntUs;
    const memory = age < MEMORY_HOLD_US
      ? 1
      : age < MEMORY_HOLD_US + MEMORY_FADE_US
      ? 1 - (age - MEMORY_HOLD_US) / MEMORY_FADE_US
      : 0;
    // The link carried more than the last capacity: it has grown.
    const above = (deliveredBps - capacity) / capacity;
    // How far the estimate still is below the near band.
    const below = (capacity - estimateBps) / capacity;
    const farAbove = above <= NEAR_ABOVE ? 0 : above < 2 * NEAR_ABOVE ? above / NEAR_ABOVE - 1 : 1;
    const farBelow = below <= NEAR_BELOW ? 0 : below < 2 * NEAR_BELOW ? below / NEAR_BELOW - 1 : 1;
    const slowness = (1 - farAbove) * (1 - farBelow) * memory;
    return fast * (1 - slowness) + additiveBps * slowness;
  }
}
