/**
 * Property-based tests of everything that reads bytes or packets from the network. Seeded and
 * reproducible: a failure prints its seed and path, and `FUZZ_SEED`/`FUZZ_PATH` replay it.
 * `FUZZ_SCALE` multiplies the number of runs (`deno task fuzz:long`).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { BandwidthEstimator } from "../../core/bandwidth_estimator.ts";
import { ReceiverRtt } from "../../core/receiver_rtt.ts";
import { decodeRemb, encodeRemb } from "../../core/remb.ts";
import {
  compactNtpFromMs,
  DlrrReader,
  type DlrrSubBlock,
  encodeXrDlrr,
  encodeXrRrtr,
} from "../../core/rtcp_xr.ts";
import { RtpHeader } from "../../core/rtp_header.ts";
import type { PacketInfo, RateControlState } from "../../core/types.ts";
import type { Profile } from "../../core/estimator_settings.ts";

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

/** Feeds the packets a shape expands into and checks every estimate and the final statistics. */
function checkArbitraryPackets(s: Shape, profile: Profile): void {
  const random = mulberry32(s.seed);
  const ssrcs = Array.from(
    { length: s.streams },
    (_, i) => i === 0 ? 0xffffffff : i === 1 ? 0 : Math.floor(random() * 2 ** 32),
  );
  const estimates: number[] = [];
  const estimator = new BandwidthEstimator({
    grouping: s.grouping,
    filter: s.filter,
    profile,
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
  if (profile === "enhanced") {
    const figures = stats.enhanced;
    if (figures !== undefined) {
      for (
        const value of [
          figures.queueDelayMs,
          figures.persistentQueueDelayMs,
          figures.peakQueueDelayMs,
        ]
      ) {
        assert.ok(Number.isFinite(value) && value >= 0, `queue figure ${value}`);
      }
      assert.ok(Number.isFinite(figures.deliveryRateBps) && figures.deliveryRateBps >= 0);
      assert.ok(figures.competition === "delay" || figures.competition === "competitive");
    }
  }
}

Deno.test("BandwidthEstimator stays finite, bounded and legal on arbitrary packet sequences", () => {
  fc.assert(
    fc.property(shape, (s) => checkArbitraryPackets(s, "libwebrtc")),
    params(200),
  );
  console.log(`  ${packetsTried.toLocaleString("en")} generated packets, no failure`);
  assert.ok(packetsTried >= 1_000_000 * Math.min(1, SCALE));
});

Deno.test("BandwidthEstimator with the enhanced profile stays finite, bounded and legal on arbitrary packet sequences", () => {
  const before = packetsTried;
  fc.assert(
    fc.property(shape, (s) => checkArbitraryPackets(s, "enhanced")),
    params(200),
  );
  console.log(`  ${(packetsTried - before).toLocaleString("en")} generated packets, no failure`);
  assert.ok(packetsTried - before >= 1_000_000 * Math.min(1, SCALE));
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

/** One RTCP packet of a generated compound, and the DLRR sub-blocks it holds. */
interface ModelPacket {
  bytes: Uint8Array;
  dlrr: [number, DlrrSubBlock][]; // [XR sender SSRC, sub-block]
}

const u32 = fc.nat(0xffffffff);
const subBlock: fc.Arbitrary<DlrrSubBlock> = fc.record(
  { ssrc: u32, lastRr: u32, delaySinceLastRr: u32 },
  { noNullPrototype: true },
);

/** A report block of an XR packet: RRTR, DLRR or a type the reader must skip. */
const xrBlock: fc.Arbitrary<{ bytes: Uint8Array; dlrr: DlrrSubBlock[] }> = fc.oneof(
  fc.record({ seconds: u32, fraction: u32 }).map((ntp) => ({
    bytes: encodeXrRrtr({ senderSsrc: 0, ntp }).subarray(8),
    dlrr: [],
  })),
  fc.array(subBlock, { maxLength: 4 }).map((subBlocks) => ({
    bytes: encodeXrDlrr({ senderSsrc: 0, subBlocks }).subarray(8),
    dlrr: subBlocks,
  })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat(5)).filter(([type]) => type !== 5).map((
    [type, words],
  ) => {
    const bytes = new Uint8Array(4 + 4 * words).fill(0x5a);
    bytes.set([type, 0, 0, words]);
    return { bytes, dlrr: [] };
  }),
);

/** An RTCP packet: an XR of random blocks, or any other type with a random payload. */
const rtcpPacket: fc.Arbitrary<ModelPacket> = fc.oneof(
  fc.tuple(u32, fc.array(xrBlock, { maxLength: 4 }), fc.nat(3)).map(
    ([ssrc, blocks, padWords]) => {
      const body = blocks.reduce((n, b) => n + b.bytes.length, 0);
      const bytes = new Uint8Array(8 + body + 4 * padWords);
      bytes.set([padWords ? 0xa0 : 0x80, 207, 0, bytes.length / 4 - 1]);
      bytes[2] = (bytes.length / 4 - 1) >> 8;
      bytes[3] = (bytes.length / 4 - 1) & 0xff;
      bytes.set([ssrc >>> 24, (ssrc >>> 16) & 0xff, (ssrc >>> 8) & 0xff, ssrc & 0xff], 4);
      let at = 8;
      for (const block of blocks) {
        bytes.set(block.bytes, at);
        at += block.bytes.length;
      }
      if (padWords) bytes[bytes.length - 1] = 4 * padWords;
      const dlrr = blocks.flatMap((b) => b.dlrr.map((d): [number, DlrrSubBlock] => [ssrc, d]));
      return { bytes, dlrr };
    },
  ),
  fc.tuple(
    fc.constantFrom(200, 201, 202, 203, 204, 205, 206, 192, 223),
    fc.uint8Array({
      maxLength: 40,
    }),
  ).map(([type, payload]) => {
    const bytes = new Uint8Array(4 + 4 * Math.ceil(payload.length / 4));
    bytes.set([0x81, type, 0, bytes.length / 4 - 1]);
    bytes.set(payload, 4);
    return { bytes, dlrr: [] };
  }),
);

function concatPackets(packets: readonly ModelPacket[]): Uint8Array {
  const out = new Uint8Array(packets.reduce((n, p) => n + p.bytes.length, 0));
  let at = 0;
  for (const packet of packets) {
    out.set(packet.bytes, at);
    at += packet.bytes.length;
  }
  return out;
}

function readU32(bytes: Uint8Array, at: number): number {
  return bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}

Deno.test("DlrrReader never throws and yields exactly the DLRR sub-blocks of any compound", () => {
  const reader = new DlrrReader();
  let yielded = 0;
  let tried = 0;
  fc.assert(
    fc.property(fc.array(rtcpPacket, { minLength: 1, maxLength: 6 }), (packets) => {
      tried++;
      reader.reset(concatPackets(packets));
      const seen: [number, DlrrSubBlock][] = [];
      while (reader.next()) {
        seen.push([reader.senderSsrc, {
          ssrc: reader.ssrc,
          lastRr: reader.lastRr,
          delaySinceLastRr: reader.delaySinceLastRr,
        }]);
      }
      yielded += seen.length;
      assert.deepEqual(seen, packets.flatMap((p) => p.dlrr));
      assert.equal(reader.error, undefined);
      assert.equal(reader.packets, packets.length);
    }),
    params(5000),
  );
  console.log(`  ${tried} compounds, ${yielded} DLRR sub-blocks read back`);
});

Deno.test("DlrrReader never throws on arbitrary or damaged bytes and invents no sub-block", () => {
  const reader = new DlrrReader();
  let tried = 0;
  let yielded = 0;
  const damaged = fc.tuple(
    fc.array(rtcpPacket, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { maxLength: 3 }),
    fc.nat(400),
  ).map(([packets, changes, cut]) => {
    const bytes = concatPackets(packets);
    for (const [at, value] of changes) bytes[at % bytes.length] = value;
    return bytes.subarray(0, Math.max(0, bytes.length - (cut % 9)));
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), damaged), (bytes) => {
      tried++;
      reader.reset(bytes);
      let count = 0;
      while (reader.next()) {
        count++;
        assert.ok(count <= bytes.length / 12, "more sub-blocks than the bytes can hold");
        let found = false;
        for (let at = 0; at + 12 <= bytes.length && !found; at++) {
          found = readU32(bytes, at) === reader.ssrc &&
            readU32(bytes, at + 4) === reader.lastRr &&
            readU32(bytes, at + 8) === reader.delaySinceLastRr;
        }
        assert.ok(found, "a sub-block that is not in the bytes");
      }
      yielded += count;
      assert.ok(reader.packets <= bytes.length / 4);
    }),
    params(20_000),
  );
  console.log(`  ${tried} inputs, ${yielded} sub-blocks yielded, none invented`);
});

Deno.test("ReceiverRtt never yields a negative, absurd or wrong RTT on a noisy timeline", () => {
  const scenario = fc.record({
    seed: fc.integer(),
    exchanges: fc.integer({ min: 20, max: 400 }),
    baseRttMs: fc.double({ min: 0, max: 800, noNaN: true }),
    jump: fc.constantFrom(0, 0.01, 0.1), // probability that the path's RTT jumps
    loss: fc.constantFrom(0, 0.1, 0.5, 1), // probability that an answer is lost
    garbage: fc.constantFrom(0, 0.1, 0.5), // probability of a forged or corrupt sub-block
    late: fc.constantFrom(0, 0.05), // probability that an answer arrives once more, later
    maxRttMs: fc.constantFrom(500, 2000, 10_000),
  });
  let accepted = 0;
  let offered = 0;
  fc.assert(
    fc.property(scenario, (s) => {
      const random = mulberry32(s.seed);
      const ssrc = 0x0bad_cafe;
      const rtt = new ReceiverRtt(ssrc, { maxRttMs: s.maxRttMs });
      // The receiver's clock in ms since the NTP epoch; the sender's hold is measured on its own.
      let nowMs = 3.9e12 + random() * 1e9;
      let pathRttMs = s.baseRttMs;
      let genuine = false;
      const delayed: { block: DlrrSubBlock; atMs: number; expectMs: number }[] = [];
      const offer = (block: DlrrSubBlock, atMs: number, expectMs: number | undefined) => {
        offered++;
        const rounded = rtt.onDlrr(block, compactNtpFromMs(atMs));
        if (rounded === 0) return;
        assert.ok(Number.isInteger(rounded) && Math.abs(rounded - rtt.rttMs) <= 0.5 + 1e-9);
        const sample = rtt.lastSampleMs;
        accepted++;
        assert.ok(Number.isFinite(sample) && sample >= 1 && sample <= s.maxRttMs, `${sample}`);
        assert.ok(expectMs !== undefined, `a forged sub-block was taken as ${sample} ms`);
        // The compact NTP units round each of three terms by under 1/65536 s.
        assert.ok(Math.abs(sample - Math.max(1, expectMs)) < 0.05, `${sample} vs ${expectMs}`);
        genuine = true;
      };
      for (let i = 0; i < s.exchanges; i++) {
        nowMs += 250 + random() * 750;
        if (random() < s.jump) pathRttMs = random() < 0.5 ? random() * 20 : random() * 3000;
        const sentMs = nowMs;
        rtt.onRrtrSent(compactNtpFromMs(sentMs), sentMs);
        const holdMs = random() * 1500;
        const arrivalMs = sentMs + pathRttMs + holdMs;
        // The sender reports its hold in whole compact units, rounded down as libwebrtc's does.
        const block = {
          ssrc,
          lastRr: compactNtpFromMs(sentMs),
          delaySinceLastRr: Math.floor(holdMs * 65.536),
        };
        const expectMs = arrivalMs - sentMs - block.delaySinceLastRr / 65.536;
        // Within rounding of the bound either answer is right.
        const valid = expectMs <= s.maxRttMs + 0.05;
        if (random() >= s.loss) offer(block, arrivalMs, valid ? expectMs : undefined);
        if (random() < s.late) {
          const extraMs = random() * 3000;
          delayed.push({ block, atMs: arrivalMs + extraMs, expectMs: expectMs + extraMs });
        }
        while (delayed.length && delayed[0].atMs <= arrivalMs) {
          const d = delayed.shift()!;
          offer(d.block, d.atMs, d.expectMs <= s.maxRttMs + 0.05 ? d.expectMs : undefined);
        }
        if (random() < s.garbage) {
          // Corrupt: any SSRC, any LRR, any DLRR (a random LRR matches no RRTR sent).
          const forged = {
            ssrc: random() < 0.5 ? ssrc : Math.floor(random() * 2 ** 32),
            lastRr: random() < 0.1 ? 0 : Math.floor(random() * 2 ** 32),
            delaySinceLastRr: Math.floor(random() * 2 ** 32),
          };
          offer(forged, arrivalMs, undefined);
        }
        const smoothed = rtt.rttMs;
        if (!genuine) assert.equal(rtt.stats().rttMs, undefined, "an RTT before any answer");
        else assert.ok(smoothed >= 1 && smoothed <= s.maxRttMs, `smoothed ${smoothed}`);
      }
    }),
    params(500),
  );
  console.log(`  ${offered} sub-blocks offered, ${accepted} accepted, all within 0.05 ms`);
});
