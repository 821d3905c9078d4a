/**
 * Lane workers that run on the test's own thread: the real lane service (workers/lane_service.ts)
 * behind stand-ins for a pool worker and for the spawner, that start only when the test says. A
 * real worker's start is a matter of the machine's load: under `deno test` it includes
 * type-checking the worker's modules, 2 s on a quiet machine and 19 s cold on a loaded one (three
 * lane workers checked at once), so a test that needs "the workers have answered now" uses these.
 * They serve the transfer transport only: the shared-memory worker end sleeps in `Atomics.wait`.
 *
 * @module
 */

import { serveLanes, type WorkerScope } from "../../workers/lane_service.ts";
import type { WorkerFactory, WorkerSources } from "../../workers/lane_host.ts";
import type { AttachMessage, ToSpawner } from "../../workers/protocol.ts";

// Delivers as `postMessage` does: later, with transferred buffers and ports detached.
function deliver(
  to: ((event: MessageEvent) => void) | null,
  data: unknown,
  transfer: Transferable[],
) {
  const copy = structuredClone(data, { transfer });
  queueMicrotask(() => to?.(new MessageEvent("message", { data: copy })));
}

/** A pool worker: what the host posts waits until it starts, then the lane service takes it. */
class PoolWorker {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  #scope: WorkerScope | undefined;
  #queued: [unknown, Transferable[]][] = [];
  #ended = false;

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.#ended) return;
    if (this.#scope) deliver(this.#scope.onmessage, message, transfer);
    else this.#queued.push([structuredClone(message, { transfer }), []]);
  }

  terminate(): void {
    this.#ended = true;
  }

  start(): void {
    if (this.#scope || this.#ended) return;
    this.#scope = {
      onmessage: null,
      postMessage: (message, transfer = []) => {
        if (!this.#ended) deliver(this.onmessage, message, transfer);
      },
    };
    serveLanes(this.#scope); // says "started" first, as a real one does
    for (const [message, transfer] of this.#queued) {
      deliver(this.#scope.onmessage, message, transfer);
    }
    this.#queued = [];
  }
}

/** The spawner: each lane worker it is asked for starts, on the port it was given, when told. */
class SpawnerWorker {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  readonly #held = new Map<number, MessagePort>();
  readonly #serving = new Map<number, MessagePort>();

  postMessage(message: ToSpawner): void {
    if (message.type === "spawn") this.#held.set(message.id, message.port);
    else if (message.type === "terminate") {
      const port = this.#held.get(message.id) ?? this.#serving.get(message.id);
      port?.close();
      this.#held.delete(message.id);
      this.#serving.delete(message.id);
    }
  }

  terminate(): void {
    for (const port of [...this.#held.values(), ...this.#serving.values()]) port.close();
    this.#held.clear();
    this.#serving.clear();
  }

  start(): void {
    for (const [id, port] of this.#held) {
      // A spawned worker's own channel goes to the spawner, which ignores it.
      const scope: WorkerScope = { onmessage: null, postMessage() {} };
      serveLanes(scope);
      const attach: AttachMessage = { type: "attach", port };
      scope.onmessage!(new MessageEvent("message", { data: attach }));
      this.#serving.set(id, port);
    }
    this.#held.clear();
  }
}

/**
 * Makes in-thread pool workers and spawners for a worker host (a coordinator's `workerFactory`
 * with `workerSources: IN_THREAD_SOURCES` and `transport: "transfer"`).
 */
export class InThreadWorkers {
  /** The worker factory to hand over. */
  readonly factory: WorkerFactory = (url) => {
    const worker = url === IN_THREAD_SOURCES.spawnerUrl ? new SpawnerWorker() : new PoolWorker();
    this.#made.push(worker);
    return worker as unknown as Worker;
  };
  readonly #made: (PoolWorker | SpawnerWorker)[] = [];

  /** Starts every lane worker asked for so far: each answers its host and takes what waited. */
  startAll(): void {
    for (const worker of this.#made) worker.start();
  }
}

/** The sources to pass with {@linkcode InThreadWorkers}: names only, nothing is loaded. */
export const IN_THREAD_SOURCES: WorkerSources = {
  spawnerUrl: "in-thread:spawner",
  laneWorkerUrl: "in-thread:lane",
};
