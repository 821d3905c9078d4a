/**
 * The per-stream arrival-time pipeline: inter-arrival grouping → delay filter (Kalman or trendline)
 * → overuse detector (reference §4.3 step 7, §5–§7, §10).
 *
 * This is the one implementation of the delay-based stages. The inline estimator runs it per stream
 * (or once per transport), and the worker hosts run the same class off the receiving thread.
 *
 * @module
 */

import { GROUP_LENGTH_TICKS, TIMESTAMP_TO_MS } from "./abs_send_time.ts";
import { DelaySample } from "./delay_sample.ts";
import { INTER_ARRIVAL_STATE_LENGTH, InterArrival } from "./inter_arrival.ts";
import {
  FIGURE_DETECTOR_STATE,
  FIGURE_MODIFIED_OFFSET_MS,
  FIGURE_NUM_DELTAS,
  FIGURE_OFFSET_MS,
  FIGURE_THRESHOLD_MS,
} from "./lane_figures.ts";
import { DETECTOR_STATE_LENGTH, OveruseDetector } from "./overuse_detector.ts";
import { OVERUSE_ESTIMATOR_STATE_LENGTH, OveruseEstimator } from "./overuse_estimator.ts";
import { TrendlineEstimator } from "./trendline_estimator.ts";
import { usToMs } from "./_math.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";
import type { EstimatorKind } from "./lane_table.ts";
import { RTP_GROUP_LENGTH_TICKS, RTP_TIMESTAMP_TO_MS } from "./single_stream_estimator.ts";

/** Which delay filter a pipeline runs. */
export type DelayFilter = "kalman" | "trendline";

// A snapshot: a tag, the filter (0 Kalman, 1 trendline), its window, the group length; then the
// grouper's, the filter's and the detector's states.
const SNAPSHOT_TAG = 0x5e1f;
const SNAPSHOT_HEADER = 4;

/** Options of {@linkcode DelayPipeline}. */
export interface DelayPipelineOptions {
  /** Send-time group length in timestamp ticks. */
  groupLengthTicks: number;
  /** Milliseconds per timestamp tick. */
  timestampToMs: number;
  /**
   * The delay filter.
   *
   * @default {"kalman"}
   */
  filter?: DelayFilter;
  /**
   * Whether arrival time paces the filter and the threshold (abs-send-time) rather than the
   * receiver clock (RTP timestamps), when fed records.
   *
   * @default {true}
   */
  paceByArrival?: boolean;
  /**
   * Regression window of the trendline filter, in deltas (10–200).
   *
   * @default {20}
   */
  trendlineWindowSize?: number;
}

/** What a lane's pipeline is built from, on every host. */
export interface LaneConfig {
  /** Abs-send-time ticks or 90 kHz RTP timestamps. */
  kind: EstimatorKind;
  /** The delay filter. */
  filter: DelayFilter;
  /** Trendline regression window. */
  trendlineWindowSize: number;
}

/**
 * Makes the delay pipeline of a lane: the timestamp scale and pacing follow the estimator kind.
 *
 * @param config Estimator kind and filter.
 * @returns A fresh pipeline.
 * @example
 * ```ts
 * import { createLanePipeline } from "./delay_pipeline.ts";
 * import assert from "node:assert/strict";
 * const pipeline = createLanePipeline({ kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 });
 * assert.equal(pipeline.usage, "normal");
 * ```
 */
export function createLanePipeline(config: LaneConfig): DelayPipeline {
  const rtp = config.kind === "rtp-timestamp";
  return new DelayPipeline({
    groupLengthTicks: rtp ? RTP_GROUP_LENGTH_TICKS : GROUP_LENGTH_TICKS,
    timestampToMs: rtp ? RTP_TIMESTAMP_TO_MS : TIMESTAMP_TO_MS,
    filter: config.filter,
    trendlineWindowSize: config.trendlineWindowSize,
    paceByArrival: !rtp,
  });
}

/**
 * Groups one stream's packets, filters the delay gradient and keeps the detector's verdict.
 *
 * @example
 * ```ts
 * import { DelayPipeline } from "./delay_pipeline.ts";
 * import assert from "node:assert/strict";
 * // 90 kHz RTP timestamps, 5 ms groups; frames sent every 33 ms arrive 40 ms apart.
 * const pipeline = new DelayPipeline({ groupLengthTicks: 450, timestampToMs: 1 / 90 });
 * for (let i = 0; i < 30; i++) pipeline.onPacket(i * 2970, 1000 + i * 40, 1000 + i * 40, 1200, 1000 + i * 40);
 * assert.equal(pipeline.usage, "overusing");
 * ```
 */
export class DelayPipeline {
  readonly #groupLengthTicks: number;
  readonly #timestampToMs: number;
  readonly #trendlineWindowSize: number;
  readonly #paceByArrival: boolean;
  #interArrival: InterArrival;
  // Exactly one of the two filters is in use.
  #kalman: OveruseEstimator | undefined;
  #trendline: TrendlineEstimator | undefined;
  readonly #detector: OveruseDetector;
  readonly #sample = new DelaySample();

  /**
   * Creates a pipeline with empty state.
   *
   * @param options Timestamp scale and filter choice.
   */
  constructor(options: DelayPipelineOptions) {
    this.#groupLengthTicks = options.groupLengthTicks;
    this.#timestampToMs = options.timestampToMs;
    this.#trendlineWindowSize = options.trendlineWindowSize ?? 20;
    this.#paceByArrival = options.paceByArrival ?? true;
    this.#interArrival = new InterArrival(this.#groupLengthTicks, this.#timestampToMs);
    if (options.filter === "trendline") {
      this.#detector = TrendlineEstimator.createDetector();
      this.#trendline = new TrendlineEstimator(this.#trendlineWindowSize, this.#detector);
    } else {
      this.#detector = new OveruseDetector();
      this.#kalman = new OveruseEstimator();
    }
  }

  /** The detector's verdict after the last packet. */
  get usage(): BandwidthUsage {
    return this.#detector.state;
  }

  /** The filter output: Kalman offset in ms, or the trendline slope. */
  get offsetMs(): number {
    return this.#trendline ? this.#trendline.trend : this.#kalman!.offset;
  }

  /** The value last compared to the threshold. */
  get modifiedOffsetMs(): number {
    return this.#detector.modifiedOffset;
  }

  /** The detector's adaptive threshold in ms. */
  get thresholdMs(): number {
    return this.#detector.threshold;
  }

  /** Number of deltas the filter has seen (capped at 1000). */
  get numDeltas(): number {
    return this.#trendline ? this.#trendline.numOfDeltas : this.#kalman!.numOfDeltas;
  }

  /**
   * Feeds one packet.
   *
   * @param timestamp Send time in ticks (32-bit unsigned).
   * @param arrivalTimeMs Arrival time in integer milliseconds.
   * @param systemTimeMs Receiver clock in integer milliseconds.
   * @param size Payload bytes.
   * @param detectorTimeMs Time that paces the filter and threshold (arrival time for abs-send-time,
   * the clock for RTP timestamps).
   * @returns The detector's verdict.
   */
  onPacket(
    timestamp: number,
    arrivalTimeMs: number,
    systemTimeMs: number,
    size: number,
    detectorTimeMs: number,
  ): BandwidthUsage {
    if (this.#interArrival.computeDeltas(timestamp, arrivalTimeMs, systemTimeMs, size)) {
      this.#sample.nowMs = detectorTimeMs;
      this.#filter();
    }
    return this.#detector.state;
  }

  /**
   * Feeds record `index` of a batch and writes the verdict into its `usage` column.
   *
   * @param batch Packet records.
   * @param index The record.
   * @returns The detector's verdict.
   */
  onRecord(batch: PacketBatch, index: number): BandwidthUsage {
    if (this.#interArrival.computeDeltasFrom(batch, index)) {
      this.#sample.nowMs = usToMs(
        this.#paceByArrival ? batch.arrivalUs[index] : batch.nowUs[index],
      );
      this.#filter();
    }
    const severity = this.#detector.severity;
    batch.usage[index] = severity;
    return usageOfSeverity(severity);
  }

  // Runs the filter and the detector on the deltas the inter-arrival stage just computed.
  #filter(): void {
    const ia = this.#interArrival;
    const sample = this.#sample;
    sample.tDeltaMs = ia.arrivalTimeDeltaMs;
    sample.tsDeltaMs = ia.timestampDelta * this.#timestampToMs;
    sample.sizeDelta = ia.packetSizeDelta;
    if (this.#trendline) {
      this.#trendline.updateWith(sample);
    } else {
      this.#kalman!.updateWith(sample, this.#detector.state);
      this.#detector.detectWith(sample);
    }
  }

  /**
   * Writes the pipeline's figures into `out`, laid out as core/lane_figures.ts says (read them
   * through a `LaneFigures`).
   *
   * @param out At least `LANE_FIGURE_COUNT` numbers, e.g. a batch's `figures`.
   */
  writeFigures(out: Float64Array): void {
    out[FIGURE_OFFSET_MS] = this.offsetMs;
    out[FIGURE_MODIFIED_OFFSET_MS] = this.modifiedOffsetMs;
    out[FIGURE_THRESHOLD_MS] = this.thresholdMs;
    out[FIGURE_NUM_DELTAS] = this.numDeltas;
    this.#detector.save(out, FIGURE_DETECTOR_STATE);
  }

  /**
   * Takes over the detector state from figures written by {@linkcode DelayPipeline.writeFigures}
   * (grouping and filter stay fresh), as when a lane moves to a new pipeline.
   *
   * @param figures Figures of the lane's previous pipeline.
   */
  restoreDetector(figures: Float64Array): void {
    this.#detector.restore(figures, FIGURE_DETECTOR_STATE);
  }

  /** Numbers a snapshot of this pipeline takes ({@linkcode DelayPipeline.saveSnapshot}). */
  get snapshotLength(): number {
    const filter = this.#trendline ? this.#trendline.stateLength : OVERUSE_ESTIMATOR_STATE_LENGTH;
    return SNAPSHOT_HEADER + INTER_ARRIVAL_STATE_LENGTH + filter + DETECTOR_STATE_LENGTH;
  }

  /**
   * Writes the whole state of the pipeline — grouping, filter and detector — so that a pipeline with
   * the same options restored from it ({@linkcode DelayPipeline.restoreSnapshot}) gives exactly the
   * verdicts this one would, as when a lane moves to another thread mid-stream.
   *
   * @param out Where to write, at least {@linkcode DelayPipeline.snapshotLength} numbers.
   * @returns `out`.
   * @example
   * ```ts
   * import { DelayPipeline } from "./delay_pipeline.ts";
   * import assert from "node:assert/strict";
   * const options = { groupLengthTicks: 450, timestampToMs: 1 / 90 };
   * const feed = (pipeline: DelayPipeline, from: number, to: number) => {
   *   for (let i = from; i < to; i++) pipeline.onPacket(i * 2970, 1000 + i * 40, 1000 + i * 40, 1200, 1000 + i * 40);
   * };
   * const original = new DelayPipeline(options);
   * feed(original, 0, 12);
   * const moved = new DelayPipeline(options);
   * moved.restoreSnapshot(original.saveSnapshot());
   * feed(original, 12, 30);
   * feed(moved, 12, 30);
   * assert.equal(moved.usage, "overusing");
   * assert.equal(moved.offsetMs, original.offsetMs);
   * ```
   */
  saveSnapshot(out: Float64Array = new Float64Array(this.snapshotLength)): Float64Array {
    if (out.length < this.snapshotLength) {
      throw new RangeError(
        `Cannot save pipeline snapshot as the array is too short: current length is ${out.length}`,
      );
    }
    out[0] = SNAPSHOT_TAG;
    out[1] = this.#trendline ? 1 : 0;
    out[2] = this.#trendline ? this.#trendlineWindowSize : 0;
    out[3] = this.#groupLengthTicks;
    let at = SNAPSHOT_HEADER;
    this.#interArrival.save(out, at);
    at += INTER_ARRIVAL_STATE_LENGTH;
    if (this.#trendline) {
      this.#trendline.save(out, at);
      at += this.#trendline.stateLength;
    } else {
      this.#kalman!.save(out, at);
      at += OVERUSE_ESTIMATOR_STATE_LENGTH;
    }
    this.#detector.save(out, at);
    return out;
  }

  /**
   * Takes over the whole state of a pipeline with the same options from a snapshot written by
   * {@linkcode DelayPipeline.saveSnapshot}.
   *
   * @param snapshot The snapshot.
   * @throws {RangeError} It is not a snapshot of a pipeline with this filter, window and group
   * length.
   */
  restoreSnapshot(snapshot: Float64Array): void {
    const filter = this.#trendline ? 1 : 0;
    const window = this.#trendline ? this.#trendlineWindowSize : 0;
    if (
      snapshot.length < this.snapshotLength || snapshot[0] !== SNAPSHOT_TAG ||
      snapshot[1] !== filter || snapshot[2] !== window || snapshot[3] !== this.#groupLengthTicks
    ) {
      throw new RangeError(
        `Cannot restore pipeline snapshot as it is of another pipeline: current header is ${
          Array.from(snapshot.subarray(0, SNAPSHOT_HEADER)).join(", ")
        }`,
      );
    }
    let at = SNAPSHOT_HEADER;
    this.#interArrival.restore(snapshot, at);
    at += INTER_ARRIVAL_STATE_LENGTH;
    if (this.#trendline) {
      this.#trendline.restore(snapshot, at);
      at += this.#trendline.stateLength;
    } else {
      this.#kalman!.restore(snapshot, at);
      at += OVERUSE_ESTIMATOR_STATE_LENGTH;
    }
    this.#detector.restore(snapshot, at);
  }

  /**
   * Starts grouping and filtering afresh, keeping the detector, as when every stream of the
   * pipeline timed out (reference §4.3 step 4).
   */
  resetFilter(): void {
    this.#interArrival = new InterArrival(this.#groupLengthTicks, this.#timestampToMs);
    if (this.#trendline) {
      this.#trendline = new TrendlineEstimator(this.#trendlineWindowSize, this.#detector);
    } else {
      this.#kalman = new OveruseEstimator();
    }
  }
}
