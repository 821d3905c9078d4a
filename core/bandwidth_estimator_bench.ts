/**
 * Per-packet cost of the estimator on a 2.5 Mbit/s, 30 fps stream, against a baseline that only
 * reads the abs-send-time extension out of the packet bytes. Each iteration handles 1000 packets, so
 * the reported time per iteration in µs is the cost per packet in ns. The "generate" row is the
 * synthetic stream's own cost, to subtract from the estimator rows.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { BandwidthEstimator } from "./bandwidth_estimator.ts";
import type { PacketInfo } from "./types.ts";
import { SyntheticStream } from "../tests/_helpers/synthetic_stream.ts";

const PACKETS_PER_ITERATION = 1000;
const EXTENSION_ID = 3;

/** One RTP packet: 12-byte header, one-byte-form extension block with abs-send-time, payload. */
function rtpPacket(absSendTime: number, payloadSize: number): Uint8Array {
  const bytes = new Uint8Array(12 + 8 + payloadSize);
  bytes[0] = 0x90; // V=2, X=1
  bytes[1] = 96;
  bytes[12] = 0xbe;
  bytes[13] = 0xde;
  bytes[15] = 1; // one 32-bit word of extensions
  bytes[16] = (EXTENSION_ID << 4) | 2; // length 3
  bytes[17] = absSendTime >>> 16;
  bytes[18] = (absSendTime >>> 8) & 0xff;
  bytes[19] = absSendTime & 0xff;
  return bytes;
}

// A ring of real packet buffers for the baseline, as a receiver would see them.
const stream = new SyntheticStream(2_500_000);
const scratch: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
const buffers: Uint8Array[] = [];
for (let i = 0; i < 4096; i++) {
  stream.next(scratch);
  buffers.push(rtpPacket(scratch.absSendTime!, scratch.payloadSize));
}

/** Reads the abs-send-time of a packet by walking its one-byte extension elements. */
function readAbsSendTime(bytes: Uint8Array): number {
  const csrcCount = bytes[0] & 0x0f;
  let offset = 12 + csrcCount * 4;
  const words = (bytes[offset + 2] << 8) | bytes[offset + 3];
  offset += 4;
  const end = offset + words * 4;
  while (offset < end) {
    const id = bytes[offset] >> 4;
    const length = (bytes[offset] & 0x0f) + 1;
    if (id === EXTENSION_ID) {
      return (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
    }
    offset += 1 + length;
  }
  return -1;
}

let cursor = 0;
const sink = new Float64Array(1);
Deno.bench({
  name: "read abs-send-time from packet bytes (1000 packets)",
  group: "per packet",
  baseline: true,
  fn() {
    let sum = 0;
    for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
      sum += readAbsSendTime(buffers[cursor++ & 4095]);
    }
    sink[0] += sum;
  },
});

{
  const source = new SyntheticStream(2_500_000);
  const packet: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
  Deno.bench({
    name: "read + generate the packet fields only (1000 packets)",
    group: "per packet",
    fn() {
      let sum = 0;
      for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
        source.next(packet);
        packet.absSendTime = readAbsSendTime(buffers[cursor++ & 4095]);
        sum += packet.absSendTime;
      }
      sink[0] += sum;
    },
  });
}

for (const grouping of ["per-stream", "transport"] as const) {
  for (const filter of ["kalman", "trendline"] as const) {
    const estimator = new BandwidthEstimator({ grouping, filter });
    const source = new SyntheticStream(2_500_000);
    const packet: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
    Deno.bench({
      name: `read + BandwidthEstimator.onPacket, ${grouping}, ${filter} (1000 packets)`,
      group: "per packet",
      fn() {
        for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
          source.next(packet);
          packet.absSendTime = readAbsSendTime(buffers[cursor++ & 4095]);
          estimator.onPacket(packet);
        }
      },
    });
  }
}
