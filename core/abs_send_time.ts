/**
 * The abs-send-time header extension: a 24-bit, 6.18 fixed-point seconds value that wraps every
 * 64 s, and the 32-bit tick scale the estimator works in (reference §3).
 *
 * @module
 */

/** Fraction bits of the 6.18 fixed-point wire value. */
export const ABS_SEND_TIME_FRACTION_BITS = 18;
/** Bits the 24-bit value is shifted up by, so that a 32-bit wrap coincides with the 64 s wrap. */
export const ABS_SEND_TIME_UPSHIFT = 8;
/** Ticks per second after the upshift: 2^26. */
export const TICKS_PER_SECOND: number = 2 ** (ABS_SEND_TIME_FRACTION_BITS + ABS_SEND_TIME_UPSHIFT);
/** Milliseconds per upshifted tick. */
export const TIMESTAMP_TO_MS: number = 1000 / TICKS_PER_SECOND;
/** Length of one send-time group, 5 ms, in upshifted ticks: 335 544. */
export const GROUP_LENGTH_TICKS: number = Math.floor((5 * TICKS_PER_SECOND) / 1000);
/** Period after which the wire value wraps, in milliseconds. */
export const ABS_SEND_TIME_WRAP_MS = 64_000;

/**
 * Converts a raw 24-bit abs-send-time to the 32-bit tick counter the inter-arrival stage uses.
 *
 * @param absSendTime The 24-bit wire value.
 * @returns The value shifted up by 8 bits, as an unsigned 32-bit integer.
 * @example
 * ```ts
 * import { absSendTimeToTicks } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * assert.equal(absSendTimeToTicks(0xffffff), 0xffffff00);
 * ```
 */
export function absSendTimeToTicks(absSendTime: number): number {
  return (absSendTime << ABS_SEND_TIME_UPSHIFT) >>> 0;
}

/**
 * The send time of a tick value in integer microseconds within the 64 s period (truncated, as
 * libwebrtc builds it from fractional milliseconds).
 *
 * @param ticks Upshifted abs-send-time ticks.
 * @returns Microseconds in [0, 64 000 000).
 * @example
 * ```ts
 * import { ticksToMicros, TICKS_PER_SECOND } from "./abs_send_time.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ticksToMicros(TICKS_PER_SECOND), 1_000_000);
 * ```
 */
export function ticksToMicros(ticks: number): number {
  return Math.trunc(ticks * TIMESTAMP_TO_MS * 1000);
}

/**
 * Encodes a sender clock reading as the 24-bit wire value, rounding to the nearest 2^-18 s.
 *
 * @param timeUs Sender time in microseconds (any non-negative integer; the value wraps at 64 s).
 * @returns The 24-bit abs-send-time.
 * @example
 * ```ts
 * import { absSendTimeFromMicros } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * assert.equal(absSendTimeFromMicros(1_000_000), 1 << 18);
 * assert.equal(absSendTimeFromMicros(64_000_000), 0);
 * ```
 */
export function absSendTimeFromMicros(timeUs: number): number {
  const wrapped = timeUs % (ABS_SEND_TIME_WRAP_MS * 1000);
  return Math.floor((wrapped * 2 ** ABS_SEND_TIME_FRACTION_BITS + 500_000) / 1_000_000) & 0xffffff;
}
