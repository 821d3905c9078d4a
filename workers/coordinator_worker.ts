/**
 * Coordinator worker: runs a {@linkcode Coordinator} for an {@linkcode OffThreadCoordinator}. It
 * reads packets and calls from the shared entry ring when the receiving thread rings, in order, at
 * the receiving thread's times, and posts estimates, REMB packets, events and snapshots back.
 *
 * @module
 */

import { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
import { type EntryReader, EntryRing } from "./entry_ring.ts";
import type {
  FromCoordinatorWorker,
  Snapshot,
  ToCoordinatorWorker,
} from "./off_thread_protocol.ts";
import { Doorbell } from "./shared_lane.ts";
import type { PacketInfo } from "../core/types.ts";

declare const self: {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

// Snapshots between flushes, at least this often (real time), and at the tick after a stream
// started or ended, so that the receiving thread's `getSSRCs()` follows within a flush interval.
const SNAPSHOT_INTERVAL_MS = 250;

let coordinator: Coordinator | undefined;
let ring: EntryRing;
let doorbell: Doorbell;
let nowMs = 0;
let tick: () => void = () => {};
let lastSnapshotMs = -Infinity;
let lastSsrcs: readonly number[] | undefined;

function post(message: FromCoordinatorWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function snapshot(): Snapshot {
  return { stats: coordinator!.stats(), ssrcs: coordinator!.getSSRCs() };
}

/** Each entry into the coordinator, its times through the coordinator's clock. */
const reader: EntryReader = {
  packet(packet: PacketInfo, processedMs: number): void {
    coordinator!.onCheckedPacket(packet, processedMs); // Checked on the receiving thread.
  },
  tick(atMs: number): void {
    nowMs = atMs;
    tick();
    // Paced in real time: they are for observers, whatever the clock says.
    const ssrcs = coordinator!.activeSSRCs();
    if (ssrcs !== lastSsrcs || performance.now() - lastSnapshotMs >= SNAPSHOT_INTERVAL_MS) {
      lastSsrcs = ssrcs;
      lastSnapshotMs = performance.now();
      post({ type: "snapshot", snapshot: snapshot() });
    }
  },
  flush(id: number, atMs: number): void {
    nowMs = atMs;
    coordinator!.flush().then(
      () => post({ type: "flushed", id, snapshot: snapshot() }),
      () => {}, // Closed meanwhile: the close reply settles it.
    );
  },
  removeStream(ssrc: number): void {
    coordinator!.removeStream(ssrc);
  },
  setRtt(rttMs: number): void {
    coordinator!.setRtt(rttMs);
  },
  setMaxDesiredBitrate(bitrateBps: number, atMs: number): void {
    nowMs = atMs;
    coordinator!.setMaxDesiredBitrate(bitrateBps);
  },
};

function start(options: CoordinatorOptions): void {
  coordinator = new Coordinator({
    ...options,
    clock: { nowMs: () => nowMs },
    // Ticks come from the receiving thread's timer, as ring entries.
    timers: {
      setInterval(callback) {
        tick = callback;
        return 0;
      },
      clearInterval() {},
    },
    onEstimate: (bitrateBps, ssrcs) => post({ type: "estimate", bitrateBps, ssrcs }),
    onRemb: (packet, bitrateBps, ssrcs, source) =>
      post({ type: "remb", packet, bitrateBps, ssrcs: [...ssrcs], source }),
    onEvent: (event) => post({ type: "event", event }),
    onError: (error) => post({ type: "error", message: String(error) }),
  });
  listen();
  ring.read(reader); // What was published before the worker listened.
}

function listen(): void {
  doorbell.whenRung(doorbell.rings, () => {
    listen();
    ring.read(reader);
  });
}

self.onmessage = async (event: MessageEvent) => {
  const message = event.data as ToCoordinatorWorker;
  if (message.type === "init") {
    ring = new EntryRing(message.capacity, message.ring);
    doorbell = new Doorbell(message.doorbell);
    start(message.options);
  } else if (message.type === "close") {
    await coordinator?.close();
    post({ type: "closed" });
  }
};
