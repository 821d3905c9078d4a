/**
 * Feeds a packet trace to a coordinator (on the receiving thread or off it) with an injected clock
 * that follows the trace and an awaited flush every `flushMs` of trace time, recording every
 * estimate and REMB as `bps:ssrc,ssrc…` strings, so runs can be compared exactly.
 *
 * @module
 */

import { decodeRemb } from "../../core/remb.ts";
import type { PacketInfo } from "../../core/types.ts";
import type { Coordinator, CoordinatorOptions } from "../../workers/coordinator.ts";
import type { OffThreadCoordinator } from "../../workers/off_thread.ts";

/** What a run recorded, and the coordinator (still open) for more checks. */
export interface TraceRun<C> {
  estimates: string[];
  rembs: string[];
  coordinator: C;
}

const manualTimers = { setInterval: () => 0, clearInterval() {} };

/**
 * Runs `packets` through the coordinator `make` builds from the recording options.
 *
 * @param packets The trace, in arrival order.
 * @param make Builds the coordinator; spread the given options into its own.
 * @param flushMs Trace time between flushes.
 * @returns The recorded estimates and REMBs.
 */
export async function runTrace<C extends Coordinator | OffThreadCoordinator>(
  packets: PacketInfo[],
  make: (options: CoordinatorOptions) => C,
  flushMs: number,
): Promise<TraceRun<C>> {
  const estimates: string[] = [];
  const rembs: string[] = [];
  let now = packets[0].arrivalTimeMs;
  const coordinator = make({
    timers: manualTimers,
    clock: { nowMs: () => now },
    onEstimate: (bps, ssrcs) => estimates.push(`${bps}:${ssrcs.join(",")}`),
    onRemb: (bytes) => {
      const remb = decodeRemb(bytes);
      rembs.push(`${remb.bitrateBps}:${remb.ssrcs.join(",")}`);
    },
  });
  let nextFlush = now + flushMs;
  for (const packet of packets) {
    while (packet.arrivalTimeMs >= nextFlush) {
      now = nextFlush;
      await coordinator.flush();
      nextFlush += flushMs;
    }
    now = packet.arrivalTimeMs;
    coordinator.onPacket(packet);
  }
  now = nextFlush;
  await coordinator.flush();
  return { estimates, rembs, coordinator };
}
