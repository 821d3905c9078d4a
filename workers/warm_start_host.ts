/**
 * The warm start of worker lanes: a new lane runs on an inline host from its first packet while its
 * worker starts, and moves to the worker with the whole state of its pipeline (grouping, filter,
 * detector: `DelayPipeline.saveSnapshot`) once that worker answers. Replay follows arrival order,
 * so a lane that waited for its worker would hold up every later record of every stream; a worker
 * started by a worker answers about a second late in Deno 2.9, and a burst of new streams would
 * leave every stream without a verdict meanwhile. With the snapshot the lane's verdicts are the
 * ones it would have had on either host alone.
 *
 * @module
 */

import type { PacketBatch } from "../core/packet_batch.ts";
import { InlineHost } from "./inline_host.ts";
import type { HostCallbacks, LaneHost } from "./lane_host.ts";
import type { PipelineStart } from "./lane_runner.ts";
import type { LaneConfig } from "./protocol.ts";
import { WorkerHost, type WorkerHostOptions } from "./worker_host.ts";

/** A lane on the inline host: waiting for its worker, or there for good (no worker for it). */
interface InlineLane {
  readonly ssrc: number;
  readonly config: LaneConfig;
  readonly waiting: boolean;
}

/**
 * Runs each lane inline until its worker answers, then on the worker.
 *
 * @example
 * ```ts
 * import { WarmStartHost } from "./warm_start_host.ts";
 * import { WorkerPool } from "./worker_host.ts";
 * import { moduleWorkerSources } from "./sources.ts";
 * import { PacketBatch } from "../core/packet_batch.ts";
 * import assert from "node:assert/strict";
 * const answered: number[] = [];
 * // A pool worker that never starts: the lane is served inline all the same.
 * const silent = { onmessage: null, onerror: null, postMessage() {}, terminate() {} };
 * const host = new WarmStartHost({ onResults: (lane) => answered.push(lane), onLaneFailed() {} }, {
 *   placement: new WorkerPool(1),
 *   sources: moduleWorkerSources(),
 *   factory: () => silent as unknown as Worker,
 *   batchSize: 8,
 * });
 * host.open(1, 0x1234, { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 }, undefined);
 * host.submit(1, new PacketBatch(8), 4);
 * host.flush();
 * assert.deepEqual(answered, [1]);
 * host.close();
 * ```
 */
export class WarmStartHost implements LaneHost {
  readonly #inline: InlineHost;
  readonly #workers: WorkerHost;
  readonly #onInline = new Map<number, InlineLane>();
  #waiting = 0;

  /**
   * Creates the inline host and the worker host behind it.
   *
   * @param callbacks Where results go.
   * @param options The worker host's placement, worker code, transport and batching.
   * @throws {TypeError} No factory is given and the runtime has no global `Worker`.
   */
  constructor(callbacks: HostCallbacks, options: WorkerHostOptions) {
    this.#inline = new InlineHost(callbacks);
    this.#workers = new WorkerHost({
      onResults: (lane, batch, length) => callbacks.onResults(lane, batch, length),
      onLaneFailed: (lane, error) => {
        // A lane whose worker failed before it moved there leaves the inline host too.
        this.#leaveInline(lane);
        callbacks.onLaneFailed(lane, error);
      },
    }, options);
  }

  /** Workers alive, the spawner included. */
  get liveWorkers(): number {
    return this.#workers.liveWorkers;
  }

  /** Lanes that run inline while their workers start. */
  get startingLanes(): number {
    return this.#waiting;
  }

  /**
   * Starts a lane inline and places it on its worker, which is started if need be.
   *
   * @param lane Lane id.
   * @param ssrc First SSRC of the lane.
   * @param config Pipeline settings.
   * @param start What the pipeline starts from; afresh when `undefined`.
   */
  open(lane: number, ssrc: number, config: LaneConfig, start: PipelineStart | undefined): void {
    this.#inline.open(lane, ssrc, config, start);
    // Without a worker (a pool whose workers all failed) the lane stays inline, exactly as it is.
    const waiting = this.#workers.place(lane, ssrc);
    this.#onInline.set(lane, { ssrc, config, waiting });
    if (waiting) this.#waiting++;
  }

  /**
   * The lane went quiet. One still inline leaves both hosts (a returning stream opens it again);
   * one on its worker leaves it if the placement says so.
   *
   * @param lane Lane id.
   */
  retire(lane: number): void {
    if (this.#onInline.has(lane)) this.drop(lane);
    else this.#workers.retire(lane);
  }

  /**
   * The lane is gone.
   *
   * @param lane Lane id.
   */
  drop(lane: number): void {
    this.#leaveInline(lane);
    this.#workers.drop(lane);
  }

  /**
   * A slot of the lane's worker to fill in place, once the lane runs there.
   *
   * @param lane Lane id.
   * @returns The batch, or `undefined` (a lane still inline fills its own).
   */
  lend(lane: number): PacketBatch | undefined {
    return this.#onInline.has(lane) ? undefined : this.#workers.lend(lane);
  }

  /**
   * Takes back a batch {@linkcode WarmStartHost.lend} gave.
   *
   * @param lane Lane id.
   * @param batch The batch.
   * @returns Whether it was the lane's.
   */
  reclaim(lane: number, batch: PacketBatch): boolean {
    return this.#workers.reclaim(lane, batch);
  }

  /**
   * Runs the batch inline, or queues it for the lane's worker.
   *
   * @param lane Lane id.
   * @param batch Records of that lane.
   * @param length Records in use.
   */
  submit(lane: number, batch: PacketBatch, length: number): void {
    if (this.#onInline.has(lane)) this.#inline.submit(lane, batch, length);
    else this.#workers.submit(lane, batch, length);
  }

  /**
   * Delivers what ran inline, moves the lanes whose workers have answered, then collects and sends
   * the workers' batches.
   */
  flush(): void {
    this.#inline.flush(); // Every inline result out before a lane moves: they come back in order.
    if (this.#waiting > 0) this.#moveAnswered();
    this.#workers.flush();
  }

  /**
   * Inline lanes' batches go out at every flush, and while a lane waits for its worker so do all:
   * replay follows arrival order, so a batch held back would hold back a new stream's first
   * verdicts too. Otherwise as the worker host says.
   *
   * @param lane Lane id.
   * @returns Flush intervals a batch gathers.
   */
  flushesPerBatch(lane: number): number {
    return this.#waiting > 0 || this.#onInline.has(lane) ? 1 : this.#workers.flushesPerBatch(lane);
  }

  /**
   * Whether workers should say when results are ready instead of waiting for the next flush.
   *
   * @param prompt On or off.
   */
  setPrompt(prompt: boolean): void {
    this.#workers.setPrompt(prompt);
  }

  /** Ends every worker and forgets every lane. Idempotent. */
  close(): void {
    this.#inline.close();
    this.#onInline.clear();
    this.#waiting = 0;
    this.#workers.close();
  }

  // A lane whose worker has answered moves there with its pipeline's whole state.
  #moveAnswered(): void {
    for (const [lane, { ssrc, config, waiting }] of this.#onInline) {
      if (!waiting || !this.#workers.answered(lane)) continue;
      const start = this.#inline.snapshot(lane);
      this.#leaveInline(lane);
      this.#workers.open(lane, ssrc, config, start);
    }
  }

  #leaveInline(lane: number): void {
    const inline = this.#onInline.get(lane);
    if (!inline) return;
    this.#onInline.delete(lane);
    if (inline.waiting) this.#waiting--;
    this.#inline.drop(lane);
  }
}
