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
