/**
 * What a lane worker does, as a function of its global scope: makes the core's delay pipelines for
 * the lanes it is told to open and hands them to its end of the transport, which runs them over
 * batches taken either as transferred buffers or from shared-memory slots when its doorbell rings.
 * One worker serves one lane (worker-per-stream host) or many (pool host); it talks on its own
 * message channel or on a port the spawner attaches.
 *
 * @module
 */

import type { AttachMessage, FromLaneWorker, ToLaneWorker } from "./protocol.ts";
import { startLanePipeline } from "./lane_runner.ts";
import { Doorbell } from "./shared_lane.ts";
import { SharedMemoryWorkerEnd } from "./shared_memory_transport.ts";
import { TransferWorkerEnd } from "./transfer_transport.ts";
import type { Reply, TransportWorkerEnd } from "./transport.ts";

/** The parts of a worker's global scope the service uses. */
export interface WorkerScope {
  /** Where messages arrive. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Posts to the parent. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/** Hooks for tests that need a misbehaving worker. */
export interface LaneServiceHooks {
  /**
   * Called before each batch; `false` leaves the batch, and every later one, unanswered. May throw.
   */
  beforeBatch?(): boolean;
}

/**
 * Serves the lane protocol in this worker.
 *
 * @param scope The worker's global scope.
 * @param hooks Fault injection for tests.
 * @example
 * ```ts
 * import { serveLanes } from "./lane_service.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import assert from "node:assert/strict";
 * // A stand-in for a worker's scope: one lane, one transferred batch of 4 records.
 * const replies: unknown[] = [];
 * const scope = { onmessage: null as ((e: MessageEvent) => void) | null, postMessage: (m: unknown) => replies.push(m) };
 * serveLanes(scope);
 * const send = (data: unknown) => scope.onmessage!(new MessageEvent("message", { data }));
 * send({ type: "open", lane: 1, config: { kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 } });
 * const batch = new PacketBatch(4);
 * for (let i = 0; i < 4; i++) {
 *   batch.timestamp[i] = i * 3000;
 *   batch.arrivalUs[i] = batch.nowUs[i] = 1e6 + i * 33_333;
 *   batch.size[i] = 1000;
 * }
 * send({ type: "batches", lanes: [1], buffers: [batch.buffer], lengths: [4] });
 * // The worker says it has started, then sends the batch back with its verdicts.
 * assert.deepEqual(replies.map((r) => (r as { type: string }).type), ["started", "results"]);
 * ```
 */
export function serveLanes(scope: WorkerScope, hooks: LaneServiceHooks = {}): void {
  let mute = false;
  let reply: Reply = (message, transfer) => scope.postMessage(message, transfer);
  const post: Reply = (message, transfer) => reply(message, transfer);

  const proceed = (): boolean => {
    if (mute) return false;
    if (hooks.beforeBatch && !hooks.beforeBatch()) mute = true;
    return !mute;
  };

  // Batches come as messages until the host sends a doorbell: then from shared slots.
  const transfer = new TransferWorkerEnd(proceed, post);
  let lanes: TransportWorkerEnd = transfer;

  const handle = (message: ToLaneWorker): void => {
    switch (message.type) {
      case "doorbell": {
        const shared = new SharedMemoryWorkerEnd(new Doorbell(message.buffer), proceed, post);
        lanes = shared;
        shared.run();
        return;
      }
      case "batches":
        transfer.run(message);
        return;
      case "open":
        lanes.open(message, startLanePipeline(message.config, message.start));
        break;
      case "drop":
        lanes.drop(message.lane);
        break;
    }
    lanes.controlled();
  };

  // Registered before anything asynchronous, so no early message is lost.
  scope.onmessage = (event: MessageEvent) => {
    const data = event.data as ToLaneWorker | AttachMessage;
    if (data.type === "attach") {
      const port = data.port;
      reply = (message, transfer) => port.postMessage(message, transfer);
      port.onmessage = (e: MessageEvent) => handle(e.data as ToLaneWorker);
      reply(STARTED, []); // To the host, which waits for this before it moves lanes here.
      return;
    }
    handle(data);
  };
  // A worker its host constructed answers on its own channel (a spawned one's parent ignores it).
  scope.postMessage(STARTED);
}

const STARTED: FromLaneWorker = { type: "started" };
