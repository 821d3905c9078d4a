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
