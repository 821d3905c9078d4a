/**
 * What a lane executor does with a batch, wherever it runs: the inline host calls this on the
 * receiving thread, lane workers call it in their own thread.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import { FLAG_RESET_FILTER, type PacketBatch } from "../core/packet_batch.ts";

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
