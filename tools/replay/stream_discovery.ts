/**
 * Finds the RTP streams of a capture and, for each, the header-extension ID that carries
 * abs-send-time, without the SDP: the ID whose 3-byte values advance like a 6.18 fixed-point clock
 * (2^18 per second, wrapping every 64 s) at the pace of the capture's own timestamps.
 *
 * The test is deliberately plain: over consecutive packets of a stream, the send-time advance
 * (signed, so each step may wrap) is summed and compared with the capture-time advance over the
 * same steps. A sender's clock and the capture's clock agree to parts per million; queueing shifts
 * the sum by at most the queue's growth. Other 3-byte extensions fail it: transmission time offset
 * and playout delay are constants, an RTP-timestamp-like counter advances at another rate, and
 * unrelated values do not advance steadily.
 *
 * @module
 */

import type { RtpHeader } from "../../core/rtp_header.ts";
import { SsrcMap } from "../../core/ssrc_map.ts";
import type { Datagram } from "./datagram.ts";

/** Units of the 6.18 fixed-point abs-send-time per second. */
const UNITS_PER_SECOND = 2 ** 18;
const WRAP = 2 ** 24;
/** Steps longer than half the 64 s wrap cannot be unwrapped; they are left out of the sums. */
const MAX_STEP_US = 30_000_000;
/** Candidates need this many packets with the element, and this share of the stream's packets. */
const MIN_PACKETS = 10;
const MIN_SHARE = 0.5;
/** Capture time the steps must span before the rate can be judged. */
const MIN_SPAN_S = 0.5;
/** At most this share of steps may go backwards (reordering). */
const MAX_BACKWARD_SHARE = 0.1;
/** Allowed difference between send-time and capture-time advance: fixed plus proportional. */
const TOLERANCE_S = 0.25;
const TOLERANCE_SHARE = 0.1;

/** How one extension ID of one stream fared in the abs-send-time test. */
export interface ExtensionCandidate {
  /** The element ID. */
  id: number;
  /** Packets of the stream carrying the element, of any length. */
  packets: number;
  /** Of those, packets where it is 3 bytes long. */
  threeBytePackets: number;
  /** Capture time spanned by the steps between consecutive 3-byte values, seconds. */
  captureSpanS: number;
  /** Send time those values advanced over the same steps, seconds. */
  sendSpanS: number;
  /** Share of steps where the value went backwards. */
  backwardShare: number;
  /** Why it is not abs-send-time, or `undefined` when it passes. */
  rejection: string | undefined;
}

/** What discovery found about one RTP stream. */
export interface StreamReport {
  /** The SSRC. */
  ssrc: number;
  /** RTP packets. */
  packets: number;
  /** Payload plus padding bytes (the estimator's packet size), summed. */
  payloadBytes: number;
  /** Capture time of the first packet, µs since the Unix epoch. */
  firstTimeUs: number;
  /** Capture time of the last packet, µs since the Unix epoch. */
  lastTimeUs: number;
  /** Payload types seen, ascending. */
  payloadTypes: number[];
  /** Source and destination of the first packet, `"a:port → b:port"`. */
  flow: string;
  /** Extension IDs seen, ascending, with their abs-send-time test results. */
  extensions: ExtensionCandidate[];
  /** The abs-send-time extension ID found, or `undefined`. */
  absSendTimeId: number | undefined;
}

/** One stream's running sums. */
class StreamTracker {
  packets = 0;
  payloadBytes = 0;
  firstTimeUs = 0;
  lastTimeUs = 0;
  readonly payloadTypes = new Uint8Array(128);
  readonly elementPackets = new Uint32Array(256);
  readonly threeBytePackets = new Uint32Array(256);
  readonly previousValue = new Int32Array(256).fill(-1);
  readonly previousTimeUs = new Float64Array(256);
  readonly steps = new Uint32Array(256);
  readonly backwardSteps = new Uint32Array(256);
  readonly sendSumUs = new Float64Array(256);
  readonly captureSumUs = new Float64Array(256);

  constructor(readonly ssrc: number, readonly flow: string) {}
}

/**
 * Collects the RTP streams of a capture; feed it as a {@linkcode CaptureVisitor}, then ask for
 * the {@linkcode StreamDiscovery.prototype.report}.
 *
 * @example
 * ```ts
 * import { StreamDiscovery } from "./stream_discovery.ts";
 * import { RtpHeader } from "../../core/rtp_header.ts";
 * import { Datagram } from "./datagram.ts";
 * import assert from "node:assert/strict";
 *
 * const discovery = new StreamDiscovery();
 * const header = new RtpHeader();
 * for (let i = 0; i < 100; i++) {
 *   const timeUs = 1e15 + i * 20_000; // A packet every 20 ms…
 *   const value = Math.round(i * 0.02 * 2 ** 18) & 0xffffff; // …stamped with its send time.
 *   header.parse(Uint8Array.of(
 *     0x90, 96, 0, i, 0, 0, 0, 0, 0, 0, 0, 9, // SSRC 9
 *     0xbe, 0xde, 0, 1, 0x52, value >> 16, (value >> 8) & 0xff, value & 0xff, // ID 5
 *   ));
 *   discovery.onRtp(header, timeUs, new Datagram());
 * }
 * const [stream] = discovery.report();
 * assert.equal(stream.ssrc, 9);
 * assert.equal(stream.absSendTimeId, 5);
 * ```
 */
export class StreamDiscovery {
  readonly #streams = new SsrcMap<StreamTracker>();
  #rtcpPackets = 0;

  /**
   * Takes one RTP packet.
   *
   * @param header The parsed header, with its packet.
   * @param timeUs Capture time in µs.
   * @param datagram Where it came from (read for the first packet of a stream only).
   */
  onRtp(header: RtpHeader, timeUs: number, datagram: Datagram): void {
    let stream = this.#streams.get(header.ssrc);
    if (!stream) {
      const flow = datagram.ipVersion === 0
        ? "?"
        : `${datagram.source()} → ${datagram.destination()}`;
      stream = new StreamTracker(header.ssrc, flow);
      stream.firstTimeUs = timeUs;
      this.#streams.set(header.ssrc, stream);
    }
    stream.packets++;
    stream.payloadBytes += header.payloadSize;
    stream.lastTimeUs = Math.max(stream.lastTimeUs, timeUs);
    stream.payloadTypes[header.payloadType] = 1;
    const packet = header.packet;
    while (header.nextExtension()) {
      const id = header.elementId;
      stream.elementPackets[id]++;
      if (header.elementLength !== 3) continue;
      stream.threeBytePackets[id]++;
      const at = header.elementOffset;
      const value = (packet[at] << 16) | (packet[at + 1] << 8) | packet[at + 2];
      const previous = stream.previousValue[id];
      const stepUs = timeUs - stream.previousTimeUs[id];
      if (previous >= 0 && stepUs >= 0 && stepUs <= MAX_STEP_US) {
        let delta = (value - previous + WRAP) % WRAP;
        if (delta >= WRAP / 2) delta -= WRAP;
        stream.steps[id]++;
        if (delta < 0) stream.backwardSteps[id]++;
        stream.sendSumUs[id] += delta * 1e6 / UNITS_PER_SECOND;
        stream.captureSumUs[id] += stepUs;
      }
      stream.previousValue[id] = value;
      stream.previousTimeUs[id] = timeUs;
    }
  }

  /**
   * Counts one RTCP packet.
   *
   * @param _packet The RTCP packet.
   * @param _timeUs Capture time in µs.
   */
  onRtcp(_packet: Uint8Array, _timeUs: number): void {
    this.#rtcpPackets++;
  }

  /** RTCP packets seen. */
  get rtcpPackets(): number {
    return this.#rtcpPackets;
  }

  /**
   * What was found, with the abs-send-time test run on every extension ID of every stream.
   *
   * @returns The streams, ascending by SSRC.
   */
  report(): StreamReport[] {
    const reports: StreamReport[] = [];
    for (const ssrc of this.#streams.sortedKeys()) {
      const stream = this.#streams.get(ssrc)!;
      const extensions: ExtensionCandidate[] = [];
      for (let id = 1; id < 256; id++) {
        if (stream.elementPackets[id] > 0) extensions.push(judge(stream, id));
      }
      let best: ExtensionCandidate | undefined;
      for (const candidate of extensions) {
        if (candidate.rejection !== undefined) continue;
        if (
          !best || rateError(candidate) < rateError(best) ||
          (rateError(candidate) === rateError(best) &&
            candidate.threeBytePackets > best.threeBytePackets)
        ) {
          best = candidate;
        }
      }
      const payloadTypes: number[] = [];
      stream.payloadTypes.forEach((seen, pt) => seen && payloadTypes.push(pt));
      reports.push({
        ssrc,
        packets: stream.packets,
        payloadBytes: stream.payloadBytes,
        firstTimeUs: stream.firstTimeUs,
        lastTimeUs: stream.lastTimeUs,
        payloadTypes,
        flow: stream.flow,
        extensions,
        absSendTimeId: best?.id,
      });
    }
    return reports;
  }
}

function rateError(candidate: ExtensionCandidate): number {
  return Math.abs(candidate.sendSpanS / candidate.captureSpanS - 1);
}

/** Runs the abs-send-time test on one extension ID of one stream. */
function judge(stream: StreamTracker, id: number): ExtensionCandidate {
  const steps = stream.steps[id];
  const captureSpanS = stream.captureSumUs[id] / 1e6;
  const sendSpanS = stream.sendSumUs[id] / 1e6;
  const candidate: ExtensionCandidate = {
    id,
    packets: stream.elementPackets[id],
    threeBytePackets: stream.threeBytePackets[id],
    captureSpanS,
    sendSpanS,
    backwardShare: steps > 0 ? stream.backwardSteps[id] / steps : 0,
    rejection: undefined,
  };
  const tolerance = TOLERANCE_S + TOLERANCE_SHARE * captureSpanS;
  if (candidate.threeBytePackets === 0) {
    candidate.rejection = "never 3 bytes long";
  } else if (
    candidate.threeBytePackets < MIN_PACKETS ||
    candidate.threeBytePackets < MIN_SHARE * stream.packets
  ) {
    candidate.rejection =
      `3 bytes long in only ${candidate.threeBytePackets} of ${stream.packets} packets`;
  } else if (captureSpanS < MIN_SPAN_S) {
    candidate.rejection = `spans only ${captureSpanS.toFixed(3)} s, too short to judge`;
  } else if (candidate.backwardShare > MAX_BACKWARD_SHARE) {
    candidate.rejection = `goes backwards in ${
      (candidate.backwardShare * 100).toFixed(0)
    } % of steps`;
  } else if (!(sendSpanS > 0) || Math.abs(sendSpanS - captureSpanS) > tolerance) {
    candidate.rejection = `advances ${sendSpanS.toFixed(3)} s as 6.18 seconds over ${
      captureSpanS.toFixed(3)
    } s of capture`;
  }
  return candidate;
}
