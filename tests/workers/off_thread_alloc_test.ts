/**
 * The receiving thread's share of an `OffThreadCoordinator` allocates nothing per packet: a probe
 * writes 1.5 × 10^6 packets into the ring in a child process under V8's GC trace, once with none;
 * the receiving isolate's garbage (told apart by a forced collection) is compared. Measured 0.5–2.5
 * B/packet of noise (the JIT's own); one boxed number per packet would be ≥ 12 B/packet, one
 * object 32 B.
 */

import assert from "node:assert/strict";

const PACKETS = 1_500_000;
const probe = new URL("./_off_thread_alloc_probe.ts", import.meta.url).pathname;

async function receivingThreadGarbageMb(packets: number): Promise<number> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--v8-flags=--trace-gc,--expose-gc", probe, String(packets)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `the allocation probe failed: ${new TextDecoder().decode(stderr)}`);
  const trace = new TextDecoder().decode(stdout);
  const main = trace.match(/\[\d+:(0x[0-9a-f]+)\][^\n]*Mark-Compact[^\n]*testing/)?.[1];
  assert.ok(main, "the forced collection marks the receiving isolate");
  let freedMb = 0;
  for (
    const match of trace.matchAll(
      /\[\d+:(0x[0-9a-f]+)\][^\n]*Scavenge ([\d.]+) \([\d.]+\) -> ([\d.]+)/g,
    )
  ) {
    if (match[1] === main) freedMb += Number(match[2]) - Number(match[3]);
  }
  return freedMb;
}

Deno.test("OffThreadCoordinator.onPacket allocates nothing on the receiving thread", async () => {
  const warmup = await receivingThreadGarbageMb(0);
  const run = await receivingThreadGarbageMb(PACKETS);
  const perPacket = Math.max(0, run - warmup) * 1e6 / PACKETS;
  console.log(`  ${PACKETS} packets: ${perPacket.toFixed(2)} B of garbage per packet`);
  assert.ok(perPacket < 8, `${perPacket.toFixed(2)} B/packet`);
});
