/**
 * The bottleneck of the closed-loop test: two network namespaces made for one run, joined by a veth
 * pair, with a token bucket (`tbf`; netem is not in this kernel) on the sender's egress. Addresses
 * are private and exist only inside the two namespaces, so no packet of the test leaves them.
 *
 * Everything here shells out to iproute2 (`ip`, `tc`) and needs root.
 *
 * @module
 */

/** The two namespaces of one run and the link between them. */
export interface NetnsPair {
  /** Namespace of the sender (Chromium). */
  txNs: string;
  /** Namespace of the receiver (werift and the test). */
  rxNs: string;
  /** The sender's end of the veth pair; the `tbf` sits on its egress. */
  txDev: string;
  /** The receiver's end. */
  rxDev: string;
  /** The sender's address. */
  txAddr: string;
  /** The receiver's address. */
  rxAddr: string;
}

/** Counters of the sender's `tbf` qdisc. */
export interface QdiscStats {
  /** Bytes sent through the bottleneck since it was created (IP packets). */
  sentBytes: number;
  /** Packets sent. */
  sentPackets: number;
  /** Packets dropped because the queue was full. */
  drops: number;
  /** Bytes queued at the time of reading. */
  backlogBytes: number;
  /** Packets queued. */
  backlogPackets: number;
}

/** Burst and queue length of every `tbf` the test sets (as in shared/reference/chromium-interop.md). */
const TBF_BURST = "10kb";
const TBF_LATENCY = "200ms";

/**
 * Runs a command and returns its standard output, throwing with its standard error on failure.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param timeoutMs Time after which the command is killed and this throws.
 * @returns What the command printed.
 */
export async function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim();
      throw new Error(`Cannot run '${cmd} ${args.join(" ")}': exit ${out.code}: ${err}`);
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Tells whether network namespaces can be made here (root and a working `ip netns`), and if not,
 * why.
 *
 * @param probeName A namespace name that is free; it is created and deleted at once.
 * @returns `undefined` when they can, else the reason.
 */
export async function netnsUnavailable(probeName: string): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) {
    return `network namespaces need root, this process runs as uid ${Deno.uid()}`;
  }
  try {
    await run("ip", ["netns", "add", probeName]);
  } catch (error) {
    return `'ip netns add' failed: ${(error as Error).message}`;
  }
  await run("ip", ["netns", "del", probeName]).catch(() => {});
  try {
    await run("tc", ["-V"]);
  } catch (error) {
    return `'tc' is missing (install iproute2): ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * Creates the two namespaces, the veth pair and the bottleneck on the sender's egress.
 *
 * On failure, whatever was created is deleted again before this throws.
 *
 * @param tag Unique per run (e.g. the process id); names are `rbe<tag>tx` and `rbe<tag>rx`.
 * @param rateKbit Initial bottleneck rate, kbit/s.
 * @returns The pair.
 */
export async function createNetnsPair(tag: string, rateKbit: number): Promise<NetnsPair> {
  const pair: NetnsPair = {
    txNs: `rbe${tag}tx`,
    rxNs: `rbe${tag}rx`,
    txDev: "vtx",
    rxDev: "vrx",
    txAddr: "10.77.0.1",
    rxAddr: "10.77.0.2",
  };
  try {
    await run("ip", ["netns", "add", pair.txNs]);
    await run("ip", ["netns", "add", pair.rxNs]);
    await run("ip", [
      "link",
      "add",
      pair.txDev,
      "netns",
      pair.txNs,
      "type",
      "veth",
      "peer",
      "name",
      pair.rxDev,
      "netns",
      pair.rxNs,
    ]);
    await run("ip", ["-n", pair.txNs, "addr", "add", `${pair.txAddr}/24`, "dev", pair.txDev]);
    await run("ip", ["-n", pair.rxNs, "addr", "add", `${pair.rxAddr}/24`, "dev", pair.rxDev]);
    for (const ns of [pair.txNs, pair.rxNs]) await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await run("ip", ["-n", pair.txNs, "link", "set", pair.txDev, "up"]);
    await run("ip", ["-n", pair.rxNs, "link", "set", pair.rxDev, "up"]);
    await run("tc", ["-n", pair.txNs, "qdisc", "add", "dev", pair.txDev, "root", ...tbf(rateKbit)]);
    return pair;
  } catch (error) {
    await deleteNetnsPair(pair);
    throw error;
  }
}

/**
 * Changes the bottleneck's rate in place (queue contents are kept).
 *
 * @param pair The namespaces.
 * @param rateKbit New rate, kbit/s.
 * @returns Nothing.
 */
export async function setBottleneckRate(pair: NetnsPair, rateKbit: number): Promise<void> {
  await run("tc", [
    "-n",
    pair.txNs,
    "qdisc",
    "change",
    "dev",
    pair.txDev,
    "root",
    ...tbf(rateKbit),
  ]);
}

/**
 * Reads the bottleneck's counters.
 *
 * @param pair The namespaces.
 * @returns Bytes and packets sent, drops and backlog.
 */
export async function readQdiscStats(pair: NetnsPair): Promise<QdiscStats> {
  const json = await run("tc", ["-n", pair.txNs, "-s", "-j", "qdisc", "show", "dev", pair.txDev]);
  const q = (JSON.parse(json) as Record<string, unknown>[]).find((entry) => entry.kind === "tbf");
  if (!q) throw new Error(`Cannot read the bottleneck: no tbf on ${pair.txDev} in ${pair.txNs}`);
  return {
    sentBytes: Number(q.bytes),
    sentPackets: Number(q.packets),
    drops: Number(q.drops),
    backlogBytes: Number(q.backlog),
    backlogPackets: Number(q.qlen),
  };
}

/**
 * Ends the processes still inside the two namespaces (by id, as `ip netns pids` lists them) and
 * deletes both namespaces; the veth pair goes with them. Never throws; safe to call twice.
 *
 * @param pair The namespaces.
 * @param exceptPid A process not to end (the caller's own, when it runs inside one of them).
 * @returns What could not be done, empty when all went well.
 */
export async function deleteNetnsPair(pair: NetnsPair, exceptPid?: number): Promise<string[]> {
  const problems: string[] = [];
  for (const ns of [pair.txNs, pair.rxNs]) {
    let pids: number[] = [];
    try {
      pids = (await run("ip", ["netns", "pids", ns])).split(/\s+/).filter((s) => s !== "").map(
        Number,
      );
    } catch {
      continue; // no such namespace
    }
    for (const pid of pids) {
      if (pid === exceptPid || pid === Deno.pid) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    try {
      await run("ip", ["netns", "del", ns]);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

function tbf(rateKbit: number): string[] {
  return ["tbf", "rate", `${rateKbit}kbit`, "burst", TBF_BURST, "latency", TBF_LATENCY];
}
