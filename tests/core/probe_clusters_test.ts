/**
 * Unit tests of probe-cluster detection against reference §4.4: the cluster rate, the qualification
 * rules and the `break` at the first non-qualifying cluster, the minimum cluster size, the 15-probe
 * trim, and the ring's growth and 1024-probe cap.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  PROBE_CAPACITY,
  ProbeClusters,
  PROBES_DROPPED_AT_CAPACITY,
} from "../../core/probe_clusters.ts";

/**
 * Appends `count` probes of `size` bytes, sent `sendStepUs` and received `recvStepUs` apart,
 * continuing from the given times. Returns the times of the last probe.
 */
function addRun(
  probes: ProbeClusters,
  count: number,
  sendStepUs: number,
  recvStepUs: number,
  size = 1000,
  start = { sendUs: 0, recvUs: 10_000_000 },
): { sendUs: number; recvUs: number } {
  let { sendUs, recvUs } = start;
  for (let i = 0; i < count; i++) {
    sendUs += sendStepUs;
    recvUs += recvStepUs;
    probes.addProbe(sendUs, recvUs, size);
  }
  return { sendUs, recvUs };
}

Deno.test("ProbeClusters.evaluate() rates a clean cluster at min(send rate, receive rate)", async (t) => {
  await t.step("sent 5 ms apart, received 4 ms apart: the 1.6 Mbit/s send rate", () => {
    const probes = new ProbeClusters();
    addRun(probes, 5, 5000, 4000);
    assert.equal(probes.evaluate(), 1_600_000);
    assert.equal(probes.clusterCount, 1);
  });

  await t.step("sent 4 ms apart, received 5 ms apart: the 1.6 Mbit/s receive rate", () => {
    const probes = new ProbeClusters();
    addRun(probes, 5, 4000, 5000);
    assert.equal(probes.evaluate(), 1_600_000);
  });

  await t.step("the rate uses integer means of the deltas and sizes", () => {
    const probes = new ProbeClusters();
    // Deltas 3000, 3001, 3002, 3003 µs (mean 3001); sizes of probes 2–5: 700, 701, 702, 703
    // (mean 701). The first probe's size does not count.
    const send = [0, 3000, 6001, 9003, 12_006];
    send.forEach((s, i) => probes.addProbe(s, 1_000_000 + s, 699 + i));
    assert.equal(probes.evaluate(), Math.floor((701 * 8_000_000) / 3001));
  });

  await t.step("the best of several qualifying clusters wins", () => {
    const probes = new ProbeClusters();
    const end = addRun(probes, 5, 10_000, 10_000); // 800 kbit/s
    addRun(probes, 5, 4000, 4000, 1000, end); // 2 Mbit/s
    assert.equal(probes.clusterCount, 0); // not evaluated yet
    assert.equal(probes.evaluate(), 2_000_000);
    assert.equal(probes.clusterCount, 2);
  });
});

Deno.test("ProbeClusters.evaluate() stops at the first cluster that does not qualify", async (t) => {
  await t.step("arrivals spread more than 2 ms beyond the sends disqualify a cluster", () => {
    const probes = new ProbeClusters();
    addRun(probes, 5, 5000, 7001); // 2.001 ms more spread per delta
    assert.equal(probes.evaluate(), 0);
    assert.equal(probes.clusterCount, 1);
    // Exactly 2 ms more spread still qualifies: min(1.6 M, 1.142857 M).
    const edge = new ProbeClusters();
    addRun(edge, 5, 5000, 7000);
    assert.equal(edge.evaluate(), Math.floor(8_000_000_000 / 7000));
  });

  await t.step("arrivals more than 5 ms tighter than the sends disqualify a cluster", () => {
    const probes = new ProbeClusters();
    addRun(probes, 5, 10_000, 4999);
    assert.equal(probes.evaluate(), 0);
    const edge = new ProbeClusters();
    addRun(edge, 5, 10_000, 5000);
    assert.equal(edge.evaluate(), 800_000);
  });

  await t.step("a bad first cluster hides a later good one", () => {
    const probes = new ProbeClusters();
    const end = addRun(probes, 5, 5000, 9000); // arrivals 4 ms more spread: stops the scan
    addRun(probes, 5, 20_000, 20_000, 1000, end); // a clean 400 kbit/s cluster
    assert.equal(probes.evaluate(), 0);
    assert.equal(probes.clusterCount, 2);
  });

  await t.step("a good cluster before the bad one still counts", () => {
    const probes = new ProbeClusters();
    const end = addRun(probes, 5, 20_000, 20_000);
    addRun(probes, 5, 5000, 9000, 1000, end);
    assert.equal(probes.evaluate(), 400_000);
  });

  await t.step("a cluster with too few deltas of at least 1 ms does not qualify", () => {
    const probes = new ProbeClusters();
    // Four deltas: two of 1.5 ms, two of 0.5 ms; 2 is not more than 4 / 2.
    const send = [0, 1500, 2000, 3500, 4000];
    for (const s of send) probes.addProbe(s, 5_000_000 + s, 1000);
    assert.equal(probes.evaluate(), 0);
    assert.equal(probes.clusterCount, 1);
  });
});

Deno.test("ProbeClusters.evaluate() needs at least 4 deltas for a cluster", () => {
  const probes = new ProbeClusters();
  const end = addRun(probes, 4, 5000, 5000); // 3 deltas after the first probe
  assert.equal(probes.evaluate(), 0);
  assert.equal(probes.clusterCount, 0);
  addRun(probes, 1, 5000, 5000, 1000, end);
  assert.equal(probes.evaluate(), 1_600_000);
  assert.equal(probes.clusterCount, 1);
});

Deno.test("ProbeClusters.evaluate() drops the oldest probe only when no cluster forms from 15 probes", async (t) => {
  // Send deltas alternating 1 ms and 10 ms never stay within 2.5 ms of the running mean.
  function addUnclustered(probes: ProbeClusters, count: number): void {
    let sendUs = 0;
    for (let i = 0; i < count; i++) {
      sendUs += i % 2 === 0 ? 1000 : 10_000;
      probes.addProbe(sendUs, 3_000_000 + sendUs, 1000);
    }
  }

  await t.step("14 probes are kept", () => {
    const probes = new ProbeClusters();
    addUnclustered(probes, 14);
    assert.equal(probes.evaluate(), 0);
    assert.equal(probes.clusterCount, 0);
    assert.equal(probes.length, 14);
  });

  await t.step("at 15 probes one evaluation drops one probe", () => {
    const probes = new ProbeClusters();
    addUnclustered(probes, 15);
    probes.evaluate();
    assert.equal(probes.length, 14);
    probes.evaluate();
    assert.equal(probes.length, 14);
  });

  await t.step("it is the oldest probe that goes", () => {
    const probes = new ProbeClusters();
    addUnclustered(probes, 15);
    probes.evaluate(); // drops one of the 15
    // Four more probes 5 ms after the newest one form a 1.6 Mbit/s cluster only if the newest
    // probe is still held (without it, the first delta would be 6 or 15 ms).
    let sendUs = 0;
    for (let i = 0; i < 15; i++) sendUs += i % 2 === 0 ? 1000 : 10_000;
    addRun(probes, 4, 5000, 5000, 1000, { sendUs, recvUs: 3_000_000 + sendUs });
    assert.equal(probes.length, 18);
    assert.equal(probes.evaluate(), 1_600_000);
  });

  await t.step("with a cluster, even a non-qualifying one, nothing is dropped", () => {
    const probes = new ProbeClusters();
    addRun(probes, 20, 5000, 9000);
    assert.equal(probes.evaluate(), 0);
    assert.equal(probes.clusterCount, 1);
    assert.equal(probes.length, 20);
  });
});

Deno.test("ProbeClusters.addProbe() keeps probes in order as the ring grows past 32", () => {
  const probes = new ProbeClusters();
  // Wrap the initial 32-slot ring before it grows: 20 in, 10 out, 22 in (32 held, start at 10).
  let end = addRun(probes, 20, 20_000, 20_000);
  for (let i = 0; i < 10; i++) probes.dropOldest();
  end = addRun(probes, 22, 20_000, 20_000, 1000, end);
  assert.equal(probes.length, 32);
  // The 33rd probe forces a copy into a larger ring; then a faster run follows.
  end = addRun(probes, 8, 20_000, 20_000, 1000, end);
  addRun(probes, 100, 4000, 4000, 1000, end);
  assert.equal(probes.length, 140);
  // A 400 kbit/s cluster, then a 2 Mbit/s one. Probes copied out of order would make negative or
  // uneven deltas, and a non-qualifying first cluster that hides the second.
  assert.equal(probes.evaluate(), 2_000_000);
  assert.equal(probes.clusterCount, 2);
});

Deno.test("ProbeClusters.addProbe() caps the list at 1024 probes by dropping the oldest quarter", () => {
  assert.equal(PROBE_CAPACITY, 1024);
  assert.equal(PROBES_DROPPED_AT_CAPACITY, 256);
  const probes = new ProbeClusters();
  // Six probes whose arrivals spread 10 ms more than their sends: a non-qualifying cluster that
  // would stop the scan if it were still held.
  const end = addRun(probes, 6, 20_000, 30_000);
  const full = addRun(probes, PROBE_CAPACITY - 6, 5000, 5000, 1000, end);
  assert.equal(probes.length, PROBE_CAPACITY);
  assert.equal(probes.evaluate(), 0);
  // The next probe makes room: the oldest 256, the six among them, go.
  addRun(probes, 1, 5000, 5000, 1000, full);
  assert.equal(probes.length, PROBE_CAPACITY - PROBES_DROPPED_AT_CAPACITY + 1);
  assert.equal(probes.evaluate(), 1_600_000);
  assert.equal(probes.clusterCount, 1);
});

Deno.test("ProbeClusters.clear() removes every probe", () => {
  const probes = new ProbeClusters();
  addRun(probes, 10, 5000, 5000);
  probes.clear();
  assert.equal(probes.length, 0);
  assert.equal(probes.evaluate(), 0);
  assert.equal(probes.clusterCount, 0);
});

/**
 * The split as one full scan over the probes held, written out plainly: what every evaluation
 * must return however many probes came since the last one.
 */
function referenceEvaluate(probes: { sendUs: number; recvUs: number; size: number }[]) {
  let clusters = 0, stopped = false, best = 0;
  let count = 0, sendSum = 0, recvSum = 0, sizeSum = 0, above = 0;
  const close = () => {
    if (count < 4 || sendSum <= 0 || recvSum <= 0) return;
    clusters++;
    if (stopped) return;
    const sendMean = Math.trunc(sendSum / count), recvMean = Math.trunc(recvSum / count);
    if (sendMean === 0 || recvMean === 0) return;
    const size = Math.trunc(sizeSum / count);
    if (
      above > Math.trunc(count / 2) && recvMean - sendMean <= 2000 && sendMean - recvMean <= 5000
    ) {
      best = Math.max(
        best,
        Math.min(Math.floor(size * 8_000_000 / sendMean), Math.floor(size * 8_000_000 / recvMean)),
      );
    } else stopped = true;
  };
  for (let i = 1; i < probes.length; i++) {
    const sendDelta = probes[i].sendUs - probes[i - 1].sendUs;
    const recvDelta = probes[i].recvUs - probes[i - 1].recvUs;
    if (sendDelta >= 1000 && recvDelta >= 1000) above++;
    if (count > 0 && Math.abs(sendDelta - Math.trunc(sendSum / count)) >= 2500) {
      close();
      count =
        sendSum =
        recvSum =
        sizeSum =
        above =
          0;
    }
    sendSum += sendDelta;
    recvSum += recvDelta;
    sizeSum += probes[i].size;
    count++;
  }
  close();
  return { clusters, best };
}

/**
 * Adds, drops and clears at random, checking evaluations against the full scan. `mixed` and `runs`
 * spacing also repeat send times, jump back and forth and step arrivals back, as streams with
 * different send clocks do when their probes interleave: clusters rarely form, so the list stays
 * long while evaluations drop its oldest probe.
 */
function checkAgainstFullScan(
  runs: number,
  operations: number,
  seed: number,
  spacing: "steady" | "mixed" | "runs" | "interleaved" = "steady",
): void {
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let run = 0; run < runs; run++) {
    const probes = new ProbeClusters();
    const held: { sendUs: number; recvUs: number; size: number }[] = [];
    let sendUs = 0, recvUs = 5_000_000;
    // Runs of steady spacing with jumps between them, queued arrivals now and then.
    let step = 2000 + Math.floor(random() * 8000);
    let kind = spacing === "interleaved" ? 5 : 4; // steady
    // Interleaved: streams of one sender in turn, their send clocks offset, a frame at a time.
    let turn = 0, streams = 2, frameLeft = 0, frameSendUs = 0, frameRecvUs = 5_000_000;
    for (let op = 0; op < operations; op++) {
      const r = random();
      if (r < 0.02 * 400 / operations) {
        probes.clear();
        held.length = 0;
      } else if (r < 0.04 * 400 / operations) {
        probes.dropOldest();
        held.shift();
      } else {
        if (random() < 0.1) step = 500 + Math.floor(random() * 10_000);
        // Mixed spacing changes kind at any probe, or in runs, so that long runs without a cluster
        // form.
        if (spacing === "mixed" || (spacing === "runs" && random() < 0.15)) {
          kind = Math.floor(random() * 5);
        }
        if (kind === 5) {
          if (frameLeft-- <= 0) {
            // Long frames hold the list in one aggregate (no cluster among hundreds of probes);
            // the jump to the next one opens a new aggregate.
            frameLeft = 20 + Math.floor(random() * 300);
            streams = 2 + Math.floor(random() * 3);
            frameSendUs += random() < 0.5 ? 1000 + Math.floor(random() * 1000) : 20_000;
            frameRecvUs += 1000 + Math.floor(random() * 20_000);
          }
          turn = (turn + 1) % streams;
          sendUs = frameSendUs + turn * (900 + Math.floor(random() * 200));
          recvUs = frameRecvUs + turn * 915 + Math.floor(random() * 50);
        } else if (kind === 0) {
          recvUs += Math.floor(random() * 2000); // the same send time
        } else if (kind === 1) {
          const jumpUs = 2500 + Math.floor(random() * 30_000);
          sendUs += random() < 0.5 ? jumpUs : -jumpUs;
          recvUs += Math.floor(random() * 3000);
        } else if (kind === 2) {
          // Back and forth within a cluster's bounds: send sums that end at or below zero.
          sendUs += Math.floor((random() - 0.5) * 2600);
          recvUs += Math.floor((random() - 0.2) * 2500);
        } else if (kind === 3) {
          // Arrivals mostly stepping back: receive sums at or below zero.
          sendUs += step + Math.floor(random() * 300);
          recvUs += random() < 0.25
            ? 1000 + Math.floor(random() * 1000)
            : -Math.floor(random() * 2000);
        } else {
          sendUs += step + Math.floor(random() * 300);
          recvUs += step + Math.floor((random() - 0.3) * 3000);
        }
        const size = 200 + Math.floor(random() * 1000);
        probes.addProbe(sendUs, recvUs, size);
        if (held.length === PROBE_CAPACITY) held.splice(0, PROBES_DROPPED_AT_CAPACITY);
        held.push({ sendUs, recvUs, size });
      }
      if (random() < 0.5) {
        const expected = referenceEvaluate(held);
        assert.equal(probes.evaluate(), expected.best, `run ${run}, op ${op}`);
        assert.equal(probes.clusterCount, expected.clusters, `run ${run}, op ${op}`);
        if (expected.clusters === 0 && held.length >= 15) held.shift();
      }
      assert.equal(probes.length, held.length);
    }
  }
}

Deno.test("ProbeClusters.evaluate() gives what a full scan gives, whatever was added, dropped or cleared between", () => {
  checkAgainstFullScan(200, 400, 7);
});

Deno.test("ProbeClusters.evaluate() gives what a full scan gives while the list runs full", () => {
  // Clears and drops rare enough that the list reaches its cap and drops a quarter, many times.
  checkAgainstFullScan(3, 4000, 11);
});

Deno.test("ProbeClusters.evaluate() gives what a full scan gives while interleaved streams keep clusters from forming", () => {
  checkAgainstFullScan(200, 400, 13, "mixed");
  checkAgainstFullScan(200, 400, 19, "runs");
  checkAgainstFullScan(3, 4000, 17, "runs");
  checkAgainstFullScan(100, 1000, 23, "interleaved");
});
