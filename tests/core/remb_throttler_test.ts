/**
 * Tests of the REMB send policy against reference §11.1 (libwebrtc's `remb_throttler_unittest.cc`)
 * and of the periodic resend that stands in for libwebrtc's RTCP reports (§11.3).
 *
 * @module
 */

import assert from "node:assert/strict";
import { encodeRemb } from "../../core/remb.ts";
import { RembThrottler, type RembThrottlerOptions } from "../../core/remb_throttler.ts";

type Sent = [bitrateBps: number, ssrcs: readonly number[]];

/** A throttler whose sends are recorded in `sent`. */
function recording(
  options: Omit<RembThrottlerOptions, "onSend"> = {},
): { throttler: RembThrottler; sent: Sent[] } {
  const sent: Sent[] = [];
  const throttler = new RembThrottler({
    ...options,
    onSend: (bps, ssrcs) => sent.push([bps, ssrcs]),
  });
  return { throttler, sent };
}

// libwebrtc's tests start their simulated clock at an arbitrary time; so do these.
const T0 = 12_345;

Deno.test("RembThrottler follows libwebrtc's throttling cases", async (t) => {
  await t.step("the first estimate is forwarded with its SSRCs", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2, 3], 12345, T0);
    assert.deepEqual(sent, [[12345, [1, 2, 3]]]);
  });

  await t.step("an increase 100 ms later is dropped, and sent 101 ms after that", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2, 3], 12346, T0);
    throttler.onReceiveBitrateChanged([1, 2, 3], 12345, T0 + 100);
    assert.deepEqual(sent, [[12346, [1, 2, 3]]]);
    throttler.onReceiveBitrateChanged([1, 2, 3], 12345, T0 + 201);
    assert.deepEqual(sent, [[12346, [1, 2, 3]], [12345, [1, 2, 3]]]);
  });

  await t.step("a drop of more than 3 % 1 ms later is sent at once", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2, 3], 2345, T0);
    throttler.onReceiveBitrateChanged([1, 2, 3], 1234, T0 + 1);
    assert.deepEqual(sent, [[2345, [1, 2, 3]], [1234, [1, 2, 3]]]);
  });

  await t.step("a rise 100 ms later is dropped, and sent 101 ms after that", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2, 3], 1234, T0);
    throttler.onReceiveBitrateChanged([1, 2, 3], 2345, T0 + 100);
    assert.deepEqual(sent, [[1234, [1, 2, 3]]]);
    throttler.onReceiveBitrateChanged([1, 2, 3], 2345, T0 + 201);
    assert.deepEqual(sent, [[1234, [1, 2, 3]], [2345, [1, 2, 3]]]);
  });

  await t.step("setMaxDesiredBitrate() sends the cap", () => {
    const { throttler, sent } = recording();
    throttler.setMaxDesiredBitrate(1234, T0);
    assert.deepEqual(sent, [[1234, []]]);
  });

  await t.step("a cap set after a lower estimate bounds the next estimate sent", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2, 3], 1234, T0);
    throttler.setMaxDesiredBitrate(4567, T0 + 1);
    throttler.onReceiveBitrateChanged([1, 2, 3], 5678, T0 + 201);
    assert.deepEqual(sent, [[1234, [1, 2, 3]], [4567, [1, 2, 3]]]);
  });
});

Deno.test("RembThrottler.onReceiveBitrateChanged() applies the 3 % threshold exactly", () => {
  const { throttler, sent } = recording();
  throttler.onReceiveBitrateChanged([1], 1030, 0);
  // ⌊1000 × 103 / 100⌋ = 1030 is not above 1030: sent.
  throttler.onReceiveBitrateChanged([1], 1000, 1);
  // ⌊971 × 103 / 100⌋ = ⌊1000.13⌋ = 1000: not above, sent.
  throttler.onReceiveBitrateChanged([1], 971, 2);
  // ⌊972 × 103 / 100⌋ = ⌊1001.16⌋ = 1001 > 971, inside the window: dropped.
  throttler.onReceiveBitrateChanged([1], 972, 3);
  // Equal values are dropped too while the window is open.
  throttler.onReceiveBitrateChanged([1], 971, 201);
  // Anything goes once 200 ms have passed since the last forward (at 2).
  throttler.onReceiveBitrateChanged([1], 5000, 202);
  assert.deepEqual(sent.map(([bps]) => bps), [1030, 1000, 971, 5000]);

  // The division truncates: ⌊50 × 103 / 100⌋ = ⌊51.5⌋ = 51 is not above 51, so 50 is sent.
  const small = recording();
  small.throttler.onReceiveBitrateChanged([1], 51, 0);
  small.throttler.onReceiveBitrateChanged([1], 50, 1);
  assert.deepEqual(small.sent.map(([bps]) => bps), [51, 50]);
});

Deno.test("RembThrottler.setMaxDesiredBitrate() is skipped only when the cap changes nothing", async (t) => {
  await t.step("skipped after a recent non-zero estimate no greater than the cap", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.setMaxDesiredBitrate(1000, 199);
    assert.deepEqual(sent, [[1000, [1]]]);
    assert.equal(throttler.maxDesiredBitrateBps, 1000);
  });

  await t.step("sent when the recent estimate is above the cap", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.setMaxDesiredBitrate(999, 100);
    assert.deepEqual(sent, [[1000, [1]], [999, []]]);
  });

  await t.step("sent when the recent estimate is zero", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 0, 0);
    throttler.setMaxDesiredBitrate(1000, 100);
    assert.deepEqual(sent, [[0, [1]], [1000, []]]);
  });

  await t.step("sent when the last estimate is 200 ms old", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.setMaxDesiredBitrate(2000, 200);
    assert.deepEqual(sent, [[1000, [1]], [2000, []]]);
  });

  await t.step("a cap announcement does not restart the throttling window", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.setMaxDesiredBitrate(500, 100);
    throttler.onReceiveBitrateChanged([1], 1100, 150);
    throttler.onReceiveBitrateChanged([1], 1100, 200);
    assert.deepEqual(sent, [[1000, [1]], [500, []], [500, [1]]]);
  });

  await t.step("the throttle compares against the estimate before the cap", () => {
    const { throttler, sent } = recording();
    throttler.setMaxDesiredBitrate(500, 0);
    throttler.onReceiveBitrateChanged([1], 1000, 1);
    // 990 is within 3 % of the forwarded 1000, though 500 went out: dropped.
    throttler.onReceiveBitrateChanged([1], 990, 2);
    throttler.onReceiveBitrateChanged([1], 400, 3);
    assert.deepEqual(sent, [[500, []], [500, [1]], [400, [1]]]);
  });
});

Deno.test("RembThrottler getters report the last send and the cap", () => {
  const { throttler } = recording();
  assert.equal(throttler.lastSentBitrateBps, undefined);
  assert.equal(throttler.maxDesiredBitrateBps, Infinity);
  throttler.onReceiveBitrateChanged([1], 800, 0);
  assert.equal(throttler.lastSentBitrateBps, 800);
  throttler.setMaxDesiredBitrate(600, 1);
  assert.equal(throttler.lastSentBitrateBps, 600);
  assert.equal(throttler.maxDesiredBitrateBps, 600);
  throttler.onReceiveBitrateChanged([1], 700, 2);
  assert.equal(throttler.lastSentBitrateBps, 600);
});

Deno.test("RembThrottler.process() resends the last REMB on time", async (t) => {
  await t.step("nothing is due before the first send", () => {
    const { throttler, sent } = recording();
    assert.equal(throttler.process(0), Infinity);
    assert.equal(throttler.process(1e9), Infinity);
    assert.deepEqual(sent, []);
  });

  await t.step("every resendIntervalMs after the last send, with the same SSRCs", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1, 2], 1000, T0);
    assert.equal(throttler.process(T0), 1000);
    assert.equal(throttler.process(T0 + 999), 1);
    assert.equal(sent.length, 1);
    assert.equal(throttler.process(T0 + 1000), 1000);
    assert.equal(throttler.process(T0 + 1500), 500);
    // A late call resends once and counts the next interval from now.
    assert.equal(throttler.process(T0 + 2700), 1000);
    assert.deepEqual(sent, [[1000, [1, 2]], [1000, [1, 2]], [1000, [1, 2]]]);
  });

  await t.step("a new send moves the next resend", () => {
    const { throttler, sent } = recording();
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.onReceiveBitrateChanged([1], 1200, 700);
    assert.equal(throttler.process(1000), 700);
    assert.equal(throttler.process(1700), 1000);
    assert.deepEqual(sent, [[1000, [1]], [1200, [1]], [1200, [1]]]);
  });

  await t.step("the capped value is resent, and a cap announcement with no SSRCs", () => {
    const { throttler, sent } = recording();
    throttler.setMaxDesiredBitrate(500, 0);
    throttler.onReceiveBitrateChanged([1], 1000, 10);
    throttler.process(1010);
    throttler.setMaxDesiredBitrate(300, 1100);
    throttler.process(2100);
    assert.deepEqual(sent, [[500, []], [500, [1]], [500, [1]], [300, []], [300, []]]);
  });

  await t.step("a resend does not restart the throttling window", () => {
    const { throttler, sent } = recording({ resendIntervalMs: 100 });
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.process(100);
    throttler.onReceiveBitrateChanged([1], 1100, 150);
    throttler.onReceiveBitrateChanged([1], 1100, 200);
    assert.deepEqual(sent, [[1000, [1]], [1000, [1]], [1100, [1]]]);
  });

  await t.step("an infinite interval turns the resend off", () => {
    const { throttler, sent } = recording({ resendIntervalMs: Infinity });
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    assert.equal(throttler.process(1e12), Infinity);
    assert.equal(sent.length, 1);
  });
});

Deno.test("RembThrottler keeps its own frozen copy of the SSRC list", () => {
  const { throttler, sent } = recording();
  const ssrcs = [1, 2];
  throttler.onReceiveBitrateChanged(ssrcs, 1000, 0);
  ssrcs[0] = 9;
  ssrcs.push(10);
  throttler.process(1000);
  assert.deepEqual(sent, [[1000, [1, 2]], [1000, [1, 2]]]);
  assert.ok(Object.isFrozen(sent[0][1]));
  assert.ok(Object.isFrozen(sent[1][1]));
});

Deno.test("RembThrottler reports a throwing onSend and carries on", async (t) => {
  await t.step("the error goes to onError and the state still moves", () => {
    const errors: unknown[] = [];
    const failure = new Error("Transport closed");
    let calls = 0;
    const throttler = new RembThrottler({
      onSend: () => {
        calls++;
        throw failure;
      },
      onError: (error) => errors.push(error),
    });
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.onReceiveBitrateChanged([1], 1010, 10); // Throttled: the failed send counted.
    throttler.setMaxDesiredBitrate(500, 20);
    assert.equal(throttler.process(1020), 1000);
    assert.equal(calls, 3);
    assert.deepEqual(errors, [failure, failure, failure]);
    assert.equal(throttler.lastSentBitrateBps, 500);
  });

  await t.step("console.error receives it by default", () => {
    const original = console.error;
    const logged: unknown[][] = [];
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      const throttler = new RembThrottler({
        onSend: () => {
          throw new Error("Transport closed");
        },
      });
      throttler.onReceiveBitrateChanged([1], 1000, 0);
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.match(String(logged[0][0]), /Transport closed/);
  });

  await t.step("a throwing onError does not escape either", () => {
    const original = console.error;
    const logged: unknown[][] = [];
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      const throttler = new RembThrottler({
        onSend: () => {
          throw new Error("Transport closed");
        },
        onError: () => {
          throw new Error("Logger closed");
        },
      });
      throttler.onReceiveBitrateChanged([1], 1000, 0);
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.match(String(logged[0][0]), /Logger closed/);
  });
});

Deno.test("RembThrottler validates its options", async (t) => {
  const onSend = () => {};
  const bad = (value: unknown) => value as never;

  await t.step("options must be an object with an onSend function", () => {
    assert.throws(() => new RembThrottler(bad(undefined)), TypeError);
    assert.throws(() => new RembThrottler(bad(null)), TypeError);
    assert.throws(() => new RembThrottler(bad({})), {
      name: "TypeError",
      message:
        "Cannot create RembThrottler as 'onSend' must be a function: current type is undefined",
    });
    assert.throws(() => new RembThrottler({ onSend, onError: bad("log") }), TypeError);
  });

  await t.step("sendIntervalMs must be a finite non-negative number", () => {
    assert.throws(() => new RembThrottler({ onSend, sendIntervalMs: -1 }), {
      name: "RangeError",
      message:
        "Cannot create RembThrottler as 'sendIntervalMs' must be a finite non-negative number: current value is -1",
    });
    for (const sendIntervalMs of [NaN, Infinity]) {
      assert.throws(() => new RembThrottler({ onSend, sendIntervalMs }), RangeError);
    }
    assert.throws(() => new RembThrottler({ onSend, sendIntervalMs: bad("200") }), TypeError);
    new RembThrottler({ onSend, sendIntervalMs: 0 });
  });

  await t.step("resendIntervalMs must be a positive number", () => {
    for (const resendIntervalMs of [0, -1, NaN, -Infinity]) {
      assert.throws(() => new RembThrottler({ onSend, resendIntervalMs }), RangeError);
    }
    assert.throws(() => new RembThrottler({ onSend, resendIntervalMs: bad("1000") }), TypeError);
  });

  await t.step("a zero sendIntervalMs forwards every estimate", () => {
    const { throttler, sent } = recording({ sendIntervalMs: 0 });
    throttler.onReceiveBitrateChanged([1], 1000, 0);
    throttler.onReceiveBitrateChanged([1], 2000, 0);
    assert.deepEqual(sent.map(([bps]) => bps), [1000, 2000]);
  });
});

Deno.test("RembThrottler validates the arguments of its methods", () => {
  const { throttler, sent } = recording();
  const bad = (value: unknown) => value as never;
  assert.throws(() => throttler.onReceiveBitrateChanged(bad("1"), 1000, 0), TypeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([bad("1")], 1000, 0), TypeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([-1], 1000, 0), {
    name: "RangeError",
    message:
      "Cannot forward REMB as 'ssrcs[0]' must be a 32-bit unsigned integer: current value is -1",
  });
  assert.throws(() => throttler.onReceiveBitrateChanged([2 ** 32], 1000, 0), RangeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([1], -1, 0), {
    name: "RangeError",
    message:
      "Cannot forward REMB as 'bitrateBps' must be a non-negative safe integer: current value is -1",
  });
  assert.throws(() => throttler.onReceiveBitrateChanged([1], 1.5, 0), RangeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([1], bad("1"), 0), TypeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([1], 1000, NaN), RangeError);
  assert.throws(() => throttler.onReceiveBitrateChanged([1], 1000, bad(0n)), TypeError);
  assert.throws(() => throttler.setMaxDesiredBitrate(Infinity, 0), RangeError);
  assert.throws(() => throttler.setMaxDesiredBitrate(1000, Infinity), RangeError);
  assert.throws(() => throttler.process(NaN), RangeError);
  assert.throws(() => throttler.process(bad("0")), TypeError);
  assert.deepEqual(sent, []);
  assert.equal(throttler.maxDesiredBitrateBps, Infinity);
});

Deno.test("RembThrottler.onReceiveBitrateChanged() lists the first 255 SSRCs when there are more", () => {
  const sent: (readonly number[])[] = [];
  const throttler = new RembThrottler({ onSend: (_bps, ssrcs) => sent.push(ssrcs) });
  const ssrcs = Array.from({ length: 300 }, (_, i) => i + 1);
  throttler.onReceiveBitrateChanged(ssrcs, 500_000, 0);
  throttler.onReceiveBitrateChanged(ssrcs, 400_000, 10); // A drop goes out at once, same list.
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], ssrcs.slice(0, 255));
  assert.equal(sent[1], sent[0]); // The same frozen copy: the list did not change.
  assert.doesNotThrow(() => encodeRemb({ senderSsrc: 1, bitrateBps: 400_000, ssrcs: sent[1] }));
});
