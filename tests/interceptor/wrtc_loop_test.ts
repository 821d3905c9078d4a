/**
 * The closed loop with a real GCC sender: libwebrtc M98 (npm:@roamhq/wrtc, in-process) sends VP8 to
 * the werift adapter over 127.0.0.1. wrtc is a Node-API addon, which needs `-A`, so the loop runs in
 * a child process (examples/werift-receiver/wrtc_loop.ts) and reports a JSON summary.
 */

import assert from "node:assert/strict";
import type { LoopSummary } from "../../examples/werift-receiver/wrtc_loop.ts";

const LOOP = new URL("../../examples/werift-receiver/wrtc_loop.ts", import.meta.url).pathname;
const CAP_BPS = 300_000;
const TIMEOUT_MS = 90_000;

Deno.test("werift adapter: libwebrtc's send rate takes our start REMB, obeys a 300 kbit/s cap and rises when it is lifted", async () => {
  // On a loaded machine a call can fail to start before our estimator sees anything: nothing
  // arrives in 30 s, or (never seen since werift answers as the DTLS server) werift authenticates
  // no SRTP packet, which the loop names. A new call negotiates anew: that start-up alone is tried
  // up to three times.
  let run = await runLoop();
  for (let attempt = 2; attempt <= 3; attempt++) {
    if (run.code === 0 || !run.stderr.includes("first RTP packet")) break;
    console.log(`  the call did not start (no first RTP packet); attempt ${attempt}`);
    run = await runLoop();
  }
  const { code, stderr, text } = run;
  assert.equal(code, 0, `the loop failed:\n${stderr}\n${text}`);
  const summary: LoopSummary = JSON.parse(text.trim().split("\n").at(-1)!);
  const { samples } = summary;
  const kbps = (bps: number | null) => bps === null ? "-" : String(Math.round(bps / 1000));
  console.log(`  t  phase   REMB  sent  available (kbit/s)`);
  for (const s of samples) {
    console.log(
      `  ${String(s.t).padStart(2)} ${s.phase.padEnd(7)} ${kbps(s.rembBps).padStart(5)} ${
        kbps(s.sendBps).padStart(5)
      } ${kbps(s.availableBps).padStart(6)}`,
    );
  }

  console.log(
    `  RTT: ours ${summary.rttMs?.toFixed(2)} ms from ${summary.rttSamples} DLRR answers, ` +
      `the sender's from our RR ${
        summary.senderRttMs?.toFixed(2)
      } ms, ${summary.rtcpPackets} RTCP packets`,
  );
  assert.equal(summary.answerHasTransportCc, false);
  // libwebrtc answers the RRTRs sent with our REMB. On loopback the RTT is what the JS thread adds
  // (a few ms idle, hundreds under load, as the sender's own RR RTT shows): bounded loosely.
  assert.ok(summary.rttSamples >= 5, `${summary.rttSamples} DLRR answers`);
  assert.ok(
    summary.rttMs !== null && summary.rttMs >= 1 && summary.rttMs < 1000,
    `${summary.rttMs}`,
  );
  assert.equal(summary.mode, "abs-send-time");
  assert.equal(summary.packetsWithoutSendTime, 0);
  assert.ok(summary.firstRembAfterMs !== null && summary.firstRembAfterMs < 100);
  // The start REMB (1 Mbit/s) arrived in libwebrtc's start phase and became its estimate.
  assert.equal(samples[0].availableBps, 1_000_000);
  const free = samples.filter((s) => s.phase === "free");
  const capped = samples.filter((s) => s.phase === "capped");
  const lifted = samples.filter((s) => s.phase === "lifted");
  assert.ok(free.at(-1)!.sendBps > 2 * CAP_BPS, "free: well above the cap to come");
  // Capped: the sender's estimate is the cap at the first sample; its rate is under it after 2 s.
  assert.ok(capped.every((s) => s.availableBps === CAP_BPS));
  for (const s of capped.slice(2)) {
    assert.ok(s.sendBps <= 1.1 * CAP_BPS, `${s.sendBps} bps at ${s.t} s`);
  }
  // Lifted: back above twice the cap within 3 s.
  assert.ok(lifted.slice(0, 3).some((s) => s.sendBps > 2 * CAP_BPS));
  assert.ok(lifted.every((s) => s.availableBps! > CAP_BPS));
});

async function runLoop(): Promise<{ code: number; stdout: string; stderr: string; text: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      LOOP,
      "--free",
      "7",
      "--capped",
      "7",
      "--lifted",
      "7",
      "--cap",
      String(CAP_BPS),
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const text = decoder.decode(stdout);
  return { code, stdout: text, stderr: decoder.decode(stderr), text };
}
