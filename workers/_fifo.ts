/**
 * A first-in first-out queue on a ring that only grows: pushing and shifting allocate nothing in
 * steady state, where an array's push/shift pair keeps reallocating its backing store.
 *
 * @module
 */

/** A growable ring queue. */
export class Fifo<T> {
  #items: (T | undefined)[] = new Array(8).fill(undefined);
  #head = 0;
  #length = 0;

  /** Number of items. */
  get length(): number {
    return this.#length;
  }

  /** The oldest item, or `undefined`. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /**
   * Appends an item.
   *
   * @param item The item.
   */
  push(item: T): void {
    const capacity = this.#items.length;
    if (this.#length === capacity) {
      const items: (T | undefined)[] = new Array(capacity * 2).fill(undefined);
      for (let i = 0; i < capacity; i++) items[i] = this.#items[(this.#head + i) % capacity];
      this.#items = items;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#length) % this.#items.length] = item;
    this.#length++;
  }

  /** Removes and returns the oldest item, or `undefined`. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#length--;
    return item;
  }

  /** Removes every item. */
  clear(): void {
    while (this.#length > 0) this.shift();
  }
}
