import { BucketExtreme } from "./queue_delay.ts";

/**
 * The enhanced profile's answer to loss-based cross traffic (a TCP flow filling a drop-tail
 * queue): detect that a standing queue does not yield to our cuts, and then stop reading the
 * queue's length as a congestion signal until it does yield. Against such a flow a delay-based
 * controller backs off to nothing (libwebrtc's receiver keeps about 2 % of the link, reference
 * §5.6 of RFC 8867 in the README): the queue is the other flow's, kept full by its own loss-based
 * control, and a shorter one only comes from its losses. Copa (Arun and Balakrishnan, NSDI 2018)
 * switches to a competitive mode on the same evidence; SCReAM v2 raises its delay target when the
 * queue delay stays high; De Cicco et al. (PV 2013) show how a small delay threshold starves GCC
 * against TCP.
 *
 * While competing the estimate follows what is delivered, growing and backing off as a NewReno flow
 * with the same round trip: one packet per round trip per round trip, at most a little above the
 * delivery rate, and halved when the queue collapses — a drop-tail queue overflowed, the competing
 * flow lost packets and halved its window, and so its queue drains at the link's rate within a
 * round trip (ours, after our own back-off, drains several times slower). That is a loss signal
 * read from delay, as the receiver sees no sequence numbers; Chrome's own loss-based estimate still
 * cuts on more than 10 % loss beneath the REMB.
 *
 * @module
 */

/** Whose rules the estimate follows: the delay-based stages, or the competitive ones. */
export type CompetitionState = "delay" | "competitive";

// A queue that survived this many cuts in a row — never below half its length at one cut before
// the next — over at least this long, with our own delivery rate down by at least this much since
// the first, is not ours: cuts that drain a queue of our own
// make it shrink within one response time, and after a capacity drop delay-based flows have all
// drained within a few seconds.
const UNYIELDING_CUTS = 3;
const UNYIELDING_MIN_US = 4_000_000;
const OWN_RATE_DROP = 0.7;
const YIELD_SHARE = 0.5;
// While competing, the estimate grows and backs off as a NewReno flow with the same round trip
// would: one 1200-byte packet per round trip per round trip (the round trip including the queue
// it sits in), and halving at each collapse. Against NewReno the shares then converge towards
// equal.
const PACKET_BITS = 1200 * 8;
const BACKOFF = 0.5;
// A collapse: the standing queue falls, within the last second, by at least 40 % of its height
// over the base and at least 50 ms (NewReno's halving drains (BDP + queue) / 2 at the link's rate;
// a 1 s window holds the whole drop). Our own halving takes a response time to show and drains at
// half our share of the link, so after a back-off none is looked for during 2 s.
const COLLAPSE_SHARE = 0.4;
const COLLAPSE_MIN_US = 50_000;
const RECENT_BUCKET_US = 200_000;
const RECENT_BUCKETS = 5;
const QUIET_AFTER_BACKOFF_US = 2_000_000;
// A full queue that stays full — within 5 % of the longest seen over 2 s, at 90 % of it —
// overflows all the time and is a loss signal too: a loss-based flow's queue grows between its
// losses (NewReno's by 2–6 % of the queue a second in RFC 8867 §5.6), so this is flows that all
// compete, each waiting for the other's collapse; backing off lets it drain.
const FLAT_WINDOW_US = 2_000_000;
const FLAT_SHARE = 0.05;
const FULL_SHARE = 0.9;
// Competition ends once the queue has stayed short for 3 s: after a loss-based flow halves, the
// base drops to the queue it left, and its window regrows from there by a packet per round trip
// (10 ms a second of queue in a 1 s buffer at 2 Mbit/s, more in shorter ones), so only its absence
// keeps the queue short that long.
const YIELDED_MS = 8;
const YIELDED_FOR_US = 3_000_000;

/** The queue figures {@linkcode CompetitiveMode.prototype.observe} reads (a QueueDelayTracker). */
export interface QueueFigures {
  /** The smallest queueing delay over the last ~600 ms, above the base, ms. */
  readonly persistentQueueMs: number;
  /** The smallest one-way delay of the last ~200 ms, µs (any fixed offset). */
  readonly standingDelayUs: number;
  /** The base one-way delay on the same scale, µs. */
  readonly baseDelayUs: number;
  /** The longest queue of the last ~minute above the base, ms. */
  readonly peakQueueMs: number;
}

/**
 * Detects loss-based competition and paces the competitive back-off.
 *
 * @example
 * ```ts
 * import { CompetitiveMode } from "./competitive_mode.ts";
 * import assert from "node:assert/strict";
 * const mode = new CompetitiveMode();
 * const queue = (persistentQueueMs: number, standingDelayUs: number, baseDelayUs: number, peakQueueMs: number) =>
 *   ({ persistentQueueMs, standingDelayUs, baseDelayUs, peakQueueMs });
 * // Three cuts over 4.5 s: the queue kept growing while our rate halved.
 * mode.onCut(0, 40, 1_000_000);
 * mode.onCut(2_000_000, 60, 700_000);
 * mode.onCut(4_500_000, 80, 500_000);
 * assert.equal(mode.state, "competitive");
 * // The queue 300 ms over a base of 50 ms, then down to 150 within 200 ms: a collapse.
 * mode.observe(6_600_000, queue(300, 350_000, 50_000, 300));
 * mode.observe(6_800_000, queue(150, 200_000, 50_000, 300));
 * assert.equal(mode.backOffDue(6_800_000), true);
 * assert.equal(mode.backOffTarget(400_000), 200_000); // halves, as NewReno does
 * mode.markBackOff(6_800_000);
 * assert.equal(mode.increasePerSecond(100, 300), 60_000); // one packet per 0.4 s round trip²
 * mode.observe(7_000_000, queue(2, 52_000, 50_000, 300));
 * mode.observe(10_100_000, queue(2, 52_000, 50_000, 300)); // short for over 3 s: it yielded
 * assert.equal(mode.state, "delay");
 * ```
 */
export class CompetitiveMode {
  #state: CompetitionState = "delay";
  #cuts = 0;
  #firstCutUs = 0;
  #firstQueueMs = 0;
  #firstDeliveryBps = 0;
  #lastCutQueueMs = 0;
  #lowestSinceCutMs = Infinity;
  #lastBackOffUs = -Infinity;
  #shortSinceUs = -Infinity;
  readonly #recent = new BucketExtreme(RECENT_BUCKETS, RECENT_BUCKET_US, true);
  readonly #flatMax = new BucketExtreme(4, FLAT_WINDOW_US / 4, true);
  readonly #flatMin = new BucketExtreme(4, FLAT_WINDOW_US / 4, false);
  #competingSinceUs = 0;
  #collapsed = false;
  /** Times it entered competition. */
  entries = 0;

  /** The rules in force. */
  get state(): CompetitionState {
    return this.#state;
  }

  /**
   * A drain cut was made (delay rules): counts towards competition.
   *
   * @param nowUs µs.
   * @param queueMs The standing queue it was made at, ms.
   * @param deliveryBps The delivery rate then, bps.
   */
  onCut(nowUs: number, queueMs: number, deliveryBps: number): void {
    if (this.#state !== "delay") return;
    // It yielded after the last cut: this one starts a new count.
    if (this.#lowestSinceCutMs < YIELD_SHARE * this.#lastCutQueueMs) this.#cuts = 0;
    this.#lastCutQueueMs = queueMs;
    this.#lowestSinceCutMs = Infinity;
    if (this.#cuts === 0) {
      this.#firstCutUs = nowUs;
      this.#firstQueueMs = queueMs;
      this.#firstDeliveryBps = deliveryBps;
    }
    this.#cuts++;
    if (
      this.#cuts >= UNYIELDING_CUTS && nowUs - this.#firstCutUs >= UNYIELDING_MIN_US &&
      queueMs >= this.#firstQueueMs && deliveryBps <= OWN_RATE_DROP * this.#firstDeliveryBps
    ) {
      this.#state = "competitive";
      this.entries++;
      this.#lastBackOffUs = nowUs;
      this.#shortSinceUs = -Infinity;
      this.#competingSinceUs = nowUs;
      this.#flatMax.reset();
      this.#flatMin.reset();
    }
  }

  /**
   * The queue at an update between cuts (delay rules), to see whether it yielded.
   *
   * @param queueMs The standing queue, ms.
   */
  watch(queueMs: number): void {
    if (queueMs < this.#lowestSinceCutMs) this.#lowestSinceCutMs = queueMs;
  }

  /** The queue drained (delay rules): the next cut starts a new count. */
  onDrained(): void {
    this.#cuts = 0;
  }

  /**
   * While competing: whether the queue just collapsed, so that it is time to back off.
   *
   * @param nowUs µs.
   * @returns `true` to back off.
   */
  backOffDue(nowUs: number): boolean {
    return this.#state === "competitive" && this.#collapsed &&
      nowUs - this.#lastBackOffUs >= QUIET_AFTER_BACKOFF_US;
  }

  /**
   * The estimate after a back-off, and marks it made.
   *
   * @param deliveryBps The delivery rate, bps.
   * @returns bps.
   */
  backOffTarget(deliveryBps: number): number {
    return Math.round(BACKOFF * deliveryBps);
  }

  /**
   * The growth while competing: NewReno's one packet per round trip per round trip.
   *
   * @param rttMs The round-trip time without queue, ms.
   * @param queueMs The queue the packets wait in, ms.
   * @returns bps a second.
   */
  increasePerSecond(rttMs: number, queueMs: number): number {
    const roundTripS = (rttMs + queueMs) / 1000;
    return Math.round(PACKET_BITS / (roundTripS * roundTripS));
  }

  /**
   * Records a back-off.
   *
   * @param nowUs µs.
   */
  markBackOff(nowUs: number): void {
    this.#lastBackOffUs = nowUs;
    this.#collapsed = false;
    this.#recent.reset();
    this.#flatMax.reset();
    this.#flatMin.reset();
  }

  /**
   * While competing: watches the queue for collapses and for the competitor's departure.
   *
   * @param nowUs µs.
   * @param queue The queue figures: the persistent queue above the base, the smallest one-way
   * delay of the last ~200 ms and the base on the same scale, the longest queue of the last
   * ~minute. (The tracker itself, not its numbers: each call would box five fresh doubles.)
   */
  observe(nowUs: number, queue: QueueFigures): void {
    if (this.#state !== "competitive") return;
    const persistentMs = queue.persistentQueueMs;
    const standingUs = queue.standingDelayUs;
    const baseUs = queue.baseDelayUs;
    const peakMs = queue.peakQueueMs;
    if (standingUs < Infinity) {
      this.#flatMax.add(nowUs, standingUs);
      this.#flatMin.add(nowUs, standingUs);
      if (
        nowUs - this.#competingSinceUs >= FLAT_WINDOW_US &&
        nowUs - this.#lastBackOffUs >= FLAT_WINDOW_US &&
        this.#flatMax.value - this.#flatMin.value < FLAT_SHARE * peakMs * 1000 &&
        standingUs - baseUs >= FULL_SHARE * peakMs * 1000
      ) {
        this.#collapsed = true;
      }
    }
    const recent = this.#recent;
    if (nowUs - this.#lastBackOffUs >= QUIET_AFTER_BACKOFF_US && standingUs < Infinity) {
      recent.add(nowUs, standingUs);
      const drop = recent.value - standingUs;
      if (drop >= COLLAPSE_MIN_US && drop >= COLLAPSE_SHARE * (recent.value - baseUs)) {
        this.#collapsed = true;
      }
    }
    if (persistentMs >= YIELDED_MS) {
      this.#shortSinceUs = -Infinity;
      return;
    }
    if (this.#shortSinceUs === -Infinity) this.#shortSinceUs = nowUs;
    else if (nowUs - this.#shortSinceUs >= YIELDED_FOR_US) {
      this.#state = "delay";
      this.#cuts = 0;
    }
  }
}
