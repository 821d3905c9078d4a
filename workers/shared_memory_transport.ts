/**
 * The shared-memory transport (the default): a lane's batches travel through its slots of a
 * `SharedArrayBuffer` (workers/shared_lane.ts) and no message is posted per batch. A lane fills a
 * slot lent to it in place; at a flush the coordinator's thread publishes it (a batch of its own,
 * when the lane had no slot free, is copied into one) and rings the doorbell of each worker that
 * got one; a worker sleeps on its doorbell, runs every published slot and writes the verdicts
 * and figures in place. Results are collected a few milliseconds after the ring, when most workers
 * have finished (one timer, not a message per worker), and at every flush; or as soon as a worker
 * says they are ready while someone awaits them (prompt mode). Control messages are counted on the
 * doorbell so that a sleeping worker leaves its loop to read them.
 *
 * @module
 */

import type { DelayPipeline } from "../core/delay_pipeline.ts";
import type { PacketBatch } from "../core/packet_batch.ts";
import type { HostCallbacks } from "./lane_host.ts";
import { type PipelineStart, runLaneBatch } from "./lane_runner.ts";
import type { FromLaneWorker, LaneConfig, OpenLaneMessage, ToLaneWorker } from "./protocol.ts";
import { Doorbell, SharedLane } from "./shared_lane.ts";
import type { Reply, TransportHostEnd, TransportWorkerEnd, WorkerChannel } from "./transport.ts";
import { Fifo } from "./_fifo.ts";
import { unrefTimeout } from "./clock.ts";

/** A lane as the coordinator's end sees it. */
interface HostLane {
  readonly lane: number;
  readonly doorbell: Doorbell;
  readonly shared: SharedLane;
  /** Batches waiting to be published, their lengths in `length`. */
  readonly queued: Fifo<PacketBatch>;
  /** Of those, the lane's own batches, which wait for a free slot to be copied into. */
  copiesQueued: number;
  /** The batches published, oldest first: lent slots, or the coordinator's batches copied. */
  readonly inSlots: Fifo<PacketBatch>;
  /** Batches whose results were collected; those in slots follow it. */
  collected: number;
}

/**
 * The coordinator's end of the shared-memory transport.
 *
 * @example
 * ```ts
 * import { SharedMemoryHostEnd } from "./shared_memory_transport.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import assert from "node:assert/strict";
 * const posted: string[] = [];
 * const end = new SharedMemoryHostEnd({ onResults() {}, onLaneFailed() {} }, 64);
 * const channel = { postMessage: (message: { type: string }) => posted.push(message.type) };
 * end.connect(channel);
 * end.open(channel, 1, { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 }, undefined);
 * const slot = end.lend(1)!; // the lane fills its records in place
 * slot.size[0] = 1200;
 * end.submit(1, slot, 10);
 * end.submit(1, new PacketBatch(64), 10); // a batch of its own is copied into a free slot
 * end.flush(); // both published, and a ring: no message
 * assert.deepEqual(posted, ["doorbell", "open"]);
 * end.disconnect(channel);
 * end.close(); // stops the timer that collects results after a ring
 * ```
 */
export class SharedMemoryHostEnd implements TransportHostEnd {
  readonly #callbacks: HostCallbacks;
  readonly #batchSize: number;
  readonly #doorbells = new Map<WorkerChannel, Doorbell>();
  readonly #lanes = new Map<number, HostLane>();
  readonly #busy = new Set<HostLane>(); // lanes with batches queued or in slots
  readonly #toRing = new Set<Doorbell>();
  readonly #readyLanes = new Fifo<number>();
  readonly #readyBatches = new Fifo<PacketBatch>();
  #prompt = false;
  // The collection shortly after a ring, while one is due.
  #late: ReturnType<typeof setTimeout> | undefined;
  readonly #collectLate = (): void => {
    this.#late = undefined;
    this.#exchange();
  };

  /**
   * Creates the end with no workers.
   *
   * @param callbacks Where results go.
   * @param batchSize Records per batch: the size of a slot.
   */
  constructor(callbacks: HostCallbacks, batchSize: number) {
    this.#callbacks = callbacks;
    this.#batchSize = batchSize;
  }

  /**
   * A worker started: sends it its doorbell.
   *
   * @param channel The worker.
   */
  connect(channel: WorkerChannel): void {
    const doorbell = new Doorbell();
    doorbell.prompt = this.#prompt;
    channel.postMessage({ type: "doorbell", buffer: doorbell.buffer } satisfies ToLaneWorker);
    this.#doorbells.set(channel, doorbell); // Messages from here on are counted on it.
  }

  /**
   * Posts a control message and wakes the worker to read it.
   *
   * @param channel The worker.
   * @param message What to send.
   */
  send(channel: WorkerChannel, message: ToLaneWorker): void {
    channel.postMessage(message);
    this.#doorbells.get(channel)?.control();
  }

  /**
   * Opens a lane on a worker, with its slots.
   *
   * @param channel The worker.
   * @param lane Lane id.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from; afresh when `undefined`.
   */
  open(
    channel: WorkerChannel,
    lane: number,
    config: LaneConfig,
    start: PipelineStart | undefined,
  ): void {
    const shared = new SharedLane(this.#batchSize);
    this.#lanes.set(lane, {
      lane,
      doorbell: this.#doorbells.get(channel)!,
      shared,
      queued: new Fifo(),
      copiesQueued: 0,
      inSlots: new Fifo(),
      collected: 0,
    });
    const capacity = shared.capacity;
    this.send(channel, { type: "open", lane, config, start, shared: shared.buffer, capacity });
  }

  /**
   * A free slot of the lane for its next records: filled in place, it is published without a copy
   * and its verdicts come back in it.
   *
   * @param lane Lane id.
   * @returns The slot, or `undefined` when the lane has no slot free that its own queued batches
   * do not need, or is not open here.
   */
  lend(lane: number): PacketBatch | undefined {
    const state = this.#lanes.get(lane);
    // The lane's own batches queued get the free slots first: lending one of those could leave
    // every slot lent to batches queued behind them.
    if (state === undefined || state.shared.freeSlots <= state.copiesQueued) return undefined;
    return state.shared.lend();
  }

  /**
   * A slot {@linkcode SharedMemoryHostEnd.lend} gave is no longer needed: its verdicts were read.
   *
   * @param lane Lane id.
   * @param batch The batch.
   * @returns `false` when `batch` is not a slot the lane holds now (e.g. the lane was reopened).
   */
  reclaim(lane: number, batch: PacketBatch): boolean {
    return this.#lanes.get(lane)?.shared.reclaim(batch) ?? false;
  }

  /**
   * Queues a batch; at the next flush a lent slot is published as it is, any other batch copied
   * into a free slot (or left queued until one is free).
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    const state = this.#lanes.get(lane)!;
    batch.length = length;
    state.queued.push(batch);
    if (!state.shared.holds(batch)) state.copiesQueued++;
    this.#busy.add(state);
  }

  /** Collects finished slots, fills free ones, rings, and delivers. */
  flush(): void {
    this.#exchange();
  }

  /**
   * A worker says results are ready: someone awaits them.
   *
   * @param message What it said.
   */
  receive(message: FromLaneWorker): void {
    if (message.type === "ready") this.#exchange();
  }

  /**
   * Asks workers to say when results are ready instead of waiting for the next flush.
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void {
    if (prompt === this.#prompt) return;
    this.#prompt = prompt;
    for (const doorbell of this.#doorbells.values()) doorbell.prompt = prompt;
  }

  /**
   * Forgets a lane: what is still queued or in its slots is never delivered.
   *
   * @param lane Lane id.
   */
  forget(lane: number): void {
    const state = this.#lanes.get(lane);
    if (!state) return;
    this.#lanes.delete(lane);
    this.#busy.delete(state);
  }

  /**
   * A worker is about to end: it is told to stop, as a worker asleep on its doorbell would outlive
   * `terminate()`.
   *
   * @param channel The worker.
   */
  disconnect(channel: WorkerChannel): void {
    this.#doorbells.get(channel)?.stop();
    this.#doorbells.delete(channel);
  }

  /** Stops the collection due after the last ring. */
  close(): void {
    clearTimeout(this.#late);
    this.#late = undefined;
  }

  // Takes results, then sends what waited for the slots they free, then hands the results over.
  #exchange(): void {
    this.#collect();
    this.#publish();
    this.#deliver();
  }

  // Takes the results of every finished slot, in order, onto the ready queue. A lent slot carries
  // its results itself; a copy's are copied back into the coordinator's batch.
  #collect(): void {
    for (const state of this.#busy) {
      const shared = state.shared;
      const done = shared.done;
      while (state.collected < done) {
        const slot = shared.slot(state.collected++);
        const batch = state.inSlots.shift()!;
        if (batch !== slot) {
          const usage = batch.usage;
          const verdicts = slot.usage;
          for (let i = 0; i < batch.length; i++) usage[i] = verdicts[i];
          batch.figures.set(slot.figures);
          shared.reclaim(slot);
        }
        this.#readyLanes.push(state.lane);
        this.#readyBatches.push(batch);
      }
    }
  }

  // Publishes queued batches in order, lent slots as they are and others copied into a free slot,
  // and rings each worker that got one.
  #publish(): void {
    for (const state of this.#busy) {
      const shared = state.shared;
      let published = false;
      while (state.queued.length > 0) {
        const batch = state.queued.peek()!;
        if (shared.holds(batch)) {
          shared.publish(batch, batch.length);
        } else {
          const slot = shared.lend();
          if (slot === undefined) break; // Every slot in use: it waits for the next flush.
          slot.copyInputs(batch, batch.length);
          shared.publish(slot, batch.length);
          state.copiesQueued--;
        }
        state.queued.shift();
        state.inSlots.push(batch);
        published = true;
      }
      if (published) this.#toRing.add(state.doorbell);
      else if (state.inSlots.length === 0 && state.queued.length === 0) this.#busy.delete(state);
    }
    if (this.#toRing.size === 0) return;
    for (const doorbell of this.#toRing) doorbell.ring();
    this.#toRing.clear();
    // A woken worker needs well under a millisecond for a batch; collecting then, rather than at
    // the next flush, gives its verdicts a flush interval sooner for one timer.
    this.#late ??= unrefTimeout(this.#collectLate, LATE_COLLECT_MS);
  }

  // Hands ready results over; after the loops above, as the coordinator may drop lanes meanwhile.
  #deliver(): void {
    while (this.#readyLanes.length > 0) {
      const batch = this.#readyBatches.shift()!;
      const lane = this.#readyLanes.shift()!;
      if (this.#lanes.has(lane)) this.#callbacks.onResults(lane, batch, batch.length);
    }
  }
}

// How long after a ring the results are collected, ms: the workers rung at one flush have run by
// then, but for those the scheduler is slow to run (they are collected at the next flush).
const LATE_COLLECT_MS = 2;

/** A lane as a worker's end sees it. */
interface WorkerLane {
  readonly pipeline: DelayPipeline;
  readonly shared: SharedLane;
}

// The longest a worker sleeps without a ring; a safety net, not a poll: every change rings.
const SLEEP_MS = 1000;
const READY: FromLaneWorker = { type: "ready" };
const NOTHING: Transferable[] = [];

/**
 * A lane worker's end of the shared-memory transport: sleeps on the doorbell and runs every slot
 * published, until a control message waits to be read or the host stops the worker.
 *
 * @example
 * ```ts
 * import { SharedMemoryWorkerEnd } from "./shared_memory_transport.ts";
 * import { Doorbell, SharedLane } from "./shared_lane.ts";
 * import { createLanePipeline } from "../core/delay_pipeline.ts";
 * import assert from "node:assert/strict";
 * const bell = new Doorbell();
 * const end = new SharedMemoryWorkerEnd(new Doorbell(bell.buffer), () => true, () => {});
 * const config = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 } as const;
 * const slots = new SharedLane(16);
 * end.open({ type: "open", lane: 1, config, shared: slots.buffer, capacity: 16 }, createLanePipeline(config));
 * slots.publish(slots.lend()!, 4);
 * bell.stop(); // serve once, then leave
 * end.run();
 * assert.equal(slots.done, 1);
 * ```
 */
export class SharedMemoryWorkerEnd implements TransportWorkerEnd {
  readonly #doorbell: Doorbell;
  readonly #proceed: () => boolean;
  readonly #reply: Reply;
  readonly #lanes = new Map<number, WorkerLane>();
  #handledControls = 0;

  /**
   * Creates the end with no lanes.
   *
   * @param doorbell The worker's doorbell, from the host's first message.
   * @param proceed Asked before each batch; `false` leaves it, and every later one, unanswered.
   * @param reply Sends to the host.
   */
  constructor(doorbell: Doorbell, proceed: () => boolean, reply: Reply) {
    this.#doorbell = doorbell;
    this.#proceed = proceed;
    this.#reply = reply;
  }

  /**
   * Opens a lane on its slots.
   *
   * @param message The host's message, with the slots.
   * @param pipeline The lane's pipeline.
   * @throws {TypeError} The message has no slots.
   */
  open(message: OpenLaneMessage, pipeline: DelayPipeline): void {
    if (!message.shared || message.capacity === undefined) {
      throw new TypeError(`Cannot open lane ${message.lane} as its message has no shared slots`);
    }
    this.#lanes.set(message.lane, {
      pipeline,
      shared: new SharedLane(message.capacity, message.shared),
    });
  }

  /**
   * Forgets a lane.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    this.#lanes.delete(lane);
  }

  /** Goes back to the slots once every control message counted on the doorbell is read. */
  controlled(): void {
    const bell = this.#doorbell;
    if (++this.#handledControls === bell.controls && !bell.stopped) this.run();
  }

  /** Sleeps on the doorbell and serves, until a control message waits or the host stops it. */
  run(): void {
    const bell = this.#doorbell;
    for (;;) {
      const seen = bell.rings; // Before serving: a ring meanwhile cuts the next sleep short.
      this.#serveAll();
      if (bell.stopped || bell.controls !== this.#handledControls) return;
      bell.sleep(seen, SLEEP_MS);
    }
  }

  #serveAll(): void {
    let any = false;
    for (const lane of this.#lanes.values()) any = this.#serve(lane) || any;
    if (any && this.#doorbell.prompt) this.#reply(READY, NOTHING);
  }

  // Runs every published slot of a lane; returns whether there was any.
  #serve(lane: WorkerLane): boolean {
    const shared = lane.shared;
    const submitted = shared.submitted;
    let done = shared.done;
    if (done === submitted) return false;
    for (; done < submitted; done++) {
      if (!this.#proceed()) return false;
      runLaneBatch(lane.pipeline, shared.slot(done), shared.lengthOf(done));
      shared.finish();
    }
    return true;
  }
}
