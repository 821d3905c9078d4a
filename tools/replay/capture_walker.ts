/**
 * One pass over a capture: every record is decoded down to UDP, sorted into RTP, RTCP and the
 * rest, and RTP headers are parsed; RTP and RTCP packets go to a visitor, everything else is
 * counted so that the report can say what was skipped and why.
 *
 * @module
 */

import { RtpHeader } from "../../core/rtp_header.ts";
import { readCapture, type ReadCaptureOptions } from "./capture_reader.ts";
import type { CaptureInfo, CaptureRecord } from "./capture_record.ts";
import type { ByteSource } from "./chunked_reader.ts";
import { Datagram, type DatagramOutcome, decodeDatagram } from "./datagram.ts";
import { classifyPayload, type PayloadKind } from "./demux.ts";

/**
 * Receives the RTP and RTCP packets of a capture, in file order. A callback may return a promise:
 * reading waits for it (the packet's bytes stay valid meanwhile).
 */
export interface CaptureVisitor {
  /**
   * Called with each well-formed RTP packet.
   *
   * @param header The parsed header; `header.packet` is the RTP packet. Reused afterwards.
   * @param timeUs Capture time, µs since the Unix epoch.
   * @param datagram Where the packet came from. Reused afterwards.
   * @returns Nothing, or a promise to wait for.
   */
  onRtp?(header: RtpHeader, timeUs: number, datagram: Datagram): void | Promise<void>;
  /**
   * Called with each RTCP packet (a compound packet is one call).
   *
   * @param packet The UDP payload. Its buffer is reused afterwards.
   * @param timeUs Capture time, µs since the Unix epoch.
   * @returns Nothing, or a promise to wait for.
   */
  onRtcp?(packet: Uint8Array, timeUs: number): void | Promise<void>;
}

/** Counts of what a pass met, for the report. */
export interface WalkCounts {
  /** Records read. */
  records: number;
  /** Outcome of decoding each record down to UDP. */
  datagrams: Record<DatagramOutcome, number>;
  /** Kinds of the UDP payloads. */
  payloads: Record<PayloadKind, number>;
  /** RTP-looking payloads whose header is malformed (counted in `payloads.rtp`). */
  malformedRtp: number;
  /** The first malformed RTP header, described with its file offset. */
  firstMalformedRtp: string | undefined;
  /** File offset of the first IP fragment. */
  firstFragmentOffset: number | undefined;
  /** Records with an unsupported link type, by link type. */
  unsupportedLinkTypes: Record<number, number>;
  /** Capture time of the first record, µs since the Unix epoch; `NaN` without records. */
  firstTimeUs: number;
  /** Latest capture time seen, µs since the Unix epoch; `NaN` without records. */
  lastTimeUs: number;
  /** Records whose time is earlier than an earlier record's. */
  backwardSteps: number;
}

/** What one pass learned. */
export interface WalkResult {
  /** The file's format, interfaces and a truncated last record. */
  info: CaptureInfo;
  /** What the records were. */
  counts: WalkCounts;
}

/**
 * Reads a whole capture, handing its RTP and RTCP packets to `visitor`.
 *
 * @param source The file, at its start.
 * @param visitor Receives the packets.
 * @param options Chunk size, and `onProgress`, which receives the bytes read so far after each
 * chunk.
 * @returns The file's description and the counts.
 * @throws {CaptureFormatError} If the file is not a readable capture.
 * @example
 * ```ts
 * import { walkCapture } from "./capture_walker.ts";
 * import type { RtpHeader } from "../../core/rtp_header.ts";
 * import { encodePcap, generateSyntheticCall } from "./synthetic_capture.ts";
 * import assert from "node:assert/strict";
 *
 * const file = encodePcap(generateSyntheticCall({ durationS: 2 }).packets);
 * let done = false;
 * const source = {
 *   read(buffer: Uint8Array) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     buffer.set(file.subarray(0, buffer.length));
 *     return Promise.resolve(Math.min(buffer.length, file.length));
 *   },
 * };
 * const ssrcs = new Set<number>();
 * const visitor = {
 *   onRtp: (header: RtpHeader) => {
 *     ssrcs.add(header.ssrc);
 *   },
 * };
 * const { counts } = await walkCapture(source, visitor, { chunkBytes: file.length });
 * assert.equal(ssrcs.size, 2); // Video and audio.
 * assert.equal(counts.payloads.stun, 1);
 * ```
 */
export async function walkCapture(
  source: ByteSource,
  visitor: CaptureVisitor,
  options: ReadCaptureOptions = {},
): Promise<WalkResult> {
  const counts: WalkCounts = {
    records: 0,
    datagrams: {
      "udp": 0,
      "unsupported-link": 0,
      "not-ip": 0,
      "not-udp": 0,
      "fragment": 0,
      "snapped": 0,
      "malformed": 0,
    },
    payloads: { rtp: 0, rtcp: 0, stun: 0, zrtp: 0, dtls: 0, "turn-channel": 0, other: 0 },
    malformedRtp: 0,
    firstMalformedRtp: undefined,
    firstFragmentOffset: undefined,
    unsupportedLinkTypes: {},
    firstTimeUs: NaN,
    lastTimeUs: NaN,
    backwardSteps: 0,
  };
  const datagram = new Datagram();
  const header = new RtpHeader();
  const onRecord = (record: CaptureRecord): void | Promise<void> => {
    const timeUs = record.timeUs;
    if (counts.records++ === 0) {
      counts.firstTimeUs = timeUs;
      counts.lastTimeUs = timeUs;
    } else if (timeUs < counts.lastTimeUs) {
      counts.backwardSteps++;
    } else {
      counts.lastTimeUs = timeUs;
    }
    const outcome = decodeDatagram(record, datagram);
    counts.datagrams[outcome]++;
    if (outcome !== "udp") {
      if (outcome === "fragment" && counts.firstFragmentOffset === undefined) {
        counts.firstFragmentOffset = record.offset;
      } else if (outcome === "unsupported-link") {
        counts.unsupportedLinkTypes[record.linkType] =
          (counts.unsupportedLinkTypes[record.linkType] ?? 0) + 1;
      }
      return;
    }
    const payload = datagram.bytes.subarray(datagram.start, datagram.end);
    const kind = classifyPayload(payload);
    counts.payloads[kind]++;
    if (kind === "rtcp") {
      return visitor.onRtcp?.(payload, timeUs);
    } else if (kind === "rtp") {
      if (header.parse(payload)) {
        return visitor.onRtp?.(header, timeUs, datagram);
      } else if (counts.malformedRtp++ === 0) {
        const at = record.dataOffset + (datagram.start - record.start);
        counts.firstMalformedRtp =
          `${header.errorMessage()} (the RTP packet starts at file offset ${at})`;
      }
    }
  };
  const info = await readCapture(source, onRecord, options);
  return { info, counts };
}
