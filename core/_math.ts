/**
 * Integer rounding rules of libwebrtc's unit types (reference §2), so that results are bit-exact.
 *
 * @module
 */

/** Rounds half away from zero, like C's `llround`. */
export function llround(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** C++ integer division of two integers: truncates toward zero. */
export function truncDiv(a: number, b: number): number {
  return Math.trunc(a / b);
}

/**
 * libwebrtc's `DivideRoundToNearest` for integers: half rounds up for non-negative values; negative
 * values truncate, then step down when the remainder is more than half.
 */
export function divideRoundToNearest(dividend: number, divisor: number): number {
  if (dividend >= 0) {
    const quotient = Math.floor(dividend / divisor);
    const remainder = dividend - quotient * divisor;
    return remainder > (divisor - 1) / 2 ? quotient + 1 : quotient;
  }
  const quotient = Math.trunc(dividend / divisor);
  const remainder = dividend - quotient * divisor;
  return -remainder > divisor / 2 ? quotient - 1 : quotient;
}

/** Converts a time in milliseconds (fractions allowed) to integer microseconds. */
export function msToUs(ms: number): number {
  return Math.round(ms * 1000);
}

/**
 * `Timestamp::ms()`: integer microseconds to milliseconds, rounded to nearest. For a divisor of 1000
 * `DivideRoundToNearest` rounds every half up, whatever the sign: `floor((us + 500) / 1000)`.
 *
 * Computed as `floor(us / 1000 + 0.5)`, in doubles only: the quotient's fraction is a multiple of
 * 0.001 and, below 2^42 ms (139 years), both roundings together err by less than that, so the floor
 * lands where the exact one does. V8 would otherwise run `us + 500` as a checked 64-bit integer
 * addition between two conversions, on the per-packet path.
 */
export function usToMs(us: number): number {
  const ms = us / 1000;
  return Math.abs(ms) < 4398046511104 ? Math.floor(ms + 0.5) : Math.floor((us + 500) / 1000);
}
