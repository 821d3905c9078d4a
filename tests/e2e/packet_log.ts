/**
 * Every RTP packet the receiver got, as the harness saw it (independently of the estimator): time
 * of receipt, abs-send-time unwrapped to milliseconds, SSRC, payload type, sequence number and
 * size. It yields the delivered bytes per second and the one-way delay variation that the
 * estimator's input carries (queueing plus arrival-stamping jitter on the JS thread).
 *
 * @module
 */

import { percentile } from "./report.ts";

const ABS_SEND_TIME_WRAP = 1 << 24; // 64 s of 2^18 ticks per second

/** The packet log of one run. */
export class PacketLog {
  /** Time of receipt, ms (`performance.now()`). */
  readonly arrivalMs: number[] = [];
  /** abs-send-time unwrapped, ms (NaN without the extension). */
  readonly sendMs: number[] = [];
  /** SSRC. */
  readonly ssrc: number[] = [];
  /** Payload type. */
  readonly payloadType: number[] = [];
  /** Sequence number. */
  readonly sequence: number[] = [];
  /** Bytes: RTP header, payload and padding (no SRTP tag, UDP or IP). */
  readonly bytes: number[] = [];
  #lastTicks: number | undefined;
  #unwrappedTicks = 0;

  /**
   * Records one packet.
   *
   * @param atMs Time of receipt, ms.
   * @param ssrc SSRC.
   * @param payloadType Payload type.
   * @param sequence Sequence number.
   * @param bytes Size, bytes.
   * @param absSendTime The raw 24-bit abs-send-time, if present.
   * @example
   * ```ts
   * import { PacketLog } from "./packet_log.ts";
   * import assert from "node:assert/strict";
   *
   * const log = new PacketLog();
   * log.record(10, 1, 96, 1, 1000, (1 << 24) - (1 << 18)); // 63 s
   * log.record(20, 1, 96, 2, 1000, 0); // wrapped: 64 s
   * assert.equal(log.sendMs[1] - log.sendMs[0], 1000);
   * ```
   */
  record(
    atMs: number,
    ssrc: number,
    payloadType: number,
    sequence: number,
    bytes: number,
    absSendTime: number | undefined,
  ): void {
    this.arrivalMs.push(atMs);
    this.ssrc.push(ssrc);
    this.payloadType.push(payloadType);
    this.sequence.push(sequence);
    this.bytes.push(bytes);
    if (absSendTime === undefined) {
      this.sendMs.push(NaN);
      return;
    }
    if (this.#lastTicks === undefined) this.#unwrappedTicks = absSendTime;
    else {
      let delta = (absSendTime - this.#lastTicks) % ABS_SEND_TIME_WRAP;
      if (delta < 0) delta += ABS_SEND_TIME_WRAP;
      if (delta >= ABS_SEND_TIME_WRAP / 2) delta -= ABS_SEND_TIME_WRAP; // reordered
      this.#unwrappedTicks += delta;
    }
    this.#lastTicks = absSendTime;
    this.sendMs.push((this.#unwrappedTicks * 1000) / (1 << 18));
  }

  /** Packets recorded. */
  get length(): number {
    return this.arrivalMs.length;
  }

  /**
   * 95th percentile per second of the one-way delay (arrival minus send time), relative to the
   * lowest of the log.
   *
   * @param startMs Start of second 1.
   * @param seconds How many seconds.
   * @returns One value per second (null when no packet with abs-send-time arrived in it).
   */
  owdP95PerSecond(startMs: number, seconds: number): (number | null)[] {
    let min = Infinity;
    for (let i = 0; i < this.length; i++) {
      const owd = this.arrivalMs[i] - this.sendMs[i];
      if (owd < min) min = owd;
    }
    const bins: number[][] = Array.from({ length: seconds }, () => []);
    for (let i = 0; i < this.length; i++) {
      const k = Math.floor((this.arrivalMs[i] - startMs) / 1000);
      const owd = this.arrivalMs[i] - this.sendMs[i];
      if (k >= 0 && k < seconds && !Number.isNaN(owd)) bins[k].push(owd - min);
    }
    return bins.map((values) => percentile(values, 95));
  }

  /**
   * The log as CSV, times relative to `startMs`.
   *
   * @param startMs Time zero, ms.
   * @returns The CSV text with a header line.
   */
  toCsv(startMs: number): string {
    const lines = ["arrival_ms,send_ms,ssrc,payload_type,sequence,bytes"];
    const send0 = this.sendMs.find((v) => !Number.isNaN(v)) ?? 0;
    for (let i = 0; i < this.length; i++) {
      lines.push(
        `${(this.arrivalMs[i] - startMs).toFixed(3)},${(this.sendMs[i] - send0).toFixed(3)},${
          this.ssrc[i]
        },${this.payloadType[i]},${this.sequence[i]},${this.bytes[i]}`,
      );
    }
    return `${lines.join("\n")}\n`;
  }
}
