/**
 * Lane worker: runs the core's delay pipelines over batches of records, off the receiving thread.
 * One worker serves one lane (worker-per-stream host) or many (pool host); the code is the same.
 * It talks either on its own message channel or on a port the spawner attaches.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import { PacketBatch } from "../core/packet_batch.ts";
import type { AttachMessage, FromLaneWorker, ToLaneWorker } from "./protocol.ts";
import { newLanePipeline, runLaneBatch } from "./lane_runner.ts";

declare const self: {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

const pipelines = new Map<number, DelayPipeline>();
let reply: (message: FromLaneWorker, transfer: Transferable[]) => void = (message, transfer) =>
  self.postMessage(message, transfer);

function handle(message: ToLaneWorker): void {
  switch (message.type) {
    case "open": {
      const pipeline = newLanePipeline(message.config);
      if (message.figures) pipeline.restoreDetector(message.figures);
      pipelines.set(message.lane, pipeline);
      break;
    }
    case "drop":
      pipelines.delete(message.lane);
      break;
    case "batches": {
      for (let i = 0; i < message.lanes.length; i++) {
        const pipeline = pipelines.get(message.lanes[i]);
        if (!pipeline) {
          throw new Error(`Cannot process batch as lane ${message.lanes[i]} is not open`);
        }
        const buffer = message.buffers[i];
        const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
        runLaneBatch(pipeline, batch, message.lengths[i]);
      }
      reply(
        {
          type: "results",
          lanes: message.lanes,
          buffers: message.buffers,
          lengths: message.lengths,
        },
        message.buffers,
      );
      break;
    }
  }
}

// Registered before anything asynchronous, so no early message is lost.
self.onmessage = (event: MessageEvent) => {
  const data = event.data as ToLaneWorker | AttachMessage;
  if (data.type === "attach") {
    const port = data.port;
    reply = (message, transfer) => port.postMessage(message, transfer);
    port.onmessage = (e: MessageEvent) => handle(e.data as ToLaneWorker);
    return;
  }
  handle(data);
};
