/**
 * Lane workers for fault tests: they serve batches like the real one (either transport), then,
 * after three batches, either throw or go silent (as a worker terminated from outside would).
 */

import { serveLanes, type WorkerScope } from "../../workers/lane_service.ts";

declare const self: WorkerScope;

/** Serves the lane protocol until the fourth batch, then fails as `mode` says. */
export function serveFaulty(mode: "throw" | "silent"): void {
  let batches = 0;
  serveLanes(self, {
    beforeBatch() {
      if (++batches <= 3) return true;
      if (mode === "throw") throw new Error("lane worker broke on purpose");
      return false;
    },
  });
}
