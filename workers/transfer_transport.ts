/**
 * The transfer transport: batches travel as `PacketBatch` buffers that are transferred, never
 * copied, one message per worker and flush carrying all of its lanes' batches; the worker runs them
 * and transfers them back with their `usage` column and `figures` filled in.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import { PacketBatch } from "../core/packet_batch.ts";
import type { HostCallbacks } from "./lane_host.ts";
import { type PipelineStart, runLaneBatch } from "./lane_runner.ts";
import type {
  BatchesMessage,
  FromLaneWorker,
  LaneConfig,
  OpenLaneMessage,
  ToLaneWorker,
  TransferredBatches,
} from "./protocol.ts";
import type { Reply, TransportHostEnd, TransportWorkerEnd, WorkerChannel } from "./transport.ts";

/** A worker's batches for the next flush. */
interface Outbox extends TransferredBatches {
  readonly channel: WorkerChannel;
}

/**
 * The coordinator's end of the transfer transport.
 *
 * @example
 * ```ts
 * import { TransferHostEnd } from "./transfer_transport.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import assert from "node:assert/strict";
 * const posted: { type: string; lanes?: number[] }[] = [];
 * const end = new TransferHostEnd({ onResults() {}, onLaneFailed() {} });
 * const channel = { postMessage: (message: { type: string }) => posted.push(message) };
 * end.connect(channel);
 * end.open(channel, 1, { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 }, undefined);
 * end.submit(1, new PacketBatch(4), 4);
 * end.submit(1, new PacketBatch(4), 2);
 * end.flush(); // one message for both batches
 * assert.deepEqual(posted.map((m) => m.type), ["open", "batches"]);
 * assert.deepEqual(posted[1].lanes, [1, 1]);
 * ```
 */
export class TransferHostEnd implements TransportHostEnd {
  readonly #callbacks: HostCallbacks;
  readonly #outboxes = new Map<WorkerChannel, Outbox>();
  readonly #outboxOf = new Map<number, Outbox>(); // by lane
  readonly #toSend = new Set<Outbox>();

  /**
   * Creates the end with no workers.
   *
   * @param callbacks Where results go.
   */
  constructor(callbacks: HostCallbacks) {
    this.#callbacks = callbacks;
  }

  /**
   * A worker started; it needs nothing first.
   *
   * @param channel The worker.
   */
  connect(channel: WorkerChannel): void {
    this.#outboxes.set(channel, { channel, lanes: [], buffers: [], lengths: [] });
  }

  /**
   * Posts a control message.
   *
   * @param channel The worker.
   * @param message What to send.
   */
  send(channel: WorkerChannel, message: ToLaneWorker): void {
    channel.postMessage(message);
  }

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
  ): void {
    this.#outboxOf.set(lane, this.#outboxes.get(channel)!);
    this.send(channel, { type: "open", lane, config, start });
  }

  /**
   * Queues a batch for its worker's next message.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    const outbox = this.#outboxOf.get(lane)!;
    outbox.lanes.push(lane);
    outbox.buffers.push(batch.buffer as ArrayBuffer); // The coordinator's own, never shared.
    outbox.lengths.push(length);
    this.#toSend.add(outbox);
  }

  /** Sends one message to each worker that has batches. */
  flush(): void {
    for (const outbox of this.#toSend) {
      const message: ToLaneWorker = {
        type: "batches",
        lanes: outbox.lanes,
        buffers: outbox.buffers,
        lengths: outbox.lengths,
      };
      outbox.channel.postMessage(message, outbox.buffers);
      outbox.lanes = [];
      outbox.buffers = [];
      outbox.lengths = [];
    }
    this.#toSend.clear();
  }

  /**
   * Delivers the batches a worker sent back.
   *
   * @param message What it said.
   */
  receive(message: FromLaneWorker): void {
    if (message.type !== "results") return;
    for (let i = 0; i < message.lanes.length; i++) {
      const buffer = message.buffers[i];
      const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
      this.#callbacks.onResults(message.lanes[i], batch, message.lengths[i]);
    }
  }

  /**
   * Transferred batches come back at once anyway.
   *
   * @param _prompt Ignored.
   */
  setPrompt(_prompt: boolean): void {}

  /**
   * Forgets a lane.
   *
   * @param lane Lane id.
   */
  forget(lane: number): void {
    this.#outboxOf.delete(lane);
  }

  /**
   * A worker is about to end: what waits for it is not sent.
   *
   * @param channel The worker.
   */
  disconnect(channel: WorkerChannel): void {
    const outbox = this.#outboxes.get(channel);
    if (!outbox) return;
    this.#outboxes.delete(channel);
    this.#toSend.delete(outbox);
  }

  /** Nothing to stop: results come back as messages. */
  close(): void {}
}

/**
 * A lane worker's end of the transfer transport: runs each message's batches and sends them back.
 *
 * @example
 * ```ts
 * import { TransferWorkerEnd } from "./transfer_transport.ts";
 * import { createLanePipeline } from "../core/delay_pipeline.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import assert from "node:assert/strict";
 * const replies: unknown[] = [];
 * const end = new TransferWorkerEnd(() => true, (message) => replies.push(message));
 * const config = { kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 } as const;
 * end.open({ type: "open", lane: 3, config }, createLanePipeline(config));
 * const batch = new PacketBatch(4);
 * end.run({ type: "batches", lanes: [3], buffers: [batch.buffer as ArrayBuffer], lengths: [4] });
 * assert.deepEqual(replies, [
 *   { type: "results", lanes: [3], buffers: [batch.buffer], lengths: [4] },
 * ]);
 * ```
 */
export class TransferWorkerEnd implements TransportWorkerEnd {
  readonly #pipelines = new Map<number, DelayPipeline>();
  readonly #proceed: () => boolean;
  readonly #reply: Reply;

  /**
   * Creates the end with no lanes.
   *
   * @param proceed Asked before each message; `false` leaves it unanswered.
   * @param reply Sends to the host.
   */
  constructor(proceed: () => boolean, reply: Reply) {
    this.#proceed = proceed;
    this.#reply = reply;
  }

  /**
   * Opens a lane.
   *
   * @param message The host's message.
   * @param pipeline The lane's pipeline.
   */
  open(message: OpenLaneMessage, pipeline: DelayPipeline): void {
    this.#pipelines.set(message.lane, pipeline);
  }

  /**
   * Forgets a lane.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    this.#pipelines.delete(lane);
  }

  /** Nothing to resume: batches come as messages. */
  controlled(): void {}

  /**
   * Runs a message's batches and transfers them back.
   *
   * @param message The batches.
   * @throws {Error} A batch is of a lane that is not open.
   */
  run(message: BatchesMessage): void {
    if (!this.#proceed()) return;
    for (let i = 0; i < message.lanes.length; i++) {
      const pipeline = this.#pipelines.get(message.lanes[i]);
      if (!pipeline) {
        throw new Error(`Cannot process batch as lane ${message.lanes[i]} is not open`);
      }
      const buffer = message.buffers[i];
      const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
      runLaneBatch(pipeline, batch, message.lengths[i]);
    }
    const { lanes, buffers, lengths } = message;
    this.#reply({ type: "results", lanes, buffers, lengths }, buffers);
  }
}
