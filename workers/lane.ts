/**
 * A lane as the coordinator tracks it for its whole life: its place on a host, its batches on the
 * way out and back, its pipeline figures, and its state, which one method per event moves.
 *
 * ```
 *   open ──► starting ──(first answer)──► running ──(streams time out)──► quiet
 *               │                           ▲  ▲                           │ (nothing in flight)
 *               │          (stream returns) │  └────────── revive ─────────┤
 *               │                           │                              ▼
 *               │                           └───────── revive ◄────── released
 *   any state ──(table drops it)──► dropped ──(nothing in flight)──► forgotten
 *   a worker fails ──► the lane moves to the inline fallback host, keeping its state
 * ```
 *
 * On the coordinator's own inline host a lane runs each record through its pipeline as it is
 * admitted (`run`), with no batch: "sent" then releases the records run since the last flush to
 * the replay, at the same points a batch would have come back.
 *
 * @module
 */

import type { DelayPipeline, LaneConfig } from "../core/delay_pipeline.ts";
import { LaneFigures } from "../core/lane_figures.ts";
import { FLAG_RESET_FILTER, PacketBatch } from "../core/packet_batch.ts";
import type { LaneHost } from "./lane_host.ts";
import type { PipelineStart } from "./lane_runner.ts";
import { Fifo } from "./_fifo.ts";

/** Where a lane is in its life. */
export type LaneState =
  /** Opened; its host has not answered yet (a worker can take a second to start). */
  | "starting"
  /** Its host answers. */
  | "running"
  /** Its streams timed out; the host is told once nothing of it is in flight. */
  | "quiet"
  /** The host freed its thread; a returning stream opens it again with the detector it had. */
  | "released"
  /** Gone; forgotten once nothing of it is in flight. */
  | "dropped";

/** What every lane of a coordinator shares. */
export interface LaneOptions {
  /** Records per batch. */
  batchSize: number;
  /** Pipeline settings. */
  config: LaneConfig;
  /** Called once a dropped lane has nothing in flight and its host was told. */
  onForgotten: (lane: Lane) => void;
  /**
   * The pipeline of a lane its host runs on this thread: given, lanes run each record as it is
   * admitted instead of in batches.
   */
  pipelineOf?: (lane: number) => DelayPipeline | undefined;
}

// Spare batches a lane keeps, so steady state allocates none.
const FREE_BATCHES = 4;

/**
 * One lane: the records admitted to it and not yet sent, the batches in flight and back, and the
 * detector figures its host last reported.
 *
 * @example
 * ```ts
 * import { Lane } from "./lane.ts";
 * import { InlineHost } from "./inline_host.ts";
 * import assert from "node:assert/strict";
 * const host = new InlineHost({ onResults() {}, onLaneFailed() {} });
 * const config = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 } as const;
 * const lane = new Lane(0, 7, host, { batchSize: 64, config, onForgotten() {} });
 * assert.equal(lane.state, "starting");
 * lane.retire();
 * assert.equal(lane.state, "released"); // Nothing in flight: released at once.
 * ```
 */
export class Lane {
  /** Lane id, never reused. */
  readonly id: number;
  /** The SSRC the lane was opened for. */
  readonly ssrc: number;
  /** Where it is. */
  state: LaneState;
  /** The host its pipeline runs on. */
  host: LaneHost;
  /** Records admitted and not yet sent. */
  pending: PacketBatch;
  /** Records in `pending`. */
  pendingLength = 0;
  /** Record counts of the batches sent and not back, oldest first. */
  readonly inFlight = new Fifo<number>();
  /** Real time the oldest batch in flight was sent, or the last answer came. */
  waitingSinceMs = 0;
  /** Batches back with their verdicts, their record counts in `length`. */
  readonly returned = new Fifo<PacketBatch>();
  /** Records of the first returned batch already replayed. */
  cursor = 0;
  // Flushes that found records pending since the last batch was sent.
  #heldFlushes = 0;
  readonly #figures = new LaneFigures();
  // Whether the host has reported figures yet: before that, a new pipeline starts afresh.
  #reported = false;
  readonly #config: LaneConfig;
  readonly #batchSize: number;
  readonly #onForgotten: (lane: Lane) => void;
  readonly #free: PacketBatch[] = [];
  readonly #pipelineOf: ((lane: number) => DelayPipeline | undefined) | undefined;
  // The pipeline each record runs through as it is admitted, when the lane has no batches.
  #pipeline: DelayPipeline | undefined;
  // Records run and released to the replay, not yet replayed (no batches).
  #released = 0;

  /**
   * Opens a lane on a host.
   *
   * @param id Lane id, never reused.
   * @param ssrc The SSRC it is opened for.
   * @param host Where its pipeline runs.
   * @param options Records per batch, pipeline settings, and what to call once a dropped lane has
   * nothing in flight (its host told).
   */
  constructor(id: number, ssrc: number, host: LaneHost, options: LaneOptions) {
    this.id = id;
    this.ssrc = ssrc;
    this.host = host;
    this.#config = options.config;
    this.#batchSize = options.batchSize;
    this.#onForgotten = options.onForgotten;
    this.#pipelineOf = options.pipelineOf;
    this.state = "starting";
    host.open(id, ssrc, options.config, undefined);
    this.#pipeline = this.#pipelineOf?.(id);
    this.pending = this.#pipeline ? new PacketBatch(1) : this.#nextBatch();
  }

  /** Whether it runs each record as it is admitted, with no batches. */
  get direct(): boolean {
    return this.#pipeline !== undefined;
  }

  /**
   * Runs an admitted record through the pipeline, which writes its verdict into the record (for a
   * {@linkcode Lane.direct} lane; the caller counts it in `pendingLength` as for a batch).
   *
   * @param records The coordinator's records.
   * @param index The record.
   */
  run(records: PacketBatch, index: number): void {
    const pipeline = this.#pipeline!;
    if ((records.flags[index] & FLAG_RESET_FILTER) !== 0) pipeline.resetFilter();
    pipeline.onRecord(records, index);
  }

  /** The pipeline figures its host last reported, or `undefined` before the first answer. */
  get reportedFigures(): LaneFigures | undefined {
    return this.#reported ? this.#figures : undefined;
  }

  /** Whether nothing of it is pending or in flight. */
  get idle(): boolean {
    return this.pendingLength === 0 && this.inFlight.length === 0;
  }

  /**
   * A flush found records pending: whether they are due, having gathered for as many flushes as
   * the lane's host wants per batch.
   *
   * @returns `true` when the pending records should be sent now.
   */
  due(): boolean {
    return ++this.#heldFlushes >= this.host.flushesPerBatch(this.id);
  }

  /**
   * Sends the pending records to the host as one batch.
   *
   * @param realNowMs Real time, for the watchdog.
   */
  submit(realNowMs: number): void {
    if (this.#pipeline !== undefined) {
      this.#release();
      return;
    }
    const length = this.pendingLength;
    if (this.inFlight.length === 0) this.waitingSinceMs = realNowMs;
    this.host.submit(this.id, this.pending, length);
    this.inFlight.push(length);
    this.pending = this.#nextBatch();
    this.pendingLength = 0;
    this.#heldFlushes = 0;
  }

  /**
   * A batch came back with its verdicts.
   *
   * @param batch The batch.
   * @param length Its records.
   * @param realNowMs Real time, for the watchdog.
   */
  onResults(batch: PacketBatch, length: number, realNowMs: number): void {
    this.inFlight.shift();
    if (this.state === "starting") this.state = "running";
    this.waitingSinceMs = realNowMs;
    batch.length = length;
    this.returned.push(batch);
    this.#figures.copyFrom(batch);
    this.#reported = true;
    this.#settle();
  }

  /**
   * The verdict of the next record to replay, or -1 while its batch is not back (or, without
   * batches, while the record is not released).
   *
   * @param records The coordinator's records, where a lane without batches wrote the verdict.
   * @param index That record.
   * @returns The verdict (0 normal, 1 underusing, 2 overusing), or -1.
   */
  nextVerdict(records: PacketBatch, index: number): number {
    if (this.#pipeline !== undefined) {
      if (this.#released === 0) return -1;
      this.#released--;
      return records.usage[index];
    }
    const batch = this.returned.peek();
    if (batch === undefined) return -1;
    const verdict = batch.usage[this.cursor];
    if (++this.cursor === batch.length) {
      this.returned.shift();
      this.cursor = 0;
      // A slot goes back to its host; one the host no longer holds (the lane moved or reopened) is
      // left to the collector rather than kept, with the shared memory of all its lane's slots.
      const reclaimed = this.host.reclaim?.(this.id, batch) ?? false;
      if (
        !reclaimed && batch.buffer instanceof ArrayBuffer && batch.capacity === this.#batchSize &&
        this.#free.length < FREE_BATCHES
      ) {
        this.#free.push(batch);
      }
    }
    return verdict;
  }

  /** Its streams all timed out: the host may free it once nothing is in flight. */
  retire(): void {
    if (this.state === "dropped") return;
    this.state = "quiet";
    this.#settle();
  }

  /** A stream came back: a released lane opens again with the detector it had. */
  revive(): void {
    if (this.state === "released") {
      this.host.open(this.id, this.ssrc, this.#config, this.#detectorStart());
      if (this.#pipeline !== undefined) this.#pipeline = this.#pipelineOf!(this.id);
      this.state = "starting";
    } else if (this.state === "quiet") {
      this.state = "running";
    }
  }

  /** The lane is gone: once nothing of it is in flight, its host is told and it is forgotten. */
  drop(): void {
    this.state = "dropped";
    this.#settle();
  }

  /**
   * Its worker failed: what was in flight is lost, so those records keep the lane's last verdict,
   * and the lane carries on on `fallback` from the detector state it had. (A lane without batches
   * runs on this thread and has no worker to lose.)
   *
   * @param fallback The inline host.
   */
  failOver(fallback: LaneHost): void {
    this.host = fallback;
    const verdict = this.#figures.usageCode;
    for (let length = this.inFlight.shift(); length !== undefined; length = this.inFlight.shift()) {
      const batch = new PacketBatch(length);
      batch.usage.fill(verdict);
      batch.length = length;
      this.returned.push(batch);
    }
    if (this.state === "dropped") {
      this.#settle();
      return;
    }
    fallback.open(this.id, this.ssrc, this.#config, this.#detectorStart());
    this.state = this.state === "quiet" || this.state === "released" ? "quiet" : "running";
    this.#settle();
  }

  // Without batches: the records run since the last flush go to the replay, as a batch coming
  // back with them would, and so do the pipeline's figures.
  #release(): void {
    this.#released += this.pendingLength;
    this.pendingLength = 0;
    this.#heldFlushes = 0;
    if (this.state === "starting") this.state = "running";
    this.#pipeline!.writeFigures(this.#figures.values);
    this.#reported = true;
    this.#settle();
  }

  // Where the next records go: a slot the host lends (no copy on the way out or back), else a
  // spare batch of the lane's own.
  #nextBatch(): PacketBatch {
    return this.host.lend?.(this.id) ?? this.#free.pop() ?? new PacketBatch(this.#batchSize);
  }

  // A new pipeline takes over the detector the host last reported, if it reported any.
  #detectorStart(): PipelineStart | undefined {
    return this.#reported ? { from: "figures", values: this.#figures.values } : undefined;
  }

  // Tells the host what it may free once nothing of the lane is pending or in flight.
  #settle(): void {
    if (!this.idle) return;
    if (this.state === "dropped") {
      this.host.drop(this.id);
      this.#onForgotten(this);
    } else if (this.state === "quiet") {
      this.state = "released";
      this.host.retire(this.id);
    }
  }
}
