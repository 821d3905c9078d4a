import assert from "node:assert/strict";
import { type PhaseComparison, replayTracksLive } from "./capture_check.ts";

const phase = (fromS: number, live: number, max: number, replay: number): PhaseComparison => ({
  fromS,
  toS: fromS + 30,
  liveKbps: live,
  liveMaxKbps: max,
  replayKbps: replay,
});

Deno.test("replayTracksLive() bounds the replay by the live REMBs and the schedule's shape", async (t) => {
  await t.step("a replay close to the live receiver tracks it", () => {
    const phases = [
      phase(0, 928, 1010, 929),
      phase(30, 1882, 1990, 1866),
      phase(60, 912, 990, 908),
    ];
    assert.deepEqual(replayTracksLive(phases), { ok: true, problems: [] });
  });
  await t.step("a replay past AIMD's throughput cap over the live REMBs does not", () => {
    const phases = [
      phase(0, 909, 1019, 882),
      phase(30, 1516, 1774, 2700),
      phase(60, 904, 1014, 866),
    ];
    const { ok, problems } = replayTracksLive(phases);
    assert.equal(ok, false);
    assert.deepEqual(problems, ["30–60 s: replay 2700 kbit/s over 1.5 × live max 1774 + 10"]);
  });
  await t.step("a replay far under the live receiver does not", () => {
    const phases = [
      phase(0, 909, 1019, 500),
      phase(30, 1516, 1774, 1500),
      phase(60, 904, 1014, 866),
    ];
    assert.deepEqual(replayTracksLive(phases).problems, [
      "0–30 s: replay 500 kbit/s under 0.6 × live 909",
    ]);
  });
  await t.step("a replay without the 1 → 2 → 1 shape does not", () => {
    const phases = [
      phase(0, 909, 1019, 1100),
      phase(30, 1516, 1774, 1000),
      phase(60, 904, 1014, 866),
    ];
    assert.deepEqual(replayTracksLive(phases).problems, [
      "replay: the middle phase is not above the other two",
    ]);
  });
  await t.step("missing phases or NaN medians fail", () => {
    assert.equal(replayTracksLive([phase(0, 909, 1019, 900)]).ok, false);
    const phases = [
      phase(0, NaN, NaN, 900),
      phase(30, 1516, 1774, 1500),
      phase(60, 904, 1014, 866),
    ];
    assert.equal(replayTracksLive(phases).ok, false);
  });
});
