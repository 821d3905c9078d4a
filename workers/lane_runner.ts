/**
 * What a lane executor does, wherever it runs: starts a lane's pipeline (afresh, from the detector
 * a host reported, or from a whole snapshot) and runs batches through it. The inline host calls
 * this on the receiving thread, lane workers call it in their own thread.
 *
 * @module
 */

import { createLanePipeline, type DelayPipeline, type LaneConfig } from "../core/delay_pipeline.ts";
import { FLAG_RESET_FILTER, type PacketBatch } from "../core/packet_batch.ts";

/** What a lane's new pipeline starts from, when it does not start afresh. */
export type PipelineStart =
  | {
    /**
     * The detector of the figures the lane's host last reported; grouping and filter start
     * afresh, as for a lane that returns after a timeout or fails over.
     */
    from: "figures";
    /** The figures (core/lane_figures.ts). */
    values: Float64Array;
  }
  | {
    /** The whole pipeline, exactly, as for a lane that moves from the inline host to its worker. */
    from: "snapshot";
    /** What `DelayPipeline.saveSnapshot` wrote. */
    values: Float64Array;
  };

/**
 * Makes a lane's pipeline.
 *
 * @param config Pipeline settings.
 * @param start What it starts from; afresh when `undefined`.
 * @returns The pipeline.
 * @throws {RangeError} A snapshot of a pipeline with other settings.
 * @example
 * ```ts
 * import { startLanePipeline } from "./lane_runner.ts";
 * import assert from "node:assert/strict";
 * const config = { kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 } as const;
 * const first = startLanePipeline(config, undefined);
 * for (let i = 0; i < 30; i++) first.onPacket(i * 2970, 1000 + i * 40, 1000 + i * 40, 1200, 1000 + i * 40);
 * const moved = startLanePipeline(config, { from: "snapshot", values: first.saveSnapshot() });
 * assert.equal(moved.usage, "overusing");
 * assert.equal(moved.numDeltas, first.numDeltas);
 * ```
 */
export function startLanePipeline(
  config: LaneConfig,
  start: PipelineStart | undefined,
): DelayPipeline {
  const pipeline = createLanePipeline(config);
  if (start?.from === "figures") pipeline.restoreDetector(start.values);
  else if (start?.from === "snapshot") pipeline.restoreSnapshot(start.values);
  return pipeline;
}

/**
 * Runs the first `length` records of a batch through a lane's pipeline, filling their `usage`
 * column, then writes the pipeline's figures into the batch.
 *
 * @param pipeline The lane's pipeline.
 * @param batch Records of that lane, in arrival order.
 * @param length Records in use.
 * @example
 * ```ts
 * import { runLaneBatch } from "./lane_runner.ts";
 * import { createLanePipeline } from "../core/delay_pipeline.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import { LaneFigures } from "../core/lane_figures.ts";
 * import { INITIAL_THRESHOLD_MS } from "../core/overuse_detector.ts";
 * import assert from "node:assert/strict";
 * const pipeline = createLanePipeline({ kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 });
 * const batch = new PacketBatch(4);
 * for (let i = 0; i < 4; i++) {
 *   batch.timestamp[i] = i * 3000;
 *   batch.arrivalUs[i] = batch.nowUs[i] = 1e6 + i * 33_333;
 *   batch.size[i] = 1000;
 * }
 * runLaneBatch(pipeline, batch, 4);
 * const figures = new LaneFigures(batch.figures);
 * assert.equal(figures.thresholdMs, INITIAL_THRESHOLD_MS); // not adapted yet
 * assert.equal(figures.usage, "normal");
 * ```
 */
export function runLaneBatch(pipeline: DelayPipeline, batch: PacketBatch, length: number): void {
  for (let i = 0; i < length; i++) {
    if ((batch.flags[i] & FLAG_RESET_FILTER) !== 0) pipeline.resetFilter();
    pipeline.onRecord(batch, i);
  }
  pipeline.writeFigures(batch.figures);
}
