/**
 * The REMB RTCP message (Receiver Estimated Maximum Bitrate): encoder, decoder and a cheap header
 * check, per reference §11.4 (`rtcp_packet/remb.cc`).
 *
 * A REMB is an RTCP payload-specific feedback packet (PT 206) with the application-layer feedback
 * format (FMT 15), whose payload is the ASCII tag "REMB", an SSRC count, the bitrate as a 6-bit
 * exponent and an 18-bit mantissa, and the SSRCs the estimate applies to.
 *
 * Bytes are read and written one at a time on the buffer itself, so neither direction allocates
 * anything but its result (no DataView, no intermediate arrays).
 *
 * @module
 */

import { checkU32, readU32, writeU32 } from "./_bytes.ts";

/**
 * A decoded REMB message.
 *
 * @example
 * ```ts
 * import { decodeRemb, encodeRemb, type Remb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const remb: Remb = { senderSsrc: 1, mediaSsrc: 0, bitrateBps: 300_000, ssrcs: [0x1234] };
 * assert.deepEqual(decodeRemb(encodeRemb(remb)), remb);
 * ```
 */
export interface Remb {
  /** SSRC of the RTCP sender (the receiver-report SSRC of a receive-only endpoint). */
  senderSsrc: number;
  /** The PSFB "media source" field; libwebrtc always writes 0. */
  mediaSsrc: number;
  /** The estimated maximum bitrate, in bits per second: `mantissa × 2^exponent`, exact. */
  bitrateBps: number;
  /** The media SSRCs the estimate applies to, in wire order. */
  ssrcs: number[];
}

/** RTCP version 2, padding clear, FMT 15, as the first header byte. */
const FIRST_BYTE = 0x80 | 15;
/** RTCP payload-specific feedback. */
const PT_PSFB = 206;
/** Application layer feedback, the FMT that REMB travels in. */
const FMT_AFB = 15;
/** RTCP common header: V/P/FMT, PT, 16-bit length. */
const HEADER_BYTES = 4;
/** Sender SSRC, media SSRC, "REMB", then count + exponent + mantissa. */
const FIXED_PAYLOAD_BYTES = 16;
/** SSRCs one REMB can list: the count is one byte on the wire. */
export const MAX_REMB_SSRCS = 255;
const MAX_MANTISSA = 0x3ffff;
/** libwebrtc keeps the bitrate in an int64, so `mantissa × 2^exp` must stay below 2^63. */
const BITRATE_LIMIT = 2 ** 63;
// "REMB" in ASCII.
const TAG_R = 0x52;
const TAG_E = 0x45;
const TAG_M = 0x4d;
const TAG_B = 0x42;

/**
 * Encodes a REMB as one RTCP packet (V=2, P=0, FMT=15, PT=206).
 *
 * The bitrate is shifted right until it fits the 18-bit mantissa, so the encoded value is
 * rounded down (by less than 2^-17 of the value), never up.
 *
 * @param remb What to send: the RTCP sender's SSRC, the bitrate in bps (a non-negative integer no
 * greater than `Number.MAX_SAFE_INTEGER`), at most 255 media SSRCs, and optionally the PSFB media
 * SSRC field (`@default 0`). SSRCs are 32-bit unsigned integers.
 * @returns A new buffer of `20 + 4 × ssrcs.length` bytes.
 * @throws {TypeError} If `remb` is not an object, `ssrcs` is not an array, or a field is not a number.
 * @throws {RangeError} If an SSRC or the bitrate is out of range, or there are more than 255 SSRCs.
 * @example
 * ```ts
 * import { encodeRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: 300_000, ssrcs: [0x1234] });
 * assert.equal(bytes.length, 24);
 * assert.deepEqual([...bytes.subarray(0, 2)], [0x8f, 206]);
 * ```
 */
export function encodeRemb(
  remb: { senderSsrc: number; bitrateBps: number; ssrcs: readonly number[]; mediaSsrc?: number },
): Uint8Array {
  if (typeof remb !== "object" || remb === null) {
    throw new TypeError(
      `Cannot encode REMB as 'remb' must be an object: current value is ${String(remb)}`,
    );
  }
  const { senderSsrc, bitrateBps, ssrcs, mediaSsrc = 0 } = remb;
  checkU32(senderSsrc, "encode REMB", "senderSsrc");
  checkU32(mediaSsrc, "encode REMB", "mediaSsrc");
  if (typeof bitrateBps !== "number") {
    throw new TypeError(
      `Cannot encode REMB as 'bitrateBps' must be a number: current type is ${typeof bitrateBps}`,
    );
  }
  if (!Number.isInteger(bitrateBps) || bitrateBps < 0) {
    throw new RangeError(
      `Cannot encode REMB as 'bitrateBps' must be a non-negative integer: current value is ${bitrateBps}`,
    );
  }
  if (bitrateBps > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `Cannot encode REMB as 'bitrateBps' must be at most Number.MAX_SAFE_INTEGER: current value is ${bitrateBps}`,
    );
  }
  if (!Array.isArray(ssrcs)) {
    throw new TypeError(
      `Cannot encode REMB as 'ssrcs' must be an array: current type is ${typeof ssrcs}`,
    );
  }
  const count = ssrcs.length;
  if (count > MAX_REMB_SSRCS) {
    throw new RangeError(
      `Cannot encode REMB as 'ssrcs' must hold at most ${MAX_REMB_SSRCS} SSRCs: current length is ${count}`,
    );
  }
  for (let i = 0; i < count; i++) checkU32(ssrcs[i], "encode REMB", "ssrcs", i);

  // Halving with Math.floor stays exact above 2^32, where the bitwise shift operators would not.
  let mantissa = bitrateBps;
  let exponent = 0;
  while (mantissa > MAX_MANTISSA) {
    mantissa = Math.floor(mantissa / 2);
    exponent++;
  }

  const bytes = new Uint8Array(HEADER_BYTES + FIXED_PAYLOAD_BYTES + 4 * count);
  const lengthWords = bytes.length / 4 - 1;
  bytes[0] = FIRST_BYTE;
  bytes[1] = PT_PSFB;
  bytes[2] = lengthWords >>> 8;
  bytes[3] = lengthWords & 0xff;
  writeU32(bytes, 4, senderSsrc);
  writeU32(bytes, 8, mediaSsrc);
  bytes[12] = TAG_R;
  bytes[13] = TAG_E;
  bytes[14] = TAG_M;
  bytes[15] = TAG_B;
  bytes[16] = count;
  bytes[17] = (exponent << 2) | (mantissa >>> 16);
  bytes[18] = (mantissa >>> 8) & 0xff;
  bytes[19] = mantissa & 0xff;
  for (let i = 0; i < count; i++) writeU32(bytes, 20 + 4 * i, ssrcs[i]);
  return bytes;
}

/**
 * Decodes one REMB RTCP packet that spans the whole buffer.
 *
 * For a compound RTCP packet, slice out the packet first (see {@linkcode isRemb}). A set padding bit
 * is honoured: the last byte then counts the padding bytes. The media SSRC field is returned as
 * read, not checked, as libwebrtc does.
 *
 * @param bytes Exactly one RTCP packet.
 * @returns The decoded message; `bitrateBps` is exact (it may exceed `Number.MAX_SAFE_INTEGER`,
 * but is always below 2^63).
 * @throws {TypeError} If `bytes` is not a `Uint8Array`.
 * @throws {RangeError} If the buffer is not a well-formed REMB: too short, wrong version, packet
 * type or FMT, a length field that does not span the buffer, bad padding, a payload under 16 bytes,
 * a tag other than "REMB", an SSRC count that disagrees with the length, or a bitrate ≥ 2^63.
 * @example
 * ```ts
 * import { decodeRemb, encodeRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const remb = decodeRemb(encodeRemb({ senderSsrc: 1, bitrateBps: 300_000, ssrcs: [7, 9] }));
 * assert.deepEqual(remb, { senderSsrc: 1, mediaSsrc: 0, bitrateBps: 300_000, ssrcs: [7, 9] });
 * assert.throws(() => decodeRemb(new Uint8Array(3)), RangeError);
 * ```
 */
export function decodeRemb(bytes: Uint8Array): Remb {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot decode REMB as 'bytes' must be a Uint8Array: current type is ${describe(bytes)}`,
    );
  }
  const size = bytes.length;
  if (size < HEADER_BYTES) {
    throw new RangeError(
      `Cannot decode REMB as the buffer must hold at least an RTCP header of ${HEADER_BYTES} bytes: current length is ${size}`,
    );
  }
  const version = bytes[0] >>> 6;
  if (version !== 2) {
    throw new RangeError(
      `Cannot decode REMB as the RTCP version at byte 0 must be 2: current value is ${version}`,
    );
  }
  if (bytes[1] !== PT_PSFB) {
    throw new RangeError(
      `Cannot decode REMB as the packet type at byte 1 must be ${PT_PSFB} (payload-specific feedback): current value is ${
        bytes[1]
      }`,
    );
  }
  const fmt = bytes[0] & 0x1f;
  if (fmt !== FMT_AFB) {
    throw new RangeError(
      `Cannot decode REMB as the feedback format at byte 0 must be ${FMT_AFB} (application layer): current value is ${fmt}`,
    );
  }
  const lengthWords = (bytes[2] << 8) | bytes[3];
  if (lengthWords * 4 + HEADER_BYTES !== size) {
    throw new RangeError(
      `Cannot decode REMB as the length field at byte 2 must span the buffer of ${size} bytes: current value is ${lengthWords} (${
        lengthWords * 4 + HEADER_BYTES
      } bytes)`,
    );
  }
  let payloadBytes = size - HEADER_BYTES;
  if ((bytes[0] & 0x20) !== 0) {
    // The padding count is the last byte and includes itself, so it is at least 1.
    const padding = payloadBytes === 0 ? 0 : bytes[size - 1];
    if (padding < 1 || padding > payloadBytes) {
      throw new RangeError(
        `Cannot decode REMB as the padding count at byte ${
          size - 1
        } must be between 1 and the ${payloadBytes} payload bytes: current value is ${padding}`,
      );
    }
    payloadBytes -= padding;
  }
  if (payloadBytes < FIXED_PAYLOAD_BYTES) {
    throw new RangeError(
      `Cannot decode REMB as the payload must hold at least ${FIXED_PAYLOAD_BYTES} bytes: current length is ${payloadBytes}`,
    );
  }
  if (
    bytes[12] !== TAG_R || bytes[13] !== TAG_E || bytes[14] !== TAG_M || bytes[15] !== TAG_B
  ) {
    throw new RangeError(
      `Cannot decode REMB as the tag at byte 12 must be "REMB" (52 45 4d 42): current value is ${
        hex(bytes, 12, 4)
      }`,
    );
  }
  const count = bytes[16];
  if (payloadBytes !== FIXED_PAYLOAD_BYTES + 4 * count) {
    throw new RangeError(
      `Cannot decode REMB as the payload must be ${
        FIXED_PAYLOAD_BYTES + 4 * count
      } bytes for the ${count} SSRCs counted at byte 16: current length is ${payloadBytes}`,
    );
  }
  const exponent = bytes[17] >>> 2;
  const mantissa = ((bytes[17] & 0x03) << 16) | (bytes[18] << 8) | bytes[19];
  // An 18-bit mantissa times a power of two is exact in a double, so this comparison is exact.
  const bitrateBps = mantissa * 2 ** exponent;
  if (bitrateBps >= BITRATE_LIMIT) {
    throw new RangeError(
      `Cannot decode REMB as the bitrate at byte 17 must be below 2^63 bps: current value is ${mantissa} × 2^${exponent}`,
    );
  }
  const ssrcs = new Array<number>(count);
  for (let i = 0; i < count; i++) ssrcs[i] = readU32(bytes, 20 + 4 * i);
  return { senderSsrc: readU32(bytes, 4), mediaSsrc: readU32(bytes, 8), bitrateBps, ssrcs };
}

/**
 * Tells cheaply whether the RTCP packet at `offset` looks like a REMB.
 *
 * Checks the header (V=2, PT=206, FMT=15), that the packet's length field covers at least the
 * fixed REMB payload and fits in `bytes`, and the "REMB" tag. A `true` means the packet is worth
 * passing to {@linkcode decodeRemb}, which may still reject it (padding, SSRC count, bitrate).
 *
 * @param bytes A buffer holding one or more RTCP packets.
 * @param offset Where the packet starts. @default 0
 * @returns Whether the packet at `offset` is a REMB candidate; `false` also when it is cut short.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`.
 * @throws {RangeError} If `offset` is not a non-negative integer.
 * @example
 * ```ts
 * import { encodeRemb, isRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const remb = encodeRemb({ senderSsrc: 1, bitrateBps: 300_000, ssrcs: [] });
 * const compound = new Uint8Array(8 + remb.length);
 * compound.set([0x80, 201, 0, 1, 0, 0, 0, 1]); // An empty receiver report, then the REMB.
 * compound.set(remb, 8);
 * assert.equal(isRemb(compound), false);
 * assert.equal(isRemb(compound, 8), true);
 * ```
 */
export function isRemb(bytes: Uint8Array, offset = 0): boolean {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot check for REMB as 'bytes' must be a Uint8Array: current type is ${describe(bytes)}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(
      `Cannot check for REMB as 'offset' must be a non-negative integer: current value is ${offset}`,
    );
  }
  if (bytes.length - offset < HEADER_BYTES + FIXED_PAYLOAD_BYTES) return false;
  const packetBytes = (((bytes[offset + 2] << 8) | bytes[offset + 3]) + 1) * 4;
  return (bytes[offset] & 0xdf) === FIRST_BYTE && // Any padding bit.
    bytes[offset + 1] === PT_PSFB &&
    packetBytes >= HEADER_BYTES + FIXED_PAYLOAD_BYTES &&
    packetBytes <= bytes.length - offset &&
    bytes[offset + 12] === TAG_R && bytes[offset + 13] === TAG_E &&
    bytes[offset + 14] === TAG_M && bytes[offset + 15] === TAG_B;
}

function hex(bytes: Uint8Array, at: number, count: number): string {
  let text = "";
  for (let i = at; i < at + count; i++) {
    text += (i > at ? " " : "") + bytes[i].toString(16).padStart(2, "0");
  }
  return text;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
