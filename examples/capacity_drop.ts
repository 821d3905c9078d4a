/**
 * A sender, a bottleneck link and this module's estimator in a closed loop, in simulated time: the
 * link runs at 2 Mbit/s, drops to 1 Mbit/s at 20 s and recovers at 40 s. Prints, each second, the
 * link capacity, what the sender sends, the estimate and the REMB it would receive, and the queue.
 *
 * Run: `deno task example`.
 *
 * @module
 */

import { absSendTimeFromMicros, BandwidthEstimator, RembThrottler } from "../mod.ts";

const DURATION_S = 60;
const FPS = 30;
const MTU = 1200;
const START_BPS = 300_000;

function capacityBps(timeUs: number): number {
  const s = timeUs / 1e6;
  return s < 20 || s >= 40 ? 2_000_000 : 1_000_000;
}

// The sender encodes at its target and trusts REMB as a ceiling, as a browser does.
let targetBps = START_BPS;
let remb: number | undefined;
const throttler = new RembThrottler({
  onSend: (bps) => {
    remb = bps;
    targetBps = Math.max(50_000, Math.min(bps, 2_500_000));
  },
});
let nowUs = 0;
const estimator = new BandwidthEstimator({
  onEstimate: (bps, ssrcs) => throttler.onReceiveBitrateChanged(ssrcs, bps, nowUs / 1000),
});

// Link state: a FIFO drained at the capacity; one-way propagation 20 ms.
let linkFreeUs = 0;
let rtpTimestamp = 0;
const packet = { ssrc: 0x1234, arrivalTimeMs: 0, payloadSize: 0, rtpTimestamp: 0, absSendTime: 0 };
let sentBytes = 0;
let maxQueueMs = 0;

console.log("  t s | link kbps | send kbps | estimate kbps | REMB kbps | max queue ms");
for (let frame = 0; frame < DURATION_S * FPS; frame++) {
  const frameUs = Math.round(frame * 1e6 / FPS);
  const frameBytes = Math.round(targetBps / 8 / FPS * (frame % 300 === 0 ? 3 : 1));
  const packets = Math.ceil(frameBytes / MTU);
  for (let i = 0; i < packets; i++) {
    // Pace the frame's packets over 5 ms.
    const sendUs = frameUs + Math.round(i * 5000 / packets);
    const size = Math.min(MTU, frameBytes - i * MTU);
    const startUs = Math.max(sendUs, linkFreeUs);
    linkFreeUs = startUs + Math.round(size * 8 * 1e6 / capacityBps(startUs));
    const queueMs = (startUs - sendUs) / 1000;
    if (queueMs > 200) continue; // Drop-tail beyond 200 ms of queue.
    maxQueueMs = Math.max(maxQueueMs, queueMs);
    nowUs = linkFreeUs + 20_000;
    packet.arrivalTimeMs = nowUs / 1000;
    packet.payloadSize = size;
    packet.rtpTimestamp = rtpTimestamp;
    packet.absSendTime = absSendTimeFromMicros(sendUs);
    estimator.onPacket(packet);
    throttler.process(nowUs / 1000);
    sentBytes += size;
  }
  rtpTimestamp = (rtpTimestamp + 3000) >>> 0;
  if ((frame + 1) % FPS === 0) {
    const s = (frame + 1) / FPS;
    const row = [
      String(s).padStart(5),
      String(capacityBps(s * 1e6 - 1) / 1000).padStart(9),
      String(Math.round(sentBytes * 8 / 1000)).padStart(9),
      String(Math.round(estimator.getEstimate() / 1000)).padStart(13),
      String(remb === undefined ? "-" : Math.round(remb / 1000)).padStart(9),
      maxQueueMs.toFixed(1).padStart(12),
    ];
    console.log(row.join(" | "));
    sentBytes = 0;
    maxQueueMs = 0;
  }
}
