/**
 * The scenario set against bounds set from what GCC's receive-side estimator should achieve (its
 * constants: multiplicative increase ≤ 8 %/s, back-off to 0.85 × the incoming rate, additive
 * increase near the last known capacity; shared/reference/receiver-gcc.md §15). Values measured
 * with seed 1 are in the comments. Two of the example targets are not reached by the
 * faithful estimator here and are reported, not asserted: §5.1 utilization 0.69 (not 0.85; GCC's
 * ≤ 8 %/s climb takes most of a 20 s phase) and a 2–3 % share against a long TCP flow (not 10 %).
 */
import assert from "node:assert/strict";
import { runScenario, scenario, type ScenarioMetrics } from "../../tools/sim/mod.ts";

const results = new Map<string, ScenarioMetrics>();
async function run(id: string): Promise<ScenarioMetrics> {
  let metrics = results.get(id);
  if (!metrics) {
    metrics = (await runScenario(scenario(id), { seed: 1 })).metrics;
    results.set(id, metrics);
  }
  return metrics;
}
const flow = (m: ScenarioMetrics, prefix: string) =>
  m.flows.find((f) => f.name.startsWith(prefix))!;

Deno.test("runScenario() on RFC 8867 §5.1 tracks each capacity change with a short queue", async () => {
  const m = await run("rfc8867-5.1");
  assert.ok(m.utilization >= 0.6, `utilization ${m.utilization}`); // 0.69
  assert.ok(m.queueDelayP95Ms <= 100, `p95 ${m.queueDelayP95Ms}`); // 47 ms
  assert.ok(m.lossRatio <= 0.03, `loss ${m.lossRatio}`); // 1.4 % (the 2.5 → 0.6 Mbit/s drop)
  const [up1, down, up2] = m.steps;
  assert.ok(down.responseS !== null && down.responseS <= 3, `down ${down.responseS}`); // 1.9 s
  assert.ok(down.estimateS !== null && down.estimateS <= 1.5, `estimate ${down.estimateS}`); // 1.1 s
  assert.ok(up2.responseS !== null && up2.responseS <= 20, `up ${up2.responseS}`); // 10.7 s
  // 1 → 2.5 Mbit/s at ≤ 8 %/s needs ≥ 10.5 s; a back-off on the way costs the rest of the phase.
  assert.equal(up1.direction, "up");
  assert.ok(m.rembCount >= 100 * 1, `${m.rembCount} REMBs`); // 475: at least one a second
});

Deno.test("runScenario() on RFC 8867 §5.2 shares varying capacity between two flows", async () => {
  const m = await run("rfc8867-5.2");
  assert.ok(m.utilization >= 0.65, `utilization ${m.utilization}`); // 0.76
  assert.ok(m.jainIndex! >= 0.85, `Jain ${m.jainIndex}`); // 0.924
  assert.ok(m.queueDelayP95Ms <= 100, `p95 ${m.queueDelayP95Ms}`); // 61 ms
  for (const step of m.steps.filter((s) => s.direction === "down")) {
    assert.ok(
      step.responseS !== null && step.responseS <= 3,
      `down at ${step.atS}: ${step.responseS}`,
    );
  }
});

Deno.test("runScenario() on RFC 8867 §5.4 lets late flows in without starving any", async () => {
  const m = await run("rfc8867-5.4");
  assert.ok(m.utilization >= 0.7, `utilization ${m.utilization}`); // 0.80
  assert.ok(m.jainIndex! >= 0.8, `Jain ${m.jainIndex}`); // 0.881
  for (const f of m.flows) assert.ok(f.share >= 0.1, `${f.name} ${f.share}`); // ≥ 0.13
  assert.ok(m.queueDelayP95Ms <= 100 && m.lossRatio === 0);
});

Deno.test("runScenario() on RFC 8867 §5.5 is fair across round-trip times of 20–300 ms", async () => {
  const m = await run("rfc8867-5.5");
  assert.ok(m.utilization >= 0.75, `utilization ${m.utilization}`); // 0.88
  assert.ok(m.jainIndex! >= 0.85, `Jain ${m.jainIndex}`); // 0.988
  assert.ok(m.queueDelayP95Ms <= 100, `p95 ${m.queueDelayP95Ms}`); // 64 ms
});

Deno.test("runScenario() on RFC 8867 §5.6 keeps sending next to a long TCP flow", async () => {
  for (const id of ["rfc8867-5.6-300ms", "rfc8867-5.6-1000ms"]) {
    const m = await run(id);
    assert.ok(m.linkUtilization >= 0.95, `${id} link ${m.linkUtilization}`); // 1.00
    const video = flow(m, "video");
    assert.ok(video.rateBps >= 30_000, `${id} video ${video.rateBps}`); // 47 / 57 kbit/s
    assert.ok(flow(m, "long TCP").share <= 0.98, `${id} TCP ${flow(m, "long TCP").share}`);
  }
});

Deno.test("runScenario() on RFC 8867 §5.7 shares with short TCP flows without starving", async () => {
  const m = await run("rfc8867-5.7");
  assert.ok(m.jainIndex! >= 0.9, `Jain ${m.jainIndex}`); // 0.979
  for (const f of m.flows.filter((f) => f.kind === "media")) {
    assert.ok(f.share >= 0.1, `${f.name} ${f.share}`); // 0.19, 0.15
  }
  assert.ok(m.queueDelayP95Ms <= 150, `p95 ${m.queueDelayP95Ms}`); // 95 ms
  assert.ok(m.utilization >= 0.25, `utilization ${m.utilization}`); // 0.34
});

Deno.test("runScenario() on RFC 8867 §5.8 brings a paused flow back to its share", async () => {
  const m = await run("rfc8867-5.8");
  assert.ok(m.utilization >= 0.75, `utilization ${m.utilization}`); // 0.87
  assert.ok(m.jainIndex! >= 0.85, `Jain after resume ${m.jainIndex}`); // 0.955
  assert.ok(flow(m, "video 2").rembCount > 0 && m.queueDelayP95Ms <= 100);
});

Deno.test("runScenario() on libwebrtc's capacity halving gets under 0.5 Mbit/s within 1.5 s", async () => {
  const m = await run("libwebrtc-capacity-drop");
  const [drop] = m.steps;
  // libwebrtc's open-loop test: 0.57–0.77 s; here the REMB also has to reach the sender.
  assert.ok(drop.estimateS !== null && drop.estimateS <= 1.5, `estimate ${drop.estimateS}`); // 0.83 s
  assert.ok(drop.responseS !== null && drop.responseS <= 3, `send rate ${drop.responseS}`); // 1.7 s
  assert.ok(m.utilization >= 0.75, `utilization ${m.utilization}`); // 0.83
  assert.ok(m.queueDelayP95Ms <= 100, `p95 ${m.queueDelayP95Ms}`); // 76 ms
});

Deno.test("runScenario() on a three-SSRC simulcast sender works in both groupings", async () => {
  for (const id of ["simulcast-per-stream", "simulcast-transport"]) {
    const m = await run(id);
    assert.equal(m.grouping, id.slice("simulcast-".length));
    assert.ok(m.utilization >= 0.5, `${id} utilization ${m.utilization}`); // 0.59, 0.72
    assert.ok(m.queueDelayP95Ms <= 100, `${id} p95 ${m.queueDelayP95Ms}`); // 18.5, 42.5 ms
    const down = m.steps.find((s) => s.direction === "down")!;
    assert.ok(down.responseS !== null && down.responseS <= 3, `${id} down ${down.responseS}`);
  }
});

Deno.test("runScenario() gives the same figures for the same seed and others for another", async () => {
  const spec = scenario("libwebrtc-capacity-drop");
  const strip = (m: ScenarioMetrics) => ({ ...m, wallMs: 0 });
  const a = await runScenario(spec, { seed: 7 });
  const b = await runScenario(spec, { seed: 7 });
  assert.deepEqual(strip(a.metrics), strip(b.metrics));
  assert.deepEqual(a.series.flows[0].estimateBps, b.series.flows[0].estimateBps);
  const c = await runScenario(spec, { seed: 8 });
  assert.notDeepEqual(c.series.flows[0].estimateBps, a.series.flows[0].estimateBps);
});

Deno.test("runScenario() gives the same figures on the pool host as inline", async () => {
  const spec = { ...scenario("simulcast-transport"), durationS: 30 };
  const inline = await runScenario(spec, { seed: 3, host: "inline" });
  const pool = await runScenario(spec, { seed: 3, host: "pool" });
  assert.deepEqual({ ...pool.metrics, wallMs: 0, host: "inline" }, {
    ...inline.metrics,
    wallMs: 0,
  });
  assert.deepEqual(pool.series.flows[0].rembs, inline.series.flows[0].rembs);
});
