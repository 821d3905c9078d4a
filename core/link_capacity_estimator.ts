/**
 * Running estimate of the link capacity from the throughput measured at each overuse (reference
 * §8.4, libwebrtc's LinkCapacityEstimator).
 *
 * @module
 */

import { divideRoundToNearest } from "./_math.ts";

const DEVIATION_MIN = Math.fround(0.4);
const DEVIATION_MAX = Math.fround(2.5);

/**
 * Averages the throughput seen at overuse (α = 0.05) and tracks its normalized variance, giving
 * bounds of ±3σ that decide between additive and multiplicative increase.
 *
 * @example
 * ```ts
 * import { LinkCapacityEstimator } from "./link_capacity_estimator.ts";
 * import assert from "node:assert/strict";
 * const link = new LinkCapacityEstimator();
 * link.onOveruseDetected(500_000);
 * assert.equal(link.estimateBps, 500_000);
 * assert.ok(link.upperBoundBps > 500_000 && link.lowerBoundBps < 500_000);
 * ```
 */
export class LinkCapacityEstimator {
  #estimateKbps = 0;
  #hasEstimate = false;
  #deviationKbps = 0.4;

  /** Whether an overuse has been seen since the last reset. */
  get hasEstimate(): boolean {
    return this.#hasEstimate;
  }

  /** The estimate in bps (truncated); only meaningful when {@linkcode hasEstimate}. */
  get estimateBps(): number {
    return Math.trunc(this.#estimateKbps * 1000);
  }

  /** Estimate + 3σ in bps, or `Infinity` without an estimate. */
  get upperBoundBps(): number {
    if (!this.#hasEstimate) return Infinity;
    return Math.trunc((this.#estimateKbps + 3 * this.#deviationEstimateKbps()) * 1000);
  }

  /** max(0, estimate − 3σ) in bps, or 0 without an estimate. */
  get lowerBoundBps(): number {
    if (!this.#hasEstimate) return 0;
    const kbps = this.#estimateKbps - 3 * this.#deviationEstimateKbps();
    return Math.trunc((kbps > 0 ? kbps : 0) * 1000);
  }

  /** Drops the estimate (the deviation is kept). */
  reset(): void {
    this.#hasEstimate = false;
  }

  /**
   * Folds in the throughput measured when an overuse was detected.
   *
   * @param throughputBps The acknowledged or incoming rate in bps.
   */
  onOveruseDetected(throughputBps: number): void {
    this.#update(throughputBps, 0.05);
  }

  #update(sampleBps: number, alpha: number): void {
    const sampleKbps = divideRoundToNearest(sampleBps, 1000);
    if (!this.#hasEstimate) {
      this.#estimateKbps = sampleKbps;
      this.#hasEstimate = true;
    } else {
      this.#estimateKbps = (1 - alpha) * this.#estimateKbps + alpha * sampleKbps;
    }
    const norm = this.#estimateKbps > 1.0 ? this.#estimateKbps : 1.0;
    const errorKbps = this.#estimateKbps - sampleKbps;
    this.#deviationKbps = (1 - alpha) * this.#deviationKbps +
      alpha * errorKbps * errorKbps / norm;
    if (this.#deviationKbps < DEVIATION_MIN) this.#deviationKbps = DEVIATION_MIN;
    else if (this.#deviationKbps > DEVIATION_MAX) this.#deviationKbps = DEVIATION_MAX;
  }

  #deviationEstimateKbps(): number {
    return Math.sqrt(this.#deviationKbps * this.#estimateKbps);
  }
}
