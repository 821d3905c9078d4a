/**
 * Focused unit tests of InterArrival (reference §5) that libwebrtc's own cases (§12.6, in
 * tests/conformance/) do not cover: the 100 ms bound on burst merging, same-send-time packets that
 * join their group however late they arrive, and the exact 3000 ms threshold of the forward
 * arrival-clock jump.
 *
 * @module
 */

import assert from "node:assert/strict";
import { InterArrival } from "../../core/inter_arrival.ts";

/** Millisecond timestamps with 5 ms groups, as libwebrtc's "plain" test instance. */
function plain(): InterArrival {
  return new InterArrival(5, 1.0);
}

function deltas(ia: InterArrival): [number, number, number] {
  return [ia.timestampDelta, ia.arrivalTimeDeltaMs, ia.packetSizeDelta];
}

Deno.test("InterArrival.computeDeltas() merges a burst for less than 100 ms only", async (t) => {
  await t.step("packets sent 10 ms apart but arriving 2 ms apart split at 100 ms", () => {
    const ia = plain();
    assert.equal(ia.computeDeltas(0, 0, 0, 100), false); // group A
    assert.equal(ia.computeDeltas(10, 200, 200, 100), false); // group B opens, A is complete
    // Each later packet is sent 10 ms after the previous one and arrives 2 ms after it: a burst.
    for (let k = 1; k < 50; k++) {
      const arrival = 200 + 2 * k;
      assert.equal(ia.computeDeltas(10 + 10 * k, arrival, arrival, 100), false, `packet ${k}`);
    }
    // At 100 ms after the group's first arrival the burst ends: a new group starts, and B − A is
    // reported with B's latest timestamp (500) and last arrival (298).
    assert.equal(ia.computeDeltas(510, 300, 300, 100), true);
    assert.deepEqual(deltas(ia), [500, 298, 49 * 100]);
  });

  await t.step("the bound is measured from the group's first arrival, not its last", () => {
    const ia = plain();
    ia.computeDeltas(0, 0, 0, 100);
    ia.computeDeltas(10, 200, 200, 100);
    // 99 ms after the group's first arrival, still a burst.
    for (let k = 1; k <= 33; k++) ia.computeDeltas(10 + 10 * k, 200 + 3 * k, 200 + 3 * k, 100);
    assert.equal(ia.computeDeltas(350, 299, 299, 100), false);
    // The next packet is 1 ms later: 100 ms after the first arrival.
    assert.equal(ia.computeDeltas(360, 300, 300, 100), true);
    assert.deepEqual(deltas(ia), [350, 299, 34 * 100]);
  });

  await t.step("without the bound a steady burst would never end: it ends every 100 ms", () => {
    const ia = plain();
    ia.computeDeltas(0, 0, 0, 100);
    let reports = 0;
    // 1 s of packets sent 10 ms apart and arriving 1 ms apart.
    for (let k = 1; k <= 1000; k++) {
      if (ia.computeDeltas(10 * k, 100 + k, 100 + k, 100)) reports++;
    }
    assert.ok(reports >= 8 && reports <= 10, `${reports} group deltas`);
  });
});

Deno.test("InterArrival.computeDeltas() adds a packet with the group's send time to the group, however late", async (t) => {
  await t.step("500 ms late", () => {
    const ia = plain();
    ia.computeDeltas(0, 0, 0, 100); // A
    ia.computeDeltas(10, 30, 30, 200); // B
    // Same send time as B's latest packet, 500 ms later: far beyond 5 ms and 100 ms.
    assert.equal(ia.computeDeltas(10, 530, 530, 300), false);
    assert.equal(ia.computeDeltas(20, 540, 540, 100), true);
    // B − A: its arrival is the late packet's, its size includes it.
    assert.deepEqual(deltas(ia), [10, 530, 200 + 300 - 100]);
  });

  await t.step("the comparison is with the group's latest send time, not its first", () => {
    const ia = plain();
    ia.computeDeltas(0, 0, 0, 100); // A
    ia.computeDeltas(10, 200, 200, 100); // B opens at send time 10…
    // …and a burst stretches it to send time 60, well past the 5 ms group length.
    for (let ts = 20; ts <= 60; ts += 10) ia.computeDeltas(ts, 198 + ts / 5, 198 + ts / 5, 100);
    // Sent at 60 (50 ms after B's first packet), arriving 1 s later: it still joins B.
    assert.equal(ia.computeDeltas(60, 1210, 1210, 100), false);
    assert.equal(ia.computeDeltas(70, 1300, 1300, 100), true);
    assert.deepEqual(deltas(ia), [60, 1210, 7 * 100 - 100]);
  });

  await t.step("a send-time difference that rounds to 0 ms counts as the same send time", () => {
    // 0.1 ms ticks with 5 ms (50-tick) groups.
    const ia = new InterArrival(50, 0.1);
    ia.computeDeltas(0, 0, 0, 100); // A
    ia.computeDeltas(100, 10, 10, 100); // B opens at 10 ms
    // 0.4 ms steps round to 0 ms, so these join B even long after 100 ms and beyond 5 ms of
    // send time.
    for (let k = 1; k <= 30; k++) {
      assert.equal(ia.computeDeltas(100 + 4 * k, 10 + 50 * k, 10 + 50 * k, 100), false);
    }
    // A 0.5 ms step rounds to 1 ms and, arriving 50 ms later, is a new group.
    assert.equal(ia.computeDeltas(225, 1560, 1560, 100), true);
    assert.deepEqual(deltas(ia), [220, 1510, 30 * 100]);
  });
});

Deno.test("InterArrival.computeDeltas() resets when the arrival clock runs 3000 ms ahead of the system clock", async (t) => {
  /**
   * Groups 30 ms apart in send, arrival and system time; from the third group on, the arrival
   * clock is `jumpMs` ahead. Returns the result of each group's first packet.
   */
  function jump(jumpMs: number, groups: number): { results: boolean[]; ia: InterArrival } {
    const ia = plain();
    const results: boolean[] = [];
    for (let g = 0; g < groups; g++) {
      const arrival = 1000 + 30 * g + (g >= 2 ? jumpMs : 0);
      results.push(ia.computeDeltas(10_000 + 30 * g, arrival, 1000 + 30 * g, 100));
    }
    return { results, ia };
  }

  await t.step("2999 ms ahead: no reset, the jump is one large arrival delta", () => {
    const { results, ia } = jump(2999, 4);
    assert.deepEqual(results, [false, false, true, true]);
    assert.deepEqual(deltas(ia), [30, 30 + 2999, 0]);
  });

  await t.step("exactly 3000 ms ahead: reset, then two groups before the next delta", () => {
    const { results, ia } = jump(3000, 8);
    // Group 3 detects the jump and is dropped; groups 4 and 5 rebuild; group 6 reports 5 − 4.
    assert.deepEqual(results, [false, false, true, false, false, false, true, true]);
    assert.deepEqual(deltas(ia), [30, 30, 0]);
  });

  await t.step(
    "the arrival clock running ahead by the same amount as the system clock is fine",
    () => {
      const ia = plain();
      const results: boolean[] = [];
      for (let g = 0; g < 5; g++) {
        const ms = 1000 + 30 * g + (g >= 2 ? 5000 : 0);
        results.push(ia.computeDeltas(10_000 + 30 * g, ms, ms, 100));
      }
      assert.deepEqual(results, [false, false, true, true, true]);
      assert.deepEqual(deltas(ia), [30, 30, 0]);
    },
  );
});
