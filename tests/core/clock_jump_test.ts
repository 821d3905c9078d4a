import assert from "node:assert/strict";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import { generateTrace } from "../_helpers/trace.ts";

// A steady stream well inside its link: any drop of the estimate would be a wrong reaction.
const packets = generateTrace({
  streams: [{ ssrc: 9, bitrateBps: 1_000_000 }],
  durationMs: 40_000,
  capacityBps: () => 3_000_000,
  absSendTime: true,
});

for (const jumpMs of [30_000, -30_000]) {
  for (const absSendTime of [true, false]) {
    const label = `${jumpMs > 0 ? "+" : "−"}30 s, ${
      absSendTime ? "abs-send-time" : "RTP timestamps"
    }`;
    Deno.test(`BandwidthEstimator restarts its grouping when arrival stamps jump ${label} instead of misreading it`, () => {
      const estimates: { jumped: boolean; bps: number }[] = [];
      let jumped = false;
      const estimator = new BandwidthEstimator({
        onEstimate: (bps) => estimates.push({ jumped, bps }),
      });
      const jumpAtMs = packets[0].arrivalTimeMs + 20_000;
      for (const packet of packets) {
        jumped = packet.arrivalTimeMs >= jumpAtMs;
        // The clock that stamps arrivals jumps; the estimator's own clock (nowMs) runs on, as
        // libwebrtc's tests shift arrival times against a steady clock.
        const nowMs = packet.arrivalTimeMs;
        estimator.onPacket({
          ...packet,
          arrivalTimeMs: nowMs + (jumped ? jumpMs : 0),
          absSendTime: absSendTime ? packet.absSendTime : undefined,
        }, nowMs);
        if (!absSendTime) estimator.process(nowMs);
      }
      const before = estimates.filter((e) => !e.jumped).at(-1)!;
      const after = estimates.filter((e) => e.jumped);
      assert.ok(before.bps > 1_000_000, `estimate before the jump ${before.bps}`);
      assert.ok(after.length > 10);
      const lowest = Math.min(...after.map((e) => e.bps));
      assert.ok(lowest >= 0.95 * before.bps, `dropped from ${before.bps} to ${lowest}`);
      assert.equal(estimator.stats().usage, "normal");
    });
  }
}
