/**
 * The options every front end of the receive-side controller takes (the inline estimator, the
 * coordinators, through them the interceptor): where estimates and REMB packets go and how REMB is
 * sent. Each is documented, defaulted and checked here once.
 *
 * @module
 */

import { checkU32 } from "./_bytes.ts";
import { checkFunctions, checkRange } from "./estimator_settings.ts";
import type { RembCallback, RembPolicy } from "./receive_side_controller.ts";

/** Where estimates and REMB packets go, and how REMB is sent. */
export interface ReceiveSideOptions {
  /**
   * Called synchronously whenever libwebrtc would call `OnReceiveBitrateChanged`, with the estimate
   * in bps and the SSRCs it covers, ascending. The SSRC array is frozen and reused until the set of
   * streams changes, so keeping it is safe and reporting allocates nothing.
   */
  onEstimate?: (bitrateBps: number, ssrcs: number[]) => void;
  /**
   * Called with each REMB packet to send: the packet, its bitrate, its SSRCs (those of the
   * estimate, or for a cap the active ones; the first 255 in ascending order when there are more,
   * as the packet's count is 8 bits), and why it was sent. Without it no REMB is encoded.
   */
  onRemb?: RembCallback;
  /**
   * SSRC the REMB packets are sent from.
   *
   * @default {1}
   */
  senderSsrc?: number;
  /**
   * Longest time between two REMB packets while an estimate exists, ms (resent by the periodic
   * step).
   *
   * @default {1000}
   */
  rembIntervalMs?: number;
  /**
   * A bitrate to announce by REMB from the first packet until the first estimate, repeated every
   * `min(rembIntervalMs, 250)` ms, for senders that adopt an early REMB as their start rate (Chrome
   * does in its first ~2 s of media); left out, nothing goes out before the first estimate but a cap
   * (libwebrtc's behaviour). At most `maxBitrateBps`.
   *
   * @default {undefined}
   */
  startRembBps?: number;
  /**
   * Receives what a callback threw; the packet path carries on regardless.
   *
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
}

/** The REMB defaults. */
export const REMB_DEFAULTS = { senderSsrc: 1, rembIntervalMs: 1000 } as const;

/**
 * Checks the front-end options and resolves the REMB policy.
 *
 * @param subject What is being created, for error messages ("estimator", "coordinator").
 * @param options The options.
 * @param maxBitrateBps The estimate's ceiling, which the start announcement may not exceed.
 * @returns The REMB policy with defaults applied.
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} An option is out of range, or `startRembBps` exceeds `maxBitrateBps`.
 * @example
 * ```ts
 * import { resolveRembPolicy } from "./receive_side_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveRembPolicy("estimator", {}, 30e6).resendIntervalMs, 1000);
 * assert.throws(() => resolveRembPolicy("estimator", { startRembBps: 2e6 }, 1e6), RangeError);
 * ```
 */
export function resolveRembPolicy(
  subject: string,
  options: ReceiveSideOptions,
  maxBitrateBps: number,
): RembPolicy {
  checkRange(subject, "senderSsrc", options.senderSsrc, { min: 0, max: 0xffffffff, integer: true });
  checkRange(subject, "rembIntervalMs", options.rembIntervalMs, {
    min: 1,
    max: 60_000,
    integer: false,
  });
  checkRange(subject, "startRembBps", options.startRembBps, {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
  });
  if (options.startRembBps !== undefined && options.startRembBps > maxBitrateBps) {
    throw new RangeError(
      `Cannot create ${subject} as 'startRembBps' must not exceed 'maxBitrateBps': current values are ${options.startRembBps} and ${maxBitrateBps}`,
    );
  }
  checkFunctions(subject, options as Record<string, unknown>, ["onEstimate", "onRemb", "onError"]);
  return {
    senderSsrc: options.senderSsrc ?? REMB_DEFAULTS.senderSsrc,
    resendIntervalMs: options.rembIntervalMs ?? REMB_DEFAULTS.rembIntervalMs,
    startRembBps: options.startRembBps,
  };
}

/**
 * Checks a round-trip time given to a front end's `setRtt`.
 *
 * @param rttMs The value.
 * @throws {TypeError} Not a number.
 * @throws {RangeError} Not a positive finite number.
 * @example
 * ```ts
 * import { checkRtt } from "./receive_side_options.ts";
 * import assert from "node:assert/strict";
 * checkRtt(40);
 * assert.throws(() => checkRtt(0), RangeError);
 * assert.throws(() => checkRtt("40" as unknown as number), TypeError);
 * ```
 */
export function checkRtt(rttMs: number): void {
  if (typeof rttMs !== "number") {
    throw new TypeError(
      `Cannot set RTT as 'rttMs' must be a number: current type is ${typeof rttMs}`,
    );
  }
  if (!(rttMs > 0) || !Number.isFinite(rttMs)) {
    throw new RangeError(
      `Cannot set RTT as 'rttMs' must be a positive finite number: current value is ${rttMs}`,
    );
  }
}

/**
 * Checks an SSRC given to a front end's method.
 *
 * @param ssrc The value.
 * @param action What is being done, for the message ("remove stream").
 * @throws {TypeError} Not a number.
 * @throws {RangeError} Not a 32-bit unsigned integer.
 * @example
 * ```ts
 * import { checkSsrc } from "./receive_side_options.ts";
 * import assert from "node:assert/strict";
 * checkSsrc(0xffffffff, "remove stream");
 * assert.throws(() => checkSsrc(-1, "remove stream"), RangeError);
 * ```
 */
export function checkSsrc(ssrc: number, action: string): void {
  checkU32(ssrc, action, "ssrc");
}
