/**
 * Messages between the coordinator, the spawner worker and lane workers. Records travel in
 * {@linkcode PacketBatch} buffers that are transferred, never copied; each buffer comes back with
 * its `usage` column and `figures` filled in, and is used again.
 *
 * @module
 */

import type { DelayFilter } from "../core/delay_pipeline.ts";
import type { EstimatorKind } from "../core/lane_table.ts";

/** How a lane worker builds its pipelines. */
export interface LaneConfig {
  /** Abs-send-time ticks or 90 kHz RTP timestamps. */
  kind: EstimatorKind;
  /** The delay filter. */
  filter: DelayFilter;
  /** Trendline regression window. */
  trendlineWindowSize: number;
}

/** Coordinator → lane worker. */
export type ToLaneWorker =
  | { type: "open"; lane: number; config: LaneConfig; figures?: Float64Array }
  | { type: "drop"; lane: number }
  | { type: "batches"; lanes: number[]; buffers: ArrayBuffer[]; lengths: number[] };

/** Lane worker → coordinator. */
export type FromLaneWorker = {
  type: "results";
  lanes: number[];
  buffers: ArrayBuffer[];
  lengths: number[];
};

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
