/**
 * werift → werift on 127.0.0.1: a werift peer sends VP8-shaped RTP (its own correct abs-send-time,
 * since werift's is broken) to a receiver set up by the adapter; the receiver's REMB must reach the
 * sender, from the first packets on.
 */

import assert from "node:assert/strict";
import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback } from "werift";
import { TRANSPORT_WIDE_CC_URI } from "../../interceptor/interceptor.ts";
import type { EstimatorEvent } from "../../interceptor/estimator_interceptor.ts";
import { createEstimatingPeerConnection } from "../../interceptor/werift.ts";
import {
  LOOPBACK_ICE,
  loopbackOnly,
  sleep,
  waitFor,
} from "../../examples/werift-receiver/_loopback.ts";
import { newWeriftSender, sendStream } from "./_werift_sender.ts";

/** The werift in use, from where `werift` resolves (`npm:werift@x.y.z` or `.deno/werift@x.y.z/`). */
const WERIFT_VERSION = /werift@(\d+\.\d+\.\d+)/.exec(import.meta.resolve("werift"))?.[1];

const SCHEDULE = { probePackets: 10, frames: 75, packetsPerFrame: 3, packetBytes: 1000 };

interface Received {
  atMs: number;
  bitrateBps: number;
  ssrcs: number[];
  senderSsrc: number;
}

Deno.test("werift adapter: a werift sender on 127.0.0.1 gets our REMB from its first packets on", async () => {
  // The sender offers transport-cc as browsers do; the adapter must answer without it.
  const { pc: sender, transceiver, offer } = await newWeriftSender();
  const rtpSeen: number[] = [];
  const receiver = createEstimatingPeerConnection(LOOPBACK_ICE, {
    estimator: {
      coordinator: { host: "inline" },
      logger: { warn: console.warn, error: console.error },
    },
    onRtp: (packet) => rtpSeen.push(packet.length),
  });
  const events: EstimatorEvent[] = [];
  receiver.estimator.subscribe((event) => events.push(event));
  try {
    assert.match(offer, /a=rtcp-fb:\d+ transport-cc/);

    await receiver.pc.setRemoteDescription({ type: "offer", sdp: offer });
    await receiver.pc.setLocalDescription(await receiver.pc.createAnswer());
    await waitFor(() => receiver.pc.iceGatheringState === "complete", 5000, "receiver gathering");
    const answer = loopbackOnly(receiver.pc.localDescription!.sdp);
    assert.doesNotMatch(answer, /transport-cc/);
    assert.doesNotMatch(answer, /transport-wide-cc/);
    assert.match(answer, /a=rtcp-fb:\d+ goog-remb/);
    assert.match(answer, /abs-send-time/);
    await sender.setRemoteDescription({ type: "answer", sdp: answer });
    await waitFor(() => sender.connectionState === "connected", 10_000, "connection");
    assert.ok(!transceiver.headerExtensions.some((e) => e.uri === TRANSPORT_WIDE_CC_URI));

    // What the sender hears: every REMB, whatever SSRCs it lists.
    const received: Received[] = [];
    const senderStart = performance.now();
    transceiver.sender.dtlsTransport.onRtcp.subscribe((rtcp) => {
      if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
      const remb = rtcp.feedback;
      if (!(remb instanceof ReceiverEstimatedMaxBitrate)) return;
      received.push({
        atMs: performance.now() - senderStart,
        bitrateBps: Number(remb.bitrate),
        ssrcs: [...remb.ssrcFeedbacks],
        senderSsrc: remb.senderSsrc,
      });
    });

    // A probe-like burst (10 packets 5 ms apart), then 2.5 s of 30 fps frames of 3 packets.
    const sent = await sendStream(transceiver, SCHEDULE);
    await waitFor(() => receiver.estimator.stats().packets >= sent, 2000, "all packets");
    await sleep(300); // The last REMB on its way.

    const stats = receiver.estimator.stats();
    const adapter = receiver.stats();
    const ssrc = transceiver.sender.ssrc;
    console.log(
      `  werift ${WERIFT_VERSION}: sent ${sent} RTP packets; receiver estimated ${stats.packets}, ` +
        `first REMB at the sender ${received[0]?.atMs.toFixed(1)} ms after the first packet ` +
        `(${received[0]?.bitrateBps} bps), ${received.length} REMBs in ${
          (received.at(-1)!.atMs / 1000).toFixed(2)
        } s; estimate ${stats.estimateBps} bps (${stats.phase}), incoming ${stats.incomingRateBps} bps`,
    );
    assert.equal(stats.packets, sent);
    assert.equal(rtpSeen.length, sent);
    assert.equal(stats.malformedPackets, 0);
    assert.equal(stats.packetsWithoutSendTime, 0);
    assert.equal(stats.estimator.mode, "abs-send-time");
    assert.deepEqual(stats.streams.map((s) => [s.ssrc, s.source]), [[ssrc, "abs-send-time"]]);
    assert.equal(adapter.reserializedPackets, 0, "raw bytes came from werift's buffer");
    assert.equal(adapter.unroutedPackets, 0);
    assert.deepEqual(adapter.boundSsrcs, [ssrc]);
    assert.equal(stats.rembWriteErrors, 0);
    // The sender's reports (an SR every 0.5-1.5 s) reach the estimator's RTCP reader; werift has no
    // XR, so it never answers the RRTRs sent with the REMB and the RTT stays libwebrtc's default.
    assert.ok(adapter.rtcpPackets >= 1, `${adapter.rtcpPackets} RTCP packets read`);
    assert.equal(stats.rtcpPackets, adapter.rtcpPackets);
    assert.equal(adapter.rtcpDecryptErrors, 0);
    assert.equal(stats.malformedRtcpPackets, 0);
    assert.ok(stats.receiverRtt!.rrtrsSent >= 3);
    assert.equal(adapter.rttMs, undefined);
    assert.equal(stats.rttSource, "default");
    assert.equal(stats.estimator.rttMs, 200);

    // The first REMB is the start bitrate, sent on the first packet.
    assert.ok(received.length >= 5);
    assert.deepEqual(
      { ...received[0], atMs: 0 },
      { atMs: 0, bitrateBps: 1_000_000, ssrcs: [ssrc], senderSsrc: 1 },
    );
    assert.ok(received[0].atMs < 200, `first REMB after ${received[0].atMs} ms`);
    // Everything the estimator produced reached the sender, in order, and werift's sender kept the
    // last one.
    const produced = events.flatMap((e) => e.type === "remb" ? [e.bitrateBps] : []);
    assert.deepEqual(
      received.map((r) => r.bitrateBps),
      produced.map((bps) => remb18(bps)),
    );
    assert.equal(
      transceiver.sender.receiverEstimatedMaxBitrate,
      BigInt(received.at(-1)!.bitrateBps),
    );
    for (let i = 1; i < received.length; i++) {
      assert.ok(received[i].atMs - received[i - 1].atMs < 1100, "at least once a second");
    }
  } finally {
    await receiver.close();
    await sender.close();
  }
  assert.equal(receiver.estimator.closed, true);
});

/** What a bitrate becomes on the wire: an 18-bit mantissa, rounded down. */
function remb18(bitrateBps: number): number {
  let exponent = 0;
  while (bitrateBps >= 2 ** (18 + exponent)) exponent++;
  return Math.floor(bitrateBps / 2 ** exponent) * 2 ** exponent;
}
