/**
 * The receive-side estimator as a Pion-style interceptor: one {@linkcode Coordinator} per peer
 * connection, fed from the raw bytes of every bound stream's RTP packets, its REMB packets written
 * through the connection's bound RTCP writer.
 *
 * - **Send times.** Each stream is timed by the best header extension negotiated for it, by URI:
 *   abs-send-time, else abs-capture-time (mapped onto the abs-send-time scale), else none, and the
 *   estimator falls back to RTP timestamps as libwebrtc's does. One-byte and two-byte extension
 *   forms are read ({@linkcode RtpHeader}). A packet whose negotiated extension is missing or
 *   malformed is counted, and handed on without a send time.
 * - **Packet size** is payload plus padding, without the header (libwebrtc's).
 * - **REMB from the first packet on.** Chromium adopts a REMB received in its first ~2 s of media as
 *   its starting estimate and treats later ones only as a ceiling (shared/reference/
 *   chromium-interop.md). So from the first packet until the estimator's first valid estimate the
 *   interceptor announces `startBitrateBps` itself, every `min(rembIntervalMs, 250)` ms; from then
 *   on the coordinator's REMB throttler decides (at once on a drop of more than 3 %, at most every
 *   200 ms otherwise, and at least every `rembIntervalMs`).
 * - **Never throws on the packet path.** Malformed packets and estimator errors are counted; a
 *   writer that throws or rejects is reported to the logger and the loop goes on. A REMB produced
 *   before a writer is bound is kept (the latest one) and written when the writer is bound.
 *
 * @module
 */

import type { Grouping } from "../core/abs_send_time_estimator.ts";
import type { DelayFilter } from "../core/delay_pipeline.ts";
import { encodeRemb, MAX_REMB_SSRCS } from "../core/remb.ts";
import { RtpHeader } from "../core/rtp_header.ts";
import type { PacketInfo } from "../core/types.ts";
import {
  checkCoordinatorOptions,
  type Clock,
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorStats,
  type Timers,
  unrefTimers,
} from "../workers/coordinator.ts";
import type { HostKind, Transport, WorkerSources } from "../workers/lane_host.ts";
import { OffThreadCoordinator } from "../workers/off_thread.ts";
import { ClosedError } from "../workers/closed_error.ts";
import { readAbsCaptureTime } from "./abs_capture_time.ts";
import {
  ABS_CAPTURE_TIME_URI,
  ABS_SEND_TIME_URI,
  type Interceptor,
  type InterceptorFactory,
  type RTCPWriter,
  type RTPAttributes,
  type RTPReader,
  type StreamInfo,
} from "./interceptor.ts";

/** Where a stream's send times come from. */
export type SendTimeSource = "abs-send-time" | "abs-capture-time" | "rtp-timestamp";

/**
 * Who decides the REMB: nobody before the first packet (`"waiting"`), the interceptor's start
 * bitrate until the estimator's first valid estimate (`"start"`), then the estimator.
 */
export type RembPhase = "waiting" | "start" | "estimating";

/** Where the interceptor reports what went wrong; `console` is one. */
export interface Logger {
  /** Something failed outside the interceptor (a writer) and the interceptor carried on. */
  warn(message: string, ...data: unknown[]): void;
  /** Something failed inside (a listener, the estimator) and the interceptor carried on. */
  error(message: string, ...data: unknown[]): void;
}

/** What a {@linkcode EstimatorInterceptor} tells its listeners, in order. */
export type EstimatorEvent =
  | {
    /** The estimator produced an estimate, exactly where libwebrtc's receiver would. */
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
    source: "start" | "estimator";
    /** Whether it went to a writer; otherwise it is kept until one is bound. */
    written: boolean;
    /** The RTCP bytes. */
    packet: Uint8Array;
  }
  | CoordinatorEvent;

/** Options of {@linkcode EstimatorInterceptorFactory}; every interceptor it makes gets them. */
export interface EstimatorInterceptorOptions {
  /**
   * What REMB announces from the first packet until the estimator's first valid estimate, bps.
   * Chromium adopts it as its starting estimate (its own default is 300 kbit/s); 1 Mbit/s lets
   * video start at a usable quality, and the estimator corrects it within about a second when the
   * path carries less.
   *
   * @default {1000000}
   */
  startBitrateBps?: number;
  /**
   * Floor of the estimate, bps.
   *
   * @default {5000}
   */
  minBitrateBps?: number;
  /**
   * Ceiling of the estimate, and what lifting a cap announces, bps.
   *
   * @default {30000000}
   */
  maxBitrateBps?: number;
  /**
   * Longest time between two REMB packets, ms; the start bitrate is repeated every
   * `min(rembIntervalMs, 250)` ms.
   *
   * @default {1000}
   */
  rembIntervalMs?: number;
  /**
   * SSRC the REMB packets are sent from (1 is the receiver-report SSRC of a receive-only
   * libwebrtc endpoint).
   *
   * @default {1}
   */
  senderSsrc?: number;
  /**
   * Delay pipeline per SSRC, or one for the transport.
   *
   * @default {"per-stream"}
   */
  grouping?: Grouping;
  /**
   * The delay filter.
   *
   * @default {"kalman"}
   */
  filter?: DelayFilter;
  /**
   * Where the delay pipelines run (the Coordinator's hosts).
   *
   * @default {"worker-per-stream"}
   */
  host?: HostKind;
  /**
   * Workers of the `pool` host.
   *
   * @default {1}
   */
  poolSize?: number;
  /**
   * How worker hosts move batches (the Coordinator's option).
   *
   * @default {"shared-memory"}
   */
  transport?: Transport;
  /**
   * Runs the coordinator in a worker of its own ({@linkcode OffThreadCoordinator}): the receiving
   * thread then only checks each packet and writes it into shared memory, and estimates arrive as
   * messages, up to one flush interval later.
   *
   * @default {false}
   */
  offThread?: boolean;
  /**
   * Streams tracked at once per connection; further SSRCs are refused and counted.
   *
   * @default {64}
   */
  maxStreams?: number;
  /**
   * Silence after which an SSRC stops counting, ms.
   *
   * @default {2000}
   */
  streamTimeoutMs?: number;
  /**
   * Which bound streams are estimated; the others are passed through untouched. A stream without
   * abs-send-time or abs-capture-time is estimated from RTP timestamps, which assumes a 90 kHz
   * clock as libwebrtc does, so such a stream with another clock rate is always passed through.
   *
   * @default {video streams: a `mimeType` starting with "video/"}
   */
  estimateStream?: (info: StreamInfo) => boolean;
  /**
   * Receives writer failures (`warn`, at most once a second; all are counted) and errors inside
   * (`error`).
   *
   * @default {console}
   */
  logger?: Logger;
  /** Called with each interceptor the factory makes, before it sees any packet. */
  onNewInterceptor?: (id: string, interceptor: EstimatorInterceptor) => void;
  /** The clock that stamps arrivals and drives REMB timing; injected in tests. */
  clock?: Clock;
  /** The timers; injected in tests. */
  timers?: Timers;
  /**
   * Where worker code comes from (the Coordinator's option).
   *
   * @default {"bundle"}
   */
  workerSources?: "bundle" | "module" | WorkerSources;
}

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
  /** The estimator's latest estimate, bps (0 without one). */
  estimateBps: number;
  /** The bitrate of the last REMB produced, bps. */
  lastRembBps: number | undefined;
  /** Payload + padding bytes received over the last second, as bps. */
  incomingRateBps: number;
  /** Packets estimated. */
  packets: number;
  /** Packets whose RTP header did not parse; not estimated. */
  malformedPackets: number;
  /** Packets of streams timed by an extension that lacked it (or had it malformed). */
  packetsWithoutSendTime: number;
  /** Packets the estimator rejected with an error (none expected). */
  packetErrors: number;
  /** REMB packets handed to the writer. */
  rembsWritten: number;
  /** REMB packets produced while no writer was bound. */
  rembsWithoutWriter: number;
  /** Writes that threw or rejected. */
  rembWriteErrors: number;
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
 * import { EstimatorInterceptor, InterceptorClosedError } from "./estimator_interceptor.ts";
 * import assert from "node:assert/strict";
 * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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

const START_REMB_INTERVAL_MS = 250;
const WRITER_WARNING_INTERVAL_MS = 1000;
const DEFAULT_START_BITRATE_BPS = 1_000_000;
const DEFAULT_MAX_BITRATE_BPS = 30_000_000;
const ascending = (a: number, b: number): number => a - b;
const defaultEstimateStream = (info: StreamInfo): boolean =>
  info.mimeType.toLowerCase().startsWith("video/");

/** A bound stream, for its whole life. */
interface Binding {
  readonly info: StreamInfo;
  readonly source: SendTimeSource | undefined; // undefined: passed through
  readonly extensionId: number; // 0 for RTP timestamps
  bound: boolean;
  packets: number;
}

/**
 * Makes one {@linkcode EstimatorInterceptor} per peer connection, all with the same options.
 *
 * @example
 * ```ts
 * import { EstimatorInterceptorFactory } from "./estimator_interceptor.ts";
 * import assert from "node:assert/strict";
 * const factory = new EstimatorInterceptorFactory({ host: "inline", senderSsrc: 7 });
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
   * @param options Estimator, REMB and host settings, the logger and the injected clock.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: EstimatorInterceptorOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create interceptor factory as 'options' must be an object");
    }
    checkOptions(options);
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
   * import { EstimatorInterceptorFactory } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const seen: string[] = [];
   * const factory = new EstimatorInterceptorFactory({
   *   host: "inline",
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
 * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
 * import { decodeRemb } from "../core/remb.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 1000;
 * const interceptor = new EstimatorInterceptor("pc-1", {
 *   host: "inline",
 *   clock: { nowMs: () => now },
 *   timers: { setInterval: () => 0, clearInterval() {} },
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
 * // The first packet brings the start bitrate, listing the stream.
 * assert.deepEqual(decodeRemb(rembs[0]), { senderSsrc: 1, mediaSsrc: 0, bitrateBps: 1_000_000, ssrcs: [0x1234] });
 * await interceptor.close();
 * ```
 */
export class EstimatorInterceptor implements Interceptor {
  readonly #id: string;
  readonly #coordinator: Coordinator | OffThreadCoordinator;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #startBitrateBps: number;
  readonly #maxBitrateBps: number;
  readonly #senderSsrc: number;
  readonly #startRembIntervalMs: number;
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
  // SSRCs seen since the start, for the start-phase REMB.
  readonly #seen = new Set<number>();
  #seenList: readonly number[] = [];

  #writer: RTCPWriter | undefined;
  #pendingRemb: Uint8Array | undefined;
  #phase: RembPhase = "waiting";
  #startTimer: unknown = undefined;
  #capBps = Infinity;
  #lastRembBps: number | undefined;
  #lastWriterWarningMs = -Infinity;
  #closed = false;

  #packets = 0;
  #malformedPackets = 0;
  #packetsWithoutSendTime = 0;
  #packetErrors = 0;
  #rembsWritten = 0;
  #rembsWithoutWriter = 0;
  #rembWriteErrors = 0;

  readonly #onWriteRejected = (error: unknown): void => this.#writeFailed(error);

  /**
   * Creates the interceptor and its coordinator (a worker host starts its spawner here). Prefer
   * {@linkcode EstimatorInterceptorFactory.prototype.newInterceptor}, which checks the options once.
   *
   * @param id Names the connection.
   * @param options As for the factory (`onNewInterceptor` is not used here).
   * @throws {TypeError} `id` is not a string, or an option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(id: string, options: EstimatorInterceptorOptions = {}) {
    if (typeof id !== "string") {
      throw new TypeError(
        `Cannot create interceptor as 'id' must be a string: current type is ${typeof id}`,
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create interceptor as 'options' must be an object");
    }
    checkOptions(options);
    this.#id = id;
    this.#clock = options.clock ?? { nowMs: () => performance.now() };
    this.#timers = options.timers ?? unrefTimers;
    this.#logger = options.logger ?? console;
    this.#startBitrateBps = options.startBitrateBps ?? DEFAULT_START_BITRATE_BPS;
    this.#maxBitrateBps = options.maxBitrateBps ?? DEFAULT_MAX_BITRATE_BPS;
    this.#senderSsrc = options.senderSsrc ?? 1;
    this.#startRembIntervalMs = Math.min(options.rembIntervalMs ?? 1000, START_REMB_INTERVAL_MS);
    this.#estimateStream = options.estimateStream ?? defaultEstimateStream;
    this.#coordinator = new (options.offThread ? OffThreadCoordinator : Coordinator)({
      ...coordinatorOptions(options),
      clock: this.#clock,
      timers: this.#timers,
      onEstimate: (bitrateBps, ssrcs) => this.#onEstimate(bitrateBps, ssrcs),
      onRemb: (packet, bitrateBps, ssrcs) => this.#onCoordinatorRemb(packet, bitrateBps, ssrcs),
      onEvent: (event) => this.#emit(event),
      onError: (error) => this.#logger.error(`Interceptor "${this.#id}": estimator error`, error),
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } });
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import { ABS_SEND_TIME_URI } from "./interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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
    const copy: StreamInfo = {
      ssrc: info.ssrc,
      clockRate: info.clockRate,
      mimeType: info.mimeType,
      rtpHeaderExtensions: info.rtpHeaderExtensions.map(({ uri, id }) => ({ uri, id })),
      rtcpFeedback: info.rtcpFeedback.map((f) => ({ ...f })),
    };
    const binding = this.#newBinding(copy);
    const previous = this.#bindings.get(copy.ssrc);
    if (previous) previous.bound = false;
    this.#bindings.set(copy.ssrc, binding);
    if (binding.source === undefined) return reader;
    // Initialised with a fraction, so that V8 keeps the field as an unboxed double from the start.
    const own: RTPAttributes = { arrivalTimeMs: 0.5 };
    return {
      read: (packet, attributes = own) => {
        if (attributes === own || !Number.isFinite(attributes.arrivalTimeMs)) {
          attributes.arrivalTimeMs = this.#clock.nowMs();
        }
        if (binding.bound) this.#onRtp(binding, packet, attributes);
        reader.read(packet, attributes);
      },
    };
  }

  /**
   * Stops estimating a stream: its SSRC leaves the REMB at once, and its reader only passes packets
   * on. Unknown SSRCs, and calls after close, are ignored, so teardown order does not matter.
   *
   * @param info The stream as bound (its SSRC identifies it).
   * @throws {TypeError} `info` is not an object.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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
    if (this.#seen.delete(info.ssrc)) this.#seenList = [...this.#seen].sort(ascending);
    try {
      this.#coordinator.removeStream(info.ssrc);
    } catch (error) {
      this.#logger.error(`Interceptor "${this.#id}": could not remove stream`, error);
    }
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import { decodeRemb } from "../core/remb.ts";
   * import assert from "node:assert/strict";
   * const rembs: number[] = [];
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } });
   * interceptor.bindRTCPWriter({ write: (p) => void rembs.push(decodeRemb(p).bitrateBps) });
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
    if (
      typeof bitrateBps !== "number" ||
      !(bitrateBps === Infinity || (Number.isSafeInteger(bitrateBps) && bitrateBps >= 0))
    ) {
      throw new RangeError(
        `Cannot set the maximum bitrate as 'bitrateBps' must be a non-negative integer or Infinity: current value is ${bitrateBps}`,
      );
    }
    this.#capBps = bitrateBps;
    this.#coordinator.setMaxDesiredBitrate(
      bitrateBps === Infinity ? this.#maxBitrateBps : bitrateBps,
    );
    if (this.#phase === "start") this.#sendStartRemb();
  }

  /**
   * Sets the round-trip time the rate controller uses (libwebrtc assumes 200 ms without one).
   *
   * @param rttMs Positive, ms.
   * @throws {InterceptorClosedError} After close.
   * @throws {RangeError} Not a positive finite number.
   * @example
   * ```ts
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
   * interceptor.setRtt(40);
   * assert.throws(() => interceptor.setRtt(0), RangeError);
   * await interceptor.close();
   * ```
   */
  setRtt(rttMs: number): void {
    if (this.#closed) throw new InterceptorClosedError("set RTT", this.#id);
    this.#coordinator.setRtt(rttMs);
  }

  /**
   * Listens to estimates, REMB packets and the coordinator's events, synchronously and in order. A
   * listener that throws is reported to the logger.
   *
   * @param listener Called with each event.
   * @returns A function that removes the listener.
   * @example
   * ```ts
   * import { EstimatorInterceptor, type EstimatorEvent } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } });
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline", timers: { setInterval: () => 0, clearInterval() {} } });
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
      estimateBps: this.#coordinator.getEstimate(),
      lastRembBps: this.#lastRembBps,
      incomingRateBps: estimator.incomingRateBps,
      packets: this.#packets,
      malformedPackets: this.#malformedPackets,
      packetsWithoutSendTime: this.#packetsWithoutSendTime,
      packetErrors: this.#packetErrors,
      rembsWritten: this.#rembsWritten,
      rembsWithoutWriter: this.#rembsWithoutWriter,
      rembWriteErrors: this.#rembWriteErrors,
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
   * import { EstimatorInterceptor } from "./estimator_interceptor.ts";
   * import assert from "node:assert/strict";
   * const interceptor = new EstimatorInterceptor("pc", { host: "inline" });
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
    this.#stopStartTimer();
    for (const binding of this.#bindings.values()) binding.bound = false;
    this.#bindings.clear();
    this.#writer = undefined;
    this.#pendingRemb = undefined;
    return this.#coordinator.close();
  }

  // --- packet path: nothing allocated, nothing thrown --------------------------------------------

  #onRtp(binding: Binding, bytes: Uint8Array, attributes: RTPAttributes): void {
    try {
      const nowMs = attributes.arrivalTimeMs;
      const header = this.#header;
      if (!header.parse(bytes)) {
        this.#malformedPackets++;
        return;
      }
      const packet = this.#packet;
      const ssrc = header.ssrc;
      packet.ssrc = ssrc;
      packet.arrivalTimeMs = nowMs;
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
      // Once per binding, not a set lookup per packet.
      if (binding.packets === 1 && !this.#seen.has(ssrc) && this.#seen.size < MAX_REMB_SSRCS) {
        this.#seen.add(ssrc);
        this.#seenList = [...this.#seen].sort(ascending);
      }
      if (this.#phase === "waiting") this.#beginStartPhase();
      this.#coordinator.onPacket(packet);
    } catch (error) {
      this.#packetErrors++;
      this.#logger.error(`Interceptor "${this.#id}": packet not estimated`, error);
    }
  }

  // --- REMB -----------------------------------------------------------------------------------------

  #beginStartPhase(): void {
    this.#phase = "start";
    this.#sendStartRemb();
    this.#startTimer = this.#timers.setInterval(
      () => this.#sendStartRemb(),
      this.#startRembIntervalMs,
    );
  }

  #stopStartTimer(): void {
    if (this.#startTimer === undefined) return;
    this.#timers.clearInterval(this.#startTimer);
    this.#startTimer = undefined;
  }

  #sendStartRemb(): void {
    if (this.#phase !== "start" || this.#closed) return;
    const bitrateBps = Math.min(this.#startBitrateBps, this.#capBps);
    const ssrcs = this.#seenList;
    const packet = encodeRemb({ senderSsrc: this.#senderSsrc, bitrateBps, ssrcs });
    this.#remb(packet, bitrateBps, ssrcs, "start");
  }

  #onEstimate(bitrateBps: number, ssrcs: readonly number[]): void {
    if (this.#phase !== "estimating") {
      this.#phase = "estimating";
      this.#stopStartTimer();
    }
    this.#emit({ type: "estimate", timeMs: this.#clock.nowMs(), bitrateBps, ssrcs });
  }

  #onCoordinatorRemb(packet: Uint8Array, bitrateBps: number, ssrcs: readonly number[]): void {
    // Before the first estimate the coordinator can only be announcing a cap; the start REMB
    // already carries it.
    if (this.#phase !== "estimating" || this.#closed) return;
    if (ssrcs.length === 0) {
      // libwebrtc announces a cap with no SSRCs; senders that route REMB by its first SSRC (werift)
      // would drop it, so list the tracked streams.
      const tracked = this.#coordinator.getSSRCs();
      if (tracked.length > 0) {
        ssrcs = tracked.slice(0, MAX_REMB_SSRCS);
        packet = encodeRemb({ senderSsrc: this.#senderSsrc, bitrateBps, ssrcs });
      }
    }
    this.#remb(packet, bitrateBps, ssrcs, "estimator");
  }

  #remb(
    packet: Uint8Array,
    bitrateBps: number,
    ssrcs: readonly number[],
    source: "start" | "estimator",
  ): void {
    this.#lastRembBps = bitrateBps;
    const written = this.#writer !== undefined;
    if (written) {
      this.#write(packet);
    } else {
      this.#pendingRemb = packet;
      this.#rembsWithoutWriter++;
    }
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

  #write(packet: Uint8Array): void {
    try {
      const result = this.#writer!.write(packet);
      this.#rembsWritten++;
      if (result && typeof result.then === "function") {
        result.then(undefined, this.#onWriteRejected);
      }
    } catch (error) {
      this.#writeFailed(error);
    }
  }

  #writeFailed(error: unknown): void {
    this.#rembWriteErrors++;
    const nowMs = this.#clock.nowMs();
    if (nowMs - this.#lastWriterWarningMs < WRITER_WARNING_INTERVAL_MS) return;
    this.#lastWriterWarningMs = nowMs;
    try {
      this.#logger.warn(
        `Interceptor "${this.#id}": REMB write failed (${this.#rembWriteErrors} so far)`,
        error,
      );
    } catch {
      // A logger that throws has nowhere left to report to.
    }
  }

  #emit(event: EstimatorEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        try {
          this.#logger.error(`Interceptor "${this.#id}": listener threw`, error);
        } catch {
          // As above.
        }
      }
    }
  }

  #newBinding(info: StreamInfo): Binding {
    const none: Binding = { info, source: undefined, extensionId: 0, bound: true, packets: 0 };
    if (!this.#estimateStream(info)) return none;
    const absSendTime = info.rtpHeaderExtensions.find((e) => e.uri === ABS_SEND_TIME_URI);
    if (absSendTime) {
      return { ...none, source: "abs-send-time", extensionId: absSendTime.id };
    }
    const absCaptureTime = info.rtpHeaderExtensions.find((e) => e.uri === ABS_CAPTURE_TIME_URI);
    if (absCaptureTime) {
      return { ...none, source: "abs-capture-time", extensionId: absCaptureTime.id };
    }
    if (info.clockRate !== 90_000) {
      this.#logger.warn(
        `Interceptor "${this.#id}": stream ${info.ssrc} (${info.mimeType}, ${info.clockRate} Hz) has no send-time extension and no 90 kHz clock; passed through unestimated`,
      );
      return none;
    }
    return { ...none, source: "rtp-timestamp" };
  }
}

function coordinatorOptions(options: EstimatorInterceptorOptions): CoordinatorOptions {
  return {
    host: options.host,
    poolSize: options.poolSize,
    transport: options.transport,
    grouping: options.grouping,
    filter: options.filter,
    minBitrateBps: options.minBitrateBps,
    maxBitrateBps: options.maxBitrateBps,
    streamTimeoutMs: options.streamTimeoutMs,
    maxStreams: options.maxStreams,
    senderSsrc: options.senderSsrc,
    rembIntervalMs: options.rembIntervalMs,
    workerSources: options.workerSources,
  };
}

function checkOptions(options: EstimatorInterceptorOptions): void {
  const { startBitrateBps, estimateStream, logger, onNewInterceptor, clock, timers } = options;
  if (startBitrateBps !== undefined) {
    if (typeof startBitrateBps !== "number") {
      throw new TypeError(
        `Cannot create interceptor as 'startBitrateBps' must be a number: current type is ${typeof startBitrateBps}`,
      );
    }
    if (!Number.isSafeInteger(startBitrateBps) || startBitrateBps < 1) {
      throw new RangeError(
        `Cannot create interceptor as 'startBitrateBps' must be a positive integer: current value is ${startBitrateBps}`,
      );
    }
  }
  for (
    const [name, value] of [["estimateStream", estimateStream], [
      "onNewInterceptor",
      onNewInterceptor,
    ]] as const
  ) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot create interceptor as '${name}' must be a function: current type is ${typeof value}`,
      );
    }
  }
  for (
    const [name, value, methods] of [
      ["logger", logger, ["warn", "error"]],
      ["clock", clock, ["nowMs"]],
      ["timers", timers, ["setInterval", "clearInterval"]],
    ] as const
  ) {
    if (value === undefined) continue;
    const object = value as unknown as Record<string, unknown>;
    if (
      typeof value !== "object" || value === null ||
      methods.some((m) => typeof object[m] !== "function")
    ) {
      throw new TypeError(
        `Cannot create interceptor as '${name}' must have the methods ${methods.join(", ")}`,
      );
    }
  }
  if (options.offThread !== undefined && typeof options.offThread !== "boolean") {
    throw new TypeError(
      `Cannot create interceptor as 'offThread' must be a boolean: current type is ${typeof options
        .offThread}`,
    );
  }
  // The coordinator's own rules, checked now rather than at the first connection.
  checkCoordinatorOptions(coordinatorOptions(options));
}

function checkStreamInfo(info: StreamInfo): void {
  if (typeof info !== "object" || info === null) {
    throw new TypeError("Cannot bind remote stream as 'info' must be an object");
  }
  const { ssrc, clockRate, mimeType, rtpHeaderExtensions, rtcpFeedback } = info;
  if (typeof ssrc !== "number") {
    throw new TypeError(
      `Cannot bind remote stream as 'ssrc' must be a number: current type is ${typeof ssrc}`,
    );
  }
  if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) {
    throw new RangeError(
      `Cannot bind remote stream as 'ssrc' must be a 32-bit unsigned integer: current value is ${ssrc}`,
    );
  }
  if (typeof clockRate !== "number") {
    throw new TypeError(
      `Cannot bind remote stream as 'clockRate' must be a number: current type is ${typeof clockRate}`,
    );
  }
  if (!Number.isInteger(clockRate) || clockRate < 1) {
    throw new RangeError(
      `Cannot bind remote stream as 'clockRate' must be a positive integer: current value is ${clockRate}`,
    );
  }
  if (typeof mimeType !== "string") {
    throw new TypeError(
      `Cannot bind remote stream as 'mimeType' must be a string: current type is ${typeof mimeType}`,
    );
  }
  if (!Array.isArray(rtpHeaderExtensions)) {
    throw new TypeError("Cannot bind remote stream as 'rtpHeaderExtensions' must be an array");
  }
  for (const [i, extension] of rtpHeaderExtensions.entries()) {
    if (
      typeof extension !== "object" || extension === null || typeof extension.uri !== "string" ||
      typeof extension.id !== "number"
    ) {
      throw new TypeError(
        `Cannot bind remote stream as 'rtpHeaderExtensions[${i}]' must be {uri: string, id: number}`,
      );
    }
    if (!Number.isInteger(extension.id) || extension.id < 1 || extension.id > 255) {
      throw new RangeError(
        `Cannot bind remote stream as 'rtpHeaderExtensions[${i}].id' must be an integer in [1, 255]: current value is ${extension.id}`,
      );
    }
  }
  if (!Array.isArray(rtcpFeedback)) {
    throw new TypeError("Cannot bind remote stream as 'rtcpFeedback' must be an array");
  }
}
