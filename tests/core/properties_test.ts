/**
 * Property-based tests of everything that reads bytes or packets from the network. Seeded and
 * reproducible: a failure prints its seed and path, and `FUZZ_SEED`/`FUZZ_PATH` replay it.
 * `FUZZ_SCALE` multiplies the number of runs (`deno task fuzz:long`).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import { decodeRemb, encodeRemb } from "../../core/remb.ts";
import { RtpHeader } from "../../core/rtp_header.ts";
import type { PacketInfo, RateControlState } from "../../core/types.ts";

const SCALE = Number(Deno.env.get("FUZZ_SCALE") ?? "1");
const SEED = Deno.env.get("FUZZ_SEED");
const PATH = Deno.env.get("FUZZ_PATH");

function params(numRuns: number): fc.Parameters<unknown> {
  return {
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    ...(SEED === undefined ? {} : { seed: Number(SEED) }),
    ...(PATH === undefined ? {} : { path: PATH }),
  };
}

/** A small deterministic PRNG, so one fast-check value expands into thousands of packets. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  seed: number;
  packets: number;
  streams: number;
  jump: number; // probability of an arrival-time jump (±60 s)
  silence: number; // probability of a long silence (up to 100 s)
  wildAbs: number; // probability of an abs-send-time anywhere in 24 bits
  noAbs: number; // probability of a packet without abs-send-time
  duplicate: number; // probability of sending the same packet twice
  grouping: "per-stream" | "transport";
  filter: "kalman" | "trendline";
  minBitrateBps: number;
  maxBitrateBps: number;
}

const shape: fc.Arbitrary<Shape> = fc.record({
  seed: fc.integer(),
  packets: fc.integer({ min: 4000, max: 8000 }),
  streams: fc.integer({ min: 1, max: 8 }),
  jump: fc.constantFrom(0, 0.001, 0.01, 0.1),
  silence: fc.constantFrom(0, 0.0005, 0.005),
  wildAbs: fc.constantFrom(0, 0.01, 0.2, 1),
  noAbs: fc.constantFrom(0, 0.02, 0.5, 1),
  duplicate: fc.constantFrom(0, 0.01, 0.1),
  grouping: fc.constantFrom("per-stream" as const, "transport" as const),
  filter: fc.constantFrom("kalman" as const, "trendline" as const),
  minBitrateBps: fc.integer({ min: 1000, max: 100_000 }),
  maxBitrateBps: fc.integer({ min: 100_000, max: 50_000_000 }),
});

const USAGES = new Set(["normal", "underusing", "overusing"]);
const STATES = new Set<RateControlState>(["hold", "increase", "decrease"]);
let packetsTried = 0;

Deno.test("BandwidthEstimator stays finite, bounded and legal on arbitrary packet sequences", () => {
  fc.assert(
    fc.property(shape, (s) => {
      const random = mulberry32(s.seed);
      const ssrcs = Array.from(
        { length: s.streams },
        (_, i) => i === 0 ? 0xffffffff : i === 1 ? 0 : Math.floor(random() * 2 ** 32),
      );
      const estimates: number[] = [];
      const estimator = new BandwidthEstimator({
        grouping: s.grouping,
        filter: s.filter,
        minBitrateBps: s.minBitrateBps,
        maxBitrateBps: s.maxBitrateBps,
        onEstimate: (bps, list) => {
          estimates.push(bps);
          for (let i = 1; i < list.length; i++) assert.ok(list[i - 1] < list[i]);
        },
      });
      let arrivalMs = 1000 + random() * 1e6;
      let sendUs = Math.floor(random() * 1e9);
      const packet: PacketInfo = { ssrc: 0, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0 };
      for (let i = 0; i < s.packets; i++) {
        const r = random();
        if (r < s.jump) arrivalMs += (random() - 0.5) * 120_000;
        else if (r < s.jump + s.silence) arrivalMs += random() * 100_000;
        else arrivalMs += random() * 20;
        sendUs += Math.floor(random() * 20_000);
        packet.ssrc = ssrcs[Math.floor(random() * ssrcs.length)];
        packet.arrivalTimeMs = arrivalMs;
        packet.payloadSize = Math.floor(random() * 1501);
        packet.rtpTimestamp = Math.floor(sendUs * 0.09) >>> 0;
        const abs = random() < s.wildAbs
          ? Math.floor(random() * 2 ** 24)
          : Math.floor((sendUs % 64_000_000) * 0.262144) & 0xffffff;
        packet.absSendTime = random() < s.noAbs ? undefined : abs;
        estimator.onPacket(packet, random() < 0.5 ? undefined : arrivalMs + random() * 5);
        if (random() < s.duplicate) estimator.onPacket(packet);
        if (i % 50 === 0) estimator.process(arrivalMs);
        const estimate = estimator.getEstimate();
        assert.ok(estimate === 0 || (estimate >= s.minBitrateBps && estimate <= s.maxBitrateBps));
      }
      packetsTried += s.packets;
      for (const bps of estimates) {
        assert.ok(Number.isInteger(bps), `estimate ${bps} is not an integer`);
        assert.ok(
          bps >= s.minBitrateBps && bps <= s.maxBitrateBps,
          `estimate ${bps} out of bounds`,
        );
      }
      const stats = estimator.stats();
      assert.ok(USAGES.has(stats.usage));
      assert.ok(STATES.has(stats.rateControlState));
      // Each figure is a finite number, or undefined while it has no value: never NaN.
      const rate = stats.incomingRateBps;
      assert.ok(rate === undefined || (Number.isFinite(rate) && rate >= 0));
      for (const figure of [stats.delayOffsetMs, stats.thresholdMs, stats.estimateBps]) {
        assert.ok(figure === undefined || Number.isFinite(figure), `${figure}`);
      }
      for (const stream of stats.streams) {
        assert.ok(USAGES.has(stream.usage));
        assert.ok(Number.isFinite(stream.modifiedOffsetMs));
        assert.ok(stream.thresholdMs! >= 6 && stream.thresholdMs! <= 600);
      }
    }),
    params(200),
  );
  console.log(`  ${packetsTried.toLocaleString("en")} generated packets, no failure`);
  assert.ok(packetsTried >= 1_000_000 * Math.min(1, SCALE));
});

Deno.test("decodeRemb() returns a valid REMB or throws RangeError/TypeError on arbitrary bytes", () => {
  let decoded = 0;
  let tried = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        // Mostly-valid packets with one byte changed, to reach the deeper checks.
        fc.tuple(
          fc.integer({ min: 0, max: 2 ** 40 }),
          fc.array(fc.nat(0xffffffff), { maxLength: 6 }),
          fc.nat(100),
          fc.nat(255),
        ).map(([bitrateBps, ssrcs, at, value]) => {
          const bytes = encodeRemb({ senderSsrc: 1, bitrateBps, ssrcs }); // a fresh array
          bytes[at % bytes.length] = value;
          return bytes;
        }),
      ),
      (bytes) => {
        tried++;
        try {
          const remb = decodeRemb(bytes);
          decoded++;
          assert.ok(Number.isInteger(remb.bitrateBps) && remb.bitrateBps >= 0);
          assert.ok(remb.bitrateBps < 2 ** 63);
          assert.equal(
            bytes.length,
            20 + 4 * remb.ssrcs.length + (bytes[0] & 0x20 ? bytes.at(-1)! : 0),
          );
          for (const ssrc of [remb.senderSsrc, remb.mediaSsrc, ...remb.ssrcs]) {
            assert.ok(Number.isInteger(ssrc) && ssrc >= 0 && ssrc <= 0xffffffff);
          }
        } catch (error) {
          assert.ok(error instanceof RangeError || error instanceof TypeError, String(error));
        }
      },
    ),
    params(20_000),
  );
  console.log(`  ${tried} inputs, ${decoded} decoded`);
});

Deno.test("encodeRemb() then decodeRemb() round-trips every bitrate to at most 2^-17 below it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.array(fc.nat(0xffffffff), { maxLength: 255 }),
      (bitrateBps, ssrcs) => {
        const remb = decodeRemb(encodeRemb({ senderSsrc: 7, bitrateBps, ssrcs }));
        assert.ok(remb.bitrateBps <= bitrateBps && remb.bitrateBps >= bitrateBps * (1 - 2 ** -17));
        assert.deepEqual(remb.ssrcs, ssrcs);
      },
    ),
    params(5000),
  );
});

Deno.test("RtpHeader.parse() never throws on bytes and every offset it reports is in range", () => {
  const header = new RtpHeader();
  let parsed = 0;
  let tried = 0;
  // RTP-like: version 2 with the X bit set often, one-byte or two-byte profiles, random rest.
  const rtpLike = fc.tuple(
    fc.uint8Array({ minLength: 12, maxLength: 80 }),
    fc.constantFrom(0x80, 0x90, 0xb0, 0x10, 0xa0),
    fc.constantFrom(0xbede, 0x1000, 0x100f, 0x1234),
    fc.nat(8),
  ).map(([source, first, profile, words]) => {
    const bytes = source.slice(); // never mutate a generated value: shrinking reuses it
    bytes[0] = first | (bytes[0] & 1);
    if (bytes.length >= 16) {
      bytes[12] = profile >> 8;
      bytes[13] = profile & 0xff;
      bytes[14] = 0;
      bytes[15] = words;
    }
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), rtpLike), (bytes) => {
      tried++;
      if (!header.parse(bytes)) {
        assert.ok(header.error !== undefined);
        assert.ok(header.errorOffset >= 0 && header.errorOffset <= bytes.length);
        assert.equal(typeof header.errorMessage(), "string");
        return;
      }
      parsed++;
      assert.ok(header.payloadOffset <= bytes.length);
      assert.ok(header.payloadSize >= 0);
      // payloadSize counts the padding too (libwebrtc's packet size).
      assert.equal(header.payloadOffset + header.payloadSize, bytes.length);
      assert.ok(header.paddingSize <= header.payloadSize);
      assert.ok(header.ssrc >= 0 && header.ssrc <= 0xffffffff);
      for (let id = 1; id <= 255; id++) {
        if (header.findExtension(id)) {
          assert.ok(header.elementOffset + header.elementLength <= header.payloadOffset);
        }
        const abs = header.readAbsSendTime(id);
        assert.ok(abs === -1 || (abs >= 0 && abs < 2 ** 24));
      }
    }),
    params(20_000),
  );
  console.log(`  ${tried} inputs, ${parsed} parsed as RTP`);
  assert.ok(parsed > tried / 10, "the generator must reach the parser's deeper paths");
});
