/**
 * The sending end of the closed loop: Debian's Chromium, headless, driven by Playwright over its
 * pipe (which crosses network namespaces, so no debugging port is opened). It captures the
 * generated video through the fake camera, answers the receiver's offer and reports its send-side
 * figures each second.
 *
 * The page code is a string: it runs in Chromium, whose DOM types Deno does not check.
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";

/** Options of {@linkcode launchChromiumSender}. */
export interface ChromiumSenderOptions {
  /** The Chromium binary, or a wrapper that execs it (e.g. in another network namespace). */
  executablePath: string;
  /** The y4m file the fake camera plays. */
  videoPath: string;
  /**
   * Longest wait for any one browser step, ms.
   *
   * @default {20000}
   */
  timeoutMs?: number;
}

/** One snapshot of Chromium's send side (`RTCPeerConnection.getStats()`). */
export interface SenderSample {
  /** `performance.now()` in the page when taken, ms. */
  pageTimeMs: number;
  /** `RTCPeerConnection.connectionState`. */
  connectionState: string;
  /** outbound-rtp bytesSent + headerBytesSent (includes retransmissions). */
  bytesSent: number;
  /** outbound-rtp retransmittedBytesSent. */
  retransmittedBytesSent: number;
  /** outbound-rtp targetBitrate, bps. */
  targetBitrateBps: number;
  /** Encoded frame width and height. */
  frameWidth: number;
  /** Encoded frame height. */
  frameHeight: number;
  /** Encoded frames per second. */
  framesPerSecond: number;
  /** Why quality is limited: "none", "bandwidth", "cpu". */
  qualityLimitationReason: string;
  /** outbound-rtp nackCount. */
  nackCount: number;
  /** remote-inbound-rtp roundTripTime (latest, from the receiver's RTCP RR), s. */
  rttS: number | null;
  /** remote-inbound-rtp totalRoundTripTime, s. */
  totalRttS: number;
  /** remote-inbound-rtp roundTripTimeMeasurements. */
  rttMeasurements: number;
  /** remote-inbound-rtp packetsLost. */
  packetsLost: number;
  /** Selected candidate pair's currentRoundTripTime (STUN), s. */
  pairRttS: number | null;
  /** Selected candidate pair's availableOutgoingBitrate: the sender's estimate, capped by REMB. */
  availableOutgoingBitrateBps: number | null;
}

/** A running Chromium sender. */
export interface ChromiumSender {
  /** Chromium's version. */
  readonly version: string;
  /**
   * Starts the camera, answers `offerSdp` and returns the answer once ICE gathering is complete.
   *
   * @param offerSdp The receiver's offer.
   * @param maxBitrateBps `encodings[0].maxBitrate` set with `setParameters`.
   * @returns The answer SDP.
   */
  answer(offerSdp: string, maxBitrateBps: number): Promise<string>;
  /** Reads the send-side figures. */
  sample(): Promise<SenderSample>;
  /** Closes the browser; never throws. */
  close(): Promise<void>;
}

const PAGE_CODE = `
globalThis.rbe = {
  pc: null,
  async answer(offerSdp, maxBitrateBps, timeoutMs) {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720, frameRate: 30 },
      audio: false,
    });
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const [track] = stream.getVideoTracks();
    pc.addTrack(track, stream);
    await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    await pc.setLocalDescription(await pc.createAnswer());
    const sender = pc.getSenders()[0];
    const params = sender.getParameters();
    params.encodings[0].maxBitrate = maxBitrateBps;
    await sender.setParameters(params);
    if (pc.iceGatheringState !== "complete") {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("ICE gathering timed out")), timeoutMs);
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    }
    return pc.localDescription.sdp;
  },
  async sample() {
    const pc = this.pc;
    const out = {
      pageTimeMs: performance.now(), connectionState: pc.connectionState, bytesSent: 0,
      retransmittedBytesSent: 0, targetBitrateBps: 0, frameWidth: 0, frameHeight: 0,
      framesPerSecond: 0, qualityLimitationReason: "", nackCount: 0, rttS: null, totalRttS: 0,
      rttMeasurements: 0, packetsLost: 0, pairRttS: null, availableOutgoingBitrateBps: null,
    };
    const report = await pc.getStats();
    let pairId;
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video") {
        out.bytesSent = (s.bytesSent ?? 0) + (s.headerBytesSent ?? 0);
        out.retransmittedBytesSent = s.retransmittedBytesSent ?? 0;
        out.targetBitrateBps = s.targetBitrate ?? 0;
        out.frameWidth = s.frameWidth ?? 0;
        out.frameHeight = s.frameHeight ?? 0;
        out.framesPerSecond = s.framesPerSecond ?? 0;
        out.qualityLimitationReason = s.qualityLimitationReason ?? "";
        out.nackCount = s.nackCount ?? 0;
      } else if (s.type === "remote-inbound-rtp" && s.kind === "video") {
        out.rttS = s.roundTripTime ?? null;
        out.totalRttS = s.totalRoundTripTime ?? 0;
        out.rttMeasurements = s.roundTripTimeMeasurements ?? 0;
        out.packetsLost = s.packetsLost ?? 0;
      } else if (s.type === "transport" && s.selectedCandidatePairId) {
        pairId = s.selectedCandidatePairId;
      }
    });
    const pair = pairId ? report.get(pairId) : undefined;
    if (pair) {
      out.pairRttS = pair.currentRoundTripTime ?? null;
      out.availableOutgoingBitrateBps = pair.availableOutgoingBitrate ?? null;
    }
    return out;
  },
};
`;

/** Flags from shared/reference/chromium-interop.md; Playwright adds --headless and its defaults. */
function chromiumArgs(videoPath: string): string[] {
  return [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${videoPath}`,
  ];
}

/**
 * Launches Chromium and opens a page that is a secure context (so `getUserMedia` works) without any
 * network traffic: every request is answered by Playwright.
 *
 * @param options Binary, video and timeout.
 * @returns The sender.
 */
export async function launchChromiumSender(
  options: ChromiumSenderOptions,
): Promise<ChromiumSender> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const browser: Browser = await chromium.launch({
    executablePath: options.executablePath,
    args: chromiumArgs(options.videoPath),
    timeout: timeoutMs,
    // The test process handles signals; it closes the browser itself.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  try {
    const page: Page = await browser.newPage();
    page.setDefaultTimeout(timeoutMs);
    await page.route(
      "**/*",
      (route) =>
        route.fulfill({ contentType: "text/html", body: "<!doctype html><title>rbe</title>" }),
    );
    await page.goto("http://localhost/", { timeout: timeoutMs });
    await page.evaluate(PAGE_CODE);
    type PageApi = {
      rbe: {
        answer(sdp: string, max: number, timeoutMs: number): Promise<string>;
        sample(): Promise<SenderSample>;
      };
    };
    return {
      version: browser.version(),
      answer: (offerSdp, maxBitrateBps) =>
        withTimeout(
          page.evaluate(
            ([sdp, max, t]) => (globalThis as unknown as PageApi).rbe.answer(sdp, max, t),
            [offerSdp, maxBitrateBps, timeoutMs] as [string, number, number],
          ),
          timeoutMs,
          "Chromium's answer",
        ),
      sample: () =>
        withTimeout(
          page.evaluate(() => (globalThis as unknown as PageApi).rbe.sample()),
          timeoutMs,
          "Chromium's getStats",
        ),
      close: async () => {
        await withTimeout(browser.close(), 10_000, "closing Chromium").catch(() => {});
      },
    };
  } catch (error) {
    await withTimeout(browser.close(), 10_000, "closing Chromium").catch(() => {});
    throw error;
  }
}

/**
 * Rejects when `promise` has not settled within `ms`.
 *
 * @param promise What to wait for.
 * @param ms The limit.
 * @param what Named in the error.
 * @returns The promise's value.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
