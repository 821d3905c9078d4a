/**
 * When to send a REMB: libwebrtc's `RembThrottler` policy (reference §11.1) plus the periodic
 * repetition that libwebrtc gets from its RTCP sender (reference §11.3).
 *
 * The throttler is pure: every call takes the current time, and nothing here reads a clock or
 * starts a timer. The host calls {@linkcode RembThrottler.prototype.process} when the delay it
 * returned has passed.
 *
 * @module
 */

import { checkU32 } from "./_bytes.ts";
import { MAX_REMB_SSRCS } from "./remb.ts";

/**
 * Options of {@linkcode RembThrottler}.
 *
 * @example
 * ```ts
 * import { RembThrottler, type RembThrottlerOptions } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const errors: unknown[] = [];
 * const options: RembThrottlerOptions = {
 *   onSend: () => {
 *     throw new Error("Socket closed");
 *   },
 *   resendIntervalMs: 500,
 *   onError: (error) => errors.push(error),
 * };
 * new RembThrottler(options).onReceiveBitrateChanged([1], 300_000, 0);
 * assert.equal(errors.length, 1);
 * ```
 */
export interface RembThrottlerOptions {
  /**
   * Called synchronously with each REMB to send: the bitrate in bps and the SSRCs it applies to (an
   * empty list for a cap set by {@linkcode RembThrottler.prototype.setMaxDesiredBitrate}). The list
   * is the throttler's own frozen copy. If it throws, the error goes to `onError`.
   */
  onSend: (bitrateBps: number, ssrcs: readonly number[]) => void;
  /**
   * How long after a forwarded estimate an increase, or a decrease of less than 3 %, is dropped,
   * in ms (libwebrtc's `kRembSendInterval`).
   *
   * @default {200}
   */
  sendIntervalMs?: number;
  /**
   * Resend the last REMB at least this often, in ms; `Infinity` turns the resend off.
   *
   * @default {1000}
   */
  resendIntervalMs?: number;
  /**
   * Receives what `onSend` throws, so that a failing sender never breaks the packet path.
   *
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
}

/** A value is forwarded early only when it is below the last one by more than this margin. */
const SEND_THRESHOLD_PERCENT = 103;
const NO_SSRCS: readonly number[] = Object.freeze([]);

/**
 * Decides which bitrate estimates become REMB messages, and repeats the last one periodically.
 *
 * - An estimate is forwarded at once when it drops more than about 2.9 % below the last forwarded
 *   one, and otherwise only once `sendIntervalMs` has passed since the last forward; an estimate
 *   inside that window is dropped, not queued.
 * - A cap set with {@linkcode RembThrottler.prototype.setMaxDesiredBitrate} bounds what is sent.
 * - {@linkcode RembThrottler.prototype.process} resends the last REMB every `resendIntervalMs`.
 *
 * @example
 * ```ts
 * import { RembThrottler } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const sent: number[] = [];
 * const throttler = new RembThrottler({ onSend: (bps) => sent.push(bps) });
 * throttler.onReceiveBitrateChanged([1], 500_000, 0); // First estimate: sent.
 * throttler.onReceiveBitrateChanged([1], 520_000, 50); // Increase inside 200 ms: dropped.
 * throttler.onReceiveBitrateChanged([1], 400_000, 60); // Drop of more than 3 %: sent.
 * assert.deepEqual(sent, [500_000, 400_000]);
 * ```
 */
export class RembThrottler {
  readonly #onSend: (bitrateBps: number, ssrcs: readonly number[]) => void;
  readonly #onError: (error: unknown) => void;
  readonly #sendIntervalMs: number;
  readonly #resendIntervalMs: number;
  #maxDesiredBps = Infinity;
  // The throttling state, moved only by forwarded estimates, as in libwebrtc: the value is the
  // estimate before the cap, and a cap announcement does not restart the window.
  #lastForwardedBps = Infinity;
  #lastForwardTimeMs = -Infinity;
  // What last went to onSend, whatever the reason; this is what the resend repeats.
  #sentBps: number | undefined = undefined;
  #sentSsrcs: readonly number[] = NO_SSRCS;
  #sentTimeMs = -Infinity;

  /**
   * Creates a throttler that has sent nothing yet and has no cap.
   *
   * @param options Where REMBs go, the throttling and resend intervals, and the error sink.
   * @throws {TypeError} If `options` is not an object, or `onSend` or `onError` is not a function.
   * @throws {RangeError} If `sendIntervalMs` is not a finite non-negative number, or
   * `resendIntervalMs` is not a positive number.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new RembThrottler({ onSend: () => {}, sendIntervalMs: -1 }), RangeError);
   * ```
   */
  constructor(options: RembThrottlerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create RembThrottler as 'options' must be an object: current value is ${
          String(options)
        }`,
      );
    }
    const { onSend, sendIntervalMs = 200, resendIntervalMs = 1000, onError } = options;
    if (typeof onSend !== "function") {
      throw new TypeError(
        `Cannot create RembThrottler as 'onSend' must be a function: current type is ${typeof onSend}`,
      );
    }
    if (onError !== undefined && typeof onError !== "function") {
      throw new TypeError(
        `Cannot create RembThrottler as 'onError' must be a function: current type is ${typeof onError}`,
      );
    }
    if (typeof sendIntervalMs !== "number") {
      throw new TypeError(
        `Cannot create RembThrottler as 'sendIntervalMs' must be a number: current type is ${typeof sendIntervalMs}`,
      );
    }
    if (!Number.isFinite(sendIntervalMs) || sendIntervalMs < 0) {
      throw new RangeError(
        `Cannot create RembThrottler as 'sendIntervalMs' must be a finite non-negative number: current value is ${sendIntervalMs}`,
      );
    }
    if (typeof resendIntervalMs !== "number") {
      throw new TypeError(
        `Cannot create RembThrottler as 'resendIntervalMs' must be a number: current type is ${typeof resendIntervalMs}`,
      );
    }
    if (!(resendIntervalMs > 0)) {
      throw new RangeError(
        `Cannot create RembThrottler as 'resendIntervalMs' must be a positive number: current value is ${resendIntervalMs}`,
      );
    }
    this.#onSend = onSend;
    this.#onError = onError ?? ((error) => console.error(error));
    this.#sendIntervalMs = sendIntervalMs;
    this.#resendIntervalMs = resendIntervalMs;
  }

  /**
   * The bitrate of the last REMB handed to `onSend`, in bps, after the cap.
   *
   * @returns The value, or `undefined` before the first send.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const throttler = new RembThrottler({ onSend: () => {} });
   * assert.equal(throttler.lastSentBitrateBps, undefined);
   * throttler.setMaxDesiredBitrate(300_000, 0);
   * throttler.onReceiveBitrateChanged([1], 500_000, 10);
   * assert.equal(throttler.lastSentBitrateBps, 300_000);
   * ```
   */
  get lastSentBitrateBps(): number | undefined {
    return this.#sentBps;
  }

  /**
   * The cap set by {@linkcode RembThrottler.prototype.setMaxDesiredBitrate}, in bps.
   *
   * @returns The cap, or `Infinity` while none is set.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const throttler = new RembThrottler({ onSend: () => {} });
   * assert.equal(throttler.maxDesiredBitrateBps, Infinity);
   * throttler.setMaxDesiredBitrate(300_000, 0);
   * assert.equal(throttler.maxDesiredBitrateBps, 300_000);
   * ```
   */
  get maxDesiredBitrateBps(): number {
    return this.#maxDesiredBps;
  }

  /**
   * Takes a new estimate from the bandwidth estimator and forwards it unless it is throttled.
   *
   * It is dropped when `⌊bitrateBps × 103 / 100⌋` exceeds the last forwarded estimate and
   * `nowMs` is less than `sendIntervalMs` after that forward. Otherwise it is recorded and
   * `min(bitrateBps, maxDesiredBitrateBps)` is sent with a copy of `ssrcs`, cut to the first
   * {@linkcode MAX_REMB_SSRCS} (255, all a REMB can list) when there are more.
   *
   * @param ssrcs The media SSRCs the estimate covers (copied when sent; the caller may reuse it).
   * @param bitrateBps The estimate in bps, a non-negative safe integer.
   * @param nowMs The current time in ms, on the caller's clock.
   * @throws {TypeError} If `ssrcs` is not an array or an argument is not a number.
   * @throws {RangeError} If an SSRC is not a 32-bit unsigned integer, `bitrateBps` is not a
   * non-negative safe integer, or `nowMs` is not finite.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const sent: [number, readonly number[]][] = [];
   * const throttler = new RembThrottler({ onSend: (bps, ssrcs) => sent.push([bps, ssrcs]) });
   * throttler.onReceiveBitrateChanged([1, 2], 500_000, 0);
   * throttler.onReceiveBitrateChanged([1, 2], 600_000, 199); // Still inside the window.
   * throttler.onReceiveBitrateChanged([1, 2], 600_000, 200);
   * assert.deepEqual(sent, [[500_000, [1, 2]], [600_000, [1, 2]]]);
   * ```
   */
  onReceiveBitrateChanged(ssrcs: readonly number[], bitrateBps: number, nowMs: number): void {
    checkSsrcs(ssrcs);
    checkBitrate(bitrateBps, "forward REMB");
    checkTime(nowMs, "forward REMB");
    if (
      Math.floor(bitrateBps * SEND_THRESHOLD_PERCENT / 100) > this.#lastForwardedBps &&
      nowMs < this.#lastForwardTimeMs + this.#sendIntervalMs
    ) {
      return;
    }
    this.#lastForwardedBps = bitrateBps;
    this.#lastForwardTimeMs = nowMs;
    this.#send(Math.min(bitrateBps, this.#maxDesiredBps), copyOf(ssrcs, this.#sentSsrcs), nowMs);
  }

  /**
   * Sets a cap on the bitrates sent, and announces it at once with an empty SSRC list.
   *
   * The announcement is skipped when an estimate was forwarded less than `sendIntervalMs` ago and
   * that estimate is non-zero and no greater than the cap, since the cap then changes nothing.
   *
   * @param bitrateBps The cap in bps, a non-negative safe integer.
   * @param nowMs The current time in ms, on the caller's clock.
   * @throws {TypeError} If an argument is not a number.
   * @throws {RangeError} If `bitrateBps` is not a non-negative safe integer, or `nowMs` is not
   * finite.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const sent: [number, readonly number[]][] = [];
   * const throttler = new RembThrottler({ onSend: (bps, ssrcs) => sent.push([bps, ssrcs]) });
   * throttler.setMaxDesiredBitrate(250_000, 0);
   * throttler.onReceiveBitrateChanged([1], 500_000, 10);
   * assert.deepEqual(sent, [[250_000, []], [250_000, [1]]]);
   * ```
   */
  setMaxDesiredBitrate(bitrateBps: number, nowMs: number): void {
    checkBitrate(bitrateBps, "set the maximum REMB bitrate");
    checkTime(nowMs, "set the maximum REMB bitrate");
    this.#maxDesiredBps = bitrateBps;
    if (
      nowMs - this.#lastForwardTimeMs < this.#sendIntervalMs &&
      this.#lastForwardedBps !== 0 &&
      this.#lastForwardedBps <= bitrateBps
    ) {
      return;
    }
    this.#send(bitrateBps, NO_SSRCS, nowMs);
  }

  /**
   * Resends the last REMB, with its SSRC list, once `resendIntervalMs` has passed since anything
   * was last sent.
   *
   * This mirrors libwebrtc, where the RTCP sender keeps the last REMB as a non-volatile item and
   * appends it to every regular RTCP report (about once a second for video), so a lost REMB is
   * repaired without waiting for the estimate to change. The resend does not touch the
   * throttling window.
   *
   * @param nowMs The current time in ms, on the caller's clock.
   * @returns How many ms from `nowMs` the next resend is due; `Infinity` while nothing has been
   * sent or when the resend is off.
   * @throws {TypeError} If `nowMs` is not a number.
   * @throws {RangeError} If `nowMs` is not finite.
   * @example
   * ```ts
   * import { RembThrottler } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * let sends = 0;
   * const throttler = new RembThrottler({ onSend: () => sends++ });
   * assert.equal(throttler.process(0), Infinity);
   * throttler.onReceiveBitrateChanged([1], 500_000, 0);
   * assert.equal(throttler.process(400), 600);
   * assert.equal(throttler.process(1000), 1000);
   * assert.equal(sends, 2);
   * ```
   */
  process(nowMs: number): number {
    checkTime(nowMs, "process REMB resends");
    if (this.#sentBps === undefined) return Infinity;
    if (nowMs - this.#sentTimeMs >= this.#resendIntervalMs) {
      this.#send(this.#sentBps, this.#sentSsrcs, nowMs);
    }
    return this.#sentTimeMs + this.#resendIntervalMs - nowMs;
  }

  #send(bitrateBps: number, ssrcs: readonly number[], nowMs: number): void {
    this.#sentBps = bitrateBps;
    this.#sentSsrcs = ssrcs;
    this.#sentTimeMs = nowMs;
    try {
      this.#onSend(bitrateBps, ssrcs);
    } catch (error) {
      try {
        this.#onError(error);
      } catch (reportError) {
        // The error sink itself failed; the caller must still not see it.
        console.error(reportError);
      }
    }
  }
}

/**
 * Returns a frozen copy of the first (up to) 255 of `ssrcs`, or `previous` when it already holds
 * the same SSRCs.
 */
function copyOf(ssrcs: readonly number[], previous: readonly number[]): readonly number[] {
  const length = Math.min(ssrcs.length, MAX_REMB_SSRCS);
  if (length === previous.length) {
    let same = true;
    for (let i = 0; i < length && same; i++) same = ssrcs[i] === previous[i];
    if (same) return previous;
  }
  return length === 0 ? NO_SSRCS : Object.freeze(ssrcs.slice(0, length));
}

function checkSsrcs(ssrcs: readonly number[]): void {
  if (!Array.isArray(ssrcs)) {
    throw new TypeError(
      `Cannot forward REMB as 'ssrcs' must be an array: current type is ${typeof ssrcs}`,
    );
  }
  for (let i = 0; i < ssrcs.length; i++) checkU32(ssrcs[i], "forward REMB", "ssrcs", i);
}

/**
 * Checks a bitrate argument.
 *
 * @param bitrateBps The value.
 * @param action What it is for, in the error message.
 * @throws {TypeError} Not a number.
 * @throws {RangeError} Not a non-negative safe integer.
 */
export function checkBitrate(bitrateBps: number, action: string): void {
  if (typeof bitrateBps !== "number") {
    throw new TypeError(
      `Cannot ${action} as 'bitrateBps' must be a number: current type is ${typeof bitrateBps}`,
    );
  }
  if (!Number.isSafeInteger(bitrateBps) || bitrateBps < 0) {
    throw new RangeError(
      `Cannot ${action} as 'bitrateBps' must be a non-negative safe integer: current value is ${bitrateBps}`,
    );
  }
}

function checkTime(nowMs: number, action: string): void {
  if (typeof nowMs !== "number") {
    throw new TypeError(
      `Cannot ${action} as 'nowMs' must be a number: current type is ${typeof nowMs}`,
    );
  }
  if (!Number.isFinite(nowMs)) {
    throw new RangeError(
      `Cannot ${action} as 'nowMs' must be a finite number: current value is ${nowMs}`,
    );
  }
}
