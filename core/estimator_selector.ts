/**
 * Picks the estimator from the packets themselves, as libwebrtc's ReceiveSideCongestionController
 * does (reference §1): the first packet with abs-send-time starts the abs-send-time estimator; 30
 * consecutive packets without it go back to RTP timestamps. Every switch starts from scratch.
 *
 * @module
 */

import type { EstimatorKind } from "./lane_table.ts";

/** Consecutive packets without abs-send-time after which the RTP-timestamp estimator takes over. */
export const TIME_OFFSET_SWITCH_THRESHOLD = 30;

/**
 * Tracks which estimator is active.
 *
 * @example
 * ```ts
 * import { EstimatorSelector } from "./estimator_selector.ts";
 * import assert from "node:assert/strict";
 * const selector = new EstimatorSelector();
 * assert.equal(selector.onPacket(true), true); // start the abs-send-time estimator
 * for (let i = 0; i < 29; i++) assert.equal(selector.onPacket(false), false);
 * assert.equal(selector.onPacket(false), true); // the 30th packet without it switches back
 * assert.equal(selector.kind, "rtp-timestamp");
 * ```
 */
export class EstimatorSelector {
  #kind: EstimatorKind | undefined;
  /** Switches between the two estimators (the first choice is not one). */
  switches = 0;
  #packetsWithoutAbsSendTime = 0;
  // `kind === "abs-send-time"` as a boolean: a string comparison costs checks on every packet.
  #absSendTime = false;

  /** The active estimator, or `undefined` before the first packet. */
  get kind(): EstimatorKind | undefined {
    return this.#kind;
  }

  /**
   * Registers a packet.
   *
   * @param hasAbsSendTime Whether it carries abs-send-time.
   * @returns `true` when a fresh estimator of {@linkcode EstimatorSelector.kind} must start.
   */
  onPacket(hasAbsSendTime: boolean): boolean {
    if (hasAbsSendTime) {
      this.#packetsWithoutAbsSendTime = 0;
      if (this.#absSendTime === true) return false;
      if (this.#kind !== undefined) this.switches++;
      this.#kind = "abs-send-time";
      this.#absSendTime = true;
      return true;
    }
    if (this.#kind === undefined) {
      this.#kind = "rtp-timestamp";
      return true;
    }
    if (
      this.#kind === "abs-send-time" &&
      ++this.#packetsWithoutAbsSendTime >= TIME_OFFSET_SWITCH_THRESHOLD
    ) {
      this.switches++;
      this.#kind = "rtp-timestamp";
      this.#absSendTime = false;
      return true;
    }
    return false;
  }
}
