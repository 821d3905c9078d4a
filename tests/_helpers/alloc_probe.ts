/**
 * Run with `--v8-flags=--trace-gc` through `stdbuf -oL`: warms the estimator up, then prints markers
 * around a steady-state run of N packets (first argument; then grouping, filter and profile), so the garbage collections between the
 * markers can be counted. Used by tests/core/allocation_test.ts.
 *
 * @module
 */

import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import type { PacketInfo } from "../../core/types.ts";
import { SyntheticStream } from "./synthetic_stream.ts";

const packets = Number(Deno.args[0] ?? 10_000_000);
const grouping = (Deno.args[1] ?? "per-stream") as "per-stream" | "transport";
const filter = (Deno.args[2] ?? "kalman") as "kalman" | "trendline";
const profile = (Deno.args[3] ?? "libwebrtc") as "libwebrtc" | "enhanced";
const estimates = new Float64Array(1);
const estimator = new BandwidthEstimator({
  grouping,
  filter,
  profile,
  onEstimate: (bps) => {
    estimates[0] = bps;
  },
});
const stream = new SyntheticStream(2_500_000);
const packet: PacketInfo = {
  ssrc: 0,
  arrivalTimeMs: 0,
  payloadSize: 0,
  rtpTimestamp: 0,
  absSendTime: 0,
};

function run(n: number): void {
  for (let i = 0; i < n; i++) {
    stream.next(packet);
    estimator.onPacket(packet);
  }
}

run(2_000_000); // Optimize everything first.
const heapBefore = Deno.memoryUsage().heapUsed;
console.log("ALLOC-PROBE start");
run(packets);
console.log("ALLOC-PROBE end");
const heapAfter = Deno.memoryUsage().heapUsed;
console.log(
  JSON.stringify({ packets, heapBefore, heapAfter, estimateBps: estimator.getEstimate() }),
);
