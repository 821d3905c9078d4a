/**
 * The example receiver's server without a browser: a werift peer stands in for the page, signals
 * through `POST /offer`, sends RTP, and reads the figures from the server-sent events.
 */

import assert from "node:assert/strict";
import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback } from "werift";
import type { Tick } from "../../examples/werift-receiver/server.ts";
import { startServer } from "../../examples/werift-receiver/server.ts";
import { waitFor } from "../../examples/werift-receiver/_loopback.ts";
import { newWeriftSender, sendStream } from "./_werift_sender.ts";

Deno.test("werift-receiver server: serves the page and uPlot, answers an offer, streams live figures and applies a cap", async () => {
  const server = startServer({ port: 0, tickMs: 100 });
  const { pc: sender, transceiver, offer } = await newWeriftSender();
  try {
    for (
      const [path, type, text] of [
        ["/", "text/html", "uPlot.iife.min.js"],
        ["/app.js", "text/javascript", "EventSource"],
        ["/uPlot.iife.min.js", "text/javascript", "uPlot"],
        ["/uPlot.min.css", "text/css", ".uplot"],
      ]
    ) {
      const response = await fetch(new URL(path, server.url));
      assert.equal(response.status, 200, path);
      assert.ok(response.headers.get("content-type")!.startsWith(type), path);
      assert.ok((await response.text()).includes(text), path);
    }
    const missing = await fetch(new URL("/nothing", server.url));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const bad = await fetch(new URL("/offer", server.url), { method: "POST", body: "{}" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();

    const response = await fetch(new URL("/offer", server.url), {
      method: "POST",
      body: JSON.stringify({ type: "offer", sdp: offer }),
    });
    const answer = await response.json();
    assert.doesNotMatch(answer.sdp, /transport-cc/);
    assert.doesNotMatch(answer.sdp, /a=candidate:(?!.* 127\.0\.0\.1 )/, "127.0.0.1 only");
    assert.equal(server.sessions, 1);
    await sender.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await waitFor(() => sender.connectionState === "connected", 10_000, "connection");

    const events = await fetch(new URL(`/events?session=${answer.session}`, server.url));
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    const ticks: Tick[] = [];
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    const reading = (async () => {
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(message);
          if (data) ticks.push(JSON.parse(data[1]));
        }
      }
    })();

    // What the sender hears first, whatever the ticks sampled: the start-phase REMB (the probe's
    // estimate may follow it within one tick).
    const rembsHeard: number[] = [];
    transceiver.sender.dtlsTransport.onRtcp.subscribe((rtcp) => {
      if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
      const remb = rtcp.feedback;
      if (remb instanceof ReceiverEstimatedMaxBitrate) rembsHeard.push(Number(remb.bitrate));
    });

    const sent = await sendStream(transceiver, {
      probePackets: 10,
      frames: 45,
      packetsPerFrame: 3,
      packetBytes: 1000,
    });
    await waitFor(() => ticks.at(-1)!.packets >= sent, 3000, "figures of every packet");
    const last = ticks.at(-1)!;
    assert.equal(last.mode, "abs-send-time");
    assert.equal(last.connection, "connected");
    assert.deepEqual(last.ssrcs, [transceiver.sender.ssrc]);
    assert.ok(last.rembs > 0);
    assert.equal(rembsHeard[0], 1_000_000, "the start bitrate");
    // The figures report the REMBs sent: the last one the sender heard, once the ticks catch up.
    await waitFor(() => ticks.at(-1)!.rembs >= rembsHeard.length, 3000, "figures of every REMB");
    // The wire keeps 18 significant bits of the rate.
    const lastRemb = ticks.at(-1)!.rembBps!;
    assert.ok(Math.abs(lastRemb - rembsHeard.at(-1)!) < lastRemb / 2 ** 17, `${lastRemb}`);

    const capped = await fetch(new URL("/cap", server.url), {
      method: "POST",
      body: JSON.stringify({ session: answer.session, bitrateBps: 250_000 }),
    });
    assert.deepEqual(await capped.json(), { capBps: 250_000 });
    const count = ticks.length;
    await waitFor(() => ticks.length > count, 2000, "a tick after the cap");
    assert.equal(ticks.at(-1)!.rembBps, 250_000);
    assert.equal(ticks.at(-1)!.capBps, 250_000);

    // The page goes away: its session closes with it.
    await reader.cancel();
    await reading;
    await waitFor(() => server.sessions === 0, 3000, "session closed");
  } finally {
    await sender.close();
    await server.close();
  }
});
