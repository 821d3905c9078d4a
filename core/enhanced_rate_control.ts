/**
 * The enhanced profile's rate controller: libwebrtc's detector verdicts and incoming rate in, as
 * for {@linkcode AimdRateControl}, plus what it measures itself from every packet: the standing
 * queue ({@linkcode QueueDelayTracker}) and the delivery rate ({@linkcode DeliveryRate}). It
 * composes the enhanced stages — the delay-gated ramp ({@linkcode RampUp}), the draining decrease
 * ({@linkcode QueueDrain}), the competitive mode against loss-based cross traffic
 * ({@linkcode CompetitiveMode}) — and falls back to libwebrtc's own AIMD for any stage that is off.
 * Whole-call probe clusters are the fourth stage, in the estimator (`probeThroughout`); measured,
 * they are off by default.
 *
 * Pure and clock-free like the faithful stages: time comes in with each call, and nothing is
 * allocated per packet.
 *
 * @module
 */

import { AimdRateControl, type AimdRateControlOptions } from "./aimd_rate_control.ts";
import { type CompetitionState, CompetitiveMode } from "./competitive_mode.ts";
import { DeliveryRate } from "./delivery_rate.ts";
import type { PacketBatch } from "./packet_batch.ts";
import { QueueDelayTracker } from "./queue_delay.ts";
import { QueueDrain } from "./queue_drain.ts";
import { RampUp } from "./ramp_up.ts";
import type { RateController } from "./rate_controller.ts";
import type { BandwidthUsage, RateControlState } from "./types.ts";

/** The enhanced stages, each of which can be turned on or off (off, it behaves as libwebrtc). */
export interface EnhancedMechanisms {
  /**
   * Probe clusters raise the estimate for the whole call, not only in its first 2 s. Measured and
   * not kept (off by default): a frame's pacer burst passes as a probe, and jitter or a token
   * bucket's burst allowance makes it look faster than the link.
   */
  probes: boolean;
  /** The delay-gated fast ramp replaces libwebrtc's increase. */
  ramp: boolean;
  /** The draining decrease replaces the fixed 0.85 × incoming. */
  drain: boolean;
  /** A queue that does not yield to the drain's cuts switches to competitive rules. */
  competitive: boolean;
}

/** The stages the enhanced profile runs unless told otherwise: every one that was kept. */
export const DEFAULT_MECHANISMS: Readonly<EnhancedMechanisms> = Object.freeze({
  probes: false,
  ramp: true,
  drain: true,
  competitive: true,
});

/** What the enhanced controller measured, for statistics. */
export interface EnhancedFigures {
  /** The standing queue (the smallest queueing delay over the last ~200 ms), ms. */
  queueDelayMs: number;
  /** The smallest queueing delay over the last ~600 ms, ms. */
  persistentQueueDelayMs: number;
  /** The largest queueing delay over the last ~20 s, ms. */
  peakQueueDelayMs: number;
  /** The delivery rate over the last quarter second, bps (0 while unknown). */
  deliveryRateBps: number;
  /** Cuts the drain made. */
  drainCuts: number;
  /** Whose rules the estimate follows. */
  competition: CompetitionState;
  /** Times it switched to competitive rules. */
  competitiveEntries: number;
}

/** Options of {@linkcode EnhancedRateControl}. */
export interface EnhancedRateControlOptions extends AimdRateControlOptions {
  /**
   * The stages that run.
   *
   * @default {DEFAULT_MECHANISMS}
   */
  mechanisms?: Partial<EnhancedMechanisms>;
}

// The ramp runs while the queue over the last ~600 ms, above its floor of the last 10 s, is
// shorter than this: more is a queue the sender keeps up. Every figure is above the floor, which
// holds the jitter no packet of the window escaped and large packets' transmission time.
const RAMP_QUEUE_MS = 5;
// The drain cuts once that queue is longer than this, overuse or not: a queue the delay gradient
// no longer sees because it stopped growing still delays every packet. With libwebrtc's overuse
// verdict, the ~200 ms standing queue over the ramp's bound is enough, so a fast-growing queue is
// cut early and jitter the detector reads as overuse is not. (8 and 15 ms left p95 queues 10–20
// ms longer; 4 and 8 cost 5 % utilization in RFC 8867 §5.1.)
const DRAIN_QUEUE_MS = 10;
// The estimate becomes valid after 1 s of incoming rate (libwebrtc waits 5 s): the queue gate
// makes a long wait unnecessary.
const INITIALIZATION_TIME_US = 1_000_000;

/**
 * Rate control for the enhanced profile.
 *
 * @example
 * ```ts
 * import { EnhancedRateControl } from "./enhanced_rate_control.ts";
 * import assert from "node:assert/strict";
 * const control = new EnhancedRateControl();
 * control.setStartBitrate(1_000_000);
 * control.update("normal", 1_000_000, 0);
 * // No queue and no capacity learnt yet: +50 % a second (at most twice what is received).
 * assert.equal(control.update("normal", 1_000_000, 1_000_000), 1_500_000);
 * // A probe at 1.6 Mbit/s: near it the ramp takes the additive step instead.
 * control.setEstimate(1_600_000, 1_000_000);
 * assert.ok(control.update("normal", 1_500_000, 2_000_000) < 1_650_000);
 * ```
 */
export class EnhancedRateControl implements RateController {
  readonly #aimd: AimdRateControl;
  readonly #minBitrateBps: number;
  readonly #maxBitrateBps: number;
  readonly #mechanisms: EnhancedMechanisms;
  readonly #queue = new QueueDelayTracker();
  readonly #delivery = new DeliveryRate();
  readonly #ramp = new RampUp();
  readonly #drain = new QueueDrain();
  readonly #competition = new CompetitiveMode();
  #state: RateControlState = "hold";
  #lastUpdateUs = -Infinity;
  #firstThroughputUs = -Infinity;

  /**
   * Creates an uninitialized controller.
   *
   * @param options Bounds and stages.
   */
  constructor(options: EnhancedRateControlOptions = {}) {
    this.#aimd = new AimdRateControl(options);
    this.#minBitrateBps = options.minBitrateBps ?? 5_000;
    this.#maxBitrateBps = options.maxBitrateBps ?? 30_000_000;
    this.#mechanisms = { ...DEFAULT_MECHANISMS, ...options.mechanisms };
  }

  /** The stages that run. */
  get mechanisms(): Readonly<EnhancedMechanisms> {
    return this.#mechanisms;
  }

  /** Whether an estimate exists. */
  get validEstimate(): boolean {
    return this.#aimd.validEstimate;
  }

  /** The current target, bps. */
  get latestEstimateBps(): number {
    return this.#aimd.latestEstimateBps;
  }

  /** The rate-control state after the last update. */
  get state(): RateControlState {
    return this.#state;
  }

  /** The round-trip time in use, ms. */
  get rttMs(): number {
    return this.#aimd.rttMs;
  }

  /** The last capacity learnt at a congestion, bps, or libwebrtc's link-capacity estimate. */
  get linkCapacityBps(): number | undefined {
    if (this.#mechanisms.drain) {
      return this.#ramp.capacityBps > 0 ? this.#ramp.capacityBps : undefined;
    }
    return this.#aimd.linkCapacityBps;
  }

  /** The standing queue, ms. */
  get queueDelayMs(): number {
    return this.#queue.standingQueueMs;
  }

  /** The delivery rate over the last quarter second, bps (0 while unknown). */
  get deliveryRateBps(): number {
    return this.#delivery.rateBps;
  }

  /**
   * What it measured.
   *
   * @returns A fresh object.
   */
  figures(): EnhancedFigures {
    return {
      queueDelayMs: this.#queue.standingQueueMs,
      persistentQueueDelayMs: this.#queue.persistentQueueMs,
      peakQueueDelayMs: this.#queue.peakQueueMs,
      deliveryRateBps: this.#delivery.rateBps,
      drainCuts: this.#drain.cuts,
      competition: this.#competition.state,
      competitiveEntries: this.#competition.entries,
    };
  }

  /**
   * Measures one packet: its queueing delay and its share of the delivery rate.
   *
   * @param batch Packet records (abs-send-time ticks in the timestamp column).
   * @param index The record.
   */
  onRecord(batch: PacketBatch, index: number): void {
    const queue = this.#queue;
    queue.onRecord(batch, index);
    const delivery = this.#delivery;
    if (queue.packets === 1) delivery.reset(); // a fresh send clock
    delivery.onRecord(batch, index, queue.sendClock);
  }

  /**
   * Sets the round-trip time.
   *
   * @param rttMs ms.
   */
  setRtt(rttMs: number): void {
    this.#aimd.setRtt(rttMs);
  }

  /**
   * Sets the starting bitrate and marks the estimate valid.
   *
   * @param bitrateBps bps.
   */
  setStartBitrate(bitrateBps: number): void {
    this.#aimd.setStartBitrate(bitrateBps);
  }

  /**
   * Takes a probe result, as libwebrtc does.
   *
   * @param bitrateBps bps.
   * @param nowUs µs.
   */
  setEstimate(bitrateBps: number, nowUs: number): void {
    this.#aimd.setEstimate(bitrateBps, nowUs);
    // A probe measured the path: the ramp slows near what it found.
    if (this.#mechanisms.ramp) this.#ramp.noteCapacity(bitrateBps, nowUs);
  }

  /**
   * Runs one rate-control step.
   *
   * @param usage The fused detector state.
   * @param throughputBps The 1 s incoming rate, or `undefined`.
   * @param nowUs µs.
   * @returns The new target, bps.
   */
  update(usage: BandwidthUsage, throughputBps: number | undefined, nowUs: number): number {
    const aimd = this.#aimd;
    const m = this.#mechanisms;
    const dtUs = this.#lastUpdateUs === -Infinity ? 0 : nowUs - this.#lastUpdateUs;
    this.#lastUpdateUs = nowUs;
    if (!aimd.validEstimate && throughputBps !== undefined) {
      if (this.#firstThroughputUs === -Infinity) this.#firstThroughputUs = nowUs;
      else if (nowUs - this.#firstThroughputUs > INITIALIZATION_TIME_US) {
        aimd.setEstimate(throughputBps, nowUs);
      }
    }
    const queue = this.#queue;
    const queueMs = queue.standingAboveFloorMs;
    const persistentMs = queue.persistentAboveFloorMs;
    const competition = this.#competition;
    if (m.competitive) {
      competition.observe(nowUs, queue);
      if (competition.state === "competitive") return this.#compete(nowUs, dtUs, throughputBps);
      competition.watch(queue.standingQueueMs);
    }

    // What the signals say: cut, grow or hold.
    let congested: boolean;
    let free: boolean;
    if (m.drain) {
      congested = persistentMs > DRAIN_QUEUE_MS ||
        (usage === "overusing" && queueMs > RAMP_QUEUE_MS);
    } else {
      congested = usage === "overusing";
    }
    if (m.ramp) {
      free = !congested && usage !== "overusing" && persistentMs < RAMP_QUEUE_MS;
    } else free = !congested && usage === "normal";

    if (congested) {
      const delivery = this.#delivery.rateBps;
      if (m.drain) {
        if (this.#drain.due(nowUs, queueMs, aimd.rttMs) && delivery > 0) {
          const current = aimd.latestEstimateBps;
          const initialized = aimd.validEstimate;
          // libwebrtc's controller learns the overuse too, for its link-capacity estimate when the
          // ramp is off.
          aimd.update("overusing", throughputBps, nowUs);
          // The sender keeps up at most the estimate; a key frame's burst sends faster for a moment.
          const sent = this.#delivery.sendRateBps;
          const target = this.#drain.target(
            delivery,
            sent < current ? sent : current,
            queueMs,
            aimd.rttMs,
            queue.peakQueueMs,
          );
          aimd.setEstimate(this.#clamp(initialized && current < target ? current : target), nowUs);
          this.#ramp.noteCapacity(delivery, nowUs);
          this.#drain.markCut(nowUs, queueMs);
          // Above the base, not the floor: a loss-based flow's queue lifts the floor with it.
          if (m.competitive) competition.onCut(nowUs, queue.standingQueueMs, delivery);
          this.#state = "decrease";
        } else {
          this.#state = "hold";
        }
      } else {
        aimd.update("overusing", throughputBps, nowUs);
        if (delivery > 0) this.#ramp.noteCapacity(delivery, nowUs);
        this.#state = aimd.state === "hold" ? "decrease" : aimd.state;
      }
      return aimd.latestEstimateBps;
    }
    // A queue that persists means the link is busy: what is delivered is its rate.
    if (m.ramp && persistentMs >= RAMP_QUEUE_MS) {
      this.#ramp.noteSaturated(this.#delivery.rateBps, nowUs);
    }
    if (persistentMs < RAMP_QUEUE_MS) {
      this.#drain.endEpisode();
      competition.onDrained();
    }
    if (!free) {
      aimd.update("underusing", throughputBps, nowUs);
      this.#state = "hold";
      return aimd.latestEstimateBps;
    }
    if (!m.ramp) {
      aimd.update("normal", throughputBps, nowUs);
      this.#state = aimd.state;
      return aimd.latestEstimateBps;
    }
    this.#state = "increase";
    if (!aimd.validEstimate) return aimd.latestEstimateBps;
    const current = aimd.latestEstimateBps;
    const delivered = this.#delivery.rateBps > 0 ? this.#delivery.rateBps : throughputBps ?? 0;
    // The additive step: one average packet per RTT + 100 ms, twice libwebrtc's near-capacity step.
    const additive = 2 * aimd.getNearMaxIncreaseRateBpsPerSecond();
    const increase = this.#ramp.increasePerSecond(current, delivered, additive, nowUs);
    const growth = increase / current;
    const seconds = dtUs > 1_000_000 ? 1 : dtUs / 1e6;
    let next = current + Math.round(increase * seconds);
    const limit = this.#ramp.limit(delivered, growth);
    if (next > limit) next = current > limit ? current : limit;
    aimd.setEstimate(this.#clamp(next), nowUs);
    return aimd.latestEstimateBps;
  }

  // Competitive rules: additive growth a little above what is delivered, and libwebrtc's back-off
  // when the queue nears where it overflows.
  #compete(nowUs: number, dtUs: number, throughputBps: number | undefined): number {
    const aimd = this.#aimd;
    const competition = this.#competition;
    const queue = this.#queue;
    const current = aimd.latestEstimateBps;
    const rate = this.#delivery.rateBps;
    const delivered = rate > 0 ? rate : throughputBps ?? 0;
    if (competition.backOffDue(nowUs) && delivered > 0) {
      const target = competition.backOffTarget(delivered);
      aimd.setEstimate(this.#clamp(target < current ? target : current), nowUs);
      competition.markBackOff(nowUs);
      this.#state = "decrease";
      return aimd.latestEstimateBps;
    }
    const additive = competition.increasePerSecond(aimd.rttMs, queue.standingQueueMs);
    const seconds = dtUs > 1_000_000 ? 1 : dtUs / 1e6;
    let next = current + Math.round(additive * seconds);
    const limit = this.#ramp.limit(delivered, 0);
    if (next > limit) next = current > limit ? current : limit;
    aimd.setEstimate(this.#clamp(next), nowUs);
    this.#state = "increase";
    return aimd.latestEstimateBps;
  }

  /**
   * Whether an overuse may cut again already: with the drain, once a response time has passed since
   * the last cut; otherwise libwebrtc's rule.
   *
   * @param nowUs µs.
   * @param throughputBps The incoming rate, bps.
   * @returns `true` when a cut may be due.
   */
  timeToReduceFurther(nowUs: number, throughputBps: number): boolean {
    if (this.#mechanisms.competitive && this.#competition.state === "competitive") return false;
    if (this.#mechanisms.drain) {
      const queueMs = this.#queue.standingAboveFloorMs;
      return queueMs > RAMP_QUEUE_MS && this.#drain.due(nowUs, queueMs, this.#aimd.rttMs);
    }
    return this.#aimd.timeToReduceFurther(nowUs, throughputBps);
  }

  /**
   * libwebrtc's feedback interval: 5 % of the estimate for 80-byte RTCP, within 200 ms–1 s.
   *
   * @returns µs.
   */
  getFeedbackIntervalUs(): number {
    return this.#aimd.getFeedbackIntervalUs();
  }

  #clamp(bitrateBps: number): number {
    if (bitrateBps < this.#minBitrateBps) return this.#minBitrateBps;
    return bitrateBps > this.#maxBitrateBps ? this.#maxBitrateBps : bitrateBps;
  }
}
