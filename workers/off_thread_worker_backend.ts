/**
 * The worker backend of an {@linkcode OffThreadCoordinator}: the {@linkcode Coordinator} runs in a
 * worker of its own. The receiving thread writes each packet and call into a shared
 * {@linkcode EntryRing} (a few stores); once per flush interval it adds a tick and rings the
 * worker's {@linkcode Doorbell}. Estimates, REMB packets and events come back as messages, a few per
 * second; `stats()` and `getEstimate()` answer from the latest snapshot.
 *
 * Entries that find the ring full wait in a spill of more entry rings on the receiving thread. A
 * worker that dies, reads nothing for `workerTimeoutMs` (real time), or falls 8 ×
 * `maxPendingRecords` entries behind is ended, and {@linkcode WorkerBackend.handOver} gives a
 * coordinator on this thread everything it had not read, a few milliseconds of it per turn of the
 * event loop, with what arrives meanwhile queued behind it.
 *
 * @module
 */

import { defaultWorkerFactory } from "./worker_host.ts";
import { callSafely, report } from "../core/_callbacks.ts";
import { ReceiveSideController } from "../core/receive_side_controller.ts";
import type { PacketInfo } from "../core/types.ts";
import {
  checkCoordinatorOptions,
  type Clock,
  type Coordinator,
  COORDINATOR_DEFAULTS,
  type CoordinatorOptions,
  type CoordinatorStats,
  type Timers,
  unrefTimers,
} from "./coordinator.ts";
import {
  ENTRY_FLUSH,
  ENTRY_MAX_BITRATE,
  ENTRY_PACKET,
  ENTRY_REMOVE,
  ENTRY_RTT,
  ENTRY_TICK,
  type EntryReader,
  EntryRing,
  PACKET_ABS_SEND_TIME,
  PACKET_ARRIVAL_MS,
  PACKET_NOW_MS,
  PACKET_PAYLOAD_SIZE,
  PACKET_RTP_TIMESTAMP,
  PACKET_SSRC,
} from "./entry_ring.ts";
import { EntrySpill } from "./_entry_spill.ts";
import type { OffThreadCoordinatorOptions } from "./off_thread.ts";
import {
  type FromCoordinatorWorker,
  type Snapshot,
  type ToCoordinatorWorker,
  workerOptions,
} from "./off_thread_protocol.ts";
import type { ReceiveCoordinator } from "./receive_coordinator.ts";
import { Doorbell } from "./shared_lane.ts";
import { COORDINATOR_WORKER_SOURCE } from "./_coordinator_bundle.ts";

/** What the front end wires into a {@linkcode WorkerBackend}, resolved and checked. */
export interface WorkerBackendWiring {
  /** Entries the shared ring holds; a power of two. */
  ringCapacity: number;
  /** Receives what a callback threw, and what the worker reported. */
  onError: (error: unknown) => void;
  /** Called once, with what happened, when the worker has been ended for failing. */
  onFailed: (error: string) => void;
}

/**
 * `running` until `close()` (`closing` while the worker closes its coordinator) or a failure
 * (`failed` until the front end calls `handOver`, `handing-over` while the backlog is replayed);
 * `ended` once the worker is terminated and nothing is left to replay.
 */
type WorkerState = "running" | "closing" | "failed" | "handing-over" | "ended";

const CLOSE_WAIT_MS = 2000;
// Entries that may wait on the receiving thread for a worker that is reading: this many times
// `maxPendingRecords`.
const SPILL_FACTOR = 8;
// A hand-over replays for this long per turn of the event loop, checking the time this often.
const HAND_OVER_SLICE_MS = 5;
const HAND_OVER_CHUNK = 512;
let bundledUrl: string | undefined;

/** Where the coordinator worker's code comes from, per the `workerSources` option. */
function coordinatorWorkerUrl(sources: CoordinatorOptions["workerSources"]): string {
  if (sources === "module") return new URL("./coordinator_worker.ts", import.meta.url).href;
  bundledUrl ??= URL.createObjectURL(
    new Blob([COORDINATOR_WORKER_SOURCE], { type: "application/javascript" }),
  );
  return bundledUrl;
}

/**
 * The ring and what waits behind it, as seen from the receiving thread, driving a coordinator
 * worker.
 *
 * @example
 * ```ts
 * import { WorkerBackend } from "./off_thread_worker_backend.ts";
 * import assert from "node:assert/strict";
 * // No flush timer: nothing but what the example writes goes into the ring.
 * const timers = { setInterval: () => 0, clearInterval() {} };
 * const backend = new WorkerBackend({ host: "inline", timers }, {
 *   ringCapacity: 1024,
 *   onError: (error) => console.error(error),
 *   onFailed: (error) => console.error(error),
 * });
 * backend.setRtt(50);
 * await backend.flush();
 * assert.equal(backend.stats().pendingRecords, 0);
 * await backend.close();
 * ```
 */
export class WorkerBackend implements Omit<ReceiveCoordinator, "closed"> {
  readonly #options: OffThreadCoordinatorOptions;
  readonly #onError: (error: unknown) => void;
  readonly #onFailed: (error: string) => void;
  readonly #maxPending: number;
  readonly #workerTimeoutMs: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #timer: unknown;
  readonly #ring: EntryRing;
  readonly #doorbell = new Doorbell();
  readonly #spill = new EntrySpill();
  readonly #worker: Worker;
  #state: WorkerState = "running";
  #snapshot: Snapshot | undefined;
  #ssrcs: readonly number[] = Object.freeze([]);
  #estimateBps = 0;
  #nextFlushId = 0;
  readonly #flushes = new Map<number, () => void>();
  #waitingForSpace = false;
  #nowInput = 0;
  #lastReleased = 0;
  #progressAtMs = performance.now();
  #onClosed: (() => void) | undefined;
  // The hand-over: the coordinator that takes over, what replays into it, the next slice's timer.
  #successor: Coordinator | undefined;
  #replay: Replay | undefined;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  #onCaughtUp: (() => void) | undefined;
  readonly #reportError = (error: unknown) => report(this.#onError, error);

  /**
   * Creates the ring, starts the worker and the flush timer.
   *
   * @param options The coordinator's options, checked (`workerFactory` makes this worker).
   * @param wiring The ring's capacity and where errors and the failure go.
   */
  constructor(options: OffThreadCoordinatorOptions, wiring: WorkerBackendWiring) {
    this.#ring = new EntryRing(wiring.ringCapacity);
    this.#options = options;
    this.#onError = wiring.onError;
    this.#onFailed = wiring.onFailed;
    this.#maxPending = options.maxPendingRecords ?? COORDINATOR_DEFAULTS.maxPendingRecords;
    this.#workerTimeoutMs = options.workerTimeoutMs ?? COORDINATOR_DEFAULTS.workerTimeoutMs;
    this.#clock = options.clock ?? COORDINATOR_DEFAULTS.clock;
    this.#timers = options.timers ?? unrefTimers;

    const url = coordinatorWorkerUrl(options.workerSources);
    const worker =
      (options.workerFactory ?? defaultWorkerFactory(globalThis, "off-thread coordinator"))(
        url,
        "bwe-coordinator",
      );
    worker.onmessage = (event: MessageEvent) => this.#onMessage(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // The estimate carries on here; the process must not go down.
      this.#fail(`coordinator worker failed: ${event.message}`);
    };
    this.#worker = worker;
    const init: ToCoordinatorWorker = {
      type: "init",
      options: workerOptions(options),
      ring: this.#ring.buffer,
      capacity: wiring.ringCapacity,
      doorbell: this.#doorbell.buffer,
    };
    worker.postMessage(init);
    this.#timer = this.#timers.setInterval(
      () => this.#tick(),
      options.flushIntervalMs ?? COORDINATOR_DEFAULTS.flushIntervalMs,
    );
  }

  /** This worker and those of its host, as of the latest snapshot; 0 once closing or ended. */
  get liveWorkers(): number {
    if (this.#state === "handing-over") return this.#successor!.liveWorkers;
    if (this.#state !== "running") return 0;
    return 1 + (this.#snapshot?.stats.liveWorkers ?? 0);
  }

  /**
   * Writes a checked packet into the ring, or behind it when the ring is full.
   *
   * @param packet The packet; not kept.
   * @param nowMs Receiver clock when processed, ms; `packet.arrivalTimeMs` when undefined.
   */
  onPacket(packet: PacketInfo, nowMs: number | undefined): void {
    // Two stores rather than `??` or a conditional expression, which would box the value.
    if (nowMs === undefined) this.#nowInput = packet.arrivalTimeMs;
    else this.#nowInput = nowMs;
    const ring = this.#writable();
    const values = ring.values;
    const at = ring.reserve();
    values[at + PACKET_SSRC] = packet.ssrc;
    values[at + PACKET_ARRIVAL_MS] = packet.arrivalTimeMs;
    values[at + PACKET_NOW_MS] = this.#nowInput;
    values[at + PACKET_PAYLOAD_SIZE] = packet.payloadSize;
    values[at + PACKET_RTP_TIMESTAMP] = packet.rtpTimestamp;
    if (packet.absSendTime === undefined) values[at + PACKET_ABS_SEND_TIME] = NaN;
    else values[at + PACKET_ABS_SEND_TIME] = packet.absSendTime;
    this.#commit(ring, ENTRY_PACKET);
  }

  /**
   * Sends everything so far to the worker and runs the periodic step there.
   *
   * @returns A promise that resolves once it is all replayed and every estimate, REMB and event
   * it caused was delivered here.
   */
  flush(): Promise<void> {
    const id = this.#nextFlushId++;
    const done = new Promise<void>((resolve) => this.#flushes.set(id, resolve));
    this.#write(ENTRY_FLUSH, id, this.#clock.nowMs());
    this.#send();
    return done;
  }

  /**
   * Queues a checked `removeStream()` for the worker.
   *
   * @param ssrc The SSRC.
   */
  removeStream(ssrc: number): void {
    this.#write(ENTRY_REMOVE, ssrc, 0);
  }

  /**
   * Queues a checked `setRtt()` for the worker.
   *
   * @param rttMs Positive, ms.
   */
  setRtt(rttMs: number): void {
    this.#write(ENTRY_RTT, rttMs, 0);
  }

  /**
   * Queues a checked `setMaxDesiredBitrate()` for the worker, at this thread's time.
   *
   * @param bitrateBps The cap, bps.
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    this.#write(ENTRY_MAX_BITRATE, bitrateBps, this.#clock.nowMs());
  }

  /**
   * The latest estimate delivered here.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    if (this.#state === "handing-over") return this.#successor!.getEstimate();
    return this.#estimateBps;
  }

  /**
   * The active SSRCs as of the latest snapshot.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[] {
    if (this.#state === "handing-over") return this.#successor!.getSSRCs();
    return [...this.#ssrcs];
  }

  /**
   * The active SSRCs as of the latest snapshot, frozen, the same object while they stay the same.
   *
   * @returns Ascending.
   */
  activeSSRCs(): readonly number[] {
    if (this.#state === "handing-over") return this.#successor!.activeSSRCs();
    return this.#ssrcs;
  }

  /**
   * The latest snapshot (taken at every flush and every 250 ms), with what waits on this thread
   * counted in `pendingRecords`.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats {
    const waiting = this.#ring.capacity - this.#ring.free() + this.#spill.length;
    if (this.#state === "handing-over") {
      const stats = this.#successor!.stats();
      return { ...stats, pendingRecords: stats.pendingRecords + waiting };
    }
    const stats = this.#snapshot?.stats ?? emptyStats(this.#options);
    return {
      ...stats,
      estimateBps: this.#estimateBps || undefined,
      liveWorkers: this.liveWorkers,
      pendingRecords: stats.pendingRecords + waiting,
      streams: stats.streams.map((stream) => ({ ...stream })),
    };
  }

  /**
   * Stops the timer, settles pending flushes, closes the coordinator in the worker (ending its
   * workers) and ends the worker. Called once, by the front end.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void> {
    if (this.#state === "handing-over") {
      // What is not replayed yet goes, as a coordinator's close drops what it has not flushed.
      this.#endHandOver();
      for (const resolve of this.#flushes.values()) resolve();
      this.#flushes.clear();
      return this.#successor!.close();
    }
    this.#state = "closing";
    this.#timers.clearInterval(this.#timer);
    for (const resolve of this.#flushes.values()) resolve();
    this.#flushes.clear();
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#onClosed = undefined;
        this.#end();
        resolve();
      };
      // A worker that does not answer is ended anyway.
      const timer = setTimeout(finish, CLOSE_WAIT_MS);
      this.#onClosed = finish;
      this.#worker.postMessage({ type: "close" } satisfies ToCoordinatorWorker);
    });
  }

  /**
   * After a failure: replays into `to`, oldest first, every entry the worker had not read and
   * every call made since, a slice of at most a few milliseconds per turn of the event loop, so
   * that a deep backlog does not stall this thread. Meanwhile calls queue behind the backlog as
   * before, the flush timer keeps adding its ticks, `to` runs on the replayed entries' time, and
   * estimates and stats come from `to`. A backlog that grows past the limit anyway is replayed at
   * once. Each flush settles once `to` has replayed and flushed up to it.
   *
   * @param to The coordinator that takes over, made with `time` as its clock and timers; it starts
   * without the worker's state, so the estimate restarts.
   * @param time Its clock and timers: the replayed time until the hand-over is done.
   * @param onCaughtUp Called once nothing is left to replay: calls may then go to `to` directly.
   */
  handOver(to: Coordinator, time: HandOverTime, onCaughtUp: () => void): void {
    this.#successor = to;
    this.#replay = new Replay(to, time, this.#flushes);
    this.#onCaughtUp = onCaughtUp;
    this.#state = "handing-over";
    this.#pump();
  }

  // One slice of the hand-over; the next one after a turn of the event loop.
  #pump(): void {
    this.#pumpTimer = undefined;
    if (this.#state !== "handing-over") return;
    const deadline = performance.now() + HAND_OVER_SLICE_MS;
    do {
      if (this.#replaySome(HAND_OVER_CHUNK) === 0) {
        this.#finishHandOver();
        return;
      }
    } while (performance.now() < deadline);
    // Not unreffed: flushes wait on it.
    this.#pumpTimer = setTimeout(() => this.#pump(), 0);
  }

  // Replays the oldest `max` entries at most: the ring's, then the spill's (newer).
  #replaySome(max: number): number {
    this.#ring.publish(); // The worker is gone: what was committed is all there is to read.
    let read = this.#ring.read(this.#replay!, this.#reportError, max);
    if (read < max) read += this.#spill.read(this.#replay!, this.#reportError, max - read);
    return read;
  }

  #finishHandOver(): void {
    this.#endHandOver();
    // Flushes whose entries the worker read but never answered.
    const to = this.#successor!;
    for (const resolve of this.#flushes.values()) to.flush().then(resolve, resolve);
    this.#flushes.clear();
    this.#onCaughtUp!();
  }

  // No more slices and no more ticks: the successor runs on its own from here.
  #endHandOver(): void {
    if (this.#pumpTimer !== undefined) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    this.#timers.clearInterval(this.#timer);
    this.#state = "ended";
  }

  // The ring while nothing waits behind it and it has room; the spill otherwise, so order holds.
  #writable(): EntryRing {
    if (this.#spill.length === 0 && this.#ring.free() > 0) return this.#ring;
    return this.#spill.writable();
  }

  #commit(ring: EntryRing, kind: number): void {
    if (ring === this.#ring) {
      ring.commit(kind);
      return;
    }
    this.#spill.commit(kind);
    // A burst the worker works through is no reason to give up on it (taking over here replays
    // the whole backlog on this thread); a backlog this deep is: memory must stay bounded.
    if (this.#spill.length > SPILL_FACTOR * this.#maxPending) {
      if (this.#state === "handing-over") {
        // This thread does not keep up either: memory must stay bounded.
        while (this.#replaySome(1 << 16) > 0);
        this.#finishHandOver();
      } else {
        this.#fail(`coordinator worker fell ${this.#spill.length} entries behind`);
      }
    }
  }

  #write(kind: number, a: number, b: number): void {
    const ring = this.#writable();
    const at = ring.reserve();
    ring.values[at] = a;
    ring.values[at + 1] = b;
    this.#commit(ring, kind);
  }

  // Moves what waited for ring space into the ring, publishes, and wakes the worker.
  #send(): void {
    const ring = this.#ring;
    if (this.#state !== "running") {
      ring.publish(); // for the hand-over's replay
      return;
    }
    // Read before publishing: the worker may drain and release everything before we wait.
    const released = ring.released;
    this.#spill.moveInto(ring);
    ring.publish();
    this.#doorbell.ring();
    // The rest goes as soon as the worker makes room, timer or not.
    if (this.#spill.length > 0 && !this.#waitingForSpace) {
      this.#waitingForSpace = true;
      ring.whenReleased(released, () => {
        this.#waitingForSpace = false;
        if (this.#state === "running") this.#send();
      });
    }
  }

  #tick(): void {
    if (this.#state === "handing-over") {
      this.#write(ENTRY_TICK, this.#clock.nowMs(), 0);
      return;
    }
    if (this.#state !== "running") return;
    // A worker that keeps entries waiting without reading any for workerTimeoutMs hangs.
    const nowMs = performance.now();
    const released = this.#ring.released;
    if (released !== this.#lastReleased || this.#ring.free() === this.#ring.capacity) {
      this.#lastReleased = released;
      this.#progressAtMs = nowMs;
    } else if (nowMs - this.#progressAtMs > this.#workerTimeoutMs) {
      this.#fail(`coordinator worker read nothing for ${this.#workerTimeoutMs} ms`);
      return;
    }
    this.#write(ENTRY_TICK, this.#clock.nowMs(), 0);
    this.#send();
  }

  #onMessage(message: FromCoordinatorWorker): void {
    const options = this.#options;
    switch (message.type) {
      case "estimate":
        this.#estimateBps = message.bitrateBps;
        if (options.onEstimate) {
          this.#safe(() => options.onEstimate!(message.bitrateBps, message.ssrcs));
        }
        break;
      case "remb":
        if (options.onRemb) {
          this.#safe(() =>
            options.onRemb!(message.packet, message.bitrateBps, message.ssrcs, message.source)
          );
        }
        break;
      case "event":
        if (options.onEvent) this.#safe(() => options.onEvent!(message.event));
        break;
      case "error":
        report(this.#onError, new Error(message.message));
        break;
      case "snapshot":
        this.#takeSnapshot(message.snapshot);
        break;
      case "flushed": {
        this.#takeSnapshot(message.snapshot);
        const resolve = this.#flushes.get(message.id);
        this.#flushes.delete(message.id);
        resolve?.();
        break;
      }
      case "closed":
        this.#onClosed?.();
        break;
    }
  }

  #takeSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    const ssrcs = snapshot.ssrcs;
    if (ssrcs.length !== this.#ssrcs.length || ssrcs.some((ssrc, i) => ssrc !== this.#ssrcs[i])) {
      this.#ssrcs = Object.freeze([...ssrcs]);
    }
    this.#estimateBps = snapshot.stats.estimateBps ?? 0;
  }

  // The worker died, hangs or lags: end it and tell the front end, once.
  #fail(error: string): void {
    if (this.#state !== "running") return;
    // The flush timer stays: its ticks go on into the queue the hand-over replays.
    this.#state = "failed";
    this.#worker.terminate();
    this.#onFailed(error);
  }

  #end(): void {
    if (this.#state === "running") this.#timers.clearInterval(this.#timer);
    this.#state = "ended";
    this.#worker.terminate();
  }

  #safe(callback: () => void): void {
    callSafely(callback, this.#onError);
  }
}

/** Entries into a coordinator on this thread, as the worker would have run them. */
class Replay implements EntryReader {
  readonly #to: Coordinator;
  readonly #time: HandOverTime;
  readonly #flushes: Map<number, () => void>;

  constructor(to: Coordinator, time: HandOverTime, flushes: Map<number, () => void>) {
    this.#to = to;
    this.#time = time;
    this.#flushes = flushes;
  }

  packet(packet: PacketInfo, nowMs: number): void {
    this.#to.onCheckedPacket(packet, nowMs); // Checked when it was written.
  }

  // The periodic step, at the time it was written.
  tick(nowMs: number): void {
    this.#time.at(nowMs);
    this.#time.tick();
  }

  flush(id: number, nowMs: number): void {
    this.#time.at(nowMs);
    const resolve = this.#flushes.get(id);
    this.#flushes.delete(id);
    const done = this.#to.flush();
    if (resolve) done.then(resolve, resolve);
    else done.catch(() => {});
  }

  removeStream(ssrc: number): void {
    this.#to.removeStream(ssrc);
  }

  setRtt(rttMs: number): void {
    this.#to.setRtt(rttMs);
  }

  setMaxDesiredBitrate(bitrateBps: number, nowMs: number): void {
    this.#time.at(nowMs);
    this.#to.setMaxDesiredBitrate(bitrateBps);
  }
}

/**
 * The clock and timers of a coordinator that takes over from a failed worker: while the backlog is
 * replayed, the time of the replayed entries and no timer of its own (the replayed ticks run its
 * periodic step); once it has caught up, the real clock and timers.
 *
 * @example
 * ```ts
 * import { HandOverTime } from "./off_thread_worker_backend.ts";
 * import assert from "node:assert/strict";
 * let started = 0;
 * const time = new HandOverTime({ nowMs: () => 5000 }, {
 *   setInterval: () => ++started,
 *   clearInterval() {},
 * });
 * let ticks = 0;
 * time.setInterval(() => ticks++, 20);
 * time.at(1000);
 * time.tick();
 * assert.deepEqual([time.nowMs(), ticks, started], [1000, 1, 0]);
 * time.finish();
 * assert.deepEqual([time.nowMs(), started], [5000, 1]);
 * ```
 */
export class HandOverTime implements Clock, Timers {
  readonly #clock: Clock;
  readonly #timers: Timers;
  #replaying = true;
  #replayMs: number;
  #tick: (() => void) | undefined;
  #intervalMs = 0;
  #handle: unknown;
  #stopped = false;

  /**
   * Creates it replaying, at the real clock's time.
   *
   * @param clock The real clock.
   * @param timers The real timers.
   */
  constructor(clock: Clock, timers: Timers) {
    this.#clock = clock;
    this.#timers = timers;
    this.#replayMs = clock.nowMs();
  }

  /**
   * The replayed time, then the real one.
   *
   * @returns ms.
   */
  nowMs(): number {
    return this.#replaying ? this.#replayMs : this.#clock.nowMs();
  }

  /**
   * Holds the coordinator's periodic step until {@linkcode HandOverTime.finish}.
   *
   * @param callback The step.
   * @param ms Its interval.
   * @returns A handle for `clearInterval`.
   */
  setInterval(callback: () => void, ms: number): unknown {
    this.#tick = callback;
    this.#intervalMs = ms;
    return this;
  }

  /**
   * Stops the periodic step, started or not.
   *
   * @param _handle Ignored: there is one.
   */
  clearInterval(_handle: unknown): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle);
  }

  /**
   * Sets the replayed time.
   *
   * @param ms The time a replayed entry was written at.
   */
  at(ms: number): void {
    this.#replayMs = ms;
  }

  /** Runs the periodic step, for a replayed tick. */
  tick(): void {
    this.#tick?.();
  }

  /** The backlog is replayed: the real clock from now on, and the step on the real timers. */
  finish(): void {
    this.#replaying = false;
    if (!this.#stopped && this.#tick !== undefined) {
      this.#handle = this.#timers.setInterval(this.#tick, this.#intervalMs);
    }
  }
}

/** What `stats()` says before the worker's first snapshot: those of a coordinator just made. */
function emptyStats(options: CoordinatorOptions): CoordinatorStats {
  const { settings, remb, host } = checkCoordinatorOptions(options);
  return {
    ...new ReceiveSideController({ settings, remb, onError() {} }).state(),
    host,
    liveWorkers: 0,
    pendingRecords: 0,
    packets: 0,
    refusedStreams: 0,
    refusedPackets: 0,
    packetsWithoutAbsSendTime: 0,
    failedLanes: 0,
    startingLanes: 0,
    rembsSent: 0,
    streams: [],
  };
}
