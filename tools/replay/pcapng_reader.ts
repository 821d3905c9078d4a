/**
 * Reader of the pcapng format (draft-ietf-opsawg-pcapng): sections that each start with a Section
 * Header Block (which sets the byte order), Interface Description Blocks (link type, snapshot
 * length, `if_tsresol`, `if_tsoffset`, `if_name`), and Enhanced Packet Blocks, with the obsolete
 * Packet Block read as well. Simple Packet Blocks carry no timestamp and are counted, not handed
 * on; every other block is skipped.
 *
 * @module
 */

import { readU16, readU32 } from "./_bytes.ts";
import {
  CaptureFormatError,
  type CaptureInfo,
  type CaptureInterface,
  type CaptureRecord,
  MAX_FRAME_BYTES,
} from "./capture_record.ts";
import type { ChunkedReader } from "./chunked_reader.ts";

/** Block type of a Section Header Block; its bytes read the same in either order. */
export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB_TYPE = 1;
const OBSOLETE_PACKET_TYPE = 2;
const SIMPLE_PACKET_TYPE = 3;
const ENHANCED_PACKET_TYPE = 6;
/** No legitimate block comes near this; a larger length means a corrupt file. */
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
const OPTION_IF_NAME = 2;
const OPTION_IF_TSRESOL = 9;
const OPTION_IF_TSOFFSET = 14;

/** An interface with what converting its timestamps needs. */
interface Interface extends CaptureInterface {
  offsetSeconds: number;
}

/**
 * Converts a 64-bit pcapng timestamp to microseconds without losing precision to doubles: the
 * value is divided by the units per second in 16-bit limbs, so every intermediate stays exact.
 *
 * @param high Upper 32 bits of the timestamp.
 * @param low Lower 32 bits.
 * @param unitsPerSecond Timestamp resolution (`if_tsresol`), e.g. 1e6 or 1e9.
 * @returns Microseconds, with a fraction for resolutions finer than 1 µs.
 * @example
 * ```ts
 * import { timestampToMicros } from "./pcapng_reader.ts";
 * import assert from "node:assert/strict";
 *
 * // 1 700 000 000.123456789 s in nanoseconds, beyond the 53 bits a double holds exactly.
 * const ns = 1_700_000_000_123_456_789n;
 * const us = timestampToMicros(Number(ns >> 32n), Number(ns & 0xffffffffn), 1e9);
 * assert.equal(Math.floor(us), 1_700_000_000_123_456);
 * ```
 */
export function timestampToMicros(high: number, low: number, unitsPerSecond: number): number {
  if (unitsPerSecond === 1e6) return high * 2 ** 32 + low; // Exact below 2^53 µs (year 2255).
  if (unitsPerSecond > 2 ** 36) {
    const value = (BigInt(high) << 32n) | BigInt(low);
    const units = BigInt(unitsPerSecond);
    return Number(value / units) * 1e6 + Number(value % units) * 1e6 / unitsPerSecond;
  }
  let seconds = 0;
  let remainder = 0;
  const limbs = [high >>> 16, high & 0xffff, low >>> 16, low & 0xffff];
  for (const limb of limbs) {
    const current = remainder * 65536 + limb; // < 2^52 for units ≤ 2^36.
    const quotient = Math.floor(current / unitsPerSecond);
    remainder = current - quotient * unitsPerSecond;
    seconds = seconds * 65536 + quotient;
  }
  return seconds * 1e6 + remainder * 1e6 / unitsPerSecond;
}

/**
 * Reads a pcapng file from its start, handing each timestamped packet to `onRecord`.
 *
 * A file that ends inside a block is not an error: the partial block is dropped and reported in
 * `truncated`.
 *
 * @param reader The file, at offset 0.
 * @param onRecord Called with each record; the object and its bytes are reused afterwards. A
 * returned promise is waited for before reading on.
 * @returns What was learned about the file.
 * @throws {CaptureFormatError} If a block is malformed: a bad byte-order magic or version, a
 * length that is too small, not a multiple of 4, implausibly large or different at the end of the
 * block, a packet larger than its block, or a packet on an undeclared interface.
 * @example
 * ```ts
 * import { readPcapng } from "./pcapng_reader.ts";
 * import { ChunkedReader } from "./chunked_reader.ts";
 * import assert from "node:assert/strict";
 *
 * // A section header and nothing else: little-endian, version 1.0, section length unknown.
 * const file = Uint8Array.from([
 *   0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
 *   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
 * ]);
 * let done = false;
 * const reader = new ChunkedReader({
 *   read(buffer: Uint8Array) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     buffer.set(file);
 *     return Promise.resolve(file.length);
 *   },
 * });
 * const info = await readPcapng(reader, () => {});
 * assert.deepEqual([info.format, info.records, info.interfaces.length], ["pcapng", 0, 0]);
 * ```
 */
export async function readPcapng(
  reader: ChunkedReader,
  onRecord: (record: CaptureRecord) => void | Promise<void>,
): Promise<CaptureInfo> {
  const info: CaptureInfo = {
    format: "pcapng",
    byteOrder: "little-endian",
    interfaces: [],
    records: 0,
    skippedBlocks: 0,
    simplePackets: 0,
    truncated: undefined,
  };
  const record: CaptureRecord = {
    offset: 0,
    timeUs: 0,
    linkType: 0,
    interfaceId: 0,
    bytes: reader.bytes,
    start: 0,
    dataOffset: 0,
    capturedLength: 0,
    originalLength: 0,
  };
  let le = true;
  let sectionInterfaces: Interface[] = [];
  let firstBlock = true;
  for (;;) {
    if (reader.available < 12 && !(await reader.fill(12))) {
      if (reader.available > 0) {
        info.truncated = {
          offset: reader.offset,
          message:
            `The file ends ${reader.available} bytes into the block header at offset ${reader.offset}: the partial block was skipped`,
        };
      }
      if (firstBlock) {
        throw new CaptureFormatError(
          reader.offset + reader.available,
          `the file ends inside the first pcapng block: file size is ${reader.available} bytes`,
        );
      }
      return info;
    }
    let bytes = reader.bytes;
    let at = reader.position;
    const offset = reader.offset;
    let type = readU32(bytes, at, le);
    if (firstBlock && type !== PCAPNG_SHB_TYPE) {
      throw new CaptureFormatError(0, "a pcapng file must start with a section header block");
    }
    firstBlock = false;
    if (type === PCAPNG_SHB_TYPE) {
      const magic = readU32(bytes, at + 8, true);
      if (magic === BYTE_ORDER_MAGIC) le = true;
      else if (readU32(bytes, at + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else {
        throw new CaptureFormatError(
          offset + 8,
          `the byte-order magic of the section header must be 0x1a2b3c4d: current bytes are 0x${
            magic.toString(16).padStart(8, "0")
          }`,
        );
      }
      info.byteOrder = le ? "little-endian" : "big-endian";
      type = PCAPNG_SHB_TYPE;
    }
    const length = readU32(bytes, at + 4, le);
    const minimum = type === PCAPNG_SHB_TYPE ? 28 : 12;
    if (length < minimum || length % 4 !== 0 || length > MAX_BLOCK_BYTES) {
      throw new CaptureFormatError(
        offset + 4,
        `the total length of the block of type 0x${
          type.toString(16)
        } at offset ${offset} must be a multiple of 4 in [${minimum}, ${MAX_BLOCK_BYTES}]: current value is ${length}`,
      );
    }
    if (reader.available < length && !(await reader.fill(length))) {
      info.truncated = {
        offset,
        message:
          `The file ends inside the block at offset ${offset}: ${length} bytes announced, ${reader.available} present; the partial block was skipped`,
      };
      return info;
    }
    bytes = reader.bytes;
    at = reader.position;
    const trailer = readU32(bytes, at + length - 4, le);
    if (trailer !== length) {
      throw new CaptureFormatError(
        offset + length - 4,
        `the trailing length of the block at offset ${offset} must repeat its leading length ${length}: current value is ${trailer}`,
      );
    }

    if (type === PCAPNG_SHB_TYPE) {
      const major = readU16(bytes, at + 12, le);
      if (major !== 1) {
        throw new CaptureFormatError(
          offset + 12,
          `the pcapng major version must be 1: current value is ${major}`,
        );
      }
      sectionInterfaces = [];
    } else if (type === IDB_TYPE) {
      if (length < 20) {
        throw new CaptureFormatError(
          offset + 4,
          `the interface description block at offset ${offset} must be at least 20 bytes: current length is ${length}`,
        );
      }
      const description: Interface = {
        linkType: readU16(bytes, at + 8, le),
        snapLength: readU32(bytes, at + 12, le),
        unitsPerSecond: 1e6,
        name: undefined,
        offsetSeconds: 0,
      };
      readInterfaceOptions(bytes, at + 16, at + length - 4, le, offset, description);
      sectionInterfaces.push(description);
      info.interfaces.push({
        linkType: description.linkType,
        snapLength: description.snapLength,
        unitsPerSecond: description.unitsPerSecond,
        name: description.name,
      });
    } else if (type === ENHANCED_PACKET_TYPE || type === OBSOLETE_PACKET_TYPE) {
      if (length < 32) {
        throw new CaptureFormatError(
          offset + 4,
          `the packet block at offset ${offset} must be at least 32 bytes: current length is ${length}`,
        );
      }
      const interfaceId = type === ENHANCED_PACKET_TYPE
        ? readU32(bytes, at + 8, le)
        : readU16(bytes, at + 8, le);
      const description = sectionInterfaces[interfaceId];
      if (!description) {
        throw new CaptureFormatError(
          offset + 8,
          `the packet block at offset ${offset} names interface ${interfaceId}, which its section does not declare: ${sectionInterfaces.length} declared`,
        );
      }
      const capturedLength = readU32(bytes, at + 20, le);
      if (capturedLength > length - 32 || capturedLength > MAX_FRAME_BYTES) {
        throw new CaptureFormatError(
          offset + 20,
          `the captured length of the packet block at offset ${offset} must fit its ${length}-byte block: current value is ${capturedLength}`,
        );
      }
      record.offset = offset;
      record.timeUs = timestampToMicros(
        readU32(bytes, at + 12, le),
        readU32(bytes, at + 16, le),
        description.unitsPerSecond,
      ) + description.offsetSeconds * 1e6;
      record.linkType = description.linkType;
      record.interfaceId = interfaceId;
      record.bytes = bytes;
      record.start = at + 28;
      record.dataOffset = offset + 28;
      record.capturedLength = capturedLength;
      record.originalLength = readU32(bytes, at + 24, le);
      info.records++;
      const pending = onRecord(record);
      if (pending) await pending;
    } else if (type === SIMPLE_PACKET_TYPE) {
      info.simplePackets++;
    } else {
      info.skippedBlocks++;
    }
    reader.skip(length);
  }
}

/** Reads the options of an interface description block into `description`. */
function readInterfaceOptions(
  bytes: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  blockOffset: number,
  description: Interface,
): void {
  let at = start;
  while (at + 4 <= end) {
    const code = readU16(bytes, at, le);
    const length = readU16(bytes, at + 2, le);
    if (code === 0) return;
    if (at + 4 + length > end) {
      throw new CaptureFormatError(
        blockOffset + (at - start) + 16,
        `option ${code} of the interface description block at offset ${blockOffset} overruns the block: ${length} bytes announced`,
      );
    }
    const value = at + 4;
    if (code === OPTION_IF_TSRESOL && length >= 1) {
      const resolution = bytes[value];
      const exponent = resolution & 0x7f;
      const units = resolution & 0x80 ? 2 ** exponent : 10 ** exponent;
      if (!(units >= 1 && units <= 1e15)) {
        throw new CaptureFormatError(
          blockOffset + (value - start) + 16,
          `the timestamp resolution of the interface at offset ${blockOffset} must be at most 10^15 units per second: current value is 0x${
            resolution.toString(16)
          }`,
        );
      }
      description.unitsPerSecond = units;
    } else if (code === OPTION_IF_TSOFFSET && length >= 8) {
      const first = readU32(bytes, value, le);
      const second = readU32(bytes, value + 4, le);
      const [high, low] = le ? [second, first] : [first, second];
      description.offsetSeconds = (high | 0) * 2 ** 32 + low;
    } else if (code === OPTION_IF_NAME) {
      description.name = new TextDecoder().decode(bytes.subarray(value, value + length));
    }
    at = value + ((length + 3) & ~3);
  }
}
