import assert from "node:assert/strict";
import type { HostCallbacks, WorkerFactory } from "../../workers/lane_host.ts";
import type { LaneConfig } from "../../workers/protocol.ts";
import { moduleWorkerSources } from "../../workers/sources.ts";
import {
  defaultWorkerFactory,
  WorkerHost,
  WorkerPerLane,
  WorkerPool,
} from "../../workers/worker_host.ts";

const CONFIG: LaneConfig = { kind: "abs-send-time", filter: "kalman", trendlineWindowSize: 20 };

/** A worker that records what it is told, and can be made to fail. */
class FakeWorker {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  readonly posted: { type: string; lane?: number; port?: MessagePort }[] = [];
  terminated = false;

  constructor(readonly name: string) {}

  postMessage(message: { type: string; lane?: number; port?: MessagePort }): void {
    this.posted.push(message);
  }

  terminate(): void {
    this.terminated = true;
    for (const message of this.posted) message.port?.close();
  }

  fail(message: string): void {
    this.onerror!(new ErrorEvent("error", { message, cancelable: true }));
  }

  types(): string[] {
    return this.posted.map((message) => message.type);
  }
}

function fakeWorkers(): { factory: WorkerFactory; made: FakeWorker[] } {
  const made: FakeWorker[] = [];
  const factory: WorkerFactory = (_url, name) => {
    const worker = new FakeWorker(name);
    made.push(worker);
    return worker as unknown as Worker;
  };
  return { factory, made };
}

function recordingCallbacks(): HostCallbacks & { failures: [number, string][] } {
  const failures: [number, string][] = [];
  return { failures, onResults() {}, onLaneFailed: (lane, error) => failures.push([lane, error]) };
}

Deno.test("WorkerHost fails at construction where the runtime has no global Worker, naming the inline host", () => {
  for (const placement of [new WorkerPerLane(), new WorkerPool(2)]) {
    assert.throws(
      () =>
        new WorkerHost(recordingCallbacks(), {
          placement,
          sources: moduleWorkerSources(),
          batchSize: 64,
          globals: {}, // as in Node.js
        }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message ===
          'Cannot create worker host as this runtime has no global Worker (Node.js has none): use a Coordinator with host "inline" there, or pass a workerFactory',
    );
  }
  assert.throws(() => defaultWorkerFactory({}), TypeError);
});

Deno.test("WorkerHost needs no global Worker when a factory is injected", () => {
  const { factory, made } = fakeWorkers();
  const host = new WorkerHost(recordingCallbacks(), {
    placement: new WorkerPool(2),
    sources: moduleWorkerSources(),
    factory,
    batchSize: 64,
    globals: {},
  });
  assert.deepEqual(made.map((worker) => worker.name), ["bwe-pool-0", "bwe-pool-1"]);
  assert.equal(host.liveWorkers, 2);
  host.close();
  assert.equal(host.liveWorkers, 0);
  assert.ok(made.every((worker) => worker.terminated));
});

Deno.test("WorkerHost with a WorkerPool places lanes by SSRC, keeps retired lanes and moves on from a failed worker", () => {
  const { factory, made } = fakeWorkers();
  const callbacks = recordingCallbacks();
  const host = new WorkerHost(callbacks, {
    placement: new WorkerPool(2),
    sources: moduleWorkerSources(),
    factory,
    transport: "transfer",
    batchSize: 64,
  });
  const [even, odd] = made;
  host.open(1, 4, CONFIG, undefined);
  host.open(2, 7, CONFIG, undefined);
  assert.deepEqual(even.posted.map((m) => [m.type, m.lane]), [["open", 1]]);
  assert.deepEqual(odd.posted.map((m) => [m.type, m.lane]), [["open", 2]]);

  host.retire(1); // the pipeline stays for the stream's return
  assert.deepEqual(even.types(), ["open"]);
  host.drop(1);
  assert.deepEqual(even.posted.map((m) => [m.type, m.lane]), [["open", 1], ["drop", 1]]);

  odd.fail("pool worker broke on purpose");
  assert.deepEqual(callbacks.failures, [[2, "pool worker broke on purpose"]]);
  assert.ok(odd.terminated);
  assert.equal(host.liveWorkers, 1);
  host.open(3, 7, CONFIG, undefined); // an odd SSRC, now on the one worker left
  assert.deepEqual(even.posted.at(-1), {
    type: "open",
    lane: 3,
    config: CONFIG,
    start: undefined,
  });

  even.fail("the other one too");
  host.open(4, 8, CONFIG, undefined);
  assert.deepEqual(callbacks.failures.at(-1), [4, "no pool worker is alive"]);
  host.close();
});

Deno.test("WorkerHost with WorkerPerLane starts a worker per lane through the spawner and ends it when the lane retires", () => {
  const { factory, made } = fakeWorkers();
  const host = new WorkerHost(recordingCallbacks(), {
    placement: new WorkerPerLane(),
    sources: moduleWorkerSources(),
    factory,
    batchSize: 64,
  });
  assert.equal(made.length, 0); // the spawner starts with the first lane
  host.open(1, 0x1234, CONFIG, undefined);
  host.open(2, 0x5678, CONFIG, undefined);
  const [spawner] = made;
  assert.equal(made.length, 1);
  assert.equal(spawner.name, "bwe-spawner");
  assert.deepEqual(spawner.types(), ["init", "spawn", "spawn"]);
  assert.equal(host.liveWorkers, 3);

  host.retire(1);
  assert.deepEqual(spawner.types(), ["init", "spawn", "spawn", "terminate"]);
  assert.equal(host.liveWorkers, 2);
  host.drop(1); // already gone with its worker
  assert.equal(host.liveWorkers, 2);

  host.close();
  assert.ok(spawner.terminated);
  assert.equal(host.liveWorkers, 0);
});
