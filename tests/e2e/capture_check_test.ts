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
  // The live phases of one run; each case replays them with other medians.
  const live = [[0, 909, 1019], [30, 1516, 1774], [60, 904, 1014]] as const;
  const cases = [
    {
      name: "a replay past AIMD's throughput cap over the live REMBs does not",
      replay: [882, 2700, 866],
      problems: ["30–60 s: replay 2700 kbit/s over 1.5 × live max 1774 + 10"],
    },
    {
      name: "a replay far under the live receiver does not",
      replay: [500, 1500, 866],
      problems: ["0–30 s: replay 500 kbit/s under 0.6 × live 909"],
    },
    {
      name: "a replay without the 1 → 2 → 1 shape does not",
      replay: [1100, 1000, 866],
      problems: ["replay: the middle phase is not above the other two"],
    },
  ];
  for (const { name, replay, problems } of cases) {
    await t.step(name, () => {
      const phases = live.map(([fromS, kbps, maxKbps], i) =>
        phase(fromS, kbps, maxKbps, replay[i])
      );
      assert.deepEqual(replayTracksLive(phases), { ok: false, problems });
    });
  }
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
