import assert from "node:assert/strict";
import { decodeRemb } from "../../core/remb.ts";
import { rembOf } from "../_helpers/rtcp.ts";
import type { PacketInfo } from "../../core/types.ts";
import { Coordinator } from "../../workers/coordinator.ts";
import {
  type EstimatorEvent,
  EstimatorInterceptor,
  EstimatorInterceptorFactory,
  type EstimatorInterceptorOptions,
  InterceptorClosedError,
  type InterceptorCoordinatorOptions,
  type Logger,
} from "../../interceptor/estimator_interceptor.ts";
import {
  ABS_CAPTURE_TIME_URI,
  ABS_SEND_TIME_URI,
  type RTCPWriter,
  type RTPAttributes,
  type RTPReader,
  type StreamInfo,
} from "../../interceptor/interceptor.ts";
import { generateTrace } from "../_helpers/trace.ts";
import { FakeTime } from "./_fake_time.ts";
import { rtpBytes, type SendTimeEncoding } from "./_rtp_bytes.ts";

const SSRC_A = 0x1111;
const SSRC_B = 0xfeedbeef;

interface Sent {
  timeMs: number;
  bitrateBps: number;
  ssrcs: number[];
  senderSsrc: number;
}

type SetUpOptions = InterceptorCoordinatorOptions & Pick<EstimatorInterceptorOptions, "offThread">;

/** An interceptor on a fake timeline, with a writer and a logger that record. */
function setUp({ offThread, ...coordinator }: SetUpOptions = {}, startMs = 10_000) {
  const time = new FakeTime(startMs);
  const logged: { level: "warn" | "error"; message: string }[] = [];
  const logger: Logger = {
    warn: (message) => void logged.push({ level: "warn", message }),
    error: (message) => void logged.push({ level: "error", message }),
  };
  const interceptor = new EstimatorInterceptor("pc-test", {
    coordinator: { host: "inline", clock: time.clock, timers: time.timers, ...coordinator },
    offThread,
    logger,
  });
  const sent: Sent[] = [];
  const writer: RTCPWriter = {
    write(packet) {
      const remb = rembOf(packet);
      sent.push({
        timeMs: time.nowMs,
        bitrateBps: remb.bitrateBps,
        ssrcs: remb.ssrcs,
        senderSsrc: remb.senderSsrc,
      });
    },
  };
  const events: EstimatorEvent[] = [];
  interceptor.subscribe((event) => events.push(event));
  return { time, interceptor, writer, sent, events, logged };
}

function videoInfo(ssrc: number, extensions: StreamInfo["rtpHeaderExtensions"] = []): StreamInfo {
  return {
    ssrc,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: extensions,
    rtcpFeedback: [{ type: "goog-remb" }, { type: "nack" }],
  };
}

const ABS_3 = [{ uri: ABS_SEND_TIME_URI, id: 3 }];

function trace(
  durationMs: number,
  pauses: { ssrc: number; fromMs: number; toMs: number }[] = [],
  startMs = 10_000,
) {
  return generateTrace({
    streams: [{ ssrc: SSRC_A, bitrateBps: 900_000 }, { ssrc: SSRC_B, bitrateBps: 600_000 }],
    durationMs,
    capacityBps: () => 2_500_000,
    pauses,
    absSendTime: true,
    startMs,
  });
}

/** Feeds records as bytes through readers by SSRC, moving the fake clock to each arrival. */
function feed(
  time: FakeTime,
  readers: Map<number, RTPReader>,
  packets: PacketInfo[],
  encoding: SendTimeEncoding = { kind: "abs-send-time", id: 3 },
): void {
  let sequence = 0;
  for (const packet of packets) {
    time.advanceTo(packet.arrivalTimeMs);
    readers.get(packet.ssrc)?.read(rtpBytes(packet, encoding, sequence++));
  }
}

function bindBoth(
  interceptor: EstimatorInterceptor,
  extensions: StreamInfo["rtpHeaderExtensions"] = ABS_3,
) {
  const passed: number[] = [];
  const inner: RTPReader = { read: (packet) => void passed.push(packet.length) };
  const readers = new Map([
    [SSRC_A, interceptor.bindRemoteStream(videoInfo(SSRC_A, extensions), inner)],
    [SSRC_B, interceptor.bindRemoteStream(videoInfo(SSRC_B, extensions), inner)],
  ]);
  return { readers, passed };
}

function rembEvents(events: EstimatorEvent[]) {
  return events.filter((e): e is Extract<EstimatorEvent, { type: "remb" }> => e.type === "remb");
}

Deno.test("EstimatorInterceptor sends the start bitrate from the first packet until the first estimate, then the estimator's REMB", async (t) => {
  for (const rembIntervalMs of [100, 1000]) {
    await t.step(`rembIntervalMs ${rembIntervalMs}`, async () => {
      const { time, interceptor, writer, sent, events } = setUp({
        rembIntervalMs,
        startRembBps: 800_000,
      });
      interceptor.bindRTCPWriter(writer);
      const { readers } = bindBoth(interceptor);
      time.advanceTo(12_000);
      assert.equal(sent.length, 0, "no REMB before the first packet");
      assert.equal(interceptor.phase, "waiting");

      const packets = trace(9000, [], 12_500);
      feed(time, readers, packets);
      const firstArrival = packets[0].arrivalTimeMs;
      const firstEstimate = events.find((e) => e.type === "estimate");
      assert.ok(firstEstimate && firstEstimate.type === "estimate", "an estimate within 9 s");
      const rembs = rembEvents(events);

      // The first packet brings the start REMB at once, listing the stream it came from.
      assert.deepEqual(sent[0], {
        timeMs: firstArrival,
        bitrateBps: 800_000,
        ssrcs: [packets[0].ssrc],
        senderSsrc: 1,
      });
      // Then it repeats every min(rembIntervalMs, 250) ms until the first estimate, at the
      // coordinator's first periodic step (every 10 ms) once that much time has passed.
      const start = rembs.filter((r) => r.source === "start");
      const startInterval = Math.min(rembIntervalMs, 250);
      assert.ok(start.length >= 2);
      for (let i = 1; i < start.length; i++) {
        const gapMs = start[i].timeMs - start[i - 1].timeMs;
        assert.ok(gapMs >= startInterval && gapMs < startInterval + 10, `${gapMs} ms`);
        assert.equal(start[i].bitrateBps, 800_000);
      }
      assert.ok(start.at(-1)!.timeMs <= firstEstimate.timeMs);
      assert.ok(firstEstimate.timeMs - start.at(-1)!.timeMs < startInterval);
      // The first estimate goes out at once, and nothing from the start phase after it.
      const first = rembs.findIndex((r) => r.source === "estimator");
      assert.equal(first, start.length);
      assert.equal(rembs[first].timeMs, firstEstimate.timeMs);
      assert.equal(rembs[first].bitrateBps, firstEstimate.bitrateBps);
      assert.equal(interceptor.phase, "estimating");
      // At least once per rembIntervalMs from the first packet on (the coordinator's periodic step
      // runs every 10 ms).
      for (let i = 1; i < rembs.length; i++) {
        assert.ok(rembs[i].timeMs - rembs[i - 1].timeMs <= rembIntervalMs + 10);
      }
      assert.ok(packets.at(-1)!.arrivalTimeMs - rembs.at(-1)!.timeMs <= rembIntervalMs + 10);
      assert.equal(sent.length, rembs.length);
      assert.equal(time.activeTimers, 1, "only the coordinator's timer is left");
      await interceptor.close();
      assert.equal(time.activeTimers, 0);
    });
  }
});

Deno.test("EstimatorInterceptor REMBs list every tracked SSRC, from the configured sender SSRC", async () => {
  const { time, interceptor, writer, sent } = setUp({ senderSsrc: 0xabcdef });
  interceptor.bindRTCPWriter(writer);
  const { readers } = bindBoth(interceptor);
  feed(time, readers, trace(8000));
  assert.ok(sent.length > 10);
  assert.ok(sent.every((s) => s.senderSsrc === 0xabcdef));
  // From the second packet on (the other stream starts 7 ms later), both are listed.
  assert.deepEqual(sent[0].ssrcs, [SSRC_A]);
  for (const s of sent.slice(1)) assert.deepEqual(s.ssrcs, [SSRC_A, SSRC_B]);
  const stats = interceptor.stats();
  assert.equal(stats.phase, "estimating");
  assert.equal(stats.rembsWritten, sent.length);
  // The estimator's value, before the 18-bit mantissa rounds it down on the wire.
  assert.ok(stats.lastRembBps! - sent.at(-1)!.bitrateBps < stats.lastRembBps! / 2 ** 17);
  assert.ok(stats.estimateBps! > 0);
  // 1.5 Mbit/s of media.
  assert.ok(Math.abs(stats.incomingRateBps! - 1_500_000) < 150_000, `${stats.incomingRateBps}`);
  assert.deepEqual(
    stats.streams.map((s) => [s.ssrc, s.source, s.packets > 0]),
    [[SSRC_A, "abs-send-time", true], [SSRC_B, "abs-send-time", true]],
  );
  await interceptor.close();
});

Deno.test("EstimatorInterceptor drops an SSRC silent for 2 s from the REMB and lists it again when it returns", async () => {
  const { time, interceptor, writer, sent } = setUp({ rembIntervalMs: 200 });
  interceptor.bindRTCPWriter(writer);
  const { readers } = bindBoth(interceptor);
  // Trace time 0 arrives at 10 s; stream B is silent from 6 s to 10 s of the trace.
  feed(time, readers, trace(14_000, [{ ssrc: SSRC_B, fromMs: 6000, toMs: 10_000 }]));
  const lists = (from: number, to: number) =>
    sent.filter((s) => s.timeMs >= 10_000 + from && s.timeMs < 10_000 + to).map((s) => s.ssrcs);
  assert.ok(lists(3000, 6000).every((l) => l.length === 2));
  // Its last packet arrives just after 6 s of trace time: 2 s later it is gone.
  assert.ok(lists(8300, 10_000).length >= 5);
  assert.ok(lists(8300, 10_000).every((l) => l.length === 1 && l[0] === SSRC_A));
  assert.ok(lists(10_300, 14_000).every((l) => l.length === 2));
  await interceptor.close();
});

Deno.test("EstimatorInterceptor.unbindRemoteStream() takes the SSRC out of the next REMB and leaves its reader passing packets on", async () => {
  const { time, interceptor, writer, sent } = setUp({ rembIntervalMs: 200 });
  interceptor.bindRTCPWriter(writer);
  const infoB = videoInfo(SSRC_B, ABS_3);
  const { readers, passed } = bindBoth(interceptor);
  const packets = trace(8000);
  const half = packets.findIndex((p) => p.arrivalTimeMs > 16_000);
  feed(time, readers, packets.slice(0, half));
  assert.deepEqual(sent.at(-1)!.ssrcs, [SSRC_A, SSRC_B]);
  const estimatedB = interceptor.stats().streams.find((s) => s.ssrc === SSRC_B)!.packets;
  interceptor.unbindRemoteStream(infoB);
  interceptor.unbindRemoteStream(infoB); // Again: ignored.
  const before = sent.length;
  const passedBefore = passed.length;
  feed(time, readers, packets.slice(half));
  const after = sent.slice(before);
  assert.ok(after.length >= 8);
  assert.ok(after.every((s) => s.ssrcs.length === 1 && s.ssrcs[0] === SSRC_A));
  // Every packet still reached the inner reader, but B's were no longer estimated.
  assert.equal(passed.length - passedBefore, packets.length - half);
  assert.deepEqual(interceptor.stats().streams.map((s) => s.ssrc), [SSRC_A]);
  assert.equal(interceptor.stats().estimator.streams.length, 1);
  assert.ok(estimatedB > 0);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor.close() during traffic stops REMB, keeps readers passing packets and is idempotent", async (t) => {
  for (const host of ["inline", "worker-per-stream"] as const) {
    await t.step(host, async () => {
      const { time, interceptor, writer, sent } = setUp({ host });
      interceptor.bindRTCPWriter(writer);
      const { readers, passed } = bindBoth(interceptor);
      const packets = trace(3000);
      const third = Math.floor(packets.length / 3);
      feed(time, readers, packets.slice(0, third));
      if (host !== "inline") await interceptor.flush();
      const closing = interceptor.close();
      assert.equal(interceptor.closed, true);
      // Packets keep arriving while and after it closes.
      feed(time, readers, packets.slice(third));
      await closing;
      const writes = sent.length;
      time.advanceTo(time.nowMs + 5000);
      assert.equal(sent.length, writes, "no REMB after close");
      assert.equal(passed.length, packets.length, "every packet reached the inner reader");
      assert.equal(interceptor.stats().packets, third);
      assert.equal(interceptor.stats().estimator.liveWorkers, 0);
      await interceptor.close();
      assert.throws(() => interceptor.bindRemoteStream(videoInfo(1), { read() {} }), {
        name: "InterceptorClosedError",
        message: 'Cannot bind remote stream as interceptor "pc-test" is closed',
      });
      assert.throws(() => interceptor.bindRTCPWriter(writer), InterceptorClosedError);
      assert.throws(() => interceptor.setMaxDesiredBitrate(1000), InterceptorClosedError);
      await assert.rejects(interceptor.flush(), InterceptorClosedError);
      interceptor.unbindRemoteStream(videoInfo(SSRC_A)); // Ignored after close.
      assert.equal(time.activeTimers, 0);
    });
  }
});

Deno.test("EstimatorInterceptor reads abs-send-time or abs-capture-time, in one-byte or two-byte form, to the same estimates", async (t) => {
  const packets = trace(8000);
  const cases: {
    label: string;
    extensions: StreamInfo["rtpHeaderExtensions"];
    encoding: SendTimeEncoding;
  }[] = [
    {
      label: "abs-send-time, one-byte",
      extensions: ABS_3,
      encoding: { kind: "abs-send-time", id: 3 },
    },
    {
      label: "abs-send-time, two-byte, ID 200",
      extensions: [{ uri: ABS_SEND_TIME_URI, id: 200 }],
      encoding: { kind: "abs-send-time", id: 200, twoByte: true },
    },
    {
      label: "abs-capture-time, one-byte",
      extensions: [{ uri: ABS_CAPTURE_TIME_URI, id: 7 }],
      encoding: { kind: "abs-capture-time", id: 7 },
    },
    {
      label: "abs-capture-time, two-byte",
      extensions: [{ uri: ABS_CAPTURE_TIME_URI, id: 7 }],
      encoding: { kind: "abs-capture-time", id: 7, twoByte: true },
    },
  ];
  let reference: string[] | undefined;
  for (const { label, extensions, encoding } of cases) {
    await t.step(label, async () => {
      const { time, interceptor, events } = setUp();
      const { readers } = bindBoth(interceptor, extensions);
      feed(time, readers, packets, encoding);
      const estimates = events.filter((e) => e.type === "estimate").map((e) =>
        e.type === "estimate" ? `${e.timeMs}:${e.bitrateBps}` : ""
      );
      assert.ok(estimates.length > 10);
      reference ??= estimates;
      assert.deepEqual(estimates, reference);
      const stats = interceptor.stats();
      assert.equal(stats.estimator.mode, "abs-send-time");
      assert.equal(stats.packetsWithoutSendTime, 0);
      assert.equal(
        stats.streams[0].source,
        extensions[0].uri.endsWith("abs-send-time") ? "abs-send-time" : "abs-capture-time",
      );
      await interceptor.close();
    });
  }
});

Deno.test("EstimatorInterceptor prefers abs-send-time to abs-capture-time, and falls back to RTP timestamps", async () => {
  const { interceptor } = setUp();
  const both = [{ uri: ABS_CAPTURE_TIME_URI, id: 5 }, { uri: ABS_SEND_TIME_URI, id: 9 }];
  interceptor.bindRemoteStream(videoInfo(1, both), { read() {} });
  interceptor.bindRemoteStream(
    videoInfo(2, [{ uri: "urn:ietf:params:rtp-hdrext:sdes:mid", id: 1 }]),
    {
      read() {},
    },
  );
  assert.deepEqual(interceptor.stats().streams.map((s) => s.source), [
    "abs-send-time",
    "rtp-timestamp",
  ]);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor gives the Coordinator's estimates and REMBs for the same packets", async () => {
  const packets = trace(12_000);
  // The coordinator alone, on the same fake timeline.
  const time = new FakeTime(10_000);
  const expected: string[] = [];
  const expectedRembs: string[] = [];
  const coordinator = new Coordinator({
    host: "inline",
    clock: time.clock,
    timers: time.timers,
    onEstimate: (bps, ssrcs) => expected.push(`${time.nowMs}:${bps}:${ssrcs}`),
    onRemb: (packet) => {
      const remb = rembOf(packet);
      expectedRembs.push(`${time.nowMs}:${remb.bitrateBps}:${remb.ssrcs}`);
    },
  });
  for (const packet of packets) {
    time.advanceTo(packet.arrivalTimeMs);
    coordinator.onPacket(packet);
  }
  await coordinator.close();

  const { time: time2, interceptor, writer, sent, events } = setUp();
  interceptor.bindRTCPWriter(writer);
  const { readers } = bindBoth(interceptor);
  feed(time2, readers, packets);
  const estimates = events.flatMap((e) =>
    e.type === "estimate" ? [`${e.timeMs}:${e.bitrateBps}:${e.ssrcs}`] : []
  );
  assert.ok(expected.length > 20);
  assert.deepEqual(estimates, expected);
  // Once estimating, the REMBs are the coordinator's.
  const estimating = rembEvents(events).filter((r) => r.source === "estimator");
  assert.deepEqual(
    estimating.map((r) => {
      const remb = decodeRemb(r.packet);
      return `${r.timeMs}:${remb.bitrateBps}:${remb.ssrcs}`;
    }),
    expectedRembs,
  );
  assert.equal(sent.length, rembEvents(events).length);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor counts malformed packets and packets without their send time, never throwing", async () => {
  const { time, interceptor, writer, logged } = setUp();
  interceptor.bindRTCPWriter(writer);
  const passed: Uint8Array[] = [];
  const reader = interceptor.bindRemoteStream(videoInfo(SSRC_A, ABS_3), {
    read: (packet) => void passed.push(packet),
  });
  const good = trace(1000).filter((p) => p.ssrc === SSRC_A);
  const bad = [
    new Uint8Array(0),
    Uint8Array.of(0x80, 96, 0, 1), // short
    new Uint8Array(20), // version 0
    Uint8Array.of(0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0xbe, 0xde, 0, 9), // extension overrun
    Uint8Array.of(0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0x55), // padding overrun
  ];
  for (const packet of bad) reader.read(packet);
  reader.read("not bytes" as unknown as Uint8Array);
  for (const packet of good.slice(0, 5)) {
    time.advanceTo(packet.arrivalTimeMs);
    reader.read(rtpBytes(packet, { kind: "none" })); // No extension at all.
    reader.read(rtpBytes(packet, { kind: "abs-send-time", id: 4 })); // Another ID.
    reader.read(rtpBytes(packet, { kind: "abs-send-time", id: 3 }));
  }
  const stats = interceptor.stats();
  assert.equal(stats.malformedPackets, 5);
  assert.equal(stats.packetErrors, 1, "the string");
  assert.equal(stats.packetsWithoutSendTime, 10);
  assert.equal(stats.packets, 15);
  assert.equal(passed.length, bad.length + 1 + 15);
  assert.deepEqual(logged.map((l) => l.level), ["error"]);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor keeps the latest REMB while no writer is bound and writes it on bind", async () => {
  const { time, interceptor, writer, sent, events } = setUp();
  const { readers } = bindBoth(interceptor);
  const packets = trace(1000);
  feed(time, readers, packets);
  const produced = rembEvents(events);
  assert.ok(produced.length >= 3);
  assert.ok(produced.every((r) => !r.written));
  const before = interceptor.stats();
  assert.equal(before.rembsProduced, produced.length);
  assert.equal(before.rembsSuperseded, produced.length - 1);
  assert.equal(before.rembsWaiting, 1);
  interceptor.bindRTCPWriter(writer);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].ssrcs, [SSRC_A, SSRC_B]);
  assert.equal(sent[0].timeMs, time.nowMs);
  time.advanceTo(time.nowMs + 250);
  assert.equal(sent.length, 2);
  const after = interceptor.stats();
  assert.equal(after.rembsWritten, 2);
  // Every REMB produced is accounted for once.
  assert.equal(
    after.rembsProduced,
    after.rembsWritten + after.rembWriteErrors + after.rembsSuperseded + after.rembsWaiting,
  );
  await interceptor.close();
});

Deno.test("EstimatorInterceptor reports a writer that throws or rejects, at most once a second, and goes on", async (t) => {
  for (const mode of ["throws", "rejects"] as const) {
    await t.step(mode, async () => {
      const { time, interceptor, logged, events } = setUp({ rembIntervalMs: 100 });
      let calls = 0;
      interceptor.bindRTCPWriter({
        write() {
          calls++;
          if (mode === "throws") throw new Error("Socket closed");
          return Promise.reject(new Error("Socket closed"));
        },
      });
      const { readers } = bindBoth(interceptor);
      // Rejections are seen between packets, as on a real event loop.
      for (const packet of trace(3000)) {
        feed(time, readers, [packet]);
        await Promise.resolve();
        await Promise.resolve();
      }
      const produced = rembEvents(events).length;
      assert.ok(produced >= 25);
      assert.equal(calls, produced, "every REMB was still attempted");
      assert.equal(interceptor.stats().rembWriteErrors, produced);
      const warnings = logged.filter((l) => l.level === "warn");
      assert.ok(warnings.length >= 2 && warnings.length <= 4, `${warnings.length} warnings`);
      assert.match(warnings[0].message, /^Interceptor "pc-test": REMB write failed/);
      await interceptor.close();
    });
  }
});

Deno.test("EstimatorInterceptor.setMaxDesiredBitrate() caps the start REMB and the estimator's, and Infinity lifts the cap", async () => {
  const { time, interceptor, writer, sent } = setUp({ maxBitrateBps: 5_000_000 });
  interceptor.bindRTCPWriter(writer);
  const { readers } = bindBoth(interceptor);
  interceptor.setMaxDesiredBitrate(400_000); // Before any packet: nothing to announce yet.
  assert.equal(sent.length, 0);
  const packets = trace(12_000);
  feed(time, readers, packets.slice(0, 20));
  assert.equal(sent[0].bitrateBps, 400_000);
  interceptor.setMaxDesiredBitrate(300_000);
  assert.equal(sent.at(-1)!.bitrateBps, 300_000);
  assert.deepEqual(sent.at(-1)!.ssrcs, [SSRC_A, SSRC_B]);
  const capped = sent.length - 1;
  const lift = packets.findIndex((p) => p.arrivalTimeMs > 19_000);
  feed(time, readers, packets.slice(20, lift));
  assert.equal(interceptor.phase, "estimating");
  assert.ok(sent.length - capped > 20);
  assert.ok(sent.slice(capped).every((s) => s.bitrateBps <= 300_000));
  assert.ok(interceptor.estimateBps > 300_000);
  // Lifted, the estimate goes out again within a second.
  interceptor.setMaxDesiredBitrate(Infinity);
  const lifted = sent.length;
  feed(time, readers, packets.slice(lift));
  const above = sent.slice(lifted).find((s) => s.bitrateBps > 300_000);
  assert.ok(above && above.timeMs - 19_000 < 1000);
  assert.deepEqual(above.ssrcs, [SSRC_A, SSRC_B]);
  assert.throws(() => interceptor.setMaxDesiredBitrate(-1), {
    name: "RangeError",
    message:
      "Cannot set the maximum bitrate as 'bitrateBps' must be a non-negative integer or Infinity: current value is -1",
  });
  await interceptor.close();
});

Deno.test("EstimatorInterceptor announces a cap set while estimating with the tracked SSRCs, not libwebrtc's empty list", async () => {
  const { time, interceptor, writer, sent } = setUp();
  interceptor.bindRTCPWriter(writer);
  const { readers } = bindBoth(interceptor);
  feed(time, readers, trace(9000));
  assert.equal(interceptor.phase, "estimating");
  time.advanceTo(time.nowMs + 300); // Past the throttler's 200 ms window.
  const before = sent.length;
  interceptor.setMaxDesiredBitrate(250_000);
  assert.equal(sent.length, before + 1);
  assert.deepEqual(sent.at(-1), {
    timeMs: time.nowMs,
    bitrateBps: 250_000,
    ssrcs: [SSRC_A, SSRC_B],
    senderSsrc: 1,
  });
  await interceptor.close();
});

Deno.test("EstimatorInterceptor passes audio and non-90 kHz streams without send times through untouched", async () => {
  const { interceptor, logged } = setUp();
  const inner: RTPReader = { read() {} };
  const audio = { ...videoInfo(7, ABS_3), mimeType: "audio/opus", clockRate: 48_000 };
  assert.equal(interceptor.bindRemoteStream(audio, inner), inner);
  const odd = { ...videoInfo(8), clockRate: 48_000 };
  assert.equal(interceptor.bindRemoteStream(odd, inner), inner);
  assert.match(logged[0].message, /stream 8 .* passed through unestimated/);
  const custom = new EstimatorInterceptor("all", {
    coordinator: { host: "inline", timers: new FakeTime().timers },
    estimateStream: () => true,
  });
  assert.notEqual(custom.bindRemoteStream(audio, inner), inner);
  assert.deepEqual(interceptor.stats().streams.map((s) => s.source), [undefined, undefined]);
  await custom.close();
  await interceptor.close();
});

Deno.test("EstimatorInterceptor stamps arrivals unless the attributes carry one, and hands them down the chain", async () => {
  const { time, interceptor, events } = setUp();
  const seen: [RTPAttributes | undefined, number | undefined][] = [];
  const reader = interceptor.bindRemoteStream(videoInfo(SSRC_A, ABS_3), {
    read: (_packet, attributes) => void seen.push([attributes, attributes?.arrivalTimeMs]),
  });
  const packet = rtpBytes(trace(100)[0], { kind: "abs-send-time", id: 3 });
  time.advanceTo(12_345);
  reader.read(packet);
  const mine = { arrivalTimeMs: 12_000.5 };
  reader.read(packet, mine);
  const unstamped = { arrivalTimeMs: NaN };
  reader.read(packet, unstamped);
  assert.deepEqual(seen.map(([, t]) => t), [12_345, 12_000.5, 12_345]);
  assert.equal(seen[1][0], mine);
  assert.equal(seen[2][0], unstamped);
  assert.equal(unstamped.arrivalTimeMs, 12_345, "stamped in place");
  // The estimator saw the same times: the first REMB went out at the first stamp.
  const remb = events.find((e) => e.type === "remb");
  assert.equal(remb?.timeMs, 12_345);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor reports a listener that throws, at most once a second, and goes on", async () => {
  const { time, interceptor, writer, sent, logged } = setUp();
  interceptor.bindRTCPWriter(writer);
  let heard = 0;
  interceptor.subscribe(() => {
    throw new Error("Listener bug");
  });
  const stop = interceptor.subscribe(() => heard++);
  const { readers } = bindBoth(interceptor);
  feed(time, readers, trace(600));
  stop();
  feed(time, readers, trace(600).map((p) => ({ ...p, arrivalTimeMs: p.arrivalTimeMs + 1000 })));
  assert.ok(sent.length >= 4);
  assert.ok(heard >= 2 && heard < sent.length);
  // Reported at most once a second (1.6 s of trace), saying how many went unreported.
  assert.ok(logged.length >= 1 && logged.length <= 2, `${logged.length} lines`);
  assert.equal(logged[0].message, 'Interceptor "pc-test": listener threw');
  assert.ok(logged.every((l) => l.message.startsWith('Interceptor "pc-test": listener threw')));
  await interceptor.close();
});

Deno.test("EstimatorInterceptorFactory checks options up front and hands each new interceptor to onNewInterceptor", async () => {
  const made: [string, EstimatorInterceptor][] = [];
  const factory = new EstimatorInterceptorFactory({
    coordinator: { host: "inline" },
    onNewInterceptor: (id, interceptor) => made.push([id, interceptor]),
  });
  const a = factory.newInterceptor("a");
  const b = factory.newInterceptor("b");
  assert.deepEqual(made, [["a", a], ["b", b]]);
  await a.close();
  await b.close();

  const cases: [EstimatorInterceptorOptions, string, string][] = [
    [
      { coordinator: { startRembBps: 0 } },
      "RangeError",
      "Cannot create coordinator as 'startRembBps' must be an integer in [1, 9007199254740991]: current value is 0",
    ],
    [
      { coordinator: { startRembBps: "1" as unknown as number } },
      "TypeError",
      "Cannot create coordinator as 'startRembBps' must be a number: current type is string",
    ],
    [
      { coordinator: { startRembBps: 2_000_000, maxBitrateBps: 1_000_000 } },
      "RangeError",
      "Cannot create coordinator as 'startRembBps' must not exceed 'maxBitrateBps': current values are 2000000 and 1000000",
    ],
    [
      { coordinator: { senderSsrc: -1 } },
      "RangeError",
      "Cannot create coordinator as 'senderSsrc' must be an integer in [0, 4294967295]: current value is -1",
    ],
    [
      { coordinator: { host: "threads" as never } },
      "RangeError",
      'Cannot create coordinator as \'host\' must be one of "worker-per-stream", "inline", "pool": current value is "threads"',
    ],
    [
      { logger: {} as Logger },
      "TypeError",
      "Cannot create interceptor as 'logger' must have the methods warn, error",
    ],
    [
      { estimateStream: 1 as never },
      "TypeError",
      "Cannot create interceptor as 'estimateStream' must be a function: current type is number",
    ],
  ];
  for (const [options, name, message] of cases) {
    assert.throws(() => new EstimatorInterceptorFactory(options), { name, message });
  }
  assert.throws(() => factory.newInterceptor(1 as unknown as string), {
    name: "TypeError",
    message: "Cannot create interceptor as 'id' must be a string: current type is number",
  });
});

Deno.test("EstimatorInterceptor.bindRemoteStream() rejects a malformed StreamInfo with the field named", async () => {
  const { interceptor } = setUp();
  const reader = { read() {} };
  const cases: [unknown, string, string][] = [
    [
      { ...videoInfo(1), ssrc: 2 ** 32 },
      "RangeError",
      "Cannot bind remote stream as 'ssrc' must be a 32-bit unsigned integer: current value is 4294967296",
    ],
    [
      { ...videoInfo(1), clockRate: 0 },
      "RangeError",
      "Cannot bind remote stream as 'clockRate' must be a positive integer: current value is 0",
    ],
    [
      { ...videoInfo(1), mimeType: 5 },
      "TypeError",
      "Cannot bind remote stream as 'mimeType' must be a string: current type is number",
    ],
    [
      videoInfo(1, [{ uri: ABS_SEND_TIME_URI, id: 256 }]),
      "RangeError",
      "Cannot bind remote stream as 'rtpHeaderExtensions[0].id' must be an integer in [1, 255]: current value is 256",
    ],
    [
      { ...videoInfo(1), rtcpFeedback: undefined },
      "TypeError",
      "Cannot bind remote stream as 'rtcpFeedback' must be an array",
    ],
  ];
  for (const [info, name, message] of cases) {
    assert.throws(() => interceptor.bindRemoteStream(info as StreamInfo, reader), {
      name,
      message,
    });
  }
  assert.throws(() => interceptor.bindRemoteStream(videoInfo(1), {} as RTPReader), TypeError);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor with offThread sends the REMBs it sends on the receiving thread", async () => {
  const packets = trace(8000);
  const run = async (offThread: boolean) => {
    const { time, interceptor, writer, sent } = setUp({
      host: "inline",
      offThread,
      workerSources: "module",
    });
    interceptor.bindRTCPWriter(writer);
    const { readers } = bindBoth(interceptor);
    // The same flush points for both: every 100 ms of trace, awaited.
    let sequence = 0;
    let nextFlushMs = packets[0].arrivalTimeMs + 100;
    for (const packet of packets) {
      if (packet.arrivalTimeMs >= nextFlushMs) {
        time.advanceTo(nextFlushMs);
        await interceptor.flush();
        nextFlushMs += 100;
      }
      time.advanceTo(packet.arrivalTimeMs);
      readers.get(packet.ssrc)!.read(
        rtpBytes(packet, { kind: "abs-send-time", id: 3 }, sequence++),
      );
    }
    await interceptor.flush();
    const estimate = interceptor.stats().estimateBps;
    // Off the thread, the coordinator is a worker (with its lanes inline in it).
    assert.equal(interceptor.stats().estimator.liveWorkers, offThread ? 1 : 0);
    await interceptor.close();
    assert.equal(interceptor.stats().estimator.liveWorkers, 0);
    return { rembs: sent.map((s) => `${s.bitrateBps}:${s.ssrcs.join(",")}`), estimate };
  };
  const here = await run(false);
  const there = await run(true);
  assert.ok(here.rembs.length > 8);
  assert.deepEqual(there.rembs, here.rembs);
  assert.equal(there.estimate, here.estimate);
});
