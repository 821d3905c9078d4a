/**
 * Small assertion helpers shared by the conformance suite, phrased like gtest's `EXPECT_NEAR`.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Asserts `|actual − expected| ≤ tolerance`, as gtest's `EXPECT_NEAR` does.
 *
 * @param actual Measured value.
 * @param expected Expected value.
 * @param tolerance Largest accepted absolute difference.
 * @param what What was measured, for the failure message.
 */
export function assertNear(
  actual: number,
  expected: number,
  tolerance: number,
  what: string,
): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} ± ${tolerance}, got ${actual} (off by ${actual - expected})`,
  );
}
