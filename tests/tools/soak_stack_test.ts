import assert from "node:assert/strict";

// The full-stack soak, three simulated hours (it runs 24 with `deno task soak`), in a child process
// so that the heap is measured after full collections.
Deno.test("tools/soak_stack.ts runs the interceptor through timeouts, rebinds and wraps with a flat heap", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--expose-gc", "tools/soak_stack.ts", "3"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
  const summary = out.trim().split("\n").at(-1)!;
  assert.match(summary, /abs-send-time wraps 168, RTP timestamp wraps 2, rebinds 1, malformed 0/);
  assert.match(summary, /hourly median estimate max\/min 1\.0\d\d/);
});
