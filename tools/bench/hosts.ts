/**
 * Benchmarks of the coordinator's hosts (inline, worker-per-stream, pool): CPU at a realistic paced
 * load, main-thread stalls and spawn latency while a burst of streams starts, throughput and RSS
 * with 1 to 1,000 streams. Every configuration runs in its own `deno run` process
 * (`_hosts_case.ts`) so one configuration's workers, threads and garbage never disturb the next;
 * this script runs them one after the other, each with a time limit, and prints markdown tables.
 *
 * Run: `deno task bench:hosts` (about 5 minutes), or name sections to run only those:
 * `deno task bench:hosts load burst throughput`. `--quick` runs the paced 100-stream table and the
 * burst table for every host in under a minute, with shorter warm-ups and repetitions. The `policy`
 * section, run only when named, compares how often worker-per-stream wakes its workers
 * (`flushesPerBatch`) by CPU and verdict delay. `--json=FILE` also writes the raw figures, and
 * `--from=FILE` prints the tables of such a file again without measuring.
 *
 * Each configuration runs with `-A`: Deno 2.9 asks for all permissions to list
 * `/proc/<pid>/task`, where the per-thread CPU figures come from.
 *
 * Worker-per-stream is measured up to 300 streams: 1,000 workers would take about 10 GiB and
 * 1,000 threads on a 2-core machine, and the tables show where it stopped scaling well before.
 *
 * @module
 */

import type { CaseConfig } from "./_hosts_case.ts";

const CASE_PATH = new URL("./_hosts_case.ts", import.meta.url).pathname;
/** A configuration that has not finished by then is killed and reported as such. */
const CASE_TIMEOUT_MS = 60_000;

interface Plan {
  section: "load" | "burst" | "throughput" | "policy";
  config: CaseConfig;
}

// deno-lint-ignore no-explicit-any
type Figures = Record<string, any>;

interface Outcome {
  plan: Plan;
  result?: Figures;
  error?: string;
  wallMs: number;
}

const base: Omit<CaseConfig, "kind" | "host"> = {
  poolSize: 1,
  streams: 100,
  burst: 0,
  flushMs: 20,
  warmupMs: 2000,
  reps: 3,
  repMs: 2000,
};
// Worker hosts are measured as themselves: a lane whose worker is still queued at the spawner
// would otherwise be declared failed after 2 s and run inline (the burst runs keep the default).
const PATIENT_MS = 60_000;
/**
 * The paced load's warm-up, and the longer one a row of worker-per-stream is measured after. The
 * generator's streams share their send times, so no probe cluster qualifies and the estimator's
 * start-up (every packet a probe candidate) lasts until its first estimate at 5 s: measuring from
 * 4.5 s took half a second of it, which made the inline flush cost ~50 % more.
 */
const WARMUP_MS = 6000;
const STEADY_WARMUP_MS = 30_000;

function plans(): Plan[] {
  const list: Plan[] = [];
  const load = (
    host: CaseConfig["host"],
    poolSize: number,
    flushMs: number,
    streams = 100,
    extra: Partial<CaseConfig> = {},
  ) =>
    list.push({
      section: "load",
      config: {
        ...base,
        kind: "load",
        host,
        poolSize,
        flushMs,
        streams,
        workerTimeoutMs: host === "worker-per-stream" ? PATIENT_MS : undefined,
        warmupMs: WARMUP_MS,
        repMs: 1500,
        latencyMs: streams <= 100 ? 1000 : 0,
        ...extra,
      },
    });
  const transfer = { transport: "transfer" } as const;
  const offThread = { offThread: true } as const;
  load("none", 1, 20);
  load("inline", 1, 20);
  load("pool", 1, 20);
  load("pool", 1, 20, 100, transfer);
  load("pool", 2, 20);
  load("worker-per-stream", 1, 20);
  // Each worker sees ~500 records a second, so its JIT needs ~30 s, not 6 s: measured again then.
  load("worker-per-stream", 1, 20, 100, { warmupMs: STEADY_WARMUP_MS });
  load("worker-per-stream", 1, 20, 100, transfer);
  load("inline", 1, 20, 100, offThread);
  load("pool", 1, 20, 100, offThread);
  load("worker-per-stream", 1, 20, 100, offThread);
  load("inline", 1, 10);
  load("pool", 1, 10);
  load("worker-per-stream", 1, 10);
  load("inline", 1, 10, 100, offThread);
  // 1,000 streams at the same rate: 510 kpkt/s (worker-per-stream is not safe there).
  load("none", 1, 20, 1000);
  load("inline", 1, 20, 1000);
  load("pool", 1, 20, 1000);
  load("pool", 2, 20, 1000);
  load("inline", 1, 20, 1000, offThread);
  // The same with a backlog limit the 1 s start-up of the pool's worker cannot reach.
  load("pool", 1, 20, 1000, { maxPendingRecords: 1 << 26 });

  const burst = (
    host: CaseConfig["host"],
    size: number,
    workerTimeoutMs?: number,
    extra: Partial<CaseConfig> = {},
  ) =>
    list.push({
      section: "burst",
      config: {
        ...base,
        kind: "burst",
        host,
        streams: 10,
        burst: size,
        warmupMs: 1500,
        workerTimeoutMs,
        ...extra,
      },
    });
  for (const size of [20, 100]) {
    burst("inline", size);
    burst("pool", size);
    burst("worker-per-stream", size);
  }
  burst("worker-per-stream", 100, PATIENT_MS);
  burst("inline", 100, undefined, offThread);

  const throughput = (
    host: CaseConfig["host"],
    poolSize: number,
    streams: number,
    extra: Partial<CaseConfig> = {},
  ) =>
    list.push({
      section: "throughput",
      config: {
        ...base,
        kind: "throughput",
        host,
        poolSize,
        streams,
        warmupMs: 500,
        repMs: 1000,
        workerTimeoutMs: PATIENT_MS,
        ...extra,
      },
    });
  for (const streams of [1, 10, 100, 1000]) throughput("inline", 1, streams);
  for (const streams of [1, 10, 100, 1000]) throughput("pool", 1, streams);
  for (const streams of [100, 1000]) throughput("pool", 2, streams);
  for (const streams of [1, 10, 100, 300]) throughput("worker-per-stream", 1, streams);
  for (const streams of [1, 100, 1000]) throughput("inline", 1, streams, offThread);
  return list;
}

/** The quick run: the paced 100-stream table and the burst table, every host, in under a minute. */
function quickPlans(): Plan[] {
  const list: Plan[] = [];
  const load = (host: CaseConfig["host"], extra: Partial<CaseConfig> = {}) =>
    list.push({
      section: "load",
      config: {
        ...base,
        kind: "load",
        host,
        warmupMs: 2500,
        reps: 3,
        repMs: 600,
        latencyMs: 800,
        workerTimeoutMs: host === "worker-per-stream" ? PATIENT_MS : undefined,
        ...extra,
      },
    });
  load("none");
  load("inline");
  load("pool");
  load("worker-per-stream");
  // The wake policy against waking every worker at every flush (the default's figures above).
  load("worker-per-stream", { flushesPerBatch: 1 });
  load("inline", { offThread: true });
  const burst = (host: CaseConfig["host"], extra: Partial<CaseConfig> = {}) =>
    list.push({
      section: "burst",
      config: { ...base, kind: "burst", host, streams: 10, burst: 100, warmupMs: 1000, ...extra },
    });
  burst("inline");
  burst("pool");
  burst("worker-per-stream");
  burst("inline", { offThread: true });
  return list;
}

/** How often worker-per-stream wakes its workers, against inline: CPU and verdict delay. */
function policyPlans(): Plan[] {
  const list: Plan[] = [];
  const load = (host: CaseConfig["host"], flushMs: number, flushesPerBatch?: number) =>
    list.push({
      section: "policy",
      config: {
        ...base,
        kind: "load",
        host,
        flushMs,
        flushesPerBatch,
        warmupMs: WARMUP_MS,
        repMs: 1500,
        latencyMs: 1500,
        workerTimeoutMs: host === "worker-per-stream" ? PATIENT_MS : undefined,
      },
    });
  for (const flushMs of [40, 20, 10]) {
    load("none", flushMs);
    load("inline", flushMs);
    for (const flushes of [1, 2, 3, 4]) load("worker-per-stream", flushMs, flushes);
  }
  return list;
}

async function runCase(plan: Plan): Promise<Outcome> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    // A heap limit, so a configuration that runs away fails alone instead of eating the machine.
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc,--max-old-space-size=3072",
      CASE_PATH,
      JSON.stringify(plan.config),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), CASE_TIMEOUT_MS);
  });
  const output = child.output();
  const first = await Promise.race([output, timeout]);
  clearTimeout(timer);
  if (first === "timeout") {
    child.kill("SIGKILL");
    await output.catch(() => undefined);
    return { plan, error: `killed after ${CASE_TIMEOUT_MS} ms`, wallMs: performance.now() - start };
  }
  const wallMs = performance.now() - start;
  const stdout = new TextDecoder().decode(first.stdout).trim().split("\n");
  const line = stdout.reverse().find((l) => l.startsWith("{"));
  if (first.code !== 0 || !line) {
    const stderr = new TextDecoder().decode(first.stderr).trim().split("\n").slice(-3).join(" | ");
    return { plan, error: `exit ${first.code}: ${stderr}`, wallMs };
  }
  return { plan, result: JSON.parse(line).result, wallMs };
}

// --- formatting ----------------------------------------------------------------------------------

function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function hostLabel(config: CaseConfig): string {
  const backlog = config.maxPendingRecords === undefined
    ? ""
    : `, maxPendingRecords ${fmt(config.maxPendingRecords)}`;
  if (config.host === "none") return "baseline: pacer + generator, no coordinator";
  const where = config.offThread ? "off-thread, " : "";
  const policy = config.flushesPerBatch === undefined
    ? ""
    : `, flushesPerBatch ${config.flushesPerBatch}`;
  if (config.host === "pool") {
    return `${where}pool (${config.poolSize} worker${config.poolSize > 1 ? "s" : ""}${backlog})`;
  }
  const warmup = config.kind === "load" && config.warmupMs > WARMUP_MS
    ? `, after ${config.warmupMs / 1000} s`
    : "";
  return where + config.host + backlog + policy + warmup;
}

function transport(config: CaseConfig): string {
  if (config.host === "inline" || config.host === "none") return "–";
  return config.transport === "transfer" ? "transfer ping-pong" : "shared memory";
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function failed(outcome: Outcome, columns: number): string[] {
  return [hostLabel(outcome.plan.config), outcome.error ?? "", ...Array(columns - 2).fill("")];
}

function verdictCell(r: Figures): string {
  if (r.verdictMedianMs === undefined) return "–";
  return `${fmt(r.verdictMedianMs, 1)} / ${fmt(r.verdictP99Ms, 1)} / ${fmt(r.verdictMaxMs, 1)}`;
}

function loadTables(outcomes: Outcome[], title = "Paced load"): string {
  const out: string[] = [];
  // One table per stream count and flush interval, in the order they were measured.
  const keys = [
    ...new Set(outcomes.map((o) => `${o.plan.config.streams}/${o.plan.config.flushMs}`)),
  ];
  for (const [streams, flushMs] of keys.map((key) => key.split("/").map(Number))) {
    const group = outcomes.filter((o) =>
      o.plan.config.flushMs === flushMs && o.plan.config.streams === streams
    );
    const baseline = outcomes.find((o) =>
      o.plan.config.host === "none" && o.plan.config.streams === streams
    )?.result;
    out.push(
      `### ${title}: ${fmt(streams)} streams × 510 packets/s (${fmt(streams * 0.51)} kpkt/s), ` +
        `flush every ${flushMs} ms${flushMs === 10 ? " (the default)" : ""}`,
      "",
    );
    const header = [
      "host",
      "transport",
      "receiving thread, % of a core",
      "receiving thread, ns/packet",
      "net of baseline, ns/packet",
      "of it: in onPacket / in the flush timer, ns/packet",
      "whole process, % of a core (min–max)",
      "net of baseline, % of a core",
      "threads",
      "RSS MiB",
      "longest pacer gap, ms",
      "verdict delay: median / p99 / max, ms",
      "failed lanes",
    ];
    const rows = group.map((o) => {
      const r = o.result;
      if (!r) return failed(o, header.length);
      if (!Number.isNaN(r.overloadedAtMs ?? NaN)) {
        return [
          hostLabel(o.plan.config),
          transport(o.plan.config),
          `collapsed: a pacer tick took ${fmt(r.longestPacerTickMs)} ms at ${
            fmt(r.overloadedAtMs / 1000, 1)
          } s, feeding stopped`,
          ...Array(header.length - 4).fill(""),
          fmt(r.failedLanes),
        ];
      }
      const isBaseline = o.plan.config.host === "none";
      return [
        hostLabel(o.plan.config),
        transport(o.plan.config),
        fmt(r.mainCpuPct, 1),
        fmt(r.mainNsPerPacket),
        isBaseline || !baseline ? "–" : fmt(r.mainNsPerPacket - baseline.mainNsPerPacket),
        isBaseline || !baseline
          ? "–"
          : `${fmt(r.feedNsPerPacket - baseline.feedNsPerPacket)} / ${fmt(r.flushNsPerPacket)}`,
        `${fmt(r.procCpuPct, 1)} (${fmt(r.procCpuPctMin, 1)}–${fmt(r.procCpuPctMax, 1)})`,
        isBaseline || !baseline ? "–" : fmt(r.procCpuPct - baseline.procCpuPct, 1),
        fmt(r.threads),
        fmt(r.rssMiB),
        fmt(r.maxPacerGapMs, 1),
        isBaseline ? "–" : verdictCell(r),
        isBaseline ? "–" : fmt(r.failedLanes),
      ];
    });
    out.push(table(header, rows), "");
  }
  out.push(
    "Packets are fed in real time by a 2 ms `setInterval` (all due packets of all streams); CPU " +
      `from \`/proc/<pid>/task/<tid>/schedstat\` over 3 × 1.5 s after a ${
        WARMUP_MS / 1000
      } s warm-up ` +
      "(medians). " +
      "Receiving thread = the main thread (which also replays the verdicts unless the " +
      "coordinator is off-thread). The baseline row is the pacer and the packet generator alone " +
      'at the same stream count; "net" subtracts it. The split times the pacer\'s feeding loop ' +
      "(minus the baseline's) and the coordinator's flush timer callbacks with `performance.now()`" +
      ", so it leaves out the event loop's own work. " +
      "Worker-per-stream ran with `workerTimeoutMs: 60000` so that no lane fell back inline " +
      "during the spawn; a lane can still fall back when the coordinator's backlog limit " +
      "(`maxPendingRecords`) sheds it, and the failed-lanes column says so. Verdict delay: from " +
      "a packet's `onPacket` call to the first 1 ms probe that finds it replayed (`Coordinator` " +
      "only), over the packets of a phase after the repetitions.",
    "",
  );
  return out.join("\n");
}

function burstTable(outcomes: Outcome[]): string {
  const header = [
    "host",
    "new streams",
    "longest event-loop gap, before → during (ms)",
    "of it: main thread on CPU / waiting for a CPU (ms)",
    "gaps > 5 ms / > 20 ms",
    "longest pacer tick (ms)",
    "longest flush tick (ms)",
    "spawner's `new Worker` done, first / last (ms)",
    "spawn latency: first / median / max (ms)",
    "all replayed after (ms)",
    "peak unreplayed records",
    "lanes failed → inline",
  ];
  const rows = outcomes.map((o) => {
    const r = o.result;
    const c = o.plan.config;
    if (!r) return failed(o, header.length);
    const label = hostLabel(c) +
      (c.workerTimeoutMs ? ` (workerTimeoutMs ${c.workerTimeoutMs})` : "");
    return [
      label,
      fmt(c.burst),
      `${fmt(r.maxGapBeforeMs, 1)} → ${fmt(r.maxGapMs, 1)}`,
      `${fmt(r.longestGapOnCpuMs, 1)} / ${fmt(r.longestGapWaitingForCpuMs, 1)}`,
      `${fmt(r.gapsOver5Ms)} / ${fmt(r.gapsOver20Ms)}`,
      fmt(r.maxPacerTickMs, 1),
      fmt(r.maxFlushTickMs, 1),
      r.spawnedInBurst ? `${fmt(r.firstSpawnedMs)} / ${fmt(r.lastSpawnedMs)}` : "–",
      `${fmt(r.firstLatencyMs)} / ${fmt(r.medianLatencyMs)} / ${fmt(r.maxLatencyMs)}`,
      fmt(r.allReplayedMs),
      fmt(r.maxPendingRecords),
      fmt(r.failedLanes),
    ];
  });
  return [
    "### Burst of new streams: main-thread stalls and spawn latency",
    "",
    table(header, rows),
    "",
    "10 streams run paced (flush 20 ms), then the new streams' first packets arrive within 10 ms. " +
    "A 1 ms `setInterval` records event-loop gaps (a stall shows as a long gap) and when each new " +
    "SSRC's first record has been replayed; spawn latency = that time − the stream's first " +
    "packet. Pacer tick = the synchronous `onPacket` calls of one 2 ms tick; flush tick = the " +
    "coordinator's own timer callback; the longest gap is split with the main thread's schedstat " +
    "(on CPU = its own work, e.g. a catch-up replay; waiting = starved by other threads). The " +
    "spawner's times come from its `spawned` reports, relative to the burst. Default " +
    "`workerTimeoutMs` (2 s) unless stated.",
    "",
  ].join("\n");
}

function throughputTable(outcomes: Outcome[]): string {
  const header = [
    "host",
    "streams",
    "packets/s (min–max)",
    "receiving thread, ns/packet",
    "whole process, ns/packet",
    "cold start: all first packets replayed (ms)",
    "RSS MiB",
    "RSS per added stream, MiB",
    "threads",
  ];
  const rows = outcomes.map((o) => {
    const r = o.result;
    const c = o.plan.config;
    if (!r) return [hostLabel(c), fmt(c.streams), o.error ?? "", "", "", "", "", "", ""];
    // Against the smallest run of the same host, so the JIT's and the runtime's own growth cancel.
    const reference = outcomes
      .filter((p) =>
        p.result && p.plan.config.host === c.host && p.plan.config.poolSize === c.poolSize &&
        !p.plan.config.offThread === !c.offThread &&
        p.plan.config.streams < c.streams
      )
      .sort((a, b) => a.plan.config.streams - b.plan.config.streams)[0];
    const perStream = reference
      ? fmt((r.rssMiB - reference.result!.rssMiB) / (c.streams - reference.plan.config.streams), 2)
      : "–";
    return [
      hostLabel(c),
      fmt(c.streams),
      `${fmt(r.packetsPerS)} (${fmt(r.packetsPerSMin)}–${fmt(r.packetsPerSMax)})`,
      fmt(r.mainNsPerPacket),
      fmt(r.procNsPerPacket),
      fmt(r.coldStartMs),
      fmt(r.rssMiB),
      perStream,
      fmt(r.threads),
    ];
  });
  if (outcomes.some((o) => o.plan.config.host === "worker-per-stream")) {
    rows.push(["worker-per-stream", "1,000", "not run (see below)", "", "", "", "", "", ""]);
  }
  return [
    "### Throughput, RSS and cold start",
    "",
    table(header, rows),
    "",
    "Packets fed as fast as the receiving thread can, in rounds of about 4,096 (every stream's " +
    "next ⌈4096 / streams⌉ packets, interleaved), each round followed by `await flush()` until " +
    "all of it is replayed; 3 × 1 s after a 0.5 s warm-up, medians. Batch size 64 (the default; " +
    "a full batch is sent at once), flush 20 ms. RSS per added stream = (RSS − RSS of the " +
    "smallest run of that host) / (streams added), after a forced GC of the main isolate. " +
    "Worker-per-stream stops at 300 streams: each stream costs a thread and the RSS shown, so " +
    "1,000 would need about 10 GiB, 1,000 threads on 2 cores and half a minute of spawning.",
    "",
  ].join("\n");
}

// --- main ----------------------------------------------------------------------------------------

function memTotalGiB(): number {
  try {
    return Deno.systemMemoryInfo().total / 2 ** 30;
  } catch {
    return NaN;
  }
}

function readLoad(): string {
  try {
    return Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
  } catch {
    return "?";
  }
}

/** The code measured: the commit, and whether the runtime's files differ from it. */
function revision(): string {
  const git = (...args: string[]) => {
    try {
      const out = new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).outputSync();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
    } catch {
      return undefined;
    }
  };
  const head = git("rev-parse", "--short", "HEAD");
  if (!head) return "unknown revision";
  const changed = git("status", "--porcelain", "--", "core", "workers");
  return `commit ${head}${changed ? " with uncommitted changes in core/ or workers/" : ""}`;
}

const sections = Deno.args.filter((a) => !a.startsWith("--"));
const jsonArg = Deno.args.find((a) => a.startsWith("--json="))?.slice("--json=".length);
const fromArg = Deno.args.find((a) => a.startsWith("--from="))?.slice("--from=".length);
const quick = Deno.args.includes("--quick");

interface Run {
  outcomes: Outcome[];
  loadBefore: string;
  loadAfter: string;
  totalS: number;
  revision: string;
  quick?: boolean;
}

async function measure(): Promise<Run> {
  const selected = quick
    ? quickPlans()
    : [...plans(), ...(sections.includes("policy") ? policyPlans() : [])]
      .filter((p) => sections.length === 0 || sections.includes(p.section));
  const started = performance.now();
  const loadBefore = readLoad();
  const outcomes: Outcome[] = [];
  for (const plan of selected) {
    const outcome = await runCase(plan);
    const c = plan.config;
    console.error(
      `${plan.section} ${hostLabel(c)} streams=${c.streams}${c.burst ? ` burst=${c.burst}` : ""} ` +
        `flush=${c.flushMs}: ${outcome.error ?? "ok"} (${fmt(outcome.wallMs / 1000, 1)} s)`,
    );
    outcomes.push(outcome);
  }
  return {
    outcomes,
    loadBefore,
    loadAfter: readLoad(),
    totalS: (performance.now() - started) / 1000,
    revision: revision(),
    quick,
  };
}

// `--from=FILE` prints the tables of an earlier `--json=FILE` run without measuring again.
const run: Run = fromArg ? JSON.parse(Deno.readTextFileSync(fromArg)) : await measure();
if (jsonArg) {
  Deno.writeTextFileSync(jsonArg, JSON.stringify(run, null, 2));
  console.error(`raw figures written to ${jsonArg}`);
}
const { outcomes, loadBefore, loadAfter, totalS } = run;

const cores = navigator.hardwareConcurrency;
const memGiB = memTotalGiB();
console.log(`## Host benchmarks (\`deno task bench:hosts\`)\n`);
console.log(
  `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${cores} cores, ${fmt(memGiB, 0)} GiB; ` +
    `load average before ${loadBefore}, after ${loadAfter}; ${fmt(totalS)} s in all; ` +
    `${run.revision}${run.quick ? "; quick run: 2.5 s warm-up, 3 × 0.6 s" : ""}.\n`,
);
const bySection = (s: Plan["section"]) => outcomes.filter((o) => o.plan.section === s);
if (bySection("load").length) console.log(loadTables(bySection("load")));
if (bySection("policy").length) {
  console.log(loadTables(bySection("policy"), "Wake policy of worker-per-stream"));
}
if (bySection("burst").length) console.log(burstTable(bySection("burst")));
if (bySection("throughput").length) console.log(throughputTable(bySection("throughput")));
console.log(
  "Transports: shared memory (the default: a lane's batches in SharedArrayBuffer slots, a " +
    "doorbell per worker that it sleeps on in `Atomics.wait`, results collected at the next " +
    "flush) and transfer ping-pong (a lane's batch buffer goes to the worker and comes back with " +
    "the verdicts, one message per worker and flush each way). Off-thread = " +
    "`OffThreadCoordinator`: the receiving thread writes packets into a shared ring and rings " +
    "the coordinator's worker once per flush; the host runs inside that worker.",
);
