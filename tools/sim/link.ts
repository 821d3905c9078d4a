/**
 * The network: one bottleneck link shared by every flow, and each flow's own path around it.
 *
 * - {@linkcode BottleneckLink}: a capacity schedule (piecewise constant), a FIFO queue bounded in
 *   milliseconds of waiting (the `latency` of Linux's tbf, the "queue size in ms" of RFC 8867 §4)
 *   or in bytes, drop-tail, and random loss after the queue. A packet's departure is known when it
 *   is queued, because the queue is FIFO and the schedule is known in advance, so a packet costs
 *   no event inside the link.
 *   With `burstBytes`, the link is a token bucket as Linux's tbf shapes it: tokens accrue at the
 *   capacity up to the burst, and a packet leaves as soon as the bucket holds its size, so after an
 *   idle spell up to a burst of bytes passes at line rate before a queue forms.
 * - {@linkcode Path}: a flow's one-way propagation delay, its jitter and its feedback delay. Jitter
 *   adds an independent, uniformly distributed extra delay in [0, max] to each packet, but a packet
 *   never overtakes the one before it (the receiver sees delay variation, not reordering).
 *
 * @module
 */

import type { Random } from "./random.ts";

/** From `atS` on, the link runs at `bps`. */
export interface CapacityStep {
  /** Start of the step, seconds of simulated time. */
  atS: number;
  /** Capacity, bits per second. */
  bps: number;
}

/** How much the bottleneck queue holds before it drops arriving packets. */
export type QueueLimit =
  | {
    /** Longest wait a packet may face on arrival, ms (the buffer is capacity × this). */
    ms: number;
  }
  | {
    /** Bytes queued, the packet in transmission included. */
    bytes: number;
  };

/** Options of {@linkcode BottleneckLink}. */
export interface LinkOptions {
  /** The capacity schedule; the first step starts at 0 s. */
  capacity: readonly CapacityStep[];
  /** The queue bound. */
  queueLimit: QueueLimit;
  /**
   * Probability that a packet leaving the queue is lost anyway.
   *
   * @default {0}
   */
  lossRatio?: number;
  /**
   * Size of the token bucket, bytes (tbf's `burst`); 0 for a link that serializes every packet at
   * the capacity.
   *
   * @default {0}
   */
  burstBytes?: number;
  /** Source of the random losses. */
  random: Random;
}

/** What became of a packet offered to the link. */
export type LinkOutcome = "sent" | "queue-drop" | "random-loss";

/** The shared bottleneck. */
export class BottleneckLink {
  readonly #startsUs: Float64Array;
  readonly #bps: Float64Array;
  readonly #limitUs: number;
  readonly #limitBytes: number;
  readonly #lossRatio: number;
  readonly #random: Random;
  #freeUs = 0; // when the packet now last in the queue finishes transmission
  // Bytes-bounded queue: departures and sizes of packets not yet gone, a ring.
  #ringDepart = new Float64Array(1024);
  #ringSize = new Float64Array(1024);
  #ringHead = 0;
  #ringLength = 0;
  #backlogBytes = 0;
  readonly #burstBytes: number;
  #tokens: number; // bytes in the bucket at #tokensUs
  #tokensUs = 0;

  /** Queuing delay of the last packet offered, µs (0 when dropped at the queue). */
  queueDelayUs = 0;
  /** End of transmission of the last packet sent, µs. */
  departUs = 0;

  /**
   * Creates the link.
   *
   * @param options Capacity schedule, queue bound, random loss.
   * @throws {RangeError} A bad schedule or bound.
   * @example
   * ```ts
   * import { BottleneckLink } from "./link.ts";
   * import { Random } from "./random.ts";
   * import assert from "node:assert/strict";
   * const link = new BottleneckLink({
   *   capacity: [{ atS: 0, bps: 1_000_000 }],
   *   queueLimit: { ms: 300 },
   *   random: new Random(1),
   * });
   * assert.equal(link.offer(0, 1250), "sent");
   * assert.equal(link.departUs, 10_000); // 10 000 bits at 1 Mbit/s
   * assert.equal(link.offer(0, 1250), "sent");
   * assert.equal(link.queueDelayUs, 10_000);
   * ```
   */
  constructor(options: LinkOptions) {
    const steps = options.capacity;
    if (steps.length === 0 || steps[0].atS !== 0) {
      throw new RangeError("Cannot create link as 'capacity' must start with a step at 0 s");
    }
    for (let i = 0; i < steps.length; i++) {
      if (!(steps[i].bps > 0) || (i > 0 && !(steps[i].atS > steps[i - 1].atS))) {
        throw new RangeError(
          `Cannot create link as capacity steps must be increasing in time with positive rates: step ${i} is ${
            JSON.stringify(steps[i])
          }`,
        );
      }
    }
    this.#startsUs = Float64Array.from(steps, (s) => Math.round(s.atS * 1e6));
    this.#bps = Float64Array.from(steps, (s) => s.bps);
    const limit = options.queueLimit;
    this.#limitUs = "ms" in limit ? limit.ms * 1000 : Infinity;
    this.#limitBytes = "bytes" in limit ? limit.bytes : Infinity;
    if (!(this.#limitUs > 0) || !(this.#limitBytes > 0)) {
      throw new RangeError("Cannot create link as 'queueLimit' must be positive");
    }
    this.#lossRatio = options.lossRatio ?? 0;
    if (!(this.#lossRatio >= 0 && this.#lossRatio < 1)) {
      throw new RangeError(
        `Cannot create link as 'lossRatio' must be in [0, 1): current value is ${this.#lossRatio}`,
      );
    }
    this.#burstBytes = options.burstBytes ?? 0;
    if (!(this.#burstBytes >= 0)) {
      throw new RangeError(
        `Cannot create link as 'burstBytes' must be non-negative: current value is ${this.#burstBytes}`,
      );
    }
    this.#tokens = this.#burstBytes;
    this.#random = options.random;
  }

  /**
   * Capacity at a time.
   *
   * @param timeUs Simulated time, µs.
   * @returns bps.
   */
  capacityAt(timeUs: number): number {
    return this.#bps[this.#stepAt(timeUs)];
  }

  /**
   * Bits the link could carry between two times.
   *
   * @param fromUs Start, µs.
   * @param toUs End, µs.
   * @returns Bits.
   */
  capacityBits(fromUs: number, toUs: number): number {
    let bits = 0;
    for (let i = this.#stepAt(fromUs); i < this.#bps.length && fromUs < toUs; i++) {
      const end = Math.min(toUs, i + 1 < this.#startsUs.length ? this.#startsUs[i + 1] : Infinity);
      bits += (end - fromUs) * this.#bps[i] / 1e6;
      fromUs = end;
    }
    return bits;
  }

  /**
   * Offers a packet at the current time; if it is taken, `departUs` and `queueDelayUs` tell when it
   * leaves and how long it waited.
   *
   * @param nowUs Current time, µs; never less than at the previous call.
   * @param wireBytes Size on the wire.
   * @returns Sent, dropped at the full queue, or lost at random after the queue.
   */
  offer(nowUs: number, wireBytes: number): LinkOutcome {
    const startUs = Math.max(nowUs, this.#freeUs);
    // A token bucket's packet also waits for its tokens.
    const waitUs = (this.#burstBytes > 0 ? this.#bucketWaitEnd(startUs, wireBytes) : startUs) -
      nowUs;
    if (waitUs > this.#limitUs) {
      this.queueDelayUs = 0;
      return "queue-drop";
    }
    if (this.#limitBytes !== Infinity) {
      this.#expire(nowUs);
      if (this.#backlogBytes + wireBytes > this.#limitBytes) {
        this.queueDelayUs = 0;
        return "queue-drop";
      }
    }
    const endUs = this.#burstBytes > 0
      ? this.#bucketDeparture(startUs, wireBytes)
      : this.#transmitEnd(startUs, wireBytes * 8);
    this.#freeUs = endUs;
    if (this.#limitBytes !== Infinity) this.#push(endUs, wireBytes);
    this.queueDelayUs = waitUs;
    this.departUs = endUs;
    if (this.#lossRatio > 0 && this.#random.next() < this.#lossRatio) return "random-loss";
    return "sent";
  }

  // When the bucket holds `bytes` at or after `startUs`, without taking them.
  #bucketWaitEnd(startUs: number, bytes: number): number {
    const tokens = Math.min(
      this.#burstBytes,
      this.#tokens + this.capacityBits(this.#tokensUs, startUs) / 8,
    );
    return tokens >= bytes ? startUs : this.#transmitEnd(startUs, (bytes - tokens) * 8);
  }

  // Takes `bytes` from the bucket at the earliest time from `startUs` on; returns that time.
  #bucketDeparture(startUs: number, bytes: number): number {
    const tokens = Math.min(
      this.#burstBytes,
      this.#tokens + this.capacityBits(this.#tokensUs, startUs) / 8,
    );
    if (tokens >= bytes) {
      this.#tokens = tokens - bytes;
      this.#tokensUs = startUs;
      return startUs;
    }
    const departUs = this.#transmitEnd(startUs, (bytes - tokens) * 8);
    this.#tokens = 0;
    this.#tokensUs = departUs;
    return departUs;
  }

  #stepAt(timeUs: number): number {
    const starts = this.#startsUs;
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= timeUs) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // End of transmission of `bits` starting at `startUs`, across capacity changes.
  #transmitEnd(startUs: number, bits: number): number {
    let i = this.#stepAt(startUs);
    let t = startUs;
    for (;;) {
      const stepEnd = i + 1 < this.#startsUs.length ? this.#startsUs[i + 1] : Infinity;
      const needUs = bits * 1e6 / this.#bps[i];
      if (t + needUs <= stepEnd) return Math.round(t + needUs);
      bits -= (stepEnd - t) * this.#bps[i] / 1e6;
      t = stepEnd;
      i++;
    }
  }

  #expire(nowUs: number): void {
    const mask = this.#ringDepart.length - 1;
    while (this.#ringLength > 0 && this.#ringDepart[this.#ringHead] <= nowUs) {
      this.#backlogBytes -= this.#ringSize[this.#ringHead];
      this.#ringHead = (this.#ringHead + 1) & mask;
      this.#ringLength--;
    }
  }

  #push(departUs: number, bytes: number): void {
    if (this.#ringLength === this.#ringDepart.length) {
      const n = this.#ringDepart.length;
      const depart = new Float64Array(n * 2), size = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        depart[i] = this.#ringDepart[(this.#ringHead + i) & (n - 1)];
        size[i] = this.#ringSize[(this.#ringHead + i) & (n - 1)];
      }
      this.#ringDepart = depart;
      this.#ringSize = size;
      this.#ringHead = 0;
    }
    const index = (this.#ringHead + this.#ringLength) & (this.#ringDepart.length - 1);
    this.#ringDepart[index] = departUs;
    this.#ringSize[index] = bytes;
    this.#ringLength++;
    this.#backlogBytes += bytes;
  }
}

/** Options of {@linkcode Path}. */
export interface PathOptions {
  /** One-way propagation delay after the bottleneck, ms. */
  oneWayDelayMs: number;
  /**
   * Largest extra delay the jitter adds, ms.
   *
   * @default {0}
   */
  jitterMs?: number;
  /**
   * Delay of the feedback direction (REMB, receiver reports, ACKs), ms; it is not congested.
   *
   * @default {oneWayDelayMs}
   */
  feedbackDelayMs?: number;
  /** Source of the jitter. */
  random: Random;
}

/** One flow's way from the bottleneck to its receiver, and back. */
export class Path {
  readonly oneWayDelayUs: number;
  readonly feedbackDelayUs: number;
  readonly #jitterMaxUs: number;
  readonly #random: Random;
  #lastArrivalUs = 0;

  /**
   * Creates a path.
   *
   * @param options Delays and jitter.
   * @example
   * ```ts
   * import { Path } from "./link.ts";
   * import { Random } from "./random.ts";
   * import assert from "node:assert/strict";
   * const path = new Path({ oneWayDelayMs: 50, jitterMs: 30, random: new Random(3) });
   * let last = 0;
   * for (let t = 0; t < 1e6; t += 1000) {
   *   const arrival = path.arrivalUs(t);
   *   assert.ok(arrival >= last && arrival >= t + 50_000 && arrival <= t + 80_000);
   *   last = arrival;
   * }
   * ```
   */
  constructor(options: PathOptions) {
    this.oneWayDelayUs = Math.round(options.oneWayDelayMs * 1000);
    this.feedbackDelayUs = Math.round((options.feedbackDelayMs ?? options.oneWayDelayMs) * 1000);
    this.#jitterMaxUs = (options.jitterMs ?? 0) * 1000;
    this.#random = options.random;
    if (!(this.oneWayDelayUs >= 0) || !(this.feedbackDelayUs >= 0) || !(this.#jitterMaxUs >= 0)) {
      throw new RangeError("Cannot create path as delays and jitter must be non-negative");
    }
  }

  /**
   * When a packet that left the bottleneck at `departUs` reaches the receiver.
   *
   * @param departUs End of its transmission, µs.
   * @returns Arrival, µs; never before the previous packet's.
   */
  arrivalUs(departUs: number): number {
    let arrival = departUs + this.oneWayDelayUs;
    if (this.#jitterMaxUs > 0) arrival += Math.round(this.#random.next() * this.#jitterMaxUs);
    if (arrival < this.#lastArrivalUs) arrival = this.#lastArrivalUs;
    this.#lastArrivalUs = arrival;
    return arrival;
  }
}
