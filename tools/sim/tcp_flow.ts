/**
 * Cross traffic: a TCP-like AIMD flow (NewReno's window rules with SACK-style loss detection, as
 * RFC 8867 §4 asks for NewReno), a source of short TCP transfers with idle periods (RFC 8867 §5.7),
 * and constant-rate UDP.
 *
 * The TCP model keeps what matters for a delay-based competitor: slow start from an initial window
 * of 10 segments, +1 segment per round trip in congestion avoidance, halving once per window on
 * loss (a segment is lost once three later ones are acknowledged), and a retransmission timeout
 * (minimum 200 ms, as Linux) that restarts from one segment. Every segment is acknowledged at
 * once; ACKs travel the uncongested feedback direction.
 *
 * @module
 */

import type { EventQueue } from "./event_queue.ts";
import type { Random } from "./random.ts";

/** TCP/IP headers on the wire. */
const HEADER_BYTES = 52;
const MSS = 1448;
const INITIAL_WINDOW = 10;
const MIN_RTO_US = 200_000;
const MAX_WINDOW = 10_000;
const DUPTHRESH = 3;

/** A segment on the wire. */
export interface TcpSegment {
  /** Sender-side connection. */
  connection: TcpConnection;
  /** Sequence number in segments. */
  seq: number;
  /** Payload bytes. */
  payloadBytes: number;
  /** Size on the wire. */
  wireBytes: number;
  /** Send time, µs. */
  sendUs: number;
}

/** Options of {@linkcode TcpConnection}. */
export interface TcpConnectionOptions {
  /** The agenda. */
  events: EventQueue;
  /** Offers a segment to the network at the current time. */
  transmit: (segment: TcpSegment) => void;
  /**
   * Bytes to transfer; unbounded for a long-lived flow.
   *
   * @default {Infinity}
   */
  bytes?: number;
  /** Called once every byte is acknowledged. */
  onComplete?: () => void;
}

/** One TCP connection's sender and receiver. */
export class TcpConnection {
  readonly #events: EventQueue;
  readonly #transmit: (segment: TcpSegment) => void;
  readonly #onComplete: (() => void) | undefined;
  #remaining: number;
  #cwnd = INITIAL_WINDOW;
  #ssthresh = Infinity;
  #nextSeq = 0;
  #highestAcked = -1;
  #recoverUntil = -1;
  readonly #inflight = new Map<number, TcpSegment>();
  #srttUs = 0;
  #rttvarUs = 0;
  #rtoUs = 1_000_000;
  #lastProgressUs = 0;
  #timerArmed = false;
  #stopped = false;
  #done = false;

  /** Segments declared lost (by SACK or timeout). */
  lostSegments = 0;
  /** Retransmission timeouts. */
  timeouts = 0;

  /**
   * Opens the connection and starts sending at the current time.
   *
   * @param options Where segments go, how much to send.
   */
  constructor(options: TcpConnectionOptions) {
    this.#events = options.events;
    this.#transmit = options.transmit;
    this.#remaining = options.bytes ?? Infinity;
    this.#onComplete = options.onComplete;
    this.#lastProgressUs = this.#events.nowUs;
    this.#sendWhatFits();
  }

  /** Congestion window, segments. */
  get cwnd(): number {
    return this.#cwnd;
  }

  /** Stops sending new data (the flow ends). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * An acknowledgment for one segment reached the sender.
   *
   * @param segment The segment acknowledged.
   */
  onAck(segment: TcpSegment): void {
    if (this.#done || !this.#inflight.delete(segment.seq)) return;
    const nowUs = this.#events.nowUs;
    this.#lastProgressUs = nowUs;
    this.#rtoUs = this.#measureRtt(nowUs - segment.sendUs);
    if (segment.seq > this.#highestAcked) this.#highestAcked = segment.seq;

    let lost = false;
    for (const [seq, pending] of this.#inflight) {
      if (seq > this.#highestAcked - DUPTHRESH) break;
      this.#inflight.delete(seq);
      this.#remaining += pending.payloadBytes; // sent again as new data
      this.lostSegments++;
      if (seq > this.#recoverUntil) lost = true;
    }
    if (lost) {
      this.#cwnd = Math.max(this.#cwnd / 2, 2);
      this.#ssthresh = this.#cwnd;
      this.#recoverUntil = this.#nextSeq;
    } else if (segment.seq > this.#recoverUntil) {
      if (this.#cwnd < this.#ssthresh) this.#cwnd += 1;
      else this.#cwnd += 1 / this.#cwnd;
      if (this.#cwnd > MAX_WINDOW) this.#cwnd = MAX_WINDOW;
    }
    if (this.#remaining <= 0 && this.#inflight.size === 0) {
      this.#done = true;
      this.#onComplete?.();
      return;
    }
    this.#sendWhatFits();
  }

  #measureRtt(sampleUs: number): number {
    if (this.#srttUs === 0) {
      this.#srttUs = sampleUs;
      this.#rttvarUs = sampleUs / 2;
    } else {
      this.#rttvarUs = 0.75 * this.#rttvarUs + 0.25 * Math.abs(this.#srttUs - sampleUs);
      this.#srttUs = 0.875 * this.#srttUs + 0.125 * sampleUs;
    }
    return Math.max(MIN_RTO_US, this.#srttUs + 4 * this.#rttvarUs);
  }

  #sendWhatFits(): void {
    if (this.#stopped) return;
    const nowUs = this.#events.nowUs;
    while (this.#inflight.size < Math.floor(this.#cwnd) && this.#remaining > 0) {
      const payload = Math.min(MSS, this.#remaining);
      this.#remaining -= payload;
      const segment: TcpSegment = {
        connection: this,
        seq: this.#nextSeq++,
        payloadBytes: payload,
        wireBytes: payload + HEADER_BYTES,
        sendUs: nowUs,
      };
      this.#inflight.set(segment.seq, segment);
      this.#transmit(segment);
    }
    if (this.#inflight.size > 0 && !this.#timerArmed) this.#arm(this.#lastProgressUs + this.#rtoUs);
  }

  #arm(atUs: number): void {
    this.#timerArmed = true;
    this.#events.at(Math.max(atUs, this.#events.nowUs), () => this.#onTimer());
  }

  #onTimer(): void {
    this.#timerArmed = false;
    if (this.#done || this.#inflight.size === 0) return;
    const nowUs = this.#events.nowUs;
    // The same sum the timer was armed at: `now − last < rto` can hold in floating point when
    // `last + rto` already equals `now`, and re-arming then loops at the same instant forever.
    const dueUs = this.#lastProgressUs + this.#rtoUs;
    if (nowUs < dueUs) {
      this.#arm(dueUs);
      return;
    }
    // Timeout: everything in flight is lost; back to one segment.
    this.timeouts++;
    for (const pending of this.#inflight.values()) {
      this.#remaining += pending.payloadBytes;
      this.lostSegments++;
    }
    this.#inflight.clear();
    this.#ssthresh = Math.max(this.#cwnd / 2, 2);
    this.#cwnd = 1;
    this.#recoverUntil = this.#nextSeq;
    this.#rtoUs = Math.min(this.#rtoUs * 2, 60_000_000);
    this.#lastProgressUs = nowUs;
    this.#sendWhatFits();
  }
}

/** Options of {@linkcode ShortTcpSource}. */
export interface ShortTcpSourceOptions {
  /** The agenda. */
  events: EventQueue;
  /** Source of transfer sizes and idle times. */
  random: Random;
  /** Offers a segment to the network. */
  transmit: (segment: TcpSegment) => void;
  /** First possible transfer, s. */
  startS: number;
  /** No transfer starts after this, s. */
  stopS: number;
  /** Starts with a transfer rather than an idle period. */
  initiallyOn: boolean;
  /** Smallest transfer, bytes. */
  minBytes: number;
  /** Largest transfer, bytes. */
  maxBytes: number;
  /** Mean of the exponential idle time between transfers, s. */
  meanOffS: number;
}

/** A sequence of short transfers (new connections) separated by idle periods. */
export class ShortTcpSource {
  readonly #options: ShortTcpSourceOptions;
  /** Transfers started. */
  transfers = 0;
  /** Transfers completed. */
  completed = 0;

  /**
   * Schedules the first transfer or idle period.
   *
   * @param options Timeline and sizes.
   */
  constructor(options: ShortTcpSourceOptions) {
    this.#options = options;
    const first = options.startS * 1e6 +
      (options.initiallyOn ? 0 : options.random.exponential(options.meanOffS) * 1e6);
    this.#schedule(first);
  }

  #schedule(atUs: number): void {
    if (atUs >= this.#options.stopS * 1e6) return;
    this.#options.events.at(Math.round(atUs), () => this.#start());
  }

  #start(): void {
    const { events, random, transmit, minBytes, maxBytes, meanOffS } = this.#options;
    this.transfers++;
    new TcpConnection({
      events,
      transmit,
      bytes: Math.round(random.uniform(minBytes, maxBytes)),
      onComplete: () => {
        this.completed++;
        this.#schedule(events.nowUs + random.exponential(meanOffS) * 1e6);
      },
    });
  }
}
