/**
 * Tests of the RTP header parser (RFC 3550 §5.1, RFC 8285) and the RTP/RTCP demultiplexing rule
 * (RFC 5761 §4): every field, both extension forms, padding, every rejection with its offset, and
 * property tests over arbitrary and generated packets.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { isRtcp, type RtpExtensionForm, RtpHeader } from "../../core/rtp_header.ts";
import { rtp, u24 } from "../_helpers/capture_bytes.ts";

Deno.test("RtpHeader.parse() reads every field of the fixed header", () => {
  const header = new RtpHeader();
  const packet = rtp({
    ssrc: 0xfedcba98,
    sequence: 0xffff,
    timestamp: 0xffffffff,
    payloadType: 127,
    marker: true,
    csrcs: [1, 0xffffffff],
    payloadSize: 5,
  });
  assert.ok(header.parse(packet));
  assert.equal(header.packet, packet);
  assert.equal(header.marker, true);
  assert.equal(header.payloadType, 127);
  assert.equal(header.sequenceNumber, 0xffff);
  assert.equal(header.timestamp, 0xffffffff);
  assert.equal(header.ssrc, 0xfedcba98);
  assert.equal(header.csrcCount, 2);
  assert.equal(header.csrc(0), 1);
  assert.equal(header.csrc(1), 0xffffffff);
  assert.equal(header.extensionForm, "none");
  assert.equal(header.payloadOffset, 20);
  assert.equal(header.payloadSize, 5);
  assert.equal(header.paddingSize, 0);
  assert.equal(header.error, undefined);
  assert.equal(header.errorMessage(), "");
  assert.throws(() => header.csrc(2), RangeError);
  assert.throws(() => header.csrc(-1), RangeError);
});

Deno.test("RtpHeader.parse() reads the one-byte extension form", async (t) => {
  const header = new RtpHeader();

  await t.step("elements, with padding between them", () => {
    // ID 1 (1 byte), a padding byte, ID 3 (3 bytes), ID 14 (16 bytes), then block padding.
    const elements = [0x10, 0x7f, 0x00, 0x32, 0x01, 0x02, 0x03, 0xef, ...new Array(16).fill(9)];
    const block = [0xbe, 0xde, 0x00, 0x07, ...elements, 0, 0, 0, 0];
    const packet = Uint8Array.from([0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, ...block, 0xaa]);
    assert.ok(header.parse(packet));
    assert.equal(header.extensionForm, "one-byte");
    assert.equal(header.extensionProfile, 0xbede);
    assert.equal(header.extensionOffset, 16);
    assert.equal(header.extensionLength, 28);
    assert.equal(header.payloadOffset, 44);
    assert.equal(header.payloadSize, 1);
    const seen: [number, number, number][] = [];
    while (header.nextExtension()) {
      seen.push([header.elementId, header.elementOffset, header.elementLength]);
    }
    assert.deepEqual(seen, [[1, 17, 1], [3, 20, 3], [14, 24, 16]]);
    assert.equal(header.readAbsSendTime(3), 0x010203);
    assert.equal(header.readAbsSendTime(1), -1); // Not 3 bytes long.
    assert.equal(header.readAbsSendTime(2), -1); // Absent.
    assert.ok(header.findExtension(14));
    assert.equal(header.elementLength, 16);
    assert.equal(header.findExtension(200), false); // Cannot exist in this form.
  });

  await t.step("ID 15 ends the walk", () => {
    const packet = rtp({ ssrc: 1, extensions: [[1, [5]], [15, [0]], [2, [6]]] });
    assert.ok(header.parse(packet));
    assert.ok(header.findExtension(1));
    assert.equal(header.findExtension(2), false);
  });

  await t.step("a padding byte with a non-zero length ends the walk", () => {
    const packet = rtp({ ssrc: 1, extensions: [[0, [0, 0]], [2, [6]]] });
    assert.ok(header.parse(packet));
    assert.equal(header.findExtension(2), false);
  });

  await t.step("an element that overruns its block ends the walk; the packet stays valid", () => {
    // One word: ID 1 (1 byte), then ID 2 claiming 4 bytes where 1 is left.
    const packet = Uint8Array.from([
      0x90,
      96,
      0,
      1,
      0,
      0,
      0,
      2,
      0,
      0,
      0,
      3,
      0xbe,
      0xde,
      0,
      1,
      0x10,
      0x01,
      0x23,
      0x00,
      0xaa,
    ]);
    assert.ok(header.parse(packet));
    assert.ok(header.findExtension(1));
    assert.equal(header.findExtension(2), false);
    assert.equal(header.payloadSize, 1);
  });
});

Deno.test("RtpHeader.parse() reads the two-byte extension form", () => {
  const header = new RtpHeader();
  for (const appBits of [0, 1, 0xf]) {
    const packet = rtp({
      ssrc: 7,
      twoByte: true,
      extensions: [[1, []], [3, u24(0xabcdef)], [255, new Array(20).fill(1)]],
    });
    packet[13] = appBits; // The low 4 bits of the profile 0x100X.
    assert.ok(header.parse(packet));
    assert.equal(header.extensionForm, "two-byte");
    assert.equal(header.extensionProfile, 0x1000 | appBits);
    assert.ok(header.findExtension(1));
    assert.equal(header.elementLength, 0);
    assert.equal(header.readAbsSendTime(3), 0xabcdef);
    assert.ok(header.findExtension(255));
    assert.equal(header.elementLength, 20);
  }
});

Deno.test("RtpHeader.parse() leaves an extension of another profile opaque", () => {
  const header = new RtpHeader();
  const packet = rtp({ ssrc: 7, extensions: [[3, u24(1)]] });
  packet[12] = 0x12; // Profile 0x12de
  assert.ok(header.parse(packet));
  assert.equal(header.extensionForm, "other");
  assert.equal(header.extensionProfile, 0x12de);
  assert.equal(header.extensionLength, 4);
  assert.equal(header.findExtension(3), false);
  assert.equal(header.nextExtension(), false);
});

Deno.test("RtpHeader.parse() counts padding into the payload size", () => {
  const header = new RtpHeader();
  assert.ok(header.parse(rtp({ ssrc: 1, payloadSize: 100, paddingSize: 7 })));
  assert.equal(header.paddingSize, 7);
  assert.equal(header.payloadSize, 107);
  // Padding-only: the whole payload is padding.
  assert.ok(header.parse(rtp({ ssrc: 1, payloadSize: 0, paddingSize: 255 })));
  assert.equal(header.payloadSize, 255);
});

Deno.test("RtpHeader.parse() rejects malformed packets with the offset of the fault", async (t) => {
  const header = new RtpHeader();
  const cases: [string, Uint8Array, string, number, RegExp][] = [
    ["too short", new Uint8Array(11), "short-packet", 0, /12-byte fixed header at offset 0/],
    ["version 1", Uint8Array.from([0x40, ...new Array(11).fill(0)]), "bad-version", 0, /is 1$/],
    [
      "CSRCs past the end",
      rtp({ ssrc: 1, csrcs: [1, 2, 3], payloadSize: 0 }).subarray(0, 20),
      "short-csrc-list",
      12,
      /3 CSRCs at offset 12/,
    ],
    [
      "extension header past the end",
      rtp({ ssrc: 1, extensions: [[1, [1]]], payloadSize: 0 }).subarray(0, 14),
      "short-extension-header",
      12,
      /extension header at offset 12/,
    ],
    [
      "extension block past the end",
      rtp({ ssrc: 1, extensions: [[1, [1, 2, 3, 4, 5, 6]]], payloadSize: 0 }).subarray(0, 20),
      "short-extension",
      12,
      /extension block at offset 12 \(12 bytes\)/,
    ],
    [
      "zero padding count",
      (() => {
        const p = rtp({ ssrc: 1, payloadSize: 4 });
        p[0] |= 0x20;
        p[p.length - 1] = 0;
        return p;
      })(),
      "bad-padding",
      15,
      /padding count at offset 15 must be in \[1, 4\]: current value is 0/,
    ],
    [
      "padding longer than the payload",
      (() => {
        const p = rtp({ ssrc: 1, payloadSize: 4 });
        p[0] |= 0x20;
        p[p.length - 1] = 5;
        return p;
      })(),
      "bad-padding",
      15,
      /current value is 5/,
    ],
    [
      "padding bit on a header-only packet",
      Uint8Array.from([0xa0, 96, ...new Array(10).fill(0)]),
      "bad-padding",
      11,
      /must be in \[1, 0\]/,
    ],
  ];
  for (const [name, packet, error, offset, message] of cases) {
    await t.step(name, () => {
      assert.equal(header.parse(packet), false);
      assert.equal(header.error, error);
      assert.equal(header.errorOffset, offset);
      assert.match(header.errorMessage(), /^Cannot parse RTP header as /);
      assert.match(header.errorMessage(), message);
      // A rejected packet has no extension to look up.
      assert.equal(header.nextExtension(), false);
    });
  }
});

Deno.test("RtpHeader is reusable: a rejected packet leaves nothing behind", () => {
  const header = new RtpHeader();
  assert.ok(header.parse(rtp({ ssrc: 5, extensions: [[3, u24(42)]] })));
  assert.equal(header.parse(new Uint8Array(3)), false);
  assert.equal(header.readAbsSendTime(3), -1);
  assert.ok(header.parse(rtp({ ssrc: 6 })));
  assert.equal(header.ssrc, 6);
  assert.equal(header.error, undefined);
  assert.equal(header.readAbsSendTime(3), -1);
});

Deno.test("RtpHeader rejects wrong argument types with TypeError and bad IDs with RangeError", () => {
  const header = new RtpHeader();
  assert.throws(() => header.parse([0x80] as unknown as Uint8Array), TypeError);
  header.parse(rtp({ ssrc: 1 }));
  for (const id of [0, 256, 1.5, NaN]) {
    assert.throws(() => header.findExtension(id), RangeError);
    assert.throws(() => header.readAbsSendTime(id), RangeError);
  }
});

Deno.test("isRtcp() tells RTCP packet types 192–223 from RTP (RFC 5761)", () => {
  const packet = (first: number, second: number) => Uint8Array.of(first, second, 0, 1);
  assert.equal(isRtcp(packet(0x80, 191)), false); // RTP: marker + PT 63.
  assert.equal(isRtcp(packet(0x80, 192)), true); // FIR, the lowest RTCP type in range.
  assert.equal(isRtcp(packet(0x80, 200)), true); // SR
  assert.equal(isRtcp(packet(0x8f, 206)), true); // PSFB (REMB)
  assert.equal(isRtcp(packet(0x80, 223)), true);
  assert.equal(isRtcp(packet(0x80, 224)), false); // RTP: marker + PT 96.
  assert.equal(isRtcp(packet(0x40, 200)), false); // Version 1.
  assert.equal(isRtcp(Uint8Array.of(0x80, 200, 0)), false); // No full common header.
  assert.throws(() => isRtcp("x" as unknown as Uint8Array), TypeError);
});

Deno.test("RtpHeader.parse() never throws and never reports out-of-range values (property)", () => {
  const header = new RtpHeader();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 255 }),
      (bytes, forceRtp, id) => {
        if (forceRtp && bytes.length > 0) bytes[0] = 0x80 | (bytes[0] & 0x3f);
        const ok = header.parse(bytes);
        if (!ok) {
          assert.notEqual(header.error, undefined);
          assert.ok(header.errorOffset >= 0 && header.errorOffset <= bytes.length);
          assert.match(header.errorMessage(), /offset \d+/);
          return;
        }
        assert.equal(header.payloadOffset + header.payloadSize, bytes.length);
        assert.ok(header.paddingSize <= header.payloadSize);
        assert.ok(header.ssrc >= 0 && header.ssrc <= 0xffffffff);
        assert.ok(header.timestamp >= 0 && header.timestamp <= 0xffffffff);
        const end = header.extensionOffset + header.extensionLength;
        while (header.nextExtension()) {
          assert.ok(header.elementOffset >= header.extensionOffset);
          assert.ok(header.elementOffset + header.elementLength <= end);
          assert.ok(header.elementId >= 1 && header.elementId <= 255);
        }
        const value = header.readAbsSendTime(id);
        assert.ok(Number.isInteger(value) && value >= -1 && value <= 0xffffff);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("RtpHeader.parse() reads back what was written (property)", () => {
  const header = new RtpHeader();
  const element = (maxId: number, maxLength: number, minLength: number) =>
    fc.tuple(
      fc.integer({ min: 1, max: maxId }),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength, maxLength }),
    );
  fc.assert(
    fc.property(
      fc.record({
        ssrc: fc.integer({ min: 0, max: 0xffffffff }),
        sequence: fc.integer({ min: 0, max: 0xffff }),
        timestamp: fc.integer({ min: 0, max: 0xffffffff }),
        payloadType: fc.integer({ min: 0, max: 127 }),
        marker: fc.boolean(),
        csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
        twoByte: fc.boolean(),
        payloadSize: fc.integer({ min: 0, max: 300 }),
        paddingSize: fc.integer({ min: 0, max: 255 }),
      }),
      fc.array(element(14, 16, 1), { maxLength: 6 }),
      fc.array(element(255, 40, 0), { maxLength: 6 }),
      (fields, oneByteElements, twoByteElements) => {
        const chosen = fields.twoByte ? twoByteElements : oneByteElements;
        // Unique IDs, so each lookup has one answer.
        const extensions = chosen.filter(([id], i) => chosen.findIndex(([j]) => j === id) === i);
        const packet = rtp({ ...fields, extensions });
        assert.ok(header.parse(packet), header.errorMessage());
        assert.equal(header.ssrc, fields.ssrc);
        assert.equal(header.sequenceNumber, fields.sequence);
        assert.equal(header.timestamp, fields.timestamp);
        assert.equal(header.payloadType, fields.payloadType);
        assert.equal(header.marker, fields.marker);
        assert.equal(header.csrcCount, fields.csrcs.length);
        fields.csrcs.forEach((csrc, i) => assert.equal(header.csrc(i), csrc));
        const form: RtpExtensionForm = fields.twoByte ? "two-byte" : "one-byte";
        assert.equal(header.extensionForm, form);
        assert.equal(header.paddingSize, fields.paddingSize);
        assert.equal(header.payloadSize, fields.payloadSize + fields.paddingSize);
        for (const [id, data] of extensions) {
          assert.ok(header.findExtension(id));
          assert.deepEqual(
            [...packet.subarray(header.elementOffset, header.elementOffset + header.elementLength)],
            data,
          );
          const expected = data.length === 3 ? (data[0] << 16) | (data[1] << 8) | data[2] : -1;
          assert.equal(header.readAbsSendTime(id), expected);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
