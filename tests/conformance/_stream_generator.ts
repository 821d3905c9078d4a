/**
 * The test bench of libwebrtc's remote-bitrate-estimator unit tests, rebuilt from reference §12.1
 * and §12.2: a simulated receiver clock, RTP video streams, a bottleneck link, the bitrate observer,
 * and the scenario helpers whose assertions carry libwebrtc's tolerances.
 *
 * All arithmetic is integer arithmetic with C++ semantics (truncating division on non-negative
 * values, uint32 wrap of RTP timestamps, 24-bit wrap of abs-send-time). Every quantity stays well
 * below 2^53, so plain numbers are exact; the one product that could exceed it falls back to BigInt.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import type { PacketInfo } from "../../core/types.ts";
import { assertNear } from "./_assert.ts";

/** Largest packet the streams produce, in bytes (`kMtu`). */
export const MTU_BYTES = 1200;
/** Tolerance of the initial-behaviour and reordering checks (`kAcceptedBitrateErrorBps`). */
export const ACCEPTED_BITRATE_ERROR_BPS = 50_000;
/** Packets fed before the mid-run `Process()` check (`kNumInitialPackets`). */
export const NUM_INITIAL_PACKETS = 2;
/** SSRC of the default stream (`kDefaultSsrc`). */
export const DEFAULT_SSRC = 1;
/** The receiver clock starts at 100 s. */
export const CLOCK_START_US = 100_000_000;
/** Send times are 1 s ahead of the receiver clock (`kSendSideOffsetUs`). */
const SEND_SIDE_OFFSET_US = 1_000_000;
/** Capacity of the bottleneck link until a test changes it. */
const DEFAULT_CAPACITY_BPS = 1_000_000;

const TWO_POW_24 = 0x1000000;

/** C++ integer division: truncates toward zero. Exact for |a| < 2^53. */
export function idiv(a: number, b: number): number {
  return Math.trunc(a / b);
}

/**
 * The test helper's `AbsSendTime(t, denom)`: t/denom seconds as 24-bit 6.18 fixed point, rounded.
 *
 * @param t Numerator of the time in seconds.
 * @param denom Denominator of the time in seconds.
 * @returns The 24-bit abs-send-time value.
 */
export function absSendTime(t: number, denom: number): number {
  const scaled = t * 262144 + idiv(denom, 2);
  if (Number.isSafeInteger(scaled)) return Math.floor(scaled / denom) % TWO_POW_24;
  const wide = ((BigInt(t) << 18n) + BigInt(idiv(denom, 2))) / BigInt(denom);
  return Number(BigInt.asUintN(24, wide));
}

/**
 * The test helper's `AddAbsSendTime(a, b)`: 24-bit wrapping addition; `b` may be negative (libwebrtc
 * passes negative ints through a uint32 cast, which is the same thing modulo 2^24).
 *
 * @param a A 24-bit abs-send-time.
 * @param b The increment.
 * @returns `(a + b) mod 2^24`.
 */
export function addAbsSendTime(a: number, b: number): number {
  return (((a + b) % TWO_POW_24) + TWO_POW_24) % TWO_POW_24;
}

/** `SimulatedClock`: integer microseconds that tests move forwards and, between frames, backwards. */
export class SimulatedClock {
  #us: number;

  /** @param startUs Initial time in µs. */
  constructor(startUs: number) {
    this.#us = startUs;
  }

  /** `TimeInMicroseconds()`. */
  get us(): number {
    return this.#us;
  }

  /** `TimeInMilliseconds()`: µs rounded to the nearest ms, half up (`DivideRoundToNearest`). */
  get ms(): number {
    const q = Math.floor(this.#us / 1000);
    return this.#us - q * 1000 >= 500 ? q + 1 : q;
  }

  /** The clock as fractional milliseconds, the `nowMs` argument of the estimator. */
  get exactMs(): number {
    return this.#us / 1000;
  }

  /** `AdvanceTimeMicroseconds(delta)`; a negative delta moves the clock backwards. */
  advanceUs(deltaUs: number): void {
    this.#us += deltaUs;
  }

  /** `AdvanceTimeMilliseconds(delta)`. */
  advanceMs(deltaMs: number): void {
    this.#us += deltaMs * 1000;
  }

  /** Sets the clock to `us`, as the helper does with a relative advance from the current time. */
  setUs(us: number): void {
    this.#us = us;
  }
}

/** One generated RTP packet. */
export interface RtpPacket {
  ssrc: number;
  /** Sender clock in µs (receiver clock + 1 s at generation). */
  sendTimeUs: number;
  /** When the packet leaves the bottleneck, receiver clock in µs. */
  arrivalTimeUs: number;
  /** Payload bytes. */
  size: number;
  /** 32-bit RTP timestamp. */
  rtpTimestamp: number;
}

/** `RtpStream`: a constant-frame-rate video stream cut into equal packets of at most one MTU. */
export class RtpStream {
  readonly fps: number;
  readonly ssrc: number;
  readonly frequencyHz: number;
  bitrateBps: number;
  rtpTimestampOffset: number;
  /** When the next frame is due, µs; 0 so that the first call always produces a frame. */
  nextRtpTimeUs = 0;

  /**
   * @param fps Frames per second.
   * @param bitrateBps Stream bitrate.
   * @param ssrc Stream SSRC.
   * @param frequencyHz RTP clock rate.
   * @param rtpTimestampOffset Added (mod 2^32) to every RTP timestamp.
   */
  constructor(
    fps: number,
    bitrateBps: number,
    ssrc: number,
    frequencyHz: number,
    rtpTimestampOffset: number,
  ) {
    this.fps = fps;
    this.bitrateBps = bitrateBps;
    this.ssrc = ssrc;
    this.frequencyHz = frequencyHz;
    this.rtpTimestampOffset = rtpTimestampOffset >>> 0;
  }

  /**
   * Generates one frame if it is due. All its packets share one send time (no pacing).
   *
   * @param nowUs Current time in µs.
   * @param out Receives the packets.
   * @returns When the next frame is due.
   */
  generateFrame(nowUs: number, out: RtpPacket[]): number {
    if (nowUs < this.nextRtpTimeUs) return this.nextRtpTimeUs;
    const bitsPerFrame = idiv(this.bitrateBps + idiv(this.fps, 2), this.fps);
    const packets = Math.max(idiv(bitsPerFrame + 4 * MTU_BYTES, 8 * MTU_BYTES), 1);
    const size = idiv(bitsPerFrame + 4 * packets, 8 * packets);
    const sendTimeUs = nowUs + SEND_SIDE_OFFSET_US;
    const ticks = idiv(idiv(this.frequencyHz, 1000) * sendTimeUs + 500, 1000) >>> 0;
    const rtpTimestamp = (this.rtpTimestampOffset + ticks) >>> 0;
    for (let i = 0; i < packets; i++) {
      out.push({ ssrc: this.ssrc, sendTimeUs, arrivalTimeUs: 0, size, rtpTimestamp });
    }
    this.nextRtpTimeUs = nowUs + idiv(1_000_000 + idiv(this.fps, 2), this.fps);
    return this.nextRtpTimeUs;
  }
}

/** `StreamGenerator`: streams sharing one bottleneck FIFO link with no propagation delay. */
export class StreamGenerator {
  capacityBps: number;
  #prevArrivalUs: number;
  /** Kept in ascending SSRC order, like libwebrtc's `std::map`. */
  readonly #streams: RtpStream[] = [];

  /**
   * @param capacityBps Link capacity.
   * @param nowUs Construction time; the link is idle from then on.
   */
  constructor(capacityBps: number, nowUs: number) {
    this.capacityBps = capacityBps;
    this.#prevArrivalUs = nowUs;
  }

  /** Adds (or replaces) a stream. */
  addStream(stream: RtpStream): void {
    const at = this.#streams.findIndex((s) => s.ssrc >= stream.ssrc);
    if (at === -1) this.#streams.push(stream);
    else if (this.#streams[at].ssrc === stream.ssrc) this.#streams[at] = stream;
    else this.#streams.splice(at, 0, stream);
  }

  /** The stream with this SSRC. */
  stream(ssrc: number): RtpStream {
    const found = this.#streams.find((s) => s.ssrc === ssrc);
    assert.ok(found, `no stream with SSRC ${ssrc}`);
    return found;
  }

  /**
   * Splits `totalBps` over the streams in proportion to their current bitrates, with cumulative
   * rounding so that the parts add up exactly.
   */
  setBitrateBps(totalBps: number): void {
    let totalBefore = 0;
    for (const s of this.#streams) totalBefore += s.bitrateBps;
    let before = 0;
    let assigned = 0;
    for (const s of this.#streams) {
      before += s.bitrateBps;
      const after = idiv(before * totalBps + idiv(totalBefore, 2), totalBefore);
      s.bitrateBps = after - assigned;
      assigned += s.bitrateBps;
    }
    assert.equal(assigned, totalBps, "the per-stream bitrates must add up to the total");
  }

  /**
   * Lets the stream that is due first (lowest SSRC on ties) generate a frame, and sends its packets
   * through the bottleneck.
   *
   * @param out Receives the packets, with arrival times set.
   * @param nowUs Current time in µs.
   * @returns When the next frame is due, but not earlier than `nowUs`.
   */
  generateFrame(out: RtpPacket[], nowUs: number): number {
    this.#dueStream().generateFrame(nowUs, out);
    const capacityBitsPerUs = idiv(this.capacityBps, 1000);
    for (const packet of out) {
      const txUs = idiv(8000 * packet.size + idiv(capacityBitsPerUs, 2), capacityBitsPerUs);
      this.#prevArrivalUs = Math.max(nowUs + txUs, this.#prevArrivalUs + txUs);
      packet.arrivalTimeUs = this.#prevArrivalUs;
    }
    return Math.max(this.#dueStream().nextRtpTimeUs, nowUs);
  }

  #dueStream(): RtpStream {
    assert.ok(this.#streams.length > 0, "the generator has no streams");
    let due = this.#streams[0];
    for (const s of this.#streams) if (s.nextRtpTimeUs < due.nextRtpTimeUs) due = s;
    return due;
  }
}

/** One `onEstimate` callback as recorded by {@linkcode TestBitrateObserver}. */
export interface EstimateCall {
  bitrateBps: number;
  ssrcs: number[];
}

/** `TestBitrateObserver`: remembers the latest callback; `reset()` clears only `updated`. */
export class TestBitrateObserver {
  latestBitrate = 0;
  updated = false;
  /** Every callback, when recording was asked for. */
  readonly calls: EstimateCall[] | undefined;

  /** @param record Whether to keep every callback in {@linkcode calls}. */
  constructor(record = false) {
    this.calls = record ? [] : undefined;
  }

  /** The callback handed to the estimator. */
  readonly onEstimate = (bitrateBps: number, ssrcs: number[]): void => {
    this.latestBitrate = bitrateBps;
    this.updated = true;
    this.calls?.push({ bitrateBps, ssrcs: [...ssrcs] });
  };

  /** `Reset()`: clears `updated`, keeps the latest bitrate. */
  reset(): void {
    this.updated = false;
  }
}

/** Makes the estimator under test, wired to the observer's callback. */
export type EstimatorFactory = (
  onEstimate: (bitrateBps: number, ssrcs: number[]) => void,
) => BandwidthEstimator;

/** One configuration of the estimator under test, and which header fields its packets carry. */
export interface EstimatorFlavor {
  /** Shown in step names. */
  readonly label: string;
  readonly create: EstimatorFactory;
  /**
   * Whether packets carry abs-send-time. The estimator picks its algorithm from the presence of the
   * field, so the single-stream (RTP timestamp) fixture must leave it out.
   */
  readonly sendsAbsSendTime: boolean;
}

/** The abs-send-time estimator with transport-wide grouping (libwebrtc's behaviour). */
export const TRANSPORT: EstimatorFlavor = {
  label: 'grouping "transport"',
  create: (onEstimate) => new BandwidthEstimator({ grouping: "transport", onEstimate }),
  sendsAbsSendTime: true,
};

/** The abs-send-time estimator with one delay pipeline per SSRC. */
export const PER_STREAM: EstimatorFlavor = {
  label: 'grouping "per-stream"',
  create: (onEstimate) => new BandwidthEstimator({ grouping: "per-stream", onEstimate }),
  sendsAbsSendTime: true,
};

/** The RTP-timestamp (single-stream) estimator: packets without abs-send-time. */
export const RTP_TIMESTAMPS: EstimatorFlavor = {
  label: "RTP-timestamp mode",
  create: (onEstimate) => new BandwidthEstimator({ onEstimate }),
  sendsAbsSendTime: false,
};

/** The per-test fixture: clock, observer, estimator, stream generator and arrival-time offset. */
export class BweFixture {
  readonly clock: SimulatedClock = new SimulatedClock(CLOCK_START_US);
  readonly observer: TestBitrateObserver;
  readonly estimator: BandwidthEstimator;
  readonly generator: StreamGenerator;
  readonly flavor: EstimatorFlavor;
  /** Added to every packet's arrival time (a receiver clock jump the estimator must survive). */
  arrivalTimeOffsetMs = 0;

  /**
   * @param flavor The estimator under test.
   * @param recordCallbacks Whether the observer keeps every callback.
   */
  constructor(flavor: EstimatorFlavor, recordCallbacks = false) {
    this.flavor = flavor;
    this.observer = new TestBitrateObserver(recordCallbacks);
    this.estimator = flavor.create(this.observer.onEstimate);
    this.generator = new StreamGenerator(DEFAULT_CAPACITY_BPS, this.clock.us);
  }

  /** `AddDefaultStream()`: 30 fps, 300 kbps, SSRC 1, 90 kHz, RTP timestamps starting near the wrap. */
  addDefaultStream(): void {
    this.generator.addStream(new RtpStream(30, 300_000, DEFAULT_SSRC, 90_000, 0xFFFFF000));
  }

  /**
   * `IncomingPacket(ssrc, payload_size, arrival_ms, rtp_ts, abs24)`: one packet at the current clock.
   * The arrival time gets the fixture's offset; `now` is the exact clock.
   */
  incomingPacket(
    ssrc: number,
    payloadSize: number,
    arrivalMs: number,
    rtpTimestamp: number,
    absSendTime24: number,
  ): void {
    const packet: PacketInfo = {
      ssrc,
      arrivalTimeMs: arrivalMs + this.arrivalTimeOffsetMs,
      payloadSize,
      rtpTimestamp: rtpTimestamp >>> 0,
    };
    if (this.flavor.sendsAbsSendTime) packet.absSendTime = absSendTime24;
    this.estimator.onPacket(packet, this.clock.exactMs);
  }

  /** `Process()` at the current clock. */
  process(): void {
    this.estimator.process(this.clock.exactMs);
  }

  /** `LatestEstimate()` in bps. */
  latestEstimate(): number {
    return this.estimator.getEstimate();
  }

  /**
   * `GenerateAndProcessFrame(ssrc, bitrate)`: one frame through the link into the estimator, then
   * `Process()`, then the clock jumps to the next frame time, which may lie in the past.
   *
   * @returns Whether a callback right after some packet reported less than `bitrateBps`.
   */
  generateAndProcessFrame(_ssrc: number, bitrateBps: number): boolean {
    assert.ok(bitrateBps > 0, "the bitrate must be positive");
    this.generator.setBitrateBps(bitrateBps);
    const packets: RtpPacket[] = [];
    const nextUs = this.generator.generateFrame(packets, this.clock.us);
    let overuse = false;
    for (const p of packets) {
      this.observer.reset();
      this.clock.setUs(p.arrivalTimeUs);
      this.incomingPacket(
        p.ssrc,
        p.size,
        idiv(p.arrivalTimeUs + 500, 1000),
        p.rtpTimestamp,
        absSendTime(p.sendTimeUs, 1_000_000),
      );
      if (this.observer.updated && this.observer.latestBitrate < bitrateBps) overuse = true;
    }
    this.process();
    this.clock.setUs(nextUs);
    return overuse;
  }

  /**
   * `SteadyStateRun`: follows the estimate frame by frame; every reported decrease must land
   * strictly between `minBps` and `maxBps`. Stops once an update was seen and the bitrate exceeds
   * `targetBps`.
   *
   * @returns The bitrate in use at the end.
   */
  steadyStateRun(
    ssrc: number,
    maxFrames: number,
    startBps: number,
    minBps: number,
    maxBps: number,
    targetBps: number,
  ): number {
    let bitrate = startBps;
    let updateSeen = false;
    for (let i = 0; i < maxFrames; i++) {
      const overuse = this.generateAndProcessFrame(ssrc, bitrate);
      if (overuse) {
        const latest = this.observer.latestBitrate;
        assert.ok(latest < maxBps, `steady state: decrease to ${latest} must be < ${maxBps}`);
        assert.ok(latest > minBps, `steady state: decrease to ${latest} must be > ${minBps}`);
        bitrate = latest;
        updateSeen = true;
      } else if (this.observer.updated) {
        bitrate = this.observer.latestBitrate;
        this.observer.reset();
      }
      if (updateSeen && bitrate > targetBps) break;
    }
    assert.ok(updateSeen, "steady state: no decrease was ever reported");
    return bitrate;
  }
}

/** Measured by {@linkcode initialBehaviorTestHelper}. */
export interface InitialBehaviorResult {
  estimateBps: number;
}

/**
 * `InitialBehaviorTestHelper`: no estimate before data; 253 packets of 1200 B at 50 fps; the
 * estimate must then be `expectedBps` ± 50 kbps and vanish when the stream is removed.
 */
export function initialBehaviorTestHelper(
  flavor: EstimatorFlavor,
  expectedBps: number,
): InitialBehaviorResult {
  const f = new BweFixture(flavor);
  const frameIntervalMs = 20;
  const frameIntervalAst = absSendTime(1, 50);
  let timestamp = 0;
  let ast = 0;
  assert.equal(f.latestEstimate(), 0, "no estimate before any packet");
  f.clock.advanceMs(1000);
  f.process();
  assert.equal(f.latestEstimate(), 0, "no estimate from Process() without packets");
  assert.equal(f.observer.updated, false, "no callback from Process() without packets");
  f.observer.reset();
  f.clock.advanceMs(1000);
  for (let i = 0; i < 5 * 50 + 1 + NUM_INITIAL_PACKETS; i++) {
    if (i === NUM_INITIAL_PACKETS) {
      f.process();
      assert.equal(f.latestEstimate(), 0, "no estimate after two packets");
      assert.equal(f.observer.updated, false, "no callback after two packets");
      f.observer.reset();
    }
    f.incomingPacket(DEFAULT_SSRC, MTU_BYTES, f.clock.ms, timestamp, ast);
    f.clock.advanceMs(frameIntervalMs);
    timestamp = (timestamp + 90 * frameIntervalMs) >>> 0;
    ast = addAbsSendTime(ast, frameIntervalAst);
  }
  f.process();
  assert.ok(f.observer.updated, "an estimate was reported");
  const estimateBps = f.observer.latestBitrate;
  assertNear(estimateBps, expectedBps, ACCEPTED_BITRATE_ERROR_BPS, "InitialBehavior estimate");
  f.observer.reset();
  assert.equal(f.observer.latestBitrate, f.latestEstimate(), "getEstimate() == last callback");
  f.estimator.removeStream(DEFAULT_SSRC);
  assert.equal(f.latestEstimate(), 0, "no estimate once the only stream is removed");
  return { estimateBps };
}

/** Measured by {@linkcode rateIncreaseReorderingTestHelper}. */
export interface RateIncreaseReorderingResult {
  beforeReorderingBps: number;
  afterReorderingBps: number;
}

/**
 * `RateIncreaseReorderingTestHelper`: the initial 253 packets, then ten reordered pairs (a frame,
 * then the frame before it at the same arrival time); both estimates must be `expectedBps` ± 50 kbps.
 */
export function rateIncreaseReorderingTestHelper(
  flavor: EstimatorFlavor,
  expectedBps: number,
): RateIncreaseReorderingResult {
  const f = new BweFixture(flavor);
  const frameIntervalMs = 20;
  const frameIntervalAst = absSendTime(1, 50);
  let timestamp = 0;
  let ast = 0;
  for (let i = 0; i < 5 * 50 + 1 + NUM_INITIAL_PACKETS; i++) {
    if (i === NUM_INITIAL_PACKETS) {
      f.process();
      assert.equal(f.observer.updated, false, "no callback after two packets");
    }
    f.incomingPacket(DEFAULT_SSRC, MTU_BYTES, f.clock.ms, timestamp, ast);
    f.clock.advanceMs(frameIntervalMs);
    timestamp = (timestamp + 90 * frameIntervalMs) >>> 0;
    ast = addAbsSendTime(ast, frameIntervalAst);
  }
  f.process();
  assert.ok(f.observer.updated, "an estimate was reported");
  const beforeReorderingBps = f.observer.latestBitrate;
  assertNear(beforeReorderingBps, expectedBps, ACCEPTED_BITRATE_ERROR_BPS, "estimate before");
  for (let i = 0; i < 10; i++) {
    f.clock.advanceMs(2 * frameIntervalMs);
    timestamp = (timestamp + 2 * 90 * frameIntervalMs) >>> 0;
    ast = addAbsSendTime(ast, 2 * frameIntervalAst);
    f.incomingPacket(DEFAULT_SSRC, 1000, f.clock.ms, timestamp, ast);
    f.incomingPacket(
      DEFAULT_SSRC,
      1000,
      f.clock.ms,
      (timestamp - 90 * frameIntervalMs) >>> 0,
      addAbsSendTime(ast, -frameIntervalAst),
    );
  }
  f.process();
  assert.ok(f.observer.updated, "an estimate was reported after the reordered packets");
  const afterReorderingBps = f.observer.latestBitrate;
  assertNear(afterReorderingBps, expectedBps, ACCEPTED_BITRATE_ERROR_BPS, "estimate after");
  return { beforeReorderingBps, afterReorderingBps };
}

/**
 * `RateIncreaseRtpTimestampsTestHelper`: from 30 kbps, follow the estimate frame by frame on the
 * 1 Mbps link; reaching 500 kbps must take exactly `expectedIterations` frames.
 *
 * @returns The number of frames it took.
 */
export function rateIncreaseRtpTimestampsTestHelper(
  flavor: EstimatorFlavor,
  expectedIterations: number,
): number {
  const f = new BweFixture(flavor);
  let bitrate = 30_000;
  let iterations = 0;
  f.addDefaultStream();
  while (bitrate < 500_000) {
    const overuse = f.generateAndProcessFrame(DEFAULT_SSRC, bitrate);
    if (overuse) {
      // libwebrtc's EXPECT_GT(latest, bitrate) after an overuse: effectively no overuse allowed.
      assert.ok(
        f.observer.latestBitrate > bitrate,
        `frame ${iterations + 1}: estimate fell from ${bitrate} to ${f.observer.latestBitrate}`,
      );
      bitrate = f.observer.latestBitrate;
      f.observer.reset();
    } else if (f.observer.updated) {
      bitrate = f.observer.latestBitrate;
      f.observer.reset();
    }
    iterations++;
    assert.ok(
      iterations <= expectedIterations,
      `still at ${bitrate} bps after the expected ${expectedIterations} frames`,
    );
  }
  assert.equal(iterations, expectedIterations, "frames needed to reach 500 kbps");
  return iterations;
}

/** Measured by {@linkcode capacityDropTestHelper}. */
export interface CapacityDropResult {
  steadyStateBps: number;
  /** ms from the capacity drop to the end of the first frame with an estimate ≤ 500 kbps, or −1. */
  dropDelayMs: number;
  finalBps: number;
}

/**
 * `CapacityDropTestHelper`: converge on a 1 Mbps link, halve the capacity (and optionally jump the
 * receiver clock), and check how long the estimate takes to fall to 500 kbps (± 33 ms).
 */
export function capacityDropTestHelper(
  flavor: EstimatorFlavor,
  numberOfStreams: number,
  wrapTimestamp: boolean,
  expectedDropDelayMs: number,
  receiverClockOffsetChangeMs: number,
): CapacityDropResult {
  const f = new BweFixture(flavor);
  const framerate = 30;
  const startBitrate = 900_000;
  const minExpected = 800_000;
  const maxExpected = 1_100_000;
  const initialCapacity = 1_000_000;
  const reducedCapacity = 500_000;

  let steadyStateSeconds: number;
  if (numberOfStreams <= 1) {
    steadyStateSeconds = 10;
    f.addDefaultStream();
  } else {
    steadyStateSeconds = 10 * numberOfStreams;
    // Stream 0 gets half; the others share the rest as i / (n(n−1)), rounded.
    const denom = numberOfStreams * (numberOfStreams - 1);
    let sum = 0;
    for (let i = 0; i < numberOfStreams; i++) {
      const bitrate = i === 0 ? startBitrate / 2 : idiv(startBitrate * i + idiv(denom, 2), denom);
      const topBitsMask = i === 0 ? 0 : (0xFFFFFFFF << (32 - i)) >>> 0;
      f.generator.addStream(
        new RtpStream(
          framerate,
          bitrate,
          DEFAULT_SSRC + i,
          90_000,
          (0xFFFFF000 ^ topBitsMask) >>> 0,
        ),
      );
      sum += bitrate;
    }
    assert.equal(sum, startBitrate, "the stream bitrates must add up to the start bitrate");
  }
  if (wrapTimestamp) {
    // Let SSRC 1's RTP timestamps wrap during the steady-state run.
    f.generator.stream(DEFAULT_SSRC).rtpTimestampOffset = 0xFFFFFFFF - steadyStateSeconds * 90_000;
  }

  f.generator.capacityBps = initialCapacity;
  let bitrate = f.steadyStateRun(
    DEFAULT_SSRC,
    steadyStateSeconds * framerate,
    startBitrate,
    minExpected,
    maxExpected,
    initialCapacity,
  );
  const steadyStateBps = bitrate;
  assert.ok(
    bitrate >= 0.85 * initialCapacity && bitrate <= 1.05 * initialCapacity,
    `steady state must end within [850000, 1050000]: got ${bitrate}`,
  );
  f.observer.reset();

  f.arrivalTimeOffsetMs += receiverClockOffsetChangeMs;
  f.generator.capacityBps = reducedCapacity;
  const overuseStartMs = f.clock.ms;
  let dropTimeMs = -1;
  for (let i = 0; i < 100 * numberOfStreams; i++) {
    f.generateAndProcessFrame(DEFAULT_SSRC, bitrate);
    if (dropTimeMs === -1 && f.observer.latestBitrate <= reducedCapacity) {
      dropTimeMs = f.clock.ms;
    }
    if (f.observer.updated) bitrate = f.observer.latestBitrate;
  }
  const dropDelayMs = dropTimeMs === -1 ? -1 : dropTimeMs - overuseStartMs;
  assert.ok(dropTimeMs !== -1, `the estimate never fell to ${reducedCapacity} bps`);
  assertNear(dropDelayMs, expectedDropDelayMs, 33, "time from capacity drop to ≤ 500 kbps (ms)");

  for (let i = 0; i < numberOfStreams; i++) {
    assert.equal(f.latestEstimate(), bitrate, "getEstimate() equals the last followed update");
    f.estimator.removeStream(DEFAULT_SSRC + i);
  }
  assert.equal(f.latestEstimate(), 0, "no estimate once every stream is removed");
  return { steadyStateBps, dropDelayMs, finalBps: bitrate };
}

/** Measured by {@linkcode timestampGroupingTestHelper}. */
export interface TimestampGroupingResult {
  afterRampUpBps: number;
  afterOveruseBps: number;
}

/**
 * `TestTimestampGroupingTestHelper`: a ramp-up with abs-send-time wrapping, then 100 batches of 15
 * tiny packets one RTP tick apart (one group each) that arrive 25 ms apart per 20 ms of send time;
 * the estimate must fall below 400 kbps.
 */
export function timestampGroupingTestHelper(flavor: EstimatorFlavor): TimestampGroupingResult {
  const f = new BweFixture(flavor);
  const framerate = 50;
  const frameIntervalMs = 20;
  const frameIntervalAst = absSendTime(1, framerate);
  let timestamp = 0;
  // Start 50 frames before the 24-bit wrap so that abs-send-time wraps during the ramp-up.
  let ast = addAbsSendTime(TWO_POW_24, -50 * frameIntervalAst);
  for (let i = 0; i <= 6 * framerate; i++) {
    f.incomingPacket(DEFAULT_SSRC, 1000, f.clock.ms, timestamp, ast);
    f.process();
    f.clock.advanceMs(frameIntervalMs);
    timestamp = (timestamp + 90 * frameIntervalMs) >>> 0;
    ast = addAbsSendTime(ast, frameIntervalAst);
  }
  assert.ok(f.observer.updated, "an estimate was reported during the ramp-up");
  const afterRampUpBps = f.observer.latestBitrate;
  assert.ok(afterRampUpBps >= 400_000, `ramp-up must reach 400 kbps: got ${afterRampUpBps}`);

  const groupLength = 15;
  const groupLengthAst = absSendTime(groupLength, 90_000);
  const singleTickAst = absSendTime(1, 90_000);
  for (let i = 0; i < 100; i++) {
    for (let j = 0; j < groupLength; j++) {
      f.incomingPacket(DEFAULT_SSRC, 100, f.clock.ms, timestamp, ast);
      f.clock.advanceMs(idiv(frameIntervalMs, groupLength));
      timestamp = (timestamp + 1) >>> 0;
      ast = addAbsSendTime(ast, singleTickAst);
    }
    // The next batch arrives late: an over-use.
    f.clock.advanceMs(10);
    timestamp = (timestamp + 90 * frameIntervalMs - groupLength) >>> 0;
    ast = addAbsSendTime(ast, addAbsSendTime(frameIntervalAst, -groupLengthAst));
    f.process();
  }
  assert.ok(f.observer.updated, "an estimate was reported");
  const afterOveruseBps = f.observer.latestBitrate;
  assert.ok(
    afterOveruseBps < 400_000,
    `the estimate must fall below 400 kbps: got ${afterOveruseBps}`,
  );
  return { afterRampUpBps, afterOveruseBps };
}

/** Measured by {@linkcode wrappingTestHelper}. */
export interface WrappingResult {
  beforeBps: number;
  afterBps: number;
}

/**
 * `TestWrappingHelper(silence)`: 30 s at 100 fps, `silenceSeconds` of silence (abs-send-time
 * advanced accordingly, so it wraps), then 21 packets arriving twice as slowly as they were sent; the
 * estimate must be lower afterwards, which needs the stream timeout to reset the grouping.
 */
export function wrappingTestHelper(
  flavor: EstimatorFlavor,
  silenceSeconds: number,
): WrappingResult {
  const f = new BweFixture(flavor);
  const frameIntervalMs = 10;
  const frameIntervalAst = absSendTime(1, 100);
  let ast = 0;
  let timestamp = 0;
  for (let i = 0; i < 3000; i++) {
    f.incomingPacket(DEFAULT_SSRC, 1000, f.clock.ms, timestamp, ast);
    timestamp = (timestamp + frameIntervalMs) >>> 0;
    f.clock.advanceMs(frameIntervalMs);
    ast = addAbsSendTime(ast, frameIntervalAst);
    f.process();
  }
  const beforeBps = f.latestEstimate();
  f.clock.advanceMs(silenceSeconds * 1000);
  ast = addAbsSendTime(ast, absSendTime(silenceSeconds, 1));
  f.process();
  for (let i = 0; i < 21; i++) {
    f.incomingPacket(DEFAULT_SSRC, 1000, f.clock.ms, timestamp, ast);
    timestamp = (timestamp + frameIntervalMs) >>> 0;
    f.clock.advanceMs(2 * frameIntervalMs);
    ast = addAbsSendTime(ast, frameIntervalAst);
    f.process();
  }
  const afterBps = f.latestEstimate();
  assert.ok(
    afterBps < beforeBps,
    `estimate must drop after the silence: ${beforeBps} → ${afterBps}`,
  );
  return { beforeBps, afterBps };
}
