/**
 * The receive-side estimator as a Pion-style interceptor: it binds a peer connection's remote
 * streams, parses the raw bytes of their RTP packets into a coordinator, and writes the REMB
 * packets the coordinator makes through the connection's bound RTCP writer. The estimator, the REMB
 * policy (the start-phase announcement included) and the timers all live in the coordinator.
 *
 * - **Send times.** Each stream is timed by the best header extension negotiated for it, by URI:
 *   abs-send-time, else abs-capture-time (mapped onto the abs-send-time scale), else none, and the
 *   estimator falls back to RTP timestamps as libwebrtc's does. One-byte and two-byte extension
 *   forms are read ({@linkcode RtpHeader}). A packet whose negotiated extension is missing or
 *   malformed is counted, and handed on without a send time.
 * - **Packet size** is payload plus padding, without the header (libwebrtc's).
 * - **REMB from the first packet on.** Chromium adopts a REMB received in its first ~2 s of media as
 *   its starting estimate and treats later ones only as a ceiling, so the coordinator announces
 *   `startRembBps` from the first packet until the first estimate (see
 *   {@linkcode EstimatorInterceptorOptions.coordinator}).
 * - **RTT from RTCP XR** (RFC 3611 §4.4, §4.5). A REMB goes out as a compound behind an XR packet
 *   holding a Receiver Reference Time block from the REMB's sender SSRC, whenever one is due
 *   (every 500 ms at most; REMBs go out at least once per `rembIntervalMs`). The REMB comes last
 *   because werift's parser reads a REMB's SSRC list to the end of the datagram. The sender's
 *   DLRR answers, read through {@linkcode EstimatorInterceptor.prototype.bindRTCPReader}, are
 *   matched to the RRTRs sent ({@linkcode ReceiverRtt}) and set the rate controller's RTT, which
 *   paces libwebrtc's AIMD (200 ms until one is known). Chrome answers every RRTR in its next
 *   RTCP report without any negotiation (libwebrtc's `RTCPReceiver` stores each RRTR and its
 *   `RTCPSender` adds a DLRR for it).
 * - **Never throws on the packet path.** Malformed packets and estimator errors are counted; a
 *   writer that throws or rejects is reported to the logger (each cause at most once a second) and
 *   the loop goes on. A REMB produced before a writer is bound is kept (the latest one) and written
 *   when the writer is bound.
 *
 * @module
 */

import { readAbsCaptureTime } from "../core/abs_capture_time.ts";
import type { RembPhase, RembSource } from "../core/receive_side_controller.ts";
import { REMB_DEFAULTS } from "../core/receive_side_options.ts";
import { ReceiverRtt, type ReceiverRttStats } from "../core/receiver_rtt.ts";
import {
  compactNtp,
  DlrrReader,
  NTP_UNIX_EPOCH_OFFSET_MS,
  ntpFromMs,
  type NtpTime,
  writeXrRrtr,
  XR_RRTR_BYTES,
} from "../core/rtcp_xr.ts";
import { RtpHeader } from "../core/rtp_header.ts";
import type { PacketInfo } from "../core/types.ts";
import { performanceClock } from "../workers/clock.ts";
import { ClosedError } from "../workers/closed_error.ts";
import {
  type Clock,
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorStats,
} from "../workers/coordinator.ts";
import { OffThreadCoordinator } from "../workers/off_thread.ts";
import type { ReceiveCoordinator } from "../workers/receive_coordinator.ts";
import type {
  Interceptor,
  InterceptorFactory,
  RTCPReader,
  RTCPWriter,
  RTPAttributes,
  RTPReader,
  StreamInfo,
} from "./interceptor.ts";
import {
  checkInterceptorOptions,
  coordinatorOptionsOf,
  defaultEstimateStream,
  type EstimatorInterceptorOptions,
} from "./interceptor_options.ts";
import {
  type Binding,
  checkStreamInfo,
  newBinding,
  type SendTimeSource,
} from "./stream_binding.ts";
import { LogLimiter } from "./_log_limiter.ts";

export type { RembPhase } from "../core/receive_side_controller.ts";
export type { ReceiverRttOptions, ReceiverRttStats, RttRejection } from "../core/receiver_rtt.ts";
export type { SendTimeSource } from "./stream_binding.ts";
export type {
  EstimatorInterceptorOptions,
  InterceptorCoordinatorOptions,
  Logger,
} from "./interceptor_options.ts";

const TWO_32 = 2 ** 32;
/** What a {@linkcode EstimatorInterceptor} tells its listeners, in order. */
export type EstimatorEvent =
  | {
    /**
     * The estimator produced an estimate (where libwebrtc's receiver would with transport
     * grouping; per-stream grouping fuses one pipeline per SSRC).
     */
    type: "estimate";
    /** Clock time, ms. */
    timeMs: number;
    /** The estimate, bps. */
    bitrateBps: number;
    /** The SSRCs it covers. */
    ssrcs: readonly number[];
  }
  | {
    /** A REMB packet was produced. */
    type: "remb";
    /** Clock time, ms. */
    timeMs: number;
    /** The announced bitrate, bps. */
    bitrateBps: number;
    /** The SSRCs it lists. */
    ssrcs: readonly number[];
    /** `"start"` for the start bitrate, `"estimator"` for the estimator's (or a cap). */
    source: RembSource;
    /** Whether it went to a writer; otherwise it is kept until one is bound. */
    written: boolean;
    /** The REMB packet's bytes (what is written is this, behind an XR RRTR packet when one is due). */
    packet: Uint8Array;
  }
  | {
    /** A DLRR answer to one of the RRTRs sent gave an RTT sample. */
    type: "rtt";
    /** Clock time of the RTCP packet's arrival, ms. */
    timeMs: number;
    /** The sample, ms. */
    sampleMs: number;
    /** The smoothed RTT, ms; the rate controller now uses it rounded to whole ms. */
    rttMs: number;
  }
  | CoordinatorEvent;

/**
 * Where the RTT the rate controller uses comes from: `"default"` (libwebrtc's 200 ms, none known
 * yet), `"measured"` (the last DLRR answer), `"application"` (the last
 * {@linkcode EstimatorInterceptor.prototype.setRtt} call). The later of the last two wins.
 */
export type RttSource = "default" | "measured" | "application";

/** Per-stream figures in {@linkcode EstimatorInterceptorStats}. */
export interface InterceptorStreamStats {
  /** The SSRC it was bound with. */
  ssrc: number;
  /** Its codec. */
  mimeType: string;
  /** Where its send times come from; `undefined` for a stream passed through unestimated. */
  source: SendTimeSource | undefined;
  /** Packets read through its reader and estimated. */
  packets: number;
}

/** A snapshot of an {@linkcode EstimatorInterceptor}. */
export interface EstimatorInterceptorStats {
  /** The connection's id. */
  id: string;
  /** Who decides the REMB. */
  phase: RembPhase;
  /** The estimator's latest estimate, bps; `undefined` without a valid one. */
  estimateBps: number | undefined;
  /** The bitrate of the last REMB produced, bps; `undefined` before the first. */
  lastRembBps: number | undefined;
  /** Payload + padding bytes received over the last second, as bps; `undefined` while unknown. */
  incomingRateBps: number | undefined;
  /** Packets estimated. */
  packets: number;
  /** Packets whose RTP header did not parse; not estimated. */
  malformedPackets: number;
  /** Packets of streams timed by an extension that lacked it (or had it malformed). */
  packetsWithoutSendTime: number;
  /** Packets the estimator rejected with an error (none expected). */
  packetErrors: number;
  /**
   * REMB packets produced. Each is written, failed, superseded before a writer was bound, or
   * waiting for one: `rembsProduced = rembsWritten + rembWriteErrors + rembsSuperseded +
   * rembsWaiting`.
   */
  rembsProduced: number;
  /** REMB packets the writer took (and did not reject). */
  rembsWritten: number;
  /** Writes that threw or rejected. */
  rembWriteErrors: number;
  /** REMB packets produced while no writer was bound and replaced by a newer one before one was. */
  rembsSuperseded: number;
  /** 1 while the latest REMB waits for a writer to be bound, else 0. */
  rembsWaiting: number;
  /** Where the rate controller's RTT (`estimator.rttMs`, in whole ms when measured) comes from. */
  rttSource: RttSource;
  /**
   * The RTT measured from DLRR answers (smoothed), ms; `undefined` until the sender answered an
   * RRTR, and with `receiverRtt: false`.
   */
  rttMs: number | undefined;
  /** RTCP packets read through the bound RTCP readers. */
  rtcpPackets: number;
  /** RTCP packets with malformed bytes (passed on all the same; their sound part is read). */
  malformedRtcpPackets: number;
  /** RTCP packets the interceptor failed to read with an error (none expected). */
  rtcpErrors: number;
  /** The RTT measurement's figures; `undefined` with `receiverRtt: false`. */
  receiverRtt: ReceiverRttStats | undefined;
  /** Bound streams. */
  streams: InterceptorStreamStats[];
  /** The coordinator's own figures. */
  estimator: CoordinatorStats;
}

/**
 * Thrown by calls that need an open interceptor after {@linkcode EstimatorInterceptor.close}: a
 * {@linkcode ClosedError}.
 *
 * @example
 * ```ts
 * import { EstimatorInterceptor, InterceptorClosedError } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
 * await interceptor.close();
 * assert.throws(() => interceptor.setMaxDesiredBitrate(1e6), InterceptorClosedError);
 * ```
 */
export class InterceptorClosedError extends ClosedError {
  /**
   * Creates the error.
   *
   * @param action What was attempted.
   * @param id The interceptor's id.
   */
  constructor(action: string, id: string) {
    super(action, `interceptor "${id}"`);
    this.name = "InterceptorClosedError";
  }
}

/**
 * Makes one {@linkcode EstimatorInterceptor} per peer connection, all with the same options.
 *
 * @example
 * ```ts
 * import { EstimatorInterceptorFactory } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const factory = new EstimatorInterceptorFactory({ coordinator: { host: "inline", senderSsrc: 7 } });
 * const interceptor = factory.newInterceptor("pc-1");
 * assert.equal(interceptor.id, "pc-1");
 * await interceptor.close();
 * ```
 */
export class EstimatorInterceptorFactory implements InterceptorFactory {
  readonly #options: EstimatorInterceptorOptions;

  /**
   * Checks the options once, for every interceptor to come.
   *
   * @param options The coordinator's options (nested), which streams to estimate, the logger.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range, or two contradict each other.
   */
  constructor(options: EstimatorInterceptorOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create interceptor factory as 'options' must be an object");
    }
    checkInterceptorOptions(options);
    this.#options = { ...options };
  }

  /**
   * Makes the interceptor of one connection, with its own coordinator.
   *
   * @param id Names the connection in stats, logs and errors.
   * @returns The interceptor.
   * @throws {TypeError} If `id` is not a string.
   * @example
   * ```ts
   * import { EstimatorInterceptorFactory } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const seen: string[] = [];
   * const factory = new EstimatorInterceptorFactory({
   *   coordinator: { host: "inline" },
   *   onNewInterceptor: (id) => seen.push(id),
   * });
   * const interceptor = factory.newInterceptor("pc-2");
   * assert.deepEqual(seen, ["pc-2"]);
   * await interceptor.close();
   * ```
   */
  newInterceptor(id: string): EstimatorInterceptor {
    const interceptor = new EstimatorInterceptor(id, this.#options);
    const onNew = this.#options.onNewInterceptor;
    if (onNew) {
      try {
        onNew(id, interceptor);
      } catch (error) {
        (this.#options.logger ?? console).error(
          `Interceptor "${id}": onNewInterceptor threw`,
          error,
        );
      }
    }
    return interceptor;
  }
}

/**
 * The receive-side bandwidth estimator of one peer connection, as an interceptor.
 *
 * @example
 * ```ts
 * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
 * import { decodeRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * let now = 1000;
 * const interceptor = new EstimatorInterceptor("pc-1", {
 *   coordinator: {
 *     host: "inline",
 *     clock: { nowMs: () => now },
 *     timers: { setInterval: () => 0, clearInterval() {} },
 *   },
 * });
 * const rembs: Uint8Array[] = [];
 * interceptor.bindRTCPWriter({ write: (packet) => void rembs.push(packet) });
 * const reader = interceptor.bindRemoteStream(
 *   { ssrc: 0x1234, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
 *   { read() {} },
 * );
 * const packet = new Uint8Array(1200);
 * packet.set([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
 * reader.read(packet);
 * // The first packet brings the start bitrate, listing the stream: an RTCP XR packet with a
 * // Receiver Reference Time block (20 bytes), then a REMB of 24 bytes.
 * assert.equal(rembs[0].length, 20 + 24);
 * assert.equal(rembs[0][1], 207); // XR
 * assert.deepEqual(decodeRemb(rembs[0].subarray(20)), { senderSsrc: 1, mediaSsrc: 0, bitrateBps: 1_000_000, ssrcs: [0x1234] });
 * await interceptor.close();
 * ```
 */
export class EstimatorInterceptor implements Interceptor {
  readonly #id: string;
  readonly #coordinator: ReceiveCoordinator;
  readonly #clock: Clock;
  readonly #log: LogLimiter;
  readonly #estimateStream: (info: StreamInfo) => boolean;
  readonly #header = new RtpHeader();
  readonly #packet: PacketInfo = {
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
    absSendTime: undefined,
  };
  readonly #bindings = new Map<number, Binding>();
  readonly #listeners: ((event: EstimatorEvent) => void)[] = [];
  readonly #dlrr = new DlrrReader();
  readonly #rtt: ReceiverRtt | undefined;
  readonly #senderSsrc: number;
  /** Clock ms to ms since the NTP epoch: the RRTRs carry wall-clock time as RFC 3611 asks. */
  readonly #ntpOffsetMs: number;
  /** The next RRTR's fields, rewritten for each. */
  readonly #rrtr: { senderSsrc: number; ntp: NtpTime };

  #writer: RTCPWriter | undefined;
  #pendingRemb: Uint8Array | undefined;
  #phase: RembPhase = "waiting";
  #lastRembBps: number | undefined;
  #closed = false;

  #packets = 0;
  #malformedPackets = 0;
  #packetsWithoutSendTime = 0;
  #packetErrors = 0;
  #rembsProduced = 0;
  #rembsWritten = 0;
  #rembsSuperseded = 0;
  #rembWriteErrors = 0;
  #rttSource: RttSource = "default";
  #rtcpPackets = 0;
  #malformedRtcpPackets = 0;
  #rtcpErrors = 0;

  readonly #onWriteRejected = (error: unknown): void => {
    this.#rembsWritten--;
    this.#writeFailed(error);
  };

  /**
   * Creates the interceptor and its coordinator (a worker host starts its spawner here). Prefer
   * {@linkcode EstimatorInterceptorFactory.prototype.newInterceptor}, which checks the options once.
   *
   * @param id Names the connection.
   * @param options As for the factory (`onNewInterceptor` is not used here).
   * @throws {TypeError} `id` is not a string, or an option has the wrong type.
   * @throws {RangeError} An option is out of range, or two contradict each other.
   */
  constructor(id: string, options: EstimatorInterceptorOptions = {}) {
    if (typeof id !== "string") {
      throw new TypeError(
        `Cannot create interceptor as 'id' must be a string: current type is ${typeof id}`,
      );
    }
    checkInterceptorOptions(options);
    this.#id = id;
    const coordinatorOptions = coordinatorOptionsOf(options);
    this.#clock = coordinatorOptions.clock ?? performanceClock;
    this.#log = new LogLimiter(options.logger ?? console);
    this.#estimateStream = options.estimateStream ?? defaultEstimateStream;
    this.#senderSsrc = coordinatorOptions.senderSsrc ?? REMB_DEFAULTS.senderSsrc;
    this.#rrtr = { senderSsrc: this.#senderSsrc, ntp: { seconds: 0, fraction: 0 } };
    this.#rtt = options.receiverRtt === false
      ? undefined
      : new ReceiverRtt(this.#senderSsrc, options.receiverRtt);
    this.#ntpOffsetMs = NTP_UNIX_EPOCH_OFFSET_MS + Date.now() - this.#clock.nowMs();
    this.#coordinator = new (options.offThread ? OffThreadCoordinator : Coordinator)({
      ...coordinatorOptions,
      clock: this.#clock,
      onEstimate: (bitrateBps, ssrcs) => this.#onEstimate(bitrateBps, ssrcs),
      onRemb: (packet, bitrateBps, ssrcs, source) =>
        this.#onRemb(packet, bitrateBps, ssrcs, source),
      onEvent: (event) => this.#emit(event),
      onError: (error) => this.#error("estimator", "estimator error", error),
    });
  }

  /** The connection's id. */
  get id(): string {
    return this.#id;
  }

  /** The clock that stamps arrivals (the injected one, or `performance.now()`). */
  get clock(): Clock {
    return this.#clock;
  }

  /** Whether {@linkcode EstimatorInterceptor.prototype.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Who decides the REMB now: `"waiting"` for the first packet, `"start"` (the start bitrate)
   * until the first estimate, then `"estimating"`.
   *
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } } });
   * const reader = interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   { read() {} },
   * );
   * assert.equal(interceptor.phase, "waiting");
   * reader.read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9));
   * assert.equal(interceptor.phase, "start");
   * assert.equal(interceptor.estimateBps, 0);
   * await interceptor.close();
   * ```
   */
  get phase(): RembPhase {
    return this.#phase;
  }

  /** The estimator's latest estimate in bps; 0 without a valid one. */
  get estimateBps(): number {
    return this.#coordinator.getEstimate();
  }

  /**
   * Binds a remote stream. Packets read through the returned reader are stamped with the clock
   * (unless their attributes carry an arrival time), estimated, then passed to `reader` with the
   * same attributes, even after close. Binding an SSRC again replaces the earlier binding, whose
   * reader then only passes packets on.
   *
   * @param info The stream as negotiated; its header extensions choose the send-time source.
   * @param reader Where packets go next.
   * @returns The reader the stack must call instead.
   * @throws {InterceptorClosedError} After close.
   * @throws {TypeError} `info` or `reader` has the wrong shape.
   * @throws {RangeError} A field of `info` is out of range.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import { ABS_SEND_TIME_URI } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * const reader = interceptor.bindRemoteStream({
   *   ssrc: 5, clockRate: 90_000, mimeType: "video/VP8",
   *   rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: 3 }], rtcpFeedback: [{ type: "goog-remb" }],
   * }, { read() {} });
   * assert.equal(typeof reader.read, "function");
   * assert.equal(interceptor.stats().streams[0].source, "abs-send-time");
   * await interceptor.close();
   * ```
   */
  bindRemoteStream(info: StreamInfo, reader: RTPReader): RTPReader {
    if (this.#closed) throw new InterceptorClosedError("bind remote stream", this.#id);
    checkStreamInfo(info);
    if (typeof reader !== "object" || reader === null || typeof reader.read !== "function") {
      throw new TypeError("Cannot bind remote stream as 'reader' must have a read() method");
    }
    const binding = newBinding(
      info,
      this.#estimateStream(info),
      (message) =>
        this.#log.warn(`unestimated ${info.ssrc}`, this.#clock.nowMs(), this.#line(message)),
    );
    const previous = this.#bindings.get(info.ssrc);
    if (previous) previous.bound = false;
    this.#bindings.set(info.ssrc, binding);
    if (binding.source === undefined) {
      binding.reader = reader;
      return reader;
    }
    // Initialised with a fraction, so that V8 keeps the field as an unboxed double from the start.
    const own: RTPAttributes = { arrivalTimeMs: 0.5 };
    binding.reader = {
      read: (packet, attributes = own) => {
        if (attributes === own || !Number.isFinite(attributes.arrivalTimeMs)) {
          attributes.arrivalTimeMs = this.#clock.nowMs();
        }
        if (binding.bound) this.#onRtp(binding, packet, attributes);
        reader.read(packet, attributes);
      },
    };
    return binding.reader;
  }

  /**
   * The reader {@linkcode EstimatorInterceptor.prototype.bindRemoteStream} returned for an SSRC
   * still bound, so that a stack which routes packets by SSRC needs no table of its own.
   *
   * @param ssrc The SSRC.
   * @returns The reader, or `undefined` when the SSRC is not bound (or after close).
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * const info = { ssrc: 5, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] };
   * const reader = interceptor.bindRemoteStream(info, { read() {} });
   * assert.equal(interceptor.boundReader(5), reader);
   * assert.equal(interceptor.boundReader(6), undefined);
   * await interceptor.close();
   * ```
   */
  boundReader(ssrc: number): RTPReader | undefined {
    return this.#bindings.get(ssrc)?.reader;
  }

  /** Streams bound now, estimated or passed through. */
  get boundStreams(): number {
    return this.#bindings.size;
  }

  /**
   * Stops estimating a stream: its SSRC leaves the REMB at once, and its reader only passes packets
   * on. Unknown SSRCs, and calls after close, are ignored, so teardown order does not matter.
   *
   * @param info The stream as bound (its SSRC identifies it).
   * @throws {TypeError} `info` is not an object.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * const info = { ssrc: 5, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] };
   * interceptor.bindRemoteStream(info, { read() {} });
   * interceptor.unbindRemoteStream(info);
   * assert.deepEqual(interceptor.stats().streams, []);
   * await interceptor.close();
   * ```
   */
  unbindRemoteStream(info: StreamInfo): void {
    if (typeof info !== "object" || info === null) {
      throw new TypeError("Cannot unbind remote stream as 'info' must be an object");
    }
    if (this.#closed) return;
    const binding = this.#bindings.get(info.ssrc);
    if (!binding) return;
    binding.bound = false;
    this.#bindings.delete(info.ssrc);
    try {
      this.#coordinator.removeStream(info.ssrc);
    } catch (error) {
      this.#error("remove", "could not remove stream", error);
    }
  }

  /**
   * Binds the connection's incoming RTCP. Packets read through the returned reader are stamped with
   * the clock (unless their attributes carry an arrival time), searched for DLRR answers to the
   * RRTRs sent, then passed to `reader` untouched, with the same attributes, even after close.
   * Malformed packets are counted and passed on; nothing is thrown back.
   *
   * @param reader Where RTCP goes next.
   * @returns The reader the stack must call instead.
   * @throws {InterceptorClosedError} After close.
   * @throws {TypeError} `reader` has no read() method.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import { encodeXrDlrr } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   *
   * let now = 1000;
   * const written: Uint8Array[] = [];
   * const interceptor = new EstimatorInterceptor("pc", {
   *   coordinator: { host: "inline", clock: { nowMs: () => now }, timers: { setInterval: () => 0, clearInterval() {} } },
   * });
   * interceptor.bindRTCPWriter({ write: (packet) => void written.push(packet) });
   * const rtcp = interceptor.bindRTCPReader({ read() {} });
   * interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   { read() {} },
   * ).read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9));
   * // The start REMB went out with an RRTR after it: echo its timestamp as the sender would,
   * // 30 ms later, after holding it for 10 ms.
   * const rrtr = written[0].subarray(0, 20);
   * const lastRr = ((rrtr[14] << 24) | (rrtr[15] << 16) | (rrtr[16] << 8) | rrtr[17]) >>> 0;
   * now += 30;
   * rtcp.read(encodeXrDlrr({ senderSsrc: 0xabc, subBlocks: [{ ssrc: 1, lastRr, delaySinceLastRr: 655 }] }));
   * const stats = interceptor.stats();
   * assert.ok(Math.abs(stats.rttMs! - 20) < 0.1);
   * assert.equal(stats.rttSource, "measured");
   * assert.equal(stats.estimator.rttMs, 20); // The rate controller uses it, in whole ms.
   * await interceptor.close();
   * ```
   */
  bindRTCPReader(reader: RTCPReader): RTCPReader {
    if (this.#closed) throw new InterceptorClosedError("bind RTCP reader", this.#id);
    if (typeof reader !== "object" || reader === null || typeof reader.read !== "function") {
      throw new TypeError("Cannot bind RTCP reader as 'reader' must have a read() method");
    }
    // Initialised with a fraction, so that V8 keeps the field as an unboxed double from the start.
    const own: RTPAttributes = { arrivalTimeMs: 0.5 };
    return {
      read: (packet, attributes = own) => {
        if (attributes === own || !Number.isFinite(attributes.arrivalTimeMs)) {
          attributes.arrivalTimeMs = this.#clock.nowMs();
        }
        if (!this.#closed) this.#onRtcp(packet, attributes);
        reader.read(packet, attributes);
      },
    };
  }

  /**
   * Takes the connection's RTCP writer; REMBs go out through it from now on, starting with the
   * latest one produced while none was bound. A later call replaces the writer.
   *
   * @param writer Where RTCP goes.
   * @returns `writer` itself: the interceptor does not alter other RTCP.
   * @throws {InterceptorClosedError} After close.
   * @throws {TypeError} `writer` has no write() method.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * const writer = { write() {} };
   * assert.equal(interceptor.bindRTCPWriter(writer), writer);
   * await interceptor.close();
   * ```
   */
  bindRTCPWriter(writer: RTCPWriter): RTCPWriter {
    if (this.#closed) throw new InterceptorClosedError("bind RTCP writer", this.#id);
    if (typeof writer !== "object" || writer === null || typeof writer.write !== "function") {
      throw new TypeError("Cannot bind RTCP writer as 'writer' must have a write() method");
    }
    this.#writer = writer;
    const pending = this.#pendingRemb;
    if (pending) {
      this.#pendingRemb = undefined;
      this.#write(pending);
    }
    return writer;
  }

  /**
   * Caps what REMB announces, and announces the cap at once, as libwebrtc's
   * `SetMaxDesiredReceiveBitrate` does (unless an estimate no higher than the cap went out in the
   * last 200 ms). `Infinity` lifts the cap (to `maxBitrateBps`): the estimate goes out again with
   * the next one the estimator makes, within a second.
   *
   * @param bitrateBps The cap, bps: a non-negative integer, or `Infinity`.
   * @throws {InterceptorClosedError} After close.
   * @throws {RangeError} Not a non-negative integer or `Infinity`.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import { decodeRemb } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const rembs: number[] = [];
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } } });
   * // Each write ends with a REMB (24 bytes with one SSRC), behind an RTCP XR RRTR at times.
   * interceptor.bindRTCPWriter({ write: (p) => void rembs.push(decodeRemb(p.subarray(-24)).bitrateBps) });
   * const reader = interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   { read() {} },
   * );
   * reader.read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9));
   * interceptor.setMaxDesiredBitrate(300_000);
   * assert.deepEqual(rembs, [1_000_000, 300_000]);
   * await interceptor.close();
   * ```
   */
  setMaxDesiredBitrate(bitrateBps: number): void {
    if (this.#closed) throw new InterceptorClosedError("set the maximum bitrate", this.#id);
    this.#coordinator.setMaxDesiredBitrate(bitrateBps);
  }

  /**
   * Sets the round-trip time the rate controller uses (libwebrtc assumes 200 ms without one). The
   * next DLRR answer replaces it, unless the interceptor was made with `receiverRtt: false`.
   *
   * @param rttMs Positive, ms.
   * @throws {InterceptorClosedError} After close.
   * @throws {RangeError} Not a positive finite number.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * interceptor.setRtt(40);
   * assert.throws(() => interceptor.setRtt(0), RangeError);
   * await interceptor.close();
   * ```
   */
  setRtt(rttMs: number): void {
    if (this.#closed) throw new InterceptorClosedError("set RTT", this.#id);
    this.#coordinator.setRtt(rttMs);
    this.#rttSource = "application";
  }

  /**
   * Listens to estimates, REMB packets and the coordinator's events, synchronously and in order. A
   * listener that throws is reported to the logger.
   *
   * @param listener Called with each event.
   * @returns A function that removes the listener.
   * @example
   * ```ts
   * import { type EstimatorEvent, EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } } });
   * const events: EstimatorEvent[] = [];
   * const stop = interceptor.subscribe((event) => events.push(event));
   * const reader = interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   { read() {} },
   * );
   * reader.read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9));
   * stop();
   * assert.equal(events[0].type, "remb");
   * await interceptor.close();
   * ```
   */
  subscribe(listener: (event: EstimatorEvent) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError("Cannot subscribe as 'listener' must be a function");
    }
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }

  /**
   * Runs the coordinator's periodic step now and waits until every packet so far is estimated.
   *
   * @returns A promise that resolves then.
   * @throws {InterceptorClosedError} After close (as a rejection).
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * await interceptor.flush();
   * assert.equal(interceptor.stats().estimator.pendingRecords, 0);
   * await interceptor.close();
   * ```
   */
  flush(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new InterceptorClosedError("flush", this.#id));
    }
    return this.#coordinator.flush();
  }

  /**
   * A snapshot of the interceptor and its estimator.
   *
   * @returns Typed figures.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } } });
   * const reader = interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   { read() {} },
   * );
   * reader.read(Uint8Array.of(0x80, 96, 0, 1)); // Too short for an RTP header.
   * const stats = interceptor.stats();
   * assert.equal(stats.malformedPackets, 1);
   * assert.equal(stats.packets, 0);
   * await interceptor.close();
   * ```
   */
  stats(): EstimatorInterceptorStats {
    const estimator = this.#coordinator.stats();
    const streams: InterceptorStreamStats[] = [];
    for (const binding of this.#bindings.values()) {
      streams.push({
        ssrc: binding.info.ssrc,
        mimeType: binding.info.mimeType,
        source: binding.source,
        packets: binding.packets,
      });
    }
    return {
      id: this.#id,
      phase: this.#phase,
      estimateBps: this.#coordinator.getEstimate() || undefined,
      lastRembBps: this.#lastRembBps,
      incomingRateBps: estimator.incomingRateBps,
      packets: this.#packets,
      malformedPackets: this.#malformedPackets,
      packetsWithoutSendTime: this.#packetsWithoutSendTime,
      packetErrors: this.#packetErrors,
      rembsProduced: this.#rembsProduced,
      rembsWritten: this.#rembsWritten,
      rembWriteErrors: this.#rembWriteErrors,
      rembsSuperseded: this.#rembsSuperseded,
      rembsWaiting: this.#pendingRemb === undefined ? 0 : 1,
      rttSource: this.#rttSource,
      rttMs: this.#rtt?.stats().rttMs,
      rtcpPackets: this.#rtcpPackets,
      malformedRtcpPackets: this.#malformedRtcpPackets,
      rtcpErrors: this.#rtcpErrors,
      receiverRtt: this.#rtt?.stats(),
      streams,
      estimator,
    };
  }

  /**
   * Stops REMB, closes the coordinator (ending its workers) and unbinds everything; readers keep
   * passing packets on. Idempotent.
   *
   * @returns A promise that resolves once the coordinator is closed.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "@rbe/receiver-gcc";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { coordinator: { host: "inline" } });
   * const inner = { packets: 0, read() { this.packets++; } };
   * const reader = interceptor.bindRemoteStream(
   *   { ssrc: 9, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] },
   *   inner,
   * );
   * await interceptor.close();
   * await interceptor.close(); // Idempotent.
   * reader.read(Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9));
   * assert.equal(inner.packets, 1); // Still passed on.
   * assert.ok(interceptor.closed);
   * ```
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const binding of this.#bindings.values()) binding.bound = false;
    this.#bindings.clear();
    this.#writer = undefined;
    return this.#coordinator.close();
  }

  // --- packet path: nothing allocated, nothing thrown --------------------------------------------

  #onRtp(binding: Binding, bytes: Uint8Array, attributes: RTPAttributes): void {
    try {
      const header = this.#header;
      if (!header.parse(bytes)) {
        this.#malformedPackets++;
        return;
      }
      const packet = this.#packet;
      packet.ssrc = header.ssrc;
      packet.arrivalTimeMs = attributes.arrivalTimeMs;
      packet.payloadSize = header.payloadSize;
      packet.rtpTimestamp = header.timestamp;
      let sendTime = -1;
      if (binding.source === "abs-send-time") {
        sendTime = header.readAbsSendTime(binding.extensionId);
      } else if (binding.source === "abs-capture-time") {
        sendTime = readAbsCaptureTime(header, binding.extensionId);
      }
      if (sendTime >= 0) {
        packet.absSendTime = sendTime;
      } else {
        packet.absSendTime = undefined;
        if (binding.source !== "rtp-timestamp") this.#packetsWithoutSendTime++;
      }
      this.#packets++;
      binding.packets++;
      this.#coordinator.onPacket(packet);
    } catch (error) {
      this.#packetErrors++;
      this.#error("packet", "packet not estimated", error);
    }
  }

  // The attributes, not their number: a double passed to a call that is not inlined is boxed.
  #onRtcp(bytes: Uint8Array, attributes: RTPAttributes): void {
    try {
      this.#rtcpPackets++;
      if (!(bytes instanceof Uint8Array)) {
        this.#malformedRtcpPackets++;
        return;
      }
      const reader = this.#dlrr;
      const rtt = this.#rtt;
      reader.reset(bytes);
      let rttMs = 0; // Whole ms: as libwebrtc's RTT reaches its rate controller, and never boxed.
      if (rtt === undefined) {
        while (reader.next()); // Walked only to count malformed packets.
      } else {
        // compactNtpFromMs() written out: the fresh double ntpMs would be boxed (16 B per packet)
        // whenever V8 does not inline that call. As an int32 the result passes unboxed.
        const ntpMs = attributes.arrivalTimeMs + this.#ntpOffsetMs;
        let now = 0;
        if (ntpMs >= 0 && ntpMs < Infinity) {
          const seconds = Math.floor(ntpMs / 1000);
          const fraction = Math.min(
            TWO_32 - 1,
            Math.floor(((ntpMs - seconds * 1000) / 1000) * TWO_32),
          );
          now = ((seconds % 65_536) << 16) | (fraction >>> 16);
        }
        while (reader.next()) {
          const taken = rtt.onDlrr(reader, now);
          if (taken > 0) rttMs = taken;
        }
      }
      if (reader.error !== undefined) this.#malformedRtcpPackets++;
      if (rttMs > 0) {
        this.#coordinator.setRtt(rttMs);
        this.#rttSource = "measured";
        if (this.#listeners.length > 0) {
          this.#emit({
            type: "rtt",
            timeMs: attributes.arrivalTimeMs,
            sampleMs: rtt!.lastSampleMs,
            rttMs: rtt!.rttMs,
          });
        }
      }
    } catch (error) {
      this.#rtcpErrors++;
      this.#error("rtcp", "RTCP packet not read", error);
    }
  }

  // --- what the coordinator reports ---------------------------------------------------------------

  #onEstimate(bitrateBps: number, ssrcs: readonly number[]): void {
    this.#phase = "estimating";
    // No event object without a listener: estimates come every few dozen packets.
    if (this.#listeners.length === 0) return;
    this.#emit({ type: "estimate", timeMs: this.#clock.nowMs(), bitrateBps, ssrcs });
  }

  #onRemb(
    packet: Uint8Array,
    bitrateBps: number,
    ssrcs: readonly number[],
    source: RembSource,
  ): void {
    if (this.#closed) return;
    if (source === "start" && this.#phase === "waiting") this.#phase = "start";
    this.#lastRembBps = bitrateBps;
    this.#rembsProduced++;
    const written = this.#writer !== undefined;
    if (written) {
      this.#write(packet);
    } else {
      if (this.#pendingRemb !== undefined) this.#rembsSuperseded++;
      this.#pendingRemb = packet;
    }
    if (this.#listeners.length === 0) return;
    this.#emit({
      type: "remb",
      timeMs: this.#clock.nowMs(),
      bitrateBps,
      ssrcs,
      source,
      written,
      packet,
    });
  }

  #write(remb: Uint8Array): void {
    try {
      const result = this.#writer!.write(this.#withRrtr(remb));
      this.#rembsWritten++;
      if (result && typeof result.then === "function") {
        result.then(undefined, this.#onWriteRejected);
      }
    } catch (error) {
      this.#writeFailed(error);
    }
  }

  /**
   * The REMB behind an XR packet with an RRTR stamped now when one is due (recorded as sent), in
   * one new buffer.
   */
  #withRrtr(remb: Uint8Array): Uint8Array {
    const rtt = this.#rtt;
    const nowMs = this.#clock.nowMs();
    const ntpMs = nowMs + this.#ntpOffsetMs;
    if (rtt === undefined || !rtt.rrtrDue(nowMs) || !(ntpMs >= 0 && ntpMs < Infinity)) return remb;
    const rrtr = this.#rrtr;
    ntpFromMs(ntpMs, rrtr.ntp);
    const packet = new Uint8Array(XR_RRTR_BYTES + remb.length);
    writeXrRrtr(packet, 0, rrtr);
    packet.set(remb, XR_RRTR_BYTES);
    rtt.onRrtrSent(compactNtp(rrtr.ntp), nowMs);
    return packet;
  }

  #writeFailed(error: unknown): void {
    this.#rembWriteErrors++;
    this.#log.warn(
      "write",
      this.#clock.nowMs(),
      this.#line(`REMB write failed (${this.#rembWriteErrors} so far)`),
      error,
    );
  }

  #emit(event: EstimatorEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#error("listener", "listener threw", error);
      }
    }
  }

  #error(cause: string, message: string, error: unknown): void {
    this.#log.error(cause, this.#clock.nowMs(), this.#line(message), error);
  }

  #line(message: string): string {
    return `Interceptor "${this.#id}": ${message}`;
  }
}
