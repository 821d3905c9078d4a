/**
 * The pure estimator: no clock, no timer, no I/O. One stage per file, each citing its section of the
 * reference (`shared/reference/receiver-gcc.md`):
 *
 * - per lane (`delay_pipeline.ts`): `inter_arrival.ts` → `overuse_estimator.ts` (Kalman) or
 *   `trendline_estimator.ts` → `overuse_detector.ts`, its figures read through `lane_figures.ts`;
 * - admission: `lane_table.ts` (which lane a packet goes to, over `stream_table.ts`);
 * - the controller (`receive_side_controller.ts`): `estimator_selector.ts`,
 *   `abs_send_time_estimator.ts` / `single_stream_estimator.ts` (with `rate_statistics.ts`,
 *   `probe_clusters.ts`), `aimd_rate_control.ts` (with `link_capacity_estimator.ts`),
 *   `remb_throttler.ts` and `remb.ts`;
 * - `bandwidth_estimator.ts`: the lanes run inline, feeding the controller at once;
 * - wire formats: `rtp_header.ts`, `abs_send_time.ts`, `abs_capture_time.ts`, `remb.ts`,
 *   `rtcp_xr.ts`; the receiver's RTT from XR answers: `receiver_rtt.ts`.
 *
 * @module
 */

export {
  BandwidthEstimator,
  type BandwidthEstimatorOptions,
  type EstimatorMode,
  type EstimatorStats,
  type StreamStats,
} from "./bandwidth_estimator.ts";
export type { Grouping } from "./abs_send_time_estimator.ts";
export type { DelayFilter } from "./delay_pipeline.ts";
export {
  type BandwidthUsage,
  type PacketInfo,
  type RateControlState,
  usageSeverity,
} from "./types.ts";
export { decodeRemb, encodeRemb, isRemb, MAX_REMB_SSRCS, type Remb } from "./remb.ts";
export { RembThrottler, type RembThrottlerOptions } from "./remb_throttler.ts";
export {
  type ControllerState,
  ReceiveSideController,
  type ReceiveSideControllerOptions,
  type RembCallback,
  type RembPhase,
  type RembPolicy,
  type RembSource,
} from "./receive_side_controller.ts";
export { type ReceiveSideOptions } from "./receive_side_options.ts";
export type { EstimatorKind } from "./lane_table.ts";
export type { LaneFigureStats } from "./lane_figures.ts";
export type { EstimatorSettings, Profile } from "./estimator_settings.ts";
export type { EnhancedFigures, EnhancedMechanisms } from "./enhanced_rate_control.ts";
export type { CompetitionState } from "./competitive_mode.ts";
export { ntpToAbsSendTime } from "./abs_capture_time.ts";
export { isRtcp, type RtpExtensionForm, RtpHeader, type RtpHeaderError } from "./rtp_header.ts";
export {
  ABS_SEND_TIME_WRAP_MS,
  absSendTimeFromMicros,
  absSendTimeToTicks,
} from "./abs_send_time.ts";
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
} from "./rtcp_xr.ts";
export {
  checkReceiverRttOptions,
  RECEIVER_RTT_DEFAULTS,
  ReceiverRtt,
  type ReceiverRttOptions,
  type ReceiverRttStats,
  type RttRejection,
} from "./receiver_rtt.ts";
