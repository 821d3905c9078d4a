/**
 * The RTP-timestamp estimator for packets without abs-send-time (reference §9, libwebrtc's
 * RemoteBitrateEstimatorSingleStream): one delay pipeline per SSRC on a 90 kHz clock, and
 * updates driven by {@linkcode SingleStreamEstimator.process} except on a fresh overuse.
 *
 * @module
 */

import { usToMs } from "./_math.ts";
import type { AimdRateControl } from "./aimd_rate_control.ts";
import type { EstimateCallback } from "./abs_send_time_estimator.ts";
import { type DelayFilter, DelayPipeline } from "./delay_pipeline.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { RateStatistics } from "./rate_statistics.ts";
import { SsrcMap } from "./ssrc_map.ts";
import { type BandwidthUsage, usageSeverity } from "./types.ts";

const GROUP_LENGTH_TICKS = 90 * 5; // 5 ms at 90 kHz
const TIMESTAMP_TO_MS = 1.0 / 90.0;
const INITIAL_PROCESS_INTERVAL_US = 500_000;
const BITRATE_WINDOW_MS = 1000;

/** Options of {@linkcode SingleStreamEstimator}. */
export interface SingleStreamEstimatorOptions {
  /** Delay filter of each pipeline. */
  filter: DelayFilter;
  /** Trendline regression window. */
  trendlineWindowSize: number;
  /** Silence after which an SSRC's pipeline is dropped, in microseconds. */
  streamTimeoutUs: number;
  /** The rate controller. */
  aimd: AimdRateControl;
  /** libwebrtc's OnReceiveBitrateChanged. */
  onEstimate: EstimateCallback;
}

/** What the estimator keeps per SSRC. */
export interface RtpStream {
  /** The stream's SSRC. */
  readonly ssrc: number;
  /** Receiver clock at its last packet, µs. */
  lastPacketUs: number;
  /** The stream's delay pipeline. */
  readonly pipeline: DelayPipeline;
  /** Packets received. */
  packets: number;
  /** Payload bytes received. */
  bytes: number;
}

/**
 * Estimator driven by RTP timestamps, one detector per SSRC.
 *
 * @example
 * ```ts
 * import { SingleStreamEstimator } from "./single_stream_estimator.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import { PacketBatch } from "./packet_batch.ts";
 * import assert from "node:assert/strict";
 * const estimator = new SingleStreamEstimator({
 *   filter: "kalman", trendlineWindowSize: 20, streamTimeoutUs: 2_000_000,
 *   aimd: new AimdRateControl(), onEstimate: () => {},
 * });
 * const batch = new PacketBatch(1);
 * batch.ssrc[0] = 7;
 * batch.arrivalUs[0] = batch.nowUs[0] = 1_000_000;
 * batch.size[0] = 1200;
 * estimator.onRecord(batch, 0);
 * assert.deepEqual(estimator.ssrcs(), [7]);
 * ```
 */
export class SingleStreamEstimator {
  readonly #options: SingleStreamEstimatorOptions;
  readonly #aimd: AimdRateControl;
  readonly #streams = new SsrcMap<RtpStream>();
  readonly #incoming = new RateStatistics(BITRATE_WINDOW_MS);
  #lastValidIncomingBps = 0;
  #lastProcessUs = -Infinity;
  #processIntervalUs = INITIAL_PROCESS_INTERVAL_US;

  /**
   * Creates an estimator with no streams.
   *
   * @param options Filter, timeout, rate controller and callback.
   */
  constructor(options: SingleStreamEstimatorOptions) {
    this.#options = options;
    this.#aimd = options.aimd;
  }

  /**
   * A stream, including one not yet timed out by a process() call.
   *
   * @param ssrc The SSRC.
   * @returns Its state, or `undefined`.
   */
  stream(ssrc: number): RtpStream | undefined {
    return this.#streams.get(ssrc);
  }

  /** The most severe state over every stream's detector. */
  get usage(): BandwidthUsage {
    let usage: BandwidthUsage = "normal";
    for (const stream of this.#streams.values) {
      if (usageSeverity(stream.pipeline.usage) > usageSeverity(usage)) {
        usage = stream.pipeline.usage;
      }
    }
    return usage;
  }

  /**
   * The incoming rate over the last second, in bps, without disturbing the estimator.
   *
   * @param nowMs Receiver clock in integer milliseconds.
   * @returns The rate, or `undefined` while there is too little data.
   */
  incomingRateBps(nowMs: number): number | undefined {
    return this.#incoming.peekRate(nowMs);
  }

  /**
   * libwebrtc's LatestEstimate.
   *
   * @returns bps, or 0 without a valid estimate or stream.
   */
  latestEstimate(): number {
    return this.#aimd.validEstimate && this.#streams.size > 0 ? this.#aimd.latestEstimateBps : 0;
  }

  /**
   * Forgets an SSRC.
   *
   * @param ssrc The stream to drop.
   */
  removeStream(ssrc: number): void {
    this.#streams.delete(ssrc);
  }

  /**
   * SSRCs with a pipeline, ascending.
   *
   * @returns A frozen array, shared until the set of streams changes.
   */
  ssrcs(): number[] {
    return this.#streams.sortedKeys();
  }

  /**
   * Processes record `index` of a batch; the timestamp column holds RTP timestamps.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  onRecord(batch: PacketBatch, index: number): void {
    const nowUs = batch.nowUs[index];
    const size = batch.size[index];
    const ssrc = batch.ssrc[index];
    const stream = this.#streams.getAt(batch.ssrc, index) ?? this.#admit(ssrc);
    stream.lastPacketUs = nowUs;
    stream.packets++;
    stream.bytes += size;

    const rate = this.#incoming.rateAt(batch.nowUs, index);
    if (rate !== undefined) {
      this.#lastValidIncomingBps = rate;
    } else if (this.#lastValidIncomingBps > 0) {
      // The window drained: restart it from new data only.
      this.#incoming.reset();
      this.#lastValidIncomingBps = 0;
    }
    this.#incoming.updateFrom(batch.size, batch.nowUs, index);

    const prior = stream.pipeline.usage;
    const usage = stream.pipeline.onRecord(batch, index, false);
    if (usage === "overusing") {
      const incoming = this.#incoming.rateAt(batch.nowUs, index);
      // The first overuse acts at once; later ones when a further cut is due.
      if (
        incoming !== undefined &&
        (prior !== "overusing" || this.#aimd.timeToReduceFurther(nowUs, incoming))
      ) {
        this.#updateEstimate(nowUs);
      }
    }
  }

  /**
   * Periodic update (libwebrtc's Process).
   *
   * @param nowUs Receiver clock in integer microseconds.
   * @returns Microseconds until the next update is due.
   */
  process(nowUs: number): number {
    const next = this.#lastProcessUs === -Infinity
      ? nowUs
      : this.#lastProcessUs + this.#processIntervalUs;
    if (usToMs(nowUs) >= usToMs(next)) {
      this.#updateEstimate(nowUs);
      this.#lastProcessUs = nowUs;
      return this.#processIntervalUs;
    }
    return next - nowUs;
  }

  #admit(ssrc: number): RtpStream {
    const pipeline = new DelayPipeline({
      groupLengthTicks: GROUP_LENGTH_TICKS,
      timestampToMs: TIMESTAMP_TO_MS,
      filter: this.#options.filter,
      trendlineWindowSize: this.#options.trendlineWindowSize,
    });
    const stream: RtpStream = { ssrc, lastPacketUs: 0, pipeline, packets: 0, bytes: 0 };
    this.#streams.set(ssrc, stream);
    return stream;
  }

  #updateEstimate(nowUs: number): void {
    let usage: BandwidthUsage = "normal";
    const streams = this.#streams.values;
    // Backwards, because deleting moves the last entry into the freed place.
    for (let i = streams.length - 1; i >= 0; i--) {
      const stream = streams[i];
      if (nowUs - stream.lastPacketUs > this.#options.streamTimeoutUs) {
        this.#streams.delete(stream.ssrc);
      } else if (usageSeverity(stream.pipeline.usage) > usageSeverity(usage)) {
        usage = stream.pipeline.usage;
      }
    }
    if (this.#streams.size === 0) return;
    const aimd = this.#aimd;
    const target = aimd.update(usage, this.#incoming.rate(usToMs(nowUs)), nowUs);
    if (aimd.validEstimate) {
      this.#processIntervalUs = aimd.getFeedbackIntervalUs();
      this.#options.onEstimate(target, this.ssrcs());
    }
  }
}
