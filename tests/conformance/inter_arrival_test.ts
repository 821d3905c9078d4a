/**
 * Conformance with libwebrtc's `inter_arrival_unittest.cc` (reference §12.6): the same packet
 * timeline goes through an RTP-timestamp InterArrival (90 kHz) and an abs-send-time one (2^26 ticks
 * per second); both must group identically. A third, millisecond-tick instance checks the
 * arrival-clock jump handling.
 *
 * @module
 */

import assert from "node:assert/strict";
import { InterArrival } from "../../core/inter_arrival.ts";

const GROUP_LENGTH_US = 5000;
const MIN_STEP_US = 20;
/** Just past the 5 ms group length: a packet this much later starts a new group. */
const TRIGGER_NEW_GROUP_US = GROUP_LENGTH_US + MIN_STEP_US;
const BURST_THRESHOLD_MS = 5;
/** Arrival step that is just too long for burst merging. */
const NEXT_GROUP_ARRIVAL_MS = BURST_THRESHOLD_MS + 1;
/** Sends at this time give the 90 kHz timestamp 0xFFFFFFFE. */
const RTP_TIMESTAMP_WRAP_START_US = 47_721_858_827;
/** Sends at this time sit just below the 64 s abs-send-time wrap. */
const ABS_SEND_TIME_WRAP_START_US = 63_999_995;

/** Send time in µs → 90 kHz RTP timestamp, rounded, wrapped to 32 bits. */
function makeRtpTimestamp(us: number): number {
  return Math.floor((us * 90 + 500) / 1000) >>> 0;
}

/**
 * Send time in µs → abs-send-time (6.18 fixed point, rounded, 24 bits) shifted up 8 bits into the
 * 32-bit tick counter. BigInt because `us << 18` exceeds 2^53 for the RTP wrap start.
 */
function makeAbsSendTime(us: number): number {
  const fixed = ((BigInt(us) << 18n) + 500_000n) / 1_000_000n;
  return Number(BigInt.asUintN(24, fixed)) * 256;
}

/** One InterArrival and how the suite turns µs into its ticks. */
interface Instance {
  label: string;
  ia: InterArrival;
  toTicks: (us: number) => number;
  /** Ticks per unit of the `near` tolerance. */
  nearScale: number;
}

/** The two instances every grouping scenario runs through. */
class Pair {
  readonly instances: Instance[] = [
    {
      label: "RTP timestamps",
      ia: new InterArrival(makeRtpTimestamp(GROUP_LENGTH_US), 1 / 90),
      toTicks: makeRtpTimestamp,
      nearScale: 1,
    },
    {
      label: "abs-send-time",
      ia: new InterArrival(makeAbsSendTime(GROUP_LENGTH_US), 1000 / 2 ** 26),
      toTicks: makeAbsSendTime,
      nearScale: 256,
    },
  ];

  /** Neither instance completes a group; their outputs stay as they were. */
  expectFalse(sendUs: number, arrivalMs: number, size: number): void {
    for (const { label, ia, toTicks } of this.instances) {
      const before = outputs(ia);
      const ready = ia.computeDeltas(toTicks(sendUs), arrivalMs, arrivalMs, size);
      const where = `${label}, packet sent at ${sendUs} µs, arrived at ${arrivalMs} ms`;
      assert.equal(ready, false, `${where}: no deltas expected`);
      assert.deepEqual(outputs(ia), before, `${where}: outputs must not change`);
    }
  }

  /**
   * Both instances complete a group and report these deltas; the timestamp delta may differ from
   * the rounded expectation by `near` ticks (× 256 for abs-send-time).
   */
  expectTrue(
    sendUs: number,
    arrivalMs: number,
    size: number,
    expectedSendDeltaUs: number,
    expectedArrivalDeltaMs: number,
    expectedSizeDelta: number,
    near: number,
  ): void {
    for (const { label, ia, toTicks, nearScale } of this.instances) {
      const ready = ia.computeDeltas(toTicks(sendUs), arrivalMs, arrivalMs, size);
      const where = `${label}, packet sent at ${sendUs} µs, arrived at ${arrivalMs} ms`;
      assert.equal(ready, true, `${where}: deltas expected`);
      assert.equal(ia.arrivalTimeDeltaMs, expectedArrivalDeltaMs, `${where}: arrival delta`);
      assert.equal(ia.packetSizeDelta, expectedSizeDelta, `${where}: size delta`);
      const expectedTicks = toTicks(expectedSendDeltaUs);
      assert.ok(
        Math.abs(ia.timestampDelta - expectedTicks) <= near * nearScale,
        `${where}: timestamp delta ${ia.timestampDelta}, expected ${expectedTicks} ± ${
          near * nearScale
        }`,
      );
    }
  }
}

function outputs(ia: InterArrival): [number, number, number] {
  return [ia.timestampDelta, ia.arrivalTimeDeltaMs, ia.packetSizeDelta];
}

Deno.test("InterArrival.computeDeltas() reports nothing for the first packet (FirstPacket)", () => {
  new Pair().expectFalse(0, 17, 1);
});

Deno.test("InterArrival.computeDeltas() reports the first two groups' deltas when the third group starts (FirstGroup)", () => {
  const p = new Pair();
  const g1ArrivalMs = 17;
  p.expectFalse(0, g1ArrivalMs, 1);
  const g2ArrivalMs = g1ArrivalMs + NEXT_GROUP_ARRIVAL_MS;
  p.expectFalse(TRIGGER_NEW_GROUP_US, g2ArrivalMs, 2);
  p.expectTrue(
    2 * TRIGGER_NEW_GROUP_US,
    g2ArrivalMs + NEXT_GROUP_ARRIVAL_MS,
    1,
    TRIGGER_NEW_GROUP_US,
    g2ArrivalMs - g1ArrivalMs,
    1,
    0,
  );
});

Deno.test("InterArrival.computeDeltas() reports G3−G2 when the fourth group starts (SecondGroup)", () => {
  const p = new Pair();
  let arrivalMs = 17;
  const g1ArrivalMs = arrivalMs;
  p.expectFalse(0, arrivalMs, 1);
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  const g2ArrivalMs = arrivalMs;
  p.expectFalse(TRIGGER_NEW_GROUP_US, arrivalMs, 2);
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  const g3ArrivalMs = arrivalMs;
  p.expectTrue(
    2 * TRIGGER_NEW_GROUP_US,
    arrivalMs,
    1,
    TRIGGER_NEW_GROUP_US,
    g2ArrivalMs - g1ArrivalMs,
    1,
    0,
  );
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectTrue(
    3 * TRIGGER_NEW_GROUP_US,
    arrivalMs,
    2,
    TRIGGER_NEW_GROUP_US,
    g3ArrivalMs - g2ArrivalMs,
    -1,
    0,
  );
});

/** G1 (one packet), then G2: one packet of 2 B and ten of 1 B, 20 µs and 6 ms apart. */
function accumulatedGroups(p: Pair, decreasingWithinGroup: boolean) {
  const g1ArrivalMs = 17;
  p.expectFalse(0, g1ArrivalMs, 1);
  p.expectFalse(TRIGGER_NEW_GROUP_US, 28, 2);
  let arrivalMs = g1ArrivalMs + NEXT_GROUP_ARRIVAL_MS;
  let g2LatestUs = TRIGGER_NEW_GROUP_US;
  for (let i = 0; i < 10; i++) {
    arrivalMs += NEXT_GROUP_ARRIVAL_MS;
    // Decreasing: still later than the group's first packet, so still accumulated.
    const sendUs = TRIGGER_NEW_GROUP_US + MIN_STEP_US * (decreasingWithinGroup ? 10 - i : i + 1);
    g2LatestUs = Math.max(g2LatestUs, sendUs);
    p.expectFalse(sendUs, arrivalMs, 1);
  }
  return { g1ArrivalMs, g2ArrivalMs: arrivalMs, g2LatestUs };
}

Deno.test("InterArrival.computeDeltas() accumulates a group and reports its latest timestamp, last arrival and total size (AccumulatedGroup)", () => {
  const p = new Pair();
  const g = accumulatedGroups(p, false);
  assert.equal(g.g2LatestUs, 5220);
  assert.equal(g.g2ArrivalMs - g.g1ArrivalMs, 66);
  p.expectTrue(2 * TRIGGER_NEW_GROUP_US, 500, 100, g.g2LatestUs, 66, (2 + 10) - 1, 0);
});

Deno.test("InterArrival.computeDeltas() drops a packet older than the current group (OutOfOrderPacket)", () => {
  const p = new Pair();
  const g = accumulatedGroups(p, false);
  p.expectFalse(0, 281, 100);
  p.expectTrue(
    2 * TRIGGER_NEW_GROUP_US,
    500,
    100,
    g.g2LatestUs,
    g.g2ArrivalMs - g.g1ArrivalMs,
    (2 + 10) - 1,
    0,
  );
});

Deno.test("InterArrival.computeDeltas() accumulates decreasing timestamps that are still newer than the group start (OutOfOrderWithinGroup)", () => {
  const p = new Pair();
  const g = accumulatedGroups(p, true);
  assert.equal(g.g2LatestUs, 5220);
  p.expectFalse(0, 281, 100);
  p.expectTrue(
    2 * TRIGGER_NEW_GROUP_US,
    500,
    100,
    g.g2LatestUs,
    g.g2ArrivalMs - g.g1ArrivalMs,
    (2 + 10) - 1,
    0,
  );
});

Deno.test("InterArrival.computeDeltas() merges packets arriving 5 ms apart but sent 30 ms apart into one burst group (TwoBursts)", () => {
  const p = new Pair();
  const g1ArrivalMs = 17;
  p.expectFalse(0, g1ArrivalMs, 1);
  let sendUs = TRIGGER_NEW_GROUP_US;
  let arrivalMs = 100; // nothing arrives for a while
  for (let i = 0; i < 10; i++) {
    sendUs += 30_000;
    arrivalMs += BURST_THRESHOLD_MS;
    p.expectFalse(sendUs, arrivalMs, 1);
  }
  const g2ArrivalMs = arrivalMs;
  const g2SendUs = sendUs;
  assert.equal(g2SendUs, 305_020);
  assert.equal(g2ArrivalMs - g1ArrivalMs, 133);
  p.expectTrue(
    sendUs + 30_000,
    arrivalMs + NEXT_GROUP_ARRIVAL_MS,
    100,
    g2SendUs,
    g2ArrivalMs - g1ArrivalMs,
    10 - 1,
    0,
  );
});

Deno.test("InterArrival.computeDeltas() does not merge a packet arriving more than 5 ms later into a burst (NoBursts)", () => {
  const p = new Pair();
  p.expectFalse(0, 17, 1);
  const g2SendUs = TRIGGER_NEW_GROUP_US;
  const g2ArrivalMs = 28;
  p.expectFalse(g2SendUs, g2ArrivalMs, 2);
  p.expectTrue(
    TRIGGER_NEW_GROUP_US + 30_000,
    g2ArrivalMs + NEXT_GROUP_ARRIVAL_MS,
    100,
    g2SendUs,
    g2ArrivalMs - 17,
    2 - 1,
    0,
  );
});

/**
 * Steps through the timestamp range a quarter at a time (so no step looks out of order), then
 * crosses the wrap point inside group G5.
 */
function wrapScenario(wrapStartUs: number, near: number, decreasingWithinGroup: boolean): void {
  const p = new Pair();
  const quarterUs = Math.trunc(wrapStartUs / 4);
  const halfUs = Math.trunc(wrapStartUs / 2);
  let arrivalMs = 17;
  p.expectFalse(0, arrivalMs, 1); // G1
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectFalse(quarterUs, arrivalMs, 1); // G2
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectTrue(halfUs, arrivalMs, 1, quarterUs, NEXT_GROUP_ARRIVAL_MS, 0, 0); // G3: G2−G1
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  const g4ArrivalMs = arrivalMs;
  p.expectTrue(halfUs + quarterUs, arrivalMs, 1, quarterUs, NEXT_GROUP_ARRIVAL_MS, 0, near); // G4
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectTrue(wrapStartUs, arrivalMs, 2, quarterUs, NEXT_GROUP_ARRIVAL_MS, 0, near); // G5
  for (let i = 0; i < 10; i++) {
    // Creep across the wrap inside G5.
    arrivalMs += NEXT_GROUP_ARRIVAL_MS;
    const step = decreasingWithinGroup ? 9 - i : i;
    p.expectFalse(wrapStartUs + MIN_STEP_US * step, arrivalMs, 1);
  }
  const g5ArrivalMs = arrivalMs;
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectFalse(wrapStartUs - 100, arrivalMs, 100); // older than G5's start: dropped
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  const g6ArrivalMs = arrivalMs;
  p.expectTrue(
    wrapStartUs + TRIGGER_NEW_GROUP_US,
    arrivalMs,
    10,
    quarterUs + 9 * MIN_STEP_US,
    g5ArrivalMs - g4ArrivalMs,
    (2 + 10) - 1,
    near,
  ); // G6: G5−G4
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectFalse(wrapStartUs + GROUP_LENGTH_US, arrivalMs, 100); // older than G6's start: dropped
  arrivalMs += NEXT_GROUP_ARRIVAL_MS;
  p.expectTrue(
    wrapStartUs + 2 * TRIGGER_NEW_GROUP_US,
    arrivalMs,
    7,
    TRIGGER_NEW_GROUP_US - 9 * MIN_STEP_US,
    g6ArrivalMs - g5ArrivalMs,
    10 - (2 + 10),
    near,
  ); // G7: G6−G5
}

Deno.test("InterArrival.computeDeltas() handles the 32-bit RTP timestamp wrap (RtpTimestampWrap)", () => {
  assert.equal(makeRtpTimestamp(RTP_TIMESTAMP_WRAP_START_US), 0xFFFFFFFE);
  wrapScenario(RTP_TIMESTAMP_WRAP_START_US, 1, false);
});

Deno.test("InterArrival.computeDeltas() handles the 64 s abs-send-time wrap (AbsSendTimeWrap)", () => {
  wrapScenario(ABS_SEND_TIME_WRAP_START_US, 1, false);
});

Deno.test("InterArrival.computeDeltas() handles the RTP timestamp wrap with decreasing timestamps inside a group (RtpTimestampWrapOutOfOrderWithinGroup)", () => {
  wrapScenario(RTP_TIMESTAMP_WRAP_START_US, 1, true);
});

Deno.test("InterArrival.computeDeltas() handles the abs-send-time wrap with decreasing timestamps inside a group (AbsSendTimeWrapOutOfOrderWithinGroup)", () => {
  wrapScenario(ABS_SEND_TIME_WRAP_START_US, 1, true);
});

/** Millisecond-tick instance with send, arrival and system clocks advanced together. */
class JumpTimeline {
  readonly ia = new InterArrival(5, 1.0);
  sendMs = 10_000;
  arrivalMs = 20_000;
  systemMs = 30_000;

  /** Advances all clocks by 30 ms (the arrival clock by `extraArrivalMs` more) and feeds a packet. */
  next(extraArrivalMs = 0): boolean {
    this.sendMs += 30;
    this.arrivalMs += 30 + extraArrivalMs;
    this.systemMs += 30;
    return this.feed();
  }

  feed(): boolean {
    return this.ia.computeDeltas(this.sendMs >>> 0, this.arrivalMs, this.systemMs, 1000);
  }

  expectDeltas30(what: string): void {
    assert.equal(this.ia.timestampDelta, 30, `${what}: timestamp delta`);
    assert.equal(this.ia.arrivalTimeDeltaMs, 30, `${what}: arrival delta`);
    assert.equal(this.ia.packetSizeDelta, 0, `${what}: size delta`);
  }
}

Deno.test("InterArrival.computeDeltas() resets after the arrival clock jumps 3 s ahead of the system clock (PositiveArrivalTimeJump)", () => {
  const t = new JumpTimeline();
  assert.equal(t.feed(), false, "1st packet");
  assert.equal(t.next(), false, "2nd packet");
  assert.equal(t.next(3000), true, "3rd packet, arrival clock jumps +3 s");
  t.expectDeltas30("3rd packet");
  assert.equal(t.next(), false, "4th packet: the jump is detected and grouping resets");
  assert.equal(t.next(), false, "5th packet: first group after the reset");
  assert.equal(t.next(), false, "6th packet: second group after the reset");
  assert.equal(t.next(), true, "7th packet");
  t.expectDeltas30("7th packet");
});

Deno.test("InterArrival.computeDeltas() resets after three reordered groups when the arrival clock jumps back 1 s (NegativeArrivalTimeJump)", () => {
  const t = new JumpTimeline();
  assert.equal(t.feed(), false, "1st packet");
  assert.equal(t.next(), false, "2nd packet");
  assert.equal(t.next(), true, "3rd packet");
  t.expectDeltas30("3rd packet");
  t.arrivalMs -= 1000;
  const reorderResetThreshold = 3;
  for (let i = 0; i < reorderResetThreshold + 3; i++) {
    assert.equal(t.next(), false, `packet ${4 + i} after the backward jump`);
  }
  assert.equal(t.next(), true, "first packet with deltas after the reset");
  t.expectDeltas30("after the reset");
});
