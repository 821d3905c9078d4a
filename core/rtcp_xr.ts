/**
 * RTCP extended reports (RFC 3611) as a receive-only endpoint needs them to learn its round-trip
 * time: NTP timestamps (RFC 3550 §4), the Receiver Reference Time block it sends (RFC 3611 §4.4)
 * and the DLRR block a sender answers with (§4.5), read out of whatever compound RTCP packet
 * carries it.
 *
 * An XR packet is a common RTCP header with packet type 207, the sender's SSRC, then report blocks,
 * each a block type, a reserved byte and a 16-bit length in 32-bit words less the block header.
 * An RRTR block (type 4) holds a 64-bit NTP timestamp; a DLRR block (type 5) holds one sub-block
 * per receiver answered: its SSRC, the middle 32 bits of the NTP timestamp of the last RRTR
 * received from it (LRR), and the delay since that RRTR arrived (DLRR), both in 1/65536 s.
 *
 * The reader is built for per-packet use like `RtpHeader`: one {@linkcode DlrrReader} is
 * reset onto each packet, sub-blocks are read straight from the bytes into its fields, and
 * malformed input ends the walk with an error code rather than an exception.
 *
 * @module
 */

import { checkU32, writeU32 } from "./_bytes.ts";

/** RTCP packet type of an extended report (RFC 3611 §2). */
export const RTCP_XR_PACKET_TYPE = 207;
/** Report block type of a Receiver Reference Time block (RFC 3611 §4.4). */
export const RRTR_BLOCK_TYPE = 4;
/** Report block type of a DLRR block (RFC 3611 §4.5). */
export const DLRR_BLOCK_TYPE = 5;
/** Bytes of an XR packet that holds one RRTR block: header, SSRC, block header, timestamp. */
export const XR_RRTR_BYTES = 20;
/** Milliseconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_EPOCH_OFFSET_MS = 2_208_988_800_000;
/** Units of a compact NTP interval (the middle 32 bits of an NTP timestamp) per second. */
export const COMPACT_NTP_UNITS_PER_S = 65_536;

const TWO_32 = 2 ** 32;
const RTCP_HEADER_BYTES = 4;
const XR_HEADER_BYTES = 8;
const BLOCK_HEADER_BYTES = 4;
const DLRR_SUB_BLOCK_BYTES = 12;
const EMPTY = new Uint8Array(0);

/**
 * A 64-bit NTP timestamp (RFC 3550 §4): whole seconds since 1900-01-01 and the fraction of a
 * second in units of 2^-32 s, each a 32-bit unsigned integer (seconds wrap in 2036).
 *
 * @example
 * ```ts
 * import { compactNtp, type NtpTime } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const half: NtpTime = { seconds: 1, fraction: 0x8000_0000 }; // 1.5 s
 * assert.equal(compactNtp(half), 0x0001_8000);
 * ```
 */
export interface NtpTime {
  /** Seconds since the NTP epoch, modulo 2^32. */
  seconds: number;
  /** Fraction of a second, in 2^-32 s. */
  fraction: number;
}

/**
 * One DLRR sub-block (RFC 3611 §4.5): a sender's answer to the last RRTR it received from `ssrc`.
 *
 * @example
 * ```ts
 * import type { DlrrSubBlock } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const answer: DlrrSubBlock = { ssrc: 1, lastRr: 0x1234_8000, delaySinceLastRr: 0x8000 };
 * assert.equal(answer.delaySinceLastRr / 65_536, 0.5); // Held for half a second.
 * ```
 */
export interface DlrrSubBlock {
  /** SSRC of the receiver whose RRTR is answered. */
  ssrc: number;
  /** LRR: the middle 32 bits of that RRTR's NTP timestamp; 0 when none was received. */
  lastRr: number;
  /** DLRR: from that RRTR's arrival to this block's sending, in 1/65536 s. */
  delaySinceLastRr: number;
}

/**
 * Why a {@linkcode DlrrReader} stopped reading part of a packet.
 *
 * - `"short-packet"`: fewer than 4 bytes left for an RTCP header, or a length field that runs past
 *   the end of the bytes; the rest of the compound is not read.
 * - `"bad-version"`: an RTCP header whose version is not 2; the rest is not read.
 * - `"bad-packet-type"`: a packet type outside RTCP's 192–223 (RFC 5761 §4); the rest is not read.
 * - `"bad-padding"`: an XR packet whose padding count is 0 or larger than its payload; that packet
 *   is skipped.
 * - `"short-xr"`: an XR packet shorter than its header and SSRC; it is skipped.
 * - `"short-block"`: a report block whose header or length runs past its XR packet; the rest of
 *   that packet is skipped.
 * - `"bad-dlrr-length"`: a DLRR block whose length is not a whole number of 12-byte sub-blocks;
 *   that block is skipped.
 */
export type RtcpXrError =
  | "short-packet"
  | "bad-version"
  | "bad-packet-type"
  | "bad-padding"
  | "short-xr"
  | "short-block"
  | "bad-dlrr-length";

/**
 * The NTP timestamp of a time in milliseconds since the NTP epoch.
 *
 * @param ntpMs Milliseconds since 1900-01-01 (a Unix time in ms plus
 * {@linkcode NTP_UNIX_EPOCH_OFFSET_MS}); finite and non-negative.
 * @param into An object to write the timestamp into and return, instead of a new one.
 * @returns The timestamp (`into` when given); the fraction is rounded down.
 * @throws {TypeError} `ntpMs` is not a number.
 * @throws {RangeError} `ntpMs` is negative or not finite.
 * @example
 * ```ts
 * import { ntpFromMs, type NtpTime } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ntpFromMs(1_250), { seconds: 1, fraction: 0x4000_0000 });
 * const reused: NtpTime = { seconds: 0, fraction: 0 };
 * assert.equal(ntpFromMs(2_500, reused), reused);
 * assert.deepEqual(reused, { seconds: 2, fraction: 0x8000_0000 });
 * ```
 */
export function ntpFromMs(ntpMs: number, into?: NtpTime): NtpTime {
  checkNtpMs(ntpMs, "convert to NTP");
  const wholeSeconds = Math.floor(ntpMs / 1000);
  const seconds = wholeSeconds % TWO_32;
  const fraction = fractionOf(ntpMs, wholeSeconds);
  if (into === undefined) return { seconds, fraction };
  into.seconds = seconds;
  into.fraction = fraction;
  return into;
}

/**
 * The middle 32 bits of an NTP timestamp (RFC 3550 §4's compact form, as LRR and DLRR carry it):
 * the low 16 bits of the seconds and the high 16 bits of the fraction.
 *
 * @param ntp The timestamp.
 * @returns A 32-bit unsigned integer, in 1/65536 s.
 * @example
 * ```ts
 * import { compactNtp } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * assert.equal(compactNtp({ seconds: 0x1234_5678, fraction: 0x9abc_def0 }), 0x5678_9abc);
 * ```
 */
export function compactNtp(ntp: NtpTime): number {
  return (((ntp.seconds & 0xffff) << 16) | (ntp.fraction >>> 16)) >>> 0;
}

/**
 * The compact NTP time (middle 32 bits) of a time in ms since the NTP epoch, without building an
 * {@linkcode NtpTime}: `compactNtpFromMs(ms) === compactNtp(ntpFromMs(ms))` for every `ms`.
 *
 * @param ntpMs Milliseconds since 1900-01-01; finite and non-negative.
 * @returns A 32-bit unsigned integer, in 1/65536 s.
 * @throws {TypeError} `ntpMs` is not a number.
 * @throws {RangeError} `ntpMs` is negative or not finite.
 * @example
 * ```ts
 * import { compactNtpFromMs } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * assert.equal(compactNtpFromMs(1_500), 0x0001_8000);
 * assert.equal(compactNtpFromMs(65_536_000), 0); // The seconds' low 16 bits wrap.
 * ```
 */
export function compactNtpFromMs(ntpMs: number): number {
  checkNtpMs(ntpMs, "convert to compact NTP");
  const wholeSeconds = Math.floor(ntpMs / 1000);
  return ((((wholeSeconds % 65_536) << 16) | (fractionOf(ntpMs, wholeSeconds) >>> 16)) >>> 0);
}

/**
 * Milliseconds of an interval in compact NTP units (1/65536 s), such as an RTT or a DLRR.
 *
 * @param units The interval, 1/65536 s.
 * @returns The same interval in ms.
 * @example
 * ```ts
 * import { compactNtpToMs } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * assert.equal(compactNtpToMs(65_536), 1000);
 * assert.equal(compactNtpToMs(0x8000), 500);
 * ```
 */
export function compactNtpToMs(units: number): number {
  return (units * 1000) / COMPACT_NTP_UNITS_PER_S;
}

/**
 * Encodes an XR packet holding one Receiver Reference Time block (RFC 3611 §4.4): 20 bytes,
 * `V=2 P=0`, packet type 207, length 4, the sender's SSRC, then block type 4, a reserved zero byte,
 * block length 2 and the NTP timestamp.
 *
 * @param rrtr The RTCP sender's SSRC (a receive-only endpoint's own) and the NTP time of sending.
 * @returns A new buffer of {@linkcode XR_RRTR_BYTES} bytes.
 * @throws {TypeError} `rrtr` or `ntp` is not an object, or a field is not a number.
 * @throws {RangeError} The SSRC or a half of the timestamp is not a 32-bit unsigned integer.
 * @example
 * ```ts
 * import { encodeXrRrtr } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeXrRrtr({ senderSsrc: 1, ntp: { seconds: 0x0102_0304, fraction: 0x0506_0708 } });
 * assert.deepEqual([...bytes], [
 *   0x80, 207, 0, 4, 0, 0, 0, 1, // XR header and sender SSRC
 *   4, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, // RRTR block
 * ]);
 * ```
 */
export function encodeXrRrtr(rrtr: { senderSsrc: number; ntp: NtpTime }): Uint8Array {
  const bytes = new Uint8Array(XR_RRTR_BYTES);
  writeXrRrtr(bytes, 0, rrtr);
  return bytes;
}

/**
 * Writes the XR packet of {@linkcode encodeXrRrtr} into `bytes` at `offset`, for a compound built
 * in one buffer (after a REMB, say).
 *
 * @param bytes Where to write; {@linkcode XR_RRTR_BYTES} bytes from `offset` are overwritten.
 * @param offset Where the packet starts.
 * @param rrtr The RTCP sender's SSRC and the NTP time of sending.
 * @throws {TypeError} `bytes` is not a `Uint8Array`, `rrtr` or `ntp` is not an object, or a field
 * is not a number.
 * @throws {RangeError} The packet does not fit at `offset`, or the SSRC or a half of the timestamp
 * is not a 32-bit unsigned integer.
 * @example
 * ```ts
 * import { encodeRemb } from "./remb.ts";
 * import { writeXrRrtr, XR_RRTR_BYTES } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const remb = encodeRemb({ senderSsrc: 1, bitrateBps: 300_000, ssrcs: [7] });
 * const compound = new Uint8Array(remb.length + XR_RRTR_BYTES);
 * compound.set(remb);
 * writeXrRrtr(compound, remb.length, { senderSsrc: 1, ntp: { seconds: 9, fraction: 0 } });
 * assert.deepEqual([...compound.subarray(24, 28)], [0x80, 207, 0, 4]);
 * ```
 */
export function writeXrRrtr(
  bytes: Uint8Array,
  offset: number,
  rrtr: { senderSsrc: number; ntp: NtpTime },
): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot encode RRTR as 'bytes' must be a Uint8Array: current type is ${typeof bytes}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + XR_RRTR_BYTES > bytes.length) {
    throw new RangeError(
      `Cannot encode RRTR as ${XR_RRTR_BYTES} bytes must fit at 'offset' in the ${bytes.length} bytes: current value is ${offset}`,
    );
  }
  if (typeof rrtr !== "object" || rrtr === null) {
    throw new TypeError(
      `Cannot encode RRTR as 'rrtr' must be an object: current value is ${String(rrtr)}`,
    );
  }
  const { senderSsrc, ntp } = rrtr;
  checkU32(senderSsrc, "encode RRTR", "senderSsrc");
  if (typeof ntp !== "object" || ntp === null) {
    throw new TypeError(
      `Cannot encode RRTR as 'ntp' must be an object: current value is ${String(ntp)}`,
    );
  }
  checkU32(ntp.seconds, "encode RRTR", "ntp.seconds");
  checkU32(ntp.fraction, "encode RRTR", "ntp.fraction");
  bytes.fill(0, offset, offset + XR_RRTR_BYTES);
  bytes[offset] = 0x80;
  bytes[offset + 1] = RTCP_XR_PACKET_TYPE;
  bytes[offset + 3] = XR_RRTR_BYTES / 4 - 1;
  writeU32(bytes, offset + 4, senderSsrc);
  bytes[offset + 8] = RRTR_BLOCK_TYPE;
  bytes[offset + 11] = 2;
  writeU32(bytes, offset + 12, ntp.seconds);
  writeU32(bytes, offset + 16, ntp.fraction);
}

/**
 * Encodes an XR packet holding one DLRR block (RFC 3611 §4.5), as a media sender answers the RRTRs
 * it received: `V=2 P=0`, packet type 207, the sender's SSRC, then block type 5 with one 12-byte
 * sub-block per answer.
 *
 * @param dlrr The RTCP sender's SSRC and its answers (at most 21844: the lengths are 16-bit word counts).
 * @returns A new buffer of `12 + 12 × subBlocks.length` bytes.
 * @throws {TypeError} `dlrr` or a sub-block is not an object, `subBlocks` is not an array, or a
 * field is not a number.
 * @throws {RangeError} A field is not a 32-bit unsigned integer, or there are too many sub-blocks.
 * @example
 * ```ts
 * import { DlrrReader, encodeXrDlrr } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeXrDlrr({
 *   senderSsrc: 0xabcd,
 *   subBlocks: [{ ssrc: 1, lastRr: 0x0001_8000, delaySinceLastRr: 0x4000 }],
 * });
 * assert.equal(bytes.length, 24);
 * const reader = new DlrrReader();
 * reader.reset(bytes);
 * assert.ok(reader.next());
 * assert.deepEqual([reader.senderSsrc, reader.ssrc, reader.lastRr, reader.delaySinceLastRr], [0xabcd, 1, 0x0001_8000, 0x4000]);
 * ```
 */
export function encodeXrDlrr(
  dlrr: { senderSsrc: number; subBlocks: readonly DlrrSubBlock[] },
): Uint8Array {
  if (typeof dlrr !== "object" || dlrr === null) {
    throw new TypeError(
      `Cannot encode DLRR as 'dlrr' must be an object: current value is ${String(dlrr)}`,
    );
  }
  const { senderSsrc, subBlocks } = dlrr;
  checkU32(senderSsrc, "encode DLRR", "senderSsrc");
  if (!Array.isArray(subBlocks)) {
    throw new TypeError(
      `Cannot encode DLRR as 'subBlocks' must be an array: current type is ${typeof subBlocks}`,
    );
  }
  const count = subBlocks.length;
  // Both the block length (3 words a sub-block) and the packet length are 16-bit word counts.
  const maxCount = Math.floor((0xffff - 2) / 3);
  if (count > maxCount) {
    throw new RangeError(
      `Cannot encode DLRR as 'subBlocks' must hold at most ${maxCount} sub-blocks: current length is ${count}`,
    );
  }
  for (let i = 0; i < count; i++) {
    const block = subBlocks[i];
    if (typeof block !== "object" || block === null) {
      throw new TypeError(`Cannot encode DLRR as 'subBlocks[${i}]' must be an object`);
    }
    checkU32(block.ssrc, "encode DLRR", `subBlocks[${i}].ssrc`);
    checkU32(block.lastRr, "encode DLRR", `subBlocks[${i}].lastRr`);
    checkU32(block.delaySinceLastRr, "encode DLRR", `subBlocks[${i}].delaySinceLastRr`);
  }
  const bytes = new Uint8Array(XR_HEADER_BYTES + BLOCK_HEADER_BYTES + DLRR_SUB_BLOCK_BYTES * count);
  const words = bytes.length / 4 - 1;
  bytes[0] = 0x80;
  bytes[1] = RTCP_XR_PACKET_TYPE;
  bytes[2] = words >>> 8;
  bytes[3] = words & 0xff;
  writeU32(bytes, 4, senderSsrc);
  bytes[8] = DLRR_BLOCK_TYPE;
  bytes[10] = (3 * count) >>> 8;
  bytes[11] = (3 * count) & 0xff;
  for (let i = 0; i < count; i++) {
    const at = XR_HEADER_BYTES + BLOCK_HEADER_BYTES + DLRR_SUB_BLOCK_BYTES * i;
    writeU32(bytes, at, subBlocks[i].ssrc);
    writeU32(bytes, at + 4, subBlocks[i].lastRr);
    writeU32(bytes, at + 8, subBlocks[i].delaySinceLastRr);
  }
  return bytes;
}

/**
 * Walks a compound RTCP packet and yields the sub-blocks of every DLRR block in its XR packets,
 * skipping every other packet type and block type. Nothing is allocated and nothing is thrown
 * for any content of the bytes: a malformed part ends the walk of that part, and
 * {@linkcode DlrrReader.prototype.error} tells the first problem found.
 *
 * The current sub-block's fields are valid after {@linkcode DlrrReader.prototype.next} returned
 * `true`; the reader implements {@linkcode DlrrSubBlock}, so it can be handed on as one.
 *
 * @example
 * ```ts
 * import { DlrrReader, encodeXrDlrr } from "./rtcp_xr.ts";
 * import assert from "node:assert/strict";
 * const dlrr = encodeXrDlrr({
 *   senderSsrc: 7,
 *   subBlocks: [{ ssrc: 1, lastRr: 100, delaySinceLastRr: 5 }, { ssrc: 2, lastRr: 200, delaySinceLastRr: 6 }],
 * });
 * const compound = new Uint8Array(8 + dlrr.length);
 * compound.set([0x80, 201, 0, 1, 0, 0, 0, 7]); // An empty receiver report first.
 * compound.set(dlrr, 8);
 * const reader = new DlrrReader();
 * reader.reset(compound);
 * const seen: number[] = [];
 * while (reader.next()) seen.push(reader.ssrc, reader.lastRr);
 * assert.deepEqual(seen, [1, 100, 2, 200]);
 * assert.equal(reader.error, undefined);
 * ```
 */
export class DlrrReader implements DlrrSubBlock {
  /** SSRC of the XR packet that holds the current sub-block: the sender answering. */
  senderSsrc = 0;
  /** SSRC of the receiver the current sub-block answers. */
  ssrc = 0;
  /** LRR of the current sub-block: the middle 32 bits of the RRTR's NTP timestamp. */
  lastRr = 0;
  /** DLRR of the current sub-block, 1/65536 s. */
  delaySinceLastRr = 0;

  #bytes: Uint8Array = EMPTY;
  #nextPacket = 0;
  #nextBlock = 0;
  #blocksEnd = 0;
  #nextSubBlock = 0;
  #subBlocksEnd = 0;
  #packets = 0;
  #error: RtcpXrError | undefined;

  /**
   * Starts reading `bytes`, a compound RTCP packet (decrypted): the RTCP packets of a datagram,
   * back to back. The bytes are read, never written, and let go when the walk ends.
   *
   * @param bytes The packet.
   * @throws {TypeError} `bytes` is not a `Uint8Array`.
   * @example
   * ```ts
   * import { DlrrReader } from "./rtcp_xr.ts";
   * import assert from "node:assert/strict";
   * const reader = new DlrrReader();
   * reader.reset(Uint8Array.of(0x80, 201, 0, 1, 0, 0, 0, 7)); // A receiver report, no XR.
   * assert.equal(reader.next(), false);
   * assert.equal(reader.packets, 1);
   * ```
   */
  reset(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot read RTCP as 'bytes' must be a Uint8Array: current type is ${typeof bytes}`,
      );
    }
    this.#bytes = bytes;
    this.#nextPacket = 0;
    this.#nextBlock = 0;
    this.#blocksEnd = 0;
    this.#nextSubBlock = 0;
    this.#subBlocksEnd = 0;
    this.#packets = 0;
    this.#error = undefined;
  }

  /** RTCP packets of the compound walked so far (whose header and length were sound). */
  get packets(): number {
    return this.#packets;
  }

  /**
   * The first problem found in the bytes so far, or `undefined`.
   *
   * @example
   * ```ts
   * import { DlrrReader } from "./rtcp_xr.ts";
   * import assert from "node:assert/strict";
   * const reader = new DlrrReader();
   * reader.reset(Uint8Array.of(0x80, 201, 0, 9, 0, 0, 0, 7)); // Length says 40 bytes: 8 are there.
   * assert.equal(reader.next(), false);
   * assert.equal(reader.error, "short-packet");
   * ```
   */
  get error(): RtcpXrError | undefined {
    return this.#error;
  }

  /**
   * Moves to the next DLRR sub-block of the compound.
   *
   * @returns `true` with the sub-block's fields set; `false` at the end of the bytes, or where a
   * malformed packet header makes the rest unreadable.
   * @example
   * ```ts
   * import { DlrrReader } from "./rtcp_xr.ts";
   * import assert from "node:assert/strict";
   * const reader = new DlrrReader();
   * reader.reset(new Uint8Array(0));
   * assert.equal(reader.next(), false);
   * ```
   */
  next(): boolean {
    const bytes = this.#bytes;
    for (;;) {
      if (this.#nextSubBlock < this.#subBlocksEnd) {
        const at = this.#nextSubBlock;
        this.#nextSubBlock = at + DLRR_SUB_BLOCK_BYTES;
        this.ssrc = u32At(bytes, at);
        this.lastRr = u32At(bytes, at + 4);
        this.delaySinceLastRr = u32At(bytes, at + 8);
        return true;
      }
      if (this.#nextBlock < this.#blocksEnd) {
        this.#readBlockHeader();
        continue;
      }
      if (!this.#readPacketHeader()) {
        this.#bytes = EMPTY; // Not kept beyond the walk.
        return false;
      }
    }
  }

  /** Enters the report block at #nextBlock: a DLRR block's sub-blocks become the next to read. */
  #readBlockHeader(): void {
    const bytes = this.#bytes;
    const at = this.#nextBlock;
    const room = this.#blocksEnd - at;
    const words = room < BLOCK_HEADER_BYTES ? 0 : (bytes[at + 2] << 8) | bytes[at + 3];
    const size = BLOCK_HEADER_BYTES + 4 * words;
    if (room < BLOCK_HEADER_BYTES || size > room) {
      this.#fail("short-block");
      this.#nextBlock = this.#blocksEnd;
      return;
    }
    this.#nextBlock = at + size;
    if (bytes[at] !== DLRR_BLOCK_TYPE) return;
    if (words % 3 !== 0) {
      this.#fail("bad-dlrr-length");
      return;
    }
    this.#nextSubBlock = at + BLOCK_HEADER_BYTES;
    this.#subBlocksEnd = at + size;
  }

  /**
   * Steps over the RTCP packet at #nextPacket; an XR packet's blocks become the next to read.
   * Returns false once nothing more can be read.
   */
  #readPacketHeader(): boolean {
    const bytes = this.#bytes;
    const at = this.#nextPacket;
    const length = bytes.length;
    if (at >= length) return false;
    if (length - at < RTCP_HEADER_BYTES) return this.#stop("short-packet");
    if (bytes[at] >>> 6 !== 2) return this.#stop("bad-version");
    const type = bytes[at + 1];
    if (type < 192 || type > 223) return this.#stop("bad-packet-type");
    const size = RTCP_HEADER_BYTES + 4 * ((bytes[at + 2] << 8) | bytes[at + 3]);
    if (size > length - at) return this.#stop("short-packet");
    this.#nextPacket = at + size;
    this.#packets++;
    if (type !== RTCP_XR_PACKET_TYPE) return true;
    if (size < XR_HEADER_BYTES) {
      this.#fail("short-xr");
      return true;
    }
    let end = at + size;
    if ((bytes[at] & 0x20) !== 0) {
      const padding = bytes[end - 1];
      if (padding === 0 || padding > size - XR_HEADER_BYTES) {
        this.#fail("bad-padding");
        return true;
      }
      end -= padding;
    }
    this.senderSsrc = u32At(bytes, at + 4);
    this.#nextBlock = at + XR_HEADER_BYTES;
    this.#blocksEnd = end;
    return true;
  }

  #stop(error: RtcpXrError): false {
    this.#fail(error);
    this.#nextPacket = this.#bytes.length;
    return false;
  }

  #fail(error: RtcpXrError): void {
    this.#error ??= error;
  }
}

function fractionOf(ntpMs: number, wholeSeconds: number): number {
  const fraction = Math.floor(((ntpMs - wholeSeconds * 1000) / 1000) * TWO_32);
  // Rounding of the division can land exactly on 2^32 for a time just below a whole second.
  return fraction >= TWO_32 ? TWO_32 - 1 : fraction;
}

function checkNtpMs(ntpMs: number, action: string): void {
  if (typeof ntpMs !== "number") {
    throw new TypeError(
      `Cannot ${action} as 'ntpMs' must be a number: current type is ${typeof ntpMs}`,
    );
  }
  if (!Number.isFinite(ntpMs) || ntpMs < 0) {
    throw new RangeError(
      `Cannot ${action} as 'ntpMs' must be a finite non-negative number: current value is ${ntpMs}`,
    );
  }
}

// The reader's own copy of _bytes.ts's readU32: V8 does not inline a function imported from
// another module, and a u32 above 2^30 returned from a call is boxed (15 B per RTCP packet).
function u32At(bytes: Uint8Array, at: number): number {
  return bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}
