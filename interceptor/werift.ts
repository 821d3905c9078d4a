/**
 * The werift adapter: one call sets up a werift `RTCPeerConnection` for receiver-side bandwidth
 * estimation with an {@linkcode EstimatorInterceptor}.
 *
 * - **Negotiation.** Video codecs advertise `goog-remb` and never `transport-cc`, and video carries
 *   the abs-send-time header extension (werift configures none by default). werift answers with the
 *   offer's own rtcp-fb list, so a browser's `transport-cc` would be echoed and the browser would
 *   run its own delay-based estimator instead of obeying REMB: the adapter removes every
 *   `a=rtcp-fb:* transport-cc` line and the transport-wide-cc `a=extmap` from each remote
 *   description before werift reads it, so werift never negotiates them.
 * - **Packets.** Every RTP packet of every DTLS transport is observed where werift decrypts it
 *   (`RTCDtlsTransport.onRtp`: all m-lines and SSRCs, RTX and padding-only probes included, as
 *   libwebrtc feeds its estimator), stamped on receipt with the interceptor's clock and read from
 *   its raw bytes. A new SSRC is bound to the interceptor at its first packet, with the header
 *   extensions and codec of the transceiver whose payload type it uses.
 * - **REMB** goes out through werift's SRTCP path, on every transport that has delivered RTP, as an
 *   RTCP packet of our own encoding (behind an XR Receiver Reference Time block when one is due).
 * - **Incoming RTCP** reaches the interceptor's RTCP reader, for the sender's DLRR answers (the
 *   receiver's RTT). werift hands its own subscribers only the RTCP packets it can parse, and it
 *   parses no XR (packet type 207) at all; so the adapter takes each SRTCP datagram where werift
 *   does, from the transport's ICE connection (`iceTransport.connection.onData`), and decrypts a
 *   copy with the transport's own SRTCP session (`srtcp.decrypt`, which keeps no replay state, so
 *   werift's own decryption of the datagram is unaffected). RTP datagrams are told apart by their
 *   second byte (RFC 5761) and left alone.
 *
 * **werift versions.** werift 0.24.1 to 0.25.x ({@linkcode SUPPORTED_WERIFT_VERSIONS}) are
 * supported and tested (the oldest and the newest on each change). The package depends on
 * `werift@^0.25.0`: Deno's npm specifiers take one caret or tilde range. An application on werift
 * 0.24 (werift 0.25 declares Node.js 22, 0.24 Node.js 16) passes its own connection to
 * {@linkcode attachEstimator}. The adapter uses werift's public API: the connection's
 * `dtlsTransports`, `getTransceivers()` and `connectionStateChange`, each transport's `onRtp`,
 * `sendRtcp()`, `srtcp` and `iceTransport.connection.onData`; it wraps the connection's `setRemoteDescription` and `setLocalDescription`, and
 * reads a packet's bytes from the buffer werift decrypted it into when its layout checks out
 * (`RtpPacket.serialize()` otherwise). A connection that lacks one of these is refused with a
 * `TypeError` naming it.
 *
 * **Permissions (Deno).** Importing this module needs `--allow-env`: werift's `debug` dependency
 * enumerates the environment when it loads. ICE needs `--allow-sys=networkInterfaces` and network
 * access for its UDP sockets (`--allow-net`, e.g. `--allow-net=127.0.0.1` on loopback).
 *
 * werift as a *sender* writes a broken abs-send-time; a werift peer that sends to this receiver in
 * a test must write its own (see tests/interceptor/werift_loopback_test.ts).
 *
 * @module
 */

import {
  type RTCDtlsTransport,
  RTCPeerConnection,
  type RTCPeerConnectionConfig,
  type RtcpPacket,
  RTCRtpCodecParameters,
  type RTCRtpHeaderExtensionParameters,
  type RtpPacket,
  useAbsSendTime,
  useREMB,
  useSdesMid,
  useVP8,
} from "werift";
import {
  EstimatorInterceptor,
  EstimatorInterceptorFactory,
  type EstimatorInterceptorOptions,
} from "./estimator_interceptor.ts";
import { isRtcp } from "../core/rtp_header.ts";
import {
  ABS_SEND_TIME_URI,
  type RTCPReader,
  type RTCPWriter,
  type RTPAttributes,
  type RTPReader,
  type StreamInfo,
  TRANSPORT_WIDE_CC_URI,
} from "./interceptor.ts";

/** werift's `RTCPeerConnection`, as the adapter takes and returns it. */
export type WeriftPeerConnection = RTCPeerConnection;

/** werift's `RTCPeerConnectionConfig`: its configuration of a peer connection. */
export type WeriftPeerConnectionConfig = RTCPeerConnectionConfig;

/**
 * The werift versions the adapter supports, as an npm range.
 *
 * @example
 * ```ts
 * import { SUPPORTED_WERIFT_VERSIONS } from "./werift.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SUPPORTED_WERIFT_VERSIONS, ">=0.24.1 <0.26.0");
 * ```
 */
export const SUPPORTED_WERIFT_VERSIONS = ">=0.24.1 <0.26.0";

/** Options of {@linkcode createEstimatingPeerConnection} and {@linkcode attachEstimator}. */
export interface WeriftEstimationOptions {
  /**
   * The estimator: an interceptor, a factory that makes it (with the peer connection's id), or
   * options for a factory.
   *
   * @default {a factory with default options}
   */
  estimator?: EstimatorInterceptor | EstimatorInterceptorFactory | EstimatorInterceptorOptions;
  /**
   * Called with every RTP packet after the estimator has seen it: its raw bytes (valid only during
   * the call) and its arrival time on the estimator's clock.
   */
  onRtp?: (packet: Uint8Array, arrivalTimeMs: number) => void;
  /**
   * Called with every RTCP datagram after the estimator has seen it: its decrypted bytes (the RTCP
   * packets of the datagram back to back, valid only during the call) and its arrival time on the
   * estimator's clock.
   */
  onRtcp?: (packet: Uint8Array, arrivalTimeMs: number) => void;
  /**
   * SSRCs bound at once per connection; packets of further SSRCs are counted and not estimated.
   *
   * @default {256}
   */
  maxBoundSsrcs?: number;
}

/** Figures of the adapter itself, beside the estimator's. */
export interface WeriftAdapterStats {
  /** RTP packets seen on the hooked transports. */
  rtpPackets: number;
  /** Packets whose payload type belongs to no transceiver, or beyond `maxBoundSsrcs`. */
  unroutedPackets: number;
  /** Packets whose raw bytes werift did not keep, re-serialized (expected 0). */
  reserializedPackets: number;
  /** DTLS transports hooked. */
  transports: number;
  /** SSRCs bound to the interceptor. */
  boundSsrcs: number[];
  /** REMB send calls werift rejected. */
  rtcpSendErrors: number;
  /** SRTCP datagrams received on the hooked transports, decrypted and read by the estimator. */
  rtcpPackets: number;
  /** SRTCP datagrams that did not decrypt (werift drops them too). */
  rtcpDecryptErrors: number;
  /**
   * The RTT measured from the sender's DLRR answers, ms (the estimator's `rttMs`); `undefined`
   * until the sender answered one of the RRTRs sent with the REMB.
   */
  rttMs: number | undefined;
}

/** A werift peer connection with its estimator attached; its methods may be destructured. */
export interface WeriftEstimation {
  /** The peer connection: do offer/answer, add transceivers and close it as usual. */
  readonly pc: WeriftPeerConnection;
  /** Its estimator: estimate, `subscribe()`, `stats()`, `setMaxDesiredBitrate()`. */
  readonly estimator: EstimatorInterceptor;
  /**
   * The adapter's own figures.
   *
   * @returns A snapshot.
   */
  stats(): WeriftAdapterStats;
  /**
   * Unhooks the adapter and closes the estimator; the peer connection stays open. Idempotent.
   *
   * @returns A promise that resolves once the estimator is closed.
   */
  detach(): Promise<void>;
  /**
   * Detaches and closes the peer connection. Idempotent.
   *
   * @returns A promise that resolves once both are closed.
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_BOUND_SSRCS = 256;
const TRANSPORT_CC_FEEDBACK = /^a=rtcp-fb:\S+ transport-cc\s*$/;
const TRANSPORT_CC_EXTMAP = /^a=extmap:\d+(\/\w+)? (\S+)/;
/** Codecs that are not media of their own and get no rtcp-fb of their own in browsers. */
const AUXILIARY_CODECS = ["video/rtx", "video/red", "video/ulpfec", "video/flexfec-03"];

/**
 * Removes transport-wide congestion control from an SDP: every `a=rtcp-fb:<pt> transport-cc` line
 * and the transport-wide-cc `a=extmap` line, so that the other side falls back to REMB.
 *
 * @param sdp A session description.
 * @returns The same description without those lines (line endings kept).
 * @example
 * ```ts
 * import { stripTransportCc } from "./werift.ts";
 * import assert from "node:assert/strict";
 * const sdp = [
 *   "m=video 9 UDP/TLS/RTP/SAVPF 96",
 *   "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
 *   "a=rtcp-fb:96 goog-remb",
 *   "a=rtcp-fb:96 transport-cc",
 *   "",
 * ].join("\r\n");
 * assert.equal(stripTransportCc(sdp), "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtcp-fb:96 goog-remb\r\n");
 * ```
 */
export function stripTransportCc(sdp: string): string {
  if (typeof sdp !== "string") {
    throw new TypeError(
      `Cannot strip transport-cc as 'sdp' must be a string: current type is ${typeof sdp}`,
    );
  }
  return sdp.split("\n").filter((line) => {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (TRANSPORT_CC_FEEDBACK.test(text)) return false;
    const extmap = TRANSPORT_CC_EXTMAP.exec(text);
    return !(extmap && extmap[2] === TRANSPORT_WIDE_CC_URI);
  }).join("\n");
}

/**
 * A werift configuration for receiver-side estimation, from the application's: every video codec
 * advertises `goog-remb` and no `transport-cc`, video carries abs-send-time (and the MID extension
 * BUNDLE needs), and no m-line carries transport-wide-cc. Everything else is kept.
 *
 * @param config The application's configuration; VP8 when it names no video codec.
 * @returns A new configuration.
 * @example
 * ```ts
 * import { receiverEstimationConfig } from "./werift.ts";
 * import assert from "node:assert/strict";
 * const config = receiverEstimationConfig({ iceServers: [] });
 * assert.deepEqual(config.codecs!.video!.map((c) => c.mimeType), ["video/VP8"]);
 * assert.ok(config.codecs!.video![0].rtcpFeedback.some((f) => f.type === "goog-remb"));
 * assert.ok(config.headerExtensions!.video!.some((e) => e.uri.endsWith("abs-send-time")));
 * assert.deepEqual(config.iceServers, []);
 * ```
 */
export function receiverEstimationConfig(
  config: WeriftPeerConnectionConfig = {},
): WeriftPeerConnectionConfig {
  if (typeof config !== "object" || config === null) {
    throw new TypeError("Cannot configure peer connection as 'config' must be an object");
  }
  const video = (config.codecs?.video ?? [useVP8()]).map((codec) => {
    const auxiliary = AUXILIARY_CODECS.includes(codec.mimeType.toLowerCase());
    const rtcpFeedback = codec.rtcpFeedback.filter((f) => f.type !== "transport-cc");
    if (!auxiliary && !rtcpFeedback.some((f) => f.type === "goog-remb")) {
      rtcpFeedback.push(useREMB());
    }
    return withFeedback(codec, rtcpFeedback);
  });
  const audio = config.codecs?.audio?.map((codec) =>
    withFeedback(codec, codec.rtcpFeedback.filter((f) => f.type !== "transport-cc"))
  );
  const videoExtensions = (config.headerExtensions?.video ?? [useSdesMid()])
    .filter((e) => e.uri !== TRANSPORT_WIDE_CC_URI);
  if (!videoExtensions.some((e) => e.uri === ABS_SEND_TIME_URI)) {
    videoExtensions.push(useAbsSendTime());
  }
  const audioExtensions = config.headerExtensions?.audio?.filter((e) =>
    e.uri !== TRANSPORT_WIDE_CC_URI
  );
  return {
    ...config,
    codecs: { ...config.codecs, video, ...(audio ? { audio } : {}) },
    headerExtensions: {
      ...config.headerExtensions,
      video: videoExtensions,
      ...(audioExtensions ? { audio: audioExtensions } : {}),
    },
  };
}

/**
 * Creates a werift peer connection set up for receiver-side estimation: the configuration of
 * {@linkcode receiverEstimationConfig}, then {@linkcode attachEstimator}.
 *
 * @param config The application's werift configuration (pass `iceServers: []` to stay offline).
 * @param options The estimator and an optional packet observer.
 * @returns The peer connection and its estimator.
 * @example
 * ```ts
 * import { createEstimatingPeerConnection } from "./werift.ts";
 * import assert from "node:assert/strict";
 * const { pc, estimator, close } = createEstimatingPeerConnection(
 *   { iceServers: [] },
 *   { estimator: { coordinator: { host: "inline" } } },
 * );
 * pc.addTransceiver("video", { direction: "recvonly" });
 * const offer = await pc.createOffer();
 * assert.match(offer.sdp, /a=rtcp-fb:\d+ goog-remb/);
 * assert.match(offer.sdp, /abs-send-time/);
 * assert.doesNotMatch(offer.sdp, /transport-cc/);
 * assert.equal(estimator.id, pc.id);
 * await close();
 * ```
 */
export function createEstimatingPeerConnection(
  config: WeriftPeerConnectionConfig = {},
  options: WeriftEstimationOptions = {},
): WeriftEstimation {
  const pc = new RTCPeerConnection(receiverEstimationConfig(config));
  return attachEstimator(pc, options);
}

/**
 * Attaches an estimator to a werift peer connection: strips transport-cc from every remote
 * description, feeds every received RTP packet to the estimator and sends its REMB. For REMB to
 * be negotiated, create the connection with {@linkcode receiverEstimationConfig}. The adapter
 * wraps the connection's `setRemoteDescription` and `setLocalDescription` methods (to strip and
 * to hook the transports), and detaches itself when the connection closes.
 *
 * @param pc The peer connection, before its first description is set.
 * @param options The estimator and an optional packet observer.
 * @returns The connection with its estimator.
 * @throws {TypeError} An option has the wrong type, or `pc` lacks a werift feature the adapter
 * needs (werift {@linkcode SUPPORTED_WERIFT_VERSIONS} has them all).
 * @example
 * ```ts
 * import { attachEstimator, receiverEstimationConfig } from "./werift.ts";
 * import { RTCPeerConnection } from "werift";
 * import assert from "node:assert/strict";
 * const pc = new RTCPeerConnection(receiverEstimationConfig({ iceServers: [] }));
 * const { estimator, stats } = attachEstimator(pc, { estimator: { coordinator: { host: "inline" } } });
 * assert.equal(stats().rtpPackets, 0);
 * await pc.close(); // Closing the connection closes its estimator.
 * assert.ok(estimator.closed);
 * ```
 */
export function attachEstimator(
  pc: WeriftPeerConnection,
  options: WeriftEstimationOptions = {},
): WeriftEstimation {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot attach estimator as 'options' must be an object");
  }
  checkPeerConnection(pc);
  const { onRtp, onRtcp, maxBoundSsrcs = DEFAULT_MAX_BOUND_SSRCS } = options;
  for (const [name, value] of [["onRtp", onRtp], ["onRtcp", onRtcp]] as const) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot attach estimator as '${name}' must be a function: current type is ${typeof value}`,
      );
    }
  }
  if (!Number.isInteger(maxBoundSsrcs) || maxBoundSsrcs < 1) {
    throw new RangeError(
      `Cannot attach estimator as 'maxBoundSsrcs' must be a positive integer: current value is ${maxBoundSsrcs}`,
    );
  }
  const estimator = options.estimator instanceof EstimatorInterceptor
    ? options.estimator
    : (options.estimator instanceof EstimatorInterceptorFactory
      ? options.estimator
      : new EstimatorInterceptorFactory(options.estimator)).newInterceptor(pc.id);
  return new WeriftAdapter(pc, estimator, { onRtp, onRtcp, maxBoundSsrcs });
}

/** What the adapter needs of a connection, and of each DTLS transport, by werift's names. */
const CONNECTION_FEATURES: [string, (pc: RTCPeerConnection) => boolean][] = [
  ["RTCPeerConnection.id", (pc) => typeof pc.id === "string"],
  ["RTCPeerConnection.dtlsTransports", (pc) => Array.isArray(pc.dtlsTransports)],
  ["RTCPeerConnection.getTransceivers()", (pc) => typeof pc.getTransceivers === "function"],
  ["RTCPeerConnection.connectionStateChange", (pc) => isEvent(pc.connectionStateChange)],
  [
    "RTCPeerConnection.setRemoteDescription()",
    (pc) => typeof pc.setRemoteDescription === "function",
  ],
  ["RTCPeerConnection.setLocalDescription()", (pc) => typeof pc.setLocalDescription === "function"],
];
const TRANSPORT_FEATURES: [string, (transport: RTCDtlsTransport) => boolean][] = [
  ["RTCDtlsTransport.onRtp", (transport) => isEvent(transport.onRtp)],
  ["RTCDtlsTransport.sendRtcp()", (transport) => typeof transport.sendRtcp === "function"],
  // Set once DTLS has its keys; the property exists from the start.
  ["RTCDtlsTransport.srtcp", (transport) => "srtcp" in transport],
  [
    "RTCDtlsTransport.iceTransport.connection.onData",
    (transport) => isEvent(transport.iceTransport?.connection?.onData),
  ],
];

function isEvent(value: unknown): boolean {
  return typeof (value as { subscribe?: unknown } | undefined)?.subscribe === "function";
}

function checkPeerConnection(pc: RTCPeerConnection): void {
  if (typeof pc !== "object" || pc === null) {
    throw new TypeError(
      `Cannot attach estimator as 'pc' must be a werift RTCPeerConnection: current value is ${pc}`,
    );
  }
  for (const [feature, present] of CONNECTION_FEATURES) {
    if (!present(pc)) throw missingFeature("attach estimator", feature);
  }
}

function checkTransport(transport: RTCDtlsTransport): void {
  for (const [feature, present] of TRANSPORT_FEATURES) {
    if (!present(transport)) throw missingFeature("hook DTLS transport", feature);
  }
}

function missingFeature(action: string, feature: string): TypeError {
  return new TypeError(
    `Cannot ${action} as werift's ${feature} is missing: werift ${SUPPORTED_WERIFT_VERSIONS} is supported`,
  );
}

function withFeedback(
  codec: RTCRtpCodecParameters,
  rtcpFeedback: RTCRtpCodecParameters["rtcpFeedback"],
): RTCRtpCodecParameters {
  // werift's own class, so that its getters (`name`, `contentType`) are there.
  return new RTCRtpCodecParameters({ ...codec, rtcpFeedback: rtcpFeedback.map((f) => ({ ...f })) });
}

const PASS: RTPReader = { read() {} };
const PASS_RTCP: RTCPReader = { read() {} };

/** A reader that hands each packet to an application's callback, which may throw. */
function observer(
  callback: ((packet: Uint8Array, arrivalTimeMs: number) => void) | undefined,
  name: string,
  estimator: EstimatorInterceptor,
): RTPReader | undefined {
  if (!callback) return undefined;
  return {
    read: (packet, attributes) => {
      try {
        callback(packet, attributes?.arrivalTimeMs ?? estimator.clock.nowMs());
      } catch (error) {
        console.error(`werift adapter: ${name} threw`, error);
      }
    },
  };
}

class WeriftAdapter implements WeriftEstimation {
  readonly pc: RTCPeerConnection;
  readonly estimator: EstimatorInterceptor;
  readonly #maxBoundSsrcs: number;
  readonly #hooked = new Map<RTCDtlsTransport, () => void>();
  readonly #active: RTCDtlsTransport[] = []; // transports that delivered RTP, where REMB goes
  readonly #unsubscribe: (() => void)[] = [];
  readonly #originalSetRemote: RTCPeerConnection["setRemoteDescription"];
  readonly #originalSetLocal: RTCPeerConnection["setLocalDescription"];
  readonly #observer: RTPReader;
  readonly #attributes: RTPAttributes = { arrivalTimeMs: 0.5 }; // A fraction: an unboxed double.
  readonly #rtcpAttributes: RTPAttributes = { arrivalTimeMs: 0.5 };
  readonly #rtcpReader: RTCPReader;
  #writerBound = false;
  #detached = false;
  #rtpPackets = 0;
  #unroutedPackets = 0;
  #reserializedPackets = 0;
  #rtcpSendErrors = 0;
  #rtcpPackets = 0;
  #rtcpDecryptErrors = 0;

  constructor(
    pc: RTCPeerConnection,
    estimator: EstimatorInterceptor,
    options: Pick<WeriftEstimationOptions, "onRtp" | "onRtcp"> & { maxBoundSsrcs: number },
  ) {
    this.pc = pc;
    this.estimator = estimator;
    this.#maxBoundSsrcs = options.maxBoundSsrcs;
    this.#observer = observer(options.onRtp, "onRtp", estimator) ?? PASS;
    this.#rtcpReader = estimator.bindRTCPReader(
      observer(options.onRtcp, "onRtcp", estimator) ?? PASS_RTCP,
    );

    // Strip transport-cc before werift reads a remote description; hook transports once they
    // exist. Both are instance properties, so the class's own methods are untouched.
    const setRemote = pc.setRemoteDescription;
    const setLocal = pc.setLocalDescription;
    this.#originalSetRemote = setRemote;
    this.#originalSetLocal = setLocal;
    // deno-lint-ignore no-explicit-any
    pc.setRemoteDescription = (async (description: any) => {
      const stripped = description && typeof description.sdp === "string"
        ? { type: description.type, sdp: stripTransportCc(description.sdp) }
        : description;
      const result = await setRemote.call(pc, stripped);
      this.#renegotiated();
      return result;
    }) as RTCPeerConnection["setRemoteDescription"];
    // deno-lint-ignore no-explicit-any
    pc.setLocalDescription = (async (description?: any) => {
      const result = await setLocal.call(pc, description);
      this.#renegotiated();
      return result;
    }) as RTCPeerConnection["setLocalDescription"];

    const state = pc.connectionStateChange.subscribe(
      (value) => {
        if (value === "closed") {
          void this.detach();
          return;
        }
        try {
          this.#hookTransports();
        } catch (error) {
          console.error("werift adapter: transport not hooked", error);
        }
      },
      () => void this.detach(),
    );
    this.#unsubscribe.push(() => state.unSubscribe());
    this.#hookTransports();
  }

  readonly stats = (): WeriftAdapterStats => {
    return {
      rtpPackets: this.#rtpPackets,
      unroutedPackets: this.#unroutedPackets,
      reserializedPackets: this.#reserializedPackets,
      transports: this.#hooked.size,
      boundSsrcs: this.estimator.stats().streams.map((stream) => stream.ssrc),
      rtcpSendErrors: this.#rtcpSendErrors,
      rtcpPackets: this.#rtcpPackets,
      rtcpDecryptErrors: this.#rtcpDecryptErrors,
      rttMs: this.estimator.closed ? undefined : this.estimator.stats().rttMs,
    };
  };

  readonly detach = (): Promise<void> => {
    if (this.#detached) return Promise.resolve();
    this.#detached = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const unsubscribe of this.#hooked.values()) unsubscribe();
    this.#hooked.clear();
    this.#active.length = 0;
    this.pc.setRemoteDescription = this.#originalSetRemote;
    this.pc.setLocalDescription = this.#originalSetLocal;
    return this.estimator.close();
  };

  readonly close = async (): Promise<void> => {
    await this.detach();
    await this.pc.close();
  };

  #renegotiated(): void {
    this.#hookTransports();
  }

  #hookTransports(): void {
    if (this.#detached) return;
    for (const transport of this.pc.dtlsTransports) {
      if (this.#hooked.has(transport)) continue;
      checkTransport(transport);
      const rtp = transport.onRtp.subscribe((packet) => this.#onPacket(transport, packet));
      const datagrams = transport.iceTransport.connection.onData.subscribe((data) =>
        this.#onDatagram(transport, data)
      );
      this.#hooked.set(transport, () => {
        rtp.unSubscribe();
        datagrams.unSubscribe();
      });
    }
  }

  #onPacket(transport: RTCDtlsTransport, rtp: RtpPacket): void {
    const attributes = this.#attributes;
    attributes.arrivalTimeMs = this.estimator.clock.nowMs(); // On receipt, before anything else.
    if (this.#detached) return;
    try {
      this.#rtpPackets++;
      if (!this.#active.includes(transport)) this.#activate(transport);
      const ssrc = rtp.header.ssrc;
      let reader = this.estimator.boundReader(ssrc);
      if (reader === undefined) reader = this.#bind(ssrc, rtp.header.payloadType);
      if (reader === PASS) {
        this.#unroutedPackets++;
        this.#observer.read(this.#rawBytes(rtp), attributes);
        return;
      }
      reader.read(this.#rawBytes(rtp), attributes);
    } catch (error) {
      console.error("werift adapter: packet not handled", error);
    }
  }

  /** A datagram on a hooked transport's ICE connection: SRTCP goes to the RTCP reader. */
  #onDatagram(transport: RTCDtlsTransport, data: Uint8Array): void {
    // RTP (and STUN, DTLS) are left to werift: only RTCP's packet types (RFC 5761 §4) go on.
    if (this.#detached || data.length < 8 || !isRtcp(data)) return;
    const attributes = this.#rtcpAttributes;
    attributes.arrivalTimeMs = this.estimator.clock.nowMs(); // On receipt, before decryption.
    const srtcp = transport.srtcp;
    if (srtcp === undefined || !transport.srtpStarted) return;
    let packet: Uint8Array;
    try {
      packet = srtcp.decrypt(data as Buffer);
    } catch {
      this.#rtcpDecryptErrors++;
      return;
    }
    this.#rtcpPackets++;
    try {
      this.#rtcpReader.read(packet, attributes);
    } catch (error) {
      console.error("werift adapter: RTCP packet not handled", error);
    }
  }

  /** The decrypted packet werift parsed: its payload is a view into it, right after the header. */
  #rawBytes(rtp: RtpPacket): Uint8Array {
    const { header, payload } = rtp;
    const start = payload.byteOffset - header.payloadOffset;
    const length = header.payloadOffset + payload.length + header.paddingSize;
    if (start >= 0 && start + length <= payload.buffer.byteLength) {
      const bytes = new Uint8Array(payload.buffer, start, length);
      const ssrc = ((bytes[8] << 24) | (bytes[9] << 16) | (bytes[10] << 8) | bytes[11]) >>> 0;
      const sequence = (bytes[2] << 8) | bytes[3];
      if (bytes[0] >>> 6 === 2 && ssrc === header.ssrc && sequence === header.sequenceNumber) {
        return bytes;
      }
    }
    this.#reserializedPackets++;
    return new Uint8Array(rtp.serialize());
  }

  #activate(transport: RTCDtlsTransport): void {
    this.#active.push(transport);
    if (this.#writerBound) return;
    this.#writerBound = true;
    const writer: RTCPWriter = {
      write: (packet) => {
        // werift concatenates what serialize() returns, then SRTCP-protects and sends it.
        const rtcp = [{ serialize: () => packet }] as unknown as RtcpPacket[];
        const sends = this.#active.map((t) =>
          t.sendRtcp(rtcp).catch((error: unknown) => {
            this.#rtcpSendErrors++;
            throw error;
          })
        );
        return sends.length === 1 ? sends[0] : Promise.all(sends);
      },
    };
    this.estimator.bindRTCPWriter(writer);
  }

  // SSRCs of an unknown payload type stay unbound, so a renegotiation can still route them.
  #bind(ssrc: number, payloadType: number): RTPReader {
    if (this.estimator.boundStreams >= this.#maxBoundSsrcs) return PASS; // Counted each time.
    const info = this.#streamInfo(ssrc, payloadType);
    if (!info) return PASS;
    return this.estimator.bindRemoteStream(info, this.#observer);
  }

  #streamInfo(ssrc: number, payloadType: number): StreamInfo | undefined {
    for (const transceiver of this.pc.getTransceivers()) {
      const codec = transceiver.codecs.find((c) => c.payloadType === payloadType);
      if (!codec) continue;
      return {
        ssrc,
        clockRate: codec.clockRate,
        mimeType: codec.mimeType,
        rtpHeaderExtensions: transceiver.headerExtensions.map((
          e: RTCRtpHeaderExtensionParameters,
        ) => ({
          uri: e.uri,
          id: e.id,
        })),
        rtcpFeedback: codec.rtcpFeedback.map((f) => ({ type: f.type, parameter: f.parameter })),
      };
    }
    return undefined;
  }
}
