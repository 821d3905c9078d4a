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
import { Doorbell, SHARED_SLOTS, SharedLane } from "./shared_lane.ts";
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

/**
 * How worker hosts move batches: through shared-memory slots and a doorbell (no message per batch),
 * or as transferred buffers, one message per worker and flush each way.
 */
export type Transport = "shared-memory" | "transfer";

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
  /** Sends what was submitted since the last flush, and delivers results that are ready. */
  flush(): void;
  /**
   * Whether results should be delivered as soon as they are ready rather than at the next flush
   * (someone awaits them).
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void;
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

  /**
   * Results are delivered at every flush anyway.
   *
   * @param prompt Ignored.
   */
  setPrompt(_prompt: boolean): void {}

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
  /** Its doorbell, with the shared-memory transport. */
  doorbell: Doorbell | undefined;
  /** The lanes it serves. */
  lanes: Set<number>;
  /** Lanes queued for the next flush (transfer). */
  outLanes: number[];
  /** Their buffers, transferred at the flush. */
  outBuffers: ArrayBuffer[];
  /** Their record counts. */
  outLengths: number[];
}

/** A lane's side of the shared-memory transport. */
interface SharedState {
  readonly lane: number;
  readonly link: WorkerLink;
  readonly shared: SharedLane;
  /** Batches waiting for a free slot, their lengths in `length`. */
  readonly queued: Fifo<PacketBatch>;
  /** The coordinator's batches whose copies are in slots, oldest first. */
  readonly inSlots: Fifo<PacketBatch>;
  /** Batches whose results were collected; those in slots follow it. */
  collected: number;
}

/** Settings of the worker hosts. */
export interface WorkerHostOptions {
  /** Worker code. */
  sources: WorkerSources;
  /** Makes the workers the host creates itself (the spawner, pool workers). */
  factory: WorkerFactory;
  /** How batches travel. */
  transport: Transport;
  /** Records per batch; the size of a shared slot. */
  batchSize: number;
}

/** Shared plumbing of the two worker hosts: ports, transports, results, failures. */
export abstract class WorkerHostBase implements LaneHost {
  /** Where results go. */
  protected readonly callbacks: HostCallbacks;
  readonly #options: WorkerHostOptions;
  #spawner: Spawner | undefined;
  #directWorkers = 0;
  /** The worker serving each lane. */
  protected readonly linkOf = new Map<number, WorkerLink>();
  readonly #allLinks = new Set<WorkerLink>();
  readonly #toFlush = new Set<WorkerLink>();
  readonly #sharedOf = new Map<number, SharedState>();
  readonly #busy = new Set<SharedState>(); // lanes with batches queued or in slots
  readonly #readyLanes = new Fifo<number>();
  readonly #readyBatches = new Fifo<PacketBatch>();
  #prompt = false;
  #closed = false;

  /**
   * Creates the host; workers start when lanes need them.
   *
   * @param callbacks Where results go.
   * @param options Worker code, factory, transport and batch size.
   */
  constructor(callbacks: HostCallbacks, options: WorkerHostOptions) {
    this.callbacks = callbacks;
    this.#options = options;
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
    const state = this.#sharedOf.get(lane);
    if (state) {
      batch.length = length;
      state.queued.push(batch);
      this.#busy.add(state);
      return;
    }
    const link = this.linkOf.get(lane)!;
    link.outLanes.push(lane);
    link.outBuffers.push(batch.buffer as ArrayBuffer); // The coordinator's own, never shared.
    link.outLengths.push(length);
    this.#toFlush.add(link);
  }

  /** Collects ready results, then sends everything queued: slots and a ring, or one message. */
  flush(): void {
    if (this.#options.transport === "shared-memory") {
      this.#collect();
      this.#publish();
      this.#deliver();
      return;
    }
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

  /**
   * With shared memory, asks workers to say when results are ready instead of waiting for the next
   * flush; transferred batches always come back at once.
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void {
    if (prompt === this.#prompt) return;
    this.#prompt = prompt;
    for (const link of this.#allLinks) if (link.doorbell) link.doorbell.prompt = prompt;
  }

  /** Ends every worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of [...this.#allLinks]) this.stopWorker(link);
    this.linkOf.clear();
    this.#sharedOf.clear();
    this.#busy.clear();
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
      doorbell: undefined,
      lanes: new Set(),
      outLanes: [],
      outBuffers: [],
      outLengths: [],
    };
    const onMessage = (event: MessageEvent) => {
      const message = event.data as FromLaneWorker;
      if (message.type === "ready") {
        // Someone awaits results: take them, and send what waited for the slots they free.
        this.#collect();
        this.#publish();
        this.#deliver();
        return;
      }
      for (let i = 0; i < message.lanes.length; i++) {
        const buffer = message.buffers[i];
        const batch = new PacketBatch(PacketBatch.capacityOf(buffer.byteLength), buffer);
        this.callbacks.onResults(message.lanes[i], batch, message.lengths[i]);
      }
    };
    const { sources, factory } = this.#options;
    if (direct) {
      const worker = factory(sources.laneWorkerUrl, name);
      this.#directWorkers++;
      worker.onmessage = onMessage;
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault(); // A lane's failure must not take the process down.
        this.#fail(link, event.message);
      };
      link.channel = worker;
    } else {
      this.#spawner ??= new Spawner(sources, factory, (e) => this.#failAll(e));
      const { id, port } = this.#spawner.spawn(name, (error) => this.#fail(link, error));
      link.spawnId = id;
      link.channel = port;
      port.onmessage = onMessage;
    }
    if (this.#options.transport === "shared-memory") {
      const doorbell = new Doorbell();
      doorbell.prompt = this.#prompt;
      this.send(link, { type: "doorbell", buffer: doorbell.buffer });
      link.doorbell = doorbell; // Messages from here on are counted on it.
    }
    this.#allLinks.add(link);
    return link;
  }

  /**
   * Opens a lane on a worker.
   *
   * @param link The worker.
   * @param lane Lane id.
   * @param config Pipeline settings.
   * @param figures Detector state to carry over.
   */
  protected openOn(
    link: WorkerLink,
    lane: number,
    config: LaneConfig,
    figures: Float64Array | undefined,
  ): void {
    link.lanes.add(lane);
    this.linkOf.set(lane, link);
    if (this.#options.transport === "transfer") {
      this.send(link, { type: "open", lane, config, figures });
      return;
    }
    const shared = new SharedLane(this.#options.batchSize);
    this.#sharedOf.set(lane, {
      lane,
      link,
      shared,
      queued: new Fifo(),
      inSlots: new Fifo(),
      collected: 0,
    });
    const capacity = shared.capacity;
    this.send(link, { type: "open", lane, config, figures, shared: shared.buffer, capacity });
  }

  /**
   * Forgets a lane: what is still queued or in its slots is never delivered.
   *
   * @param lane Lane id.
   */
  protected forget(lane: number): void {
    this.linkOf.get(lane)?.lanes.delete(lane);
    this.linkOf.delete(lane);
    const state = this.#sharedOf.get(lane);
    if (!state) return;
    this.#sharedOf.delete(lane);
    this.#busy.delete(state);
  }

  /**
   * Sends a control message to a worker.
   *
   * @param link The worker.
   * @param message What to send.
   */
  protected send(link: WorkerLink, message: ToLaneWorker): void {
    link.channel.postMessage(message);
    link.doorbell?.control();
  }

  /**
   * Ends a worker.
   *
   * @param link The worker.
   */
  protected stopWorker(link: WorkerLink): void {
    if (!this.#allLinks.delete(link)) return;
    link.doorbell?.stop(); // A worker asleep on its doorbell would outlive terminate().
    if (link.channel instanceof MessagePort) {
      link.channel.close();
      this.#spawner?.terminate(link.spawnId);
    } else {
      link.channel.terminate();
      this.#directWorkers--;
    }
  }

  // Takes the results of every finished slot, in order, onto the ready queue.
  #collect(): void {
    for (const state of this.#busy) {
      const shared = state.shared;
      const done = shared.done;
      while (state.collected < done) {
        const slot = shared.slot(state.collected++);
        const batch = state.inSlots.shift()!;
        const usage = batch.usage;
        const verdicts = slot.usage;
        for (let i = 0; i < batch.length; i++) usage[i] = verdicts[i];
        batch.figures.set(slot.figures);
        this.#readyLanes.push(state.lane);
        this.#readyBatches.push(batch);
      }
    }
  }

  // Copies queued batches into free slots and rings each worker that got one.
  #publish(): void {
    for (const state of this.#busy) {
      const shared = state.shared;
      let published = false;
      while (state.queued.length > 0 && state.inSlots.length < SHARED_SLOTS) {
        const batch = state.queued.shift()!;
        shared.nextSlot().copyRecords(batch, batch.length);
        shared.publish(batch.length);
        state.inSlots.push(batch);
        published = true;
      }
      if (published) this.#toFlush.add(state.link);
      else if (state.inSlots.length === 0 && state.queued.length === 0) this.#busy.delete(state);
    }
    for (const link of this.#toFlush) link.doorbell!.ring();
    this.#toFlush.clear();
  }

  // Hands ready results over; after the loops above, as the coordinator may drop lanes meanwhile.
  #deliver(): void {
    while (this.#readyLanes.length > 0) {
      const batch = this.#readyBatches.shift()!;
      const lane = this.#readyLanes.shift()!;
      if (this.#sharedOf.has(lane)) this.callbacks.onResults(lane, batch, batch.length);
    }
  }

  #fail(link: WorkerLink, error: string): void {
    link.failed = true;
    this.stopWorker(link);
    this.#toFlush.delete(link);
    for (const lane of [...link.lanes]) {
      this.forget(lane);
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
   * Creates the host; its spawner starts with the first lane.
   *
   * @param callbacks Where results go.
   * @param options Worker code, factory, transport and batch size.
   */
  constructor(callbacks: HostCallbacks, options: WorkerHostOptions) {
    super(callbacks, options);
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
    this.openOn(this.startWorker(`bwe-ssrc-${ssrc}`, false), lane, config, figures);
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
    this.forget(lane);
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
   * @param options Worker code, factory, transport and batch size.
   * @param size Workers in the pool.
   */
  constructor(callbacks: HostCallbacks, options: WorkerHostOptions, size: number) {
    super(callbacks, options);
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
    this.openOn(live[ssrc % live.length], lane, config, figures);
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
    this.forget(lane);
    this.send(link, { type: "drop", lane });
  }
}
