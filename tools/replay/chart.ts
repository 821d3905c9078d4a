/**
 * The replay's chart, drawn by Vega-Lite and rendered to SVG by Vega's headless renderer (no
 * browser, no canvas): estimate, incoming rate and REMBs over capture time; the detector's
 * modified offset against its threshold; and the usage state as a strip.
 *
 * Vega is loaded on first use, so the replay itself does not pay for it.
 *
 * @module
 */

import { renderVegaLite } from "../chart.ts";
import type { TimelineRow } from "./replay.ts";

/** Options of {@linkcode renderChart}. */
export interface ChartOptions {
  /**
   * Title above the chart.
   *
   * @default {"Replayed receive-side estimate"}
   */
  title?: string;
  /**
   * Width of the plots in pixels.
   *
   * @default {900}
   */
  width?: number;
  /**
   * Above this many rows, tick and estimate rows are thinned out evenly (REMB rows are all kept)
   * to keep the SVG small; the timeline file keeps every row.
   *
   * @default {20000}
   */
  maxRows?: number;
}

const RATE_SERIES = ["estimate", "incoming rate", "REMB sent", "REMB in capture"];
const RATE_COLORS = ["#1f77b4", "#9e9e9e", "#d62728", "#2ca02c"];
const DELAY_SERIES = ["modified offset", "threshold", "−threshold"];
const DELAY_COLORS = ["#1f77b4", "#ff7f0e", "#ff7f0e"];
const USAGE_STATES = ["normal", "underusing", "overusing"];
const USAGE_COLORS = ["#c7e9c0", "#9ecae1", "#fc9272"];

/**
 * Builds the Vega-Lite specification of the chart.
 *
 * @param rows The timeline.
 * @param options Title, width and thinning.
 * @returns A Vega-Lite top-level specification with inline data.
 * @example
 * ```ts
 * import { chartSpec } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = chartSpec([], { title: "t" }) as { vconcat: unknown[] };
 * assert.equal(spec.vconcat.length, 3);
 * ```
 */
export function chartSpec(rows: readonly TimelineRow[], options: ChartOptions = {}): object {
  const width = options.width ?? 900;
  const maxRows = options.maxRows ?? 20_000;
  const stride = Math.max(1, Math.ceil(rows.length / maxRows));
  const rates: { t: number; series: string; kbps: number }[] = [];
  const delays: { t: number; series: string; ms: number }[] = [];
  const usage: { t: number; t2: number; usage: string }[] = [];
  rows.forEach((row, i) => {
    const t = row.timeS;
    if (row.rembBps !== undefined) rates.push({ t, series: "REMB sent", kbps: row.rembBps / 1000 });
    if (row.capturedRembBps !== undefined) {
      rates.push({ t, series: "REMB in capture", kbps: row.capturedRembBps / 1000 });
    }
    if (row.event === "captured-remb" || i % stride !== 0) return;
    if (row.event === "tick") {
      // One rectangle per run of the same state.
      const run = usage.at(-1);
      if (run) run.t2 = t;
      if (!run || run.usage !== row.usage) usage.push({ t, t2: t, usage: row.usage });
      rates.push({ t, series: "incoming rate", kbps: row.incomingRateBps / 1000 });
    }
    rates.push({ t, series: "estimate", kbps: row.estimateBps / 1000 });
    delays.push({ t, series: "modified offset", ms: row.modifiedOffsetMs });
    delays.push({ t, series: "threshold", ms: row.thresholdMs });
    delays.push({ t, series: "−threshold", ms: -row.thresholdMs });
  });
  const x = { field: "t", type: "quantitative", title: "capture time (s)" };
  const lines = (field: string, domain: string[], range: string[], title: string) => ({
    mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
    encoding: {
      x,
      y: { field, type: "quantitative", title },
      color: { field: "series", type: "nominal", title: null, scale: { domain, range } },
    },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Replayed receive-side estimate",
    background: "white",
    vconcat: [
      {
        width,
        height: 260,
        data: { values: rates },
        layer: [
          {
            transform: [{
              filter: "datum.series === 'estimate' || datum.series === 'incoming rate'",
            }],
            ...lines("kbps", RATE_SERIES, RATE_COLORS, "kbit/s"),
          },
          {
            transform: [{
              filter: "datum.series === 'REMB sent' || datum.series === 'REMB in capture'",
            }],
            mark: { type: "point", filled: true, size: 28 },
            encoding: {
              x,
              y: { field: "kbps", type: "quantitative" },
              color: {
                field: "series",
                type: "nominal",
                title: null,
                scale: { domain: RATE_SERIES, range: RATE_COLORS },
              },
            },
          },
        ],
      },
      {
        width,
        height: 160,
        data: { values: delays },
        ...lines("ms", DELAY_SERIES, DELAY_COLORS, "delay gradient (ms)"),
      },
      {
        width,
        height: 24,
        title: { text: "detector usage", fontSize: 11, anchor: "start" },
        data: { values: usage },
        mark: { type: "rect" },
        encoding: {
          x,
          x2: { field: "t2" },
          color: {
            field: "usage",
            type: "nominal",
            title: null,
            scale: { domain: USAGE_STATES, range: USAGE_COLORS },
          },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  };
}

/**
 * Renders the chart to SVG with Vega, headless.
 *
 * @param rows The timeline.
 * @param options Title, width and thinning.
 * @returns The SVG document.
 * @example
 * ```ts
 * import { renderChart } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const svg = await renderChart([], { title: "Nothing yet" });
 * assert.match(svg, /^<svg /);
 * ```
 */
export async function renderChart(
  rows: readonly TimelineRow[],
  options: ChartOptions = {},
): Promise<string> {
  return await renderVegaLite(chartSpec(rows, options));
}
