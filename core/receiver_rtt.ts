/**
 * The round-trip time a receive-only endpoint measures with RTCP XR (RFC 3611 §4.4, §4.5): it
 * sends Receiver Reference Time blocks, the media sender answers each with a DLRR sub-block, and
 * RTT = arrival − LRR − DLRR, all in compact NTP units of 1/65536 s (libwebrtc's
 * `RTCPReceiver::HandleXrDlrrReportBlock`, mediasoup's `RtpStreamRecv` likewise).
 *
 * Only answers to RRTRs this endpoint sent count: an LRR is matched against the timestamps of the
 * last RRTRs sent, so a stale, forged or corrupt answer is rejected rather than averaged in, and
 * every accepted sample is at most as old as the RRTR it answers. Negative samples (a DLRR longer
 * than the RRTR's age) and samples above `maxRttMs` are rejected; a sample below 1 ms counts as
 * 1 ms, libwebrtc's floor (`CompactNtpRttToTimeDelta`), since compact NTP cannot resolve less on
 * a fast link. Accepted samples are smoothed with an exponential moving average of weight 0.3 by
 * default, the weight libwebrtc's `CallStats` gives a new RTT.
 *
 * It also paces the RRTRs: one is due `intervalMs` after the last (libwebrtc's sender answers only
 * the latest RRTR of each receiver, in its next report, about once a second for video).
 *
 * Pure and clock-free: times come in as arguments, compact NTP values for the matching (see
 * `compactNtpFromMs`). Taking an answer allocates nothing.
 *
 * @module
 */

import { checkRange } from "./estimator_settings.ts";
import { compactNtpToMs, type DlrrSubBlock } from "./rtcp_xr.ts";

/** Options of {@linkcode ReceiverRtt}. */
export interface ReceiverRttOptions {
  /**
   * How many of the last RRTR timestamps sent are remembered for matching answers: 16 RRTRs at
   * least `intervalMs` apart span 8 s or more.
   *
   * @default {16}
   */
  history?: number;
  /**
   * Shortest time between two RRTRs, ms: one is due this long after the last (0: always).
   *
   * @default {500}
   */
  intervalMs?: number;
  /**
   * Longest RTT accepted, ms; a sample above it is rejected as absurd.
   *
   * @default {10000}
   */
  maxRttMs?: number;
  /**
   * Weight of a new sample in the smoothed RTT, in (0, 1]; 1 reports each sample as it is.
   *
   * @default {0.3}
   */
  smoothingFactor?: number;
}

/**
 * Why {@linkcode ReceiverRtt.prototype.onDlrr} did not take a sub-block.
 *
 * - `"other-ssrc"`: it answers another receiver (not an error: a sender answers everyone).
 * - `"no-rrtr"`: its LRR is 0, the sender's "no RRTR received yet".
 * - `"unmatched"`: its LRR is none of the RRTR timestamps remembered.
 * - `"negative"`: its DLRR exceeds the time since the RRTR was sent (or the clock went back).
 * - `"too-large"`: the RTT exceeds `maxRttMs`.
 */
export type RttRejection = "other-ssrc" | "no-rrtr" | "unmatched" | "negative" | "too-large";

/** Figures of a {@linkcode ReceiverRtt}. */
export interface ReceiverRttStats {
  /** The smoothed RTT, ms; `undefined` until the first sample. */
  rttMs: number | undefined;
  /** The last accepted sample, ms. */
  lastSampleMs: number | undefined;
  /** RRTR blocks recorded as sent. */
  rrtrsSent: number;
  /** DLRR sub-blocks accepted as samples. */
  samples: number;
  /** DLRR sub-blocks not taken, by reason. */
  rejected: Record<RttRejection, number>;
}

/** The defaults of {@linkcode ReceiverRttOptions}. */
export const RECEIVER_RTT_DEFAULTS = {
  history: 16,
  intervalMs: 500,
  maxRttMs: 10_000,
  smoothingFactor: 0.3,
} as const;

const MIN_RTT_MS = 1;
const HALF_RANGE = 0x8000_0000;
// Doubles live in a typed array: an object field that may hold `undefined` boxes each new value.
const RTT = 0;
const LAST_SAMPLE = 1;
const LAST_RRTR = 2;

/**
 * Matches a sender's DLRR answers to the RRTRs this receiver sent and turns them into an RTT.
 *
 * @example
 * ```ts
 * import { ReceiverRtt } from "./receiver_rtt.ts";
 * import { compactNtpFromMs } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 *
 * const rtt = new ReceiverRtt(0x1234);
 * const sentAt = 5_000_000; // ms since the NTP epoch, on this receiver's clock
 * assert.ok(rtt.rrtrDue(sentAt));
 * rtt.onRrtrSent(compactNtpFromMs(sentAt), sentAt);
 * // The sender held the RRTR for 20 ms; its answer arrives 70 ms after sending: RTT 50 ms.
 * const answer = { ssrc: 0x1234, lastRr: compactNtpFromMs(sentAt), delaySinceLastRr: 20 * 65.536 };
 * assert.equal(rtt.onDlrr(answer, compactNtpFromMs(sentAt + 70)), 50); // In whole ms.
 * assert.ok(Math.abs(rtt.lastSampleMs - 50) < 0.05);
 * assert.equal(rtt.rttMs, rtt.lastSampleMs);
 * ```
 */
export class ReceiverRtt {
  readonly #ssrc: number;
  readonly #sent: Uint32Array;
  readonly #maxRttMs: number;
  readonly #smoothing: number;
  readonly #intervalMs: number;
  readonly #figures = new Float64Array([NaN, NaN, NaN]);
  #sentCount = 0;
  #nextSlot = 0;
  #lastRejection: RttRejection | undefined;
  #rrtrsSent = 0;
  #samples = 0;
  readonly #rejected: Record<RttRejection, number> = {
    "other-ssrc": 0,
    "no-rrtr": 0,
    unmatched: 0,
    negative: 0,
    "too-large": 0,
  };

  /**
   * Creates the matcher of one receiver.
   *
   * @param ssrc The SSRC this receiver sends its RRTRs from (the XR packet's SSRC), which the
   * sender's DLRR sub-blocks name.
   * @param options History, bound and smoothing.
   * @throws {TypeError} An argument has the wrong type.
   * @throws {RangeError} `ssrc` is not a 32-bit unsigned integer, or an option is out of range.
   */
  constructor(ssrc: number, options: ReceiverRttOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create receiver RTT as 'options' must be an object");
    }
    if (typeof ssrc !== "number") {
      throw new TypeError(
        `Cannot create receiver RTT as 'ssrc' must be a number: current type is ${typeof ssrc}`,
      );
    }
    checkRange("receiver RTT", "ssrc", ssrc, { min: 0, max: 0xffffffff, integer: true });
    checkReceiverRttOptions(options);
    this.#ssrc = ssrc;
    this.#sent = new Uint32Array(options.history ?? RECEIVER_RTT_DEFAULTS.history);
    this.#maxRttMs = options.maxRttMs ?? RECEIVER_RTT_DEFAULTS.maxRttMs;
    this.#smoothing = options.smoothingFactor ?? RECEIVER_RTT_DEFAULTS.smoothingFactor;
    this.#intervalMs = options.intervalMs ?? RECEIVER_RTT_DEFAULTS.intervalMs;
  }

  /** The SSRC whose answers are taken. */
  get ssrc(): number {
    return this.#ssrc;
  }

  /**
   * The smoothed RTT, ms; 0 until an answer was accepted. A plain number (no `undefined`), so that
   * reading it allocates nothing.
   */
  get rttMs(): number {
    const rttMs = this.#figures[RTT];
    return rttMs > 0 ? rttMs : 0;
  }

  /** The last accepted sample, ms, unsmoothed; 0 before one. */
  get lastSampleMs(): number {
    const sampleMs = this.#figures[LAST_SAMPLE];
    return sampleMs > 0 ? sampleMs : 0;
  }

  /**
   * Whether an RRTR is due: none was sent yet, or the last one `intervalMs` or more before
   * `nowMs` (or after it: the clock went back).
   *
   * @param nowMs The time, ms, on the clock given to {@linkcode ReceiverRtt.prototype.onRrtrSent}.
   * @returns `true` when the next RTCP packet sent should carry an RRTR.
   * @example
   * ```ts
   * import { ReceiverRtt } from "./receiver_rtt.ts";
   * import assert from "node:assert/strict";
   * const rtt = new ReceiverRtt(1, { intervalMs: 500 });
   * rtt.onRrtrSent(0x0001_0000, 1000);
   * assert.equal(rtt.rrtrDue(1250), false);
   * assert.equal(rtt.rrtrDue(1500), true);
   * ```
   */
  rrtrDue(nowMs: number): boolean {
    const lastMs = this.#figures[LAST_RRTR];
    return !(nowMs - lastMs < this.#intervalMs && nowMs >= lastMs); // NaN: none sent yet.
  }

  /** Why the last sub-block not taken was refused; `undefined` before any was. */
  get lastRejection(): RttRejection | undefined {
    return this.#lastRejection;
  }

  /**
   * Records an RRTR as sent, so that answers to it are accepted.
   *
   * @param compactNtp The middle 32 bits of the NTP timestamp the RRTR carries.
   * @param nowMs When it was sent, ms, for {@linkcode ReceiverRtt.prototype.rrtrDue}.
   * @example
   * ```ts
   * import { ReceiverRtt } from "./receiver_rtt.ts";
   * import assert from "node:assert/strict";
   * const rtt = new ReceiverRtt(1);
   * rtt.onRrtrSent(0x0001_0000, 1000);
   * assert.equal(rtt.stats().rrtrsSent, 1);
   * ```
   */
  onRrtrSent(compactNtp: number, nowMs: number): void {
    this.#figures[LAST_RRTR] = nowMs;
    this.#sent[this.#nextSlot] = compactNtp;
    this.#nextSlot = (this.#nextSlot + 1) % this.#sent.length;
    if (this.#sentCount < this.#sent.length) this.#sentCount++;
    this.#rrtrsSent++;
  }

  /**
   * Takes one DLRR sub-block that arrived at `nowCompactNtp`. Allocates nothing.
   *
   * @param block The sub-block (a {@linkcode DlrrReader} positioned on one will do).
   * @param nowCompactNtp The arrival time, compact NTP on the clock the RRTRs were stamped with:
   * a 32-bit unsigned integer, or the same bits as a signed one (`x | 0`), which V8 passes to a
   * call that is not inlined without boxing.
   * @returns When taken as a sample, the smoothed RTT rounded to whole ms (at least 1), as a rate
   * controller takes it (see {@linkcode ReceiverRtt.prototype.rttMs} and
   * {@linkcode ReceiverRtt.prototype.lastSampleMs} for the exact figures); else 0, and
   * {@linkcode ReceiverRtt.prototype.lastRejection} tells why. An integer, so returning it
   * allocates nothing.
   * @example
   * ```ts
   * import { ReceiverRtt } from "./receiver_rtt.ts";
   * import assert from "node:assert/strict";
   * const rtt = new ReceiverRtt(1);
   * rtt.onRrtrSent(0x0001_0000, 1000); // Sent at 1 s (compact NTP).
   * // An answer claiming a 2 s delay, arriving 0.5 s after the RRTR was sent: impossible.
   * assert.equal(rtt.onDlrr({ ssrc: 1, lastRr: 0x0001_0000, delaySinceLastRr: 0x0002_0000 }, 0x0001_8000), 0);
   * assert.equal(rtt.lastRejection, "negative");
   * assert.equal(rtt.rttMs, 0); // None known.
   * ```
   */
  onDlrr(block: DlrrSubBlock, nowCompactNtp: number): number {
    if (block.ssrc !== this.#ssrc) return this.#reject("other-ssrc");
    const lastRr = block.lastRr;
    if (lastRr === 0) return this.#reject("no-rrtr");
    if (!this.#wasSent(lastRr)) return this.#reject("unmatched");
    // Unsigned 32-bit differences: the age of the RRTR, then what the sender's hold leaves of it.
    const ageUnits = (nowCompactNtp - lastRr) >>> 0;
    if (ageUnits >= HALF_RANGE) return this.#reject("negative"); // The clock went back.
    const rttUnits = ageUnits - (block.delaySinceLastRr >>> 0);
    if (rttUnits < 0) return this.#reject("negative");
    const sampleMs = Math.max(MIN_RTT_MS, compactNtpToMs(rttUnits));
    if (sampleMs > this.#maxRttMs) return this.#reject("too-large");
    this.#samples++;
    const figures = this.#figures;
    figures[LAST_SAMPLE] = sampleMs;
    const previous = figures[RTT];
    const rttMs = Number.isNaN(previous)
      ? sampleMs
      : previous + this.#smoothing * (sampleMs - previous);
    figures[RTT] = rttMs;
    return Math.max(1, Math.round(rttMs));
  }

  /**
   * A snapshot of the figures.
   *
   * @returns Typed figures; `rejected` is a copy.
   * @example
   * ```ts
   * import { ReceiverRtt } from "./receiver_rtt.ts";
   * import assert from "node:assert/strict";
   * const rtt = new ReceiverRtt(1);
   * rtt.onDlrr({ ssrc: 2, lastRr: 5, delaySinceLastRr: 0 }, 10);
   * assert.equal(rtt.stats().rejected["other-ssrc"], 1);
   * assert.equal(rtt.stats().rttMs, undefined);
   * ```
   */
  stats(): ReceiverRttStats {
    const figures = this.#figures;
    return {
      rttMs: Number.isNaN(figures[RTT]) ? undefined : figures[RTT],
      lastSampleMs: Number.isNaN(figures[LAST_SAMPLE]) ? undefined : figures[LAST_SAMPLE],
      rrtrsSent: this.#rrtrsSent,
      samples: this.#samples,
      rejected: { ...this.#rejected },
    };
  }

  #wasSent(compactNtp: number): boolean {
    const sent = this.#sent;
    for (let i = 0; i < this.#sentCount; i++) if (sent[i] === compactNtp) return true;
    return false;
  }

  #reject(reason: RttRejection): 0 {
    this.#rejected[reason]++;
    this.#lastRejection = reason;
    return 0;
  }
}

/**
 * Checks {@linkcode ReceiverRttOptions} without creating anything.
 *
 * @param options The options.
 * @throws {TypeError} An option is not a number.
 * @throws {RangeError} An option is out of range.
 * @example
 * ```ts
 * import { checkReceiverRttOptions } from "./receiver_rtt.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkReceiverRttOptions({ smoothingFactor: 0 }), RangeError);
 * checkReceiverRttOptions({ history: 4 });
 * ```
 */
export function checkReceiverRttOptions(options: ReceiverRttOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create receiver RTT as 'options' must be an object");
  }
  checkRange("receiver RTT", "history", options.history, { min: 1, max: 1024, integer: true });
  checkRange("receiver RTT", "intervalMs", options.intervalMs, {
    min: 0,
    max: 60_000,
    integer: false,
  });
  checkRange("receiver RTT", "maxRttMs", options.maxRttMs, {
    min: 1,
    max: 60_000,
    integer: false,
  });
  const { smoothingFactor } = options;
  if (smoothingFactor !== undefined && typeof smoothingFactor !== "number") {
    throw new TypeError(
      `Cannot create receiver RTT as 'smoothingFactor' must be a number: current type is ${typeof smoothingFactor}`,
    );
  }
  if (smoothingFactor !== undefined && !(smoothingFactor > 0 && smoothingFactor <= 1)) {
    throw new RangeError(
      `Cannot create receiver RTT as 'smoothingFactor' must be a number in (0, 1]: current value is ${smoothingFactor}`,
    );
  }
}
