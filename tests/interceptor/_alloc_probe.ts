/**
 * Run with `--v8-flags=--trace-gc`: the same steady stream through either the interceptor (raw RTP
 * bytes read through a bound reader, stamped by its clock) or the bare coordinator it wraps
 * (records), both inline, so that the garbage the interceptor adds can be told from the
 * coordinator's own. Arguments: packets after warm-up, then "interceptor" or "coordinator", or
 * "rtcp": compound RTCP packets (sender report, SDES, XR with a DLRR answering an RRTR the
 * interceptor sent) read through its RTCP reader, each giving an RTT to the rate controller.
 * Used by allocation_test.ts.
 *
 * @module
 */

import type { PacketInfo } from "../../core/types.ts";
import { Coordinator } from "../../workers/coordinator.ts";
import { encodeXrDlrr } from "../../core/rtcp_xr.ts";
import { EstimatorInterceptor } from "../../interceptor/estimator_interceptor.ts";
import { ABS_SEND_TIME_URI } from "../../interceptor/interceptor.ts";
import { SyntheticStream } from "../_helpers/synthetic_stream.ts";

const packets = Number(Deno.args[0] ?? 2_000_000);
const mode = Deno.args[1] ?? "interceptor";
const ABS_ID = 3;
const SSRC = 0x1234_5678;

// No timer ticks: batches go to the inline host when full, the same for both modes.
const clock = { now: 0, nowMs: () => clock.now };
const timers = { setInterval: () => 1, clearInterval() {} };
const sent = new Float64Array(1);
const onRemb = (packet: Uint8Array) => void (sent[0] += packet.length);

const info: PacketInfo = {
  ssrc: 0,
  arrivalTimeMs: 0,
  payloadSize: 0,
  rtpTimestamp: 0,
  absSendTime: 0,
};
const stream = new SyntheticStream(2_500_000, SSRC);
let run: (n: number) => void;
let close: () => Promise<void>;

if (mode === "rtcp") {
  const interceptor = new EstimatorInterceptor("probe", {
    coordinator: { host: "inline", clock, timers },
    logger: { warn() {}, error() {} },
  });
  let rrtr: Uint8Array | undefined;
  interceptor.bindRTCPWriter({ write: (packet) => void (rrtr = packet.slice(0, 20)) });
  interceptor.bindRemoteStream({
    ssrc: SSRC,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: [],
    rtcpFeedback: [{ type: "goog-remb" }],
  }, { read() {} }).read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78));
  const lastRr = ((rrtr![14] << 24) | (rrtr![15] << 16) | (rrtr![16] << 8) | rrtr![17]) >>> 0;
  const report = new Uint8Array(28 + 12);
  report.set([0x80, 200, 0, 6, 0, 0, 0, 7]);
  report.set([0x81, 202, 0, 2, 0, 0, 0, 7, 1, 2, 0x61, 0x62], 28);
  const xr = encodeXrDlrr({ senderSsrc: 7, subBlocks: [{ ssrc: 1, lastRr, delaySinceLastRr: 0 }] });
  const compound = new Uint8Array(report.length + xr.length);
  compound.set(report);
  compound.set(xr, report.length);
  const rtcp = interceptor.bindRTCPReader({ read() {} });
  const start = clock.now;
  // Stamped by the stack, as the werift adapter does on receipt.
  const attributes = { arrivalTimeMs: 0.5 };
  let reads = 0;
  run = (n) => {
    for (let i = 0; i < n; i++) {
      // 1 µs later each time: an RTT from 1 ms up, well below maxRttMs.
      attributes.arrivalTimeMs = start + 1 + (reads++ % 1_000_000) * 0.001;
      rtcp.read(compound, attributes);
    }
  };
  close = async () => {
    const stats = interceptor.stats();
    if (stats.receiverRtt!.samples !== reads) {
      throw new Error(`${stats.receiverRtt!.samples} samples of ${reads}`);
    }
    await interceptor.close();
  };
} else if (mode === "coordinator") {
  const coordinator = new Coordinator({ host: "inline", clock, timers, onRemb });
  run = (n) => {
    for (let i = 0; i < n; i++) {
      stream.next(info);
      clock.now = info.arrivalTimeMs;
      coordinator.onPacket(info);
    }
  };
  close = () => coordinator.close();
} else {
  const interceptor = new EstimatorInterceptor("probe", {
    coordinator: { host: "inline", clock, timers },
    logger: { warn() {}, error() {} },
  });
  interceptor.bindRTCPWriter({ write: onRemb });
  const reader = interceptor.bindRemoteStream({
    ssrc: SSRC,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: ABS_ID }],
    rtcpFeedback: [{ type: "goog-remb" }],
  }, { read() {} });
  // A ring of packets rewritten in place: header, a one-byte extension with abs-send-time, payload.
  const RING = 64;
  const first: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
  new SyntheticStream(2_500_000, SSRC).next(first); // Every packet of the stream has this size.
  const buffers: Uint8Array[] = [];
  for (let i = 0; i < RING; i++) {
    const bytes = new Uint8Array(12 + 8 + first.payloadSize);
    bytes.set([
      0x90,
      96,
      0,
      0,
      0,
      0,
      0,
      0,
      0x12,
      0x34,
      0x56,
      0x78,
      0xbe,
      0xde,
      0,
      1,
      (ABS_ID << 4) | 2,
    ]);
    buffers.push(bytes);
  }
  let sequence = 0;
  run = (n) => {
    for (let i = 0; i < n; i++) {
      stream.next(info);
      const bytes = buffers[sequence & (RING - 1)];
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
      sequence++;
      clock.now = info.arrivalTimeMs;
      reader.read(bytes);
    }
  };
  close = () => interceptor.close();
}

run(2_000_000); // Optimize everything first (tier-up takes longer on a loaded machine).
console.log("ALLOC-PROBE start");
run(packets);
console.log("ALLOC-PROBE end");
console.log(JSON.stringify({ packets, mode, rembBytes: sent[0] }));
await close();
