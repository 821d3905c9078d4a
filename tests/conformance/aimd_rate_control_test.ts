/**
 * Conformance with libwebrtc's `aimd_rate_control_unittest.cc` (reference §12.5), receive-side cases
 * only (the ALR and network-estimate cases need send-side features the RBE does not have). Times are
 * integer microseconds, rates bps.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AimdRateControl } from "../../core/aimd_rate_control.ts";
import { assertNear } from "./_assert.ts";

const INITIAL_TIME_US = 123_456_000;
const MIN_BWE_PERIOD_US = 2_000_000;
const DEFAULT_PERIOD_US = 3_000_000;
const MAX_BWE_PERIOD_US = 50_000_000;
/** Overuse backs off to this fraction of the measured throughput (then − 5 kbps). */
const FRACTION_AFTER_OVERUSE = 0.85;
const MS = 1000;

/** `DataRate / double`: rounds half away from zero. */
function rateDividedBy(bps: number, divisor: number): number {
  const q = bps / divisor;
  return q < 0 ? -Math.floor(-q + 0.5) : Math.floor(q + 0.5);
}

Deno.test("AimdRateControl.getNearMaxIncreaseRateBpsPerSecond() is at least 4000 bps/s at 30 kbps (MinNearMaxIncreaseRateOnLowBandwith)", () => {
  const aimd = new AimdRateControl();
  aimd.setEstimate(30_000, INITIAL_TIME_US);
  assert.equal(aimd.getNearMaxIncreaseRateBpsPerSecond(), 4000);
});

Deno.test("AimdRateControl.getNearMaxIncreaseRateBpsPerSecond() is 5000 bps/s at 90 kbps with the default 200 ms RTT (NearMaxIncreaseRateIs5kbpsOn90kbpsAnd200msRtt)", () => {
  const aimd = new AimdRateControl();
  aimd.setEstimate(90_000, INITIAL_TIME_US);
  assert.equal(aimd.getNearMaxIncreaseRateBpsPerSecond(), 5000);
});

Deno.test("AimdRateControl.getNearMaxIncreaseRateBpsPerSecond() is 5000 bps/s at 60 kbps with a 100 ms RTT (NearMaxIncreaseRateIs5kbpsOn60kbpsAnd100msRtt)", () => {
  const aimd = new AimdRateControl();
  aimd.setEstimate(60_000, INITIAL_TIME_US);
  aimd.setRtt(100);
  assert.equal(aimd.getNearMaxIncreaseRateBpsPerSecond(), 5000);
});

Deno.test("AimdRateControl keeps the 3 s default bandwidth period after an overuse at the current rate (GetIncreaseRateAndBandwidthPeriod)", () => {
  const aimd = new AimdRateControl();
  const bitrate = 300_000;
  aimd.setEstimate(bitrate, INITIAL_TIME_US);
  aimd.update("overusing", bitrate, INITIAL_TIME_US);
  assertNear(aimd.getNearMaxIncreaseRateBpsPerSecond(), 14_000, 1000, "near-max increase rate");
  assert.equal(aimd.getExpectedBandwidthPeriodUs(), DEFAULT_PERIOD_US);
});

/** SetEstimate(acked), then a normal-state update with the acked rate every 100 ms for 20 s. */
function rampWithAckedBitrate(aimd: AimdRateControl, ackedBps: number): number {
  let nowUs = INITIAL_TIME_US;
  aimd.setEstimate(ackedBps, nowUs);
  while (nowUs - INITIAL_TIME_US < 20_000 * MS) {
    aimd.update("normal", ackedBps, nowUs);
    nowUs += 100 * MS;
  }
  return nowUs;
}

Deno.test("AimdRateControl caps the estimate at 1.5 × acked bitrate + 10 kbps (BweLimitedByAckedBitrate)", () => {
  const aimd = new AimdRateControl();
  const ackedBps = 10_000;
  rampWithAckedBitrate(aimd, ackedBps);
  assert.ok(aimd.validEstimate);
  assert.equal(aimd.latestEstimateBps, 1.5 * ackedBps + 10_000);
});

Deno.test("AimdRateControl does not lower the estimate when the acked bitrate halves (BweNotLimitedByDecreasingAckedBitrate)", () => {
  const aimd = new AimdRateControl();
  const ackedBps = 10_000;
  const nowUs = rampWithAckedBitrate(aimd, ackedBps);
  assert.ok(aimd.validEstimate);
  const before = aimd.latestEstimateBps;
  aimd.update("normal", Math.trunc(ackedBps / 2), nowUs);
  assert.equal(aimd.latestEstimateBps, before, "unchanged by a lower acked bitrate");
  assertNear(aimd.latestEstimateBps, 1.5 * ackedBps + 10_000, 2000, "estimate");
});

Deno.test("AimdRateControl.getExpectedBandwidthPeriodUs() leaves the 3 s default after the first overuse (DefaultPeriodUntilFirstOveruse)", () => {
  const aimd = new AimdRateControl();
  aimd.setStartBitrate(300_000);
  assert.equal(aimd.getExpectedBandwidthPeriodUs(), DEFAULT_PERIOD_US);
  aimd.update("overusing", 280_000, INITIAL_TIME_US);
  assert.notEqual(aimd.getExpectedBandwidthPeriodUs(), DEFAULT_PERIOD_US);
});

Deno.test("AimdRateControl backs off from 264 kbps to 216 kbps with a 12 kbps/s recovery over 4 s (ExpectedPeriodAfterTypicalDrop)", () => {
  const aimd = new AimdRateControl();
  const initialBps = 264_000;
  const updatedBps = 216_000;
  // 0.85 × acked − 5 kbps must land on 216 kbps.
  const ackedBps = rateDividedBy(updatedBps + 5000, FRACTION_AFTER_OVERUSE);
  let nowUs = INITIAL_TIME_US;
  aimd.setEstimate(initialBps, nowUs);
  nowUs += 100 * MS;
  aimd.update("overusing", ackedBps, nowUs);
  assert.equal(aimd.latestEstimateBps, updatedBps);
  assert.equal(aimd.getNearMaxIncreaseRateBpsPerSecond(), 12_000);
  assert.equal(aimd.getExpectedBandwidthPeriodUs(), 4_000_000);
});

Deno.test("AimdRateControl.getExpectedBandwidthPeriodUs() is at least 2 s after a tiny drop (BandwidthPeriodIsNotBelowMin)", () => {
  const aimd = new AimdRateControl();
  const initialBps = 10_000;
  let nowUs = INITIAL_TIME_US;
  aimd.setEstimate(initialBps, nowUs);
  nowUs += 100 * MS;
  aimd.update("overusing", initialBps - 1, nowUs);
  assert.equal(aimd.getExpectedBandwidthPeriodUs(), MIN_BWE_PERIOD_US);
});

Deno.test("AimdRateControl.getExpectedBandwidthPeriodUs() is at most 50 s after a 10 Mbps drop (BandwidthPeriodIsNotAboveMaxNoSmoothingExp)", () => {
  const aimd = new AimdRateControl();
  const initialBps = 10_010_000;
  let nowUs = INITIAL_TIME_US;
  aimd.setEstimate(initialBps, nowUs);
  nowUs += 100 * MS;
  aimd.update("overusing", rateDividedBy(10_000, FRACTION_AFTER_OVERUSE), nowUs);
  assert.equal(aimd.getExpectedBandwidthPeriodUs(), MAX_BWE_PERIOD_US);
});

Deno.test("AimdRateControl stays within 1.5 × the last throughput + 10 kbps when updates carry no throughput (SendingRateBoundedWhenThroughputNotEstimated)", () => {
  const aimd = new AimdRateControl();
  const initialBps = 123_000;
  let nowUs = INITIAL_TIME_US;
  aimd.update("normal", initialBps, nowUs);
  nowUs += (5000 + 1) * MS; // initialization time + 1 ms
  aimd.update("normal", initialBps, nowUs);
  for (let i = 0; i < 100; i++) {
    aimd.update("normal", undefined, nowUs);
    nowUs += 100 * MS;
  }
  assert.ok(
    aimd.latestEstimateBps <= 1.5 * initialBps + 10_000,
    `estimate ${aimd.latestEstimateBps} must be ≤ 194500`,
  );
});
