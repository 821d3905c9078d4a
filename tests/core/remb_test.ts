/**
 * Tests of the REMB codec against reference §11.4: the golden vector, truncation, and every way a
 * packet is rejected.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeRemb, encodeRemb, isRemb } from "../../core/remb.ts";

/** The test vector of reference §11.4 (libwebrtc's `remb_unittest.cc`). */
const GOLDEN = Uint8Array.from([
  0x8f,
  0xce,
  0x00,
  0x07,
  0x12,
  0x34,
  0x56,
  0x78,
  0x00,
  0x00,
  0x00,
  0x00,
  0x52,
  0x45,
  0x4d,
  0x42,
  0x03,
  0x07,
  0xfb,
  0x93,
  0x23,
  0x45,
  0x67,
  0x89,
  0x23,
  0x45,
  0x67,
  0x8a,
  0x23,
  0x45,
  0x67,
  0x8b,
]);
const GOLDEN_SSRCS = [0x23456789, 0x2345678a, 0x2345678b];

/** The golden vector with the bytes at `at` replaced. */
function patched(at: number, ...values: number[]): Uint8Array {
  const bytes = GOLDEN.slice();
  bytes.set(values, at);
  return bytes;
}

/** A REMB with the given exponent and mantissa and no SSRCs. */
function withBitrateField(exponent: number, mantissa: number): Uint8Array {
  const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: 0, ssrcs: [] });
  bytes[17] = (exponent << 2) | (mantissa >>> 16);
  bytes[18] = (mantissa >>> 8) & 0xff;
  bytes[19] = mantissa & 0xff;
  return bytes;
}

/** `bytes` with the padding bit set and `padding` bytes appended, the last holding `count`. */
function padded(bytes: Uint8Array, padding: number, count = padding): Uint8Array {
  const out = new Uint8Array(bytes.length + padding);
  out.set(bytes);
  out[0] |= 0x20;
  const words = out.length / 4 - 1;
  out[2] = words >>> 8;
  out[3] = words & 0xff;
  out[out.length - 1] = count;
  return out;
}

function roundTrip(bitrateBps: number): number {
  return decodeRemb(encodeRemb({ senderSsrc: 1, bitrateBps, ssrcs: [] })).bitrateBps;
}

Deno.test("encodeRemb() writes the golden vector", () => {
  const bytes = encodeRemb({ senderSsrc: 0x12345678, bitrateBps: 522022, ssrcs: GOLDEN_SSRCS });
  assert.deepEqual(bytes, GOLDEN);
});

Deno.test("decodeRemb() reads the golden vector", () => {
  assert.deepEqual(decodeRemb(GOLDEN), {
    senderSsrc: 0x12345678,
    mediaSsrc: 0,
    bitrateBps: 522022,
    ssrcs: GOLDEN_SSRCS,
  });
});

Deno.test("encodeRemb() and decodeRemb() round-trip", async (t) => {
  await t.step("0x3FB93 × 2^30 with the golden SSRCs", () => {
    const bitrateBps = 0x3fb93 * 2 ** 30;
    const bytes = encodeRemb({ senderSsrc: 0x12345678, bitrateBps, ssrcs: GOLDEN_SSRCS });
    assert.equal(bytes[17] >>> 2, 30);
    assert.deepEqual(decodeRemb(bytes), {
      senderSsrc: 0x12345678,
      mediaSsrc: 0,
      bitrateBps,
      ssrcs: GOLDEN_SSRCS,
    });
  });

  await t.step("no SSRCs at all", () => {
    const bytes = encodeRemb({ senderSsrc: 0x12345678, bitrateBps: 522022, ssrcs: [] });
    assert.equal(bytes.length, 20);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x8f, 0xce, 0x00, 0x04]);
    assert.equal(bytes[16], 0);
    assert.deepEqual(decodeRemb(bytes), {
      senderSsrc: 0x12345678,
      mediaSsrc: 0,
      bitrateBps: 522022,
      ssrcs: [],
    });
  });

  await t.step("255 SSRCs, the most the count byte holds", () => {
    const ssrcs = Array.from({ length: 255 }, (_, i) => 0xffffffff - i);
    const bytes = encodeRemb({ senderSsrc: 0xffffffff, bitrateBps: 1, ssrcs });
    assert.equal(bytes.length, 20 + 4 * 255);
    assert.deepEqual([...bytes.subarray(2, 4)], [0x01, 0x03]);
    assert.deepEqual(decodeRemb(bytes).ssrcs, ssrcs);
  });

  await t.step("a media SSRC given explicitly", () => {
    const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: 2, ssrcs: [3], mediaSsrc: 0xdeadbeef });
    assert.deepEqual([...bytes.subarray(8, 12)], [0xde, 0xad, 0xbe, 0xef]);
    assert.equal(decodeRemb(bytes).mediaSsrc, 0xdeadbeef);
  });

  await t.step("zero and the largest safe integer", () => {
    assert.equal(roundTrip(0), 0);
    const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: Number.MAX_SAFE_INTEGER, ssrcs: [] });
    assert.equal(bytes[17] >>> 2, 35);
    assert.equal(decodeRemb(bytes).bitrateBps, 0x3ffff * 2 ** 35);
  });
});

Deno.test("encodeRemb() truncates the bitrate to 18 significant bits", async (t) => {
  await t.step("0x3FFFF is the largest value sent exactly with exponent 0", () => {
    const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: 0x3ffff, ssrcs: [] });
    assert.deepEqual([...bytes.subarray(17, 20)], [0x03, 0xff, 0xff]);
  });

  await t.step("0x3FFFF + 1 needs exponent 1 and stays exact", () => {
    const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: 0x40000, ssrcs: [] });
    assert.deepEqual([...bytes.subarray(17, 20)], [0x06, 0x00, 0x00]);
    assert.equal(roundTrip(0x40000), 0x40000);
  });

  await t.step("odd values just above a power of two lose their low bits", () => {
    assert.equal(roundTrip(0x40001), 0x40000);
    assert.equal(roundTrip(0x7ffff), 0x7fffe);
    for (let k = 18; k <= 52; k++) {
      assert.equal(roundTrip(2 ** k + 1), 2 ** k, `2^${k} + 1`);
      assert.equal(roundTrip(2 ** k - 1), 2 ** k - 2 ** (k - 18), `2^${k} - 1`);
    }
  });

  await t.step("a value just below the golden one rounds down a step", () => {
    assert.equal(roundTrip(522023), 522022);
    assert.equal(roundTrip(522021), 522020);
  });
});

Deno.test("decodeRemb() of encodeRemb() stays within 2^-17 below the input", () => {
  // A deterministic generator, so a failure reproduces.
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let z = seed;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
  const check = (x: number) => {
    const bytes = encodeRemb({ senderSsrc: 1, bitrateBps: x, ssrcs: [] });
    const exponent = bytes[17] >>> 2;
    const mantissa = ((bytes[17] & 3) << 16) | (bytes[18] << 8) | bytes[19];
    // The encoding is canonical: a shift only happens while the value does not fit.
    if (exponent > 0) assert.ok(mantissa >= 0x20000, `${x}: mantissa ${mantissa}`);
    const y = decodeRemb(bytes).bitrateBps;
    assert.ok(y <= x, `${x} decoded as ${y}`);
    assert.ok(y >= x * (1 - 2 ** -17), `${x} decoded as ${y}`);
  };
  let checked = 0;
  for (let x = 0; x <= 0x50000; x++, checked++) check(x);
  for (let k = 19; k <= 52; k++) {
    for (let d = -300; d <= 300; d++, checked++) check(2 ** k + d);
  }
  for (let i = 0; i < 100_000; i++, checked++) {
    const magnitude = 2 ** (random() * 53);
    check(Math.min(Math.floor(magnitude * (1 + random())), Number.MAX_SAFE_INTEGER));
  }
  assert.ok(checked > 400_000);
});

Deno.test("encodeRemb() refuses what the wire cannot carry", async (t) => {
  await t.step("256 SSRCs", () => {
    const ssrcs = Array.from({ length: 256 }, (_, i) => i);
    assert.throws(() => encodeRemb({ senderSsrc: 1, bitrateBps: 1, ssrcs }), {
      name: "RangeError",
      message: "Cannot encode REMB as 'ssrcs' must hold at most 255 SSRCs: current length is 256",
    });
  });

  await t.step("a negative, fractional, non-finite or unsafe bitrate", () => {
    assert.throws(() => encodeRemb({ senderSsrc: 1, bitrateBps: -1, ssrcs: [] }), {
      name: "RangeError",
      message:
        "Cannot encode REMB as 'bitrateBps' must be a non-negative integer: current value is -1",
    });
    for (const bitrateBps of [0.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(
        () => encodeRemb({ senderSsrc: 1, bitrateBps, ssrcs: [] }),
        RangeError,
        String(bitrateBps),
      );
    }
  });

  await t.step("SSRCs outside 32 bits", () => {
    for (const bad of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      assert.throws(() => encodeRemb({ senderSsrc: bad, bitrateBps: 1, ssrcs: [] }), RangeError);
      assert.throws(
        () => encodeRemb({ senderSsrc: 1, mediaSsrc: bad, bitrateBps: 1, ssrcs: [] }),
        RangeError,
      );
      assert.throws(() => encodeRemb({ senderSsrc: 1, bitrateBps: 1, ssrcs: [1, bad] }), {
        name: "RangeError",
        message:
          `Cannot encode REMB as 'ssrcs[1]' must be a 32-bit unsigned integer: current value is ${bad}`,
      });
    }
  });

  await t.step("fields of the wrong type", () => {
    const bad = (value: unknown) => value as number;
    assert.throws(() => encodeRemb(null as never), TypeError);
    assert.throws(() => encodeRemb({ senderSsrc: bad("1"), bitrateBps: 1, ssrcs: [] }), {
      name: "TypeError",
      message: "Cannot encode REMB as 'senderSsrc' must be a number: current type is string",
    });
    assert.throws(
      () => encodeRemb({ senderSsrc: 1, bitrateBps: bad(1n), ssrcs: [] }),
      TypeError,
    );
    assert.throws(
      () => encodeRemb({ senderSsrc: 1, bitrateBps: 1, ssrcs: bad(new Uint32Array(1)) as never }),
      TypeError,
    );
    assert.throws(
      () => encodeRemb({ senderSsrc: 1, bitrateBps: 1, ssrcs: [bad(null)] }),
      TypeError,
    );
    assert.throws(
      () => encodeRemb({ senderSsrc: 1, mediaSsrc: bad(null), bitrateBps: 1, ssrcs: [] }),
      TypeError,
    );
  });
});

Deno.test("decodeRemb() rejects malformed packets", async (t) => {
  await t.step("a value that is not a Uint8Array", () => {
    for (const bad of [[...GOLDEN], GOLDEN.buffer, new DataView(GOLDEN.buffer), null, "REMB"]) {
      assert.throws(() => decodeRemb(bad as never), TypeError);
    }
  });

  await t.step("the golden vector cut short at every length", () => {
    for (let n = 0; n < GOLDEN.length; n++) {
      assert.throws(() => decodeRemb(GOLDEN.subarray(0, n)), RangeError, `length ${n}`);
    }
    assert.throws(() => decodeRemb(GOLDEN.subarray(0, 3)), /at least an RTCP header of 4 bytes/);
  });

  await t.step("cut short with a length field that agrees", () => {
    for (let words = 0; words < 4; words++) {
      const bytes = GOLDEN.slice(0, 4 + 4 * words);
      bytes[3] = words;
      assert.throws(() => decodeRemb(bytes), {
        name: "RangeError",
        message:
          `Cannot decode REMB as the payload must hold at least 16 bytes: current length is ${
            4 * words
          }`,
      });
    }
  });

  await t.step("a version other than 2", () => {
    for (const version of [0, 1, 3]) {
      assert.throws(() => decodeRemb(patched(0, (version << 6) | 15)), {
        name: "RangeError",
        message:
          `Cannot decode REMB as the RTCP version at byte 0 must be 2: current value is ${version}`,
      });
    }
  });

  await t.step("a packet type other than 206", () => {
    for (const pt of [200, 201, 205, 207]) {
      assert.throws(() => decodeRemb(patched(1, pt)), /packet type at byte 1 must be 206/);
    }
  });

  await t.step("a feedback format other than 15", () => {
    for (const fmt of [0, 1, 14, 31]) {
      assert.throws(() => decodeRemb(patched(0, 0x80 | fmt)), /feedback format at byte 0/);
    }
  });

  await t.step("a length field that does not span the buffer", () => {
    for (const words of [0, 4, 6, 8, 0xffff]) {
      assert.throws(
        () => decodeRemb(patched(2, words >>> 8, words & 0xff)),
        /length field at byte 2 must span the buffer of 32 bytes/,
      );
    }
    for (const extra of [1, 3, 4]) {
      const longer = new Uint8Array(GOLDEN.length + extra);
      longer.set(GOLDEN);
      assert.throws(() => decodeRemb(longer), RangeError);
    }
  });

  await t.step("a tag other than REMB", () => {
    for (let i = 12; i < 16; i++) {
      assert.throws(() => decodeRemb(patched(i, GOLDEN[i] ^ 0x20)), {
        name: "RangeError",
        message: /^Cannot decode REMB as the tag at byte 12 must be "REMB"/,
      });
    }
    assert.throws(() => decodeRemb(patched(12, 0x54, 0x4d, 0x4d, 0x42)), /current value is 54 4d/);
  });

  await t.step("an SSRC count that disagrees with the length", () => {
    for (const count of [0, 2, 4, 255]) {
      assert.throws(() => decodeRemb(patched(16, count)), {
        name: "RangeError",
        message: `Cannot decode REMB as the payload must be ${
          16 + 4 * count
        } bytes for the ${count} SSRCs counted at byte 16: current length is 28`,
      });
    }
  });

  await t.step("a bitrate of 2^63 or more", () => {
    assert.throws(() => decodeRemb(withBitrateField(63, 1)), {
      name: "RangeError",
      message:
        "Cannot decode REMB as the bitrate at byte 17 must be below 2^63 bps: current value is 1 × 2^63",
    });
    assert.throws(() => decodeRemb(withBitrateField(63, 2)), RangeError);
    assert.throws(() => decodeRemb(withBitrateField(63, 0x3ffff)), RangeError);
    assert.throws(() => decodeRemb(withBitrateField(56, 200)), RangeError);
    assert.throws(() => decodeRemb(withBitrateField(46, 0x20000)), RangeError);
  });

  await t.step("but not a large bitrate below 2^63", () => {
    assert.equal(decodeRemb(withBitrateField(63, 0)).bitrateBps, 0);
    assert.equal(decodeRemb(withBitrateField(62, 1)).bitrateBps, 2 ** 62);
    assert.equal(decodeRemb(withBitrateField(56, 127)).bitrateBps, 127 * 2 ** 56);
    assert.equal(decodeRemb(withBitrateField(46, 0x1ffff)).bitrateBps, 0x1ffff * 2 ** 46);
  });
});

Deno.test("decodeRemb() honours the padding bit", async (t) => {
  await t.step("padding after the SSRCs is skipped", () => {
    for (const padding of [4, 8, 12]) {
      assert.deepEqual(decodeRemb(padded(GOLDEN, padding)), decodeRemb(GOLDEN));
    }
  });

  await t.step("a padding count of zero is refused", () => {
    assert.throws(() => decodeRemb(padded(GOLDEN, 4, 0)), {
      name: "RangeError",
      message:
        "Cannot decode REMB as the padding count at byte 35 must be between 1 and the 32 payload bytes: current value is 0",
    });
  });

  await t.step("a padding count larger than the payload is refused", () => {
    assert.throws(() => decodeRemb(padded(GOLDEN, 4, 33)), /padding count at byte 35/);
  });

  await t.step("a padding bit on a bare header is refused", () => {
    assert.throws(() => decodeRemb(Uint8Array.from([0xaf, 206, 0, 0])), /padding count at byte 3/);
  });

  await t.step("padding that eats into the REMB payload is refused", () => {
    // A 12-byte count leaves 20 payload bytes for 3 SSRCs, which need 28.
    assert.throws(() => decodeRemb(padded(GOLDEN, 4, 12)), /payload must be 28 bytes/);
    // The whole payload as padding leaves nothing.
    assert.throws(() => decodeRemb(padded(GOLDEN, 4, 32)), /at least 16 bytes/);
  });
});

Deno.test("isRemb() finds a REMB in a compound packet", async (t) => {
  const receiverReport = Uint8Array.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
  const compound = new Uint8Array(receiverReport.length + GOLDEN.length);
  compound.set(receiverReport);
  compound.set(GOLDEN, receiverReport.length);

  await t.step("at its offset only", () => {
    assert.equal(isRemb(GOLDEN), true);
    assert.equal(isRemb(compound), false);
    assert.equal(isRemb(compound, 8), true);
    assert.deepEqual(decodeRemb(compound.subarray(8)), decodeRemb(GOLDEN));
  });

  await t.step("not when cut short, or when the length field runs past the buffer", () => {
    assert.equal(isRemb(GOLDEN.subarray(0, 19)), false);
    assert.equal(isRemb(compound, 9), false);
    assert.equal(isRemb(compound, compound.length), false);
    assert.equal(isRemb(GOLDEN.subarray(0, 28)), false);
    assert.equal(isRemb(patched(2, 0, 3)), false);
  });

  await t.step("not for another version, packet type, format or tag", () => {
    assert.equal(isRemb(patched(0, 0x4f)), false);
    assert.equal(isRemb(patched(1, 205)), false);
    assert.equal(isRemb(patched(0, 0x81)), false);
    assert.equal(isRemb(patched(15, 0x43)), false);
  });

  await t.step("yes with the padding bit set", () => {
    assert.equal(isRemb(padded(GOLDEN, 4)), true);
  });

  await t.step("refuses arguments of the wrong kind", () => {
    assert.throws(() => isRemb([...GOLDEN] as never), TypeError);
    assert.throws(() => isRemb(GOLDEN, -1), RangeError);
    assert.throws(() => isRemb(GOLDEN, 0.5), RangeError);
  });
});
