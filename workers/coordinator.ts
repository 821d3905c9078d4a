/**
 * The coordinator: admits each packet to a lane on the receiving thread, writes it to the ordered
 * log and to its lane's batch, ships batches to a host (inline, a worker per stream, or a pool), and
 * drains the verdicts that come back into the receive-side controller in log order.
 *
 * ```
 * onPacket ─► admit (controller picks the estimator, lane table picks the lane)
 *          ─► log (ordered records and steps) ─► lane batch ─► host ─► verdicts
 * tick ─────► batches out, watchdog, drain: log + verdicts ─► ReceiveSideController ─► estimate, REMB
 * ```
 *
 * The log is the truth: replay follows it, and a lane whose worker dies is finished from it by an
 * inline pipeline that takes over the detector state. For the same packets and the same flush
 * points, every host yields the same sequence of estimates and REMB packets, and the same values as
 * the core's {@linkcode BandwidthEstimator}, later by at most one flush interval plus the time a
 * worker needs to answer.
 *
 * @module
 */

import { checkRtt, checkSsrc } from "../core/receive_side_options.ts";
import { callSafely, report } from "../core/_callbacks.ts";
import { msToUs, usToMs } from "../core/_math.ts";
import { absSendTimeToTicks } from "../core/abs_send_time.ts";
import type { LaneConfig } from "../core/delay_pipeline.ts";
import { type EstimatorKind, LaneTable } from "../core/lane_table.ts";
import { FLAG_RESET_FILTER, type PacketBatch } from "../core/packet_batch.ts";
import { checkPacket } from "../core/packet_info.ts";
import { ReceiveSideController } from "../core/receive_side_controller.ts";
import type { PacketInfo } from "../core/types.ts";
import { type Clock, type Timers, unrefTimers } from "./clock.ts";
import { ClosedError } from "./closed_error.ts";
import {
  checkCoordinatorOptions,
  COORDINATOR_DEFAULTS,
  type CoordinatorOptions,
  type CoordinatorStats,
  type CoordinatorStreamStats,
  createHost,
  type ResolvedCoordinatorOptions,
} from "./coordinator_options.ts";
import { InlineHost } from "./inline_host.ts";
import type { HostCallbacks, LaneHost } from "./lane_host.ts";
import { Lane } from "./lane.ts";
import { Liveness } from "./liveness.ts";
import type { ReceiveCoordinator } from "./receive_coordinator.ts";
import {
  ENTRY_PROCESS,
  ENTRY_RECORD,
  ENTRY_REMOVE,
  ENTRY_SWITCH_ABS,
  ENTRY_SWITCH_RTP,
  RecordLog,
} from "./record_log.ts";

export type { Clock, Timers } from "./clock.ts";
export { unrefTimers } from "./clock.ts";
export {
  checkCoordinatorOptions,
  COORDINATOR_DEFAULTS,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorStats,
  type CoordinatorStreamStats,
} from "./coordinator_options.ts";

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

/**
 * Runs the receive-side estimator with its delay pipelines on a host of choice.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@rbe/receiver-gcc";
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
  readonly #options: ResolvedCoordinatorOptions;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #timer: unknown;
  readonly #onEvent: CoordinatorOptions["onEvent"];
  readonly #onError: (error: unknown) => void;
  readonly #controller: ReceiveSideController;
  readonly #liveness: Liveness;
  readonly #host: LaneHost;
  readonly #fallbackCallbacks: HostCallbacks;
  #fallback: InlineHost | undefined;

  // Receiving side.
  readonly #lanes: LaneTable<Lane>;
  readonly #byId = new Map<number, Lane>(); // every lane not yet forgotten, for results
  readonly #dirty = new Set<Lane>(); // lanes with pending records
  readonly #refused = new Set<number>();
  readonly #log = new RecordLog<Lane>();
  #laneConfig: LaneConfig;
  // Real time at the last tick: worker liveness needs no finer clock, and reading it costs ~1 µs.
  #realNowMs = performance.now();

  #packets = 0;
  #refusedPackets = 0;
  #packetsWithoutAbsSendTime = 0;
  #failedLanes = 0;
  #closed = false;
  #waiters: (() => void)[] = [];

  /**
   * Creates a coordinator; worker hosts start their spawner (and a pool its workers) here.
   *
   * @param options Host, estimator settings, batching, limits and callbacks.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: CoordinatorOptions = {}) {
    const resolved = checkCoordinatorOptions(options);
    this.#options = resolved;
    this.#clock = options.clock ?? COORDINATOR_DEFAULTS.clock;
    this.#timers = options.timers ?? unrefTimers;
    this.#onEvent = options.onEvent;
    this.#onError = options.onError ?? COORDINATOR_DEFAULTS.onError;
    const { settings } = resolved;
    this.#laneConfig = {
      kind: "abs-send-time",
      filter: settings.filter,
      trendlineWindowSize: settings.trendlineWindowSize,
    };
    this.#liveness = new Liveness(resolved);
    this.#controller = new ReceiveSideController({
      settings,
      remb: resolved.remb,
      onEstimate: options.onEstimate,
      onRemb: options.onRemb,
      // The receiving side ends its lanes when the replayed process step times streams out.
      onStreamsExpired: (nowUs) => {
        if (this.#lanes.kind === "rtp-timestamp") this.#lanes.expire(nowUs);
      },
      onError: this.#onError,
    });
    this.#lanes = new LaneTable<Lane>({
      kind: "abs-send-time",
      grouping: settings.grouping,
      streamTimeoutUs: settings.streamTimeoutUs,
      hooks: {
        onLaneCreated: (id, ssrc) => this.#openLane(id, ssrc),
        onLaneRetired: (lane) => lane.retire(),
        onLaneRevived: (lane) => lane.revive(),
        onLaneDropped: (lane) => lane.drop(),
      },
    });
    this.#fallbackCallbacks = {
      onResults: (id, batch, length) => this.#onResults(id, batch, length),
      onLaneFailed: (_id, error) => this.#report(new Error(`Inline lane failed: ${error}`)),
    };
    this.#host = createHost(options, resolved, {
      // Results of a worker that was declared failed are stale: the log has moved on.
      onResults: (id, batch, length) => {
        const lane = this.#byId.get(id);
        if (lane && lane.host === this.#host) this.#onResults(id, batch, length);
      },
      onLaneFailed: (id, error) => this.#failOver(id, error),
    });
    this.#timer = this.#timers.setInterval(() => this.#tick(false), resolved.flushIntervalMs);
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
    this.#admit(packet, nowMs);
  }

  /**
   * Takes a packet its caller has already checked (with the same rules as
   * {@linkcode Coordinator.onPacket}): the off-thread coordinator checks each packet once, on the
   * receiving thread, and its worker admits it here. Unchecked input gives undefined estimates.
   *
   * @param packet The packet, valid; not kept.
   * @param nowMs Receiver clock when processed, ms.
   * @throws {CoordinatorClosedError} After close.
   */
  onCheckedPacket(packet: PacketInfo, nowMs: number | undefined): void {
    if (this.#closed) throw new CoordinatorClosedError("process packet");
    this.#admit(packet, nowMs);
  }

  #admit(packet: PacketInfo, nowMs: number | undefined): void {
    const { ssrc, arrivalTimeMs, payloadSize, rtpTimestamp, absSendTime } = packet;
    const hasAbsSendTime = absSendTime !== undefined;
    const controller = this.#controller;
    const lanes = this.#lanes;
    if (controller.selectEstimator(hasAbsSendTime)) this.#switchTo(controller.selectedKind!);
    if (lanes.kind === "abs-send-time" && !hasAbsSendTime) {
      this.#packetsWithoutAbsSendTime++; // libwebrtc drops these with a warning.
      return;
    }
    if (lanes.size >= this.#options.maxStreams && !lanes.has(ssrc)) {
      this.#refusePacket(ssrc, lanes.size);
      return;
    }
    this.#packets++;
    if (this.#liveness.shouldShed(this.#log.length)) this.#shedBacklog();

    const log = this.#log;
    const index = log.push(ENTRY_RECORD, 0, undefined);
    const records = log.records;
    records.ssrc[index] = ssrc;
    // Two stores rather than a conditional expression, which would box the tick count.
    if (hasAbsSendTime) records.timestamp[index] = absSendTimeToTicks(absSendTime);
    else records.timestamp[index] = rtpTimestamp;
    records.arrivalUs[index] = Math.round(arrivalTimeMs * 1000);
    records.nowUs[index] = nowMs === undefined
      ? records.arrivalUs[index]
      : Math.round(nowMs * 1000);
    records.size[index] = payloadSize;
    records.usage[index] = 0;
    lanes.admitAt(records.ssrc, records.nowUs, index);
    records.flags[index] = lanes.resetFilter ? FLAG_RESET_FILTER : 0;
    if (lanes.created) controller.onNewStream(ssrc, usToMs(records.nowUs[index]));
    const lane = lanes.current!;
    log.lanes[index] = lane;

    if (lane.direct) lane.run(records, index);
    else lane.pending.copyInput(records, index, lane.pendingLength);
    if (lane.pendingLength++ === 0) this.#dirty.add(lane);
    if (lane.pendingLength === this.#options.batchSize) {
      this.#dirty.delete(lane);
      lane.submit(this.#realNowMs);
      lane.host.flush();
      // A lane without batches released its records: replayed now, as a batch back would be.
      if (lane.direct) this.#drain();
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
    this.#tick(true);
    if (this.#log.length === 0) {
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
   * @throws {RangeError} Not a 32-bit unsigned integer.
   */
  removeStream(ssrc: number): void {
    if (this.#closed) throw new CoordinatorClosedError("remove stream");
    checkSsrc(ssrc, "remove stream");
    this.#lanes.remove(ssrc);
    this.#controller.onStreamRemoved(ssrc);
    this.#log.push(ENTRY_REMOVE, ssrc, undefined);
    this.#drain();
  }

  /**
   * Sets the round-trip time used by the rate controller.
   *
   * @param rttMs Positive, ms.
   * @throws {CoordinatorClosedError} After close.
   * @throws {RangeError} Not a positive finite number.
   */
  setRtt(rttMs: number): void {
    if (this.#closed) throw new CoordinatorClosedError("set RTT");
    checkRtt(rttMs);
    this.#controller.setRtt(rttMs);
  }

  /**
   * Caps what REMB will ever announce, and announces the cap at once.
   *
   * @param bitrateBps The cap, bps: a non-negative integer, or `Infinity` to lift it.
   * @throws {CoordinatorClosedError} After close.
   * @throws {TypeError} Not a number.
   * @throws {RangeError} Not a non-negative integer or `Infinity`.
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    if (this.#closed) throw new CoordinatorClosedError("set the maximum bitrate");
    this.#controller.setMaxDesiredBitrate(bitrateBps, this.#clock.nowMs());
  }

  /**
   * The latest replayed estimate.
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    return this.#controller.getEstimate();
  }

  /**
   * The active SSRCs as of the last replayed packet.
   *
   * @returns Ascending.
   */
  getSSRCs(): number[] {
    return [...this.#controller.ssrcs()];
  }

  /**
   * The active SSRCs as of the last replayed packet, without a copy: a frozen array that stays the
   * same object until a stream starts or ends, so that comparing it with the last one seen tells a
   * change at no cost.
   *
   * @returns Ascending, frozen.
   */
  activeSSRCs(): readonly number[] {
    return this.#controller.ssrcs();
  }

  /**
   * A snapshot of the coordinator.
   *
   * @returns Typed figures.
   */
  stats(): CoordinatorStats {
    const controller = this.#controller;
    const streams: CoordinatorStreamStats[] = [];
    for (const ssrc of controller.ssrcs()) {
      const stream = controller.stream(ssrc)!;
      const figures = this.#lanes.laneOf(ssrc)?.reportedFigures;
      streams.push({
        ssrc,
        usage: stream.usage,
        delayOffsetMs: figures?.offsetMs,
        modifiedOffsetMs: figures?.modifiedOffsetMs,
        thresholdMs: figures?.thresholdMs,
        packets: stream.packets,
      });
    }
    return {
      ...controller.state(),
      host: this.#options.host,
      liveWorkers: this.liveWorkers,
      pendingRecords: this.#log.length,
      packets: this.#packets,
      refusedStreams: this.#refused.size,
      refusedPackets: this.#refusedPackets,
      packetsWithoutAbsSendTime: this.#packetsWithoutAbsSendTime,
      failedLanes: this.#failedLanes,
      startingLanes: this.#host.startingLanes,
      rembsSent: controller.rembsSent,
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
    this.#laneConfig = { ...this.#laneConfig, kind };
    this.#lanes.reset(kind);
    if (this.#controller.modeSwitches > 0) {
      this.#safe(() => this.#onEvent?.({ type: "estimator-switched", kind }));
    }
    this.#log.push(kind === "abs-send-time" ? ENTRY_SWITCH_ABS : ENTRY_SWITCH_RTP, 0, undefined);
  }

  #openLane(id: number, ssrc: number): Lane {
    const host = this.#host;
    const lane = new Lane(id, ssrc, host, {
      batchSize: this.#options.batchSize,
      config: this.#laneConfig,
      onForgotten: (gone) => this.#byId.delete(gone.id),
      // On this thread a record runs as it is admitted: no copy into a batch and back.
      pipelineOf: host instanceof InlineHost ? (lane) => host.pipelineOf(lane) : undefined,
    });
    this.#byId.set(id, lane);
    return lane;
  }

  #refusePacket(ssrc: number, active: number): void {
    this.#refusedPackets++;
    if (this.#refused.has(ssrc) || this.#refused.size >= 65_536) return;
    this.#refused.add(ssrc);
    this.#safe(() => this.#onEvent?.({ type: "stream-refused", ssrc, activeStreams: active }));
  }

  // Workers fell too far behind: every lane still waiting on one moves inline and catches up.
  #shedBacklog(): void {
    if (this.#options.host !== "inline") {
      for (const lane of [...this.#byId.values()]) {
        if (lane.host !== this.#host) continue;
        this.#host.drop(lane.id);
        this.#failOver(lane.id, `backlog of ${this.#log.length} records`);
      }
    }
    // Catch up now: what waits in the batches runs inline at once.
    this.#submitDirty(true);
    this.#fallback?.flush();
    this.#drain();
  }

  // Sends the batches that are due (every one when `all`): a worker lane's gathers for a few flushes.
  #submitDirty(all: boolean): void {
    for (const lane of this.#dirty) {
      if (!all && !lane.due()) continue;
      lane.submit(this.#realNowMs);
      this.#dirty.delete(lane);
    }
  }

  #tick(all: boolean): void {
    if (this.#closed) return;
    const nowMs = this.#clock.nowMs();
    const nowUs = msToUs(nowMs);
    this.#realNowMs = performance.now();
    if (this.#lanes.kind === "rtp-timestamp") {
      this.#log.push(ENTRY_PROCESS, nowUs, undefined);
    } else {
      this.#lanes.expire(nowUs); // End silent streams even when no packet comes to notice.
    }
    this.#liveness.onTick();
    this.#submitDirty(all);
    // A worker that died without a word (terminated from outside) or hangs is given up on. Real
    // time, whatever the injected clock says: it is the worker's liveness that is measured.
    if (this.#options.host !== "inline") {
      for (const lane of this.#byId.values()) {
        if (lane.host === this.#host && this.#liveness.overdue(lane, this.#realNowMs)) {
          this.#host.drop(lane.id);
          this.#failOver(lane.id, `no answer for ${this.#liveness.workerTimeoutMs} ms`);
        }
      }
    }
    this.#host.flush();
    this.#fallback?.flush();
    this.#drain();
    this.#controller.process(nowMs);
  }

  // --- replay side --------------------------------------------------------------------------------

  #onResults(id: number, batch: PacketBatch, length: number): void {
    const lane = this.#byId.get(id);
    if (!lane) return;
    lane.onResults(batch, length, this.#realNowMs);
    this.#drain();
  }

  #failOver(id: number, error: string): void {
    const lane = this.#byId.get(id);
    if (!lane || lane.host !== this.#host) return;
    this.#failedLanes++;
    this.#fallback ??= new InlineHost(this.#fallbackCallbacks);
    lane.failOver(this.#fallback);
    this.#safe(() => this.#onEvent?.({ type: "lane-failed", ssrc: lane.ssrc, error }));
    this.#drain();
  }

  #drain(): void {
    const log = this.#log;
    const controller = this.#controller;
    while (log.length > 0) {
      const index = log.head;
      const kind = log.kinds[index];
      if (kind === ENTRY_RECORD) {
        const verdict = log.lanes[index]!.nextVerdict(log.records, index);
        if (verdict < 0) break; // Waiting for this lane's results.
        log.records.usage[index] = verdict;
        controller.onRecord(log.records, index);
      } else if (kind === ENTRY_PROCESS) {
        controller.processEstimator(log.values[index]);
      } else if (kind === ENTRY_REMOVE) {
        controller.removeStream(log.values[index]);
      } else {
        controller.startEstimator(kind === ENTRY_SWITCH_ABS ? "abs-send-time" : "rtp-timestamp");
      }
      log.shift();
    }
    if (log.length === 0 && this.#waiters.length > 0) {
      this.#host.setPrompt(false);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #safe(callback: () => void): void {
    callSafely(callback, this.#onError);
  }

  #report(error: unknown): void {
    report(this.#onError, error);
  }
}
