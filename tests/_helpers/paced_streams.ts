/**
 * The host benchmarks' load as a trace: `streamCount` synthetic 4.75 Mbit/s streams (510 packets/s
 * each, one send clock), every stream's due packets taken every 2 ms, in that arrival order, with
 * each field in a column of its own so that a benchmark feeds them without allocating.
 *
 * @module
 */

import type { PacketInfo } from "../../core/types.ts";
import { SyntheticStream } from "./synthetic_stream.ts";

/** The packets' fields in arrival order, one column each. */
export interface PacedStreams {
  ssrc: Float64Array;
  arrivalMs: Float64Array;
  size: Float64Array;
  rtp: Float64Array;
  abs: Float64Array;
  /** Arrival of the first packet, ms. */
  firstMs: number;
}

/**
 * Generates the trace.
 *
 * @param streamCount Streams, SSRCs 0x1000 onwards.
 * @param lengthMs Length, ms.
 * @returns The columns.
 */
export function pacedStreams(streamCount: number, lengthMs: number): PacedStreams {
  const streams = Array.from(
    { length: streamCount },
    (_, i) => new SyntheticStream(4_752_000, 0x1000 + i),
  );
  const next: PacketInfo[] = streams.map(() => ({
    ssrc: 0,
    arrivalTimeMs: 0,
    payloadSize: 0,
    rtpTimestamp: 0,
  }));
  streams.forEach((stream, i) => stream.next(next[i]));
  const columns: number[][] = [[], [], [], [], []];
  const firstMs = Math.min(...next.map((p) => p.arrivalTimeMs));
  for (let tickMs = firstMs; tickMs < firstMs + lengthMs; tickMs += 2) {
    for (let i = 0; i < streamCount; i++) {
      const p = next[i];
      while (p.arrivalTimeMs <= tickMs) {
        columns[0].push(p.ssrc);
        columns[1].push(p.arrivalTimeMs);
        columns[2].push(p.payloadSize);
        columns[3].push(p.rtpTimestamp);
        columns[4].push(p.absSendTime!);
        streams[i].next(p);
      }
    }
  }
  const [ssrc, arrivalMs, size, rtp, abs] = columns.map((column) => Float64Array.from(column));
  return { ssrc, arrivalMs, size, rtp, abs, firstMs };
}
