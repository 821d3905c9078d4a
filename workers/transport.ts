/**
 * The two ends of a worker host's transport: how a lane's batches reach its worker and how the
 * results come back. The worker host calls the host end and the lane service the worker end; only
 * the transports know slots and doorbells (workers/shared_memory_transport.ts) or message batching
 * (workers/transfer_transport.ts).
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import type { PacketBatch } from "../core/packet_batch.ts";
import type { PipelineStart } from "./lane_runner.ts";
import type { FromLaneWorker, LaneConfig, OpenLaneMessage, ToLaneWorker } from "./protocol.ts";

/** Where a host posts to one of its workers: the worker itself, or a port to it. */
export interface WorkerChannel {
  /**
   * Posts a message.
   *
   * @param message What to send.
   * @param transfer Buffers to move rather than copy.
   */
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/**
 * The coordinator's end: the worker host starts and ends workers and decides which lane runs where;
 * this end moves the lanes' batches.
 *
 * @example
 * ```ts
 * import type { TransportHostEnd } from "./transport.ts";
 * import { TransferHostEnd } from "./transfer_transport.ts";
 * import assert from "node:assert/strict";
 * const posted: string[] = [];
 * const end: TransportHostEnd = new TransferHostEnd({ onResults() {}, onLaneFailed() {} });
 * const channel = { postMessage: (message: { type: string }) => posted.push(message.type) };
 * end.connect(channel);
 * end.open(channel, 1, { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 }, undefined);
 * assert.deepEqual(posted, ["open"]);
 * end.disconnect(channel);
 * ```
 */
export interface TransportHostEnd {
  /**
   * A worker started: sends it what this transport needs it to have first.
   *
   * @param channel The worker.
   */
  connect(channel: WorkerChannel): void;
  /**
   * Posts a control message to a worker.
   *
   * @param channel The worker.
   * @param message What to send.
   */
  send(channel: WorkerChannel, message: ToLaneWorker): void;
  /**
   * Opens a lane on a worker.
   *
   * @param channel The worker.
   * @param lane Lane id.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from; afresh when `undefined`.
   */
  open(
    channel: WorkerChannel,
    lane: number,
    config: LaneConfig,
    start: PipelineStart | undefined,
  ): void;
  /**
   * A batch in the transport's own memory for a lane's next records, which travels without a copy;
   * `undefined` (or no such method) when the lane fills a batch of its own.
   *
   * @param lane Lane id.
   * @returns The batch, until {@linkcode TransportHostEnd.reclaim} takes it back.
   */
  lend?(lane: number): PacketBatch | undefined;
  /**
   * Takes back a batch {@linkcode TransportHostEnd.lend} gave, its verdicts read.
   *
   * @param lane Lane id.
   * @param batch The batch.
   * @returns `false` when the batch is not one the lane holds from this transport now.
   */
  reclaim?(lane: number, batch: PacketBatch): boolean;
  /**
   * Queues a batch of an open lane; it travels at the next flush.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void;
  /** Sends what is queued, and delivers results that are ready. */
  flush(): void;
  /**
   * A worker's message came.
   *
   * @param message What it said.
   */
  receive(message: FromLaneWorker): void;
  /**
   * Whether results should be delivered as soon as they are ready.
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void;
  /**
   * Forgets a lane: nothing of it that is queued or in flight is delivered.
   *
   * @param lane Lane id.
   */
  forget(lane: number): void;
  /**
   * A worker is about to end; nothing more is sent to it.
   *
   * @param channel The worker.
   */
  disconnect(channel: WorkerChannel): void;
  /** The host is closing: nothing more is collected or delivered. */
  close(): void;
}

/**
 * How a lane worker answers its host, on whichever channel it was given.
 *
 * @param message The answer.
 * @param transfer Buffers to move back.
 */
export type Reply = (message: FromLaneWorker, transfer: Transferable[]) => void;

/**
 * A lane worker's end: where its lanes' batches come from and where their results go. The lane
 * service makes the pipelines and hands them over.
 *
 * @example
 * ```ts
 * import type { TransportWorkerEnd } from "./transport.ts";
 * import { TransferWorkerEnd } from "./transfer_transport.ts";
 * import { createLanePipeline } from "../core/delay_pipeline.ts";
 * const config = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 } as const;
 * const end: TransportWorkerEnd = new TransferWorkerEnd(() => true, () => {});
 * end.open({ type: "open", lane: 1, config }, createLanePipeline(config));
 * end.drop(1);
 * ```
 */
export interface TransportWorkerEnd {
  /**
   * Opens a lane.
   *
   * @param message The host's message, with the lane's slots when the transport has them.
   * @param pipeline The lane's pipeline, its detector state already restored.
   */
  open(message: OpenLaneMessage, pipeline: DelayPipeline): void;
  /**
   * Forgets a lane.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void;
  /** A control message was read: shared memory goes back to its slots once every one is. */
  controlled(): void;
}
