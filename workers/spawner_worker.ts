/**
 * Spawner worker: creates and ends lane workers in its own thread, because constructing a worker
 * blocks the creating thread for about 11 ms and the receiving thread must not stall. The
 * coordinator hands it a port per lane worker; the spawner passes the port on and reports when a
 * lane worker started or died.
 *
 * @module
 */

import type { WorkerScope } from "./lane_service.ts";
import type { AttachMessage, FromSpawner, ToSpawner } from "./protocol.ts";

declare const self: WorkerScope;

const workers = new Map<number, Worker>();
let laneWorkerUrl: string | undefined;

function report(message: FromSpawner): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent) => {
  const message = event.data as ToSpawner;
  switch (message.type) {
    case "init":
      laneWorkerUrl = message.laneWorkerUrl;
      break;
    case "spawn": {
      const worker = new Worker(laneWorkerUrl!, { type: "module", name: message.name });
      worker.onerror = (error: ErrorEvent) => {
        error.preventDefault(); // A lane's failure must not take the spawner (or the process) down.
        workers.delete(message.id);
        worker.terminate();
        report({ type: "exited", id: message.id, error: error.message });
      };
      workers.set(message.id, worker);
      const attach: AttachMessage = { type: "attach", port: message.port };
      worker.postMessage(attach, [message.port]);
      report({ type: "spawned", id: message.id });
      break;
    }
    case "terminate":
      workers.get(message.id)?.terminate();
      workers.delete(message.id);
      break;
  }
};
