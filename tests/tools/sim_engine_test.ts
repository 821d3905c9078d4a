import assert from "node:assert/strict";
import { EventQueue } from "../../tools/sim/event_queue.ts";
import { BottleneckLink, Path } from "../../tools/sim/link.ts";
import { type MediaPacket, MediaSender } from "../../tools/sim/media_sender.ts";
import { DelayHistogram, jainIndex, movingAverage } from "../../tools/sim/metrics.ts";
import { Random } from "../../tools/sim/random.ts";
import { TcpConnection, type TcpSegment } from "../../tools/sim/tcp_flow.ts";
import { runScenario } from "../../tools/sim/simulator.ts";

Deno.test("Random repeats its sequence for a seed and label, and differs across labels", () => {
  const a = new Random(42, "jitter"), b = new Random(42, "jitter"), c = new Random(42, "loss");
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += a.exponential(10);
  assert.ok(Math.abs(sum / 10_000 - 10) < 0.5);
});

Deno.test("EventQueue runs actions in time order, ties in scheduling order, and refuses the past", () => {
  const queue = new EventQueue();
  const seen: number[] = [];
  queue.at(5, () => {
    seen.push(1);
    queue.at(5, () => seen.push(3));
  });
  queue.at(5, () => seen.push(2));
  queue.at(1, () => seen.push(0));
  while (queue.runNext(10));
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.throws(() => queue.at(4, () => {}), RangeError);
});

Deno.test("BottleneckLink serializes at the scheduled capacity, across a change", () => {
  const link = new BottleneckLink({
    capacity: [{ atS: 0, bps: 1_000_000 }, { atS: 0.005, bps: 500_000 }],
    queueLimit: { ms: 300 },
    random: new Random(1),
  });
  assert.equal(link.offer(0, 1250), "sent"); // 10 000 bits: 5 ms at 1 Mbit/s = 5000, rest at 0.5
  assert.equal(link.departUs, 15_000);
  assert.equal(link.capacityAt(10_000), 500_000);
  assert.equal(link.capacityBits(0, 1_000_000), 5000 + 0.995 * 500_000);
});

Deno.test("BottleneckLink drops at the tail once the wait exceeds the bound in ms or bytes", () => {
  const byMs = new BottleneckLink({
    capacity: [{ atS: 0, bps: 1_000_000 }],
    queueLimit: { ms: 50 },
    random: new Random(1),
  });
  const outcomes = Array.from({ length: 10 }, () => byMs.offer(0, 1250)); // 10 ms each
  assert.equal(outcomes.filter((o) => o === "sent").length, 6); // waits 0, 10, …, 50 ms
  const byBytes = new BottleneckLink({
    capacity: [{ atS: 0, bps: 1_000_000 }],
    queueLimit: { bytes: 3000 },
    random: new Random(1),
  });
  assert.deepEqual([0, 0, 0].map(() => byBytes.offer(0, 1250)), ["sent", "sent", "queue-drop"]);
  assert.equal(byBytes.offer(10_000, 1250), "sent"); // the first one has left
});

Deno.test("BottleneckLink with a token bucket passes a burst at line rate, then paces", () => {
  const link = new BottleneckLink({
    capacity: [{ atS: 0, bps: 1_000_000 }],
    queueLimit: { ms: 50 },
    burstBytes: 2500,
    random: new Random(1),
  });
  // A full bucket: two 1250-byte packets leave at once, the third waits for its tokens (10 ms).
  assert.deepEqual([0, 0, 0].map(() => link.offer(0, 1250)), ["sent", "sent", "sent"]);
  assert.equal(link.departUs, 10_000);
  assert.equal(link.queueDelayUs, 10_000);
  // Idle for a second: the bucket refills to its size, no more.
  assert.equal(link.offer(1_010_000, 1250), "sent");
  assert.equal(link.departUs, 1_010_000);
  assert.equal(link.offer(1_010_000, 1250), "sent");
  assert.equal(link.offer(1_010_000, 1250), "sent");
  assert.equal(link.departUs, 1_020_000);
  // The wait for tokens counts against the queue bound: 10 ms a packet, 50 ms at most.
  const outcomes = Array.from({ length: 8 }, () => link.offer(1_010_000, 1250));
  assert.equal(outcomes.filter((o) => o === "sent").length, 4); // waits 20, 30, 40, 50 ms
  assert.throws(
    () =>
      new BottleneckLink({
        capacity: [{ atS: 0, bps: 1 }],
        queueLimit: { ms: 1 },
        burstBytes: -1,
        random: new Random(1),
      }),
    RangeError,
  );
});

Deno.test("BottleneckLink loses packets at random at the configured ratio", () => {
  const link = new BottleneckLink({
    capacity: [{ atS: 0, bps: 1e9 }],
    queueLimit: { ms: 300 },
    lossRatio: 0.1,
    random: new Random(9),
  });
  let lost = 0;
  for (let i = 0; i < 20_000; i++) if (link.offer(i * 1000, 100) === "random-loss") lost++;
  assert.ok(Math.abs(lost / 20_000 - 0.1) < 0.01);
});

Deno.test("Path adds delay and bounded jitter without reordering", () => {
  const path = new Path({ oneWayDelayMs: 50, jitterMs: 30, random: new Random(5) });
  let last = 0, spread = 0;
  for (let t = 0; t < 2_000_000; t += 500) {
    const arrival = path.arrivalUs(t);
    assert.ok(arrival >= last && arrival >= t + 50_000 && arrival <= t + 80_000);
    spread = Math.max(spread, arrival - t - 50_000);
    last = arrival;
  }
  assert.ok(spread > 25_000);
  assert.equal(new Path({ oneWayDelayMs: 20, random: new Random(1) }).feedbackDelayUs, 20_000);
});

function sender(events: EventQueue, sent: MediaPacket[], extra = {}) {
  return new MediaSender({
    events,
    random: new Random(3),
    ssrcs: [1],
    startS: 0,
    stopS: 20,
    transmit: (p) => sent.push(p),
    ...extra,
  });
}

Deno.test("MediaSender adopts a REMB in the first 2 s as its estimate and caps with later ones", () => {
  const events = new EventQueue();
  const sent: MediaPacket[] = [];
  const early = sender(events, sent);
  events.at(1_000_000, () => early.onRemb(2_000_000));
  events.at(10_000_000, () => early.onRemb(500_000));
  events.at(15_000_000, () => early.onRemb(2_000_000));
  while (events.runNext(1_000_000));
  assert.equal(early.targetBps, 2_000_000);
  while (events.runNext(10_000_000));
  assert.equal(early.targetBps, 500_000);
  while (events.runNext(15_000_000));
  assert.equal(early.targetBps, 2_000_000); // its own estimate stayed above the cap

  const late = sender(new EventQueue(), []);
  late.onReceiverReport(0);
  const afterRamp = late.targetBps;
  assert.ok(afterRamp > 300_000 && afterRamp <= 300_000 * 1.08 + 1000);
});

Deno.test("MediaSender paces ≤ 1200-byte packets at about the target and stamps abs-send-time", () => {
  const events = new EventQueue();
  const sent: MediaPacket[] = [];
  const media = sender(events, sent, { probeAtStart: false });
  events.at(100_000, () => media.onRemb(1_000_000));
  while (events.runNext(20_000_000));
  const late = sent.filter((p) => p.sendUs >= 10_000_000);
  const bps = late.reduce((s, p) => s + p.wireBytes * 8, 0) / 10;
  assert.ok(bps > 850_000 && bps < 1_150_000, `sent ${bps} bps`);
  assert.ok(sent.every((p) => p.payloadSize + 20 <= 1200 && p.absSendTime < 2 ** 24));
  const first = late[0], second = late[1];
  const ticks = (second.absSendTime - first.absSendTime + 2 ** 24) % 2 ** 24;
  assert.ok(Math.abs(ticks / 2 ** 18 * 1e6 - (second.sendUs - first.sendUs)) < 5);
});

Deno.test("MediaSender sends probe clusters at 3× and 6× the start rate first", () => {
  const events = new EventQueue();
  const sent: MediaPacket[] = [];
  sender(events, sent);
  while (events.runNext(200_000));
  const probes = sent.filter((p) => p.probe);
  assert.ok(probes.length >= 10);
  const gap = probes[1].sendUs - probes[0].sendUs;
  assert.ok(Math.abs(probes[0].wireBytes * 8 * 1e6 / gap - 900_000) < 30_000);
});

Deno.test("MediaSender keeps its mean output at a 30 kbit/s target instead of padding frames up", () => {
  const events = new EventQueue();
  const sent: MediaPacket[] = [];
  const media = sender(events, sent, { probeAtStart: false });
  events.at(100_000, () => media.onRemb(30_000));
  while (events.runNext(20_000_000));
  const bps = sent.filter((p) => p.sendUs >= 10_000_000).reduce((s, p) => s + p.wireBytes * 8, 0) /
    10;
  // Was 48 kbit/s when every frame was padded to 200 bytes.
  assert.ok(bps > 27_000 && bps < 34_000, `sent ${bps} bps`);
});

Deno.test("MediaSender turns a simulcast layer back on only with 1.2 × its minimum to spare", () => {
  const events = new EventQueue();
  const sent: MediaPacket[] = [];
  const media = sender(events, sent, { ssrcs: [1, 2, 3], probeAtStart: false });
  const topLayerPackets = (fromUs: number, toUs: number) =>
    sent.filter((p) => p.ssrc === 3 && !p.probe && p.sendUs >= fromUs && p.sendUs < toUs).length;
  events.at(100_000, () => media.onRemb(2_000_000)); // adopted: all three layers on
  events.at(3_000_000, () => media.onRemb(500_000)); // the top layer (min 600 kbit/s) goes off
  // 30 + 150 + 600 = 780 kbit/s of minimums would fit; the top layer needs 30 + 150 + 720.
  events.at(6_000_000, () => media.onRemb(800_000));
  events.at(9_000_000, () => media.onRemb(910_000));
  while (events.runNext(12_000_000));
  assert.ok(topLayerPackets(1_000_000, 3_000_000) > 0);
  assert.equal(topLayerPackets(4_000_000, 9_000_000), 0);
  assert.ok(topLayerPackets(9_100_000, 12_000_000) > 0);
});

Deno.test("TcpConnection fills a bottleneck alone and halves on loss", () => {
  const events = new EventQueue();
  const link = new BottleneckLink({
    capacity: [{ atS: 0, bps: 2_000_000 }],
    queueLimit: { ms: 100 },
    random: new Random(1),
  });
  let delivered = 0;
  let connection: TcpConnection;
  const transmit = (segment: TcpSegment) => {
    if (link.offer(events.nowUs, segment.wireBytes) !== "sent") return;
    events.at(link.departUs + 25_000, () => {
      if (events.nowUs > 10_000_000) delivered += segment.wireBytes * 8;
      events.at(events.nowUs + 25_000, () => segment.connection.onAck(segment));
    });
  };
  events.at(0, () => connection = new TcpConnection({ events, transmit }));
  while (events.runNext(30_000_000));
  assert.ok(delivered / 20 > 1_800_000, `${delivered / 20} bps`);
  assert.ok(connection!.lostSegments > 0 && connection!.cwnd < 40);
});

Deno.test("DelayHistogram, jainIndex and movingAverage compute what they say", () => {
  const h = new DelayHistogram();
  for (let i = 1; i <= 1000; i++) h.add(i / 10);
  assert.equal(h.percentile(50), 50.5); // upper edge of the 0.5 ms bin holding 50.0
  assert.equal(h.percentile(95), 95.5);
  h.clear();
  assert.equal(h.count, 0);
  assert.ok(Math.abs(jainIndex([1, 2, 3])! - 36 / 42) < 1e-12);
  assert.equal(jainIndex([5]), undefined);
  assert.deepEqual([...movingAverage(Float64Array.of(1, 1, 4), 3)], [1, 1, 2]);
});

Deno.test("runScenario() measures utilization per capacity phase and over each phase's second half", async () => {
  const { metrics, series } = await runScenario({
    id: "two-phases",
    title: "1 then 2 Mbit/s",
    source: "test",
    durationS: 20,
    capacity: [{ atS: 0, bps: 1_000_000 }, { atS: 10, bps: 2_000_000 }],
    queue: { ms: 300 },
    media: [{ name: "video", startS: 0, stopS: 20, oneWayDelayMs: 20 }],
  });
  assert.deepEqual(
    metrics.phases.map((p) => [p.fromS, p.toS, p.capacityBps]),
    [[0, 10, 1_000_000], [10, 20, 2_000_000]],
  );
  const bits = (fromS: number, toS: number) =>
    series.flows[0].deliveredRateBps.slice(fromS * 10, toS * 10).reduce((a, b) => a + b, 0) / 10;
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  assert.ok(close(metrics.phases[1].utilization, bits(10, 20) / 20e6));
  assert.ok(close(metrics.phases[0].settledUtilization, bits(5, 10) / 5e6));
  assert.ok(close(metrics.settledUtilization, (bits(5, 10) + bits(15, 20)) / 15e6));
  // The whole-run figure counts the start-up, so it is the lower one here.
  assert.ok(metrics.settledUtilization > metrics.utilization);
  const detector = metrics.flows[0].detector!;
  assert.ok(close(detector.normal + detector.overusing + detector.underusing, 1));
});
