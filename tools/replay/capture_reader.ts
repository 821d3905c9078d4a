/**
 * Opens a capture of either format: looks at the first four bytes and hands the file to the pcap
 * or the pcapng reader.
 *
 * @module
 */

import { hexBytes, readU32 } from "./_bytes.ts";
import { CaptureFormatError, type CaptureInfo, type CaptureRecord } from "./capture_record.ts";
import { type ByteSource, ChunkedReader } from "./chunked_reader.ts";
import { pcapMagic, readPcap } from "./pcap_reader.ts";
import { PCAPNG_SHB_TYPE, readPcapng } from "./pcapng_reader.ts";

/** Options of {@linkcode readCapture}. */
export interface ReadCaptureOptions {
  /**
   * Bytes read from the source at a time.
   *
   * @default {1048576}
   */
  chunkBytes?: number;
  /** Called after each read from the source with the number of bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

/**
 * Reads a pcap or pcapng capture from start to end, handing each timestamped frame to `onRecord`.
 *
 * @param source The file (or any byte source), at its start.
 * @param onRecord Called with each record; the object and its bytes are reused afterwards. A
 * returned promise is waited for before reading on.
 * @param options Chunk size and progress callback.
 * @returns What was learned about the file, including a truncated last record.
 * @throws {CaptureFormatError} If the file is neither format, or is malformed.
 * @example
 * ```ts
 * import { readCapture } from "./capture_reader.ts";
 * import assert from "node:assert/strict";
 *
 * // A pcap header (µs, little-endian, Ethernet) and one 2-byte record.
 * const file = Uint8Array.from([
 *   0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
 *   1, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0xaa, 0xbb,
 * ]);
 * let done = false;
 * const source = {
 *   read: (buffer: Uint8Array) => {
 *     if (done) return Promise.resolve(null);
 *     buffer.set(file);
 *     done = true;
 *     return Promise.resolve(file.length);
 *   },
 * };
 * const times: number[] = [];
 * const info = await readCapture(source, (record) => {
 *   times.push(record.timeUs);
 * });
 * assert.equal(info.format, "pcap");
 * assert.deepEqual(times, [1_000_007]);
 * ```
 */
export async function readCapture(
  source: ByteSource,
  onRecord: (record: CaptureRecord) => void | Promise<void>,
  options: ReadCaptureOptions = {},
): Promise<CaptureInfo> {
  const reader = new ChunkedReader(source, options);
  if (!(await reader.fill(4))) {
    throw new CaptureFormatError(
      reader.available,
      reader.available === 0
        ? "the file is empty"
        : `the file is only ${reader.available} bytes long, shorter than any capture header`,
    );
  }
  const bytes = reader.bytes;
  const at = reader.position;
  if (pcapMagic(bytes.subarray(at, at + 4))) return await readPcap(reader, onRecord);
  if (readU32(bytes, at, true) === PCAPNG_SHB_TYPE) return await readPcapng(reader, onRecord);
  const hint = bytes[at] === 0x1f && bytes[at + 1] === 0x8b
    ? " (it is gzip-compressed: decompress it first)"
    : "";
  throw new CaptureFormatError(
    0,
    `the file starts with neither a pcap nor a pcapng magic number: first bytes are ${
      hexBytes(bytes, at, 4)
    }${hint}`,
  );
}
