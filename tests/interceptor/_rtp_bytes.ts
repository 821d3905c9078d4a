/**
 * RTP packets as bytes for the interceptor tests, built from the estimator's packet records with
 * the send time in the header extension of choice.
 *
 * @module
 */

import type { PacketInfo } from "../../core/types.ts";
import { rtp, u24 } from "../_helpers/capture_bytes.ts";

/** How the send time travels. */
export interface SendTimeEncoding {
  /** Which extension carries it; `"none"` leaves the packet without extension. */
  kind: "abs-send-time" | "abs-capture-time" | "none";
  /** Its ID. */
  id?: number;
  /** Write the two-byte extension form. */
  twoByte?: boolean;
  /** abs-capture-time: the whole seconds to add (a multiple of 64 keeps the mapped value). */
  epochSeconds?: number;
}

/**
 * Builds the packet a sender would have sent for a record.
 *
 * @param packet The record (its `absSendTime` is the send time to encode).
 * @param encoding Where to put the send time.
 * @param sequence The RTP sequence number.
 * @returns The packet bytes: 12-byte header, extension block, `payloadSize` bytes.
 */
export function rtpBytes(packet: PacketInfo, encoding: SendTimeEncoding, sequence = 0): Uint8Array {
  const id = encoding.id ?? 3;
  const extensions: [number, number[]][] = [];
  if (encoding.kind === "abs-send-time" && packet.absSendTime !== undefined) {
    extensions.push([id, u24(packet.absSendTime)]);
  } else if (encoding.kind === "abs-capture-time" && packet.absSendTime !== undefined) {
    const seconds = (encoding.epochSeconds ?? 3_900_000_000) + (packet.absSendTime >>> 18);
    const fraction = ((packet.absSendTime & 0x3ffff) << 14) >>> 0;
    extensions.push([id, [...u32(seconds), ...u32(fraction)]]);
  }
  return rtp({
    ssrc: packet.ssrc,
    sequence: sequence & 0xffff,
    timestamp: packet.rtpTimestamp,
    extensions: extensions.length > 0 ? extensions : undefined,
    twoByte: encoding.twoByte,
    payloadSize: packet.payloadSize,
  });
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
