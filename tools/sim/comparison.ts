/**
 * Runs over several seeds and several receiver variants (the two estimation profiles, or the
 * enhanced profile's stages one by one), folded into one row per scenario and variant: the median
 * of each figure over the seeds and its spread (smallest–largest).
 *
 * @module
 */

import type { EnhancedMechanisms } from "../../core/enhanced_rate_control.ts";
import type { Profile } from "../../core/estimator_settings.ts";
import type { ScenarioMetrics } from "./simulator.ts";

/** A receiver to run: a profile, and for the enhanced one which of its stages. */
export interface Variant {
  /** Name in tables. */
  name: string;
  /** The estimation profile. */
  profile: Profile;
  /** The enhanced stages (defaults for those left out). */
  enhancedMechanisms?: Partial<EnhancedMechanisms>;
}

/** The two profiles as they ship. */
export const PROFILE_VARIANTS: readonly Variant[] = [
  { name: "libwebrtc", profile: "libwebrtc" },
  { name: "enhanced", profile: "enhanced" },
];

const NONE: EnhancedMechanisms = { probes: false, ramp: false, drain: false, competitive: false };

/**
 * Each enhanced stage alone (a stage that is off behaves as libwebrtc's), the kept ones together,
 * and those with the stage that was not kept. The competitive mode counts the drain's cuts, so it
 * is measured on top of the drain.
 */
export const ABLATION_VARIANTS: readonly Variant[] = [
  { name: "libwebrtc", profile: "libwebrtc" },
  { name: "probes alone", profile: "enhanced", enhancedMechanisms: { ...NONE, probes: true } },
  { name: "ramp alone", profile: "enhanced", enhancedMechanisms: { ...NONE, ramp: true } },
  { name: "drain alone", profile: "enhanced", enhancedMechanisms: { ...NONE, drain: true } },
  {
    name: "drain + competitive",
    profile: "enhanced",
    enhancedMechanisms: { ...NONE, drain: true, competitive: true },
  },
  { name: "enhanced", profile: "enhanced" },
  { name: "enhanced + probes", profile: "enhanced", enhancedMechanisms: { probes: true } },
];

/** A figure over the seeds. */
export interface Spread {
  /** Median (the lower middle for an even count). */
  median: number;
  /** Smallest. */
  min: number;
  /** Largest. */
  max: number;
  /** Seeds with a value. */
  count: number;
}

/** One scenario under one variant, over the seeds. */
export interface ComparisonRow {
  /** Scenario id. */
  id: string;
  /** Grouping used. */
  grouping: string;
  /** Variant name. */
  variant: string;
  /** Seeds run. */
  seeds: number[];
  /** Media delivered over capacity, whole measured window. */
  utilization: Spread;
  /** Media over capacity in the second half of each phase. */
  settledUtilization: Spread;
  /** Median queuing delay of media packets, ms. */
  queueDelayP50Ms: Spread;
  /** 95th percentile queuing delay of media packets, ms. */
  queueDelayP95Ms: Spread;
  /** Media loss, %. */
  lossPercent: Spread;
  /** Jain's index, where flows compete. */
  jainIndex: Spread | undefined;
  /** Media's share of the capacity, where TCP competes. */
  mediaShare: Spread | undefined;
  /** TCP's share of the capacity, where TCP competes. */
  tcpShare: Spread | undefined;
  /** Time to 90 % of a higher capacity, s, the first step up (an unreached step counts as its phase's length). */
  stepUpS: Spread | undefined;
}

/**
 * Median and range of some numbers.
 *
 * @param values The numbers; non-finite ones are left out.
 * @returns The spread, or `undefined` when none is finite.
 * @example
 * ```ts
 * import { spread } from "./comparison.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(spread([3, 1, 2, 9]), { median: 2, min: 1, max: 9, count: 4 });
 * ```
 */
export function spread(values: readonly number[]): Spread | undefined {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return undefined;
  return {
    median: finite[Math.floor((finite.length - 1) / 2)],
    min: finite[0],
    max: finite[finite.length - 1],
    count: finite.length,
  };
}

/**
 * Folds runs into one row per scenario and variant, in the order they first appear.
 *
 * @param runs Each run's metrics with the variant it ran.
 * @returns The rows.
 * @example
 * ```ts
 * import { compare } from "./comparison.ts";
 * import { runScenario } from "./simulator.ts";
 * import assert from "node:assert/strict";
 * const spec = {
 *   id: "tiny", title: "tiny", source: "example", durationS: 5,
 *   capacity: [{ atS: 0, bps: 1e6 }], queue: { ms: 300 },
 *   media: [{ name: "video", startS: 0, stopS: 5, oneWayDelayMs: 20 }],
 * };
 * const runs = [];
 * for (const seed of [1, 2]) {
 *   runs.push({ variant: "libwebrtc", metrics: (await runScenario(spec, { seed })).metrics });
 * }
 * const [row] = compare(runs);
 * assert.deepEqual(row.seeds, [1, 2]);
 * assert.ok(row.utilization.min <= row.utilization.max);
 * ```
 */
export function compare(
  runs: readonly { variant: string; metrics: ScenarioMetrics }[],
): ComparisonRow[] {
  const groups = new Map<string, { variant: string; metrics: ScenarioMetrics[] }>();
  for (const run of runs) {
    const key = `${run.metrics.id}\u0000${run.metrics.grouping}\u0000${run.variant}`;
    const group = groups.get(key) ?? { variant: run.variant, metrics: [] };
    group.metrics.push(run.metrics);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ variant, metrics: ms }) => {
    const pick = (f: (m: ScenarioMetrics) => number) => spread(ms.map(f))!;
    const tcp = ms[0].flows.some((f) => f.kind === "tcp");
    const media = (m: ScenarioMetrics) =>
      m.flows.filter((f) => f.kind === "media").reduce((s, f) => s + f.share, 0);
    const tcpShare = (m: ScenarioMetrics) =>
      m.flows.filter((f) => f.kind === "tcp").reduce((s, f) => s + f.share, 0);
    const up = (m: ScenarioMetrics) => {
      const step = m.steps.find((s) => s.direction === "up");
      if (!step) return NaN;
      if (step.responseS !== null) return step.responseS;
      const phase = m.phases.find((p) => p.fromS >= step.atS);
      return phase ? phase.toS - phase.fromS : NaN;
    };
    return {
      id: ms[0].id,
      grouping: ms[0].grouping,
      variant,
      seeds: ms.map((m) => m.seed),
      utilization: pick((m) => m.utilization),
      settledUtilization: pick((m) => m.settledUtilization),
      queueDelayP50Ms: pick((m) => m.queueDelayP50Ms),
      queueDelayP95Ms: pick((m) => m.queueDelayP95Ms),
      lossPercent: pick((m) => 100 * m.lossRatio),
      jainIndex: spread(ms.map((m) => m.jainIndex ?? NaN)),
      mediaShare: tcp ? spread(ms.map(media)) : undefined,
      tcpShare: tcp ? spread(ms.map(tcpShare)) : undefined,
      stepUpS: spread(ms.map(up)),
    };
  });
}

const HEADER = [
  "scenario",
  "variant",
  "util",
  "settled",
  "p50 ms",
  "p95 ms",
  "loss %",
  "Jain",
  "media / TCP share",
  "up s",
];

/**
 * The rows as cells: each figure as "median [min–max]".
 *
 * @param rows From {@linkcode compare}.
 * @returns Header and rows.
 */
export function comparisonCells(
  rows: readonly ComparisonRow[],
): { header: string[]; rows: string[][] } {
  const cell = (s: Spread | undefined, digits: number) =>
    s === undefined
      ? ""
      : s.count === 1 || s.min === s.max
      ? s.median.toFixed(digits)
      : `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;
  let last = "";
  return {
    header: HEADER,
    rows: rows.map((r) => {
      const name = `${r.id} (${r.grouping})`;
      const first = name !== last;
      last = name;
      return [
        first ? name : "",
        r.variant,
        cell(r.utilization, 2),
        cell(r.settledUtilization, 2),
        cell(r.queueDelayP50Ms, 0),
        cell(r.queueDelayP95Ms, 0),
        cell(r.lossPercent, 2),
        cell(r.jainIndex, 3),
        r.mediaShare ? `${cell(r.mediaShare, 2)} / ${cell(r.tcpShare, 2)}` : "",
        cell(r.stepUpS, 1),
      ];
    }),
  };
}

/**
 * The comparison as an aligned text table.
 *
 * @param rows From {@linkcode compare}.
 * @returns The table.
 */
export function comparisonText(rows: readonly ComparisonRow[]): string {
  const { header, rows: cells } = comparisonCells(rows);
  const all = [header, ...cells];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r, i) =>
    r.map((cell, c) => c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ")
      .trimEnd() + (i === 0 ? "\n" + widths.map((w) => "-".repeat(w)).join("  ") : "")
  ).join("\n");
}

/**
 * The comparison as a Markdown table.
 *
 * @param rows From {@linkcode compare}.
 * @returns The table.
 */
export function comparisonMarkdown(rows: readonly ComparisonRow[]): string {
  const { header, rows: cells } = comparisonCells(rows);
  const line = (c: string[]) => `| ${c.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...cells.map(line)].join("\n");
}
