/**
 * Packet records in struct-of-arrays form over one `ArrayBuffer`: how packets move from the receiving
 * thread into the delay pipelines, inline or across a worker boundary (the buffer can be transferred).
 *
 * Reading numbers out of typed arrays keeps the per-packet path free of allocation: a large number
 * passed as a plain argument to a function that is not inlined would be boxed on the heap.
 *
 * @module
 */

/** Bytes one record takes in a batch's buffer. */
export const RECORD_BYTES: number = 5 * 8 + 2;
/** Numbers in a batch's `figures` area. */
export const FIGURE_COUNT = 16;
/** Bit of the `flags` column: restart the lane's grouping and filter before this record. */
export const FLAG_RESET_FILTER = 1;

/**
 * Columns of packet records. `timestamp` is the send time in ticks (upshifted abs-send-time) or the
 * RTP timestamp; times are integer microseconds; `usage` receives the detector verdict (0 normal,
 * 1 underusing, 2 overusing) when a pipeline processes the record; `flags` carries
 * {@linkcode FLAG_RESET_FILTER}. A small `figures` area lets a pipeline report its state with the
 * batch.
 *
 * @example
 * ```ts
 * import { PacketBatch } from "./packet_batch.ts";
 * import assert from "node:assert/strict";
 * const batch = new PacketBatch(64);
 * batch.ssrc[0] = 0xdeadbeef;
 * const copy = new PacketBatch(64, batch.buffer);
 * assert.equal(copy.ssrc[0], 0xdeadbeef);
 * ```
 */
export class PacketBatch {
  /**
   * The backing buffer: transfer it to move the batch to another thread, or share it (a batch over
   * a `SharedArrayBuffer` slot is seen by both threads).
   */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** All bytes of the batch, for copying a whole batch at once. */
  readonly bytes: Uint8Array;
  /** Records the batch can hold. */
  readonly capacity: number;
  /** Records in use. */
  length = 0;
  /** SSRC of each record. */
  readonly ssrc: Float64Array;
  /** Send timestamp in ticks. */
  readonly timestamp: Float64Array;
  /** Arrival time in integer µs. */
  readonly arrivalUs: Float64Array;
  /** Receiver clock when the packet was processed, integer µs. */
  readonly nowUs: Float64Array;
  /** Payload + padding bytes. */
  readonly size: Float64Array;
  /** Detector verdict after the record, written by the pipeline. */
  readonly usage: Uint8Array;
  /** Per-record flags. */
  readonly flags: Uint8Array;
  /** Pipeline figures after the batch; read them through a `LaneFigures` (core/lane_figures.ts). */
  readonly figures: Float64Array;

  /**
   * Creates a batch, on a fresh buffer or on one received from another thread.
   *
   * @param capacity Records the batch holds.
   * @param buffer An existing buffer with {@linkcode PacketBatch.byteLength} bytes from `byteOffset`.
   * @param byteOffset Where the batch starts in `buffer`; a multiple of 8.
   */
  constructor(
    capacity: number,
    buffer: ArrayBuffer | SharedArrayBuffer = new ArrayBuffer(PacketBatch.byteLength(capacity)),
    byteOffset = 0,
  ) {
    if (buffer.byteLength - byteOffset < PacketBatch.byteLength(capacity)) {
      throw new RangeError(
        `Cannot create packet batch as the buffer is too small: current size is ${buffer.byteLength} bytes from offset ${byteOffset}`,
      );
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.bytes = new Uint8Array(buffer, byteOffset, PacketBatch.byteLength(capacity));
    const column = capacity * 8;
    this.figures = new Float64Array(buffer, byteOffset, FIGURE_COUNT);
    const start = byteOffset + FIGURE_COUNT * 8;
    this.ssrc = new Float64Array(buffer, start, capacity);
    this.timestamp = new Float64Array(buffer, start + column, capacity);
    this.arrivalUs = new Float64Array(buffer, start + 2 * column, capacity);
    this.nowUs = new Float64Array(buffer, start + 3 * column, capacity);
    this.size = new Float64Array(buffer, start + 4 * column, capacity);
    this.usage = new Uint8Array(buffer, start + 5 * column, capacity);
    this.flags = new Uint8Array(buffer, start + 5 * column + capacity, capacity);
  }

  /**
   * Bytes a batch of `capacity` records needs.
   *
   * @param capacity Records.
   * @returns Buffer size in bytes.
   */
  static byteLength(capacity: number): number {
    return FIGURE_COUNT * 8 + capacity * RECORD_BYTES;
  }

  /**
   * Records a buffer of `byteLength` bytes holds.
   *
   * @param byteLength Buffer size in bytes.
   * @returns Capacity in records.
   */
  static capacityOf(byteLength: number): number {
    return Math.floor((byteLength - FIGURE_COUNT * 8) / RECORD_BYTES);
  }

  /**
   * Copies record `from` of `source` into record `to` of this batch (usage and flags included).
   *
   * @param source The batch to copy from.
   * @param from Record index in `source`.
   * @param to Record index here.
   */
  copyRecord(source: PacketBatch, from: number, to: number): void {
    this.ssrc[to] = source.ssrc[from];
    this.timestamp[to] = source.timestamp[from];
    this.arrivalUs[to] = source.arrivalUs[from];
    this.nowUs[to] = source.nowUs[from];
    this.size[to] = source.size[from];
    this.usage[to] = source.usage[from];
    this.flags[to] = source.flags[from];
  }

  /**
   * Copies what a lane's pipeline reads of record `from` of `source` (send time, arrival and
   * processing times, size, flags) into record `to` of this batch: a lane's batch needs no SSRC,
   * and the pipeline writes the verdict.
   *
   * @param source The batch to copy from.
   * @param from Record index in `source`.
   * @param to Record index here.
   */
  copyInput(source: PacketBatch, from: number, to: number): void {
    this.timestamp[to] = source.timestamp[from];
    this.arrivalUs[to] = source.arrivalUs[from];
    this.nowUs[to] = source.nowUs[from];
    this.size[to] = source.size[from];
    this.flags[to] = source.flags[from];
  }

  /**
   * {@linkcode PacketBatch.copyInput} for the first `length` records, column by column.
   *
   * @param source The batch to copy from.
   * @param length Records to copy.
   */
  copyInputs(source: PacketBatch, length: number): void {
    for (let i = 0; i < length; i++) this.timestamp[i] = source.timestamp[i];
    for (let i = 0; i < length; i++) this.arrivalUs[i] = source.arrivalUs[i];
    for (let i = 0; i < length; i++) this.nowUs[i] = source.nowUs[i];
    for (let i = 0; i < length; i++) this.size[i] = source.size[i];
    for (let i = 0; i < length; i++) this.flags[i] = source.flags[i];
  }
}
