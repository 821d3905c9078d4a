/**
 * Reader of the classic libpcap format (draft-ietf-opsawg-pcap): a 24-byte file header, then
 * records of a 16-byte header and the captured bytes. Both byte orders, microsecond and nanosecond
 * timestamps, and Alexey Kuznetzov's modified format (24-byte record headers) are read.
 *
 * @module
 */

import { readU16, readU32 } from "./_bytes.ts";
import {
  CaptureFormatError,
  type CaptureInfo,
  type CaptureRecord,
  MAX_FRAME_BYTES,
} from "./capture_record.ts";
import type { ChunkedReader } from "./chunked_reader.ts";

const FILE_HEADER_BYTES = 24;
const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const MAGIC_MODIFIED = 0xa1b2cd34;

/** How the first four bytes of a file identify a pcap file; `undefined` for anything else. */
export interface PcapMagic {
  /** Byte order of every field. */
  littleEndian: boolean;
  /** Fraction units per second of the timestamps. */
  unitsPerSecond: number;
  /** Bytes of each record header: 16, or 24 in the modified format. */
  recordHeaderBytes: number;
}

/**
 * Recognises a pcap file by its magic number.
 *
 * @param bytes At least the first 4 bytes of the file.
 * @returns The layout, or `undefined` when the magic number is not pcap's.
 * @example
 * ```ts
 * import { pcapMagic } from "./pcap_reader.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(pcapMagic(Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1)), {
 *   littleEndian: true,
 *   unitsPerSecond: 1e9,
 *   recordHeaderBytes: 16,
 * });
 * assert.equal(pcapMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a)), undefined);
 * ```
 */
export function pcapMagic(bytes: Uint8Array): PcapMagic | undefined {
  for (const littleEndian of [false, true]) {
    const magic = readU32(bytes, 0, littleEndian);
    if (magic === MAGIC_MICROS) return { littleEndian, unitsPerSecond: 1e6, recordHeaderBytes: 16 };
    if (magic === MAGIC_NANOS) return { littleEndian, unitsPerSecond: 1e9, recordHeaderBytes: 16 };
    if (magic === MAGIC_MODIFIED) {
      return { littleEndian, unitsPerSecond: 1e6, recordHeaderBytes: 24 };
    }
  }
  return undefined;
}

/**
 * Reads a pcap file from its start, handing each record to `onRecord`.
 *
 * A file that ends inside a record is not an error: the partial record is dropped and reported in
 * `truncated`.
 *
 * @param reader The file, at offset 0.
 * @param onRecord Called with each record; the object and its bytes are reused afterwards. A
 * returned promise is waited for before reading on.
 * @returns What was learned about the file.
 * @throws {CaptureFormatError} If the header is not pcap's, or a record length is implausible.
 * @example
 * ```ts
 * import { readPcap } from "./pcap_reader.ts";
 * import { ChunkedReader } from "./chunked_reader.ts";
 * import assert from "node:assert/strict";
 *
 * // Big-endian, nanoseconds, raw IP (101), and a record cut short by the end of the file.
 * const file = Uint8Array.from([
 *   0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 101,
 *   0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 40, 0x45,
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
 * const info = await readPcap(reader, () => {});
 * assert.equal(info.interfaces[0].unitsPerSecond, 1e9);
 * assert.equal(info.truncated?.offset, 24);
 * ```
 */
export async function readPcap(
  reader: ChunkedReader,
  onRecord: (record: CaptureRecord) => void | Promise<void>,
): Promise<CaptureInfo> {
  if (!(await reader.fill(FILE_HEADER_BYTES))) {
    throw new CaptureFormatError(
      reader.available,
      `the file ends inside the ${FILE_HEADER_BYTES}-byte pcap file header: file size is ${reader.available} bytes`,
    );
  }
  let bytes = reader.bytes;
  let at = reader.position;
  const magic = pcapMagic(bytes.subarray(at, at + 4));
  if (!magic) throw new CaptureFormatError(0, "the pcap magic number is missing");
  const le = magic.littleEndian;
  const major = readU16(bytes, at + 4, le);
  if (major !== 2) {
    throw new CaptureFormatError(4, `the pcap major version must be 2: current value is ${major}`);
  }
  const snapLength = readU32(bytes, at + 16, le);
  // The upper bits carry the FCS length (LINKTYPE_* is 16 bits).
  const linkType = readU32(bytes, at + 20, le) & 0xffff;
  reader.skip(FILE_HEADER_BYTES);

  const info: CaptureInfo = {
    format: "pcap",
    byteOrder: le ? "little-endian" : "big-endian",
    interfaces: [{ linkType, snapLength, unitsPerSecond: magic.unitsPerSecond, name: undefined }],
    records: 0,
    skippedBlocks: 0,
    simplePackets: 0,
    truncated: undefined,
  };
  const record: CaptureRecord = {
    offset: 0,
    timeUs: 0,
    linkType,
    interfaceId: 0,
    bytes,
    start: 0,
    dataOffset: 0,
    capturedLength: 0,
    originalLength: 0,
  };
  const headerBytes = magic.recordHeaderBytes;
  const fractionToUs = 1e6 / magic.unitsPerSecond;
  for (;;) {
    if (reader.available < headerBytes && !(await reader.fill(headerBytes))) {
      if (reader.available > 0) {
        info.truncated = {
          offset: reader.offset,
          message:
            `The file ends ${reader.available} bytes into the record header at offset ${reader.offset}: the partial record was skipped`,
        };
      }
      return info;
    }
    bytes = reader.bytes;
    at = reader.position;
    const offset = reader.offset;
    const capturedLength = readU32(bytes, at + 8, le);
    if (capturedLength > MAX_FRAME_BYTES) {
      throw new CaptureFormatError(
        offset + 8,
        `the captured length of the record at offset ${offset} must be at most ${MAX_FRAME_BYTES} bytes: current value is ${capturedLength}`,
      );
    }
    const total = headerBytes + capturedLength;
    if (reader.available < total && !(await reader.fill(total))) {
      info.truncated = {
        offset,
        message:
          `The file ends inside the record at offset ${offset}: ${capturedLength} bytes announced, ${
            reader.available - headerBytes
          } present; the partial record was skipped`,
      };
      return info;
    }
    bytes = reader.bytes;
    at = reader.position;
    record.offset = offset;
    record.timeUs = readU32(bytes, at, le) * 1e6 + readU32(bytes, at + 4, le) * fractionToUs;
    record.bytes = bytes;
    record.start = at + headerBytes;
    record.dataOffset = offset + headerBytes;
    record.capturedLength = capturedLength;
    record.originalLength = readU32(bytes, at + 12, le);
    info.records++;
    const pending = onRecord(record);
    if (pending) await pending;
    reader.skip(total);
  }
}
