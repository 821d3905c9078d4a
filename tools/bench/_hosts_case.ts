/**
 * One configuration of the host benchmarks, run in its own process by `tools/bench/hosts.ts` so the
 * workers, threads and garbage of one configuration never disturb the next. Takes the
 * configuration as a JSON argument and prints one JSON line with the figures.
 *
 * Three kinds of run:
 *
 * - `load`: streams paced in real time (a 2 ms `setInterval` feeds every stream's due packets), a
 *   warm-up, then repetitions whose CPU is read from `/proc/<pid>/task/<tid>/schedstat` (ns on CPU,
 *   per thread): the receiving thread is the process's own pid, the whole process is all tasks.
 *   Then a phase that times each packet's verdict: a 1 ms probe reads how many records the
 *   coordinator has replayed, and a packet's verdict delay is the time from its `onPacket` call to
 *   the first probe that finds it replayed (`Coordinator` only: `OffThreadCoordinator.stats()` is a
 *   snapshot).
 * - `burst`: a few streams paced as above, then a burst of new streams starting at once. A 1 ms
 *   `setInterval` records the gaps of the event loop (a stall shows as a long gap) and when each
 *   new stream's first record is replayed (its SSRC appears in `getSSRCs()`).
 * - `throughput`: packets fed as fast as the receiving thread can, in rounds (every stream gets its
 *   next packets, then `await flush()` until everything is replayed); also RSS per stream and the
 *   time until the first packets of all streams are replayed (spawn latency of a cold start).
 *
 * @module
 */

import {
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type Timers,
} from "../../workers/coordinator.ts";
import type { HostKind, Transport } from "../../workers/lane_host.ts";
import {
  OffThreadCoordinator,
  type OffThreadCoordinatorOptions,
} from "../../workers/off_thread.ts";
import type { PacketInfo } from "../../core/types.ts";
import { SyntheticStream } from "../../tests/_helpers/synthetic_stream.ts";

/** What the runner asks for. */
export interface CaseConfig {
  /** Which measurement. */
  kind: "load" | "burst" | "throughput";
  /** The host, or `"none"`: the pacer and the generator without a coordinator (a baseline). */
  host: HostKind | "none";
  /** Workers of the pool host. */
  poolSize: number;
  /** How worker hosts move batches (undefined: the coordinator's default). */
  transport?: Transport;
  /** Whether the coordinator runs in a worker of its own (`OffThreadCoordinator`). */
  offThread?: boolean;
  /** Streams from the start. */
  streams: number;
  /** New streams of a burst run. */
  burst: number;
  /** Coordinator flush interval, ms. */
  flushMs: number;
  /** Worker answer timeout given to the coordinator, ms (undefined: its default). */
  workerTimeoutMs?: number;
  /** The coordinator's backlog limit, records (undefined: its default). */
  maxPendingRecords?: number;
  /** Flush intervals a worker lane's records gather before they are sent (undefined: the default). */
  flushesPerBatch?: number;
  /** Length of the verdict-delay phase of a load run, ms (0 or undefined: none). */
  latencyMs?: number;
  /** Warm-up, ms. */
  warmupMs: number;
  /** Measured repetitions. */
  reps: number;
  /** Length of one repetition, ms. */
  repMs: number;
}

/** 17 packets per 30 fps frame: 510 packets/s per stream, 4.75 Mbit/s. */
const BITRATE_BPS = 4_752_000;
const PACE_MS = 2;
const PROBE_MS = 1;
const OVERLOAD_TICK_MS = 1000;
const FRAME_MS = 1000 / 30;

const config = JSON.parse(Deno.args[0]) as CaseConfig;
const pid = Deno.pid;

// --- measuring ---------------------------------------------------------------------------------

function schedstatNs(tid: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/schedstat`);
  return Number(text.slice(0, text.indexOf(" ")));
}

interface CpuSample {
  mainNs: number;
  totalNs: number;
  threads: number;
}

/** CPU of the receiving thread and of all threads; the main thread read last or first. */
function readCpu(mainLast: boolean): CpuSample {
  const main = String(pid);
  let mainNs = mainLast ? 0 : schedstatNs(main);
  let others = 0;
  let threads = 1;
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    if (entry.name === main) continue;
    try {
      others += schedstatNs(entry.name);
      threads++;
    } catch {
      // The thread ended between listing and reading.
    }
  }
  if (mainLast) mainNs = schedstatNs(main);
  return { mainNs, totalNs: mainNs + others, threads };
}

/** The main thread's time on CPU and waiting for a CPU (run queue), ns. */
function mainThreadTimes(into: Float64Array): void {
  const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/schedstat`);
  const first = text.indexOf(" ");
  into[0] = Number(text.slice(0, first));
  into[1] = Number(text.slice(first + 1, text.indexOf(" ", first + 1)));
}

function rssMiB(): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// --- streams -------------------------------------------------------------------------------------

type Sink = (packet: PacketInfo, nowMs: number) => void;

/**
 * The generator's reusable packet. A class of its own, with every field a double from the start:
 * packets built as object literals shared their hidden class with other literals of the same keys,
 * and in pool runs V8 kept deoptimising Coordinator.onPacket and checkPacket on a deprecated map
 * (about 400 times a run, a third of the receiving thread's time).
 */
class LoadPacket implements PacketInfo {
  ssrc = 0.5;
  arrivalTimeMs = 0.5;
  payloadSize = 0.5;
  rtpTimestamp = 0.5;
  absSendTime: number | undefined = 0.5;
}

/** Synthetic streams, each shifted so its first packet arrives at a chosen time. */
class StreamSet {
  readonly #generators: SyntheticStream[] = [];
  readonly #next: PacketInfo[] = [];
  #shiftMs = new Float64Array(16);
  #firstFedAt = new Float64Array(16);
  #fed = new Float64Array(16);
  length = 0;

  /** Adds `count` streams; stream k's first packet arrives at `startMs + k * spreadMs / count`. */
  add(count: number, firstSsrc: number, startMs: number, spreadMs: number): void {
    for (let k = 0; k < count; k++) {
      const index = this.length++;
      if (index === this.#shiftMs.length) this.#grow();
      const generator = new SyntheticStream(BITRATE_BPS, firstSsrc + k);
      const packet = new LoadPacket();
      generator.next(packet);
      const shift = startMs + (k * spreadMs) / count - packet.arrivalTimeMs;
      packet.arrivalTimeMs += shift;
      this.#shiftMs[index] = shift;
      this.#firstFedAt[index] = NaN;
      this.#generators.push(generator);
      this.#next.push(packet);
    }
  }

  /** Real time (performance.now()) each stream's first packet was fed. */
  firstFedAt(index: number): number {
    return this.#firstFedAt[index];
  }

  /** Feeds every packet due by `nowMs`; returns how many. */
  feedDue(nowMs: number, sink: Sink): number {
    let count = 0;
    for (let k = 0; k < this.length; k++) {
      const packet = this.#next[k];
      while (packet.arrivalTimeMs <= nowMs) {
        if (this.#fed[k]++ === 0) this.#firstFedAt[k] = performance.now();
        sink(packet, nowMs);
        count++;
        this.#generators[k].next(packet);
        packet.arrivalTimeMs += this.#shiftMs[k];
      }
    }
    return count;
  }

  /** Feeds `perStream` packets of every stream, interleaved; `clock[0]` follows the arrivals. */
  feedRound(perStream: number, sink: Sink, clock: Float64Array): number {
    for (let j = 0; j < perStream; j++) {
      for (let k = 0; k < this.length; k++) {
        const packet = this.#next[k];
        if (packet.arrivalTimeMs > clock[0]) clock[0] = packet.arrivalTimeMs;
        sink(packet, clock[0]);
        this.#generators[k].next(packet);
        packet.arrivalTimeMs += this.#shiftMs[k];
      }
    }
    return perStream * this.length;
  }

  #grow(): void {
    const grow = (old: Float64Array) => {
      const next = new Float64Array(old.length * 2);
      next.set(old);
      return next;
    };
    this.#shiftMs = grow(this.#shiftMs);
    this.#firstFedAt = grow(this.#firstFedAt);
    this.#fed = grow(this.#fed);
  }
}

// --- the coordinator -----------------------------------------------------------------------------

/** Longest synchronous run of the coordinator's own flush timer, ms. */
const flushTick = { maxMs: 0, count: 0, totalMs: 0 };
const timedTimers: Timers = {
  setInterval(callback, ms) {
    const id = setInterval(() => {
      const start = performance.now();
      callback();
      const took = performance.now() - start;
      flushTick.totalMs += took;
      if (took > flushTick.maxMs) flushTick.maxMs = took;
      flushTick.count++;
    }, ms);
    Deno.unrefTimer(id);
    return id;
  },
  clearInterval(handle) {
    clearInterval(handle as number);
  },
};

const events = { laneFailed: 0, refused: 0, errors: 0 };

/** When the spawner reported each lane worker constructed (its `new Worker` returned), real ms. */
const spawnedAt: number[] = [];
const watchedFactory = (url: string | URL, name: string): Worker => {
  const worker = new Worker(url, { type: "module", name });
  // A second listener next to the coordinator's own `onmessage`: it only takes the time.
  worker.addEventListener("message", (event: MessageEvent) => {
    if ((event.data as { type?: string }).type === "spawned") spawnedAt.push(performance.now());
  });
  return worker;
};

type AnyCoordinator = Coordinator | OffThreadCoordinator;

function makeCoordinator(nowMs: () => number, maxStreams: number): AnyCoordinator | undefined {
  if (config.host === "none") return undefined;
  // Options passed only when asked for, as untyped extras (older revisions lack them).
  const extra: Record<string, number> = {};
  if (config.maxPendingRecords !== undefined) extra.maxPendingRecords = config.maxPendingRecords;
  if (config.flushesPerBatch !== undefined) extra.flushesPerBatch = config.flushesPerBatch;
  const make = (options: OffThreadCoordinatorOptions) =>
    config.offThread ? new OffThreadCoordinator(options) : new Coordinator(options);
  return make({
    ...extra as CoordinatorOptions,
    host: config.host,
    poolSize: config.host === "pool" ? config.poolSize : undefined,
    transport: config.transport,
    flushIntervalMs: config.flushMs,
    maxStreams,
    workerTimeoutMs: config.workerTimeoutMs,
    clock: { nowMs },
    timers: timedTimers,
    workerFactory: watchedFactory,
    onEvent: (event: CoordinatorEvent) => {
      if (event.type === "lane-failed") events.laneFailed++;
      else if (event.type === "stream-refused") events.refused++;
    },
    onError: () => events.errors++,
  });
}

/** What a baseline run does with a packet: read it, so the generator's work is not optimised out. */
const checksum = new Float64Array(1);
const noSink: Sink = (packet) => {
  checksum[0] += packet.payloadSize;
};

function sinkOf(coordinator: AnyCoordinator | undefined): Sink {
  return coordinator ? (packet, nowMs) => coordinator.onPacket(packet, nowMs) : noSink;
}

function coordinatorFigures(coordinator: AnyCoordinator | undefined) {
  if (!coordinator) return {};
  const stats = coordinator.stats();
  return {
    liveWorkers: stats.liveWorkers,
    failedLanes: stats.failedLanes,
    pendingRecords: stats.pendingRecords,
    replayedStreams: stats.streams.length,
    estimateBps: stats.estimateBps,
    laneFailedEvents: events.laneFailed,
    refusedStreams: events.refused,
    callbackErrors: events.errors,
  };
}

// Sim time: packets carry arrival times from 100 s; the clock maps real time onto them.
const SIM_START_MS = 100_000;

/**
 * Times verdicts: the pacer notes how many packets it has fed by when, a probe how many records are
 * replayed by when; packet n's delay is the first probe time with more than n replayed minus the
 * time of the pacer tick that fed it.
 */
class VerdictClock {
  on = false;
  #first = 0;
  readonly #fedAt: number[] = [];
  readonly #fedCount: number[] = [];
  readonly #replayedAt: number[] = [];
  readonly #replayedCount: number[] = [];

  /** Starts with the packets fed so far. */
  start(fed: number): void {
    this.#first = fed;
    this.on = true;
  }

  fedBy(atMs: number, fed: number): void {
    this.#fedAt.push(atMs);
    this.#fedCount.push(fed);
  }

  replayedBy(atMs: number, replayed: number): void {
    this.#replayedAt.push(atMs);
    this.#replayedCount.push(replayed);
  }

  /** Median, 99th percentile and largest delay over the packets fed while on. */
  figures(): { verdictMedianMs: number; verdictP99Ms: number; verdictMaxMs: number } {
    this.on = false;
    const delays: number[] = [];
    const lastProbe = this.#replayedAt.length - 1;
    // Packets of the last 200 ms may still be on their way: left out.
    const cutoff = (this.#replayedAt[lastProbe] ?? 0) - 200;
    let probe = 0;
    let from = this.#first;
    for (let tick = 0; tick < this.#fedAt.length && this.#fedAt[tick] <= cutoff; tick++) {
      const to = this.#fedCount[tick]; // packets from..to-1 were fed at this tick
      for (let n = from; n < to; n++) {
        while (probe <= lastProbe && this.#replayedCount[probe] <= n) probe++;
        if (probe > lastProbe) break;
        delays.push(this.#replayedAt[probe] - this.#fedAt[tick]);
      }
      from = to;
    }
    return {
      verdictMedianMs: median(delays),
      verdictP99Ms: quantile(delays, 0.99),
      verdictMaxMs: delays.length ? delays.reduce((max, d) => (d > max ? d : max)) : NaN,
    };
  }
}

// --- load ----------------------------------------------------------------------------------------

async function runLoad() {
  const realStart = performance.now();
  const simNow = () => SIM_START_MS + (performance.now() - realStart);
  const streams = new StreamSet();
  streams.add(config.streams, 0x1000, SIM_START_MS + 5, FRAME_MS);
  const constructStart = performance.now();
  const coordinator = makeCoordinator(simNow, config.streams);
  const constructMs = performance.now() - constructStart;
  const sink = sinkOf(coordinator);

  let fed = 0;
  let lastTick = performance.now();
  let maxGapMs = 0;
  let maxTickMs = 0;
  // A receiving thread that cannot keep up makes every tick longer than the last (each has more
  // due packets); past OVERLOAD_TICK_MS the run stops feeding and reports the collapse instead.
  let overloadedAtMs = NaN;
  let longestTickMs = 0;
  let feedMs = 0; // inside the pacer's feeding loop: the generator and onPacket, nothing else
  const verdicts = new VerdictClock();
  const pacer = setInterval(() => {
    const start = performance.now();
    const gap = start - lastTick;
    if (gap > maxGapMs) maxGapMs = gap;
    lastTick = start;
    fed += streams.feedDue(simNow(), sink);
    if (verdicts.on) verdicts.fedBy(start, fed);
    const took = performance.now() - start;
    feedMs += took;
    if (took > maxTickMs) maxTickMs = took;
    if (took > longestTickMs) longestTickMs = took;
    if (took > OVERLOAD_TICK_MS && Number.isNaN(overloadedAtMs)) {
      overloadedAtMs = performance.now() - realStart;
      clearInterval(pacer);
    }
  }, PACE_MS);

  // Warm up; worker hosts also until every stream's records come back.
  await sleep(config.warmupMs);
  const readyDeadline = performance.now() + 20_000;
  while (
    coordinator && coordinator.getSSRCs().length < config.streams &&
    performance.now() < readyDeadline && Number.isNaN(overloadedAtMs)
  ) {
    await sleep(50);
  }
  const readyMs = performance.now() - realStart;

  const reps = [];
  for (let r = 0; r < config.reps; r++) {
    maxGapMs = 0;
    maxTickMs = 0;
    flushTick.maxMs = 0;
    flushTick.totalMs = 0;
    const feed0 = feedMs;
    const fed0 = fed;
    const wall0 = performance.now();
    const cpu0 = readCpu(true);
    await sleep(config.repMs);
    const cpu1 = readCpu(false);
    const wall1 = performance.now();
    const packets = fed - fed0;
    const wallNs = (wall1 - wall0) * 1e6;
    reps.push({
      packetsPerS: packets / ((wall1 - wall0) / 1000),
      mainCpuPct: (100 * (cpu1.mainNs - cpu0.mainNs)) / wallNs,
      procCpuPct: (100 * (cpu1.totalNs - cpu0.totalNs)) / wallNs,
      mainNsPerPacket: (cpu1.mainNs - cpu0.mainNs) / packets,
      feedNsPerPacket: ((feedMs - feed0) * 1e6) / packets,
      flushNsPerPacket: (flushTick.totalMs * 1e6) / packets,
      procNsPerPacket: (cpu1.totalNs - cpu0.totalNs) / packets,
      maxPacerGapMs: maxGapMs,
      maxPacerTickMs: maxTickMs,
      maxFlushTickMs: flushTick.maxMs,
      threads: cpu1.threads,
    });
  }
  // Verdict delays: a probe every 1 ms notes how many records are replayed.
  let verdictFigures = {};
  if (config.latencyMs && coordinator instanceof Coordinator) {
    verdicts.start(fed);
    const probe = setInterval(() => {
      const stats = coordinator.stats();
      verdicts.replayedBy(performance.now(), stats.packets - stats.pendingRecords);
    }, PROBE_MS);
    await sleep(config.latencyMs);
    clearInterval(probe);
    verdictFigures = verdicts.figures();
  }
  clearInterval(pacer);
  const figures = coordinatorFigures(coordinator);
  const rss = rssMiB();
  await coordinator?.close();
  return {
    ...verdictFigures,
    overloadedAtMs,
    longestPacerTickMs: longestTickMs,
    constructMs,
    readyMs,
    rssMiB: rss,
    reps,
    packetsPerS: median(reps.map((r) => r.packetsPerS)),
    mainCpuPct: median(reps.map((r) => r.mainCpuPct)),
    procCpuPct: median(reps.map((r) => r.procCpuPct)),
    procCpuPctMin: Math.min(...reps.map((r) => r.procCpuPct)),
    procCpuPctMax: Math.max(...reps.map((r) => r.procCpuPct)),
    mainNsPerPacket: median(reps.map((r) => r.mainNsPerPacket)),
    feedNsPerPacket: median(reps.map((r) => r.feedNsPerPacket)),
    flushNsPerPacket: median(reps.map((r) => r.flushNsPerPacket)),
    procNsPerPacket: median(reps.map((r) => r.procNsPerPacket)),
    maxPacerGapMs: Math.max(...reps.map((r) => r.maxPacerGapMs)),
    maxFlushTickMs: Math.max(...reps.map((r) => r.maxFlushTickMs)),
    threads: reps[reps.length - 1].threads,
    ...figures,
  };
}

// --- burst ---------------------------------------------------------------------------------------

async function runBurst() {
  const realStart = performance.now();
  const simNow = () => SIM_START_MS + (performance.now() - realStart);
  const streams = new StreamSet();
  const base = config.streams;
  streams.add(base, 0x1000, SIM_START_MS + 5, FRAME_MS);
  const coordinator = makeCoordinator(simNow, base + config.burst)!;
  const sink = sinkOf(coordinator);

  let maxTickMs = 0;
  const pacer = setInterval(() => {
    const start = performance.now();
    streams.feedDue(simNow(), sink);
    const took = performance.now() - start;
    if (took > maxTickMs) maxTickMs = took;
  }, PACE_MS);

  await sleep(config.warmupMs);
  while (coordinator.getSSRCs().length < base) await sleep(20);

  // The probe: event-loop gaps, and when each new stream's first record is replayed.
  const gaps: number[] = [];
  let lastProbe = performance.now();
  let phase: "before" | "burst" = "before";
  const gapsBefore: number[] = [];
  const replayedAt = new Float64Array(config.burst).fill(NaN);
  let replayed = 0;
  let maxPending = 0;
  let probes = 0;
  const burstSsrc = 0x100000;
  // For the longest gap: how much of it the main thread ran, waited for a CPU, or was off CPU.
  const times = new Float64Array(2);
  mainThreadTimes(times);
  let lastCpuNs = times[0];
  let lastWaitNs = times[1];
  let longest = { gapMs: 0, cpuMs: 0, waitMs: 0 };
  const probe = setInterval(() => {
    const now = performance.now();
    const gap = now - lastProbe;
    (phase === "before" ? gapsBefore : gaps).push(gap);
    lastProbe = now;
    mainThreadTimes(times);
    if (phase === "burst" && gap > longest.gapMs) {
      longest = {
        gapMs: gap,
        cpuMs: (times[0] - lastCpuNs) / 1e6,
        waitMs: (times[1] - lastWaitNs) / 1e6,
      };
    }
    lastCpuNs = times[0];
    lastWaitNs = times[1];
    if (phase !== "burst") return;
    const ssrcs = coordinator.getSSRCs();
    if (ssrcs.length - base > replayed) {
      for (const ssrc of ssrcs) {
        const k = ssrc - burstSsrc;
        if (k >= 0 && k < config.burst && Number.isNaN(replayedAt[k])) {
          replayedAt[k] = now;
          replayed++;
        }
      }
    }
    if (++probes % 20 === 0) {
      const pending = coordinator.stats().pendingRecords;
      if (pending > maxPending) maxPending = pending;
    }
  }, PROBE_MS);

  await sleep(1000);
  const maxTickBefore = maxTickMs;
  const flushTickBefore = flushTick.maxMs;
  maxTickMs = 0;
  flushTick.maxMs = 0;
  const figuresBefore = coordinatorFigures(coordinator);
  // The burst: new streams whose first packets arrive within 10 ms of each other.
  const burstStart = performance.now();
  phase = "burst";
  streams.add(config.burst, burstSsrc, simNow() + 1, 10);
  const deadline = burstStart + 10_000;
  while (replayed < config.burst && performance.now() < deadline) await sleep(10);
  const allReplayedMs = performance.now() - burstStart;
  await sleep(300);
  clearInterval(probe);
  clearInterval(pacer);

  const latencies: number[] = [];
  for (let k = 0; k < config.burst; k++) {
    const latency = replayedAt[k] - streams.firstFedAt(base + k);
    if (!Number.isNaN(latency)) latencies.push(latency);
  }
  const figures = coordinatorFigures(coordinator);
  await coordinator.close();
  const spawnedInBurst = spawnedAt.filter((t) => t >= burstStart).map((t) => t - burstStart);
  return {
    maxGapBeforeMs: Math.max(...gapsBefore),
    maxGapMs: Math.max(...gaps),
    longestGapOnCpuMs: longest.cpuMs,
    longestGapWaitingForCpuMs: longest.waitMs,
    spawnedInBurst: spawnedInBurst.length,
    firstSpawnedMs: spawnedInBurst.length ? spawnedInBurst[0] : NaN,
    lastSpawnedMs: spawnedInBurst.length ? spawnedInBurst[spawnedInBurst.length - 1] : NaN,
    p99GapMs: quantile(gaps, 0.99),
    gapsOver5Ms: gaps.filter((g) => g > 5).length,
    gapsOver20Ms: gaps.filter((g) => g > 20).length,
    maxPacerTickBeforeMs: maxTickBefore,
    maxPacerTickMs: maxTickMs,
    maxFlushTickBeforeMs: flushTickBefore,
    maxFlushTickMs: flushTick.maxMs,
    replayedStreams: latencies.length,
    firstLatencyMs: latencies.length ? Math.min(...latencies) : NaN,
    medianLatencyMs: latencies.length ? median(latencies) : NaN,
    maxLatencyMs: latencies.length ? Math.max(...latencies) : NaN,
    allReplayedMs,
    maxPendingRecords: maxPending,
    failedLanesBefore: figuresBefore.failedLanes,
    ...figures,
  };
}

// --- throughput ----------------------------------------------------------------------------------

async function runThroughput() {
  const clock = new Float64Array([SIM_START_MS]);
  const streams = new StreamSet();
  streams.add(config.streams, 0x1000, SIM_START_MS + 5, FRAME_MS);
  collectGarbage();
  const rssBase = rssMiB();
  const coordinator = makeCoordinator(() => clock[0], config.streams)!;
  const sink = sinkOf(coordinator);

  // Cold start: one packet per stream, then wait until all of them are replayed.
  const start = performance.now();
  streams.feedRound(1, sink, clock);
  await coordinator.flush();
  const coldStartMs = performance.now() - start;
  const workersUp = coordinator.liveWorkers;

  const perStream = Math.max(1, Math.ceil(4096 / config.streams));
  const round = async () => {
    const packets = streams.feedRound(perStream, sink, clock);
    await coordinator.flush();
    return packets;
  };
  const warmupEnd = performance.now() + config.warmupMs;
  while (performance.now() < warmupEnd) await round();

  const reps = [];
  for (let r = 0; r < config.reps; r++) {
    let packets = 0;
    let rounds = 0;
    const wall0 = performance.now();
    const cpu0 = readCpu(true);
    while (performance.now() - wall0 < config.repMs) {
      packets += await round();
      rounds++;
    }
    const cpu1 = readCpu(false);
    const wall1 = performance.now();
    reps.push({
      packetsPerS: packets / ((wall1 - wall0) / 1000),
      roundMs: (wall1 - wall0) / rounds,
      mainNsPerPacket: (cpu1.mainNs - cpu0.mainNs) / packets,
      procNsPerPacket: (cpu1.totalNs - cpu0.totalNs) / packets,
      procCpuPct: (100 * (cpu1.totalNs - cpu0.totalNs)) / ((wall1 - wall0) * 1e6),
      threads: cpu1.threads,
    });
  }
  const figures = coordinatorFigures(coordinator);
  collectGarbage();
  const rssEnd = rssMiB();
  await coordinator.close();
  return {
    perStream,
    coldStartMs,
    workersUp,
    rssBaseMiB: rssBase,
    rssMiB: rssEnd,
    rssPerStreamMiB: (rssEnd - rssBase) / config.streams,
    packetsPerS: median(reps.map((r) => r.packetsPerS)),
    packetsPerSMin: Math.min(...reps.map((r) => r.packetsPerS)),
    packetsPerSMax: Math.max(...reps.map((r) => r.packetsPerS)),
    roundMs: median(reps.map((r) => r.roundMs)),
    mainNsPerPacket: median(reps.map((r) => r.mainNsPerPacket)),
    procNsPerPacket: median(reps.map((r) => r.procNsPerPacket)),
    procCpuPct: median(reps.map((r) => r.procCpuPct)),
    threads: reps[reps.length - 1].threads,
    ...figures,
  };
}

const result = config.kind === "load"
  ? await runLoad()
  : config.kind === "burst"
  ? await runBurst()
  : await runThroughput();
console.log(JSON.stringify({ config, result, checksum: checksum[0] }));
// Workers' threads take seconds to wind down; the figures are out, so leave at once.
Deno.exit(0);
