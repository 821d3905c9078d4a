/**
 * From a captured frame to its UDP payload: the link layer (Ethernet with VLAN tags, Linux cooked
 * SLL and SLL2, raw IP, BSD loopback), IPv4 (RFC 791; options, fragments) and IPv6 (RFC 8200;
 * extension headers), then UDP (RFC 768).
 *
 * One {@linkcode Datagram} is decoded into again and again; a frame that carries no complete UDP
 * datagram yields the reason as a string-literal outcome instead of an exception.
 *
 * @module
 */

/** LINKTYPE_* values understood by {@linkcode decodeDatagram} (tcpdump.org/linktypes.html). */
export const LinkType = {
  /** BSD loopback: a 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  /** Ethernet II, with 802.1Q/802.1ad tags. */
  ETHERNET: 1,
  /** Raw IP, as DLT_RAW is numbered on some BSDs. */
  RAW_12: 12,
  /** Raw IP, as DLT_RAW is numbered on OpenBSD. */
  RAW_14: 14,
  /** Raw IP: the frame starts with an IPv4 or IPv6 header. */
  RAW: 101,
  /** OpenBSD loopback: a 4-byte address family in network byte order. */
  LOOP: 108,
  /** Linux cooked capture v1 (`tcpdump -i any`). */
  LINUX_SLL: 113,
  /** Raw IPv4. */
  IPV4: 228,
  /** Raw IPv6. */
  IPV6: 229,
  /** Linux cooked capture v2. */
  LINUX_SLL2: 276,
} as const;

const LINK_TYPE_NAMES: Record<number, string> = {
  0: "BSD loopback",
  1: "Ethernet",
  12: "raw IP",
  14: "raw IP",
  101: "raw IP",
  108: "OpenBSD loopback",
  113: "Linux cooked (SLL)",
  228: "raw IPv4",
  229: "raw IPv6",
  276: "Linux cooked v2 (SLL2)",
};

/**
 * Names a link type for reports.
 *
 * @param linkType A LINKTYPE_* value.
 * @returns Its name, with the number for unsupported ones.
 * @example
 * ```ts
 * import { linkTypeName } from "./datagram.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(linkTypeName(276), "Linux cooked v2 (SLL2)");
 * assert.equal(linkTypeName(105), "link type 105 (unsupported)");
 * ```
 */
export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? `link type ${linkType} (unsupported)`;
}

/**
 * What a frame turned out to be.
 *
 * - `"udp"`: a complete UDP datagram; its payload is `bytes[start, end)`.
 * - `"unsupported-link"`: a link type this decoder does not read.
 * - `"not-ip"`: the link layer carries something else (ARP, LLC, …).
 * - `"not-udp"`: IP carrying TCP, ICMP, ESP, …
 * - `"fragment"`: an IPv4 or IPv6 fragment; it cannot be decoded without reassembly.
 * - `"snapped"`: the frame was cut by the snapshot length before the end of the datagram.
 * - `"malformed"`: a length or header field that cannot be right.
 */
export type DatagramOutcome =
  | "udp"
  | "unsupported-link"
  | "not-ip"
  | "not-udp"
  | "fragment"
  | "snapped"
  | "malformed";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const PROTOCOL_UDP = 17;
/** BSD address families for IPv6: NetBSD/OpenBSD, FreeBSD, macOS. */
const AF_INET6 = [24, 28, 30];
const EMPTY = new Uint8Array(0);

/**
 * The decoded frame: where its UDP payload is and where it came from. Offsets index `bytes`, the
 * frame's buffer, which the capture reader reuses.
 */
export class Datagram {
  /** The frame's buffer. */
  bytes: Uint8Array = EMPTY;
  /** Start of the UDP payload (of the layer reached, when decoding stopped early). */
  start = 0;
  /** End of the UDP payload. */
  end = 0;
  /** 4 or 6; 0 before the IP layer was reached. */
  ipVersion = 0;
  /** Offset of the source address (4 or 16 bytes). */
  sourceOffset = 0;
  /** Offset of the destination address. */
  destinationOffset = 0;
  /** UDP source port. */
  sourcePort = 0;
  /** UDP destination port. */
  destinationPort = 0;
  /** Offset in `bytes` of the field that made decoding stop, for reports. */
  problemOffset = 0;

  /**
   * Formats the source as `address:port`, IPv6 in brackets.
   *
   * @returns For example `"192.0.2.1:5004"` or `"[2001:db8::1]:5004"`.
   */
  source(): string {
    return formatEndpoint(this.bytes, this.sourceOffset, this.ipVersion, this.sourcePort);
  }

  /**
   * Formats the destination as `address:port`.
   *
   * @returns For example `"192.0.2.2:5004"`.
   */
  destination(): string {
    return formatEndpoint(this.bytes, this.destinationOffset, this.ipVersion, this.destinationPort);
  }
}

/**
 * Decodes a captured frame down to its UDP payload.
 *
 * @param frame The frame: its buffer, where it starts, how many bytes were captured and the link
 * type (a {@linkcode CaptureRecord} fits).
 * @param datagram Receives the result.
 * @returns Whether the frame is a complete UDP datagram, or why not.
 * @example
 * ```ts
 * import { Datagram, decodeDatagram, LinkType } from "./datagram.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = Uint8Array.from([
 *   0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, // IPv4, DF, UDP
 *   0x13, 0x8c, 0x13, 0x8d, 0, 10, 0, 0, 0xab, 0xcd, // UDP 5004 → 5005, 2 bytes
 * ]);
 * const datagram = new Datagram();
 * const outcome = decodeDatagram(
 *   { bytes: frame, start: 0, capturedLength: frame.length, linkType: LinkType.RAW },
 *   datagram,
 * );
 * assert.equal(outcome, "udp");
 * assert.equal(datagram.source(), "192.0.2.1:5004");
 * assert.deepEqual([datagram.start, datagram.end], [28, 30]);
 * ```
 */
export function decodeDatagram(
  frame: { bytes: Uint8Array; start: number; capturedLength: number; linkType: number },
  datagram: Datagram,
): DatagramOutcome {
  const bytes = frame.bytes;
  const end = frame.start + frame.capturedLength;
  datagram.bytes = bytes;
  datagram.ipVersion = 0;
  datagram.start = frame.start;
  datagram.end = end;
  datagram.problemOffset = frame.start;
  let at = frame.start;
  let ipVersion = 0; // 0: read it from the first nibble.
  switch (frame.linkType) {
    case LinkType.ETHERNET: {
      if (end - at < 14) return snapped(datagram, at);
      let etherType = (bytes[at + 12] << 8) | bytes[at + 13];
      at += 14;
      while (
        etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ ||
        etherType === ETHERTYPE_QINQ_OLD
      ) {
        if (end - at < 4) return snapped(datagram, at);
        etherType = (bytes[at + 2] << 8) | bytes[at + 3];
        at += 4;
      }
      ipVersion = etherTypeToIp(etherType);
      if (ipVersion < 0) return stop(datagram, "not-ip", at - 2);
      break;
    }
    case LinkType.LINUX_SLL: {
      if (end - at < 16) return snapped(datagram, at);
      ipVersion = etherTypeToIp((bytes[at + 14] << 8) | bytes[at + 15]);
      if (ipVersion < 0) return stop(datagram, "not-ip", at + 14);
      at += 16;
      break;
    }
    case LinkType.LINUX_SLL2: {
      if (end - at < 20) return snapped(datagram, at);
      ipVersion = etherTypeToIp((bytes[at] << 8) | bytes[at + 1]);
      if (ipVersion < 0) return stop(datagram, "not-ip", at);
      at += 20;
      break;
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - at < 4) return snapped(datagram, at);
      const bigEndian = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
        bytes[at + 3]) >>> 0;
      const littleEndian = ((bytes[at + 3] << 24) | (bytes[at + 2] << 16) |
        (bytes[at + 1] << 8) | bytes[at]) >>> 0;
      // The family is small, so the byte order that gives a small number is the right one.
      const family = frame.linkType === LinkType.LOOP || bigEndian < 256 ? bigEndian : littleEndian;
      if (family === 2) ipVersion = 4;
      else if (AF_INET6.includes(family)) ipVersion = 6;
      else return stop(datagram, "not-ip", at);
      at += 4;
      break;
    }
    case LinkType.RAW:
    case LinkType.RAW_12:
    case LinkType.RAW_14:
      break;
    case LinkType.IPV4:
      ipVersion = 4;
      break;
    case LinkType.IPV6:
      ipVersion = 6;
      break;
    default:
      return stop(datagram, "unsupported-link", at);
  }
  if (end - at < 1) return snapped(datagram, at);
  const version = bytes[at] >>> 4;
  if (ipVersion === 0) ipVersion = version;
  if (version !== ipVersion || (version !== 4 && version !== 6)) {
    return stop(datagram, ipVersion === 4 || ipVersion === 6 ? "malformed" : "not-ip", at);
  }
  return version === 4
    ? decodeIpv4(bytes, at, end, datagram)
    : decodeIpv6(bytes, at, end, datagram);
}

function etherTypeToIp(etherType: number): number {
  return etherType === ETHERTYPE_IPV4 ? 4 : etherType === ETHERTYPE_IPV6 ? 6 : -1;
}

function decodeIpv4(
  bytes: Uint8Array,
  at: number,
  end: number,
  datagram: Datagram,
): DatagramOutcome {
  if (end - at < 20) return snapped(datagram, at);
  datagram.ipVersion = 4;
  const headerBytes = (bytes[at] & 0x0f) * 4;
  const totalLength = (bytes[at + 2] << 8) | bytes[at + 3];
  if (headerBytes < 20 || totalLength < headerBytes) return stop(datagram, "malformed", at);
  datagram.sourceOffset = at + 12;
  datagram.destinationOffset = at + 16;
  const flagsAndOffset = (bytes[at + 6] << 8) | bytes[at + 7];
  // More fragments, or a non-zero offset: a piece of a datagram.
  if ((flagsAndOffset & 0x2000) !== 0 || (flagsAndOffset & 0x1fff) !== 0) {
    return stop(datagram, "fragment", at + 6);
  }
  if (bytes[at + 9] !== PROTOCOL_UDP) return stop(datagram, "not-udp", at + 9);
  // Bound by the IP length: Ethernet pads short frames.
  const ipEnd = at + totalLength;
  if (ipEnd > end) return snapped(datagram, at + 2);
  return decodeUdp(bytes, at + headerBytes, ipEnd, datagram);
}

function decodeIpv6(
  bytes: Uint8Array,
  at: number,
  end: number,
  datagram: Datagram,
): DatagramOutcome {
  if (end - at < 40) return snapped(datagram, at);
  datagram.ipVersion = 6;
  datagram.sourceOffset = at + 8;
  datagram.destinationOffset = at + 24;
  const payloadLength = (bytes[at + 4] << 8) | bytes[at + 5];
  if (payloadLength === 0) return stop(datagram, "not-udp", at + 4); // Jumbogram (RFC 2675).
  const ipEnd = at + 40 + payloadLength;
  if (ipEnd > end) return snapped(datagram, at + 4);
  let next = bytes[at + 6];
  let nextOffset = at + 6;
  at += 40;
  for (;;) {
    switch (next) {
      case PROTOCOL_UDP:
        return decodeUdp(bytes, at, ipEnd, datagram);
      case 0: // Hop-by-hop options
      case 43: // Routing
      case 60: // Destination options
      case 135: // Mobility
      case 139: // HIP
      case 140: // Shim6
      case 51: { // Authentication header: length in 4-byte units, less 2.
        if (ipEnd - at < 8) return stop(datagram, "malformed", at);
        const length = next === 51 ? (bytes[at + 1] + 2) * 4 : (bytes[at + 1] + 1) * 8;
        if (at + length > ipEnd) return stop(datagram, "malformed", at + 1);
        next = bytes[at];
        nextOffset = at;
        at += length;
        break;
      }
      case 44: { // Fragment header; an atomic fragment (offset 0, no more) is a whole datagram.
        if (ipEnd - at < 8) return stop(datagram, "malformed", at);
        const offsetAndFlags = (bytes[at + 2] << 8) | bytes[at + 3];
        if ((offsetAndFlags & 0xfff9) !== 0) return stop(datagram, "fragment", at + 2);
        next = bytes[at];
        nextOffset = at;
        at += 8;
        break;
      }
      default:
        return stop(datagram, "not-udp", nextOffset);
    }
  }
}

function decodeUdp(
  bytes: Uint8Array,
  at: number,
  ipEnd: number,
  datagram: Datagram,
): DatagramOutcome {
  if (ipEnd - at < 8) return stop(datagram, "malformed", at);
  const length = (bytes[at + 4] << 8) | bytes[at + 5];
  if (length < 8 || at + length > ipEnd) return stop(datagram, "malformed", at + 4);
  datagram.sourcePort = (bytes[at] << 8) | bytes[at + 1];
  datagram.destinationPort = (bytes[at + 2] << 8) | bytes[at + 3];
  datagram.start = at + 8;
  datagram.end = at + length;
  return "udp";
}

function snapped(datagram: Datagram, at: number): DatagramOutcome {
  return stop(datagram, "snapped", at);
}

function stop(datagram: Datagram, outcome: DatagramOutcome, at: number): DatagramOutcome {
  datagram.problemOffset = at;
  return outcome;
}

function formatEndpoint(bytes: Uint8Array, at: number, version: number, port: number): string {
  if (version === 4) {
    return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}:${port}`;
  }
  if (version !== 6) return `?:${port}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]);
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = bestStart < 0
    ? hex.join(":")
    : `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
  return `[${text}]:${port}`;
}
