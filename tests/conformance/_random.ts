/**
 * The pseudo-random generator libwebrtc's unit tests use (`rtc_base/random.cc`, an xorshift64*
 * generator), rebuilt from reference §12.7 so the overuse-detector scenarios draw the very same
 * jitter sequence as libwebrtc does.
 *
 * The 64-bit state is a BigInt so every shift, xor and multiplication wraps exactly modulo 2^64.
 *
 * @module
 */

/** The multiplier of the xorshift64* output function. */
const OUTPUT_MULTIPLIER = 2685821657736338717n;

/**
 * `static_cast<double>(0xFFFFFFFFFFFFFFFF)`: 2^64 − 1 is not representable as a double and rounds
 * up to 2^64, so that is the divisor libwebrtc really uses.
 */
const UINT64_MAX_AS_DOUBLE = 18446744073709551616;

/** Seed of every libwebrtc overuse-detector test fixture. */
export const DEFAULT_SEED = 123456789n;

/**
 * libwebrtc's test `Random`: xorshift64* with the same seed gives the same stream.
 *
 * @example
 * ```ts
 * import { Random } from "./_random.ts";
 * import assert from "node:assert/strict";
 * const a = new Random();
 * const b = new Random();
 * assert.equal(a.rand(0, 1), b.rand(0, 1));
 * ```
 */
export class Random {
  #state: bigint;

  /**
   * Creates a generator.
   *
   * @param seed Initial 64-bit state; libwebrtc forbids 0, which would stay 0 forever.
   * @default {123456789n}
   */
  constructor(seed: bigint = DEFAULT_SEED) {
    const state = BigInt.asUintN(64, seed);
    if (state === 0n) {
      throw new RangeError("Cannot seed Random as the seed must be non-zero: current value is 0");
    }
    this.#state = state;
  }

  /**
   * Advances the state once and returns the 64-bit output.
   *
   * @returns The next output, in [0, 2^64).
   */
  nextOutput(): bigint {
    let s = this.#state;
    s ^= s >> 12n;
    s = BigInt.asUintN(64, s ^ (s << 25n));
    s ^= s >> 27n;
    this.#state = s;
    return BigInt.asUintN(64, s * OUTPUT_MULTIPLIER);
  }

  /**
   * `Rand(t)`: an integer in [0, t]; `Rand(low, high)`: an integer in [low, high].
   *
   * @param a `t` when called with one argument, otherwise `low`.
   * @param b `high`.
   * @returns The drawn integer.
   */
  rand(a: number, b?: number): number {
    if (b === undefined) return this.#randUpTo(a);
    return this.#randUpTo(b - a) + a;
  }

  /** `(low32(output) × (t + 1)) >> 32`, exact in BigInt because the product can exceed 2^53. */
  #randUpTo(t: number): number {
    const low32 = BigInt.asUintN(32, this.nextOutput());
    return Number((low32 * BigInt((t >>> 0) + 1)) >> 32n);
  }

  /**
   * Box–Muller draw from a normal distribution, consuming two outputs.
   *
   * @param mean Mean of the distribution.
   * @param standardDeviation Standard deviation of the distribution.
   * @returns The sample.
   */
  gaussian(mean: number, standardDeviation: number): number {
    const u1 = Number(this.nextOutput()) / UINT64_MAX_AS_DOUBLE;
    const u2 = Number(this.nextOutput()) / UINT64_MAX_AS_DOUBLE;
    return mean + standardDeviation * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
