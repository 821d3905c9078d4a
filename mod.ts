/**
 * Receive-side bandwidth estimation for WebRTC servers: Google Congestion Control's delay-based
 * estimator as libwebrtc's receiver runs it, and the REMB packets that tell the sender.
 *
 * Feed every received RTP packet to a {@linkcode BandwidthEstimator}: it calls `onEstimate` with
 * the available bandwidth in bps when libwebrtc's receiver would (with `grouping: "transport"`;
 * the default per-stream grouping gives each SSRC its own delay pipeline), and `onRemb` with the
 * REMB packets to send. A {@linkcode Coordinator} runs the same estimator with its pipelines on
 * workers, an {@linkcode EstimatorInterceptor} plugs it into a Pion-style stack, and
 * `@rbe/receiver-gcc/werift` into werift.
 *
 * The packet path, one way:
 *
 * ```
 * RTP bytes ─► EstimatorInterceptor (bind, parse) ─► Coordinator.onPacket (admit, log)
 *   ─► lane batch ─► host: DelayPipeline per lane (inline, worker per stream, or pool)
 *   ─► verdicts, in log order ─► ReceiveSideController (estimator, AIMD, REMB throttler)
 *   ─► onEstimate, onRemb ─► EstimatorInterceptor ─► RTCP writer
 * ```
 *
 * Naming: acronyms are written as words in camelCase and PascalCase (`senderSsrc`, `rttMs`,
 * `RembThrottler`, `RtpHeader`, `startRembBps`); the Pion-style interceptor contract keeps Pion's
 * spelling (`RTPReader`, `RTCPWriter`, `bindRTCPWriter`), and `getSSRCs()` keeps libwebrtc's.
 *
 * @example
 * ```ts
 * import { BandwidthEstimator, decodeRemb } from "@rbe/receiver-gcc";
 * import assert from "node:assert/strict";
 *
 * const sent: Uint8Array[] = [];
 * const estimator = new BandwidthEstimator({ onRemb: (packet) => sent.push(packet) });
 * for (let i = 0; i < 10; i++) {
 *   estimator.onPacket({
 *     ssrc: 0x1234,
 *     arrivalTimeMs: 1000 + i * 5,
 *     payloadSize: 1000,
 *     rtpTimestamp: i * 450,
 *     absSendTime: Math.round((i * 5 * 2 ** 18) / 1000),
 *   });
 * }
 * // 1000-byte packets every 5 ms form a probe cluster: the first estimate goes out as a REMB.
 * assert.ok(decodeRemb(sent[0]).bitrateBps > 1_500_000);
 * assert.deepEqual(decodeRemb(sent[0]).ssrcs, [0x1234]);
 * ```
 *
 * @module
 */

export * from "./core/mod.ts";
export * from "./workers/mod.ts";
export * from "./interceptor/mod.ts";
