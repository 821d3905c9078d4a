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
 * A lane is whatever its owner makes of it (a pipeline inline, a coordinator's lane record); the
 * table holds it per SSRC, so admitting a packet finds its lane without a second lookup. Lane ids
 * count up and are never reused: they are the one id space of a lane's whole life, on every host,
 * and a result that comes back late for a dropped lane can never reach a new one.
 *
 * @module
 */

import type { Grouping } from "./abs_send_time_estimator.ts";
import { type StreamEntry, StreamTable } from "./stream_table.ts";

/** Which estimator the lanes serve. */
export type EstimatorKind = "abs-send-time" | "rtp-timestamp";

/** Dormant per-stream lanes kept so a returning stream keeps its detector. */
export const MAX_DORMANT_LANES = 64;

/** The owner's hooks of a {@linkcode LaneTable}, over its lanes of type `L`. */
export interface LaneHooks<L> {
  /** A lane with a fresh pipeline begins: make it. `id` is never reused. */
  onLaneCreated(id: number, ssrc: number): L;
  /** A lane's streams all timed out; its pipeline state must be kept (it may come back). */
  onLaneRetired(lane: L): void;
  /** A retired lane has a packet again; its first record carries the reset flag. */
  onLaneRevived(lane: L): void;
  /** A lane is gone for good; its pipeline can be discarded. */
  onLaneDropped(lane: L): void;
}

/** Options of {@linkcode LaneTable}. */
export interface LaneTableOptions<L> {
  /** The estimator the lanes serve at first; {@linkcode LaneTable.reset} changes it. */
  kind: EstimatorKind;
  /** Lane per SSRC or one for all (abs-send-time only; RTP timestamps always go per SSRC). */
  grouping: Grouping;
  /** Silence after which an SSRC times out, µs. */
  streamTimeoutUs: number;
  /** The owner's hooks. */
  hooks: LaneHooks<L>;
}

interface LaneEntry<L> extends StreamEntry {
  lane: L;
}

/**
 * Admits packets to lanes.
 *
 * @example
 * ```ts
 * import { LaneTable } from "./lane_table.ts";
 * import assert from "node:assert/strict";
 * const lanes = new LaneTable<string>({
 *   kind: "abs-send-time", grouping: "per-stream", streamTimeoutUs: 2_000_000,
 *   hooks: {
 *     onLaneCreated: (id, ssrc) => `lane ${id} for ${ssrc}`,
 *     onLaneRetired() {},
 *     onLaneRevived() {},
 *     onLaneDropped() {},
 *   },
 * });
 * lanes.admit(0xaaaa, 0);
 * lanes.admit(0xbbbb, 10);
 * assert.equal(lanes.current, `lane 1 for ${0xbbbb}`);
 * assert.ok(lanes.created);
 * ```
 */
export class LaneTable<L> {
  /** Lane of the last admitted packet. */
  current: L | undefined = undefined;
  /** Whether that lane must restart grouping and filtering before the packet. */
  resetFilter = false;

  readonly #options: LaneTableOptions<L>;
  #kind: EstimatorKind;
  #table: StreamTable<LaneEntry<L>>;
  #perSsrc = false;
  readonly #dormant = new Map<number, L>(); // ssrc → lane, oldest first
  #nextId = 0;
  #transportLane: L | undefined = undefined;

  /**
   * Creates an empty table.
   *
   * @param options Estimator kind, grouping, timeout and hooks.
   */
  constructor(options: LaneTableOptions<L>) {
    this.#options = options;
    this.#kind = options.kind;
    this.#table = this.#newTable();
  }

  /** The estimator the lanes serve. */
  get kind(): EstimatorKind {
    return this.#kind;
  }

  /** Whether the last admitted packet's SSRC was new (first packet, or first after a timeout). */
  get created(): boolean {
    return this.#table.created;
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
   * @returns The lane, or `undefined`.
   */
  laneOf(ssrc: number): L | undefined {
    return this.#table.get(ssrc)?.lane;
  }

  /**
   * Admits a packet given in plain numbers; sets {@linkcode LaneTable.current} and
   * {@linkcode LaneTable.resetFilter}.
   *
   * @param ssrc The packet's SSRC.
   * @param nowUs Receiver clock, µs.
   */
  admit(ssrc: number, nowUs: number): void {
    this.resetFilter = false;
    this.current = this.#table.touch(ssrc, nowUs).lane;
  }

  /**
   * Admits record `index` of a batch (its `ssrc` and `nowUs` columns).
   *
   * @param ssrcs SSRC column.
   * @param nowsUs Receiver-clock column, µs.
   * @param index The record.
   */
  admitAt(ssrcs: Float64Array, nowsUs: Float64Array, index: number): void {
    this.resetFilter = false;
    this.current = this.#table.touchAt(ssrcs, nowsUs, index).lane;
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

  /**
   * Drops every lane, active or dormant, and serves `kind` from now on (an estimator switch).
   *
   * @param kind The estimator the lanes serve next.
   */
  reset(kind: EstimatorKind): void {
    this.#table.clear();
    for (const lane of this.#dormant.values()) this.#options.hooks.onLaneDropped(lane);
    this.#dormant.clear();
    if (this.#transportLane !== undefined) this.#options.hooks.onLaneDropped(this.#transportLane);
    this.#transportLane = undefined;
    this.current = undefined;
    this.#kind = kind;
    this.#table = this.#newTable();
  }

  #newTable(): StreamTable<LaneEntry<L>> {
    this.#perSsrc = this.#kind === "rtp-timestamp" || this.#options.grouping === "per-stream";
    return new StreamTable<LaneEntry<L>>({
      timeoutUs: this.#options.streamTimeoutUs,
      timeoutsOnPacket: this.#kind === "abs-send-time",
      create: (ssrc) => this.#create(ssrc),
      retire: (entry) => this.#retire(entry),
    });
  }

  #create(ssrc: number): LaneEntry<L> {
    const hooks = this.#options.hooks;
    if (!this.#perSsrc) {
      if (this.#transportLane === undefined) {
        this.#transportLane = hooks.onLaneCreated(this.#nextId++, ssrc);
      } else if (this.#table.size === 0) {
        this.resetFilter = true; // Every stream had timed out.
      }
      return { ssrc, lastSeenUs: 0, lane: this.#transportLane };
    }
    const dormant = this.#dormant.get(ssrc);
    if (dormant !== undefined) {
      this.#dormant.delete(ssrc);
      this.resetFilter = true;
      hooks.onLaneRevived(dormant);
      return { ssrc, lastSeenUs: 0, lane: dormant };
    }
    return { ssrc, lastSeenUs: 0, lane: hooks.onLaneCreated(this.#nextId++, ssrc) };
  }

  #retire(entry: LaneEntry<L>): void {
    if (!this.#perSsrc) return; // The transport lane lives on.
    const hooks = this.#options.hooks;
    if (this.#kind === "rtp-timestamp") {
      hooks.onLaneDropped(entry.lane);
      return;
    }
    hooks.onLaneRetired(entry.lane);
    this.#dormant.set(entry.ssrc, entry.lane);
    if (this.#dormant.size > MAX_DORMANT_LANES) {
      const [oldestSsrc, oldestLane] = this.#dormant.entries().next().value!;
      this.#dormant.delete(oldestSsrc);
      hooks.onLaneDropped(oldestLane);
    }
  }
}
