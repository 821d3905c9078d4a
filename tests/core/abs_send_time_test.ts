/**
 * Unit tests of the abs-send-time representation (reference §3): the 24-bit wire value, its 32-bit
 * tick form, the microsecond send time, the 64 s wrap, and a long stream through
 * {@linkcode BandwidthEstimator} that crosses the wrap several times.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ABS_SEND_TIME_WRAP_MS,
  absSendTimeFromMicros,
  absSendTimeToTicks,
  GROUP_LENGTH_TICKS,
  TICKS_PER_SECOND,
  ticksToMicros,
  TIMESTAMP_TO_MS,
} from "../../core/abs_send_time.ts";
import {
  BandwidthEstimator,
  type BandwidthEstimatorOptions,
} from "../../core/bandwidth_estimator.ts";
import { Prng } from "./_prng.ts";

/** libwebrtc's test helper `AbsSendTime(t, 1 000 000)`, exactly, in BigInt (reference §3). */
function referenceAbsSendTime(timeUs: number): number {
  return Number((((BigInt(timeUs) << 18n) + 500_000n) / 1_000_000n) & 0xffffffn);
}

Deno.test("abs-send-time constants match libwebrtc", () => {
  assert.equal(TICKS_PER_SECOND, 2 ** 26);
  assert.equal(TIMESTAMP_TO_MS, 1000 / 2 ** 26);
  // (5 << 26) / 1000 in integer division.
  assert.equal(GROUP_LENGTH_TICKS, 335_544);
  assert.equal(ABS_SEND_TIME_WRAP_MS, 64_000);
});

Deno.test("absSendTimeToTicks() shifts the 24-bit value into an unsigned 32-bit counter", () => {
  assert.equal(absSendTimeToTicks(0), 0);
  assert.equal(absSendTimeToTicks(1), 256);
  assert.equal(absSendTimeToTicks(1 << 18), TICKS_PER_SECOND);
  // The top bit of the 24-bit value lands on bit 31: the result must stay positive.
  assert.equal(absSendTimeToTicks(0x800000), 0x80000000);
  assert.equal(absSendTimeToTicks(0xffffff), 0xffffff00);
  for (const v of [0x7fffff, 0x800001, 0xabcdef, 0xfffffe]) {
    const ticks = absSendTimeToTicks(v);
    assert.ok(ticks >= 0 && ticks <= 0xffffffff && Number.isInteger(ticks));
    assert.equal(ticks, v * 256);
  }
});

Deno.test("ticksToMicros() truncates the send time to whole microseconds", async (t) => {
  await t.step("known values", () => {
    assert.equal(ticksToMicros(0), 0);
    assert.equal(ticksToMicros(TICKS_PER_SECOND), 1_000_000);
    assert.equal(ticksToMicros(TICKS_PER_SECOND / 4), 250_000);
    // One tick is 0.0149 µs; 67 ticks are 0.998 µs and 68 are 1.013 µs.
    assert.equal(ticksToMicros(1), 0);
    assert.equal(ticksToMicros(67), 0);
    assert.equal(ticksToMicros(68), 1);
    // The largest tick value is just under 64 s: 63 999 996.18 µs.
    assert.equal(ticksToMicros(0xffffff00), 63_999_996);
  });

  await t.step("equals floor(ticks × 10^6 / 2^26) for every upshifted 24-bit value sampled", () => {
    const rng = new Prng(42);
    for (let i = 0; i < 20_000; i++) {
      const ticks = absSendTimeToTicks(rng.int(0, 0xffffff));
      const exact = Number((BigInt(ticks) * 1_000_000n) >> 26n);
      assert.equal(ticksToMicros(ticks), exact, `ticks ${ticks}`);
    }
  });
});

Deno.test("absSendTimeFromMicros() rounds to the nearest 2^-18 s and wraps every 64 s", async (t) => {
  await t.step("known values", () => {
    assert.equal(absSendTimeFromMicros(0), 0);
    assert.equal(absSendTimeFromMicros(1_000_000), 1 << 18);
    // 1 µs is 0.26 units (rounds down), 2 µs is 0.52 units (rounds up).
    assert.equal(absSendTimeFromMicros(1), 0);
    assert.equal(absSendTimeFromMicros(2), 1);
    assert.equal(absSendTimeFromMicros(3), 1);
    // 10 ms at 50 fps steps, as libwebrtc's AbsSendTime(1, 100) = 2621.
    assert.equal(absSendTimeFromMicros(10_000), 2621);
  });

  await t.step("the 64 s wrap", () => {
    assert.equal(absSendTimeFromMicros(64_000_000), 0);
    assert.equal(absSendTimeFromMicros(65_000_000), 1 << 18);
    assert.equal(absSendTimeFromMicros(128_000_000 + 10_000), 2621);
    // Just below 64 s the value is the largest one…
    assert.equal(absSendTimeFromMicros(63_999_998), 0xffffff);
    // …and 1 µs later it rounds up to 2^24, which wraps to 0.
    assert.equal(absSendTimeFromMicros(63_999_999), 0);
  });

  await t.step(
    "matches libwebrtc's helper formula, without pre-wrapping, over a wide range",
    () => {
      const rng = new Prng(7);
      for (let i = 0; i < 20_000; i++) {
        const us = i < 10_000 ? rng.int(0, 200_000_000) : rng.int(0, 2 ** 40);
        const value = absSendTimeFromMicros(us);
        assert.equal(value, referenceAbsSendTime(us), `${us} µs`);
        assert.ok(value >= 0 && value <= 0xffffff);
      }
    },
  );

  await t.step("round-trips through ticks within the 3.8 µs resolution", () => {
    const rng = new Prng(9);
    const periodUs = ABS_SEND_TIME_WRAP_MS * 1000;
    for (let i = 0; i < 20_000; i++) {
      const us = rng.int(0, 10 * periodUs);
      const back = ticksToMicros(absSendTimeToTicks(absSendTimeFromMicros(us)));
      // Distance on the 64 s circle.
      const d = (((back - us) % periodUs) + periodUs) % periodUs;
      const error = Math.min(d, periodUs - d);
      assert.ok(error <= 3, `${us} µs came back as ${back} µs`);
    }
  });
});

/**
 * 30 fps at 500 kbit/s (two 1042-byte packets per frame, sent together) through a 1 Mbit/s link
 * with no propagation delay and no standing queue, with the sender clock starting at
 * `senderStartUs`. After `congestAtS` seconds the link slows to 400 kbit/s and a queue builds.
 * Records the estimates, and how many packets left the detector overusing or underusing before
 * and after the congestion began.
 */
function streamAcrossWraps(
  options: BandwidthEstimatorOptions,
  seconds: number,
  senderStartUs: number,
  congestAtS: number,
) {
  const estimates: { atMs: number; bps: number }[] = [];
  let atMs = 0;
  const estimator = new BandwidthEstimator({
    ...options,
    onEstimate: (bps) => estimates.push({ atMs, bps }),
  });
  const receiverOffsetUs = 5_000_000_000 - senderStartUs; // an unrelated receiver clock
  const frameUs = 33_333;
  const packetBytes = 1042;
  let linkFreeUs = 0;
  const before = { overusing: 0, underusing: 0 };
  let firstOveruseAfterMs = Infinity;
  const congestAtMs = (receiverOffsetUs + senderStartUs) / 1000 + congestAtS * 1000;
  const frames = Math.floor((seconds * 1_000_000) / frameUs);
  const packet = { ssrc: 0x1234, arrivalTimeMs: 0, payloadSize: packetBytes, rtpTimestamp: 0 };
  for (let frame = 0; frame < frames; frame++) {
    const sendUs = senderStartUs + frame * frameUs;
    const capacityBps = frame * frameUs < congestAtS * 1e6 ? 1e6 : 400_000;
    for (let k = 0; k < 2; k++) {
      linkFreeUs = Math.max(sendUs, linkFreeUs) + Math.round((8e6 * packetBytes) / capacityBps);
      atMs = (linkFreeUs + receiverOffsetUs) / 1000;
      estimator.onPacket({
        ...packet,
        arrivalTimeMs: atMs,
        rtpTimestamp: (frame * 3000) >>> 0,
        absSendTime: absSendTimeFromMicros(sendUs),
      });
      const usage = estimator.stats().usage;
      if (atMs < congestAtMs) {
        if (usage === "overusing") before.overusing++;
        if (usage === "underusing") before.underusing++;
      } else if (usage === "overusing" && firstOveruseAfterMs === Infinity) {
        firstOveruseAfterMs = atMs;
      }
    }
  }
  return { estimates, before, congestAtMs, firstOveruseAfterMs, receiverOffsetUs, estimator };
}

Deno.test("BandwidthEstimator reads a steady stream correctly across many 64 s abs-send-time wraps", async (t) => {
  const configs: BandwidthEstimatorOptions[] = [
    { grouping: "per-stream", filter: "kalman" },
    { grouping: "transport", filter: "kalman" },
    { grouping: "per-stream", filter: "trendline" },
    { grouping: "transport", filter: "trendline" },
  ];
  for (const config of configs) {
    await t.step(`${config.grouping}, ${config.filter}`, () => {
      // The sender clock starts 4 s before a wrap: 200 s cross it at 4, 68, 132 and 196 s. At
      // 197 s the link slows down, so the detector must still read deltas after the last wrap.
      const senderStartUs = 60_000_000;
      const run = streamAcrossWraps(config, 203, senderStartUs, 197);
      assert.equal(run.before.overusing, 0, "a wrap was read as a growing queue");
      assert.equal(run.before.underusing, 0, "a wrap was read as a draining queue");
      const steady = run.estimates.filter((e) => e.atMs < run.congestAtMs);
      assert.ok(steady.length > 100, `only ${steady.length} estimates`);
      // Once initialized from the measured ~500 kbit/s, the estimate only climbs, and never past
      // 1.5 × incoming + 10 kbit/s.
      for (let i = 1; i < steady.length; i++) {
        const { bps, atMs } = steady[i];
        assert.ok(bps >= steady[i - 1].bps, `estimate fell to ${bps} at ${atMs} ms`);
        assert.ok(bps >= 450_000 && bps <= 775_000, `estimate ${bps} at ${atMs} ms`);
      }
      // Estimates kept coming after the last wrap (196 s after the start).
      const lastWrapMs = (run.receiverOffsetUs + 64_000_000 * 4) / 1000;
      assert.ok(steady.some((e) => e.atMs > lastWrapMs + 500));
      assert.ok(steady.at(-1)!.bps > 700_000);
      // The queue that builds after the last wrap is detected within 2 s and cuts the estimate.
      const delayMs = run.firstOveruseAfterMs - run.congestAtMs;
      assert.ok(delayMs < 2000, `overuse detected ${delayMs} ms after the link slowed`);
      assert.ok(run.estimator.getEstimate() < 500_000, `${run.estimator.getEstimate()}`);
    });
  }
});
