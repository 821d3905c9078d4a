import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

async function demo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "tools/demo.ts", ...args],
    cwd: root,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("demo --help explains every option", async () => {
  const { code, stdout } = await demo("--help");
  assert.equal(code, 0);
  for (
    const option of [
      "--quick",
      "--scenario",
      "--seed",
      "--seeds",
      "--profile",
      "--ablation",
      "--host",
      "--grouping",
      "--jitter",
      "--out",
    ]
  ) {
    assert.ok(stdout.includes(option), option);
  }
});

Deno.test("demo refuses an unknown scenario, host or profile with exit code 2", async () => {
  assert.equal((await demo("--scenario", "nope", "--no-report")).code, 2);
  assert.equal((await demo("--host", "gpu", "--no-report")).code, 2);
  assert.equal((await demo("--profile", "fast", "--no-report")).code, 2);
  assert.equal((await demo("--seeds", "0", "--no-report")).code, 2);
});

Deno.test("demo --quick prints both profiles over the seeds, writes the report, and the page renders in Chromium", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sim-report-" });
  try {
    const { code, stdout, stderr } = await demo("--quick", "--out", dir);
    assert.equal(code, 0, stderr);
    // Each scenario: a libwebrtc row and an enhanced one, medians with their range over 5 seeds.
    assert.match(stdout, /seeds 1–5/);
    assert.match(
      stdout,
      /rfc8867-5\.1 \(per-stream\)\s+libwebrtc\s+0\.\d\d \[0\.\d\d–0\.\d\d\][^\n]*\n\s+enhanced\s+0\.\d\d/,
    );
    assert.match(stderr, /100%\s+4 scenarios × 2 variants × 5 seeds/);
    const html = await Deno.readTextFile(`${dir}/index.html`);
    for (
      const id of [
        "rfc8867-5.1",
        "rfc8867-5.6-300ms",
        "libwebrtc-capacity-drop",
        "simulcast-per-stream",
      ]
    ) {
      for (const profile of ["libwebrtc", "enhanced"]) {
        assert.ok(html.includes(`src="${id}.${profile}.svg"`), `${id} ${profile}`);
        const svg = await Deno.readTextFile(`${dir}/${id}.${profile}.svg`);
        assert.match(svg, /^<svg /);
        assert.ok(svg.includes("queuing delay (ms)") && svg.includes("kbit/s"));
      }
    }
    const metrics = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
    assert.equal(metrics.length, 4 * 2 * 5);
    assert.deepEqual(
      [...new Set(metrics.map((m: { profile: string }) => m.profile))].sort(),
      ["enhanced", "libwebrtc"],
    );
    if (!chromium) {
      console.log("No Chromium on this machine: the screenshot step was skipped");
      return;
    }
    const png = `${dir}/page.png`;
    const shot = await new Deno.Command(chromium, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--window-size=1100,1600",
        `--screenshot=${png}`,
        `file://${dir}/index.html`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(shot.code, 0);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.ok(bytes.length > 50_000, `screenshot of ${bytes.length} bytes looks empty`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
