/**
 * The demo: runs the simulated scenarios against this project's receiver, prints a summary table
 * and writes a report folder (HTML, SVG charts, metrics). `deno task demo --help` for options.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  ABLATION_VARIANTS,
  type ChartedRun,
  compare,
  comparisonText,
  DEFAULT_SET,
  PROFILE_VARIANTS,
  QUICK_SET,
  runScenario,
  scenario,
  type ScenarioMetrics,
  SCENARIOS,
  type Variant,
  writeReport,
} from "./sim/mod.ts";
import type { HostKind } from "../workers/lane_host.ts";
import type { Grouping } from "../core/abs_send_time_estimator.ts";

const HELP = `Runs the receiver-side estimator (this project's Coordinator) in closed loop with
browser-like senders over a simulated bottleneck, with both estimation profiles (libwebrtc's and
the enhanced one) over several seeds, prints the comparison and writes a report.

Usage: deno task demo [options]

Options:
  --quick              A reduced set that runs in seconds: ${QUICK_SET.join(", ")}.
  --scenario <ids>     Scenarios to run, comma-separated (repeatable). Default: every scenario
                       but soak-24h. "all" adds soak-24h (24 h simulated, about a minute).
  --list               Lists the scenarios and exits.
  --seed <n>           First seed of every random choice (frame sizes, jitter, loss, TCP).
                       Default 1.
  --seeds <k>          Seeds per scenario and profile: n, n+1, … Default 5.
  --profile <p>        both (default), libwebrtc or enhanced.
  --ablation           Runs the enhanced profile's stages one by one too (each alone, the kept
                       ones together, and with the one not kept) and adds that table.
  --host <kind>        Where the receiver runs its delay pipelines: inline (default),
                       worker-per-stream or pool. Results are the same; workers are slower here.
  --grouping <g>       per-stream or transport, for every scenario (default: each scenario's own;
                       the simulcast cases run both).
  --jitter <ms>        Replaces the media paths' jitter (RFC 8867 cases: 30 ms).
  --out <dir>          Report folder. Default: report
  --no-report          Prints the table only.
  --help               This text.

Metrics, each the median over the seeds with [smallest–largest]: util = media delivered /
capacity over the whole measured window, start-up and climbs included; settled = the same over the
second half of every phase of constant capacity, once the flows had half a phase to converge;
p50/p95 = queuing delay of media packets at the bottleneck; loss; Jain's fairness index where
flows compete; media / TCP share of the capacity where TCP competes; "up s" = time for the media
to reach 90 % of the first higher capacity.`;

function fail(message: string): never {
  console.error(`demo: ${message}\n\nRun with --help for the options.`);
  Deno.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean" },
        scenario: { type: "string", multiple: true },
        list: { type: "boolean" },
        seed: { type: "string" },
        seeds: { type: "string" },
        profile: { type: "string" },
        ablation: { type: "boolean" },
        host: { type: "string" },
        grouping: { type: "string" },
        jitter: { type: "string" },
        out: { type: "string" },
        "no-report": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return;
  }
  if (v.list) {
    for (const s of SCENARIOS) console.log(`${s.id.padEnd(26)} ${s.durationS} s  ${s.title}`);
    return;
  }
  let ids = v.quick ? [...QUICK_SET] : [...DEFAULT_SET];
  if (v.scenario) {
    ids = v.scenario.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
    if (ids.includes("all")) ids = SCENARIOS.map((s) => s.id);
  }
  const specs = ids.map((id) => {
    try {
      return scenario(id);
    } catch (error) {
      fail((error as Error).message);
    }
  });
  const seed = v.seed === undefined ? 1 : Number(v.seed);
  if (!Number.isInteger(seed)) fail(`--seed must be an integer: got "${v.seed}"`);
  const seedCount = v.seeds === undefined ? 5 : Number(v.seeds);
  if (!(Number.isInteger(seedCount) && seedCount >= 1)) {
    fail(`--seeds must be a positive integer: got "${v.seeds}"`);
  }
  const seeds = Array.from({ length: seedCount }, (_, i) => seed + i);
  const profile = v.profile ?? "both";
  if (!["both", "libwebrtc", "enhanced"].includes(profile)) {
    fail(`--profile must be both, libwebrtc or enhanced: got "${v.profile}"`);
  }
  const variants = PROFILE_VARIANTS.filter((p) => profile === "both" || p.name === profile);
  const ablation = v.ablation ? ABLATION_VARIANTS : [];
  const host = (v.host ?? "inline") as HostKind;
  if (!["inline", "worker-per-stream", "pool"].includes(host)) {
    fail(`--host must be inline, worker-per-stream or pool: got "${v.host}"`);
  }
  const grouping = v.grouping as Grouping | undefined;
  if (grouping !== undefined && !["per-stream", "transport"].includes(grouping)) {
    fail(`--grouping must be per-stream or transport: got "${v.grouping}"`);
  }
  const jitterMs = v.jitter === undefined ? undefined : Number(v.jitter);
  if (jitterMs !== undefined && !(jitterMs >= 0)) {
    fail(`--jitter must be a number of ms ≥ 0: got "${v.jitter}"`);
  }

  const runsPerSpec = seeds.length * (variants.length + ablation.length);
  const total = specs.reduce((sum, s) => sum + s.durationS * s.media.length * runsPerSpec, 0);
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let done = 0;
  let lastDraw = 0;
  const draw = (label: string, fraction: number, force = false) => {
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const width = 30;
    const filled = Math.round(width * fraction);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${
      (fraction * 100).toFixed(0).padStart(3)
    }%  ${label}`;
    if (tty) Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    else if (force) console.error(line);
  };
  const charted: ChartedRun[] = [];
  const runs: { variant: string; metrics: ScenarioMetrics }[] = [];
  const ablationRuns: { variant: string; metrics: ScenarioMetrics }[] = [];
  const started = performance.now();
  const runAll = async (list: readonly Variant[], into: typeof runs, chart: boolean) => {
    for (const spec of specs) {
      const weight = spec.durationS * spec.media.length;
      for (const variant of list) {
        for (const s of seeds) {
          const label = `${spec.id}, ${variant.name}, seed ${s}`;
          draw(label, done / total, true);
          const result = await runScenario(spec, {
            seed: s,
            host,
            grouping,
            jitterMs,
            profile: variant.profile,
            enhancedMechanisms: variant.enhancedMechanisms,
            onProgress: (f) => draw(label, (done + f * weight) / total),
          });
          done += weight;
          into.push({ variant: variant.name, metrics: result.metrics });
          if (chart && s === seeds[0]) charted.push({ variant: variant.name, result });
        }
      }
    }
  };
  await runAll(variants, runs, true);
  await runAll(ablation, ablationRuns, false);
  draw(
    `${specs.length} scenarios × ${
      variants.length + ablation.length
    } variants × ${seeds.length} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    1,
    true,
  );
  if (tty) Deno.stderr.writeSync(encoder.encode("\n"));

  const what = `seeds ${seeds[0]}–${seeds.at(-1)}, host ${host}${
    jitterMs === undefined ? "" : `, jitter ${jitterMs} ms`
  }`;
  console.log(`\n${what}: median [smallest–largest] over the seeds\n`);
  const comparison = compare(runs);
  console.log(comparisonText(comparison));
  const ablationRows = ablation.length > 0 ? compare(ablationRuns) : undefined;
  if (ablationRows) {
    console.log(`\nthe enhanced stages one by one (${what})\n`);
    console.log(comparisonText(ablationRows));
  }
  if (!v["no-report"]) {
    const dir = v.out ?? "report";
    const page = await writeReport(charted, {
      dir,
      description: `${what}${
        grouping ? `, grouping ${grouping}` : ""
      }. Generated by deno task demo.`,
      comparison,
      metrics: [...runs, ...ablationRuns].map((r) => r.metrics),
      ablation: ablationRows,
    });
    console.log(`\nReport: ${page}`);
  }
}

if (import.meta.main) await main();
