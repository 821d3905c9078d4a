/**
 * What a run produces for people: a summary table for the terminal, a Markdown table, and a report
 * folder with an HTML page, one SVG chart per scenario (capacity, estimates, delivered rates and
 * REMBs; queuing delay) drawn with Vega-Lite through `tools/chart.ts`, and the metrics as JSON.
 *
 * @module
 */

import { renderVegaLite } from "../chart.ts";
import { comparisonCells, comparisonMarkdown, type ComparisonRow } from "./comparison.ts";
import type { ScenarioMetrics, ScenarioResult } from "./simulator.ts";

const MAX_POINTS = 1500;

/**
 * The Vega-Lite specification of a scenario's chart.
 *
 * @param result A run.
 * @returns The specification, data inline.
 * @example
 * ```ts
 * import { chartSpec } from "./report.ts";
 * import { runScenario } from "./simulator.ts";
 * import assert from "node:assert/strict";
 * const result = await runScenario({
 *   id: "tiny", title: "tiny", source: "example", durationS: 5,
 *   capacity: [{ atS: 0, bps: 1e6 }], queue: { ms: 300 },
 *   media: [{ name: "video", startS: 0, stopS: 5, oneWayDelayMs: 20 }],
 * });
 * const spec = chartSpec(result) as { vconcat: unknown[] };
 * assert.equal(spec.vconcat.length, 2);
 * ```
 */
export function chartSpec(result: ScenarioResult): object {
  const { series, spec } = result;
  const n = series.timeS.length;
  const stride = Math.max(1, Math.ceil(n / MAX_POINTS));
  const rates: { t: number; series: string; kbps: number | null }[] = [];
  const delays: { t: number; flow: string; ms: number | null }[] = [];
  const rembs: { t: number; remb: string; kbps: number }[] = [];
  const mean = (values: Float64Array, i: number) => {
    let sum = 0, count = 0;
    for (let k = i; k < Math.min(n, i + stride); k++) {
      if (!Number.isNaN(values[k])) {
        sum += values[k];
        count++;
      }
    }
    return count > 0 ? sum / count : null;
  };
  const many = series.flows.length > 1;
  for (let i = 0; i < n; i += stride) {
    const t = series.timeS[Math.min(n - 1, i + stride - 1)];
    rates.push({ t, series: "capacity", kbps: series.capacityBps[i] / 1000 });
    for (const flow of series.flows) {
      const label = many ? ` · ${flow.name}` : "";
      const delivered = mean(flow.deliveredRateBps, i);
      rates.push({
        t,
        series: `delivered${label}`,
        kbps: delivered === null ? null : delivered / 1000,
      });
      if (flow.estimateBps) {
        const e = flow.estimateBps[Math.min(n - 1, i + stride - 1)];
        rates.push({ t, series: `estimate${label}`, kbps: e > 0 ? e / 1000 : null });
      }
      delays.push({ t, flow: flow.name, ms: mean(flow.queueDelayMs, i) });
      if (flow.measuredQueueMs) {
        delays.push({
          t,
          flow: `${flow.name} · standing queue the receiver measured`,
          ms: mean(flow.measuredQueueMs, i),
        });
      }
    }
  }
  for (const flow of series.flows) {
    const step = Math.max(1, Math.ceil(flow.rembs.length / MAX_POINTS));
    for (let i = 0; i < flow.rembs.length; i += step) {
      const r = flow.rembs[i];
      rembs.push({ t: r.timeS, remb: `REMB${many ? ` · ${flow.name}` : ""}`, kbps: r.bps / 1000 });
    }
  }
  const x = {
    field: "t",
    type: "quantitative",
    title: "time (s)",
    scale: { domain: [0, spec.durationS] },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: spec.title, anchor: "start" },
    background: "white",
    config: { legend: { labelLimit: 260 } },
    vconcat: [
      {
        width: 820,
        height: 260,
        layer: [
          {
            data: { values: rates },
            mark: { type: "line", interpolate: "step-after", strokeWidth: 1.4 },
            encoding: {
              x,
              y: { field: "kbps", type: "quantitative", title: "kbit/s" },
              color: {
                field: "series",
                type: "nominal",
                title: "rates",
                scale: { scheme: "tableau20" },
              },
              strokeDash: {
                condition: { test: "indexof(datum.series, 'estimate') === 0", value: [5, 3] },
                value: [1, 0],
              },
            },
          },
          {
            data: { values: rembs },
            mark: { type: "point", filled: true, size: 12, opacity: 0.6 },
            encoding: {
              x,
              y: { field: "kbps", type: "quantitative" },
              shape: { field: "remb", type: "nominal", title: "REMB sent" },
              color: { value: "#d62728" },
            },
          },
        ],
      },
      {
        width: 820,
        height: 150,
        data: { values: delays },
        mark: { type: "line", strokeWidth: 1.2 },
        encoding: {
          x,
          y: { field: "ms", type: "quantitative", title: "queuing delay (ms)" },
          color: { field: "flow", type: "nominal", title: "queuing delay" },
        },
      },
    ],
    resolve: { scale: { color: "independent", shape: "independent" } },
  };
}

/**
 * The summary as rows of plain values, one row per scenario and one per flow under it.
 *
 * @param metrics Runs' metrics.
 * @returns Header and rows.
 */
export function summaryRows(
  metrics: readonly ScenarioMetrics[],
): { header: string[]; rows: string[][] } {
  const header = [
    "scenario / flow",
    "util / share",
    "settled util",
    "rate kbit/s",
    "queue p50 ms",
    "queue p95 ms",
    "loss %",
    "Jain",
    "to 90 % after step up, s",
    "under capacity after step down, s",
    "REMBs",
    "detector overusing %",
  ];
  const rows: string[][] = [];
  const steps = (m: ScenarioMetrics, direction: "up" | "down") => {
    const times = m.steps.filter((s) => s.direction === direction).map((s) => s.responseS);
    if (times.length <= 4) return times.map((t) => t === null ? "–" : t.toFixed(1)).join(", ");
    const reached = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
    if (reached.length === 0) return `none of ${times.length}`;
    return `median ${reached[Math.floor(reached.length / 2)].toFixed(1)}, max ${
      reached[reached.length - 1].toFixed(1)
    } (${reached.length}/${times.length})`;
  };
  const overusing = (f: ScenarioMetrics["flows"][number]) =>
    f.detector ? (f.detector.overusing * 100).toFixed(1) : "";
  for (const m of metrics) {
    rows.push([
      `${m.id} (${m.grouping})`,
      m.utilization.toFixed(2),
      m.settledUtilization.toFixed(2),
      "",
      m.queueDelayP50Ms.toFixed(1),
      m.queueDelayP95Ms.toFixed(1),
      (m.lossRatio * 100).toFixed(2),
      m.jainIndex === undefined ? "" : m.jainIndex.toFixed(3),
      steps(m, "up"),
      steps(m, "down"),
      String(m.rembCount),
      "",
    ]);
    if (m.flows.length > 1) {
      for (const f of m.flows) {
        rows.push([
          `  ${f.name}`,
          f.share.toFixed(2),
          "",
          (f.rateBps / 1000).toFixed(0),
          f.queueDelayP50Ms.toFixed(1),
          f.queueDelayP95Ms.toFixed(1),
          (f.lossRatio * 100).toFixed(2),
          "",
          "",
          "",
          f.kind === "media" ? String(f.rembCount) : "",
          overusing(f),
        ]);
      }
    } else {
      rows[rows.length - 1][3] = (m.flows[0].rateBps / 1000).toFixed(0);
      rows[rows.length - 1][11] = overusing(m.flows[0]);
    }
  }
  return { header, rows };
}

/**
 * The summary as an aligned text table.
 *
 * @param metrics Runs' metrics.
 * @returns The table.
 */
export function summaryText(metrics: readonly ScenarioMetrics[]): string {
  const { header, rows } = summaryRows(metrics);
  const short = [
    "scenario / flow",
    "util",
    "settled",
    "kbit/s",
    "p50 ms",
    "p95 ms",
    "loss %",
    "Jain",
    "up s",
    "down s",
    "REMBs",
    "over %",
  ];
  const all = [short, ...rows];
  void header;
  const widths = short.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r, i) =>
    r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ") +
    (i === 0 ? "\n" + widths.map((w) => "-".repeat(w)).join("  ") : "")
  ).join("\n");
}

/**
 * The summary as a Markdown table.
 *
 * @param metrics Runs' metrics.
 * @returns The table.
 */
export function summaryMarkdown(metrics: readonly ScenarioMetrics[]): string {
  const { header, rows } = summaryRows(metrics);
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/^ {2}/, "↳ ")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A run to chart: the variant it ran and its result (the first seed's, in the demo). */
export interface ChartedRun {
  /** Variant name. */
  variant: string;
  /** The run. */
  result: ScenarioResult;
}

/** Options of {@linkcode writeReport}. */
export interface ReportOptions {
  /** The folder. */
  dir: string;
  /** What was run, for the page's head. */
  description: string;
  /** Every scenario and variant over the seeds. */
  comparison: readonly ComparisonRow[];
  /** Every run's metrics, for `metrics.json`. */
  metrics: readonly ScenarioMetrics[];
  /**
   * The enhanced stages one by one, when measured.
   *
   * @default {undefined}
   */
  ablation?: readonly ComparisonRow[];
}

/**
 * Writes the report folder: `index.html` with the comparison over seeds and, per scenario, one
 * chart per variant side by side (`<scenario>.<variant>.svg`), `metrics.json` (every run),
 * `summary.md` (the comparison, and the ablation when given).
 *
 * @param runs The runs to chart, in scenario order.
 * @param options Folder, description, comparison and metrics.
 * @returns Path of the HTML page.
 */
export async function writeReport(
  runs: readonly ChartedRun[],
  options: ReportOptions,
): Promise<string> {
  await Deno.mkdir(options.dir, { recursive: true });
  const byScenario = new Map<string, ChartedRun[]>();
  for (const run of runs) {
    const key = run.result.metrics.id;
    byScenario.set(key, [...(byScenario.get(key) ?? []), run]);
  }
  const sections: string[] = [];
  for (const [id, charted] of byScenario) {
    const spec = charted[0].result.spec;
    const figures: string[] = [];
    const tables: string[] = [];
    for (const { variant, result } of charted) {
      const m = result.metrics;
      const file = `${id}.${fileName(variant)}.svg`;
      await Deno.writeTextFile(`${options.dir}/${file}`, await renderVegaLite(chartSpec(result)));
      figures.push(
        `<figure><figcaption>${
          escape(variant)
        }, seed ${m.seed}</figcaption><img src="${file}" alt="${escape(spec.title)}, ${
          escape(variant)
        }: capacity, estimates, delivered rates, REMBs and queuing delay"></figure>`,
      );
      const steps = m.steps.map((s) =>
        `<tr><td>${s.atS} s</td><td>${s.fromBps / 1000} → ${s.toBps / 1000} kbit/s</td><td>${
          s.responseS === null ? "not within the phase" : `${s.responseS.toFixed(1)} s`
        }</td><td>${s.estimateS === null ? "" : `${s.estimateS.toFixed(2)} s`}</td></tr>`
      ).join("");
      const phases = m.phases.length < 2
        ? ""
        : m.phases.map((p) =>
          `<tr><td>${p.fromS}–${p.toS} s</td><td>${p.capacityBps / 1000} kbit/s</td><td>${
            p.utilization.toFixed(2)
          }</td><td>${p.settledUtilization.toFixed(2)}</td></tr>`
        ).join("");
      const periods = m.periods.length === 0
        ? ""
        : `<table><tr><th>hour</th><th>util</th><th>p95 ms</th><th>estimate / capacity</th><th>heap MB</th></tr>${
          m.periods.map((p, i) =>
            `<tr><td>${i + 1}</td><td>${p.utilization.toFixed(2)}</td><td>${
              p.queueDelayP95Ms.toFixed(1)
            }</td><td>${p.estimateMinRatio.toFixed(2)}–${p.estimateMaxRatio.toFixed(2)}</td><td>${
              p.heapUsedMb.toFixed(1)
            }</td></tr>`
          ).join("")
        }</table>`;
      tables.push(`<div><h3>${escape(variant)}, seed ${m.seed}</h3>
${
        steps
          ? `<table><tr><th>step at</th><th>capacity</th><th>media response</th><th>estimate under capacity</th></tr>${steps}</table>`
          : ""
      }
${
        phases
          ? `<table><tr><th>phase</th><th>capacity</th><th>util</th><th>settled util</th></tr>${phases}</table>`
          : ""
      }
${periods}</div>`);
    }
    sections.push(`<section id="${id}">
<h2>${escape(spec.title)}</h2>
<p class="source">${escape(spec.source)}</p>
<div class="side">${figures.join("\n")}</div>
<div class="side">${tables.join("\n")}</div>
</section>`);
  }
  const htmlTable = (rows: readonly ComparisonRow[]) => {
    const { header, rows: cells } = comparisonCells(rows);
    return `<table class="summary"><tr>${header.map((h) => `<th>${escape(h)}</th>`).join("")}</tr>${
      cells.map((r) =>
        `<tr>${
          r.map((c, i) =>
            `<td>${
              i === 0 && c !== "" ? `<a href="#${c.split(" ")[0]}">${escape(c)}</a>` : escape(c)
            }</td>`
          ).join("")
        }</tr>`
      ).join("")
    }</table>`;
  };
  const ablation = options.ablation
    ? `<h2>The enhanced stages one by one</h2>
<p>Each stage alone (a stage that is off behaves as libwebrtc's), the kept ones together, and with
the one that was not kept; same seeds.</p>
${htmlTable(options.ablation)}`
    : "";
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>receiver-gcc: simulated scenarios</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1760px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
.source { color: #555; }
.side { display: flex; gap: 16px; align-items: flex-start; }
.side > * { flex: 1 1 0; min-width: 0; margin: 0; }
figcaption { font-weight: 600; }
img { max-width: 100%; border: 1px solid #eee; }
</style></head><body>
<h1>receiver-gcc in a simulated network: libwebrtc's profile and the enhanced one</h1>
<p>${escape(options.description)}</p>
<p>Each figure is the median over the seeds, with the smallest and largest in brackets. util: media
delivered over capacity in the whole measured window; settled: the same over the second half of
every phase of constant capacity; queue delays at the bottleneck (media packets); Jain's index where
flows compete; media / TCP share of the capacity where TCP competes; up s: time for the media's
delivered rate (0.5 s window) to reach 90 % of the first higher capacity (an unreached step counts
as its phase's length). The charts show the first seed.</p>
${htmlTable(options.comparison)}
${ablation}
${sections.join("\n")}
</body></html>
`;
  const page = `${options.dir}/index.html`;
  await Deno.writeTextFile(page, html);
  await Deno.writeTextFile(
    `${options.dir}/metrics.json`,
    JSON.stringify(options.metrics, null, 2) + "\n",
  );
  const summary = [comparisonMarkdown(options.comparison)];
  if (options.ablation) summary.push("", comparisonMarkdown(options.ablation));
  await Deno.writeTextFile(`${options.dir}/summary.md`, summary.join("\n") + "\n");
  return page;
}

function fileName(variant: string): string {
  return variant.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();
}
