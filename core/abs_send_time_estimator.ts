/**
 * The abs-send-time estimator (reference §4, libwebrtc's RemoteBitrateEstimatorAbsSendTime), with a
 * choice of grouping: one delay pipeline for the whole transport, as libwebrtc does, or one per SSRC
 * whose most severe verdict wins.
 *
 * Times enter as integer microseconds; every rounding to milliseconds follows reference §2.
 *
 * @module
 */

import { usToMs } from "./_math.ts";
import { GROUP_LENGTH_TICKS, TIMESTAMP_TO_MS } from "./abs_send_time.ts";
import type { AimdRateControl } from "./aimd_rate_control.ts";
import { type DelayFilter, DelayPipeline } from "./delay_pipeline.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { ProbeClusters } from "./probe_clusters.ts";
import { RateStatistics } from "./rate_statistics.ts";
import { SsrcMap } from "./ssrc_map.ts";
import type { BandwidthUsage } from "./types.ts";

const MIN_PROBE_PACKET_SIZE = 200;
const INITIAL_PROBING_INTERVAL_US = 2_000_000;
const EXPECTED_NUMBER_OF_PROBES = 3;
const BITRATE_WINDOW_MS = 1000;
/** Per-SSRC pipelines kept after their stream timed out, so a returning stream keeps its detector. */
const MAX_DORMANT_PIPELINES = 64;

/** How packets are grouped into delay pipelines. */
export type Grouping = "per-stream" | "transport";

/** Called with a new estimate and the SSRCs it covers (ascending). */
export type EstimateCallback = (bitrateBps: number, ssrcs: number[]) => void;

/** Options of {@linkcode AbsSendTimeEstimator}. */
export interface AbsSendTimeEstimatorOptions {
  /** Pipeline per SSRC, or one for all. */
  grouping: Grouping;
  /** Delay filter of each pipeline. */
  filter: DelayFilter;
  /** Trendline regression window. */
  trendlineWindowSize: number;
  /** Silence after which an SSRC is dropped, in microseconds. */
  streamTimeoutUs: number;
  /** The rate controller, owned by the caller so it can carry RTT and bounds. */
  aimd: AimdRateControl;
  /** libwebrtc's OnReceiveBitrateChanged. */
  onEstimate: EstimateCallback;
}

/** What the estimator keeps per active SSRC. */
export interface AbsStream {
  /** The stream's SSRC. */
  readonly ssrc: number;
  /** Receiver clock at its last packet, µs. */
  lastSeenUs: number;
  /** The delay pipeline the stream feeds (shared by every stream with transport grouping). */
  readonly pipeline: DelayPipeline;
  /** Packets received. */
  packets: number;
  /** Payload bytes received. */
  bytes: number;
}

/**
 * Packet-driven estimator for packets that carry abs-send-time.
 *
 * @example
 * ```ts
 * import { AbsSendTimeEstimator } from "./abs_send_time_estimator.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import { absSendTimeToTicks } from "./abs_send_time.ts";
 * import { PacketBatch } from "./packet_batch.ts";
 * import assert from "node:assert/strict";
 * const estimates: number[] = [];
 * const estimator = new AbsSendTimeEstimator({
 *   grouping: "transport", filter: "kalman", trendlineWindowSize: 20, streamTimeoutUs: 2_000_000,
 *   aimd: new AimdRateControl(), onEstimate: (bps) => estimates.push(bps),
 * });
 * // Five 1000-byte probes 5 ms apart give a first estimate of about 1.6 Mbit/s.
 * const batch = new PacketBatch(1);
 * for (let i = 0; i < 5; i++) {
 *   batch.ssrc[0] = 1;
 *   batch.timestamp[0] = absSendTimeToTicks(Math.round((i * 5000 * 2 ** 18) / 1e6));
 *   batch.arrivalUs[0] = batch.nowUs[0] = 100_000_000 + i * 5000;
 *   batch.size[0] = 1000;
 *   estimator.onRecord(batch, 0);
 * }
 * assert.ok(estimates.at(-1)! > 1_500_000);
 * ```
 */
export class AbsSendTimeEstimator {
  readonly #options: AbsSendTimeEstimatorOptions;
  readonly #aimd: AimdRateControl;
  readonly #streams = new SsrcMap<AbsStream>();
  readonly #dormant = new Map<number, DelayPipeline>();
  readonly #incoming = new RateStatistics(BITRATE_WINDOW_MS);
  #incomingInitialized = false;
  #firstPacketUs = -Infinity;
  // When the last estimate was reported, and the feedback interval of the current bitrate (it only
  // changes with the bitrate, so it is computed then rather than per packet).
  #updated = false;
  #lastUpdateMs = 0;
  #feedbackIntervalMs: number;
  // Lower bound of every stream's lastSeenUs, so timeouts are only scanned for when one may be due.
  #oldestSeenUs = Infinity;
  // Probing measures the path, so it runs over all packets whatever the grouping.
  readonly #probes = new ProbeClusters();
  // Transport grouping: the one pipeline.
  #shared: DelayPipeline | undefined;
  // Per-stream grouping: how many active pipelines are in each non-normal state.
  #overusing = 0;
  #underusing = 0;

  /**
   * Creates an estimator with no streams.
   *
   * @param options Grouping, filter, timeout, rate controller and callback.
   */
  constructor(options: AbsSendTimeEstimatorOptions) {
    this.#options = options;
    this.#aimd = options.aimd;
    this.#feedbackIntervalMs = usToMs(options.aimd.getFeedbackIntervalUs());
  }

  /** The fused detector state: the transport pipeline's, or the most severe per-SSRC one. */
  get usage(): BandwidthUsage {
    if (this.#shared) return this.#shared.usage;
    return this.#overusing > 0 ? "overusing" : this.#underusing > 0 ? "underusing" : "normal";
  }

  /**
   * An active stream.
   *
   * @param ssrc The SSRC.
   * @returns Its state, or `undefined`.
   */
  stream(ssrc: number): AbsStream | undefined {
    return this.#streams.get(ssrc);
  }

  /**
   * The incoming rate over the last second, in bps, without disturbing the estimator.
   *
   * @param nowMs Time in integer milliseconds (arrival clock).
   * @returns The rate, or `undefined` while there is too little data.
   */
  incomingRateBps(nowMs: number): number | undefined {
    return this.#incoming.peekRate(nowMs);
  }

  /**
   * libwebrtc's LatestEstimate.
   *
   * @returns bps, or 0 without a valid estimate or active stream.
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
    const stream = this.#streams.get(ssrc);
    if (stream) this.#retire(stream);
  }

  /**
   * Processes record `index` of a batch (reference §4.3). The timestamp column holds upshifted
   * abs-send-time ticks.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  onRecord(batch: PacketBatch, index: number): void {
    const nowUs = batch.nowUs[index];
    const size = batch.size[index];
    const nowMs = usToMs(nowUs);

    // Restart the rate window once it has drained, e.g. after a silence.
    if (this.#incoming.rateAt(batch.arrivalUs, index) !== undefined) {
      this.#incomingInitialized = true;
    } else if (this.#incomingInitialized) {
      this.#incoming.reset();
      this.#incomingInitialized = false;
    }
    this.#incoming.updateFrom(batch.size, batch.arrivalUs, index);
    if (this.#firstPacketUs === -Infinity) this.#firstPacketUs = nowUs;

    if (nowUs - this.#oldestSeenUs > this.#options.streamTimeoutUs) this.#timeoutStreams(nowUs);
    const ssrc = batch.ssrc[index];
    const stream = this.#streams.getAt(batch.ssrc, index) ?? this.#admit(ssrc);
    stream.lastSeenUs = nowUs;
    if (nowUs < this.#oldestSeenUs) this.#oldestSeenUs = nowUs;
    stream.packets++;
    stream.bytes += size;

    let updateEstimate = false;
    const aimd = this.#aimd;
    if (
      size > MIN_PROBE_PACKET_SIZE &&
      (!aimd.validEstimate || nowUs - this.#firstPacketUs < INITIAL_PROBING_INTERVAL_US)
    ) {
      this.#probes.add(batch, index);
      updateEstimate = this.#processClusters(nowUs);
    }

    const pipeline = stream.pipeline;
    if (this.#shared) {
      pipeline.onRecord(batch, index, true);
    } else {
      const before = pipeline.usage;
      const after = pipeline.onRecord(batch, index, true);
      if (after !== before) {
        this.#count(before, -1);
        this.#count(after, 1);
      }
    }
    const usage = this.usage;

    if (!updateEstimate) {
      if (!this.#updated || nowMs - this.#lastUpdateMs > this.#feedbackIntervalMs) {
        updateEstimate = true;
      } else if (usage === "overusing") {
        const rate = this.#incoming.rateAt(batch.arrivalUs, index);
        updateEstimate = rate !== undefined && aimd.timeToReduceFurther(nowUs, rate);
      }
    }
    if (updateEstimate) {
      const target = aimd.update(usage, this.#incoming.rateAt(batch.arrivalUs, index), nowUs);
      this.#feedbackIntervalMs = usToMs(aimd.getFeedbackIntervalUs());
      if (aimd.validEstimate) {
        this.#updated = true;
        this.#lastUpdateMs = nowMs;
        this.#options.onEstimate(target, this.ssrcs());
      }
    }
  }

  /**
   * Active SSRCs in ascending order.
   *
   * @returns A frozen array, shared until the set of streams changes.
   */
  ssrcs(): number[] {
    return this.#streams.sortedKeys();
  }

  // A probe cluster faster than the estimate replaces it at once.
  #processClusters(nowUs: number): boolean {
    const probes = this.#probes;
    const bestBps = probes.evaluate();
    if (probes.clusterCount === 0) return false;
    const aimd = this.#aimd;
    if (
      bestBps > 0 &&
      (aimd.validEstimate ? bestBps > aimd.latestEstimateBps : true)
    ) {
      aimd.setEstimate(bestBps, nowUs);
      this.#feedbackIntervalMs = usToMs(aimd.getFeedbackIntervalUs());
      return true;
    }
    if (probes.clusterCount >= EXPECTED_NUMBER_OF_PROBES) probes.clear();
    return false;
  }

  #admit(ssrc: number): AbsStream {
    let pipeline: DelayPipeline;
    if (this.#options.grouping === "transport") {
      if (!this.#shared) {
        this.#shared = this.#newPipeline();
      } else if (this.#streams.size === 0) {
        this.#shared.resetFilter(); // Every stream had timed out.
      }
      pipeline = this.#shared;
    } else {
      const dormant = this.#dormant.get(ssrc);
      if (dormant) {
        this.#dormant.delete(ssrc);
        dormant.resetFilter();
        pipeline = dormant;
        this.#count(pipeline.usage, 1);
      } else {
        pipeline = this.#newPipeline();
      }
    }
    const stream: AbsStream = { ssrc, lastSeenUs: 0, pipeline, packets: 0, bytes: 0 };
    this.#streams.set(ssrc, stream);
    return stream;
  }

  #retire(stream: AbsStream): void {
    this.#streams.delete(stream.ssrc);
    if (this.#shared) return;
    this.#count(stream.pipeline.usage, -1);
    this.#dormant.set(stream.ssrc, stream.pipeline);
    if (this.#dormant.size > MAX_DORMANT_PIPELINES) {
      this.#dormant.delete(this.#dormant.keys().next().value!);
    }
  }

  #timeoutStreams(nowUs: number): void {
    let oldest = Infinity;
    const streams = this.#streams.values;
    // Backwards, because retiring moves the last entry into the freed place.
    for (let i = streams.length - 1; i >= 0; i--) {
      const stream = streams[i];
      if (nowUs - stream.lastSeenUs > this.#options.streamTimeoutUs) {
        this.#retire(stream);
      } else if (stream.lastSeenUs < oldest) {
        oldest = stream.lastSeenUs;
      }
    }
    this.#oldestSeenUs = oldest;
  }

  #count(usage: BandwidthUsage, delta: number): void {
    if (usage === "overusing") this.#overusing += delta;
    else if (usage === "underusing") this.#underusing += delta;
  }

  #newPipeline(): DelayPipeline {
    return new DelayPipeline({
      groupLengthTicks: GROUP_LENGTH_TICKS,
      timestampToMs: TIMESTAMP_TO_MS,
      filter: this.#options.filter,
      trendlineWindowSize: this.#options.trendlineWindowSize,
    });
  }
}
