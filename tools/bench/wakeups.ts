/**
 * What waking a parked worker costs, by how many workers there are and how their wake-ups are
 * scheduled: the floor under worker-per-stream's CPU, which rings each of its workers every time a
 * lane's batch is due.
 *
 * Each worker parks in `Atomics.wait` on its own word of one `SharedArrayBuffer`, as a lane worker
 * does on its doorbell, and counts a wake-up when rung; it does no other work. The receiving
 * thread rings every worker `perSecond` times a second, in one of three schedules:
 * - `together`: all at one timer tick, as a flush that finds every lane due;
 * - `staggered`: spread over the period by a 1 ms timer, as lanes that fall due one by one;
 * - `chained`: the timer rings the first worker and each worker rings the next, so at most one of
 *   them is runnable at a time.
 *
 * Every configuration runs in its own `deno run` process. Its CPU (all threads, `getrusage`) is read
 * over a few seconds after a warm-up, and the same schedule with no workers is measured too, so the
 * table gives the wake-ups' own cost, net of the timer.
 *
 * Run: `deno task bench:wakeups` (about a minute).
 *
 * @module
 */

import process from "node:process";

/** One configuration. */
interface WakeupCase {
  /** Parked workers; 0 measures the timer alone. */
  workers: number;
  /** How the wake-ups are scheduled. */
  schedule: "together" | "staggered" | "chained";
  /** Wake-ups per worker and second. */
  perSecond: number;
  /** Warm-up, then measurement, ms. */
  warmupMs: number;
  measureMs: number;
}

/** What one configuration measured. */
interface WakeupFigures {
  /** CPU of the whole process over the measurement, % of a core. */
  cpuPct: number;
  /** Wake-ups the workers counted, per second. */
  wakeupsPerS: number;
}

// Word i·4 of the shared memory: worker i's doorbell; i·4 + 1 its stop flag; i·4 + 2 the
// wake-ups it counted.
const WORDS_PER_WORKER = 4;
const WORKER_SOURCE = `
self.onmessage = (event) => {
  const { buffer, index, next } = event.data;
  const words = new Int32Array(buffer);
  const bell = index * ${WORDS_PER_WORKER};
  let seen = 0;
  self.postMessage("parked");
  for (;;) {
    Atomics.wait(words, bell, seen, 1000);
    if (Atomics.load(words, bell + 1) !== 0) break;
    const rung = Atomics.load(words, bell);
    if (rung === seen) continue;
    seen = rung;
    Atomics.add(words, bell + 2, 1);
    if (next >= 0) {
      Atomics.add(words, next * ${WORDS_PER_WORKER}, 1);
      Atomics.notify(words, next * ${WORDS_PER_WORKER});
    }
  }
  self.close();
};
`;

async function runCase(c: WakeupCase): Promise<WakeupFigures> {
  const words = new Int32Array(
    new SharedArrayBuffer(4 * WORDS_PER_WORKER * Math.max(c.workers, 1)),
  );
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const parked: Promise<void>[] = [];
  for (let i = 0; i < c.workers; i++) {
    const worker = new Worker(url, { type: "module" });
    parked.push(new Promise((resolve) => worker.onmessage = () => resolve()));
    const next = c.schedule === "chained" && i + 1 < c.workers ? i + 1 : -1;
    worker.postMessage({ buffer: words.buffer, index: i, next });
  }
  await Promise.all(parked);

  const ring = (i: number) => {
    Atomics.add(words, i * WORDS_PER_WORKER, 1);
    Atomics.notify(words, i * WORDS_PER_WORKER);
  };
  const periodMs = 1000 / c.perSecond;
  // Staggered: worker i falls due at i / workers of each period; a 1 ms timer rings those due, so a
  // late timer still rings each worker perSecond times a second.
  const start = performance.now();
  const rung = new Float64Array(Math.max(c.workers, 1));
  const timer = c.schedule === "staggered"
    ? setInterval(() => {
      const periods = (performance.now() - start) / periodMs;
      for (let i = 0; i < c.workers; i++) {
        const due = Math.floor(periods + i / c.workers);
        if (due > rung[i]) {
          rung[i] = due;
          ring(i);
        }
      }
    }, 1)
    : setInterval(() => {
      if (c.schedule === "chained") {
        if (c.workers > 0) ring(0);
        return;
      }
      for (let i = 0; i < c.workers; i++) ring(i);
    }, periodMs);
  const counted = () => {
    let sum = 0;
    for (let i = 0; i < c.workers; i++) sum += Atomics.load(words, i * WORDS_PER_WORKER + 2);
    return sum;
  };

  await new Promise((resolve) => setTimeout(resolve, c.warmupMs));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const w0 = counted();
  await new Promise((resolve) => setTimeout(resolve, c.measureMs));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const w1 = counted();
  clearInterval(timer);
  for (let i = 0; i < c.workers; i++) {
    Atomics.store(words, i * WORDS_PER_WORKER + 1, 1);
    Atomics.notify(words, i * WORDS_PER_WORKER);
  }
  return {
    cpuPct: (cpu.user + cpu.system) / 1e4 / seconds,
    wakeupsPerS: (w1 - w0) / seconds,
  };
}

async function measure(c: WakeupCase): Promise<WakeupFigures> {
  // Bounded: a case that hangs is killed.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", import.meta.filename!, `--case=${JSON.stringify(c)}`],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(c.warmupMs + c.measureMs + 30_000),
  });
  const output = await child.output();
  if (!output.success) {
    throw new Error(`Cannot measure ${JSON.stringify(c)}: exit ${output.code} (${output.signal})`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as WakeupFigures;
}

async function main(): Promise<void> {
  const caseArg = Deno.args.find((a) => a.startsWith("--case="));
  if (caseArg) {
    const figures = await runCase(JSON.parse(caseArg.slice("--case=".length)) as WakeupCase);
    console.log(JSON.stringify(figures));
    // Parked workers that missed the stop would keep the process alive.
    Deno.exit(0);
  }
  const perSecond = 25; // worker-per-stream's default: a batch every 2 flushes of 20 ms
  const timing = { perSecond, warmupMs: 1000, measureMs: 4000 };
  console.log(
    `Each worker woken ${perSecond} times a second; CPU of the whole process net of the same ` +
      "timer with no workers, per wake-up.\n",
  );
  console.log("| workers | schedule | wake-ups/s | CPU, % of a core | net µs per wake-up |");
  console.log("| ------- | -------- | ---------- | ---------------- | ------------------ |");
  for (const schedule of ["together", "staggered", "chained"] as const) {
    const timer = await measure({ workers: 0, schedule, ...timing });
    for (const workers of [1, 10, 100]) {
      const f = await measure({ workers, schedule, ...timing });
      const netUs = (f.cpuPct - timer.cpuPct) * 1e4 / f.wakeupsPerS;
      console.log(
        `| ${workers} | ${schedule} | ${f.wakeupsPerS.toFixed(0)} | ${f.cpuPct.toFixed(1)} | ` +
          `${netUs.toFixed(1)} |`,
      );
    }
  }
}

if (import.meta.main) await main();
