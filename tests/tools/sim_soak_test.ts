import assert from "node:assert/strict";

// 24 h of simulated time (about 20 s here), in a child process so the heap can be measured after
// full collections (--expose-gc).
Deno.test("runScenario() over 24 simulated hours stays sane with a flat heap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sim-soak-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--v8-flags=--expose-gc",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "tools/demo.ts",
        "--scenario",
        "soak-24h",
        "--out",
        dir,
      ],
      cwd: new URL("../../", import.meta.url),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const [m] = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
    assert.ok(m.absSendTimeWraps >= 1350, `${m.absSendTimeWraps} wraps`);
    assert.equal(m.periods.length, 24);
    for (const [hour, p] of m.periods.entries()) {
      assert.ok(p.utilization >= 0.7, `hour ${hour + 1}: utilization ${p.utilization}`); // 0.79–0.83
      assert.ok(p.queueDelayP95Ms <= 100, `hour ${hour + 1}: p95 ${p.queueDelayP95Ms}`); // ~20 ms
      assert.ok(
        p.estimateMinRatio >= 0.2 && p.estimateMaxRatio <= 1.6,
        `hour ${hour + 1}: estimate ${p.estimateMinRatio}–${p.estimateMaxRatio} × capacity`,
      ); // 0.35–1.21
    }
    const heaps = m.periods.map((p: { heapUsedMb: number }) => p.heapUsedMb);
    const growth = Math.max(...heaps.slice(2)) - heaps[1];
    assert.ok(growth < 5, `heap grew ${growth.toFixed(1)} MB after hour 2: ${heaps.join(", ")}`);
    assert.ok(m.mediaPackets > 10_000_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
