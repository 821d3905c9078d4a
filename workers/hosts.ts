/**
 * Lane hosts: where the delay pipelines run. The coordinator hands each host batches of one lane's
 * records and gets them back with the detectors' verdicts, so every host produces the same results;
 * they differ only in which thread does the work.
 *
 * - `inline`: on the receiving thread, at flush time. Cheapest.
 * - `worker-per-stream`: one worker per lane (the user's design). Workers are started and ended by a
 *   spawner worker, because constructing a worker blocks its creator for about 11 ms.
 * - `pool`: a fixed set of workers started up front; lanes are spread by SSRC and each worker gets
 *   one message per flush carrying all of its lanes' batches.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import { PacketBatch } from "../core/packet_batch.ts";
import { newLanePipeline, runLaneBatch } from "./lane_runner.ts";
import { Fifo } from "./_fifo.ts";
import type {
  FromLaneWorker,
  FromSpawner,
  LaneConfig,
  ToLaneWorker,
  ToSpawner,
} from "./protocol.ts";

/** Which host runs the lanes. */
export type HostKind = "worker-per-stream" | "inline" | "pool";

/** What a host reports back. */
export interface HostCallbacks {
  /** A lane's batch is back with `usage` and `figures` filled in. */
  onResults(lane: number, batch: PacketBatch, length: number): void;
  /** A lane's executor failed; batches in flight are lost. */
  onLaneFailed(lane: number, error: string): void;
}

/** Makes a worker from a URL; injectable so tests can count and break workers. */
export type WorkerFactory = (url: string | URL, name: string) => Worker;

/** Where the worker code comes from. */
export interface WorkerSources {
  /** URL of the spawner worker module. */
  spawnerUrl: string;
  /** URL of the lane worker module, as the spawner will load it. */
  laneWorkerUrl: string;
}

/** A place where lanes run. */
export interface LaneHost {
  /** Workers alive (spawner included). */
  readonly liveWorkers: number;
  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id, never reused.
   * @param ssrc The first SSRC of the lane, for naming and sharding.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over, when the lane had a pipeline before.
   */
  open(lane: number, ssrc: number, config: LaneConfig, figures: Float64Array | undefined): void;
  /**
   * The lane went quiet; the host may free its thread. Called once nothing of it is in flight.
   *
   * @param lane Lane id.
   */
  retire(lane: number): void;
  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void;
  /**
   * Hands over a batch; its buffer belongs to the host until it comes back.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void;
  /** Sends what was submitted since the last flush. */
  flush(): void;
  /** Ends every worker. */
  close(): void;
}

/** Runs lanes on the calling thread. */
export class InlineHost implements LaneHost {
  readonly #callbacks: HostCallbacks;
  readonly #pipelines = new Map<number, DelayPipeline>();
  readonly #doneLanes = new Fifo<number>();
  readonly #doneBatches = new Fifo<PacketBatch>();

  /**
   * Creates a host with no lanes.
   *
   * @param callbacks Where results go.
   */
  constructor(callbacks: HostCallbacks) {
    this.#callbacks = callbacks;
  }

  /** Always 0: no workers. */
  get liveWorkers(): number {
    return 0;
  }

  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over.
   */
  open(lane: number, _ssrc: number, config: LaneConfig, figures: Float64Array | undefined): void {
    const pipeline = newLanePipeline(config);
    if (figures) pipeline.restoreDetector(figures);
    this.#pipelines.set(lane, pipeline);
  }

  /**
   * The lane went quiet.
   *
   * @param lane Lane id.
   */
  retire(_lane: number): void {}

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    this.#pipelines.delete(lane);
  }

  /**
   * Hands over a batch of the lane.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    runLaneBatch(this.#pipelines.get(lane)!, batch, length);
    batch.length = length;
    this.#doneLanes.push(lane);
    this.#doneBatches.push(batch);
  }

  /** Sends (or, inline, delivers) what was submitted. */
  flush(): void {
    // Delivered at flush, like the worker hosts' results, never in the middle of submitting.
    while (this.#doneLanes.length > 0) {
      const batch = this.#doneBatches.shift()!;
      this.#callbacks.onResults(this.#doneLanes.shift()!, batch, batch.length);
    }
  }

  /** Ends every worker. */
  close(): void {
    this.#pipelines.clear();
  }
}

/** The spawner worker and the lane workers it runs, seen from the coordinator's thread. */
class Spawner {
  readonly #worker: Worker;
  readonly #exits = new Map<number, (error: string) => void>();
  #nextId = 0;
  #alive = 0;
  #closed = false;

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

  /** Lane workers alive plus the spawner itself. */
  get liveWorkers(): number {
    return this.#closed ? 0 : this.#alive + 1;
  }

  /** Starts a lane worker; returns its id and the port to talk to it. */
  spawn(name: string, onExit: (error: string) => void): { id: number; port: MessagePort } {
    const id = this.#nextId++;
    const channel = new MessageChannel();
    const message: ToSpawner = { type: "spawn", id, name, port: channel.port2 };
    this.#worker.postMessage(message, [channel.port2]);
    this.#exits.set(id, onExit);
    this.#alive++;
    return { id, port: channel.port1 };
  }

  /** Ends a lane worker. */
  terminate(id: number): void {
    if (!this.#exits.delete(id)) return;
    this.#alive--;
    const message: ToSpawner = { type: "terminate", id };
    this.#worker.postMessage(message);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Lane workers are owned by the spawner's thread and end with it.
    this.#worker.terminate();
    this.#exits.clear();
    this.#alive = 0;
  }
}

/** One worker as a host sees it. */
export interface WorkerLink {
  /** Id of the worker at the spawner. */
  spawnId: number;
  /** Whether the worker failed. */
  failed: boolean;
  /** The port (spawned worker) or the worker itself (created directly) to talk to it. */
  channel: MessagePort | Worker;
  /** The lanes it serves. */
  lanes: Set<number>;
  /** Lanes queued for the next flush. */
  outLanes: number[];
  /** Their buffers, transferred at the flush. */
  outBuffers: ArrayBuffer[];
  /** Their record counts. */
  outLengths: number[];
}

/** Shared plumbing of the two worker hosts: ports, batching per worker, results, failures. */
export abstract class WorkerHostBase implements LaneHost {
  protected readonly callbacks: HostCallbacks;
  readonly #sources: WorkerSources;
  readonly #factory: WorkerFactory;
  #spawner: Spawner | undefined;
  #directWorkers = 0;
  protected readonly linkOf = new Map<number, WorkerLink>();
  readonly #allLinks = new Set<WorkerLink>();
  readonly #toFlush = new Set<WorkerLink>();
  #closed = false;

  /**
   * Starts the spawner worker.
   *
   * @param callbacks Where results go.
   * @param sources Worker code.
   * @param factory Makes the spawner worker.
   */
  constructor(callbacks: HostCallbacks, sources: WorkerSources, factory: WorkerFactory) {
    this.callbacks = callbacks;
    this.#sources = sources;
    this.#factory = factory;
  }

  /** Workers alive, the spawner included. */
  get liveWorkers(): number {
    return (this.#spawner?.liveWorkers ?? 0) + this.#directWorkers;
  }

  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over.
   */
  abstract open(
    lane: number,
    ssrc: number,
    config: LaneConfig,
    figures: Float64Array | undefined,
  ): void;
  /**
   * The lane went quiet.
   *
   * @param lane Lane id.
   */
  abstract retire(lane: number): void;
  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  abstract drop(lane: number): void;

  /**
   * Queues a batch for the lane's worker; it is sent at the next flush.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    const link = this.linkOf.get(lane)!;
    link.outLanes.push(lane);
    link.outBuffers.push(batch.buffer);
    link.outLengths.push(length);
    this.#toFlush.add(link);
  }

  /** Sends one message per worker with everything queued for it. */
  flush(): void {
    for (const link of this.#toFlush) {
      const message: ToLaneWorker = {
        type: "batches",
        lanes: link.outLanes,
        buffers: link.outBuffers,
        lengths: link.outLengths,
      };
      link.channel.postMessage(message, link.outBuffers);
      link.outLanes = [];
      link.outBuffers = [];
      link.outLengths = [];
    }
    this.#toFlush.clear();
  }

  /** Ends every worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of [...this.#allLinks]) this.stopWorker(link);
    this.linkOf.clear();
    this.#spawner?.close();
  }

  /**
   * Starts a worker that serves lanes: through the spawner, so that the receiving thread never pays
   * for the constructor (about 11 ms), or directly, when that is paid up front at construction (the
   * pool) and the worker should answer at once (a worker started by a worker starts about a second
   * late in Deno 2.9).
   *
   * @param name Worker name, shown in error output.
   * @param direct Whether to construct it on this thread.
   * @returns Its link.
   */
  protected startWorker(name: string, direct: boolean): WorkerLink {
    const link: WorkerLink = {
      spawnId: -1,
      failed: false,
      channel: undefined as unknown as Worker,
      lanes: new Set(),
      outLanes: [],
      outBuffers: [],
      outLengths: [],
    };
    const onMessage = (event: MessageEvent) => {
      const message = event.data as FromLaneWorker;
      for (let i = 0; i < message.lanes.length; i++) {
        const buffer = message.buffers[i];
        const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
        this.callbacks.onResults(message.lanes[i], batch, message.lengths[i]);
      }
    };
    if (direct) {
      const worker = this.#factory(this.#sources.laneWorkerUrl, name);
      this.#directWorkers++;
      worker.onmessage = onMessage;
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault(); // A lane's failure must not take the process down.
        this.#fail(link, event.message);
      };
      link.channel = worker;
    } else {
      this.#spawner ??= new Spawner(this.#sources, this.#factory, (e) => this.#failAll(e));
      const { id, port } = this.#spawner.spawn(name, (error) => this.#fail(link, error));
      link.spawnId = id;
      link.channel = port;
      port.onmessage = onMessage;
    }
    this.#allLinks.add(link);
    return link;
  }

  /**
   * Sends a control message to a worker.
   *
   * @param link The worker.
   * @param message What to send.
   */
  protected send(link: WorkerLink, message: ToLaneWorker): void {
    link.channel.postMessage(message);
  }

  /**
   * Ends a worker.
   *
   * @param link The worker.
   */
  protected stopWorker(link: WorkerLink): void {
    if (!this.#allLinks.delete(link)) return;
    if (link.channel instanceof MessagePort) {
      link.channel.close();
      this.#spawner?.terminate(link.spawnId);
    } else {
      link.channel.terminate();
      this.#directWorkers--;
    }
  }

  #fail(link: WorkerLink, error: string): void {
    link.failed = true;
    this.stopWorker(link);
    this.#toFlush.delete(link);
    for (const lane of link.lanes) {
      this.linkOf.delete(lane);
      this.callbacks.onLaneFailed(lane, error);
    }
  }

  #failAll(error: string): void {
    for (const link of [...this.#allLinks]) this.#fail(link, error);
  }
}

/** One worker per lane; a retired lane's worker ends, and a revived lane gets a new one. */
export class WorkerPerStreamHost extends WorkerHostBase {
  /**
   * Creates the host and its spawner.
   *
   * @param callbacks Where results go.
   * @param sources Worker code.
   * @param factory Makes the spawner worker.
   */
  constructor(callbacks: HostCallbacks, sources: WorkerSources, factory: WorkerFactory) {
    super(callbacks, sources, factory);
  }

  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over.
   */
  open(lane: number, ssrc: number, config: LaneConfig, figures: Float64Array | undefined): void {
    const link = this.startWorker(`bwe-ssrc-${ssrc}`, false);
    link.lanes.add(lane);
    this.linkOf.set(lane, link);
    this.send(link, { type: "open", lane, config, figures });
  }

  /**
   * The lane went quiet.
   *
   * @param lane Lane id.
   */
  retire(lane: number): void {
    this.drop(lane);
  }

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    const link = this.linkOf.get(lane);
    if (!link) return;
    this.linkOf.delete(lane);
    this.stopWorker(link);
  }
}

/** A fixed set of workers; lanes are spread over them by SSRC. */
export class PoolHost extends WorkerHostBase {
  readonly #links: WorkerLink[] = [];

  /**
   * Creates the host and starts its workers.
   *
   * @param callbacks Where results go.
   * @param sources Worker code.
   * @param factory Makes the spawner worker.
   * @param size Workers in the pool.
   */
  constructor(
    callbacks: HostCallbacks,
    sources: WorkerSources,
    factory: WorkerFactory,
    size: number,
  ) {
    super(callbacks, sources, factory);
    // Started up front on this thread: a one-time cost at construction, and they answer at once.
    for (let i = 0; i < size; i++) this.#links.push(this.startWorker(`bwe-pool-${i}`, true));
  }

  /**
   * Starts a lane's pipeline.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over.
   */
  open(lane: number, ssrc: number, config: LaneConfig, figures: Float64Array | undefined): void {
    // A failed worker leaves its slot empty; its lanes have moved to the coordinator's fallback.
    const live = this.#links.filter((link) => !link.failed);
    if (live.length === 0) {
      this.callbacks.onLaneFailed(lane, "no pool worker is alive");
      return;
    }
    const link = live[ssrc % live.length];
    link.lanes.add(lane);
    this.linkOf.set(lane, link);
    this.send(link, { type: "open", lane, config, figures });
  }

  /**
   * The lane went quiet.
   *
   * @param lane Lane id.
   */
  retire(_lane: number): void {
    // The pipeline stays in its worker, so a returning stream carries on.
  }

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    const link = this.linkOf.get(lane);
    if (!link) return;
    this.linkOf.delete(lane);
    link.lanes.delete(lane);
    this.send(link, { type: "drop", lane });
  }
}
