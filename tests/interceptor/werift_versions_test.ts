/**
 * The werift versions the adapter supports: the loopback test runs against the oldest and the
 * newest of them (deno.json's `werift-oldest` and `werift-newest` aliases), each in a test process
 * whose import map sends `werift` to that version; a connection that lacks what the adapter needs
 * is refused with the feature's name and the supported range.
 */

import assert from "node:assert/strict";
import { RTCPeerConnection } from "werift";
import { attachEstimator, SUPPORTED_WERIFT_VERSIONS } from "../../interceptor/werift.ts";

const root = new URL("../../", import.meta.url);
const config: { imports: Record<string, string> } = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
);

function version(alias: string): number[] {
  const match = /^npm:werift@(\d+)\.(\d+)\.(\d+)$/.exec(config.imports[alias] ?? "");
  assert.ok(match, `deno.json maps ${alias} to an exact werift version: ${config.imports[alias]}`);
  return match.slice(1).map(Number);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

Deno.test("SUPPORTED_WERIFT_VERSIONS starts at werift-oldest and holds werift-newest and the dependency", () => {
  const range = /^>=(\d+)\.(\d+)\.(\d+) <(\d+)\.(\d+)\.(\d+)$/.exec(SUPPORTED_WERIFT_VERSIONS);
  assert.ok(range, SUPPORTED_WERIFT_VERSIONS);
  const lower = range.slice(1, 4).map(Number);
  const upper = range.slice(4, 7).map(Number);
  assert.deepEqual(version("werift-oldest"), lower, "the lower bound is what CI tests");
  assert.ok(compare(version("werift-newest"), lower) >= 0);
  assert.ok(compare(version("werift-newest"), upper) < 0);
  // The package's own dependency (a caret range on 0.x: one minor line) lies inside the range.
  const dependency = /^npm:werift@\^0\.(\d+)\.(\d+)$/.exec(config.imports.werift);
  assert.ok(dependency, config.imports.werift);
  const [minor, patch] = dependency.slice(1).map(Number);
  assert.ok(compare([0, minor, patch], lower) >= 0 && compare([0, minor + 1, 0], upper) <= 0);
  assert.equal(version("werift-newest")[1], minor, "werift-newest is on the dependency's line");
});

for (const alias of ["werift-oldest", "werift-newest"]) {
  const specifier = config.imports[alias];
  Deno.test(`werift adapter: the loopback test passes with ${alias} (${specifier})`, async () => {
    const importMap = await Deno.makeTempFile({ suffix: ".json" });
    try {
      await Deno.writeTextFile(
        importMap,
        JSON.stringify({ imports: { ...config.imports, werift: specifier } }),
      );
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "test",
          "--import-map",
          importMap,
          "--sanitize-ops",
          "--sanitize-resources",
          "--allow-read",
          "--allow-env",
          "--allow-net=127.0.0.1",
          "--allow-sys=networkInterfaces",
          "tests/interceptor/werift_loopback_test.ts",
        ],
        cwd: root,
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const decoder = new TextDecoder();
      const output = `${decoder.decode(stdout)}\n${decoder.decode(stderr)}`;
      assert.equal(code, 0, output);
      assert.match(output, /ok \| 1 passed \| 0 failed/);
      // The adapter really ran on that version.
      assert.match(output, new RegExp(`werift ${specifier.slice("npm:werift@".length)}\\b`));
    } finally {
      await Deno.remove(importMap);
    }
  });
}

Deno.test("attachEstimator() names the werift feature a connection lacks and the supported range", async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    // A connection of a werift before 0.24.1, which had no `id`.
    const older = Object.create(pc, { id: { value: undefined } });
    assert.throws(
      () => attachEstimator(older, { estimator: { coordinator: { host: "inline" } } }),
      {
        name: "TypeError",
        message:
          "Cannot attach estimator as werift's RTCPeerConnection.id is missing: werift >=0.24.1 <0.26.0 is supported",
      },
    );
    const noTransports = Object.create(pc, { dtlsTransports: { value: undefined } });
    assert.throws(
      () => attachEstimator(noTransports, { estimator: { coordinator: { host: "inline" } } }),
      /werift's RTCPeerConnection\.dtlsTransports is missing/,
    );
    assert.throws(
      () => attachEstimator(null as unknown as RTCPeerConnection),
      /Cannot attach estimator as 'pc' must be a werift RTCPeerConnection: current value is null/,
    );
  } finally {
    await pc.close();
  }
});
