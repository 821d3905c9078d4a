/**
 * A bound remote stream: the negotiated description it was bound with, and where its send times
 * come from (abs-send-time, else abs-capture-time, else the RTP timestamp with a 90 kHz clock).
 *
 * @module
 */

import {
  ABS_CAPTURE_TIME_URI,
  ABS_SEND_TIME_URI,
  type RTPHeaderExtension,
  type RTPReader,
  type StreamInfo,
} from "./interceptor.ts";

/** Where a stream's send times come from. */
export type SendTimeSource = "abs-send-time" | "abs-capture-time" | "rtp-timestamp";

/** A bound stream, for its whole life. */
export interface Binding {
  /** The stream as bound (a copy). */
  readonly info: StreamInfo;
  /** Where its send times come from; `undefined` for a stream passed through unestimated. */
  readonly source: SendTimeSource | undefined;
  /** The send-time extension's id; 0 for RTP timestamps. */
  readonly extensionId: number;
  /** Whether packets read through its reader are still estimated. */
  bound: boolean;
  /** Packets estimated. */
  packets: number;
  /** The reader the stack calls for this stream (set by the interceptor once bound). */
  reader: RTPReader | undefined;
}

/**
 * Makes the binding of a checked stream description.
 *
 * @param info The stream, as checked by {@linkcode checkStreamInfo}.
 * @param estimated Whether the application wants it estimated.
 * @param warn Told why a wanted stream cannot be estimated.
 * @returns The binding, over a copy of `info`.
 * @example
 * ```ts
 * import { newBinding } from "./stream_binding.ts";
 * import { ABS_SEND_TIME_URI } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 * const info = {
 *   ssrc: 5, clockRate: 90_000, mimeType: "video/VP8",
 *   rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: 3 }], rtcpFeedback: [],
 * };
 * const binding = newBinding(info, true, () => {});
 * assert.equal(binding.source, "abs-send-time");
 * assert.equal(binding.extensionId, 3);
 * ```
 */
export function newBinding(
  info: StreamInfo,
  estimated: boolean,
  warn: (message: string) => void,
): Binding {
  const copy: StreamInfo = {
    ssrc: info.ssrc,
    clockRate: info.clockRate,
    mimeType: info.mimeType,
    rtpHeaderExtensions: info.rtpHeaderExtensions.map(({ uri, id }) => ({ uri, id })),
    rtcpFeedback: info.rtcpFeedback.map((f) => ({ ...f })),
  };
  const none: Binding = {
    info: copy,
    source: undefined,
    extensionId: 0,
    bound: true,
    packets: 0,
    reader: undefined,
  };
  if (!estimated) return none;
  const extensions: readonly RTPHeaderExtension[] = copy.rtpHeaderExtensions;
  const absSendTime = extensions.find((e) => e.uri === ABS_SEND_TIME_URI);
  if (absSendTime) return { ...none, source: "abs-send-time", extensionId: absSendTime.id };
  const absCaptureTime = extensions.find((e) => e.uri === ABS_CAPTURE_TIME_URI);
  if (absCaptureTime) {
    return { ...none, source: "abs-capture-time", extensionId: absCaptureTime.id };
  }
  if (copy.clockRate !== 90_000) {
    warn(
      `stream ${copy.ssrc} (${copy.mimeType}, ${copy.clockRate} Hz) has no send-time extension and no 90 kHz clock; passed through unestimated`,
    );
    return none;
  }
  return { ...none, source: "rtp-timestamp" };
}

/**
 * Checks a stream description's shape and ranges.
 *
 * @param info What the stack passed.
 * @throws {TypeError} A field has the wrong type.
 * @throws {RangeError} A field is out of range.
 * @example
 * ```ts
 * import { checkStreamInfo } from "./stream_binding.ts";
 * import assert from "node:assert/strict";
 * const info = { ssrc: -1, clockRate: 90_000, mimeType: "video/VP8", rtpHeaderExtensions: [], rtcpFeedback: [] };
 * assert.throws(() => checkStreamInfo(info), RangeError);
 * ```
 */
export function checkStreamInfo(info: StreamInfo): void {
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
