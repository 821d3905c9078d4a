/**
 * Per-packet cost of the interceptor on a 2.5 Mbit/s, 30 fps stream: raw RTP bytes read through a
 * bound reader, against the bare coordinator fed the same packets as records (inline host, no timer:
 * batches go when full). The baseline only generates the stream and writes its packet bytes. Each
 * iteration handles 1000 packets, so µs per iteration is ns per packet; the interceptor's own cost
 * (header parse, send-time lookup, incoming rate) is the difference between the last two rows.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import type { PacketInfo } from "../core/types.ts";
import { Coordinator } from "../workers/coordinator.ts";
import { SyntheticStream } from "../tests/_helpers/synthetic_stream.ts";
import { EstimatorInterceptor } from "./estimator_interceptor.ts";
import { ABS_SEND_TIME_URI } from "./interceptor.ts";

const PACKETS_PER_ITERATION = 1000;
const ABS_ID = 3;
const SSRC = 0x1234_5678;
const RING = 64;
const noTimers = { setInterval: () => 1, clearInterval() {} };

/** A stream whose packets are written into a ring of RTP buffers, header and abs-send-time. */
class ByteStream {
  readonly info: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: 0,
  };
  readonly #stream = new SyntheticStream(2_500_000, SSRC);
  readonly #buffers: Uint8Array[] = [];
  #sequence = 0;

  constructor() {
    const first: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
    new SyntheticStream(2_500_000, SSRC).next(first); // Every packet has this size.
    for (let i = 0; i < RING; i++) {
      const bytes = new Uint8Array(12 + 8 + first.payloadSize);
      bytes.set([0x90, 96, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde, 0, 1]);
      bytes[16] = (ABS_ID << 4) | 2;
      this.#buffers.push(bytes);
    }
  }

  /** The next packet's bytes, with `info` describing it. */
  next(): Uint8Array {
    const info = this.info;
    this.#stream.next(info);
    const sequence = this.#sequence++;
    const bytes = this.#buffers[sequence & (RING - 1)];
    bytes[2] = (sequence >>> 8) & 0xff;
    bytes[3] = sequence & 0xff;
    const ts = info.rtpTimestamp;
    bytes[4] = ts >>> 24;
    bytes[5] = (ts >>> 16) & 0xff;
    bytes[6] = (ts >>> 8) & 0xff;
    bytes[7] = ts & 0xff;
    const abs = info.absSendTime!;
    bytes[17] = abs >>> 16;
    bytes[18] = (abs >>> 8) & 0xff;
    bytes[19] = abs & 0xff;
    return bytes;
  }
}

const sink = new Float64Array(1);
// Both rows share the coordinator's code: each is warmed up before any measurement, or whichever
// runs first pays for V8's optimisation of it.
const WARM_UP_ITERATIONS = 300;
{
  const source = new ByteStream();
  Deno.bench({
    name: "generate the stream and write its bytes (1000 packets)",
    group: "interceptor per packet",
    baseline: true,
    fn() {
      for (let i = 0; i < PACKETS_PER_ITERATION; i++) sink[0] += source.next()[3];
    },
  });
}
{
  const source = new ByteStream();
  const clock = { now: 0, nowMs: () => clock.now };
  const interceptor = new EstimatorInterceptor("bench", {
    coordinator: { host: "inline", clock, timers: noTimers },
  });
  interceptor.bindRTCPWriter({ write() {} });
  const reader = interceptor.bindRemoteStream({
    ssrc: SSRC,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: ABS_ID }],
    rtcpFeedback: [{ type: "goog-remb" }],
  }, { read() {} });
  const run = () => {
    for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
      const bytes = source.next();
      clock.now = source.info.arrivalTimeMs;
      reader.read(bytes);
    }
  };
  for (let i = 0; i < WARM_UP_ITERATIONS; i++) run();
  Deno.bench({
    name: "+ EstimatorInterceptor reader.read(bytes), inline (1000 packets)",
    group: "interceptor per packet",
    fn: run,
  });
}

{
  const source = new ByteStream();
  const clock = { now: 0, nowMs: () => clock.now };
  const coordinator = new Coordinator({ host: "inline", clock, timers: noTimers });
  const run = () => {
    for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
      sink[0] += source.next()[3];
      clock.now = source.info.arrivalTimeMs;
      coordinator.onPacket(source.info);
    }
  };
  for (let i = 0; i < WARM_UP_ITERATIONS; i++) run();
  Deno.bench({
    name: "+ Coordinator.onPacket(record), inline (1000 packets)",
    group: "interceptor per packet",
    fn: run,
  });
}
