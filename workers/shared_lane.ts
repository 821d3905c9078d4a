/**
 * The shared-memory transport: a lane's batches travel through slots of a `SharedArrayBuffer`
 * instead of messages. The coordinator's thread fills a slot and publishes it with one atomic store;
 * the worker runs the slot through the lane's pipeline, writes the verdicts and figures in place and
 * publishes that with another. A worker sleeps on its doorbell in `Atomics.wait` (a futex: waking it
 * costs a few µs, where a message or an `Atomics.waitAsync` promise costs tens) and the coordinator
 * rings it once per flush; control messages are counted on the doorbell so that the worker leaves
 * its loop to read them. Results are collected when the coordinator flushes next, or at once when
 * it asks for prompt answers.
 *
 * @module
 */

import { PacketBatch } from "../core/packet_batch.ts";

/**
 * Batches of a lane that can be in flight at once; more wait on the coordinator's side until a
 * flush frees slots (8 × 64 records per flush is far above what one video stream sends).
 */
export const SHARED_SLOTS = 8;

// Control words of a lane, then per batch in flight (by its number modulo SHARED_SLOTS) its length
// and the slot that holds it.
const SUBMITTED = 0;
const DONE = 1;
const LENGTHS = 2;
const SLOT_OF = LENGTHS + SHARED_SLOTS;
const CONTROL_WORDS = SLOT_OF + SHARED_SLOTS;
const CONTROL_BYTES = 8 * Math.ceil((CONTROL_WORDS * 4) / 8);

// Doorbell words of a worker.
const RINGS = 0;
const PROMPT = 1;
const CONTROLS = 2;
const STOP = 3;

/** Bytes of one slot: a batch, rounded up to whole 8-byte words so the next slot is aligned. */
function slotBytes(capacity: number): number {
  return 8 * Math.ceil(PacketBatch.byteLength(capacity) / 8);
}

/**
 * One lane's slots over a `SharedArrayBuffer`, as either thread sees them. `submitted` and `done`
 * count batches. The coordinator's side lends a slot to be filled, in place or by a copy, publishes
 * it, and reclaims it once its results are taken; it lends the slot reclaimed last, so a lane with
 * few batches in flight keeps using few slots: with a thousand lanes, cycling through all eight
 * would touch eight times the memory and miss the cache on every record.
 *
 * @example
 * ```ts
 * import { SharedLane } from "./shared_lane.ts";
 * import assert from "node:assert/strict";
 * const producer = new SharedLane(64);
 * const consumer = new SharedLane(64, producer.buffer);
 * const slot = producer.lend()!; // the coordinator fills it in place
 * slot.size[0] = 1200;
 * producer.publish(slot, 5);
 * assert.equal(consumer.submitted, 1);
 * assert.equal(consumer.slot(0).size[0], 1200);
 * assert.equal(consumer.lengthOf(0), 5);
 * consumer.slot(0).usage[0] = 2; // the worker's verdict, in the same memory
 * consumer.finish();
 * assert.equal(slot.usage[0], 2);
 * producer.reclaim(slot); // its results taken: the next batch goes into the same slot
 * assert.equal(producer.lend(), slot);
 * ```
 */
export class SharedLane {
  /** The shared memory; post it to the other thread. */
  readonly buffer: SharedArrayBuffer;
  /** Records a slot holds. */
  readonly capacity: number;
  readonly #control: Int32Array;
  readonly #slots: PacketBatch[] = [];
  // Coordinator side: free slots, the one freed last on top, and a bit per slot lent.
  readonly #free: number[] = [];
  #lent = 0;

  /**
   * Creates the slots, or views of slots another thread created.
   *
   * @param capacity Records per slot.
   * @param buffer The other thread's buffer.
   */
  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    const stride = slotBytes(capacity);
    this.buffer = buffer ?? new SharedArrayBuffer(CONTROL_BYTES + SHARED_SLOTS * stride);
    this.capacity = capacity;
    this.#control = new Int32Array(this.buffer, 0, CONTROL_WORDS);
    for (let i = 0; i < SHARED_SLOTS; i++) {
      this.#slots.push(new PacketBatch(capacity, this.buffer, CONTROL_BYTES + i * stride));
      this.#free.push(SHARED_SLOTS - 1 - i);
    }
  }

  /** Batches published by the coordinator. */
  get submitted(): number {
    return Atomics.load(this.#control, SUBMITTED);
  }

  /** Batches the worker finished. */
  get done(): number {
    return Atomics.load(this.#control, DONE);
  }

  /**
   * The slot of the `n`-th batch.
   *
   * @param n Batch number.
   * @returns Its slot.
   */
  slot(n: number): PacketBatch {
    return this.#slots[this.#control[SLOT_OF + (n % SHARED_SLOTS)]];
  }

  /**
   * Records in the `n`-th batch.
   *
   * @param n Batch number.
   * @returns Its length.
   */
  lengthOf(n: number): number {
    return this.#control[LENGTHS + (n % SHARED_SLOTS)];
  }

  /** Coordinator side: slots neither lent nor holding a batch. */
  get freeSlots(): number {
    return this.#free.length;
  }

  /**
   * Coordinator side: takes the slot freed last for the coordinator to fill, directly or by a copy.
   * It stays taken until {@linkcode SharedLane.reclaim} gives it back.
   *
   * @returns The slot, or `undefined` when every slot is taken.
   */
  lend(): PacketBatch | undefined {
    const slot = this.#free.pop();
    if (slot === undefined) return undefined;
    this.#lent |= 1 << slot;
    return this.#slots[slot];
  }

  /**
   * Coordinator side: whether `batch` is one of this lane's slots, lent and not reclaimed.
   *
   * @param batch Any batch.
   * @returns `true` for a lent slot.
   */
  holds(batch: PacketBatch): boolean {
    return this.#indexOfLent(batch) >= 0;
  }

  /**
   * Coordinator side: publishes a lent slot, already filled, as batch number `submitted`. It stays
   * lent: its verdicts come back in it.
   *
   * @param batch The slot.
   * @param length Records in it.
   * @throws {RangeError} `batch` is not a slot this lane lent.
   */
  publish(batch: PacketBatch, length: number): void {
    const slot = this.#indexOfLent(batch);
    if (slot < 0) throw new RangeError("Cannot publish a batch that is not a lent slot");
    const n = this.#control[SUBMITTED];
    this.#control[LENGTHS + (n % SHARED_SLOTS)] = length;
    this.#control[SLOT_OF + (n % SHARED_SLOTS)] = slot;
    Atomics.store(this.#control, SUBMITTED, n + 1); // Orders the slot's bytes before the count.
  }

  /**
   * Coordinator side: a lent slot is no longer needed (its results, if it was published and
   * finished, were taken); it is free again and the next to be lent.
   *
   * @param batch The slot.
   * @returns `false`, doing nothing, when `batch` is not a slot this lane lent.
   */
  reclaim(batch: PacketBatch): boolean {
    const slot = this.#indexOfLent(batch);
    if (slot < 0) return false;
    this.#lent &= ~(1 << slot);
    this.#free.push(slot);
    return true;
  }

  #indexOfLent(batch: PacketBatch): number {
    const slots = this.#slots;
    for (let i = 0; i < SHARED_SLOTS; i++) {
      if (slots[i] === batch) return (this.#lent & (1 << i)) !== 0 ? i : -1;
    }
    return -1;
  }

  /** Worker side: marks batch number `done` finished, its verdicts and figures written. */
  finish(): void {
    Atomics.store(this.#control, DONE, this.#control[DONE] + 1);
  }
}

/**
 * A worker's doorbell: a ring counter the worker sleeps on, the number of control messages sent to
 * it (it leaves its loop to read them), whether the coordinator wants to hear at once when results
 * are ready, and a stop flag. A worker sleeping in `Atomics.wait` cannot be terminated in Deno 2.9
 * (the thread lives on), so a worker is told to stop before it is terminated.
 *
 * @example
 * ```ts
 * import { Doorbell } from "./shared_lane.ts";
 * import assert from "node:assert/strict";
 * const bell = new Doorbell();
 * bell.control();
 * const seen = new Doorbell(bell.buffer);
 * assert.equal(seen.rings, 1);
 * assert.equal(seen.controls, 1);
 * assert.equal(seen.sleep(0, 1), "not-equal");
 * ```
 */
export class Doorbell {
  /** The shared memory; post it to the worker. */
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;

  /**
   * Creates a doorbell, or a view of one another thread created.
   *
   * @param buffer The other thread's buffer.
   */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(4 * 4);
    this.#words = new Int32Array(this.buffer);
  }

  /** Times rung. */
  get rings(): number {
    return Atomics.load(this.#words, RINGS);
  }

  /** Control messages sent after the doorbell itself. */
  get controls(): number {
    return Atomics.load(this.#words, CONTROLS);
  }

  /** Whether the worker must leave its loop for good. */
  get stopped(): boolean {
    return Atomics.load(this.#words, STOP) !== 0;
  }

  /** Whether results should be reported at once. */
  get prompt(): boolean {
    return Atomics.load(this.#words, PROMPT) !== 0;
  }

  set prompt(prompt: boolean) {
    Atomics.store(this.#words, PROMPT, prompt ? 1 : 0);
  }

  /** Wakes the worker. */
  ring(): void {
    Atomics.add(this.#words, RINGS, 1);
    Atomics.notify(this.#words, RINGS);
  }

  /** Counts a control message just posted, and wakes the worker to read it. */
  control(): void {
    Atomics.add(this.#words, CONTROLS, 1);
    this.ring();
  }

  /** Makes the worker leave its loop, so that it can be terminated. */
  stop(): void {
    Atomics.store(this.#words, STOP, 1);
    this.ring();
  }

  /**
   * Worker side: sleeps until rung past `seen` (or `timeoutMs` passes). Blocks the thread.
   *
   * @param seen The count already handled.
   * @param timeoutMs Longest sleep.
   * @returns What `Atomics.wait` says.
   */
  sleep(seen: number, timeoutMs: number): "ok" | "not-equal" | "timed-out" {
    return Atomics.wait(this.#words, RINGS, seen, timeoutMs);
  }

  /**
   * Worker side, for a worker whose event loop must keep running: calls `onRing` once rung past
   * `seen`, without blocking.
   *
   * @param seen The count already handled.
   * @param onRing Called once.
   */
  whenRung(seen: number, onRing: () => void): void {
    const wait = Atomics.waitAsync(this.#words, RINGS, seen);
    if (wait.async) wait.value.then(onRing);
    else queueMicrotask(onRing);
  }
}
