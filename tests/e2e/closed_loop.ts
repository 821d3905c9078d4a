/**
 * The closed loop with real Chromium: headless Chromium sends VP8 from a generated video through a
 * `tbf` bottleneck to a werift receiver whose estimator sends REMB back, and Chromium obeys it.
 * The bottleneck runs at 1 Mbit/s for 30 s, 2 Mbit/s for 30 s, then 1 Mbit/s for 30 s.
 *
 * Each second the receiver's delivered rate, the REMB sent, Chromium's RTT (from the receiver's RR),
 * the receiver's own RTT (from Chromium's RTCP XR DLRR answers to the RRTRs sent with the REMB)
 * and the bottleneck's queue and drops are recorded; the per-second table, the per-phase summary,
 * the step figures and a chart are written, and the process exits 0 only when the expectations in
 * report.ts hold. One run is one estimation profile; launch.ts runs both, one after the other.
 *
 * This runs inside the receiver's network namespace; {@link ./launch.ts} sets the namespaces up,
 * starts this, and always removes them. Run it with `deno task e2e`, never directly.
 *
 * @module
 */

import type { RtpPacket } from "werift";
import type { Profile } from "../../core/estimator_settings.ts";
import { launchChromiumSender, type SenderSample, withTimeout } from "./chromium_sender.ts";
import { renderClosedLoopChart } from "./chart.ts";
import { type NetnsPair, type QdiscStats, readQdiscStats, setBottleneckRate } from "./netns.ts";
import { PacketLog } from "./packet_log.ts";
import { createReceiver, type RttSample, type SentRemb } from "./receiver.ts";
import {
  checkExpectations,
  type Expectations,
  formatSummary,
  formatTable,
  type Phase,
  type SecondRow,
  stepFigures,
  summarize,
} from "./report.ts";

/** What the launcher hands over, as JSON in the first argument. */
export interface ClosedLoopConfig {
  /** The namespaces; this process runs in `rxNs`. */
  netns: NetnsPair;
  /** Script that execs Chromium inside `txNs`. */
  chromiumWrapper: string;
  /** The y4m file for the fake camera. */
  videoPath: string;
  /** Where the table, summary, JSON and chart go. */
  reportDir: string;
  /** The receiver's estimation profile. */
  profile: Profile;
}

/** The scenario (tc's kbit: 1000 bit/s). */
export const PHASES: readonly Phase[] = [
  { fromS: 0, toS: 30, capacityKbps: 1000 },
  { fromS: 30, toS: 60, capacityKbps: 2000 },
  { fromS: 60, toS: 90, capacityKbps: 1000 },
];
/** Seconds at the start of each phase left out of the assertions. */
export const SKIP_S = 10;
/**
 * The guard per profile, loose enough never to flake: libwebrtc's behaviour as before; the
 * enhanced profile must fill each phase at least to 0.75 link-level, take the 1 → 2 Mbit/s step
 * within 10 s and keep RTT p95 under 500 ms (its measured figures are in the report and the README).
 */
export const GUARDS: Readonly<
  Record<Profile, Expectations & { maxRampS?: number; rttAgreement: boolean }>
> = {
  libwebrtc: { skipS: SKIP_S, rttAgreement: true },
  // Its ramp's overshoots put the queue at 100–250 ms at times (RTT p95 78–210 ms measured): bound
  // loosely, the figures go in the report.
  // Its RTTs are compared only where the queue stays short: with the queue swinging by 100–250 ms
  // the two RTTs' medians, sampled at different instants, differ by up to that swing.
  enhanced: {
    skipS: SKIP_S,
    minUtilization: 0.75,
    maxRampS: 10,
    maxRttP95Ms: 500,
    rttAgreement: false,
  },
};
/** Lifts VP8's 1.7 Mbit/s cap for ≤ 640x480 so the 2 Mbit/s phase can be filled. */
const MAX_BITRATE_BPS = 3_000_000;
const STEP_TIMEOUT_MS = 20_000;
/** DLRR answers expected over the run: Chromium reports about once a second. */
const MIN_DLRR_ANSWERS = 45;
/** The receiver's XR RTT and Chromium's RR RTT agree per phase within this, or half the RR RTT. */
const RTT_AGREEMENT_MS = 10;
/** A receiver stall longer than this is named when expectations fail. */
const STALL_HINT_MS = 100;
const ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/**
 * Runs the scenario and reports; once the receiver exists, never throws.
 *
 * @param config From the launcher.
 * @returns The exit code: 0 when every expectation holds.
 */
export async function runClosedLoop(config: ClosedLoopConfig): Promise<number> {
  const receiver = createReceiver(config.profile);
  let sender: Awaited<ReturnType<typeof launchChromiumSender>> | undefined;
  const failures: string[] = [];
  const notes: string[] = [];
  const rows: SecondRow[] = [];
  const log = new PacketLog();
  const rembs = () =>
    receiver.rembs.filter((r) => r.written).map((r) => ({
      atMs: r.atMs,
      kbps: r.bitrateBps / 1000,
    }));
  let t0: number | undefined;
  const lag = new LoopLagMonitor(5);
  try {
    sender = await launchChromiumSender({
      executablePath: config.chromiumWrapper,
      videoPath: config.videoPath,
      timeoutMs: STEP_TIMEOUT_MS,
    });
    notes.push(`Chromium ${sender.version}; receiver: werift 0.25.2, ${receiver.description}`);
    const loadAtStart = loadAverage();

    // Offer/answer. werift offers a recvonly video m-line: VP8 with goog-remb, sdes:mid and
    // abs-send-time, no transport-cc; Chromium answers and so sends with REMB only.
    const pc = receiver.pc;
    await pc.setLocalDescription(await pc.createOffer());
    await waitFor(() => pc.iceGatheringState === "complete", 5_000, "werift ICE gathering");
    const answer = await sender.answer(pc.localDescription!.sdp, MAX_BITRATE_BPS);
    notes.push(`negotiated: ${describeAnswer(answer)}`);
    notes.push(
      `RTCP in the SDP: offer ${describeRtcp(pc.localDescription!.sdp)}; answer ${
        describeRtcp(answer)
      }`,
    );
    if (/transport-wide-cc/.test(answer)) {
      failures.push("Chromium's answer negotiated transport-cc: REMB would only be a cap");
    }

    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    // Every packet is logged by the harness on its own subscription, stamped on receipt. No
    // packet can arrive before this: ICE and DTLS start with the answer.
    const absId = receiver.transceiver.headerExtensions.find((e) => e.uri === ABS_SEND_TIME_URI)
      ?.id;
    receiver.transceiver.receiver.dtlsTransport.onRtp.subscribe((rtp: RtpPacket) => {
      const atMs = performance.now();
      t0 ??= atMs;
      const h = rtp.header;
      const ext = h.extensions.find((e) => e.id === absId);
      log.record(
        atMs,
        h.ssrc,
        h.payloadType,
        h.sequenceNumber,
        h.serializeSize + rtp.payload.length + h.paddingSize,
        ext && ext.payload.length >= 3
          ? (ext.payload[0] << 16) | (ext.payload[1] << 8) | ext.payload[2]
          : undefined,
      );
    });
    await waitFor(() => t0 !== undefined, STEP_TIMEOUT_MS, "the first RTP packet");
    const start = t0!;

    lag.start();
    let lastSample: SenderSample | undefined;
    let lastQdisc = await readQdiscStats(config.netns);
    let lastRttMs: number | null = null;
    for (let k = 1; k <= PHASES.at(-1)!.toS; k++) {
      await sleepUntil(start + k * 1000);
      const phase = PHASES.find((p) => k > p.fromS && k <= p.toS)!;
      const next = PHASES.find((p) => p.fromS === k);
      if (next) await setBottleneckRate(config.netns, next.capacityKbps);
      const [sample, qdisc] = await Promise.all([
        sender.sample(),
        readQdiscStats(config.netns),
      ]);
      const row = makeRow(k, phase, rembs(), start, sample, lastSample, qdisc, lastQdisc, {
        rtts: receiver.rtts,
        controllerRttMs: receiver.stats().estimator.estimator.rttMs,
      });
      if (row.rttMs === null) row.rttMs = lastRttMs;
      lastRttMs = row.rttMs;
      row.loopLagMaxMs = lag.takeMax();
      rows.push(row);
      lastSample = sample;
      lastQdisc = qdisc;
      console.log(`${config.profile}: ${progressLine(row)}`);
      if (sample.connectionState === "failed" || sample.connectionState === "closed") {
        failures.push(`Chromium's connection ${sample.connectionState} at ${k} s`);
        break;
      }
    }
    notes.push(...startNotes(receiver.rembs, start));
    notes.push(
      `load average (1 min) ${loadAtStart} at the start, ${loadAverage()} at the end, on ` +
        `${navigator.hardwareConcurrency} CPUs`,
    );
    const withAbs = log.sendMs.filter((v) => !Number.isNaN(v)).length;
    notes.push(
      `${log.length} RTP packets, ${(100 * withAbs / Math.max(1, log.length)).toFixed(1)} % ` +
        `with abs-send-time; ${rembs().length} REMB packets sent`,
    );
    const { adapter, estimator } = receiver.stats();
    notes.push(
      `adapter: ${adapter.rtpPackets} packets, ${adapter.unroutedPackets} unrouted, ` +
        `${adapter.reserializedPackets} re-serialized, SSRCs ${adapter.boundSsrcs.join(", ")}; ` +
        `estimator: ${estimator.estimator.host} host, ${estimator.packets} packets estimated ` +
        `(${
          estimator.streams.map((s) => `${s.ssrc} ${s.mimeType} ${s.source ?? "passed"}`).join("; ")
        })`,
    );
    notes.push(`RTCP: ${receiver.rtcp.summary()}`);
    const rtt = estimator.receiverRtt;
    notes.push(
      `receiver RTT: ${rtt?.rrtrsSent ?? 0} RRTRs sent, ${rtt?.samples ?? 0} DLRR answers taken ` +
        `(rejected: ${JSON.stringify(rtt?.rejected ?? {})}), ${estimator.rtcpPackets} RTCP ` +
        `packets read, ${estimator.malformedRtcpPackets} malformed; the rate controller's RTT ` +
        `${estimator.estimator.rttMs} ms (${estimator.rttSource}) at the end`,
    );
    for (const { atMs, hex } of receiver.rtcp.xrHex) {
      notes.push(`  Chromium RTCP with XR at ${(atMs - start).toFixed(0)} ms: ${hex}`);
    }
    const counters: [string, number][] = [
      ["malformed packets", estimator.malformedPackets],
      ["packets without a send time", estimator.packetsWithoutSendTime],
      ["packet errors", estimator.packetErrors],
      ["REMB write errors", estimator.rembWriteErrors],
      ["werift sendRtcp errors", adapter.rtcpSendErrors],
      ["SRTCP decryption errors", adapter.rtcpDecryptErrors],
      ["RTCP read errors", estimator.rtcpErrors],
      ["failed lanes", estimator.estimator.failedLanes],
    ];
    for (const [what, count] of counters) {
      if (count > 0) failures.push(`the receiver counted ${count} ${what}`);
    }
    // Chromium answers the RRTRs sent with the REMB (no SDP attribute asked for): the receiver
    // knows its RTT, from well-formed RTCP, within the first seconds.
    if ((rtt?.samples ?? 0) < MIN_DLRR_ANSWERS) {
      failures.push(
        `the receiver took ${rtt?.samples ?? 0} RTT samples from Chromium's DLRR answers ` +
          `(want at least ${MIN_DLRR_ANSWERS})`,
      );
    }
    if (estimator.malformedRtcpPackets > 0) {
      failures.push(`the receiver found ${estimator.malformedRtcpPackets} malformed RTCP packets`);
    }
  } catch (error) {
    failures.push(`The run broke off: ${(error as Error).stack ?? error}`);
  } finally {
    lag.stop();
    await withTimeout(sender?.close() ?? Promise.resolve(), 15_000, "Chromium to close")
      .catch((error) => failures.push(String(error)));
    await withTimeout(receiver.close(), 10_000, "the receiver to close")
      .catch((error) => failures.push(String(error)));
  }
  for (const error of receiver.errors) failures.push(`the receiver reported: ${error}`);
  notes.push(...receiver.events);
  if (t0 !== undefined) fillFromLog(rows, log, t0);

  const summaries = summarize(rows, PHASES, SKIP_S);
  const steps = stepFigures(rows, PHASES);
  const guard = GUARDS[config.profile];
  failures.push(...checkExpectations(rows, summaries, rembs().map((r) => r.atMs), guard));
  if (guard.maxRampS !== undefined && !(steps.rampS !== null && steps.rampS <= guard.maxRampS)) {
    failures.push(
      `the 1 -> 2 Mbit/s step took ${steps.rampS ?? "more than 30"} s to 90 % of the link ` +
        `(allowed: ${guard.maxRampS} s)`,
    );
  }
  // Both RTTs measure the same path, one each way round: per phase their medians agree.
  for (const s of guard.rttAgreement ? summaries : []) {
    if (s.xrRttMedianMs === null || s.rttMedianMs === null) {
      failures.push(`phase ${s.phase.fromS}-${s.phase.toS} s: no XR or RR RTT to compare`);
      continue;
    }
    const tolerance = Math.max(RTT_AGREEMENT_MS, s.rttMedianMs / 2);
    if (Math.abs(s.xrRttMedianMs - s.rttMedianMs) > tolerance) {
      failures.push(
        `phase ${s.phase.fromS}-${s.phase.toS} s: the receiver's XR RTT median ` +
          `${s.xrRttMedianMs.toFixed(1)} ms and Chromium's RR RTT median ` +
          `${s.rttMedianMs.toFixed(1)} ms differ by more than ${tolerance.toFixed(1)} ms`,
      );
    }
  }
  const table = formatTable(rows);
  const summary = formatSummary(summaries, SKIP_S);
  const maxStallMs = Math.max(0, ...summaries.map((s) => s.maxStallMs));
  const stallHint = failures.length > 0 && maxStallMs > STALL_HINT_MS
    ? `\nNote: the receiver's JS thread stalled for up to ${maxStallMs.toFixed(0)} ms in this ` +
      "run (JS lag column). Arrival times stamped after a stall look like queueing to the " +
      "estimator; on this VM such stalls come with heavy load from other processes and hit idle " +
      "processes as well."
    : "";
  const verdict = failures.length === 0
    ? `closed loop (${config.profile}): all expectations hold`
    : `closed loop (${config.profile}): ${failures.length} expectation(s) failed:\n- ${
      failures.join("\n- ")
    }${stallHint}`;
  const text = [...notes, "", table, "", summary, "", verdict].join("\n");
  console.log(`\n${text}`);
  try {
    await Deno.mkdir(config.reportDir, { recursive: true });
    await Deno.writeTextFile(`${config.reportDir}/closed_loop.md`, `${text}\n`);
    await Deno.writeTextFile(
      `${config.reportDir}/closed_loop.json`,
      JSON.stringify(
        {
          notes,
          startEpochMs: t0 === undefined ? null : Date.now() - (performance.now() - t0),
          profile: config.profile,
          phases: PHASES,
          rows,
          summaries,
          steps,
          failures,
          rembs: receiver.rembs.map((r) => ({ ...r, atMs: r.atMs - (t0 ?? 0) })),
        },
        null,
        1,
      ),
    );
    if (t0 !== undefined) {
      await Deno.writeTextFile(`${config.reportDir}/closed_loop_packets.csv`, log.toCsv(t0));
    }
    const svg = await withTimeout(
      renderClosedLoopChart(
        rows,
        `Chromium → tbf bottleneck → werift + receiver-side GCC (REMB), ${config.profile} profile`,
      ),
      30_000,
      "the chart",
    );
    await Deno.writeTextFile(`${config.reportDir}/closed_loop.svg`, svg);
    console.log(`\nwrote ${config.reportDir}/closed_loop.{md,json,svg}`);
  } catch (error) {
    console.error(`Could not write the report: ${error}`);
    return 1;
  }
  return failures.length === 0 ? 0 : 1;
}

function makeRow(
  k: number,
  phase: Phase,
  rembs: readonly { atMs: number; kbps: number }[],
  start: number,
  sample: SenderSample,
  last: SenderSample | undefined,
  qdisc: QdiscStats,
  lastQdisc: QdiscStats,
  receiverSide: { rtts: readonly RttSample[]; controllerRttMs: number },
): SecondRow {
  const endMs = start + k * 1000;
  let rembKbps: number | null = null;
  let rembCount = 0;
  for (const r of rembs) {
    if (r.atMs > endMs) break;
    rembKbps = r.kbps;
    if (r.atMs > endMs - 1000) rembCount++;
  }
  const dtS = last ? (sample.pageTimeMs - last.pageTimeMs) / 1000 : 1;
  const xr = receiverSide.rtts.filter((r) => r.atMs > endMs - 1000 && r.atMs <= endMs);
  const newRtts = sample.rttMeasurements - (last?.rttMeasurements ?? 0);
  const rttMs = newRtts > 0
    ? (1000 * (sample.totalRttS - (last?.totalRttS ?? 0))) / newRtts
    : sample.rttS === null
    ? null
    : 1000 * sample.rttS;
  return {
    t: k,
    capacityKbps: phase.capacityKbps,
    deliveredKbps: 0, // from the packet log at the end
    owdP95Ms: null,
    rembKbps,
    rembCount,
    rttMs,
    pairRttMs: sample.pairRttS === null ? null : 1000 * sample.pairRttS,
    xrRttMs: xr.length === 0 ? null : xr.reduce((sum, r) => sum + r.sampleMs, 0) / xr.length,
    dlrrCount: xr.length,
    controllerRttMs: receiverSide.controllerRttMs,
    queueMs: (qdisc.backlogBytes * 8) / phase.capacityKbps,
    loopLagMaxMs: 0, // from the lag monitor
    linkKbps: ((qdisc.sentBytes - lastQdisc.sentBytes) * 8) / 1000,
    bottleneckPackets: qdisc.sentPackets - lastQdisc.sentPackets,
    bottleneckDrops: qdisc.drops - lastQdisc.drops,
    aobKbps: sample.availableOutgoingBitrateBps === null
      ? null
      : sample.availableOutgoingBitrateBps / 1000,
    targetKbps: sample.targetBitrateBps / 1000,
    sendKbps: (((sample.bytesSent - (last?.bytesSent ?? 0)) * 8) / 1000) / dtS,
    encoded: `${sample.frameWidth}x${sample.frameHeight}@${Math.round(sample.framesPerSecond)}`,
    connectionState: sample.connectionState,
  };
}

/** Measures how late a short timer fires: the stalls of this JS thread, where werift stamps. */
class LoopLagMonitor {
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #max = 0;

  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  start(): void {
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#max = Math.max(this.#max, now - last - this.#periodMs);
      last = now;
    }, this.#periodMs);
  }

  takeMax(): number {
    const max = this.#max;
    this.#max = 0;
    return max;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The 1-minute load average, as text ("?" where unknown). */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "?";
  }
}

/** How the start went: Chromium adopts a REMB only in its first ~2 s as its start estimate. */
function startNotes(rembs: readonly SentRemb[], start: number): string[] {
  const at = (r: SentRemb) =>
    `${(r.atMs - start).toFixed(0)} ms after the first RTP packet: ${
      (r.bitrateBps / 1000).toFixed(0)
    } kbit/s`;
  const first = rembs.find((r) => r.written);
  if (!first) return ["no REMB was sent"];
  const notes = [`first REMB (${first.source}) ${at(first)}`];
  if (first.atMs - start > 2000) {
    notes.push("  later than ~2 s: Chromium keeps its own 300 kbit/s start and ramps at ~8 %/s");
  }
  const estimated = rembs.find((r) => r.written && r.source === "estimator");
  notes.push(estimated ? `first estimator REMB ${at(estimated)}` : "the estimator sent no REMB");
  return notes;
}

/** Fills delivered rate and one-way delay from the packet log, by time of receipt. */
function fillFromLog(rows: SecondRow[], log: PacketLog, t0: number): void {
  const bytes = new Float64Array(rows.length);
  for (let i = 0; i < log.length; i++) {
    const k = Math.floor((log.arrivalMs[i] - t0) / 1000);
    if (k >= 0 && k < rows.length) bytes[k] += log.bytes[i];
  }
  const owd = log.owdP95PerSecond(t0, rows.length);
  rows.forEach((row, i) => {
    row.deliveredKbps = (bytes[i] * 8) / 1000;
    row.owdP95Ms = owd[i];
  });
}

function progressLine(r: SecondRow): string {
  const f = (v: number | null, d = 0) => (v === null ? "-" : v.toFixed(d));
  return `t=${String(r.t).padStart(2)} s  cap ${r.capacityKbps}  REMB ${
    f(r.rembKbps).padStart(4)
  }  RTT ${f(r.rttMs, 1).padStart(5)} ms  XR RTT ${f(r.xrRttMs, 1).padStart(5)} ms  queue ${
    f(r.queueMs).padStart(3)
  } ms  lag ${f(r.loopLagMaxMs).padStart(2)} ms  drops ${r.bottleneckDrops}  aob ${
    f(r.aobKbps)
  }  ${r.encoded}`;
}

/** The RTCP attributes that bear on the receiver RTT, as an SDP carries them. */
function describeRtcp(sdp: string): string {
  const lines = sdp.split(/\r?\n/).filter((l) =>
    /^a=rtcp-(rsize|mux|xr)|^a=rtcp-fb:\S+ (rrtr|goog-remb|transport-cc)/.test(l)
  );
  const unique = [...new Set(lines)];
  return unique.length ? unique.join(" ") : "none";
}

function describeAnswer(sdp: string): string {
  const has = (re: RegExp) => re.test(sdp);
  return [
    `abs-send-time ${has(/abs-send-time/) ? "yes" : "NO"}`,
    `goog-remb ${has(/goog-remb/) ? "yes" : "NO"}`,
    `transport-cc ${has(/transport-wide-cc|transport-cc/) ? "YES" : "no"}`,
    `codec ${/a=rtpmap:\d+ ([^/\r\n]+)/.exec(sdp)?.[1] ?? "?"}`,
  ].join(", ");
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sleepUntil(atMs: number): Promise<void> {
  const ms = atMs - performance.now();
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

// Last, so every declaration above is initialized when it runs.
if (import.meta.main) {
  const config = JSON.parse(Deno.args[0] ?? "null") as ClosedLoopConfig | null;
  if (!config?.netns) {
    console.error("closed_loop.ts is started by launch.ts (deno task e2e), not directly");
    Deno.exit(2);
  }
  let code = 1;
  try {
    code = await runClosedLoop(config);
  } catch (error) {
    console.error(`FAILED: the closed loop could not start: ${(error as Error).stack ?? error}`);
  }
  Deno.exit(code);
}
