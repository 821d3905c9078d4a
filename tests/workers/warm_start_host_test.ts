import assert from "node:assert/strict";
import { PacketBatch } from "../../core/packet_batch.ts";
import type { HostCallbacks, WorkerFactory } from "../../workers/lane_host.ts";
import type { OpenLaneMessage } from "../../workers/protocol.ts";
import { moduleWorkerSources } from "../../workers/sources.ts";
import { WarmStartHost } from "../../workers/warm_start_host.ts";
import { WorkerPerLane, WorkerPool } from "../../workers/worker_host.ts";
import type { LaneConfig } from "../../workers/protocol.ts";

const CONFIG: LaneConfig = { kind: "rtp-timestamp", filter: "kalman", trendlineWindowSize: 20 };

/** A worker that records what it is told and answers only when the test says so. */
class FakeWorker {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  readonly posted: { type: string; lane?: number; lanes?: number[]; port?: MessagePort }[] = [];
  terminated = false;

  postMessage(message: { type: string; port?: MessagePort }): void {
    this.posted.push(message);
  }

  terminate(): void {
    this.terminated = true;
    for (const message of this.posted) message.port?.close();
  }

  answer(data: unknown): void {
    this.onmessage!(new MessageEvent("message", { data }));
  }

  types(): string[] {
    return this.posted.map((message) => message.type);
  }
}

function fakeWorkers(): { factory: WorkerFactory; made: FakeWorker[] } {
  const made: FakeWorker[] = [];
  const factory: WorkerFactory = () => {
    const worker = new FakeWorker();
    made.push(worker);
    return worker as unknown as Worker;
  };
  return { factory, made };
}

function recording(): HostCallbacks & { results: number[]; failures: [number, string][] } {
  const results: number[] = [];
  const failures: [number, string][] = [];
  return {
    results,
    failures,
    onResults: (lane) => results.push(lane),
    onLaneFailed: (lane, error) => failures.push([lane, error]),
  };
}

/** A batch of `n` frames of a 90 kHz stream, 33 ms apart from `fromMs`. */
function frames(from: number, n: number): PacketBatch {
  const batch = new PacketBatch(64);
  for (let i = 0; i < n; i++) {
    batch.timestamp[i] = (from + i) * 2970;
    batch.arrivalUs[i] = batch.nowUs[i] = (1000 + (from + i) * 40) * 1000;
    batch.size[i] = 1200;
  }
  return batch;
}

Deno.test("WarmStartHost serves a lane inline until its worker answers, then moves the whole pipeline there", () => {
  const { factory, made } = fakeWorkers();
  const callbacks = recording();
  const host = new WarmStartHost(callbacks, {
    placement: new WorkerPool(1),
    sources: moduleWorkerSources(),
    factory,
    transport: "transfer",
    batchSize: 64,
    flushesPerBatch: 3,
  });
  const [worker] = made;
  host.open(1, 0x1234, CONFIG, undefined);
  assert.equal(host.startingLanes, 1);
  assert.equal(host.flushesPerBatch(1), 1); // inline: every flush
  const first = frames(0, 20);
  host.submit(1, first, 20);
  host.flush();
  assert.deepEqual(callbacks.results, [1]); // served at once, inline
  assert.deepEqual(worker.types(), []); // the worker has heard nothing of the lane

  worker.answer({ type: "started" });
  host.flush();
  assert.equal(host.startingLanes, 0);
  const open = worker.posted[0] as unknown as OpenLaneMessage;
  assert.equal(open.type, "open");
  assert.equal(open.start?.from, "snapshot");
  assert.equal(host.flushesPerBatch(1), 3); // on its worker now

  host.submit(1, frames(20, 10), 10);
  host.flush();
  assert.deepEqual(worker.types(), ["open", "batches"]);
  assert.deepEqual(worker.posted[1].lanes, [1]);
  assert.deepEqual(callbacks.results, [1]); // the worker's answer is still to come
  host.close();
  assert.ok(worker.terminated);
});

Deno.test("WarmStartHost keeps a lane inline for good when no worker is left for it", () => {
  const { factory, made } = fakeWorkers();
  const callbacks = recording();
  const host = new WarmStartHost(callbacks, {
    placement: new WorkerPool(1),
    sources: moduleWorkerSources(),
    factory,
    batchSize: 64,
  });
  made[0].onerror!(
    new ErrorEvent("error", { message: "pool worker broke on purpose", cancelable: true }),
  );
  host.open(1, 7, CONFIG, undefined);
  assert.equal(host.startingLanes, 0);
  host.submit(1, frames(0, 5), 5);
  host.flush();
  assert.deepEqual(callbacks.results, [1]);
  assert.deepEqual(callbacks.failures, []);
  host.close();
});

Deno.test("WarmStartHost reports a lane whose worker fails before it moved, and a quiet lane ends its starting worker", () => {
  const { factory, made } = fakeWorkers();
  const callbacks = recording();
  const host = new WarmStartHost(callbacks, {
    placement: new WorkerPerLane(),
    sources: moduleWorkerSources(),
    factory,
    batchSize: 64,
  });
  host.open(1, 0x1111, CONFIG, undefined);
  host.open(2, 0x2222, CONFIG, undefined);
  const [spawner] = made;
  assert.deepEqual(spawner.types(), ["init", "spawn", "spawn"]);
  assert.equal(host.liveWorkers, 3);
  assert.equal(host.startingLanes, 2);

  // The spawner says lane 1's worker died while starting: the lane leaves the inline host too.
  spawner.answer({ type: "exited", id: 0, error: "lane worker broke on purpose" });
  assert.deepEqual(callbacks.failures, [[1, "lane worker broke on purpose"]]);
  assert.equal(host.startingLanes, 1);

  // Lane 2 goes quiet before its worker answered: the worker is ended.
  host.retire(2);
  assert.deepEqual(spawner.types(), ["init", "spawn", "spawn", "terminate"]);
  assert.equal(host.startingLanes, 0);
  assert.equal(host.liveWorkers, 1);
  host.close();
  assert.equal(host.liveWorkers, 0);
});
