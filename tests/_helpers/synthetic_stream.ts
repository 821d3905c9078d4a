/**
 * A steady synthetic video stream for benchmarks and allocation checks: 30 fps, the frame split in
 * equal packets of at most 1200 bytes paced 1 ms apart, arriving 20 ms later with ±1 ms of
 * deterministic jitter. All state is integer, so the generator itself allocates nothing.
 *
 * @module
 */

import type { PacketInfo } from "../../core/types.ts";

/** Writes consecutive packets of one stream into a caller-owned {@linkcode PacketInfo}. */
export class SyntheticStream {
  readonly #packetsPerFrame: number;
  readonly #packetSize: number;
  #index = 0;

  /**
   * @param bitrateBps Media bitrate.
   * @param ssrc Stream SSRC.
   */
  constructor(bitrateBps: number, readonly ssrc = 0x1234_5678) {
    const frameBytes = Math.round(bitrateBps / 8 / 30);
    this.#packetsPerFrame = Math.ceil(frameBytes / 1200);
    this.#packetSize = Math.round(frameBytes / this.#packetsPerFrame);
  }

  /** Packets per frame. */
  get packetsPerFrame(): number {
    return this.#packetsPerFrame;
  }

  /**
   * Fills `packet` with the next packet.
   *
   * @param packet The object to fill.
   */
  next(packet: PacketInfo): void {
    const i = this.#index++;
    const frame = Math.floor(i / this.#packetsPerFrame);
    const slot = i - frame * this.#packetsPerFrame;
    const sendUs = Math.floor(frame * 1_000_000 / 30) + slot * 1000;
    const jitterUs = ((i * 7919) % 2001) - 1000;
    const arrivalUs = 100_000_000 + sendUs + 20_000 + jitterUs;
    packet.ssrc = this.ssrc;
    packet.arrivalTimeMs = arrivalUs / 1000;
    packet.payloadSize = this.#packetSize;
    packet.rtpTimestamp = (frame * 3000) >>> 0;
    // Within the 64 s wrap (1920 frames), so the arithmetic stays in small integers.
    const wrappedUs = Math.floor((frame % 1920) * 1_000_000 / 30) + slot * 1000;
    packet.absSendTime = Math.floor((wrappedUs * 262_144 + 500_000) / 1_000_000) & 0xffffff;
  }
}
