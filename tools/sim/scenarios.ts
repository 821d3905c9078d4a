/**
 * The standard scenario set.
 *
 * RFC 8867 ("Test Cases for Evaluating Congestion Control for Interactive Real-Time Media"), the
 * cases with a single bottleneck: §5.1, §5.2, §5.4–§5.8. §5.3 (congested feedback link with
 * bi-directional media) needs a second, congested bottleneck on the feedback path and is left out.
 * Defaults that every case shares (RFC 8867 §4 and each case's "path characteristics"): one-way
 * propagation delay 50 ms, maximum end-to-end jitter 30 ms, tail-drop queue of 300 ms, no random
 * loss, media flows of video at 30 fps.
 *
 * Where the parameters come from: the RFC text itself could not be fetched from this machine.
 * They were taken from the RFC's test-case implementation by its authors (cisco/ns3-rmcat,
 * `test/rmcat-wired-test-suite.cc`, written against draft-ietf-rmcat-eval-test-05, whose
 * numbering and cases became RFC 8867 §5), from a test bed that cites RFC 8867 §5.1 for its link
 * settings (1 Mbit/s for 40 s, 2.5 Mbit/s, …, 50 ms delay, 30 ms jitter, 300 ms queue), and from
 * the review of that suite (§5.5 uses §5.4's topology without a stated capacity: 4 Mbit/s, the
 * suite's default). The suite's Mbit/s are powers of two (1 << 20); these use 10^6.
 *
 * Also: libwebrtc's capacity-halving test (1 → 0.5 Mbit/s; shared/reference/receiver-gcc.md §15),
 * a 24-hour run (1 350 abs-send-time wraps) and a three-SSRC simulcast sender in both groupings.
 *
 * @module
 */

import type { CapacityStep } from "./link.ts";
import type { MediaFlowSpec, ScenarioSpec } from "./simulator.ts";

/** One-way propagation delay of RFC 8867's cases, ms. */
export const RFC_DELAY_MS = 50;
/** Maximum end-to-end jitter of RFC 8867's cases, ms. */
export const RFC_JITTER_MS = 30;
/** Bottleneck queue of RFC 8867's cases, ms. */
export const RFC_QUEUE_MS = 300;

const MBPS = 1_000_000;

function video(
  name: string,
  startS: number,
  stopS: number,
  extra: Partial<MediaFlowSpec> = {},
): MediaFlowSpec {
  return { name, startS, stopS, oneWayDelayMs: RFC_DELAY_MS, jitterMs: RFC_JITTER_MS, ...extra };
}

function steps(reference: number, ratios: [number, number][]): CapacityStep[] {
  return ratios.map(([atS, ratio]) => ({ atS, bps: reference * ratio }));
}

/** RFC 8867 §5.1: one flow; 1 Mbit/s × 1.0, 2.5, 0.6, 1.0 from 0, 40, 60, 80 s; 100 s. */
export const RFC8867_5_1: ScenarioSpec = {
  id: "rfc8867-5.1",
  title: "RFC 8867 §5.1 Variable available capacity, single flow",
  source:
    "RFC 8867 §5.1: reference capacity 1 Mbit/s with path capacity ratio 1.0 (0 s), 2.5 (40 s), 0.6 (60 s), 1.0 (80 s); 100 s; one media flow 0–100 s.",
  durationS: 100,
  capacity: steps(MBPS, [[0, 1], [40, 2.5], [60, 0.6], [80, 1]]),
  queue: { ms: RFC_QUEUE_MS },
  media: [video("video", 0, 100)],
};

/** RFC 8867 §5.2: two flows; 2 Mbit/s × 2.0, 1.0, 1.75, 0.5, 1.0 every 25 s; 125 s. */
export const RFC8867_5_2: ScenarioSpec = {
  id: "rfc8867-5.2",
  title: "RFC 8867 §5.2 Variable available capacity, multiple flows",
  source:
    "RFC 8867 §5.2: reference capacity 2 Mbit/s with ratio 2.0 (0 s), 1.0 (25 s), 1.75 (50 s), 0.5 (75 s), 1.0 (100 s); 125 s; two media flows 0–125 s.",
  durationS: 125,
  capacity: steps(2 * MBPS, [[0, 2], [25, 1], [50, 1.75], [75, 0.5], [100, 1]]),
  queue: { ms: RFC_QUEUE_MS },
  media: [video("video 1", 0, 125), video("video 2", 0, 125)],
  fairness: { fromS: 10, toS: 125 },
};

/** RFC 8867 §5.4: three flows joining at 0, 20, 40 s on 3.5 Mbit/s; 120 s. */
export const RFC8867_5_4: ScenarioSpec = {
  id: "rfc8867-5.4",
  title: "RFC 8867 §5.4 Competing media flows, same algorithm",
  source:
    "RFC 8867 §5.4: bottleneck 3.5 Mbit/s; three media flows starting at 0, 20 and 40 s, all ending at 120 s; 120 s. Jain's index from 60 s (20 s after the last join).",
  durationS: 120,
  capacity: [{ atS: 0, bps: 3.5 * MBPS }],
  queue: { ms: RFC_QUEUE_MS },
  media: [video("video 1", 0, 120), video("video 2", 20, 120), video("video 3", 40, 120)],
  fairness: { fromS: 60, toS: 120 },
};

/** RFC 8867 §5.5: five flows with one-way delays 10–150 ms joining 10 s apart; 300 s. */
export const RFC8867_5_5: ScenarioSpec = {
  id: "rfc8867-5.5",
  title: "RFC 8867 §5.5 Round-trip-time fairness",
  source:
    "RFC 8867 §5.5: five media flows with one-way propagation delays 10, 25, 50, 100 and 150 ms starting at 0, 10, 20, 30 and 40 s; §5.4's topology, 4 Mbit/s; 300 s. Jain's index from 100 s.",
  durationS: 300,
  capacity: [{ atS: 0, bps: 4 * MBPS }],
  queue: { ms: RFC_QUEUE_MS },
  media: [10, 25, 50, 100, 150].map((delay, i) =>
    video(`video ${i + 1} (${delay} ms)`, i * 10, 300, { oneWayDelayMs: delay })
  ),
  fairness: { fromS: 100, toS: 300 },
};

function longTcpCase(queueMs: number): ScenarioSpec {
  return {
    id: `rfc8867-5.6-${queueMs}ms`,
    title: `RFC 8867 §5.6 Media competing with a long TCP flow, ${queueMs} ms queue`,
    source:
      `RFC 8867 §5.6: bottleneck 2 Mbit/s; one long TCP flow (NewReno) from 0 s; one media flow from 5 s; 120 s; queue ${queueMs} ms (the RFC asks for 300 ms and 1000 ms). Shares and Jain's index over media and TCP from 20 s.`,
    durationS: 120,
    capacity: [{ atS: 0, bps: 2 * MBPS }],
    queue: { ms: queueMs },
    media: [video("video", 5, 120)],
    tcp: [{ name: "long TCP", startS: 0, stopS: 120, oneWayDelayMs: RFC_DELAY_MS }],
    measureFromS: 20,
    fairness: { fromS: 20, toS: 120, includeTcp: true },
  };
}

/** RFC 8867 §5.6 with a 300 ms queue. */
export const RFC8867_5_6_300: ScenarioSpec = longTcpCase(300);
/** RFC 8867 §5.6 with a 1000 ms queue. */
export const RFC8867_5_6_1000: ScenarioSpec = longTcpCase(1000);

/** RFC 8867 §5.7: two flows from 5 s and ten short-TCP sources on 2 Mbit/s; 300 s. */
export const RFC8867_5_7: ScenarioSpec = {
  id: "rfc8867-5.7",
  title: "RFC 8867 §5.7 Media competing with short TCP flows",
  source:
    "RFC 8867 §5.7: bottleneck 2 Mbit/s; two media flows from 5 s; ten short TCP sources, two starting on, each a sequence of 30–50 KB transfers separated by idle times of mean 10 s (exponential); 300 s. Jain's index over the media flows from 20 s.",
  durationS: 300,
  capacity: [{ atS: 0, bps: 2 * MBPS }],
  queue: { ms: RFC_QUEUE_MS },
  media: [video("video 1", 5, 300), video("video 2", 5, 300)],
  shortTcp: {
    name: "short TCP ×10",
    sources: 10,
    initiallyOn: 2,
    startS: 0,
    stopS: 300,
    minBytes: 30 * 1024,
    maxBytes: 50 * 1024,
    meanOffS: 10,
    oneWayDelayMs: RFC_DELAY_MS,
  },
  measureFromS: 5,
  fairness: { fromS: 20, toS: 300 },
};

/** RFC 8867 §5.8: §5.4's three flows all from 0 s; the second pauses from 40 to 60 s. */
export const RFC8867_5_8: ScenarioSpec = {
  id: "rfc8867-5.8",
  title: "RFC 8867 §5.8 Media pause and resume",
  source:
    "RFC 8867 §5.8: §5.4's setup (3.5 Mbit/s, three media flows, 120 s) with all flows from 0 s; the second flow pauses at 40 s and resumes at 60 s. Jain's index from 80 s.",
  durationS: 120,
  capacity: [{ atS: 0, bps: 3.5 * MBPS }],
  queue: { ms: RFC_QUEUE_MS },
  media: [
    video("video 1", 0, 120),
    video("video 2 (paused 40–60 s)", 0, 120, { pauses: [{ fromS: 40, toS: 60 }] }),
    video("video 3", 0, 120),
  ],
  fairness: { fromS: 80, toS: 120 },
};

/** libwebrtc's capacity-halving case, closed loop: 1 Mbit/s, then 0.5 Mbit/s from 30 s. */
export const CAPACITY_HALVING: ScenarioSpec = {
  id: "libwebrtc-capacity-drop",
  title: "libwebrtc capacity drop 1 → 0.5 Mbit/s",
  source:
    "libwebrtc remote_bitrate_estimator tests, CapacityDropOneStream: 1 Mbit/s, halved to 0.5 Mbit/s (open loop there: estimate ≤ 500 kbit/s within 0.57–0.77 s). Here in closed loop: 50 ms one way, 300 ms queue, no jitter; 60 s.",
  durationS: 60,
  capacity: [{ atS: 0, bps: MBPS }, { atS: 30, bps: 0.5 * MBPS }],
  queue: { ms: RFC_QUEUE_MS },
  media: [{ name: "video", startS: 0, stopS: 60, oneWayDelayMs: RFC_DELAY_MS }],
};

/**
 * The real-Chromium test's bottleneck (`deno task e2e`): tbf 1 → 2 → 1 Mbit/s, 30 s each, burst
 * 10 KiB, 200 ms of queue, a veth pair's delay and no jitter; the receiver knows the RTT (it
 * measures it from RTCP XR).
 */
export const E2E_TBF: ScenarioSpec = {
  id: "tbf-1-2-1",
  title: "tbf 1 → 2 → 1 Mbit/s, as the real-Chromium test shapes it",
  source:
    "tests/e2e/netns.ts: tbf rate 1, 2, 1 Mbit/s from 0, 30, 60 s, burst 10kb (10 KiB), latency 200 ms, between two network namespaces (sub-millisecond delay, no jitter); 90 s.",
  durationS: 90,
  capacity: [{ atS: 0, bps: MBPS }, { atS: 30, bps: 2 * MBPS }, { atS: 60, bps: MBPS }],
  queue: { ms: 200 },
  burstBytes: 10_240,
  media: [{ name: "video", startS: 0, stopS: 90, oneWayDelayMs: 1, receiverKnowsRtt: true }],
};

function simulcastCase(grouping: "per-stream" | "transport"): ScenarioSpec {
  return {
    id: `simulcast-${grouping}`,
    title: `Simulcast, 3 SSRCs from one sender, ${grouping} grouping`,
    source:
      `One sender, three simulcast SSRCs (libwebrtc's 1280×720 layer bitrates: 30–200, 150–700, 600–2500 kbit/s), one receiver with '${grouping}' grouping. 2.5 Mbit/s, 0.6 Mbit/s from 40 s (the top layer stops), 2.5 Mbit/s from 70 s; 50 ms, no jitter; 100 s.`,
    durationS: 100,
    capacity: [{ atS: 0, bps: 2.5 * MBPS }, { atS: 40, bps: 0.6 * MBPS }, {
      atS: 70,
      bps: 2.5 * MBPS,
    }],
    queue: { ms: RFC_QUEUE_MS },
    media: [{ name: "simulcast", startS: 0, stopS: 100, oneWayDelayMs: RFC_DELAY_MS, streams: 3 }],
    grouping,
  };
}

/** Simulcast with per-stream grouping. */
export const SIMULCAST_PER_STREAM: ScenarioSpec = simulcastCase("per-stream");
/** Simulcast with transport grouping. */
export const SIMULCAST_TRANSPORT: ScenarioSpec = simulcastCase("transport");

/** 24 hours of simulated time: 1.5 Mbit/s, 0.75 Mbit/s for two minutes every hour. */
export const SOAK_24H: ScenarioSpec = {
  id: "soak-24h",
  title: "24 hours (1 350 abs-send-time wraps)",
  source:
    "24 h of simulated time, 1 350 wraps of the 64 s abs-send-time: 1.5 Mbit/s with a drop to 0.75 Mbit/s for two minutes at the half hour, 50 ms, no jitter. Per hour: utilization, p95 delay, estimate range over capacity, V8 heap.",
  durationS: 86_400,
  capacity: Array.from({ length: 24 }, (_, h) => [
    { atS: h * 3600 + (h === 0 ? 0 : 0), bps: 1.5 * MBPS },
    { atS: h * 3600 + 1800, bps: 0.75 * MBPS },
    { atS: h * 3600 + 1920, bps: 1.5 * MBPS },
  ]).flat().filter((step, i, all) => i === 0 || step.bps !== all[i - 1].bps),
  queue: { ms: RFC_QUEUE_MS },
  media: [{ name: "video", startS: 0, stopS: 86_400, oneWayDelayMs: RFC_DELAY_MS }],
  sampleMs: 1000,
  periodS: 3600,
};

/** Every scenario, in report order. */
export const SCENARIOS: readonly ScenarioSpec[] = [
  RFC8867_5_1,
  RFC8867_5_2,
  RFC8867_5_4,
  RFC8867_5_5,
  RFC8867_5_6_300,
  RFC8867_5_6_1000,
  RFC8867_5_7,
  RFC8867_5_8,
  CAPACITY_HALVING,
  E2E_TBF,
  SIMULCAST_PER_STREAM,
  SIMULCAST_TRANSPORT,
  SOAK_24H,
];

/** What `deno task demo` runs by default: everything but the 24-hour run. */
export const DEFAULT_SET: readonly string[] = SCENARIOS.filter((s) => s.id !== "soak-24h").map((
  s,
) => s.id);

/** What `deno task demo --quick` runs. */
export const QUICK_SET: readonly string[] = [
  "rfc8867-5.1",
  "rfc8867-5.6-300ms",
  "libwebrtc-capacity-drop",
  "simulcast-per-stream",
];

/**
 * Finds a scenario by id.
 *
 * @param id The id.
 * @returns The scenario.
 * @throws {RangeError} No such scenario.
 * @example
 * ```ts
 * import { scenario } from "./scenarios.ts";
 * import assert from "node:assert/strict";
 * assert.equal(scenario("rfc8867-5.1").durationS, 100);
 * ```
 */
export function scenario(id: string): ScenarioSpec {
  const found = SCENARIOS.find((s) => s.id === id);
  if (!found) {
    throw new RangeError(
      `Cannot find scenario as 'id' must be one of ${
        SCENARIOS.map((s) => s.id).join(", ")
      }: current value is "${id}"`,
    );
  }
  return found;
}
