/**
 * The abs-capture-time header extension read as a send clock: its 64-bit NTP capture timestamp
 * (UQ32.32 seconds) is mapped onto abs-send-time's 24-bit 6.18 scale, so the abs-send-time
 * estimator runs on it unchanged. The low 6 bits of the seconds and the top 18 bits of the fraction
 * are exactly what abs-send-time carries, so the result wraps every 64 s like abs-send-time does.
 *
 * Capture time is not send time: every packet of a frame carries the same capture time (when it
 * carries the extension at all; libwebrtc senders attach it about once a second), so a stream timed
 * this way groups like one timed by RTP timestamps, with the estimator's 5 ms burst grouping.
 *
 * @module
 */

import type { RtpHeader } from "./rtp_header.ts";

/** Data bytes of the element: the 64-bit capture timestamp, optionally a 64-bit clock offset. */
const SHORT_ELEMENT_BYTES = 8;
const LONG_ELEMENT_BYTES = 16;
/** abs-send-time keeps 18 fraction bits of the 32 in an NTP timestamp. */
const DROPPED_FRACTION_BITS = 14;
const SECONDS_MASK = 0x3f;
const FRACTION_BITS = 18;

/**
 * Maps an NTP timestamp (UQ32.32 seconds) to the 24-bit abs-send-time value of the same instant.
 *
 * @param seconds The integer part, a 32-bit unsigned integer.
 * @param fraction The fractional part in units of 2^-32 s, a 32-bit unsigned integer.
 * @returns The 24-bit 6.18 fixed-point value: seconds modulo 64 and the fraction truncated.
 * @example
 * ```ts
 * import { ntpToAbsSendTime } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * assert.equal(ntpToAbsSendTime(65, 0x8000_0000), (1 << 18) | (1 << 17)); // 65.5 s → 1.5 s
 * ```
 */
export function ntpToAbsSendTime(seconds: number, fraction: number): number {
  return ((seconds & SECONDS_MASK) << FRACTION_BITS) | (fraction >>> DROPPED_FRACTION_BITS);
}

/**
 * Reads the abs-capture-time element of a parsed packet as an abs-send-time value.
 *
 * @param header A header that parsed successfully.
 * @param id The element ID negotiated for abs-capture-time.
 * @returns The 24-bit value, or −1 when the packet has no such element or its data is neither 8 nor
 * 16 bytes.
 * @throws {RangeError} If `id` is not an integer in [1, 255].
 * @example
 * ```ts
 * import { readAbsCaptureTime } from "./abs_capture_time.ts";
 * import { RtpHeader } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const packet = new Uint8Array(28);
 * packet[0] = 0x90; // V=2, X
 * packet.set([0xbe, 0xde, 0x00, 0x03], 12); // one-byte form, three words
 * packet.set([0x57, 0, 0, 0, 65, 0x80, 0, 0, 0], 16); // ID 5, 8 bytes: 65.5 s
 * const header = new RtpHeader();
 * assert.ok(header.parse(packet));
 * assert.equal(readAbsCaptureTime(header, 5), 0x60000);
 * assert.equal(readAbsCaptureTime(header, 6), -1);
 * ```
 */
export function readAbsCaptureTime(header: RtpHeader, id: number): number {
  if (!header.findExtension(id)) return -1;
  const length = header.elementLength;
  if (length !== SHORT_ELEMENT_BYTES && length !== LONG_ELEMENT_BYTES) return -1;
  const p = header.packet;
  const at = header.elementOffset;
  const seconds = (p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
  const fraction = (p[at + 4] << 24) | (p[at + 5] << 16) | (p[at + 6] << 8) | p[at + 7];
  return ntpToAbsSendTime(seconds, fraction);
}
