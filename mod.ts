/**
 * Receive-side bandwidth estimation for WebRTC servers: Google Congestion Control's delay-based
 * estimator as libwebrtc's receiver runs it, and the REMB packets that tell the sender.
 *
 * Feed every received RTP packet to a {@linkcode BandwidthEstimator}; it calls `onEstimate` with the
 * available bandwidth in bps exactly when libwebrtc's receiver would. Hand the estimates to a
 * {@linkcode RembThrottler}, and send what it emits as {@linkcode encodeRemb} bytes.
 *
 * @example
 * ```ts
 * import { BandwidthEstimator, decodeRemb, encodeRemb, RembThrottler } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: Uint8Array[] = [];
 * const throttler = new RembThrottler({
 *   onSend: (bitrateBps, ssrcs) => sent.push(encodeRemb({ senderSsrc: 1, bitrateBps, ssrcs })),
 * });
 * let nowMs = 0;
 * const estimator = new BandwidthEstimator({
 *   onEstimate: (bps, ssrcs) => throttler.onReceiveBitrateChanged(ssrcs, bps, nowMs),
 * });
 * for (let i = 0; i < 10; i++) {
 *   nowMs = 1000 + i * 5;
 *   estimator.onPacket({
 *     ssrc: 0x1234,
 *     arrivalTimeMs: nowMs,
 *     payloadSize: 1000,
 *     rtpTimestamp: i * 450,
 *     absSendTime: Math.round((i * 5 * 2 ** 18) / 1000),
 *   });
 * }
 * assert.deepEqual(decodeRemb(sent[0]).ssrcs, [0x1234]);
 * ```
 *
 * @module
 */

export {
  BandwidthEstimator,
  type BandwidthEstimatorOptions,
  type EstimatorMode,
  type EstimatorStats,
  type StreamStats,
} from "./core/bandwidth_estimator.ts";
export type { Grouping } from "./core/abs_send_time_estimator.ts";
export type { DelayFilter } from "./core/delay_pipeline.ts";
export {
  type BandwidthUsage,
  type PacketInfo,
  type RateControlState,
  usageSeverity,
} from "./core/types.ts";
export { decodeRemb, encodeRemb, isRemb, MAX_REMB_SSRCS, type Remb } from "./core/remb.ts";
export { RembThrottler, type RembThrottlerOptions } from "./core/remb_throttler.ts";
export {
  COMPACT_NTP_UNITS_PER_S,
  compactNtp,
  compactNtpFromMs,
  compactNtpToMs,
  DLRR_BLOCK_TYPE,
  DlrrReader,
  type DlrrSubBlock,
  encodeXrDlrr,
  encodeXrRrtr,
  NTP_UNIX_EPOCH_OFFSET_MS,
  ntpFromMs,
  type NtpTime,
  RRTR_BLOCK_TYPE,
  RTCP_XR_PACKET_TYPE,
  type RtcpXrError,
  XR_RRTR_BYTES,
} from "./core/rtcp_xr.ts";
export {
  checkReceiverRttOptions,
  RECEIVER_RTT_DEFAULTS,
  ReceiverRtt,
  type ReceiverRttOptions,
  type ReceiverRttStats,
  type RttRejection,
} from "./core/receiver_rtt.ts";
export {
  ReceiveSideController,
  type ReceiveSideControllerOptions,
  type RembCallback,
  type RembSource,
} from "./core/receive_side_controller.ts";
export {
  type Clock,
  Coordinator,
  CoordinatorClosedError,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorStats,
  type CoordinatorStreamStats,
  type Timers,
  unrefTimers,
} from "./workers/coordinator.ts";
export type { HostKind, Transport, WorkerFactory, WorkerSources } from "./workers/lane_host.ts";
export { ClosedError } from "./workers/closed_error.ts";
export type { ReceiveCoordinator } from "./workers/receive_coordinator.ts";
export { OffThreadCoordinator, type OffThreadCoordinatorOptions } from "./workers/off_thread.ts";
export type { EstimatorKind } from "./core/lane_table.ts";
export type { EstimatorSettings } from "./core/estimator_settings.ts";
export {
  ABS_CAPTURE_TIME_URI,
  ABS_SEND_TIME_URI,
  type Interceptor,
  type InterceptorFactory,
  type RTCPFeedback,
  type RTCPReader,
  type RTCPWriter,
  type RTPAttributes,
  type RTPHeaderExtension,
  type RTPReader,
  type StreamInfo,
  TRANSPORT_WIDE_CC_URI,
} from "./interceptor/interceptor.ts";
export {
  type EstimatorEvent,
  EstimatorInterceptor,
  EstimatorInterceptorFactory,
  type EstimatorInterceptorOptions,
  type EstimatorInterceptorStats,
  InterceptorClosedError,
  type InterceptorCoordinatorOptions,
  type InterceptorStreamStats,
  type Logger,
  type RembPhase,
  type RttSource,
  type SendTimeSource,
} from "./interceptor/estimator_interceptor.ts";
export { ntpToAbsSendTime } from "./core/abs_capture_time.ts";
export {
  isRtcp,
  type RtpExtensionForm,
  RtpHeader,
  type RtpHeaderError,
} from "./core/rtp_header.ts";
export {
  ABS_SEND_TIME_WRAP_MS,
  absSendTimeFromMicros,
  absSendTimeToTicks,
} from "./core/abs_send_time.ts";
