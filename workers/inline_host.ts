/**
 * The inline host: lanes run on the receiving thread, at flush time. No worker, no copy.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import type { PacketBatch } from "../core/packet_batch.ts";
import type { HostCallbacks, LaneHost } from "./lane_host.ts";
import { type PipelineStart, runLaneBatch, startLanePipeline } from "./lane_runner.ts";
import type { LaneConfig } from "./protocol.ts";
import { Fifo } from "./_fifo.ts";

/**
 * Runs lanes on the calling thread.
 *
 * @example
 * ```ts
 * import { InlineHost } from "./inline_host.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import { LaneFigures } from "../core/lane_figures.ts";
 * import assert from "node:assert/strict";
 * const results: number[] = [];
 * const host = new InlineHost({
 *   onResults: (lane, batch) => results.push(lane, new LaneFigures(batch.figures).numDeltas),
 *   onLaneFailed() {},
 * });
 * host.open(1, 0x1234, { kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 }, undefined);
 * const batch = new PacketBatch(8);
 * for (let i = 0; i < 8; i++) {
 *   batch.timestamp[i] = i * 3000;
 *   batch.arrivalUs[i] = batch.nowUs[i] = 1e6 + i * 33_333;
 *   batch.size[i] = 1000;
 * }
 * host.submit(1, batch, 8);
 * assert.deepEqual(results, []); // delivered at the flush, as the worker hosts deliver
 * host.flush();
 * assert.deepEqual(results, [1, 6]);
 * host.close();
 * ```
 */
export class InlineHost implements LaneHost {
  readonly #callbacks: HostCallbacks;
  readonly #pipelines = new Map<number, DelayPipeline>();
  readonly #doneLanes = new Fifo<number>();
  readonly #doneBatches = new Fifo<PacketBatch>();

  /**
   * Creates a host with no lanes.
   *
   * @param callbacks Where results go.
   */
  constructor(callbacks: HostCallbacks) {
    this.#callbacks = callbacks;
  }

  /** Always 0: no workers. */
  get liveWorkers(): number {
    return 0;
  }

  /** Always 0: no lane waits for a worker. */
  get startingLanes(): number {
    return 0;
  }

  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id.
   * @param _ssrc First SSRC of the lane; no worker to name.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from; afresh when `undefined`.
   */
  open(lane: number, _ssrc: number, config: LaneConfig, start: PipelineStart | undefined): void {
    this.#pipelines.set(lane, startLanePipeline(config, start));
  }

  /**
   * The whole state of a lane's pipeline, for another host to carry on from exactly.
   *
   * @param lane Lane id.
   * @returns A snapshot (`DelayPipeline.saveSnapshot`).
   */
  snapshot(lane: number): PipelineStart {
    return { from: "snapshot", values: this.#pipelines.get(lane)!.saveSnapshot() };
  }

  /**
   * A lane's pipeline, for a coordinator that runs each record as it is admitted instead of in
   * batches: on this thread the records need not be copied into a batch to be run.
   *
   * @param lane Lane id.
   * @returns Its pipeline, or `undefined` when the lane is not open.
   */
  pipelineOf(lane: number): DelayPipeline | undefined {
    return this.#pipelines.get(lane);
  }

  /**
   * Batches go out at every flush: running one costs no wake-up.
   *
   * @param _lane Lane id.
   * @returns 1.
   */
  flushesPerBatch(_lane: number): number {
    return 1;
  }

  /**
   * The lane went quiet; its pipeline stays, as it costs no thread.
   *
   * @param _lane Lane id.
   */
  retire(_lane: number): void {}

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    this.#pipelines.delete(lane);
  }

  /**
   * Runs a batch of the lane; its results wait for the next flush.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    runLaneBatch(this.#pipelines.get(lane)!, batch, length);
    batch.length = length;
    this.#doneLanes.push(lane);
    this.#doneBatches.push(batch);
  }

  /**
   * Results are delivered at every flush anyway.
   *
   * @param _prompt Ignored.
   */
  setPrompt(_prompt: boolean): void {}

  /** Delivers what was submitted. */
  flush(): void {
    // Delivered at flush, like the worker hosts' results, never in the middle of submitting.
    while (this.#doneLanes.length > 0) {
      const batch = this.#doneBatches.shift()!;
      this.#callbacks.onResults(this.#doneLanes.shift()!, batch, batch.length);
    }
  }

  /** Forgets every lane. */
  close(): void {
    this.#pipelines.clear();
  }
}
