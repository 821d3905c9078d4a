/**
 * The estimator inside a WebRTC stack: `interceptor.ts` is the Pion-style contract (whose names keep
 * Pion's spelling: `RTPReader`, `RTCPWriter`, `bindRTCPWriter`); `estimator_interceptor.ts` binds
 * streams (`stream_binding.ts`), parses their RTP bytes into a coordinator and writes the REMB
 * packets it makes; `interceptor_options.ts` nests the coordinator's options; `werift.ts` (the
 * package's `./werift` entry) wires a werift peer connection to it.
 *
 * @module
 */

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
} from "./interceptor.ts";
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
  type RttSource,
  type SendTimeSource,
} from "./estimator_interceptor.ts";
