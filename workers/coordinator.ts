/**
 * The coordinator: receives packets on the receiving thread, admits them to lanes, ships each lane's
 * records in batches to a host (inline, a worker per stream, or a pool), and replays the verdicts
 * that come back through the core's estimators in arrival order. It also ends streams that stay
 * silent, runs the REMB throttler and emits estimates and REMB bytes.
 *
 * Every packet is first written to an ordered log of records on the coordinator's thread. A lane's
 * batch is a copy of its records; what comes back is only the verdicts (and the pipeline's figures).
 * The log is therefore the truth: replay follows it, and a lane whose worker dies is finished from it
 * by an inline pipeline that takes over the detector state.
 *
 * For the same packets and the same flush points, every host yields the same sequence of estimates
 * and REMB packets, and the same values as the core's {@linkcode BandwidthEstimator}, later by at
 * most one flush interval plus the time a worker needs to answer.
 *
 * @module
 */

import { callSafely, report } from "../core/_callbacks.ts";
import { msToUs, usToMs } from "../core/_math.ts";
import { absSendTimeToTicks } from "../core/abs_send_time.ts";
import { AbsSendTimeEstimator } from "../core/abs_send_time_estimator.ts";
import type { AimdRateControl } from "../core/aimd_rate_control.ts";
import { EstimatorSelector } from "../core/estimator_selector.ts";
import {
  checkChoice,
  checkFunctions,
  checkRange,
  type EstimatorSettings,
  newRateControl,
  type ResolvedSettings,
  resolveSettings,
} from "../core/estimator_settings.ts";
import { type EstimatorKind, LaneTable } from "../core/lane_table.ts";
import { FLAG_RESET_FILTER, PacketBatch } from "../core/packet_batch.ts";
import { checkPacket } from "../core/packet_info.ts";
import { encodeRemb } from "../core/remb.ts";
import { RembThrottler } from "../core/remb_throttler.ts";
import { SingleStreamEstimator } from "../core/single_stream_estimator.ts";
import type { BandwidthUsage, PacketInfo, RateControlState } from "../core/types.ts";
import {
  type HostCallbacks,
  type HostKind,
  InlineHost,
  type LaneHost,
  PoolHost,
  type Transport,
  type WorkerFactory,
  type WorkerHostOptions,
  WorkerPerStreamHost,
  type WorkerSources,
} from "./hosts.ts";
import type { LaneConfig } from "./protocol.ts";
import { defaultWorkerSources, moduleWorkerSources } from "./sources.ts";
import { Fifo } from "./_fifo.ts";
import { ClosedError } from "./closed_error.ts";
import type { ReceiveCoordinator } from "./receive_coordinator.ts";

/** A clock in milliseconds; the default is `performance.now()`. */
export interface Clock {
  /** The current time in milliseconds. */
  nowMs(): number;
}

/** Repeating timers; the default uses `setInterval` and unrefs it so an idle process can exit. */
export interface Timers {
  /** Calls `callback` every `ms` milliseconds; returns a handle. */
  setInterval(callback: () => void, ms: number): unknown;
  /** Stops a timer. */
  clearInterval(handle: unknown): void;
}

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
export interface CoordinatorOptions extends EstimatorSettings {
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
   * Longest time a record waits before its batch is sent, ms.
   *
   * @default {10}
   */
  flushIntervalMs?: number;
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
  /**
   * SSRC the REMB packets are sent from.
   *
   * @default {1}
   */
  senderSsrc?: number;
  /**
   * Longest time between two REMB packets while an estimate exists, ms.
   *
   * @default {1000}
   */
  rembIntervalMs?: number;
  /** Called with each estimate, exactly where the core estimator would call it. */
  onEstimate?: (bitrateBps: number, ssrcs: number[]) => void;
  /**
   * Called with each REMB packet to send, and its SSRCs: all active ones, or the first 255 in
   * ascending order when there are more (the packet's count is 8 bits).
   */
  onRemb?: (packet: Uint8Array, bitrateBps: number, ssrcs: readonly number[]) => void;
  /** Called on refused streams, failed workers and estimator switches. */
  onEvent?: (event: CoordinatorEvent) => void;
  /**
   * Receives what a callback threw; the coordinator carries on.
   *
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
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

/** Per-stream figures in {@linkcode CoordinatorStats}. */
export interface CoordinatorStreamStats {
  /** The SSRC. */
  ssrc: number;
  /** Verdict of its lane at its last replayed packet. */
  usage: BandwidthUsage;
  /** Its lane's delay offset after the last returned batch, ms. */
  delayOffsetMs: number;
  /** Its lane's modified offset, ms. */
  modifiedOffsetMs: number;
  /** Its lane's threshold, ms. */
  thresholdMs: number;
  /** Packets replayed. */
  packets: number;
}

/** A snapshot of the coordinator. */
export interface CoordinatorStats {
  /** Active estimator. */
  mode: EstimatorKind | undefined;
  /** Estimate in bps (0 without one). */
  estimateBps: number;
  /** Fused detector state. */
  usage: BandwidthUsage;
  /** AIMD state. */
  rateControlState: RateControlState;
  /** Incoming rate over the last second at the last replayed packet, bps; 0 while unavailable. */
  incomingRateBps: number;
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
  /** REMB packets emitted. */
  rembsSent: number;
  /** Active streams. */
  streams: CoordinatorStreamStats[];
}

/**
 * Validates coordinator options without creating anything (no worker, no timer).
 *
 * @param options The options.
 * @returns The estimator settings with defaults applied.
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} An option is out of range.
 * @example
 * ```ts
 * import { checkCoordinatorOptions } from "./coordinator.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkCoordinatorOptions({ batchSize: 0 }), RangeError);
 * assert.equal(checkCoordinatorOptions({}).grouping, "per-stream");
 * ```
 */
export function checkCoordinatorOptions(options: CoordinatorOptions): ResolvedSettings {
  const settings = resolveSettings("coordinator", options);
  const subject = "coordinator";
  checkChoice(subject, "host", options.host, ["worker-per-stream", "inline", "pool"]);
  checkChoice(subject, "transport", options.transport, ["shared-memory", "transfer"]);
  checkRange(subject, "poolSize", options.poolSize, { min: 1, max: 64, integer: true });
  checkRange(subject, "flushIntervalMs", options.flushIntervalMs, {
    min: 1,
    max: 1000,
    integer: false,
  });
  checkRange(subject, "batchSize", options.batchSize, { min: 1, max: 65_536, integer: true });
  checkRange(subject, "maxStreams", options.maxStreams, { min: 1, max: 1e6, integer: true });
  checkRange(subject, "senderSsrc", options.senderSsrc, {
    min: 0,
    max: 0xffffffff,
    integer: true,
  });
  checkRange(subject, "rembIntervalMs", options.rembIntervalMs, {
    min: 1,
    max: 60_000,
    integer: false,
  });
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
  checkFunctions(subject, options as Record<string, unknown>, [
    "onEstimate",
    "onRemb",
    "onEvent",
    "onError",
    "workerFactory",
  ]);
  return settings;
}

/** Thrown by calls made after a coordinator's `close()`: a {@linkcode ClosedError}. */
export class CoordinatorClosedError extends ClosedError {
  /**
   * Creates the error.
   *
   * @param action What was attempted.
   */
  constructor(action: string) {
    super(action, "the coordinator");
    this.name = "CoordinatorClosedError";
  }
}

const ENTRY_RECORD = 0;
const ENTRY_PROCESS = 1;
const ENTRY_REMOVE = 2;
const ENTRY_SWITCH_ABS = 3;
const ENTRY_SWITCH_RTP = 4;
const INITIAL_LOG_CAPACITY = 4096;
const FREE_BATCHES_PER_LANE = 4;

/** A lane as the coordinator tracks it, for the lane's whole life. */
interface Lane {
  readonly id: number;
  readonly ssrc: number;
  host: LaneHost;
  pending: PacketBatch;
  pendingLength: number;
  readonly free: PacketBatch[];
  readonly inFlight: Fifo<number>; // lengths of batches sent and not back
  waitingSinceMs: number; // when the oldest batch in flight was sent, or the last answer came
  answered: boolean; // whether its worker has answered once (starting one can take a second)
  readonly returned: Fifo<PacketBatch>; // back, with their record counts in `length`
  cursor: number;
  readonly figures: Float64Array;
  retired: boolean; // no streams; the host may release it once idle
  released: boolean; // the host was told to retire it
  dropped: boolean;
  failed: boolean;
}

/**
 * Runs the receive-side estimator with its delay pipelines on a host of choice.
 *
 * @example
 * ```ts
 * import { Coordinator } from "./coordinator.ts";
 * import assert from "node:assert/strict";
 * let now = 0;
 * const coordinator = new Coordinator({
 *   host: "inline",
 *   clock: { nowMs: () => now },
 *   timers: { setInterval: () => 0, clearInterval() {} },
 * });
 * for (let i = 0; i < 10; i++) {
 *   now = 1000 + i * 5;
 *   coordinator.onPacket({
 *     ssrc: 7, arrivalTimeMs: now, payloadSize: 1000, rtpTimestamp: i * 450,
 *     absSendTime: Math.round((i * 5 * 2 ** 18) / 1000),
 *   });
 * }
 * await coordinator.flush();
 * assert.ok(coordinator.getEstimate() > 1_500_000); // a probe cluster at 1.6 Mbit/s
 * await coordinator.close();
 * ```
 */
export class Coordinator implements ReceiveCoordinator {
  readonly #hostKind: HostKind;
  readonly #settings: ResolvedSettings;
  readonly #batchSize: number;
  readonly #maxStreams: number;
  readonly #senderSsrc: number;
  readonly #workerTimeoutMs: number;
  readonly #maxPendingRecords: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #timer: unknown;
  readonly #onEstimate: CoordinatorOptions["onEstimate"];
  readonly #onRemb: CoordinatorOptions["onRemb"];
  readonly #onEvent: CoordinatorOptions["onEvent"];
  readonly #onError: (error: unknown) => void;
  readonly #callbacks: HostCallbacks;
  readonly #fallbackCallbacks: HostCallbacks;
  readonly #host: LaneHost;
  #fallback: InlineHost | undefined;
  readonly #throttler: RembThrottler;

  // Receiving side.
  readonly #selector = new EstimatorSelector();
  #lanes: LaneTable | undefined;
  #laneConfig: LaneConfig | undefined;
  readonly #laneOf: (Lane | undefined)[] = []; // by lane-table id
  readonly #byId = new Map<number, Lane>();
  readonly #dirty = new Set<Lane>();
  #nextLaneId = 0;
  readonly #refused = new Set<number>();

  // The ordered log of records and events, a ring.
  #log: PacketBatch;
  #logKinds: Uint8Array;
  #logLanes: (Lane | undefined)[];
  #logValues: Float64Array;
  #logHead = 0;
  #logLength = 0;

  // Replay side.
  #aimd: AimdRateControl;
  #abs: AbsSendTimeEstimator | undefined;
  #rtp: SingleStreamEstimator | undefined;
  // Replay position, in µs: converting per packet would cost a heap number each time.
  #replayNowUs = 0;
  #replayArrivalUs = 0;
  // Real time at the last tick: worker liveness needs no finer clock, and reading it costs ~1 µs.
  #realNowMs = performance.now();
  #rttMs: number | undefined;

  #packets = 0;
  #refusedPackets = 0;
  #packetsWithoutAbsSendTime = 0;
  #failedLanes = 0;
  #rembsSent = 0;
  #closed = false;
  #shedThisTick = false;
  #waiters: (() => void)[] = [];

  /**
   * Creates a coordinator; worker hosts start their spawner (and a pool its workers) here.
   *
   * @param options Host, estimator settings, batching, limits and callbacks.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: CoordinatorOptions = {}) {
    this.#settings = checkCoordinatorOptions(options);
    this.#hostKind = options.host ?? "worker-per-stream";
    this.#batchSize = options.batchSize ?? 64;
    this.#maxStreams = options.maxStreams ?? 64;
    this.#senderSsrc = options.senderSsrc ?? 1;
    this.#workerTimeoutMs = options.workerTimeoutMs ?? 2000;
    this.#maxPendingRecords = options.maxPendingRecords ?? 262_144;
    this.#clock = options.clock ?? { nowMs: () => performance.now() };
    this.#timers = options.timers ?? unrefTimers;
    this.#onEstimate = options.onEstimate;
    this.#onRemb = options.onRemb;
    this.#onEvent = options.onEvent;
    this.#onError = options.onError ??
      ((error) => console.error("Coordinator callback threw:", error));

    this.#log = new PacketBatch(INITIAL_LOG_CAPACITY);
    this.#logKinds = new Uint8Array(INITIAL_LOG_CAPACITY);
    this.#logLanes = new Array(INITIAL_LOG_CAPACITY).fill(undefined);
    this.#logValues = new Float64Array(INITIAL_LOG_CAPACITY);
    this.#aimd = newRateControl(this.#settings, undefined);

    this.#throttler = new RembThrottler({
      resendIntervalMs: options.rembIntervalMs ?? 1000,
      onSend: (bitrateBps, ssrcs) => this.#sendRemb(bitrateBps, ssrcs),
      onError: (error) => this.#report(error),
    });
    this.#callbacks = {
      onResults: (lane, batch, length) => {
        // Results of a worker that was declared failed are stale: the log has moved on.
        if (!this.#byId.get(lane)?.failed) this.#onResults(lane, batch, length);
      },
      onLaneFailed: (lane, error) => this.#onLaneFailed(lane, error),
    };
    this.#fallbackCallbacks = {
      onResults: (lane, batch, length) => this.#onResults(lane, batch, length),
      onLaneFailed: (_lane, error) => this.#report(new Error(`Inline lane failed: ${error}`)),
    };
    const sources = options.workerSources === "module"
      ? moduleWorkerSources()
      : typeof options.workerSources === "object"
      ? options.workerSources
      : undefined;
    const factory: WorkerFactory = options.workerFactory ??
      ((url, name) => new Worker(url, { type: "module", name }));
    const hostOptions = (): WorkerHostOptions => ({
      sources: sources ?? defaultWorkerSources(),
      factory,
      transport: options.transport ?? "shared-memory",
      batchSize: this.#batchSize,
    });
    switch (this.#hostKind) {
      case "inline":
        this.#host = new InlineHost(this.#callbacks);
        break;
      case "pool":
        this.#host = new PoolHost(this.#callbacks, hostOptions(), options.poolSize ?? 1);
        break;
      default:
        this.#host = new WorkerPerStreamHost(this.#callbacks, hostOptions());
    }
    this.#timer = this.#timers.setInterval(() => this.#tick(), options.flushIntervalMs ?? 10);
  }

  /** Whether {@linkcode Coordinator.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Workers alive (the spawner included); 0 for the inline host and after close. */
  get liveWorkers(): number {
    return this.#host.liveWorkers;
  }

  /**
   * Takes one received packet on the receiving thread.
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
    const { ssrc, arrivalTimeMs, payloadSize, rtpTimestamp, absSendTime } = packet;
    const hasAbsSendTime = absSendTime !== undefined;
    if (this.#selector.onPacket(hasAbsSendTime)) this.#switchTo(this.#selector.kind!);
    if (this.#selector.kind === "abs-send-time" && !hasAbsSendTime) {
      this.#packetsWithoutAbsSendTime++; // libwebrtc drops these with a warning.
      return;
    }
    const lanes = this.#lanes!;
    if (lanes.size >= this.#maxStreams && !lanes.has(ssrc)) {
      this.#refusePacket(ssrc, lanes.size);
      return;
    }
    this.#packets++;
    if (this.#logLength >= this.#maxPendingRecords && !this.#shedThisTick) this.#shedBacklog();

    const index = this.#push(ENTRY_RECORD, 0);
    const log = this.#log;
    log.ssrc[index] = ssrc;
    // Two stores rather than a conditional expression, which would box the tick count.
    if (hasAbsSendTime) log.timestamp[index] = absSendTimeToTicks(absSendTime);
    else log.timestamp[index] = rtpTimestamp;
    log.arrivalUs[index] = Math.round(arrivalTimeMs * 1000);
    log.nowUs[index] = nowMs === undefined ? log.arrivalUs[index] : Math.round(nowMs * 1000);
    log.size[index] = payloadSize;
    log.usage[index] = 0;
    lanes.admitAt(log.ssrc, log.nowUs, index);
    log.flags[index] = lanes.reset ? FLAG_RESET_FILTER : 0;
    const lane = this.#laneOf[lanes.lane]!;
    this.#logLanes[index] = lane;

    lane.pending.copyRecord(log, index, lane.pendingLength);
    if (lane.pendingLength++ === 0) this.#dirty.add(lane);
    if (lane.pendingLength === this.#batchSize) {
      this.#dirty.delete(lane);
      this.#submit(lane);
      lane.host.flush();
    }
  }

  /**
   * Sends every pending batch, runs the periodic work (RTP-timestamp updates, stream timeouts,
   * REMB resend), and resolves once everything sent so far has come back and been replayed. The
   * flush timer runs the same step.
   *
   * @returns A promise that resolves when the log is replayed up to here.
   * @throws {CoordinatorClosedError} After close.
   */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new CoordinatorClosedError("flush"));
    // Asked before anything is sent, so a worker that finishes at once still says so.
    this.#host.setPrompt(true);
    this.#tick();
    if (this.#logLength === 0) {
      if (this.#waiters.length === 0) this.#host.setPrompt(false);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Stops counting an SSRC, as a timeout would.
   *
   * @param ssrc The SSRC.
   * @throws {CoordinatorClosedError} After close.
   */
  removeStream(ssrc: number): void {
    if (this.#closed) throw new CoordinatorClosedError("remove stream");
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) {
      throw new RangeError(
        `Cannot remove stream as 'ssrc' must be a 32-bit unsigned integer: current value is ${ssrc}`,
      );
    }
    this.#lanes?.remove(ssrc);
    this.#push(ENTRY_REMOVE, ssrc);
    this.#drain();
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
    this.#rttMs = rttMs;
    this.#aimd.setRtt(rttMs);
  }

  /**
   * Caps what REMB will ever announce, and announces the cap at once.
   *
   * @param bitrateBps The cap, bps.
   * @throws {CoordinatorClosedError} After close.
   * @throws {RangeError} Not a non-negative integer.
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    if (this.#closed) throw new CoordinatorClosedError("set the maximum bitrate");
    this.#throttler.setMaxDesiredBitrate(bitrateBps, this.#clock.nowMs());
  }

  /**
   * The latest replayed estimate.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    return (this.#abs ?? this.#rtp)?.latestEstimate() ?? 0;
  }

  /**
   * The active SSRCs as of the last replayed packet.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[] {
    return [...((this.#abs ?? this.#rtp)?.ssrcs() ?? [])];
  }

  /**
   * A snapshot of the coordinator.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats {
    const source = this.#abs ?? this.#rtp;
    const streams: CoordinatorStreamStats[] = [];
    for (const ssrc of source?.ssrcs() ?? []) {
      const stream = source!.stream(ssrc)!;
      const laneId = this.#lanes?.laneOf(ssrc) ?? -1;
      const figures = laneId >= 0 ? this.#laneOf[laneId]?.figures : undefined;
      streams.push({
        ssrc,
        usage: stream.usage,
        delayOffsetMs: figures?.[0] ?? 0,
        modifiedOffsetMs: figures?.[1] ?? 0,
        thresholdMs: figures?.[2] ?? 12.5,
        packets: stream.packets,
      });
    }
    return {
      mode: this.#selector.kind,
      estimateBps: this.getEstimate(),
      usage: source?.usage ?? "normal",
      rateControlState: this.#aimd.state,
      // Keyed on arrival time with abs-send-time, on the receiver clock with RTP timestamps.
      incomingRateBps: source?.incomingRateBps(
        usToMs(this.#abs ? this.#replayArrivalUs : this.#replayNowUs),
      ) ?? 0,
      host: this.#hostKind,
      liveWorkers: this.liveWorkers,
      pendingRecords: this.#logLength,
      packets: this.#packets,
      refusedStreams: this.#refused.size,
      refusedPackets: this.#refusedPackets,
      packetsWithoutAbsSendTime: this.#packetsWithoutAbsSendTime,
      failedLanes: this.#failedLanes,
      rembsSent: this.#rembsSent,
      streams,
    };
  }

  /**
   * Stops the timer, ends every worker and rejects later calls. Idempotent.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#timers.clearInterval(this.#timer);
    this.#host.close();
    this.#fallback?.close();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
    return Promise.resolve();
  }

  // --- receiving side ---------------------------------------------------------------------------

  #switchTo(kind: EstimatorKind): void {
    if (this.#lanes) {
      this.#lanes.clear();
      this.#safe(() => this.#onEvent?.({ type: "estimator-switched", kind }));
    }
    this.#push(kind === "abs-send-time" ? ENTRY_SWITCH_ABS : ENTRY_SWITCH_RTP, 0);
    const config: LaneConfig = {
      kind,
      filter: this.#settings.filter,
      trendlineWindowSize: this.#settings.trendlineWindowSize,
    };
    this.#laneConfig = config;
    this.#lanes = new LaneTable({
      kind,
      grouping: this.#settings.grouping,
      streamTimeoutUs: this.#settings.streamTimeoutUs,
      hooks: {
        onLaneCreated: (tableLane, ssrc) => this.#openLane(tableLane, ssrc, config),
        onLaneRetired: (tableLane) => this.#retireLane(this.#laneOf[tableLane]!),
        onLaneRevived: (tableLane) => this.#reviveLane(this.#laneOf[tableLane]!, config),
        onLaneDropped: (tableLane) => {
          const lane = this.#laneOf[tableLane]!;
          this.#laneOf[tableLane] = undefined;
          lane.dropped = true;
          this.#releaseIfIdle(lane);
        },
      },
    });
  }

  #openLane(tableLane: number, ssrc: number, config: LaneConfig): void {
    const lane: Lane = {
      id: this.#nextLaneId++,
      ssrc,
      host: this.#host,
      pending: new PacketBatch(this.#batchSize),
      pendingLength: 0,
      free: [],
      inFlight: new Fifo(),
      waitingSinceMs: 0,
      answered: false,
      returned: new Fifo(),
      cursor: 0,
      figures: new Float64Array(16),
      retired: false,
      released: false,
      dropped: false,
      failed: false,
    };
    this.#laneOf[tableLane] = lane;
    this.#byId.set(lane.id, lane);
    lane.host.open(lane.id, ssrc, config, undefined);
  }

  #retireLane(lane: Lane): void {
    lane.retired = true;
    this.#releaseIfIdle(lane);
  }

  #reviveLane(lane: Lane, config: LaneConfig): void {
    lane.retired = false;
    if (lane.released) {
      // Its worker was ended: a new pipeline takes over the detector (the filter restarts anyway).
      lane.released = false;
      lane.host.open(lane.id, lane.ssrc, config, lane.figures);
    }
  }

  // Lets the host free a lane once nothing of it is pending or in flight.
  #releaseIfIdle(lane: Lane): void {
    if (lane.pendingLength > 0 || lane.inFlight.length > 0) return;
    if (lane.dropped) {
      lane.host.drop(lane.id);
      this.#byId.delete(lane.id);
    } else if (lane.retired && !lane.released) {
      lane.released = true;
      lane.host.retire(lane.id);
    }
  }

  #refusePacket(ssrc: number, active: number): void {
    this.#refusedPackets++;
    if (this.#refused.has(ssrc) || this.#refused.size >= 65_536) return;
    this.#refused.add(ssrc);
    this.#safe(() => this.#onEvent?.({ type: "stream-refused", ssrc, activeStreams: active }));
  }

  // Workers fell too far behind: every lane still waiting on one moves inline and catches up. Once
  // per tick at most: the backlog only shrinks when the next flush sends the pending batches.
  #shedBacklog(): void {
    this.#shedThisTick = true;
    for (const lane of [...this.#byId.values()]) {
      if (lane.failed || lane.host !== this.#host || this.#hostKind === "inline") continue;
      this.#host.drop(lane.id);
      this.#onLaneFailed(lane.id, `backlog of ${this.#logLength} records`);
    }
    // Catch up now: what waits in the batches runs inline at once.
    for (const lane of this.#dirty) this.#submit(lane);
    this.#dirty.clear();
    this.#fallback?.flush();
    this.#drain();
  }

  #submit(lane: Lane): void {
    const length = lane.pendingLength;
    if (lane.inFlight.length === 0) lane.waitingSinceMs = this.#realNowMs;
    lane.host.submit(lane.id, lane.pending, length);
    lane.inFlight.push(length);
    lane.pending = lane.free.pop() ?? new PacketBatch(this.#batchSize);
    lane.pendingLength = 0;
  }

  #tick(): void {
    if (this.#closed) return;
    const nowMs = this.#clock.nowMs();
    const nowUs = msToUs(nowMs);
    this.#realNowMs = performance.now();
    if (this.#selector.kind === "rtp-timestamp") {
      this.#push(ENTRY_PROCESS, nowUs);
    } else if (this.#lanes) {
      this.#lanes.expire(nowUs); // End silent streams even when no packet comes to notice.
    }
    this.#shedThisTick = false;
    for (const lane of this.#dirty) this.#submit(lane);
    this.#dirty.clear();
    // A worker that died without a word (terminated from outside) or hangs is given up on. Real
    // time, whatever the injected clock says: it is the worker's liveness that is measured.
    const realNowMs = this.#realNowMs;
    for (const lane of this.#hostKind === "inline" ? noLanes : this.#byId.values()) {
      // A worker that never answered gets five times as long: starting one can take a second.
      const limitMs = lane.answered ? this.#workerTimeoutMs : 5 * this.#workerTimeoutMs;
      if (!lane.failed && lane.inFlight.length > 0 && realNowMs - lane.waitingSinceMs > limitMs) {
        this.#host.drop(lane.id);
        this.#onLaneFailed(lane.id, `no answer for ${this.#workerTimeoutMs} ms`);
      }
    }
    this.#host.flush();
    this.#fallback?.flush();
    this.#drain();
    this.#throttler.process(nowMs);
  }

  // --- the log ------------------------------------------------------------------------------------

  #push(kind: number, value: number): number {
    if (this.#logLength === this.#log.capacity) this.#grow();
    const index = (this.#logHead + this.#logLength) & (this.#log.capacity - 1);
    this.#logKinds[index] = kind;
    this.#logValues[index] = value;
    this.#logLanes[index] = undefined;
    this.#logLength++;
    return index;
  }

  #grow(): void {
    const old = this.#log;
    const capacity = old.capacity * 2;
    const log = new PacketBatch(capacity);
    const kinds = new Uint8Array(capacity);
    const lanes: (Lane | undefined)[] = new Array(capacity).fill(undefined);
    const values = new Float64Array(capacity);
    for (let i = 0; i < this.#logLength; i++) {
      const from = (this.#logHead + i) & (old.capacity - 1);
      log.copyRecord(old, from, i);
      kinds[i] = this.#logKinds[from];
      lanes[i] = this.#logLanes[from];
      values[i] = this.#logValues[from];
    }
    this.#log = log;
    this.#logKinds = kinds;
    this.#logLanes = lanes;
    this.#logValues = values;
    this.#logHead = 0;
  }

  // --- replay side --------------------------------------------------------------------------------

  #onResults(laneId: number, batch: PacketBatch, length: number): void {
    const lane = this.#byId.get(laneId);
    if (!lane) return;
    lane.inFlight.shift();
    lane.answered = true;
    lane.waitingSinceMs = this.#realNowMs;
    batch.length = length;
    lane.returned.push(batch);
    lane.figures.set(batch.figures);
    this.#drain();
    this.#releaseIfIdle(lane);
  }

  #onLaneFailed(laneId: number, error: string): void {
    const lane = this.#byId.get(laneId);
    if (!lane || lane.failed) return;
    lane.failed = true;
    this.#failedLanes++;
    this.#fallback ??= new InlineHost(this.#fallbackCallbacks);
    lane.host = this.#fallback;
    // What was in flight is lost: its records keep the lane's last verdict; the rest runs inline.
    const verdict = lane.figures[10];
    for (let length = lane.inFlight.shift(); length !== undefined; length = lane.inFlight.shift()) {
      const batch = new PacketBatch(length);
      batch.usage.fill(verdict);
      batch.length = length;
      lane.returned.push(batch);
    }
    if (!lane.dropped) lane.host.open(lane.id, lane.ssrc, this.#laneConfig!, lane.figures);
    this.#safe(() => this.#onEvent?.({ type: "lane-failed", ssrc: lane.ssrc, error }));
    this.#drain();
    this.#releaseIfIdle(lane);
  }

  #drain(): void {
    const log = this.#log;
    const mask = log.capacity - 1;
    while (this.#logLength > 0) {
      const index = this.#logHead;
      const kind = this.#logKinds[index];
      if (kind === ENTRY_RECORD) {
        const lane = this.#logLanes[index]!;
        const batch = lane.returned.peek();
        if (batch === undefined) break; // Waiting for this lane's results.
        log.usage[index] = batch.usage[lane.cursor];
        if (++lane.cursor === batch.length) {
          lane.returned.shift();
          lane.cursor = 0;
          if (batch.capacity === this.#batchSize && lane.free.length < FREE_BATCHES_PER_LANE) {
            lane.free.push(batch);
          }
        }
        this.#replayNowUs = log.nowUs[index];
        this.#replayArrivalUs = log.arrivalUs[index];
        if (this.#abs) this.#abs.onRecord(log, index);
        else this.#rtp!.onRecord(log, index);
      } else if (kind === ENTRY_PROCESS) {
        this.#replayNowUs = this.#logValues[index];
        this.#rtp?.process(this.#logValues[index]);
      } else if (kind === ENTRY_REMOVE) {
        (this.#abs ?? this.#rtp)?.removeStream(this.#logValues[index]);
      } else {
        this.#startEstimator(kind === ENTRY_SWITCH_ABS ? "abs-send-time" : "rtp-timestamp");
      }
      this.#logLanes[index] = undefined;
      this.#logHead = (index + 1) & mask;
      this.#logLength--;
    }
    if (this.#logLength === 0 && this.#waiters.length > 0) {
      this.#host.setPrompt(false);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #startEstimator(kind: EstimatorKind): void {
    this.#aimd = newRateControl(this.#settings, this.#rttMs);
    const onEstimate = (bitrateBps: number, ssrcs: number[]) => this.#estimate(bitrateBps, ssrcs);
    if (kind === "abs-send-time") {
      this.#rtp = undefined;
      this.#abs = new AbsSendTimeEstimator({
        grouping: this.#settings.grouping,
        streamTimeoutUs: this.#settings.streamTimeoutUs,
        aimd: this.#aimd,
        onEstimate,
      });
    } else {
      this.#abs = undefined;
      this.#rtp = new SingleStreamEstimator({
        streamTimeoutUs: this.#settings.streamTimeoutUs,
        aimd: this.#aimd,
        onEstimate,
        // The receiving side drops its lanes when the replayed process step times streams out.
        onExpire: (nowUs) => {
          if (this.#selector.kind === "rtp-timestamp") this.#lanes?.expire(nowUs);
        },
      });
    }
  }

  #estimate(bitrateBps: number, ssrcs: number[]): void {
    const onEstimate = this.#onEstimate;
    if (onEstimate) this.#safe(() => onEstimate(bitrateBps, ssrcs));
    this.#throttler.onReceiveBitrateChanged(ssrcs, bitrateBps, usToMs(this.#replayNowUs));
  }

  #sendRemb(bitrateBps: number, ssrcs: readonly number[]): void {
    this.#rembsSent++;
    const onRemb = this.#onRemb;
    if (!onRemb) return;
    const packet = encodeRemb({ senderSsrc: this.#senderSsrc, bitrateBps, ssrcs });
    this.#safe(() => onRemb(packet, bitrateBps, ssrcs));
  }

  #safe(callback: () => void): void {
    callSafely(callback, this.#onError);
  }

  #report(error: unknown): void {
    report(this.#onError, error);
  }
}

const noLanes: readonly Lane[] = [];

/**
 * The default {@linkcode Timers}: `setInterval`, unreffed so an idle estimator lets the process exit.
 *
 * @example
 * ```ts
 * import { unrefTimers } from "./coordinator.ts";
 * const handle = unrefTimers.setInterval(() => {}, 1000);
 * unrefTimers.clearInterval(handle);
 * ```
 */
export const unrefTimers: Timers = {
  setInterval(callback, ms) {
    const id = setInterval(callback, ms);
    // Deno's timer ids are numbers; Node's and Bun's timers are objects with their own unref().
    if (typeof Deno !== "undefined") Deno.unrefTimer(id);
    else (id as unknown as { unref?: () => void }).unref?.();
    return id;
  },
  clearInterval(handle) {
    clearInterval(handle as number);
  },
};
