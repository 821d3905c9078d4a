/**
 * The RTP-timestamp estimator for packets without abs-send-time (reference §9, libwebrtc's
 * RemoteBitrateEstimatorSingleStream) apart from its per-SSRC delay pipelines: incoming rate,
 * updates driven by {@linkcode SingleStreamEstimator.process} except on a fresh overuse, and stream
 * timeouts. Each record arrives with its lane's verdict in the `usage` column.
 *
 * @module
 */

import { usToMs } from "./_math.ts";
import { EstimatorBase, type EstimatorBaseOptions } from "./estimator_base.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { type BandwidthUsage, usageOfSeverity } from "./types.ts";

const INITIAL_PROCESS_INTERVAL_US = 500_000;

/** Send-time group length of the RTP-timestamp lanes: 5 ms at 90 kHz. */
export const RTP_GROUP_LENGTH_TICKS = 90 * 5;
/** Milliseconds per RTP tick; libwebrtc assumes a 90 kHz clock for every stream. */
export const RTP_TIMESTAMP_TO_MS: number = 1.0 / 90.0;

/** Options of {@linkcode SingleStreamEstimator}. */
export interface SingleStreamEstimatorOptions extends EstimatorBaseOptions {
  /**
   * Called when an update times out idle SSRCs at `nowUs`, so the owner of the delay pipelines can
   * drop theirs at the same moment.
   */
  onExpire?: (nowUs: number) => void;
}

/**
 * Rate estimation from RTP-timestamp records, one detector verdict per SSRC.
 *
 * @example
 * ```ts
 * import { SingleStreamEstimator } from "./single_stream_estimator.ts";
 * import { AimdRateControl } from "./aimd_rate_control.ts";
 * import { PacketBatch } from "./packet_batch.ts";
 * import assert from "node:assert/strict";
 * const estimator = new SingleStreamEstimator({
 *   streamTimeoutUs: 2_000_000, aimd: new AimdRateControl(), onEstimate: () => {},
 * });
 * const batch = new PacketBatch(1);
 * batch.ssrc[0] = 7;
 * batch.arrivalUs[0] = batch.nowUs[0] = 1_000_000;
 * batch.size[0] = 1200;
 * estimator.onRecord(batch, 0);
 * assert.deepEqual(estimator.ssrcs(), [7]);
 * ```
 */
export class SingleStreamEstimator extends EstimatorBase {
  readonly #onExpire: ((nowUs: number) => void) | undefined;
  #lastValidIncomingBps = 0;
  #lastProcessUs = -Infinity;
  #processIntervalUs = INITIAL_PROCESS_INTERVAL_US;

  /**
   * Creates an estimator with no streams.
   *
   * @param options Timeout, rate controller and callback.
   */
  constructor(options: SingleStreamEstimatorOptions) {
    super(options, false);
    this.#onExpire = options.onExpire;
  }

  /** The most severe state over every stream's detector. */
  override get usage(): BandwidthUsage {
    let severity = 0;
    for (const stream of this.streams.values) {
      if (stream.severity > severity) severity = stream.severity;
    }
    return usageOfSeverity(severity);
  }

  /**
   * Processes record `index` of a batch: the timestamp column holds RTP timestamps and the usage
   * column the SSRC's detector verdict after this packet.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  override onRecord(batch: PacketBatch, index: number): void {
    const nowUs = batch.nowUs[index];
    const size = batch.size[index];
    const stream = this.streams.touchAt(batch.ssrc, batch.nowUs, index);
    stream.count(size);

    const rate = this.incoming.rateAt(batch.nowUs, index);
    if (rate !== undefined) {
      this.#lastValidIncomingBps = rate;
    } else if (this.#lastValidIncomingBps > 0) {
      // The window drained: restart it from new data only.
      this.incoming.reset();
      this.#lastValidIncomingBps = 0;
    }
    this.incoming.updateFrom(batch.size, batch.nowUs, index);

    const prior = stream.severity;
    const severity = batch.usage[index];
    stream.severity = severity;
    if (severity === 2) {
      const incoming = this.incoming.rateAt(batch.nowUs, index);
      // The first overuse acts at once; later ones when a further cut is due.
      if (
        incoming !== undefined &&
        (prior !== 2 || this.aimd.timeToReduceFurther(nowUs, incoming))
      ) {
        this.#updateEstimate(nowUs);
      }
    }
  }

  /**
   * Periodic update (libwebrtc's Process).
   *
   * @param nowUs Receiver clock in integer microseconds.
   * @returns Microseconds until the next update is due.
   */
  process(nowUs: number): number {
    const next = this.#lastProcessUs === -Infinity
      ? nowUs
      : this.#lastProcessUs + this.#processIntervalUs;
    if (usToMs(nowUs) >= usToMs(next)) {
      this.#updateEstimate(nowUs);
      this.#lastProcessUs = nowUs;
      return this.#processIntervalUs;
    }
    return next - nowUs;
  }

  #updateEstimate(nowUs: number): void {
    this.streams.expire(nowUs);
    this.#onExpire?.(nowUs);
    if (this.streams.size === 0) return;
    const aimd = this.aimd;
    const target = aimd.update(this.usage, this.incoming.rate(usToMs(nowUs)), nowUs);
    if (aimd.validEstimate) {
      this.#processIntervalUs = aimd.getFeedbackIntervalUs();
      this.onEstimate(target, this.ssrcs());
    }
  }
}
