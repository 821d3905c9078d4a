/**
 * Where the worker code comes from. By default from the generated bundle through blob URLs, which
 * works wherever the module was imported from (a checkout, an http(s) URL, an offline cache) and
 * needs no read or import permission; or from the module files next to this one.
 *
 * @module
 */

import { LANE_WORKER_SOURCE, SPAWNER_WORKER_SOURCE } from "./_bundle.ts";
import type { WorkerSources } from "./lane_host.ts";

let bundled: WorkerSources | undefined;

/**
 * Blob URLs of the bundled workers, made once per process.
 *
 * @returns The sources.
 * @example
 * ```ts
 * import { defaultWorkerSources } from "./sources.ts";
 * import assert from "node:assert/strict";
 * assert.ok(defaultWorkerSources().spawnerUrl.startsWith("blob:"));
 * ```
 */
export function defaultWorkerSources(): WorkerSources {
  bundled ??= {
    spawnerUrl: URL.createObjectURL(
      new Blob([SPAWNER_WORKER_SOURCE], { type: "application/javascript" }),
    ),
    laneWorkerUrl: URL.createObjectURL(
      new Blob([LANE_WORKER_SOURCE], { type: "application/javascript" }),
    ),
  };
  return bundled;
}

/**
 * URLs of the worker modules next to this file (type-checked and covered in tests).
 *
 * @returns The sources.
 * @example
 * ```ts
 * import { moduleWorkerSources } from "./sources.ts";
 * import assert from "node:assert/strict";
 * assert.ok(moduleWorkerSources().laneWorkerUrl.endsWith("lane_worker.ts"));
 * ```
 */
export function moduleWorkerSources(): WorkerSources {
  return {
    spawnerUrl: new URL("./spawner_worker.ts", import.meta.url).href,
    laneWorkerUrl: new URL("./lane_worker.ts", import.meta.url).href,
  };
}
