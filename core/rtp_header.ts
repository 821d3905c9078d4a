/**
 * The RTP header as a receiver reads it: the fixed header (RFC 3550 §5.1), the header-extension
 * block in its one-byte and two-byte forms (RFC 8285 §4), padding, and the abs-send-time element
 * (reference §3); plus the RTP/RTCP demultiplexing rule for a shared port (RFC 5761 §4).
 *
 * Built for per-packet use: one {@linkcode RtpHeader} is parsed into again and again, fields are
 * read straight from the bytes, and a malformed packet is a `false` result with an error code and
 * offset, not an exception, so a hostile or corrupt packet costs no allocation either. The text
 * of an error is only built when {@linkcode RtpHeader.prototype.errorMessage} is asked for it.
 *
 * SRTP leaves the whole RTP header, extensions included, in the clear (RFC 3711 §3.1), so this
 * parser reads SRTP packets as well; the payload size then includes the authentication tag.
 *
 * @module
 */

/** Bytes of the fixed RTP header. */
const FIXED_HEADER_BYTES = 12;
/** Profile of the one-byte extension form (RFC 8285 §4.2). */
const ONE_BYTE_PROFILE = 0xbede;
/** Profile of the two-byte extension form, with the 4 "appbits" cleared (RFC 8285 §4.3). */
const TWO_BYTE_PROFILE = 0x1000;
/** One-byte form: ID 15 ends the element list (RFC 8285 §4.2). */
const ONE_BYTE_STOP_ID = 15;
/** Size of the abs-send-time element's data. */
const ABS_SEND_TIME_BYTES = 3;

/**
 * Why {@linkcode RtpHeader.prototype.parse} rejected a packet.
 *
 * - `"short-packet"`: fewer than the 12 bytes of the fixed header.
 * - `"bad-version"`: the version field is not 2.
 * - `"short-csrc-list"`: the CSRC list runs past the end of the packet.
 * - `"short-extension-header"`: the X bit is set, but the 4-byte extension header runs past the end.
 * - `"short-extension"`: the extension block's length runs past the end of the packet.
 * - `"bad-padding"`: the P bit is set and the padding count (the last byte) is 0 or larger than what
 *   follows the header.
 */
export type RtpHeaderError =
  | "short-packet"
  | "bad-version"
  | "short-csrc-list"
  | "short-extension-header"
  | "short-extension"
  | "bad-padding";

/**
 * How the packet's header extension is laid out.
 *
 * - `"none"`: the X bit is clear.
 * - `"one-byte"`: profile 0xBEDE, elements with 4-bit IDs 1–14 and 1–16 bytes of data.
 * - `"two-byte"`: profile 0x1000–0x100F, elements with 8-bit IDs 1–255 and 0–255 bytes of data.
 * - `"other"`: an RFC 3550 extension of another profile, whose content is opaque.
 */
export type RtpExtensionForm = "none" | "one-byte" | "two-byte" | "other";

/**
 * A reusable RTP header parser and its result: call {@linkcode RtpHeader.prototype.parse} with each
 * packet, then read the fields, look up extension elements, or ask why the packet was rejected.
 *
 * The object keeps a reference to the last packet parsed (extension lookups read from it) until
 * the next `parse`. Fields of a rejected packet are unspecified, except `error` and `errorOffset`.
 *
 * @example
 * ```ts
 * import { RtpHeader } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const packet = Uint8Array.from([
 *   0x90, 0xe0, 0x12, 0x34, // V=2, X, marker, PT 96, sequence number 0x1234
 *   0x00, 0x00, 0x0b, 0xb8, // timestamp 3000
 *   0xca, 0xfe, 0xba, 0xbe, // SSRC
 *   0xbe, 0xde, 0x00, 0x01, // one-byte extension block, one word
 *   0x32, 0x0a, 0x3d, 0x70, // ID 3, 3 bytes: abs-send-time 0x0a3d70
 *   0xaa, 0xbb, // payload
 * ]);
 * const header = new RtpHeader();
 * assert.ok(header.parse(packet));
 * assert.equal(header.ssrc, 0xcafebabe);
 * assert.equal(header.payloadOffset, 20);
 * assert.equal(header.payloadSize, 2);
 * assert.equal(header.readAbsSendTime(3), 0x0a3d70);
 * assert.equal(header.readAbsSendTime(4), -1);
 * ```
 */
export class RtpHeader {
  #packet: Uint8Array = new Uint8Array(0);
  #marker = false;
  #payloadType = 0;
  #sequenceNumber = 0;
  #timestamp = 0;
  #ssrc = 0;
  #csrcCount = 0;
  #extensionForm: RtpExtensionForm = "none";
  #extensionProfile = 0;
  #extensionOffset = 0;
  #extensionLength = 0;
  #payloadOffset = 0;
  #payloadSize = 0;
  #paddingSize = 0;
  #error: RtpHeaderError | undefined = undefined;
  #errorOffset = 0;
  #elementId = 0;
  #elementOffset = 0;
  #elementLength = 0;
  #cursor = 0; // Offset of the next element header nextExtension() reads.

  /**
   * Parses the RTP header at the start of `packet`, which must be exactly one RTP (or SRTP) packet.
   *
   * Elements of the extension block are not checked here: lookups stop at the first element that
   * runs past its block, as libwebrtc does, and the packet stays valid.
   *
   * @param packet One RTP packet.
   * @returns `true` if the header is well-formed; otherwise `false`, with
   * {@linkcode RtpHeader.prototype.error} and {@linkcode RtpHeader.prototype.errorOffset} set.
   * @throws {TypeError} If `packet` is not a `Uint8Array`.
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const header = new RtpHeader();
   * assert.equal(header.parse(Uint8Array.of(0x80, 0x60, 0, 1)), false);
   * assert.equal(header.error, "short-packet");
   * assert.equal(header.errorOffset, 0);
   * ```
   */
  parse(packet: Uint8Array): boolean {
    if (!(packet instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot parse RTP header as 'packet' must be a Uint8Array: current type is ${typeof packet}`,
      );
    }
    this.#packet = packet;
    this.#error = undefined;
    this.#errorOffset = 0;
    this.#elementId = 0;
    this.#elementOffset = 0;
    this.#elementLength = 0;
    const size = packet.length;
    if (size < FIXED_HEADER_BYTES) return this.#fail("short-packet", 0);
    const first = packet[0];
    if (first >>> 6 !== 2) return this.#fail("bad-version", 0);
    this.#marker = (packet[1] & 0x80) !== 0;
    this.#payloadType = packet[1] & 0x7f;
    this.#sequenceNumber = (packet[2] << 8) | packet[3];
    this.#timestamp = ((packet[4] << 24) | (packet[5] << 16) | (packet[6] << 8) | packet[7]) >>> 0;
    this.#ssrc = ((packet[8] << 24) | (packet[9] << 16) | (packet[10] << 8) | packet[11]) >>> 0;
    this.#csrcCount = first & 0x0f;
    let offset = FIXED_HEADER_BYTES + 4 * this.#csrcCount;
    if (offset > size) return this.#fail("short-csrc-list", FIXED_HEADER_BYTES);

    this.#extensionForm = "none";
    this.#extensionProfile = 0;
    this.#extensionOffset = offset;
    this.#extensionLength = 0;
    if ((first & 0x10) !== 0) {
      if (offset + 4 > size) return this.#fail("short-extension-header", offset);
      const profile = (packet[offset] << 8) | packet[offset + 1];
      const length = 4 * ((packet[offset + 2] << 8) | packet[offset + 3]);
      if (offset + 4 + length > size) return this.#fail("short-extension", offset);
      this.#extensionProfile = profile;
      this.#extensionForm = profile === ONE_BYTE_PROFILE
        ? "one-byte"
        : (profile & 0xfff0) === TWO_BYTE_PROFILE
        ? "two-byte"
        : "other";
      this.#extensionOffset = offset + 4;
      this.#extensionLength = length;
      offset += 4 + length;
    }
    this.#cursor = this.#extensionOffset;

    this.#payloadOffset = offset;
    this.#paddingSize = 0;
    if ((first & 0x20) !== 0) {
      const padding = size > offset ? packet[size - 1] : 0;
      if (padding === 0 || padding > size - offset) return this.#fail("bad-padding", size - 1);
      this.#paddingSize = padding;
    }
    this.#payloadSize = size - offset;
    return true;
  }

  /** The packet last given to {@linkcode RtpHeader.prototype.parse}. */
  get packet(): Uint8Array {
    return this.#packet;
  }

  /** The marker bit. */
  get marker(): boolean {
    return this.#marker;
  }

  /** The 7-bit payload type. */
  get payloadType(): number {
    return this.#payloadType;
  }

  /** The 16-bit sequence number. */
  get sequenceNumber(): number {
    return this.#sequenceNumber;
  }

  /** The 32-bit RTP timestamp, unsigned. */
  get timestamp(): number {
    return this.#timestamp;
  }

  /** The 32-bit SSRC, unsigned. */
  get ssrc(): number {
    return this.#ssrc;
  }

  /** Number of CSRCs, 0–15; read them with {@linkcode RtpHeader.prototype.csrc}. */
  get csrcCount(): number {
    return this.#csrcCount;
  }

  /** Layout of the header extension, `"none"` without one. */
  get extensionForm(): RtpExtensionForm {
    return this.#extensionForm;
  }

  /** The 16-bit "defined by profile" field of the extension header; 0 without an extension. */
  get extensionProfile(): number {
    return this.#extensionProfile;
  }

  /** Offset of the extension data (after its 4-byte header) in the packet. */
  get extensionOffset(): number {
    return this.#extensionOffset;
  }

  /** Bytes of extension data (a multiple of 4); 0 without an extension. */
  get extensionLength(): number {
    return this.#extensionLength;
  }

  /** Offset of the payload: the length of the whole header. */
  get payloadOffset(): number {
    return this.#payloadOffset;
  }

  /**
   * Payload plus padding bytes, without the header: libwebrtc's packet size and
   * `PacketInfo.payloadSize`. For SRTP it includes the authentication tag.
   */
  get payloadSize(): number {
    return this.#payloadSize;
  }

  /** Padding bytes at the end of the packet, the count byte included; 0 when P is clear. */
  get paddingSize(): number {
    return this.#paddingSize;
  }

  /** Why the last parse failed, or `undefined` after a success. */
  get error(): RtpHeaderError | undefined {
    return this.#error;
  }

  /** Byte offset in the packet of the field that made the last parse fail; 0 after a success. */
  get errorOffset(): number {
    return this.#errorOffset;
  }

  /** ID of the element found by the last successful lookup. */
  get elementId(): number {
    return this.#elementId;
  }

  /** Offset in the packet of the data of the element found by the last successful lookup. */
  get elementOffset(): number {
    return this.#elementOffset;
  }

  /** Data bytes of the element found by the last successful lookup. */
  get elementLength(): number {
    return this.#elementLength;
  }

  /**
   * Reads one contributing source.
   *
   * @param index Which CSRC, from 0 to `csrcCount − 1`.
   * @returns The 32-bit CSRC, unsigned.
   * @throws {RangeError} If `index` is not an integer below `csrcCount`.
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const packet = new Uint8Array(16);
   * packet.set([0x81, 96]); // V=2, one CSRC
   * packet.set([0xff, 0xff, 0xff, 0xfe], 12);
   * const header = new RtpHeader();
   * assert.ok(header.parse(packet));
   * assert.equal(header.csrc(0), 0xfffffffe);
   * assert.throws(() => header.csrc(1), RangeError);
   * ```
   */
  csrc(index: number): number {
    if (!(Number.isInteger(index) && index >= 0 && index < this.#csrcCount)) {
      throw new RangeError(
        `Cannot read CSRC as 'index' must be an integer below the CSRC count ${this.#csrcCount}: current value is ${index}`,
      );
    }
    const p = this.#packet;
    const at = FIXED_HEADER_BYTES + 4 * index;
    return ((p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3]) >>> 0;
  }

  /**
   * Looks up the extension element with an ID, in the one-byte or two-byte form.
   *
   * On success {@linkcode RtpHeader.prototype.elementOffset} and
   * {@linkcode RtpHeader.prototype.elementLength} locate its data in the packet.
   *
   * @param id The element ID: 1–14 for the one-byte form, 1–255 for the two-byte form.
   * @returns Whether the packet carries the element. Always `false` for a packet without an
   * extension, with an extension of another profile, or whose form cannot carry `id`.
   * @throws {RangeError} If `id` is not an integer in [1, 255].
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const packet = new Uint8Array(24);
   * packet[0] = 0x90; // V=2, X
   * packet.set([0x10, 0x00, 0x00, 0x02], 12); // two-byte form, two words
   * packet.set([0x00, 0x07, 0x02, 0xab, 0xcd], 16); // padding, then ID 7 with 2 bytes
   * const header = new RtpHeader();
   * assert.ok(header.parse(packet));
   * assert.equal(header.extensionForm, "two-byte");
   * assert.ok(header.findExtension(7));
   * assert.deepEqual([header.elementOffset, header.elementLength], [19, 2]);
   * assert.equal(header.findExtension(8), false);
   * ```
   */
  findExtension(id: number): boolean {
    if (!(Number.isInteger(id) && id >= 1 && id <= 255)) {
      throw new RangeError(
        `Cannot find RTP header extension as 'id' must be an integer in [1, 255]: current value is ${id}`,
      );
    }
    this.#cursor = this.#extensionOffset;
    while (this.nextExtension()) {
      if (this.#elementId === id) return true;
    }
    return false;
  }

  /**
   * Steps to the next extension element, for walking all of them: after `parse`, each call moves
   * to the next element (padding skipped) and sets {@linkcode RtpHeader.prototype.elementId},
   * {@linkcode RtpHeader.prototype.elementOffset} and {@linkcode RtpHeader.prototype.elementLength}.
   * {@linkcode RtpHeader.prototype.findExtension} moves the same cursor.
   *
   * The walk ends at the end of the block, at the one-byte form's ID 15 or at a one-byte padding
   * byte with a non-zero length (RFC 8285 §4.2), and at an element that runs past the block (which
   * libwebrtc also ignores, with what follows it).
   *
   * @returns `false` when there is no further element.
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const packet = new Uint8Array(20);
   * packet[0] = 0x90;
   * packet.set([0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x20, 0x01], 12); // ID 1: 1 byte, ID 2: 1 byte
   * const header = new RtpHeader();
   * assert.ok(header.parse(packet));
   * const ids: number[] = [];
   * while (header.nextExtension()) ids.push(header.elementId);
   * assert.deepEqual(ids, [1, 2]);
   * ```
   */
  nextExtension(): boolean {
    const p = this.#packet;
    const end = this.#extensionOffset + this.#extensionLength;
    const form = this.#extensionForm;
    let at = this.#cursor;
    if (form === "one-byte") {
      while (at < end) {
        const id = p[at] >>> 4;
        const length = (p[at] & 0x0f) + 1;
        if (id === ONE_BYTE_STOP_ID || (id === 0 && length !== 1)) break;
        if (id === 0) {
          at++;
          continue;
        }
        if (at + 1 + length > end) break;
        return this.#found(id, at + 1, length);
      }
    } else if (form === "two-byte") {
      while (at < end) {
        const id = p[at];
        if (id === 0) {
          at++;
          continue;
        }
        if (at + 2 > end) break;
        const length = p[at + 1];
        if (at + 2 + length > end) break;
        return this.#found(id, at + 2, length);
      }
    }
    this.#cursor = end;
    return false;
  }

  /**
   * Reads the abs-send-time element: a 24-bit, 6.18 fixed-point send time (reference §3).
   *
   * @param id The element ID negotiated for abs-send-time.
   * @returns The raw 24-bit value, or −1 when the packet has no element with that ID or its data is
   * not exactly 3 bytes (as libwebrtc requires).
   * @throws {RangeError} If `id` is not an integer in [1, 255].
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const packet = new Uint8Array(20);
   * packet[0] = 0x90;
   * packet.set([0xbe, 0xde, 0x00, 0x01, 0x22, 0xff, 0xff, 0xff], 12); // ID 2, 3 bytes
   * const header = new RtpHeader();
   * assert.ok(header.parse(packet));
   * assert.equal(header.readAbsSendTime(2), 0xffffff);
   * ```
   */
  readAbsSendTime(id: number): number {
    if (!this.findExtension(id) || this.#elementLength !== ABS_SEND_TIME_BYTES) return -1;
    const p = this.#packet;
    const at = this.#elementOffset;
    return (p[at] << 16) | (p[at + 1] << 8) | p[at + 2];
  }

  /**
   * Describes why the last parse failed, std-style, naming the offset.
   *
   * @returns The message, or an empty string after a successful parse.
   * @example
   * ```ts
   * import { RtpHeader } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * const header = new RtpHeader();
   * header.parse(new Uint8Array(12)); // Version 0.
   * assert.equal(
   *   header.errorMessage(),
   *   "Cannot parse RTP header as the version at offset 0 must be 2: current value is 0",
   * );
   * ```
   */
  errorMessage(): string {
    const p = this.#packet;
    const at = this.#errorOffset;
    const size = p.length;
    switch (this.#error) {
      case undefined:
        return "";
      case "short-packet":
        return `Cannot parse RTP header as the packet must hold the 12-byte fixed header at offset 0: current length is ${size}`;
      case "bad-version":
        return `Cannot parse RTP header as the version at offset 0 must be 2: current value is ${
          p[0] >>> 6
        }`;
      case "short-csrc-list":
        return `Cannot parse RTP header as the ${this.#csrcCount} CSRCs at offset ${at} overrun the packet: current length is ${size}`;
      case "short-extension-header":
        return `Cannot parse RTP header as the extension header at offset ${at} overruns the packet: current length is ${size}`;
      case "short-extension":
        return `Cannot parse RTP header as the extension block at offset ${at} (${
          4 + 4 * ((p[at + 2] << 8) | p[at + 3])
        } bytes) overruns the packet: current length is ${size}`;
      case "bad-padding":
        return `Cannot parse RTP header as the padding count at offset ${at} must be in [1, ${
          size - this.#payloadOffset
        }]: current value is ${p[at]}`;
    }
  }

  #fail(error: RtpHeaderError, offset: number): false {
    this.#error = error;
    this.#errorOffset = offset;
    this.#extensionForm = "none";
    this.#extensionLength = 0;
    this.#cursor = this.#extensionOffset;
    return false;
  }

  #found(id: number, offset: number, length: number): true {
    this.#elementId = id;
    this.#elementOffset = offset;
    this.#elementLength = length;
    this.#cursor = offset + length;
    return true;
  }
}

/**
 * Tells an RTCP packet from an RTP packet on a shared port (RFC 5761 §4): RTCP packet types 192–223
 * occupy the second byte where RTP would have marker + payload types 64–95, which RTP must not
 * use when multiplexed. The version must be 2 and the RTCP common header (4 bytes) present.
 *
 * Use it on UDP payloads already known to be RTP or RTCP (a first byte in 128–191, RFC 7983);
 * SRTCP is recognised too, as its first 8 bytes are in the clear.
 *
 * @param bytes A UDP payload.
 * @returns `true` for RTCP, `false` for RTP or anything else.
 * @throws {TypeError} If `bytes` is not a `Uint8Array`.
 * @example
 * ```ts
 * import { isRtcp } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isRtcp(Uint8Array.of(0x81, 201, 0x00, 0x01))); // Receiver report.
 * assert.equal(isRtcp(Uint8Array.of(0x80, 96, 0x00, 0x01)), false); // RTP, payload type 96.
 * assert.equal(isRtcp(Uint8Array.of(0x80, 0xe0, 0x00, 0x01)), false); // RTP, marker + PT 96.
 * ```
 */
export function isRtcp(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot classify packet as 'bytes' must be a Uint8Array: current type is ${typeof bytes}`,
    );
  }
  return bytes.length >= 4 && bytes[0] >>> 6 === 2 && bytes[1] >= 192 && bytes[1] <= 223;
}
