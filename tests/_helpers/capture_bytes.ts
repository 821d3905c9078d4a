/**
 * Capture files built byte by byte for the replay tests, independently of the tool's own writer:
 * pcap in both byte orders and resolutions, pcapng sections with several interfaces, every link
 * layer the replay reads, IPv4 (options, fragments), IPv6 (extension headers), UDP, RTP and RTCP.
 *
 * @module
 */

/** Appends integers in a chosen byte order. */
export class Bytes {
  readonly #bytes: number[] = [];

  constructor(readonly littleEndian = false) {}

  /** Appends raw bytes. */
  raw(...values: (number | Uint8Array | number[])[]): this {
    for (const value of values) {
      if (typeof value === "number") this.#bytes.push(value & 0xff);
      else this.#bytes.push(...value);
    }
    return this;
  }

  /** Appends a 16-bit integer. */
  u16(value: number): this {
    const b = [(value >>> 8) & 0xff, value & 0xff];
    return this.raw(this.littleEndian ? b.reverse() : b);
  }

  /** Appends a 32-bit integer. */
  u32(value: number): this {
    const b = [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
    return this.raw(this.littleEndian ? b.reverse() : b);
  }

  /** Appends zero bytes until the length is a multiple of 4. */
  pad4(): this {
    while (this.#bytes.length % 4 !== 0) this.#bytes.push(0);
    return this;
  }

  get length(): number {
    return this.#bytes.length;
  }

  /** The bytes so far. */
  done(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Concatenates buffers. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Fields of {@linkcode rtp}. */
export interface RtpFields {
  ssrc: number;
  sequence?: number;
  timestamp?: number;
  payloadType?: number;
  marker?: boolean;
  /** One-byte form elements: [id, data]. */
  extensions?: [number, number[]][];
  /** Use the two-byte form (profile 0x1000). */
  twoByte?: boolean;
  payloadSize?: number;
  paddingSize?: number;
  csrcs?: number[];
}

/** An RTP packet. */
export function rtp(fields: RtpFields): Uint8Array {
  const csrcs = fields.csrcs ?? [];
  const extensions = fields.extensions;
  const padding = fields.paddingSize ?? 0;
  const b = new Bytes()
    .raw(0x80 | (padding > 0 ? 0x20 : 0) | (extensions ? 0x10 : 0) | csrcs.length)
    .raw((fields.marker ? 0x80 : 0) | (fields.payloadType ?? 96))
    .u16(fields.sequence ?? 0)
    .u32(fields.timestamp ?? 0)
    .u32(fields.ssrc);
  for (const csrc of csrcs) b.u32(csrc);
  if (extensions) {
    const elements = new Bytes();
    for (const [id, data] of extensions) {
      if (fields.twoByte) elements.raw(id, data.length, data);
      else elements.raw((id << 4) | (data.length - 1), data);
    }
    elements.pad4();
    b.u16(fields.twoByte ? 0x1000 : 0xbede).u16(elements.length / 4).raw(elements.done());
  }
  for (let i = 0; i < (fields.payloadSize ?? 10); i++) b.raw(0xa5);
  for (let i = 1; i < padding; i++) b.raw(0);
  if (padding > 0) b.raw(padding);
  return b.done();
}

/** A 3-byte big-endian value. */
export function u24(value: number): number[] {
  return [(value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** A UDP header and payload. */
export function udp(sourcePort: number, destinationPort: number, payload: Uint8Array): Uint8Array {
  return new Bytes().u16(sourcePort).u16(destinationPort).u16(8 + payload.length).u16(0)
    .raw(payload).done();
}

/** Fields of {@linkcode ipv4}. */
export interface Ipv4Fields {
  source?: number[];
  destination?: number[];
  protocol?: number;
  /** Option bytes (a multiple of 4). */
  options?: number[];
  moreFragments?: boolean;
  /** Fragment offset in 8-byte units. */
  fragmentOffset?: number;
}

/** An IPv4 packet around `payload`. */
export function ipv4(payload: Uint8Array, fields: Ipv4Fields = {}): Uint8Array {
  const options = fields.options ?? [];
  const headerBytes = 20 + options.length;
  return new Bytes()
    .raw(0x40 | (headerBytes / 4), 0)
    .u16(headerBytes + payload.length)
    .u16(0x1234)
    .u16((fields.moreFragments ? 0x2000 : 0) | (fields.fragmentOffset ?? 0))
    .raw(64, fields.protocol ?? 17)
    .u16(0)
    .raw(fields.source ?? [10, 0, 0, 1], fields.destination ?? [10, 0, 0, 2], options)
    .raw(payload)
    .done();
}

/** An IPv6 extension header: [next-header value of this header, its bytes after next/length]. */
export type Ipv6Extension =
  | { type: "hop-by-hop" | "destination"; length8: number }
  | { type: "fragment"; offset: number; more: boolean };

/** An IPv6 packet around a UDP `payload`, through the given extension headers. */
export function ipv6(payload: Uint8Array, extensions: Ipv6Extension[] = []): Uint8Array {
  const codes = extensions.map((e) =>
    e.type === "hop-by-hop" ? 0 : e.type === "destination" ? 60 : 44
  );
  const chain = new Bytes();
  extensions.forEach((e, i) => {
    const next = i + 1 < codes.length ? codes[i + 1] : 17;
    if (e.type === "fragment") {
      chain.raw(next, 0).u16((e.offset << 3) | (e.more ? 1 : 0)).u32(0xabcd);
    } else {
      chain.raw(next, e.length8);
      for (let j = 0; j < 6 + 8 * e.length8; j++) chain.raw(j === 0 ? 1 : 0); // PadN option.
    }
  });
  const body = concat(chain.done(), payload);
  const source = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
  const destination = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2];
  return new Bytes()
    .raw(0x60, 0, 0, 0)
    .u16(body.length)
    .raw(codes[0] ?? 17, 64, source, destination)
    .raw(body)
    .done();
}

/** An Ethernet II frame, with optional 802.1Q / 802.1ad tags, and padding to 60 bytes. */
export function ethernet(packet: Uint8Array, etherType: number, tags: number[] = []): Uint8Array {
  const b = new Bytes().raw([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]);
  for (const tpid of tags) b.u16(tpid).u16(100);
  b.u16(etherType).raw(packet);
  while (b.length < 60) b.raw(0);
  return b.done();
}

/** A Linux cooked (SLL) frame. */
export function sll(packet: Uint8Array, protocol: number): Uint8Array {
  return new Bytes().u16(0).u16(1).u16(6).raw([2, 0, 0, 0, 0, 1, 0, 0]).u16(protocol)
    .raw(packet).done();
}

/** A Linux cooked v2 (SLL2) frame. */
export function sll2(packet: Uint8Array, protocol: number): Uint8Array {
  return new Bytes().u16(protocol).u16(0).u32(3).u16(1).raw(0, 6)
    .raw([2, 0, 0, 0, 0, 1, 0, 0]).raw(packet).done();
}

/** A BSD loopback frame: the 4-byte address family in the given byte order. */
export function loopback(packet: Uint8Array, family: number, littleEndian: boolean): Uint8Array {
  return new Bytes(littleEndian).u32(family).raw(packet).done();
}

/** One record of {@linkcode pcap}. */
export interface PcapRecord {
  seconds: number;
  /** Microseconds or nanoseconds, per the file. */
  fraction: number;
  frame: Uint8Array;
  /** Captured length to declare, when it should differ from the frame's. */
  declaredLength?: number;
}

/** A classic pcap file. */
export function pcap(
  records: PcapRecord[],
  options: { littleEndian?: boolean; nanoseconds?: boolean; linkType?: number } = {},
): Uint8Array {
  const b = new Bytes(options.littleEndian ?? true)
    .u32(options.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(262_144)
    .u32(options.linkType ?? 1);
  for (const record of records) {
    b.u32(record.seconds).u32(record.fraction).u32(record.declaredLength ?? record.frame.length)
      .u32(record.frame.length).raw(record.frame);
  }
  return b.done();
}

/** A pcapng block: type, total length, body padded to 4, total length again. */
export function pcapngBlock(type: number, body: Uint8Array, littleEndian: boolean): Uint8Array {
  const padded = new Bytes(littleEndian).raw(body).pad4().done();
  const length = 12 + padded.length;
  return new Bytes(littleEndian).u32(type).u32(length).raw(padded).u32(length).done();
}

/** A pcapng option: code, length, value padded to 4. */
export function pcapngOption(code: number, value: number[], littleEndian: boolean): Uint8Array {
  return new Bytes(littleEndian).u16(code).u16(value.length).raw(value).pad4().done();
}

/** A section header block. */
export function shb(littleEndian: boolean): Uint8Array {
  const body = new Bytes(littleEndian).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff)
    .u32(0xffffffff).done();
  return pcapngBlock(0x0a0d0d0a, body, littleEndian);
}

/** An interface description block. */
export function idb(
  linkType: number,
  littleEndian: boolean,
  options: { tsresol?: number; tsoffset?: number; name?: string } = {},
): Uint8Array {
  const b = new Bytes(littleEndian).u16(linkType).u16(0).u32(65535);
  if (options.name !== undefined) {
    b.raw(pcapngOption(2, [...new TextEncoder().encode(options.name)], littleEndian));
  }
  if (options.tsresol !== undefined) b.raw(pcapngOption(9, [options.tsresol], littleEndian));
  if (options.tsoffset !== undefined) {
    const high = Math.floor(options.tsoffset / 2 ** 32);
    const low = options.tsoffset >>> 0;
    const value = new Bytes(littleEndian);
    if (littleEndian) value.u32(low).u32(high);
    else value.u32(high).u32(low);
    b.raw(pcapngOption(14, [...value.done()], littleEndian));
  }
  if (
    options.name !== undefined || options.tsresol !== undefined || options.tsoffset !== undefined
  ) {
    b.u16(0).u16(0); // opt_endofopt
  }
  return pcapngBlock(1, b.done(), littleEndian);
}

/** An enhanced packet block; `timestamp` in the interface's units, as a bigint. */
export function epb(
  interfaceId: number,
  timestamp: bigint,
  frame: Uint8Array,
  littleEndian: boolean,
): Uint8Array {
  const body = new Bytes(littleEndian).u32(interfaceId).u32(Number(timestamp >> 32n))
    .u32(Number(timestamp & 0xffffffffn)).u32(frame.length).u32(frame.length).raw(frame).done();
  return pcapngBlock(6, body, littleEndian);
}
