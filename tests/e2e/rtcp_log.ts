/**
 * What the receiver heard from Chromium over RTCP, as evidence for the receiver RTT: the packet
 * types of every decrypted compound, the XR report blocks they held, the DLRR sub-blocks that
 * answered our RRTRs, and the first few compounds with an XR packet, as hex.
 *
 * @module
 */

import { DLRR_BLOCK_TYPE, RTCP_XR_PACKET_TYPE } from "../../core/rtcp_xr.ts";

const NAMES: Record<number, string> = {
  200: "SR",
  201: "RR",
  202: "SDES",
  203: "BYE",
  204: "APP",
  205: "RTPFB",
  206: "PSFB",
  207: "XR",
};
const XR_BLOCKS: Record<number, string> = {
  4: "RRTR",
  5: "DLRR",
  42: "target bitrate",
};
const KEPT_HEX = 3;

/** The RTCP a receiver heard. */
export class RtcpLog {
  /** Decrypted datagrams. */
  datagrams = 0;
  /** RTCP packets by type name. */
  readonly packets = new Map<string, number>();
  /** XR report blocks by type name. */
  readonly xrBlocks = new Map<string, number>();
  /** DLRR sub-blocks naming `ourSsrc`. */
  dlrrForUs = 0;
  /** DLRR sub-blocks naming another SSRC. */
  dlrrForOthers = 0;
  /** The first compounds that held an XR packet, as hex, with their time. */
  readonly xrHex: { atMs: number; hex: string }[] = [];
  readonly #ourSsrc: number;

  /** @param ourSsrc The SSRC our RRTRs are sent from. */
  constructor(ourSsrc: number) {
    this.#ourSsrc = ourSsrc;
  }

  /**
   * Records one decrypted datagram.
   *
   * @param bytes Its RTCP packets.
   * @param atMs When it arrived, ms.
   * @example
   * ```ts
   * import { RtcpLog } from "./rtcp_log.ts";
   * import { encodeXrDlrr } from "../../core/rtcp_xr.ts";
   * import assert from "node:assert/strict";
   * const log = new RtcpLog(1);
   * log.record(encodeXrDlrr({ senderSsrc: 9, subBlocks: [{ ssrc: 1, lastRr: 2, delaySinceLastRr: 3 }] }), 0);
   * assert.equal(log.dlrrForUs, 1);
   * assert.match(log.summary(), /XR 1/);
   * ```
   */
  record(bytes: Uint8Array, atMs: number): void {
    this.datagrams++;
    let hasXr = false;
    for (let at = 0; at + 4 <= bytes.length;) {
      const type = bytes[at + 1];
      const size = (((bytes[at + 2] << 8) | bytes[at + 3]) + 1) * 4;
      if (at + size > bytes.length) break;
      const name = NAMES[type] ?? `PT ${type}`;
      this.packets.set(name, (this.packets.get(name) ?? 0) + 1);
      if (type === RTCP_XR_PACKET_TYPE) {
        hasXr = true;
        this.#xr(bytes.subarray(at, at + size));
      }
      at += size;
    }
    if (hasXr && this.xrHex.length < KEPT_HEX) {
      this.xrHex.push({
        atMs,
        hex: [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""),
      });
    }
  }

  #xr(packet: Uint8Array): void {
    for (let at = 8; at + 4 <= packet.length;) {
      const type = packet[at];
      const size = 4 + 4 * ((packet[at + 2] << 8) | packet[at + 3]);
      if (at + size > packet.length) break;
      const name = XR_BLOCKS[type] ?? `BT ${type}`;
      this.xrBlocks.set(name, (this.xrBlocks.get(name) ?? 0) + 1);
      if (type === DLRR_BLOCK_TYPE) {
        for (let sub = at + 4; sub + 12 <= at + size; sub += 12) {
          const ssrc = ((packet[sub] << 24) | (packet[sub + 1] << 16) | (packet[sub + 2] << 8) |
            packet[sub + 3]) >>> 0;
          if (ssrc === this.#ourSsrc) this.dlrrForUs++;
          else this.dlrrForOthers++;
        }
      }
      at += size;
    }
  }

  /**
   * One line for the report.
   *
   * @returns The counts.
   */
  summary(): string {
    const list = (map: Map<string, number>) =>
      [...map].map(([name, count]) => `${name} ${count}`).join(", ") || "none";
    return `${this.datagrams} RTCP datagrams from Chromium; packets: ${list(this.packets)}; ` +
      `XR blocks: ${list(this.xrBlocks)}; DLRR sub-blocks for our SSRC ${this.dlrrForUs}, ` +
      `for others ${this.dlrrForOthers}`;
  }
}
