/**
 * A closed loop without a browser: libwebrtc M98, in-process through `npm:@roamhq/wrtc`, sends VP8
 * to a werift receiver running our estimator over 127.0.0.1, and its send rate follows our REMB.
 *
 * Three phases: free (the estimator alone decides), capped (the application caps REMB with
 * `setMaxDesiredBitrate`), lifted (the cap is removed). One line per second shows the cap, our REMB
 * and estimate, the rate we receive, and the sender's own view from `getStats()`: its send rate
 * (outbound-rtp bytesSent + headerBytesSent) and its available outgoing bitrate (which equals the
 * REMB when REMB limits it).
 *
 * ```sh
 * deno run -A examples/werift-receiver/wrtc_loop.ts [--free 8] [--capped 10] [--lifted 10] [--cap 300000] [--json]
 * ```
 *
 * `-A` is needed: wrtc is a Node-API addon. `--json` prints one JSON summary line at the end.
 *
 * @module
 */

import wrtc from "@roamhq/wrtc";
import { parseArgs } from "node:util";
import { createEstimatingPeerConnection } from "../../interceptor/werift.ts";
import { asDtlsServer, LOOPBACK_ICE, loopbackOnly, sleep, waitFor } from "./_loopback.ts";

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
/** Media packets werift may receive without emitting one RTP packet before the call is given up. */
const UNAUTHENTICATED_LIMIT = 200;

/** One second of the loop. */
export interface LoopSample {
  /** Seconds since media started. */
  t: number;
  /** Phase of the run. */
  phase: "free" | "capped" | "lifted";
  /** The cap in force, bps. */
  capBps: number | null;
  /** Our last REMB, bps. */
  rembBps: number | null;
  /** Our estimate, bps (0 before the first). */
  estimateBps: number;
  /** Payload + padding we received over the last second, bps. */
  receivedBps: number;
  /** The sender's RTP send rate over the last second (payload + headers), bps. */
  sendBps: number;
  /** The sender's available outgoing bitrate, bps. */
  availableBps: number | null;
  /** Encoded resolution and frame rate. */
  encoded: string;
}

/** What the run shows, for tests and reports. */
export interface LoopSummary {
  /** Every second. */
  samples: LoopSample[];
  /** REMB packets we sent. */
  rembs: number;
  /** Time from the first RTP packet to our first REMB, ms. */
  firstRembAfterMs: number | null;
  /** Packets our estimator saw, and how many lacked abs-send-time. */
  packets: number;
  /** Packets without abs-send-time. */
  packetsWithoutSendTime: number;
  /** The estimator's mode. */
  mode: string | undefined;
  /** Whether the receiver's answer mentioned transport-cc. */
  answerHasTransportCc: boolean;
  /** RTCP packets the sender sent that reached our estimator. */
  rtcpPackets: number;
  /** The sender's DLRR answers to our RRTRs taken as RTT samples. */
  rttSamples: number;
  /** The RTT we measured from them, ms (smoothed); null without one. */
  rttMs: number | null;
  /** The RTT the sender measured from our receiver reports, ms; null without one. */
  senderRttMs: number | null;
}

/**
 * Runs the loop.
 *
 * @param options Phase lengths in seconds and the cap.
 * @returns What was measured.
 */
export async function runLoop(
  options: { free: number; capped: number; lifted: number; capBps: number; print: boolean },
): Promise<LoopSummary> {
  const { RTCPeerConnection: WrtcPeerConnection, nonstandard } = wrtc;
  const sender = new WrtcPeerConnection({ iceServers: [] });
  const source = new nonstandard.RTCVideoSource();
  const track = source.createTrack();
  sender.addTransceiver(track, { direction: "sendonly" });

  let firstRtpMs: number | undefined;
  const receiver = createEstimatingPeerConnection(LOOPBACK_ICE, {
    onRtp: (_packet, arrivalTimeMs) => void (firstRtpMs ??= arrivalTimeMs),
  });
  let firstRembMs: number | undefined;
  let rembs = 0;
  let lastRembBps: number | null = null;
  let senderRttMs: number | null = null;
  receiver.estimator.subscribe((event) => {
    if (event.type !== "remb") return;
    rembs++;
    lastRembBps = event.bitrateBps;
    firstRembMs ??= event.timeMs;
  });
  const frames = new FrameSource(WIDTH, HEIGHT);
  let frameTimer: ReturnType<typeof setInterval> | undefined;
  try {
    // libwebrtc offers (as a browser publishing to a server would), transport-cc included.
    await sender.setLocalDescription(await sender.createOffer());
    await waitFor(() => sender.iceGatheringState === "complete", 5000, "wrtc gathering");
    await receiver.pc.setRemoteDescription({
      type: "offer",
      sdp: loopbackOnly(sender.localDescription!.sdp),
    });
    const weriftAnswer = await receiver.pc.createAnswer();
    await receiver.pc.setLocalDescription({ type: "answer", sdp: asDtlsServer(weriftAnswer.sdp) });
    await waitFor(() => receiver.pc.iceGatheringState === "complete", 5000, "werift gathering");
    const answer = loopbackOnly(receiver.pc.localDescription!.sdp);
    await sender.setRemoteDescription({ type: "answer", sdp: answer });

    let frameCount = 0;
    const frameTimerStarted = performance.now();
    frameTimer = setInterval(() => {
      frameCount++;
      source.onFrame(frames.next());
    }, 1000 / FPS);
    // ICE, DTLS and the first encoded frame: about a second here, far longer on a loaded machine.
    // As the DTLS client, werift's DTLS-SRTP session with this libwebrtc failed authentication on
    // every packet in about one call in ten (werift logs "dropping invalid SRTP packet"); as the
    // server (asDtlsServer) it has not. Should it happen, the call can never start, so it is named
    // at once rather than waited out.
    const mediaReceived = () =>
      receiver.pc.dtlsTransports.reduce((sum, transport) => sum + transport.packetsReceived, 0);
    try {
      await waitFor(
        () => firstRtpMs !== undefined || mediaReceived() >= UNAUTHENTICATED_LIMIT,
        30_000,
        () =>
          `first RTP packet (sender: ICE ${sender.iceConnectionState}, connection ` +
          `${sender.connectionState}; receiver: ICE ${receiver.pc.iceConnectionState}, connection ` +
          `${receiver.pc.connectionState}; ${frameCount} frames fed in ` +
          `${Math.round(performance.now() - frameTimerStarted)} ms; ${mediaReceived()} ` +
          `SRTP/SRTCP packets reached werift)`,
      );
      if (firstRtpMs === undefined) {
        throw new Error(
          `werift received ${mediaReceived()} SRTP/SRTCP packets and authenticated none ` +
            `(its DTLS-SRTP keys do not match the sender's): no first RTP packet`,
        );
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${await senderProgress(sender)}`);
    }

    const samples: LoopSample[] = [];
    let previousBytes = 0;
    let previousAt = performance.now();
    const total = options.free + options.capped + options.lifted;
    const start = performance.now();
    for (let t = 1; t <= total; t++) {
      const phase = t <= options.free
        ? "free"
        : t <= options.free + options.capped
        ? "capped"
        : "lifted";
      if (t === options.free + 1) receiver.estimator.setMaxDesiredBitrate(options.capBps);
      if (t === options.free + options.capped + 1) {
        receiver.estimator.setMaxDesiredBitrate(Infinity);
      }
      await sleep(Math.max(0, start + t * 1000 - performance.now()));
      const sender_ = await senderFigures(sender);
      senderRttMs = sender_.rttMs ?? senderRttMs;
      const now = performance.now();
      const sendBps = Math.round((sender_.bytes - previousBytes) * 8 * 1000 / (now - previousAt));
      previousBytes = sender_.bytes;
      previousAt = now;
      const stats = receiver.estimator.stats();
      const sample: LoopSample = {
        t,
        phase,
        capBps: phase === "capped" ? options.capBps : null,
        rembBps: lastRembBps,
        estimateBps: stats.estimateBps ?? 0,
        receivedBps: stats.incomingRateBps ?? 0,
        sendBps,
        availableBps: sender_.availableBps,
        encoded: sender_.encoded,
      };
      samples.push(sample);
      if (options.print) printSample(sample, t === 1);
    }
    const stats = receiver.estimator.stats();
    return {
      rtcpPackets: stats.rtcpPackets,
      rttSamples: stats.receiverRtt?.samples ?? 0,
      rttMs: stats.rttMs ?? null,
      senderRttMs,
      samples,
      rembs,
      firstRembAfterMs: firstRembMs === undefined || firstRtpMs === undefined
        ? null
        : firstRembMs - firstRtpMs,
      packets: stats.packets,
      packetsWithoutSendTime: stats.packetsWithoutSendTime,
      mode: stats.estimator.mode,
      answerHasTransportCc: /transport-cc/.test(answer),
    };
  } finally {
    if (frameTimer !== undefined) clearInterval(frameTimer);
    track.stop();
    sender.close();
    await receiver.close();
  }
}

async function senderFigures(
  pc: InstanceType<typeof wrtc.RTCPeerConnection>,
): Promise<{ bytes: number; availableBps: number | null; encoded: string; rttMs: number | null }> {
  let bytes = 0;
  let availableBps: number | null = null;
  let encoded = "";
  let rttMs: number | null = null;
  // deno-lint-ignore no-explicit-any
  (await pc.getStats()).forEach((report: any) => {
    if (report.type === "outbound-rtp" && report.kind === "video") {
      bytes += (report.bytesSent ?? 0) + (report.headerBytesSent ?? 0);
      encoded = `${report.frameWidth ?? "?"}x${report.frameHeight ?? "?"}@${
        Math.round(report.framesPerSecond ?? 0)
      }`;
    } else if (report.type === "remote-inbound-rtp" && report.kind === "video") {
      rttMs = typeof report.roundTripTime === "number" ? report.roundTripTime * 1000 : null;
    } else if (
      report.type === "candidate-pair" && report.nominated && report.state === "succeeded"
    ) {
      availableBps = report.availableOutgoingBitrate ?? null;
    }
  });
  return { bytes, availableBps, encoded, rttMs };
}

/** What the sender's statistics say it did: frames encoded, packets sent, the transport's state. */
async function senderProgress(pc: InstanceType<typeof wrtc.RTCPeerConnection>): Promise<string> {
  const parts: string[] = [];
  // deno-lint-ignore no-explicit-any
  (await pc.getStats()).forEach((report: any) => {
    if (report.type === "outbound-rtp") {
      parts.push(
        `outbound-rtp ${report.kind}: ${report.framesEncoded ?? "?"} frames encoded, ` +
          `${report.packetsSent ?? "?"} packets sent`,
      );
    } else if (report.type === "transport") {
      parts.push(
        `transport: DTLS ${report.dtlsState ?? "?"}, ${report.packetsSent ?? "?"} packets sent`,
      );
    } else if (report.type === "media-source") {
      parts.push(`media-source: ${report.frames ?? "?"} frames`);
    }
  });
  return parts.join("; ") || "no sender statistics";
}

function printSample(s: LoopSample, header: boolean): void {
  const kbps = (bps: number | null) => bps === null ? "-" : String(Math.round(bps / 1000));
  if (header) {
    console.log("  t | phase  |  cap | REMB | estimate | received | sent | available | encoded");
  }
  console.log(
    `${String(s.t).padStart(3)} | ${s.phase.padEnd(6)} | ${kbps(s.capBps).padStart(4)} | ${
      kbps(s.rembBps).padStart(4)
    } | ${kbps(s.estimateBps).padStart(8)} | ${kbps(s.receivedBps).padStart(8)} | ${
      kbps(s.sendBps).padStart(4)
    } | ${kbps(s.availableBps).padStart(9)} | ${s.encoded}`,
  );
}

/**
 * I420 frames of a smooth moving gradient with ±12 of grain: content a VP8 encoder needs a few
 * hundred kbit/s to a few Mbit/s for, so that its rate follows the target (pure noise makes it drop
 * frames; a still image needs almost nothing).
 */
class FrameSource {
  readonly #width: number;
  readonly #height: number;
  readonly #frame: Uint8Array;
  readonly #noise: Int8Array;
  #index = 0;

  constructor(width: number, height: number) {
    this.#width = width;
    this.#height = height;
    this.#frame = new Uint8Array(width * height * 3 / 2);
    this.#frame.fill(128, width * height); // Grey chroma.
    this.#noise = new Int8Array(width * height + 8191);
    let seed = 12345;
    for (let i = 0; i < this.#noise.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      this.#noise[i] = (seed >>> 16) % 25 - 12;
    }
  }

  next(): { width: number; height: number; data: Uint8Array } {
    const w = this.#width;
    const h = this.#height;
    const t = this.#index++;
    const y = this.#frame;
    const offset = (t * 7919) % 8191;
    for (let row = 0; row < h; row++) {
      const wave = 40 * Math.sin((row + 2 * t) / 37);
      for (let col = 0; col < w; col++) {
        const base = 128 + wave + 50 * Math.sin((col + 3 * t) / 53);
        const value = base + this.#noise[offset + row * w + col];
        y[row * w + col] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
    return { width: w, height: h, data: y };
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      free: { type: "string", default: "8" },
      capped: { type: "string", default: "10" },
      lifted: { type: "string", default: "10" },
      cap: { type: "string", default: "300000" },
      json: { type: "boolean", default: false },
    },
  });
  const summary = await runLoop({
    free: Number(values.free),
    capped: Number(values.capped),
    lifted: Number(values.lifted),
    capBps: Number(values.cap),
    print: !values.json,
  });
  if (values.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(
      `${summary.rembs} REMBs, the first ${
        summary.firstRembAfterMs?.toFixed(1)
      } ms after the first packet; ` +
        `${summary.packets} packets (${summary.packetsWithoutSendTime} without abs-send-time), estimator ${summary.mode}; ` +
        `answer ${summary.answerHasTransportCc ? "WITH" : "without"} transport-cc; ` +
        `RTT ${summary.rttMs?.toFixed(1) ?? "-"} ms from ${summary.rttSamples} DLRR answers ` +
        `(the sender's own, from our RR: ${summary.senderRttMs?.toFixed(1) ?? "-"} ms)`,
    );
  }
  // wrtc's native threads may keep the process alive.
  Deno.exit(0);
}
