/**
 * The public receive-side estimator: picks the abs-send-time or the RTP-timestamp estimator from the
 * packets it sees, as libwebrtc's ReceiveSideCongestionController does (reference §1), validates
 * input at the edge and reports typed statistics.
 *
 * @module
 */

import { report } from "./_callbacks.ts";
import { msToUs, usToMs } from "./_math.ts";
import { AbsSendTimeEstimator } from "./abs_send_time_estimator.ts";
import type { AimdRateControl } from "./aimd_rate_control.ts";
import { absSendTimeToTicks, GROUP_LENGTH_TICKS, TIMESTAMP_TO_MS } from "./abs_send_time.ts";
import { DelayPipeline } from "./delay_pipeline.ts";
import { EstimatorSelector } from "./estimator_selector.ts";
import { type EstimatorKind, LaneTable } from "./lane_table.ts";
import { PacketBatch } from "./packet_batch.ts";
import {
  RTP_GROUP_LENGTH_TICKS,
  RTP_TIMESTAMP_TO_MS,
  SingleStreamEstimator,
} from "./single_stream_estimator.ts";
import {
  checkFunctions,
  type EstimatorSettings,
  newRateControl,
  type ResolvedSettings,
  resolveSettings,
} from "./estimator_settings.ts";
import { checkPacket } from "./packet_info.ts";
import type { BandwidthUsage, PacketInfo, RateControlState } from "./types.ts";

const MAX_UINT32 = 0xffffffff;

/** Options of {@linkcode BandwidthEstimator}: the estimator settings and its callbacks. */
export interface BandwidthEstimatorOptions extends EstimatorSettings {
  /**
   * Called synchronously whenever libwebrtc would call `OnReceiveBitrateChanged`, with the estimate
   * in bps and the SSRCs it covers, ascending. The SSRC array is frozen and reused until the set of
   * streams changes, so keeping it is safe and reporting allocates nothing.
   */
  onEstimate?: (bitrateBps: number, ssrcs: number[]) => void;
  /**
   * Receives an error thrown by `onEstimate`; the packet path carries on regardless.
   *
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
}

/** Which estimator is active. */
export type EstimatorMode = EstimatorKind;

/** Per-SSRC figures in {@linkcode EstimatorStats}. */
export interface StreamStats {
  /** The SSRC. */
  ssrc: number;
  /** Verdict of the pipeline the stream feeds. */
  usage: BandwidthUsage;
  /** That pipeline's filter output (Kalman offset, or trendline slope). */
  delayOffsetMs: number;
  /** The value the detector last compared to its threshold. */
  modifiedOffsetMs: number;
  /** The detector's adaptive threshold. */
  thresholdMs: number;
  /** Deltas the filter has seen (capped at 1000). */
  numDeltas: number;
  /** Packets received on this SSRC. */
  packets: number;
  /** Payload bytes received on this SSRC. */
  bytes: number;
  /** Receiver clock at the stream's last packet, ms. */
  lastPacketMs: number;
}

/** A snapshot of the estimator's state. */
export interface EstimatorStats {
  /** The active estimator, or `undefined` before the first packet. */
  mode: EstimatorMode | undefined;
  /** The estimate in bps; 0 without a valid estimate or active stream. */
  estimateBps: number;
  /** Fused detector state after the last packet. */
  usage: BandwidthUsage;
  /** State of the AIMD controller. */
  rateControlState: RateControlState;
  /** Incoming rate over the last second at the last packet, bps; 0 while unavailable. */
  incomingRateBps: number;
  /** Delay offset of the stream that dominates the fused state, ms. */
  delayOffsetMs: number;
  /** That stream's modified offset, ms. */
  modifiedOffsetMs: number;
  /** That stream's threshold, ms. */
  thresholdMs: number;
  /** Round-trip time the controller uses, ms. */
  rttMs: number;
  /** Link-capacity estimate in bps, when the controller has one. */
  linkCapacityBps: number | undefined;
  /** Packets accepted since construction. */
  packets: number;
  /** Packets ignored because the abs-send-time estimator was active and they lacked the extension. */
  packetsWithoutAbsSendTime: number;
  /** Times the estimator switched between abs-send-time and RTP timestamps. */
  modeSwitches: number;
  /** Active streams, ascending by SSRC. */
  streams: StreamStats[];
}

function checkUint32(value: unknown, name: string, action: string): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current type is ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a 32-bit unsigned integer: current value is ${value}`,
    );
  }
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
 * sender's available bandwidth in bps through `onEstimate`, exactly when libwebrtc's receiver would.
 *
 * Packets with abs-send-time drive libwebrtc's abs-send-time estimator; without it, RTP timestamps
 * drive the single-stream estimator, which also needs {@linkcode BandwidthEstimator.process} called
 * periodically. The estimator holds no timers: time comes in with each call.
 *
 * @example
 * ```ts
 * import { BandwidthEstimator } from "./bandwidth_estimator.ts";
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
  readonly #settings: ResolvedSettings;
  readonly #onEstimate: ((bitrateBps: number, ssrcs: number[]) => void) | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #emit = (bitrateBps: number, ssrcs: number[]): void => this.#safeEmit(bitrateBps, ssrcs);
  readonly #record = new PacketBatch(1);
  readonly #selector = new EstimatorSelector();
  #aimd: AimdRateControl;
  // The active estimator (one of the two), its lanes and their delay pipelines, by lane.
  #abs: AbsSendTimeEstimator | undefined;
  #rtp: SingleStreamEstimator | undefined;
  #lanes: LaneTable | undefined;
  readonly #pipelines: (DelayPipeline | undefined)[] = [];
  #rttMs: number | undefined;
  #packets = 0;
  #packetsWithoutAbsSendTime = 0;

  /**
   * Creates an estimator.
   *
   * @param options Grouping, filter, bounds, timeout and callbacks; all optional.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range, or the bounds contradict each other.
   */
  constructor(options: BandwidthEstimatorOptions = {}) {
    this.#settings = resolveSettings("estimator", options);
    checkFunctions("estimator", options as Record<string, unknown>, ["onEstimate", "onError"]);
    this.#onEstimate = options.onEstimate;
    this.#onError = options.onError ?? ((error) => console.error("onEstimate threw:", error));
    this.#aimd = newRateControl(this.#settings, undefined);
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
    const { ssrc, arrivalTimeMs, payloadSize, rtpTimestamp, absSendTime } = packet;

    // Copy into a record: large numbers travel through typed arrays, never boxed.
    const record = this.#record;
    record.ssrc[0] = ssrc;
    // Inline rather than msToUs(): a helper call that is not inlined would box the argument.
    record.arrivalUs[0] = Math.round(arrivalTimeMs * 1000);
    // Not `nowMs ?? arrivalTimeMs`: merging a number with undefined would box it.
    record.nowUs[0] = nowMs === undefined ? record.arrivalUs[0] : Math.round(nowMs * 1000);
    record.size[0] = payloadSize;
    this.#packets++;
    if (this.#selector.onPacket(absSendTime !== undefined)) this.#start();
    const abs = this.#abs;
    if (abs) {
      if (absSendTime === undefined) {
        this.#packetsWithoutAbsSendTime++; // libwebrtc drops these with a warning.
        return;
      }
      record.timestamp[0] = absSendTimeToTicks(absSendTime); // tiny, so inlined: no boxing
    } else {
      record.timestamp[0] = rtpTimestamp;
    }
    const lanes = this.#lanes!;
    lanes.admitAt(record.ssrc, record.nowUs, 0);
    const pipeline = this.#pipelines[lanes.lane]!;
    if (lanes.reset) pipeline.resetFilter();
    pipeline.onRecord(record, 0);
    if (abs) abs.onRecord(record, 0);
    else this.#rtp!.onRecord(record, 0);
  }

  /**
   * Periodic work: the RTP-timestamp estimator updates here (every 500 ms at first, then at the
   * feedback interval); the abs-send-time estimator needs nothing.
   *
   * @param nowMs The receiver's clock in ms.
   * @throws {RangeError} `nowMs` is not finite.
   */
  process(nowMs: number): void {
    checkFinite(nowMs, "nowMs", "process");
    this.#rtp?.process(msToUs(nowMs));
  }

  /**
   * The latest estimate.
   *
   * @returns bps; 0 while there is no valid estimate or no active stream.
   */
  getEstimate(): number {
    return (this.#abs ?? this.#rtp)?.latestEstimate() ?? 0;
  }

  /**
   * The active SSRCs.
   *
   * @returns SSRCs in ascending order.
   */
  getSSRCs(): number[] {
    return [...((this.#abs ?? this.#rtp)?.ssrcs() ?? [])];
  }

  /**
   * Stops counting an SSRC (e.g. when its track ends).
   *
   * @param ssrc The SSRC to remove.
   * @throws {RangeError} `ssrc` is not a 32-bit unsigned integer.
   */
  removeStream(ssrc: number): void {
    checkUint32(ssrc, "ssrc", "remove stream");
    (this.#abs ?? this.#rtp)?.removeStream(ssrc);
    this.#lanes?.remove(ssrc);
  }

  /**
   * Sets the round-trip time, which paces decreases and the additive increase.
   *
   * @param rttMs Average round-trip time in ms, positive.
   * @throws {RangeError} `rttMs` is not a positive finite number.
   */
  setRtt(rttMs: number): void {
    checkFinite(rttMs, "rttMs", "set RTT");
    if (rttMs <= 0) {
      throw new RangeError(`Cannot set RTT as 'rttMs' must be positive: current value is ${rttMs}`);
    }
    this.#rttMs = rttMs;
    this.#aimd.setRtt(rttMs);
  }

  /**
   * A snapshot of the estimator's state.
   *
   * @returns Typed figures, fused and per stream.
   */
  stats(): EstimatorStats {
    const streams: StreamStats[] = [];
    const source = this.#abs ?? this.#rtp;
    for (const ssrc of source?.ssrcs() ?? []) {
      const s = source!.stream(ssrc)!;
      const p = this.#pipelines[this.#lanes!.laneOf(ssrc)];
      streams.push({
        ssrc,
        usage: s.usage,
        delayOffsetMs: p?.offsetMs ?? 0,
        modifiedOffsetMs: p?.modifiedOffsetMs ?? 0,
        thresholdMs: p?.thresholdMs ?? 12.5,
        numDeltas: p?.numDeltas ?? 0,
        packets: s.packets,
        bytes: s.bytes,
        lastPacketMs: usToMs(s.lastSeenUs),
      });
    }
    const usage = source?.usage ?? "normal";
    // The stream that decides the fused state: most severe, then largest modified offset.
    let dominant: StreamStats | undefined;
    for (const s of streams) {
      if (
        !dominant || (s.usage === usage && dominant.usage !== usage) ||
        (s.usage === dominant.usage && s.modifiedOffsetMs > dominant.modifiedOffsetMs)
      ) {
        dominant = s;
      }
    }
    // The record still holds the last packet.
    const rateTimeMs = usToMs(this.#abs ? this.#record.arrivalUs[0] : this.#record.nowUs[0]);
    return {
      mode: this.#selector.kind,
      estimateBps: this.getEstimate(),
      usage,
      rateControlState: this.#aimd.state,
      incomingRateBps: source?.incomingRateBps(rateTimeMs) ?? 0,
      delayOffsetMs: dominant?.delayOffsetMs ?? 0,
      modifiedOffsetMs: dominant?.modifiedOffsetMs ?? 0,
      thresholdMs: dominant?.thresholdMs ?? 12.5,
      rttMs: this.#aimd.rttMs,
      linkCapacityBps: this.#aimd.linkCapacityBps,
      packets: this.#packets,
      packetsWithoutAbsSendTime: this.#packetsWithoutAbsSendTime,
      modeSwitches: this.#selector.switches,
      streams,
    };
  }

  // A fresh estimator of the selected kind, with fresh lanes and rate controller.
  #start(): void {
    this.#lanes?.clear();
    const kind = this.#selector.kind!;
    this.#aimd = newRateControl(this.#settings, this.#rttMs);
    const pipelines = this.#pipelines;
    const rtp = kind === "rtp-timestamp";
    this.#lanes = new LaneTable({
      kind,
      grouping: this.#settings.grouping,
      streamTimeoutUs: this.#settings.streamTimeoutUs,
      hooks: {
        onLaneCreated: (lane) => {
          pipelines[lane] = new DelayPipeline({
            groupLengthTicks: rtp ? RTP_GROUP_LENGTH_TICKS : GROUP_LENGTH_TICKS,
            timestampToMs: rtp ? RTP_TIMESTAMP_TO_MS : TIMESTAMP_TO_MS,
            filter: this.#settings.filter,
            trendlineWindowSize: this.#settings.trendlineWindowSize,
            paceByArrival: !rtp,
          });
        },
        onLaneRetired: () => {},
        onLaneRevived: () => {},
        onLaneDropped: (lane) => {
          pipelines[lane] = undefined;
        },
      },
    });
    if (rtp) {
      const lanes = this.#lanes;
      this.#abs = undefined;
      this.#rtp = new SingleStreamEstimator({
        streamTimeoutUs: this.#settings.streamTimeoutUs,
        aimd: this.#aimd,
        onEstimate: this.#emit,
        onExpire: (nowUs) => lanes.expire(nowUs),
      });
    } else {
      this.#rtp = undefined;
      this.#abs = new AbsSendTimeEstimator({
        grouping: this.#settings.grouping,
        streamTimeoutUs: this.#settings.streamTimeoutUs,
        aimd: this.#aimd,
        onEstimate: this.#emit,
      });
    }
  }

  #safeEmit(bitrateBps: number, ssrcs: number[]): void {
    if (!this.#onEstimate) return;
    try {
      this.#onEstimate(bitrateBps, ssrcs);
    } catch (error) {
      report(this.#onError, error);
    }
  }
}
