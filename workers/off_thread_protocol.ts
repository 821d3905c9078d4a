/**
 * Messages between an {@linkcode OffThreadCoordinator} on the receiving thread and its coordinator
 * worker. Packets and calls do not travel as messages: they go through the shared
 * {@linkcode EntryRing}, and the worker is woken through a {@linkcode Doorbell}; messages carry
 * only the start, the close, and what the worker reports a few times per second.
 *
 * @module
 */

import type { RembSource } from "../core/receive_side_controller.ts";
import type { CoordinatorEvent, CoordinatorOptions, CoordinatorStats } from "./coordinator.ts";
import type { OffThreadCoordinatorOptions } from "./off_thread.ts";

/** What the worker needs to start, and the request to close. */
export type ToCoordinatorWorker =
  | {
    type: "init";
    options: CoordinatorOptions;
    ring: SharedArrayBuffer;
    capacity: number;
    doorbell: SharedArrayBuffer;
  }
  | { type: "close" };

/** What the coordinator worker reports. */
export interface Snapshot {
  /** The coordinator's figures. */
  stats: CoordinatorStats;
  /** Its active SSRCs. */
  ssrcs: number[];
}

/** Messages of the coordinator worker. */
export type FromCoordinatorWorker =
  | { type: "estimate"; bitrateBps: number; ssrcs: number[] }
  | { type: "remb"; packet: Uint8Array; bitrateBps: number; ssrcs: number[]; source: RembSource }
  | { type: "event"; event: CoordinatorEvent }
  | { type: "error"; message: string }
  | { type: "snapshot"; snapshot: Snapshot }
  | { type: "flushed"; id: number; snapshot: Snapshot }
  | { type: "closed" };

/**
 * The options that can cross to the worker: everything but functions, the injected clock and
 * timers (the worker runs on the receiving thread's times and ticks), and the ring's capacity.
 *
 * @param options The front end's options.
 * @returns A copy without them.
 * @example
 * ```ts
 * import { workerOptions } from "./off_thread_protocol.ts";
 * import assert from "node:assert/strict";
 * const options = workerOptions({ host: "pool", ringCapacity: 1024, onEstimate: () => {} });
 * assert.deepEqual(options, { host: "pool" });
 * ```
 */
export function workerOptions(options: OffThreadCoordinatorOptions): CoordinatorOptions {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === "function" || key === "clock" || key === "timers") continue;
    if (key === "ringCapacity") continue;
    data[key] = value;
  }
  return data as CoordinatorOptions;
}
