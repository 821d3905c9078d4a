/**
 * Tests of ReceiverRtt: RTT = arrival − LRR − DLRR (RFC 3611 §4.5) on a timeline, the matching of
 * answers to the RRTRs sent, every rejection, the 1 ms floor, smoothing, and an RTT that jumps.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ReceiverRtt, type RttRejection } from "../../core/receiver_rtt.ts";
import { compactNtpFromMs, type DlrrSubBlock } from "../../core/rtcp_xr.ts";

const SSRC = 0x5eed;
/** An NTP time in ms, 2026 or so, whose compact form has nothing special about it. */
const T0 = 3_976_000_123_456.789;

/** A receiver that sent an RRTR at `sentMs`; the answer held for `holdMs` arrives at `arrivalMs`. */
function answer(rtt: ReceiverRtt, sentMs: number, holdMs: number, arrivalMs: number): number {
  return take(rtt, {
    ssrc: SSRC,
    lastRr: compactNtpFromMs(sentMs),
    delaySinceLastRr: Math.round(holdMs * 65.536),
  }, compactNtpFromMs(arrivalMs));
}

/** The sample a sub-block gave, or -1 when it was not taken. */
function take(rtt: ReceiverRtt, block: DlrrSubBlock, nowCompactNtp: number): number {
  return rtt.onDlrr(block, nowCompactNtp) > 0 ? rtt.lastSampleMs : -1;
}

function near(actual: number | undefined, expected: number, tolerance = 0.05): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

Deno.test("ReceiverRtt.onDlrr() measures arrival − LRR − DLRR", () => {
  const rtt = new ReceiverRtt(SSRC);
  rtt.onRrtrSent(compactNtpFromMs(T0), T0);
  near(answer(rtt, T0, 400, T0 + 437.5), 37.5);
  near(rtt.rttMs, 37.5);
  assert.deepEqual(rtt.stats(), {
    rttMs: rtt.rttMs,
    lastSampleMs: rtt.lastSampleMs,
    rrtrsSent: 1,
    samples: 1,
    rejected: { "other-ssrc": 0, "no-rrtr": 0, unmatched: 0, negative: 0, "too-large": 0 },
  });
});

Deno.test("ReceiverRtt.onDlrr() answers an RRTR across the wrap of compact NTP", () => {
  // Compact NTP wraps every 65536 s: sent 10 ms before a wrap, answered after it.
  const sent = 65_536_000 * 60_000 - 10;
  const rtt = new ReceiverRtt(SSRC);
  rtt.onRrtrSent(compactNtpFromMs(sent), sent);
  assert.ok(compactNtpFromMs(sent) > compactNtpFromMs(sent + 30));
  near(answer(rtt, sent, 5, sent + 30), 25);
});

Deno.test("ReceiverRtt.onDlrr() takes answers to any RRTR remembered", () => {
  const rtt = new ReceiverRtt(SSRC, { history: 4, smoothingFactor: 1 });
  for (let i = 0; i < 6; i++) rtt.onRrtrSent(compactNtpFromMs(T0 + 250 * i), T0 + 250 * i);
  // The last four (i = 2..5) are remembered; the first two have been pushed out.
  near(answer(rtt, T0 + 500, 700, T0 + 1230), 30);
  near(answer(rtt, T0 + 1250, 10, T0 + 1290), 30);
  assert.equal(answer(rtt, T0 + 250, 100, T0 + 1300), -1);
  assert.equal(rtt.lastRejection, "unmatched");
  // A sender that answers the same RRTR twice (one RTCP module per simulcast layer): both count.
  near(answer(rtt, T0 + 1250, 20, T0 + 1300), 30);
  assert.equal(rtt.stats().samples, 3);
});

Deno.test("ReceiverRtt.onDlrr() rejects what cannot be an RTT of ours", async (t) => {
  const cases: [string, RttRejection, (rtt: ReceiverRtt) => number][] = [
    [
      "another receiver's answer",
      "other-ssrc",
      (rtt) =>
        take(
          rtt,
          { ssrc: SSRC + 1, lastRr: compactNtpFromMs(T0), delaySinceLastRr: 0 },
          compactNtpFromMs(T0 + 50),
        ),
    ],
    [
      "LRR 0: no RRTR received yet",
      "no-rrtr",
      (rtt) => take(rtt, { ssrc: SSRC, lastRr: 0, delaySinceLastRr: 0 }, compactNtpFromMs(T0 + 50)),
    ],
    ["an LRR never sent", "unmatched", (rtt) => answer(rtt, T0 + 1, 0, T0 + 50)],
    ["a hold longer than the RRTR's age", "negative", (rtt) => answer(rtt, T0, 60, T0 + 50)],
    ["an arrival before the RRTR was sent", "negative", (rtt) => answer(rtt, T0, 0, T0 - 5)],
    ["an RTT above maxRttMs", "too-large", (rtt) => answer(rtt, T0, 0, T0 + 10_001)],
  ];
  for (const [name, reason, call] of cases) {
    await t.step(name, () => {
      const rtt = new ReceiverRtt(SSRC);
      rtt.onRrtrSent(compactNtpFromMs(T0), T0);
      assert.equal(call(rtt), -1);
      assert.equal(rtt.lastRejection, reason);
      assert.equal(rtt.stats().rejected[reason], 1);
      assert.equal(rtt.rttMs, 0, "the default stays until an RTT is known");
      assert.equal(rtt.stats().rttMs, undefined);
    });
  }
});

Deno.test("ReceiverRtt.onDlrr() reports an RTT below 1 ms as 1 ms", () => {
  const rtt = new ReceiverRtt(SSRC);
  rtt.onRrtrSent(compactNtpFromMs(T0), T0);
  assert.equal(answer(rtt, T0, 10, T0 + 10.2), 1);
  assert.equal(answer(rtt, T0, 10, T0 + 10), 1); // Exactly 0 too.
  assert.equal(rtt.rttMs, 1);
});

Deno.test("ReceiverRtt smooths with weight smoothingFactor and bounds a jump", () => {
  const rtt = new ReceiverRtt(SSRC, { smoothingFactor: 0.5, maxRttMs: 2000 });
  let at = T0;
  const sample = (rttMs: number) => {
    rtt.onRrtrSent(compactNtpFromMs(at), at);
    const result = answer(rtt, at, 100, at + 100 + rttMs);
    at += 500;
    return result;
  };
  near(sample(40), 40);
  near(sample(80), 80);
  near(rtt.rttMs, 60);
  // A jump to 5 s is refused outright; one to 1.9 s moves the average halfway, and the RTT
  // comes back as samples do.
  assert.equal(sample(5000), -1);
  near(rtt.rttMs, 60);
  sample(1900);
  near(rtt.rttMs, 980);
  for (let i = 0; i < 20; i++) sample(60);
  near(rtt.rttMs, 60, 0.1);
});

Deno.test("ReceiverRtt with smoothingFactor 1 reports each sample", () => {
  const rtt = new ReceiverRtt(SSRC, { smoothingFactor: 1 });
  rtt.onRrtrSent(compactNtpFromMs(T0), T0);
  answer(rtt, T0, 0, T0 + 20);
  answer(rtt, T0, 0, T0 + 90);
  near(rtt.rttMs, 90);
});

Deno.test("new ReceiverRtt() checks its arguments", () => {
  assert.throws(() => new ReceiverRtt(-1), {
    name: "RangeError",
    message:
      "Cannot create receiver RTT as 'ssrc' must be an integer in [0, 4294967295]: current value is -1",
  });
  assert.throws(() => new ReceiverRtt("1" as never), TypeError);
  assert.throws(() => new ReceiverRtt(1, null as never), TypeError);
  assert.throws(() => new ReceiverRtt(1, { history: 0 }), RangeError);
  assert.throws(() => new ReceiverRtt(1, { history: 1.5 }), RangeError);
  assert.throws(() => new ReceiverRtt(1, { maxRttMs: 0 }), RangeError);
  assert.throws(() => new ReceiverRtt(1, { smoothingFactor: 1.1 }), {
    name: "RangeError",
    message:
      "Cannot create receiver RTT as 'smoothingFactor' must be a number in (0, 1]: current value is 1.1",
  });
  assert.throws(() => new ReceiverRtt(1, { smoothingFactor: "x" as never }), TypeError);
  assert.equal(new ReceiverRtt(0xffffffff).ssrc, 0xffffffff);
});

Deno.test("ReceiverRtt.rrtrDue() paces the RRTRs by intervalMs", () => {
  const rtt = new ReceiverRtt(SSRC, { intervalMs: 500 });
  assert.ok(rtt.rrtrDue(1000), "due before the first");
  rtt.onRrtrSent(compactNtpFromMs(1000), 1000);
  assert.equal(rtt.rrtrDue(1000), false);
  assert.equal(rtt.rrtrDue(1499.9), false);
  assert.ok(rtt.rrtrDue(1500));
  assert.ok(rtt.rrtrDue(999), "due when the clock went back");
  const always = new ReceiverRtt(SSRC, { intervalMs: 0 });
  always.onRrtrSent(compactNtpFromMs(1000), 1000);
  assert.ok(always.rrtrDue(1000));
  assert.throws(() => new ReceiverRtt(SSRC, { intervalMs: -1 }), RangeError);
});

Deno.test("ReceiverRtt.onDlrr() takes the arrival time as unsigned or signed 32 bits alike", () => {
  const rtt = new ReceiverRtt(SSRC, { smoothingFactor: 1 });
  const sent = 3_976_000_000_000; // Its compact form is above 2^31: negative as an int32.
  assert.ok(compactNtpFromMs(sent) > 2 ** 31);
  rtt.onRrtrSent(compactNtpFromMs(sent), sent);
  const block = { ssrc: SSRC, lastRr: compactNtpFromMs(sent), delaySinceLastRr: 655 };
  assert.equal(rtt.onDlrr(block, compactNtpFromMs(sent + 30)), 20);
  assert.equal(rtt.onDlrr(block, compactNtpFromMs(sent + 30) | 0), 20);
});
