/**
 * Coordinator worker: runs a {@linkcode Coordinator} for an {@linkcode OffThreadCoordinator}. It
 * reads packets and calls from the shared entry ring when the receiving thread rings, in order, at
 * the receiving thread's times, and posts estimates, REMB packets, events and snapshots back.
 *
 * @module
 */

import { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
import {
  ENTRY_FLUSH,
  ENTRY_MAX_BITRATE,
  ENTRY_PACKET,
  ENTRY_REMOVE,
  ENTRY_RTT,
  ENTRY_TICK,
  EntryRing,
} from "./entry_ring.ts";
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

/** The reusable packet handed to the coordinator; every field a double from the start. */
class RingPacket implements PacketInfo {
  ssrc = 0.5;
  arrivalTimeMs = 0.5;
  payloadSize = 0.5;
  rtpTimestamp = 0.5;
  absSendTime = 0.5;
}

/** The same without abs-send-time. */
class RingPacketWithoutAbs implements PacketInfo {
  ssrc = 0.5;
  arrivalTimeMs = 0.5;
  payloadSize = 0.5;
  rtpTimestamp = 0.5;
}

// Snapshots between flushes, at most this often (real time).
const SNAPSHOT_INTERVAL_MS = 250;

let coordinator: Coordinator | undefined;
let ring: EntryRing;
let doorbell: Doorbell;
let nowMs = 0;
let tick: () => void = () => {};
let lastSnapshotMs = -Infinity;
const withAbs = new RingPacket();
const withoutAbs = new RingPacketWithoutAbs();

function post(message: FromCoordinatorWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function snapshot(): Snapshot {
  return { stats: coordinator!.stats(), ssrcs: coordinator!.getSSRCs() };
}

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
    onRemb: (packet, bitrateBps, ssrcs) =>
      post({ type: "remb", packet, bitrateBps, ssrcs: [...ssrcs] }),
    onEvent: (event) => post({ type: "event", event }),
    onError: (error) => post({ type: "error", message: String(error) }),
  });
  listen();
  drain(); // What was published before the worker listened.
}

function listen(): void {
  doorbell.whenRung(doorbell.rings, () => {
    listen();
    drain();
  });
}

// Runs every published entry through the coordinator, in order.
function drain(): void {
  const values = ring.values;
  const count = ring.available();
  for (let i = 0; i < count; i++) {
    const at = ring.offsetOf(i);
    switch (ring.kindAt(i)) {
      case ENTRY_PACKET: {
        const abs = values[at + 5];
        const packet = abs === abs ? withAbs : withoutAbs; // NaN: no abs-send-time
        packet.ssrc = values[at];
        packet.arrivalTimeMs = values[at + 1];
        packet.payloadSize = values[at + 3];
        packet.rtpTimestamp = values[at + 4];
        if (packet === withAbs) withAbs.absSendTime = abs;
        coordinator!.onPacket(packet, values[at + 2]);
        break;
      }
      case ENTRY_TICK:
        nowMs = values[at];
        tick();
        // Paced in real time: they are for observers, whatever the clock says.
        if (performance.now() - lastSnapshotMs >= SNAPSHOT_INTERVAL_MS) {
          lastSnapshotMs = performance.now();
          post({ type: "snapshot", snapshot: snapshot() });
        }
        break;
      case ENTRY_FLUSH: {
        const id = values[at];
        nowMs = values[at + 1];
        coordinator!.flush().then(
          () => post({ type: "flushed", id, snapshot: snapshot() }),
          () => {}, // Closed meanwhile: the close reply settles it.
        );
        break;
      }
      case ENTRY_REMOVE:
        coordinator!.removeStream(values[at]);
        break;
      case ENTRY_RTT:
        coordinator!.setRtt(values[at]);
        break;
      case ENTRY_MAX_BITRATE:
        nowMs = values[at + 1];
        coordinator!.setMaxDesiredBitrate(values[at]);
        break;
    }
  }
  ring.release(count);
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
