/**
 * The interceptor's options, their defaults and their validation. The estimator, REMB and host
 * settings are the coordinator's own options, nested under `coordinator`; the interceptor adds only
 * what is its own (which streams to estimate, where to log, the off-thread choice).
 *
 * @module
 */

import { checkReceiverRttOptions, type ReceiverRttOptions } from "../core/receiver_rtt.ts";
import { checkCoordinatorOptions, type CoordinatorOptions } from "../workers/coordinator.ts";
import type { OffThreadCoordinatorOptions } from "../workers/off_thread.ts";
import type { StreamInfo } from "./interceptor.ts";
import type { EstimatorInterceptor } from "./estimator_interceptor.ts";

/** Where the interceptor reports what went wrong; `console` is one. */
export interface Logger {
  /** Something failed outside the interceptor (a writer) and the interceptor carried on. */
  warn(message: string, ...data: unknown[]): void;
  /** Something failed inside (a listener, the estimator) and the interceptor carried on. */
  error(message: string, ...data: unknown[]): void;
}

/**
 * The coordinator options an interceptor passes on: all of {@linkcode CoordinatorOptions} (and
 * `ringCapacity` with `offThread`) but the callbacks, which the interceptor owns.
 */
export type InterceptorCoordinatorOptions = Omit<
  OffThreadCoordinatorOptions,
  "onEstimate" | "onRemb" | "onEvent" | "onError"
>;

/** Options of {@linkcode EstimatorInterceptorFactory}; every interceptor it makes gets them. */
export interface EstimatorInterceptorOptions {
  /**
   * The coordinator's options: estimator settings, host, batching, limits, REMB sender SSRC and
   * interval, clock and timers. Two defaults differ from a bare coordinator's: the start-phase REMB
   * is on (`startRembBps` 1 Mbit/s, or `maxBitrateBps` when lower), because Chromium adopts a REMB
   * received in its first ~2 s of media as its starting estimate; and the clock also stamps
   * arrivals.
   *
   * @default {{}}
   */
  coordinator?: InterceptorCoordinatorOptions;
  /**
   * Runs the coordinator in a worker of its own (`OffThreadCoordinator`): the receiving thread then
   * only checks each packet and writes it into shared memory, and estimates arrive as messages, up
   * to one flush interval later.
   *
   * @default {false}
   */
  offThread?: boolean;
  /**
   * Which bound streams are estimated; the others are passed through untouched. A stream without
   * abs-send-time or abs-capture-time is estimated from RTP timestamps, which assumes a 90 kHz
   * clock as libwebrtc does, so such a stream with another clock rate is always passed through.
   *
   * @default {video streams: a `mimeType` starting with "video/"}
   */
  estimateStream?: (info: StreamInfo) => boolean;
  /**
   * Receives writer failures (`warn`) and errors inside (`error`), each cause at most once a second;
   * all are counted in the stats.
   *
   * @default {console}
   */
  logger?: Logger;
  /** Called with each interceptor the factory makes, before it sees any packet. */
  onNewInterceptor?: (id: string, interceptor: EstimatorInterceptor) => void;
  /**
   * The round-trip time measured with RTCP XR (RFC 3611): a REMB goes out as a compound behind a
   * Receiver Reference Time block, sent from the REMB's sender SSRC, whenever one is due
   * (`intervalMs`), and the sender's
   * DLRR answers, read through {@linkcode EstimatorInterceptor.prototype.bindRTCPReader}, set the
   * rate controller's RTT (libwebrtc's AIMD paces its additive increase by it; 200 ms until one is
   * known). `false` sends no RRTR and leaves the RTT to
   * {@linkcode EstimatorInterceptor.prototype.setRtt}.
   *
   * @default {{}}
   */
  receiverRtt?: ReceiverRttOptions | false;
}

/** What the interceptor announces until the first estimate when `startRembBps` is not given. */
export const DEFAULT_START_REMB_BPS = 1_000_000;

/** Streams estimated when `estimateStream` is not given: video. */
export const defaultEstimateStream = (info: StreamInfo): boolean =>
  info.mimeType.toLowerCase().startsWith("video/");

/**
 * The coordinator options the interceptor's coordinator is built with (callbacks aside): the
 * given ones and the interceptor's start-phase default.
 *
 * @param options The interceptor's options.
 * @returns Coordinator options.
 */
export function coordinatorOptionsOf(
  options: EstimatorInterceptorOptions,
): InterceptorCoordinatorOptions {
  const given = options.coordinator ?? {};
  const maxBitrateBps = given.maxBitrateBps ?? checkCoordinatorOptions({}).settings.maxBitrateBps;
  return {
    ...given,
    startRembBps: given.startRembBps ?? Math.min(DEFAULT_START_REMB_BPS, maxBitrateBps),
  };
}

/**
 * Validates the interceptor's options, the nested coordinator options included, without creating
 * anything.
 *
 * @param options The options.
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} An option is out of range, or two contradict each other.
 * @example
 * ```ts
 * import { checkInterceptorOptions } from "./interceptor_options.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkInterceptorOptions({ coordinator: { batchSize: 0 } }), RangeError);
 * assert.throws(() => checkInterceptorOptions({ offThread: 1 as unknown as boolean }), TypeError);
 * ```
 */
export function checkInterceptorOptions(options: EstimatorInterceptorOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create interceptor as 'options' must be an object");
  }
  const { coordinator, estimateStream, logger, onNewInterceptor, offThread, receiverRtt } = options;
  if (coordinator !== undefined && (typeof coordinator !== "object" || coordinator === null)) {
    throw new TypeError(
      `Cannot create interceptor as 'coordinator' must be an object: current type is ${typeof coordinator}`,
    );
  }
  for (
    const [name, value] of [["estimateStream", estimateStream], [
      "onNewInterceptor",
      onNewInterceptor,
    ]] as const
  ) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot create interceptor as '${name}' must be a function: current type is ${typeof value}`,
      );
    }
  }
  if (logger !== undefined) {
    const object = logger as unknown as Record<string, unknown>;
    if (
      typeof logger !== "object" || logger === null || typeof object.warn !== "function" ||
      typeof object.error !== "function"
    ) {
      throw new TypeError(
        "Cannot create interceptor as 'logger' must have the methods warn, error",
      );
    }
  }
  if (offThread !== undefined && typeof offThread !== "boolean") {
    throw new TypeError(
      `Cannot create interceptor as 'offThread' must be a boolean: current type is ${typeof offThread}`,
    );
  }
  if (receiverRtt !== undefined && receiverRtt !== false) {
    if (typeof receiverRtt !== "object" || receiverRtt === null) {
      throw new TypeError(
        `Cannot create interceptor as 'receiverRtt' must be an object or false: current value is ${
          String(receiverRtt)
        }`,
      );
    }
    checkReceiverRttOptions(receiverRtt);
  }
  // The coordinator's own rules, checked now rather than at the first connection.
  checkCoordinatorOptions(coordinatorOptionsOf(options) as CoordinatorOptions);
}
