/**
 * Shared vocabulary of the estimator: detector states, rate-control states and the packet record.
 *
 * @module
 */

/**
 * What a delay detector concluded from the latest delay-gradient sample (reference §7).
 *
 * - `"normal"`: delay is steady.
 * - `"underusing"`: delay is shrinking; a queue is draining.
 * - `"overusing"`: delay is growing; the path is congested.
 */
export type BandwidthUsage = "normal" | "underusing" | "overusing";

/** State of the AIMD rate controller (reference §8.3). */
export type RateControlState = "hold" | "increase" | "decrease";

/**
 * Orders detector states by severity, as libwebrtc's enum does: normal < underusing < overusing.
 *
 * @param usage A detector state.
 * @returns 0, 1 or 2.
 * @example
 * ```ts
 * import { usageSeverity } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * assert.ok(usageSeverity("overusing") > usageSeverity("underusing"));
 * ```
 */
export function usageSeverity(usage: BandwidthUsage): number {
  return usage === "normal" ? 0 : usage === "underusing" ? 1 : 2;
}

const USAGES: readonly BandwidthUsage[] = ["normal", "underusing", "overusing"];

/**
 * The detector state of a severity code, the inverse of {@linkcode usageSeverity}.
 *
 * @param severity 0, 1 or 2.
 * @returns The state.
 * @example
 * ```ts
 * import { usageOfSeverity, usageSeverity } from "./types.ts";
 * import assert from "node:assert/strict";
 * assert.equal(usageOfSeverity(usageSeverity("underusing")), "underusing");
 * ```
 */
export function usageOfSeverity(severity: number): BandwidthUsage {
  return USAGES[severity];
}

/**
 * One received RTP packet, as the estimator needs it.
 *
 * The estimator copies what it needs, so one object may be reused for every packet.
 */
export interface PacketInfo {
  /** Synchronization source of the packet's stream, a 32-bit unsigned integer. */
  ssrc: number;
  /** When the packet arrived, on the receiver's clock, in milliseconds (fractions allowed). */
  arrivalTimeMs: number;
  /** RTP payload plus padding bytes, without the RTP header (libwebrtc's "packet size"). */
  payloadSize: number;
  /** The RTP timestamp, a 32-bit unsigned integer. */
  rtpTimestamp: number;
  /** The raw 24-bit abs-send-time header extension value, absent when the packet has none. */
  absSendTime?: number;
}
