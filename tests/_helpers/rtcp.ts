/**
 * Reads what the interceptor writes: a compound of a REMB and an RTCP XR packet with a Receiver
 * Reference Time block (or a REMB alone with `receiverRtt: false`).
 *
 * @module
 */

import { decodeRemb, isRemb, type Remb } from "../../core/remb.ts";
import { RRTR_BLOCK_TYPE, RTCP_XR_PACKET_TYPE } from "../../core/rtcp_xr.ts";

/** Each RTCP packet of a compound, as [offset, length]. */
function packetsOf(compound: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at + 4 <= compound.length;) {
    const length = (((compound[at + 2] << 8) | compound[at + 3]) + 1) * 4;
    out.push([at, length]);
    at += length;
  }
  return out;
}

/**
 * The REMB of a compound RTCP packet.
 *
 * @param compound What was written.
 * @returns The decoded REMB.
 * @throws {Error} There is none.
 */
export function rembOf(compound: Uint8Array): Remb {
  for (const [at, length] of packetsOf(compound)) {
    if (isRemb(compound, at)) return decodeRemb(compound.subarray(at, at + length));
  }
  throw new Error(`No REMB in the ${compound.length} bytes written`);
}

/** An RRTR found in a compound: the XR packet's SSRC and the compact NTP time it carries. */
export interface SentRrtr {
  /** SSRC of the XR packet. */
  senderSsrc: number;
  /** The middle 32 bits of its NTP timestamp, as a DLRR's LRR echoes it. */
  lastRr: number;
}

/**
 * The RRTR of a compound RTCP packet.
 *
 * @param compound What was written.
 * @returns The RRTR, or `undefined` without one.
 */
export function rrtrOf(compound: Uint8Array): SentRrtr | undefined {
  const u32 = (at: number) =>
    ((compound[at] << 24) | (compound[at + 1] << 16) | (compound[at + 2] << 8) |
      compound[at + 3]) >>> 0;
  for (const [at, length] of packetsOf(compound)) {
    if (compound[at + 1] !== RTCP_XR_PACKET_TYPE || length < 20) continue;
    if (compound[at + 8] !== RRTR_BLOCK_TYPE) continue;
    return {
      senderSsrc: u32(at + 4),
      lastRr: ((u32(at + 12) & 0xffff) * 65536 + (u32(at + 16) >>> 16)) >>> 0,
    };
  }
  return undefined;
}
