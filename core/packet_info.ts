/**
 * Validation of {@linkcode PacketInfo} at the API edge, shared by every entry point that takes
 * packets.
 *
 * @module
 */

import type { PacketInfo } from "./types.ts";

const MAX_UINT32 = 0xffffffff;

/** Throws the error for a bad packet field: TypeError for a non-number, RangeError otherwise. */
function rejectField(name: string, value: unknown, expected: string): never {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot process packet as '${name}' must be a number: current type is ${typeof value}`,
    );
  }
  throw new RangeError(
    `Cannot process packet as '${name}' must be ${expected}: current value is ${value}`,
  );
}

/**
 * Checks a packet and an optional processing time, throwing a `TypeError` for a field of the wrong
 * type and a `RangeError` for one out of range. Only tagged values are passed in, so checking
 * allocates nothing.
 *
 * @param packet The packet to check.
 * @param nowMs The processing time, if given.
 * @throws {TypeError} A field is not a number, or the packet is not an object.
 * @throws {RangeError} A field is out of range.
 * @example
 * ```ts
 * import { checkPacket } from "./packet_info.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => checkPacket({ ssrc: -1, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 }),
 *   RangeError,
 * );
 * ```
 */
export function checkPacket(packet: PacketInfo, nowMs?: number): void {
  if (typeof packet !== "object" || packet === null) {
    throw new TypeError("Cannot process packet as 'packet' must be an object");
  }
  const { ssrc, arrivalTimeMs, payloadSize, rtpTimestamp, absSendTime } = packet;
  // One pass of integer tests that compile to a few instructions each (`x >>> 0 === x` is "an
  // integer in [0, 2^32)", `x - x === 0` is "finite"); the slow pass finds the field to report.
  if (
    typeof ssrc === "number" && ssrc >>> 0 === ssrc &&
    typeof arrivalTimeMs === "number" && arrivalTimeMs - arrivalTimeMs === 0 &&
    typeof rtpTimestamp === "number" && rtpTimestamp >>> 0 === rtpTimestamp &&
    typeof payloadSize === "number" && (payloadSize & 0xffff) === payloadSize &&
    (absSendTime === undefined ||
      (typeof absSendTime === "number" && (absSendTime & 0xffffff) === absSendTime)) &&
    (nowMs === undefined || (typeof nowMs === "number" && nowMs - nowMs === 0))
  ) {
    return;
  }
  rejectPacket(packet, nowMs);
}

// The first failing check, in the documented order, throws.
function rejectPacket(packet: PacketInfo, nowMs: number | undefined): void {
  const { ssrc, arrivalTimeMs, payloadSize, rtpTimestamp, absSendTime } = packet;
  if (!(Number.isInteger(ssrc) && ssrc >= 0 && ssrc <= MAX_UINT32)) {
    rejectField("ssrc", ssrc, "a 32-bit unsigned integer");
  }
  if (!Number.isFinite(arrivalTimeMs)) rejectField("arrivalTimeMs", arrivalTimeMs, "finite");
  if (!(Number.isInteger(rtpTimestamp) && rtpTimestamp >= 0 && rtpTimestamp <= MAX_UINT32)) {
    rejectField("rtpTimestamp", rtpTimestamp, "a 32-bit unsigned integer");
  }
  if (!(Number.isInteger(payloadSize) && payloadSize >= 0 && payloadSize <= 0xffff)) {
    rejectField("payloadSize", payloadSize, "an integer in [0, 65535]");
  }
  if (
    absSendTime !== undefined &&
    !(Number.isInteger(absSendTime) && absSendTime >= 0 && absSendTime <= 0xffffff)
  ) {
    rejectField("absSendTime", absSendTime, "a 24-bit unsigned integer");
  }
  if (nowMs !== undefined && !Number.isFinite(nowMs)) rejectField("nowMs", nowMs, "finite");
}
