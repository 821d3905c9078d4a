/**
 * The coordinator in a worker of its own. The receiving thread only checks each packet and writes
 * it into a shared ring (a few stores); once per flush interval it adds a tick and rings the
 * worker, which runs the {@linkcode Coordinator} (admission, lanes on the chosen host, replay, REMB
 * throttling) exactly as it would run on the receiving thread, at the receiving thread's times.
 * Estimates, REMB packets and events come back as messages, a few per second; `stats()` and
 * `getEstimate()` answer from the latest snapshot.
 *
 * For the same packets and flush points the results are those of a {@linkcode Coordinator} with
 * the same options; they arrive one flush interval later at most (plus the worker's run).
 *
 * @module
 */

import { callSafely, report } from "../core/_callbacks.ts";
import { checkPacket } from "../core/packet_info.ts";
import { checkBitrate } from "../core/remb_throttler.ts";
import { checkRange } from "../core/estimator_settings.ts";
import {
  checkCoordinatorOptions,
  type Clock,
  Coordinator,
  CoordinatorClosedError,
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
  ENTRY_VALUES,
  EntryRing,
} from "./entry_ring.ts";
import { Doorbell } from "./shared_lane.ts";
import { COORDINATOR_WORKER_SOURCE } from "./_coordinator_bundle.ts";
import type {
  FromCoordinatorWorker,
  Snapshot,
  ToCoordinatorWorker,
} from "./off_thread_protocol.ts";
import type { PacketInfo } from "../core/types.ts";
import type { ReceiveCoordinator } from "./receive_coordinator.ts";

/** Options of {@linkcode OffThreadCoordinator}: those of {@linkcode Coordinator}, and the ring. */
export interface OffThreadCoordinatorOptions extends CoordinatorOptions {
  /**
   * Entries the shared ring holds (a power of two): packets and calls written and not yet read by
   * the worker. Beyond it they wait in a queue on the receiving thread; past 8 × `maxPendingRecords`
   * of those, or when the worker reads nothing for `workerTimeoutMs` (real time), a `Coordinator`
   * on the receiving thread takes over.
   *
   * @default {65536}
   */
  ringCapacity?: number;
}

/** Entries that found the ring full, in the ring's layout: a growable queue, 49 bytes apiece. */
class SpillQueue {
  kinds = new Uint8Array(1024);
  values = new Float64Array(1024 * ENTRY_VALUES);
  head = 0;
  length = 0;

  /** Appends an entry; returns the offset to write its numbers at. */
  push(kind: number): number {
    if (this.length === this.kinds.length) this.#grow();
    const slot = (this.head + this.length++) % this.kinds.length;
    this.kinds[slot] = kind;
    return slot * ENTRY_VALUES;
  }

  /** Offset of the oldest entry's numbers. */
  oldest(): number {
    return this.head * ENTRY_VALUES;
  }

  /** Drops the oldest entry. */
  shift(): void {
    this.head = (this.head + 1) % this.kinds.length;
    this.length--;
  }

  // Only when full: the ring, unrolled from its head into twice the room.
  #grow(): void {
    const head = this.head;
    const kinds = new Uint8Array(this.kinds.length * 2);
    kinds.set(this.kinds.subarray(head));
    kinds.set(this.kinds.subarray(0, head), this.kinds.length - head);
    const values = new Float64Array(this.values.length * 2);
    values.set(this.values.subarray(head * ENTRY_VALUES));
    values.set(
      this.values.subarray(0, head * ENTRY_VALUES),
      this.values.length - head * ENTRY_VALUES,
    );
    this.kinds = kinds;
    this.values = values;
    this.head = 0;
  }
}

const CLOSE_WAIT_MS = 2000;
// Entries that may wait on the receiving thread for a worker that is reading: this many times
// `maxPendingRecords`.
const SPILL_FACTOR = 8;
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
 * A {@linkcode Coordinator} that runs in a worker: the receiving thread's share of the work is
 * checking each packet and writing it into shared memory.
 *
 * @example
 * ```ts
 * import { OffThreadCoordinator } from "./off_thread.ts";
 * import assert from "node:assert/strict";
 * const coordinator = new OffThreadCoordinator({ host: "inline" });
 * for (let i = 0; i < 10; i++) {
 *   coordinator.onPacket({
 *     ssrc: 7, arrivalTimeMs: 1000 + i * 5, payloadSize: 1000, rtpTimestamp: i * 450,
 *     absSendTime: Math.round((i * 5 * 2 ** 18) / 1000),
 *   });
 * }
 * await coordinator.flush();
 * assert.ok(coordinator.getEstimate() > 1_500_000); // a probe cluster at 1.6 Mbit/s
 * await coordinator.close();
 * ```
 */
export class OffThreadCoordinator implements ReceiveCoordinator {
  readonly #options: OffThreadCoordinatorOptions;
  readonly #maxPending: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #timer: unknown;
  readonly #ring: EntryRing;
  readonly #doorbell = new Doorbell();
  readonly #spill = new SpillQueue();
  #worker: Worker | undefined;
  #fallback: Coordinator | undefined;
  #snapshot: Snapshot | undefined;
  #estimateBps = 0;
  #nextFlushId = 0;
  readonly #flushes = new Map<number, () => void>();
  #waitingForSpace = false;
  #nowInput = 0;
  #lastReleased = 0;
  #progressAtMs = performance.now();
  readonly #workerTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  #closing: Promise<void> | undefined;
  #onClosed: (() => void) | undefined;
  #closed = false;

  /**
   * Creates the coordinator and starts its worker.
   *
   * @param options Those of {@linkcode Coordinator} (`workerFactory` makes this worker; the
   * workers of its host use the default), and the ring's capacity.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: OffThreadCoordinatorOptions = {}) {
    checkCoordinatorOptions(options);
    const capacity = options.ringCapacity ?? 65_536;
    checkRange("off-thread coordinator", "ringCapacity", capacity, {
      min: 2,
      max: 1 << 26,
      integer: true,
    });
    if ((capacity & (capacity - 1)) !== 0) {
      throw new RangeError(
        `Cannot create off-thread coordinator as 'ringCapacity' must be a power of two: current value is ${capacity}`,
      );
    }
    this.#ring = new EntryRing(capacity);
    this.#options = options;
    this.#maxPending = options.maxPendingRecords ?? 262_144;
    this.#workerTimeoutMs = options.workerTimeoutMs ?? 2000;
    this.#onError = options.onError ??
      ((error) => console.error("Coordinator callback threw:", error));
    this.#clock = options.clock ?? { nowMs: () => performance.now() };
    this.#timers = options.timers ?? unrefTimers;

    const url = coordinatorWorkerUrl(options.workerSources);
    const worker = options.workerFactory
      ? options.workerFactory(url, "bwe-coordinator")
      : new Worker(url, { type: "module", name: "bwe-coordinator" });
    worker.onmessage = (event: MessageEvent) => this.#onMessage(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // The estimate carries on here; the process must not go down.
      this.#failOver(`coordinator worker failed: ${event.message}`);
    };
    this.#worker = worker;
    const init: ToCoordinatorWorker = {
      type: "init",
      options: dataOptions(options),
      ring: this.#ring.buffer,
      capacity,
      doorbell: this.#doorbell.buffer,
    };
    worker.postMessage(init);
    this.#timer = this.#timers.setInterval(() => this.#tick(), options.flushIntervalMs ?? 10);
  }

  /** Whether {@linkcode OffThreadCoordinator.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Workers alive: this one and those of its host, as of the latest snapshot; 0 after close. */
  get liveWorkers(): number {
    if (this.#closed) return 0;
    if (this.#fallback) return this.#fallback.liveWorkers;
    return 1 + (this.#snapshot?.stats.liveWorkers ?? 0);
  }

  /**
   * Takes one received packet: checks it and writes it into the ring.
   *
   * @param packet The packet; not kept.
   * @param nowMs Receiver clock when processed, ms.
   * @default nowMs `packet.arrivalTimeMs`
   * @throws {CoordinatorClosedError} After close.
   * @throws {TypeError} A field has the wrong type.
   * @throws {RangeError} A field is out of range.
   */
  onPacket(packet: PacketInfo, nowMs?: number): void {
    if (this.#closed) throw new CoordinatorClosedError("process packet");
    checkPacket(packet, nowMs);
    if (this.#fallback) return this.#fallback.onPacket(packet, nowMs);
    // Two stores rather than `??` or a conditional expression, which would box the value.
    if (nowMs === undefined) this.#nowInput = packet.arrivalTimeMs;
    else this.#nowInput = nowMs;
    const ring = this.#ring;
    if (this.#spill.length > 0 || ring.free() === 0) {
      this.#writePacket(this.#spill.values, this.#spill.push(ENTRY_PACKET), packet);
      this.#checkSpill();
      return;
    }
    this.#writePacket(ring.values, ring.reserve(), packet);
    ring.commit(ENTRY_PACKET);
  }

  // The entry's numbers; the processing time comes in #nowInput, as a number argument is boxed.
  #writePacket(values: Float64Array, at: number, packet: PacketInfo): void {
    values[at] = packet.ssrc;
    values[at + 1] = packet.arrivalTimeMs;
    values[at + 2] = this.#nowInput;
    values[at + 3] = packet.payloadSize;
    values[at + 4] = packet.rtpTimestamp;
    if (packet.absSendTime === undefined) values[at + 5] = NaN;
    else values[at + 5] = packet.absSendTime;
  }

  /**
   * Sends everything so far to the worker, runs the periodic step there, and resolves once it is
   * all replayed and every estimate, REMB and event it caused was delivered here.
   *
   * @returns A promise that resolves then.
   * @throws {CoordinatorClosedError} After close.
   */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new CoordinatorClosedError("flush"));
    if (this.#fallback) return this.#fallback.flush();
    const id = this.#nextFlushId++;
    const done = new Promise<void>((resolve) => this.#flushes.set(id, resolve));
    this.#write(ENTRY_FLUSH, id, this.#clock.nowMs());
    this.#send();
    return done;
  }

  /**
   * Stops counting an SSRC, as a timeout would.
   *
   * @param ssrc The SSRC.
   * @throws {CoordinatorClosedError} After close.
   * @throws {RangeError} Not a 32-bit unsigned integer.
   */
  removeStream(ssrc: number): void {
    if (this.#closed) throw new CoordinatorClosedError("remove stream");
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) {
      throw new RangeError(
        `Cannot remove stream as 'ssrc' must be a 32-bit unsigned integer: current value is ${ssrc}`,
      );
    }
    if (this.#fallback) return this.#fallback.removeStream(ssrc);
    this.#write(ENTRY_REMOVE, ssrc, 0);
  }

  /**
   * Sets the round-trip time used by the rate controller.
   *
   * @param rttMs Positive, ms.
   * @throws {RangeError} Not a positive finite number.
   */
  setRtt(rttMs: number): void {
    if (typeof rttMs !== "number" || !(rttMs > 0) || !Number.isFinite(rttMs)) {
      throw new RangeError(`Cannot set RTT as 'rttMs' must be positive: current value is ${rttMs}`);
    }
    if (this.#closed) return;
    if (this.#fallback) return this.#fallback.setRtt(rttMs);
    this.#write(ENTRY_RTT, rttMs, 0);
  }

  /**
   * Caps what REMB will ever announce, and announces the cap at the next flush.
   *
   * @param bitrateBps The cap, bps.
   * @throws {CoordinatorClosedError} After close.
   * @throws {TypeError} Not a number.
   * @throws {RangeError} Not a non-negative safe integer.
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    if (this.#closed) throw new CoordinatorClosedError("set the maximum bitrate");
    checkBitrate(bitrateBps, "set the maximum REMB bitrate");
    if (this.#fallback) return this.#fallback.setMaxDesiredBitrate(bitrateBps);
    this.#write(ENTRY_MAX_BITRATE, bitrateBps, this.#clock.nowMs());
  }

  /**
   * The latest estimate delivered here.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    if (this.#fallback) return this.#fallback.getEstimate();
    return this.#estimateBps;
  }

  /**
   * The active SSRCs as of the latest snapshot.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[] {
    if (this.#fallback) return this.#fallback.getSSRCs();
    return [...(this.#snapshot?.ssrcs ?? [])];
  }

  /**
   * The latest snapshot of the coordinator (taken at every flush and every 250 ms), with what
   * waits on this thread counted in `pendingRecords`.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats {
    if (this.#fallback) return this.#fallback.stats();
    const stats = this.#snapshot?.stats ?? emptyStats(this.#options);
    return {
      ...stats,
      estimateBps: this.#estimateBps,
      liveWorkers: this.liveWorkers,
      pendingRecords: stats.pendingRecords + this.#ring.capacity - this.#ring.free() +
        this.#spill.length,
      streams: stats.streams.map((stream) => ({ ...stream })),
    };
  }

  /**
   * Stops the timer, closes the coordinator in the worker (ending its workers), ends the worker and
   * rejects later calls. Idempotent.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#timers.clearInterval(this.#timer);
    for (const resolve of this.#flushes.values()) resolve();
    this.#flushes.clear();
    const worker = this.#worker;
    if (!worker) {
      this.#closing = this.#fallback?.close() ?? Promise.resolve();
      return this.#closing;
    }
    this.#closing = new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#onClosed = undefined;
        this.#stopWorker();
        resolve();
      };
      // A worker that does not answer is ended anyway.
      const timer = setTimeout(finish, CLOSE_WAIT_MS);
      this.#onClosed = finish;
      worker.postMessage({ type: "close" } satisfies ToCoordinatorWorker);
    });
    return this.#closing;
  }

  // --- receiving thread -------------------------------------------------------------------------

  #write(kind: number, a: number, b: number): void {
    if (this.#spill.length > 0 || this.#ring.free() === 0) {
      const at = this.#spill.push(kind);
      this.#spill.values[at] = a;
      this.#spill.values[at + 1] = b;
      this.#checkSpill();
      return;
    }
    const at = this.#ring.reserve();
    this.#ring.values[at] = a;
    this.#ring.values[at + 1] = b;
    this.#ring.commit(kind);
  }

  #checkSpill(): void {
    // A burst the worker works through is no reason to give up on it (taking over here replays
    // the whole backlog on this thread); a backlog this deep is: memory must stay bounded.
    if (this.#spill.length > SPILL_FACTOR * this.#maxPending) {
      this.#failOver(`coordinator worker fell ${this.#spill.length} entries behind`);
    }
  }

  // Moves what waited for ring space into the ring, publishes, and wakes the worker.
  #send(): void {
    const ring = this.#ring;
    // Read before publishing: the worker may drain and release everything before we wait.
    const released = ring.released;
    while (this.#spill.length > 0 && ring.free() > 0) {
      const spill = this.#spill;
      const from = spill.oldest();
      const at = ring.reserve();
      for (let i = 0; i < ENTRY_VALUES; i++) ring.values[at + i] = spill.values[from + i];
      ring.commit(spill.kinds[spill.head]);
      spill.shift();
    }
    ring.publish();
    this.#doorbell.ring();
    // The rest goes as soon as the worker makes room, timer or not.
    if (this.#spill.length > 0 && !this.#waitingForSpace) {
      this.#waitingForSpace = true;
      ring.whenReleased(released, () => {
        this.#waitingForSpace = false;
        if (!this.#closed && !this.#fallback) this.#send();
      });
    }
  }

  #tick(): void {
    if (this.#closed || this.#fallback) return; // The fallback has a timer of its own.
    // A worker that keeps entries waiting without reading any for workerTimeoutMs hangs.
    const nowMs = performance.now();
    const released = this.#ring.released;
    if (released !== this.#lastReleased || this.#ring.free() === this.#ring.capacity) {
      this.#lastReleased = released;
      this.#progressAtMs = nowMs;
    } else if (nowMs - this.#progressAtMs > this.#workerTimeoutMs) {
      this.#failOver(`coordinator worker read nothing for ${this.#workerTimeoutMs} ms`);
      return;
    }
    this.#write(ENTRY_TICK, this.#clock.nowMs(), 0);
    this.#send();
  }

  #onMessage(message: FromCoordinatorWorker): void {
    switch (message.type) {
      case "estimate":
        this.#estimateBps = message.bitrateBps;
        if (this.#options.onEstimate) {
          this.#safe(() => this.#options.onEstimate!(message.bitrateBps, message.ssrcs));
        }
        break;
      case "remb":
        if (this.#options.onRemb) {
          this.#safe(() =>
            this.#options.onRemb!(message.packet, message.bitrateBps, message.ssrcs)
          );
        }
        break;
      case "event":
        if (this.#options.onEvent) this.#safe(() => this.#options.onEvent!(message.event));
        break;
      case "error":
        this.#report(new Error(message.message));
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
    this.#estimateBps = snapshot.stats.estimateBps;
  }

  // The worker died or stalled: a coordinator on this thread takes over from what the worker had
  // not read yet. It starts without the worker's state: the estimate restarts.
  #failOver(error: string): void {
    if (this.#fallback || this.#closed) return;
    this.#stopWorker();
    const fallback = new Coordinator({ ...this.#options, timers: this.#timers });
    this.#fallback = fallback;
    this.#safe(() => this.#options.onEvent?.({ type: "coordinator-failed", error }));
    const ring = this.#ring;
    const pending = (ring.capacity - ring.free()) | 0;
    for (let i = 0; i < pending; i++) {
      this.#replay(fallback, ring.kindAt(i), ring.values, ring.offsetOf(i));
    }
    ring.release(pending);
    const spill = this.#spill;
    for (; spill.length > 0; spill.shift()) {
      this.#replay(fallback, spill.kinds[spill.head], spill.values, spill.oldest());
    }
    for (const resolve of this.#flushes.values()) fallback.flush().then(resolve, resolve);
    this.#flushes.clear();
  }

  // One entry, from the ring or the spill queue (the same layout), into the fallback.
  #replay(fallback: Coordinator, kind: number, v: Float64Array, at: number): void {
    try {
      switch (kind) {
        case ENTRY_PACKET:
          fallback.onPacket({
            ssrc: v[at],
            arrivalTimeMs: v[at + 1],
            payloadSize: v[at + 3],
            rtpTimestamp: v[at + 4],
            absSendTime: Number.isNaN(v[at + 5]) ? undefined : v[at + 5],
          }, v[at + 2]);
          break;
        case ENTRY_REMOVE:
          fallback.removeStream(v[at]);
          break;
        case ENTRY_RTT:
          fallback.setRtt(v[at]);
          break;
        case ENTRY_MAX_BITRATE:
          fallback.setMaxDesiredBitrate(v[at]);
          break;
        default:
          fallback.flush().catch(() => {}); // A tick or a flush: the periodic step.
      }
    } catch (error) {
      this.#report(error);
    }
  }

  #stopWorker(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    worker.terminate();
  }

  #safe(callback: () => void): void {
    callSafely(callback, this.#onError);
  }

  #report(error: unknown): void {
    report(this.#onError, error);
  }
}

/** The options that can cross to the worker: everything but functions and injected objects. */
function dataOptions(options: OffThreadCoordinatorOptions): CoordinatorOptions {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === "function" || key === "clock" || key === "timers") continue;
    if (key === "ringCapacity") continue;
    data[key] = value;
  }
  return data as CoordinatorOptions;
}

function emptyStats(options: CoordinatorOptions): CoordinatorStats {
  return {
    mode: undefined,
    estimateBps: 0,
    usage: "normal",
    rateControlState: "hold",
    incomingRateBps: 0,
    host: options.host ?? "worker-per-stream",
    liveWorkers: 0,
    pendingRecords: 0,
    packets: 0,
    refusedStreams: 0,
    refusedPackets: 0,
    packetsWithoutAbsSendTime: 0,
    failedLanes: 0,
    rembsSent: 0,
    streams: [],
  };
}
