/**
 * The receiving end of the closed loop: a werift peer connection set up by the project's adapter
 * (interceptor/werift.ts) with its defaults, as an application would use it: goog-remb and
 * abs-send-time negotiated without transport-cc, every received RTP packet stamped on receipt and
 * estimated, REMB sent through werift's SRTCP path. The harness offers one recvonly video m-line.
 *
 * @module
 */

import type { RTCRtpTransceiver } from "werift";
import type { Profile } from "../../core/estimator_settings.ts";
import type { EstimatorInterceptorStats } from "../../interceptor/estimator_interceptor.ts";
import {
  createEstimatingPeerConnection,
  type WeriftAdapterStats,
  type WeriftEstimation,
} from "../../interceptor/werift.ts";
import { RtcpLog } from "./rtcp_log.ts";

/** The sender SSRC of our REMBs and RRTRs (the coordinator's default). */
const OUR_SSRC = 1;

/** An RTT sample the receiver took from one of Chromium's DLRR answers. */
export interface RttSample {
  /** `performance.now()` of the RTCP packet's arrival, ms. */
  atMs: number;
  /** The sample, ms. */
  sampleMs: number;
  /** The smoothed RTT after it, ms. */
  rttMs: number;
}

/** A REMB the estimator produced. */
export interface SentRemb {
  /** `performance.now()` when produced, ms. */
  atMs: number;
  /** Announced bitrate, bps. */
  bitrateBps: number;
  /** `"start"` while the adapter announces its start bitrate, else `"estimator"`. */
  source: "start" | "estimator";
  /** Whether it went to werift's RTCP path at once (else it waited for a writer). */
  written: boolean;
}

/** What the harness needs of the receiver. */
export interface Receiver {
  /** The werift peer connection; the harness does offer/answer with it. */
  readonly pc: WeriftEstimation["pc"];
  /** The recvonly video transceiver; the harness logs received RTP on its DTLS transport. */
  readonly transceiver: RTCRtpTransceiver;
  /** How the estimator is attached, for the report. */
  readonly description: string;
  /** Every REMB produced, in order. */
  readonly rembs: readonly SentRemb[];
  /** Every RTT sample taken from a DLRR answer, in order. */
  readonly rtts: readonly RttSample[];
  /** What Chromium sent over RTCP. */
  readonly rtcp: RtcpLog;
  /** What the adapter or estimator reported as failed (logger, lane failures). */
  readonly errors: readonly string[];
  /** Things worth knowing that are not failures (estimator switches). */
  readonly events: readonly string[];
  /**
   * The adapter's and the estimator's figures.
   *
   * @returns Snapshots of both.
   */
  stats(): { adapter: WeriftAdapterStats; estimator: EstimatorInterceptorStats };
  /** Closes the estimator and the peer connection. */
  close(): Promise<void>;
}

/**
 * Creates the receiver with its recvonly video transceiver, ready for `createOffer()`.
 *
 * @param profile The estimation profile.
 * @returns The receiver.
 */
export function createReceiver(profile: Profile): Receiver {
  const errors: string[] = [];
  const events: string[] = [];
  const rembs: SentRemb[] = [];
  const rtts: RttSample[] = [];
  const rtcp = new RtcpLog(OUR_SSRC);
  // RBE_E2E_OFF_THREAD=1 runs the estimator as an OffThreadCoordinator.
  const offThread = Deno.env.get("RBE_E2E_OFF_THREAD") === "1";
  const estimation = createEstimatingPeerConnection({ iceServers: [] }, {
    onRtcp: (packet) => rtcp.record(packet, performance.now()),
    estimator: {
      coordinator: { profile },
      offThread,
      logger: {
        warn: (message, ...data) => errors.push(`warn: ${message} ${data.join(" ")}`.trim()),
        error: (message, ...data) => errors.push(`error: ${message} ${data.join(" ")}`.trim()),
      },
    },
  });
  estimation.estimator.subscribe((event) => {
    switch (event.type) {
      case "remb":
        rembs.push({
          atMs: performance.now(),
          bitrateBps: event.bitrateBps,
          source: event.source,
          written: event.written,
        });
        break;
      case "rtt":
        rtts.push({ atMs: performance.now(), sampleMs: event.sampleMs, rttMs: event.rttMs });
        break;
      case "lane-failed":
        errors.push(`lane of SSRC ${event.ssrc} failed: ${event.error}`);
        break;
      case "stream-refused":
        errors.push(`stream ${event.ssrc} refused`);
        break;
      case "estimator-switched":
        events.push(`estimator switched to ${event.kind}`);
        break;
      case "coordinator-failed":
        errors.push(`off-thread coordinator failed: ${event.error}`);
        break;
    }
  });
  const transceiver = estimation.pc.addTransceiver("video", { direction: "recvonly" });
  return {
    pc: estimation.pc,
    transceiver,
    description:
      `interceptor/werift.ts createEstimatingPeerConnection() with profile "${profile}"` +
      (offThread ? ", offThread: true" : ""),
    rembs,
    rtts,
    rtcp,
    errors,
    events,
    stats: () => ({ adapter: estimation.stats(), estimator: estimation.estimator.stats() }),
    close: () => estimation.close(),
  };
}
