/**
 * The replay itself: packets, with capture times as arrival times, through an estimator and a
 * {@linkcode RembThrottler} as a receiver would run them, recording a timeline row for every
 * estimate, every REMB and every 100 ms tick.
 *
 * The estimator is anything with {@linkcode BandwidthEstimator}'s per-packet API
 * ({@linkcode ReplayEstimator}), made by a factory, so a coordinator with the same API can be
 * replayed in its place.
 *
 * @module
 */

import { INITIAL_THRESHOLD_MS } from "../../core/overuse_detector.ts";
import { BandwidthEstimator, type EstimatorStats } from "../../core/bandwidth_estimator.ts";
import type { Grouping } from "../../core/abs_send_time_estimator.ts";
import type { DelayFilter } from "../../core/delay_pipeline.ts";
import type { Profile } from "../../core/estimator_settings.ts";
import { RembThrottler } from "../../core/remb_throttler.ts";
import type { BandwidthUsage, PacketInfo, RateControlState } from "../../core/types.ts";

/** The figures a timeline row takes from the estimator. */
export type ReplayEstimatorStats = Pick<
  EstimatorStats,
  | "estimateBps"
  | "incomingRateBps"
  | "delayOffsetMs"
  | "modifiedOffsetMs"
  | "thresholdMs"
  | "usage"
  | "rateControlState"
>;

/**
 * What the replay needs of an estimator: {@linkcode BandwidthEstimator}'s per-packet API. An
 * estimator whose periodic work is asynchronous (a coordinator whose delay pipelines run in
 * workers) returns a promise from `process`, and the replay waits for it before going on.
 */
export interface ReplayEstimator {
  /**
   * Feeds one packet; the object is reused.
   *
   * @param packet The packet, with its capture time as arrival time.
   */
  onPacket(packet: PacketInfo): void;
  /**
   * Periodic work, called every tick.
   *
   * @param nowMs Capture time in ms.
   * @returns Nothing, or a promise the replay waits for (e.g. a coordinator's `flush()`).
   */
  process(nowMs: number): void | Promise<void>;
  /**
   * The figures for a timeline row.
   *
   * @returns A snapshot.
   */
  stats(): ReplayEstimatorStats;
  /**
   * Releases the estimator (a coordinator's workers); called once by
   * {@linkcode Replayer.prototype.finish}, which waits for a returned promise.
   *
   * @returns Nothing, or a promise.
   */
  close?(): void | Promise<void>;
}

/**
 * Makes the estimator to replay through.
 *
 * @param onEstimate To be called with each estimate the estimator reports, as
 * `BandwidthEstimatorOptions.onEstimate` is: inside `onPacket` or `process`, or before the promise
 * `process` returned resolves.
 * @returns The estimator.
 */
export type EstimatorFactory = (
  onEstimate: (bitrateBps: number, ssrcs: number[]) => void,
) => ReplayEstimator;

/** Options of {@linkcode Replayer}. */
export interface ReplayOptions {
  /**
   * Grouping of the default estimator.
   *
   * @default {"per-stream"}
   */
  grouping?: Grouping;
  /**
   * Delay filter of the default estimator.
   *
   * @default {"kalman"}
   */
  filter?: DelayFilter;
  /**
   * Estimation profile of the default estimator.
   *
   * @default {"libwebrtc"}
   */
  profile?: Profile;
  /**
   * Makes the estimator instead of a {@linkcode BandwidthEstimator} with `grouping` and `filter`.
   *
   * @default {undefined}
   */
  createEstimator?: EstimatorFactory;
  /**
   * Capture time between ticks, at which `process()` runs and a row is recorded, in ms.
   *
   * @default {100}
   */
  tickIntervalMs?: number;
  /**
   * Called with each REMB the throttler sends, at once (a live generator uses it to close the
   * loop).
   *
   * @default {undefined}
   */
  onRemb?: (bitrateBps: number, ssrcs: readonly number[], timeMs: number) => void;
}

/**
 * Why a row was recorded.
 *
 * - `"tick"`: the periodic row, every tick interval.
 * - `"estimate"`: the estimator reported an estimate (and the throttler may have sent a REMB).
 * - `"remb"`: the throttler resent its last REMB.
 * - `"captured-remb"`: a REMB found in the capture itself, sent by the live receiver.
 */
export type TimelineEvent = "tick" | "estimate" | "remb" | "captured-remb";

/** One row of the timeline. */
export interface TimelineRow {
  /** Capture time, seconds since the first record of the capture. */
  timeS: number;
  /** Why the row was recorded. */
  event: TimelineEvent;
  /** The estimate, bps (0 while there is none). */
  estimateBps: number;
  /** Incoming rate over the last second, bps. */
  incomingRateBps: number;
  /** Delay offset (filter output) of the dominant stream, ms. */
  delayOffsetMs: number;
  /** Modified offset the detector compared with its threshold, ms. */
  modifiedOffsetMs: number;
  /** The detector's adaptive threshold, ms. */
  thresholdMs: number;
  /** The detector's verdict. */
  usage: BandwidthUsage;
  /** The AIMD controller's state. */
  rateControlState: RateControlState;
  /** The REMB sent at this time, bps, if one was. */
  rembBps: number | undefined;
  /** The REMB found in the capture at this time, bps, for `"captured-remb"` rows. */
  capturedRembBps: number | undefined;
}

/** Totals of a replay. */
export interface ReplaySummary {
  /** Packets fed to the estimator. */
  packets: number;
  /** Estimates reported. */
  estimates: number;
  /** REMBs sent (forwarded estimates and resends). */
  rembs: number;
  /** Mean estimate over the ticks that had one, bps; `undefined` without any. */
  meanEstimateBps: number | undefined;
  /** Smallest estimate at a tick, bps. */
  minEstimateBps: number | undefined;
  /** Largest estimate at a tick, bps. */
  maxEstimateBps: number | undefined;
  /** REMBs found in the capture. */
  capturedRembs: number;
  /**
   * Median of |replayed ÷ captured − 1| over the captured REMBs, comparing each with the last
   * REMB the replay had sent by then; `undefined` without captured REMBs.
   */
  capturedRembMedianError: number | undefined;
}

const RESEND_INTERVAL_MS = 1000;

/**
 * Replays packets through an estimator and a REMB throttler, in capture time.
 *
 * Times are ms since the capture's first record. For each packet, the ticks that are due run first
 * (`process()` on the estimator, a tick row), then a due REMB resend, then the packet; an estimate
 * it causes is forwarded to the throttler at once, and recorded in a row with the estimator's
 * figures after the packet.
 *
 * With a synchronous estimator every method returns `undefined`. When the estimator's `process`
 * returns a promise, {@linkcode Replayer.prototype.onPacket} and
 * {@linkcode Replayer.prototype.advanceTo} return one too, and the caller must wait for it before
 * the next call.
 *
 * @example
 * ```ts
 * import { Replayer } from "./replay.ts";
 * import assert from "node:assert/strict";
 *
 * const replayer = new Replayer();
 * const packet = { ssrc: 1, arrivalTimeMs: 0, payloadSize: 1000, rtpTimestamp: 0, absSendTime: 0 };
 * for (let i = 0; i < 10; i++) { // A probe-like burst: 1000 bytes every 5 ms.
 *   packet.arrivalTimeMs = i * 5;
 *   packet.absSendTime = Math.round((i * 5 * 2 ** 18) / 1000);
 *   replayer.onPacket(packet);
 * }
 * const { rows, summary } = await replayer.finish(250);
 * assert.equal(summary.rembs, 1);
 * assert.ok(rows.some((row) => row.event === "estimate" && row.rembBps! > 1_500_000));
 * assert.equal(rows.filter((row) => row.event === "tick").length, 3); // 0, 100 and 200 ms
 * ```
 */
export class Replayer {
  readonly #estimator: ReplayEstimator;
  readonly #throttler: RembThrottler;
  readonly #tickIntervalMs: number;
  readonly #onRemb: ((bps: number, ssrcs: readonly number[], timeMs: number) => void) | undefined;
  readonly #rows: TimelineRow[] = [];
  #nowMs = 0; // Latest capture time seen: ticks and the throttler never go back.
  #nextTickMs = NaN; // NaN until the first packet.
  #nextResendMs = Infinity;
  #pendingEstimateBps: number | undefined;
  #pendingRembBps: number | undefined;
  #packets = 0;
  #estimates = 0;
  #rembs = 0;
  #lastRembBps: number | undefined;
  readonly #capturedErrors: number[] = [];
  #capturedRembs = 0;
  #finished = false;
  #error: unknown = undefined;

  /**
   * Creates a replayer with a fresh estimator and throttler.
   *
   * @param options Estimator choice, tick interval and REMB callback.
   * @throws {RangeError} If `tickIntervalMs` is not positive and finite.
   */
  constructor(options: ReplayOptions = {}) {
    const tickIntervalMs = options.tickIntervalMs ?? 100;
    if (!(tickIntervalMs > 0 && Number.isFinite(tickIntervalMs))) {
      throw new RangeError(
        `Cannot create replayer as 'tickIntervalMs' must be positive and finite: current value is ${tickIntervalMs}`,
      );
    }
    this.#tickIntervalMs = tickIntervalMs;
    this.#onRemb = options.onRemb;
    // Callbacks run inside the estimator and throttler, which report what they throw; keep the
    // first error and rethrow it once the call returns.
    const onError = (error: unknown): void => {
      this.#error ??= error;
    };
    this.#throttler = new RembThrottler({
      resendIntervalMs: RESEND_INTERVAL_MS,
      onSend: (bps, ssrcs) => this.#sent(bps, ssrcs),
      onError,
    });
    const onEstimate = (bps: number, ssrcs: number[]): void => {
      this.#estimates++;
      this.#pendingEstimateBps = bps;
      this.#throttler.onReceiveBitrateChanged(ssrcs, bps, this.#nowMs);
    };
    this.#estimator = options.createEstimator
      ? options.createEstimator(onEstimate)
      : new BandwidthEstimator({
        grouping: options.grouping,
        filter: options.filter,
        profile: options.profile,
        onEstimate,
        onError,
      });
  }

  /** The rows recorded so far. */
  get rows(): readonly TimelineRow[] {
    return this.#rows;
  }

  /**
   * Replays one packet.
   *
   * @param packet The packet; `arrivalTimeMs` is its capture time in ms since the capture's first
   * record. The object is not kept.
   * @returns `undefined`, or a promise to wait for when the estimator's ticks are asynchronous.
   * @throws {Error} If called after {@linkcode Replayer.prototype.finish}.
   */
  onPacket(packet: PacketInfo): Promise<void> | undefined {
    this.#checkOpen();
    const pending = this.advanceTo(packet.arrivalTimeMs);
    if (pending) {
      const copy = { ...packet }; // The caller reuses its object.
      return pending.then(() => this.#feed(copy));
    }
    this.#feed(packet);
  }

  /**
   * Records a REMB found in the capture (sent by the live receiver), for comparison.
   *
   * @param timeMs Capture time in ms since the capture's first record.
   * @param bitrateBps The REMB's bitrate.
   * @returns `undefined`, or a promise to wait for when the estimator's ticks are asynchronous.
   */
  onCapturedRemb(timeMs: number, bitrateBps: number): Promise<void> | undefined {
    this.#checkOpen();
    const pending = this.advanceTo(timeMs);
    if (pending) return pending.then(() => this.#captured(timeMs, bitrateBps));
    this.#captured(timeMs, bitrateBps);
  }

  /**
   * Runs the ticks and the REMB resend due up to `timeMs`. Packets do this themselves; call it to
   * let time pass without packets.
   *
   * @param timeMs Capture time in ms since the capture's first record.
   * @returns `undefined`, or a promise to wait for when the estimator's ticks are asynchronous.
   */
  advanceTo(timeMs: number): Promise<void> | undefined {
    if (Number.isNaN(this.#nextTickMs)) {
      // The first tick is the first multiple of the interval at or after the first packet.
      this.#nextTickMs = Math.ceil(timeMs / this.#tickIntervalMs) * this.#tickIntervalMs;
      this.#nowMs = timeMs;
    }
    // Ticks and REMB resends in time order, each at its own time, as a host's timers would run them.
    for (;;) {
      const tickMs: number = this.#nextTickMs;
      const resendMs = this.#nextResendMs;
      if (resendMs < tickMs && resendMs <= timeMs) {
        this.#nowMs = Math.max(this.#nowMs, resendMs);
        const delayMs = this.#throttler.process(this.#nowMs);
        // Not sent (rounding put it a hair early): retry just after, so the loop always moves on.
        if (this.#nextResendMs === resendMs) {
          this.#nextResendMs = this.#nowMs + Math.max(delayMs, 1e-3);
        }
        this.#flush();
        continue;
      }
      if (tickMs > timeMs) break;
      this.#nextTickMs = tickMs + this.#tickIntervalMs;
      this.#nowMs = Math.max(this.#nowMs, tickMs);
      this.#resendIfDue();
      const pending = this.#estimator.process(tickMs);
      if (pending) {
        return pending.then(() => {
          this.#endTick(tickMs);
          return this.advanceTo(timeMs);
        });
      }
      this.#endTick(tickMs);
    }
    this.#nowMs = Math.max(this.#nowMs, timeMs);
    this.#resendIfDue();
    this.#flush();
  }

  /**
   * Runs the ticks up to the end of the capture, closes the estimator and sums up. The replayer
   * cannot be used after.
   *
   * @param endMs Capture time of the last record, ms since the first.
   * @returns The rows and the totals.
   */
  async finish(endMs: number): Promise<{ rows: TimelineRow[]; summary: ReplaySummary }> {
    this.#checkOpen();
    await this.advanceTo(endMs);
    this.#finished = true;
    await this.#estimator.close?.();
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const row of this.#rows) {
      if (row.event !== "tick" || row.estimateBps <= 0) continue;
      sum += row.estimateBps;
      count++;
      min = Math.min(min, row.estimateBps);
      max = Math.max(max, row.estimateBps);
    }
    const errors = [...this.#capturedErrors].sort((a, b) => a - b);
    return {
      rows: this.#rows,
      summary: {
        packets: this.#packets,
        estimates: this.#estimates,
        rembs: this.#rembs,
        meanEstimateBps: count > 0 ? sum / count : undefined,
        minEstimateBps: count > 0 ? min : undefined,
        maxEstimateBps: count > 0 ? max : undefined,
        capturedRembs: this.#capturedRembs,
        capturedRembMedianError: errors.length > 0 ? errors[(errors.length - 1) >> 1] : undefined,
      },
    };
  }

  #feed(packet: PacketInfo): void {
    this.#packets++;
    this.#estimator.onPacket(packet);
    this.#flush();
  }

  #captured(timeMs: number, bitrateBps: number): void {
    this.#capturedRembs++;
    if (this.#lastRembBps !== undefined && bitrateBps > 0) {
      this.#capturedErrors.push(Math.abs(this.#lastRembBps / bitrateBps - 1));
    }
    this.#row(timeMs, "captured-remb", undefined, bitrateBps);
  }

  #endTick(tickMs: number): void {
    this.#flush();
    this.#row(tickMs, "tick", undefined);
  }

  #checkOpen(): void {
    if (this.#finished) throw new Error("Cannot replay as the replay has finished");
  }

  #resendIfDue(): void {
    if (this.#nowMs >= this.#nextResendMs) this.#throttler.process(this.#nowMs);
  }

  #sent(bps: number, ssrcs: readonly number[]): void {
    this.#rembs++;
    this.#lastRembBps = bps;
    this.#pendingRembBps = bps;
    this.#nextResendMs = this.#nowMs + RESEND_INTERVAL_MS;
    this.#onRemb?.(bps, ssrcs, this.#nowMs);
  }

  /** Records what happened inside the last call into the estimator or throttler, if anything. */
  #flush(): void {
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
    const estimateBps = this.#pendingEstimateBps;
    const rembBps = this.#pendingRembBps;
    if (estimateBps === undefined && rembBps === undefined) return;
    this.#pendingEstimateBps = undefined;
    this.#pendingRembBps = undefined;
    const row = this.#row(this.#nowMs, estimateBps !== undefined ? "estimate" : "remb", rembBps);
    // The value reported, rather than the estimator's later view of it.
    if (estimateBps !== undefined) row.estimateBps = estimateBps;
  }

  #row(
    timeMs: number,
    event: TimelineEvent,
    rembBps: number | undefined,
    capturedRembBps?: number,
  ): TimelineRow {
    const stats = this.#estimator.stats();
    const row: TimelineRow = {
      timeS: timeMs / 1000,
      event,
      // The timeline's columns are numbers throughout: 0 where the estimator has no value yet.
      estimateBps: stats.estimateBps ?? 0,
      incomingRateBps: stats.incomingRateBps ?? 0,
      delayOffsetMs: stats.delayOffsetMs ?? 0,
      modifiedOffsetMs: stats.modifiedOffsetMs ?? 0,
      thresholdMs: stats.thresholdMs ?? INITIAL_THRESHOLD_MS,
      usage: stats.usage,
      rateControlState: stats.rateControlState,
      rembBps,
      capturedRembBps,
    };
    this.#rows.push(row);
    return row;
  }
}
