/**
 * Big-endian 32-bit reads and writes on a byte array, for the RTCP codecs (REMB, XR), and the one
 * check of a 32-bit unsigned field (an SSRC, an NTP word) every codec and front end uses.
 *
 * @module
 */

/**
 * Writes `value` as a big-endian 32-bit unsigned integer at `at`.
 *
 * @param bytes Destination.
 * @param at First byte.
 * @param value A 32-bit unsigned integer.
 */
export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/**
 * Reads a big-endian 32-bit unsigned integer at `at`.
 *
 * @param bytes Source.
 * @param at First byte.
 * @returns The value, unsigned.
 */
export function readU32(bytes: Uint8Array, at: number): number {
  // Multiplying the top byte keeps the result unsigned; `<< 24` would make it negative.
  return bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}

/**
 * Checks that `value` is a 32-bit unsigned integer, naming the field and the action in the error.
 *
 * @example
 * ```ts
 * import { checkU32 } from "./_bytes.ts";
 * import assert from "node:assert/strict";
 * checkU32(0xffffffff, "encode REMB", "ssrcs", 2);
 * assert.throws(() => checkU32(-1, "encode REMB", "ssrcs", 2), {
 *   name: "RangeError",
 *   message: "Cannot encode REMB as 'ssrcs[2]' must be a 32-bit unsigned integer: current value is -1",
 * });
 * ```
 *
 * @param value The value.
 * @param action What could not be done, e.g. "encode REMB".
 * @param name The field.
 * @param index The field's index when it is one entry of a list (the label is built only on error).
 * @throws {TypeError} `value` is not a number.
 * @throws {RangeError} `value` is not an integer in [0, 2^32 - 1].
 */
export function checkU32(value: unknown, action: string, name: string, index?: number): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${
        label(name, index)
      }' must be a number: current type is ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(
      `Cannot ${action} as '${
        label(name, index)
      }' must be a 32-bit unsigned integer: current value is ${value}`,
    );
  }
}

function label(name: string, index: number | undefined): string {
  return index === undefined ? name : `${name}[${index}]`;
}
