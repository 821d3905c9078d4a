import assert from "node:assert/strict";
import { PacketBatch } from "../../core/packet_batch.ts";
import { Lane } from "../../workers/lane.ts";
import type { LaneHost } from "../../workers/lane_host.ts";
import type { LaneConfig } from "../../workers/protocol.ts";

const CONFIG: LaneConfig = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 };

/** A host that lends batches over shared memory while it has any, and counts what comes back. */
class LendingHost implements LaneHost {
  readonly liveWorkers = 1;
  readonly startingLanes = 0;
  readonly submitted: PacketBatch[] = [];
  readonly reclaimed: PacketBatch[] = [];
  readonly #lent = new Set<PacketBatch>();
  spare = 2;
  holdsLane = true;

  lend(_lane: number): PacketBatch | undefined {
    if (this.spare === 0) return undefined;
    this.spare--;
    const batch = new PacketBatch(16, new SharedArrayBuffer(PacketBatch.byteLength(16)));
    this.#lent.add(batch);
    return batch;
  }

  reclaim(_lane: number, batch: PacketBatch): boolean {
    if (!this.holdsLane || !this.#lent.delete(batch)) return false;
    this.reclaimed.push(batch);
    this.spare++;
    return true;
  }

  open(): void {}
  retire(): void {}
  drop(): void {}
  submit(_lane: number, batch: PacketBatch, length: number): void {
    batch.length = length;
    this.submitted.push(batch);
  }
  flush(): void {}
  flushesPerBatch(): number {
    return 1;
  }
  setPrompt(): void {}
  close(): void {}
}

/** Submits `records` records through the lane, answers them with verdict 2 and replays them. */
function roundTrip(lane: Lane, host: LendingHost, records: number): PacketBatch {
  lane.pendingLength = records;
  lane.submit(0);
  const batch = host.submitted.at(-1)!;
  batch.usage.fill(2, 0, records);
  lane.onResults(batch, records, 0);
  for (let i = 0; i < records; i++) assert.equal(lane.nextVerdict(batch, i), 2);
  return batch;
}

Deno.test("Lane fills the batches its host lends and gives each back once its verdicts are replayed", () => {
  const host = new LendingHost();
  const lane = new Lane(1, 7, host, { batchSize: 16, config: CONFIG, onForgotten() {} });
  const first = lane.pending;
  assert.ok(first.buffer instanceof SharedArrayBuffer); // lent, not the lane's own
  const sent = roundTrip(lane, host, 5);
  assert.equal(sent, first);
  assert.deepEqual(host.reclaimed, [first]);
  // In steady state the lane keeps filling lent batches: it makes none of its own.
  for (let k = 0; k < 10; k++) roundTrip(lane, host, 3);
  assert.ok(lane.pending.buffer instanceof SharedArrayBuffer);
  assert.equal(host.reclaimed.length, 11);
});

Deno.test("Lane fills a batch of its own when its host lends none, and keeps no slot its host stopped holding", () => {
  const host = new LendingHost();
  host.spare = 1;
  const lane = new Lane(1, 7, host, { batchSize: 16, config: CONFIG, onForgotten() {} });
  const lent = lane.pending;
  lane.pendingLength = 4;
  lane.submit(0); // the host has nothing more to lend: the next batch is the lane's own
  assert.ok(lane.pending.buffer instanceof ArrayBuffer);
  // The lane moved meanwhile (its host no longer holds the slot): the slot is not kept as a
  // spare, where it would pin its lane's shared memory.
  host.holdsLane = false;
  lent.usage.fill(1, 0, 4);
  lane.onResults(lent, 4, 0);
  for (let i = 0; i < 4; i++) lane.nextVerdict(lent, i);
  const own = roundTrip(lane, host, 2); // the lane's own batch, back and replayed
  assert.ok(own.buffer instanceof ArrayBuffer);
  assert.notEqual(lane.pending, lent);
  lane.pendingLength = 1;
  lane.submit(0);
  assert.equal(lane.pending, own); // its own spare is reused; the old slot never is
});
