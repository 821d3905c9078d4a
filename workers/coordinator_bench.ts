/**
 * The receiving thread's cost per packet at the host benchmarks' loads, without their event loop:
 * 100 and 1000 streams × 510 packets/s in arrival order (each stream's due packets every 2 ms),
 * after the first 6 s (the start-up, in which every packet is a probe candidate, is fed before
 * measuring), through a `Coordinator` flushed every 20 ms of packet time, inline and with a pool of
 * one worker (whose pipelines run on the other core: the row is the receiving thread's share),
 * against a `BandwidthEstimator` fed the same packets. Each iteration handles the next 1000 packets of the
 * trace, so µs per iteration is ns per packet; `deno task bench:hosts` measures the same loads paced
 * in real time.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { BandwidthEstimator } from "../core/bandwidth_estimator.ts";
import type { PacketInfo } from "../core/types.ts";
import { type PacedStreams, pacedStreams } from "../tests/_helpers/paced_streams.ts";
import { Coordinator } from "./coordinator.ts";

const PACKETS_PER_STREAM_AND_S = 510;
const START_UP_MS = 6000;
const PACKETS_PER_ITERATION = 1000;
const ITERATIONS = 400;
const WARM_UP = 100;
// Rounds of the summary printed at the end, which alternates a group's rows.
const SUMMARY_ROUNDS = 400;
const FLUSH_MS = 20;
const noTimers = { setInterval: () => 1, clearInterval() {} };

/** The trace, and how many of its packets the start-up takes. */
interface Trace extends PacedStreams {
  startUp: number;
}

function trace(streamCount: number): Trace {
  // The start-up, then every iteration's packets (twice what the bench's warm-up and iterations
  // take: its runner may calibrate with a few more; and the summary), and 100 ms more.
  const packets = (2 * (ITERATIONS + WARM_UP) + SUMMARY_ROUNDS) * PACKETS_PER_ITERATION;
  const lengthMs = START_UP_MS + 100 + packets * 1000 / (streamCount * PACKETS_PER_STREAM_AND_S);
  const columns = pacedStreams(streamCount, lengthMs);
  const startUp = columns.arrivalMs.findIndex((ms) => ms >= columns.firstMs + START_UP_MS);
  // Building left a few hundred MB of arrays behind: collected now, not during a row.
  (globalThis as { gc?: () => void }).gc?.();
  return { ...columns, startUp };
}

/** Feeds a trace from where the last call stopped, `count` packets at a time. */
function feeder(
  trace: Trace,
  onPacket: (packet: PacketInfo) => void,
  onTime: (ms: number) => void,
): (count: number) => void {
  const packet: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: 0,
  };
  let at = 0;
  return (count) => {
    const end = at + count;
    if (end > trace.ssrc.length) throw new RangeError("Cannot feed the bench: the trace ran out");
    for (; at < end; at++) {
      packet.ssrc = trace.ssrc[at];
      packet.arrivalTimeMs = trace.arrivalMs[at];
      packet.payloadSize = trace.size[at];
      packet.rtpTimestamp = trace.rtp[at];
      packet.absSendTime = trace.abs[at];
      onTime(packet.arrivalTimeMs);
      onPacket(packet);
    }
  };
}

interface Row {
  group: string;
  name: string;
  run: () => void;
  ran: boolean;
}

const sink = new Float64Array(1);
const rows: Row[] = [];
const closers: (() => Promise<void>)[] = [];

function bench(group: string, name: string, run: () => void): void {
  const row = { group, name, run, ran: false };
  rows.push(row);
  Deno.bench({
    name,
    group,
    baseline: rows.filter((r) => r.group === group).length === 1,
    n: ITERATIONS,
    warmup: WARM_UP,
    fn() {
      row.ran = true;
      run();
    },
  });
}

for (const streamCount of [100, 1000]) {
  const group = `${streamCount} streams`;
  const packets = trace(streamCount);
  {
    const estimator = new BandwidthEstimator();
    const feed = feeder(packets, (packet) => estimator.onPacket(packet), () => {});
    feed(packets.startUp);
    bench(group, `BandwidthEstimator.onPacket, ${group} after ${START_UP_MS / 1000} s`, () => {
      feed(PACKETS_PER_ITERATION);
      sink[0] += estimator.getEstimate();
    });
  }
  for (const host of ["inline", "pool"] as const) {
    const clock = { now: 0, nowMs: () => clock.now };
    const coordinator = new Coordinator({
      ...(host === "pool" ? { host, poolSize: 1 } : { host }),
      clock,
      timers: noTimers,
      maxStreams: streamCount,
    });
    let lastFlushMs = -Infinity;
    const feed = feeder(packets, (packet) => coordinator.onPacket(packet), (ms) => {
      clock.now = ms;
      // The flush timer's step, at packet time: an inline host replays at once, a pool's worker
      // has its results ready by one of the next steps.
      if (ms - lastFlushMs >= FLUSH_MS) {
        lastFlushMs = ms;
        void coordinator.flush();
      }
    });
    feed(packets.startUp);
    // The pool's lanes run inline until its worker answers, which takes the event loop.
    for (let waited = 0; coordinator.stats().startingLanes > 0; waited += 20) {
      if (waited > 30_000) throw new Error("Cannot bench the pool: its worker did not start");
      void coordinator.flush(); // Lanes move at a flush.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const where = host === "pool" ? "a pool of 1 (the receiving thread's share)" : "inline";
    bench(group, `Coordinator.onPacket + flush every ${FLUSH_MS} ms, ${where}, ${group}`, () => {
      feed(PACKETS_PER_ITERATION);
      sink[0] += coordinator.getEstimate();
    });
    closers.push(() => coordinator.close());
  }
}

// Rows measured one after another can catch different bursts of load on a shared machine: the
// summary alternates a group's rows, 1000 packets at a time. It reports means, not medians: the
// coordinator's replay runs in the rounds that reach a flush tick (every round at 100 streams, one
// in ten at 1000), so a median round leaves it out.
globalThis.addEventListener("unload", () => {
  for (const group of new Set(rows.map((row) => row.group))) {
    const measured = rows.filter((row) => row.group === group && row.ran);
    if (measured.length === 0) continue;
    const totalMs = measured.map(() => 0);
    for (let round = 0; round < SUMMARY_ROUNDS; round++) {
      measured.forEach((row, i) => {
        const t0 = performance.now();
        row.run();
        totalMs[i] += performance.now() - t0;
      });
    }
    console.log(`\n${group}, means over ${SUMMARY_ROUNDS} alternating rounds:`);
    measured.forEach((row, i) => {
      const ns = totalMs[i] * 1e6 / (SUMMARY_ROUNDS * PACKETS_PER_ITERATION);
      console.log(`  ${row.name}: ${ns.toFixed(1)} ns/packet`);
    });
  }
  for (const close of closers) void close();
});
