/**
 * The interceptor contract, after Pion's `interceptor` package, in TypeScript: a WebRTC stack binds
 * each remote stream's RTP reader, the connection's RTCP reader and its RTCP writer to an
 * interceptor, which observes the packets going in and writes RTCP of its own going out.
 *
 * Pion's readers are pulled (`Read(b, attributes)`); TypeScript stacks push packets from events, so
 * here a reader is called with each packet, and an interceptor wraps it: the wrapped reader looks at
 * the packet, then calls the original. Pion's `Attributes` map is reduced to the one attribute the
 * receive side needs, the arrival time, in a reused object passed along the chain so every stage
 * sees the same stamp.
 *
 * @module
 */

/** URI of the abs-send-time header extension (reference §3): 24-bit, 6.18 fixed-point seconds. */
export const ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/** URI of the abs-capture-time header extension: a 64-bit NTP capture time (UQ32.32). */
export const ABS_CAPTURE_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

/** URI of the transport-wide sequence number header extension, which this receiver never uses. */
export const TRANSPORT_WIDE_CC_URI =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/**
 * A header extension negotiated for a stream: the URI from `a=extmap` and the ID it got.
 *
 * @example
 * ```ts
 * import { ABS_SEND_TIME_URI, type RTPHeaderExtension } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const extension: RTPHeaderExtension = { uri: ABS_SEND_TIME_URI, id: 3 };
 * assert.equal(extension.id, 3);
 * ```
 */
export interface RTPHeaderExtension {
  /** The extension's URI. */
  uri: string;
  /** Its ID in this session: 1–14 fits the one-byte form, 15–255 needs the two-byte form. */
  id: number;
}

/**
 * An RTCP feedback mechanism negotiated for a codec (`a=rtcp-fb`).
 *
 * @example
 * ```ts
 * import type { RTCPFeedback } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const feedback: RTCPFeedback[] = [{ type: "goog-remb" }, { type: "nack", parameter: "pli" }];
 * assert.equal(feedback.length, 2);
 * ```
 */
export interface RTCPFeedback {
  /** The feedback type: `"goog-remb"`, `"nack"`, `"ccm"`, `"transport-cc"`, … */
  type: string;
  /** Its parameter, such as `"pli"` for `nack pli`. */
  parameter?: string;
}

/**
 * What an interceptor is told about a remote stream when it is bound (Pion's `StreamInfo`).
 *
 * @example
 * ```ts
 * import { ABS_SEND_TIME_URI, type StreamInfo } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const info: StreamInfo = {
 *   ssrc: 0x1234,
 *   clockRate: 90_000,
 *   mimeType: "video/VP8",
 *   rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: 2 }],
 *   rtcpFeedback: [{ type: "goog-remb" }],
 * };
 * assert.equal(info.clockRate, 90_000);
 * ```
 */
export interface StreamInfo {
  /** The stream's SSRC, a 32-bit unsigned integer. */
  ssrc: number;
  /** RTP clock rate of its codec, Hz. */
  clockRate: number;
  /** The codec, as `"video/VP8"` or `"audio/opus"`. */
  mimeType: string;
  /** Header extensions negotiated for the stream's m-line. */
  rtpHeaderExtensions: readonly RTPHeaderExtension[];
  /** RTCP feedback negotiated for its codec. */
  rtcpFeedback: readonly RTCPFeedback[];
}

/**
 * What travels with a packet along a chain of readers, RTP or RTCP (Pion's `Attributes`, reduced
 * to what the receive side uses). Readers pass one object on instead of loose numbers, which a call that is not
 * inlined would box: the chain stays allocation-free. The object is reused from packet to packet:
 * read it during the call, never keep it.
 *
 * @example
 * ```ts
 * import type { RTPAttributes } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const attributes: RTPAttributes = { arrivalTimeMs: NaN }; // Not stamped yet.
 * assert.ok(Number.isNaN(attributes.arrivalTimeMs));
 * ```
 */
export interface RTPAttributes {
  /**
   * When the packet arrived, ms, on the interceptor's clock. A reader given a non-finite value
   * stamps it on entry.
   */
  arrivalTimeMs: number;
}

/**
 * Where a stack hands each received RTP packet. An interceptor returns a reader that wraps the one it
 * was given: it observes the packet and then passes it on, with the same attributes.
 *
 * @example
 * ```ts
 * import type { RTPReader } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const sizes: number[] = [];
 * const reader: RTPReader = { read: (packet) => sizes.push(packet.length) };
 * reader.read(new Uint8Array(12));
 * assert.deepEqual(sizes, [12]);
 * ```
 */
export interface RTPReader {
  /**
   * Takes one received RTP packet (after SRTP decryption). Neither the packet nor its bytes are kept.
   *
   * @param packet The whole packet: header, extensions, payload and padding.
   * @param attributes What travels with it; omitted (or with a non-finite arrival time), the first
   * reader of the chain stamps the arrival on entry and passes attributes of its own on.
   */
  read(packet: Uint8Array, attributes?: RTPAttributes): void;
}

/**
 * Where a stack hands each received RTCP packet (Pion's `RTCPReader`): one per connection, for
 * every compound packet of every stream. An interceptor returns a reader that wraps the one it was
 * given: it observes the packet and then passes it on, untouched, with the same attributes.
 *
 * @example
 * ```ts
 * import type { RTCPReader } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const types: number[] = [];
 * const reader: RTCPReader = { read: (packet) => types.push(packet[1]) };
 * reader.read(Uint8Array.of(0x80, 200, 0, 6)); // The start of a sender report.
 * assert.deepEqual(types, [200]);
 * ```
 */
export interface RTCPReader {
  /**
   * Takes one received RTCP packet, compound or not (after SRTCP decryption, without the SRTCP
   * index and tag). Neither the packet nor its bytes are kept.
   *
   * @param packet The RTCP packets of one datagram, back to back.
   * @param attributes What travels with it; omitted (or with a non-finite arrival time), the first
   * reader of the chain stamps the arrival on entry.
   */
  read(packet: Uint8Array, attributes?: RTPAttributes): void;
}

/**
 * Where an interceptor writes its RTCP packets. A writer may return a promise; a rejection is
 * reported, never thrown back into the interceptor.
 *
 * @example
 * ```ts
 * import type { RTCPWriter } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const sent: Uint8Array[] = [];
 * const writer: RTCPWriter = { write: (packet) => void sent.push(packet) };
 * writer.write(new Uint8Array(24));
 * assert.equal(sent.length, 1);
 * ```
 */
export interface RTCPWriter {
  /**
   * Sends one RTCP packet (or a compound of them) to the remote peer.
   *
   * @param packet The RTCP bytes, unencrypted; the writer owns them from here on.
   * @returns Nothing, or a promise that settles when the packet is handed to the network.
   */
  write(packet: Uint8Array): void | PromiseLike<unknown>;
}

/**
 * An interceptor for one peer connection (Pion's `Interceptor`, receive side).
 *
 * @example
 * ```ts
 * import type { Interceptor, RTCPReader, RTCPWriter, RTPReader, StreamInfo } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 *
 * // An interceptor that counts packets and passes everything through.
 * let packets = 0;
 * const counting: Interceptor = {
 *   bindRemoteStream: (_info: StreamInfo, reader: RTPReader): RTPReader => ({
 *     read(packet, attributes) {
 *       packets++;
 *       reader.read(packet, attributes);
 *     },
 *   }),
 *   unbindRemoteStream() {},
 *   bindRTCPReader: (reader: RTCPReader) => reader,
 *   bindRTCPWriter: (writer: RTCPWriter) => writer,
 *   close: () => Promise.resolve(),
 * };
 * const info = { ssrc: 1, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] };
 * counting.bindRemoteStream(info, { read() {} }).read(new Uint8Array(12));
 * assert.equal(packets, 1);
 * ```
 */
export interface Interceptor {
  /**
   * Binds a remote stream: packets read through the returned reader are observed, then passed to
   * `reader`.
   *
   * @param info The stream as negotiated.
   * @param reader Where packets go next.
   * @returns The reader the stack must call instead of `reader`.
   */
  bindRemoteStream(info: StreamInfo, reader: RTPReader): RTPReader;
  /**
   * Stops observing a remote stream.
   *
   * @param info The stream, as it was bound (its SSRC identifies it).
   */
  unbindRemoteStream(info: StreamInfo): void;
  /**
   * Binds the connection's incoming RTCP: packets read through the returned reader are observed,
   * then passed to `reader`.
   *
   * @param reader Where RTCP goes next.
   * @returns The reader the stack must call instead of `reader`.
   */
  bindRTCPReader(reader: RTCPReader): RTCPReader;
  /**
   * Gives the interceptor the connection's RTCP writer.
   *
   * @param writer Where RTCP goes.
   * @returns The writer the stack should use for its own RTCP from now on.
   */
  bindRTCPWriter(writer: RTCPWriter): RTCPWriter;
  /**
   * Stops the interceptor and releases what it holds.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void>;
}

/**
 * Makes one interceptor per peer connection (Pion's `Factory`).
 *
 * @example
 * ```ts
 * import type { Interceptor, InterceptorFactory } from "./interceptor.ts";
 * import assert from "node:assert/strict";
 * const made: string[] = [];
 * const factory: InterceptorFactory = {
 *   newInterceptor(id: string): Interceptor {
 *     made.push(id);
 *     return {
 *       bindRemoteStream: (_info, reader) => reader,
 *       unbindRemoteStream() {},
 *       bindRTCPReader: (reader) => reader,
 *       bindRTCPWriter: (writer) => writer,
 *       close: () => Promise.resolve(),
 *     };
 *   },
 * };
 * factory.newInterceptor("pc-1");
 * assert.deepEqual(made, ["pc-1"]);
 * ```
 */
export interface InterceptorFactory {
  /**
   * Makes the interceptor of one connection.
   *
   * @param id Names the connection, as Pion's does.
   * @returns A new interceptor.
   */
  newInterceptor(id: string): Interceptor;
}
