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
 *   { fromS: 0, toS: 20, liveKbps: 900, replayKbps: 880 },
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
    const liveKbps = median(
      live.rembs.filter((r) => r.atMs / 1000 >= from && r.atMs / 1000 < phase.toS)
        .map((r) => r.bitrateBps / 1000),
    );
    const replayKbps = median(
      replay.rows.filter((r) => {
        const t = r.timeS - offsetS;
        return t >= from && t < phase.toS && r.estimateBps > 0;
      }).map((r) => r.estimateBps / 1000),
    );
    return { fromS: phase.fromS, toS: phase.toS, liveKbps, replayKbps };
  });
}
