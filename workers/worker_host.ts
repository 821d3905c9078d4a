/**
 * The worker host: lanes run in Web Workers. It starts and ends the workers, keeps which lane runs
 * on which, and reports failures; its transport (shared memory or transfer) moves the batches, and
 * its placement decides how lanes map to workers:
 *
 * - {@linkcode WorkerPerLane} (host `worker-per-stream`): a new worker per lane, started through
 *   the spawner worker because constructing one blocks its creator for about 11 ms, and ended when
 *   the lane retires.
 * - {@linkcode WorkerPool} (host `pool`): a fixed set of workers started up front; lane → worker by
 *   SSRC, and a retired lane's pipeline stays in its worker.
 *
 * @module
 */

import type { PacketBatch } from "../core/packet_batch.ts";
import type {
  HostCallbacks,
  LaneHost,
  Transport,
  WorkerFactory,
  WorkerSources,
} from "./lane_host.ts";
import type { PipelineStart } from "./lane_runner.ts";
import type { FromLaneWorker, LaneConfig, ToLaneWorker } from "./protocol.ts";
import { SharedMemoryHostEnd } from "./shared_memory_transport.ts";
import { Spawner } from "./spawner.ts";
import { TransferHostEnd } from "./transfer_transport.ts";
import type { TransportHostEnd } from "./transport.ts";

/** A worker as its host sees it. */
export type WorkerLink =
  & {
    /** The lanes placed on it. */
    readonly lanes: Set<number>;
    /**
     * Starting until its first message says it takes messages (a worker started by a worker
     * answers about a second late in Deno 2.9), then running until the host ends it or it fails.
     */
    state: "starting" | "running" | "ended" | "failed";
  }
  & (
    /** Started by the spawner worker: a port to it, and its id there. */
    | { readonly via: "spawner"; readonly channel: MessagePort; readonly spawnId: number }
    /** Constructed on the host's thread. */
    | { readonly via: "direct"; readonly channel: Worker }
  );

/** What a placement may do with its host's workers. */
export interface HostWorkers {
  /**
   * Starts a worker: through the spawner, so that the receiving thread never pays for the
   * constructor, or directly, when that is paid up front and the worker should answer at once (a
   * worker started by a worker starts about a second late in Deno 2.9).
   *
   * @param name Worker name, shown in error output.
   * @param via How to start it.
   * @returns The worker.
   */
  start(name: string, via: "spawner" | "direct"): WorkerLink;
  /**
   * Ends a worker.
   *
   * @param worker The worker.
   */
  stop(worker: WorkerLink): void;
  /**
   * Sends a control message to a worker.
   *
   * @param worker The worker.
   * @param message What to send.
   */
  send(worker: WorkerLink, message: ToLaneWorker): void;
}

/** How a worker host maps lanes to workers. */
export interface LanePlacement {
  /** Whether a lane that goes quiet leaves its worker (else its pipeline stays for its return). */
  readonly releasesRetiredLanes: boolean;
  /**
   * Starts the workers the host has before any lane; called once, by the host's constructor.
   *
   * @param workers The host's workers.
   */
  start(workers: HostWorkers): void;
  /**
   * The worker for a new lane, started if need be.
   *
   * @param ssrc The lane's first SSRC.
   * @param workers The host's workers.
   * @returns The worker, or `undefined` when every worker it could use has failed.
   */
  workerFor(ssrc: number, workers: HostWorkers): WorkerLink | undefined;
  /**
   * A lane has left its worker: ends the worker, or tells it to drop the lane.
   *
   * @param worker The lane's worker.
   * @param lane Lane id.
   * @param workers The host's workers.
   */
  release(worker: WorkerLink, lane: number, workers: HostWorkers): void;
}

/**
 * A new worker per lane, started by the spawner and ended when the lane retires; a revived lane
 * gets a new one.
 *
 * @example
 * ```ts
 * import { WorkerPerLane } from "./worker_host.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new WorkerPerLane().releasesRetiredLanes, true);
 * ```
 */
export class WorkerPerLane implements LanePlacement {
  /** A retired lane's worker ends. */
  readonly releasesRetiredLanes = true;

  /**
   * No worker before the first lane (the spawner starts with it).
   *
   * @param _workers The host's workers.
   */
  start(_workers: HostWorkers): void {}

  /**
   * Starts the lane's own worker, named after the SSRC.
   *
   * @param ssrc The lane's first SSRC.
   * @param workers The host's workers.
   * @returns The new worker.
   */
  workerFor(ssrc: number, workers: HostWorkers): WorkerLink {
    return workers.start(`bwe-ssrc-${ssrc}`, "spawner");
  }

  /**
   * Ends the lane's worker.
   *
   * @param worker The lane's worker.
   * @param _lane Lane id.
   * @param workers The host's workers.
   */
  release(worker: WorkerLink, _lane: number, workers: HostWorkers): void {
    workers.stop(worker);
  }
}

/**
 * A fixed set of workers, started up front on the host's thread (a one-time cost at construction,
 * and they answer at once); lanes are spread over them by SSRC.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./worker_host.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new WorkerPool(2).releasesRetiredLanes, false);
 * ```
 */
export class WorkerPool implements LanePlacement {
  /** A retired lane's pipeline stays in its worker, so a returning stream carries on. */
  readonly releasesRetiredLanes = false;
  readonly #size: number;
  readonly #workers: WorkerLink[] = [];

  /**
   * Describes a pool; its workers start with the host.
   *
   * @param size Workers in the pool.
   */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Starts the pool's workers.
   *
   * @param workers The host's workers.
   */
  start(workers: HostWorkers): void {
    for (let i = 0; i < this.#size; i++) {
      this.#workers.push(workers.start(`bwe-pool-${i}`, "direct"));
    }
  }

  /**
   * The worker an SSRC maps to, among those still running.
   *
   * @param ssrc The lane's first SSRC.
   * @returns The worker, or `undefined` when all have failed.
   */
  workerFor(ssrc: number): WorkerLink | undefined {
    // A failed worker leaves its place empty; its lanes have moved to the coordinator's fallback.
    const live = this.#workers.filter((worker) =>
      worker.state === "starting" || worker.state === "running"
    );
    return live.length === 0 ? undefined : live[ssrc % live.length];
  }

  /**
   * Tells the worker to drop the lane.
   *
   * @param worker The lane's worker.
   * @param lane Lane id.
   * @param workers The host's workers.
   */
  release(worker: WorkerLink, lane: number, workers: HostWorkers): void {
    workers.send(worker, { type: "drop", lane });
  }
}

/** The part of a global scope that holds the `Worker` constructor, if the runtime has one. */
export interface WorkerGlobals {
  /** The constructor; Node.js has none. */
  readonly Worker?: typeof Worker;
}

/**
 * The factory a worker host uses when none is injected: `new Worker(url, { type: "module", name })`.
 *
 * @param globals Where to find `Worker`.
 * @param subject What needs the workers, for the error message.
 * @returns The factory.
 * @throws {TypeError} The runtime has no global `Worker`, as in Node.js.
 * @example
 * ```ts
 * import { defaultWorkerFactory } from "./worker_host.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof defaultWorkerFactory(), "function");
 * assert.throws(() => defaultWorkerFactory({}), TypeError); // as in Node.js
 * ```
 */
export function defaultWorkerFactory(
  globals: WorkerGlobals = globalThis,
  subject = "worker host",
): WorkerFactory {
  const WorkerClass = globals.Worker;
  if (typeof WorkerClass === "undefined") {
    throw new TypeError(
      `Cannot create ${subject} as this runtime has no global Worker (Node.js has none): use a Coordinator with host "inline" there, or pass a workerFactory`,
    );
  }
  return (url, name) => new WorkerClass(url, { type: "module", name });
}

/** Settings of {@linkcode WorkerHost}. */
export interface WorkerHostOptions {
  /** How lanes map to workers: a {@linkcode WorkerPerLane} or a {@linkcode WorkerPool}. */
  placement: LanePlacement;
  /** Worker code. */
  sources: WorkerSources;
  /**
   * Makes the workers the host creates itself (the spawner, pool workers).
   *
   * @default {defaultWorkerFactory(globals)}
   */
  factory?: WorkerFactory;
  /**
   * How batches travel.
   *
   * @default {"shared-memory"}
   */
  transport?: Transport;
  /**
   * Flush intervals a lane's records gather before they are sent and its worker woken, unless a
   * batch fills.
   *
   * @default {1}
   */
  flushesPerBatch?: number;
  /** Records per batch; the size of a shared slot. */
  batchSize: number;
  /**
   * Where the default factory finds `Worker`; a stand-in shows what a runtime without one does.
   *
   * @default {globalThis}
   */
  globals?: WorkerGlobals;
}

/**
 * Runs lanes in workers, placed as its {@linkcode LanePlacement} says.
 *
 * @example
 * ```ts
 * import { WorkerHost, WorkerPerLane } from "./worker_host.ts";
 * import { moduleWorkerSources } from "./sources.ts";
 * import assert from "node:assert/strict";
 * const callbacks = { onResults() {}, onLaneFailed() {} };
 * const options = { sources: moduleWorkerSources(), batchSize: 64 };
 * const host = new WorkerHost(callbacks, { ...options, placement: new WorkerPerLane() });
 * assert.equal(host.liveWorkers, 0); // the spawner starts with the first lane
 * host.close();
 * // Where there is no global Worker (Node.js), it says so at once.
 * assert.throws(
 *   () => new WorkerHost(callbacks, { ...options, placement: new WorkerPerLane(), globals: {} }),
 *   /no global Worker .*host "inline"/,
 * );
 * ```
 */
export class WorkerHost implements LaneHost {
  readonly #callbacks: HostCallbacks;
  readonly #sources: WorkerSources;
  readonly #factory: WorkerFactory;
  readonly #transport: TransportHostEnd;
  readonly #placement: LanePlacement;
  readonly #workers: HostWorkers;
  readonly #flushesPerBatch: number;
  #spawner: Spawner | undefined;
  #directWorkers = 0;
  readonly #workerOf = new Map<number, WorkerLink>(); // by lane
  readonly #running = new Set<WorkerLink>();
  #closed = false;

  /**
   * Creates the host; its placement starts the workers it needs up front (a pool's).
   *
   * @param callbacks Where results go.
   * @param options Placement, worker code and factory, transport and batch size.
   * @throws {TypeError} No factory is given and the runtime has no global `Worker`.
   */
  constructor(callbacks: HostCallbacks, options: WorkerHostOptions) {
    this.#factory = options.factory ?? defaultWorkerFactory(options.globals);
    this.#callbacks = callbacks;
    this.#sources = options.sources;
    this.#transport = options.transport === "transfer"
      ? new TransferHostEnd(callbacks)
      : new SharedMemoryHostEnd(callbacks, options.batchSize);
    this.#workers = {
      start: (name, via) => this.#start(name, via),
      stop: (worker) => this.#stop(worker, "ended"),
      send: (worker, message) => this.#transport.send(worker.channel, message),
    };
    this.#flushesPerBatch = options.flushesPerBatch ?? 1;
    this.#placement = options.placement;
    this.#placement.start(this.#workers);
  }

  /** Workers alive, the spawner included. */
  get liveWorkers(): number {
    return (this.#spawner?.liveWorkers ?? 0) + this.#directWorkers;
  }

  /** Always 0: lanes are opened on their workers, which queue what comes before they start. */
  get startingLanes(): number {
    return 0;
  }

  /**
   * Places a lane on the worker its placement picks, starting one if need be, without opening it
   * there yet: its worker may be busy starting for a while
   * ({@linkcode WorkerHost.answered} tells when it is not).
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @returns Whether there is a worker for it (a pool whose workers all failed has none).
   */
  place(lane: number, ssrc: number): boolean {
    if (this.#workerOf.has(lane)) return true;
    const worker = this.#placement.workerFor(ssrc, this.#workers);
    if (!worker) return false;
    worker.lanes.add(lane);
    this.#workerOf.set(lane, worker);
    return true;
  }

  /**
   * Whether the worker a lane is placed on has started and takes messages.
   *
   * @param lane Lane id.
   * @returns `false` also when the lane is not placed.
   */
  answered(lane: number): boolean {
    return this.#workerOf.get(lane)?.state === "running";
  }

  /**
   * Starts a lane's pipeline on the worker it is placed on, placing it first if need be.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from; afresh when `undefined`.
   */
  open(lane: number, ssrc: number, config: LaneConfig, start: PipelineStart | undefined): void {
    if (!this.place(lane, ssrc)) {
      // Only a pool runs out of workers.
      this.#callbacks.onLaneFailed(lane, "no pool worker is alive");
      return;
    }
    this.#transport.open(this.#workerOf.get(lane)!.channel, lane, config, start);
  }

  /**
   * The lane went quiet: it leaves its worker if the placement says so.
   *
   * @param lane Lane id.
   */
  retire(lane: number): void {
    if (this.#placement.releasesRetiredLanes) this.drop(lane);
  }

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    const worker = this.#workerOf.get(lane);
    if (!worker) return;
    this.#forget(lane);
    this.#placement.release(worker, lane, this.#workers);
  }

  /**
   * A slot of the lane's worker to fill in place, when its transport has one free.
   *
   * @param lane Lane id.
   * @returns The batch, or `undefined`.
   */
  lend(lane: number): PacketBatch | undefined {
    return this.#transport.lend?.(lane);
  }

  /**
   * Takes back a batch {@linkcode WorkerHost.lend} gave.
   *
   * @param lane Lane id.
   * @param batch The batch.
   * @returns Whether it was the lane's.
   */
  reclaim(lane: number, batch: PacketBatch): boolean {
    return this.#transport.reclaim?.(lane, batch) ?? false;
  }

  /**
   * Queues a batch for the lane's worker; it is sent at the next flush.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    this.#transport.submit(lane, batch, length);
  }

  /** Collects ready results and sends everything queued. */
  flush(): void {
    this.#transport.flush();
  }

  /**
   * Flush intervals a lane's records gather before they go to its worker: each batch sent costs
   * a wake-up of that worker's thread.
   *
   * @param _lane Lane id.
   * @returns The host's setting.
   */
  flushesPerBatch(_lane: number): number {
    return this.#flushesPerBatch;
  }

  /**
   * Whether workers should say when results are ready instead of waiting for the next flush.
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void {
    this.#transport.setPrompt(prompt);
  }

  /** Ends every worker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const worker of [...this.#running]) this.#stop(worker, "ended");
    for (const lane of [...this.#workerOf.keys()]) this.#forget(lane);
    this.#transport.close();
    this.#spawner?.close();
  }

  #start(name: string, via: "spawner" | "direct"): WorkerLink {
    let link: WorkerLink;
    const onMessage = (event: MessageEvent): void => {
      const message = event.data as FromLaneWorker;
      if (message.type !== "started") this.#transport.receive(message);
      else if (link.state === "starting") link.state = "running";
    };
    if (via === "direct") {
      const worker = this.#factory(this.#sources.laneWorkerUrl, name);
      this.#directWorkers++;
      worker.onmessage = onMessage;
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault(); // A lane's failure must not take the process down.
        this.#fail(link, event.message);
      };
      link = { via, channel: worker, lanes: new Set(), state: "starting" };
    } else {
      this.#spawner ??= new Spawner(this.#sources, this.#factory, (e) => this.#failAll(e));
      const { id, port } = this.#spawner.spawn(name, (error) => this.#fail(link, error));
      port.onmessage = onMessage;
      link = { via, channel: port, spawnId: id, lanes: new Set(), state: "starting" };
    }
    this.#transport.connect(link.channel);
    this.#running.add(link);
    return link;
  }

  #stop(link: WorkerLink, state: "ended" | "failed"): void {
    if (link.state === "ended" || link.state === "failed") return;
    link.state = state;
    this.#running.delete(link);
    this.#transport.disconnect(link.channel);
    if (link.via === "spawner") {
      link.channel.close();
      this.#spawner?.terminate(link.spawnId);
    } else {
      link.channel.terminate();
      this.#directWorkers--;
    }
  }

  // Forgets a lane: what is still queued or in flight is never delivered.
  #forget(lane: number): void {
    this.#workerOf.get(lane)?.lanes.delete(lane);
    this.#workerOf.delete(lane);
    this.#transport.forget(lane);
  }

  #fail(link: WorkerLink, error: string): void {
    this.#stop(link, "failed");
    for (const lane of [...link.lanes]) {
      this.#forget(lane);
      this.#callbacks.onLaneFailed(lane, error);
    }
  }

  #failAll(error: string): void {
    for (const link of [...this.#running]) this.#fail(link, error);
  }
}
