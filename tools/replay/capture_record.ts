/**
 * What the capture readers hand on: one record at a time in a reused object, the description of
 * the file, and the error a malformed file raises.
 *
 * @module
 */

/**
 * One captured frame. The readers reuse a single object and a shared buffer: the fields, and the
 * bytes in `bytes[start, start + capturedLength)`, are valid only during the callback.
 */
export interface CaptureRecord {
  /** File offset of the record (pcap) or block (pcapng). */
  offset: number;
  /** Capture time in microseconds since the Unix epoch (fractions kept for finer resolutions). */
  timeUs: number;
  /** LINKTYPE_* value of the interface the frame was captured on. */
  linkType: number;
  /** Interface index in the section (pcapng); 0 for pcap. */
  interfaceId: number;
  /** Buffer holding the frame. */
  bytes: Uint8Array;
  /** Offset of the frame in `bytes`. */
  start: number;
  /** File offset of the frame's first byte, to name offsets inside the frame in reports. */
  dataOffset: number;
  /** Bytes of the frame in the file (possibly cut by the snapshot length). */
  capturedLength: number;
  /** Length of the frame on the wire. */
  originalLength: number;
}

/** A capture interface: pcap has one, a pcapng section any number. */
export interface CaptureInterface {
  /** LINKTYPE_* value. */
  linkType: number;
  /** Snapshot length; 0 when unlimited. */
  snapLength: number;
  /** Timestamp units per second (pcapng `if_tsresol`; 10^6 or 10^9 in pcap). */
  unitsPerSecond: number;
  /** Interface name (pcapng `if_name`), when the file gives one. */
  name: string | undefined;
}

/** What a reader learned about the file, filled in as it reads. */
export interface CaptureInfo {
  /** File format. */
  format: "pcap" | "pcapng";
  /** Byte order of the file (of the last section, for pcapng). */
  byteOrder: "little-endian" | "big-endian";
  /** Interfaces in the order they were declared, across all pcapng sections. */
  interfaces: CaptureInterface[];
  /** Records handed on. */
  records: number;
  /** pcapng blocks skipped because they carry no timestamped packet (statistics, names, …). */
  skippedBlocks: number;
  /** pcapng simple packet blocks, which have no timestamp and are skipped. */
  simplePackets: number;
  /** Set when the file ends inside a record: that record is dropped, the rest was read. */
  truncated: { offset: number; message: string } | undefined;
}

/**
 * A capture file that cannot be read, with the byte offset where reading failed. The CLI catches
 * it and prints the message.
 *
 * @example
 * ```ts
 * import { CaptureFormatError } from "./capture_record.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new CaptureFormatError(24, "the record length 4294967295 is implausible");
 * assert.equal(error.offset, 24);
 * assert.match(error.message, /^Cannot read capture at offset 24 \(0x18\) as /);
 * ```
 */
export class CaptureFormatError extends Error {
  /** Byte offset in the file of the field that is wrong. */
  readonly offset: number;

  /**
   * Creates the error.
   *
   * @param offset Byte offset in the file.
   * @param reason What is wrong there, starting in lower case.
   */
  constructor(offset: number, reason: string) {
    super(`Cannot read capture at offset ${offset} (0x${offset.toString(16)}) as ${reason}`);
    this.name = "CaptureFormatError";
    this.offset = offset;
  }
}

/** The largest frame a reader accepts, well above any link's MTU and any snapshot length. */
export const MAX_FRAME_BYTES = 256 * 1024;
