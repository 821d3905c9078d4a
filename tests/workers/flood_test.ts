import assert from "node:assert/strict";
import type { PacketInfo } from "../../core/types.ts";
import { Coordinator, type CoordinatorEvent } from "../../workers/coordinator.ts";
import { moduleWorkerSources } from "../../workers/sources.ts";
import { onWorkers } from "../_helpers/coordinator_trace.ts";
import { generateTrace } from "../_helpers/trace.ts";

const manualTimers = { setInterval: () => 0, clearInterval() {} };

function legitTrace(): PacketInfo[] {
  return generateTrace({
    streams: [{ ssrc: 0xa, bitrateBps: 800_000 }, { ssrc: 0xb, bitrateBps: 400_000 }],
    durationMs: 10_000,
    capacityBps: (t) => (t < 6000 ? 3_000_000 : 1_000_000),
    absSendTime: true,
  });
}

async function feed(
  packets: PacketInfo[],
  coordinator: Coordinator,
  flood: boolean,
  onFlush?: () => void,
): Promise<void> {
  let nextSsrc = 0x1000_0000;
  for (const [i, packet] of packets.entries()) {
    coordinator.onPacket(packet);
    if (flood && i >= 100) {
      // Once the call is up, eight strangers per media packet: 10,000 distinct SSRCs over the run,
      // with junk timing.
      for (let k = 0; k < 8 && nextSsrc < 0x1000_0000 + 10_000; k++) {
        coordinator.onPacket({
          ssrc: nextSsrc++,
          arrivalTimeMs: packet.arrivalTimeMs,
          payloadSize: 1200,
          rtpTimestamp: (i * 7919) >>> 0,
          absSendTime: (i * 104_729) & 0xffffff,
        });
      }
    }
    if (i % 40 === 39) {
      await coordinator.flush();
      onFlush?.();
    }
  }
  await coordinator.flush();
}

Deno.test("Coordinator under a flood of 10,000 SSRCs keeps workers and memory bounded, and the admitted streams' estimate unchanged", async () => {
  const packets = legitTrace();
  const baseline: number[] = [];
  const quiet = new Coordinator({
    host: "inline",
    maxStreams: 2,
    timers: manualTimers,
    onEstimate: (bps) => baseline.push(bps),
  });
  await feed(packets, quiet, false);
  await quiet.close();

  const estimates: number[] = [];
  const refused: number[] = [];
  let maxWorkers = 0;
  const flooded = new Coordinator({
    host: "worker-per-stream",
    workerSources: "module",
    maxStreams: 2,
    timers: manualTimers,
    onEstimate: (bps) => estimates.push(bps),
    onEvent: (event: CoordinatorEvent) => {
      if (event.type === "stream-refused") refused.push(event.ssrc);
    },
  });
  await feed(packets, flooded, true, () => {
    maxWorkers = Math.max(maxWorkers, flooded.liveWorkers);
  });
  const stats = flooded.stats();
  await flooded.close();

  assert.deepEqual(estimates, baseline);
  assert.equal(refused.length, 10_000);
  assert.equal(stats.refusedStreams, 10_000);
  assert.equal(stats.refusedPackets, 10_000);
  assert.ok(maxWorkers <= 3, `${maxWorkers} workers for 2 admitted streams`);
  assert.equal(stats.streams.length, 2);
  assert.equal(flooded.liveWorkers, 0);
});

Deno.test("Coordinator moves lanes inline when workers fall behind, so the backlog stays bounded", async () => {
  const events: CoordinatorEvent[] = [];
  const packets = legitTrace();
  // The receiver clock follows the trace, so no stream times out while the test waits.
  let now = packets[0].arrivalTimeMs;
  const coordinator = new Coordinator({
    clock: { nowMs: () => now },
    host: "worker-per-stream",
    workerSources: {
      spawnerUrl: moduleWorkerSources().spawnerUrl,
      laneWorkerUrl: new URL("_slow_lane_worker.ts", import.meta.url).href,
    },
    maxPendingRecords: 1024,
    batchSize: 16,
    timers: manualTimers,
    onEvent: (event) => events.push(event),
  });
  const secondStream = packets.findIndex((packet) => packet.ssrc !== packets[0].ssrc);
  let maxPending = 0;
  // Ten times the packet rate the slow worker can take: no waiting for results between packets.
  for (const [i, packet] of packets.entries()) {
    now = packet.arrivalTimeMs;
    coordinator.onPacket(packet);
    // Both lanes run inline until their workers answer (about a second): the backlog comes after.
    if (i === secondStream) await onWorkers(coordinator);
    maxPending = Math.max(maxPending, coordinator.stats().pendingRecords);
    if (i % 200 === 199) coordinator.flush(); // sends batches but does not wait for answers
  }
  await coordinator.flush();
  const stats = coordinator.stats();
  await coordinator.close();
  assert.ok(packets.length > 1024);
  assert.ok(maxPending <= 1024 + 1, `backlog reached ${maxPending}`);
  assert.ok(stats.failedLanes >= 1, `${stats.failedLanes} lanes moved inline`);
  assert.ok(events.some((e) => e.type === "lane-failed" && e.error.startsWith("backlog")));
  assert.equal(stats.pendingRecords, 0);
  assert.ok(stats.estimateBps! > 0);
});
