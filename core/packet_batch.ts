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
export const RECORD_BYTES: number = 5 * 8 + 1;

/**
 * Columns of packet records. `timestamp` is the send time in ticks (upshifted abs-send-time) or the
 * RTP timestamp; times are integer microseconds; `usage` receives the detector verdict (0 normal,
 * 1 underusing, 2 overusing) when a pipeline processes the record.
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
  /** The backing buffer; transfer it to move the batch to another thread. */
  readonly buffer: ArrayBuffer;
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

  /**
   * Creates a batch, on a fresh buffer or on one received from another thread.
   *
   * @param capacity Records the batch holds.
   * @param buffer An existing buffer of `capacity × RECORD_BYTES` bytes.
   */
  constructor(capacity: number, buffer: ArrayBuffer = new ArrayBuffer(capacity * RECORD_BYTES)) {
    if (buffer.byteLength < capacity * RECORD_BYTES) {
      throw new RangeError(
        `Cannot create packet batch as the buffer is too small: current size is ${buffer.byteLength} bytes`,
      );
    }
    this.buffer = buffer;
    this.capacity = capacity;
    const column = capacity * 8;
    this.ssrc = new Float64Array(buffer, 0, capacity);
    this.timestamp = new Float64Array(buffer, column, capacity);
    this.arrivalUs = new Float64Array(buffer, 2 * column, capacity);
    this.nowUs = new Float64Array(buffer, 3 * column, capacity);
    this.size = new Float64Array(buffer, 4 * column, capacity);
    this.usage = new Uint8Array(buffer, 5 * column, capacity);
  }
}
