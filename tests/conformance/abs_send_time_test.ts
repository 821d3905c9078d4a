/**
 * Conformance with libwebrtc's `remote_bitrate_estimator_abs_send_time_unittest.cc` (reference
 * §12.3): the abs-send-time estimator, run with transport-wide grouping (libwebrtc's behaviour) and,
 * since every scenario has a single SSRC, with per-stream grouping too, which must behave the same.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertNear } from "./_assert.ts";
import {
  absSendTime,
  BweFixture,
  capacityDropTestHelper,
  DEFAULT_SSRC,
  type EstimateCall,
  type EstimatorFlavor,
  initialBehaviorTestHelper,
  PER_STREAM,
  rateIncreaseReorderingTestHelper,
  rateIncreaseRtpTimestampsTestHelper,
  timestampGroupingTestHelper,
  TRANSPORT,
  wrappingTestHelper,
} from "./_stream_generator.ts";

/** Both groupings: with one SSRC, per-stream grouping must give exactly libwebrtc's results. */
const FLAVORS: readonly EstimatorFlavor[] = [TRANSPORT, PER_STREAM];

Deno.test("BandwidthEstimator reports nothing before data, then 674 840 ± 50 000 bps after 5 s of 50 fps abs-send-time packets (InitialBehavior)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      initialBehaviorTestHelper(flavor, 674_840);
    });
  }
});

Deno.test("BandwidthEstimator keeps 674 840 ± 50 000 bps through reordered abs-send-time packets (RateIncreaseReordering)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      rateIncreaseReorderingTestHelper(flavor, 674_840);
    });
  }
});

Deno.test("BandwidthEstimator climbs from 30 kbps to 500 kbps in exactly 1237 frames on a 1 Mbps link (RateIncreaseRtpTimestamps)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      rateIncreaseRtpTimestampsTestHelper(flavor, 1237);
    });
  }
});

Deno.test("BandwidthEstimator drops to 500 kbit/s within 633 ± 33 ms after the capacity halves (CapacityDropOneStream)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      capacityDropTestHelper(flavor, 1, false, 633, 0);
    });
  }
});

Deno.test("BandwidthEstimator drops to 500 kbit/s within 267 ± 33 ms when the capacity halves as the receiver clock jumps +30 s (CapacityDropPosOffsetChange)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      capacityDropTestHelper(flavor, 1, false, 267, 30_000);
    });
  }
});

Deno.test("BandwidthEstimator drops to 500 kbit/s within 267 ± 33 ms when the capacity halves as the receiver clock jumps −30 s (CapacityDropNegOffsetChange)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      capacityDropTestHelper(flavor, 1, false, 267, -30_000);
    });
  }
});

Deno.test("BandwidthEstimator drops to 500 kbit/s within 633 ± 33 ms after the capacity halves while RTP timestamps wrap (CapacityDropOneStreamWrap)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      capacityDropTestHelper(flavor, 1, true, 633, 0);
    });
  }
});

Deno.test("BandwidthEstimator.process() survives a stream timing out (TestProcessAfterTimeout)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      const streamTimeoutMs = 2000;
      f.incomingPacket(0, 1000, f.clock.ms, 0, 0);
      f.clock.advanceMs(streamTimeoutMs + 1);
      assert.doesNotThrow(() => f.process());
      f.clock.advanceMs(1000);
      assert.doesNotThrow(() => f.process());
    });
  }
});

/**
 * Feeds `count` packets of `size` bytes on SSRC 0; before each one the clock advances by
 * `arrivalStepMs` and the send time by `sendStepMs` (send time = arrival time when `sendStepMs` is
 * undefined). Returns the last send time.
 */
function probe(
  f: BweFixture,
  count: number,
  size: number,
  arrivalStepMs: number,
  sendStepMs?: number,
  startSendMs = 0,
): number {
  let sendMs = startSendMs;
  for (let i = 0; i < count; i++) {
    f.clock.advanceMs(arrivalStepMs);
    const nowMs = f.clock.ms;
    sendMs = sendStepMs === undefined ? nowMs : sendMs + sendStepMs;
    f.incomingPacket(0, size, nowMs, 90 * sendMs, absSendTime(sendMs, 1000));
  }
  return sendMs;
}

Deno.test("BandwidthEstimator takes a 1.6 Mbps probe cluster as its first estimate (TestProbeDetection)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      probe(f, 5, 1000, 10); // 800 kbps
      probe(f, 5, 1000, 5); // 1600 kbps
      f.process();
      assert.ok(f.observer.updated, "the probe produced an estimate");
      assert.ok(
        f.observer.latestBitrate > 1_500_000,
        `estimate ${f.observer.latestBitrate} must exceed 1 500 000`,
      );
    });
  }
});

Deno.test("BandwidthEstimator detects an 800 kbps probe despite unpaced small packets in between (TestProbeDetectionNonPacedPackets)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      for (let i = 0; i < 5; i++) {
        f.clock.advanceMs(5);
        const nowMs = f.clock.ms;
        f.incomingPacket(0, 1000, nowMs, 90 * nowMs, absSendTime(nowMs, 1000));
        // An unpaced packet handled 5 ms later, stamped like the one before.
        f.clock.advanceMs(5);
        f.incomingPacket(0, 100, nowMs, 90 * nowMs, absSendTime(nowMs, 1000));
      }
      f.process();
      assert.ok(f.observer.updated, "the probe produced an estimate");
      assert.ok(
        f.observer.latestBitrate > 800_000,
        `estimate ${f.observer.latestBitrate} must exceed 800 000`,
      );
    });
  }
});

Deno.test("BandwidthEstimator accepts a probe that arrives twice as fast as it was sent (TestProbeDetectionSlightlyFasterArrival)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      probe(f, 5, 1000, 5, 10);
      f.process();
      assert.ok(f.observer.updated, "the probe produced an estimate");
      assert.ok(
        f.observer.latestBitrate > 800_000,
        `estimate ${f.observer.latestBitrate} must exceed 800 000`,
      );
    });
  }
});

Deno.test("BandwidthEstimator rejects a probe that arrives ten times as fast as it was sent (TestProbeDetectionFasterArrival)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      probe(f, 5, 1000, 1, 10);
      f.process();
      assert.equal(f.observer.updated, false, "no estimate from an implausible probe");
    });
  }
});

Deno.test("BandwidthEstimator ignores 200-byte packets for probing but takes the 1000-byte probe after them (ProbingIgnoresSmallPackets)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      const f = new BweFixture(flavor);
      probe(f, 5, 200, 10);
      f.process();
      assert.equal(f.observer.updated, false, "200-byte packets are not probes");
      probe(f, 5, 1000, 10);
      f.clock.advanceMs(1000);
      f.process();
      assert.ok(f.observer.updated, "the 1000-byte probe produced an estimate");
      assertNear(f.observer.latestBitrate, 800_000, 10_000, "probe estimate");
    });
  }
});

Deno.test("BandwidthEstimator groups packets one RTP tick apart and backs off below 400 kbps when batches arrive late (TestTimestampGrouping)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      timestampGroupingTestHelper(flavor);
    });
  }
});

Deno.test("BandwidthEstimator times out the stream across 35 s of silence so the abs-send-time wrap is not misread (TestShortTimeoutAndWrap)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      wrappingTestHelper(flavor, 35);
    });
  }
});

Deno.test("BandwidthEstimator times out the stream across 640 s of silence, a whole number of abs-send-time wraps (TestLongTimeoutAndWrap)", async (t) => {
  for (const flavor of FLAVORS) {
    await t.step(flavor.label, () => {
      wrappingTestHelper(flavor, 10 * 64);
    });
  }
});

/** Follows every callback through a long single-stream run and records what the estimator said. */
function recordLongRun(
  flavor: EstimatorFlavor,
  withPause: boolean,
): { calls: EstimateCall[]; estimates: number[] } {
  const f = new BweFixture(flavor, true);
  f.addDefaultStream();
  const estimates: number[] = [];
  let bitrate = 300_000;
  const run = (frames: number, capacityBps: number): void => {
    f.generator.capacityBps = capacityBps;
    for (let i = 0; i < frames; i++) {
      f.generateAndProcessFrame(DEFAULT_SSRC, bitrate);
      if (f.observer.latestBitrate > 0) bitrate = f.observer.latestBitrate;
      estimates.push(f.latestEstimate());
    }
  };
  run(600, 1_000_000); // 20 s ramp-up and steady state
  run(300, 500_000); // capacity halves
  if (withPause) f.clock.advanceMs(3000); // longer than the 2 s stream timeout
  run(600, 1_500_000); // capacity grows again
  assert.ok(f.observer.calls !== undefined);
  return { calls: f.observer.calls, estimates };
}

function assertSameCallbacks(withPause: boolean): void {
  const transport = recordLongRun(TRANSPORT, withPause);
  const perStream = recordLongRun(PER_STREAM, withPause);
  assert.ok(transport.calls.length > 100, `too few callbacks: ${transport.calls.length}`);
  assert.ok(
    transport.calls.some((c) => c.bitrateBps <= 500_000),
    "the run must include a drop to the reduced capacity",
  );
  for (const c of transport.calls) {
    assert.ok(Number.isInteger(c.bitrateBps) && c.bitrateBps > 0, `bad bitrate ${c.bitrateBps}`);
    assert.deepEqual(c.ssrcs, [DEFAULT_SSRC]);
  }
  assert.equal(perStream.calls.length, transport.calls.length, "number of callbacks");
  assert.deepEqual(perStream.calls, transport.calls);
  assert.deepEqual(perStream.estimates, transport.estimates);
}

Deno.test("BandwidthEstimator with one stream makes the same onEstimate calls with per-stream and transport grouping through a ramp-up, a capacity drop and a recovery", () => {
  assertSameCallbacks(false);
});

Deno.test("BandwidthEstimator with one stream makes the same onEstimate calls with per-stream and transport grouping when the stream times out in a 3 s pause", () => {
  assertSameCallbacks(true);
});
