import assert from "node:assert/strict";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import { decodeRemb } from "../../core/remb.ts";
import type { PacketInfo } from "../../core/types.ts";
import type { Profile } from "../../core/estimator_settings.ts";
import {
  Coordinator,
  CoordinatorClosedError,
  type CoordinatorEvent,
} from "../../workers/coordinator.ts";
import type { HostKind, Transport } from "../../workers/lane_host.ts";
import { moduleWorkerSources } from "../../workers/sources.ts";
import { onWorkers, runTrace } from "../_helpers/coordinator_trace.ts";
import { IN_THREAD_SOURCES, InThreadWorkers } from "../_helpers/in_thread_workers.ts";
import { generateTrace } from "../_helpers/trace.ts";

const FLUSH_MS = 10;
const manualTimers = { setInterval: () => 0, clearInterval() {} };

/** The core estimator on the same trace, with process() at the same flush points. */
function runCore(
  packets: PacketInfo[],
  grouping: "per-stream" | "transport",
  profile: Profile = "libwebrtc",
): string[] {
  const estimates: string[] = [];
  const core = new BandwidthEstimator({
    grouping,
    profile,
    onEstimate: (bps, ssrcs) => estimates.push(`${bps}:${ssrcs.join(",")}`),
  });
  let nextFlush = packets[0].arrivalTimeMs + FLUSH_MS;
  for (const packet of packets) {
    while (packet.arrivalTimeMs >= nextFlush) {
      core.process(nextFlush);
      nextFlush += FLUSH_MS;
    }
    core.onPacket(packet);
  }
  core.process(nextFlush);
  return estimates;
}

function trace(absSendTime: boolean): PacketInfo[] {
  return generateTrace({
    streams: [
      { ssrc: 0x1111, bitrateBps: 900_000 },
      { ssrc: 0xfeedbeef, bitrateBps: 600_000 },
      { ssrc: 0x7000_0000, bitrateBps: 300_000 },
    ],
    durationMs: 14_000,
    // The link drops below the offered 1.8 Mbit/s at 8 s.
    capacityBps: (t) => (t < 8000 ? 2_500_000 : 1_200_000),
    // The second stream is silent long enough to time out, then returns.
    pauses: [{ ssrc: 0xfeedbeef, fromMs: 3000, toMs: 6500 }],
    absSendTime,
  });
}

const HOSTS: {
  host: HostKind;
  poolSize?: number;
  workerSources?: "module" | "bundle";
  transport?: Transport;
}[] = [
  { host: "inline" },
  { host: "worker-per-stream", workerSources: "module" },
  { host: "worker-per-stream", workerSources: "bundle" },
  { host: "worker-per-stream", workerSources: "bundle", transport: "transfer" },
  { host: "pool", poolSize: 2, workerSources: "module" },
  { host: "pool", poolSize: 2, workerSources: "bundle", transport: "transfer" },
];

for (const profile of ["libwebrtc", "enhanced"] as const) {
  for (const absSendTime of [true, false]) {
    for (const grouping of ["per-stream", "transport"] as const) {
      if (!absSendTime && grouping === "transport") continue; // RTP timestamps are always per SSRC.
      const label = `${absSendTime ? "abs-send-time" : "RTP timestamps"}, ${grouping}${
        profile === "libwebrtc" ? "" : ", enhanced profile"
      }`;
      Deno.test(`Coordinator gives every host the core's estimates and the same REMBs (${label})`, async (t) => {
        const packets = trace(absSendTime);
        const expected = runCore(packets, grouping, profile);
        if (profile === "enhanced" && absSendTime) {
          // The enhanced stages ran: they do not give libwebrtc's estimates.
          assert.notDeepEqual(expected, runCore(packets, grouping));
        }
        assert.ok(expected.length > 20, `the trace yields ${expected.length} estimates`);
        // The capacity drop must show: some estimate after 8 s is below the link's 1.2 Mbit/s.
        assert.ok(expected.slice(-20).some((e) => Number(e.split(":")[0]) < 1_200_000));
        let reference: string[] | undefined;
        for (const { host, poolSize, workerSources, transport } of HOSTS) {
          const where = [
            workerSources ?? "-",
            transport ?? (host === "inline" ? "" : "shared-memory"),
          ]
            .filter(Boolean).join(", ");
          await t.step(`${host}${poolSize ? ` ×${poolSize}` : ""} (${where})`, async () => {
            const run = await runTrace(
              packets,
              (o) =>
                new Coordinator({
                  ...o,
                  host,
                  poolSize,
                  workerSources,
                  transport,
                  grouping,
                  profile,
                }),
              FLUSH_MS,
            );
            try {
              assert.deepEqual(run.estimates, expected);
              reference ??= run.rembs;
              assert.deepEqual(run.rembs, reference);
              assert.ok(run.rembs.length > 10);
            } finally {
              await run.coordinator.close();
            }
            assert.equal(run.coordinator.liveWorkers, 0);
          });
        }
      });
    }
  }
}

// Where the mid-stream move test runs lanes: in-thread workers that answer when the test says, and
// real ones (bundled code: no type-check on start) for each transport's move with a real thread.
const MOVE_HOSTS: {
  host: HostKind;
  poolSize?: number;
  workers: "in-thread" | "bundle";
  transport: Transport;
}[] = [
  { host: "worker-per-stream", workers: "in-thread", transport: "transfer" },
  { host: "pool", poolSize: 2, workers: "in-thread", transport: "transfer" },
  { host: "worker-per-stream", workers: "bundle", transport: "shared-memory" },
  { host: "worker-per-stream", workers: "bundle", transport: "transfer" },
  { host: "pool", poolSize: 2, workers: "bundle", transport: "shared-memory" },
];

Deno.test("Coordinator moves lanes from the inline host to their workers mid-stream, estimates and REMBs unchanged", async (t) => {
  for (const grouping of ["per-stream", "transport"] as const) {
    const packets = trace(true);
    const expected = runCore(packets, grouping);
    const start = packets[0].arrivalTimeMs;
    // Once every stream has begun, and once the paused stream is back (its lane was released and
    // opened again, inline, from its detector): each time the workers answer there and the run
    // waits until the lanes moved, with pipelines well into their grouping and filtering.
    const after = [500, 6800].map((ms) => packets.findIndex((p) => p.arrivalTimeMs - start >= ms));
    // Every pipeline figure at every flush: a lane that moved must carry its whole state.
    const figures = (into: string[]) => (coordinator: Coordinator) => {
      for (const s of coordinator.stats().streams) {
        into.push(`${s.ssrc}:${s.delayOffsetMs}:${s.modifiedOffsetMs}:${s.thresholdMs}`);
      }
    };
    const inlineFigures: string[] = [];
    const inline = await runTrace(
      packets,
      (o) => new Coordinator({ ...o, host: "inline", grouping }),
      FLUSH_MS,
      { onFlush: figures(inlineFigures) },
    );
    await inline.coordinator.close();
    for (const { host, poolSize, workers, transport } of MOVE_HOSTS) {
      const label = `${grouping}, ${host}${
        poolSize ? ` ×${poolSize}` : ""
      } (${workers}, ${transport})`;
      await t.step(label, async () => {
        const inThread = workers === "in-thread" ? new InThreadWorkers() : undefined;
        const runFigures: string[] = [];
        const run = await runTrace(
          packets,
          (o) =>
            new Coordinator({
              ...o,
              host,
              poolSize,
              transport,
              grouping,
              workerSources: inThread ? IN_THREAD_SOURCES : "bundle",
              workerFactory: inThread?.factory,
            }),
          FLUSH_MS,
          {
            onWorkersAfter: after,
            startWorkers: () => inThread?.startAll(),
            onFlush: figures(runFigures),
          },
        );
        try {
          assert.deepEqual(run.estimates, expected);
          assert.deepEqual(run.rembs, inline.rembs);
          assert.deepEqual(runFigures, inlineFigures);
          assert.equal(run.coordinator.stats().failedLanes, 0);
          assert.equal(run.coordinator.stats().startingLanes, 0);
        } finally {
          await run.coordinator.close();
        }
      });
    }
  }
});

/**
 * A spawner that takes every request and starts nothing, as if each worker took forever to answer:
 * the slowest a worker factory can be.
 */
class SpawnerThatNeverStarts {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  readonly ports: MessagePort[] = [];
  spawned = 0;

  postMessage(message: { type: string; port?: MessagePort }): void {
    if (message.type === "spawn") this.spawned++;
    if (message.port) this.ports.push(message.port);
  }

  terminate(): void {
    for (const port of this.ports) port.close(); // the lane workers' ends, never passed on
  }
}

Deno.test("Coordinator gives a burst of new streams on worker-per-stream verdicts before their workers answer", async () => {
  // 10 streams, then 100 new ones whose first packets come within 33 ms, 2 s in.
  const base = generateTrace({
    streams: Array.from({ length: 10 }, (_, k) => ({ ssrc: 0x100 + k, bitrateBps: 300_000 })),
    durationMs: 3000,
    capacityBps: () => 50_000_000,
    absSendTime: true,
  });
  const burst = Array.from({ length: 100 }, (_, k) =>
    generateTrace({
      streams: [{ ssrc: 0x1000 + k, bitrateBps: 300_000 }],
      durationMs: 1000,
      capacityBps: () => 50_000_000,
      absSendTime: true,
      startMs: base[0].arrivalTimeMs + 2000 + k / 3,
    })).flat();
  const packets = [...base, ...burst].sort((a, b) => a.arrivalTimeMs - b.arrivalTimeMs);
  const firstPacketMs = new Map<number, number>();
  for (const p of packets) {
    if (!firstPacketMs.has(p.ssrc)) firstPacketMs.set(p.ssrc, p.arrivalTimeMs);
  }

  const inline = await runTrace(
    packets,
    (o) => new Coordinator({ ...o, host: "inline", maxStreams: 200 }),
    FLUSH_MS,
  );
  await inline.coordinator.close();

  const spawner = new SpawnerThatNeverStarts();
  const firstVerdictMs = new Map<number, number>();
  // A flush that waited for the workers would never resolve: give up after two minutes.
  let guard: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    guard = setTimeout(
      () => reject(new Error("a flush waited for workers that never answer")),
      120_000,
    );
  });
  const running = runTrace(
    packets,
    (o) =>
      new Coordinator({
        ...o,
        host: "worker-per-stream",
        maxStreams: 200,
        workerFactory: () => spawner as unknown as Worker,
      }),
    FLUSH_MS,
    {
      // When each stream's first record has been replayed.
      onFlush: (coordinator, nowMs) => {
        for (const ssrc of coordinator.getSSRCs()) {
          if (!firstVerdictMs.has(ssrc)) firstVerdictMs.set(ssrc, nowMs);
        }
      },
    },
  );
  const run = await Promise.race([running, hung]).finally(() => clearTimeout(guard));
  const stats = run.coordinator.stats();
  try {
    // Every flush resolved with everything replayed, though no worker ever answered.
    assert.equal(spawner.spawned, 110);
    assert.equal(stats.startingLanes, 110);
    assert.equal(stats.pendingRecords, 0);
    assert.equal(stats.streams.length, 110);
    assert.deepEqual(run.estimates, inline.estimates);
    assert.deepEqual(run.rembs, inline.rembs);
    // Each new stream's first verdict is replayed at the first flush after its first packet.
    for (let k = 0; k < 100; k++) {
      const ssrc = 0x1000 + k;
      const lag = firstVerdictMs.get(ssrc)! - firstPacketMs.get(ssrc)!;
      assert.ok(lag >= 0 && lag <= FLUSH_MS, `stream ${k}: ${lag} ms`);
    }
  } finally {
    await run.coordinator.close();
  }
});

Deno.test("Coordinator sends a worker lane's records at every flushesPerBatch-th flush, and a full batch at once", () => {
  const posted: string[] = [];
  let worker: Worker | undefined;
  const fake = {
    onmessage: null as ((event: MessageEvent) => void) | null,
    onerror: null,
    postMessage: (message: { type: string }) => posted.push(message.type),
    terminate() {},
  };
  let tick = () => {};
  const packets = generateTrace({
    streams: [{ ssrc: 5, bitrateBps: 1_000_000 }],
    durationMs: 2000,
    capacityBps: () => 5_000_000,
    absSendTime: true,
  });
  let next = 0;
  const coordinator = new Coordinator({
    host: "pool",
    transport: "transfer",
    flushesPerBatch: 2,
    workerFactory: () => (worker = fake as unknown as Worker),
    timers: { setInterval: (callback) => (tick = callback, 0), clearInterval() {} },
    clock: { nowMs: () => packets[Math.max(0, next - 1)].arrivalTimeMs },
  });
  assert.ok(worker);
  fake.onmessage!(new MessageEvent("message", { data: { type: "started" } }));
  const feed = (n: number) => {
    for (const end = next + n; next < end; next++) coordinator.onPacket(packets[next]);
  };
  const batches = () => posted.filter((type) => type === "batches").length;
  feed(1);
  tick(); // runs inline, the lane's worker has answered: the lane moves there
  assert.deepEqual(posted, ["open"]);
  feed(5);
  tick();
  assert.equal(batches(), 0); // gathering
  feed(5);
  tick();
  assert.equal(batches(), 1); // 10 records, one wake-up
  feed(3);
  tick();
  tick();
  assert.equal(batches(), 2);
  feed(64);
  assert.equal(batches(), 3); // full: sent at once
  tick();
  assert.equal(batches(), 3);
  coordinator.close();
});

Deno.test("Coordinator on the inline host replays at each flush and at a full batch, as batches would", () => {
  // The inline host runs each record as it is admitted, with no batch; the replay must still
  // reach a record only where its batch would have come back, or REMBs would leave at other times
  // than on the worker hosts.
  let tick = () => {};
  const packets = generateTrace({
    streams: [{ ssrc: 5, bitrateBps: 1_000_000 }, { ssrc: 6, bitrateBps: 500_000 }],
    durationMs: 2000,
    capacityBps: () => 5_000_000,
    absSendTime: true,
  });
  let next = 0;
  const coordinator = new Coordinator({
    host: "inline",
    batchSize: 8,
    timers: { setInterval: (callback) => (tick = callback, 0), clearInterval() {} },
    clock: { nowMs: () => packets[Math.max(0, next - 1)].arrivalTimeMs },
  });
  const feed = (n: number) => {
    for (const end = next + n; next < end; next++) coordinator.onPacket(packets[next]);
  };
  const replayed = () =>
    coordinator.stats().streams.reduce((sum, stream) => sum + stream.packets, 0);
  const ofStream = (ssrc: number, from: number, to: number) =>
    packets.slice(from, to).filter((packet) => packet.ssrc === ssrc).length;
  try {
    feed(3);
    assert.equal(replayed(), 0); // waiting for the flush
    tick();
    assert.equal(replayed(), 3);
    // Feed until stream 5 has 8 records since the flush: its batch is full, so the log replays up
    // to the first record of stream 6 admitted since the flush, which waits for the next flush.
    const from = next;
    while (ofStream(5, from, next) < 8) feed(1);
    const firstOf6 = packets.slice(from, next).findIndex((packet) => packet.ssrc === 6);
    assert.equal(replayed(), from + (firstOf6 < 0 ? next - from : firstOf6));
    tick();
    assert.equal(replayed(), next);
    // The records ran when admitted: the lane's figures are those a batch would have reported.
    assert.ok(coordinator.stats().streams.every((stream) => stream.thresholdMs! > 0));
  } finally {
    coordinator.close();
  }
});

Deno.test("Coordinator replays a worker lane's verdicts at most flushesPerBatch - 1 flushes after the inline host would", async (t) => {
  const packets = generateTrace({
    streams: [{ ssrc: 5, bitrateBps: 1_500_000 }, { ssrc: 6, bitrateBps: 700_000 }],
    durationMs: 1500,
    capacityBps: () => 10_000_000,
    absSendTime: true,
  });
  // Lets the in-thread workers' messages through, and waits for their answers: the bound is only
  // reached if a batch is held back.
  const replayedUpTo = async (coordinator: Coordinator, records: number) => {
    const deadline = performance.now() + 10_000;
    const replayed = () =>
      coordinator.stats().streams.reduce((sum, stream) => sum + stream.packets, 0);
    do await new Promise((resolve) => setTimeout(resolve, 0)); while (
      replayed() < records && performance.now() < deadline
    );
    return replayed();
  };
  for (const flushesPerBatch of [1, 2, 3]) {
    await t.step(`flushesPerBatch ${flushesPerBatch}`, async () => {
      const workers = new InThreadWorkers();
      let tick = () => {};
      let now = packets[0].arrivalTimeMs;
      const coordinator = new Coordinator({
        host: "worker-per-stream",
        transport: "transfer",
        flushesPerBatch,
        workerSources: IN_THREAD_SOURCES,
        workerFactory: workers.factory,
        timers: { setInterval: (callback) => (tick = callback, 0), clearInterval() {} },
        clock: { nowMs: () => now },
      });
      // Records fed before each tick, and replayed after it once the workers have answered.
      const fed: number[] = [];
      const replayed: number[] = [];
      let nextTick = now + FLUSH_MS;
      for (const [i, packet] of packets.entries()) {
        while (packet.arrivalTimeMs >= nextTick) {
          now = nextTick;
          nextTick += FLUSH_MS;
          workers.startAll(); // a worker answers as soon as it is asked for; its lane moves at a tick
          tick();
          fed.push(i);
          const due = fed[Math.max(0, fed.length - flushesPerBatch)];
          replayed.push(await replayedUpTo(coordinator, due));
          assert.ok(replayed.at(-1)! >= due, `tick ${fed.length}: ${replayed.at(-1)} of ${due}`);
        }
        now = packet.arrivalTimeMs;
        coordinator.onPacket(packet);
      }
      const stats = coordinator.stats();
      await coordinator.close();
      assert.equal(stats.startingLanes, 0);
      assert.equal(stats.failedLanes, 0);
      // Records wait at all but every flushesPerBatch-th tick (less a few before the lanes moved).
      const held = fed.filter((n, k) => replayed[k] < n).length;
      const expected = (fed.length * (flushesPerBatch - 1)) / flushesPerBatch;
      if (flushesPerBatch === 1) assert.equal(held, 0);
      else assert.ok(held >= expected - 5, `${held} of ${fed.length} ticks held records`);
    });
  }
});

Deno.test("Coordinator ends a silent stream's worker and starts a new one when it returns", async () => {
  const packets = trace(true);
  let now = packets[0].arrivalTimeMs;
  const coordinator = new Coordinator({
    host: "worker-per-stream",
    workerSources: "module",
    timers: manualTimers,
    clock: { nowMs: () => now },
  });
  const liveAt = new Map<number, number>();
  let nextFlush = now + FLUSH_MS;
  const start = now;
  for (const packet of packets) {
    while (packet.arrivalTimeMs >= nextFlush) {
      now = nextFlush;
      await coordinator.flush();
      nextFlush += FLUSH_MS;
      liveAt.set(Math.round(now - start), coordinator.liveWorkers);
    }
    now = packet.arrivalTimeMs;
    coordinator.onPacket(packet);
  }
  await coordinator.close();
  // Spawner + 3 lane workers while all send; the paused stream's worker ends after 2 s of silence.
  assert.equal(liveAt.get(2500), 4);
  assert.equal(liveAt.get(5500), 3);
  assert.equal(liveAt.get(7500), 4);
  assert.equal(coordinator.liveWorkers, 0);
});

Deno.test("Coordinator refuses streams beyond maxStreams, reports them once and counts their packets", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = new Coordinator({
    host: "worker-per-stream",
    workerSources: "module",
    maxStreams: 2,
    timers: manualTimers,
    onEvent: (event) => events.push(event),
  });
  const packets = generateTrace({
    streams: [1, 2, 3, 4].map((ssrc) => ({ ssrc, bitrateBps: 300_000 })),
    durationMs: 1000,
    capacityBps: () => 5_000_000,
    absSendTime: true,
  });
  for (const packet of packets) coordinator.onPacket(packet, packet.arrivalTimeMs);
  await coordinator.flush();
  const stats = coordinator.stats();
  await coordinator.close();
  assert.deepEqual(
    events.map((e) => e.type === "stream-refused" ? e.ssrc : -1).sort(),
    [3, 4],
  );
  assert.equal(stats.refusedStreams, 2);
  assert.equal(stats.refusedPackets, packets.filter((p) => p.ssrc > 2).length);
  assert.equal(stats.packets, packets.filter((p) => p.ssrc <= 2).length);
  assert.ok(stats.liveWorkers <= 3, `${stats.liveWorkers} workers for 2 streams`);
  assert.deepEqual(coordinator.getSSRCs(), [1, 2]);
});

for (
  const [fault, transport] of [
    ["throws", "shared-memory"],
    ["goes silent", "shared-memory"],
    ["throws", "transfer"],
    ["goes silent", "transfer"],
  ] as const
) {
  Deno.test(`Coordinator takes over inline when a lane worker ${fault} (${transport}), and the estimate continues`, async () => {
    const events: CoordinatorEvent[] = [];
    const worker = fault === "throws" ? "_throwing_lane_worker.ts" : "_silent_lane_worker.ts";
    const packets = generateTrace({
      streams: [{ ssrc: 42, bitrateBps: 800_000 }],
      durationMs: 8000,
      capacityBps: () => 5_000_000,
      absSendTime: true,
    });
    // The receiver clock follows the trace, so the stream never times out while the test waits.
    let now = packets[0].arrivalTimeMs;
    const coordinator = new Coordinator({
      host: "worker-per-stream",
      transport,
      workerSources: {
        spawnerUrl: moduleWorkerSources().spawnerUrl,
        laneWorkerUrl: new URL(worker, import.meta.url).href,
      },
      workerTimeoutMs: 100,
      timers: manualTimers,
      clock: { nowMs: () => now },
      onEvent: (event) => events.push(event),
    });
    const core = new BandwidthEstimator();
    for (const packet of packets) core.onPacket(packet);
    let flushes = 0;
    for (const [i, packet] of packets.entries()) {
      now = packet.arrivalTimeMs;
      coordinator.onPacket(packet);
      // The lane runs inline until its worker answers, about a second later: the fault comes after.
      if (i === 0) await onWorkers(coordinator);
      if (i % 20 !== 19) continue;
      flushes++;
      // A silent worker is only noticed by the watchdog, in real time: tick until it gives up.
      for (let wait = 0; wait < 100; wait++) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const done = await Promise.race([
          coordinator.flush().then(() => true),
          new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 20)),
        ]);
        clearTimeout(timer);
        if (done) break;
      }
    }
    await coordinator.flush();
    const stats = coordinator.stats();
    await coordinator.close();
    assert.ok(flushes > 10);
    assert.equal(stats.failedLanes, 1);
    const failures = events.filter((e) => e.type === "lane-failed");
    assert.equal(failures.length, 1);
    // Silence is found by the watchdog; a throw by its error event or, if that is slow to come
    // from a worker's worker (Deno can take seconds), by the watchdog too.
    assert.match(
      failures[0].type === "lane-failed" ? failures[0].error : "",
      fault === "throws" ? /broke on purpose|no answer for 100 ms/ : /no answer for 100 ms/,
    );
    assert.equal(stats.pendingRecords, 0);
    assert.equal(stats.packets, packets.length);
    // The lane restarted its filter from the detector state it had; the estimate carries on.
    assert.ok(core.getEstimate() > 500_000);
    assert.ok(
      Math.abs(stats.estimateBps! - core.getEstimate()) < 0.1 * core.getEstimate(),
      `estimate ${stats.estimateBps}, core ${core.getEstimate()}`,
    );
    assert.equal(coordinator.liveWorkers, 0);
  });
}

Deno.test("Coordinator.close() is idempotent, ends every worker and makes later calls throw", async (t) => {
  await t.step("during traffic, with a flush pending", async () => {
    const coordinator = new Coordinator({ host: "pool", poolSize: 2, workerSources: "module" });
    const packets = trace(true).slice(0, 500);
    for (const packet of packets) coordinator.onPacket(packet);
    const pending = coordinator.flush();
    await coordinator.close();
    await pending; // resolves rather than hanging
    await coordinator.close();
    assert.equal(coordinator.closed, true);
    assert.equal(coordinator.liveWorkers, 0);
    assert.throws(() => coordinator.onPacket(packets[0]), CoordinatorClosedError);
    assert.throws(() => coordinator.removeStream(1), CoordinatorClosedError);
    await assert.rejects(coordinator.flush(), CoordinatorClosedError);
  });
  await t.step("with the default timer, which does not keep the process alive", async () => {
    const coordinator = new Coordinator({ host: "inline" });
    coordinator.onPacket(trace(true)[0]);
    await coordinator.close();
    assert.equal(coordinator.liveWorkers, 0);
  });
});

Deno.test("Coordinator rejects bad options and bad packets with clear errors", async () => {
  assert.throws(() => new Coordinator({ host: "threads" as HostKind }), RangeError);
  assert.throws(() => new Coordinator({ host: 1 as unknown as HostKind }), TypeError);
  assert.throws(() => new Coordinator({ flushIntervalMs: 0 }), RangeError);
  assert.throws(() => new Coordinator({ maxStreams: 1.5 }), RangeError);
  assert.throws(() => new Coordinator({ flushesPerBatch: 0 }), RangeError);
  assert.throws(() => new Coordinator({ flushesPerBatch: 1.5 }), RangeError);
  assert.throws(() => new Coordinator({ minBitrateBps: 10, maxBitrateBps: 5 }), RangeError);
  // Options that contradict each other are refused with both named.
  assert.throws(() => new Coordinator({ host: "inline", poolSize: 2 }), {
    name: "RangeError",
    message:
      `Cannot create coordinator as 'poolSize' needs 'host' "pool": current values are 2 and "inline"`,
  });
  assert.throws(() => new Coordinator({ startRembBps: 2e6, maxBitrateBps: 1e6 }), {
    name: "RangeError",
    message:
      "Cannot create coordinator as 'startRembBps' must not exceed 'maxBitrateBps': current values are 2000000 and 1000000",
  });
  assert.throws(() => new Coordinator({ startBitrateBps: 2e6, maxBitrateBps: 1e6 }), {
    name: "RangeError",
    message:
      "Cannot create coordinator as 'startBitrateBps' must lie between 'minBitrateBps' and 'maxBitrateBps': current values are 2000000, 5000 and 1000000",
  });
  const coordinator = new Coordinator({ host: "inline", timers: manualTimers });
  // Wrong types are TypeErrors, wrong values RangeErrors.
  assert.throws(() => coordinator.setMaxDesiredBitrate("1e6" as unknown as number), TypeError);
  assert.throws(() => coordinator.setMaxDesiredBitrate(-1), RangeError);
  assert.throws(() => coordinator.setRtt("50" as unknown as number), TypeError);
  assert.throws(() => coordinator.removeStream("1" as unknown as number), TypeError);
  assert.throws(
    () => coordinator.onPacket({ ssrc: -1, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 }),
    /'ssrc' must be a 32-bit unsigned integer: current value is -1/,
  );
  assert.throws(() => coordinator.setRtt(0), RangeError);
  await coordinator.close();
});

Deno.test("Coordinator reports overuse at most one flush interval after the core does", async () => {
  const packets = trace(true);
  // The core's first estimate below the link after the drop, and when it came.
  const core = new BandwidthEstimator();
  let coreDropMs = -1;
  for (const p of packets) {
    core.onPacket(p);
    if (coreDropMs < 0 && p.arrivalTimeMs > 18_000 && core.getEstimate() < 1_200_000) {
      coreDropMs = p.arrivalTimeMs;
    }
  }
  let now = packets[0].arrivalTimeMs;
  let hostDropMs = -1;
  const coordinator = new Coordinator({
    host: "inline",
    timers: manualTimers,
    clock: { nowMs: () => now },
    onEstimate: (bps) => {
      if (hostDropMs < 0 && now > 18_000 && bps < 1_200_000) hostDropMs = now;
    },
  });
  let nextFlush = now + FLUSH_MS;
  for (const p of packets) {
    while (p.arrivalTimeMs >= nextFlush) {
      now = nextFlush;
      await coordinator.flush();
      nextFlush += FLUSH_MS;
    }
    now = p.arrivalTimeMs;
    coordinator.onPacket(p);
  }
  await coordinator.close();
  assert.ok(coreDropMs > 0 && hostDropMs > 0);
  assert.ok(hostDropMs - coreDropMs <= FLUSH_MS, `${hostDropMs - coreDropMs} ms later`);
});

Deno.test("Coordinator delivers a backlog larger than a lane's shared slots when flushed", async () => {
  const packets = generateTrace({
    streams: [{ ssrc: 9, bitrateBps: 2_000_000 }],
    durationMs: 12_000,
    capacityBps: () => 5_000_000,
    absSendTime: true,
  });
  // No timer ticks: every full batch waits for slots, far more than a lane has.
  const run = async (host: HostKind) => {
    const coordinator = new Coordinator({ host, timers: manualTimers, workerSources: "module" });
    for (const packet of packets) coordinator.onPacket(packet);
    await coordinator.flush();
    const stats = coordinator.stats();
    await coordinator.close();
    return stats;
  };
  const inline = await run("inline");
  const shared = await run("worker-per-stream");
  assert.ok(packets.length > 20 * 64);
  assert.equal(shared.pendingRecords, 0);
  assert.equal(shared.packets, packets.length);
  assert.equal(shared.estimateBps, inline.estimateBps);
});

Deno.test("Coordinator sends REMB for more than 255 streams, listing the first 255", async () => {
  const rembs: { ssrcs: number[]; bitrateBps: number }[] = [];
  const errors: unknown[] = [];
  let now = 1000;
  const coordinator = new Coordinator({
    host: "inline",
    maxStreams: 1000,
    timers: manualTimers,
    clock: { nowMs: () => now },
    onRemb: (bytes) => rembs.push(decodeRemb(bytes)),
    onError: (error) => errors.push(error),
  });
  // 300 streams of 30 packets/s for 7 s (the first estimate comes after 5 s without probes).
  for (let frame = 0; frame < 210; frame++) {
    for (let ssrc = 1; ssrc <= 300; ssrc++) {
      now = 1000 + frame * 33 + ssrc * 0.01;
      const sendMs = frame * 33 + ssrc * 0.01;
      coordinator.onPacket({
        ssrc,
        arrivalTimeMs: now,
        payloadSize: 300,
        rtpTimestamp: frame * 3000,
        absSendTime: Math.round((sendMs * 2 ** 18) / 1000) & 0xffffff,
      });
    }
    if (frame % 3 === 2) await coordinator.flush();
  }
  await coordinator.close();
  assert.deepEqual(errors, []);
  assert.ok(rembs.length > 0);
  for (const remb of rembs) {
    assert.equal(remb.ssrcs.length, 255);
    assert.deepEqual(remb.ssrcs, Array.from({ length: 255 }, (_, i) => i + 1));
  }
});

Deno.test("Coordinator.activeSSRCs() is one frozen array until a stream starts or ends", async () => {
  const coordinator = new Coordinator({
    host: "inline",
    timers: { setInterval: () => 0, clearInterval() {} },
  });
  const packet = (ssrc: number, ms: number): PacketInfo => ({
    ssrc,
    arrivalTimeMs: 1000 + ms,
    payloadSize: 1000,
    rtpTimestamp: ms * 90,
    absSendTime: Math.round((ms * 2 ** 18) / 1000),
  });
  coordinator.onPacket(packet(1, 0));
  await coordinator.flush();
  const first = coordinator.activeSSRCs();
  assert.deepEqual(first, [1]);
  assert.ok(Object.isFrozen(first));
  coordinator.onPacket(packet(1, 10));
  await coordinator.flush();
  assert.equal(coordinator.activeSSRCs(), first, "a known stream's packet keeps the array");
  coordinator.onPacket(packet(2, 20));
  await coordinator.flush();
  const second = coordinator.activeSSRCs();
  assert.notEqual(second, first);
  assert.deepEqual(second, [1, 2]);
  coordinator.removeStream(1);
  await coordinator.flush();
  assert.deepEqual(coordinator.activeSSRCs(), [2]);
  assert.deepEqual(coordinator.getSSRCs(), [2]);
  await coordinator.close();
});
