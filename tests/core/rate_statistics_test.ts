/**
 * Unit tests of the incoming-rate window against reference §4.2 (libwebrtc's RateStatistics): exact
 * float32 results, when the rate is unavailable, bucket expiry, reset, late samples and a long run
 * with non-monotonic times checked against a direct model of libwebrtc's deque.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RateStatistics } from "../../core/rate_statistics.ts";
import { Prng } from "./_prng.ts";

const f = Math.fround;

/** libwebrtc's `int64(float(accumulated) × (8000.0f / active) + 0.5f)`, all in float32. */
function float32Rate(accumulatedBytes: number, activeWindowMs: number): number {
  return Math.trunc(f(f(f(accumulatedBytes) * f(f(8000) / activeWindowMs)) + f(0.5)));
}

/**
 * A literal model of libwebrtc's RateStatistics: a deque that appends a twin bucket (same timestamp
 * as the newest) for every sample stamped before the newest bucket.
 */
class LibwebrtcRateModel {
  readonly #windowMs: number;
  #buckets: { timestamp: number; sum: number; samples: number }[] = [];
  #head = 0;
  #accumulated = 0;
  #numSamples = 0;
  #firstTimestamp = -1;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  update(bytes: number, nowMs: number): void {
    this.#eraseOld(nowMs);
    if (this.#firstTimestamp === -1 || this.#numSamples === 0) this.#firstTimestamp = nowMs;
    const last = this.#buckets.length > this.#head ? this.#buckets[this.#buckets.length - 1] : null;
    let bucket = last;
    if (last === null || nowMs !== last.timestamp) {
      if (last !== null && nowMs < last.timestamp) nowMs = last.timestamp;
      bucket = { timestamp: nowMs, sum: 0, samples: 0 };
      this.#buckets.push(bucket);
    }
    bucket!.sum += bytes;
    bucket!.samples++;
    this.#accumulated += bytes;
    this.#numSamples++;
  }

  rate(nowMs: number): number | undefined {
    this.#eraseOld(nowMs);
    const active = this.#firstTimestamp <= nowMs - this.#windowMs
      ? this.#windowMs
      : nowMs - this.#firstTimestamp + 1;
    if (
      this.#numSamples === 0 || active <= 1 || (this.#numSamples <= 1 && active < this.#windowMs)
    ) {
      return undefined;
    }
    return float32Rate(this.#accumulated, active);
  }

  #eraseOld(nowMs: number): void {
    const oldest = nowMs - this.#windowMs + 1;
    while (this.#head < this.#buckets.length && this.#buckets[this.#head].timestamp < oldest) {
      const b = this.#buckets[this.#head++];
      this.#accumulated -= b.sum;
      this.#numSamples -= b.samples;
    }
    if (this.#head > 4096) {
      this.#buckets = this.#buckets.slice(this.#head);
      this.#head = 0;
    }
  }
}

Deno.test("RateStatistics.rate() computes bits per second over the window", async (t) => {
  await t.step("1250 B every 10 ms over a full second is exactly 1 Mbit/s", () => {
    const stats = new RateStatistics(1000);
    for (let ms = 0; ms < 1000; ms += 10) stats.update(1250, ms);
    assert.equal(stats.rate(999), 1_000_000);
  });

  await t.step("a partial window divides by the time since the first sample, inclusive", () => {
    const stats = new RateStatistics(1000);
    stats.update(1000, 100);
    stats.update(1000, 299);
    // Active window 299 − 100 + 1 = 200 ms: 2000 B × 8000 / 200 = 80 000 bps.
    assert.equal(stats.rate(299), 80_000);
    // 100 ms later the same bytes span 300 ms.
    assert.equal(stats.rate(399), float32Rate(2000, 300));
    assert.equal(stats.rate(399), 53_333);
  });

  await t.step("the result is computed in float32, not float64", () => {
    const stats = new RateStatistics(1000);
    stats.update(400, 10);
    stats.update(400, 12);
    // 800 B over a 3 ms window: 2 133 333.33 in float64, but float32(8000/3) × 800 rounds up.
    assert.equal(Math.trunc(800 * (8000 / 3) + 0.5), 2_133_333);
    assert.equal(stats.rate(12), 2_133_334);
  });

  await t.step("a large full-window count loses float32 precision as libwebrtc does", () => {
    const stats = new RateStatistics(1000);
    for (let ms = 0; ms < 1000; ms++) stats.update(4_019, ms); // ≈ 32 Mbit/s
    const accumulated = 4_019 * 1000;
    assert.equal(stats.rate(999), float32Rate(accumulated, 1000));
    // And in a 600 ms partial window the float32 product is not the float64 one.
    const partial = new RateStatistics(1000);
    for (let ms = 0; ms < 600; ms++) partial.update(134_219, ms);
    const expected = float32Rate(134_219 * 600, 600);
    assert.notEqual(expected, Math.trunc(134_219 * 600 * (8000 / 600) + 0.5));
    assert.equal(partial.rate(599), expected);
  });
});

Deno.test("RateStatistics.rate() is undefined until there is enough data", async (t) => {
  await t.step("without samples", () => {
    const stats = new RateStatistics(1000);
    assert.equal(stats.rate(0), undefined);
    assert.equal(stats.rate(5000), undefined);
  });

  await t.step("while the active window is at most 1 ms, even with several samples", () => {
    const stats = new RateStatistics(1000);
    stats.update(500, 40);
    stats.update(500, 40);
    stats.update(500, 40);
    assert.equal(stats.rate(40), undefined);
    // One millisecond later the window is 2 ms: 1500 B × 8000 / 2.
    assert.equal(stats.rate(41), 6_000_000);
  });

  await t.step("with a single sample in a partial window", () => {
    const stats = new RateStatistics(1000);
    stats.update(1000, 0);
    assert.equal(stats.rate(1), undefined);
    assert.equal(stats.rate(500), undefined);
    assert.equal(stats.rate(998), undefined);
    // Once the window is full, a single sample is a rate.
    assert.equal(stats.rate(999), 8000);
  });

  await t.step("once the window holds two samples in a partial window", () => {
    const stats = new RateStatistics(1000);
    stats.update(1000, 0);
    assert.equal(stats.rate(10), undefined);
    stats.update(1000, 10);
    assert.equal(stats.rate(10), float32Rate(2000, 11));
  });
});

Deno.test("RateStatistics erases buckets that leave the window", () => {
  const stats = new RateStatistics(1000);
  stats.update(1000, 0);
  stats.update(1000, 500);
  assert.equal(stats.rate(999), 16_000);
  // At 1000 the bucket stamped 0 is older than 1000 − 1000 + 1 and is gone.
  assert.equal(stats.rate(1000), 8000);
  assert.equal(stats.rate(1499), 8000);
  // At 1500 the last bucket is gone too: no samples, no rate.
  assert.equal(stats.rate(1500), undefined);
  // New data restarts the window from its own first sample.
  stats.update(1000, 1600);
  assert.equal(stats.rate(1700), undefined);
  stats.update(1000, 1700);
  assert.equal(stats.rate(1700), float32Rate(2000, 101));
});

Deno.test("RateStatistics.reset() forgets every sample", () => {
  const stats = new RateStatistics(1000);
  for (let ms = 0; ms < 1000; ms += 10) stats.update(1250, ms);
  assert.equal(stats.rate(999), 1_000_000);
  stats.reset();
  assert.equal(stats.rate(999), undefined);
  assert.equal(stats.rate(1000), undefined);
  // After a reset it behaves exactly like a fresh window.
  const fresh = new RateStatistics(1000);
  for (const s of [stats, fresh]) {
    s.update(700, 1200);
    s.update(300, 1210);
  }
  assert.equal(stats.rate(1300), float32Rate(1000, 101));
  for (const now of [1300, 2199, 2205, 2300]) assert.equal(stats.rate(now), fresh.rate(now));
});

Deno.test("RateStatistics.update() adds a sample stamped before the newest bucket to that bucket", () => {
  const stats = new RateStatistics(1000);
  const model = new LibwebrtcRateModel(1000);
  for (const s of [stats, model]) {
    s.update(1000, 100);
    s.update(1000, 500);
    s.update(1000, 300); // late: counted at 500, as libwebrtc's twin bucket is
  }
  // At 1400 a bucket stamped 300 would be gone; the late sample lives in the 500 bucket instead.
  const expected = [[1099, 24_000], [1400, 16_000], [1499, 16_000], [1500, undefined]] as const;
  for (const [now, bps] of expected) {
    assert.equal(stats.rate(now), bps, `rate(${now})`);
    assert.equal(model.rate(now), bps, `libwebrtc model rate(${now})`);
  }
});

Deno.test("RateStatistics stays exact over 10^6 updates with non-monotonic times", () => {
  const rng = new Prng(0x5eed);
  const stats = new RateStatistics(1000);
  const model = new LibwebrtcRateModel(1000);
  let clock = 0;
  let defined = 0;
  for (let i = 0; i < 1_000_000; i++) {
    // Stretches of one new millisecond per sample, so the window holds 1000 distinct buckets
    // (the ring's limit), alternate with sparse, irregular ones.
    const dense = Math.floor(i / 5000) % 2 === 0;
    const r = rng.next();
    clock += dense ? 1 : r < 0.9 ? 1 : r < 0.95 ? 0 : rng.int(2, 50);
    // Outside them, one sample in ten is stamped up to 1.5 s in the past.
    const stamp = !dense && rng.chance(0.1) ? clock - rng.int(0, 1500) : clock;
    const bytes = rng.int(0, 1500);
    stats.update(bytes, stamp);
    model.update(bytes, stamp);
    // Query both at the same, sometimes earlier, time: a query erases buckets too.
    const queryAt = rng.chance(0.05) ? clock - rng.int(0, 1200) : clock;
    const expected = model.rate(queryAt);
    const actual = stats.rate(queryAt);
    if (actual !== expected) {
      assert.fail(`update ${i} at ${stamp}, rate(${queryAt}): ${actual} !== ${expected}`);
    }
    if (actual !== undefined) defined++;
  }
  assert.ok(defined > 900_000, `rates were available for only ${defined} queries`);
});
