/**
 * Big-endian 32-bit reads and writes on a byte array, for the RTCP codecs (REMB, XR).
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
