/**
 * Tests of the RTCP XR codec against RFC 3611 §4.4 and §4.5: golden bytes laid out by hand from the
 * RFC's figures, NTP conversions, and a DLRR reader that skips everything else in a compound packet
 * and stops at malformed bytes without throwing.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  compactNtp,
  compactNtpFromMs,
  compactNtpToMs,
  DlrrReader,
  encodeXrDlrr,
  encodeXrRrtr,
  NTP_UNIX_EPOCH_OFFSET_MS,
  ntpFromMs,
  type RtcpXrError,
} from "../../core/rtcp_xr.ts";
import { encodeRemb } from "../../core/remb.ts";

/** Bytes from hex pairs; spaces and line breaks are only for the reader. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: digits.length / 2 },
    (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16),
  );
}

/**
 * RFC 3611 §4.4: an XR packet (V=2, P=0, PT=207, length 4 words) from SSRC 0x11223344 with one
 * RRTR block (BT=4, block length 2) of NTP time 0x12345678.23456789.
 */
const GOLDEN_RRTR = hex(`
  80 cf 00 04  11 22 33 44
  04 00 00 02  12 34 56 78  23 45 67 89
`);

/**
 * RFC 3611 §4.5: an XR packet (length 8 words) from SSRC 0xaabbccdd with one DLRR block (BT=5,
 * block length 6) of two sub-blocks: SSRC 0x11223344 with LRR 0x56782345 and DLRR 0x00012000
 * (1.125 s), then SSRC 0x01020304 with LRR 0, "no RRTR received from it".
 */
const GOLDEN_DLRR = hex(`
  80 cf 00 08  aa bb cc dd
  05 00 00 06  11 22 33 44  56 78 23 45  00 01 20 00
               01 02 03 04  00 00 00 00  00 00 00 00
`);

/** A sender report of SSRC 0xaabbccdd without report blocks, as Chromium sends one. */
const SENDER_REPORT = hex(`
  80 c8 00 06  aa bb cc dd
  e9 00 00 00  10 00 00 00  00 00 10 00  00 00 00 64  00 01 00 00
`);

/**
 * A compound RTCP packet Chromium 156 sent a werift receiver during the closed-loop e2e test
 * (decrypted): a sender report without report blocks, an SDES CNAME, and an XR packet with one
 * DLRR sub-block answering the RRTR of SSRC 1 (LRR 0xab883edb, held 0x4995 = 287 ms).
 */
const CHROMIUM_SR_SDES_DLRR = hex(`
  80 c8 00 06  29 97 ac 33  ee bb ab 88  88 e5 4f 7a  1a de 5c be  00 00 00 a0  00 02 1e bd
  81 ca 00 06  29 97 ac 33  01 10 41 54  33 79 36 69  33 6b 65 43  55 51 36 4c  57 61 00 00
  80 cf 00 05  29 97 ac 33  05 00 00 03  00 00 00 01  ab 88 3e db  00 00 49 95
`);

/** An SDES packet with one CNAME chunk ("ab"), padded to a word. */
const SDES = hex("81 ca 00 02  aa bb cc dd  01 02 61 62");

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface Read {
  blocks: [number, number, number, number][];
  error: RtcpXrError | undefined;
  packets: number;
}

function readAll(bytes: Uint8Array, reader = new DlrrReader()): Read {
  reader.reset(bytes);
  const blocks: [number, number, number, number][] = [];
  while (reader.next()) {
    blocks.push([reader.senderSsrc, reader.ssrc, reader.lastRr, reader.delaySinceLastRr]);
  }
  return { blocks, error: reader.error, packets: reader.packets };
}

/** `bytes` with the bytes at `at` replaced. */
function patched(bytes: Uint8Array, at: number, ...values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, at);
  return out;
}

Deno.test("encodeXrRrtr() writes the golden RRTR packet", () => {
  const bytes = encodeXrRrtr({
    senderSsrc: 0x11223344,
    ntp: { seconds: 0x12345678, fraction: 0x23456789 },
  });
  assert.deepEqual(bytes, GOLDEN_RRTR);
});

Deno.test("encodeXrRrtr() rejects what is not an SSRC or an NTP time", () => {
  const ntp = { seconds: 1, fraction: 2 };
  assert.throws(() => encodeXrRrtr(null as never), TypeError);
  assert.throws(() => encodeXrRrtr({ senderSsrc: 1, ntp: null as never }), TypeError);
  assert.throws(() => encodeXrRrtr({ senderSsrc: "1" as never, ntp }), TypeError);
  assert.throws(() => encodeXrRrtr({ senderSsrc: -1, ntp }), {
    name: "RangeError",
    message:
      "Cannot encode RRTR as 'senderSsrc' must be a 32-bit unsigned integer: current value is -1",
  });
  assert.throws(() => encodeXrRrtr({ senderSsrc: 1, ntp: { seconds: 2 ** 32, fraction: 0 } }), {
    name: "RangeError",
    message: /'ntp.seconds' must be a 32-bit unsigned integer/,
  });
  assert.throws(() => encodeXrRrtr({ senderSsrc: 1, ntp: { seconds: 0, fraction: 0.5 } }), {
    name: "RangeError",
    message: /'ntp.fraction'/,
  });
});

Deno.test("encodeXrDlrr() writes the golden DLRR packet", () => {
  const bytes = encodeXrDlrr({
    senderSsrc: 0xaabbccdd,
    subBlocks: [
      { ssrc: 0x11223344, lastRr: 0x56782345, delaySinceLastRr: 0x00012000 },
      { ssrc: 0x01020304, lastRr: 0, delaySinceLastRr: 0 },
    ],
  });
  assert.deepEqual(bytes, GOLDEN_DLRR);
});

Deno.test("encodeXrDlrr() writes an empty block and rejects bad sub-blocks", () => {
  assert.deepEqual(
    [...encodeXrDlrr({ senderSsrc: 1, subBlocks: [] })],
    [0x80, 207, 0, 2, 0, 0, 0, 1, 5, 0, 0, 0],
  );
  assert.throws(() => encodeXrDlrr({ senderSsrc: 1, subBlocks: {} as never }), TypeError);
  assert.throws(() => encodeXrDlrr({ senderSsrc: 1, subBlocks: [null as never] }), TypeError);
  assert.throws(
    () =>
      encodeXrDlrr({ senderSsrc: 1, subBlocks: [{ ssrc: 1, lastRr: -1, delaySinceLastRr: 0 }] }),
    { name: "RangeError", message: /'subBlocks\[0\].lastRr'/ },
  );
  const tooMany = Array.from(
    { length: 21845 },
    () => ({ ssrc: 1, lastRr: 1, delaySinceLastRr: 1 }),
  );
  assert.throws(() => encodeXrDlrr({ senderSsrc: 1, subBlocks: tooMany }), {
    name: "RangeError",
    message: /at most 21844 sub-blocks: current length is 21845/,
  });
  const most = encodeXrDlrr({ senderSsrc: 1, subBlocks: tooMany.slice(1) });
  assert.equal((((most[2] << 8) | most[3]) + 1) * 4, most.length);
  assert.equal(readAll(most).blocks.length, 21844);
});

Deno.test("ntpFromMs() and compactNtp() follow RFC 3550 §4", async (t) => {
  await t.step("the Unix epoch is NTP second 2208988800 (0x83aa7e80)", () => {
    assert.deepEqual(ntpFromMs(NTP_UNIX_EPOCH_OFFSET_MS), { seconds: 0x83aa7e80, fraction: 0 });
  });

  await t.step("fractions of a second in 2^-32 s, rounded down", () => {
    assert.deepEqual(ntpFromMs(0.5), { seconds: 0, fraction: 2147483 }); // 0.0005 × 2^32
    assert.deepEqual(ntpFromMs(999.75), { seconds: 0, fraction: 4293893554 });
  });

  await t.step("seconds wrap at 2^32 (era 1 begins in 2036)", () => {
    assert.deepEqual(ntpFromMs(2 ** 32 * 1000 + 250), { seconds: 0, fraction: 0x40000000 });
  });

  await t.step("the compact form is the middle 32 bits", () => {
    assert.equal(compactNtp({ seconds: 0x12345678, fraction: 0x23456789 }), 0x56782345);
    assert.equal(compactNtp({ seconds: 0xffffffff, fraction: 0xffffffff }), 0xffffffff);
  });

  await t.step("compactNtpFromMs() agrees with compactNtp(ntpFromMs())", () => {
    const unixMs = Date.UTC(2026, 0, 1, 12, 0, 0, 123.456);
    for (const ms of [0, 0.001, 999.999, 65_535_999.99, unixMs + NTP_UNIX_EPOCH_OFFSET_MS]) {
      assert.equal(compactNtpFromMs(ms), compactNtp(ntpFromMs(ms)), `at ${ms} ms`);
    }
  });

  await t.step("compact units convert to ms", () => {
    assert.equal(compactNtpToMs(0x00012000), 1125);
  });

  await t.step("a time that is not one is refused", () => {
    for (const bad of [-1, NaN, Infinity]) {
      assert.throws(() => ntpFromMs(bad), RangeError);
      assert.throws(() => compactNtpFromMs(bad), {
        name: "RangeError",
        message:
          `Cannot convert to compact NTP as 'ntpMs' must be a finite non-negative number: current value is ${bad}`,
      });
    }
    assert.throws(() => ntpFromMs("1" as never), TypeError);
  });
});

Deno.test("DlrrReader reads the golden DLRR packet", () => {
  const read = readAll(GOLDEN_DLRR);
  assert.deepEqual(read.blocks, [
    [0xaabbccdd, 0x11223344, 0x56782345, 0x00012000],
    [0xaabbccdd, 0x01020304, 0, 0],
  ]);
  assert.equal(read.error, undefined);
  assert.equal(read.packets, 1);
});

Deno.test("DlrrReader reads Chromium's answer out of its SR + SDES + XR compound", () => {
  assert.deepEqual(readAll(CHROMIUM_SR_SDES_DLRR), {
    blocks: [[0x2997ac33, 1, 0xab883edb, 0x4995]],
    error: undefined,
    packets: 3,
  });
});

Deno.test("DlrrReader skips every other packet and block type of a compound", async (t) => {
  await t.step("sender report, SDES, XR with RRTR + DLRR + an unknown block, REMB", () => {
    const xr = concat(
      Uint8Array.of(0x80, 0xcf, 0, 11, 0xaa, 0xbb, 0xcc, 0xdd),
      GOLDEN_RRTR.subarray(8), // RRTR block (3 words)
      Uint8Array.of(5, 0, 0, 3), // DLRR block of one sub-block (4 words)
      GOLDEN_DLRR.subarray(12, 24),
      Uint8Array.of(42, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8), // an unknown block type (3 words)
    );
    const remb = encodeRemb({ senderSsrc: 0xaabbccdd, bitrateBps: 500_000, ssrcs: [1] });
    const read = readAll(concat(SENDER_REPORT, SDES, xr, remb));
    assert.deepEqual(read.blocks, [[0xaabbccdd, 0x11223344, 0x56782345, 0x00012000]]);
    assert.equal(read.error, undefined);
    assert.equal(read.packets, 4);
  });

  await t.step("two XR packets, each with its sender", () => {
    const other = encodeXrDlrr({
      senderSsrc: 7,
      subBlocks: [{ ssrc: 8, lastRr: 9, delaySinceLastRr: 10 }],
    });
    assert.deepEqual(readAll(concat(GOLDEN_DLRR, SDES, other)).blocks, [
      [0xaabbccdd, 0x11223344, 0x56782345, 0x00012000],
      [0xaabbccdd, 0x01020304, 0, 0],
      [7, 8, 9, 10],
    ]);
  });

  await t.step("an XR packet with only an RRTR yields nothing", () => {
    assert.deepEqual(readAll(GOLDEN_RRTR), { blocks: [], error: undefined, packets: 1 });
  });

  await t.step("an empty DLRR block yields nothing", () => {
    assert.deepEqual(readAll(encodeXrDlrr({ senderSsrc: 1, subBlocks: [] })).blocks, []);
  });

  await t.step("padding is honoured", () => {
    const padded = concat(GOLDEN_DLRR, Uint8Array.of(0, 0, 0, 4));
    padded[0] |= 0x20;
    padded[3] += 1;
    assert.deepEqual(readAll(padded).blocks, readAll(GOLDEN_DLRR).blocks);
    assert.equal(readAll(padded).error, undefined);
  });
});

Deno.test("DlrrReader stops at malformed bytes and names the problem", async (t) => {
  const cases: [string, Uint8Array, RtcpXrError, number][] = [
    ["3 bytes", Uint8Array.of(0x80, 0xcf, 0), "short-packet", 0],
    ["a length past the end", GOLDEN_DLRR.subarray(0, 32), "short-packet", 0],
    ["version 1", patched(GOLDEN_DLRR, 0, 0x40), "bad-version", 0],
    ["an RTP packet type", patched(GOLDEN_DLRR, 1, 96), "bad-packet-type", 0],
    ["an XR of one word", Uint8Array.of(0x80, 0xcf, 0, 0), "short-xr", 0],
    ["padding of 0", patched(GOLDEN_DLRR, 0, 0xa0, 0xcf), "bad-padding", 0],
    ["padding into the header", patched(GOLDEN_DLRR, 0, 0xa0), "bad-padding", 0],
    ["a block length past the packet", patched(GOLDEN_DLRR, 10, 0, 9), "short-block", 0],
    ["a DLRR length of 4 words", patched(GOLDEN_DLRR, 10, 0, 4), "bad-dlrr-length", 0],
  ];
  // Padding of 0 and padding into the header: the last byte is the count.
  cases[5][1][cases[5][1].length - 1] = 0;
  cases[6][1][cases[6][1].length - 1] = 33;
  for (const [name, bytes, error, blocks] of cases) {
    await t.step(name, () => {
      const read = readAll(bytes);
      assert.equal(read.error, error);
      assert.equal(read.blocks.length, blocks);
    });
  }

  await t.step("what precedes a malformed packet is still read", () => {
    const read = readAll(concat(GOLDEN_DLRR, Uint8Array.of(0x80, 0xc8, 0, 9)));
    assert.equal(read.blocks.length, 2);
    assert.equal(read.error, "short-packet");
  });

  await t.step("what follows a malformed XR block is still read", () => {
    const read = readAll(concat(patched(GOLDEN_DLRR, 10, 0, 4), GOLDEN_DLRR));
    assert.equal(read.blocks.length, 2);
    assert.equal(read.error, "bad-dlrr-length");
  });

  await t.step("a trailing partial block header", () => {
    const bytes = concat(GOLDEN_DLRR, Uint8Array.of(0, 0, 0, 0));
    bytes[3] += 1; // The packet now ends with 4 bytes that are not a block of its declared size.
    bytes[bytes.length - 1] = 9;
    const read = readAll(bytes);
    assert.equal(read.blocks.length, 2);
    assert.equal(read.error, "short-block");
  });

  await t.step("reset() clears the error, and a reader is reused", () => {
    const reader = new DlrrReader();
    assert.equal(readAll(Uint8Array.of(1), reader).error, "short-packet");
    assert.deepEqual(readAll(GOLDEN_DLRR, reader).error, undefined);
    assert.equal(reader.next(), false); // Past the end it stays there.
  });

  await t.step("anything but a Uint8Array is a TypeError", () => {
    assert.throws(() => new DlrrReader().reset([1, 2] as never), {
      name: "TypeError",
      message: "Cannot read RTCP as 'bytes' must be a Uint8Array: current type is object",
    });
  });
});
