/**
 * Deterministic multi-stream traces for host tests: video-like streams through one FIFO bottleneck
 * with a capacity schedule, optional pauses, with or without abs-send-time. Pre-generated, so tests
 * can feed the same packets to several estimators.
 *
 * @module
 */

import { absSendTimeFromMicros } from "../../core/abs_send_time.ts";
import type { PacketInfo } from "../../core/types.ts";

/** One stream of a trace. */
export interface TraceStream {
  /** SSRC. */
  ssrc: number;
  /** Media bitrate, bps. */
  bitrateBps: number;
}

/** What to generate. */
export interface TraceOptions {
  /** The streams. */
  streams: TraceStream[];
  /** Length, ms. */
  durationMs: number;
  /** Bottleneck capacity over time, bps. */
  capacityBps: (timeMs: number) => number;
  /** Silences: a stream sends nothing in [fromMs, toMs). */
  pauses?: { ssrc: number; fromMs: number; toMs: number }[];
  /** Whether packets carry abs-send-time. */
  absSendTime: boolean;
  /** Receiver clock at time 0, ms. */
  startMs?: number;
}

/**
 * Generates the packets in arrival order.
 *
 * @param options The trace.
 * @returns Packets with arrival times.
 */
export function generateTrace(options: TraceOptions): PacketInfo[] {
  const sent: { sendUs: number; ssrc: number; size: number; rtp: number }[] = [];
  for (const [n, stream] of options.streams.entries()) {
    const frameBytes = Math.round(stream.bitrateBps / 8 / 30);
    const packets = Math.ceil(frameBytes / 1200);
    for (let frame = 0; frame * 1000 / 30 < options.durationMs; frame++) {
      // Streams start their frames at different phases.
      const frameUs = Math.round(frame * 1_000_000 / 30) + n * 7_000;
      const ms = frameUs / 1000;
      if (options.pauses?.some((p) => p.ssrc === stream.ssrc && ms >= p.fromMs && ms < p.toMs)) {
        continue;
      }
      for (let i = 0; i < packets; i++) {
        sent.push({
          sendUs: frameUs + i * 1000,
          ssrc: stream.ssrc,
          size: Math.min(1200, frameBytes - i * 1200),
          rtp: (frame * 3000 + n * 12345) >>> 0,
        });
      }
    }
  }
  sent.sort((a, b) => a.sendUs - b.sendUs || a.ssrc - b.ssrc);
  const startUs = (options.startMs ?? 10_000) * 1000;
  let linkFreeUs = 0;
  return sent.map((p) => {
    const capacity = options.capacityBps(p.sendUs / 1000);
    const startTx = Math.max(p.sendUs, linkFreeUs);
    linkFreeUs = startTx + Math.round(p.size * 8 * 1e6 / capacity);
    const arrivalUs = startUs + linkFreeUs + 15_000;
    const packet: PacketInfo = {
      ssrc: p.ssrc,
      arrivalTimeMs: arrivalUs / 1000,
      payloadSize: p.size,
      rtpTimestamp: p.rtp,
    };
    if (options.absSendTime) packet.absSendTime = absSendTimeFromMicros(p.sendUs);
    return packet;
  });
}
