/**
 * The closed-loop chart: capacity, delivered rate, REMB sent and Chromium's own estimate per
 * second, and below it RTT and the bottleneck's queue. Drawn by Vega-Lite and rendered to SVG by
 * Vega's headless renderer (the same libraries as tools/replay's chart).
 *
 * @module
 */

import { renderVegaLite } from "../../tools/chart.ts";
import type { SecondRow } from "./report.ts";

// Chromium's estimate equals the REMB whenever the REMB limits it: drawn first, under the REMB.
const RATE_SERIES = ["capacity", "delivered", "Chromium estimate (aob)", "REMB sent"];
const RATE_COLORS = ["#000000", "#1f77b4", "#ffbb78", "#d62728"];
const DELAY_SERIES = [
  "RTT (RTCP RR)",
  "RTT (candidate pair)",
  "bottleneck queue",
  "one-way delay p95 (receiver)",
  "JS thread lag (max)",
];
const DELAY_COLORS = ["#9467bd", "#8c564b", "#2ca02c", "#17becf", "#bcbd22"];

/**
 * Builds the Vega-Lite specification.
 *
 * @param rows One row per second.
 * @param title Title above the chart.
 * @returns A Vega-Lite top-level specification with inline data.
 * @example
 * ```ts
 * import { closedLoopChartSpec } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = closedLoopChartSpec([], "t") as { vconcat: unknown[] };
 * assert.equal(spec.vconcat.length, 2);
 * ```
 */
export function closedLoopChartSpec(rows: readonly SecondRow[], title: string): object {
  const rates: { t: number; series: string; kbps: number }[] = [];
  const delays: { t: number; series: string; ms: number }[] = [];
  for (const r of rows) {
    // Capacity is drawn over the interval it held for: from t-1 to t.
    rates.push({ t: r.t - 1, series: "capacity", kbps: r.capacityKbps });
    rates.push({ t: r.t, series: "capacity", kbps: r.capacityKbps });
    rates.push({ t: r.t, series: "delivered", kbps: r.deliveredKbps });
    if (r.aobKbps !== null) {
      rates.push({ t: r.t, series: "Chromium estimate (aob)", kbps: r.aobKbps });
    }
    if (r.rembKbps !== null) rates.push({ t: r.t, series: "REMB sent", kbps: r.rembKbps });
    if (r.rttMs !== null) delays.push({ t: r.t, series: "RTT (RTCP RR)", ms: r.rttMs });
    if (r.xrRttMs !== null) {
      delays.push({ t: r.t, series: "RTT (receiver, XR DLRR)", ms: r.xrRttMs });
    }
    if (r.pairRttMs !== null) {
      delays.push({ t: r.t, series: "RTT (candidate pair)", ms: r.pairRttMs });
    }
    delays.push({ t: r.t, series: "bottleneck queue", ms: r.queueMs });
    if (r.owdP95Ms !== null) {
      delays.push({ t: r.t, series: "one-way delay p95 (receiver)", ms: r.owdP95Ms });
    }
    delays.push({ t: r.t, series: "JS thread lag (max)", ms: r.loopLagMaxMs });
  }
  const x = { field: "t", type: "quantitative", title: "time since first RTP packet (s)" };
  const lines = (field: string, domain: string[], range: string[], yTitle: string) => ({
    mark: { type: "line", strokeWidth: 1.6, point: { size: 12 } },
    encoding: {
      x,
      y: { field, type: "quantitative", title: yTitle },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain, range },
        legend: { orient: "top", columns: 5, labelLimit: 320 },
      },
    },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    background: "white",
    vconcat: [
      {
        width: 900,
        height: 280,
        data: { values: rates },
        ...lines("kbps", RATE_SERIES, RATE_COLORS, "kbit/s"),
      },
      {
        width: 900,
        height: 160,
        data: { values: delays },
        ...lines("ms", DELAY_SERIES, DELAY_COLORS, "ms"),
      },
    ],
    resolve: { scale: { color: "independent" } },
  };
}

/**
 * Renders the chart to SVG, headless.
 *
 * @param rows One row per second.
 * @param title Title above the chart.
 * @returns The SVG document.
 * @example
 * ```ts ignore
 * import { renderClosedLoopChart } from "./chart.ts";
 * const svg = await renderClosedLoopChart([], "Nothing yet");
 * ```
 */
export async function renderClosedLoopChart(
  rows: readonly SecondRow[],
  title: string,
): Promise<string> {
  return await renderVegaLite(closedLoopChartSpec(rows, title));
}
