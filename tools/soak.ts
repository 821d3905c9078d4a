/**
 * The 24-hour soak in simulated time through the coordinator: prints, per simulated hour, the heap
 * after a full collection, utilization, p95 queuing delay and the estimate's range against the
 * capacity, then the abs-send-time wraps and packets. Exits 1 when the heap grows or the estimate
 * leaves a sane range.
 *
 * Run: `deno task soak` (needs `--v8-flags=--expose-gc`, which the task passes).
 *
 * @module
 */

import { runScenario, scenario } from "./sim/mod.ts";

const { metrics } = await runScenario(scenario("soak-24h"), { seed: 1 });
console.log("hour  heap MB  util  p95 ms  estimate / capacity");
for (const [hour, p] of metrics.periods.entries()) {
  console.log(
    `${String(hour + 1).padStart(4)}  ${p.heapUsedMb.toFixed(1).padStart(7)}  ${
      p.utilization.toFixed(2)
    }  ${p.queueDelayP95Ms.toFixed(1).padStart(6)}  ${p.estimateMinRatio.toFixed(2)}–${
      p.estimateMaxRatio.toFixed(2)
    }`,
  );
}
const heaps = metrics.periods.map((p) => p.heapUsedMb);
const growthMb = Math.max(...heaps.slice(2)) - heaps[1];
console.log(
  `abs-send-time wraps: ${metrics.absSendTimeWraps}; media packets: ${metrics.mediaPackets}; ` +
    `heap growth after hour 2: ${growthMb.toFixed(2)} MB`,
);
const sane = metrics.periods.every((p) => p.estimateMinRatio >= 0.2 && p.estimateMaxRatio <= 1.6);
if (growthMb >= 5 || !sane || metrics.absSendTimeWraps < 1350) Deno.exit(1);
