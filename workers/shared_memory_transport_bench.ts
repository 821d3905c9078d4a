/**
 * The coordinator's side of the shared-memory transport at a flush, for 100 and 1000 lanes with
 * 10 records each (510 packets/s per stream, flushed every 20 ms): fill every lane's batch, publish
 * them, then collect the verdicts and hand them over. Two ways a lane's records travel: in a slot
 * the transport lent it (the lanes' path), or in a batch of its own copied into a slot and back (a
 * lane whose slots are all in use). The worker's side is played on this thread between the two:
 * the rows time the whole round trip, the summary printed at the end only the coordinator's side,
 * in ns per record.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { PacketBatch } from "../core/packet_batch.ts";
import { SharedLane } from "./shared_lane.ts";
import { SharedMemoryHostEnd } from "./shared_memory_transport.ts";
import type { ToLaneWorker } from "./protocol.ts";
import type { WorkerChannel } from "./transport.ts";

const RECORDS_PER_LANE = 10;
const BATCH_SIZE = 64;
const CONFIG = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 } as const;

interface Flush {
  /**
   * One flush.
   *
   * @returns ms on the coordinator's side (the worker's part left out).
   */
  run(): number;
  close(): void;
}

function flushOf(laneCount: number, lent: boolean): Flush {
  let delivered = 0;
  const end = new SharedMemoryHostEnd({
    onResults: (lane, batch, length) => {
      delivered += length;
      end.reclaim(lane, batch); // as a lane does once it has read the verdicts
    },
    onLaneFailed() {},
  }, BATCH_SIZE);
  // The worker's views of each lane's slots, taken from the messages that open them.
  const slots: SharedLane[] = [];
  const channel: WorkerChannel = {
    postMessage(message: ToLaneWorker) {
      if (message.type === "open") slots.push(new SharedLane(message.capacity!, message.shared));
    },
  };
  end.connect(channel);
  for (let lane = 0; lane < laneCount; lane++) end.open(channel, lane, CONFIG, undefined);
  // Each lane's own batches, reused in turn as a lane's are.
  const batches = slots.map(() => [new PacketBatch(BATCH_SIZE), new PacketBatch(BATCH_SIZE)]);
  let round = 0;
  return {
    run() {
      const t0 = performance.now();
      for (let lane = 0; lane < laneCount; lane++) {
        const batch = lent ? end.lend(lane)! : batches[lane][round & 1];
        for (let i = 0; i < RECORDS_PER_LANE; i++) batch.size[i] = 1200;
        end.submit(lane, batch, RECORDS_PER_LANE);
      }
      end.flush(); // published
      const t1 = performance.now();
      for (const shared of slots) {
        for (let n = shared.done; n < shared.submitted; n++) {
          shared.slot(n).usage.fill(1, 0, shared.lengthOf(n));
          shared.finish();
        }
      }
      const t2 = performance.now();
      end.flush(); // the verdicts back
      const t3 = performance.now();
      round++;
      if (delivered !== round * laneCount * RECORDS_PER_LANE) {
        throw new Error(`Cannot bench the transport: ${delivered} records came back`);
      }
      return t1 - t0 + t3 - t2;
    },
    close: () => end.close(),
  };
}

const measured: { name: string; flush: Flush; laneCount: number }[] = [];
for (const lent of [true, false]) {
  for (const laneCount of [100, 1000]) {
    const way = lent ? "lent slots" : "own batches copied";
    const name = `${way}, ${laneCount} lanes × ${RECORDS_PER_LANE} records`;
    const flush = flushOf(laneCount, lent);
    measured.push({ name, flush, laneCount });
    Deno.bench({
      name: `one flush and its worker's part, ${name}`,
      group: "shared-memory transport",
      fn() {
        flush.run();
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  console.log("\nshared-memory transport, coordinator's side, medians of 2000 flushes:");
  for (const { name, flush, laneCount } of measured) {
    for (let i = 0; i < 200; i++) flush.run();
    const ms: number[] = [];
    for (let i = 0; i < 2000; i++) ms.push(flush.run());
    ms.sort((a, b) => a - b);
    const ns = ms[ms.length >> 1] * 1e6 / (laneCount * RECORDS_PER_LANE);
    console.log(`  ${name}: ${ns.toFixed(1)} ns/record`);
    flush.close();
  }
});
