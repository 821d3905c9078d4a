/**
 * Streaming reads over a file in chunks, so that a capture of any size is read with a buffer of
 * about one chunk: the readers ask for the bytes of one record at a time and parse them in place.
 *
 * @module
 */

/** Anything with Deno's `read()` contract, such as `Deno.FsFile`. */
export interface ByteSource {
  /**
   * Reads up to `buffer.length` bytes into `buffer`.
   *
   * @param buffer Where to read to.
   * @returns Bytes read, or `null` at the end.
   */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options of {@linkcode ChunkedReader}. */
export interface ChunkedReaderOptions {
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
 * A window over a byte source: `bytes[position, position + available)` holds the next bytes of
 * the source, starting at file offset {@linkcode ChunkedReader.prototype.offset}.
 *
 * @example
 * ```ts
 * import { ChunkedReader } from "./chunked_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const data = Uint8Array.from({ length: 10 }, (_, i) => i);
 * let at = 0;
 * const source = {
 *   read: (buffer: Uint8Array) => {
 *     if (at === data.length) return Promise.resolve(null);
 *     const n = Math.min(3, buffer.length, data.length - at); // Short reads, as a pipe gives.
 *     buffer.set(data.subarray(at, at + n));
 *     at += n;
 *     return Promise.resolve(n);
 *   },
 * };
 * const reader = new ChunkedReader(source, { chunkBytes: 4 });
 * assert.ok(await reader.fill(6)); // Grows past the chunk when a record needs it.
 * assert.equal(reader.bytes[reader.position + 5], 5);
 * reader.skip(6);
 * assert.equal(reader.offset, 6);
 * assert.equal(await reader.fill(8), false); // Only 4 bytes are left.
 * assert.equal(reader.available, 4);
 * ```
 */
export class ChunkedReader {
  readonly #source: ByteSource;
  readonly #chunkBytes: number;
  readonly #onProgress: ((bytesRead: number) => void) | undefined;
  #bytes: Uint8Array;
  #position = 0;
  #end = 0;
  #base = 0; // File offset of #bytes[0].
  #eof = false;

  /**
   * Creates a reader at the start of `source`.
   *
   * @param source Where the bytes come from.
   * @param options Chunk size and progress callback.
   * @throws {RangeError} If `chunkBytes` is not a positive integer.
   */
  constructor(source: ByteSource, options: ChunkedReaderOptions = {}) {
    const chunkBytes = options.chunkBytes ?? 1 << 20;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
      throw new RangeError(
        `Cannot create reader as 'chunkBytes' must be a positive integer: current value is ${chunkBytes}`,
      );
    }
    this.#source = source;
    this.#chunkBytes = chunkBytes;
    this.#onProgress = options.onProgress;
    this.#bytes = new Uint8Array(chunkBytes);
  }

  /** The buffer; it may be replaced by {@linkcode ChunkedReader.prototype.fill}. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Index in {@linkcode ChunkedReader.prototype.bytes} of the next unread byte. */
  get position(): number {
    return this.#position;
  }

  /** Bytes buffered from the position on. */
  get available(): number {
    return this.#end - this.#position;
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.#base + this.#position;
  }

  /** Whether the source is exhausted and nothing is left in the buffer. */
  get done(): boolean {
    return this.#eof && this.#end === this.#position;
  }

  /**
   * Makes at least `count` bytes available from the position, reading from the source as needed.
   * The buffer may move: read `bytes` and `position` again afterwards.
   *
   * @param count Bytes wanted.
   * @returns `false` if the source ends first; what there was is then available.
   */
  async fill(count: number): Promise<boolean> {
    if (this.#end - this.#position >= count) return true;
    if (this.#position > 0) {
      // Move the unread tail to the front, into a larger buffer if the record needs one.
      const size = Math.max(this.#bytes.length, count);
      const target = size > this.#bytes.length ? new Uint8Array(size) : this.#bytes;
      target.set(this.#bytes.subarray(this.#position, this.#end), 0);
      this.#base += this.#position;
      this.#end -= this.#position;
      this.#position = 0;
      this.#bytes = target;
    } else if (count > this.#bytes.length) {
      const target = new Uint8Array(count);
      target.set(this.#bytes.subarray(0, this.#end));
      this.#bytes = target;
    }
    while (this.#end < count && !this.#eof) {
      const room = Math.min(this.#bytes.length - this.#end, Math.max(this.#chunkBytes, count));
      const n = await this.#source.read(this.#bytes.subarray(this.#end, this.#end + room));
      if (n === null) {
        this.#eof = true;
      } else {
        this.#end += n;
        this.#onProgress?.(this.#base + this.#end);
      }
    }
    return this.#end - this.#position >= count;
  }

  /**
   * Moves the position on.
   *
   * @param count Bytes consumed, at most {@linkcode ChunkedReader.prototype.available}.
   * @throws {RangeError} If fewer bytes are buffered.
   */
  skip(count: number): void {
    if (count > this.#end - this.#position) {
      throw new RangeError(
        `Cannot skip ${count} bytes as only ${this.#end - this.#position} are buffered`,
      );
    }
    this.#position += count;
  }
}
