/**
 * Charts for the tools, one library for all of them: Vega-Lite specifications rendered to SVG by
 * Vega's headless renderer (no browser, no canvas, no native module). The simulator's report uses
 * it, and so do the capture replay and the e2e report.
 *
 * Vega is imported on first use, so a tool that never draws does not load it.
 *
 * @module
 */

/**
 * Renders a Vega-Lite specification to an SVG document.
 *
 * @param spec A Vega-Lite top-level specification with inline data.
 * @returns The SVG text.
 * @example
 * ```ts
 * import { renderVegaLite } from "./chart.ts";
 * import assert from "node:assert/strict";
 * const svg = await renderVegaLite({
 *   data: { values: [{ x: 0, y: 1 }, { x: 1, y: 2 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * assert.match(svg, /^<svg /);
 * ```
 */
export async function renderVegaLite(spec: object): Promise<string> {
  const [vega, vegaLite] = await Promise.all([
    import("vega"),
    import("vega-lite"),
  ]);
  // deno-lint-ignore no-explicit-any -- the caller builds the spec from plain objects.
  const compiled = vegaLite.compile(spec as any);
  const view = new vega.View(vega.parse(compiled.spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
