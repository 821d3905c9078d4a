/**
 * Entry point of `deno task e2e`: sets up the bottleneck between two network namespaces made for
 * this run, generates the video, runs closed_loop.ts inside the receiver's namespace with Chromium
 * put into the sender's by a wrapper script — once per estimation profile, libwebrtc's then the
 * enhanced one, on the same bottleneck schedule — prints both side by side, and always removes the
 * namespaces again (also on failure, a time-out or Ctrl-C).
 *
 * Needs root (namespaces, tc), Debian's `chromium` and `iproute2`. Where namespaces cannot be made
 * it says why and exits 1: the test fails rather than passing without having run.
 *
 * @module
 */

import type { Profile } from "../../core/estimator_settings.ts";
import { comparePhases, replayTracksLive } from "./capture_check.ts";
import type { ClosedLoopConfig } from "./closed_loop.ts";
import {
  createNetnsPair,
  deleteNetnsPair,
  type NetnsPair,
  netnsUnavailable,
  setBottleneckRate,
} from "./netns.ts";
import { formatComparison, type ProfileRun } from "./report.ts";
import { writeGrainY4m } from "./y4m.ts";

/** Debian's Chromium binary (/usr/bin/chromium is a shell wrapper around it). */
const CHROMIUM = Deno.env.get("RBE_CHROMIUM") ?? "/usr/lib/chromium/chromium";
/** The whole run, setup to cleanup; the scenario itself is 90 s per profile. */
const HARD_TIMEOUT_MS = 420_000;
/** The profiles, in the order they run. */
// RBE_E2E_PROFILES=enhanced (comma-separated) runs a subset, for iterating on one profile.
const PROFILES: readonly Profile[] = (Deno.env.get("RBE_E2E_PROFILES") ?? "libwebrtc,enhanced")
  .split(",").filter((p): p is Profile => p === "libwebrtc" || p === "enhanced");
const REPORT_DIR = Deno.env.get("RBE_E2E_REPORT") ?? "report/e2e";

if (import.meta.main) Deno.exit(await main());

async function main(): Promise<number> {
  const tag = String(Deno.pid);
  const reason = await netnsUnavailable(`rbe${tag}probe`);
  if (reason) {
    console.error(
      `FAILED: the closed-loop e2e test cannot run here: ${reason}.\n` +
        "It needs root for network namespaces and tc (CI runs as root); it does not skip.",
    );
    return 1;
  }
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    console.error(
      `FAILED: no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium)`,
    );
    return 1;
  }

  const tmp = await Deno.makeTempDir({ prefix: "rbe-e2e-" });
  let pair: NetnsPair | undefined;
  let child: Deno.ChildProcess | undefined;
  let tcpdump: Deno.ChildProcess | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    for (const process of [child, tcpdump]) {
      try {
        process?.kill("SIGKILL");
      } catch { /* gone */ }
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const timer = setTimeout(() => {
    console.error(`FAILED: the e2e run exceeded ${HARD_TIMEOUT_MS / 1000} s; ending it`);
    onSignal();
  }, HARD_TIMEOUT_MS);
  try {
    // The receiver's namespace has no way out: fetch every module it will load (npm packages
    // included) now.
    const closedLoop = decodeURIComponent(new URL("./closed_loop.ts", import.meta.url).pathname);
    const chart = decodeURIComponent(new URL("./chart.ts", import.meta.url).pathname);
    const cache = await new Deno.Command(Deno.execPath(), {
      args: ["cache", closedLoop, chart],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!cache.success) throw new Error("Cannot cache the test's modules (deno cache failed)");

    const videoPath = `${tmp}/grain720.y4m`;
    const t = performance.now();
    await writeGrainY4m(videoPath);
    console.log(
      `video: ${videoPath} (1280x720, 30 fps, 2 s loop) in ${
        (performance.now() - t).toFixed(0)
      } ms`,
    );

    pair = await createNetnsPair(tag, 1000);
    console.log(
      `namespaces: ${pair.txNs} (Chromium, ${pair.txAddr}) and ${pair.rxNs} (werift, ${pair.rxAddr}); ` +
        `tbf on ${pair.txDev}`,
    );
    const wrapper = `${tmp}/chromium-in-netns.sh`;
    await Deno.writeTextFile(
      wrapper,
      `#!/bin/sh\nexec ip netns exec ${pair.txNs} ${CHROMIUM} "$@"\n`,
      { mode: 0o755 },
    );
    let code = 0;
    const runs: ProfileRun[] = [];
    for (const profile of PROFILES) {
      if (interrupted) return 1;
      // Every run starts from the same 1 Mbit/s bottleneck.
      await setBottleneckRate(pair, 1000);
      const reportDir = `${REPORT_DIR}/${profile}`;
      const config: ClosedLoopConfig = {
        netns: pair,
        chromiumWrapper: wrapper,
        videoPath,
        reportDir,
        profile,
      };
      console.log(`\n== ${profile} profile`);
      // Record the call where the receiver sees it, for the replay check afterwards (issue: replay
      // a real capture and compare with what the live receiver did).
      const capturePath = `${tmp}/call-${profile}.pcap`;
      tcpdump = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          pair.rxNs,
          "tcpdump",
          "-i",
          pair.rxDev,
          "-w",
          capturePath,
          "-U",
          "udp",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      child = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          pair.rxNs,
          Deno.execPath(),
          "run",
          "--allow-all",
          "--no-prompt",
          closedLoop,
          JSON.stringify(config),
        ],
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      const status = await child.status;
      child = undefined;
      tcpdump.kill("SIGINT");
      await tcpdump.status;
      tcpdump = undefined;
      if (interrupted) return 1;
      if (status.code !== 0) code = status.code;
      const replayed = await checkReplay(capturePath, tmp, profile, reportDir);
      if (replayed !== 0) code = replayed;
      try {
        const live = JSON.parse(await Deno.readTextFile(`${reportDir}/closed_loop.json`));
        runs.push({ profile, summaries: live.summaries, steps: live.steps });
      } catch (error) {
        console.error(`FAILED: no report of the ${profile} run: ${error}`);
        code = 1;
      }
    }
    if (runs.length > 0) {
      const table = formatComparison(runs);
      console.log(
        `\nBoth profiles, same bottleneck schedule (1 → 2 → 1 Mbit/s, 30 s each; per phase the ` +
          `first 10 s left out; ramp = seconds from the 1 → 2 step until the link passes ≥ 90 % ` +
          `of 2 Mbit/s; drops, lowest send rate and fps in the 10 s after the 2 → 1 step; back = ` +
          `seconds until the delivered rate stays ≥ 0.8 × 1 Mbit/s):\n\n${table}`,
      );
      await Deno.mkdir(REPORT_DIR, { recursive: true });
      await Deno.writeTextFile(`${REPORT_DIR}/comparison.md`, `${table}\n`);
    }
    return code;
  } catch (error) {
    console.error(`FAILED: the e2e setup broke off: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    clearTimeout(timer);
    try {
      tcpdump?.kill("SIGKILL");
    } catch { /* gone */ }
    if (pair) {
      const problems = await deleteNetnsPair(pair);
      for (const p of problems) console.error(`cleanup: ${p}`);
    }
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** Replays the recorded call with the replay CLI and compares it with the live receiver. */
async function checkReplay(
  capturePath: string,
  tmp: string,
  profile: Profile,
  reportDir: string,
): Promise<number> {
  const replayCli = decodeURIComponent(new URL("../../tools/replay.ts", import.meta.url).pathname);
  const replay = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      replayCli,
      capturePath,
      "--profile",
      profile,
      "--format",
      "json",
      "--out",
      tmp,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(replay.stdout);
  console.log(
    `\nreplay of the recorded call (${profile}; tcpdump in the receiver's namespace):\n${output}`,
  );
  if (!replay.success) {
    console.error(`FAILED: the replay broke off: ${new TextDecoder().decode(replay.stderr)}`);
    return 1;
  }
  const live = JSON.parse(await Deno.readTextFile(`${reportDir}/closed_loop.json`));
  const stem = capturePath.slice(capturePath.lastIndexOf("/") + 1).replace(/\.pcap$/, "");
  const timeline = JSON.parse(await Deno.readTextFile(`${tmp}/${stem}.timeline.json`));
  const phases = comparePhases(live, timeline, 10);
  const lines = [
    "| phase | live REMB median kbit/s | replayed estimate median kbit/s | ratio |",
    "|---|---|---|---|",
  ];
  for (const p of phases) {
    lines.push(
      `| ${p.fromS}–${p.toS} s | ${p.liveKbps.toFixed(0)} | ${p.replayKbps.toFixed(0)} | ${
        (p.replayKbps / p.liveKbps).toFixed(2)
      } |`,
    );
  }
  const { ok, problems } = replayTracksLive(phases);
  const table = lines.join("\n");
  console.log(table);
  await Deno.copyFile(capturePath, `${reportDir}/call.pcap`).catch(() => {});
  await Deno.writeTextFile(`${reportDir}/replay_vs_live.md`, `${table}\n`);
  console.log(
    ok
      ? `replay tracks the live receiver (${profile})`
      : `FAILED: the replay does not track the live receiver (${profile}): ${problems.join("; ")}`,
  );
  return ok ? 0 : 1;
}
