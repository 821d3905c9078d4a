/**
 * The replay of a real capture against what the live receiver did: the e2e run records the call
 * with tcpdump in the receiver's namespace, `deno task replay` replays it with the capture's
 * timestamps, and per phase (first 10 s left out) the replayed estimate's median must track the
 * median REMB the live receiver sent.
 *
 * @module
 */

interface LivePhase {
  fromS: number;
  toS: number;
  capacityKbps: number;
}

/** One phase's comparison. */
export interface PhaseComparison {
  /** Phase start, s since the first RTP packet. */
  fromS: number;
  /** Phase end. */
  toS: number;
  /** Median REMB the live receiver sent, kbit/s. */
  liveKbps: number;
  /** Highest REMB the live receiver sent, kbit/s. */
  liveMaxKbps: number;
  /** Median estimate of the replay, kbit/s. */
  replayKbps: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

/**
 * Compares the live run's REMBs with a replay's estimates, per settled phase.
 *
 * @param live The e2e report (`closed_loop.json`).
 * @param replay The replay timeline (`--format json`).
 * @param skipS Seconds left out at the start of each phase.
 * @returns One comparison per phase.
 * @example
 * ```ts
 * import { comparePhases } from "./capture_check.ts";
 * import assert from "node:assert/strict";
 * const live = {
 *   startEpochMs: 1000, phases: [{ fromS: 0, toS: 20, capacityKbps: 1000 }],
 *   rembs: [{ atMs: 15_000, bitrateBps: 900_000 }],
 * };
 * const replay = {
 *   capture: { counts: { firstTimeUs: 0 } },
 *   rows: [{ timeS: 16, estimateBps: 880_000 }],
 * };
 * assert.deepEqual(comparePhases(live, replay, 10), [
 *   { fromS: 0, toS: 20, liveKbps: 900, liveMaxKbps: 900, replayKbps: 880 },
 * ]);
 * ```
 */
export function comparePhases(
  live: {
    startEpochMs: number;
    phases: LivePhase[];
    rembs: { atMs: number; bitrateBps: number }[];
  },
  replay: {
    capture: { counts: { firstTimeUs: number } };
    rows: { timeS: number; estimateBps: number }[];
  },
  skipS: number,
): PhaseComparison[] {
  // Replay times count from the capture's first record; live times from the first RTP packet.
  const offsetS = live.startEpochMs / 1000 - replay.capture.counts.firstTimeUs / 1e6;
  return live.phases.map((phase) => {
    const from = phase.fromS + skipS;
    const liveRembs = live.rembs.filter((r) => r.atMs / 1000 >= from && r.atMs / 1000 < phase.toS)
      .map((r) => r.bitrateBps / 1000);
    const liveKbps = median(liveRembs);
    const liveMaxKbps = liveRembs.length === 0 ? NaN : Math.max(...liveRembs);
    const replayKbps = median(
      replay.rows.filter((r) => {
        const t = r.timeS - offsetS;
        return t >= from && t < phase.toS && r.estimateBps > 0;
      }).map((r) => r.estimateBps / 1000),
    );
    return { fromS: phase.fromS, toS: phase.toS, liveKbps, liveMaxKbps, replayKbps };
  });
}

/**
 * Whether a replay tracks the live receiver, and why not.
 *
 * Live arrivals are stamped on werift's JS thread, the capture's in the kernel: an event-loop stall
 * can make the live receiver back off where the replay does not. The replay then rises until AIMD's
 * throughput cap holds it, 1.5 × the incoming rate + 10 kbit/s, and the incoming rate is what the
 * live REMBs let the sender send. So per phase the replay's median lies between 0.6 × the live
 * median and 1.5 × the highest live REMB + 10 kbit/s, and both have the schedule's shape: the
 * middle (2 Mbit/s) phase above the other two.
 *
 * @param phases The three phases from {@linkcode comparePhases}.
 * @returns `ok`, and one line per broken rule.
 * @example
 * ```ts
 * import { replayTracksLive } from "./capture_check.ts";
 * import assert from "node:assert/strict";
 * const phase = (fromS: number, live: number, max: number, replay: number) => ({
 *   fromS, toS: fromS + 30, liveKbps: live, liveMaxKbps: max, replayKbps: replay,
 * });
 * // The replay did not back off in the 2 Mbit/s phase and sits at the throughput cap.
 * const held = [phase(0, 909, 1019, 882), phase(30, 1516, 1774, 2590), phase(60, 904, 1014, 866)];
 * assert.deepEqual(replayTracksLive(held), { ok: true, problems: [] });
 * ```
 */
export function replayTracksLive(
  phases: readonly PhaseComparison[],
): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  for (const p of phases) {
    const span = `${p.fromS}–${p.toS} s`;
    const floor = 0.6 * p.liveKbps;
    const cap = 1.5 * p.liveMaxKbps + 10;
    if (!(p.replayKbps >= floor)) {
      problems.push(`${span}: replay ${p.replayKbps} kbit/s under 0.6 × live ${p.liveKbps}`);
    }
    if (!(p.replayKbps <= cap)) {
      problems.push(
        `${span}: replay ${p.replayKbps} kbit/s over 1.5 × live max ${p.liveMaxKbps} + 10`,
      );
    }
  }
  const shape = (key: "liveKbps" | "replayKbps") =>
    phases.length === 3 && phases[1][key] > phases[0][key] && phases[1][key] > phases[2][key];
  if (!shape("liveKbps")) problems.push("live: the middle phase is not above the other two");
  if (!shape("replayKbps")) problems.push("replay: the middle phase is not above the other two");
  return { ok: problems.length === 0, problems };
}
