/**
 * A map from 32-bit SSRCs to values, by open addressing over typed arrays: lookups never box a
 * large SSRC on the heap (a `Map` key above 2^30 would), and iteration is over a dense array.
 *
 * @module
 */

const EMPTY = -1;

/**
 * SSRC-keyed map with allocation-free `get`.
 *
 * @example
 * ```ts
 * import { SsrcMap } from "./ssrc_map.ts";
 * import assert from "node:assert/strict";
 * const map = new SsrcMap<string>();
 * map.set(0xffffffff, "a");
 * assert.equal(map.get(0xffffffff), "a");
 * map.delete(0xffffffff);
 * assert.equal(map.size, 0);
 * ```
 */
export class SsrcMap<T> {
  #keys = new Float64Array(16);
  #slots = new Int32Array(16).fill(EMPTY); // index into #values, or EMPTY
  readonly #values: T[] = [];
  readonly #valueKeys: number[] = [];
  #sorted: readonly number[] | undefined;
  #keyInput = 0; // Input register: a large SSRC argument would be boxed.

  /** Number of entries. */
  get size(): number {
    return this.#values.length;
  }

  /** The values in insertion order, except that a deletion moves the last entry into its place. */
  get values(): readonly T[] {
    return this.#values;
  }

  /**
   * The keys in ascending order, as a frozen array that is reused until a key is added or removed,
   * so that reporting them on every estimate allocates nothing.
   *
   * @returns The sorted keys.
   */
  sortedKeys(): number[] {
    if (!this.#sorted) this.#sorted = Object.freeze([...this.#valueKeys].sort((a, b) => a - b));
    return this.#sorted as number[];
  }

  /** The keys, aligned with {@linkcode SsrcMap.values}. */
  get keys(): readonly number[] {
    return this.#valueKeys;
  }

  /**
   * Looks an SSRC up.
   *
   * @param ssrc A 32-bit unsigned integer.
   * @returns The value, or `undefined`.
   */
  get(ssrc: number): T | undefined {
    this.#keyInput = ssrc;
    const index = this.#find();
    return index === EMPTY ? undefined : this.#values[index];
  }

  /**
   * Looks up the SSRC at `keys[index]` without boxing it.
   *
   * @param keys SSRCs.
   * @param index Which one.
   * @returns The value, or `undefined`.
   */
  getAt(keys: Float64Array, index: number): T | undefined {
    this.#keyInput = keys[index];
    const found = this.#find();
    return found === EMPTY ? undefined : this.#values[found];
  }

  /**
   * Adds or replaces an entry.
   *
   * @param ssrc A 32-bit unsigned integer.
   * @param value The value.
   */
  set(ssrc: number, value: T): void {
    this.#keyInput = ssrc;
    const index = this.#find();
    if (index !== EMPTY) {
      this.#values[index] = value;
      return;
    }
    if ((this.#values.length + 1) * 2 > this.#slots.length) this.#grow();
    this.#values.push(value);
    this.#valueKeys.push(ssrc);
    this.#sorted = undefined;
    this.#insert(ssrc, this.#values.length - 1);
  }

  /**
   * Removes an entry.
   *
   * @param ssrc A 32-bit unsigned integer.
   * @returns Whether it was present.
   */
  delete(ssrc: number): boolean {
    const mask = this.#slots.length - 1;
    let slot = this.#hash(ssrc) & mask;
    while (this.#slots[slot] !== EMPTY && this.#keys[slot] !== ssrc) slot = (slot + 1) & mask;
    const index = this.#slots[slot];
    if (index === EMPTY) return false;
    this.#slots[slot] = EMPTY;
    // Re-seat the rest of the probe run so lookups never stop early.
    let next = (slot + 1) & mask;
    while (this.#slots[next] !== EMPTY) {
      const key = this.#keys[next];
      const moved = this.#slots[next];
      this.#slots[next] = EMPTY;
      this.#insert(key, moved);
      next = (next + 1) & mask;
    }
    // Keep values dense: move the last entry into the hole.
    const last = this.#values.length - 1;
    if (index !== last) {
      const lastKey = this.#valueKeys[last];
      this.#values[index] = this.#values[last];
      this.#valueKeys[index] = lastKey;
      this.#slots[this.#slotOf(lastKey)] = index;
    }
    this.#values.pop();
    this.#valueKeys.pop();
    this.#sorted = undefined;
    return true;
  }

  #find(): number {
    const ssrc = this.#keyInput;
    const mask = this.#slots.length - 1;
    const h = Math.imul(ssrc | 0, 0x9e3779b1);
    let slot = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const index = this.#slots[slot];
      if (index === EMPTY || this.#keys[slot] === ssrc) return index;
      slot = (slot + 1) & mask;
    }
  }

  #slotOf(ssrc: number): number {
    const mask = this.#slots.length - 1;
    let slot = this.#hash(ssrc) & mask;
    while (this.#keys[slot] !== ssrc || this.#slots[slot] === EMPTY) slot = (slot + 1) & mask;
    return slot;
  }

  #insert(ssrc: number, index: number): void {
    const mask = this.#slots.length - 1;
    let slot = this.#hash(ssrc) & mask;
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.#keys[slot] = ssrc;
    this.#slots[slot] = index;
  }

  #grow(): void {
    const size = this.#slots.length * 2;
    this.#keys = new Float64Array(size);
    this.#slots = new Int32Array(size).fill(EMPTY);
    for (let i = 0; i < this.#valueKeys.length; i++) this.#insert(this.#valueKeys[i], i);
  }

  // Multiplicative hashing of the 32-bit key, folded to a small (unboxed) integer.
  #hash(ssrc: number): number {
    const h = Math.imul(ssrc | 0, 0x9e3779b1);
    return (h ^ (h >>> 15)) & 0x3fffffff;
  }
}
