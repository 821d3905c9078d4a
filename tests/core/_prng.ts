/**
 * A small seeded pseudo-random generator for the core tests (mulberry32), so that randomized inputs
 * are the same on every run without any dependency.
 *
 * @module
 */

/** Draws from a 32-bit mulberry32 state: the same seed always gives the same sequence. */
export class Prng {
  #state: number;

  /**
   * Creates a generator.
   *
   * @param seed Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * The next value in [0, 1).
   *
   * @returns A float with 32 random bits.
   */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * An integer in [lo, hi], both inclusive.
   *
   * @param lo Smallest value.
   * @param hi Largest value.
   * @returns A uniformly drawn integer.
   */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /**
   * `true` with probability `p`.
   *
   * @param p Probability in [0, 1].
   * @returns The draw.
   */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
