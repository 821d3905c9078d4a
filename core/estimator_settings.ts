/**
 * The estimator settings that the inline estimator and the coordinators share, their defaults and
 * their validation. The defaults are libwebrtc's where libwebrtc has one (filter, bounds floor,
 * stream timeout); `grouping` defaults to per-stream, which differs from libwebrtc's one transport
 * pipeline as soon as there is more than one stream, and the 30 Mbit/s ceiling is this project's
 * (libwebrtc's receiver has none).
 *
 * @module
 */

import { msToUs } from "./_math.ts";
import type { Grouping } from "./abs_send_time_estimator.ts";
import { AimdRateControl } from "./aimd_rate_control.ts";
import type { DelayFilter } from "./delay_pipeline.ts";
import {
  DEFAULT_MECHANISMS,
  type EnhancedMechanisms,
  EnhancedRateControl,
} from "./enhanced_rate_control.ts";
import type { RateController } from "./rate_controller.ts";

/**
 * How the estimate is made: `"libwebrtc"` is Chrome's own REMB receiver, bit-exact;
 * `"enhanced"` keeps its delay pipeline and REMB but adds stages of its own (core/ramp_up.ts,
 * core/queue_drain.ts, …) that fill the link faster and keep its queue shorter.
 */
export type Profile = "libwebrtc" | "enhanced";

/** Settings of the estimator itself, wherever it runs. */
export interface EstimatorSettings {
  /**
   * `"libwebrtc"`: libwebrtc's receive-side estimator, bit-exact. `"enhanced"`: the same delay
   * pipeline and REMB, with the estimate driven by the measured standing queue and delivery rate
   * (a delay-gated fast ramp, a decrease that drains the queue, probe clusters for the whole call).
   * Streams without abs-send-time get libwebrtc's controller in either profile.
   *
   * @default {"libwebrtc"}
   */
  profile?: Profile;
  /**
   * Which stages the enhanced profile runs, each on unless turned off here (a stage that is off
   * behaves as libwebrtc's), for measuring what each contributes. Ignored by `"libwebrtc"`.
   *
   * @default {{}}
   */
  enhancedMechanisms?: Partial<EnhancedMechanisms>;
  /**
   * With abs-send-time: run one delay pipeline per SSRC (the most severe verdict wins) or one for the
   * whole transport (libwebrtc's RemoteBitrateEstimatorAbsSendTime). Both give identical results
   * with one stream.
   *
   * @default {"per-stream"}
   */
  grouping?: Grouping;
  /**
   * The delay filter: libwebrtc's receive-side Kalman filter, or the send-side trendline filter.
   *
   * @default {"kalman"}
   */
  filter?: DelayFilter;
  /**
   * Regression window of the trendline filter, 10–200 deltas.
   *
   * @default {20}
   */
  trendlineWindowSize?: number;
  /**
   * Floor of the estimate in bps.
   *
   * @default {5000}
   */
  minBitrateBps?: number;
  /**
   * Ceiling of the estimate in bps. libwebrtc's receiver has no ceiling of its own; this one bounds
   * what an overestimate (a misread probe, a clock jump) can announce.
   *
   * @default {30000000}
   */
  maxBitrateBps?: number;
  /**
   * A starting estimate in bps, valid at once. Without it the first estimate comes from a probe, an
   * overuse or 5 s of measured incoming rate, as in libwebrtc.
   *
   * @default {undefined}
   */
  startBitrateBps?: number;
  /**
   * Silence after which an SSRC stops counting, in milliseconds.
   *
   * @default {2000}
   */
  streamTimeoutMs?: number;
}

/** {@linkcode EstimatorSettings} with defaults applied. */
export interface ResolvedSettings {
  /** The estimation profile. */
  profile: Profile;
  /** The enhanced stages that run (all of them for `"libwebrtc"`, which ignores them). */
  enhancedMechanisms: Readonly<EnhancedMechanisms>;
  /** Lane per SSRC or per transport. */
  grouping: Grouping;
  /** The delay filter. */
  filter: DelayFilter;
  /** Trendline regression window. */
  trendlineWindowSize: number;
  /** Floor of the estimate, bps. */
  minBitrateBps: number;
  /** Ceiling of the estimate, bps. */
  maxBitrateBps: number;
  /** Starting estimate, bps, if any. */
  startBitrateBps: number | undefined;
  /** Stream timeout, µs. */
  streamTimeoutUs: number;
}

/**
 * Checks an optional string option against its choices.
 *
 * @param subject What is being created, for the message ("estimator").
 * @param name The option.
 * @param value Its value.
 * @param choices The allowed strings.
 * @throws {TypeError} Not a string.
 * @throws {RangeError} Not one of the choices.
 * @example
 * ```ts
 * import { checkChoice } from "./estimator_settings.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkChoice("estimator", "filter", "fast", ["kalman"]), RangeError);
 * ```
 */
export function checkChoice(
  subject: string,
  name: string,
  value: unknown,
  choices: readonly string[],
): void {
  if (value === undefined || choices.includes(value as string)) return;
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot create ${subject} as '${name}' must be a string: current type is ${typeof value}`,
    );
  }
  throw new RangeError(
    `Cannot create ${subject} as '${name}' must be one of ${
      choices.map((c) => `"${c}"`).join(", ")
    }: current value is "${value}"`,
  );
}

/**
 * Checks an optional numeric option against a range.
 *
 * @param subject What is being created, for the message.
 * @param name The option.
 * @param value Its value.
 * @param range Inclusive bounds, and whether it must be an integer.
 * @throws {TypeError} Not a number.
 * @throws {RangeError} Out of range, or not an integer when one is needed.
 * @example
 * ```ts
 * import { checkRange } from "./estimator_settings.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => checkRange("coordinator", "batchSize", 0.5, { min: 1, max: 64, integer: true }),
 *   RangeError,
 * );
 * ```
 */
export function checkRange(
  subject: string,
  name: string,
  value: unknown,
  range: { min: number; max: number; integer: boolean },
): void {
  if (value === undefined) return;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create ${subject} as '${name}' must be a number: current type is ${typeof value}`,
    );
  }
  if (!(value >= range.min && value <= range.max) || (range.integer && !Number.isInteger(value))) {
    throw new RangeError(
      `Cannot create ${subject} as '${name}' must be ${
        range.integer ? "an integer" : "a number"
      } in [${range.min}, ${range.max}]: current value is ${value}`,
    );
  }
}

/**
 * Checks that optional options are functions.
 *
 * @param subject What is being created, for the message.
 * @param options The options object.
 * @param names The options that must be functions when given.
 * @throws {TypeError} One is given but is not a function.
 * @example
 * ```ts
 * import { checkFunctions } from "./estimator_settings.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkFunctions("estimator", { onEstimate: 1 }, ["onEstimate"]), TypeError);
 * ```
 */
export function checkFunctions(
  subject: string,
  options: Record<string, unknown>,
  names: readonly string[],
): void {
  for (const name of names) {
    if (options[name] !== undefined && typeof options[name] !== "function") {
      throw new TypeError(`Cannot create ${subject} as '${name}' must be a function`);
    }
  }
}

/**
 * Validates the settings and applies the defaults.
 *
 * @param subject What is being created, for error messages ("estimator", "coordinator").
 * @param settings The settings given.
 * @returns Complete settings.
 * @throws {TypeError} A setting has the wrong type.
 * @throws {RangeError} A setting is out of range, or the bitrate bounds contradict each other.
 * @example
 * ```ts
 * import { resolveSettings } from "./estimator_settings.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveSettings("estimator", {}).streamTimeoutUs, 2_000_000);
 * assert.throws(() => resolveSettings("estimator", { minBitrateBps: 9, maxBitrateBps: 8 }));
 * ```
 */
export function resolveSettings(subject: string, settings: EstimatorSettings): ResolvedSettings {
  if (typeof settings !== "object" || settings === null) {
    throw new TypeError(`Cannot create ${subject} as 'options' must be an object`);
  }
  checkChoice(subject, "grouping", settings.grouping, ["per-stream", "transport"]);
  checkChoice(subject, "filter", settings.filter, ["kalman", "trendline"]);
  checkChoice(subject, "profile", settings.profile, ["libwebrtc", "enhanced"]);
  const mechanisms = settings.enhancedMechanisms;
  if (mechanisms !== undefined) {
    if (typeof mechanisms !== "object" || mechanisms === null) {
      throw new TypeError(
        `Cannot create ${subject} as 'enhancedMechanisms' must be an object: current type is ${typeof mechanisms}`,
      );
    }
    for (const [name, on] of Object.entries(mechanisms)) {
      if (!(name in DEFAULT_MECHANISMS)) {
        throw new RangeError(
          `Cannot create ${subject} as 'enhancedMechanisms' must name only ${
            Object.keys(DEFAULT_MECHANISMS).join(", ")
          }: current key is "${name}"`,
        );
      }
      if (on !== undefined && typeof on !== "boolean") {
        throw new TypeError(
          `Cannot create ${subject} as 'enhancedMechanisms.${name}' must be a boolean: current type is ${typeof on}`,
        );
      }
    }
  }
  const bitrate = { min: 1, max: 1e12, integer: true };
  checkRange(subject, "trendlineWindowSize", settings.trendlineWindowSize, {
    min: 10,
    max: 200,
    integer: true,
  });
  checkRange(subject, "minBitrateBps", settings.minBitrateBps, bitrate);
  checkRange(subject, "maxBitrateBps", settings.maxBitrateBps, bitrate);
  checkRange(subject, "startBitrateBps", settings.startBitrateBps, bitrate);
  checkRange(subject, "streamTimeoutMs", settings.streamTimeoutMs, {
    min: 1,
    max: 86_400_000,
    integer: false,
  });
  const minBitrateBps = settings.minBitrateBps ?? 5_000;
  const maxBitrateBps = settings.maxBitrateBps ?? 30_000_000;
  if (minBitrateBps > maxBitrateBps) {
    throw new RangeError(
      `Cannot create ${subject} as 'minBitrateBps' must not exceed 'maxBitrateBps': current values are ${minBitrateBps} and ${maxBitrateBps}`,
    );
  }
  const start = settings.startBitrateBps;
  if (start !== undefined && (start < minBitrateBps || start > maxBitrateBps)) {
    throw new RangeError(
      `Cannot create ${subject} as 'startBitrateBps' must lie between 'minBitrateBps' and 'maxBitrateBps': current values are ${start}, ${minBitrateBps} and ${maxBitrateBps}`,
    );
  }
  return {
    profile: settings.profile ?? "libwebrtc",
    enhancedMechanisms: Object.freeze({ ...DEFAULT_MECHANISMS, ...mechanisms }),
    grouping: settings.grouping ?? "per-stream",
    filter: settings.filter ?? "kalman",
    trendlineWindowSize: settings.trendlineWindowSize ?? 20,
    minBitrateBps,
    maxBitrateBps,
    startBitrateBps: start,
    streamTimeoutUs: msToUs(settings.streamTimeoutMs ?? 2000),
  };
}

/**
 * A fresh rate controller for the settings, carrying a known round-trip time over: libwebrtc's
 * AIMD, or with the enhanced profile and abs-send-time the enhanced controller.
 *
 * @param settings Resolved settings.
 * @param rttMs The last RTT set, if any.
 * @param absSendTime Whether the estimator has abs-send-time (the enhanced stages need send times).
 * @returns The controller.
 * @example
 * ```ts
 * import { newRateControl, resolveSettings } from "./estimator_settings.ts";
 * import assert from "node:assert/strict";
 * const aimd = newRateControl(resolveSettings("estimator", { startBitrateBps: 300_000 }), 50);
 * assert.equal(aimd.latestEstimateBps, 300_000);
 * assert.equal(aimd.rttMs, 50);
 * ```
 */
export function newRateControl(
  settings: ResolvedSettings,
  rttMs: number | undefined,
  absSendTime = false,
): RateController {
  const bounds = { minBitrateBps: settings.minBitrateBps, maxBitrateBps: settings.maxBitrateBps };
  const aimd = settings.profile === "enhanced" && absSendTime
    ? new EnhancedRateControl({ ...bounds, mechanisms: settings.enhancedMechanisms })
    : new AimdRateControl(bounds);
  if (settings.startBitrateBps !== undefined) aimd.setStartBitrate(settings.startBitrateBps);
  if (rttMs !== undefined) aimd.setRtt(rttMs);
  return aimd;
}
