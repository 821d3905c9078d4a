/**
 * A queue of entries on one thread, for those that found an {@linkcode EntryRing} full: more entry
 * rings, filled in turn and drained into the shared one in order. Writing, moving and reading go
 * through `EntryRing` itself, so there is one ring implementation and one entry layout.
 *
 * @module
 */

import { type EntryReader, EntryRing } from "./entry_ring.ts";
import { Fifo } from "./_fifo.ts";

// Entries per spill ring: 49 bytes apiece, about 200 KB.
const SPILL_RING_CAPACITY = 4096;

/**
 * Entries that found the ring full, in order: more entry rings, each filled in turn and drained
 * into the shared one. A drained ring is kept for the next one needed, so a steady backlog
 * allocates nothing.
 *
 * @example
 * ```ts
 * import { EntrySpill } from "./_entry_spill.ts";
 * import { ENTRY_RTT, EntryRing } from "./entry_ring.ts";
 * import assert from "node:assert/strict";
 * const shared = new EntryRing(2);
 * const spill = new EntrySpill();
 * for (const rttMs of [10, 20, 30]) {
 *   const ring = spill.writable();
 *   ring.values[ring.reserve()] = rttMs;
 *   spill.commit(ENTRY_RTT);
 * }
 * spill.moveInto(shared);
 * assert.equal(spill.length, 1); // The shared ring holds two.
 * shared.publish();
 * assert.equal(shared.values[shared.offsetOf(0)], 10);
 * ```
 */
export class EntrySpill {
  readonly #rings = new Fifo<EntryRing>();
  #tail: EntryRing | undefined;
  #spare: EntryRing | undefined;
  #length = 0;

  /** Entries waiting. */
  get length(): number {
    return this.#length;
  }

  /**
   * The ring to write the next entry into: reserve there, then {@linkcode EntrySpill.commit}.
   *
   * @returns A ring with room for one entry.
   */
  writable(): EntryRing {
    const tail = this.#tail;
    if (tail !== undefined && tail.free() > 0) return tail;
    const ring = this.#spare ?? new EntryRing(SPILL_RING_CAPACITY);
    this.#spare = undefined;
    this.#rings.push(ring);
    this.#tail = ring;
    return ring;
  }

  /**
   * Completes the entry reserved in {@linkcode EntrySpill.writable}'s ring.
   *
   * @param kind Its kind.
   */
  commit(kind: number): void {
    this.#tail!.commit(kind);
    this.#tail!.publish();
    this.#length++;
  }

  /**
   * Moves the oldest entries into `ring`, as many as it has room for, committed and not yet
   * published there.
   *
   * @param ring The ring to fill.
   */
  moveInto(ring: EntryRing): void {
    while (this.#length > 0 && ring.free() > 0) {
      const oldest = this.#rings.peek()!;
      this.#length -= oldest.moveInto(ring);
      if (oldest.available() === 0 && oldest !== this.#tail) this.#spare = this.#rings.shift();
    }
  }

  /**
   * Hands the oldest entries to `reader`, oldest first, and removes them.
   *
   * @param reader Takes them.
   * @param onError Receives what `reader` throws for an entry; the next entry follows.
   * @param max Reads at most this many.
   * @returns Entries read.
   */
  read(reader: EntryReader, onError: (error: unknown) => void, max = Infinity): number {
    let read = 0;
    while (this.#length > 0 && read < max) {
      const oldest = this.#rings.peek()!;
      const count = oldest.read(reader, onError, max - read);
      read += count;
      this.#length -= count;
      // Drained, and not the tail that takes what comes next: its ring is spare. (A drained tail
      // leaves the spill empty, which ends the loop.)
      if (oldest.available() === 0 && oldest !== this.#tail) this.#spare = this.#rings.shift();
    }
    return read;
  }
}
