/**
 * Which delay pipeline ("lane") each packet goes to, and when a lane must restart its filter
 * (reference §4.3 step 4, §9). The inline estimator and the worker hosts both admit every packet
 * here in arrival order, so they make the same decisions.
 *
 * - Abs-send-time, transport grouping: one lane for all SSRCs; when every SSRC has timed out, the
 *   next packet restarts the lane's grouping and filter (the detector is kept).
 * - Abs-send-time, per-stream grouping: a lane per SSRC; a timed-out SSRC's lane goes dormant and
 *   restarts its filter when the SSRC returns, keeping its detector, exactly as the transport lane
 *   would with that one stream. At most 64 dormant lanes are kept.
 * - RTP timestamps: a lane per SSRC, dropped when `expire()` (the periodic process) finds it idle.
 *
 * @module
 */

import type { Grouping } from "./abs_send_time_estimator.ts";
import { type StreamEntry, StreamTable } from "./stream_table.ts";

/** Which estimator the lanes serve. */
export type EstimatorKind = "abs-send-time" | "rtp-timestamp";

/** Dormant per-stream lanes kept so a returning stream keeps its detector. */
export const MAX_DORMANT_LANES = 64;

/** Host hooks of a {@linkcode LaneTable}; lanes are small integers, reused after a drop. */
export interface LaneHooks {
  /** A lane with a fresh pipeline begins. */
  onLaneCreated(lane: number, ssrc: number): void;
  /** A lane's streams all timed out; its pipeline state must be kept (it may come back). */
  onLaneRetired(lane: number): void;
  /** A retired lane has a packet again; its first record carries the reset flag. */
  onLaneRevived(lane: number): void;
  /** A lane is gone for good; its pipeline can be discarded. */
  onLaneDropped(lane: number): void;
}

/** Options of {@linkcode LaneTable}. */
export interface LaneTableOptions {
  /** The estimator the lanes serve. */
  kind: EstimatorKind;
  /** Lane per SSRC or one for all (abs-send-time only; RTP timestamps always go per SSRC). */
  grouping: Grouping;
  /** Silence after which an SSRC times out, µs. */
  streamTimeoutUs: number;
  /** Host hooks. */
  hooks: LaneHooks;
}

interface LaneEntry extends StreamEntry {
  lane: number;
}

/**
 * Admits packets to lanes.
 *
 * @example
 * ```ts
 * import { LaneTable } from "./lane_table.ts";
 * import assert from "node:assert/strict";
 * const created: number[] = [];
 * const lanes = new LaneTable({
 *   kind: "abs-send-time", grouping: "per-stream", streamTimeoutUs: 2_000_000,
 *   hooks: {
 *     onLaneCreated: (lane) => created.push(lane),
 *     onLaneRetired() {},
 *     onLaneRevived() {},
 *     onLaneDropped() {},
 *   },
 * });
 * lanes.admit(0xaaaa, 0);
 * lanes.admit(0xbbbb, 10);
 * assert.deepEqual(created, [0, 1]);
 * assert.equal(lanes.lane, 1);
 * ```
 */
export class LaneTable {
  /** Lane of the last admitted packet. */
  lane = 0;
  /** Whether that lane must restart grouping and filtering before the packet. */
  reset = false;

  readonly #options: LaneTableOptions;
  readonly #table: StreamTable<LaneEntry>;
  readonly #perSsrc: boolean;
  readonly #dormant = new Map<number, number>(); // ssrc → lane, oldest first
  readonly #freeLanes: number[] = [];
  #nextLane = 0;
  #transportLane = -1;

  /**
   * Creates an empty table.
   *
   * @param options Estimator kind, grouping, timeout and hooks.
   */
  constructor(options: LaneTableOptions) {
    this.#options = options;
    this.#perSsrc = options.kind === "rtp-timestamp" || options.grouping === "per-stream";
    this.#table = new StreamTable<LaneEntry>({
      timeoutUs: options.streamTimeoutUs,
      timeoutsOnPacket: options.kind === "abs-send-time",
      create: (ssrc) => this.#create(ssrc),
      retire: (entry) => this.#retire(entry),
    });
  }

  /** Number of active SSRCs. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Whether an SSRC is active.
   *
   * @param ssrc The SSRC.
   * @returns `true` when it has a lane now.
   */
  has(ssrc: number): boolean {
    return this.#table.get(ssrc) !== undefined;
  }

  /**
   * The lane an active SSRC feeds.
   *
   * @param ssrc The SSRC.
   * @returns The lane, or -1.
   */
  laneOf(ssrc: number): number {
    return this.#table.get(ssrc)?.lane ?? -1;
  }

  /**
   * Admits a packet given in plain numbers; sets {@linkcode LaneTable.lane} and
   * {@linkcode LaneTable.reset}.
   *
   * @param ssrc The packet's SSRC.
   * @param nowUs Receiver clock, µs.
   */
  admit(ssrc: number, nowUs: number): void {
    this.reset = false;
    this.lane = this.#table.touch(ssrc, nowUs).lane;
  }

  /**
   * Admits record `index` of a batch (its `ssrc` and `nowUs` columns).
   *
   * @param ssrcs SSRC column.
   * @param nowsUs Receiver-clock column, µs.
   * @param index The record.
   */
  admitAt(ssrcs: Float64Array, nowsUs: Float64Array, index: number): void {
    this.reset = false;
    this.lane = this.#table.touchAt(ssrcs, nowsUs, index).lane;
  }

  /**
   * Times out idle SSRCs (the RTP estimator's process step, or a host's housekeeping timer).
   *
   * @param nowUs Receiver clock, µs.
   */
  expire(nowUs: number): void {
    this.#table.expire(nowUs);
  }

  /**
   * Retires an SSRC now, as a timeout would.
   *
   * @param ssrc The SSRC.
   */
  remove(ssrc: number): void {
    this.#table.remove(ssrc);
  }

  /** Drops every lane, active or dormant (an estimator switch). */
  clear(): void {
    this.#table.clear();
    for (const lane of this.#dormant.values()) this.#drop(lane);
    this.#dormant.clear();
    if (this.#transportLane >= 0) this.#drop(this.#transportLane);
    this.#transportLane = -1;
  }

  #create(ssrc: number): LaneEntry {
    if (!this.#perSsrc) {
      if (this.#transportLane < 0) {
        this.#transportLane = this.#newLane(ssrc);
      } else if (this.#table.size === 0) {
        this.reset = true; // Every stream had timed out.
      }
      return { ssrc, lastSeenUs: 0, lane: this.#transportLane };
    }
    const dormant = this.#dormant.get(ssrc);
    if (dormant !== undefined) {
      this.#dormant.delete(ssrc);
      this.reset = true;
      this.#options.hooks.onLaneRevived(dormant);
      return { ssrc, lastSeenUs: 0, lane: dormant };
    }
    return { ssrc, lastSeenUs: 0, lane: this.#newLane(ssrc) };
  }

  #retire(entry: LaneEntry): void {
    if (!this.#perSsrc) return; // The transport lane lives on.
    if (this.#options.kind === "rtp-timestamp") {
      this.#drop(entry.lane);
      return;
    }
    this.#options.hooks.onLaneRetired(entry.lane);
    this.#dormant.set(entry.ssrc, entry.lane);
    if (this.#dormant.size > MAX_DORMANT_LANES) {
      const [oldestSsrc, oldestLane] = this.#dormant.entries().next().value!;
      this.#dormant.delete(oldestSsrc);
      this.#drop(oldestLane);
    }
  }

  #newLane(ssrc: number): number {
    const lane = this.#freeLanes.pop() ?? this.#nextLane++;
    this.#options.hooks.onLaneCreated(lane, ssrc);
    return lane;
  }

  #drop(lane: number): void {
    this.#options.hooks.onLaneDropped(lane);
    this.#freeLanes.push(lane);
  }
}
