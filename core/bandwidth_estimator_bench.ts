/**
 * Per-packet cost of {@linkcode BandwidthEstimator.onPacket} on a 2.5 Mbit/s, 30 fps stream (nine
 * 1157-byte packets per frame, 1 ms apart), against a baseline loop that only sets the same packet
 * fields from a precomputed trace. Each iteration handles 1000 packets, so the time per iteration in
 * µs is the cost per packet in ns.
 *
 * After the table it prints the figures to compare across changes: for each estimator row, the
 * median ns/packet through `onPacket` and its ratio to the field loop, from rounds that alternate the
 * two (the machine's speed varies more than the ratio does); and the call-start rows' median
 * ns/packet (100 streams' first 6 s and 1000 streams' first 3 s, when every packet is a probe
 * candidate).
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { BandwidthEstimator } from "./bandwidth_estimator.ts";
import type { PacketInfo } from "./types.ts";
import { type PacedStreams, pacedStreams } from "../tests/_helpers/paced_streams.ts";
import { SyntheticStream } from "../tests/_helpers/synthetic_stream.ts";

const PACKETS_PER_ITERATION = 1000;
const EXTENSION_ID = 3;

// One 64 s abs-send-time period of the stream; later laps repeat it 64 s later, so the trace is
// endless and the send times wrap as a real sender's do.
const generator = new SyntheticStream(2_500_000);
const TRACE_LENGTH = 1920 * generator.packetsPerFrame;
const LAP_MS = 64_000;
const LAP_RTP_TICKS = 1920 * 3000;
const traceSsrc = new Float64Array(TRACE_LENGTH);
const traceArrivalMs = new Float64Array(TRACE_LENGTH);
const traceSize = new Float64Array(TRACE_LENGTH);
const traceRtp = new Float64Array(TRACE_LENGTH);
const traceAbs = new Float64Array(TRACE_LENGTH);
{
  const packet: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
  for (let i = 0; i < TRACE_LENGTH; i++) {
    generator.next(packet);
    traceSsrc[i] = packet.ssrc;
    traceArrivalMs[i] = packet.arrivalTimeMs;
    traceSize[i] = packet.payloadSize;
    traceRtp[i] = packet.rtpTimestamp;
    traceAbs[i] = packet.absSendTime!;
  }
}

/** A position in the endless trace, writing each packet into one reused object. */
class TraceCursor {
  readonly packet: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: 0,
  };
  #index = 0;
  #lapMs = 0;
  #lapTicks = 0;

  /** Sets the packet fields to the next packet of the trace. */
  next(): void {
    const i = this.#index;
    const packet = this.packet;
    packet.ssrc = traceSsrc[i];
    packet.arrivalTimeMs = traceArrivalMs[i] + this.#lapMs;
    packet.payloadSize = traceSize[i];
    packet.rtpTimestamp = (traceRtp[i] + this.#lapTicks) >>> 0;
    packet.absSendTime = traceAbs[i];
    if (++this.#index === TRACE_LENGTH) {
      this.#index = 0;
      this.#lapMs += LAP_MS;
      this.#lapTicks = (this.#lapTicks + LAP_RTP_TICKS) >>> 0;
    }
  }
}

const sink = new Float64Array(1);
const fieldCursor = new TraceCursor();

/** The baseline: the same loop without the estimator. */
function setFields(): void {
  let sum = 0;
  for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
    fieldCursor.next();
    sum += fieldCursor.packet.payloadSize;
  }
  sink[0] += sum;
}

Deno.bench({
  name: "set the packet fields only (1000 packets)",
  group: "per packet",
  baseline: true,
  fn: setFields,
});

/** One estimator row: its own estimator fed its own endless trace. */
interface Row {
  name: string;
  run(): void;
  ran: boolean;
}

const rows: Row[] = [];
for (const grouping of ["per-stream", "transport"] as const) {
  for (const filter of ["kalman", "trendline"] as const) {
    const estimator = new BandwidthEstimator({ grouping, filter });
    const cursor = new TraceCursor();
    const row: Row = {
      name: `${grouping}, ${filter}`,
      run() {
        for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
          cursor.next();
          estimator.onPacket(cursor.packet);
        }
      },
      ran: false,
    };
    rows.push(row);
    Deno.bench({
      name: `set fields + BandwidthEstimator.onPacket, ${grouping}, ${filter} (1000 packets)`,
      group: "per packet",
      fn() {
        row.ran = true;
        row.run();
      },
    });
  }
}

/** One RTP packet: 12-byte header, one-byte-form extension block with abs-send-time, payload. */
function rtpPacket(absSendTime: number, payloadSize: number): Uint8Array {
  const bytes = new Uint8Array(12 + 8 + payloadSize);
  bytes[0] = 0x90; // V=2, X=1
  bytes[1] = 96;
  bytes[12] = 0xbe;
  bytes[13] = 0xde;
  bytes[15] = 1; // one 32-bit word of extensions
  bytes[16] = (EXTENSION_ID << 4) | 2; // length 3
  bytes[17] = absSendTime >>> 16;
  bytes[18] = (absSendTime >>> 8) & 0xff;
  bytes[19] = absSendTime & 0xff;
  return bytes;
}

/** Reads the abs-send-time of a packet by walking its one-byte extension elements. */
function readAbsSendTime(bytes: Uint8Array): number {
  const csrcCount = bytes[0] & 0x0f;
  let offset = 12 + csrcCount * 4;
  const words = (bytes[offset + 2] << 8) | bytes[offset + 3];
  offset += 4;
  const end = offset + words * 4;
  while (offset < end) {
    const id = bytes[offset] >> 4;
    const length = (bytes[offset] & 0x0f) + 1;
    if (id === EXTENSION_ID) {
      return (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
    }
    offset += 1 + length;
  }
  return -1;
}

// What a receiver pays to find the extension in the packet bytes, for scale.
{
  const buffers: Uint8Array[] = [];
  for (let i = 0; i < 4096; i++) buffers.push(rtpPacket(traceAbs[i], traceSize[i]));
  let next = 0;
  Deno.bench({
    name: "read abs-send-time from packet bytes (1000 packets)",
    group: "header",
    fn() {
      let sum = 0;
      for (let i = 0; i < PACKETS_PER_ITERATION; i++) {
        sum += readAbsSendTime(buffers[next++ & 4095]);
      }
      sink[0] += sum;
    },
  });
}

// A call's start at the host benchmarks' load: streams × 510 packets/s in arrival order (each
// stream's due packets every 2 ms) through one fresh estimator. Until the first estimate (5 s
// without a probe cluster) every packet is a probe candidate, so this measures the probe list held
// full: 100 streams' first 6 s, and 1000 streams' first 3 s (ten times the probes a second, from
// more streams in turn).
interface CallStart extends PacedStreams {
  name: string;
  ran: boolean;
}

function callStartTrace(streamCount: number, lengthMs: number): CallStart {
  return {
    name: `${streamCount} streams' first ${lengthMs / 1000} s`,
    ...pacedStreams(streamCount, lengthMs),
    ran: false,
  };
}

const callStartPacket: PacketInfo = {
  ssrc: 0,
  arrivalTimeMs: 0,
  payloadSize: 0,
  rtpTimestamp: 0,
  absSendTime: 0,
};

/** Feeds a call's start to a fresh estimator. */
function callStart(trace: CallStart): void {
  const estimator = new BandwidthEstimator();
  const packet = callStartPacket;
  for (let i = 0; i < trace.ssrc.length; i++) {
    packet.ssrc = trace.ssrc[i];
    packet.arrivalTimeMs = trace.arrivalMs[i];
    packet.payloadSize = trace.size[i];
    packet.rtpTimestamp = trace.rtp[i];
    packet.absSendTime = trace.abs[i];
    estimator.onPacket(packet);
  }
  sink[0] += estimator.getEstimate();
}

const callStarts = [callStartTrace(100, 6000), callStartTrace(1000, 3000)];
for (const trace of callStarts) {
  Deno.bench({
    name: `${trace.name} into one estimator (${trace.ssrc.length} packets)`,
    group: "call start",
    n: 5,
    warmup: 1,
    fn() {
      trace.ran = true;
      callStart(trace);
    },
  });
}

// The table's rows run one after another, so a burst of load on the shared machine can land on one
// row and not the next. The summary alternates the field loop and each row, 1000 packets at a time,
// and takes medians over the rounds: each ratio compares neighbours in time.
const SUMMARY_ROUNDS = 400;

function medianOf(values: Float64Array): number {
  const sorted = values.slice().sort();
  return sorted[sorted.length >> 1];
}

globalThis.addEventListener("unload", () => {
  for (const trace of callStarts.filter((trace) => trace.ran)) {
    const runs = new Float64Array(5);
    for (let i = 0; i < runs.length; i++) {
      const t0 = performance.now();
      callStart(trace);
      runs[i] = (performance.now() - t0) * 1e6 / trace.ssrc.length;
    }
    console.log(
      `\n${trace.name}: ${medianOf(runs).toFixed(1)} ns/packet, median of ${runs.length} runs`,
    );
  }
  const measured = rows.filter((row) => row.ran);
  if (measured.length === 0) return;
  const fieldNs = new Float64Array(SUMMARY_ROUNDS);
  console.log(
    `\nonPacket per packet, medians of ${SUMMARY_ROUNDS} rounds that alternate it with the field loop:`,
  );
  for (const row of measured) {
    const rowNs = new Float64Array(SUMMARY_ROUNDS);
    const ratios = new Float64Array(SUMMARY_ROUNDS);
    for (let round = 0; round < SUMMARY_ROUNDS; round++) {
      const t0 = performance.now();
      setFields();
      const t1 = performance.now();
      row.run();
      const t2 = performance.now();
      // ms per 1000 packets × 1e3 = ns per packet.
      fieldNs[round] = (t1 - t0) * 1e3;
      rowNs[round] = (t2 - t1) * 1e3;
      ratios[round] = (t2 - t1) / (t1 - t0);
    }
    const ns = medianOf(rowNs);
    const field = medianOf(fieldNs);
    console.log(
      `  ${row.name}: ${ns.toFixed(1)} ns/packet (field loop ${field.toFixed(1)} ns, so ` +
        `${(ns - field).toFixed(1)} ns in onPacket), ${
          medianOf(ratios).toFixed(1)
        } × the field loop`,
    );
  }
});
