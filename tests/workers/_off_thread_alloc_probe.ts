/**
 * Run with `--v8-flags=--trace-gc,--expose-gc`: packets through `OffThreadCoordinator.onPacket` on
 * the receiving thread, after a warm-up and a forced collection that marks this isolate's address
 * in the trace ("testing"). The ring is large enough that nothing spills. Argument: packets.
 * Used by off_thread_alloc_test.ts.
 *
 * @module
 */

import type { PacketInfo } from "../../core/types.ts";
import { OffThreadCoordinator } from "../../workers/off_thread.ts";
import { SyntheticStream } from "../_helpers/synthetic_stream.ts";

const packets = Number(Deno.args[0] ?? 1_000_000);
const clock = { now: 0, nowMs: () => clock.now };
const coordinator = new OffThreadCoordinator({
  host: "inline",
  clock,
  ringCapacity: 1 << 21,
  timers: { setInterval: () => 1, clearInterval() {} },
  workerSources: "module",
});
const info: PacketInfo = {
  ssrc: 0,
  arrivalTimeMs: 0,
  payloadSize: 0,
  rtpTimestamp: 0,
  absSendTime: 0,
};
const stream = new SyntheticStream(2_500_000, 0x1234_5678);
const run = (n: number) => {
  for (let i = 0; i < n; i++) {
    stream.next(info);
    clock.now = info.arrivalTimeMs;
    coordinator.onPacket(info);
  }
};
run(200_000); // Optimize first.
await coordinator.flush();
(globalThis as unknown as { gc(): void }).gc();
run(packets);
await coordinator.close();
