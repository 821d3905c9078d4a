/**
 * Probe-cluster detection: finds runs of large packets sent at a steady spacing and measures the rate
 * they were sent and received at (reference §4.4).
 *
 * @module
 */

import { ticksToMicros } from "./abs_send_time.ts";
import type { PacketBatch } from "./packet_batch.ts";

const MIN_CLUSTER_DELTA_US = 1000;
const CLUSTER_BOUND_US = 2500;
const MIN_CLUSTER_SIZE = 4;
const MAX_PROBE_PACKETS = 15;
/** Probes kept at most; libwebrtc's list is unbounded, this only bounds memory under abuse. */
export const PROBE_CAPACITY = 1024;
/**
 * Probes dropped, oldest first, when a probe arrives at {@linkcode PROBE_CAPACITY}. Dropping one
 * at a time would rescan the whole list at every probe (a drop can move every boundary after it);
 * a quarter makes that rescan, at most 3/4 of the list, once per quarter of probes, so a probe
 * costs a few steps of the scan however long the list stays full.
 */
export const PROBES_DROPPED_AT_CAPACITY = PROBE_CAPACITY / 4;
const INITIAL_CAPACITY = 32;
// #openClusterRate's results that are not a rate.
const NOT_A_CLUSTER = -2;
const MET_A_QUEUE = -1;

/**
 * Keeps candidate probe packets and evaluates their clusters. Clusters are evaluated as they are
 * formed, so nothing is allocated. The split into clusters is one scan from the oldest probe on,
 * so a probe appended only extends it: each evaluation scans the probes added since the last one
 * and rates the open cluster without closing it (a stream's first 2 s can hold hundreds of probes,
 * each evaluated). Dropping the oldest probe can move every boundary after it, so it starts the
 * scan afresh; a full list drops a quarter at once for that reason. The one drop that can happen at
 * every probe — no cluster among 15 or more probes — rescans only until the new scan opens a
 * cluster where the old one did (from there both scans are the same, and the old one found no
 * cluster); and when the scan is a single aggregate whose send deltas all lie less than a cluster
 * bound apart, it only takes the oldest delta out of the sums (without it, it is still one
 * aggregate).
 *
 * @example
 * ```ts
 * import { ProbeClusters } from "./probe_clusters.ts";
 * import assert from "node:assert/strict";
 * const probes = new ProbeClusters();
 * // Five 1000-byte packets sent and received 5 ms apart: 1.6 Mbit/s.
 * for (let i = 0; i < 5; i++) probes.addProbe(i * 5000, 7_000_000 + i * 5000, 1000);
 * assert.equal(probes.evaluate(), 1_600_000);
 * assert.equal(probes.clusterCount, 1);
 * ```
 */
export class ProbeClusters {
  // Rings that grow by doubling up to PROBE_CAPACITY: most streams only ever hold a few probes.
  #sendUs = new Float64Array(INITIAL_CAPACITY);
  #recvUs = new Float64Array(INITIAL_CAPACITY);
  #sizes = new Float64Array(INITIAL_CAPACITY);
  #start = 0;
  #length = 0;
  #clusterCount = 0;

  // The scan so far: the next probe to take (from the oldest), the clusters it closed and what
  // they gave, and the open cluster's aggregate.
  #scanned = 1;
  #closed = 0;
  #scanStopped = false;
  #bestBps = 0;
  #count = 0;
  #sendSumUs = 0;
  #recvSumUs = 0;
  #sizeSum = 0;
  #aboveMinDelta = 0;
  // The smallest and largest send delta in the open aggregate (or bounds of them).
  #lowUs = Infinity;
  #highUs = -Infinity;

  // Where the scan opened clusters: probes' sequence numbers (the oldest probe is #firstId), in a
  // ring as long as the probe rings, ascending.
  #firstId = 0;
  #opened = new Float64Array(INITIAL_CAPACITY);
  #openedHead = 0;
  #openedLength = 0;
  // After the no-cluster drop: the old scan's end (a sequence number; 0 when not rescanning), its
  // open aggregate, and the clusters the rescan opened before it meets the old scan.
  #rejoinUntil = 0;
  #oldCount = 0;
  #oldSendSumUs = 0;
  #oldRecvSumUs = 0;
  #oldSizeSum = 0;
  #oldAboveMinDelta = 0;
  #oldLowUs = 0;
  #oldHighUs = 0;
  #rescanOpened = new Float64Array(INITIAL_CAPACITY);
  #rescanOpenedLength = 0;

  /** Number of probes held. */
  get length(): number {
    return this.#length;
  }

  /** Number of clusters found by the last {@linkcode ProbeClusters.evaluate}. */
  get clusterCount(): number {
    return this.#clusterCount;
  }

  /**
   * Appends record `index` of a batch (abs-send-time ticks) as a probe candidate.
   *
   * @param batch Packet records.
   * @param index The record.
   */
  add(batch: PacketBatch, index: number): void {
    this.#push(ticksToMicros(batch.timestamp[index]), batch.arrivalUs[index], batch.size[index]);
  }

  /**
   * Appends a probe candidate given in plain numbers.
   *
   * @param sendUs Send time in microseconds.
   * @param recvUs Arrival time in microseconds.
   * @param sizeBytes Payload size in bytes.
   */
  addProbe(sendUs: number, recvUs: number, sizeBytes: number): void {
    this.#push(sendUs, recvUs, sizeBytes);
  }

  #push(sendUs: number, recvUs: number, sizeBytes: number): void {
    if (this.#length === this.#sendUs.length) {
      if (this.#length === PROBE_CAPACITY) this.#drop(PROBES_DROPPED_AT_CAPACITY);
      else this.#grow();
    }
    const slot = (this.#start + this.#length) % this.#sendUs.length;
    this.#sendUs[slot] = sendUs;
    this.#recvUs[slot] = recvUs;
    this.#sizes[slot] = sizeBytes;
    this.#length++;
  }

  /** Removes the oldest probe. */
  dropOldest(): void {
    if (this.#length > 0) this.#drop(1);
  }

  // Removes the oldest `count` probes, at most as many as are held.
  #drop(count: number): void {
    this.#removeOldest(count);
    this.#restartScan();
  }

  // Moves the oldest `count` probes out of the rings; the scan is the caller's to redo.
  #removeOldest(count: number): void {
    this.#start = (this.#start + count) % this.#sendUs.length;
    this.#length -= count;
    this.#firstId += count;
  }

  /** Removes every probe. */
  clear(): void {
    this.#start = 0;
    this.#firstId += this.#length;
    this.#length = 0;
    this.#restartScan();
  }

  /**
   * Splits the probes into clusters and finds the best qualifying one. When no cluster forms and 15
   * probes are held, the oldest is dropped.
   *
   * @returns The best cluster's min(send, receive) rate in bps, or 0 when none qualifies.
   */
  evaluate(): number {
    const capacity = this.#sendUs.length;
    if (this.#rejoinUntil > 0) this.#rescan(capacity);
    for (let i = this.#scanned; i < this.#length; i++) {
      if (this.#take(i, capacity)) this.#noteOpened(this.#firstId + i);
    }
    if (this.#length > this.#scanned) this.#scanned = this.#length;
    // The open cluster ends here for this evaluation only: later probes may still extend it.
    const open = this.#openClusterRate();
    this.#clusterCount = open === NOT_A_CLUSTER ? this.#closed : this.#closed + 1;
    const bestBps = !this.#scanStopped && open > this.#bestBps ? open : this.#bestBps;
    if (this.#clusterCount === 0 && this.#length >= MAX_PROBE_PACKETS) this.#dropUnclustered();
    return bestBps;
  }

  // Takes the delta into probe `i` into the open aggregate; returns whether it opened a new one.
  #take(i: number, capacity: number): boolean {
    const slot = (this.#start + i) % capacity;
    const prev = (this.#start + i - 1) % capacity;
    const sendDelta = this.#sendUs[slot] - this.#sendUs[prev];
    const recvDelta = this.#recvUs[slot] - this.#recvUs[prev];
    // Counted before the bounds check, so a delta that opens a new cluster counts for the old one.
    if (sendDelta >= MIN_CLUSTER_DELTA_US && recvDelta >= MIN_CLUSTER_DELTA_US) {
      this.#aboveMinDelta++;
    }
    let opened = false;
    if (this.#count > 0) {
      const meanUs = Math.trunc(this.#sendSumUs / this.#count);
      if (Math.abs(sendDelta - meanUs) >= CLUSTER_BOUND_US) {
        this.#close(this.#openClusterRate());
        this.#resetAggregate();
        opened = true;
      }
    }
    if (sendDelta < this.#lowUs) this.#lowUs = sendDelta;
    if (sendDelta > this.#highUs) this.#highUs = sendDelta;
    this.#sendSumUs += sendDelta;
    this.#recvSumUs += recvDelta;
    this.#sizeSum += this.#sizes[slot];
    this.#count++;
    return opened;
  }

  // No cluster formed: drops the oldest probe, keeping what the next scan needs to meet this one.
  #dropUnclustered(): void {
    if (this.#openedLength === 0 && this.#highUs - this.#lowUs < CLUSTER_BOUND_US) {
      this.#dropFromBand();
      return;
    }
    const until = this.#firstId + this.#scanned;
    const count = this.#count;
    const sendSumUs = this.#sendSumUs;
    const recvSumUs = this.#recvSumUs;
    const sizeSum = this.#sizeSum;
    const aboveMinDelta = this.#aboveMinDelta;
    const lowUs = this.#lowUs;
    const highUs = this.#highUs;
    // The old scan's openings stay, for the rescan to meet.
    this.#removeOldest(1);
    this.#startScan();
    this.#rejoinUntil = until;
    this.#oldCount = count;
    this.#oldSendSumUs = sendSumUs;
    this.#oldRecvSumUs = recvSumUs;
    this.#oldSizeSum = sizeSum;
    this.#oldAboveMinDelta = aboveMinDelta;
    this.#oldLowUs = lowUs;
    this.#oldHighUs = highUs;
    this.#rescanOpenedLength = 0;
  }

  // The scan is one aggregate whose send deltas lie less than a cluster bound apart: no mean of
  // any run of them is a bound away from any of them, so without its oldest delta it is still one
  // aggregate, and only that delta leaves its sums.
  #dropFromBand(): void {
    const capacity = this.#sendUs.length;
    const first = this.#start;
    const second = (first + 1) % capacity;
    const sendDelta = this.#sendUs[second] - this.#sendUs[first];
    const recvDelta = this.#recvUs[second] - this.#recvUs[first];
    if (sendDelta >= MIN_CLUSTER_DELTA_US && recvDelta >= MIN_CLUSTER_DELTA_US) {
      this.#aboveMinDelta--;
    }
    this.#sendSumUs -= sendDelta;
    this.#recvSumUs -= recvDelta;
    this.#sizeSum -= this.#sizes[second];
    this.#count--;
    this.#start = second;
    this.#length--;
    this.#firstId++;
    this.#scanned--;
  }

  // Scans from the oldest probe until it opens a cluster at a probe where the old scan opened one.
  // From there the two scans are the same: the old one's clusters there, none of which formed a
  // cluster, and its open aggregate at its end are this scan's.
  #rescan(capacity: number): void {
    const firstId = this.#firstId;
    const end = this.#rejoinUntil - firstId;
    this.#rejoinUntil = 0;
    let i = this.#scanned;
    for (; i < end; i++) {
      if (!this.#take(i, capacity)) continue;
      const id = firstId + i;
      // The old scan's openings before this probe are not this scan's.
      while (this.#openedLength > 0 && this.#opened[this.#openedHead] < id) this.#shiftOpened();
      if (this.#openedLength > 0 && this.#opened[this.#openedHead] === id) {
        this.#count = this.#oldCount;
        this.#sendSumUs = this.#oldSendSumUs;
        this.#recvSumUs = this.#oldRecvSumUs;
        this.#sizeSum = this.#oldSizeSum;
        this.#aboveMinDelta = this.#oldAboveMinDelta;
        this.#lowUs = this.#oldLowUs;
        this.#highUs = this.#oldHighUs;
        for (let k = this.#rescanOpenedLength - 1; k >= 0; k--) {
          this.#unshiftOpened(this.#rescanOpened[k]);
        }
        this.#scanned = end;
        return;
      }
      this.#rescanOpened[this.#rescanOpenedLength++] = id;
    }
    // Never met: this scan's openings replace the old ones.
    this.#openedLength = 0;
    for (let k = 0; k < this.#rescanOpenedLength; k++) this.#noteOpened(this.#rescanOpened[k]);
    this.#scanned = i;
  }

  #noteOpened(id: number): void {
    const ring = this.#opened;
    ring[(this.#openedHead + this.#openedLength) % ring.length] = id;
    this.#openedLength++;
  }

  #shiftOpened(): void {
    this.#openedHead = (this.#openedHead + 1) % this.#opened.length;
    this.#openedLength--;
  }

  #unshiftOpened(id: number): void {
    const ring = this.#opened;
    this.#openedHead = (this.#openedHead + ring.length - 1) % ring.length;
    ring[this.#openedHead] = id;
    this.#openedLength++;
  }

  #restartScan(): void {
    this.#rejoinUntil = 0;
    this.#openedLength = 0;
    this.#startScan();
  }

  // A scan from the oldest probe, nothing of it done yet.
  #startScan(): void {
    this.#scanned = 1;
    this.#closed = 0;
    this.#scanStopped = false;
    this.#bestBps = 0;
    this.#resetAggregate();
  }

  #resetAggregate(): void {
    this.#lowUs = Infinity;
    this.#highUs = -Infinity;
    this.#count = 0;
    this.#sendSumUs = 0;
    this.#recvSumUs = 0;
    this.#sizeSum = 0;
    this.#aboveMinDelta = 0;
  }

  // Takes a closed cluster's result into the scan; the first one that met a queue stops it.
  #close(rate: number): void {
    if (rate === NOT_A_CLUSTER) return;
    this.#closed++;
    if (this.#scanStopped) return;
    if (rate === MET_A_QUEUE) this.#scanStopped = true;
    else if (rate > this.#bestBps) this.#bestBps = rate;
  }

  #grow(): void {
    const capacity = this.#sendUs.length;
    const sendUs = new Float64Array(capacity * 2);
    const recvUs = new Float64Array(capacity * 2);
    const sizes = new Float64Array(capacity * 2);
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#start + i) % capacity;
      sendUs[i] = this.#sendUs[slot];
      recvUs[i] = this.#recvUs[slot];
      sizes[i] = this.#sizes[slot];
    }
    this.#sendUs = sendUs;
    this.#recvUs = recvUs;
    this.#sizes = sizes;
    this.#start = 0;
    const opened = new Float64Array(capacity * 2);
    for (let i = 0; i < this.#openedLength; i++) {
      opened[i] = this.#opened[(this.#openedHead + i) % capacity];
    }
    this.#opened = opened;
    this.#openedHead = 0;
    this.#rescanOpened = new Float64Array(capacity * 2);
  }

  // What the open cluster gives if it ends here: its min(send, receive) rate in bps (0 when a
  // mean spacing rounds to 0), NOT_A_CLUSTER, or MET_A_QUEUE when arrivals spread much more than
  // sends.
  #openClusterRate(): number {
    const count = this.#count;
    if (count < MIN_CLUSTER_SIZE || this.#sendSumUs <= 0 || this.#recvSumUs <= 0) {
      return NOT_A_CLUSTER;
    }
    const sendMeanUs = Math.trunc(this.#sendSumUs / count);
    const recvMeanUs = Math.trunc(this.#recvSumUs / count);
    if (sendMeanUs === 0 || recvMeanUs === 0) return 0;
    if (
      this.#aboveMinDelta <= Math.trunc(count / 2) ||
      recvMeanUs - sendMeanUs > 2000 ||
      sendMeanUs - recvMeanUs > 5000
    ) {
      return MET_A_QUEUE;
    }
    const meanSize = Math.trunc(this.#sizeSum / count);
    const sendBps = Math.floor(meanSize * 8_000_000 / sendMeanUs);
    const recvBps = Math.floor(meanSize * 8_000_000 / recvMeanUs);
    return sendBps < recvBps ? sendBps : recvBps;
  }
}
