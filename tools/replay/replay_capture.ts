/**
 * Replays a capture file: a first pass finds the streams and their abs-send-time extension IDs, a
 * second replays the chosen streams through a {@linkcode Replayer}, with REMBs found in the
 * capture recorded beside the replayed ones.
 *
 * @module
 */

import { SsrcMap } from "../../core/ssrc_map.ts";
import type { PacketInfo } from "../../core/types.ts";
import type { ByteSource } from "./chunked_reader.ts";
import { walkCapture, type WalkResult } from "./capture_walker.ts";
import { findRembs } from "./demux.ts";
import { Replayer, type ReplayOptions, type ReplaySummary, type TimelineRow } from "./replay.ts";
import { StreamDiscovery, type StreamReport } from "./stream_discovery.ts";

/** What the first pass found. */
export interface CaptureScan extends WalkResult {
  /** The RTP streams, ascending by SSRC. */
  streams: StreamReport[];
}

/** What the replay does with one stream. */
export interface StreamPlan {
  /** The SSRC. */
  ssrc: number;
  /** The abs-send-time extension ID used, or `undefined` for none. */
  absSendTimeId: number | undefined;
  /** Where the ID came from: detected, forced by `extId`, or none. */
  absSendTimeSource: "detected" | "forced" | "none";
  /** Whether the stream's packets go to the estimator. */
  replayed: boolean;
  /** Why it is (or is not) replayed. */
  reason: string;
}

/** Options of {@linkcode replayCapture}. */
export interface ReplayCaptureOptions extends Omit<ReplayOptions, "onRemb"> {
  /**
   * The abs-send-time extension ID for every stream, instead of detecting it; `"none"` replays
   * without abs-send-time (RTP timestamps only).
   *
   * @default {undefined}
   */
  extId?: number | "none";
  /**
   * The SSRCs to replay, instead of every stream with abs-send-time (or every stream when none has
   * it).
   *
   * @default {undefined}
   */
  ssrcs?: readonly number[];
  /**
   * Bytes read from the file at a time.
   *
   * @default {1048576}
   */
  chunkBytes?: number;
  /** Called with the bytes read so far in each pass. */
  onProgress?: (pass: "scan" | "replay", bytesRead: number) => void;
  /** Called between the passes with what the first found, and the plan. */
  onScanned?: (scan: CaptureScan, plan: StreamPlan[]) => void;
}

/** The outcome of {@linkcode replayCapture}. */
export interface CaptureReplay {
  /** What the first pass found. */
  scan: CaptureScan;
  /** What was done with each stream. */
  plan: StreamPlan[];
  /** The timeline. */
  rows: TimelineRow[];
  /** Totals of the replay. */
  summary: ReplaySummary;
}

/**
 * Decides per stream which abs-send-time ID to use and whether to replay it.
 *
 * @param streams What discovery found.
 * @param options `extId` and `ssrcs`.
 * @returns One plan per stream, in the same order.
 * @throws {RangeError} If `ssrcs` names an SSRC the capture does not have.
 * @example
 * ```ts
 * import { planReplay } from "./replay_capture.ts";
 * import assert from "node:assert/strict";
 *
 * const stream = {
 *   packets: 100, payloadBytes: 1e5, firstTimeUs: 0, lastTimeUs: 2e6, payloadTypes: [96],
 *   flow: "?", extensions: [],
 * };
 * const absSendTime = {
 *   id: 3, packets: 100, threeBytePackets: 100, captureSpanS: 2, sendSpanS: 2, backwardShare: 0,
 *   rejection: undefined,
 * };
 * const plan = planReplay([
 *   { ...stream, ssrc: 1, absSendTimeId: 3, extensions: [absSendTime] },
 *   { ...stream, ssrc: 2, absSendTimeId: undefined },
 * ]);
 * assert.deepEqual(plan.map((p) => p.replayed), [true, false]);
 * assert.throws(() => planReplay([], { ssrcs: [7] }), RangeError);
 * ```
 */
export function planReplay(
  streams: readonly StreamReport[],
  options: { extId?: number | "none"; ssrcs?: readonly number[] } = {},
): StreamPlan[] {
  const { extId, ssrcs } = options;
  for (const ssrc of ssrcs ?? []) {
    if (!streams.some((s) => s.ssrc === ssrc)) {
      throw new RangeError(
        `Cannot replay SSRC ${formatSsrc(ssrc)} as the capture has no RTP stream with it: ${
          streams.length === 0
            ? "it has no RTP streams"
            : `its streams are ${streams.map((s) => formatSsrc(s.ssrc)).join(", ")}`
        }`,
      );
    }
  }
  const plans = streams.map((stream): StreamPlan => {
    const absSendTimeId = extId === "none" ? undefined : extId ?? stream.absSendTimeId;
    const absSendTimeSource = absSendTimeId === undefined
      ? "none"
      : extId === undefined
      ? "detected"
      : "forced";
    return { ssrc: stream.ssrc, absSendTimeId, absSendTimeSource, replayed: false, reason: "" };
  });
  const carries = (plan: StreamPlan, stream: StreamReport): boolean =>
    plan.absSendTimeId !== undefined &&
    stream.extensions.some((e) => e.id === plan.absSendTimeId && e.threeBytePackets > 0);
  const anyWithAbsSendTime = plans.some((plan, i) => carries(plan, streams[i]));
  plans.forEach((plan, i) => {
    if (ssrcs) {
      plan.replayed = ssrcs.includes(plan.ssrc);
      plan.reason = plan.replayed ? "selected" : "not selected";
    } else if (!anyWithAbsSendTime) {
      plan.replayed = true;
      plan.reason = "RTP timestamps: no stream has abs-send-time";
    } else {
      plan.replayed = carries(plan, streams[i]);
      // libwebrtc's abs-send-time estimator drops packets without the extension.
      plan.reason = plan.replayed ? "abs-send-time" : "no abs-send-time";
    }
  });
  return plans;
}

/**
 * Replays a capture: scans it, plans, and replays the chosen streams.
 *
 * @param open Opens the capture from its start; called once per pass. The source is closed after
 * each pass if it has a `close()`.
 * @param options Overrides, estimator options and callbacks.
 * @returns The scan, the plan, the timeline and the totals.
 * @throws {CaptureFormatError} If the file is not a readable capture.
 * @throws {RangeError} If `ssrcs` names an SSRC the capture does not have.
 * @example
 * ```ts
 * import { replayCapture } from "./replay_capture.ts";
 * import { encodePcap, generateSyntheticCall } from "./synthetic_capture.ts";
 * import assert from "node:assert/strict";
 *
 * const call = generateSyntheticCall({ durationS: 5 });
 * const file = encodePcap(call.packets);
 * const open = () => {
 *   let done = false;
 *   return Promise.resolve({
 *     read(buffer: Uint8Array) {
 *       if (done) return Promise.resolve(null);
 *       done = true;
 *       buffer.set(file.subarray(0, buffer.length));
 *       return Promise.resolve(Math.min(buffer.length, file.length));
 *     },
 *   });
 * };
 * const replay = await replayCapture(open, { chunkBytes: file.length });
 * assert.equal(replay.summary.rembs, call.rembs.length); // The live receiver sent the same.
 * ```
 */
export async function replayCapture(
  open: () => Promise<ByteSource & { close?(): void }>,
  options: ReplayCaptureOptions = {},
): Promise<CaptureReplay> {
  const discovery = new StreamDiscovery();
  const walked = await withSource(
    open,
    (source) =>
      walkCapture(source, discovery, {
        chunkBytes: options.chunkBytes,
        onProgress: (bytes) => options.onProgress?.("scan", bytes),
      }),
  );
  const scan: CaptureScan = { ...walked, streams: discovery.report() };
  const plan = planReplay(scan.streams, options);
  options.onScanned?.(scan, plan);

  const replayer = new Replayer(options);
  const firstTimeUs = scan.counts.firstTimeUs;
  const plans = new SsrcMap<StreamPlan>();
  const replayedSsrcs = new Set<number>();
  for (const p of plan) {
    if (!p.replayed) continue;
    plans.set(p.ssrc, p);
    replayedSsrcs.add(p.ssrc);
  }
  const packet: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: undefined,
  };
  await withSource(open, (source) =>
    walkCapture(source, {
      onRtp(header, timeUs) {
        const p = plans.get(header.ssrc);
        if (!p) return;
        packet.ssrc = header.ssrc;
        packet.arrivalTimeMs = (timeUs - firstTimeUs) / 1000;
        packet.payloadSize = header.payloadSize;
        packet.rtpTimestamp = header.timestamp;
        const absSendTime = p.absSendTimeId === undefined
          ? -1
          : header.readAbsSendTime(p.absSendTimeId);
        packet.absSendTime = absSendTime < 0 ? undefined : absSendTime;
        return replayer.onPacket(packet);
      },
      onRtcp(rtcp, timeUs) {
        let pending: Promise<void> | undefined;
        for (const remb of findRembs(rtcp)) {
          if (!remb.ssrcs.some((ssrc) => replayedSsrcs.has(ssrc))) continue;
          const timeMs = (timeUs - firstTimeUs) / 1000;
          pending = pending
            ? pending.then(() => replayer.onCapturedRemb(timeMs, remb.bitrateBps))
            : replayer.onCapturedRemb(timeMs, remb.bitrateBps);
        }
        return pending;
      },
    }, {
      chunkBytes: options.chunkBytes,
      onProgress: (bytes) => options.onProgress?.("replay", bytes),
    }));
  const endMs = Number.isNaN(firstTimeUs) ? 0 : (scan.counts.lastTimeUs - firstTimeUs) / 1000;
  const { rows, summary } = await replayer.finish(endMs);
  return { scan, plan, rows, summary };
}

/**
 * Formats an SSRC as in Wireshark: `0x` and 8 hex digits.
 *
 * @param ssrc A 32-bit unsigned integer.
 * @returns For example `"0x0000abcd"`.
 * @example
 * ```ts
 * import { formatSsrc } from "./replay_capture.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatSsrc(0xabcd), "0x0000abcd");
 * ```
 */
export function formatSsrc(ssrc: number): string {
  return `0x${ssrc.toString(16).padStart(8, "0")}`;
}

async function withSource<T>(
  open: () => Promise<ByteSource & { close?(): void }>,
  use: (source: ByteSource) => Promise<T>,
): Promise<T> {
  const source = await open();
  try {
    return await use(source);
  } finally {
    source.close?.();
  }
}
