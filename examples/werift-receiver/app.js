// The page of examples/werift-receiver: sends the camera to the server's werift receiver (one POST
// for offer/answer), then charts the server's figures (server-sent events) and the browser's own
// send rate and estimate (getStats) on one time axis. `?autostart` starts at once (headless runs).
/* global uPlot */

const WINDOW_S = 120;
const $ = (id) => document.getElementById(id);
const kbps = (bps) => bps === null || bps === undefined ? "–" : `${Math.round(bps / 1000)} kbit/s`;

// Columns: time (s), estimate, received, REMB, browser sent, browser available (kbit/s).
const data = [[], [], [], [], [], []];
let chart;
let session;
let startedAt;
const browser = { sentBps: null, availableBps: null };

function makeChart() {
  const width = Math.min(document.body.clientWidth - 16, 1100);
  const line = (label, stroke, extra = {}) => ({
    label,
    stroke,
    width: 2,
    points: { show: false },
    value: (_u, v) => v === null ? "–" : `${Math.round(v)} kbit/s`,
    ...extra,
  });
  chart = new uPlot(
    {
      width,
      height: 360,
      scales: { x: { time: false } },
      axes: [
        { label: "seconds", values: (_u, ticks) => ticks.map((t) => `${Math.round(t)}`) },
        { label: "kbit/s", size: 60 },
      ],
      series: [
        { label: "t", value: (_u, v) => v === null ? "–" : `${v.toFixed(1)} s` },
        line("our estimate", "#1f77b4"),
        line("received", "#2ca02c"),
        line("REMB", "#d62728", { dash: [6, 4] }),
        line("browser sends", "#ff7f0e"),
        line("browser's estimate", "#9467bd", { width: 1 }),
      ],
    },
    data,
    $("chart"),
  );
}

function push(tick) {
  const t = (performance.now() - startedAt) / 1000;
  data[0].push(t);
  data[1].push(tick.estimateBps > 0 ? tick.estimateBps / 1000 : null);
  data[2].push(tick.incomingRateBps / 1000);
  data[3].push(tick.rembBps === null ? null : tick.rembBps / 1000);
  data[4].push(browser.sentBps === null ? null : browser.sentBps / 1000);
  data[5].push(browser.availableBps === null ? null : browser.availableBps / 1000);
  while (data[0].length > 0 && data[0][0] < t - WINDOW_S) for (const column of data) column.shift();
  chart.setData(data);

  $("f-estimate").textContent = tick.estimateBps > 0 ? kbps(tick.estimateBps) : "none yet";
  $("f-received").textContent = kbps(tick.incomingRateBps);
  $("f-remb").textContent = kbps(tick.rembBps) + (tick.capBps ? ` (cap ${kbps(tick.capBps)})` : "");
  $("f-sent").textContent = kbps(browser.sentBps);
  $("f-available").textContent = kbps(browser.availableBps);
  $("f-phase").textContent = tick.phase === "start"
    ? "start bitrate (until the first estimate)"
    : tick.phase;
  $("f-mode").textContent = tick.mode ?? "–";
  $("f-counts").textContent = `${tick.packets} / ${tick.rembs}`;
  $("f-ssrcs").textContent = tick.ssrcs.join(", ") || "–";
  $("status").textContent = `Connection ${tick.connection}`;
}

async function browserStats(pc) {
  let previous;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (pc.connectionState === "closed") return;
    const report = await pc.getStats();
    let bytes = 0;
    let pairId;
    const pairs = new Map();
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video") {
        bytes += s.bytesSent + (s.headerBytesSent ?? 0);
      }
      if (s.type === "transport") pairId = s.selectedCandidatePairId;
      if (s.type === "candidate-pair") pairs.set(s.id, s);
    });
    const now = performance.now();
    if (previous) browser.sentBps = (bytes - previous.bytes) * 8000 / (now - previous.at);
    previous = { bytes, at: now };
    browser.availableBps = pairs.get(pairId)?.availableOutgoingBitrate ?? null;
  }
}

async function start() {
  $("start").disabled = true;
  $("status").textContent = "Opening the camera…";
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    audio: false,
  });
  $("preview").srcObject = media;
  const pc = new RTCPeerConnection();
  pc.addTransceiver(media.getVideoTracks()[0], { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  $("status").textContent = "Gathering candidates…";
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000);
  });
  $("status").textContent = "Signalling…";
  const response = await fetch("/offer", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
  });
  if (!response.ok) throw new Error(await response.text());
  const answer = await response.json();
  session = answer.session;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  startedAt = performance.now();
  const events = new EventSource(`/events?session=${session}`);
  events.addEventListener("tick", (event) => push(JSON.parse(event.data)));
  $("apply-cap").disabled = false;
  $("lift-cap").disabled = false;
  browserStats(pc);
  globalThis.receiverGcc = { pc, data }; // For automation.
}

async function setCap(bitrateBps) {
  await fetch("/cap", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session, bitrateBps }),
  });
}

makeChart();
$("start").addEventListener("click", () =>
  start().catch((error) => {
    $("status").textContent = `Failed: ${error.message}`;
    $("start").disabled = false;
  }));
$("apply-cap").addEventListener("click", () => setCap(Math.round(Number($("cap").value) * 1000)));
$("lift-cap").addEventListener("click", () => setCap(null));
if (new URLSearchParams(location.search).has("autostart")) $("start").click();
