/**
 * What a lane worker does, as a function of its global scope: runs the core's delay pipelines over
 * batches of records, taken either as transferred buffers or from shared-memory slots when its
 * doorbell rings. One worker serves one lane (worker-per-stream host) or many (pool host); it talks
 * on its own message channel or on a port the spawner attaches.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import { PacketBatch } from "../core/packet_batch.ts";
import type { AttachMessage, FromLaneWorker, ToLaneWorker } from "./protocol.ts";
import { newLanePipeline, runLaneBatch } from "./lane_runner.ts";
import { Doorbell, SharedLane } from "./shared_lane.ts";

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

interface OpenLane {
  pipeline: DelayPipeline;
  shared: SharedLane | undefined;
}

// The longest a worker sleeps without a ring; a safety net, not a poll: every change rings.
const SLEEP_MS = 1000;
const READY: FromLaneWorker = { type: "ready" };
const NOTHING: Transferable[] = [];

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
 * assert.equal((replies[0] as { type: string }).type, "results");
 * ```
 */
export function serveLanes(scope: WorkerScope, hooks: LaneServiceHooks = {}): void {
  const lanes = new Map<number, OpenLane>();
  let doorbell: Doorbell | undefined;
  let handledControls = 0;
  let mute = false;
  let reply = (message: FromLaneWorker, transfer: Transferable[]) =>
    scope.postMessage(message, transfer);

  const proceed = (): boolean => {
    if (mute) return false;
    if (hooks.beforeBatch && !hooks.beforeBatch()) mute = true;
    return !mute;
  };

  // Runs every published slot of a lane; returns whether there was any.
  const serve = (lane: OpenLane): boolean => {
    const shared = lane.shared;
    if (!shared) return false;
    const submitted = shared.submitted;
    let done = shared.done;
    if (done === submitted) return false;
    for (; done < submitted; done++) {
      if (!proceed()) return false;
      runLaneBatch(lane.pipeline, shared.slot(done), shared.lengthOf(done));
      shared.finish();
    }
    return true;
  };

  const serveAll = (): void => {
    let any = false;
    for (const lane of lanes.values()) any = serve(lane) || any;
    if (any && doorbell!.prompt) reply(READY, NOTHING);
  };

  // Sleeps on the doorbell and serves, until a control message waits to be read or the host stops
  // the worker; either way the event loop takes over.
  const run = (): void => {
    const bell = doorbell!;
    for (;;) {
      const seen = bell.rings; // Before serving: a ring meanwhile cuts the next sleep short.
      serveAll();
      if (bell.stopped || bell.controls !== handledControls) return;
      bell.sleep(seen, SLEEP_MS);
    }
  };

  const handle = (message: ToLaneWorker): void => {
    switch (message.type) {
      case "doorbell":
        doorbell = new Doorbell(message.buffer);
        run();
        return;
      case "open": {
        const pipeline = newLanePipeline(message.config);
        if (message.figures) pipeline.restoreDetector(message.figures);
        const shared = message.shared
          ? new SharedLane(message.capacity!, message.shared)
          : undefined;
        lanes.set(message.lane, { pipeline, shared });
        break;
      }
      case "drop":
        lanes.delete(message.lane);
        break;
      case "batches": {
        if (!proceed()) return;
        for (let i = 0; i < message.lanes.length; i++) {
          const lane = lanes.get(message.lanes[i]);
          if (!lane) {
            throw new Error(`Cannot process batch as lane ${message.lanes[i]} is not open`);
          }
          const buffer = message.buffers[i];
          const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
          runLaneBatch(lane.pipeline, batch, message.lengths[i]);
        }
        const { lanes: ids, buffers, lengths } = message;
        reply({ type: "results", lanes: ids, buffers, lengths }, buffers);
        return;
      }
    }
    // Control messages after the doorbell are counted on it; once all are read, back to sleep.
    if (doorbell && ++handledControls === doorbell.controls && !doorbell.stopped) run();
  };

  // Registered before anything asynchronous, so no early message is lost.
  scope.onmessage = (event: MessageEvent) => {
    const data = event.data as ToLaneWorker | AttachMessage;
    if (data.type === "attach") {
      const port = data.port;
      reply = (message, transfer) => port.postMessage(message, transfer);
      port.onmessage = (e: MessageEvent) => handle(e.data as ToLaneWorker);
      return;
    }
    handle(data);
  };
}
