/**
 * What `deno publish` would upload, from deno.json's `publish` section: the library and what it
 * imports, its documents, and nothing of the tests, tools, examples or CI. The dry run needs no
 * network once the npm dependencies are cached.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const root = fromFileUrl(new URL("../../", import.meta.url));

/** The modules a user's import reaches, and the worker entries that are started by URL. */
const ROOTS = [
  "mod.ts",
  "interceptor/werift.ts",
  "workers/spawner_worker.ts",
  "workers/lane_worker.ts",
  "workers/coordinator_worker.ts",
];

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** The files of a dry run, relative to the repository. */
async function publishedFiles(): Promise<string[]> {
  const { code, stdout, stderr } = await deno(["publish", "--dry-run", "--allow-dirty"]);
  assert.equal(code, 0, `deno publish --dry-run failed:\n${stderr}`);
  const files = [...`${stdout}\n${stderr}`.matchAll(/^\s+(file:\/\/\S+) \([\d.]+[KM]?B\)$/gm)]
    .map((match) => relative(root, fromFileUrl(match[1])));
  assert.ok(files.length > 0, `no file list in:\n${stdout}\n${stderr}`);
  return files;
}

/** The local files in the module graph of `entry`. */
async function localModules(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await deno(["info", "--json", entry]);
  assert.equal(code, 0, `deno info ${entry} failed:\n${stderr}`);
  const info: { modules: { specifier: string }[] } = JSON.parse(stdout);
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"))
    .map((s) => relative(root, fromFileUrl(s)));
}

Deno.test("deno publish ships mod.ts and what it imports, and no test, tool, example or CI file", async () => {
  const files = await publishedFiles();
  const shipped = new Set(files);

  const unwanted = files.filter((file) =>
    /^(tests|tools|examples|\.ci|report|node_modules)\//.test(file) ||
    /_bench\.ts$|_test\.ts$/.test(file) ||
    ["deno.lock", ".git", ".gitignore"].includes(file)
  );
  assert.deepEqual(unwanted, []);

  for (const entry of ROOTS) {
    const modules = await localModules(entry);
    assert.ok(modules.includes(entry), `${entry} is in its own graph`);
    const missing = modules.filter((file) => !shipped.has(file));
    assert.deepEqual(missing, [], `imported from ${entry} but not published`);
  }
  // The generated worker bundles are imported, so they ship.
  assert.ok(shipped.has("workers/_bundle.ts"));
  assert.ok(shipped.has("workers/_coordinator_bundle.ts"));
  for (const document of ["README.md", "LICENSE", "CHANGELOG.md", "deno.json"]) {
    assert.ok(shipped.has(document), `${document} is published`);
  }
});
