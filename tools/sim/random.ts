/**
 * Seeded random numbers for the simulator: a small, fast generator (sfc32) seeded through
 * splitmix32, and independent sub-streams per component, so that adding a flow or a jitter source
 * does not shift the numbers every other component draws.
 *
 * @module
 */

/** A seeded source of random numbers. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal: number | undefined;

  /**
   * Creates a generator.
   *
   * @param seed Any 32-bit integer.
   * @param label Names a sub-stream: the same seed with another label gives unrelated numbers.
   * @throws {RangeError} The seed is not an integer.
   * @example
   * ```ts
   * import { Random } from "./random.ts";
   * import assert from "node:assert/strict";
   * assert.equal(new Random(7, "x").next(), new Random(7, "x").next());
   * assert.notEqual(new Random(7, "x").next(), new Random(7, "y").next());
   * ```
   */
  constructor(seed: number, label = "") {
    if (!Number.isInteger(seed)) {
      throw new RangeError(
        `Cannot seed random numbers as 'seed' must be an integer: current value is ${seed}`,
      );
    }
    let state = (seed ^ hashLabel(label)) >>> 0;
    const split = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.#nextUint32();
  }

  #nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /**
   * A uniform number in [0, 1).
   *
   * @returns The number.
   */
  next(): number {
    return this.#nextUint32() / 4294967296;
  }

  /**
   * A uniform number in [min, max).
   *
   * @param min Lower bound.
   * @param max Upper bound.
   * @returns The number.
   */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /**
   * A uniform 32-bit unsigned integer.
   *
   * @returns The integer.
   */
  uint32(): number {
    return this.#nextUint32();
  }

  /**
   * A normally distributed number (Box–Muller).
   *
   * @param mean Mean.
   * @param sd Standard deviation.
   * @returns The number.
   */
  normal(mean = 0, sd = 1): number {
    let z = this.#spareNormal;
    if (z === undefined) {
      const u = 1 - this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      z = r * Math.cos(2 * Math.PI * v);
      this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    } else {
      this.#spareNormal = undefined;
    }
    return mean + sd * z;
  }

  /**
   * An exponentially distributed number.
   *
   * @param mean Mean.
   * @returns The number.
   */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
