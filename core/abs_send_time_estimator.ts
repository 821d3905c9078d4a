/**
 * The abs-send-time estimator (reference §4, libwebrtc's RemoteBitrateEstimatorAbsSendTime) apart
 * from its delay pipeline: incoming rate, probe clusters, stream timeouts and the rate-update
 * decision. Each record arrives with the verdict of its lane's delay pipeline in the `usage` column, computed inline just before or in a worker, so both paths share this code.
 *
 * With per-stream grouping each SSRC has its own lane and the most severe verdict among active SSRCs
 * wins; with transport grouping there is one lane and its verdict is used as is.
 *
 * @module
 */

import { usToMs } from "./_math.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { ProbeClusters } from "./probe_clusters.ts";
import {
  EstimatorBase,
  type EstimatorBaseOptions,
  type EstimatorStream,
} from "./estimator_base.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";

const MIN_PROBE_PACKET_SIZE = 200;
const INITIAL_PROBING_INTERVAL_US = 2_000_000;
const EXPECTED_NUMBER_OF_PROBES = 3;

/** How packets are grouped into delay pipelines. */
export type Grouping = "per-stream" | "transport";

/** Options of {@linkcode AbsSendTimeEstimator}. */
export interface AbsSendTimeEstimatorOptions extends EstimatorBaseOptions {
  /** Lane per SSRC, or one for all. */
  grouping: Grouping;
  /**
   * Looks for probe clusters for the whole call, not only until the first estimate and in the
   * first 2 s (the enhanced profile; libwebrtc's rule otherwise).
   *
   * @default {false}
   */
  probeThroughout?: boolean;
}

/**
 * Packet-driven rate estimation for records that carry abs-send-time ticks and a lane verdict.
 *
 * @example
 * ```ts
 * import { AbsSendTimeEstimator } from "./abs_send_time_estimator.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import { absSendTimeToTicks } from "@rbe/receiver-gcc";
 * import { PacketBatch } from "./packet_batch.ts";
 * import assert from "node:assert/strict";
 * const estimates: number[] = [];
 * const estimator = new AbsSendTimeEstimator({
 *   grouping: "transport", streamTimeoutUs: 2_000_000,
 *   aimd: new AimdRateControl(), onEstimate: (bps) => estimates.push(bps),
 * });
 * // Five 1000-byte probes 5 ms apart give a first estimate of about 1.6 Mbit/s.
 * const batch = new PacketBatch(1);
 * for (let i = 0; i < 5; i++) {
 *   batch.ssrc[0] = 1;
 *   batch.timestamp[0] = absSendTimeToTicks(Math.round((i * 5000 * 2 ** 18) / 1e6));
 *   batch.arrivalUs[0] = batch.nowUs[0] = 100_000_000 + i * 5000;
 *   batch.size[0] = 1000;
 *   batch.usage[0] = 0; // the lane's verdict: normal
 *   estimator.onRecord(batch, 0);
 * }
 * assert.ok(estimates.at(-1)! > 1_500_000);
 * ```
 */
export class AbsSendTimeEstimator extends EstimatorBase {
  readonly #perStream: boolean;
  readonly #probeThroughout: boolean;
  #firstPacketUs = -Infinity;
  // Probe candidates are taken while the receiver clock is before this (2 s after the first packet)
  // or while there is no valid estimate.
  #probingEndUs = Infinity;
  // When the last estimate was reported, and the feedback interval of the current bitrate (it only
  // changes with the bitrate, so it is computed then rather than per packet).
  #updated = false;
  #lastUpdateMs = 0;
  #feedbackIntervalMs: number;
  // The first receiver-clock µs whose ms is more than the feedback interval after the last update:
  // `usToMs(now) - last > interval` is `now >= (last + interval + 1) * 1000 - 500`, no division.
  #nextUpdateUs = 0;
  // Probing measures the path, so it runs over all packets whatever the grouping.
  readonly #probes = new ProbeClusters();
  // Per-stream grouping: how many active streams are in each non-normal state. Transport grouping:
  // the lane's last verdict.
  #overusing = 0;
  #underusing = 0;
  #transportSeverity = 0;

  /**
   * Creates an estimator with no streams.
   *
   * @param options Grouping, timeout, rate controller and callback.
   */
  constructor(options: AbsSendTimeEstimatorOptions) {
    super(options, true);
    this.#perStream = options.grouping === "per-stream";
    this.#probeThroughout = options.probeThroughout ?? false;
    this.#feedbackIntervalMs = usToMs(options.aimd.getFeedbackIntervalUs());
  }

  /** The fused detector state: the transport lane's, or the most severe per-SSRC one. */
  override get usage(): BandwidthUsage {
    if (!this.#perStream) return usageOfSeverity(this.#transportSeverity);
    return this.#overusing > 0 ? "overusing" : this.#underusing > 0 ? "underusing" : "normal";
  }

  /**
   * Processes record `index` of a batch (reference §4.3): the timestamp column holds upshifted
   * abs-send-time ticks and the usage column the lane's verdict after this packet.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  override onRecord(batch: PacketBatch, index: number): void {
    // Restarts the rate window once it has drained, e.g. after a silence.
    this.incoming.updateRestartingFrom(batch.size, batch.arrivalUs, index);
    const stream = this.streams.touchAt(batch.ssrc, batch.nowUs, index);
    const size = batch.size[index];
    stream.count(size);
    const nowUs = batch.nowUs[index];
    if (this.#firstPacketUs === -Infinity) {
      this.#firstPacketUs = nowUs;
      this.#probingEndUs = nowUs + INITIAL_PROBING_INTERVAL_US;
    }

    let updateEstimate = false;
    if (
      size > MIN_PROBE_PACKET_SIZE &&
      (nowUs < this.#probingEndUs || this.aimd.validEstimate !== true ||
        this.#probeThroughout === true)
    ) {
      updateEstimate = this.#probe(batch, index);
    }

    const severity = batch.usage[index];
    let overusing: boolean;
    // `=== true`: a boolean read from a field is otherwise tested as any value could be.
    if (this.#perStream === true) {
      if (severity !== stream.severity || this.streams.created === true) {
        this.#setSeverity(stream, severity);
      }
      overusing = this.#overusing > 0;
    } else {
      stream.severity = severity;
      this.#transportSeverity = severity;
      overusing = severity === 2;
    }

    if (
      updateEstimate || this.#updated !== true || nowUs >= this.#nextUpdateUs ||
      (overusing && this.#timeToReduceFurther(batch, index))
    ) {
      this.#updateEstimate(batch, index);
    }
  }

  // Per-stream grouping: the stream's verdict changed, or it is new (its entry says normal).
  #setSeverity(stream: EstimatorStream, severity: number): void {
    if (!this.streams.created) this.#count(stream.severity, -1);
    this.#count(severity, 1);
    stream.severity = severity;
  }

  #timeToReduceFurther(batch: PacketBatch, index: number): boolean {
    const rate = this.incoming.rateAt(batch.arrivalUs, index);
    return rate !== undefined && this.aimd.timeToReduceFurther(batch.nowUs[index], rate);
  }

  #updateEstimate(batch: PacketBatch, index: number): void {
    const nowUs = batch.nowUs[index];
    const aimd = this.aimd;
    const target = aimd.update(this.usage, this.incoming.rateAt(batch.arrivalUs, index), nowUs);
    this.#feedbackIntervalMs = usToMs(aimd.getFeedbackIntervalUs());
    if (aimd.validEstimate) {
      this.#updated = true;
      this.#lastUpdateMs = usToMs(nowUs);
      this.onEstimate(target, this.ssrcs());
    }
    this.#nextUpdateUs = (this.#lastUpdateMs + this.#feedbackIntervalMs + 1) * 1000 - 500;
  }

  // Adds a probe candidate; a probe cluster faster than the estimate replaces it at once.
  #probe(batch: PacketBatch, index: number): boolean {
    const probes = this.#probes;
    probes.add(batch, index);
    const bestBps = probes.evaluate();
    if (probes.clusterCount === 0) return false;
    const aimd = this.aimd;
    if (bestBps > 0 && (aimd.validEstimate ? bestBps > aimd.latestEstimateBps : true)) {
      aimd.setEstimate(bestBps, batch.nowUs[index]);
      this.#feedbackIntervalMs = usToMs(aimd.getFeedbackIntervalUs());
      this.#nextUpdateUs = (this.#lastUpdateMs + this.#feedbackIntervalMs + 1) * 1000 - 500;
      return true;
    }
    if (probes.clusterCount >= EXPECTED_NUMBER_OF_PROBES) probes.clear();
    return false;
  }

  /**
   * A retired stream's verdict no longer counts.
   *
   * @param stream Its last state.
   */
  protected override onRetire(stream: EstimatorStream): void {
    this.#count(stream.severity, -1);
  }

  #count(severity: number, delta: number): void {
    if (severity === 2) this.#overusing += delta;
    else if (severity === 1) this.#underusing += delta;
  }
}
