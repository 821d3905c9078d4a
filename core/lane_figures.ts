/**
 * A lane's figures: what its delay pipeline reports with every batch, in the `figures` area of a
 * {@linkcode PacketBatch} (written by `DelayPipeline.writeFigures`, read back by
 * `DelayPipeline.restoreDetector` when a lane moves to a new pipeline). The layout is here, once, as
 * named indices; {@linkcode LaneFigures} reads it by name.
 *
 * @module
 */

import { DETECTOR_STATE_HYPOTHESIS, DETECTOR_STATE_LENGTH } from "./overuse_detector.ts";
import { FIGURE_COUNT, type PacketBatch } from "./packet_batch.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";

/** Index of the filter output: the Kalman offset in ms, or the trendline slope. */
export const FIGURE_OFFSET_MS = 0;
/** Index of the value the detector last compared to its threshold. */
export const FIGURE_MODIFIED_OFFSET_MS = 1;
/** Index of the detector's adaptive threshold, ms. */
export const FIGURE_THRESHOLD_MS = 2;
/** Index of the number of deltas the filter has seen. */
export const FIGURE_NUM_DELTAS = 3;
/** Index of the first number of the detector's saved state (`OveruseDetector.save`). */
export const FIGURE_DETECTOR_STATE = 4;
/** Index of the detector's verdict, coded as a batch's `usage` column codes it. */
export const FIGURE_USAGE: number = FIGURE_DETECTOR_STATE + DETECTOR_STATE_HYPOTHESIS;
/** Numbers of the layout; a batch's figures area ({@linkcode FIGURE_COUNT}) has room for them. */
export const LANE_FIGURE_COUNT: number = FIGURE_DETECTOR_STATE + DETECTOR_STATE_LENGTH;

/**
 * Named getters over a lane's figures. It wraps the numbers without copying them, so one view per
 * lane serves for the lane's whole life.
 *
 * @example
 * ```ts
 * import { LaneFigures } from "./lane_figures.ts";
 * import { DelayPipeline } from "./delay_pipeline.ts";
 * import assert from "node:assert/strict";
 * const pipeline = new DelayPipeline({ groupLengthTicks: 450, timestampToMs: 1 / 90 });
 * for (let i = 0; i < 30; i++) pipeline.onPacket(i * 2970, 1000 + i * 40, 1000 + i * 40, 1200, 1000 + i * 40);
 * const figures = new LaneFigures();
 * pipeline.writeFigures(figures.values);
 * assert.equal(figures.usage, "overusing");
 * assert.equal(figures.usageCode, 2);
 * assert.equal(figures.thresholdMs, pipeline.thresholdMs);
 * ```
 */
export class LaneFigures {
  /** The numbers, laid out as this module says; pass them on where a `Float64Array` is wanted. */
  readonly values: Float64Array;

  /**
   * Creates a view.
   *
   * @param values Figures to read, e.g. a batch's `figures`; by default a fresh area of zeros, where
   * the threshold reads 0 rather than a fresh detector's `INITIAL_THRESHOLD_MS`.
   */
  constructor(values: Float64Array = new Float64Array(FIGURE_COUNT)) {
    if (values.length < LANE_FIGURE_COUNT) {
      throw new RangeError(
        `Cannot view lane figures as the array is too short: current length is ${values.length}`,
      );
    }
    this.values = values;
  }

  /** The filter output: the Kalman offset in ms, or the trendline slope. */
  get offsetMs(): number {
    return this.values[FIGURE_OFFSET_MS];
  }

  /** The value the detector last compared to its threshold. */
  get modifiedOffsetMs(): number {
    return this.values[FIGURE_MODIFIED_OFFSET_MS];
  }

  /** The detector's adaptive threshold, ms. */
  get thresholdMs(): number {
    return this.values[FIGURE_THRESHOLD_MS];
  }

  /** Deltas the filter has seen (capped at 1000). */
  get numDeltas(): number {
    return this.values[FIGURE_NUM_DELTAS];
  }

  /** The detector's verdict after the batch. */
  get usage(): BandwidthUsage {
    return usageOfSeverity(this.values[FIGURE_USAGE]);
  }

  /** The verdict as a batch's `usage` column codes it: 0 normal, 1 underusing, 2 overusing. */
  get usageCode(): number {
    return this.values[FIGURE_USAGE];
  }

  /**
   * Takes over the figures a batch came back with.
   *
   * @param batch A batch a pipeline has run.
   */
  copyFrom(batch: PacketBatch): void {
    this.values.set(batch.figures);
  }
}

/**
 * A lane's detector figures as statistics report them: `undefined` while the lane has reported
 * none.
 */
export interface LaneFigureStats {
  /** The filter output: the Kalman offset in ms, or the trendline slope. */
  delayOffsetMs: number | undefined;
  /** The value the detector last compared to its threshold, ms. */
  modifiedOffsetMs: number | undefined;
  /** The detector's adaptive threshold, ms. */
  thresholdMs: number | undefined;
}
