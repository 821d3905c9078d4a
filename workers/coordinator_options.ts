/**
 * The coordinators' options: their types, their defaults (each stated once, here), their
 * validation, and the host they choose.
 *
 * @module
 */

import {
  checkChoice,
  checkFunctions,
  checkRange,
  type EstimatorSettings,
  type ResolvedSettings,
  resolveSettings,
} from "../core/estimator_settings.ts";
import type { EstimatorKind } from "../core/lane_table.ts";
import type { ControllerState, RembPolicy } from "../core/receive_side_controller.ts";
import { type ReceiveSideOptions, resolveRembPolicy } from "../core/receive_side_options.ts";
import type { LaneFigureStats } from "../core/lane_figures.ts";
import type { BandwidthUsage } from "../core/types.ts";
import { type Clock, performanceClock, type Timers } from "./clock.ts";
import { InlineHost } from "./inline_host.ts";
import type {
  HostCallbacks,
  HostKind,
  LaneHost,
  Transport,
  WorkerFactory,
  WorkerSources,
} from "./lane_host.ts";
import { WarmStartHost } from "./warm_start_host.ts";
import { WorkerPerLane, WorkerPool } from "./worker_host.ts";
import { defaultWorkerSources, moduleWorkerSources } from "./sources.ts";

/** Something the application may want to know about. */
export type CoordinatorEvent =
  | {
    /** A new SSRC was turned away because `maxStreams` streams are active. */
    type: "stream-refused";
    /** The refused SSRC. */
    ssrc: number;
    /** Active streams at the time. */
    activeStreams: number;
  }
  | {
    /** A lane's worker failed; the lane now runs inline from the state it had. */
    type: "lane-failed";
    /** SSRC the lane was opened for. */
    ssrc: number;
    /** What the worker reported. */
    error: string;
  }
  | {
    /** The estimator changed between abs-send-time and RTP timestamps, starting afresh. */
    type: "estimator-switched";
    /** The new estimator. */
    kind: EstimatorKind;
  }
  | {
    /**
     * An off-thread coordinator's worker died or fell too far behind; a coordinator on the
     * receiving thread took over, and the estimate restarted.
     */
    type: "coordinator-failed";
    /** What happened. */
    error: string;
  };

/**
 * Options of {@linkcode Coordinator}: the estimator settings (grouping, filter, bitrate bounds, stream
 * timeout — a silent stream's worker ends with it), the host and its batching, limits, callbacks,
 * and injectable clock, timers and workers.
 */
export interface CoordinatorOptions extends EstimatorSettings, ReceiveSideOptions {
  /**
   * Where the delay pipelines run.
   *
   * @default {"worker-per-stream"}
   */
  host?: HostKind;
  /**
   * How worker hosts move batches: shared-memory slots with a doorbell per worker (no message per
   * batch; results are collected at the next flush, or at once while {@linkcode Coordinator.flush}
   * is awaited), or transferred buffers, one message per worker and flush each way.
   *
   * @default {"shared-memory"}
   */
  transport?: Transport;
  /**
   * Workers of the `pool` host.
   *
   * @default {1}
   */
  poolSize?: number;
  /**
   * Interval of the flush timer, which sends the batches that are due and replays the verdicts
   * that came back, ms: inline, a record waits at most this long for its batch to run.
   *
   * @default {10}
   */
  flushIntervalMs?: number;
  /**
   * Flush intervals a worker lane's records gather before its worker is woken with them (at once
   * when `batchSize` are waiting). Each wake-up costs ~20–30 µs of CPU, mostly the kernel's
   * scheduling of the worker's thread, so worker-per-stream wakes each worker at every second
   * flush; a verdict then comes at most this many flush intervals after the inline host's (shared
   * memory). Lanes that run inline, new ones included, are sent at every flush.
   *
   * @default {2 with host "worker-per-stream", otherwise 1}
   */
  flushesPerBatch?: number;
  /**
   * Records per batch; a full batch is sent at once.
   *
   * @default {64}
   */
  batchSize?: number;
  /**
   * Streams tracked at once; packets of further SSRCs are refused and counted.
   *
   * @default {64}
   */
  maxStreams?: number;
  /**
   * A lane whose worker has not answered for this long (real time) is declared failed and runs
   * inline, ms.
   *
   * @default {2000}
   */
  workerTimeoutMs?: number;
  /**
   * Records waiting for their workers before the coordinator stops waiting: past this backlog every
   * worker lane moves inline, so nothing queues without limit.
   *
   * @default {262144}
   */
  maxPendingRecords?: number;
  /** Called on refused streams, failed workers and estimator switches. */
  onEvent?: (event: CoordinatorEvent) => void;
  /** The clock; injected in tests. */
  clock?: Clock;
  /** The timers; injected in tests (a no-op timer plus explicit `flush()` calls). */
  timers?: Timers;
  /** Makes the spawner worker; injected in tests to count or break workers. */
  workerFactory?: WorkerFactory;
  /**
   * Where worker code comes from: the self-contained bundle (works from any import URL and offline),
   * or the module files next to this one.
   *
   * @default {"bundle"}
   */
  workerSources?: "bundle" | "module" | WorkerSources;
}

/** Per-stream figures in {@linkcode CoordinatorStats}: its lane's, after the last returned batch. */
export interface CoordinatorStreamStats extends LaneFigureStats {
  /** The SSRC. */
  ssrc: number;
  /** Verdict of its lane at its last replayed packet. */
  usage: BandwidthUsage;
  /** Packets replayed. */
  packets: number;
}

/** A snapshot of the coordinator: the controller's figures, then the coordinator's own. */
export interface CoordinatorStats extends ControllerState {
  /** Host in use. */
  host: HostKind;
  /** Workers alive. */
  liveWorkers: number;
  /** Records written but not yet replayed. */
  pendingRecords: number;
  /** Packets accepted. */
  packets: number;
  /** Streams refused for `maxStreams`. */
  refusedStreams: number;
  /** Packets of refused streams. */
  refusedPackets: number;
  /** Packets the abs-send-time estimator ignored for lacking the extension. */
  packetsWithoutAbsSendTime: number;
  /** Lanes whose worker failed and that now run inline. */
  failedLanes: number;
  /**
   * Lanes of a worker host that run inline while their workers start; each moves to its worker, with
   * its pipeline's whole state, once that answers.
   */
  startingLanes: number;
  /** REMB packets emitted. */
  rembsSent: number;
  /** Active streams. */
  streams: CoordinatorStreamStats[];
}

/**
 * The coordinators' own defaults; the estimator's are in core/estimator_settings.ts, REMB's in
 * core/receive_side_options.ts.
 */
export const COORDINATOR_DEFAULTS = {
  clock: performanceClock,
  onError: (error: unknown): void => console.error("Coordinator callback threw:", error),
  host: "worker-per-stream",
  transport: "shared-memory",
  poolSize: 1,
  flushIntervalMs: 10,
  batchSize: 64,
  maxStreams: 64,
  workerTimeoutMs: 2000,
  maxPendingRecords: 262_144,
} as const satisfies Partial<CoordinatorOptions>;

// The default of `flushesPerBatch`, by host: only a worker per stream pays for many wake-ups.
const FLUSHES_PER_BATCH: Record<HostKind, number> = { "worker-per-stream": 2, pool: 1, inline: 1 };

/** {@linkcode CoordinatorOptions} checked, with every default applied. */
export interface ResolvedCoordinatorOptions {
  /** The estimator settings. */
  settings: ResolvedSettings;
  /** Where the pipelines run. */
  host: HostKind;
  /** How worker hosts move batches. */
  transport: Transport;
  /** Workers of the pool host. */
  poolSize: number;
  /** Interval of the flush timer, ms. */
  flushIntervalMs: number;
  /** Flush intervals a worker lane's batch gathers. */
  flushesPerBatch: number;
  /** Records per batch. */
  batchSize: number;
  /** Streams tracked at once. */
  maxStreams: number;
  /** Silence after which a worker lane is declared failed, ms. */
  workerTimeoutMs: number;
  /** Backlog past which worker lanes move inline. */
  maxPendingRecords: number;
  /** How REMB is sent. */
  remb: RembPolicy;
}

/**
 * Validates coordinator options without creating anything (no worker, no timer), and applies the
 * defaults.
 *
 * @param options The options.
 * @returns The options with defaults applied.
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} An option is out of range, or two options contradict each other.
 * @example
 * ```ts
 * import { checkCoordinatorOptions } from "./coordinator_options.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkCoordinatorOptions({ batchSize: 0 }), RangeError);
 * assert.equal(checkCoordinatorOptions({}).settings.grouping, "per-stream");
 * ```
 */
export function checkCoordinatorOptions(options: CoordinatorOptions): ResolvedCoordinatorOptions {
  const settings = resolveSettings("coordinator", options);
  const subject = "coordinator";
  checkChoice(subject, "host", options.host, ["worker-per-stream", "inline", "pool"]);
  checkChoice(subject, "transport", options.transport, ["shared-memory", "transfer"]);
  checkRange(subject, "poolSize", options.poolSize, { min: 1, max: 64, integer: true });
  if (options.poolSize !== undefined && options.host !== "pool") {
    throw new RangeError(
      `Cannot create coordinator as 'poolSize' needs 'host' "pool": current values are ${options.poolSize} and ${
        JSON.stringify(options.host ?? COORDINATOR_DEFAULTS.host)
      }`,
    );
  }
  checkRange(subject, "flushIntervalMs", options.flushIntervalMs, {
    min: 1,
    max: 1000,
    integer: false,
  });
  checkRange(subject, "flushesPerBatch", options.flushesPerBatch, {
    min: 1,
    max: 100,
    integer: true,
  });
  checkRange(subject, "batchSize", options.batchSize, { min: 1, max: 65_536, integer: true });
  checkRange(subject, "maxStreams", options.maxStreams, { min: 1, max: 1e6, integer: true });
  checkRange(subject, "workerTimeoutMs", options.workerTimeoutMs, {
    min: 1,
    max: 600_000,
    integer: false,
  });
  checkRange(subject, "maxPendingRecords", options.maxPendingRecords, {
    min: 1024,
    max: 1 << 26,
    integer: true,
  });
  const remb = resolveRembPolicy(subject, options, settings.maxBitrateBps);
  checkFunctions(subject, options as Record<string, unknown>, ["onEvent", "workerFactory"]);
  checkMethods("clock", options.clock, ["nowMs"]);
  checkMethods("timers", options.timers, ["setInterval", "clearInterval"]);
  const d = COORDINATOR_DEFAULTS;
  const host = options.host ?? d.host;
  return {
    settings,
    host,
    transport: options.transport ?? d.transport,
    poolSize: options.poolSize ?? d.poolSize,
    flushIntervalMs: options.flushIntervalMs ?? d.flushIntervalMs,
    flushesPerBatch: options.flushesPerBatch ?? FLUSHES_PER_BATCH[host],
    batchSize: options.batchSize ?? d.batchSize,
    maxStreams: options.maxStreams ?? d.maxStreams,
    workerTimeoutMs: options.workerTimeoutMs ?? d.workerTimeoutMs,
    maxPendingRecords: options.maxPendingRecords ?? d.maxPendingRecords,
    remb,
  };
}

/**
 * Makes the host the options ask for; worker hosts start their spawner (a pool its workers) here.
 *
 * @param options The options as given (worker code and factory).
 * @param resolved The same, checked.
 * @param callbacks Where the host reports.
 * @returns The host.
 */
export function createHost(
  options: CoordinatorOptions,
  resolved: ResolvedCoordinatorOptions,
  callbacks: HostCallbacks,
): LaneHost {
  if (resolved.host === "inline") return new InlineHost(callbacks);
  const custom = options.workerSources;
  // New lanes run inline until their worker answers (workers/warm_start_host.ts).
  return new WarmStartHost(callbacks, {
    placement: resolved.host === "pool" ? new WorkerPool(resolved.poolSize) : new WorkerPerLane(),
    sources: custom === "module"
      ? moduleWorkerSources()
      : typeof custom === "object"
      ? custom
      : defaultWorkerSources(),
    factory: options.workerFactory,
    transport: resolved.transport,
    batchSize: resolved.batchSize,
    flushesPerBatch: resolved.flushesPerBatch,
  });
}

function checkMethods(name: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  const object = value as Record<string, unknown>;
  if (
    typeof value !== "object" || value === null ||
    methods.some((m) => typeof object[m] !== "function")
  ) {
    throw new TypeError(
      `Cannot create coordinator as '${name}' must have the methods ${methods.join(", ")}`,
    );
  }
}
