/**
 * Where the pipelines run, around the core's one controller:
 *
 * - `coordinator.ts`: admit → log (`record_log.ts`) → lane batches (`lane.ts`, one life cycle per
 *   lane) → a host → verdicts drained into the controller in log order; its options, defaults and
 *   host choice in `coordinator_options.ts`, its watchdog and backlog bound in `liveness.ts`, its
 *   clock and timers in `clock.ts`;
 * - hosts behind `lane_host.ts`: `inline_host.ts`, and `worker_host.ts` (a worker per lane or a
 *   pool: placements, not code paths) with `spawner.ts`; each transport behind `transport.ts` in a
 *   file of its own (`shared_memory_transport.ts`, the default; `transfer_transport.ts`); the worker
 *   side in `lane_service.ts`, `lane_worker.ts`, `spawner_worker.ts`;
 * - `off_thread.ts`: the whole coordinator in a worker, a front end over one backend
 *   (`off_thread_worker_backend.ts`, or a local `Coordinator` after a failover), its messages in
 *   `off_thread_protocol.ts`, its entries in `entry_ring.ts`;
 * - `receive_coordinator.ts`: the interface both coordinators implement; `closed_error.ts`: the one
 *   error for calls after `close()`.
 *
 * @module
 */

export {
  Coordinator,
  CoordinatorClosedError,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorStats,
  type CoordinatorStreamStats,
} from "./coordinator.ts";
export { type Clock, type Timers, unrefTimers } from "./clock.ts";
export type { HostKind, Transport, WorkerFactory, WorkerSources } from "./lane_host.ts";
export { ClosedError } from "./closed_error.ts";
export type { ReceiveCoordinator } from "./receive_coordinator.ts";
export { OffThreadCoordinator, type OffThreadCoordinatorOptions } from "./off_thread.ts";
