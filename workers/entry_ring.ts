/**
 * A single-producer, single-consumer ring of entries in shared memory: how the receiving thread
 * hands packets and calls to an {@linkcode OffThreadCoordinator}'s worker without a message per
 * packet. Each entry is a kind byte and six numbers; the producer publishes with one atomic store,
 * the consumer frees space with another. Counters wrap at 2^32, so the ring runs forever.
 *
 * @module
 */

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
