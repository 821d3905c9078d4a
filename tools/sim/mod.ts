/**
 * A deterministic network simulator that runs this project's receiver (the {@linkcode
 * Coordinator}, any host, any grouping) in closed loop with browser-like senders, the standard
 * scenario set (RFC 8867's single-bottleneck cases, libwebrtc's capacity halving, a 24-hour run,
 * simulcast), and the report the demo writes.
 *
 * @example
 * ```ts
 * import { runScenario, scenario } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const { metrics, series } = await runScenario(scenario("libwebrtc-capacity-drop"), { seed: 1 });
 * assert.ok(metrics.utilization > 0.5);
 * assert.equal(series.timeS.length, 600); // 60 s in 100 ms samples
 * ```
 *
 * @module
 */

export {
  type CbrFlowSpec,
  type FlowMetrics,
  type FlowSeries,
  type MediaFlowSpec,
  type PeriodMetrics,
  type PhaseMetrics,
  type RunOptions,
  runScenario,
  type ScenarioMetrics,
  type ScenarioResult,
  type ScenarioSeries,
  type ScenarioSpec,
  type ShortTcpSpec,
  type StepMetrics,
  type TcpFlowSpec,
} from "./simulator.ts";
export { DEFAULT_SET, QUICK_SET, scenario, SCENARIOS } from "./scenarios.ts";
export {
  type ChartedRun,
  chartSpec,
  type ReportOptions,
  summaryMarkdown,
  summaryText,
  writeReport,
} from "./report.ts";
export {
  ABLATION_VARIANTS,
  compare,
  comparisonMarkdown,
  type ComparisonRow,
  comparisonText,
  PROFILE_VARIANTS,
  type Spread,
  spread,
  type Variant,
} from "./comparison.ts";
export type { CapacityStep, QueueLimit } from "./link.ts";
