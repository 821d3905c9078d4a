/**
 * Unit tests of the per-stream delay pipeline (grouping → Kalman or trendline filter → detector):
 * both filters tell a growing queue from a steady or draining one on either timestamp scale, and
 * `resetFilter()` restarts grouping and filtering while keeping the detector (reference §4.3 step 4).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  absSendTimeFromMicros,
  absSendTimeToTicks,
  GROUP_LENGTH_TICKS,
  TIMESTAMP_TO_MS,
} from "../../core/abs_send_time.ts";
import { type DelayFilter, DelayPipeline } from "../../core/delay_pipeline.ts";
import type { BandwidthUsage } from "../../core/types.ts";
import { Prng } from "./_prng.ts";

interface Scale {
  label: string;
  groupLengthTicks: number;
  timestampToMs: number;
  /** Send time in µs → timestamp ticks. */
  ticks(sendUs: number): number;
}

const RTP: Scale = {
  label: "90 kHz RTP timestamps",
  groupLengthTicks: 450,
  timestampToMs: 1 / 90,
  ticks: (us) => (0xfffff000 + Math.round((us * 90) / 1000)) >>> 0, // wraps early on
};
const AST: Scale = {
  label: "abs-send-time",
  groupLengthTicks: GROUP_LENGTH_TICKS,
  timestampToMs: TIMESTAMP_TO_MS,
  ticks: (us) => absSendTimeToTicks(absSendTimeFromMicros(us + 63_000_000)), // wraps at 1 s
};
const FILTERS: readonly DelayFilter[] = ["kalman", "trendline"];

/**
 * Runs `frames` frames of two 1200-byte packets 33 ms apart in send time, arriving
 * `33 + extraMsPerFrame` ms apart plus 0–`jitterMs` ms of jitter. Returns every verdict.
 */
function run(
  pipeline: DelayPipeline,
  scale: Scale,
  frames: number,
  extraMsPerFrame: number,
  jitterMs = 0,
  seed = 1,
): BandwidthUsage[] {
  const rng = new Prng(seed);
  const verdicts: BandwidthUsage[] = [];
  for (let i = 0; i < frames; i++) {
    const ts = scale.ticks(i * 33_000);
    const arrivalMs = 10_000 + i * (33 + extraMsPerFrame) + rng.int(0, jitterMs);
    verdicts.push(pipeline.onPacket(ts, arrivalMs, arrivalMs, 1200, arrivalMs));
    verdicts.push(pipeline.onPacket(ts, arrivalMs + 1, arrivalMs + 1, 1200, arrivalMs + 1));
  }
  return verdicts;
}

function newPipeline(scale: Scale, filter: DelayFilter): DelayPipeline {
  return new DelayPipeline({
    groupLengthTicks: scale.groupLengthTicks,
    timestampToMs: scale.timestampToMs,
    filter,
  });
}

Deno.test("DelayPipeline.onPacket() detects a growing queue and stays normal on a steady one", async (t) => {
  for (const scale of [RTP, AST]) {
    for (const filter of FILTERS) {
      await t.step(`${filter}, ${scale.label}: steady arrivals with jitter stay normal`, () => {
        const pipeline = newPipeline(scale, filter);
        const verdicts = run(pipeline, scale, 600, 0, 2);
        assert.ok(!verdicts.includes("overusing"), "a steady stream was read as a growing queue");
        assert.equal(pipeline.usage, "normal");
        assert.ok(pipeline.numDeltas > 500);
        assert.ok(Math.abs(pipeline.modifiedOffsetMs) < pipeline.thresholdMs);
      });

      await t.step(`${filter}, ${scale.label}: 3 ms more delay per frame is an overuse`, () => {
        const pipeline = newPipeline(scale, filter);
        const verdicts = run(pipeline, scale, 80, 3);
        const first = verdicts.indexOf("overusing");
        assert.ok(first >= 0, "no overuse");
        // From a cold start the Kalman filter needs about a second (its noise estimate starts
        // at 50), the trendline filter its 20-delta window.
        assert.ok(first < 2 * 45, `overuse only after ${first / 2} frames`);
        assert.equal(pipeline.usage, "overusing");
        assert.ok(pipeline.offsetMs > 0);
        assert.ok(pipeline.modifiedOffsetMs > pipeline.thresholdMs);
      });

      await t.step(`${filter}, ${scale.label}: a draining queue is an underuse`, () => {
        const pipeline = newPipeline(scale, filter);
        const verdicts = run(pipeline, scale, 60, -3);
        assert.ok(!verdicts.includes("overusing"));
        assert.equal(pipeline.usage, "underusing");
        assert.ok(pipeline.offsetMs < 0);
      });
    }
  }
});

Deno.test("DelayPipeline.resetFilter() keeps the detector but restarts grouping", async (t) => {
  for (const filter of FILTERS) {
    await t.step(filter, () => {
      const pipeline = newPipeline(RTP, filter);
      run(pipeline, RTP, 200, 3);
      assert.equal(pipeline.usage, "overusing");
      const threshold = pipeline.thresholdMs;
      assert.notEqual(threshold, 12.5, "the threshold should have adapted");

      pipeline.resetFilter();
      // The detector is kept: same verdict and threshold; the filter starts from zero deltas.
      assert.equal(pipeline.usage, "overusing");
      assert.equal(pipeline.thresholdMs, threshold);
      assert.equal(pipeline.numDeltas, 0);

      // Three new groups 100 ms apart in both send and arrival time. The first two only open
      // groups; the third completes the pair whose delta is the first one after the reset.
      const feed = (i: number) => {
        const ms = 60_000 + i * 100;
        return pipeline.onPacket(RTP.ticks(9_000_000 + i * 100_000), ms, ms, 1200, ms);
      };
      feed(0);
      assert.equal(pipeline.numDeltas, 0);
      feed(1);
      assert.equal(pipeline.numDeltas, 0);
      assert.equal(pipeline.usage, "overusing");
      feed(2);
      assert.equal(pipeline.numDeltas, 1);
      if (filter === "kalman") {
        // The Kalman detector ignores fewer than two deltas and keeps its state.
        assert.equal(pipeline.usage, "overusing");
        assert.equal(pipeline.thresholdMs, threshold);
      } else {
        // The trendline detector reads fewer than two deltas as normal (reference §10).
        assert.equal(pipeline.usage, "normal");
      }
      feed(3);
      assert.equal(pipeline.numDeltas, 2);
    });
  }

  await t.step("a fresh pipeline, by contrast, starts normal with a 12.5 ms threshold", () => {
    const pipeline = newPipeline(RTP, "kalman");
    assert.equal(pipeline.usage, "normal");
    assert.equal(pipeline.thresholdMs, 12.5);
    assert.equal(pipeline.numDeltas, 0);
  });

  await t.step("without a reset, a jump of 9 s in send time is just one more delta", () => {
    const pipeline = newPipeline(RTP, "kalman");
    run(pipeline, RTP, 20, 0);
    const before = pipeline.numDeltas;
    const ms = 60_000;
    pipeline.onPacket(RTP.ticks(9_000_000), ms, ms, 1200, ms);
    assert.equal(pipeline.numDeltas, before + 1);
  });
});

Deno.test("DelayPipeline.saveSnapshot() moves a pipeline mid-stream with every later verdict and figure exact", async (t) => {
  const out = new Float64Array(16);
  for (const scale of [RTP, AST]) {
    for (const filter of FILTERS) {
      for (const seed of [1, 2, 3]) {
        await t.step(`${filter}, ${scale.label}, seed ${seed}`, () => {
          const rng = new Prng(seed);
          // Bursts, jitter, reordering and a queue that grows then drains, so every state moves.
          const packets: number[][] = [];
          let arrivalMs = 10_000;
          let early = 0;
          for (let i = 0; i < 900; i++) {
            const sendUs = i * 11_000 + (rng.int(0, 9) === 0 ? -15_000 : 0);
            arrivalMs += 11 + (i < 450 ? 2 : -2) * rng.next() + (rng.int(0, 29) === 0 ? 40 : 0);
            // Now and then 1–4 packets stamped 30 ms early: groups that arrive out of order, and
            // with 3 or more a restart of the grouping.
            if (early === 0 && rng.int(0, 24) === 0) early = rng.int(1, 4);
            const ms = Math.round(arrivalMs) - (early > 0 ? 30 : 0);
            if (early > 0) early--;
            packets.push([scale.ticks(Math.max(0, sendUs)), ms, ms, rng.int(100, 1200), ms]);
          }
          // Every verdict and every figure after each packet, flat.
          const feed = (pipeline: DelayPipeline, from: number, to: number) => {
            const seen: (string | number)[] = [];
            for (const [ts, a, sys, size, d] of packets.slice(from, to)) {
              seen.push(pipeline.onPacket(ts, a, sys, size, d));
              pipeline.writeFigures(out);
              for (const figure of out) seen.push(figure);
            }
            return seen;
          };
          const options = {
            groupLengthTicks: scale.groupLengthTicks,
            timestampToMs: scale.timestampToMs,
            filter,
            trendlineWindowSize: 17,
          };
          const whole = new DelayPipeline(options);
          const expected = feed(whole, 0, packets.length);
          // Moves at the ends, and just after the first packet of a run stamped early, while the
          // grouper counts reordered groups.
          const reordered = packets.flatMap((p, i) =>
            i > 0 && p[1] < packets[i - 1][1] ? [i + 1] : []
          );
          const points = [0, 1, 2, 451, 899, ...reordered.slice(0, 8)];
          for (const at of points) {
            const first = new DelayPipeline(options);
            feed(first, 0, at);
            const moved = new DelayPipeline(options);
            moved.restoreSnapshot(first.saveSnapshot());
            const rest = feed(moved, at, packets.length);
            assert.deepEqual(rest, expected.slice(at * 17), `moved at ${at}`);
          }
          // After a reset too: the new grouper and filter are part of the snapshot.
          const reset = new DelayPipeline(options);
          feed(reset, 0, 300);
          reset.resetFilter();
          feed(reset, 300, 320);
          const copy = new DelayPipeline(options);
          copy.restoreSnapshot(reset.saveSnapshot(new Float64Array(reset.snapshotLength + 3)));
          assert.deepEqual(feed(copy, 320, packets.length), feed(reset, 320, packets.length));
        });
      }
    }
  }
});

Deno.test("DelayPipeline.restoreSnapshot() refuses a snapshot of another pipeline", () => {
  const kalman = newPipeline(RTP, "kalman");
  const trendline = newPipeline(RTP, "trendline");
  const abs = newPipeline(AST, "kalman");
  assert.throws(
    () => trendline.restoreSnapshot(kalman.saveSnapshot()),
    /Cannot restore pipeline snapshot as it is of another pipeline: current header is 24095, 0, 0, 450/,
  );
  assert.throws(() => abs.restoreSnapshot(kalman.saveSnapshot()), RangeError);
  assert.throws(() => kalman.restoreSnapshot(new Float64Array(4)), RangeError);
  assert.throws(
    () => kalman.saveSnapshot(new Float64Array(10)),
    /Cannot save pipeline snapshot as the array is too short: current length is 10/,
  );
});
