/**
 * Lane workers for fault tests: they serve batches like the real one, then, after three batches,
 * either throw or go silent (as a worker terminated from outside would).
 */

import type { DelayPipeline } from "../../core/delay_pipeline.ts";
import { PacketBatch } from "../../core/packet_batch.ts";
import { newLanePipeline, runLaneBatch } from "../../workers/lane_runner.ts";
import type { AttachMessage, ToLaneWorker } from "../../workers/protocol.ts";

declare const self: { onmessage: ((event: MessageEvent) => void) | null };

/** Serves the lane protocol until the fourth batch, then fails as `mode` says. */
export function serveFaulty(mode: "throw" | "silent"): void {
  const pipelines = new Map<number, DelayPipeline>();
  let batches = 0;
  self.onmessage = (event: MessageEvent) => {
    const { port } = event.data as AttachMessage;
    port.onmessage = (e: MessageEvent) => {
      const message = e.data as ToLaneWorker;
      if (message.type === "open") pipelines.set(message.lane, newLanePipeline(message.config));
      if (message.type !== "batches") return;
      if (++batches > 3) {
        if (mode === "throw") throw new Error("lane worker broke on purpose");
        return;
      }
      for (let i = 0; i < message.lanes.length; i++) {
        const buffer = message.buffers[i];
        const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
        runLaneBatch(pipelines.get(message.lanes[i])!, batch, message.lengths[i]);
      }
      const { lanes, buffers, lengths } = message;
      port.postMessage({ type: "results", lanes, buffers, lengths }, buffers);
    };
  };
}
