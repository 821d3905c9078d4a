/**
 * The receive-side controller (libwebrtc's `ReceiveSideCongestionController`, reference §1 and §11):
 * picks the estimator from the packets' header extensions and switches after 30 packets without
 * abs-send-time, runs the abs-send-time or the single-stream (RTP timestamp) estimator over records
 * that already carry their lane's verdict, owns the rate controller and the REMB throttler with the
 * start-phase announcement and the application's cap, and encodes every REMB.
 *
 * It has no clock and no timer. Its callers feed it in two orders that may be apart in time:
 * - arrival order, as packets are received: {@linkcode ReceiveSideController.selectEstimator} and
 *   {@linkcode ReceiveSideController.onNewStream};
 * - replay order, once each record's lane has given its verdict:
 *   {@linkcode ReceiveSideController.startEstimator}, {@linkcode ReceiveSideController.onRecord},
 *   {@linkcode ReceiveSideController.processEstimator} and
 *   {@linkcode ReceiveSideController.removeStream};
 * and time, through {@linkcode ReceiveSideController.process}. The inline estimator replays at
 * once; the coordinators replay when their hosts' verdicts come back.
 *
 * @module
 */

import { callSafely } from "./_callbacks.ts";
import { usToMs } from "./_math.ts";
import { AbsSendTimeEstimator } from "./abs_send_time_estimator.ts";
import type { EstimatorBase, EstimatorStream } from "./estimator_base.ts";
import { type EnhancedFigures, EnhancedRateControl } from "./enhanced_rate_control.ts";
import { EstimatorSelector } from "./estimator_selector.ts";
import { newRateControl, type ResolvedSettings } from "./estimator_settings.ts";
import type { EstimatorKind } from "./lane_table.ts";
import type { PacketBatch } from "./packet_batch.ts";
import type { RateController } from "./rate_controller.ts";
import { encodeRemb, MAX_REMB_SSRCS } from "./remb.ts";
import { RembThrottler } from "./remb_throttler.ts";
import { SingleStreamEstimator } from "./single_stream_estimator.ts";
import type { BandwidthUsage, RateControlState } from "./types.ts";

/** Why a REMB was sent: the start-phase announcement, or the estimator (an estimate or a cap). */
export type RembSource = "start" | "estimator";

/**
 * Who decides the REMB: `"waiting"` for the first packet, `"start"` while the start bitrate is
 * announced (only with `startRembBps`), then `"estimating"`.
 */
export type RembPhase = "waiting" | "start" | "estimating";

/** Called with each REMB packet to send, its bitrate, its SSRCs and why it was sent. */
export type RembCallback = (
  packet: Uint8Array,
  bitrateBps: number,
  ssrcs: readonly number[],
  source: RembSource,
) => void;

/** How the controller sends REMB. */
export interface RembPolicy {
  /** SSRC the REMB packets are sent from. */
  senderSsrc: number;
  /** Longest time between two REMB packets while an estimate exists, ms. */
  resendIntervalMs: number;
  /**
   * A bitrate to announce from the first packet until the first estimate, repeated every
   * `min(resendIntervalMs, 250)` ms, for senders that need a REMB early; `undefined` sends nothing
   * before the first estimate but a cap, as libwebrtc.
   */
  startRembBps: number | undefined;
}

/** Options of {@linkcode ReceiveSideController}. */
export interface ReceiveSideControllerOptions {
  /** The estimator settings, resolved. */
  settings: ResolvedSettings;
  /** The REMB policy. */
  remb: RembPolicy;
  /** Called with each estimate and the SSRCs it covers (ascending, frozen). */
  onEstimate?: (bitrateBps: number, ssrcs: number[]) => void;
  /** Called with each REMB packet. */
  onRemb?: RembCallback;
  /**
   * Called when the single-stream estimator timed streams out at `nowUs`, so that the caller ends
   * their lanes at the same point (libwebrtc ends a stream's pipeline with its stream).
   */
  onStreamsExpired?: (nowUs: number) => void;
  /** Receives what a callback threw. */
  onError: (error: unknown) => void;
}

/**
 * The controller's figures, which every front end's statistics start with. A figure that has no
 * value yet is `undefined` here and in every statistics object of the package, never 0.
 */
export interface ControllerState {
  /** The active estimator, or `undefined` before the first packet was replayed. */
  mode: EstimatorKind | undefined;
  /** The estimate in bps; `undefined` without a valid estimate or active stream. */
  estimateBps: number | undefined;
  /** Fused detector state. */
  usage: BandwidthUsage;
  /** State of the AIMD controller. */
  rateControlState: RateControlState;
  /** Incoming rate over the last second at the last replayed packet, bps; `undefined` while unknown. */
  incomingRateBps: number | undefined;
  /** Round-trip time the rate controller uses, ms. */
  rttMs: number;
  /** Link-capacity estimate in bps, when the rate controller has one. */
  linkCapacityBps: number | undefined;
  /** Times the estimator switched between abs-send-time and RTP timestamps. */
  modeSwitches: number;
  /**
   * With the enhanced profile only: what its controller measured, or `undefined` while it does not
   * run (before the first packet, or with RTP timestamps).
   */
  enhanced?: EnhancedFigures | undefined;
}

const START_REMB_INTERVAL_MS = 250;
const NO_SSRCS: readonly number[] = Object.freeze([]);

/**
 * Estimator selection, the two estimators, AIMD and REMB, fed records with their lanes' verdicts.
 *
 * @example
 * ```ts
 * import { ReceiveSideController } from "@rbe/receiver-gcc";
 * import { resolveSettings } from "./estimator_settings.ts";
 * import { decodeRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const rembs: number[] = [];
 * const controller = new ReceiveSideController({
 *   settings: resolveSettings("estimator", {}),
 *   remb: { senderSsrc: 1, resendIntervalMs: 1000, startRembBps: 500_000 },
 *   onRemb: (packet) => rembs.push(decodeRemb(packet).bitrateBps),
 *   onError: console.error,
 * });
 * assert.equal(controller.selectEstimator(true), true); // The first packet picks abs-send-time.
 * controller.onNewStream(0x1234, 1000);
 * assert.deepEqual(rembs, [500_000]); // The start bitrate goes out at the first packet.
 * assert.equal(controller.phase, "start");
 * ```
 */
export class ReceiveSideController {
  readonly #settings: ResolvedSettings;
  readonly #remb: RembPolicy;
  readonly #onEstimate: ReceiveSideControllerOptions["onEstimate"];
  readonly #onRemb: RembCallback | undefined;
  readonly #onStreamsExpired: ((nowUs: number) => void) | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #selector = new EstimatorSelector();
  readonly #throttler: RembThrottler;
  readonly #emit = (bitrateBps: number, ssrcs: number[]): void => this.#estimate(bitrateBps, ssrcs);
  readonly #expire = (nowUs: number): void => this.#onStreamsExpired?.(nowUs);
  #aimd: RateController;
  // The enhanced profile's controller when it runs (abs-send-time), fed every record.
  #enhanced: EnhancedRateControl | undefined;
  #estimator: EstimatorBase | undefined;
  #abs: AbsSendTimeEstimator | undefined;
  #rtp: SingleStreamEstimator | undefined;
  // NaN until set: a field that may hold `undefined` would box each RTT set.
  #rttMs = NaN;
  // Replay position: the receiver clock of the record or step being replayed, µs.
  #nowUs = 0;
  // The last record's arrival time, µs: the abs-send-time estimator keys its rate on it.
  #arrivalUs = 0;

  // Start phase: the SSRCs seen so far (ascending, at most 255) and when to announce again.
  #phase: RembPhase = "waiting";
  #seen: readonly number[] = NO_SSRCS;
  #nextStartMs = 0;
  readonly #startIntervalMs: number;
  #rembsSent = 0;
  #lastRembBps: number | undefined;

  /**
   * Creates a controller that has seen nothing.
   *
   * @param options Settings, REMB policy and callbacks.
   */
  constructor(options: ReceiveSideControllerOptions) {
    this.#settings = options.settings;
    this.#remb = options.remb;
    this.#onEstimate = options.onEstimate;
    this.#onRemb = options.onRemb;
    this.#onStreamsExpired = options.onStreamsExpired;
    this.#onError = options.onError;
    this.#startIntervalMs = Math.min(options.remb.resendIntervalMs, START_REMB_INTERVAL_MS);
    this.#aimd = newRateControl(this.#settings, undefined);
    this.#throttler = new RembThrottler({
      resendIntervalMs: options.remb.resendIntervalMs,
      onSend: (bitrateBps, ssrcs) => this.#fromThrottler(bitrateBps, ssrcs),
      onError: options.onError,
    });
  }

  // --- arrival order ------------------------------------------------------------------------------

  /**
   * Picks the estimator for a packet (libwebrtc's `PickEstimatorFromHeader`): abs-send-time as soon
   * as a packet carries it, RTP timestamps for a first packet without it or after 30 in a row
   * without it.
   *
   * @param hasAbsSendTime Whether the packet carries abs-send-time.
   * @returns Whether a fresh estimator starts with this packet: the caller resets its lanes and
   * calls {@linkcode ReceiveSideController.startEstimator} at this point of its replay.
   */
  selectEstimator(hasAbsSendTime: boolean): boolean {
    return this.#selector.onPacket(hasAbsSendTime);
  }

  /** The estimator packets are being admitted for, or `undefined` before the first packet. */
  get selectedKind(): EstimatorKind | undefined {
    return this.#selector.kind;
  }

  /** Times the estimator switched between abs-send-time and RTP timestamps. */
  get modeSwitches(): number {
    return this.#selector.switches;
  }

  /**
   * A stream's first packet was admitted (or its first after it timed out): it joins the
   * start-phase REMB, and the very first one starts that phase.
   *
   * @param ssrc The stream.
   * @param nowMs Receiver clock, ms.
   */
  onNewStream(ssrc: number, nowMs: number): void {
    if (this.#phase === "estimating" || this.#remb.startRembBps === undefined) return;
    const seen = this.#seen;
    if (seen.length < MAX_REMB_SSRCS && !seen.includes(ssrc)) {
      this.#seen = Object.freeze([...seen, ssrc].sort((a, b) => a - b));
    }
    if (this.#phase === "waiting") {
      this.#phase = "start";
      this.#announceStart(nowMs);
    }
  }

  /**
   * The application removed a stream: it leaves the start-phase REMB at once.
   *
   * @param ssrc The stream.
   */
  onStreamRemoved(ssrc: number): void {
    if (this.#seen.includes(ssrc)) this.#seen = Object.freeze(this.#seen.filter((s) => s !== ssrc));
  }

  // --- replay order -------------------------------------------------------------------------------

  /**
   * Starts a fresh estimator of `kind` with a fresh rate controller (keeping the RTT), at the
   * point of the replay where the selection changed.
   *
   * @param kind The estimator.
   */
  startEstimator(kind: EstimatorKind): void {
    const abs = kind === "abs-send-time";
    this.#aimd = newRateControl(
      this.#settings,
      Number.isNaN(this.#rttMs) ? undefined : this.#rttMs,
      abs,
    );
    this.#enhanced = this.#aimd instanceof EnhancedRateControl ? this.#aimd : undefined;
    const common = {
      streamTimeoutUs: this.#settings.streamTimeoutUs,
      aimd: this.#aimd,
      onEstimate: this.#emit,
    };
    if (abs) {
      this.#rtp = undefined;
      this.#abs = new AbsSendTimeEstimator({
        ...common,
        grouping: this.#settings.grouping,
        probeThroughout: this.#enhanced?.mechanisms.probes ?? false,
      });
      this.#estimator = this.#abs;
    } else {
      this.#abs = undefined;
      this.#rtp = new SingleStreamEstimator({ ...common, onExpire: this.#expire });
      this.#estimator = this.#rtp;
    }
  }

  /**
   * Replays record `index` of a batch whose `usage` column holds its lane's verdict.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  onRecord(batch: PacketBatch, index: number): void {
    this.#nowUs = batch.nowUs[index];
    this.#arrivalUs = batch.arrivalUs[index];
    this.#enhanced?.onRecord(batch, index);
    if (this.#abs !== undefined) this.#abs.onRecord(batch, index);
    else this.#rtp!.onRecord(batch, index);
  }

  /**
   * The single-stream estimator's periodic update (libwebrtc's `Process`), at this point of the
   * replay; nothing for the abs-send-time estimator.
   *
   * @param nowUs Receiver clock, µs.
   */
  processEstimator(nowUs: number): void {
    if (!this.#rtp) return;
    this.#nowUs = nowUs;
    this.#rtp.process(nowUs);
  }

  /**
   * Stops counting an SSRC.
   *
   * @param ssrc The stream.
   */
  removeStream(ssrc: number): void {
    this.#estimator?.removeStream(ssrc);
  }

  // --- time and the application -------------------------------------------------------------------

  /**
   * Periodic REMB work: the start-phase announcement and the resend of the last REMB.
   *
   * @param nowMs Receiver clock, ms.
   */
  process(nowMs: number): void {
    if (this.#phase === "start" && nowMs >= this.#nextStartMs) this.#announceStart(nowMs);
    this.#throttler.process(nowMs);
  }

  /**
   * Sets the round-trip time, which paces decreases and the additive increase.
   *
   * @param rttMs Positive, ms; validated by the caller.
   */
  setRtt(rttMs: number): void {
    this.#rttMs = rttMs;
    this.#aimd.setRtt(rttMs);
  }

  /**
   * Caps what REMB announces, and announces the cap at once (unless an estimate no higher went out
   * in the last 200 ms); `Infinity` lifts it to `maxBitrateBps`.
   *
   * @param bitrateBps The cap: a non-negative integer or `Infinity`.
   * @param nowMs Receiver clock, ms.
   * @throws {TypeError} Not a number.
   * @throws {RangeError} Not a non-negative integer or `Infinity`.
   */
  setMaxDesiredBitrate(bitrateBps: number, nowMs: number): void {
    checkMaxBitrate(bitrateBps);
    const cap = bitrateBps === Infinity ? this.#settings.maxBitrateBps : bitrateBps;
    this.#throttler.setMaxDesiredBitrate(cap, nowMs);
    if (this.#phase === "start") this.#announceStart(nowMs);
  }

  // --- what it knows ------------------------------------------------------------------------------

  /** Who decides the REMB now. */
  get phase(): RembPhase {
    return this.#phase;
  }

  /** REMB packets sent. */
  get rembsSent(): number {
    return this.#rembsSent;
  }

  /** The bitrate of the last REMB sent, bps, before the wire format rounds it. */
  get lastRembBps(): number | undefined {
    return this.#lastRembBps;
  }

  /**
   * The latest estimate (libwebrtc's `LatestEstimate`).
   *
   * @returns bps; 0 without a valid estimate or active stream.
   */
  getEstimate(): number {
    return this.#estimator?.latestEstimate() ?? 0;
  }

  /**
   * The active SSRCs as of the replay position.
   *
   * @returns Ascending, frozen, shared until the set changes.
   */
  ssrcs(): readonly number[] {
    return this.#estimator?.ssrcs() ?? NO_SSRCS;
  }

  /**
   * An active stream's figures.
   *
   * @param ssrc The SSRC.
   * @returns Its state, or `undefined`.
   */
  stream(ssrc: number): EstimatorStream | undefined {
    return this.#estimator?.stream(ssrc);
  }

  /**
   * The incoming rate over the last second at the replay position, without disturbing the
   * estimator: keyed on arrival time with abs-send-time, on the receiver clock with RTP timestamps.
   *
   * @returns bps, or `undefined` while there is too little data.
   */
  incomingRateBps(): number | undefined {
    return this.#estimator?.incomingRateBps(usToMs(this.#abs ? this.#arrivalUs : this.#nowUs));
  }

  /**
   * The controller's figures, for statistics.
   *
   * @returns A fresh object.
   */
  state(): ControllerState {
    const estimator = this.#estimator;
    return {
      mode: estimator === undefined ? undefined : this.#abs ? "abs-send-time" : "rtp-timestamp",
      estimateBps: this.getEstimate() || undefined,
      usage: estimator?.usage ?? "normal",
      rateControlState: this.#aimd.state,
      incomingRateBps: this.incomingRateBps(),
      rttMs: this.#aimd.rttMs,
      linkCapacityBps: this.#aimd.linkCapacityBps,
      modeSwitches: this.#selector.switches,
      ...(this.#settings.profile === "enhanced" ? { enhanced: this.#enhanced?.figures() } : {}),
    };
  }

  // --- REMB ---------------------------------------------------------------------------------------

  #estimate(bitrateBps: number, ssrcs: number[]): void {
    this.#phase = "estimating";
    this.#seen = NO_SSRCS;
    const onEstimate = this.#onEstimate;
    if (onEstimate) callSafely(() => onEstimate(bitrateBps, ssrcs), this.#onError);
    this.#throttler.onReceiveBitrateChanged(ssrcs, bitrateBps, usToMs(this.#nowUs));
  }

  #announceStart(nowMs: number): void {
    this.#nextStartMs = nowMs + this.#startIntervalMs;
    const bitrateBps = Math.min(this.#remb.startRembBps!, this.#throttler.maxDesiredBitrateBps);
    this.#send(bitrateBps, this.#seen, "start");
  }

  #fromThrottler(bitrateBps: number, ssrcs: readonly number[]): void {
    // Before the first estimate the throttler can only be announcing a cap, which the start
    // announcement already carries.
    if (this.#remb.startRembBps !== undefined && this.#phase !== "estimating") return;
    // A cap goes out with no SSRCs in libwebrtc; senders that route REMB by its SSRCs (werift)
    // would drop it, so it lists the active streams.
    if (ssrcs.length === 0) {
      const active = this.ssrcs();
      ssrcs = active.length > MAX_REMB_SSRCS ? active.slice(0, MAX_REMB_SSRCS) : active;
    }
    this.#send(bitrateBps, ssrcs, "estimator");
  }

  #send(bitrateBps: number, ssrcs: readonly number[], source: RembSource): void {
    this.#rembsSent++;
    this.#lastRembBps = bitrateBps;
    const onRemb = this.#onRemb;
    if (!onRemb) return;
    const packet = encodeRemb({ senderSsrc: this.#remb.senderSsrc, bitrateBps, ssrcs });
    callSafely(() => onRemb(packet, bitrateBps, ssrcs, source), this.#onError);
  }
}

/**
 * Checks a cap for {@linkcode ReceiveSideController.setMaxDesiredBitrate}.
 *
 * @param bitrateBps The cap.
 * @throws {TypeError} Not a number.
 * @throws {RangeError} Not a non-negative integer or `Infinity`.
 * @example
 * ```ts
 * import { checkMaxBitrate } from "./receive_side_controller.ts";
 * import assert from "node:assert/strict";
 * checkMaxBitrate(Infinity);
 * assert.throws(() => checkMaxBitrate("1e6" as unknown as number), TypeError);
 * ```
 */
export function checkMaxBitrate(bitrateBps: number): void {
  if (typeof bitrateBps !== "number") {
    throw new TypeError(
      `Cannot set the maximum bitrate as 'bitrateBps' must be a number: current type is ${typeof bitrateBps}`,
    );
  }
  if (!(bitrateBps === Infinity || (Number.isSafeInteger(bitrateBps) && bitrateBps >= 0))) {
    throw new RangeError(
      `Cannot set the maximum bitrate as 'bitrateBps' must be a non-negative integer or Infinity: current value is ${bitrateBps}`,
    );
  }
}
