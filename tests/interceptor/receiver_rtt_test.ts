/**
 * The interceptor's side of the receiver RTT: a REMB is written behind an XR RRTR when one is due, the
 * RTCP reader passes everything on untouched and finds the sender's DLRR answers, and the RTT they
 * give reaches the rate controller, with the 200 ms default kept until one is known and a jumping
 * or absent RTT leaving it sane. A fake sender answers on a fake timeline.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeRemb } from "../../core/remb.ts";
import { encodeXrDlrr, encodeXrRrtr } from "../../core/rtcp_xr.ts";
import {
  type EstimatorEvent,
  EstimatorInterceptor,
  EstimatorInterceptorFactory,
  type EstimatorInterceptorOptions,
  InterceptorClosedError,
} from "../../interceptor/estimator_interceptor.ts";
import type { RTCPReader, RTPAttributes, StreamInfo } from "../../interceptor/interceptor.ts";
import { rembOf, rrtrOf, type SentRrtr } from "../_helpers/rtcp.ts";
import { FakeTime } from "./_fake_time.ts";

const SSRC = 0x1234;
const SENDER_SSRC = 0xc0ffee;
const INFO: StreamInfo = {
  ssrc: SSRC,
  clockRate: 90_000,
  mimeType: "video/VP8",
  rtpHeaderExtensions: [],
  rtcpFeedback: [{ type: "goog-remb" }],
};
const RTP = Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34);
const quiet = { warn() {}, error() {} };

/** The interceptor on a fake timeline, recording what it writes and tells. */
function setUp(options: EstimatorInterceptorOptions = {}, coordinator = {}) {
  const time = new FakeTime(50_000);
  const interceptor = new EstimatorInterceptor("pc-rtt", {
    logger: quiet,
    ...options,
    coordinator: { host: "inline", clock: time.clock, timers: time.timers, ...coordinator },
  });
  const written: { atMs: number; bytes: Uint8Array }[] = [];
  interceptor.bindRTCPWriter({ write: (bytes) => void written.push({ atMs: time.nowMs, bytes }) });
  const passed: { bytes: Uint8Array; attributes: RTPAttributes | undefined }[] = [];
  const rtcp = interceptor.bindRTCPReader({
    read: (bytes, attributes) => void passed.push({ bytes, attributes }),
  });
  const events: EstimatorEvent[] = [];
  interceptor.subscribe((event) => events.push(event));
  const rtp = interceptor.bindRemoteStream(INFO, { read() {} });
  rtp.read(RTP); // The start REMB goes out.
  /** Moves the clock on, with an RTP packet every 100 ms so that the stream stays. */
  const advance = (toMs: number) => {
    while (time.nowMs + 100 < toMs) {
      time.advanceTo(time.nowMs + 100);
      rtp.read(RTP);
    }
    time.advanceTo(toMs);
  };
  return { time, advance, interceptor, written, rtcp, passed, events };
}

/** A sender report with a DLRR answering `rrtr` after a hold of `holdMs`, as Chrome sends it. */
function answer(rrtr: SentRrtr, holdMs: number, ssrc = rrtr.senderSsrc): Uint8Array {
  // deno-fmt-ignore
  const report = Uint8Array.of(
    0x80, 200, 0, 6, 0, 0xab, 0xcd, 0xef,
    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
  );
  const xr = encodeXrDlrr({
    senderSsrc: 0xabcdef,
    subBlocks: [{ ssrc, lastRr: rrtr.lastRr, delaySinceLastRr: Math.round(holdMs * 65.536) }],
  });
  const out = new Uint8Array(report.length + xr.length);
  out.set(report);
  out.set(xr, report.length);
  return out;
}

function near(actual: number | undefined, expected: number, tolerance = 0.05): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

Deno.test("EstimatorInterceptor writes a REMB behind an XR RRTR from its sender SSRC every intervalMs", async (t) => {
  for (const intervalMs of [0, 500, 1000]) {
    await t.step(`intervalMs ${intervalMs}`, () => {
      const { advance, interceptor, written } = setUp(
        { receiverRtt: { intervalMs } },
        { senderSsrc: SENDER_SSRC },
      );
      advance(53_000); // Start REMBs every 250 ms.
      assert.ok(written.length >= 12);
      let lastAtMs = -Infinity;
      let lastRr = -1;
      let rrtrs = 0;
      for (const { atMs, bytes } of written) {
        assert.equal(rembOf(bytes).senderSsrc, SENDER_SSRC);
        const rrtr = rrtrOf(bytes);
        const due = atMs - lastAtMs >= intervalMs;
        assert.equal(bytes.length, due ? 20 + 24 : 24, `at ${atMs} ms`);
        if (due) {
          assert.equal(bytes[1], 207, "the XR first, the REMB last (werift reads to the end)");
        }
        if (!rrtr) continue;
        rrtrs++;
        assert.equal(rrtr.senderSsrc, SENDER_SSRC);
        // The timestamps advance with the clock: 1 ms is 65.536 compact units.
        if (lastRr >= 0) {
          const units = (rrtr.lastRr - lastRr) >>> 0;
          assert.ok(Math.abs(units - (atMs - lastAtMs) * 65.536) <= 1);
        }
        lastRr = rrtr.lastRr;
        lastAtMs = atMs;
      }
      assert.equal(interceptor.stats().receiverRtt!.rrtrsSent, rrtrs);
      if (intervalMs === 0) assert.equal(rrtrs, written.length);
      if (intervalMs === 500) assert.equal(rrtrs, Math.ceil(written.length / 2));
      void interceptor.close();
    });
  }
});

Deno.test("EstimatorInterceptor with receiverRtt: false writes the REMB alone and ignores DLRR", async () => {
  const { time, interceptor, written, rtcp } = setUp({ receiverRtt: false });
  time.advanceTo(50_300);
  assert.ok(written.length >= 1);
  for (const { bytes } of written) assert.equal(bytes.length, 24);
  rtcp.read(answer({ senderSsrc: 1, lastRr: 12345 }, 0));
  const stats = interceptor.stats();
  assert.equal(stats.rttMs, undefined);
  assert.equal(stats.receiverRtt, undefined);
  assert.equal(stats.rttSource, "default");
  assert.equal(stats.rtcpPackets, 1);
  assert.equal(stats.estimator.rttMs, 200);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor.bindRTCPReader() measures the RTT from DLRR and sets the rate controller's", async (t) => {
  for (const offThread of [false, true]) {
    await t.step(offThread ? "off-thread coordinator" : "inline coordinator", async () => {
      const { time, interceptor, written, rtcp, passed, events } = setUp({ offThread });
      await interceptor.flush();
      assert.equal(interceptor.stats().estimator.rttMs, 200, "libwebrtc's default at first");
      assert.equal(interceptor.stats().rttSource, "default");
      const rrtr = rrtrOf(written[0].bytes)!;
      time.advanceTo(written[0].atMs + 80); // 30 ms of path, 50 ms held by the sender.
      const packet = answer(rrtr, 50);
      rtcp.read(packet);
      await interceptor.flush();
      const stats = interceptor.stats();
      near(stats.rttMs, 30);
      assert.equal(stats.rttSource, "measured");
      assert.equal(stats.estimator.rttMs, 30); // Whole ms.
      assert.equal(stats.receiverRtt!.samples, 1);
      assert.equal(stats.rtcpPackets, 1);
      assert.equal(stats.malformedRtcpPackets, 0);
      const rtt = events.filter((e) => e.type === "rtt");
      assert.equal(rtt.length, 1);
      assert.ok(rtt[0].type === "rtt" && rtt[0].timeMs === time.nowMs);
      // Passed on untouched: the same bytes, stamped on entry.
      assert.equal(passed.length, 1);
      assert.equal(passed[0].bytes, packet);
      assert.equal(passed[0].attributes!.arrivalTimeMs, time.nowMs);
      await interceptor.close();
    });
  }
});

Deno.test("EstimatorInterceptor's RTCP reader uses the arrival time it is given and passes it on", async () => {
  const { time, interceptor, written, rtcp, passed } = setUp();
  const rrtr = rrtrOf(written[0].bytes)!;
  time.advanceTo(written[0].atMs + 500); // Processed late, but arrived 45 ms after sending.
  const attributes = { arrivalTimeMs: written[0].atMs + 45 };
  rtcp.read(answer(rrtr, 5), attributes);
  near(interceptor.stats().rttMs, 40);
  assert.equal(passed[0].attributes, attributes);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor keeps the 200 ms default while the sender never answers", async () => {
  const { time, interceptor, rtcp } = setUp();
  for (let t = 50_000; t < 60_000; t += 500) {
    time.advanceTo(t);
    // Sender reports with no DLRR, and DLRRs for another receiver or with LRR 0.
    rtcp.read(answer({ senderSsrc: 1, lastRr: 0 }, 0));
    rtcp.read(answer({ senderSsrc: 99, lastRr: 77 }, 0));
  }
  await interceptor.flush();
  const stats = interceptor.stats();
  assert.equal(stats.rttMs, undefined);
  assert.equal(stats.rttSource, "default");
  assert.equal(stats.estimator.rttMs, 200);
  assert.equal(stats.receiverRtt!.samples, 0);
  assert.equal(stats.receiverRtt!.rejected["no-rrtr"], 20);
  assert.equal(stats.receiverRtt!.rejected["other-ssrc"], 20);
  assert.equal(stats.malformedRtcpPackets, 0);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor follows an RTT that jumps and refuses one that is absurd", async () => {
  const { time, advance, interceptor, written, rtcp } = setUp({
    receiverRtt: { smoothingFactor: 1, history: 128, intervalMs: 0 },
  });
  const path = [20, 20, 900, 900, 15, 15_000, 15];
  const seen: number[] = [];
  for (const rttMs of path) {
    const count = written.length;
    while (written.length === count) advance(time.nowMs + 10); // The next REMB, with its RRTR.
    const last = written.at(-1)!;
    advance(last.atMs + rttMs + 10);
    rtcp.read(answer(rrtrOf(last.bytes)!, 10));
    seen.push(interceptor.stats().estimator.rttMs);
  }
  // 15 s is above maxRttMs (10 s): refused, the last known RTT stays.
  assert.deepEqual(seen.map(Math.round), [20, 20, 900, 900, 15, 15, 15]);
  assert.equal(interceptor.stats().receiverRtt!.rejected["too-large"], 1);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor's RTT: setRtt() until the next DLRR answer, which wins", async () => {
  const { time, interceptor, written, rtcp } = setUp();
  interceptor.setRtt(70);
  assert.equal(interceptor.stats().rttSource, "application");
  assert.equal(interceptor.stats().estimator.rttMs, 70);
  time.advanceTo(written[0].atMs + 12);
  rtcp.read(answer(rrtrOf(written[0].bytes)!, 2));
  assert.equal(interceptor.stats().rttSource, "measured");
  assert.equal(interceptor.stats().estimator.rttMs, 10);
  await interceptor.close();
});

Deno.test("EstimatorInterceptor's RTCP reader never throws, counts malformed packets and passes all on", () => {
  const { interceptor, rtcp, passed, written } = setUp();
  const good = rrtrOf(written[0].bytes)!;
  let reads = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        fc.tuple(fc.nat(60), fc.nat(255)).map(([at, value]) => {
          // Our own SSRC, but an RRTR never sent: a bit flipped in each byte, so that no single
          // corrupted byte can turn it back into the one sent. `>>> 0` keeps it unsigned.
          const lastRr = (good.lastRr ^ 0x8080_8080) >>> 0;
          const bytes = answer({ senderSsrc: good.senderSsrc, lastRr }, 0);
          bytes[at % bytes.length] = value;
          return bytes;
        }),
      ),
      (bytes) => {
        rtcp.read(bytes);
        reads++;
        assert.equal(passed.at(-1)!.bytes, bytes);
      },
    ),
    { numRuns: 2000 },
  );
  rtcp.read("not bytes" as unknown as Uint8Array);
  const stats = interceptor.stats();
  assert.equal(stats.rtcpPackets, reads + 1);
  assert.equal(passed.length, reads + 1);
  assert.ok(stats.malformedRtcpPackets > reads / 3, `${stats.malformedRtcpPackets} of ${reads}`);
  assert.equal(stats.rtcpErrors, 0);
  // Nothing of it answered an RRTR sent: the default RTT stands.
  assert.equal(stats.rttSource, "default");
  assert.equal(stats.estimator.rttMs, 200);
  void interceptor.close();
});

Deno.test("EstimatorInterceptor's RTCP reader passes packets on after close", async () => {
  const { interceptor, rtcp, passed } = setUp();
  await interceptor.close();
  const packet = encodeXrRrtr({ senderSsrc: 5, ntp: { seconds: 1, fraction: 2 } });
  rtcp.read(packet);
  assert.equal(passed.at(-1)!.bytes, packet);
  assert.throws(() => interceptor.bindRTCPReader({ read() {} }), InterceptorClosedError);
});

Deno.test("EstimatorInterceptor.bindRTCPReader() refuses a reader without read()", async () => {
  const { interceptor } = setUp();
  for (const bad of [null, {}, { read: 1 }]) {
    assert.throws(() => interceptor.bindRTCPReader(bad as unknown as RTCPReader), {
      name: "TypeError",
      message: "Cannot bind RTCP reader as 'reader' must have a read() method",
    });
  }
  await interceptor.close();
});

Deno.test("EstimatorInterceptorFactory checks the receiverRtt option", () => {
  assert.throws(() => new EstimatorInterceptorFactory({ receiverRtt: 1 as never }), {
    name: "TypeError",
    message:
      "Cannot create interceptor as 'receiverRtt' must be an object or false: current value is 1",
  });
  assert.throws(
    () => new EstimatorInterceptorFactory({ receiverRtt: { history: 0 } }),
    RangeError,
  );
  assert.throws(
    () => new EstimatorInterceptorFactory({ receiverRtt: { maxRttMs: -1 } }),
    RangeError,
  );
  new EstimatorInterceptorFactory({ receiverRtt: false });
});

Deno.test("EstimatorInterceptor ignores an REMB-like answer: only DLRR sub-blocks count", async () => {
  const { interceptor, rtcp } = setUp();
  rtcp.read(encodeRemb({ senderSsrc: 1, bitrateBps: 1, ssrcs: [1] }));
  assert.equal(interceptor.stats().rttSource, "default");
  assert.equal(interceptor.stats().malformedRtcpPackets, 0);
  await interceptor.close();
});
