/**
 * Entry point of `deno task e2e`: sets up the bottleneck between two network namespaces made for
 * this run, generates the video, runs closed_loop.ts inside the receiver's namespace with Chromium
 * put into the sender's by a wrapper script, and always removes the namespaces again (also on
 * failure, a time-out or Ctrl-C).
 *
 * Needs root (namespaces, tc), Debian's `chromium` and `iproute2`. Where namespaces cannot be made
 * it says why and exits 1: the test fails rather than passing without having run.
 *
 * @module
 */

import type { ClosedLoopConfig } from "./closed_loop.ts";
import { createNetnsPair, deleteNetnsPair, type NetnsPair, netnsUnavailable } from "./netns.ts";
import { writeGrainY4m } from "./y4m.ts";

/** Debian's Chromium binary (/usr/bin/chromium is a shell wrapper around it). */
const CHROMIUM = Deno.env.get("RBE_CHROMIUM") ?? "/usr/lib/chromium/chromium";
/** The whole run, setup to cleanup; the scenario itself is 90 s. */
const HARD_TIMEOUT_MS = 200_000;
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
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    try {
      child?.kill("SIGKILL");
    } catch { /* gone */ }
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
    const config: ClosedLoopConfig = {
      netns: pair,
      chromiumWrapper: wrapper,
      videoPath,
      reportDir: REPORT_DIR,
    };
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
    if (interrupted) return 1;
    return status.code;
  } catch (error) {
    console.error(`FAILED: the e2e setup broke off: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    clearTimeout(timer);
    if (pair) {
      const problems = await deleteNetnsPair(pair);
      for (const p of problems) console.error(`cleanup: ${p}`);
    }
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
