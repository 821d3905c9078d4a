/**
 * The enhanced profile's stages one by one, and the profile through the public estimator.
 */
import assert from "node:assert/strict";
import { absSendTimeFromMicros, absSendTimeToTicks } from "../../core/abs_send_time.ts";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import { CompetitiveMode } from "../../core/competitive_mode.ts";
import { DeliveryRate } from "../../core/delivery_rate.ts";
import { EnhancedRateControl } from "../../core/enhanced_rate_control.ts";
import { resolveSettings } from "../../core/estimator_settings.ts";
import { QueueDelayTracker } from "../../core/queue_delay.ts";
import { QueueDrain } from "../../core/queue_drain.ts";
import { RampUp } from "../../core/ramp_up.ts";
import type { PacketInfo } from "../../core/types.ts";

const ticksAt = (sendUs: number) => absSendTimeToTicks(absSendTimeFromMicros(sendUs));

Deno.test("QueueDelayTracker measures a standing queue across the 64 s abs-send-time wrap", () => {
  const tracker = new QueueDelayTracker();
  // Start 2 s before a wrap; a packet every 10 ms, 40 ms of queue from 3 s on.
  const startUs = 62_000_000;
  for (let i = 0; i < 500; i++) {
    const sendUs = startUs + i * 10_000;
    const queueUs = i >= 300 ? 40_000 : 0;
    tracker.onPacket(ticksAt(sendUs), 7_000_000 + i * 10_000 + 50_000 + queueUs);
  }
  assert.ok(Math.abs(tracker.standingQueueMs - 40) < 0.1, `${tracker.standingQueueMs}`);
  assert.ok(Math.abs(tracker.persistentQueueMs - 40) < 0.1);
  assert.ok(tracker.sendUs > 4_900_000 && tracker.sendUs < 5_000_000); // unwrapped, not −59 s
});

Deno.test("QueueDelayTracker starts afresh after an arrival-clock jump or a long silence", () => {
  const tracker = new QueueDelayTracker();
  for (let i = 0; i < 100; i++) tracker.onPacket(ticksAt(i * 10_000), 1_000_000 + i * 10_000);
  // The arrival clock jumps 30 s ahead: no 30 s "queue".
  for (let i = 100; i < 200; i++) {
    tracker.onPacket(ticksAt(i * 10_000), 31_000_000 + i * 10_000);
  }
  assert.ok(tracker.standingQueueMs < 1, `${tracker.standingQueueMs}`);
  // And back: a clock that steps back restarts too.
  tracker.onPacket(ticksAt(2_000_000), 500_000);
  assert.equal(tracker.packets, 1);
  assert.equal(tracker.standingQueueMs, 0);
});

Deno.test("QueueDelayTracker's floor takes out a bias that never goes away", () => {
  const tracker = new QueueDelayTracker();
  // Every packet but the very first waits ≥ 12 ms (e.g. its transmission time against a small
  // first packet); 20 s of that is no queue of ours.
  for (let i = 0; i < 2000; i++) {
    tracker.onPacket(ticksAt(i * 10_000), 1_000_000 + i * 10_000 + (i === 0 ? 0 : 12_000));
  }
  assert.ok(Math.abs(tracker.standingQueueMs - 12) < 0.1);
  assert.ok(tracker.standingAboveFloorMs < 0.1);
  assert.ok(tracker.persistentAboveFloorMs < 0.1);
});

Deno.test("DeliveryRate counts whole packets and gives nothing for too short a window", () => {
  const rate = new DeliveryRate();
  for (let i = 0; i < 4; i++) rate.onPacket(i * 1000, i * 1000, 1000);
  assert.equal(rate.rateBps, 0);
  rate.reset();
  // 1142 bytes of payload + 58 of headers every 9.6 ms: 1 Mbit/s.
  for (let i = 0; i < 100; i++) rate.onPacket(i * 9600, 1e6 + i * 9600, 1142);
  assert.equal(rate.rateBps, 1_000_000);
  assert.equal(rate.sendRateBps, 1_000_000);
});

Deno.test("QueueDrain cuts once per response time, and only while the queue does not shrink", () => {
  const drain = new QueueDrain();
  assert.equal(drain.due(0, 30, 100), true);
  drain.markCut(0, 30);
  assert.equal(drain.due(399_999, 60, 100), false); // 100 ms RTT + 300 ms sender response
  assert.equal(drain.due(400_000, 60, 100), true);
  assert.equal(drain.due(400_000, 20, 100), false); // shrinking: wait
  drain.endEpisode();
  assert.equal(drain.due(400_000, 20, 100), true);
  // Never under half the delivery rate, however long the queue.
  assert.equal(drain.target(1_000_000, 3_000_000, 900, 200), 500_000);
});

Deno.test("RampUp is fast without memory, additive near it, and its lead over delivery is bounded", () => {
  const ramp = new RampUp();
  assert.equal(ramp.increasePerSecond(1_000_000, 1_000_000, 20_000, 0), 500_000);
  ramp.noteCapacity(1_000_000, 0);
  assert.equal(ramp.increasePerSecond(980_000, 950_000, 20_000, 1_000_000), 20_000);
  // Between the bands the two blend.
  const between = ramp.increasePerSecond(870_000, 850_000, 20_000, 1_000_000);
  assert.ok(between > 20_000 && between < 435_000, `${between}`);
  assert.equal(ramp.limit(1_000_000, 0.01), 1_110_000); // at least 10 % over what flows
  assert.equal(ramp.limit(1_000_000, 0.5), 2_010_000); // twice the growth
  ramp.forget();
  assert.equal(ramp.capacityBps, 0);
});

Deno.test("CompetitiveMode ignores a queue that yields between cuts", () => {
  const mode = new CompetitiveMode();
  mode.onCut(0, 40, 1_000_000);
  mode.watch(5); // drained after the first cut: ours
  mode.onCut(2_000_000, 60, 700_000);
  mode.onCut(4_500_000, 80, 500_000);
  assert.equal(mode.state, "delay");
  mode.onCut(6_000_000, 90, 400_000);
  mode.onCut(9_000_000, 100, 300_000);
  assert.equal(mode.state, "competitive");
  assert.equal(mode.entries, 1);
});

Deno.test("EnhancedRateControl drains a queue it caused and grows back near the capacity", () => {
  // A 1 Mbit/s link with a sender that sends what the estimate allows.
  const control = new EnhancedRateControl();
  const capacityBps = 1_000_000;
  let sendUs = 0, linkFreeUs = 0, estimate = 2_000_000;
  control.setStartBitrate(estimate);
  const batch = {
    timestamp: new Float64Array(1),
    arrivalUs: new Float64Array(1),
    size: new Float64Array(1),
  };
  let maxQueueMs = 0;
  const estimates: number[] = [];
  for (let step = 0; step < 3000; step++) { // 30 s of 10 ms packets of the estimate's size
    const bytes = Math.max(100, Math.round(estimate * 0.01 / 8)) - 58;
    sendUs += 10_000;
    const startUs = Math.max(sendUs, linkFreeUs);
    linkFreeUs = startUs + (bytes + 58) * 8e6 / capacityBps;
    maxQueueMs = Math.max(maxQueueMs, (startUs - sendUs) / 1000);
    batch.timestamp[0] = ticksAt(sendUs);
    batch.arrivalUs[0] = Math.round(linkFreeUs + 20_000);
    batch.size[0] = bytes;
    // deno-lint-ignore no-explicit-any
    control.onRecord(batch as any, 0);
    if (step % 20 === 0) {
      estimate = control.update("normal", undefined, batch.arrivalUs[0]);
      estimates.push(estimate);
    }
  }
  const last = estimates.slice(-50);
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  assert.ok(mean > 0.85 * capacityBps && mean < 1.1 * capacityBps, `mean ${mean}`);
  assert.ok(control.figures().drainCuts > 0);
  assert.ok(control.queueDelayMs < 30, `queue ${control.queueDelayMs}`);
  assert.equal(control.figures().competition, "delay");
  void maxQueueMs;
});

function trace(absSendTime: boolean): PacketInfo[] {
  const packets: PacketInfo[] = [];
  for (let i = 0; i < 3000; i++) {
    const sendMs = i * 10;
    // 1000 bytes every 10 ms through an 0.6 Mbit/s link from 10 s on.
    const arrivalMs = 1000 + (sendMs < 10_000 ? sendMs : 10_000 + (sendMs - 10_000) * 1.33);
    packets.push({
      ssrc: 7,
      arrivalTimeMs: arrivalMs,
      payloadSize: 1000,
      rtpTimestamp: (sendMs * 90) >>> 0,
      absSendTime: absSendTime ? absSendTimeFromMicros(sendMs * 1000) : undefined,
    });
  }
  return packets;
}

function estimates(packets: PacketInfo[], profile: "libwebrtc" | "enhanced"): number[] {
  const out: number[] = [];
  const estimator = new BandwidthEstimator({ profile, onEstimate: (bps) => out.push(bps) });
  for (const p of packets) {
    estimator.onPacket(p);
    estimator.process(p.arrivalTimeMs);
  }
  return out;
}

Deno.test("BandwidthEstimator with the enhanced profile keeps libwebrtc's estimates without abs-send-time", () => {
  const packets = trace(false);
  assert.deepEqual(estimates(packets, "enhanced"), estimates(packets, "libwebrtc"));
  const withAbs = trace(true);
  assert.notDeepEqual(estimates(withAbs, "enhanced"), estimates(withAbs, "libwebrtc"));
});

Deno.test("BandwidthEstimator.stats() reports the enhanced figures only with the enhanced profile", () => {
  const lib = new BandwidthEstimator();
  const enh = new BandwidthEstimator({ profile: "enhanced" });
  for (const p of trace(true).slice(0, 500)) {
    lib.onPacket(p);
    enh.onPacket(p);
  }
  assert.equal("enhanced" in lib.stats(), false);
  const figures = enh.stats().enhanced!;
  assert.equal(figures.competition, "delay");
  assert.ok(Number.isFinite(figures.queueDelayMs) && figures.deliveryRateBps > 0);
});

Deno.test("resolveSettings() checks the profile and the enhanced mechanisms", () => {
  assert.equal(resolveSettings("estimator", {}).profile, "libwebrtc");
  assert.equal(
    resolveSettings("estimator", { profile: "enhanced" }).enhancedMechanisms.drain,
    true,
  );
  assert.equal(resolveSettings("estimator", {}).enhancedMechanisms.probes, false);
  assert.throws(
    () => resolveSettings("estimator", { profile: "fast" as "enhanced" }),
    (e: Error) =>
      e instanceof RangeError && /'profile' must be one of "libwebrtc", "enhanced"/.test(e.message),
  );
  assert.throws(
    () => resolveSettings("estimator", { enhancedMechanisms: { turbo: true } as object }),
    RangeError,
  );
  assert.throws(
    () => resolveSettings("estimator", { enhancedMechanisms: { ramp: 1 as unknown as boolean } }),
    TypeError,
  );
  assert.throws(
    () => resolveSettings("estimator", { enhancedMechanisms: "all" as unknown as object }),
    TypeError,
  );
});
