/**
 * The spawner worker and the lane workers it runs, seen from the coordinator's thread: lane workers
 * are constructed there, so that the receiving thread never blocks in `new Worker()` (about 11 ms
 * each). See workers/spawner_worker.ts for its side.
 *
 * @module
 */

import type { WorkerFactory, WorkerSources } from "./lane_host.ts";
import type { FromSpawner, ToSpawner } from "./protocol.ts";

/**
 * Starts and ends lane workers through a spawner worker.
 *
 * @example
 * ```ts
 * import { Spawner } from "./spawner.ts";
 * import assert from "node:assert/strict";
 * // A stand-in for the spawner worker that records what it is told.
 * const told: { type: string; port?: MessagePort }[] = [];
 * const fake = {
 *   onmessage: null, onerror: null, terminate() {},
 *   postMessage: (message: { type: string }) => told.push(message),
 * } as unknown as Worker;
 * const sources = { spawnerUrl: "spawner.js", laneWorkerUrl: "lane.js" };
 * const spawner = new Spawner(sources, () => fake, () => {});
 * const { id, port } = spawner.spawn("bwe-ssrc-1", () => {});
 * assert.equal(spawner.liveWorkers, 2); // the spawner and its lane worker
 * spawner.terminate(id);
 * port.close();
 * told[1].port!.close(); // the lane worker's end, which a real spawner passes on
 * spawner.close();
 * assert.deepEqual(told.map((m) => m.type), ["init", "spawn", "terminate"]);
 * assert.equal(spawner.liveWorkers, 0);
 * ```
 */
export class Spawner {
  readonly #worker: Worker;
  readonly #exits = new Map<number, (error: string) => void>();
  #nextId = 0;
  #alive = 0;
  #closed = false;

  /**
   * Starts the spawner worker.
   *
   * @param sources Where the spawner's and the lane workers' code comes from.
   * @param factory Makes the spawner worker.
   * @param onSpawnerFailed Called once if the spawner itself fails; its lane workers are gone.
   */
  constructor(
    sources: WorkerSources,
    factory: WorkerFactory,
    onSpawnerFailed: (error: string) => void,
  ) {
    this.#worker = factory(sources.spawnerUrl, "bwe-spawner");
    this.#worker.onmessage = (event: MessageEvent) => {
      const message = event.data as FromSpawner;
      if (message.type === "exited") {
        const onExit = this.#exits.get(message.id);
        if (!onExit) return;
        this.#exits.delete(message.id);
        this.#alive--;
        onExit(message.error);
      }
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (this.#closed) return;
      this.close();
      onSpawnerFailed(event.message);
    };
    const init: ToSpawner = { type: "init", laneWorkerUrl: sources.laneWorkerUrl };
    this.#worker.postMessage(init);
  }

  /** Lane workers alive plus the spawner itself; 0 once closed. */
  get liveWorkers(): number {
    return this.#closed ? 0 : this.#alive + 1;
  }

  /**
   * Starts a lane worker.
   *
   * @param name Worker name, shown in error output.
   * @param onExit Called if the worker dies, with its error.
   * @returns Its id at the spawner, and the port to talk to it.
   */
  spawn(name: string, onExit: (error: string) => void): { id: number; port: MessagePort } {
    const id = this.#nextId++;
    const channel = new MessageChannel();
    const message: ToSpawner = { type: "spawn", id, name, port: channel.port2 };
    this.#worker.postMessage(message, [channel.port2]);
    this.#exits.set(id, onExit);
    this.#alive++;
    return { id, port: channel.port1 };
  }

  /**
   * Ends a lane worker.
   *
   * @param id Its id at the spawner.
   */
  terminate(id: number): void {
    if (!this.#exits.delete(id)) return;
    this.#alive--;
    const message: ToSpawner = { type: "terminate", id };
    this.#worker.postMessage(message);
  }

  /** Ends the spawner, and with it every lane worker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Lane workers are owned by the spawner's thread and end with it.
    this.#worker.terminate();
    this.#exits.clear();
    this.#alive = 0;
  }
}
