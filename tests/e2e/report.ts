/**
 * The closed-loop test's figures: one row per second, a summary per capacity phase, the
 * assertions, and their plain-text rendering. Pure functions, no I/O.
 *
 * @module
 */

/** A stretch of the scenario with one bottleneck rate. */
export interface Phase {
  /** Start, s after the first RTP packet. */
  fromS: number;
  /** End, s. */
  toS: number;
  /** Bottleneck rate, kbit/s (tc's kbit: 1000 bit/s). */
  capacityKbps: number;
}

/** What was measured in one second, the interval (t-1, t]. */
export interface SecondRow {
  /** End of the interval, s after the first RTP packet. */
  t: number;
  /** Bottleneck rate during the interval, kbit/s. */
  capacityKbps: number;
  /** RTP bytes (header, payload, padding; RTX included) received in the interval, kbit/s. */
  deliveredKbps: number;
  /** REMB in force at the end of the interval (the last one sent), kbit/s; null before the first. */
  rembKbps: number | null;
  /** REMB packets sent in the interval. */
  rembCount: number;
  /** Chromium's RTT from RTCP RR (mean of the measurements in the interval, else the last), ms. */
  rttMs: number | null;
  /** Chromium's selected candidate pair's currentRoundTripTime (STUN), ms. */
  pairRttMs: number | null;
  /**
   * The receiver's RTT from Chromium's RTCP XR DLRR answers to its RRTRs (mean of the samples in
   * the interval), ms; null without one.
   */
  xrRttMs: number | null;
  /** DLRR answers taken as RTT samples in the interval. */
  dlrrCount: number;
  /** The RTT the receiver's rate controller used at the end of the interval, ms. */
  controllerRttMs: number;
  /**
   * 95th percentile of the one-way delay of the packets that arrived in the interval (arrival time
   * minus abs-send-time), relative to the lowest of the run, ms: queueing plus the jitter of
   * stamping arrival times on the receiver's JS thread.
   */
  owdP95Ms: number | null;
  /** Bytes queued in the bottleneck at the end of the interval, as delay at its rate, ms. */
  queueMs: number;
  /**
   * Longest lateness of a 5 ms timer on the receiver's JS thread in the interval, ms: how long
   * werift's UDP callbacks, and so the arrival stamps, may have been held back.
   */
  loopLagMaxMs: number;
  /** What the bottleneck passed in the interval, as link-level bytes (Ethernet, IP, UDP, SRTP, RTCP), kbit/s. */
  linkKbps: number;
  /** Packets the bottleneck passed in the interval. */
  bottleneckPackets: number;
  /** Packets the bottleneck dropped in the interval. */
  bottleneckDrops: number;
  /** Chromium's availableOutgoingBitrate (its estimate, capped by REMB), kbit/s. */
  aobKbps: number | null;
  /** Chromium's encoder target, kbit/s. */
  targetKbps: number;
  /** Chromium's send rate, retransmissions included, kbit/s. */
  sendKbps: number;
  /** Encoded resolution and frame rate, e.g. "640x360@30". */
  encoded: string;
  /** Chromium's connection state at the end of the interval. */
  connectionState: string;
}

/** Figures of one phase, over its settled part. */
export interface PhaseSummary {
  /** The phase. */
  phase: Phase;
  /** Seconds summarised (the phase less its first `skipS`). */
  seconds: number;
  /** Mean delivered rate, kbit/s. */
  deliveredKbps: number;
  /** Mean delivered rate over capacity. */
  utilization: number;
  /** Mean link-level rate through the bottleneck over capacity (headers and RTCP included). */
  linkUtilization: number;
  /** 95th percentile (nearest rank) of the RR RTT, ms; null without samples. */
  rttP95Ms: number | null;
  /** Median RR RTT, ms. */
  rttMedianMs: number | null;
  /** Median of the receiver's XR RTT, ms; null without samples. */
  xrRttMedianMs: number | null;
  /** 95th percentile of the receiver's XR RTT, ms. */
  xrRttP95Ms: number | null;
  /** Bottleneck drops over packets offered to it. */
  lossFraction: number;
  /** Median REMB, kbit/s. */
  rembMedianKbps: number | null;
  /** Lowest REMB, kbit/s. */
  rembMinKbps: number | null;
  /** Highest REMB, kbit/s. */
  rembMaxKbps: number | null;
  /**
   * Longest stall of the receiver's JS thread over the whole phase (its first seconds included,
   * as a stall's effect on the estimate lasts), ms.
   */
  maxStallMs: number;
}

/** Bounds the assertions check. */
export interface Expectations {
  /**
   * Seconds at the start of each phase left out of its summary.
   *
   * @default {10}
   */
  skipS?: number;
  /**
   * Least mean delivered rate over capacity, per phase.
   *
   * @default {0.65}
   */
  minUtilization?: number;
  /**
   * Highest RTT p95 per phase, ms.
   *
   * @default {150}
   */
  maxRttP95Ms?: number;
  /**
   * Median REMB per phase must lie within these multiples of capacity.
   *
   * @default {[0.6, 1.6]}
   */
  rembBand?: [number, number];
  /**
   * The high phase's median REMB must exceed the low phases' by at least this factor.
   *
   * @default {1.3}
   */
  rembStepFactor?: number;
  /**
   * Longest silence between two REMB packets after the first, ms (the throttler resends at least
   * once a second).
   *
   * @default {1500}
   */
  maxRembGapMs?: number;
}

/**
 * Nearest-rank percentile.
 *
 * @param values The sample (not modified).
 * @param p Percentile in [0, 100].
 * @returns The value, or null for an empty sample.
 * @example
 * ```ts
 * import { percentile } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(percentile([5, 1, 4, 2, 3], 95), 5);
 * assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
 * assert.equal(percentile([], 50), null);
 * ```
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Summarises each phase over its rows after the first `skipS` seconds.
 *
 * @param rows One row per second.
 * @param phases The scenario.
 * @param skipS Seconds left out at the start of each phase.
 * @returns One summary per phase.
 * @example
 * ```ts
 * import { summarize } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const row = (t: number) => ({
 *   t, capacityKbps: 1000, deliveredKbps: 800, rembKbps: 900, rembCount: 2, rttMs: 3,
 *   pairRttMs: 2, xrRttMs: 4, dlrrCount: 1, controllerRttMs: 4, owdP95Ms: 1, queueMs: 0, loopLagMaxMs: 1, linkKbps: 850, bottleneckPackets: 100, bottleneckDrops: 0, aobKbps: 900,
 *   targetKbps: 850, sendKbps: 820, encoded: "640x360@30", connectionState: "connected",
 * });
 * const rows = Array.from({ length: 30 }, (_, i) => row(i + 1));
 * const [s] = summarize(rows, [{ fromS: 0, toS: 30, capacityKbps: 1000 }], 10);
 * assert.equal(s.seconds, 20);
 * assert.equal(s.utilization, 0.8);
 * assert.equal(s.rttP95Ms, 3);
 * assert.equal(s.xrRttMedianMs, 4);
 * ```
 */
export function summarize(
  rows: readonly SecondRow[],
  phases: readonly Phase[],
  skipS: number,
): PhaseSummary[] {
  return phases.map((phase) => {
    const settled = rows.filter((r) => r.t > phase.fromS + skipS && r.t <= phase.toS);
    const whole = rows.filter((r) => r.t > phase.fromS && r.t <= phase.toS);
    const delivered = mean(settled.map((r) => r.deliveredKbps));
    const rtts = settled.map((r) => r.rttMs).filter((v): v is number => v !== null);
    const xrRtts = settled.map((r) => r.xrRttMs).filter((v): v is number => v !== null);
    const rembs = settled.map((r) => r.rembKbps).filter((v): v is number => v !== null);
    const passed = sum(settled.map((r) => r.bottleneckPackets));
    const drops = sum(settled.map((r) => r.bottleneckDrops));
    return {
      phase,
      seconds: settled.length,
      deliveredKbps: delivered,
      utilization: delivered / phase.capacityKbps,
      linkUtilization: mean(settled.map((r) => r.linkKbps)) / phase.capacityKbps,
      rttP95Ms: percentile(rtts, 95),
      rttMedianMs: percentile(rtts, 50),
      xrRttMedianMs: percentile(xrRtts, 50),
      xrRttP95Ms: percentile(xrRtts, 95),
      lossFraction: passed + drops === 0 ? 0 : drops / (passed + drops),
      rembMedianKbps: percentile(rembs, 50),
      rembMinKbps: rembs.length ? Math.min(...rembs) : null,
      rembMaxKbps: rembs.length ? Math.max(...rembs) : null,
      maxStallMs: Math.max(0, ...whole.map((r) => r.loopLagMaxMs)),
    };
  });
}

/**
 * Checks the regression guard: per phase, utilization and RTT p95 within bounds and the REMB
 * following capacity; over the whole run, media and REMB every second and the connection up.
 *
 * @param rows One row per second.
 * @param summaries From {@linkcode summarize}.
 * @param rembTimesMs When each REMB was sent, ms, in order.
 * @param expectations Bounds.
 * @returns The failures, empty when all hold.
 * @example
 * ```ts
 * import { checkExpectations } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkExpectations([], [], []), ["No second was measured"]);
 * ```
 */
export function checkExpectations(
  rows: readonly SecondRow[],
  summaries: readonly PhaseSummary[],
  rembTimesMs: readonly number[],
  expectations: Expectations = {},
): string[] {
  const minUtilization = expectations.minUtilization ?? 0.65;
  const maxRttP95Ms = expectations.maxRttP95Ms ?? 150;
  const [bandLow, bandHigh] = expectations.rembBand ?? [0.6, 1.6];
  const stepFactor = expectations.rembStepFactor ?? 1.3;
  const maxGapMs = expectations.maxRembGapMs ?? 1500;
  const failures: string[] = [];
  if (rows.length === 0) return ["No second was measured"];
  for (const s of summaries) {
    const name = `phase ${s.phase.fromS}-${s.phase.toS} s at ${s.phase.capacityKbps} kbit/s`;
    if (s.seconds === 0) {
      failures.push(`${name}: no settled second was measured`);
      continue;
    }
    // Delivered and capacity in the same units: the IP bytes that crossed the tbf bottleneck, whose
    // rate is what tbf enforces (RTP payload alone leaves out ~5 % of headers).
    if (!(s.linkUtilization >= minUtilization)) {
      failures.push(
        `${name}: link-level utilization ${
          fix(s.linkUtilization, 2)
        } < ${minUtilization} (RTP payload ${fix(s.utilization, 2)})`,
      );
    }
    if (s.rttP95Ms === null) failures.push(`${name}: no RTT was measured`);
    else if (s.rttP95Ms > maxRttP95Ms) {
      failures.push(`${name}: RTT p95 ${fix(s.rttP95Ms, 1)} ms > ${maxRttP95Ms} ms`);
    }
    const remb = s.rembMedianKbps;
    if (remb === null) failures.push(`${name}: no REMB was sent`);
    else if (remb < bandLow * s.phase.capacityKbps || remb > bandHigh * s.phase.capacityKbps) {
      failures.push(
        `${name}: median REMB ${fix(remb, 0)} kbit/s outside ` +
          `[${bandLow}, ${bandHigh}] x capacity`,
      );
    }
  }
  // The REMB follows capacity: a higher-capacity phase gets a clearly higher REMB than its
  // lower-capacity neighbours.
  for (let i = 0; i + 1 < summaries.length; i++) {
    const [a, b] = [summaries[i], summaries[i + 1]];
    if (a.rembMedianKbps === null || b.rembMedianKbps === null) continue;
    if (a.phase.capacityKbps === b.phase.capacityKbps) continue;
    const [low, high] = a.phase.capacityKbps < b.phase.capacityKbps ? [a, b] : [b, a];
    if (high.rembMedianKbps! < stepFactor * low.rembMedianKbps!) {
      failures.push(
        `REMB does not follow the capacity step ${a.phase.capacityKbps} -> ` +
          `${b.phase.capacityKbps} kbit/s: medians ${fix(a.rembMedianKbps, 0)} -> ` +
          `${fix(b.rembMedianKbps, 0)} kbit/s (want a factor >= ${stepFactor})`,
      );
    }
  }
  const silent = rows.filter((r) => r.deliveredKbps === 0).map((r) => r.t);
  if (silent.length) failures.push(`No RTP arrived in second(s) ${silent.join(", ")}`);
  for (let i = 1; i < rembTimesMs.length; i++) {
    const gap = rembTimesMs[i] - rembTimesMs[i - 1];
    if (gap > maxGapMs) {
      failures.push(`No REMB was sent for ${gap.toFixed(0)} ms (allowed: ${maxGapMs} ms)`);
    }
  }
  const down = rows.filter((r) => r.connectionState !== "connected").map((r) => r.t);
  if (down.length) failures.push(`Chromium was not connected in second(s) ${down.join(", ")}`);
  return failures;
}

/**
 * Renders the per-second table as Markdown.
 *
 * @param rows One row per second.
 * @returns The table.
 * @example
 * ```ts
 * import { formatTable } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(formatTable([]), /^\| t s \| capacity/);
 * ```
 */
export function formatTable(rows: readonly SecondRow[]): string {
  const head = [
    "t s",
    "capacity",
    "delivered",
    "link",
    "REMB",
    "REMBs",
    "RTT ms",
    "XR RTT",
    "DLRRs",
    "AIMD RTT",
    "pair RTT",
    "owd p95",
    "queue ms",
    "JS lag",
    "drops",
    "aob",
    "target",
    "send",
    "encoded",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    lines.push(
      `| ${
        [
          r.t,
          r.capacityKbps,
          fix(r.deliveredKbps, 0),
          fix(r.linkKbps, 0),
          r.rembKbps === null ? "-" : fix(r.rembKbps, 0),
          r.rembCount,
          r.rttMs === null ? "-" : fix(r.rttMs, 1),
          r.xrRttMs === null ? "-" : fix(r.xrRttMs, 1),
          r.dlrrCount,
          fix(r.controllerRttMs, 0),
          r.pairRttMs === null ? "-" : fix(r.pairRttMs, 1),
          r.owdP95Ms === null ? "-" : fix(r.owdP95Ms, 1),
          fix(r.queueMs, 0),
          fix(r.loopLagMaxMs, 0),
          r.bottleneckDrops,
          r.aobKbps === null ? "-" : fix(r.aobKbps, 0),
          fix(r.targetKbps, 0),
          fix(r.sendKbps, 0),
          r.encoded,
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/**
 * Renders the per-phase summary as Markdown.
 *
 * @param summaries From {@linkcode summarize}.
 * @param skipS Seconds left out at the start of each phase (named in the heading).
 * @returns The table.
 * @example
 * ```ts
 * import { formatSummary } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(formatSummary([], 10), /first 10 s/);
 * ```
 */
export function formatSummary(summaries: readonly PhaseSummary[], skipS: number): string {
  const lines = [
    `Per phase, first ${skipS} s of each left out (kbit/s; utilization = RTP bytes received / ` +
    "capacity, link-level = what the bottleneck passed / capacity; RTT from Chromium's RTCP RR, " +
    "XR RTT the receiver's own from Chromium's DLRR answers):",
    "",
    "| phase | capacity | s | delivered | utilization | link-level | RTT p50 ms | RTT p95 ms | XR RTT p50 ms | XR RTT p95 ms | loss | REMB median | REMB min–max | max JS stall ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.phase.fromS}–${s.phase.toS} s | ${s.phase.capacityKbps} | ${s.seconds} | ${
        fix(s.deliveredKbps, 0)
      } | ${fix(s.utilization, 2)} | ${fix(s.linkUtilization, 2)} | ${opt(s.rttMedianMs, 1)} | ${
        opt(s.rttP95Ms, 1)
      } | ${opt(s.xrRttMedianMs, 1)} | ${opt(s.xrRttP95Ms, 1)} | ${
        fix(100 * s.lossFraction, 2)
      } % | ${opt(s.rembMedianKbps, 0)} | ${opt(s.rembMinKbps, 0)}–${opt(s.rembMaxKbps, 0)} | ${
        fix(s.maxStallMs, 0)
      } |`,
    );
  }
  return lines.join("\n");
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function fix(value: number, digits: number): string {
  return value.toFixed(digits);
}

function opt(value: number | null, digits: number): string {
  return value === null ? "-" : value.toFixed(digits);
}

/** How a run took the capacity steps: the 1 → 2 climb and the 2 → 1 drop. */
export interface StepFigures {
  /**
   * Seconds from the step up until the bottleneck first passes ≥ 90 % of the new capacity
   * (link-level), or null when it does not before the next step.
   */
  rampS: number | null;
  /** Packets the bottleneck dropped in the 10 s after the step down. */
  dropsAfterStepDown: number;
  /** Chromium's lowest send rate in those 10 s, kbit/s. */
  lowestSendKbps: number | null;
  /** Chromium's lowest encoded frame rate in those 10 s, fps. */
  lowestFps: number | null;
  /**
   * Seconds after the step down until the delivered rate is back at ≥ 80 % of the new capacity
   * for good (the last second under it in those 10 s), 0 when it never fell under.
   */
  recoveryS: number;
}

/**
 * Reads the step figures off the per-second rows: the first rise and the first fall of capacity.
 *
 * @param rows One row per second.
 * @param phases The scenario, with a rise then a fall.
 * @returns The figures.
 * @example
 * ```ts
 * import { stepFigures } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const phases = [
 *   { fromS: 0, toS: 2, capacityKbps: 1000 },
 *   { fromS: 2, toS: 4, capacityKbps: 2000 },
 *   { fromS: 4, toS: 6, capacityKbps: 1000 },
 * ];
 * const row = (t: number, link: number, delivered: number, drops = 0) => ({
 *   t, capacityKbps: 0, deliveredKbps: delivered, rembKbps: null, rembCount: 0, rttMs: 1,
 *   pairRttMs: 1, xrRttMs: 1, dlrrCount: 1, controllerRttMs: 1, owdP95Ms: 1, queueMs: 0,
 *   loopLagMaxMs: 0, linkKbps: link,
 *   bottleneckPackets: 100, bottleneckDrops: drops, aobKbps: null, targetKbps: 0,
 *   sendKbps: delivered, encoded: `640x360@${drops > 0 ? 12 : 30}`, connectionState: "connected",
 * });
 * const rows = [row(1, 950, 900), row(2, 950, 900), row(3, 1500, 1400), row(4, 1900, 1800),
 *   row(5, 1000, 600, 40), row(6, 1000, 950)];
 * const f = stepFigures(rows, phases);
 * assert.equal(f.rampS, 2);
 * assert.equal(f.dropsAfterStepDown, 40);
 * assert.equal(f.lowestFps, 12);
 * assert.equal(f.recoveryS, 1);
 * ```
 */
export function stepFigures(rows: readonly SecondRow[], phases: readonly Phase[]): StepFigures {
  const upAt = phases.findIndex((p, i) => i > 0 && p.capacityKbps > phases[i - 1].capacityKbps);
  const downAt = phases.findIndex((p, i) => i > 0 && p.capacityKbps < phases[i - 1].capacityKbps);
  let rampS: number | null = null;
  if (upAt > 0) {
    const up = phases[upAt];
    const hit = rows.find((r) =>
      r.t > up.fromS && r.t <= up.toS && r.linkKbps >= 0.9 * up.capacityKbps
    );
    rampS = hit ? hit.t - up.fromS : null;
  }
  let drops = 0;
  let lowestSend: number | null = null;
  let lowestFps: number | null = null;
  let recoveryS = 0;
  if (downAt > 0) {
    const down = phases[downAt];
    const after = rows.filter((r) => r.t > down.fromS && r.t <= down.fromS + 10);
    for (const r of after) {
      drops += r.bottleneckDrops;
      lowestSend = lowestSend === null ? r.sendKbps : Math.min(lowestSend, r.sendKbps);
      const fps = Number(/@(\d+)/.exec(r.encoded)?.[1] ?? NaN);
      if (Number.isFinite(fps)) lowestFps = lowestFps === null ? fps : Math.min(lowestFps, fps);
      if (r.deliveredKbps < 0.8 * down.capacityKbps) recoveryS = r.t - down.fromS;
    }
  }
  return {
    rampS,
    dropsAfterStepDown: drops,
    lowestSendKbps: lowestSend,
    lowestFps,
    recoveryS,
  };
}

/** One profile's run, for {@linkcode formatComparison}. */
export interface ProfileRun {
  /** The estimation profile. */
  profile: string;
  /** Its phases. */
  summaries: readonly PhaseSummary[];
  /** Its steps. */
  steps: StepFigures;
}

/**
 * Renders the profiles side by side as one Markdown table: per phase the link-level and RTP
 * utilization, RTT p95 and loss, then the step figures.
 *
 * @param runs One per profile, in run order.
 * @returns The table.
 * @example
 * ```ts
 * import { formatComparison } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const steps = { rampS: 4, dropsAfterStepDown: 10, lowestSendKbps: 700, lowestFps: 25, recoveryS: 1 };
 * assert.match(formatComparison([{ profile: "enhanced", summaries: [], steps }]), /\| enhanced \| 4 \| 10 \|/);
 * ```
 */
export function formatComparison(runs: readonly ProfileRun[]): string {
  const phases = runs[0]?.summaries.map((s) => s.phase) ?? [];
  const per = (label: string) => phases.map((p) => `${label} ${p.capacityKbps / 1000}M`);
  const head = [
    "profile",
    ...per("link-level"),
    ...per("RTP util"),
    ...per("RTT p95 ms"),
    ...per("loss %"),
    "ramp 1→2 s",
    "drops 2→1",
    "lowest send kbit/s",
    "lowest fps",
    "back ≥ 0.8 s",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const run of runs) {
    const s = run.summaries;
    const st = run.steps;
    lines.push(
      `| ${
        [
          run.profile,
          ...s.map((x) => fix(x.linkUtilization, 2)),
          ...s.map((x) => fix(x.utilization, 2)),
          ...s.map((x) => opt(x.rttP95Ms, 1)),
          ...s.map((x) => fix(100 * x.lossFraction, 2)),
          st.rampS === null ? "never" : String(st.rampS),
          String(st.dropsAfterStepDown),
          opt(st.lowestSendKbps, 0),
          st.lowestFps === null ? "-" : String(st.lowestFps),
          String(st.recoveryS),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}
