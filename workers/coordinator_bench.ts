/**
 * The receiving thread's cost per packet at the host benchmarks' load, without their event loop:
 * 100 streams × 510 packets/s in arrival order (each stream's due packets every 2 ms), after the
 * first 6 s (the start-up, in which every packet is a probe candidate, is fed before measuring),
 * through an inline `Coordinator` flushed every 20 ms of packet time, against a `BandwidthEstimator`
 * fed the same packets. Each iteration handles the next 1000 packets of the trace, so µs per
 * iteration is ns per packet; `deno task bench:hosts` measures the same load paced in real time.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { BandwidthEstimator } from "../core/bandwidth_estimator.ts";
import type { PacketInfo } from "../core/types.ts";
import { SyntheticStream } from "../tests/_helpers/synthetic_stream.ts";
import { Coordinator } from "./coordinator.ts";

const STREAMS = 100;
const START_UP_MS = 6000;
const PACKETS_PER_ITERATION = 1000;
const ITERATIONS = 400;
const WARM_UP = 100;
// Rounds of the summary printed at the end, which alternates the rows.
const SUMMARY_ROUNDS = 400;
const FLUSH_MS = 20;
const noTimers = { setInterval: () => 1, clearInterval() {} };

/** The packets' fields in arrival order, one column each. */
interface Trace {
  ssrc: Float64Array;
  arrivalMs: Float64Array;
  size: Float64Array;
  rtp: Float64Array;
  abs: Float64Array;
}

function trace(lengthMs: number): Trace {
  const streams = Array.from(
    { length: STREAMS },
    (_, i) => new SyntheticStream(4_752_000, 0x1000 + i),
  );
  const next: PacketInfo[] = streams.map(() => ({
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
  }));
  streams.forEach((stream, i) => stream.next(next[i]));
  const columns: number[][] = [[], [], [], [], []];
  const firstMs = Math.min(...next.map((p) => p.arrivalTimeMs));
  for (let tickMs = firstMs; tickMs < firstMs + lengthMs; tickMs += 2) {
    for (let i = 0; i < STREAMS; i++) {
      const p = next[i];
      while (p.arrivalTimeMs <= tickMs) {
        columns[0].push(p.ssrc);
        columns[1].push(p.arrivalTimeMs);
        columns[2].push(p.payloadSize);
        columns[3].push(p.rtpTimestamp);
        columns[4].push(p.absSendTime!);
        streams[i].next(p);
      }
    }
  }
  const [ssrc, arrivalMs, size, rtp, abs] = columns.map((column) => Float64Array.from(column));
  return { ssrc, arrivalMs, size, rtp, abs };
}

// The start-up, then every iteration's packets (warm-up and summary included) and a second to spare.
const TRACE = trace(
  START_UP_MS + 1000 + (ITERATIONS + WARM_UP + SUMMARY_ROUNDS) * PACKETS_PER_ITERATION / 51,
);
// The trace's building left ~100 MB of arrays behind: collected now, not during a row.
(globalThis as { gc?: () => void }).gc?.();
const startUpPackets = TRACE.arrivalMs.findIndex((ms) => ms >= TRACE.arrivalMs[0] + START_UP_MS);
const sink = new Float64Array(1);
const rows: { name: string; run: () => void; ran: boolean }[] = [];

/** Feeds the trace from where the last call stopped, `count` packets at a time. */
function feeder(onPacket: (packet: PacketInfo) => void, onTime: (ms: number) => void) {
  const packet: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: 0,
  };
  let at = 0;
  return (count: number) => {
    const end = at + count;
    if (end > TRACE.ssrc.length) throw new RangeError("Cannot feed the bench: the trace ran out");
    for (; at < end; at++) {
      packet.ssrc = TRACE.ssrc[at];
      packet.arrivalTimeMs = TRACE.arrivalMs[at];
      packet.payloadSize = TRACE.size[at];
      packet.rtpTimestamp = TRACE.rtp[at];
      packet.absSendTime = TRACE.abs[at];
      onTime(packet.arrivalTimeMs);
      onPacket(packet);
    }
  };
}

{
  const estimator = new BandwidthEstimator();
  const feed = feeder((packet) => estimator.onPacket(packet), () => {});
  feed(startUpPackets);
  bench(`BandwidthEstimator.onPacket, ${STREAMS} streams after ${START_UP_MS / 1000} s`, () => {
    feed(PACKETS_PER_ITERATION);
    sink[0] += estimator.getEstimate();
  });
}

{
  const clock = { now: 0, nowMs: () => clock.now };
  const coordinator = new Coordinator({ host: "inline", clock, timers: noTimers });
  let lastFlushMs = -Infinity;
  const feed = feeder((packet) => coordinator.onPacket(packet), (ms) => {
    clock.now = ms;
    // The flush timer's step, at packet time: an inline host replays at once.
    if (ms - lastFlushMs >= FLUSH_MS) {
      lastFlushMs = ms;
      void coordinator.flush();
    }
  });
  feed(startUpPackets);
  bench(`Coordinator.onPacket + flush every ${FLUSH_MS} ms, inline, ${STREAMS} streams`, () => {
    feed(PACKETS_PER_ITERATION);
    sink[0] += coordinator.getEstimate();
  });
}

function bench(name: string, run: () => void): void {
  const row = { name, run, ran: false };
  rows.push(row);
  Deno.bench({
    name,
    group: "100 streams",
    baseline: rows.length === 1,
    n: ITERATIONS,
    warmup: WARM_UP,
    fn() {
      row.ran = true;
      run();
    },
  });
}

function medianOf(values: Float64Array): number {
  const sorted = values.slice().sort();
  return sorted[sorted.length >> 1];
}

// Rows measured one after another can catch different bursts of load on a shared machine: the
// summary alternates them, 1000 packets at a time, and takes medians over the rounds.
globalThis.addEventListener("unload", () => {
  const measured = rows.filter((row) => row.ran);
  if (measured.length === 0) return;
  const times = measured.map(() => new Float64Array(SUMMARY_ROUNDS));
  for (let round = 0; round < SUMMARY_ROUNDS; round++) {
    measured.forEach((row, i) => {
      const t0 = performance.now();
      row.run();
      times[i][round] = (performance.now() - t0) * 1e3; // ms per 1000 packets → ns per packet
    });
  }
  console.log(`\n${STREAMS} streams, medians of ${SUMMARY_ROUNDS} alternating rounds:`);
  measured.forEach((row, i) =>
    console.log(`  ${row.name}: ${medianOf(times[i]).toFixed(1)} ns/packet`)
  );
});
