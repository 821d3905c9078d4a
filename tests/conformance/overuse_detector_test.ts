/**
 * Conformance with libwebrtc's `overuse_detector_unittest.cc` (reference §12.7): InterArrival with
 * 90 kHz RTP timestamps feeding the Kalman OveruseEstimator and the OveruseDetector, with jitter from
 * libwebrtc's own random generator so the frame counts must match exactly.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BandwidthUsage } from "../../core/types.ts";
import { InterArrival } from "../../core/inter_arrival.ts";
import { OveruseEstimator } from "../../core/overuse_estimator.ts";
import { OveruseDetector } from "../../core/overuse_detector.ts";
import { Random } from "./_random.ts";

const PACKET_SIZE = 1200;

/** The fixture: the three stages wired as in the RTP-timestamp estimator, plus the test clocks. */
class DetectorHarness {
  readonly interArrival = new InterArrival(450, 1 / 90);
  readonly estimator = new OveruseEstimator();
  readonly detector = new OveruseDetector();
  readonly random = new Random();
  nowMs = 0;
  receiveTimeMs = 0;
  rtpTimestamp = 10 * 90;

  /** One packet through grouping, filter and detector; system time = receive time. */
  updateDetector(rtpTimestamp: number, receiveTimeMs: number, size: number): void {
    const ia = this.interArrival;
    if (!ia.computeDeltas(rtpTimestamp, receiveTimeMs, receiveTimeMs, size)) return;
    const tsDeltaMs = ia.timestampDelta / 90.0;
    this.estimator.update(
      ia.arrivalTimeDeltaMs,
      tsDeltaMs,
      ia.packetSizeDelta,
      this.detector.state,
      receiveTimeMs,
    );
    this.detector.detect(
      this.estimator.offset,
      tsDeltaMs,
      this.estimator.numOfDeltas,
      receiveTimeMs,
    );
  }

  /** Feeds one frame of `packetsPerFrame` packets, then moves the clocks on by one frame. */
  #frame(packetsPerFrame: number, size: number, meanMs: number, stepMs: number, sdMs: number) {
    for (let j = 0; j < packetsPerFrame; j++) {
      this.updateDetector(this.rtpTimestamp, this.receiveTimeMs, size);
    }
    this.rtpTimestamp = (this.rtpTimestamp + meanMs * 90) >>> 0;
    this.nowMs += stepMs;
    // The jitter is drawn even when sd is 0, so the random stream stays aligned with libwebrtc.
    const jitterMs = Math.trunc(this.random.gaussian(0, sdMs) + 0.5);
    this.receiveTimeMs = Math.max(this.receiveTimeMs, this.nowMs + jitterMs);
  }

  /** `Run100000Samples`: returns the number of distinct overuse episodes. */
  run100000Samples(packetsPerFrame: number, size: number, meanMs: number, sdMs: number): number {
    let uniqueOveruse = 0;
    let lastOveruse = -1;
    for (let i = 0; i < 100_000; i++) {
      this.#frame(packetsPerFrame, size, meanMs, meanMs, sdMs);
      if (this.detector.state === "overusing") {
        if (lastOveruse + 1 !== i) uniqueOveruse++;
        lastOveruse = i;
      }
    }
    return uniqueOveruse;
  }

  /** `RunUntilOveruse`: frames arrive `driftMs` late each; returns the 1-based frame, or −1. */
  runUntilOveruse(
    packetsPerFrame: number,
    size: number,
    meanMs: number,
    sdMs: number,
    driftMs: number,
  ): number {
    for (let i = 0; i < 1000; i++) {
      this.#frame(packetsPerFrame, size, meanMs, meanMs + driftMs, sdMs);
      if (this.detector.state === "overusing") return i + 1;
    }
    return -1;
  }
}

interface DriftCase {
  name: string;
  packetsPerFrame: number;
  meanMs: number;
  sdMs: number;
  driftMs: number;
  expectedFrames: number;
}

const DRIFT_CASES: readonly DriftCase[] = [
  {
    name: "SimpleOveruse2000Kbit30fps",
    packetsPerFrame: 6,
    meanMs: 33,
    sdMs: 0,
    driftMs: 1,
    expectedFrames: 7,
  },
  {
    name: "SimpleOveruse100kbit10fps",
    packetsPerFrame: 1,
    meanMs: 100,
    sdMs: 0,
    driftMs: 1,
    expectedFrames: 7,
  },
  {
    name: "LowGaussianVariance30Kbit3fps",
    packetsPerFrame: 1,
    meanMs: 333,
    sdMs: 3,
    driftMs: 1,
    expectedFrames: 20,
  },
  {
    name: "LowGaussianVarianceFastDrift30Kbit3fps",
    packetsPerFrame: 1,
    meanMs: 333,
    sdMs: 3,
    driftMs: 100,
    expectedFrames: 4,
  },
  {
    name: "HighGaussianVariance30Kbit3fps",
    packetsPerFrame: 1,
    meanMs: 333,
    sdMs: 10,
    driftMs: 1,
    expectedFrames: 44,
  },
  {
    name: "HighGaussianVarianceFastDrift30Kbit3fps",
    packetsPerFrame: 1,
    meanMs: 333,
    sdMs: 10,
    driftMs: 100,
    expectedFrames: 4,
  },
  {
    name: "LowGaussianVariance2000Kbit30fps",
    packetsPerFrame: 6,
    meanMs: 33,
    sdMs: 3,
    driftMs: 1,
    expectedFrames: 19,
  },
  {
    name: "LowGaussianVarianceFastDrift2000Kbit30fps",
    packetsPerFrame: 6,
    meanMs: 33,
    sdMs: 3,
    driftMs: 10,
    expectedFrames: 5,
  },
  {
    name: "HighGaussianVariance2000Kbit30fps",
    packetsPerFrame: 6,
    meanMs: 33,
    sdMs: 10,
    driftMs: 1,
    expectedFrames: 44,
  },
  {
    name: "HighGaussianVarianceFastDrift2000Kbit30fps",
    packetsPerFrame: 6,
    meanMs: 33,
    sdMs: 10,
    driftMs: 10,
    expectedFrames: 10,
  },
];

Deno.test("OveruseDetector never overuses in 100 000 steady frames, then flags a drift after libwebrtc's exact frame count", async (t) => {
  for (const c of DRIFT_CASES) {
    await t.step(
      `${c.name}: ${c.packetsPerFrame} packet(s) every ${c.meanMs} ms, σ ${c.sdMs} ms, drift ${c.driftMs} ms → overuse at frame ${c.expectedFrames}`,
      () => {
        const h = new DetectorHarness();
        const unique = h.run100000Samples(c.packetsPerFrame, PACKET_SIZE, c.meanMs, c.sdMs);
        assert.equal(unique, 0, "overuse episodes in the steady 100 000 frames");
        const frames = h.runUntilOveruse(
          c.packetsPerFrame,
          PACKET_SIZE,
          c.meanMs,
          c.sdMs,
          c.driftMs,
        );
        assert.equal(frames, c.expectedFrames, "frames until overuse");
      },
    );
  }
});

Deno.test("OveruseDetector stays normal for 1000 frames at 30 fps without jitter (SimpleNonOveruse30fps)", () => {
  const h = new DetectorHarness();
  const frameMs = 33;
  let rtp = 10 * 90;
  for (let i = 0; i < 1000; i++) {
    h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
    h.nowMs += frameMs;
    rtp = (rtp + frameMs * 90) >>> 0;
    assert.equal(h.detector.state, "normal", `frame ${i}`);
  }
});

Deno.test("OveruseDetector stays normal when receive times alternate ±5 ms around a 10 ms frame interval (SimpleNonOveruseWithReceiveVariance)", () => {
  const h = new DetectorHarness();
  const frameMs = 10;
  let rtp = frameMs * 90;
  for (let i = 0; i < 1000; i++) {
    h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
    rtp = (rtp + frameMs * 90) >>> 0;
    h.nowMs += i % 2 === 1 ? frameMs - 5 : frameMs + 5;
    assert.equal(h.detector.state, "normal", `frame ${i}`);
  }
});

Deno.test("OveruseDetector stays normal when RTP timestamps alternate ±5 ms around a 10 ms frame interval (SimpleNonOveruseWithRtpTimestampVariance)", () => {
  const h = new DetectorHarness();
  const frameMs = 10;
  let rtp = frameMs * 90;
  for (let i = 0; i < 1000; i++) {
    h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
    h.nowMs += frameMs;
    rtp = (rtp + (i % 2 === 1 ? frameMs - 5 : frameMs + 5) * 90) >>> 0;
    assert.equal(h.detector.state, "normal", `frame ${i}`);
  }
});

Deno.test("OveruseDetector flags overuse on the first packet after 18 ms of extra delay builds up over 3 frames (OveruseWithLowVariance2000Kbit30fps)", () => {
  const h = new DetectorHarness();
  const frameMs = 33;
  const driftMs = 1;
  let rtp = frameMs * 90;
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    for (let j = 0; j < 6; j++) h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
    rtp = (rtp + frameMs * 90) >>> 0;
    if (i % 2 === 1) {
      offset = h.random.rand(0, 1);
      h.nowMs += frameMs - offset;
    } else {
      h.nowMs += frameMs + offset;
    }
    assert.equal(h.detector.state, "normal", `steady frame ${i}`);
  }
  // Send faster than the path drains: 6 ms of extra delay per frame.
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 6; j++) h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
    h.nowMs += frameMs + driftMs * 6;
    rtp = (rtp + frameMs * 90) >>> 0;
    assert.equal(h.detector.state, "normal", `delayed frame ${i}`);
  }
  h.updateDetector(rtp, h.nowMs, PACKET_SIZE);
  assert.equal(h.detector.state, "overusing");
});

/** Feeds `count` detections with a fixed offset, 5 ms apart; tells whether any was overusing. */
function detectBatch(
  detector: OveruseDetector,
  clock: { nowMs: number; numDeltas: number },
  offset: number,
  count: number,
): boolean {
  const tsDeltaMs = 3000;
  let overuse = false;
  for (let i = 0; i < count; i++) {
    const usage: BandwidthUsage = detector.detect(offset, tsDeltaMs, clock.numDeltas, clock.nowMs);
    if (usage === "overusing") overuse = true;
    clock.numDeltas++;
    clock.nowMs += 5;
  }
  return overuse;
}

Deno.test("OveruseDetector raises its threshold under sustained offsets and lowers it again under small ones (ThresholdAdapts)", () => {
  const detector = new OveruseDetector();
  const clock = { nowMs: 0, numDeltas: 60 };
  const offset = 0.21;
  const batch = 10;
  assert.equal(detectBatch(detector, clock, offset, batch), true, "0.21 ms overuses at first");
  assert.equal(
    detectBatch(detector, clock, 1.1 * offset, batch),
    true,
    "a 10 % larger offset overuses and raises the threshold",
  );
  assert.equal(
    detectBatch(detector, clock, offset, batch),
    false,
    "0.21 ms no longer overuses after the threshold rose",
  );
  assert.equal(
    detectBatch(detector, clock, 0.7 * offset, 15 * batch),
    false,
    "a 30 % smaller offset never overuses",
  );
  assert.equal(
    detectBatch(detector, clock, offset, batch),
    true,
    "0.21 ms overuses again after the threshold came down",
  );
});

Deno.test("OveruseDetector flags a spike as overuse without letting it raise the threshold (DoesntAdaptToSpikes)", () => {
  const detector = new OveruseDetector();
  const clock = { nowMs: 0, numDeltas: 60 };
  const offset = 1.0;
  const largeOffset = 20.0;
  detectBatch(detector, clock, offset, 10);
  clock.nowMs += 100;
  assert.equal(detectBatch(detector, clock, largeOffset, 3), true, "the spike overuses");
  assert.equal(
    detectBatch(detector, clock, offset, 10),
    true,
    "1 ms still overuses after the spike",
  );
});
