/**
 * Sorts UDP payloads on a shared port: STUN, DTLS, TURN channels and RTP/RTCP by their first byte
 * (RFC 7983 §7), then RTCP from RTP by the second (RFC 5761 §4); and finds the REMB messages in a
 * compound RTCP packet.
 *
 * @module
 */

import { isRtcp } from "../../core/rtp_header.ts";
import { decodeRemb, isRemb, type Remb } from "../../core/remb.ts";

/**
 * What a UDP payload is, by RFC 7983's first-byte ranges.
 *
 * - `"rtp"`, `"rtcp"`: first byte 128–191, told apart by the RTCP packet types 192–223.
 * - `"stun"`: 0–3. `"zrtp"`: 16–19. `"dtls"`: 20–63. `"turn-channel"`: 64–79.
 * - `"other"`: anything else, or an empty payload.
 */
export type PayloadKind = "rtp" | "rtcp" | "stun" | "zrtp" | "dtls" | "turn-channel" | "other";

/**
 * Classifies a UDP payload.
 *
 * @param payload The UDP payload.
 * @returns Its kind.
 * @example
 * ```ts
 * import { classifyPayload } from "./demux.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(classifyPayload(Uint8Array.of(0x80, 0x60, 0, 1)), "rtp");
 * assert.equal(classifyPayload(Uint8Array.of(0x80, 0xc8, 0, 6)), "rtcp"); // Sender report.
 * assert.equal(classifyPayload(Uint8Array.of(0x00, 0x01, 0, 0)), "stun");
 * assert.equal(classifyPayload(Uint8Array.of(0x17, 0xfe, 0xfd)), "dtls");
 * ```
 */
export function classifyPayload(payload: Uint8Array): PayloadKind {
  if (payload.length === 0) return "other";
  const first = payload[0];
  if (first >= 128 && first <= 191) return isRtcp(payload) ? "rtcp" : "rtp";
  if (first <= 3) return "stun";
  if (first >= 16 && first <= 19) return "zrtp";
  if (first >= 20 && first <= 63) return "dtls";
  if (first >= 64 && first <= 79) return "turn-channel";
  return "other";
}

/**
 * Finds the REMB messages in a compound RTCP packet, walking its packets by their length fields.
 * A malformed or encrypted (SRTCP) remainder ends the walk quietly: SRTCP encrypts everything
 * after the first 8 bytes, so its REMBs cannot be read.
 *
 * @param compound The RTCP packet (one UDP payload).
 * @returns The REMBs it holds, in order; usually none.
 * @example
 * ```ts
 * import { findRembs } from "./demux.ts";
 * import { encodeRemb } from "../../core/remb.ts";
 * import assert from "node:assert/strict";
 *
 * const receiverReport = Uint8Array.of(0x80, 201, 0, 1, 0, 0, 0, 1);
 * const remb = encodeRemb({ senderSsrc: 1, bitrateBps: 500_000, ssrcs: [7] });
 * const compound = new Uint8Array([...receiverReport, ...remb]);
 * assert.deepEqual(findRembs(compound).map((r) => r.bitrateBps), [500_000]);
 * ```
 */
export function findRembs(compound: Uint8Array): Remb[] {
  const found: Remb[] = [];
  let at = 0;
  while (compound.length - at >= 4 && compound[at] >>> 6 === 2) {
    const length = (((compound[at + 2] << 8) | compound[at + 3]) + 1) * 4;
    if (at + length > compound.length) break;
    if (isRemb(compound, at)) {
      try {
        found.push(decodeRemb(compound.subarray(at, at + length)));
      } catch {
        // A REMB that does not decode is not a REMB the receiver sent; skip it.
      }
    }
    at += length;
  }
  return found;
}
