import assert from "node:assert/strict";
import { rembOf } from "../_helpers/rtcp.ts";
import {
  EstimatorInterceptor,
  InterceptorClosedError,
} from "../../interceptor/estimator_interceptor.ts";
import {
  ABS_SEND_TIME_URI,
  type RTPReader,
  type StreamInfo,
} from "../../interceptor/interceptor.ts";
import { generateTrace } from "../_helpers/trace.ts";
import { FakeTime } from "./_fake_time.ts";
import { rtpBytes } from "./_rtp_bytes.ts";

const ABS_3 = [{ uri: ABS_SEND_TIME_URI, id: 3 }];
const quiet = { warn() {}, error() {} };

function videoInfo(ssrc: number): StreamInfo {
  return {
    ssrc,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: ABS_3,
    rtcpFeedback: [{ type: "goog-remb" }],
  };
}

const legit = generateTrace({
  streams: [{ ssrc: 0xa, bitrateBps: 800_000 }, { ssrc: 0xb, bitrateBps: 400_000 }],
  durationMs: 8000,
  capacityBps: (t) => (t < 5000 ? 3_000_000 : 1_000_000),
  absSendTime: true,
});

/** Runs the legit call through an interceptor, with or without 10,000 strangers bound too. */
function run(flood: boolean, host: "inline" | "worker-per-stream") {
  const time = new FakeTime(legit[0].arrivalTimeMs);
  const interceptor = new EstimatorInterceptor("flood", {
    coordinator: {
      host,
      workerSources: "module",
      maxStreams: 2,
      clock: time.clock,
      timers: time.timers,
    },
    logger: quiet,
  });
  const rembs: number[] = [];
  interceptor.bindRTCPWriter({ write: (packet) => void rembs.push(rembOf(packet).bitrateBps) });
  const inner: RTPReader = { read() {} };
  const readers = new Map<number, RTPReader>();
  for (const ssrc of [0xa, 0xb]) {
    readers.set(ssrc, interceptor.bindRemoteStream(videoInfo(ssrc), inner));
  }
  let stranger = 0x2000_0000;
  let sequence = 0;
  let maxWorkers = 0;
  for (const [i, packet] of legit.entries()) {
    time.advanceTo(packet.arrivalTimeMs);
    readers.get(packet.ssrc)!.read(rtpBytes(packet, { kind: "abs-send-time", id: 3 }, sequence++));
    if (flood && i >= 100) {
      // Once the call is up, strangers bind and send one packet each: 10,000 SSRCs in all.
      for (let k = 0; k < 10 && stranger < 0x2000_0000 + 10_000; k++) {
        const ssrc = stranger++;
        const reader = interceptor.bindRemoteStream(videoInfo(ssrc), inner);
        reader.read(rtpBytes({ ...packet, ssrc, absSendTime: (i * 7919) & 0xffffff }, {
          kind: "abs-send-time",
          id: 3,
        }, sequence++));
      }
    }
    maxWorkers = Math.max(maxWorkers, interceptor.stats().estimator.liveWorkers);
  }
  return { interceptor, rembs, maxWorkers, strangers: stranger - 0x2000_0000 };
}

Deno.test("EstimatorInterceptor under a flood of 10,000 SSRCs keeps workers bounded and the call's REMBs unchanged", async () => {
  // Inline, so the REMBs can be compared packet for packet.
  const quietRun = run(false, "inline");
  await quietRun.interceptor.close();
  const flooded = run(true, "inline");
  await flooded.interceptor.close();
  assert.equal(flooded.strangers, 10_000);
  assert.ok(quietRun.rembs.length > 20);
  assert.deepEqual(flooded.rembs, quietRun.rembs);
  // With a worker per stream, the strangers never get one.
  const workers = run(true, "worker-per-stream");
  const stats = workers.interceptor.stats();
  await workers.interceptor.close();
  assert.ok(workers.maxWorkers <= 3, `${workers.maxWorkers} workers for 2 admitted streams`);
  assert.equal(stats.estimator.refusedStreams, 10_000);
  assert.equal(workers.interceptor.stats().estimator.liveWorkers, 0);
});

Deno.test("EstimatorInterceptor goes on when the RTCP writer never settles, and close() still ends it", async () => {
  const time = new FakeTime(legit[0].arrivalTimeMs);
  const interceptor = new EstimatorInterceptor("hung-writer", {
    coordinator: { host: "inline", clock: time.clock, timers: time.timers },
    logger: quiet,
  });
  let writes = 0;
  interceptor.bindRTCPWriter({ write: () => new Promise<void>(() => void writes++) });
  const reader = interceptor.bindRemoteStream(videoInfo(0xa), { read() {} });
  let sequence = 0;
  for (const packet of legit.filter((p) => p.ssrc === 0xa)) {
    time.advanceTo(packet.arrivalTimeMs);
    reader.read(rtpBytes(packet, { kind: "abs-send-time", id: 3 }, sequence++));
  }
  assert.ok(writes > 8, `${writes} REMBs handed to the hung writer`);
  assert.ok(interceptor.stats().estimator.estimateBps! > 0);
  await interceptor.close();
  await interceptor.close();
});

Deno.test("EstimatorInterceptor refuses binds after close() with InterceptorClosedError", async () => {
  const time = new FakeTime(1000);
  const interceptor = new EstimatorInterceptor("closed", {
    coordinator: { host: "inline", clock: time.clock, timers: time.timers },
    logger: quiet,
  });
  await interceptor.close();
  assert.throws(
    () => interceptor.bindRemoteStream(videoInfo(1), { read() {} }),
    InterceptorClosedError,
  );
  assert.throws(() => interceptor.bindRTCPWriter({ write() {} }), InterceptorClosedError);
});
