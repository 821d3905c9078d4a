import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

/** Serves the checkout over http on loopback, as a module host would. */
function serveCheckout(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    try {
      const body = await Deno.readFile(new URL(`.${path}`, root));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

async function runImported(
  base: string,
  denoDir: string,
  script: string,
  extra: string[],
): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-lock",
      `--allow-import=${new URL(base).host}`,
      ...extra,
      script,
    ],
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("Coordinator starts its workers when imported over http, and offline from the cache", async () => {
  const server = serveCheckout();
  const base = `http://127.0.0.1:${server.addr.port}/`;
  const denoDir = await Deno.makeTempDir();
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { Coordinator } from "${base}workers/coordinator.ts";
import { generateTrace } from "${base}tests/_helpers/trace.ts";
const estimates: number[] = [];
const coordinator = new Coordinator({
  host: "worker-per-stream",
  timers: { setInterval: () => 0, clearInterval() {} },
  onEstimate: (bps) => estimates.push(bps),
});
const packets = generateTrace({
  streams: [{ ssrc: 5, bitrateBps: 1_000_000 }], durationMs: 7000,
  capacityBps: () => 4_000_000, absSendTime: true,
});
for (const [i, packet] of packets.entries()) {
  coordinator.onPacket(packet);
  if (i % 50 === 49) await coordinator.flush();
}
await coordinator.flush();
const live = coordinator.liveWorkers;
await coordinator.close();
console.log(JSON.stringify({ estimates: estimates.length, live, after: coordinator.liveWorkers }));
`,
    );
    const online = await runImported(base, denoDir, script, []);
    assert.equal(online.code, 0, online.err);
    const first = JSON.parse(online.out);
    assert.ok(first.estimates > 5, online.out);
    assert.equal(first.live, 2); // the spawner and the stream's worker
    assert.equal(first.after, 0);

    await server.shutdown();
    const offline = await runImported(base, denoDir, script, ["--cached-only"]);
    assert.equal(offline.code, 0, offline.err);
    assert.deepEqual(JSON.parse(offline.out), first);
  } finally {
    await server.shutdown();
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(script);
  }
});
