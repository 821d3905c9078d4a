/**
 * A synthetic call captured at the receiver, written as a pcap file: something to try the replay
 * on, and what its end-to-end test replays.
 *
 * A video sender (30 fps, abs-send-time in extension ID 3, a constant transmission-time-offset in
 * ID 5 as a decoy) and an audio sender (50 packets/s, audio level in ID 1, no abs-send-time) share
 * a bottleneck link that runs at 2 Mbit/s, drops to 1 Mbit/s for the middle third and recovers,
 * with a 200 ms drop-tail queue and 20 ms propagation. The receiver runs the same
 * {@linkcode Replayer} the replay tool uses; the REMBs it sends go into the capture (RTCP
 * receiver report + REMB, muxed on the RTP port) and back to the video sender, which sends at most
 * what they allow. A STUN binding request opens the capture and sender reports come every second.
 *
 * Run: `deno run --allow-write tools/replay/synthetic_capture.ts out.pcap [duration-s]`.
 *
 * @module
 */

import { dirname } from "node:path";
import { absSendTimeFromMicros } from "../../core/abs_send_time.ts";
import { encodeRemb } from "../../core/remb.ts";
import type { PacketInfo } from "../../core/types.ts";
import { Replayer } from "./replay.ts";

/** Options of {@linkcode generateSyntheticCall}. */
export interface SyntheticCallOptions {
  /**
   * Length of the call in seconds.
   *
   * @default {30}
   */
  durationS?: number;
  /**
   * Extension ID of abs-send-time on the video stream.
   *
   * @default {3}
   */
  absSendTimeId?: number;
  /**
   * The video sender's rate before the first REMB, bps.
   *
   * @default {300000}
   */
  startBitrateBps?: number;
}

/** One packet as the receiver captured it. */
export interface SyntheticPacket {
  /** Capture time, µs since the start of the call (integer). */
  timeUs: number;
  /** `true` for packets from the sender, `false` for the receiver's own RTCP. */
  fromSender: boolean;
  /** The UDP payload. */
  payload: Uint8Array;
}

/** The generated call. */
export interface SyntheticCall {
  /** Every packet, in capture order; the first is at time 0. */
  packets: SyntheticPacket[];
  /** The video packets as the receiver's estimator saw them (arrival in ms since time 0). */
  video: PacketInfo[];
  /** The REMBs the receiver sent. */
  rembs: { timeMs: number; bitrateBps: number }[];
}

/** SSRC of the synthetic video stream. */
export const VIDEO_SSRC = 0x1ce5_0001;
/** SSRC of the synthetic audio stream. */
export const AUDIO_SSRC = 0x1ce5_0002;
const RECEIVER_SSRC = 0x1ce5_0003;
const FPS = 30;
const MTU_PAYLOAD = 1100;
const PROPAGATION_US = 20_000;
const MAX_QUEUE_US = 200_000;
const MAX_BITRATE_BPS = 2_500_000;
const MIN_BITRATE_BPS = 50_000;

function capacityBps(timeUs: number, durationUs: number): number {
  return timeUs >= durationUs / 3 && timeUs < (2 * durationUs) / 3 ? 1_000_000 : 2_000_000;
}

/**
 * Simulates the call.
 *
 * @param options Duration, abs-send-time ID and start rate.
 * @returns Its packets, the video packets as fed to the receiver's estimator, and the REMBs.
 * @example
 * ```ts
 * import { generateSyntheticCall, VIDEO_SSRC } from "./synthetic_capture.ts";
 * import assert from "node:assert/strict";
 *
 * const call = generateSyntheticCall({ durationS: 3 });
 * assert.equal(call.packets[0].timeUs, 0);
 * assert.ok(call.video.every((packet) => packet.ssrc === VIDEO_SSRC));
 * assert.ok(call.rembs.length > 0);
 * ```
 */
export function generateSyntheticCall(options: SyntheticCallOptions = {}): SyntheticCall {
  const durationUs = (options.durationS ?? 30) * 1e6;
  const absSendTimeId = options.absSendTimeId ?? 3;
  const packets: SyntheticPacket[] = [];
  const video: PacketInfo[] = [];
  const rembs: { timeMs: number; bitrateBps: number }[] = [];
  let targetBps = options.startBitrateBps ?? 300_000;
  const senderUpdates: { atUs: number; bitrateBps: number }[] = [];
  const replayer = new Replayer({
    onRemb: (bitrateBps, _ssrcs, timeMs) => {
      rembs.push({ timeMs, bitrateBps });
      const rr = Uint8Array.of(0x80, 201, 0, 1, ...u32(RECEIVER_SSRC));
      const remb = encodeRemb({ senderSsrc: RECEIVER_SSRC, bitrateBps, ssrcs: [VIDEO_SSRC] });
      const timeUs = Math.round(timeMs * 1000);
      packets.push({ timeUs, fromSender: false, payload: concat([rr, remb]) });
      senderUpdates.push({ atUs: timeUs + PROPAGATION_US, bitrateBps });
    },
  });

  // The link: a FIFO drained at the capacity; arrivals in order, delivered as time passes.
  let linkFreeUs = 0;
  const inFlight: { arrivalUs: number; payload: Uint8Array; info: PacketInfo | undefined }[] = [];
  let delivered = 0;
  const deliverUntil = (timeUs: number): void => {
    while (delivered < inFlight.length && inFlight[delivered].arrivalUs <= timeUs) {
      const { arrivalUs: at, payload, info } = inFlight[delivered++];
      packets.push({ timeUs: at, fromSender: true, payload });
      if (info) {
        video.push(info);
        replayer.onPacket(info); // Synchronous: the default estimator.
      }
    }
  };
  const send = (sendUs: number, payload: Uint8Array, info: PacketInfo | undefined): void => {
    const startUs = Math.max(sendUs, linkFreeUs);
    if (startUs - sendUs > MAX_QUEUE_US) return; // Drop-tail.
    linkFreeUs = startUs +
      Math.round((payload.length + 28) * 8e6 / capacityBps(startUs, durationUs));
    const at = linkFreeUs + PROPAGATION_US;
    if (info) info.arrivalTimeMs = at / 1000;
    inFlight.push({ arrivalUs: at, payload, info });
  };

  packets.push({ timeUs: 0, fromSender: true, payload: stunBindingRequest() });
  let videoSequence = 0;
  let audioSequence = 0;
  let frame = 0;
  let audio = 0;
  for (;;) {
    const frameUs = Math.round((frame * 1e6) / FPS) + 10_000;
    const audioUs = audio * 20_000 + 10_000;
    const nowUs = Math.min(frameUs, audioUs);
    if (nowUs >= durationUs - PROPAGATION_US) break;
    deliverUntil(nowUs);
    while (senderUpdates.length > 0 && senderUpdates[0].atUs <= nowUs) {
      const { bitrateBps } = senderUpdates.shift()!;
      targetBps = Math.max(MIN_BITRATE_BPS, Math.min(bitrateBps, MAX_BITRATE_BPS));
    }
    if (frameUs <= audioUs) {
      // A key frame, three times the size, every 10 s.
      const frameBytes = Math.round((targetBps / 8 / FPS) * (frame % 300 === 0 ? 3 : 1));
      const count = Math.ceil(frameBytes / MTU_PAYLOAD);
      for (let i = 0; i < count; i++) {
        const sendUs = frameUs + Math.round((i * 5000) / count); // Paced over 5 ms.
        const size = Math.min(MTU_PAYLOAD, frameBytes - i * MTU_PAYLOAD);
        const absSendTime = absSendTimeFromMicros(sendUs);
        const rtpTimestamp = (frame * 3000) >>> 0;
        const payload = rtpPacket({
          ssrc: VIDEO_SSRC,
          payloadType: 96,
          sequence: videoSequence++,
          timestamp: rtpTimestamp,
          marker: i === count - 1,
          extensions: [
            [absSendTimeId, u24(absSendTime)],
            [5, [0, 0, 0]], // Transmission time offset, always 0.
          ],
          payloadSize: size,
        });
        const info: PacketInfo = {
          ssrc: VIDEO_SSRC,
          arrivalTimeMs: 0,
          payloadSize: size,
          rtpTimestamp,
          absSendTime,
        };
        send(sendUs, payload, info);
      }
      if (frame % FPS === 0) {
        const sr = new Uint8Array(28);
        sr.set([0x80, 200, 0, 6, ...u32(VIDEO_SSRC)]);
        send(frameUs, sr, undefined);
      }
      frame++;
    } else {
      const payload = rtpPacket({
        ssrc: AUDIO_SSRC,
        payloadType: 111,
        sequence: audioSequence++,
        timestamp: (audio * 960) >>> 0,
        marker: false,
        extensions: [[1, [0x80 | 40]]],
        payloadSize: 100,
      });
      send(audioUs, payload, undefined);
      audio++;
    }
  }
  deliverUntil(Infinity);
  packets.sort((a, b) => a.timeUs - b.timeUs); // Stable: a REMB stays after its packet.
  return { packets, video, rembs };
}

/** Options of {@linkcode encodePcap}. */
export interface EncodePcapOptions {
  /**
   * Capture time of the call's time 0, µs since the Unix epoch.
   *
   * @default {1700000000000000}
   */
  epochUs?: number;
}

/**
 * Writes packets as a classic pcap file: little-endian, microseconds, Ethernet, IPv4, UDP between
 * 192.0.2.10:50000 (sender) and 192.0.2.20:50002 (receiver).
 *
 * @param packets The packets, in capture order.
 * @param options The epoch of time 0.
 * @returns The file's bytes.
 * @example
 * ```ts
 * import { encodePcap } from "./synthetic_capture.ts";
 * import assert from "node:assert/strict";
 *
 * const file = encodePcap([{ timeUs: 0, fromSender: true, payload: new Uint8Array(10) }]);
 * assert.equal(file.length, 24 + 16 + 14 + 20 + 8 + 10);
 * ```
 */
export function encodePcap(
  packets: readonly SyntheticPacket[],
  options: EncodePcapOptions = {},
): Uint8Array {
  const epochUs = options.epochUs ?? 1_700_000_000_000_000;
  const header = new Uint8Array(24);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, 1, true); // Ethernet
  const parts: Uint8Array[] = [header];
  for (const packet of packets) {
    const frame = ethernetIpv4Udp(packet.payload, packet.fromSender);
    const record = new Uint8Array(16);
    const r = new DataView(record.buffer);
    const timeUs = epochUs + packet.timeUs;
    r.setUint32(0, Math.floor(timeUs / 1e6), true);
    r.setUint32(4, timeUs % 1e6, true);
    r.setUint32(8, frame.length, true);
    r.setUint32(12, frame.length, true);
    parts.push(record, frame);
  }
  return concat(parts);
}

function ethernetIpv4Udp(payload: Uint8Array, fromSender: boolean): Uint8Array {
  const sender = [192, 0, 2, 10];
  const receiver = [192, 0, 2, 20];
  const [source, destination] = fromSender ? [sender, receiver] : [receiver, sender];
  const [sourcePort, destinationPort] = fromSender ? [50_000, 50_002] : [50_002, 50_000];
  const frame = new Uint8Array(14 + 20 + 8 + payload.length);
  frame.set([2, 0, 0, 0, 0, fromSender ? 2 : 1, 2, 0, 0, 0, 0, fromSender ? 1 : 2, 0x08, 0x00]);
  const ipLength = 20 + 8 + payload.length;
  frame.set([0x45, 0, ipLength >> 8, ipLength & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0], 14);
  frame.set([...source, ...destination], 26);
  const udpLength = 8 + payload.length;
  frame.set([
    sourcePort >> 8,
    sourcePort & 0xff,
    destinationPort >> 8,
    destinationPort & 0xff,
    udpLength >> 8,
    udpLength & 0xff,
  ], 34);
  frame.set(payload, 42);
  return frame;
}

function rtpPacket(fields: {
  ssrc: number;
  payloadType: number;
  sequence: number;
  timestamp: number;
  marker: boolean;
  extensions: [number, number[]][];
  payloadSize: number;
}): Uint8Array {
  const elements: number[] = [];
  for (const [id, data] of fields.extensions) elements.push((id << 4) | (data.length - 1), ...data);
  while (elements.length % 4 !== 0) elements.push(0);
  const packet = new Uint8Array(12 + 4 + elements.length + fields.payloadSize);
  packet.set([
    0x90,
    (fields.marker ? 0x80 : 0) | fields.payloadType,
    (fields.sequence >> 8) & 0xff,
    fields.sequence & 0xff,
    ...u32(fields.timestamp),
    ...u32(fields.ssrc),
    0xbe,
    0xde,
    0,
    elements.length / 4,
    ...elements,
  ]);
  // A recognisable payload: the sequence number's low byte.
  packet.fill(fields.sequence & 0xff, 16 + elements.length);
  return packet;
}

function stunBindingRequest(): Uint8Array {
  const packet = new Uint8Array(20);
  packet.set([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]); // Type, length, magic cookie.
  return packet;
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function u24(value: number): number[] {
  return [(value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

if (import.meta.main) {
  const [path, duration] = Deno.args;
  if (!path || path === "--help" || path === "-h") {
    console.log(
      "Usage: deno run --allow-write tools/replay/synthetic_capture.ts <out.pcap> [duration-s]",
    );
    Deno.exit(path ? 0 : 1);
  }
  const durationS = duration === undefined ? 60 : Number(duration);
  if (!(durationS > 0 && durationS <= 3600)) {
    console.error(`error: the duration must be a number of seconds in (0, 3600]: got ${duration}`);
    Deno.exit(1);
  }
  const call = generateSyntheticCall({ durationS });
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, encodePcap(call.packets));
  console.log(
    `wrote ${path}: ${call.packets.length} packets over ${durationS} s, ${call.rembs.length} REMBs`,
  );
}
