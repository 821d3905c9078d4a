/**
 * Replays a packet capture (pcap or pcapng, from Wireshark or tcpdump) through the receive-side
 * estimator, as a receiver would have run it with the capture's timestamps as arrival times, and
 * writes the timeline (CSV or JSON) and a chart (SVG).
 *
 * Run: `deno task replay <capture> [options]`, or with `--help` for the options.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { CaptureFormatError } from "./replay/capture_record.ts";
import { renderChart } from "./replay/chart.ts";
import { linkTypeName } from "./replay/datagram.ts";
import {
  type CaptureReplay,
  type CaptureScan,
  formatSsrc,
  replayCapture,
  type StreamPlan,
} from "./replay/replay_capture.ts";
import { timelineToCsv, timelineToJson } from "./replay/timeline.ts";

const USAGE = `Usage: deno task replay <capture.pcap|capture.pcapng> [options]

Replays a packet capture through the receive-side estimator (GCC's delay-based estimator, as
libwebrtc's receiver runs it) and shows what the receiver would have estimated and sent as REMB.

Options:
  --ext-id N|none      abs-send-time extension ID for every stream, or none for RTP timestamps
                       (default: detected per stream)
  --ssrc X[,Y…]        SSRCs to replay, decimal or 0x-hex (default: every stream with
                       abs-send-time, or every stream when none has it)
  --grouping G         per-stream | transport (default: per-stream)
  --filter F           kalman | trendline (default: kalman)
  --profile P          libwebrtc | enhanced (default: libwebrtc)
  --out DIR            where to write the timeline and the chart (default: report)
  --format F           timeline format: csv | json (default: csv)
  --quiet              no progress and no report; errors and warnings only
  -h, --help           this text

Writes DIR/<name>.timeline.csv (or .json) and DIR/<name>.chart.svg. A progress bar is drawn
when stderr is a terminal.`;

/** A wrong command line: printed with a pointer to --help. */
class UsageError extends Error {}

interface CliOptions {
  path: string;
  extId: number | "none" | undefined;
  ssrcs: number[] | undefined;
  grouping: "per-stream" | "transport";
  filter: "kalman" | "trendline";
  profile: "libwebrtc" | "enhanced";
  out: string;
  format: "csv" | "json";
  quiet: boolean;
}

function parseCommandLine(args: string[]): CliOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "ext-id": { type: "string" },
        ssrc: { type: "string" },
        grouping: { type: "string", default: "per-stream" },
        filter: { type: "string", default: "kalman" },
        profile: { type: "string", default: "libwebrtc" },
        out: { type: "string", default: "report" },
        format: { type: "string", default: "csv" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "Missing the capture file"
        : `Expected one capture file: got ${positionals.length}`,
    );
  }
  const choice = <T extends string>(name: string, value: string, choices: readonly T[]): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new UsageError(`--${name} must be one of ${choices.join(", ")}: got '${value}'`);
    }
    return value as T;
  };
  let extId: number | "none" | undefined;
  const rawExtId = values["ext-id"];
  if (rawExtId !== undefined) {
    extId = rawExtId === "none" ? "none" : Number(rawExtId);
    if (extId !== "none" && !(Number.isInteger(extId) && extId >= 1 && extId <= 255)) {
      throw new UsageError(`--ext-id must be an integer in [1, 255] or none: got '${rawExtId}'`);
    }
  }
  let ssrcs: number[] | undefined;
  if (values.ssrc !== undefined) {
    ssrcs = values.ssrc.split(",").map((text) => {
      const value = /^(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) {
        throw new UsageError(`--ssrc must list 32-bit SSRCs, decimal or 0x-hex: got '${text}'`);
      }
      return value;
    });
  }
  return {
    path: positionals[0],
    extId,
    ssrcs,
    grouping: choice("grouping", values.grouping, ["per-stream", "transport"] as const),
    filter: choice("filter", values.filter, ["kalman", "trendline"] as const),
    profile: choice("profile", values.profile, ["libwebrtc", "enhanced"] as const),
    out: values.out,
    format: choice("format", values.format, ["csv", "json"] as const),
    quiet: values.quiet,
  };
}

/** Draws a progress bar on stderr; only made when stderr is a terminal. */
class Progress {
  readonly #total: number;
  readonly #encoder = new TextEncoder();
  #pass = "";
  #shown = -1;

  constructor(totalBytes: number) {
    this.#total = Math.max(1, totalBytes);
  }

  update(pass: string, bytes: number): void {
    if (pass !== this.#pass) {
      this.end();
      this.#pass = pass;
      this.#shown = -1;
    }
    const share = Math.min(1, bytes / this.#total);
    const percent = Math.floor(share * 100);
    if (percent === this.#shown) return;
    this.#shown = percent;
    const filled = Math.round(share * 30);
    this.#write(
      `\r  ${pass.padEnd(7)}[${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${
        String(percent).padStart(3)
      } %  ${megabytes(bytes)}/${megabytes(this.#total)} MB`,
    );
  }

  end(): void {
    if (this.#pass !== "") this.#write("\n");
    this.#pass = "";
  }

  #write(text: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function kbps(bps: number | undefined): string {
  return bps === undefined ? "–" : Math.round(bps / 1000).toLocaleString("en-US");
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

function table(header: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    "  " +
    cells.map((cell, i) => rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

function warnings(scan: CaptureScan): string[] {
  const { info, counts } = scan;
  const lines: string[] = [];
  if (info.truncated) lines.push(info.truncated.message);
  if (counts.datagrams.fragment > 0) {
    lines.push(
      `${
        count(counts.datagrams.fragment)
      } IP fragments skipped (the first in the record at offset ${counts.firstFragmentOffset}): fragments are not reassembled`,
    );
  }
  for (const [linkType, n] of Object.entries(counts.unsupportedLinkTypes)) {
    lines.push(`${count(n)} records skipped: ${linkTypeName(Number(linkType))}`);
  }
  if (counts.datagrams.snapped > 0) {
    lines.push(`${count(counts.datagrams.snapped)} frames skipped: cut by the snapshot length`);
  }
  if (counts.datagrams.malformed > 0) {
    lines.push(`${count(counts.datagrams.malformed)} frames skipped: malformed IP or UDP header`);
  }
  if (counts.malformedRtp > 0) {
    lines.push(
      `${count(counts.malformedRtp)} RTP packets skipped; the first: ${counts.firstMalformedRtp}`,
    );
  }
  if (counts.backwardSteps > 0) {
    lines.push(`${count(counts.backwardSteps)} records are timestamped before an earlier record`);
  }
  if (info.simplePackets > 0) {
    lines.push(`${count(info.simplePackets)} simple packet blocks skipped: they have no timestamp`);
  }
  return lines;
}

function foundReport(
  name: string,
  sizeBytes: number,
  scan: CaptureScan,
  plan: StreamPlan[],
): string[] {
  const { info, counts, streams } = scan;
  const lines: string[] = [];
  const units = new Set(info.interfaces.map((i) => i.unitsPerSecond));
  const resolution = units.size !== 1
    ? "mixed resolutions"
    : units.has(1e6)
    ? "µs"
    : units.has(1e9)
    ? "ns"
    : `1/${[...units][0]} s`;
  lines.push(
    `capture  ${name}: ${info.format} (${info.byteOrder}, ${resolution}), ${
      megabytes(sizeBytes)
    } MB, ${count(counts.records)} records`,
  );
  info.interfaces.forEach((iface, i) => {
    lines.push(
      `         interface ${i}: ${linkTypeName(iface.linkType)}${
        iface.name ? ` (${iface.name})` : ""
      }`,
    );
  });
  if (counts.records > 0) {
    lines.push(
      `         from ${new Date(Math.floor(counts.firstTimeUs / 1000)).toISOString()}, ${
        ((counts.lastTimeUs - counts.firstTimeUs) / 1e6).toFixed(3)
      } s`,
    );
  }
  const p = counts.payloads;
  const other = [
    ["STUN", p.stun],
    ["DTLS", p.dtls],
    ["TURN channel", p["turn-channel"]],
    ["ZRTP", p.zrtp],
    ["other UDP", p.other],
    ["not UDP", counts.datagrams["not-udp"]],
    ["not IP", counts.datagrams["not-ip"]],
  ].filter(([, n]) => (n as number) > 0).map(([label, n]) => `${count(n as number)} ${label}`);
  lines.push(
    `packets  ${count(p.rtp - counts.malformedRtp)} RTP, ${count(p.rtcp)} RTCP${
      other.length > 0 ? `; also ${other.join(", ")}` : ""
    }`,
  );
  if (streams.length === 0) {
    lines.push("streams  none");
    return lines;
  }
  lines.push("streams");
  const rows = streams.map((stream, i) => {
    const durationS = (stream.lastTimeUs - stream.firstTimeUs) / 1e6;
    const s = plan[i];
    return [
      formatSsrc(stream.ssrc),
      stream.payloadTypes.join(","),
      count(stream.packets),
      durationS.toFixed(2),
      kbps(durationS > 0 ? stream.payloadBytes * 8 / durationS : undefined),
      stream.extensions.map((e) => e.id).join(",") || "–",
      s.absSendTimeId === undefined ? "none" : `${s.absSendTimeId} (${s.absSendTimeSource})`,
      s.replayed ? `yes: ${s.reason}` : `no: ${s.reason}`,
      stream.flow,
    ];
  });
  lines.push(
    ...table(
      [
        "SSRC",
        "PT",
        "packets",
        "duration s",
        "kbit/s",
        "ext IDs",
        "abs-send-time",
        "replay",
        "flow",
      ],
      rows,
      [false, false, true, true, true, false, false, false, false],
    ),
  );
  return lines;
}

// What timed a stream: its abs-send-time ID only if packets carried it, else RTP timestamps.
function sendTimeColumn(
  id: number | undefined,
  extensions: readonly { id: number; threeBytePackets: number }[],
): string {
  if (id === undefined) return "none (RTP timestamps)";
  const carried = extensions.some((e) => e.id === id && e.threeBytePackets > 0);
  return carried ? String(id) : `${id} absent (RTP timestamps)`;
}

function summaryReport(replay: CaptureReplay, options: CliOptions): string[] {
  const { summary, plan, scan } = replay;
  const lines = ["summary"];
  const rows = plan.filter((p) => p.replayed).map((p) => {
    const stream = scan.streams.find((s) => s.ssrc === p.ssrc)!;
    return [
      formatSsrc(p.ssrc),
      count(stream.packets),
      ((stream.lastTimeUs - stream.firstTimeUs) / 1e6).toFixed(2),
      sendTimeColumn(p.absSendTimeId, stream.extensions),
    ];
  });
  lines.push(
    ...table(["stream", "packets", "duration s", "send time"], rows, [false, true, true, false]),
  );
  lines.push(
    `  ${options.grouping} grouping, ${options.filter} filter${
      options.profile === "libwebrtc" ? "" : `, ${options.profile} profile`
    }: ${count(summary.packets)} packets, ${count(summary.estimates)} estimates, ${
      count(summary.rembs)
    } REMBs sent`,
  );
  lines.push(
    `  estimate kbit/s: mean ${kbps(summary.meanEstimateBps)}, min ${
      kbps(summary.minEstimateBps)
    }, max ${kbps(summary.maxEstimateBps)}`,
  );
  if (summary.capturedRembs > 0) {
    const error = summary.capturedRembMedianError;
    lines.push(
      `  REMBs in the capture: ${
        count(summary.capturedRembs)
      }; replayed vs captured, median difference ${
        error === undefined ? "–" : `${(error * 100).toFixed(1)} %`
      }`,
    );
  }
  return lines;
}

async function run(options: CliOptions): Promise<void> {
  const { path } = options;
  let sizeBytes: number;
  try {
    const stat = await Deno.stat(path);
    if (!stat.isFile) throw new UsageError(`Cannot replay '${path}' as it is not a file`);
    sizeBytes = stat.size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot open capture '${path}' as it does not exist`);
    }
    throw error;
  }
  // Progress is for a person watching: in a pipe or a log it would only be noise.
  const progress = options.quiet || !Deno.stderr.isTerminal() ? undefined : new Progress(sizeBytes);
  const print = (lines: string[]) => {
    if (!options.quiet) console.log(lines.join("\n"));
  };
  const replay = await replayCapture(() => Deno.open(path), {
    extId: options.extId,
    ssrcs: options.ssrcs,
    grouping: options.grouping,
    filter: options.filter,
    profile: options.profile,
    onProgress: (pass, bytes) => progress?.update(pass, bytes),
    onScanned: (scan, plan) => {
      progress?.end();
      for (const line of warnings(scan)) console.error(`warning: ${line}`);
      print(foundReport(basename(path), sizeBytes, scan, plan));
    },
  });
  progress?.end();
  print(summaryReport(replay, options));

  await Deno.mkdir(options.out, { recursive: true });
  const stem = basename(path).replace(/\.(pcapng|pcap|cap)$/i, "");
  const timelinePath = join(options.out, `${stem}.timeline.${options.format}`);
  await Deno.writeTextFile(
    timelinePath,
    options.format === "csv" ? timelineToCsv(replay.rows) : timelineToJson(replay, basename(path)),
  );
  const chartPath = join(options.out, `${stem}.chart.svg`);
  await Deno.writeTextFile(
    chartPath,
    await renderChart(replay.rows, {
      title: `${basename(path)}: replayed estimate (${options.grouping}, ${options.filter}${
        options.profile === "libwebrtc" ? "" : `, ${options.profile}`
      })`,
    }),
  );
  print([`wrote    ${timelinePath}`, `         ${chartPath}`]);
}

/**
 * Runs the CLI.
 *
 * @param args The command-line arguments.
 * @returns The exit code: 0, or 1 after an error (printed as one message, never a stack trace).
 * @example
 * ```ts
 * import { main } from "./replay.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--help"]), 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const options = parseCommandLine(args);
    if (options === "help") {
      console.log(USAGE);
      return 0;
    }
    await run(options);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\nRun with --help for the options.`);
    } else if (error instanceof CaptureFormatError || error instanceof RangeError) {
      console.error(`error: ${error.message}`);
    } else if (error instanceof Deno.errors.PermissionDenied) {
      console.error(`error: ${error.message} (run with --allow-read and --allow-write)`);
    } else {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
