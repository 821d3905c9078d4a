/**
 * Conformance with libwebrtc's `trendline_estimator_unittest.cc` (reference §10): 25 packets sent
 * 20 ms apart and received at the same, a slower or a faster pace.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TrendlineEstimator } from "../../core/trendline_estimator.ts";

const PACKETS = 25;
const SEND_INTERVAL_MS = 20;
const SEND_START_MS = 123_456_789;
const RECEIVE_START_MS = 987_654_321;

/** The packet timeline and how far through it the estimator has been fed. */
class TrendlineRun {
  readonly estimator = new TrendlineEstimator();
  readonly sendTimesMs: number[] = [];
  readonly receiveTimesMs: number[] = [];
  /** Index of the next packet to feed; packet 0 only serves as the first reference. */
  next = 1;

  constructor(receiveIntervalMs: number) {
    for (let i = 0; i < PACKETS; i++) {
      this.sendTimesMs.push(SEND_START_MS + SEND_INTERVAL_MS * i);
      this.receiveTimesMs.push(RECEIVE_START_MS + receiveIntervalMs * i);
    }
  }

  /**
   * Feeds consecutive deltas until the state differs from the one at the start, or packets run out.
   * Like libwebrtc's RunTestUntilStateChange it stops without moving past the packet that changed
   * the state, so the next run feeds that packet once more.
   */
  runUntilStateChange(): void {
    const initial = this.estimator.state;
    for (; this.next < PACKETS; this.next++) {
      const i = this.next;
      const recvDeltaMs = this.receiveTimesMs[i] - this.receiveTimesMs[i - 1];
      const sendDeltaMs = this.sendTimesMs[i] - this.sendTimesMs[i - 1];
      this.estimator.update(recvDeltaMs, sendDeltaMs, this.receiveTimesMs[i]);
      if (this.estimator.state !== initial) return;
    }
  }
}

Deno.test("TrendlineEstimator stays normal when packets arrive at the pace they were sent", () => {
  const run = new TrendlineRun(20);
  assert.equal(run.estimator.state, "normal");
  run.runUntilStateChange();
  assert.equal(run.estimator.state, "normal");
  assert.equal(run.next, PACKETS, "all packets processed");
});

Deno.test("TrendlineEstimator turns overusing when packets arrive 10 % slower than sent, and stays so", () => {
  const run = new TrendlineRun(22);
  assert.equal(run.estimator.state, "normal");
  run.runUntilStateChange();
  assert.equal(run.estimator.state, "overusing");
  run.runUntilStateChange();
  assert.equal(run.estimator.state, "overusing");
  assert.equal(run.next, PACKETS, "all packets processed");
});

Deno.test("TrendlineEstimator turns underusing when packets arrive 15 % faster than sent, and stays so", () => {
  const run = new TrendlineRun(17);
  assert.equal(run.estimator.state, "normal");
  run.runUntilStateChange();
  assert.equal(run.estimator.state, "underusing");
  run.runUntilStateChange();
  assert.equal(run.estimator.state, "underusing");
  assert.equal(run.next, PACKETS, "all packets processed");
});
