/**
 * What both coordinators offer: `Coordinator` on the receiving thread and `OffThreadCoordinator`
 * in a worker implement this one interface, and the interceptor and
 * the werift adapter hold a coordinator only through it.
 *
 * @module
 */

import type { PacketInfo } from "../core/types.ts";
import type { CoordinatorStats } from "./coordinator.ts";

/**
 * A receive-side coordinator: takes packets on the receiving thread, estimates, and emits estimates
 * and REMB packets through the callbacks it was created with. Calls after `close()` throw a
 * {@linkcode ClosedError}; `close()` itself is idempotent.
 *
 * @example
 * ```ts
 * import { Coordinator, type ReceiveCoordinator } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const coordinator: ReceiveCoordinator = new Coordinator({ host: "inline" });
 * assert.equal(coordinator.getEstimate(), 0);
 * await coordinator.close();
 * assert.ok(coordinator.closed);
 * ```
 */
export interface ReceiveCoordinator {
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** Workers alive (0 when everything runs on the receiving thread, and after close). */
  readonly liveWorkers: number;
  /**
   * Takes one received packet.
   *
   * @param packet The packet; not kept.
   * @param nowMs Receiver clock when processed, ms; `packet.arrivalTimeMs` when left out.
   */
  onPacket(packet: PacketInfo, nowMs?: number): void;
  /**
   * Runs the periodic step now and resolves once everything received so far is estimated.
   *
   * @returns A promise that settles when the estimate is up to date.
   */
  flush(): Promise<void>;
  /**
   * Stops counting an SSRC, as a timeout would.
   *
   * @param ssrc The SSRC.
   */
  removeStream(ssrc: number): void;
  /**
   * Sets the round-trip time the rate controller uses.
   *
   * @param rttMs Positive, ms.
   */
  setRtt(rttMs: number): void;
  /**
   * Caps what REMB will announce, and announces the cap at once.
   *
   * @param bitrateBps The cap in bps, or `Infinity` for none.
   */
  setMaxDesiredBitrate(bitrateBps: number): void;
  /**
   * The latest estimate.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number;
  /**
   * The active SSRCs.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[];
  /**
   * The active SSRCs without a copy: a frozen array that stays the same object until a stream
   * starts or ends.
   *
   * @returns Ascending, frozen.
   */
  activeSSRCs(): readonly number[];
  /**
   * A snapshot of the coordinator.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats;
  /**
   * Releases every worker and timer; idempotent.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void>;
}
