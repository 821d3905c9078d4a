/**
 * The enhanced profile's decrease: when a queue stands, cut the estimate to the delivery rate less
 * what drains that queue within a second — the queue there is now, and what it will have grown by
 * until the sender has responded, at the rate the packets are sent above the rate they are
 * delivered, but no longer than the queue has been seen to get — and cut again one response time
 * later only if the queue has not begun to shrink. libwebrtc cuts to 0.85 × the 1 s incoming rate
 * − 5 kbit/s, every RTT while the detector says overuse (reference §8.3, §8.5): after a capacity drop the 1 s average
 * still holds the old rate, so it cuts several times and undershoots, and on a steady link each cut
 * gives up 15 % that the additive increase takes seconds to win back. A variable decrease factor
 * measured +33 % incoming rate and −16 % RTT against the fixed 0.85 (Atwah et al., 2016).
 *
 * @module
 */

// A queue of q ms at delivery rate C drains within this time at C × (1 − q / 1000).
const DRAIN_TIME_MS = 1000;
// Never keep more than 90 % of the delivery rate: the sender takes a response time to come down,
// and the cut also leaves room for the next key frame; 95 % left p95 queues 20–30 ms longer in
// RFC 8867 §5.1–§5.8. Never cut below half of it, as even a full queue (the 300 ms of RFC 8867 §4)
// drains at 0.7 × C within a second.
const MAX_FACTOR = 0.9;
const MIN_FACTOR = 0.5;
// After a cut the sender needs the feedback path (an RTT) plus its encoder's response (Chrome's
// send rate is at or under a lower REMB about 0.3–1 s later) before the queue can shrink.
const SENDER_RESPONSE_US = 300_000;
// The queue counts as shrinking once it is 20 % below where it was at the cut.
const SHRINKING = 0.8;

/**
 * When to cut and to what.
 *
 * @example
 * ```ts
 * import { QueueDrain } from "./queue_drain.ts";
 * import assert from "node:assert/strict";
 * const drain = new QueueDrain();
 * // 100 ms drains in 1 s at 0.9 × C
 * assert.equal(drain.target(1_000_000, 1_000_000, 100, 200), 900_000);
 * assert.equal(drain.target(1_000_000, 1_000_000, 20, 200), 900_000); // at most 90 %
 * // Sent 20 % faster than delivered: another 100 ms builds up in the 500 ms the sender takes.
 * assert.equal(drain.target(1_000_000, 1_200_000, 100, 200), 800_000);
 * // Unless the queue overflows at 150 ms.
 * assert.equal(drain.target(1_000_000, 1_200_000, 100, 200, 150), 850_000);
 * assert.equal(drain.due(0, 100, 200), true);
 * drain.markCut(0, 100);
 * assert.equal(drain.due(300_000, 150, 200), false); // too soon: the sender cannot have responded
 * assert.equal(drain.due(600_000, 150, 200), true); // it did not shrink: cut again
 * assert.equal(drain.due(600_000, 50, 200), false); // it is draining
 * ```
 */
export class QueueDrain {
  #lastCutUs = -Infinity;
  #queueAtCutMs = 0;
  /** Cuts made. */
  cuts = 0;

  /**
   * The estimate that drains a standing queue.
   *
   * @param deliveryBps The delivery rate while the queue stood, bps.
   * @param sendBps The rate the same packets were sent at, bps (0 when unknown).
   * @param queueMs The standing queue, ms.
   * @param rttMs The round-trip time, ms.
   * @param peakQueueMs The longest queue seen lately, ms: how long the queue can get.
   * @returns bps.
   */
  target(
    deliveryBps: number,
    sendBps: number,
    queueMs: number,
    rttMs: number,
    peakQueueMs = Infinity,
  ): number {
    const growth = sendBps > deliveryBps ? sendBps / deliveryBps - 1 : 0;
    let expectedMs = queueMs + growth * (rttMs + SENDER_RESPONSE_US / 1000);
    // A drop-tail queue grows no longer than it is: what the sender sends beyond is lost, not
    // queued, and a deeper cut would only slow the recovery.
    const fullMs = peakQueueMs > queueMs ? peakQueueMs : queueMs;
    if (expectedMs > fullMs) expectedMs = fullMs;
    const factor = 1 - expectedMs / DRAIN_TIME_MS;
    return Math.round(
      deliveryBps * (factor > MAX_FACTOR ? MAX_FACTOR : factor < MIN_FACTOR ? MIN_FACTOR : factor),
    );
  }

  /**
   * Whether a cut is due: the first of an episode at once, a later one once the sender has had a
   * response time to act on the last and the queue has not shrunk.
   *
   * @param nowUs µs.
   * @param queueMs The standing queue, ms.
   * @param rttMs The round-trip time, ms.
   * @returns `true` to cut now.
   */
  due(nowUs: number, queueMs: number, rttMs: number): boolean {
    if (nowUs - this.#lastCutUs < rttMs * 1000 + SENDER_RESPONSE_US) return false;
    return queueMs > SHRINKING * this.#queueAtCutMs || nowUs - this.#lastCutUs > 4 * 1_000_000;
  }

  /**
   * Records a cut.
   *
   * @param nowUs µs.
   * @param queueMs The standing queue it was made at, ms.
   */
  markCut(nowUs: number, queueMs: number): void {
    this.#lastCutUs = nowUs;
    this.#queueAtCutMs = queueMs;
    this.cuts++;
  }

  /** Ends the episode: the queue has drained, so the next cut is a first one. */
  endEpisode(): void {
    this.#queueAtCutMs = 0;
    this.#lastCutUs = -Infinity;
  }
}
