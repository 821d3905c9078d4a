/**
 * Unit tests of the public estimator's edge (reference §1, §4.3, §9): input validation, packet
 * objects not being kept, callback errors, abs-send-time ↔ RTP-timestamp switching, per-stream and
 * transport grouping, stream timeouts, `stats()`, the start bitrate and bounds under hostile input,
 * and determinism.
 *
 * @module
 */

import assert from "node:assert/strict";
import { absSendTimeFromMicros } from "../../core/abs_send_time.ts";
import {
  BandwidthEstimator,
  type BandwidthEstimatorOptions,
} from "../../core/bandwidth_estimator.ts";
import type { PacketInfo } from "../../core/types.ts";
import { Prng } from "./_prng.ts";

type Call = [bitrateBps: number, ssrcs: number[]];

/** An estimator whose `onEstimate` calls are recorded (SSRC lists copied). */
function recording(options: BandwidthEstimatorOptions = {}) {
  const calls: Call[] = [];
  const estimator = new BandwidthEstimator({
    ...options,
    onEstimate: (bps, ssrcs) => {
      calls.push([bps, [...ssrcs]]);
      options.onEstimate?.(bps, ssrcs);
    },
  });
  return { estimator, calls };
}

/** A packet at `ms` on both clocks, sent at `sendUs`. */
function packet(
  ssrc: number,
  ms: number,
  sendUs: number | undefined,
  payloadSize = 1000,
): PacketInfo {
  const p: PacketInfo = {
    ssrc,
    arrivalTimeMs: ms,
    payloadSize,
    rtpTimestamp: Math.round(((sendUs ?? ms * 1000) * 90) / 1000) >>> 0,
  };
  if (sendUs !== undefined) p.absSendTime = absSendTimeFromMicros(sendUs);
  return p;
}

/** Things that happen to an estimator, in order. */
type Event =
  | { kind: "packet"; packet: PacketInfo; nowMs?: number }
  | { kind: "process"; nowMs: number };

/** Plays events into an estimator, optionally calling `after` after each packet. */
function replay(
  estimator: BandwidthEstimator,
  events: readonly Event[],
  after?: (event: Event) => void,
): void {
  for (const event of events) {
    if (event.kind === "packet") {
      if (event.nowMs === undefined) estimator.onPacket({ ...event.packet });
      else estimator.onPacket({ ...event.packet }, event.nowMs);
    } else {
      estimator.process(event.nowMs);
    }
    after?.(event);
  }
}

/**
 * Two 300 kbit/s streams at 30 fps, preceded by an 800 kbit/s probe, through one FIFO link of
 * 1 Mbit/s that drops to 400 kbit/s between 8 s and 12 s; 0–1 ms of arrival jitter; the sender's
 * abs-send-time wraps 14 s in. `process()` runs every 100 ms.
 */
function linkScenario(seed: number, withAbsSendTime: boolean, seconds = 20): Event[] {
  const rng = new Prng(seed);
  const sends: { ssrc: number; sendUs: number; size: number }[] = [];
  for (let i = 0; i < 8; i++) sends.push({ ssrc: 0x1111, sendUs: i * 10_000, size: 1000 });
  for (let frame = 0; frame * 33_333 < seconds * 1e6; frame++) {
    for (const [ssrc, offsetUs] of [[0x1111, 0], [0xabcdef01, 16_000]]) {
      const sendUs = 100_000 + frame * 33_333 + offsetUs;
      const n = rng.int(1, 3);
      for (let k = 0; k < n; k++) sends.push({ ssrc, sendUs, size: rng.int(200, 2500 / n) });
    }
  }
  sends.sort((a, b) => a.sendUs - b.sendUs);
  const senderStartUs = 50_000_000;
  const receiverOffsetMs = 1_000_000;
  const events: Event[] = [];
  let linkFreeUs = 0;
  let nextProcessMs = receiverOffsetMs;
  for (const s of sends) {
    const capacityBps = s.sendUs >= 8e6 && s.sendUs < 12e6 ? 400_000 : 1_000_000;
    linkFreeUs = Math.max(s.sendUs, linkFreeUs) + Math.round((s.size * 8e6) / capacityBps);
    const arrivalMs = receiverOffsetMs + (linkFreeUs + rng.int(0, 1000)) / 1000;
    while (nextProcessMs <= arrivalMs) {
      events.push({ kind: "process", nowMs: nextProcessMs });
      nextProcessMs += 100;
    }
    const p = packet(s.ssrc, arrivalMs, withAbsSendTime ? senderStartUs + s.sendUs : undefined);
    p.payloadSize = s.size;
    p.rtpTimestamp = ((s.ssrc & 0xffff) * 65536 + Math.round((s.sendUs * 90) / 1000)) >>> 0;
    events.push({ kind: "packet", packet: p });
  }
  return events;
}

/**
 * Hostile input: arrival and receiver clocks that jump ±30 s back and forth, random sizes 0–1500,
 * abs-send-time that is sometimes plausible, sometimes random and sometimes absent (with long
 * stretches without it, so both estimators run), 40 SSRCs, and `process()` calls at random. Each
 * stretch of 20 000 packets ends with a trickle of tiny packets (to drive the estimate down), and
 * every abs-send-time stretch opens with a dense 10 Mbit/s burst (to drive it up).
 */
function wildEvents(seed: number, count: number): Event[] {
  const rng = new Prng(seed);
  const ssrcs = Array.from({ length: 40 }, (_, i) => i < 3 ? i : rng.int(0, 0xffffffff));
  const events: Event[] = [];
  let baseMs = 1_000_000;
  let arrivalJumpMs = 0;
  let clockJumpMs = 0;
  let sendUs = 0;
  for (let i = 0; i < count; i++) {
    const phase = Math.floor(i / 20_000) % 3; // 0: abs-send-time, 1: mixed, 2: RTP only
    const burst = phase === 0 && i % 20_000 < 300;
    const trickle = i % 20_000 >= 12_000;
    baseMs += burst ? 1 : rng.int(0, 15) + (rng.chance(0.2) ? rng.next() : 0);
    sendUs += burst ? 1000 : rng.int(0, 20_000);
    if (rng.chance(0.002)) arrivalJumpMs = rng.chance(0.5) ? 0 : rng.chance(0.5) ? 30_000 : -30_000;
    if (rng.chance(0.002)) clockJumpMs = rng.chance(0.5) ? 0 : rng.chance(0.5) ? 30_000 : -30_000;
    let absSendTime: number | undefined;
    if (burst) {
      absSendTime = absSendTimeFromMicros(sendUs);
    } else if (phase === 0 || (phase === 1 && rng.chance(0.5))) {
      absSendTime = rng.chance(0.7)
        ? absSendTimeFromMicros(sendUs + rng.int(0, 3000))
        : rng.int(0, 0xffffff);
    }
    const p: PacketInfo = {
      ssrc: burst ? 0 : ssrcs[rng.chance(0.6) ? rng.int(0, 2) : rng.int(0, ssrcs.length - 1)],
      arrivalTimeMs: baseMs + arrivalJumpMs + (burst ? 0 : rng.int(0, 40)),
      payloadSize: burst ? 1250 : trickle ? rng.int(0, 40) : rng.int(0, 1500),
      rtpTimestamp: rng.chance(0.8) ? Math.round(sendUs * 0.09) >>> 0 : rng.int(0, 0xffffffff),
    };
    if (absSendTime !== undefined) p.absSendTime = absSendTime;
    const nowMs = burst || rng.chance(0.5) ? undefined : baseMs + clockJumpMs + rng.int(0, 5);
    events.push({ kind: "packet", packet: p, nowMs });
    if (rng.chance(0.02)) events.push({ kind: "process", nowMs: baseMs + clockJumpMs });
  }
  return events;
}

const CONFIGS: readonly BandwidthEstimatorOptions[] = [
  { grouping: "per-stream", filter: "kalman" },
  { grouping: "transport", filter: "kalman" },
  { grouping: "per-stream", filter: "trendline" },
  { grouping: "transport", filter: "trendline" },
];

function label(config: BandwidthEstimatorOptions): string {
  return `${config.grouping}, ${config.filter}`;
}

/** Asserts that `fn` throws exactly `type`, with a std-style message naming `field`. */
function assertThrowsNaming(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  field: string,
): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `nothing thrown for '${field}'`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.constructor, type, `${caught.constructor.name} for '${field}': ${caught}`);
  assert.match(caught.message, new RegExp(`'${field}'`));
  assert.match(caught.message, /^[A-Z]/);
  assert.doesNotMatch(caught.message, /\.$/);
}

// ---------------------------------------------------------------------------------------------

Deno.test("BandwidthEstimator.onPacket() rejects bad input with the right error class", async (t) => {
  const good = (): PacketInfo => ({
    ssrc: 1,
    arrivalTimeMs: 1000,
    payloadSize: 1000,
    rtpTimestamp: 0,
    absSendTime: 0,
  });
  const bad = (field: string, value: unknown): PacketInfo =>
    ({ ...good(), [field]: value }) as unknown as PacketInfo;
  const cases: [field: string, value: unknown, type: typeof TypeError | typeof RangeError][] = [
    ["ssrc", NaN, RangeError],
    ["ssrc", -1, RangeError],
    ["ssrc", 1.5, RangeError],
    ["ssrc", 2 ** 32, RangeError],
    ["ssrc", Infinity, RangeError],
    ["ssrc", "1", TypeError],
    ["ssrc", undefined, TypeError],
    ["ssrc", 1n, TypeError],
    ["payloadSize", -1, RangeError],
    ["payloadSize", 0.5, RangeError],
    ["payloadSize", NaN, RangeError],
    ["payloadSize", 65_536, RangeError],
    ["payloadSize", "1000", TypeError],
    ["payloadSize", undefined, TypeError],
    ["arrivalTimeMs", NaN, RangeError],
    ["arrivalTimeMs", Infinity, RangeError],
    ["arrivalTimeMs", -Infinity, RangeError],
    ["arrivalTimeMs", "1000", TypeError],
    ["arrivalTimeMs", undefined, TypeError],
    ["absSendTime", 0x1000000, RangeError],
    ["absSendTime", -1, RangeError],
    ["absSendTime", 1.5, RangeError],
    ["absSendTime", NaN, RangeError],
    ["absSendTime", "0", TypeError],
    ["absSendTime", null, TypeError],
    ["rtpTimestamp", -1, RangeError],
    ["rtpTimestamp", 2 ** 32, RangeError],
    ["rtpTimestamp", 0.5, RangeError],
    ["rtpTimestamp", NaN, RangeError],
    ["rtpTimestamp", "0", TypeError],
    ["rtpTimestamp", undefined, TypeError],
  ];
  for (const [field, value, type] of cases) {
    await t.step(`${field} = ${typeof value === "string" ? `"${value}"` : String(value)}`, () => {
      const { estimator, calls } = recording();
      assertThrowsNaming(() => estimator.onPacket(bad(field, value)), type, field);
      // A rejected packet changes nothing.
      assert.equal(estimator.stats().packets, 0);
      assert.equal(estimator.stats().mode, undefined);
      assert.deepEqual(estimator.getSSRCs(), []);
      assert.equal(calls.length, 0);
    });
  }

  await t.step("the extreme valid values are accepted", () => {
    const { estimator } = recording();
    estimator.onPacket({
      ssrc: 0xffffffff,
      arrivalTimeMs: -5.25,
      payloadSize: 0,
      rtpTimestamp: 0xffffffff,
      absSendTime: 0xffffff,
    });
    estimator.onPacket({ ...good(), payloadSize: 65_535 }, -1e9);
    assert.deepEqual(estimator.getSSRCs(), [1, 0xffffffff]);
  });

  await t.step("nowMs must be a finite number", () => {
    const { estimator } = recording();
    assertThrowsNaming(() => estimator.onPacket(good(), NaN), RangeError, "nowMs");
    assertThrowsNaming(() => estimator.onPacket(good(), Infinity), RangeError, "nowMs");
    assertThrowsNaming(
      () => estimator.onPacket(good(), "5" as unknown as number),
      TypeError,
      "nowMs",
    );
    assert.equal(estimator.stats().packets, 0);
  });

  await t.step("the packet must be an object", () => {
    const { estimator } = recording();
    for (const value of [null, undefined, 42, "packet", true]) {
      assertThrowsNaming(
        () => estimator.onPacket(value as unknown as PacketInfo),
        TypeError,
        "packet",
      );
    }
  });
});

Deno.test("BandwidthEstimator rejects bad options at construction", async (t) => {
  const cases: [
    name: string,
    options: unknown,
    type: typeof TypeError | typeof RangeError,
    field: string,
  ][] = [
    ["an unknown grouping", { grouping: "per-ssrc" }, RangeError, "grouping"],
    ["an unknown filter", { filter: "kalmann" }, RangeError, "filter"],
    [
      "min > max",
      { minBitrateBps: 2_000_000, maxBitrateBps: 1_000_000 },
      RangeError,
      "minBitrateBps",
    ],
    ["a zero min", { minBitrateBps: 0 }, RangeError, "minBitrateBps"],
    ["a fractional max", { maxBitrateBps: 1e6 + 0.5 }, RangeError, "maxBitrateBps"],
    ["a start below min", { startBitrateBps: 1000 }, RangeError, "startBitrateBps"],
    [
      "a start above max",
      { startBitrateBps: 2e6, maxBitrateBps: 1e6 },
      RangeError,
      "startBitrateBps",
    ],
    ["a string start", { startBitrateBps: "300000" }, TypeError, "startBitrateBps"],
    ["a non-function onEstimate", { onEstimate: "log" }, TypeError, "onEstimate"],
    ["a non-function onError", { onError: {} }, TypeError, "onError"],
    ["trendlineWindowSize 9", { trendlineWindowSize: 9 }, RangeError, "trendlineWindowSize"],
    ["trendlineWindowSize 201", { trendlineWindowSize: 201 }, RangeError, "trendlineWindowSize"],
    ["trendlineWindowSize 20.5", { trendlineWindowSize: 20.5 }, RangeError, "trendlineWindowSize"],
    ["trendlineWindowSize NaN", { trendlineWindowSize: NaN }, RangeError, "trendlineWindowSize"],
    [
      "a string trendlineWindowSize",
      { trendlineWindowSize: "20" },
      TypeError,
      "trendlineWindowSize",
    ],
    ["streamTimeoutMs 0", { streamTimeoutMs: 0 }, RangeError, "streamTimeoutMs"],
    ["streamTimeoutMs −1", { streamTimeoutMs: -1 }, RangeError, "streamTimeoutMs"],
    ["streamTimeoutMs NaN", { streamTimeoutMs: NaN }, RangeError, "streamTimeoutMs"],
    ["streamTimeoutMs ∞", { streamTimeoutMs: Infinity }, RangeError, "streamTimeoutMs"],
    ["options null", null, TypeError, "options"],
    ["options a number", 5, TypeError, "options"],
  ];
  for (const [name, options, type, field] of cases) {
    await t.step(name, () => {
      assertThrowsNaming(
        () => new BandwidthEstimator(options as BandwidthEstimatorOptions),
        type,
        field,
      );
    });
  }

  await t.step("a grouping or filter that is not a string is a TypeError", () => {
    assertThrowsNaming(
      () => new BandwidthEstimator({ grouping: 1 } as unknown as BandwidthEstimatorOptions),
      TypeError,
      "grouping",
    );
    assertThrowsNaming(
      () => new BandwidthEstimator({ filter: true } as unknown as BandwidthEstimatorOptions),
      TypeError,
      "filter",
    );
  });

  await t.step("the edges of each range are accepted", () => {
    new BandwidthEstimator({ trendlineWindowSize: 10, filter: "trendline" });
    new BandwidthEstimator({ trendlineWindowSize: 200, filter: "trendline" });
    new BandwidthEstimator({ minBitrateBps: 300_000, maxBitrateBps: 300_000 });
    new BandwidthEstimator({ startBitrateBps: 5000 });
    new BandwidthEstimator({ startBitrateBps: 30_000_000 });
    new BandwidthEstimator({ streamTimeoutMs: 1 });
    new BandwidthEstimator();
    new BandwidthEstimator(undefined);
  });
});

Deno.test("BandwidthEstimator.setRtt(), .removeStream() and .process() reject bad arguments", () => {
  const estimator = new BandwidthEstimator();
  assertThrowsNaming(() => estimator.setRtt(0), RangeError, "rttMs");
  assertThrowsNaming(() => estimator.setRtt(-5), RangeError, "rttMs");
  assertThrowsNaming(() => estimator.setRtt(NaN), RangeError, "rttMs");
  assertThrowsNaming(() => estimator.setRtt(Infinity), RangeError, "rttMs");
  assertThrowsNaming(() => estimator.setRtt("50" as unknown as number), TypeError, "rttMs");
  assertThrowsNaming(() => estimator.removeStream(-1), RangeError, "ssrc");
  assertThrowsNaming(() => estimator.removeStream(2 ** 32), RangeError, "ssrc");
  assertThrowsNaming(() => estimator.removeStream(0.5), RangeError, "ssrc");
  assertThrowsNaming(() => estimator.process(NaN), RangeError, "nowMs");
  assertThrowsNaming(() => estimator.process(-Infinity), RangeError, "nowMs");
  assertThrowsNaming(() => estimator.process(undefined as unknown as number), TypeError, "nowMs");
  // The RTT was not changed by the rejected calls.
  assert.equal(estimator.stats().rttMs, 200);
  estimator.setRtt(0.5);
  assert.equal(estimator.stats().rttMs, 0.5);
});

Deno.test("BandwidthEstimator.onPacket() does not keep the packet object", async (t) => {
  for (const withAbsSendTime of [true, false]) {
    await t.step(withAbsSendTime ? "abs-send-time" : "RTP timestamps", () => {
      const events = linkScenario(11, withAbsSendTime);
      const fresh = recording();
      replay(fresh.estimator, events);

      const reused = recording();
      const shared: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
      for (const event of events) {
        if (event.kind === "process") {
          reused.estimator.process(event.nowMs);
          continue;
        }
        shared.ssrc = event.packet.ssrc;
        shared.arrivalTimeMs = event.packet.arrivalTimeMs;
        shared.payloadSize = event.packet.payloadSize;
        shared.rtpTimestamp = event.packet.rtpTimestamp;
        shared.absSendTime = event.packet.absSendTime;
        reused.estimator.onPacket(shared);
        // Scribble over it: anything still pointing at it would now read nonsense.
        shared.ssrc = 0xdead;
        shared.arrivalTimeMs = -1e9;
        shared.payloadSize = 65_535;
        shared.rtpTimestamp = 0;
        shared.absSendTime = 0xffffff;
      }
      assert.ok(fresh.calls.length > 20, `only ${fresh.calls.length} estimates`);
      assert.deepEqual(reused.calls, fresh.calls);
      assert.deepEqual(reused.estimator.stats(), fresh.estimator.stats());
    });
  }
});

Deno.test("BandwidthEstimator reports an onEstimate that throws and carries on", async (t) => {
  const events = linkScenario(3, true, 6);
  const reference = recording();
  replay(reference.estimator, events);
  assert.ok(reference.calls.length > 5);

  await t.step("to onError, with every later estimate still delivered", () => {
    const errors: unknown[] = [];
    const thrown: Error[] = [];
    const seen: Call[] = [];
    const estimator = new BandwidthEstimator({
      onEstimate: (bps, ssrcs) => {
        seen.push([bps, [...ssrcs]]);
        const error = new Error(`listener failed at ${bps}`);
        thrown.push(error);
        throw error;
      },
      onError: (error) => errors.push(error),
    });
    replay(estimator, events);
    assert.deepEqual(seen, reference.calls);
    assert.equal(errors.length, thrown.length);
    errors.forEach((error, i) => assert.equal(error, thrown[i]));
    assert.equal(estimator.getEstimate(), reference.estimator.getEstimate());
  });

  await t.step("to console.error when there is no onError", () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    let count = 0;
    try {
      const estimator = new BandwidthEstimator({
        onEstimate: () => {
          count++;
          throw new RangeError("listener failed");
        },
      });
      replay(estimator, events);
    } finally {
      console.error = original;
    }
    assert.equal(count, reference.calls.length);
    assert.equal(logged.length, count);
    for (const args of logged) {
      assert.ok(args.some((a) => a instanceof RangeError && a.message === "listener failed"));
    }
  });

  await t.step("and an onError that throws too is swallowed", () => {
    let reports = 0;
    const seen: Call[] = [];
    const estimator = new BandwidthEstimator({
      onEstimate: (bps, ssrcs) => {
        seen.push([bps, [...ssrcs]]);
        throw new Error("listener");
      },
      onError: () => {
        reports++;
        throw new Error("reporter");
      },
    });
    replay(estimator, events);
    assert.deepEqual(seen, reference.calls);
    assert.equal(reports, seen.length);
  });
});

Deno.test("BandwidthEstimator switches between abs-send-time and RTP timestamps as libwebrtc does", async (t) => {
  const { estimator, calls } = recording();
  let ms = 10_000;

  await t.step("no mode before the first packet", () => {
    assert.equal(estimator.stats().mode, undefined);
    assert.equal(estimator.getEstimate(), 0);
  });

  await t.step("starts with RTP timestamps", () => {
    estimator.onPacket(packet(7, ms, undefined));
    assert.equal(estimator.stats().mode, "rtp-timestamp");
    assert.equal(estimator.stats().modeSwitches, 0);
    assert.deepEqual(estimator.getSSRCs(), [7]);
  });

  await t.step("the first packet with abs-send-time switches, from scratch", () => {
    // Ten 1000-byte packets 5 ms apart: a 1.6 Mbit/s probe gives an estimate.
    for (let i = 0; i < 10; i++) {
      ms += 5;
      estimator.onPacket(packet(1, ms, i * 5000));
      if (i === 0) {
        assert.equal(estimator.stats().mode, "abs-send-time");
        assert.equal(estimator.stats().modeSwitches, 1);
        assert.deepEqual(estimator.getSSRCs(), [1]); // SSRC 7 belonged to the old estimator
        assert.equal(estimator.getEstimate(), 0);
      }
    }
    assert.ok(estimator.getEstimate() > 1_500_000);
  });

  const estimate = estimator.getEstimate();
  const callsBefore = calls.length;

  await t.step("29 packets without it are ignored and do not switch back", () => {
    for (let i = 0; i < 29; i++) estimator.onPacket(packet(1, ms += 5, undefined));
    const stats = estimator.stats();
    assert.equal(stats.mode, "abs-send-time");
    assert.equal(stats.packetsWithoutAbsSendTime, 29);
    assert.equal(stats.streams[0].packets, 10);
    assert.equal(estimator.getEstimate(), estimate);
    assert.equal(calls.length, callsBefore);
  });

  await t.step("a packet with it restarts the count of 30 consecutive packets", () => {
    estimator.onPacket(packet(1, ms += 5, 10 * 5000));
    for (let i = 0; i < 29; i++) estimator.onPacket(packet(1, ms += 5, undefined));
    assert.equal(estimator.stats().mode, "abs-send-time");
    assert.equal(estimator.stats().packetsWithoutAbsSendTime, 58);
  });

  await t.step("the 30th consecutive one switches to RTP timestamps, from scratch", () => {
    estimator.onPacket(packet(2, ms += 5, undefined));
    const stats = estimator.stats();
    assert.equal(stats.mode, "rtp-timestamp");
    assert.equal(stats.modeSwitches, 2);
    assert.equal(stats.packetsWithoutAbsSendTime, 58); // this one is used, not ignored
    assert.equal(estimator.getEstimate(), 0);
    assert.deepEqual(estimator.getSSRCs(), [2]);
    assert.equal(stats.streams[0].packets, 1);
    assert.equal(stats.incomingRateBps, undefined); // One packet is no rate yet.
  });

  await t.step("the RTP-timestamp estimator then builds its own estimate", () => {
    const callsAtSwitch = calls.length;
    // 6 s of 30 fps with process() every 100 ms: initialized from the incoming rate after 5 s.
    for (let frame = 1; frame <= 180; frame++) {
      const frameMs = ms + frame * 33;
      estimator.onPacket(packet(2, frameMs, undefined, 1200), frameMs);
      if (frame % 3 === 0) estimator.process(frameMs);
    }
    ms += 180 * 33;
    assert.ok(estimator.getEstimate() > 0);
    assert.ok(calls.length > callsAtSwitch);
    assert.deepEqual(calls.at(-1)![1], [2]);
  });

  await t.step("and abs-send-time takes over again, from scratch", () => {
    estimator.onPacket(packet(3, ms += 5, 99_000_000));
    const stats = estimator.stats();
    assert.equal(stats.mode, "abs-send-time");
    assert.equal(stats.modeSwitches, 3);
    assert.equal(estimator.getEstimate(), 0);
    assert.deepEqual(estimator.getSSRCs(), [3]);
  });
});

/**
 * Two streams sharing the sender's abs-send-time clock, 1000-byte packets at 30 fps each: SSRC 1
 * arrives with a constant delay, SSRC 2 with 3 ms more delay per frame (its own queue grows).
 */
function oneStreamQueues(estimator: BandwidthEstimator, seconds: number): void {
  for (let frame = 0; frame < seconds * 30; frame++) {
    const sendUs = 1_000_000 + frame * 33_333;
    estimator.onPacket(packet(1, 50_000 + sendUs / 1000 + 20, sendUs));
    const send2 = sendUs + 10_000;
    estimator.onPacket(packet(2, 50_000 + send2 / 1000 + 20 + 3 * frame, send2));
  }
}

Deno.test("BandwidthEstimator with per-stream grouping lets the most severe stream decide", () => {
  const { estimator, calls } = recording({ grouping: "per-stream", startBitrateBps: 1_500_000 });
  oneStreamQueues(estimator, 3);
  const stats = estimator.stats();
  assert.deepEqual(stats.streams.map((s) => [s.ssrc, s.usage]), [[1, "normal"], [2, "overusing"]]);
  assert.equal(stats.usage, "overusing");
  // The fused figures are the overusing stream's.
  assert.equal(stats.delayOffsetMs, stats.streams[1].delayOffsetMs);
  assert.equal(stats.thresholdMs, stats.streams[1].thresholdMs);
  // The estimate was cut below the ~480 kbit/s received.
  assert.ok(calls.some(([bps]) => bps < 480_000), `estimates: ${calls.map((c) => c[0])}`);
  assert.ok(estimator.getEstimate() < 480_000);
  assert.equal(stats.rateControlState, "hold");
  assert.ok(stats.linkCapacityBps !== undefined);
  // Each stream has its own pipeline.
  assert.notEqual(stats.streams[0].delayOffsetMs, stats.streams[1].delayOffsetMs);
  assert.deepEqual(calls.at(-1)![1], [1, 2]);
});

Deno.test("BandwidthEstimator with transport grouping runs one pipeline for all streams", () => {
  const { estimator } = recording({ grouping: "transport", startBitrateBps: 1_500_000 });
  oneStreamQueues(estimator, 3);
  const [a, b] = estimator.stats().streams;
  assert.deepEqual([a.ssrc, b.ssrc], [1, 2]);
  assert.ok(a.numDeltas > 50);
  for (
    const key of ["usage", "delayOffsetMs", "modifiedOffsetMs", "thresholdMs", "numDeltas"] as const
  ) {
    assert.equal(a[key], b[key], key);
  }
  // Per-stream counters stay per stream.
  assert.equal(a.packets, 90);
  assert.equal(b.packets, 90);
});

Deno.test("BandwidthEstimator times out a silent stream", async (t) => {
  await t.step("abs-send-time: at the next packet of another stream after 2 s", () => {
    const { estimator, calls } = recording();
    let ms = 10_000;
    for (let i = 0; i < 50; i++, ms += 10) {
      estimator.onPacket(packet(1, ms, ms * 1000));
      estimator.onPacket(packet(2, ms + 5, ms * 1000 + 5000));
    }
    const lastOf2 = ms - 10 + 5;
    while (ms + 10 < lastOf2 + 2000) estimator.onPacket(packet(1, ms += 10, ms * 1000));
    assert.deepEqual(estimator.getSSRCs(), [1, 2]);
    // Silent for exactly 2000 ms: still counted (the timeout is strict).
    estimator.onPacket(packet(1, lastOf2 + 2000, (lastOf2 + 2000) * 1000));
    assert.deepEqual(estimator.getSSRCs(), [1, 2]);
    // 1 ms more, and the next packet of SSRC 1 drops SSRC 2.
    estimator.onPacket(packet(1, lastOf2 + 2001, (lastOf2 + 2001) * 1000));
    assert.deepEqual(estimator.getSSRCs(), [1]);
    assert.deepEqual(estimator.stats().streams.map((s) => s.ssrc), [1]);
    // Later estimates cover SSRC 1 only.
    const callsBefore = calls.length;
    ms = lastOf2 + 2001;
    for (let i = 0; i < 150; i++) estimator.onPacket(packet(1, ms += 10, ms * 1000));
    assert.ok(calls.length > callsBefore);
    assert.deepEqual(calls.at(-1)![1], [1]);
  });

  await t.step("abs-send-time: a custom streamTimeoutMs is honoured", () => {
    const estimator = new BandwidthEstimator({ streamTimeoutMs: 500 });
    estimator.onPacket(packet(1, 1000, 0));
    estimator.onPacket(packet(2, 1000, 0));
    estimator.onPacket(packet(1, 1500, 500_000));
    assert.deepEqual(estimator.getSSRCs(), [1, 2]);
    estimator.onPacket(packet(1, 1501, 501_000));
    assert.deepEqual(estimator.getSSRCs(), [1]);
  });

  await t.step("with every stream removed the estimate reads 0", () => {
    const estimator = new BandwidthEstimator({ startBitrateBps: 300_000 });
    estimator.onPacket(packet(1, 1000, 0));
    assert.ok(estimator.getEstimate() > 0);
    estimator.removeStream(1);
    assert.equal(estimator.getEstimate(), 0);
    assert.deepEqual(estimator.getSSRCs(), []);
  });

  await t.step("RTP timestamps: at the next process(), not at another stream's packet", () => {
    const { estimator, calls } = recording({ startBitrateBps: 500_000 });
    for (let ms = 0; ms <= 1000; ms += 10) {
      estimator.onPacket(packet(1, ms, undefined));
      estimator.onPacket(packet(2, ms, undefined));
      if (ms % 500 === 0) estimator.process(ms);
    }
    for (let ms = 1010; ms <= 3500; ms += 10) estimator.onPacket(packet(1, ms, undefined));
    // SSRC 2 has been silent for 2.5 s, but only process() drops it.
    assert.deepEqual(estimator.getSSRCs(), [1, 2]);
    estimator.process(3500);
    assert.deepEqual(estimator.getSSRCs(), [1]);
    assert.deepEqual(calls.at(-1)![1], [1]);
  });

  await t.step("RTP timestamps: a custom streamTimeoutMs is honoured", () => {
    for (const [streamTimeoutMs, expected] of [[300, [1]], [undefined, [1, 2]]] as const) {
      const estimator = new BandwidthEstimator({ startBitrateBps: 500_000, streamTimeoutMs });
      estimator.onPacket(packet(1, 0, undefined));
      estimator.onPacket(packet(2, 0, undefined));
      estimator.process(0);
      for (let ms = 10; ms <= 600; ms += 10) estimator.onPacket(packet(1, ms, undefined));
      estimator.process(600);
      assert.deepEqual(estimator.getSSRCs(), expected, `streamTimeoutMs ${streamTimeoutMs}`);
    }
  });
});

Deno.test("BandwidthEstimator.stats() reports consistent, typed figures", async (t) => {
  await t.step("abs-send-time, three streams", () => {
    const { estimator, calls } = recording();
    // SSRCs 30, 10, 20 in that order of first appearance; 1000 B each every 30 ms: 800 kbit/s.
    const ssrcs = [30, 10, 20];
    let n = 0;
    for (let ms = 0; ms < 3000; ms += 10, n++) {
      estimator.onPacket(packet(ssrcs[n % 3], 100_000 + ms, 5_000_000 + ms * 1000));
    }
    estimator.setRtt(80);
    const stats = estimator.stats();
    assert.equal(stats.mode, "abs-send-time");
    assert.equal(stats.estimateBps, estimator.getEstimate());
    assert.ok(stats.estimateBps > 0);
    assert.equal(stats.estimateBps, calls.at(-1)![0]);
    assert.ok(Math.abs(stats.incomingRateBps! - 800_000) <= 8000, `${stats.incomingRateBps}`);
    assert.deepEqual(stats.streams.map((s) => s.ssrc), [10, 20, 30]);
    assert.deepEqual(estimator.getSSRCs(), [10, 20, 30]);
    assert.equal(stats.packets, 300);
    assert.equal(stats.packetsWithoutAbsSendTime, 0);
    assert.equal(stats.modeSwitches, 0);
    assert.equal(stats.rttMs, 80);
    assert.equal(stats.linkCapacityBps, undefined);
    assert.ok(["normal", "underusing", "overusing"].includes(stats.usage));
    assert.ok(["hold", "increase", "decrease"].includes(stats.rateControlState));
    assert.equal(typeof stats.delayOffsetMs, "number");
    assert.equal(typeof stats.modifiedOffsetMs, "number");
    assert.ok(stats.thresholdMs! >= 6 && stats.thresholdMs! <= 600);
    // The last packets were SSRC 30 at 2970 ms, SSRC 10 at 2980 ms and SSRC 20 at 2990 ms.
    const lastMs = [102_980, 102_990, 102_970];
    for (const [i, s] of stats.streams.entries()) {
      assert.equal(s.packets, 100);
      assert.equal(s.bytes, 100_000);
      assert.ok(["normal", "underusing", "overusing"].includes(s.usage));
      assert.ok(Number.isFinite(s.delayOffsetMs) && Number.isFinite(s.modifiedOffsetMs));
      assert.ok(s.numDeltas > 0 && s.numDeltas <= 1000);
      assert.equal(s.lastPacketMs, lastMs[i]);
    }
    assert.deepEqual(
      Object.keys(stats).sort(),
      [
        "delayOffsetMs",
        "estimateBps",
        "incomingRateBps",
        "linkCapacityBps",
        "modeSwitches",
        "mode",
        "modifiedOffsetMs",
        "packets",
        "packetsWithoutAbsSendTime",
        "rateControlState",
        "rttMs",
        "streams",
        "thresholdMs",
        "usage",
      ].sort(),
    );
  });

  await t.step("RTP timestamps, measured on the receiver clock", () => {
    const estimator = new BandwidthEstimator();
    for (let ms = 0; ms < 2000; ms += 20) {
      estimator.onPacket(packet(5, ms, undefined, 1500));
    }
    const stats = estimator.stats();
    assert.equal(stats.mode, "rtp-timestamp");
    // 1500 B every 20 ms: 600 kbit/s.
    assert.ok(Math.abs(stats.incomingRateBps! - 600_000) <= 6000, `${stats.incomingRateBps}`);
    assert.equal(stats.estimateBps, undefined); // No value yet, as every statistic says it.
    assert.equal(estimator.getEstimate(), 0); // libwebrtc's LatestEstimate says 0.
    assert.equal(stats.streams[0].packets, 100);
    assert.equal(stats.streams[0].bytes, 150_000);
    assert.equal(stats.streams[0].lastPacketMs, 1980);
  });

  await t.step("an empty estimator", () => {
    const stats = new BandwidthEstimator().stats();
    assert.equal(stats.mode, undefined);
    assert.equal(stats.estimateBps, undefined);
    assert.equal(stats.incomingRateBps, undefined);
    assert.equal(stats.delayOffsetMs, undefined);
    assert.equal(stats.thresholdMs, undefined);
    assert.equal(stats.packets, 0);
    assert.deepEqual(stats.streams, []);
    assert.equal(stats.usage, "normal");
    assert.equal(stats.rttMs, 200);
  });

  await t.step("polling stats() after every packet changes nothing", async (t) => {
    for (
      const [name, events] of [
        ["a congested link", linkScenario(5, true)],
        ["hostile input", wildEvents(17, 60_000)],
      ] as const
    ) {
      await t.step(name, () => {
        const quiet = recording();
        replay(quiet.estimator, events);
        const polled = recording();
        replay(polled.estimator, events, () => polled.estimator.stats());
        assert.deepEqual(polled.calls, quiet.calls);
        assert.deepEqual(polled.estimator.stats(), quiet.estimator.stats());
      });
    }
  });
});

Deno.test("BandwidthEstimator.stats() after a packet the abs-send-time estimator ignored does not disturb its incoming rate", () => {
  // Abs-send-time packets at 800 kbit/s, then a packet without abs-send-time (ignored in this
  // mode) stamped 1.5 s later, e.g. by another clock, then the abs-send-time packets go on.
  function run(pollAfterIgnored: boolean) {
    const { estimator, calls } = recording();
    for (let ms = 10_000; ms <= 11_000; ms += 10) estimator.onPacket(packet(1, ms, ms * 1000));
    estimator.onPacket(packet(9, 12_500, undefined));
    if (pollAfterIgnored) estimator.stats();
    estimator.onPacket(packet(1, 11_010, 11_010_000));
    const rateAfter = estimator.stats().incomingRateBps;
    for (let ms = 11_020; ms <= 13_000; ms += 10) estimator.onPacket(packet(1, ms, ms * 1000));
    return { rateAfter, calls, stats: estimator.stats() };
  }
  const quiet = run(false);
  const polled = run(true);
  assert.ok(Math.abs(quiet.rateAfter! - 800_000) < 10_000, `${quiet.rateAfter}`);
  assert.equal(polled.rateAfter, quiet.rateAfter);
  assert.deepEqual(polled.calls, quiet.calls);
  assert.deepEqual(polled.stats, quiet.stats);
});

Deno.test("BandwidthEstimator with startBitrateBps has an estimate from the first packet", async (t) => {
  await t.step("abs-send-time", () => {
    const { estimator, calls } = recording({ startBitrateBps: 800_000 });
    assert.equal(estimator.getEstimate(), 0); // no stream yet
    estimator.onPacket(packet(1, 1000, 0));
    assert.equal(calls.length, 1);
    // The first update is an increase over a zero interval: the 1 kbit/s minimum step.
    assert.equal(estimator.getEstimate(), 801_000);
    assert.deepEqual(calls[0], [801_000, [1]]);
  });

  await t.step("RTP timestamps", () => {
    const { estimator, calls } = recording({ startBitrateBps: 800_000 });
    estimator.onPacket(packet(1, 1000, undefined));
    assert.equal(estimator.getEstimate(), 800_000);
    estimator.process(1000);
    assert.equal(calls.length, 1);
    assert.ok(calls[0][0] >= 800_000 && calls[0][0] <= 801_000);
  });

  await t.step("without it, there is no estimate after one packet", () => {
    const { estimator, calls } = recording();
    estimator.onPacket(packet(1, 1000, 0));
    estimator.process(1000);
    assert.equal(estimator.getEstimate(), 0);
    assert.equal(calls.length, 0);
  });
});

Deno.test("BandwidthEstimator keeps every estimate an integer within [min, max] under hostile input", async (t) => {
  const min = 50_000;
  const max = 2_000_000;
  const events = wildEvents(0xbad5eed, 200_000);
  for (const config of CONFIGS) {
    await t.step(label(config), () => {
      let count = 0;
      let lowest = Infinity;
      let highest = -Infinity;
      const estimator = new BandwidthEstimator({
        ...config,
        minBitrateBps: min,
        maxBitrateBps: max,
        onEstimate: (bps, ssrcs) => {
          count++;
          if (!(Number.isFinite(bps) && Number.isInteger(bps) && bps >= min && bps <= max)) {
            assert.fail(`estimate ${bps} after ${count - 1} estimates`);
          }
          for (let i = 1; i < ssrcs.length; i++) {
            if (!(ssrcs[i] > ssrcs[i - 1])) assert.fail(`SSRCs not ascending: ${ssrcs}`);
          }
          if (bps < lowest) lowest = bps;
          if (bps > highest) highest = bps;
        },
      });
      let packets = 0;
      replay(estimator, events, (event) => {
        if (event.kind !== "packet" || ++packets % 5000 !== 0) return;
        const estimate = estimator.getEstimate();
        assert.ok(estimate === 0 || (estimate >= min && estimate <= max), `${estimate}`);
      });
      const stats = estimator.stats();
      assert.equal(stats.packets, 200_000);
      assert.ok(stats.modeSwitches >= 5, `${stats.modeSwitches} mode switches`);
      assert.ok(count > 1000, `only ${count} estimates`);
      // The bounds were reached, so they were really tested.
      assert.equal(lowest, min);
      assert.equal(highest, max);
    });
  }
});

Deno.test("BandwidthEstimator gives the same estimates for the same input", async (t) => {
  for (const config of CONFIGS) {
    for (const withAbsSendTime of [true, false]) {
      const name = `${label(config)}, ${withAbsSendTime ? "abs-send-time" : "RTP timestamps"}`;
      await t.step(name, () => {
        const events = linkScenario(23, withAbsSendTime);
        const first = recording(config);
        replay(first.estimator, events);
        const second = recording(config);
        replay(second.estimator, events);
        assert.deepEqual(second.calls, first.calls);
        assert.deepEqual(second.estimator.stats(), first.estimator.stats());
        // The run was eventful: estimates rose and fell.
        assert.ok(first.calls.length > 20, `only ${first.calls.length} estimates`);
        assert.ok(first.calls.some(([bps], i) => i > 0 && bps < first.calls[i - 1][0]));
      });
    }
  }

  await t.step("hostile input", () => {
    const events = wildEvents(99, 50_000);
    for (const config of CONFIGS) {
      const first = recording(config);
      replay(first.estimator, events);
      const second = recording(config);
      replay(second.estimator, events);
      assert.deepEqual(second.calls, first.calls);
    }
  });
});
