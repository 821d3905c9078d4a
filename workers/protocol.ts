/**
 * Messages between the coordinator, the spawner worker and lane workers. Records travel either in
 * `PacketBatch` buffers that are transferred, never copied, and come back with their
 * `usage` column and `figures` filled in, or (the default) through a lane's shared-memory slots,
 * where only control messages remain.
 *
 * @module
 */

import type { LaneConfig } from "../core/delay_pipeline.ts";
import type { PipelineStart } from "./lane_runner.ts";

/** How a lane worker builds its pipelines (the core's lane settings). */
export type { LaneConfig };

/**
 * Coordinator → lane worker: open a lane, afresh or from `start`. `shared` is the lane's
 * `SharedLane` buffer with the shared-memory transport.
 */
export type OpenLaneMessage = {
  type: "open";
  lane: number;
  config: LaneConfig;
  start?: PipelineStart;
  shared?: SharedArrayBuffer;
  capacity?: number;
};

/** Transferred batches, one per lane listed: their buffers and record counts. */
export interface TransferredBatches {
  /** The lane of each batch. */
  lanes: number[];
  /** The batches' buffers, in the transfer list. */
  buffers: ArrayBuffer[];
  /** Records in use in each. */
  lengths: number[];
}

/** Coordinator → lane worker: batches to run. */
export type BatchesMessage = { type: "batches" } & TransferredBatches;

/** Coordinator → lane worker. */
export type ToLaneWorker =
  | OpenLaneMessage
  | { type: "drop"; lane: number }
  // The worker's `Doorbell`, sent first with the shared-memory transport.
  | { type: "doorbell"; buffer: SharedArrayBuffer }
  | BatchesMessage;

/**
 * Lane worker → coordinator: it has started and takes messages (its first word, on the channel it
 * serves); transferred batches back; or (shared memory) "results are ready".
 */
export type FromLaneWorker =
  | { type: "started" }
  | { type: "results" } & TransferredBatches
  | { type: "ready" };

/** Coordinator → spawner worker. */
export type ToSpawner =
  | { type: "init"; laneWorkerUrl: string }
  | { type: "spawn"; id: number; name: string; port: MessagePort }
  | { type: "terminate"; id: number };

/** Spawner worker → coordinator. */
export type FromSpawner =
  | { type: "spawned"; id: number }
  | { type: "exited"; id: number; error: string };

/** Spawner → lane worker: the port to serve. */
export type AttachMessage = { type: "attach"; port: MessagePort };
