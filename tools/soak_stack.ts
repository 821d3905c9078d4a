/**
 * The full-stack soak: 24 hours of simulated time through an `EstimatorInterceptor` (raw RTP bytes
 * in, REMB bytes out) on a constant 2 Mbit/s link. One stream runs throughout; a second pauses for
 * 5 s every two hours (its SSRC times out) and is then unbound and bound again under a new SSRC. RTP
 * timestamps start near their wrap, so they wrap, and abs-send-time wraps every 64 s. Prints, per
 * simulated hour, the heap (after a full collection when `--v8-flags=--expose-gc` is given), the
 * estimate's range, REMBs and streams; exits 1 on a NaN, heap growth or a drifting estimate.
 *
 * Run: `deno task soak` (24 h), or `deno run --v8-flags=--expose-gc tools/soak_stack.ts HOURS`.
 *
 * @module
 */

import { absSendTimeFromMicros } from "../core/abs_send_time.ts";
import { decodeRemb } from "../core/remb.ts";
import { EstimatorInterceptor } from "../interceptor/estimator_interceptor.ts";
import { ABS_SEND_TIME_URI, type RTPReader, type StreamInfo } from "../interceptor/interceptor.ts";
import type { Timers } from "../workers/coordinator.ts";

const HOURS = Number(Deno.args[0] ?? 24);
const CAPACITY_BPS = 2_000_000;
const PROPAGATION_US = 20_000;
const ABS_ID = 3;
const gc = (globalThis as { gc?: () => void }).gc;

// A clock and repeating timers that move only with the simulation.
let nowMs = 0;
const timers = new Map<number, { callback: () => void; ms: number; dueMs: number }>();
let nextTimer = 1;
const fakeTimers: Timers = {
  setInterval(callback, ms) {
    timers.set(nextTimer, { callback, ms, dueMs: nowMs + ms });
    return nextTimer++;
  },
  clearInterval(handle) {
    timers.delete(handle as number);
  },
};
function advanceTo(targetMs: number): void {
  for (;;) {
    let due: { callback: () => void; ms: number; dueMs: number } | undefined;
    for (const timer of timers.values()) if (!due || timer.dueMs < due.dueMs) due = timer;
    if (!due || due.dueMs > targetMs) break;
    nowMs = due.dueMs;
    due.dueMs += due.ms;
    due.callback();
  }
  nowMs = targetMs;
}

let estimates: number[] = []; // this hour's REMB values only, so the soak itself holds nothing
let broken = false;
const interceptor = new EstimatorInterceptor("soak", {
  coordinator: { host: "inline", clock: { nowMs: () => nowMs }, timers: fakeTimers },
  logger: { warn() {}, error: (message) => console.error(message) },
});
let rembs = 0;
interceptor.bindRTCPWriter({
  write(packet) {
    rembs++;
    // The REMB comes last, behind an RTCP XR Receiver Reference Time packet (20 bytes) at times.
    const bps = decodeRemb(packet[1] === 207 ? packet.subarray(20) : packet).bitrateBps;
    if (!Number.isFinite(bps)) broken = true;
    estimates.push(bps);
  },
});

function info(ssrc: number): StreamInfo {
  return {
    ssrc,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: ABS_ID }],
    rtcpFeedback: [{ type: "goog-remb" }],
  };
}

interface Stream {
  ssrc: number;
  bitrateBps: number;
  reader: RTPReader;
  rtpStart: number;
  sequence: number;
  phaseUs: number;
}
const sink: RTPReader = { read() {} };
const streams: Stream[] = [
  { ssrc: 0x5000_0001, bitrateBps: 900_000, rtpStart: 0xffff_0000, phaseUs: 0 },
  { ssrc: 0x5000_1000, bitrateBps: 600_000, rtpStart: 0xfff0_0000, phaseUs: 7000 },
].map((s) => ({ ...s, sequence: 0, reader: interceptor.bindRemoteStream(info(s.ssrc), sink) }));

// One reused packet buffer: 12-byte header, a one-byte-form extension block with abs-send-time.
const buffer = new Uint8Array(1500);
const view = new DataView(buffer.buffer);
buffer[0] = 0x90;
buffer[1] = 96;
view.setUint16(12, 0xbede);
view.setUint16(14, 1);
buffer[16] = (ABS_ID << 4) | 2;
function write(
  stream: Stream,
  rtpTimestamp: number,
  absSendTime: number,
  size: number,
): Uint8Array {
  view.setUint16(2, stream.sequence++ & 0xffff);
  view.setUint32(4, rtpTimestamp);
  view.setUint32(8, stream.ssrc);
  buffer[17] = absSendTime >>> 16;
  buffer[18] = (absSendTime >>> 8) & 0xff;
  buffer[19] = absSendTime & 0xff;
  return buffer.subarray(0, 20 + size);
}

let linkFreeUs = 0;
let packets = 0;
let rtpWraps = 0;
let rebinds = 0;
const FRAME_US = 1_000_000 / 30;
const totalFrames = Math.floor(HOURS * 3600 * 30);
console.log("hour  heap MB  estimate kbit/s min–median–max  REMBs  packets  streams");
const hourly: number[] = [];
const heaps: number[] = [];
for (let frame = 0; frame < totalFrames; frame++) {
  const frameUs = Math.round(frame * FRAME_US);
  const second = frameUs / 1e6;
  for (const [n, stream] of streams.entries()) {
    // Stream 2 pauses 5 s every two hours; afterwards it comes back under a new SSRC.
    const inPause = n === 1 && second % 7200 >= 3600 && second % 7200 < 3605;
    if (inPause) {
      if (stream.sequence !== 0 && second % 7200 >= 3604.9) {
        interceptor.unbindRemoteStream(info(stream.ssrc));
        stream.ssrc++;
        stream.sequence = 0;
        stream.reader = interceptor.bindRemoteStream(info(stream.ssrc), sink);
        rebinds++;
      }
      continue;
    }
    const sendUs = frameUs + stream.phaseUs;
    const frameBytes = Math.round(stream.bitrateBps / 8 / 30);
    const count = Math.ceil(frameBytes / 1200);
    const rtp = (stream.rtpStart + Math.floor(sendUs * 0.09)) >>> 0;
    if (rtp < ((stream.rtpStart + Math.floor((sendUs - FRAME_US) * 0.09)) >>> 0)) rtpWraps++;
    for (let i = 0; i < count; i++) {
      const size = Math.min(1200, frameBytes - i * 1200);
      const startUs = Math.max(sendUs + i * 1000, linkFreeUs);
      linkFreeUs = startUs + Math.round(((size + 40) * 8 * 1e6) / CAPACITY_BPS);
      advanceTo((linkFreeUs + PROPAGATION_US) / 1000);
      stream.reader.read(write(stream, rtp, absSendTimeFromMicros(sendUs + i * 1000), size));
      packets++;
    }
  }
  if ((frame + 1) % (3600 * 30) === 0) {
    const values = estimates.sort((a, b) => a - b);
    estimates = [];
    gc?.();
    const hour = (frame + 1) / (3600 * 30);
    const heapMb = Deno.memoryUsage().heapUsed / 1e6;
    const median = values[Math.floor(values.length / 2)] ?? NaN;
    hourly.push(median);
    heaps.push(heapMb);
    console.log(
      `${String(hour).padStart(4)}  ${heapMb.toFixed(1).padStart(7)}  ${
        `${(values[0] / 1000).toFixed(0)}–${(median / 1000).toFixed(0)}–${
          (values.at(-1)! / 1000).toFixed(0)
        }`.padStart(30)
      }  ${String(values.length).padStart(5)}  ${
        String(packets).padStart(8)
      }  ${interceptor.stats().estimator.streams.length}`,
    );
  }
}
const stats = interceptor.stats();
await interceptor.close();
const wraps = Math.floor(HOURS * 3600 / 64);
const growthMb = heaps.length > 2 ? Math.max(...heaps.slice(2)) - heaps[1] : 0;
const settled = hourly.slice(1);
const drift = settled.length > 0 ? Math.max(...settled) / Math.min(...settled) : 1;
console.log(
  `${packets} packets, ${rembs} REMBs, abs-send-time wraps ${wraps}, RTP timestamp wraps ${rtpWraps}, ` +
    `rebinds ${rebinds}, malformed ${stats.malformedPackets}; heap growth after hour 2 ` +
    `${growthMb.toFixed(2)} MB; hourly median estimate max/min ${drift.toFixed(3)}`,
);
broken ||= growthMb >= 5 || drift > 1.1 || (HOURS >= 24 && (wraps < 1350 || rtpWraps < 2));
if (broken) {
  console.error("FAILED: the soak found a NaN, heap growth or a drifting estimate");
  Deno.exit(1);
}
