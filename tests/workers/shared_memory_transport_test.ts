import assert from "node:assert/strict";
import { PacketBatch } from "../../core/packet_batch.ts";
import type { OpenLaneMessage } from "../../workers/protocol.ts";
import { Doorbell, SharedLane } from "../../workers/shared_lane.ts";
import { SharedMemoryHostEnd } from "../../workers/shared_memory_transport.ts";

const CONFIG = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 } as const;

/** A worker's channel that keeps what the host posts. */
function channel() {
  const posted: { type: string; buffer?: SharedArrayBuffer }[] = [];
  return { posted, postMessage: (message: { type: string }) => posted.push(message) };
}

Deno.test("SharedMemoryHostEnd rings only the workers whose lanes got a batch, and collects soon after the ring", async () => {
  const results: number[] = [];
  const end = new SharedMemoryHostEnd({
    onResults: (lane) => results.push(lane),
    onLaneFailed() {},
  }, 16);
  const [a, b] = [channel(), channel()];
  end.connect(a);
  end.connect(b);
  end.open(a, 1, CONFIG, undefined);
  end.open(b, 2, CONFIG, undefined);
  const bell = (c: typeof a) => new Doorbell(c.posted[0].buffer);
  const [ringsA, ringsB] = [bell(a).rings, bell(b).rings];

  end.flush(); // nothing submitted: nobody is woken
  assert.deepEqual([bell(a).rings, bell(b).rings], [ringsA, ringsB]);

  end.submit(1, new PacketBatch(16), 5);
  end.flush();
  assert.deepEqual([bell(a).rings, bell(b).rings], [ringsA + 1, ringsB]);

  // The worker runs the slot; the results come without another flush.
  const open = a.posted[1] as unknown as OpenLaneMessage;
  new SharedLane(open.capacity!, open.shared).finish();
  const deadline = performance.now() + 10_000; // only a timer that never fires reaches it
  while (results.length === 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.deepEqual(results, [1]);
  end.close();
  end.disconnect(a);
  end.disconnect(b);
});

/** One lane on a host end, with the worker's view of its slots and what was delivered. */
function oneLane() {
  const delivered: PacketBatch[] = [];
  const firstSizes: number[] = []; // read at delivery: a reclaimed slot is filled again
  const end = new SharedMemoryHostEnd({
    onResults: (_lane, batch) => {
      delivered.push(batch);
      firstSizes.push(batch.size[0]);
    },
    onLaneFailed() {},
  }, 16);
  const worker = channel();
  end.connect(worker);
  end.open(worker, 1, CONFIG, undefined);
  const open = worker.posted[1] as unknown as OpenLaneMessage;
  const slots = new SharedLane(open.capacity!, open.shared);
  // The worker's part: every published batch gets verdict `verdict` for each size it carries.
  const serve = () => {
    for (let n = slots.done; n < slots.submitted; n++) {
      const slot = slots.slot(n);
      for (let i = 0; i < slots.lengthOf(n); i++) slot.usage[i] = slot.size[i] === 1200 ? 2 : 1;
      slots.finish();
    }
  };
  return {
    end,
    slots,
    serve,
    delivered,
    firstSizes,
    close: () => (end.close(), end.disconnect(worker)),
  };
}

Deno.test("SharedMemoryHostEnd sends a lent slot without a copy and returns its verdicts in it", () => {
  const { end, slots, serve, delivered, close } = oneLane();
  const lent = end.lend(1)!;
  lent.size[0] = 1200;
  lent.size[1] = 900;
  end.submit(1, lent, 2);
  end.flush();
  assert.equal(slots.submitted, 1);
  assert.equal(slots.slot(0).size[0], 1200); // the bytes written through the lent batch
  serve();
  end.flush();
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0], lent);
  assert.deepEqual([...lent.usage.subarray(0, 2)], [2, 1]);
  // Given back once, it is lent again next; a second reclaim is refused.
  assert.equal(end.reclaim(1, lent), true);
  assert.equal(end.reclaim(1, lent), false);
  assert.equal(end.reclaim(1, new PacketBatch(16)), false);
  assert.equal(end.lend(1), lent);
  // A batch of the lane's own just queued leaves the other free slots to lend: a lane that once
  // had none free goes back to filling slots.
  end.reclaim(1, lent);
  end.submit(1, new PacketBatch(16), 1);
  assert.ok(end.lend(1) !== undefined);
  close();
});

Deno.test("SharedMemoryHostEnd keeps a lane's batches in order when its slots run out, and lends none while one of its own waits", () => {
  const { end, slots, serve, delivered, firstSizes, close } = oneLane();
  // Every slot lent and published: nothing is left to lend.
  const lent: PacketBatch[] = [];
  for (let k = 0; k < 8; k++) {
    const batch = end.lend(1)!;
    batch.size[0] = 100 + k;
    end.submit(1, batch, 1);
    lent.push(batch);
  }
  assert.equal(end.lend(1), undefined);
  // A batch of the lane's own waits for a slot, and while it does no slot is lent.
  const own = new PacketBatch(16);
  own.size[0] = 1200;
  end.submit(1, own, 1);
  end.flush();
  assert.equal(slots.submitted, 8);
  serve();
  end.flush(); // the eight come back; none is reclaimed yet, so `own` still waits
  assert.equal(delivered.length, 8);
  assert.equal(slots.submitted, 8);
  end.reclaim(1, lent[0]);
  assert.equal(end.lend(1), undefined); // the freed slot is `own`'s
  end.reclaim(1, lent[1]);
  const spare = end.lend(1)!; // one more is free than `own` needs
  assert.ok(spare !== undefined);
  end.reclaim(1, spare);
  end.reclaim(1, lent[1]); // already back: refused, nothing changes
  end.flush();
  assert.equal(slots.submitted, 9);
  assert.equal(slots.slot(8).size[0], 1200); // copied in
  serve();
  end.flush();
  assert.deepEqual(firstSizes, [100, 101, 102, 103, 104, 105, 106, 107, 1200]);
  assert.equal(delivered[8], own);
  assert.equal(own.usage[0], 2); // copied back
  assert.ok(end.lend(1) !== undefined); // the copy's slot is free again
  close();
});
