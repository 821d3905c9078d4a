/**
 * Feeds a packet trace to a coordinator (on the receiving thread or off it) with an injected clock
 * that follows the trace and an awaited flush every `flushMs` of trace time, recording every
 * estimate and REMB as `bps:ssrc,ssrc…` strings, so runs can be compared exactly.
 *
 * @module
 */

import assert from "node:assert/strict";
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

/** Options of {@linkcode runTrace}. */
export interface TraceOptions<C> {
  /**
   * Packet indices after which the run waits, in real time, until every lane of a worker host has
   * moved from the inline host to its worker (a `Coordinator` only).
   */
  onWorkersAfter?: readonly number[];
  /** Called before each of those waits: lets in-thread workers (in_thread_workers.ts) answer. */
  startWorkers?: () => void;
  /** Called after every flush has resolved, with the trace time. */
  onFlush?: (coordinator: C, nowMs: number) => void;
}

/**
 * Runs `packets` through the coordinator `make` builds from the recording options.
 *
 * @param packets The trace, in arrival order.
 * @param make Builds the coordinator; spread the given options into its own.
 * @param flushMs Trace time between flushes.
 * @param options Where to wait for workers.
 * @returns The recorded estimates and REMBs.
 */
export async function runTrace<C extends Coordinator | OffThreadCoordinator>(
  packets: PacketInfo[],
  make: (options: CoordinatorOptions) => C,
  flushMs: number,
  options: TraceOptions<C> = {},
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
  const waits = new Set(options.onWorkersAfter);
  for (const [i, packet] of packets.entries()) {
    while (packet.arrivalTimeMs >= nextFlush) {
      now = nextFlush;
      await coordinator.flush();
      options.onFlush?.(coordinator, now);
      nextFlush += flushMs;
    }
    now = packet.arrivalTimeMs;
    coordinator.onPacket(packet);
    if (waits.has(i)) {
      options.startWorkers?.();
      await onWorkers(coordinator as Coordinator);
    }
  }
  now = nextFlush;
  await coordinator.flush();
  options.onFlush?.(coordinator, now);
  return { estimates, rembs, coordinator };
}

/**
 * Flushes, in real time, until every lane of a worker host has moved from the inline host to its
 * worker. A real worker's start is the machine's business: a spawned one answers about a second
 * late in Deno 2.9.6, and under `deno test` a module worker is type-checked first (19 s measured on
 * a loaded 2-core machine with a cold cache). So the bound is there only to end a hung test: a
 * worker that fails to load says so (its lane fails over and stops waiting), and one still silent
 * after two minutes is a fault. Tests that need workers to answer at a given point use in-thread
 * workers (in_thread_workers.ts) instead.
 *
 * @param coordinator The coordinator.
 * @param timeoutMs How long to wait before failing the test.
 */
export async function onWorkers(coordinator: Coordinator, timeoutMs = 120_000): Promise<void> {
  const started = performance.now();
  while (coordinator.stats().startingLanes > 0) {
    const { startingLanes, liveWorkers } = coordinator.stats();
    assert.ok(
      performance.now() - started < timeoutMs,
      `the workers never answered in ${timeoutMs} ms: ${startingLanes} lanes starting, ${liveWorkers} workers alive`,
    );
    await coordinator.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
