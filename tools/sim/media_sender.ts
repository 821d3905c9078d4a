/**
 * A media sender that behaves like Chromium's video sender with REMB feedback, as
 * `shared/reference/chromium-interop.md` measured it:
 *
 * - The target starts at 300 kbit/s. A REMB that arrives within the first ~2 s of media becomes
 *   the sender's own estimate; a later REMB is only a ceiling.
 * - Without a higher REMB, the sender's own (loss-based) estimate grows at most 8 %/s while the
 *   receiver reports under 2 % loss, holds between 2 and 10 %, and falls by half the loss ratio
 *   above 10 % (draft-ietf-rmcat-gcc §6, libwebrtc's SendSideBandwidthEstimation). Receiver reports
 *   come once a second.
 * - The target follows a new REMB at once; the encoder's output follows the target with a lag: a
 *   lower target is met within about a second, a higher one reaches 80 % in a second.
 * - 30 fps frames whose sizes vary (log-normal, σ = 0.2) around the encoder rate, a key frame of
 *   four frames' worth every 10 s that later frames pay back, packets of at most 1200 bytes split
 *   evenly, paced at 2.5 × the target, abs-send-time stamped as each packet leaves.
 * - Like libwebrtc's ProbeController, two probe clusters at 3× and 6× the start rate when media
 *   starts (not measured in chromium-interop.md; `probeAtStart: false` turns them off).
 * - Simulcast: several SSRCs, allocated the way libwebrtc's simulcast allocator does (minimums in
 *   order, then targets, the top layer up to its maximum; a layer that is off comes back on only
 *   with 1.2 × its minimum to spare), one pacer and one abs-send-time clock.
 *
 * @module
 */

import { absSendTimeFromMicros } from "../../core/abs_send_time.ts";
import type { EventQueue } from "./event_queue.ts";
import type { Random } from "./random.ts";

/** RTP header with the abs-send-time extension (20), SRTP tag (10), UDP and IPv4 (28). */
export const PACKET_OVERHEAD_BYTES = 58;
/** Largest RTP packet (header + payload). */
export const MAX_RTP_PACKET_BYTES = 1200;
const RTP_HEADER_BYTES = 20;
const MAX_PAYLOAD_BYTES = MAX_RTP_PACKET_BYTES - RTP_HEADER_BYTES;

/** One RTP packet as it leaves the sender. */
export interface MediaPacket {
  /** Stream. */
  ssrc: number;
  /** RTP sequence number (not wrapped). */
  seq: number;
  /** Payload and padding, bytes. */
  payloadSize: number;
  /** Size on the wire, bytes. */
  wireBytes: number;
  /** 90 kHz RTP timestamp. */
  rtpTimestamp: number;
  /** 24-bit abs-send-time. */
  absSendTime: number;
  /** Send time, µs of simulated time. */
  sendUs: number;
  /** A probe (padding) packet. */
  probe: boolean;
}

/** A simulcast layer: what libwebrtc's allocator gives it. */
export interface SimulcastLayer {
  /** Needed to run at all, bps. */
  minBps: number;
  /** Filled before the next layer gets more than its minimum, bps. */
  targetBps: number;
  /** Ceiling (used by the top active layer), bps. */
  maxBps: number;
}

/** libwebrtc's defaults for three layers of a 1280×720 source. */
export const DEFAULT_SIMULCAST_LAYERS: readonly SimulcastLayer[] = [
  { minBps: 30_000, targetBps: 150_000, maxBps: 200_000 },
  { minBps: 150_000, targetBps: 500_000, maxBps: 700_000 },
  { minBps: 600_000, targetBps: 2_500_000, maxBps: 2_500_000 },
];

/** Options of {@linkcode MediaSender}. */
export interface MediaSenderOptions {
  /** The agenda. */
  events: EventQueue;
  /** Source of frame-size variation and clock offsets. */
  random: Random;
  /** SSRCs; more than one makes a simulcast sender (one per layer, lowest first). */
  ssrcs: readonly number[];
  /** Puts a packet on the network at the current time. */
  transmit: (packet: MediaPacket) => void;
  /** Media starts, s. */
  startS: number;
  /** Media stops, s. */
  stopS: number;
  /**
   * Intervals without media (paused tracks), s.
   *
   * @default {[]}
   */
  pauses?: readonly { fromS: number; toS: number }[];
  /**
   * Start bitrate, bps.
   *
   * @default {300000}
   */
  startBitrateBps?: number;
  /**
   * Floor of the target, bps.
   *
   * @default {30000}
   */
  minBitrateBps?: number;
  /**
   * Ceiling of the target (the encoder's maximum), bps; for simulcast, the layers' maxima decide.
   *
   * @default {2500000}
   */
  maxBitrateBps?: number;
  /**
   * Frames per second.
   *
   * @default {30}
   */
  fps?: number;
  /**
   * Seconds between key frames.
   *
   * @default {10}
   */
  keyFrameIntervalS?: number;
  /**
   * A REMB received this long after media starts is still adopted as the estimate, ms.
   *
   * @default {2000}
   */
  startupWindowMs?: number;
  /**
   * Probe clusters at 3× and 6× the start bitrate when media starts.
   *
   * @default {true}
   */
  probeAtStart?: boolean;
  /**
   * Simulcast layers when there are several SSRCs.
   *
   * @default {DEFAULT_SIMULCAST_LAYERS}
   */
  layers?: readonly SimulcastLayer[];
}

interface Layer {
  ssrc: number;
  seq: number;
  rtpOffset: number;
  allocationBps: number;
  encoderBps: number;
  debtBytes: number;
  nextKeyFrameUs: number;
}

const PACING_FACTOR = 2.5;
const MAX_PACER_QUEUE_US = 2_000_000;
const TAU_DOWN_S = 0.3;
const TAU_UP_S = 0.6;
const KEY_FRAME_FACTOR = 4;
const SIMULCAST_HYSTERESIS = 1.2;
const MIN_PAYLOAD_BYTES = 50;
const MIN_FRAME_WIRE_BYTES = PACKET_OVERHEAD_BYTES + MIN_PAYLOAD_BYTES;

/** The browser-like sender. */
export class MediaSender {
  readonly #events: EventQueue;
  readonly #random: Random;
  readonly #transmit: (packet: MediaPacket) => void;
  readonly #layers: Layer[];
  readonly #layerSpecs: readonly SimulcastLayer[] | undefined;
  readonly #startUs: number;
  readonly #stopUs: number;
  readonly #pauses: readonly { fromUs: number; toUs: number }[];
  readonly #minBps: number;
  readonly #maxBps: number;
  readonly #frameUs: number;
  readonly #keyFrameUs: number;
  readonly #startupWindowUs: number;
  readonly #probeAtStart: boolean;
  readonly #clockOffsetUs: number;

  #ownEstimateBps: number;
  #allocated = false;
  #rembCapBps = Infinity;
  #targetBps: number;
  #lastReportUs = -1;
  #mediaStartedUs = -1;
  #lastFrameUs = -1;

  readonly #queue: MediaPacket[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #nextSendUs = 0;
  #pacerScheduled = false;
  readonly #probes: {
    rateBps: number;
    bytesLeft: number;
    packetsLeft: number;
    paddingBytes: number;
  }[] = [];

  /** Packets sent. */
  packetsSent = 0;
  /** Bytes sent on the wire. */
  bytesSent = 0;
  /** REMBs received. */
  rembsReceived = 0;
  /** Last REMB received, bps (0 before any). */
  lastRembBps = 0;

  /**
   * Creates the sender and schedules its first frame.
   *
   * @param options Timeline, SSRCs, rates and where packets go.
   * @throws {RangeError} A bad option.
   */
  constructor(options: MediaSenderOptions) {
    this.#events = options.events;
    this.#random = options.random;
    this.#transmit = options.transmit;
    if (options.ssrcs.length === 0) {
      throw new RangeError("Cannot create sender as 'ssrcs' must not be empty");
    }
    const simulcast = options.ssrcs.length > 1;
    this.#layerSpecs = simulcast ? (options.layers ?? DEFAULT_SIMULCAST_LAYERS) : undefined;
    if (this.#layerSpecs && this.#layerSpecs.length !== options.ssrcs.length) {
      throw new RangeError(
        `Cannot create sender as there must be one layer per SSRC: ${this.#layerSpecs.length} layers, ${options.ssrcs.length} SSRCs`,
      );
    }
    this.#startUs = Math.round(options.startS * 1e6);
    this.#stopUs = Math.round(options.stopS * 1e6);
    this.#pauses = (options.pauses ?? []).map((p) => ({
      fromUs: Math.round(p.fromS * 1e6),
      toUs: Math.round(p.toS * 1e6),
    }));
    this.#minBps = options.minBitrateBps ?? 30_000;
    this.#maxBps = this.#layerSpecs
      ? this.#layerSpecs.reduce(
        (sum, l, i, all) => sum + (i === all.length - 1 ? l.maxBps : l.targetBps),
        0,
      )
      : (options.maxBitrateBps ?? 2_500_000);
    const fps = options.fps ?? 30;
    this.#frameUs = 1e6 / fps;
    this.#keyFrameUs = (options.keyFrameIntervalS ?? 10) * 1e6;
    this.#startupWindowUs = (options.startupWindowMs ?? 2000) * 1000;
    this.#probeAtStart = options.probeAtStart ?? true;
    this.#ownEstimateBps = options.startBitrateBps ?? 300_000;
    this.#targetBps = this.#ownEstimateBps;
    // The sender's clock is not the simulator's: abs-send-time starts anywhere in its 64 s period.
    this.#clockOffsetUs = Math.floor(this.#random.uniform(0, 64e6));
    this.#layers = options.ssrcs.map((ssrc) => ({
      ssrc,
      seq: 0,
      rtpOffset: this.#random.uint32(),
      allocationBps: 0,
      encoderBps: 0,
      debtBytes: 0,
      nextKeyFrameUs: 0,
    }));
    this.#allocate();
    for (const layer of this.#layers) layer.encoderBps = layer.allocationBps;
    this.#events.at(this.#startUs, () => this.#frame());
  }

  /** Current target (what the congestion controller allows), bps. */
  get targetBps(): number {
    return this.#targetBps;
  }

  /** The sender's own estimate before the REMB cap, bps. */
  get ownEstimateBps(): number {
    return this.#ownEstimateBps;
  }

  /** What the encoders are producing now, bps on the wire. */
  get encoderBps(): number {
    let sum = 0;
    for (const layer of this.#layers) sum += layer.encoderBps;
    return sum;
  }

  /**
   * A REMB reached the sender.
   *
   * @param bitrateBps Its value.
   */
  onRemb(bitrateBps: number): void {
    const nowUs = this.#events.nowUs;
    this.rembsReceived++;
    this.lastRembBps = bitrateBps;
    if (this.#mediaStartedUs >= 0 && nowUs - this.#mediaStartedUs <= this.#startupWindowUs) {
      this.#ownEstimateBps = clamp(bitrateBps, this.#minBps, this.#maxBps);
    }
    this.#rembCapBps = bitrateBps;
    this.#updateTarget();
  }

  /**
   * A receiver report reached the sender.
   *
   * @param fractionLost Share of packets lost since the previous report, 0–1.
   */
  onReceiverReport(fractionLost: number): void {
    const nowUs = this.#events.nowUs;
    const dtS = this.#lastReportUs < 0 ? 1 : Math.min(1, (nowUs - this.#lastReportUs) / 1e6);
    this.#lastReportUs = nowUs;
    let estimate = this.#ownEstimateBps;
    if (fractionLost < 0.02) estimate = estimate * 1.08 ** dtS + 1000 * dtS;
    else if (fractionLost > 0.1) estimate = estimate * (1 - 0.5 * fractionLost);
    this.#ownEstimateBps = clamp(estimate, this.#minBps, this.#maxBps);
    this.#updateTarget();
  }

  #updateTarget(): void {
    this.#targetBps = clamp(
      Math.min(this.#ownEstimateBps, this.#rembCapBps),
      this.#minBps,
      this.#maxBps,
    );
    this.#allocate();
  }

  #allocate(): void {
    const specs = this.#layerSpecs;
    if (!specs) {
      this.#layers[0].allocationBps = this.#targetBps;
      return;
    }
    let left = this.#targetBps;
    let active = 0;
    for (let i = 0; i < specs.length; i++) {
      // A layer that is off needs 1.2 × its minimum (at most its target) to come on again, as in
      // libwebrtc's simulcast allocator (the default video hysteresis), so it does not flap.
      const needed = this.#allocated && this.#layers[i].allocationBps === 0
        ? Math.min(SIMULCAST_HYSTERESIS * specs[i].minBps, specs[i].targetBps)
        : specs[i].minBps;
      if (i > 0 && left < needed) break;
      const give = Math.min(left, specs[i].minBps);
      this.#layers[i].allocationBps = give;
      left -= give;
      active++;
    }
    for (let i = active; i < specs.length; i++) this.#layers[i].allocationBps = 0;
    for (let i = 0; i < active; i++) {
      const ceiling = i === active - 1 ? specs[i].maxBps : specs[i].targetBps;
      const give = Math.min(left, ceiling - this.#layers[i].allocationBps);
      this.#layers[i].allocationBps += give;
      left -= give;
    }
    this.#allocated = true;
  }

  #paused(nowUs: number): boolean {
    for (const p of this.#pauses) if (nowUs >= p.fromUs && nowUs < p.toUs) return true;
    return false;
  }

  #frame(): void {
    const nowUs = this.#events.nowUs;
    if (nowUs >= this.#stopUs) return;
    this.#events.at(nowUs + this.#frameUs, () => this.#frame());
    if (this.#paused(nowUs)) {
      this.#lastFrameUs = -1;
      return;
    }
    if (this.#mediaStartedUs < 0) {
      this.#mediaStartedUs = nowUs;
      if (this.#probeAtStart) this.#probe();
    }
    const dtS = this.#lastFrameUs < 0 ? this.#frameUs / 1e6 : (nowUs - this.#lastFrameUs) / 1e6;
    this.#lastFrameUs = nowUs;
    const rtpTime = Math.floor((nowUs * 9) / 100); // 90 kHz
    for (const layer of this.#layers) {
      // The encoder's rate control follows the allocation with a lag.
      const tau = layer.allocationBps < layer.encoderBps ? TAU_DOWN_S : TAU_UP_S;
      layer.encoderBps += (layer.allocationBps - layer.encoderBps) * (1 - Math.exp(-dtS / tau));
      if (layer.allocationBps === 0) {
        layer.encoderBps = 0;
        layer.nextKeyFrameUs = 0; // a layer that comes back starts with a key frame
        continue;
      }
      const meanBytes = layer.encoderBps / 8 * this.#frameUs / 1e6;
      let bytes: number;
      if (nowUs >= layer.nextKeyFrameUs) {
        bytes = meanBytes * KEY_FRAME_FACTOR;
        layer.debtBytes += bytes - meanBytes;
        layer.nextKeyFrameUs = nowUs + this.#keyFrameUs;
      } else {
        const noise = Math.exp(this.#random.normal(0, 0.2) - 0.02);
        const repay = Math.min(layer.debtBytes, 0.25 * meanBytes);
        layer.debtBytes -= repay;
        bytes = meanBytes * noise - repay;
      }
      // The smallest frame is one packet with a little payload, so the encoder's mean output
      // stays at its rate down to the minimum bitrate (30 kbit/s at 30 fps is 125 bytes a frame).
      this.#packetize(
        layer,
        Math.max(bytes, MIN_FRAME_WIRE_BYTES),
        (layer.rtpOffset + rtpTime) >>> 0,
        nowUs,
      );
    }
    this.#pace();
  }

  // Splits a frame (bytes on the wire) into packets of at most 1200 bytes of RTP, evenly.
  #packetize(layer: Layer, wireBytes: number, rtpTimestamp: number, nowUs: number): void {
    const count = Math.max(
      1,
      Math.ceil(wireBytes / (MAX_RTP_PACKET_BYTES + PACKET_OVERHEAD_BYTES - RTP_HEADER_BYTES)),
    );
    const payloadTotal = Math.max(
      count * MIN_PAYLOAD_BYTES,
      Math.round(wireBytes - count * PACKET_OVERHEAD_BYTES),
    );
    const each = Math.min(MAX_PAYLOAD_BYTES, Math.ceil(payloadTotal / count));
    for (let i = 0; i < count; i++) {
      this.#enqueue({
        ssrc: layer.ssrc,
        seq: layer.seq++,
        payloadSize: each,
        wireBytes: each + PACKET_OVERHEAD_BYTES,
        rtpTimestamp,
        absSendTime: 0,
        sendUs: nowUs,
        probe: false,
      });
    }
  }

  // Two clusters at 3× and 6× the start rate, each at least 5 packets and 15 ms, packets sized
  // for 2 ms at the probe rate (libwebrtc's BitrateProber). The pacer runs them: queued media goes
  // out at the probe rate, padding fills in when the queue is empty.
  #probe(): void {
    for (const scale of [3, 6]) {
      const rateBps = this.#targetBps * scale;
      const size = Math.max(250, Math.min(MAX_PAYLOAD_BYTES, Math.round(rateBps * 0.002 / 8)));
      this.#probes.push({
        rateBps,
        bytesLeft: rateBps * 0.015 / 8,
        packetsLeft: 5,
        paddingBytes: size,
      });
    }
  }

  #enqueue(packet: MediaPacket): void {
    this.#queue.push(packet);
    this.#queuedBytes += packet.wireBytes;
  }

  #pace(): void {
    if (this.#pacerScheduled) return;
    if (this.#queueHead === this.#queue.length && this.#probes.length === 0) return;
    this.#pacerScheduled = true;
    this.#events.at(Math.max(this.#events.nowUs, this.#nextSendUs), () => this.#pacerWake());
  }

  #pacerWake(): void {
    this.#pacerScheduled = false;
    const nowUs = this.#events.nowUs;
    const probe = this.#probes[0];
    let packet: MediaPacket;
    if (this.#queueHead < this.#queue.length) {
      packet = this.#queue[this.#queueHead++];
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      this.#queuedBytes -= packet.wireBytes;
      packet.probe = probe !== undefined;
    } else if (probe) {
      const layer = this.#layers[0];
      packet = {
        ssrc: layer.ssrc,
        seq: layer.seq++,
        payloadSize: probe.paddingBytes,
        wireBytes: probe.paddingBytes + PACKET_OVERHEAD_BYTES,
        rtpTimestamp: (layer.rtpOffset + Math.floor((nowUs * 9) / 100)) >>> 0,
        absSendTime: 0,
        sendUs: nowUs,
        probe: true,
      };
    } else {
      return;
    }
    let rateBps: number;
    if (probe) {
      rateBps = probe.rateBps;
      probe.bytesLeft -= packet.wireBytes;
      if (--probe.packetsLeft <= 0 && probe.bytesLeft <= 0) this.#probes.shift();
    } else {
      // Like libwebrtc's pacer: 2.5 × the target, faster when the queue would take over 2 s.
      rateBps = Math.max(
        PACING_FACTOR * this.#targetBps,
        (this.#queuedBytes + packet.wireBytes) * 8 * 1e6 / MAX_PACER_QUEUE_US,
      );
    }
    this.#nextSendUs = nowUs + Math.round(packet.wireBytes * 8 * 1e6 / rateBps);
    packet.sendUs = nowUs;
    this.#send(packet);
    this.#pace();
  }

  #send(packet: MediaPacket): void {
    packet.absSendTime = absSendTimeFromMicros(packet.sendUs + this.#clockOffsetUs);
    this.packetsSent++;
    this.bytesSent += packet.wireBytes;
    this.#transmit(packet);
  }
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
