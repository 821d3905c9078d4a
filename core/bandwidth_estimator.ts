/**
 * The public receive-side estimator: picks the abs-send-time or the RTP-timestamp estimator from the
 * packets it sees, as libwebrtc's ReceiveSideCongestionController does (reference §1), validates
 * input at the edge and reports typed statistics.
 *
 * @module
 */

import { msToUs, usToMs } from "./_math.ts";
import { absSendTimeToTicks } from "./abs_send_time.ts";
import { createLanePipeline, type DelayPipeline } from "./delay_pipeline.ts";
import { type EstimatorKind, LaneTable } from "./lane_table.ts";
import type { LaneFigureStats } from "./lane_figures.ts";
import { PacketBatch } from "./packet_batch.ts";
import { type ControllerState, ReceiveSideController } from "./receive_side_controller.ts";
import {
  checkRtt,
  checkSsrc,
  type ReceiveSideOptions,
  resolveRembPolicy,
} from "./receive_side_options.ts";
import { type EstimatorSettings, resolveSettings } from "./estimator_settings.ts";
import { checkPacket } from "./packet_info.ts";
import type { BandwidthUsage, PacketInfo } from "./types.ts";

/** Options of {@linkcode BandwidthEstimator}: the estimator settings, its callbacks and REMB. */
export interface BandwidthEstimatorOptions extends EstimatorSettings, ReceiveSideOptions {}

/** Which estimator is active. */
export type EstimatorMode = EstimatorKind;

/** Per-SSRC figures in {@linkcode EstimatorStats}. */
export interface StreamStats extends LaneFigureStats {
  /** The SSRC. */
  ssrc: number;
  /** Verdict of the pipeline the stream feeds. */
  usage: BandwidthUsage;
  /** Deltas the filter has seen (capped at 1000). */
  numDeltas: number;
  /** Packets received on this SSRC. */
  packets: number;
  /** Payload bytes received on this SSRC. */
  bytes: number;
  /** Receiver clock at the stream's last packet, ms. */
  lastPacketMs: number;
}

/**
 * A snapshot of the estimator's state: the controller's figures, and those of the stream that
 * dominates the fused state (`undefined` without streams).
 */
export interface EstimatorStats extends ControllerState, LaneFigureStats {
  /** Packets accepted since construction. */
  packets: number;
  /** Packets ignored because the abs-send-time estimator was active and they lacked the extension. */
  packetsWithoutAbsSendTime: number;
  /** Active streams, ascending by SSRC. */
  streams: StreamStats[];
}

function checkFinite(value: unknown, name: string, action: string): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current type is ${typeof value}`,
    );
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot ${action} as '${name}' must be finite: current value is ${value}`);
  }
}

/**
 * Receive-side bandwidth estimator: feed it every received RTP packet of a sender, and it reports the
 * sender's available bandwidth in bps through `onEstimate` (and REMB packets through `onRemb`). It
 * runs each lane's delay pipeline on the calling thread and hands the verdicts to the
 * receive-side controller at once; with transport grouping its estimates are libwebrtc's.
 *
 * Packets with abs-send-time drive libwebrtc's abs-send-time estimator; without it, RTP timestamps
 * drive the single-stream estimator, which also needs {@linkcode BandwidthEstimator.process} called
 * periodically (as do REMB resends). The estimator holds no timers: time comes in with each call.
 *
 * @example
 * ```ts
 * import { BandwidthEstimator } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const seen: number[] = [];
 * const estimator = new BandwidthEstimator({ onEstimate: (bps) => seen.push(bps) });
 * const packet = { ssrc: 1, arrivalTimeMs: 0, payloadSize: 1000, rtpTimestamp: 0, absSendTime: 0 };
 * // 1000-byte packets every 5 ms (1.6 Mbit/s) form a probe cluster.
 * for (let i = 0; i < 10; i++) {
 *   packet.arrivalTimeMs = 1000 + i * 5;
 *   packet.absSendTime = Math.round((i * 5 * 2 ** 18) / 1000);
 *   estimator.onPacket(packet);
 * }
 * assert.ok(estimator.getEstimate() > 1_500_000);
 * assert.deepEqual(estimator.getSSRCs(), [1]);
 * ```
 */
export class BandwidthEstimator {
  readonly #record = new PacketBatch(1);
  readonly #controller: ReceiveSideController;
  // Inline, a lane is its delay pipeline.
  readonly #lanes: LaneTable<DelayPipeline>;
  #packets = 0;
  #packetsWithoutAbsSendTime = 0;
  // Whether the lanes serve abs-send-time (a boolean: a string comparison costs checks per packet).
  #absSendTimeLanes = true;

  /**
   * Creates an estimator.
   *
   * @param options Grouping, filter, bounds, timeout and callbacks; all optional.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range, or the bounds contradict each other.
   */
  constructor(options: BandwidthEstimatorOptions = {}) {
    const settings = resolveSettings("estimator", options);
    const remb = resolveRembPolicy("estimator", options, settings.maxBitrateBps);
    const onError = options.onError ??
      ((error) => console.error("Estimator callback threw:", error));
    this.#controller = new ReceiveSideController({
      settings,
      remb,
      onEstimate: options.onEstimate,
      onRemb: options.onRemb,
      onStreamsExpired: (nowUs) => this.#lanes.expire(nowUs),
      onError,
    });
    this.#lanes = new LaneTable<DelayPipeline>({
      kind: "abs-send-time",
      grouping: settings.grouping,
      streamTimeoutUs: settings.streamTimeoutUs,
      hooks: {
        onLaneCreated: () =>
          createLanePipeline({
            kind: this.#lanes.kind,
            filter: settings.filter,
            trendlineWindowSize: settings.trendlineWindowSize,
          }),
        onLaneRetired: () => {},
        onLaneRevived: () => {},
        onLaneDropped: () => {},
      },
    });
  }

  /**
   * Feeds one received packet.
   *
   * @param packet The packet's SSRC, arrival time, size, RTP timestamp and optional abs-send-time.
   * The object is not kept.
   * @param nowMs The receiver's clock when the packet is processed, in ms.
   * @default nowMs `packet.arrivalTimeMs`
   * @throws {TypeError} A field has the wrong type.
   * @throws {RangeError} A field is out of range (SSRC or RTP timestamp not uint32, negative or
   * fractional size, non-finite time, abs-send-time not 24-bit).
   */
  onPacket(packet: PacketInfo, nowMs?: number): void {
    checkPacket(packet, nowMs);
    const absSendTime = packet.absSendTime;

    // Copy into a record: large numbers travel through typed arrays, never boxed.
    const record = this.#record;
    record.ssrc[0] = packet.ssrc;
    // Inline rather than msToUs(): a helper call that is not inlined would box the argument.
    const arrivalUs = Math.round(packet.arrivalTimeMs * 1000);
    record.arrivalUs[0] = arrivalUs;
    // Not `nowMs ?? arrivalTimeMs`: merging a number with undefined would box it.
    record.nowUs[0] = nowMs === undefined ? arrivalUs : Math.round(nowMs * 1000);
    record.size[0] = packet.payloadSize;
    this.#packets++;
    if (this.#controller.selectEstimator(absSendTime !== undefined)) this.#startEstimator();
    // `=== true`: a boolean read from a field is otherwise tested as any value could be.
    if (this.#absSendTimeLanes === true) {
      if (absSendTime === undefined) {
        this.#packetsWithoutAbsSendTime++; // libwebrtc drops these with a warning.
        return;
      }
      record.timestamp[0] = absSendTimeToTicks(absSendTime); // tiny, so inlined: no boxing
    } else {
      record.timestamp[0] = packet.rtpTimestamp;
    }
    const lanes = this.#lanes;
    lanes.admitAt(record.ssrc, record.nowUs, 0);
    if (lanes.created === true) this.#controller.onNewStream(packet.ssrc, usToMs(record.nowUs[0]));
    const pipeline = lanes.current!;
    if (lanes.resetFilter === true) pipeline.resetFilter();
    pipeline.onRecord(record, 0);
    this.#controller.onRecord(record, 0);
  }

  // The controller picked a fresh estimator with this packet: the lanes restart with it.
  #startEstimator(): void {
    const kind = this.#controller.selectedKind!;
    this.#lanes.reset(kind);
    this.#absSendTimeLanes = kind === "abs-send-time";
    this.#controller.startEstimator(kind);
  }

  /**
   * Periodic work: the RTP-timestamp estimator updates here (every 500 ms at first, then at the
   * feedback interval), and REMB is resent; the abs-send-time estimator needs nothing else.
   *
   * @param nowMs The receiver's clock in ms.
   * @throws {RangeError} `nowMs` is not finite.
   */
  process(nowMs: number): void {
    checkFinite(nowMs, "nowMs", "process");
    this.#controller.processEstimator(msToUs(nowMs));
    this.#controller.process(nowMs);
  }

  /**
   * The latest estimate.
   *
   * @returns bps; 0 while there is no valid estimate or no active stream.
   */
  getEstimate(): number {
    return this.#controller.getEstimate();
  }

  /**
   * The active SSRCs.
   *
   * @returns SSRCs in ascending order.
   */
  getSSRCs(): number[] {
    return [...this.#controller.ssrcs()];
  }

  /**
   * Stops counting an SSRC (e.g. when its track ends).
   *
   * @param ssrc The SSRC to remove.
   * @throws {RangeError} `ssrc` is not a 32-bit unsigned integer.
   */
  removeStream(ssrc: number): void {
    checkSsrc(ssrc, "remove stream");
    this.#controller.onStreamRemoved(ssrc);
    this.#controller.removeStream(ssrc);
    this.#lanes.remove(ssrc);
  }

  /**
   * Sets the round-trip time, which paces decreases and the additive increase.
   *
   * @param rttMs Average round-trip time in ms, positive.
   * @throws {RangeError} `rttMs` is not a positive finite number.
   */
  setRtt(rttMs: number): void {
    checkRtt(rttMs);
    this.#controller.setRtt(rttMs);
  }

  /**
   * Caps what REMB announces, and announces the cap at once (through `onRemb`).
   *
   * @param bitrateBps The cap in bps: a non-negative integer, or `Infinity` to lift it.
   * @param nowMs The receiver's clock in ms.
   * @throws {TypeError} `bitrateBps` is not a number.
   * @throws {RangeError} `bitrateBps` is not a non-negative integer or `Infinity`, or `nowMs` is not
   * finite.
   */
  setMaxDesiredBitrate(bitrateBps: number, nowMs: number): void {
    checkFinite(nowMs, "nowMs", "set the maximum bitrate");
    this.#controller.setMaxDesiredBitrate(bitrateBps, nowMs);
  }

  /**
   * A snapshot of the estimator's state.
   *
   * @returns Typed figures, fused and per stream.
   */
  stats(): EstimatorStats {
    const controller = this.#controller;
    const streams: StreamStats[] = [];
    for (const ssrc of controller.ssrcs()) {
      const s = controller.stream(ssrc)!;
      const p = this.#lanes.laneOf(ssrc);
      streams.push({
        ssrc,
        usage: s.usage,
        delayOffsetMs: p?.offsetMs,
        modifiedOffsetMs: p?.modifiedOffsetMs,
        thresholdMs: p?.thresholdMs,
        numDeltas: p?.numDeltas ?? 0,
        packets: s.packets,
        bytes: s.bytes,
        lastPacketMs: usToMs(s.lastSeenUs),
      });
    }
    const state = controller.state();
    const dominant = dominantStream(streams, state.usage);
    return {
      ...state,
      delayOffsetMs: dominant?.delayOffsetMs,
      modifiedOffsetMs: dominant?.modifiedOffsetMs,
      thresholdMs: dominant?.thresholdMs,
      packets: this.#packets,
      packetsWithoutAbsSendTime: this.#packetsWithoutAbsSendTime,
      streams,
    };
  }
}

// The stream that decides the fused state: most severe, then largest modified offset.
function dominantStream(streams: StreamStats[], usage: BandwidthUsage): StreamStats | undefined {
  let dominant: StreamStats | undefined;
  for (const s of streams) {
    if (
      !dominant || (s.usage === usage && dominant.usage !== usage) ||
      (s.usage === dominant.usage && (s.modifiedOffsetMs ?? 0) > (dominant.modifiedOffsetMs ?? 0))
    ) {
      dominant = s;
    }
  }
  return dominant;
}
