/**
 * What the abs-send-time and RTP-timestamp estimators share: the SSRC table, the incoming-rate
 * window, the rate controller, and the accessors built on them.
 *
 * @module
 */

import type { PacketBatch } from "./packet_batch.ts";
import type { RateController } from "./rate_controller.ts";
import { RateStatistics } from "./rate_statistics.ts";
import { type StreamEntry, StreamTable } from "./stream_table.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";

const BITRATE_WINDOW_MS = 1000;

/** Called with a new estimate and the SSRCs it covers (ascending, frozen). */
export type EstimateCallback = (bitrateBps: number, ssrcs: number[]) => void;

/** What an estimator keeps per SSRC. */
export interface EstimatorStream extends StreamEntry {
  /** Verdict of the stream's lane at its last packet. */
  readonly usage: BandwidthUsage;
  /**
   * That verdict as its severity code (0 normal, 1 underusing, 2 overusing), as a batch's `usage`
   * column carries it: the state itself, which `usage` names.
   */
  severity: number;
  /** Packets received. */
  readonly packets: number;
  /** Payload bytes received. */
  readonly bytes: number;
  /**
   * Counts a packet.
   *
   * @param size Its payload bytes.
   */
  count(size: number): void;
}

const LAST_SEEN = 0;
const PACKETS = 1;
const BYTES = 2;

// One class, so every stream entry has the same shape on the per-packet path.
class StreamState implements EstimatorStream {
  severity = 0;
  // Numbers that outgrow small integers live in a typed array: a field turning from small integer
  // to double in hot code leaves its stores boxing a number on every packet.
  readonly #figures = new Float64Array(3);

  constructor(readonly ssrc: number) {}

  get lastSeenUs(): number {
    return this.#figures[LAST_SEEN];
  }

  set lastSeenUs(us: number) {
    this.#figures[LAST_SEEN] = us;
  }

  get packets(): number {
    return this.#figures[PACKETS];
  }

  get bytes(): number {
    return this.#figures[BYTES];
  }

  get usage(): BandwidthUsage {
    return usageOfSeverity(this.severity);
  }

  count(size: number): void {
    this.#figures[PACKETS]++;
    this.#figures[BYTES] += size;
  }
}

/** Options every estimator takes. */
export interface EstimatorBaseOptions {
  /** Silence after which an SSRC is dropped, in microseconds. */
  streamTimeoutUs: number;
  /** The rate controller, owned by the caller so it can carry RTT and bounds. */
  aimd: RateController;
  /** libwebrtc's OnReceiveBitrateChanged. */
  onEstimate: EstimateCallback;
}

/**
 * Base of the two estimators: they differ in when they update and how they fuse verdicts.
 *
 * @example
 * ```ts
 * import { AbsSendTimeEstimator } from "./abs_send_time_estimator.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import type { EstimatorBase } from "./estimator_base.ts";
 * import assert from "node:assert/strict";
 * const estimator: EstimatorBase = new AbsSendTimeEstimator({
 *   grouping: "transport", streamTimeoutUs: 2e6, aimd: new AimdRateControl(), onEstimate() {},
 * });
 * assert.equal(estimator.latestEstimate(), 0);
 * ```
 */
export abstract class EstimatorBase {
  /** The rate controller. */
  protected readonly aimd: RateController;
  /** Active SSRCs. */
  protected readonly streams: StreamTable<EstimatorStream>;
  /** Incoming bytes over the last second. */
  protected readonly incoming: RateStatistics = new RateStatistics(BITRATE_WINDOW_MS);
  /** Where estimates go. */
  protected readonly onEstimate: EstimateCallback;

  /**
   * Creates the shared state.
   *
   * @param options Timeout, rate controller and callback.
   * @param timeoutsOnPacket Whether packets time SSRCs out (abs-send-time) or only updates do (RTP).
   */
  constructor(options: EstimatorBaseOptions, timeoutsOnPacket: boolean) {
    this.aimd = options.aimd;
    this.onEstimate = options.onEstimate;
    this.streams = new StreamTable<EstimatorStream>({
      timeoutUs: options.streamTimeoutUs,
      timeoutsOnPacket,
      create: (ssrc) => new StreamState(ssrc),
      retire: (stream) => this.onRetire(stream),
    });
  }

  /** The fused detector state. */
  abstract get usage(): BandwidthUsage;

  /**
   * Processes record `index` of a batch, whose usage column holds its lane's verdict.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  abstract onRecord(batch: PacketBatch, index: number): void;

  /**
   * An active stream.
   *
   * @param ssrc The SSRC.
   * @returns Its state, or `undefined`.
   */
  stream(ssrc: number): EstimatorStream | undefined {
    return this.streams.get(ssrc);
  }

  /**
   * The incoming rate over the last second, in bps, without disturbing the estimator.
   *
   * @param nowMs Time in integer milliseconds, on the clock the estimator keys its rate on.
   * @returns The rate, or `undefined` while there is too little data.
   */
  incomingRateBps(nowMs: number): number | undefined {
    return this.incoming.peekRate(nowMs);
  }

  /**
   * libwebrtc's LatestEstimate.
   *
   * @returns bps, or 0 without a valid estimate or active stream.
   */
  latestEstimate(): number {
    return this.aimd.validEstimate && this.streams.size > 0 ? this.aimd.latestEstimateBps : 0;
  }

  /**
   * Forgets an SSRC.
   *
   * @param ssrc The stream to drop.
   */
  removeStream(ssrc: number): void {
    this.streams.remove(ssrc);
  }

  /**
   * Active SSRCs in ascending order.
   *
   * @returns A frozen array, shared until the set of streams changes.
   */
  ssrcs(): number[] {
    return this.streams.sortedKeys();
  }

  /**
   * Called when an SSRC leaves the table.
   *
   * @param _stream Its last state.
   */
  protected onRetire(_stream: EstimatorStream): void {}
}
