/**
 * Lane hosts: where the delay pipelines run. The coordinator hands a host batches of one lane's
 * records and gets them back with the detectors' verdicts, so every host produces the same results;
 * they differ only in which thread does the work.
 *
 * - `inline` (`InlineHost`): on the receiving thread, at flush time. Cheapest.
 * - `worker-per-stream` and `pool` (one `WorkerHost`, told how to place lanes): a worker per lane,
 *   started and ended by a spawner worker because constructing a worker blocks its creator for
 *   about 11 ms; or a fixed set of workers started up front, lanes spread by SSRC. Behind a
 *   `WarmStartHost`, which serves a new lane inline until its worker answers and then moves the
 *   whole pipeline there.
 *
 * @module
 */

import type { PacketBatch } from "../core/packet_batch.ts";
import type { PipelineStart } from "./lane_runner.ts";
import type { LaneConfig } from "./protocol.ts";

/** Which host runs the lanes. */
export type HostKind = "worker-per-stream" | "inline" | "pool";

/**
 * How worker hosts move batches: through shared-memory slots and a doorbell (no message per batch),
 * or as transferred buffers, one message per worker and flush each way.
 */
export type Transport = "shared-memory" | "transfer";

/** What a host reports back. */
export interface HostCallbacks {
  /**
   * A lane's batch is back with `usage` and `figures` filled in.
   *
   * @param lane Lane id.
   * @param batch The batch, or a batch over the same records' buffer.
   * @param length Records in use.
   */
  onResults(lane: number, batch: PacketBatch, length: number): void;
  /**
   * A lane's executor failed; batches in flight are lost.
   *
   * @param lane Lane id.
   * @param error What happened.
   */
  onLaneFailed(lane: number, error: string): void;
}

/** Makes a worker from a URL; injectable so tests can count and break workers. */
export type WorkerFactory = (url: string | URL, name: string) => Worker;

/** Where the worker code comes from. */
export interface WorkerSources {
  /** URL of the spawner worker module. */
  spawnerUrl: string;
  /** URL of the lane worker module, as the spawner will load it. */
  laneWorkerUrl: string;
}

/**
 * A place where lanes run.
 *
 * @example
 * ```ts
 * import type { LaneHost } from "./lane_host.ts";
 * import { InlineHost } from "./inline_host.ts";
 * import assert from "node:assert/strict";
 * const host: LaneHost = new InlineHost({ onResults() {}, onLaneFailed() {} });
 * assert.equal(host.liveWorkers, 0);
 * host.close();
 * ```
 */
export interface LaneHost {
  /** Workers alive (spawner included). */
  readonly liveWorkers: number;
  /** Lanes that run inline while their workers start (`WarmStartHost`); 0 for other hosts. */
  readonly startingLanes: number;
  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id, never reused.
   * @param ssrc The first SSRC of the lane, for naming and sharding.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from, when the lane had one before.
   */
  open(lane: number, ssrc: number, config: LaneConfig, start: PipelineStart | undefined): void;
  /**
   * The lane went quiet; the host may free its thread. Called once nothing of it is in flight.
   *
   * @param lane Lane id.
   */
  retire(lane: number): void;
  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void;
  /**
   * A batch for a lane's next records in memory the host sends without a copy (a worker's shared
   * slot); `undefined` (or no such method) when the lane fills a batch of its own.
   *
   * @param lane Lane id.
   * @returns The batch; it comes back with its verdicts, and goes to
   * {@linkcode LaneHost.reclaim} once they are read.
   */
  lend?(lane: number): PacketBatch | undefined;
  /**
   * Takes back a batch {@linkcode LaneHost.lend} gave, its verdicts read.
   *
   * @param lane Lane id.
   * @param batch The batch.
   * @returns `false` when the host did not lend it (or no longer holds the lane): the lane keeps it
   * as a batch of its own.
   */
  reclaim?(lane: number, batch: PacketBatch): boolean;
  /**
   * Hands over a batch; its buffer belongs to the host until it comes back.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void;
  /** Sends what was submitted since the last flush, and delivers results that are ready. */
  flush(): void;
  /**
   * Flush intervals a lane's records gather before the coordinator sends them, unless a batch
   * fills: 1 where a batch costs nothing to run (inline), more where each one wakes a thread.
   *
   * @param lane Lane id.
   * @returns At least 1.
   */
  flushesPerBatch(lane: number): number;
  /**
   * Whether results should be delivered as soon as they are ready rather than at the next flush
   * (someone awaits them).
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void;
  /** Ends every worker. */
  close(): void;
}
