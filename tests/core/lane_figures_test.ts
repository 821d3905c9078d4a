import assert from "node:assert/strict";
import { DelayPipeline } from "../../core/delay_pipeline.ts";
import { LANE_FIGURE_COUNT, LaneFigures } from "../../core/lane_figures.ts";
import { INITIAL_THRESHOLD_MS } from "../../core/overuse_detector.ts";
import { FIGURE_COUNT, PacketBatch } from "../../core/packet_batch.ts";

function overusingPipeline(filter: "kalman" | "trendline"): DelayPipeline {
  const pipeline = new DelayPipeline({ groupLengthTicks: 450, timestampToMs: 1 / 90, filter });
  for (let i = 0; i < 60; i++) {
    const ms = 1000 + i * 40;
    pipeline.onPacket(i * 2970, ms, ms, 1200, ms);
  }
  return pipeline;
}

Deno.test("LaneFigures reads by name what DelayPipeline.writeFigures() wrote", async (t) => {
  for (const filter of ["kalman", "trendline"] as const) {
    await t.step(filter, () => {
      const pipeline = overusingPipeline(filter);
      const batch = new PacketBatch(4);
      pipeline.writeFigures(batch.figures);
      const figures = new LaneFigures(batch.figures);
      assert.equal(figures.offsetMs, pipeline.offsetMs);
      assert.equal(figures.modifiedOffsetMs, pipeline.modifiedOffsetMs);
      assert.equal(figures.thresholdMs, pipeline.thresholdMs);
      assert.equal(figures.numDeltas, pipeline.numDeltas);
      assert.equal(figures.usage, pipeline.usage);
      assert.equal(figures.usage, "overusing");
      assert.equal(figures.usageCode, 2);
    });
  }
});

Deno.test("LaneFigures.copyFrom() takes a batch's figures, which restore the detector elsewhere", () => {
  const pipeline = overusingPipeline("kalman");
  const batch = new PacketBatch(4);
  pipeline.writeFigures(batch.figures);
  const figures = new LaneFigures();
  figures.copyFrom(batch);
  const next = new DelayPipeline({ groupLengthTicks: 450, timestampToMs: 1 / 90 });
  assert.equal(next.thresholdMs, INITIAL_THRESHOLD_MS);
  next.restoreDetector(figures.values);
  assert.equal(next.usage, figures.usage);
  assert.equal(next.thresholdMs, figures.thresholdMs);
  assert.equal(next.modifiedOffsetMs, figures.modifiedOffsetMs);
});

Deno.test("LaneFigures fits a batch's figures area and refuses a shorter array", () => {
  assert.ok(LANE_FIGURE_COUNT <= FIGURE_COUNT);
  assert.equal(new LaneFigures().usage, "normal");
  assert.throws(
    () => new LaneFigures(new Float64Array(LANE_FIGURE_COUNT - 1)),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === "Cannot view lane figures as the array is too short: current length is 11",
  );
});
