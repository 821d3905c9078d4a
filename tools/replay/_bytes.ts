/**
 * Integer reads from byte buffers in either byte order, without a DataView.
 *
 * @module
 */

/**
 * Reads an unsigned 16-bit integer.
 *
 * @param bytes The buffer.
 * @param at Offset of the first byte.
 * @param littleEndian Byte order.
 * @returns The value.
 */
export function readU16(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1];
}

/**
 * Reads an unsigned 32-bit integer.
 *
 * @param bytes The buffer.
 * @param at Offset of the first byte.
 * @param littleEndian Byte order.
 * @returns The value.
 */
export function readU32(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * Formats bytes as hex pairs, for error messages.
 *
 * @param bytes The buffer.
 * @param start First byte.
 * @param count How many.
 * @returns For example `"0a 0d 0d 0a"`.
 */
export function hexBytes(bytes: Uint8Array, start: number, count: number): string {
  const parts: string[] = [];
  for (let i = start; i < Math.min(start + count, bytes.length); i++) {
    parts.push(bytes[i].toString(16).padStart(2, "0"));
  }
  return parts.join(" ");
}
