/** A lane worker that answers correctly but takes 30 ms per message, to build a backlog. */

import type { DelayPipeline } from "../../core/delay_pipeline.ts";
import { PacketBatch } from "../../core/packet_batch.ts";
import { createLanePipeline } from "../../core/delay_pipeline.ts";
import { runLaneBatch } from "../../workers/lane_runner.ts";
import type { AttachMessage, ToLaneWorker } from "../../workers/protocol.ts";

declare const self: { onmessage: ((event: MessageEvent) => void) | null };

const pipelines = new Map<number, DelayPipeline>();
self.onmessage = (event: MessageEvent) => {
  const { port } = event.data as AttachMessage;
  port.postMessage({ type: "started" }); // so that lanes move here from the inline host
  port.onmessage = (e: MessageEvent) => {
    const message = e.data as ToLaneWorker;
    if (message.type === "open") pipelines.set(message.lane, createLanePipeline(message.config));
    if (message.type !== "batches") return;
    const until = performance.now() + 30;
    while (performance.now() < until) { /* busy */ }
    for (let i = 0; i < message.lanes.length; i++) {
      const buffer = message.buffers[i];
      const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
      runLaneBatch(pipelines.get(message.lanes[i])!, batch, message.lengths[i]);
    }
    const { lanes, buffers, lengths } = message;
    port.postMessage({ type: "results", lanes, buffers, lengths }, buffers);
  };
};
