/**
 * Measuring a run: a fixed-size histogram for delay percentiles (memory stays flat however long
 * the run), Jain's fairness index, and the step-response times read off the rate series.
 *
 * @module
 */

/** Queuing delays in 0.5 ms bins up to 10 s; anything longer lands in the last bin. */
export class DelayHistogram {
  static readonly BIN_MS = 0.5;
  readonly #bins = new Float64Array(20_000);
  #count = 0;

  /** Samples added. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds a sample.
   *
   * @param delayMs The delay, ms.
   */
  add(delayMs: number): void {
    const bin = Math.min(
      this.#bins.length - 1,
      Math.max(0, Math.floor(delayMs / DelayHistogram.BIN_MS)),
    );
    this.#bins[bin]++;
    this.#count++;
  }

  /** Removes every sample. */
  clear(): void {
    this.#bins.fill(0);
    this.#count = 0;
  }

  /**
   * Adds every sample of another histogram.
   *
   * @param other The other histogram.
   */
  merge(other: DelayHistogram): void {
    for (let i = 0; i < this.#bins.length; i++) this.#bins[i] += other.#bins[i];
    this.#count += other.#count;
  }

  /**
   * A percentile, at the upper edge of its bin.
   *
   * @param p In [0, 100].
   * @returns ms; 0 without samples.
   * @example
   * ```ts
   * import { DelayHistogram } from "./metrics.ts";
   * import assert from "node:assert/strict";
   * const h = new DelayHistogram();
   * for (let i = 0; i < 100; i++) h.add(i);
   * assert.equal(h.percentile(50), 49.5); // the 50th sample is 49: bin [49, 49.5)
   * assert.equal(h.percentile(95), 94.5);
   * ```
   */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#bins.length; i++) {
      seen += this.#bins[i];
      if (seen >= rank) return (i + 1) * DelayHistogram.BIN_MS;
    }
    return this.#bins.length * DelayHistogram.BIN_MS;
  }
}

/**
 * Jain's fairness index: 1 when every flow gets the same, 1/n when one gets everything.
 *
 * @param rates One figure per flow.
 * @returns The index, or `undefined` for fewer than two flows.
 * @example
 * ```ts
 * import { jainIndex } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(jainIndex([1, 1, 1]), 1);
 * assert.equal(jainIndex([1, 0]), 0.5);
 * ```
 */
export function jainIndex(rates: readonly number[]): number | undefined {
  if (rates.length < 2) return undefined;
  let sum = 0, squares = 0;
  for (const r of rates) {
    sum += r;
    squares += r * r;
  }
  return squares === 0 ? 1 : (sum * sum) / (rates.length * squares);
}

/**
 * Time from `fromIndex` until a series first satisfies a test, in samples.
 *
 * @param values The series.
 * @param fromIndex First sample to look at.
 * @param toIndex Sample after the last one to look at.
 * @param test The condition.
 * @returns Samples after `fromIndex`, or `undefined` if it never holds.
 */
export function samplesUntil(
  values: Float64Array,
  fromIndex: number,
  toIndex: number,
  test: (value: number) => boolean,
): number | undefined {
  for (let i = fromIndex; i < Math.min(toIndex, values.length); i++) {
    if (test(values[i])) return i - fromIndex;
  }
  return undefined;
}

/**
 * A trailing moving average.
 *
 * @param values The series.
 * @param window Samples averaged (the current one and those before it).
 * @returns A new series of the same length.
 * @example
 * ```ts
 * import { movingAverage } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...movingAverage(Float64Array.of(2, 4, 6), 2)], [2, 3, 5]);
 * ```
 */
export function movingAverage(values: Float64Array, window: number): Float64Array {
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}
