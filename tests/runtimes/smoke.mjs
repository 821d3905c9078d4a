/**
 * Smoke test of the bundled package on Node.js and Bun (plain JavaScript, no Deno API): a generated
 * abs-send-time stream through a bottleneck of 1 Mbit/s for 20 s, then 500 kbit/s for 10 s, whose
 * sender follows what the receiver tells it, through `BandwidthEstimator`, an inline `Coordinator`
 * and an `EstimatorInterceptor` fed hand-built RTP bytes; with `--werift`, the werift adapter with
 * the werift that `node_modules` holds. Finally an inline coordinator and an interceptor are left
 * open: the process must still exit on its own, as their timers are unreffed.
 *
 * Run by tools/runtimes_smoke.sh: `node tests/runtimes/smoke.mjs <bundle dir> [--werift]`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

const [dir, ...flags] = process.argv.slice(2);
if (!dir) throw new Error("Usage: smoke.mjs <bundle dir> [--werift]");
const runtime = globalThis.Bun ? `Bun ${globalThis.Bun.version}` : `Node.js ${process.version}`;
const bundle = (file) => pathToFileURL(resolve(dir, file)).href;

const {
  ABS_SEND_TIME_URI,
  BandwidthEstimator,
  Coordinator,
  decodeRemb,
  encodeRemb,
  EstimatorInterceptor,
  OffThreadCoordinator,
} = await import(bundle("mod.js"));

const SSRC = 0x1234abcd;
const FPS = 30;
const DURATION_US = 30_000_000;
const DROP_AT_US = 20_000_000;
const MAX_PACKET_BYTES = 1200;
const PROPAGATION_US = 20_000;

/**
 * A sender at 30 fps whose rate follows the receiver, through a bottleneck queue: each packet
 * leaves the link one transmission time after it arrived there or after the packet before it,
 * whichever is later.
 *
 * @param {object} receiver `onPacket(packet, arrivalUs)`, called per packet; `afterFrame(nowUs)`,
 *   called after each frame (may return a promise); `rateBps()`, what the sender should send now.
 * @returns {Promise<{ estimates: [number, number][] }>}
 */
async function closedLoop(receiver) {
  let linkFreeUs = 0;
  let sequence = 0;
  const frames = Math.round((DURATION_US / 1e6) * FPS);
  for (let frame = 0; frame < frames; frame++) {
    const frameUs = Math.round((frame * 1e6) / FPS);
    const capacityBps = frameUs < DROP_AT_US ? 1_000_000 : 500_000;
    const frameBytes = Math.max(200, Math.round(receiver.rateBps() / 8 / FPS));
    const count = Math.ceil(frameBytes / MAX_PACKET_BYTES);
    const size = Math.ceil(frameBytes / count);
    let arrivalUs = 0;
    for (let i = 0; i < count; i++) {
      const sendUs = frameUs + Math.round((i * 1e6) / FPS / count); // paced over the frame
      const transmitUs = Math.round((size * 8 * 1e6) / capacityBps);
      linkFreeUs = Math.max(sendUs, linkFreeUs) + transmitUs;
      arrivalUs = linkFreeUs + PROPAGATION_US;
      receiver.onPacket({
        ssrc: SSRC,
        sequence: sequence++ & 0xffff,
        payloadSize: size,
        rtpTimestamp: (frame * 3000) >>> 0,
        absSendTime: Math.round((sendUs * 2 ** 18) / 1e6) & 0xffffff, // 6.18 fixed-point seconds
      }, arrivalUs);
    }
    await receiver.afterFrame(arrivalUs);
  }
}

/** Checks that the estimate rose on the 1 Mbit/s link and followed the drop to 500 kbit/s. */
function assertFollows(name, estimates) {
  assert.ok(estimates.length > 10, `${name}: only ${estimates.length} estimates`);
  const before = estimates.filter(([us]) => us < DROP_AT_US).map(([, bps]) => bps);
  const after = estimates.filter(([us]) => us >= DROP_AT_US + 5_000_000).map(([, bps]) => bps);
  const last = estimates.at(-1)[1];
  const peak = Math.max(...before);
  assert.ok(peak > 700_000, `${name}: the estimate peaked at ${peak} bps on the 1 Mbit/s link`);
  assert.ok(after.length > 0, `${name}: no estimate in the last 5 s`);
  assert.ok(Math.max(...after) < 600_000, `${name}: ${Math.max(...after)} bps after the drop`);
  assert.ok(last > 200_000, `${name}: the estimate collapsed to ${last} bps`);
  console.log(
    `  ${name}: ${estimates.length} estimates, peak ${kbps(peak)} before the drop, ` +
      `${kbps(Math.min(...after))}–${kbps(Math.max(...after))} in the last 5 s`,
  );
}

function kbps(bps) {
  return `${Math.round(bps / 1000)} kbit/s`;
}

/** The 12-byte RTP header, a one-byte-form extension block with abs-send-time, the payload. */
function rtpBytes(packet, extensionId) {
  const bytes = new Uint8Array(12 + 8 + packet.payloadSize);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x90; // version 2, extension bit
  bytes[1] = 96; // payload type
  view.setUint16(2, packet.sequence);
  view.setUint32(4, packet.rtpTimestamp);
  view.setUint32(8, packet.ssrc);
  view.setUint16(12, 0xbede); // one-byte header extensions
  view.setUint16(14, 1); // one 32-bit word
  bytes[16] = (extensionId << 4) | (3 - 1); // ID, length − 1
  bytes[17] = packet.absSendTime >>> 16;
  bytes[18] = (packet.absSendTime >>> 8) & 0xff;
  bytes[19] = packet.absSendTime & 0xff;
  return bytes;
}

// A write is a REMB, behind a 20-byte RTCP XR with a receiver reference time when one is due.
function assertRemb(bytes) {
  const remb = decodeRemb(bytes[1] === 207 ? bytes.subarray(20) : bytes);
  assert.deepEqual(remb.ssrcs, [SSRC]);
  assert.ok(remb.bitrateBps > 0);
  return remb;
}

console.log(`receiver-gcc smoke test on ${runtime}`);

// 1. BandwidthEstimator, its REMB encoded and decoded.
{
  const estimates = [];
  let rateBps = 900_000;
  let nowUs = 0;
  const estimator = new BandwidthEstimator({
    onEstimate: (bitrateBps, ssrcs) => {
      assert.deepEqual([...ssrcs], [SSRC]);
      estimates.push([nowUs, bitrateBps]);
      rateBps = bitrateBps;
    },
  });
  await closedLoop({
    onPacket: (packet, arrivalUs) => {
      nowUs = arrivalUs;
      estimator.onPacket({ ...packet, arrivalTimeMs: arrivalUs / 1000 });
    },
    afterFrame: (frameEndUs) => estimator.process(frameEndUs / 1000),
    rateBps: () => rateBps,
  });
  assertFollows("BandwidthEstimator", estimates);
  const last = estimates.at(-1)[1];
  const remb = assertRemb(encodeRemb({ senderSsrc: 1, bitrateBps: last, ssrcs: [SSRC] }));
  assert.ok(Math.abs(remb.bitrateBps - last) / last < 1e-4, `REMB carried ${remb.bitrateBps}`);
}

// 2. An inline Coordinator with its default timers, flushed after every frame; the sender obeys
//    the REMBs it produces.
{
  const estimates = [];
  let rateBps = 900_000;
  let nowUs = 0;
  let rembs = 0;
  const coordinator = new Coordinator({
    host: "inline",
    clock: { nowMs: () => nowUs / 1000 },
    onEstimate: (bitrateBps) => estimates.push([nowUs, bitrateBps]),
    onRemb: (packet) => {
      rembs++;
      rateBps = assertRemb(packet).bitrateBps;
    },
  });
  await closedLoop({
    onPacket: (packet, arrivalUs) => {
      nowUs = arrivalUs;
      coordinator.onPacket({ ...packet, arrivalTimeMs: arrivalUs / 1000 });
    },
    afterFrame: () => coordinator.flush(),
    rateBps: () => rateBps,
  });
  await coordinator.close();
  assert.ok(coordinator.closed);
  assert.ok(rembs > 10, `${rembs} REMBs`);
  assertFollows("Coordinator (inline)", estimates);
}

// 3. EstimatorInterceptor on the inline host, fed RTP bytes; the sender obeys its REMBs.
{
  const estimates = [];
  let rateBps = 900_000;
  let nowUs = 0;
  let rembs = 0;
  const interceptor = new EstimatorInterceptor("smoke", {
    coordinator: { host: "inline", clock: { nowMs: () => nowUs / 1000 } },
  });
  interceptor.subscribe((event) => {
    if (event.type === "estimate") estimates.push([nowUs, event.bitrateBps]);
  });
  interceptor.bindRTCPWriter({
    write: (packet) => {
      rembs++;
      rateBps = assertRemb(packet).bitrateBps;
    },
  });
  const extensionId = 3;
  const reader = interceptor.bindRemoteStream({
    ssrc: SSRC,
    clockRate: 90_000,
    mimeType: "video/VP8",
    rtpHeaderExtensions: [{ uri: ABS_SEND_TIME_URI, id: extensionId }],
    rtcpFeedback: [{ type: "goog-remb" }],
  }, { read() {} });
  const attributes = { arrivalTimeMs: 0 };
  await closedLoop({
    onPacket: (packet, arrivalUs) => {
      nowUs = arrivalUs;
      attributes.arrivalTimeMs = arrivalUs / 1000;
      reader.read(rtpBytes(packet, extensionId), attributes);
    },
    afterFrame: () => interceptor.flush(),
    rateBps: () => rateBps,
  });
  const stats = interceptor.stats();
  assert.equal(stats.malformedPackets, 0);
  assert.equal(stats.packetsWithoutSendTime, 0);
  assert.equal(stats.estimator.mode, "abs-send-time");
  assert.equal(stats.rembWriteErrors, 0, "every REMB written was a REMB");
  await interceptor.close();
  assert.ok(rembs > 10, `${rembs} REMBs`);
  assertFollows("EstimatorInterceptor (inline, RTP bytes)", estimates);
}

// 4. The werift adapter, with werift from node_modules: a connection is created and offers REMB.
if (flags.includes("--werift")) {
  const { createEstimatingPeerConnection } = await import(bundle(join("interceptor", "werift.js")));
  const { pc, estimator, close } = createEstimatingPeerConnection(
    { iceServers: [] },
    { estimator: { coordinator: { host: "inline" } } },
  );
  pc.addTransceiver("video", { direction: "recvonly" });
  const offer = await pc.createOffer();
  assert.match(offer.sdp, /a=rtcp-fb:\d+ goog-remb/);
  assert.match(offer.sdp, /abs-send-time/);
  assert.doesNotMatch(offer.sdp, /transport-cc/);
  assert.equal(estimator.id, pc.id);
  await close();
  assert.ok(estimator.closed);
  console.log(
    "  werift adapter: createEstimatingPeerConnection() offers goog-remb and abs-send-time",
  );
}

// 5. Worker hosts: where the runtime has no Worker (Node.js), they fail at construction, naming
//    the host that works; where it has one (Bun), a pool estimates like the inline host.
if (typeof Worker === "undefined") {
  for (const make of [() => new Coordinator(), () => new OffThreadCoordinator()]) {
    assert.throws(make, {
      name: "TypeError",
      message: /no global Worker \(Node\.js has none\): use a Coordinator with host "inline"/,
    });
  }
  console.log("  worker hosts: refused at construction with a clear error (no Worker here)");
} else {
  const estimates = [];
  let nowUs = 0;
  const coordinator = new Coordinator({
    host: "pool",
    clock: { nowMs: () => nowUs / 1000 },
    onEstimate: (bitrateBps) => estimates.push([nowUs, bitrateBps]),
  });
  const startBps = 900_000;
  await closedLoop({
    onPacket: (packet, arrivalUs) => {
      nowUs = arrivalUs;
      coordinator.onPacket({ ...packet, arrivalTimeMs: arrivalUs / 1000 });
    },
    afterFrame: () => coordinator.flush(),
    rateBps: () => (estimates.length > 0 ? estimates.at(-1)[1] : startBps),
  });
  await coordinator.close();
  assertFollows("Coordinator (pool of workers)", estimates);
}

// 6. Left open on purpose: their flush timers are unreffed, so the process exits all the same.
new Coordinator({ host: "inline" });
new EstimatorInterceptor("idle", { coordinator: { host: "inline" } });
console.log("ok");
