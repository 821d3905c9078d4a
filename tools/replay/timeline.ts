/**
 * The replay's timeline as CSV (one row per line, for spreadsheets and pandas) or JSON (with what
 * was found in the capture and the totals).
 *
 * @module
 */

import type { CaptureReplay } from "./replay_capture.ts";
import type { TimelineRow } from "./replay.ts";

/** CSV columns, in order. */
export const CSV_COLUMNS: readonly string[] = [
  "time_s",
  "event",
  "estimate_bps",
  "incoming_rate_bps",
  "delay_offset_ms",
  "modified_offset_ms",
  "threshold_ms",
  "usage",
  "rate_control_state",
  "remb_bps",
  "captured_remb_bps",
];

/** Rounds to `digits` decimals and drops trailing zeros. */
function decimal(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}

/**
 * Formats the timeline as CSV with a header line; empty cells where a row has no REMB.
 *
 * @param rows The timeline.
 * @returns The CSV text, ending in a newline.
 * @example
 * ```ts
 * import { timelineToCsv } from "./timeline.ts";
 * import assert from "node:assert/strict";
 *
 * const csv = timelineToCsv([{
 *   timeS: 0.1, event: "tick", estimateBps: 300_000, incomingRateBps: 250_000,
 *   delayOffsetMs: 0.25, modifiedOffsetMs: 1.5, thresholdMs: 12.5, usage: "normal",
 *   rateControlState: "increase", rembBps: undefined, capturedRembBps: undefined,
 * }]);
 * assert.equal(csv.split("\n")[1], "0.1,tick,300000,250000,0.25,1.5,12.5,normal,increase,,");
 * ```
 */
export function timelineToCsv(rows: readonly TimelineRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) {
    lines.push([
      decimal(row.timeS, 6),
      row.event,
      Math.round(row.estimateBps),
      Math.round(row.incomingRateBps),
      decimal(row.delayOffsetMs, 4),
      decimal(row.modifiedOffsetMs, 4),
      decimal(row.thresholdMs, 4),
      row.usage,
      row.rateControlState,
      row.rembBps ?? "",
      row.capturedRembBps ?? "",
    ].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * Formats the whole replay as JSON: the capture's description, the streams and plan, the totals
 * and the timeline.
 *
 * @param replay The replay's outcome.
 * @param captureName How to name the capture (its file name).
 * @returns Indented JSON text.
 * @example
 * ```ts
 * import { timelineToJson } from "./timeline.ts";
 * import assert from "node:assert/strict";
 *
 * const replay = {
 *   scan: {
 *     info: { format: "pcap", interfaces: [] },
 *     counts: { records: 0, firstTimeUs: NaN, lastTimeUs: NaN },
 *     streams: [],
 *   },
 *   plan: [],
 *   rows: [],
 *   summary: { packets: 0 },
 * } as unknown as Parameters<typeof timelineToJson>[0];
 * assert.equal(JSON.parse(timelineToJson(replay, "x.pcap")).capture.file, "x.pcap");
 * ```
 */
export function timelineToJson(replay: CaptureReplay, captureName: string): string {
  const { info, counts, streams } = replay.scan;
  const start = Number.isNaN(counts.firstTimeUs)
    ? null
    : new Date(Math.floor(counts.firstTimeUs / 1000)).toISOString();
  return JSON.stringify(
    {
      capture: {
        file: captureName,
        format: info.format,
        byteOrder: info.byteOrder,
        interfaces: info.interfaces,
        start,
        durationS: Number.isNaN(counts.firstTimeUs)
          ? 0
          : (counts.lastTimeUs - counts.firstTimeUs) / 1e6,
        truncated: info.truncated ?? null,
        counts,
      },
      streams: streams.map((stream, i) => ({ ...stream, plan: replay.plan[i] })),
      summary: replay.summary,
      rows: replay.rows,
    },
    (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? null : value),
    2,
  );
}
