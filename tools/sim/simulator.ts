/**
 * The closed loop: browser-like media senders and cross traffic share one bottleneck; each media
 * flow's receiver is this project's {@linkcode Coordinator} (any host, any grouping), driven by the
 * simulated clock with a flush every 10 ms; the REMB bytes it emits go back to the sender over the
 * feedback path and are decoded there with {@linkcode decodeRemb}. Receiver reports (loss) go back
 * once a second. Everything random comes from the seed, so a run is reproducible.
 *
 * @module
 */

import { decodeRemb } from "../../core/remb.ts";
import type { Grouping } from "../../core/abs_send_time_estimator.ts";
import type { EnhancedMechanisms } from "../../core/enhanced_rate_control.ts";
import type { Profile } from "../../core/estimator_settings.ts";
import type { BandwidthUsage, RateControlState } from "../../core/types.ts";
import { Coordinator } from "../../workers/coordinator.ts";
import type { HostKind } from "../../workers/lane_host.ts";
import { EventQueue } from "./event_queue.ts";
import { BottleneckLink, type CapacityStep, Path, type QueueLimit } from "./link.ts";
import { type MediaPacket, MediaSender } from "./media_sender.ts";
import { DelayHistogram, jainIndex, movingAverage, samplesUntil } from "./metrics.ts";
import { Random } from "./random.ts";
import { ShortTcpSource, TcpConnection, type TcpSegment } from "./tcp_flow.ts";

/** A media flow: one browser-like sender and one receiving coordinator. */
export interface MediaFlowSpec {
  /** Name in tables and charts. */
  name: string;
  /** Media starts, s. */
  startS: number;
  /** Media stops, s. */
  stopS: number;
  /** One-way propagation delay, ms. */
  oneWayDelayMs: number;
  /**
   * Largest jitter, ms.
   *
   * @default {0}
   */
  jitterMs?: number;
  /**
   * Feedback (REMB, reports) delay, ms.
   *
   * @default {oneWayDelayMs}
   */
  feedbackDelayMs?: number;
  /**
   * SSRCs the sender sends; 3 makes a simulcast sender.
   *
   * @default {1}
   */
  streams?: number;
  /**
   * Intervals with the track paused, s.
   *
   * @default {[]}
   */
  pauses?: { fromS: number; toS: number }[];
  /**
   * The encoder's maximum, bps.
   *
   * @default {2500000}
   */
  maxBitrateBps?: number;
  /**
   * Seconds between key frames.
   *
   * @default {10}
   */
  keyFrameIntervalS?: number;
  /**
   * Tells the receiver's rate controller the path's round-trip time (`Coordinator.setRtt`), as a
   * receiver that learns it from RTCP would; otherwise libwebrtc's default of 200 ms applies.
   *
   * @default {false}
   */
  receiverKnowsRtt?: boolean;
}

/** A long-lived TCP flow (always has data). */
export interface TcpFlowSpec {
  /** Name in tables and charts. */
  name: string;
  /** Starts, s. */
  startS: number;
  /** Stops sending, s. */
  stopS: number;
  /** One-way propagation delay, ms. */
  oneWayDelayMs: number;
}

/** Short TCP transfers with exponential idle times between them (RFC 8867 §5.7). */
export interface ShortTcpSpec {
  /** Name in tables and charts. */
  name: string;
  /** Independent sources. */
  sources: number;
  /** Sources that start with a transfer; the rest start idle. */
  initiallyOn: number;
  /** First transfers, s. */
  startS: number;
  /** No transfer starts after, s. */
  stopS: number;
  /** Smallest transfer, bytes. */
  minBytes: number;
  /** Largest transfer, bytes. */
  maxBytes: number;
  /** Mean idle time, s. */
  meanOffS: number;
  /** One-way propagation delay, ms. */
  oneWayDelayMs: number;
}

/** Constant-rate UDP cross traffic. */
export interface CbrFlowSpec {
  /** Name in tables and charts. */
  name: string;
  /** Starts, s. */
  startS: number;
  /** Stops, s. */
  stopS: number;
  /** Rate on the wire, bps. */
  bps: number;
  /** Packet size on the wire, bytes. */
  packetBytes: number;
  /** One-way propagation delay, ms. */
  oneWayDelayMs: number;
}

/** Everything a run needs. */
export interface ScenarioSpec {
  /** Short id, used on the command line and as file name. */
  id: string;
  /** One-line title. */
  title: string;
  /** What the case is and where its parameters come from. */
  source: string;
  /** Simulated duration, s. */
  durationS: number;
  /** Bottleneck capacity schedule. */
  capacity: CapacityStep[];
  /** Bottleneck queue bound. */
  queue: QueueLimit;
  /**
   * Random loss after the queue.
   *
   * @default {0}
   */
  lossRatio?: number;
  /**
   * A token bucket of this many bytes shapes the bottleneck (Linux tbf's `burst`).
   *
   * @default {0}
   */
  burstBytes?: number;
  /** Media flows. */
  media: MediaFlowSpec[];
  /**
   * Long TCP flows.
   *
   * @default {[]}
   */
  tcp?: TcpFlowSpec[];
  /** Short TCP transfers. */
  shortTcp?: ShortTcpSpec;
  /**
   * Constant-rate cross traffic.
   *
   * @default {[]}
   */
  cbr?: CbrFlowSpec[];
  /**
   * Delay grouping of the receivers.
   *
   * @default {"per-stream"}
   */
  grouping?: Grouping;
  /**
   * Metrics (utilization, delay, loss) count from here, s.
   *
   * @default {0}
   */
  measureFromS?: number;
  /** Window for Jain's index over the competing flows, s. */
  fairness?: { fromS: number; toS: number; includeTcp?: boolean };
  /**
   * Time-series resolution, ms.
   *
   * @default {100}
   */
  sampleMs?: number;
  /** Per-period figures (and heap samples) every so many seconds, for long runs. */
  periodS?: number;
}

/** Options of {@linkcode runScenario}. */
export interface RunOptions {
  /**
   * Seed of every random choice.
   *
   * @default {1}
   */
  seed?: number;
  /**
   * Where the coordinators run their pipelines.
   *
   * @default {"inline"}
   */
  host?: HostKind;
  /**
   * Overrides the scenario's grouping.
   *
   * @default {spec.grouping}
   */
  grouping?: Grouping;
  /**
   * The receivers' estimation profile.
   *
   * @default {"libwebrtc"}
   */
  profile?: Profile;
  /**
   * The enhanced profile's stages (all on unless turned off).
   *
   * @default {{}}
   */
  enhancedMechanisms?: Partial<EnhancedMechanisms>;
  /**
   * Overrides every media flow's jitter, ms.
   *
   * @default {each flow's jitterMs}
   */
  jitterMs?: number;
  /** Called with the share of simulated time done, 0–1. */
  onProgress?: (fraction: number) => void;
}

/** Figures of one flow. */
export interface FlowMetrics {
  /** Name. */
  name: string;
  /** Kind. */
  kind: "media" | "tcp" | "short-tcp" | "cbr";
  /** Delivered rate over its active time in the measured window, bps. */
  rateBps: number;
  /** That rate over the mean capacity of the same time. */
  share: number;
  /** Median queuing delay of its packets, ms. */
  queueDelayP50Ms: number;
  /** 95th percentile queuing delay, ms. */
  queueDelayP95Ms: number;
  /** Packets lost (queue overflow and random loss) over packets sent. */
  lossRatio: number;
  /** REMB packets its receiver sent (media only). */
  rembCount: number;
  /**
   * Share of the samples in the measured window with the receiver's detector in each state (media
   * only; one sample every `sampleMs` while the flow is active).
   */
  detector?: Record<BandwidthUsage, number>;
  /** Same for the receiver's rate-control state (media only). */
  rateControl?: Record<RateControlState, number>;
}

/** Response to one capacity change. */
export interface StepMetrics {
  /** When, s. */
  atS: number;
  /** Capacity before, bps. */
  fromBps: number;
  /** Capacity after, bps. */
  toBps: number;
  /** Up or down. */
  direction: "up" | "down";
  /**
   * Up: time until the media delivered rate (0.5 s window) reaches 90 % of the new capacity.
   * Down: time until the media send rate (0.5 s window) is at or under it. `null` when it does not
   * happen before the next change, s.
   */
  responseS: number | null;
  /** Down, single media flow: time until the estimate is at or under the new capacity, s. */
  estimateS: number | null;
}

/** Media delivered over capacity in one phase of constant capacity. */
export interface PhaseMetrics {
  /** Phase start (or the start of the measured window), s. */
  fromS: number;
  /** Phase end, s. */
  toS: number;
  /** Capacity in the phase, bps. */
  capacityBps: number;
  /** Media delivered over capacity, the whole phase. */
  utilization: number;
  /** Media delivered over capacity in the phase's second half, after half the phase to settle. */
  settledUtilization: number;
}

/** Figures of one period of a long run. */
export interface PeriodMetrics {
  /** Period start, s. */
  fromS: number;
  /** Media delivered over capacity. */
  utilization: number;
  /** 95th percentile queuing delay of media, ms. */
  queueDelayP95Ms: number;
  /** Lowest estimate over capacity among the samples. */
  estimateMinRatio: number;
  /** Highest estimate over capacity among the samples. */
  estimateMaxRatio: number;
  /** V8 heap in use at the period's end, MB. */
  heapUsedMb: number;
}

/** Figures of a run. */
export interface ScenarioMetrics {
  /** Scenario id. */
  id: string;
  /** Host used. */
  host: HostKind;
  /** Grouping used. */
  grouping: Grouping;
  /** The receivers' estimation profile. */
  profile: Profile;
  /** The enhanced stages in use (the enhanced profile only). */
  enhancedMechanisms?: Partial<EnhancedMechanisms>;
  /** Seed used. */
  seed: number;
  /**
   * Media delivered over the capacity, in the whole measured window: start-up and the climbs after
   * each capacity change count.
   */
  utilization: number;
  /**
   * Media delivered over the capacity in the second half of every phase of constant capacity (of
   * the measured window when the capacity is constant): what the flows hold once they had half a
   * phase to converge. RFC 8868 §2 reports convergence apart from utilization; this is that split.
   */
  settledUtilization: number;
  /** Per phase of constant capacity in the measured window. */
  phases: PhaseMetrics[];
  /** Everything delivered over the capacity. */
  linkUtilization: number;
  /** Median queuing delay of media packets, ms. */
  queueDelayP50Ms: number;
  /** 95th percentile queuing delay of media packets, ms. */
  queueDelayP95Ms: number;
  /** Media packets lost over sent. */
  lossRatio: number;
  /** Jain's index over the competing flows in the fairness window. */
  jainIndex: number | undefined;
  /** Capacity steps and the responses to them (scenarios without cross traffic). */
  steps: StepMetrics[];
  /** REMB packets sent by all receivers. */
  rembCount: number;
  /** Per flow. */
  flows: FlowMetrics[];
  /** Per period, for long runs. */
  periods: PeriodMetrics[];
  /** Simulated seconds. */
  simulatedS: number;
  /** abs-send-time wraps (64 s each) in the run. */
  absSendTimeWraps: number;
  /** Media packets delivered to the coordinators. */
  mediaPackets: number;
  /** Wall-clock time of the run, ms. */
  wallMs: number;
}

/** A flow's time series. */
export interface FlowSeries {
  /** Name. */
  name: string;
  /** Kind. */
  kind: FlowMetrics["kind"];
  /** Sent rate per sample, bps. */
  sendRateBps: Float64Array;
  /** Delivered rate per sample, bps. */
  deliveredRateBps: Float64Array;
  /** Mean queuing delay of its packets per sample, ms (NaN without packets). */
  queueDelayMs: Float64Array;
  /** Receiver's estimate at each sample, bps (media). */
  estimateBps?: Float64Array;
  /** Sender's target at each sample, bps (media). */
  targetBps?: Float64Array;
  /** Sender's own (loss-based) estimate before the REMB cap at each sample, bps (media). */
  ownEstimateBps?: Float64Array;
  /** Encoder output at each sample, bps on the wire (media). */
  encoderBps?: Float64Array;
  /**
   * Receiver's fused detector state at each sample (media): 0 normal, 1 overusing, 2 underusing.
   */
  usage?: Uint8Array;
  /** Receiver's rate-control state at each sample (media): 0 hold, 1 increase, 2 decrease. */
  rateControl?: Uint8Array;
  /** Adaptive threshold of the receiver's first stream at each sample, ms (media). */
  thresholdMs?: Float64Array;
  /** Modified delay trend the detector compares with it at each sample, ms (media). */
  modifiedOffsetMs?: Float64Array;
  /**
   * The standing queue the receiver's enhanced controller measured at each sample, ms (media, the
   * enhanced profile only).
   */
  measuredQueueMs?: Float64Array;
  /** Its delivery rate at each sample, bps (media, the enhanced profile only). */
  deliveryRateBps?: Float64Array;
  /** REMB packets: when they left the receiver, s, and their value, bps (the first 20 000). */
  rembs: { timeS: number; bps: number }[];
}

/** The time series of a run. */
export interface ScenarioSeries {
  /** Sample spacing, s. */
  sampleS: number;
  /** End of each sample's interval, s. */
  timeS: Float64Array;
  /** Capacity at each sample, bps. */
  capacityBps: Float64Array;
  /** Per flow. */
  flows: FlowSeries[];
}

/** What {@linkcode runScenario} returns. */
export interface ScenarioResult {
  /** The scenario run. */
  spec: ScenarioSpec;
  /** Its figures. */
  metrics: ScenarioMetrics;
  /** Its time series. */
  series: ScenarioSeries;
}

interface FlowState {
  readonly name: string;
  readonly kind: FlowMetrics["kind"];
  readonly startUs: number;
  readonly stopUs: number;
  readonly path: Path;
  intervalSent: number;
  intervalDelivered: number;
  intervalDelaySum: number;
  intervalDelayCount: number;
  readonly histogram: DelayHistogram;
  sentPackets: number;
  lostPackets: number;
  deliveredBits: number;
  rembCount: number;
  readonly series: FlowSeries;
  sender?: MediaSender;
  coordinator?: Coordinator;
}

const TICK_US = 10_000;
const USAGE_CODES: readonly BandwidthUsage[] = ["normal", "overusing", "underusing"];
const RATE_CONTROL_CODES: readonly RateControlState[] = ["hold", "increase", "decrease"];
const REPORT_US = 1_000_000;
const MAX_REMB_EVENTS = 20_000;
const noTimers = { setInterval: () => 0, clearInterval: () => {} };

/**
 * Runs a scenario in simulated time and measures it.
 *
 * @param spec The scenario.
 * @param options Seed, host, grouping, progress.
 * @returns The metrics and the time series.
 * @throws {RangeError} A bad scenario.
 * @example
 * ```ts
 * import { runScenario } from "./simulator.ts";
 * import assert from "node:assert/strict";
 * const { metrics } = await runScenario({
 *   id: "tiny", title: "2 Mbit/s, 10 s", source: "example", durationS: 10,
 *   capacity: [{ atS: 0, bps: 2_000_000 }], queue: { ms: 300 },
 *   media: [{ name: "video", startS: 0, stopS: 10, oneWayDelayMs: 20 }],
 * });
 * assert.ok(metrics.rembCount > 0 && metrics.utilization > 0.3);
 * ```
 */
export async function runScenario(
  spec: ScenarioSpec,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const wallStart = performance.now();
  const seed = options.seed ?? 1;
  const host = options.host ?? "inline";
  const grouping = options.grouping ?? spec.grouping ?? "per-stream";
  if (!(spec.durationS > 0)) {
    throw new RangeError(
      `Cannot run scenario as 'durationS' must be positive: current value is ${spec.durationS}`,
    );
  }
  const events = new EventQueue();
  const link = new BottleneckLink({
    capacity: spec.capacity,
    queueLimit: spec.queue,
    lossRatio: spec.lossRatio ?? 0,
    burstBytes: spec.burstBytes ?? 0,
    random: new Random(seed, "link"),
  });
  const durationUs = Math.round(spec.durationS * 1e6);
  const measureFromUs = Math.round((spec.measureFromS ?? 0) * 1e6);
  const sampleUs = Math.round((spec.sampleMs ?? 100) * 1000);
  const samples = Math.floor(durationUs / sampleUs);
  const timeS = Float64Array.from({ length: samples }, (_, i) => ((i + 1) * sampleUs) / 1e6);
  const capacitySeries = new Float64Array(samples);
  const flows: FlowState[] = [];
  const pending: Promise<void>[] = [];
  const awaitFlush = host !== "inline";
  let mediaPackets = 0;

  const newFlow = (
    name: string,
    kind: FlowMetrics["kind"],
    startS: number,
    stopS: number,
    path: Path,
  ): FlowState => {
    const flow: FlowState = {
      name,
      kind,
      startUs: Math.round(startS * 1e6),
      stopUs: Math.round(Math.min(stopS, spec.durationS) * 1e6),
      path,
      intervalSent: 0,
      intervalDelivered: 0,
      intervalDelaySum: 0,
      intervalDelayCount: 0,
      histogram: new DelayHistogram(),
      sentPackets: 0,
      lostPackets: 0,
      deliveredBits: 0,
      rembCount: 0,
      series: {
        name,
        kind,
        sendRateBps: new Float64Array(samples),
        deliveredRateBps: new Float64Array(samples),
        queueDelayMs: new Float64Array(samples),
        rembs: [],
      },
    };
    flows.push(flow);
    return flow;
  };

  // Offers a packet of `flow` to the bottleneck now; `onArrive` runs when it reaches the receiver.
  const offer = (flow: FlowState, wireBytes: number, onArrive: () => void) => {
    const nowUs = events.nowUs;
    const measured = nowUs >= measureFromUs;
    flow.intervalSent += wireBytes;
    if (measured) flow.sentPackets++;
    const outcome = link.offer(nowUs, wireBytes);
    if (outcome === "queue-drop") {
      if (measured) flow.lostPackets++;
      return;
    }
    const delayMs = link.queueDelayUs / 1000;
    flow.intervalDelaySum += delayMs;
    flow.intervalDelayCount++;
    if (measured) flow.histogram.add(delayMs);
    if (outcome === "random-loss") {
      if (measured) flow.lostPackets++;
      return;
    }
    events.at(flow.path.arrivalUs(link.departUs), () => {
      flow.intervalDelivered += wireBytes;
      if (events.nowUs >= measureFromUs) flow.deliveredBits += wireBytes * 8;
      onArrive();
    });
  };

  // --- media flows ---------------------------------------------------------------------------
  const singleMedia = spec.media.length === 1;
  const stepDownEstimateUs: (number | undefined)[] = spec.capacity.map(() => undefined);
  let ssrcBase = 0x10000000;
  spec.media.forEach((m, index) => {
    const random = new Random(seed, `media-${index}`);
    const path = new Path({
      oneWayDelayMs: m.oneWayDelayMs,
      jitterMs: options.jitterMs ?? m.jitterMs ?? 0,
      feedbackDelayMs: m.feedbackDelayMs,
      random: new Random(seed, `jitter-${index}`),
    });
    const flow = newFlow(m.name, "media", m.startS, m.stopS, path);
    flow.series.estimateBps = new Float64Array(samples);
    flow.series.targetBps = new Float64Array(samples);
    flow.series.ownEstimateBps = new Float64Array(samples);
    flow.series.encoderBps = new Float64Array(samples);
    flow.series.usage = new Uint8Array(samples);
    flow.series.rateControl = new Uint8Array(samples);
    flow.series.thresholdMs = new Float64Array(samples);
    flow.series.modifiedOffsetMs = new Float64Array(samples);
    if (options.profile === "enhanced") {
      flow.series.measuredQueueMs = new Float64Array(samples);
      flow.series.deliveryRateBps = new Float64Array(samples);
    }
    const ssrcs = Array.from(
      { length: m.streams ?? 1 },
      (_, i) => (ssrcBase + index * 16 + i) >>> 0,
    );
    ssrcBase += 0x01000000;
    const receiverOffsetUs = Math.floor(random.uniform(0, 3600e6)); // the receiver's own clock
    const coordinator = new Coordinator({
      host,
      grouping,
      profile: options.profile,
      enhancedMechanisms: options.enhancedMechanisms,
      senderSsrc: (0x5eed0000 + index) >>> 0,
      clock: { nowMs: () => (events.nowUs + receiverOffsetUs) / 1000 },
      timers: noTimers,
      onEstimate: (bps) => {
        if (!singleMedia) return;
        const nowUs = events.nowUs;
        for (let k = spec.capacity.length - 1; k > 0; k--) {
          const step = spec.capacity[k];
          if (step.atS * 1e6 > nowUs) continue;
          if (
            step.bps < spec.capacity[k - 1].bps && stepDownEstimateUs[k] === undefined &&
            bps <= step.bps
          ) {
            stepDownEstimateUs[k] = nowUs - step.atS * 1e6;
          }
          break;
        }
      },
      onRemb: (bytes) => {
        const remb = decodeRemb(bytes);
        flow.rembCount++;
        if (flow.series.rembs.length < MAX_REMB_EVENTS) {
          flow.series.rembs.push({ timeS: events.nowUs / 1e6, bps: remb.bitrateBps });
        }
        events.at(events.nowUs + path.feedbackDelayUs, () => sender.onRemb(remb.bitrateBps));
      },
      onError: (error) => {
        throw error;
      },
    });
    flow.coordinator = coordinator;
    if (m.receiverKnowsRtt) {
      coordinator.setRtt((path.oneWayDelayUs + path.feedbackDelayUs) / 1000);
    }
    // Receiver side: per-SSRC sequence bookkeeping for receiver reports.
    const maxSeq = new Map<number, number>();
    let received = 0, reportedExpected = 0, reportedReceived = 0;
    const info = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0, absSendTime: 0 };
    const sender: MediaSender = new MediaSender({
      events,
      random,
      ssrcs,
      startS: m.startS,
      stopS: Math.min(m.stopS, spec.durationS),
      pauses: m.pauses,
      maxBitrateBps: m.maxBitrateBps,
      keyFrameIntervalS: m.keyFrameIntervalS,
      transmit: (packet: MediaPacket) =>
        offer(flow, packet.wireBytes, () => {
          info.ssrc = packet.ssrc;
          info.arrivalTimeMs = (events.nowUs + receiverOffsetUs) / 1000;
          info.payloadSize = packet.payloadSize;
          info.rtpTimestamp = packet.rtpTimestamp;
          info.absSendTime = packet.absSendTime;
          coordinator.onPacket(info);
          mediaPackets++;
          received++;
          if (packet.seq > (maxSeq.get(packet.ssrc) ?? -1)) maxSeq.set(packet.ssrc, packet.seq);
        }),
    });
    flow.sender = sender;
    const tick = () => {
      const promise = coordinator.flush();
      if (awaitFlush) pending.push(promise);
      if (events.nowUs + TICK_US <= durationUs) events.at(events.nowUs + TICK_US, tick);
    };
    events.at(0, tick);
    const report = () => {
      let expected = 0;
      for (const seq of maxSeq.values()) expected += seq + 1;
      const newExpected = expected - reportedExpected;
      const newReceived = received - reportedReceived;
      reportedExpected = expected;
      reportedReceived = received;
      if (newExpected > 0) {
        const fraction = Math.max(0, (newExpected - newReceived) / newExpected);
        events.at(events.nowUs + path.feedbackDelayUs, () => sender.onReceiverReport(fraction));
      }
      if (events.nowUs + REPORT_US <= durationUs) events.at(events.nowUs + REPORT_US, report);
    };
    events.at(Math.round(m.startS * 1e6) + REPORT_US, report);
  });

  // --- cross traffic -------------------------------------------------------------------------
  const tcpTransmit = (flow: FlowState) => (segment: TcpSegment) =>
    offer(flow, segment.wireBytes, () => {
      events.at(events.nowUs + flow.path.feedbackDelayUs, () => segment.connection.onAck(segment));
    });
  (spec.tcp ?? []).forEach((t, index) => {
    const path = new Path({
      oneWayDelayMs: t.oneWayDelayMs,
      random: new Random(seed, `tcp-${index}`),
    });
    const flow = newFlow(t.name, "tcp", t.startS, t.stopS, path);
    events.at(flow.startUs, () => {
      const connection = new TcpConnection({ events, transmit: tcpTransmit(flow) });
      events.at(flow.stopUs, () => connection.stop());
    });
  });
  if (spec.shortTcp) {
    const s = spec.shortTcp;
    const path = new Path({
      oneWayDelayMs: s.oneWayDelayMs,
      random: new Random(seed, "short-tcp"),
    });
    const flow = newFlow(s.name, "short-tcp", s.startS, s.stopS, path);
    for (let i = 0; i < s.sources; i++) {
      new ShortTcpSource({
        events,
        random: new Random(seed, `short-tcp-${i}`),
        transmit: tcpTransmit(flow),
        startS: s.startS,
        stopS: s.stopS,
        initiallyOn: i < s.initiallyOn,
        minBytes: s.minBytes,
        maxBytes: s.maxBytes,
        meanOffS: s.meanOffS,
      });
    }
  }
  (spec.cbr ?? []).forEach((c, index) => {
    const path = new Path({
      oneWayDelayMs: c.oneWayDelayMs,
      random: new Random(seed, `cbr-${index}`),
    });
    const flow = newFlow(c.name, "cbr", c.startS, c.stopS, path);
    const gapUs = Math.max(1, Math.round((c.packetBytes * 8 * 1e6) / c.bps));
    const send = () => {
      if (events.nowUs >= flow.stopUs) return;
      offer(flow, c.packetBytes, () => {});
      events.at(events.nowUs + gapUs, send);
    };
    events.at(flow.startUs, send);
  });

  // --- sampling --------------------------------------------------------------------------------
  const periodUs = spec.periodS ? Math.round(spec.periodS * 1e6) : 0;
  const periods: PeriodMetrics[] = [];
  const periodHistogram = new DelayHistogram();
  let periodDelivered = 0, periodCapacityFromUs = 0;
  let periodMin = Infinity, periodMax = 0;
  let sampleIndex = 0;
  const sample = () => {
    const nowUs = events.nowUs;
    const i = sampleIndex++;
    if (i >= samples) return;
    const sampleS = sampleUs / 1e6;
    capacitySeries[i] = link.capacityAt(nowUs - 1);
    for (const flow of flows) {
      const s = flow.series;
      s.sendRateBps[i] = (flow.intervalSent * 8) / sampleS;
      s.deliveredRateBps[i] = (flow.intervalDelivered * 8) / sampleS;
      s.queueDelayMs[i] = flow.intervalDelayCount > 0
        ? flow.intervalDelaySum / flow.intervalDelayCount
        : NaN;
      if (flow.kind === "media") {
        const estimate = flow.coordinator!.getEstimate();
        s.estimateBps![i] = estimate;
        s.targetBps![i] = flow.sender!.targetBps;
        s.ownEstimateBps![i] = flow.sender!.ownEstimateBps;
        s.encoderBps![i] = flow.sender!.encoderBps;
        const stats = flow.coordinator!.stats();
        s.usage![i] = USAGE_CODES.indexOf(stats.usage);
        s.rateControl![i] = RATE_CONTROL_CODES.indexOf(stats.rateControlState);
        s.thresholdMs![i] = stats.streams[0]?.thresholdMs ?? NaN;
        s.modifiedOffsetMs![i] = stats.streams[0]?.modifiedOffsetMs ?? NaN;
        if (s.measuredQueueMs) {
          s.measuredQueueMs[i] = stats.enhanced?.queueDelayMs ?? NaN;
          s.deliveryRateBps![i] = stats.enhanced?.deliveryRateBps ?? NaN;
        }
        if (periodUs > 0) {
          periodDelivered += flow.intervalDelivered * 8;
          if (flow.intervalDelayCount > 0) periodHistogram.add(s.queueDelayMs[i]);
          if (nowUs > 60e6) { // after the first minute of the run
            const ratio = estimate / capacitySeries[i];
            periodMin = Math.min(periodMin, ratio);
            periodMax = Math.max(periodMax, ratio);
          }
        }
      }
      flow.intervalSent =
        flow.intervalDelivered =
        flow.intervalDelaySum =
        flow.intervalDelayCount =
          0;
    }
    if (periodUs > 0 && nowUs % periodUs === 0) {
      periods.push({
        fromS: (nowUs - periodUs) / 1e6,
        utilization: periodDelivered / link.capacityBits(periodCapacityFromUs, nowUs),
        queueDelayP95Ms: periodHistogram.percentile(95),
        estimateMinRatio: periodMin,
        estimateMaxRatio: periodMax,
        heapUsedMb: heapUsedMb(),
      });
      periodHistogram.clear();
      periodDelivered = 0;
      periodCapacityFromUs = nowUs;
      periodMin = Infinity;
      periodMax = 0;
    }
    options.onProgress?.(nowUs / durationUs);
    if (nowUs + sampleUs <= durationUs) events.at(nowUs + sampleUs, sample);
  };
  events.at(sampleUs, sample);

  // --- run ---------------------------------------------------------------------------------------
  try {
    while (events.runNext(durationUs)) {
      if (pending.length > 0) {
        await Promise.all(pending);
        pending.length = 0;
      }
    }
  } finally {
    for (const flow of flows) await flow.coordinator?.close();
  }

  // --- metrics -----------------------------------------------------------------------------------
  const media = flows.filter((f) => f.kind === "media");
  const flowMetrics: FlowMetrics[] = flows.map((flow) => {
    const fromUs = Math.max(measureFromUs, flow.startUs);
    const toUs = Math.max(fromUs + 1, flow.stopUs);
    return {
      name: flow.name,
      kind: flow.kind,
      rateBps: flow.deliveredBits / ((toUs - fromUs) / 1e6),
      share: flow.deliveredBits / link.capacityBits(fromUs, toUs),
      queueDelayP50Ms: flow.histogram.percentile(50),
      queueDelayP95Ms: flow.histogram.percentile(95),
      lossRatio: flow.sentPackets > 0 ? flow.lostPackets / flow.sentPackets : 0,
      rembCount: flow.rembCount,
      ...(flow.kind === "media"
        ? {
          detector: stateShares(flow.series.usage!, USAGE_CODES, fromUs, toUs, sampleUs),
          rateControl: stateShares(
            flow.series.rateControl!,
            RATE_CONTROL_CODES,
            fromUs,
            toUs,
            sampleUs,
          ),
        }
        : {}),
    };
  });
  const capacityBits = link.capacityBits(measureFromUs, durationUs);
  const mediaHistogram = new DelayHistogram();
  for (const flow of media) mediaHistogram.merge(flow.histogram);
  const sum = (list: FlowState[], pick: (f: FlowState) => number) =>
    list.reduce((total, f) => total + pick(f), 0);

  let jain: number | undefined;
  if (spec.fairness) {
    const from = Math.round(spec.fairness.fromS * 1e6 / sampleUs);
    const to = Math.min(samples, Math.round(spec.fairness.toS * 1e6 / sampleUs));
    const competing = flows.filter((f) =>
      f.kind === "media" || (spec.fairness!.includeTcp && f.kind === "tcp")
    );
    jain = jainIndex(competing.map((f) => {
      let total = 0;
      for (let i = from; i < to; i++) total += f.series.deliveredRateBps[i];
      return total;
    }));
  }

  const steps: StepMetrics[] = [];
  if (flows.length === media.length) {
    const window = Math.max(1, Math.round(500_000 / sampleUs));
    const delivered = new Float64Array(samples), sent = new Float64Array(samples);
    for (const flow of media) {
      for (let i = 0; i < samples; i++) {
        delivered[i] += flow.series.deliveredRateBps[i];
        sent[i] += flow.series.sendRateBps[i];
      }
    }
    const deliveredAvg = movingAverage(delivered, window);
    const sentAvg = movingAverage(sent, window);
    for (let k = 1; k < spec.capacity.length; k++) {
      const step = spec.capacity[k], before = spec.capacity[k - 1];
      const from = Math.round(step.atS * 1e6 / sampleUs);
      const to = k + 1 < spec.capacity.length
        ? Math.round(spec.capacity[k + 1].atS * 1e6 / sampleUs)
        : samples;
      const up = step.bps > before.bps;
      const n = up
        ? samplesUntil(deliveredAvg, from, to, (v) => v >= 0.9 * step.bps)
        : samplesUntil(sentAvg, from, to, (v) => v <= step.bps);
      const estimateUs = stepDownEstimateUs[k];
      steps.push({
        atS: step.atS,
        fromBps: before.bps,
        toBps: step.bps,
        direction: up ? "up" : "down",
        responseS: n === undefined ? null : ((n + 1) * sampleUs) / 1e6,
        estimateS: !up && singleMedia && estimateUs !== undefined ? estimateUs / 1e6 : null,
      });
    }
  }

  // Phases of constant capacity, on sample boundaries (the delivered series is per sample).
  const phases: PhaseMetrics[] = [];
  let settledBits = 0, settledCapacityBits = 0;
  const deliveredBits = (from: number, to: number) => {
    let bits = 0;
    for (const flow of media) {
      for (let i = from; i < to; i++) bits += flow.series.deliveredRateBps[i] * sampleUs / 1e6;
    }
    return bits;
  };
  for (let k = 0; k < spec.capacity.length; k++) {
    const startUs = Math.max(measureFromUs, Math.round(spec.capacity[k].atS * 1e6));
    const endUs = Math.min(
      durationUs,
      k + 1 < spec.capacity.length ? Math.round(spec.capacity[k + 1].atS * 1e6) : durationUs,
    );
    const from = Math.round(startUs / sampleUs),
      to = Math.min(samples, Math.round(endUs / sampleUs));
    if (to - from < 2) continue;
    const middle = from + Math.floor((to - from) / 2);
    const capacity = (a: number, b: number) => link.capacityBits(a * sampleUs, b * sampleUs);
    const settled = deliveredBits(middle, to);
    settledBits += settled;
    settledCapacityBits += capacity(middle, to);
    phases.push({
      fromS: (from * sampleUs) / 1e6,
      toS: (to * sampleUs) / 1e6,
      capacityBps: spec.capacity[k].bps,
      utilization: deliveredBits(from, to) / capacity(from, to),
      settledUtilization: settled / capacity(middle, to),
    });
  }

  const metrics: ScenarioMetrics = {
    id: spec.id,
    host,
    grouping,
    profile: options.profile ?? "libwebrtc",
    ...(options.profile === "enhanced" && options.enhancedMechanisms
      ? { enhancedMechanisms: options.enhancedMechanisms }
      : {}),
    seed,
    utilization: sum(media, (f) => f.deliveredBits) / capacityBits,
    settledUtilization: settledCapacityBits > 0 ? settledBits / settledCapacityBits : 0,
    phases,
    linkUtilization: sum(flows, (f) => f.deliveredBits) / capacityBits,
    queueDelayP50Ms: mediaHistogram.percentile(50),
    queueDelayP95Ms: mediaHistogram.percentile(95),
    lossRatio: sum(media, (f) => f.lostPackets) / Math.max(1, sum(media, (f) => f.sentPackets)),
    jainIndex: jain,
    steps,
    rembCount: sum(media, (f) => f.rembCount),
    flows: flowMetrics,
    periods,
    simulatedS: spec.durationS,
    absSendTimeWraps: Math.floor(spec.durationS / 64),
    mediaPackets,
    wallMs: performance.now() - wallStart,
  };
  return {
    spec,
    metrics,
    series: {
      sampleS: sampleUs / 1e6,
      timeS,
      capacityBps: capacitySeries,
      flows: flows.map((f) => f.series),
    },
  };
}

// Share of the samples in [fromUs, toUs) spent in each state.
function stateShares<T extends string>(
  codes: Uint8Array,
  names: readonly T[],
  fromUs: number,
  toUs: number,
  sampleUs: number,
): Record<T, number> {
  const counts = names.map(() => 0);
  const from = Math.ceil(fromUs / sampleUs),
    to = Math.min(codes.length, Math.floor(toUs / sampleUs));
  for (let i = from; i < to; i++) counts[codes[i]]++;
  const total = Math.max(1, to - from);
  return Object.fromEntries(names.map((name, k) => [name, counts[k] / total])) as Record<T, number>;
}

// Heap in use, after a full collection when the runtime allows one (--v8-flags=--expose-gc), so
// that samples show what is kept rather than when the collector last ran.
function heapUsedMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
}
