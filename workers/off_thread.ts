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
 * This file is the front end: it checks every call and forwards it to one backend, the worker
 * ({@linkcode WorkerBackend}) until that fails, then a {@linkcode Coordinator} on this thread.
 *
 * @module
 */

import { checkRtt, checkSsrc } from "../core/receive_side_options.ts";
import { callSafely } from "../core/_callbacks.ts";
import { checkPacket } from "../core/packet_info.ts";
import { checkMaxBitrate } from "../core/receive_side_controller.ts";
import { checkRange } from "../core/estimator_settings.ts";
import {
  checkCoordinatorOptions,
  Coordinator,
  COORDINATOR_DEFAULTS,
  CoordinatorClosedError,
  type CoordinatorOptions,
  type CoordinatorStats,
} from "./coordinator.ts";
import { HandOverTime, WorkerBackend } from "./off_thread_worker_backend.ts";
import { unrefTimers } from "./clock.ts";
import type { PacketInfo } from "../core/types.ts";
import type { ReceiveCoordinator } from "./receive_coordinator.ts";

/** Options of {@linkcode OffThreadCoordinator}: those of {@linkcode Coordinator}, and the ring. */
export interface OffThreadCoordinatorOptions extends CoordinatorOptions {
  /**
   * Entries the shared ring holds (a power of two): packets and calls written and not yet read by
   * the worker. Beyond it they wait in a queue on the receiving thread; past 8 × `maxPendingRecords`
   * of those, or when the worker reads nothing for `workerTimeoutMs` (real time), a `Coordinator`
   * on the receiving thread takes over. It replays everything the worker had not read, and what
   * arrives meanwhile, a few milliseconds per turn of the event loop; estimates and stats come from
   * it at once, and `flush()` resolves once the replay has passed it.
   *
   * @default {65536}
   */
  ringCapacity?: number;
}

const DEFAULT_RING_CAPACITY = 65_536;

/** What the front end forwards to once a call is checked. */
type Backend = WorkerBackend | Coordinator;

/**
 * A {@linkcode Coordinator} that runs in a worker: the receiving thread's share of the work is
 * checking each packet and writing it into shared memory.
 *
 * @example
 * ```ts
 * import { OffThreadCoordinator } from "@rbe/receiver-gcc";
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
  readonly #onError: (error: unknown) => void;
  #backend: Backend;
  #closing: Promise<void> | undefined;

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
    const ringCapacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
    checkRange("off-thread coordinator", "ringCapacity", ringCapacity, {
      min: 2,
      max: 1 << 26,
      integer: true,
    });
    if ((ringCapacity & (ringCapacity - 1)) !== 0) {
      throw new RangeError(
        `Cannot create off-thread coordinator as 'ringCapacity' must be a power of two: current value is ${ringCapacity}`,
      );
    }
    this.#options = options;
    this.#onError = options.onError ?? COORDINATOR_DEFAULTS.onError;
    const worker: WorkerBackend = new WorkerBackend(options, {
      ringCapacity,
      onError: this.#onError,
      onFailed: (error) => this.#failOver(worker, error),
    });
    this.#backend = worker;
  }

  /** Whether {@linkcode OffThreadCoordinator.close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Workers alive: this one and those of its host, as of the latest snapshot; 0 after close. */
  get liveWorkers(): number {
    return this.#closing ? 0 : this.#backend.liveWorkers;
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
    this.#checkOpen("process packet");
    checkPacket(packet, nowMs);
    this.#backend.onPacket(packet, nowMs);
  }

  /**
   * Sends everything so far to the worker, runs the periodic step there, and resolves once it is
   * all replayed and every estimate, REMB and event it caused was delivered here.
   *
   * @returns A promise that resolves then.
   * @throws {CoordinatorClosedError} After close (the promise rejects).
   */
  flush(): Promise<void> {
    if (this.#closing) return Promise.reject(new CoordinatorClosedError("flush"));
    return this.#backend.flush();
  }

  /**
   * Stops counting an SSRC, as a timeout would.
   *
   * @param ssrc The SSRC.
   * @throws {CoordinatorClosedError} After close.
   * @throws {RangeError} Not a 32-bit unsigned integer.
   */
  removeStream(ssrc: number): void {
    this.#checkOpen("remove stream");
    checkSsrc(ssrc, "remove stream");
    this.#backend.removeStream(ssrc);
  }

  /**
   * Sets the round-trip time used by the rate controller.
   *
   * @param rttMs Positive, ms.
   * @throws {CoordinatorClosedError} After close.
   * @throws {RangeError} Not a positive finite number.
   */
  setRtt(rttMs: number): void {
    this.#checkOpen("set RTT");
    checkRtt(rttMs);
    this.#backend.setRtt(rttMs);
  }

  /**
   * Caps what REMB will ever announce, and announces the cap at the next flush.
   *
   * @param bitrateBps The cap, bps: a non-negative integer, or `Infinity` to lift it.
   * @throws {CoordinatorClosedError} After close.
   * @throws {TypeError} Not a number.
   * @throws {RangeError} Not a non-negative integer or `Infinity`.
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    this.#checkOpen("set the maximum bitrate");
    checkMaxBitrate(bitrateBps);
    this.#backend.setMaxDesiredBitrate(bitrateBps);
  }

  /**
   * The latest estimate delivered here.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    return this.#backend.getEstimate();
  }

  /**
   * The active SSRCs as of the latest snapshot.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[] {
    return this.#backend.getSSRCs();
  }

  /**
   * The active SSRCs as of the latest snapshot, without a copy: a frozen array that stays the same
   * object until a snapshot shows a stream started or ended.
   *
   * @returns Ascending, frozen.
   */
  activeSSRCs(): readonly number[] {
    return this.#backend.activeSSRCs();
  }

  /**
   * The latest snapshot of the coordinator (taken at every flush, at the first flush tick after a
   * stream starts or ends, and every 250 ms), with what waits on this thread counted in
   * `pendingRecords`.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats {
    return this.#backend.stats();
  }

  /**
   * Stops the timer, closes the coordinator in the worker (ending its workers), ends the worker and
   * rejects later calls. Idempotent.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void> {
    this.#closing ??= this.#backend.close();
    return this.#closing;
  }

  #checkOpen(action: string): void {
    if (this.#closing) throw new CoordinatorClosedError(action);
  }

  // The one place the backend changes. The worker died, stalled or fell behind, and was ended: a
  // coordinator on this thread takes over from what the worker had not read.
  #failOver(worker: WorkerBackend, error: string): void {
    const time = new HandOverTime(
      this.#options.clock ?? COORDINATOR_DEFAULTS.clock,
      this.#options.timers ?? unrefTimers,
    );
    const local = new Coordinator({ ...this.#options, clock: time, timers: time });
    callSafely(
      () => this.#options.onEvent?.({ type: "coordinator-failed", error }),
      this.#onError,
    );
    worker.handOver(local, time, () => {
      if (this.#backend === worker) this.#backend = local;
      time.finish();
    });
  }
}
