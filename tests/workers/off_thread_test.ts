import assert from "node:assert/strict";
import type { PacketInfo } from "../../core/types.ts";
import {
  Coordinator,
  CoordinatorClosedError,
  type CoordinatorEvent,
} from "../../workers/coordinator.ts";
import type { HostKind } from "../../workers/lane_host.ts";
import { OffThreadCoordinator } from "../../workers/off_thread.ts";
import { runTrace } from "../_helpers/coordinator_trace.ts";
import { generateTrace } from "../_helpers/trace.ts";

const FLUSH_MS = 10;
const manualTimers = { setInterval: () => 0, clearInterval() {} };

function trace(absSendTime: boolean): PacketInfo[] {
  return generateTrace({
    streams: [
      { ssrc: 0x1111, bitrateBps: 900_000 },
      { ssrc: 0xfeedbeef, bitrateBps: 600_000 },
      { ssrc: 0x7000_0000, bitrateBps: 300_000 },
    ],
    durationMs: 12_000,
    capacityBps: (t) => (t < 7000 ? 2_500_000 : 1_200_000),
    pauses: [{ ssrc: 0xfeedbeef, fromMs: 3000, toMs: 6000 }],
    absSendTime,
  });
}

// Over 10,000 packets: with a ring of 64 entries, a backlog longer than one spill ring.
function longTrace(): PacketInfo[] {
  return generateTrace({
    streams: [{ ssrc: 0x1111, bitrateBps: 1_500_000 }, { ssrc: 0x2222, bitrateBps: 600_000 }],
    durationMs: 40_000,
    capacityBps: (t) => (t < 20_000 ? 3_000_000 : 1_500_000),
    absSendTime: true,
  });
}

// 16 streams for a minute, over 100,000 packets: a backlog whose replay takes many slices.
function wideTrace(): PacketInfo[] {
  return generateTrace({
    streams: Array.from({ length: 16 }, (_, i) => ({ ssrc: 0x100 + i, bitrateBps: 2_000_000 })),
    durationMs: 60_000,
    capacityBps: () => 40_000_000,
    absSendTime: true,
  });
}

// A worker that dies on its first message, as one that crashed would.
const dyingWorker = () =>
  new Worker(new URL("./_dying_worker.ts", import.meta.url), { type: "module" });

// An inline off-thread coordinator whose worker dies, with a ring of 64 entries.
function dyingCoordinator(events: CoordinatorEvent[]): OffThreadCoordinator {
  return new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    ringCapacity: 64,
    workerFactory: dyingWorker,
    onEvent: (event) => events.push(event),
  });
}

// The death is noticed between turns of the event loop.
async function untilFailed(events: CoordinatorEvent[]): Promise<void> {
  for (let i = 0; i < 100 && events.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const absSendTime of [true, false]) {
  const label = absSendTime ? "abs-send-time" : "RTP timestamps";
  Deno.test(`OffThreadCoordinator gives a Coordinator's estimates and REMBs on every host (${label})`, async (t) => {
    const packets = trace(absSendTime);
    const local = await runTrace(
      packets,
      (o) => new Coordinator({ ...o, host: "inline" }),
      FLUSH_MS,
    );
    await local.coordinator.close();
    assert.ok(local.estimates.length > 20);
    assert.ok(local.rembs.length > 10);
    // The capacity drop shows in the estimates.
    assert.ok(local.estimates.slice(-20).some((e) => Number(e.split(":")[0]) < 1_200_000));
    for (const host of ["inline", "pool", "worker-per-stream"] as HostKind[]) {
      await t.step(host, async () => {
        const run = await runTrace(
          packets,
          (o) => new OffThreadCoordinator({ ...o, host, workerSources: "module" }),
          FLUSH_MS,
        );
        try {
          assert.deepEqual(run.estimates, local.estimates);
          assert.deepEqual(run.rembs, local.rembs);
          assert.equal(run.coordinator.getEstimate(), local.coordinator.getEstimate());
          const stats = run.coordinator.stats();
          assert.equal(stats.packets, packets.length);
          assert.equal(stats.pendingRecords, 0);
          assert.ok(run.coordinator.liveWorkers >= 1);
        } finally {
          await run.coordinator.close();
        }
        assert.equal(run.coordinator.liveWorkers, 0);
      });
    }
  });
}

Deno.test("OffThreadCoordinator loses nothing when the ring is full between flushes", async () => {
  const packets = trace(true).slice(0, 3000);
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    ringCapacity: 64,
    workerSources: "module",
  });
  const local = new Coordinator({ host: "inline", timers: manualTimers });
  for (const packet of packets) {
    coordinator.onPacket(packet);
    local.onPacket(packet);
  }
  coordinator.removeStream(0x1111);
  local.removeStream(0x1111);
  await coordinator.flush();
  await local.flush();
  const stats = coordinator.stats();
  assert.equal(stats.packets, packets.length);
  assert.equal(stats.pendingRecords, 0);
  assert.equal(coordinator.getEstimate(), local.getEstimate());
  assert.deepEqual(coordinator.getSSRCs(), local.getSSRCs());
  await coordinator.close();
  await local.close();
});

Deno.test("OffThreadCoordinator takes over on the receiving thread when its worker dies", async () => {
  const events: CoordinatorEvent[] = [];
  let made = 0;
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    workerSources: "module",
    // A small ring: the take-over replays both the ring and the queue behind it.
    ringCapacity: 256,
    // A worker that dies on its first message, as one that crashed would.
    workerFactory: () => {
      made++;
      return new Worker(new URL("./_dying_worker.ts", import.meta.url), { type: "module" });
    },
    onEvent: (event) => events.push(event),
  });
  const packets = trace(true);
  const core = new Coordinator({ host: "inline", timers: manualTimers });
  for (const packet of packets) {
    coordinator.onPacket(packet);
    core.onPacket(packet);
  }
  // The death is noticed between turns of the event loop; flush until it is.
  for (let i = 0; i < 100 && events.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await coordinator.flush();
  await core.flush();
  assert.equal(made, 1);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "coordinator-failed");
  // Nothing was read by the dead worker, so the coordinator here saw every packet.
  assert.equal(coordinator.stats().packets, packets.length);
  assert.equal(coordinator.getEstimate(), core.getEstimate());
  await coordinator.close();
  await core.close();
  assert.equal(coordinator.liveWorkers, 0);
});

Deno.test("OffThreadCoordinator.close() is idempotent, ends its workers and makes later calls throw", async () => {
  const coordinator = new OffThreadCoordinator({ host: "worker-per-stream" });
  for (const packet of trace(true).slice(0, 500)) coordinator.onPacket(packet);
  await coordinator.flush();
  assert.ok(coordinator.liveWorkers >= 2, `${coordinator.liveWorkers} workers`);
  const closing = coordinator.close();
  assert.equal(coordinator.closed, true);
  assert.equal(coordinator.close(), closing);
  await closing;
  assert.equal(coordinator.liveWorkers, 0);
  assert.throws(
    () => coordinator.onPacket({ ssrc: 1, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 }),
    CoordinatorClosedError,
  );
  await assert.rejects(coordinator.flush(), CoordinatorClosedError);
  assert.throws(() => coordinator.removeStream(1), CoordinatorClosedError);
  assert.throws(() => coordinator.setRtt(50), {
    name: "CoordinatorClosedError",
    message: "Cannot set RTT as the coordinator is closed",
  });
  assert.throws(() => coordinator.setMaxDesiredBitrate(500_000), CoordinatorClosedError);
});

Deno.test("OffThreadCoordinator.setRtt() throws CoordinatorClosedError after close, also once it took over", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    workerFactory: dyingWorker,
    onEvent: (event) => events.push(event),
  });
  for (let i = 0; i < 100 && events.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(events[0]?.type, "coordinator-failed");
  coordinator.setRtt(50); // The coordinator on this thread takes it.
  await coordinator.close();
  assert.throws(() => coordinator.setRtt(50), CoordinatorClosedError);
  // Closed comes first, as for every other call: a bad value after close is still a closed error.
  assert.throws(() => coordinator.setRtt(0), CoordinatorClosedError);
  assert.throws(
    () => coordinator.onPacket({ ssrc: 1, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 }),
    CoordinatorClosedError,
  );
  await assert.rejects(coordinator.flush(), CoordinatorClosedError);
});

Deno.test("OffThreadCoordinator keeps the order of a backlog several spill rings long", async () => {
  // 64 entries in the ring and twice over 5000 packets: the rest waits in two spill rings of 4096
  // entries, and the second half reuses the first half's.
  const packets = longTrace();
  assert.ok(packets.length > 2 * (4096 + 64), `${packets.length} packets`);
  const run = async (coordinator: Coordinator | OffThreadCoordinator) => {
    const estimates: number[] = [];
    const half = packets.length >> 1;
    for (const packet of packets.slice(0, half)) coordinator.onPacket(packet);
    coordinator.setRtt(80);
    await coordinator.flush();
    estimates.push(coordinator.getEstimate());
    for (const packet of packets.slice(half)) coordinator.onPacket(packet);
    coordinator.removeStream(0x2222);
    await coordinator.flush();
    estimates.push(coordinator.getEstimate());
    return estimates;
  };
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    ringCapacity: 64,
    workerSources: "module",
  });
  const local = new Coordinator({ host: "inline", timers: manualTimers });
  try {
    assert.deepEqual(await run(coordinator), await run(local));
    assert.deepEqual(coordinator.getSSRCs(), local.getSSRCs());
    const stats = coordinator.stats();
    assert.equal(stats.packets, packets.length);
    assert.equal(stats.pendingRecords, 0);
  } finally {
    await coordinator.close();
    await local.close();
  }
});

Deno.test("OffThreadCoordinator replays a backlog several spill rings long when its worker dies", async () => {
  const events: CoordinatorEvent[] = [];
  const packets = longTrace();
  const coordinator = dyingCoordinator(events);
  const local = new Coordinator({ host: "inline", timers: manualTimers });
  for (const packet of packets) {
    coordinator.onPacket(packet);
    local.onPacket(packet);
  }
  await untilFailed(events);
  assert.equal(events.length, 1);
  await coordinator.flush();
  await local.flush();
  assert.equal(coordinator.stats().packets, packets.length);
  assert.equal(coordinator.getEstimate(), local.getEstimate());
  await coordinator.close();
  await local.close();
  assert.equal(coordinator.liveWorkers, 0);
});

Deno.test("OffThreadCoordinator replays a dead worker's backlog a slice at a time, not in one stall", async () => {
  const packets = wideTrace();
  let pendingAtFailure = -1;
  const pendingLater: number[] = [];
  const coordinator: OffThreadCoordinator = new OffThreadCoordinator({
    host: "inline",
    timers: manualTimers,
    ringCapacity: 64,
    workerFactory: dyingWorker,
    onEvent: (event) => {
      if (event.type !== "coordinator-failed") return;
      pendingAtFailure = coordinator.stats().pendingRecords;
      // Runs at this thread's next turn, which comes while the replay is still under way.
      setTimeout(() => pendingLater.push(coordinator.stats().pendingRecords), 0);
    },
  });
  const local = new Coordinator({ host: "inline", timers: manualTimers });
  for (const packet of packets) {
    coordinator.onPacket(packet);
    local.onPacket(packet);
  }
  for (let i = 0; i < 100 && pendingLater.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(packets.length > 100_000);
  assert.equal(pendingAtFailure, packets.length); // the worker died before reading any
  assert.ok(
    pendingLater[0] > 0 && pendingLater[0] < packets.length,
    `${pendingLater[0]} of ${packets.length} entries left at the next turn`,
  );
  await coordinator.flush();
  await local.flush();
  assert.equal(coordinator.stats().packets, packets.length);
  assert.equal(coordinator.stats().pendingRecords, 0);
  assert.equal(coordinator.getEstimate(), local.getEstimate());
  await coordinator.close();
  await local.close();
  assert.equal(coordinator.liveWorkers, 0);
});

Deno.test("OffThreadCoordinator.close() during a hand-over ends it and later calls throw", async () => {
  const events: CoordinatorEvent[] = [];
  const packets = wideTrace();
  const coordinator = dyingCoordinator(events);
  for (const packet of packets) coordinator.onPacket(packet);
  const flushed = coordinator.flush();
  await untilFailed(events);
  assert.equal(events.length, 1);
  await coordinator.close();
  await flushed; // settled by the close, not left pending
  assert.ok(coordinator.stats().packets < packets.length); // the rest was dropped
  assert.equal(coordinator.liveWorkers, 0);
  assert.throws(() => coordinator.onPacket(packets[0]), CoordinatorClosedError);
});

Deno.test("OffThreadCoordinator rejects bad options and packets on the receiving thread", async () => {
  assert.throws(
    () => new OffThreadCoordinator({ ringCapacity: 1000 }),
    {
      name: "RangeError",
      message:
        "Cannot create off-thread coordinator as 'ringCapacity' must be a power of two: current value is 1000",
    },
  );
  assert.throws(() => new OffThreadCoordinator({ ringCapacity: "big" as never }), TypeError);
  assert.throws(() => new OffThreadCoordinator({ batchSize: 0 }), RangeError);
  const coordinator = new OffThreadCoordinator({ host: "inline", timers: manualTimers });
  assert.throws(
    () => coordinator.onPacket({ ssrc: -1, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 }),
    /'ssrc' must be a 32-bit unsigned integer: current value is -1/,
  );
  assert.throws(() => coordinator.setRtt(0), RangeError);
  assert.throws(() => coordinator.setMaxDesiredBitrate(-1), RangeError);
  await coordinator.close();
});

Deno.test("OffThreadCoordinator takes over when its worker reads nothing for workerTimeoutMs", async () => {
  const events: CoordinatorEvent[] = [];
  let tick = () => {};
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    workerTimeoutMs: 100,
    timers: {
      setInterval(callback) {
        tick = callback;
        return 0;
      },
      clearInterval() {},
    },
    workerFactory: () =>
      new Worker(new URL("./_hanging_worker.ts", import.meta.url), { type: "module" }),
    onEvent: (event) => events.push(event),
  });
  const packets = trace(true).slice(0, 2000);
  for (const packet of packets) coordinator.onPacket(packet);
  // The flush timer notices the silence, in real time, whatever the clock says.
  for (let i = 0; i < 50 && events.length === 0; i++) {
    tick();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(events.length, 1);
  assert.match(events[0].type === "coordinator-failed" ? events[0].error : "", /read nothing/);
  await coordinator.flush();
  assert.equal(coordinator.stats().packets, packets.length);
  await coordinator.close();
  assert.equal(coordinator.liveWorkers, 0);
});

Deno.test("OffThreadCoordinator.getSSRCs() shows a new stream after the next flush tick", async () => {
  let tick = () => {};
  const coordinator = new OffThreadCoordinator({
    host: "inline",
    timers: {
      setInterval(callback) {
        tick = callback;
        return 0;
      },
      clearInterval() {},
    },
  });
  const packets = trace(true);
  coordinator.onPacket(packets[0]);
  await coordinator.flush();
  assert.deepEqual(coordinator.getSSRCs(), [packets[0].ssrc]);
  tick(); // The first tick's snapshot: the next periodic one is 250 ms away.
  await new Promise((resolve) => setTimeout(resolve, 30));
  // A second stream, then one tick and no flush(): the tick's snapshot, not the 250 ms one.
  const other = packets.find((p) => p.ssrc !== packets[0].ssrc)!;
  coordinator.onPacket(other);
  tick();
  for (let i = 0; i < 100 && coordinator.getSSRCs().length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(coordinator.getSSRCs(), [packets[0].ssrc, other.ssrc].sort((a, b) => a - b));
  // The same array until a snapshot shows another set of streams.
  const view = coordinator.activeSSRCs();
  assert.ok(Object.isFrozen(view));
  assert.deepEqual(view, coordinator.getSSRCs());
  await coordinator.flush();
  assert.equal(coordinator.activeSSRCs(), view);
  await coordinator.close();
});
