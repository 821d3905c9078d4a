/**
 * A single-producer, single-consumer ring of entries in shared memory: how the receiving thread
 * hands packets and calls to an {@linkcode OffThreadCoordinator}'s worker without a message per
 * packet. Each entry is a kind byte and six numbers; the producer publishes with one atomic store,
 * the consumer frees space with another. Counters wrap at 2^32, so the ring runs forever.
 *
 * @module
 */

import type { PacketInfo } from "../core/types.ts";

/** An RTP packet: ssrc, arrival ms, now ms, payload size, RTP timestamp, abs-send-time or NaN. */
export const ENTRY_PACKET = 0;
/** The coordinator's periodic step at a time: now ms. */
export const ENTRY_TICK = 1;
/** `flush()`: request id, now ms. */
export const ENTRY_FLUSH = 2;
/** `removeStream()`: ssrc. */
export const ENTRY_REMOVE = 3;
/** `setRtt()`: rtt ms. */
export const ENTRY_RTT = 4;
/** `setMaxDesiredBitrate()`: bps, now ms. */
export const ENTRY_MAX_BITRATE = 5;

/** Numbers per entry. */
export const ENTRY_VALUES = 6;

/** A packet entry's SSRC, at this offset from the entry's first number (so are the next ones). */
export const PACKET_SSRC = 0;
/** Arrival time, ms. */
export const PACKET_ARRIVAL_MS = 1;
/** Receiver clock when processed, ms. */
export const PACKET_NOW_MS = 2;
/** Payload size, bytes. */
export const PACKET_PAYLOAD_SIZE = 3;
/** RTP timestamp. */
export const PACKET_RTP_TIMESTAMP = 4;
/** 24-bit abs-send-time, or NaN without one. */
export const PACKET_ABS_SEND_TIME = 5;

/** Takes entries in order, one method per kind, with each entry's numbers. */
export interface EntryReader {
  /**
   * An RTP packet.
   *
   * @param packet A view of the entry, valid during the call only.
   * @param nowMs Receiver clock when it was processed, ms.
   */
  packet(packet: PacketInfo, nowMs: number): void;
  /**
   * The periodic step.
   *
   * @param nowMs When, ms.
   */
  tick(nowMs: number): void;
  /**
   * A `flush()`.
   *
   * @param id Its request id.
   * @param nowMs When, ms.
   */
  flush(id: number, nowMs: number): void;
  /**
   * A `removeStream()`.
   *
   * @param ssrc The SSRC.
   */
  removeStream(ssrc: number): void;
  /**
   * A `setRtt()`.
   *
   * @param rttMs The RTT, ms.
   */
  setRtt(rttMs: number): void;
  /**
   * A `setMaxDesiredBitrate()`.
   *
   * @param bitrateBps The cap, bps.
   * @param nowMs When, ms.
   */
  setMaxDesiredBitrate(bitrateBps: number, nowMs: number): void;
}

/** The reusable view a reader is handed; every field a double from the start. */
class PacketView implements PacketInfo {
  ssrc = 0.5;
  arrivalTimeMs = 0.5;
  payloadSize = 0.5;
  rtpTimestamp = 0.5;
  absSendTime = 0.5;
}

/** The same without abs-send-time. */
class PacketViewWithoutAbs implements PacketInfo {
  ssrc = 0.5;
  arrivalTimeMs = 0.5;
  payloadSize = 0.5;
  rtpTimestamp = 0.5;
}

const withAbs = new PacketView();
const withoutAbs = new PacketViewWithoutAbs();

const WRITTEN = 0;
const READ = 1;
const CONTROL_BYTES = 8;

/**
 * The ring, as either thread sees it.
 *
 * @example
 * ```ts
 * import { ENTRY_TICK, EntryRing } from "./entry_ring.ts";
 * import assert from "node:assert/strict";
 * const producer = new EntryRing(8);
 * const consumer = new EntryRing(8, producer.buffer);
 * const at = producer.reserve();
 * producer.values[at] = 1234.5;
 * producer.commit(ENTRY_TICK);
 * producer.publish();
 * assert.equal(consumer.available(), 1);
 * assert.equal(consumer.kindAt(0), ENTRY_TICK);
 * assert.equal(consumer.values[consumer.offsetOf(0)], 1234.5);
 * consumer.release(1);
 * assert.equal(producer.free(), 8);
 * ```
 */
export class EntryRing {
  /** The shared memory; post it to the other thread. */
  readonly buffer: SharedArrayBuffer;
  /** Entries it holds; a power of two. */
  readonly capacity: number;
  /** Each entry's numbers, `ENTRY_VALUES` apiece. */
  readonly values: Float64Array;
  readonly #kinds: Uint8Array;
  readonly #control: Int32Array;
  readonly #mask: number;
  // Producer side: entries written, published or not.
  #written = 0;

  /**
   * Creates a ring, or a view of one another thread created.
   *
   * @param capacity Entries; a power of two.
   * @param buffer The other thread's buffer.
   * @throws {RangeError} The capacity is not a power of two of at least 2.
   */
  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(
        `Cannot create entry ring as 'capacity' must be a power of two: current value is ${capacity}`,
      );
    }
    const valueBytes = capacity * ENTRY_VALUES * 8;
    this.buffer = buffer ?? new SharedArrayBuffer(CONTROL_BYTES + valueBytes + capacity);
    this.capacity = capacity;
    this.#mask = capacity - 1;
    this.#control = new Int32Array(this.buffer, 0, 2);
    this.values = new Float64Array(this.buffer, CONTROL_BYTES, capacity * ENTRY_VALUES);
    this.#kinds = new Uint8Array(this.buffer, CONTROL_BYTES + valueBytes, capacity);
    this.#written = this.#control[WRITTEN];
  }

  /** Producer: entries that can be written before the consumer frees more. */
  free(): number {
    return this.capacity - ((this.#written - Atomics.load(this.#control, READ)) | 0);
  }

  /**
   * Producer: the offset in `values` of the next entry; write its numbers there, then
   * {@linkcode EntryRing.commit}. Check {@linkcode EntryRing.free} first.
   *
   * @returns Offset of its first number.
   */
  reserve(): number {
    return (this.#written & this.#mask) * ENTRY_VALUES;
  }

  /**
   * Producer: completes the reserved entry.
   *
   * @param kind Its kind.
   */
  commit(kind: number): void {
    this.#kinds[this.#written & this.#mask] = kind;
    this.#written = (this.#written + 1) | 0;
  }

  /** Producer: makes every committed entry visible to the consumer. */
  publish(): void {
    Atomics.store(this.#control, WRITTEN, this.#written);
  }

  /** Consumer: entries published and not yet released. */
  available(): number {
    return (Atomics.load(this.#control, WRITTEN) - this.#control[READ]) | 0;
  }

  /**
   * Consumer: the kind of the `i`-th unreleased entry.
   *
   * @param i Position after the oldest unreleased entry.
   * @returns Its kind.
   */
  kindAt(i: number): number {
    return this.#kinds[(this.#control[READ] + i) & this.#mask];
  }

  /**
   * Consumer: the offset in `values` of the `i`-th unreleased entry.
   *
   * @param i Position after the oldest unreleased entry.
   * @returns Offset of its first number.
   */
  offsetOf(i: number): number {
    return ((this.#control[READ] + i) & this.#mask) * ENTRY_VALUES;
  }

  /**
   * Consumer: frees the oldest `count` entries for the producer.
   *
   * @param count Entries read.
   */
  release(count: number): void {
    Atomics.store(this.#control, READ, (this.#control[READ] + count) | 0);
    Atomics.notify(this.#control, READ); // A producer may wait for space.
  }

  /**
   * Consumer: hands every published entry to `reader`, oldest first, and releases them.
   *
   * @param reader Takes them.
   * @param onError Receives what `reader` throws for an entry, and the next entry follows; without
   * it, a throw leaves every entry unreleased.
   * @param max Reads at most this many, the oldest.
   * @returns Entries read.
   */
  read(reader: EntryReader, onError?: (error: unknown) => void, max = Infinity): number {
    const values = this.values;
    const available = this.available();
    const count = available < max ? available : max;
    for (let i = 0; i < count; i++) {
      if (onError === undefined) readEntry(reader, this.kindAt(i), values, this.offsetOf(i));
      else {
        try {
          readEntry(reader, this.kindAt(i), values, this.offsetOf(i));
        } catch (error) {
          onError(error);
        }
      }
    }
    this.release(count);
    return count;
  }

  /**
   * Consumer of this ring and producer of `target`: moves the oldest published entries there, as
   * many as it has room for, committed and not yet published.
   *
   * @param target The ring to fill.
   * @returns Entries moved.
   */
  moveInto(target: EntryRing): number {
    const count = Math.min(this.available(), target.free());
    for (let i = 0; i < count; i++) {
      const from = this.offsetOf(i);
      const at = target.reserve();
      for (let j = 0; j < ENTRY_VALUES; j++) target.values[at + j] = this.values[from + j];
      target.commit(this.kindAt(i));
    }
    this.release(count);
    return count;
  }

  /** Entries released by the consumer so far (wrapping). */
  get released(): number {
    return Atomics.load(this.#control, READ);
  }

  /**
   * Producer: calls `onSpace` once the consumer has released entries past `seen`, without blocking.
   *
   * @param seen {@linkcode EntryRing.released} as read before publishing.
   * @param onSpace Called once.
   */
  whenReleased(seen: number, onSpace: () => void): void {
    const wait = Atomics.waitAsync(this.#control, READ, seen);
    if (wait.async) wait.value.then(onSpace);
    else queueMicrotask(onSpace);
  }
}

function readEntry(reader: EntryReader, kind: number, values: Float64Array, at: number): void {
  switch (kind) {
    case ENTRY_PACKET: {
      const abs = values[at + PACKET_ABS_SEND_TIME];
      const packet = abs === abs ? withAbs : withoutAbs; // NaN: no abs-send-time
      packet.ssrc = values[at + PACKET_SSRC];
      packet.arrivalTimeMs = values[at + PACKET_ARRIVAL_MS];
      packet.payloadSize = values[at + PACKET_PAYLOAD_SIZE];
      packet.rtpTimestamp = values[at + PACKET_RTP_TIMESTAMP];
      if (packet === withAbs) withAbs.absSendTime = abs;
      reader.packet(packet, values[at + PACKET_NOW_MS]);
      break;
    }
    case ENTRY_TICK:
      reader.tick(values[at]);
      break;
    case ENTRY_FLUSH:
      reader.flush(values[at], values[at + 1]);
      break;
    case ENTRY_REMOVE:
      reader.removeStream(values[at]);
      break;
    case ENTRY_RTT:
      reader.setRtt(values[at]);
      break;
    case ENTRY_MAX_BITRATE:
      reader.setMaxDesiredBitrate(values[at], values[at + 1]);
      break;
  }
}
