/**
 * A receiver with a web page: open it in a browser on this machine, send the camera, and watch our
 * estimate, the rate we receive and the REMB we send, next to the browser's own send rate, live.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-env --allow-sys=networkInterfaces \
 *   examples/werift-receiver/server.ts [--port 8080] [--hostname 127.0.0.1] [--ice-all]
 * ```
 *
 * Then open http://127.0.0.1:8080/ (getUserMedia needs localhost or https). Signalling is one HTTP
 * POST (offer in, answer out, no trickle); live figures come as server-sent events. ICE uses
 * 127.0.0.1 only, unless `--ice-all` offers every host address (no STUN either way). The chart is
 * uPlot, served from the npm package; nothing is fetched from elsewhere.
 *
 * @module
 */

import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import uplotPackage from "uplot/package.json" with { type: "json" };
import type { RTCPeerConnectionConfig } from "werift";
import { createEstimatingPeerConnection, type WeriftEstimation } from "../../interceptor/werift.ts";
import { asDtlsServer, LOOPBACK_ICE, loopbackOnly, waitFor } from "./_loopback.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /**
   * Port to listen on; 0 picks a free one.
   *
   * @default {8080}
   */
  port?: number;
  /**
   * Address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Offer every host address in ICE instead of 127.0.0.1 only.
   *
   * @default {false}
   */
  iceAll?: boolean;
  /**
   * How often figures are pushed to the page, ms.
   *
   * @default {250}
   */
  tickMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** Where the page is. */
  readonly url: string;
  /** Sessions (peer connections) open. */
  readonly sessions: number;
  /** Closes every session and stops listening. */
  close(): Promise<void>;
}

/** What the page is told every tick. */
export interface Tick {
  /** Server clock, ms since the session started. */
  t: number;
  /** Our estimate, bps (0 before the first). */
  estimateBps: number;
  /** Payload + padding received over the last second, bps. */
  incomingRateBps: number;
  /** The last REMB, bps. */
  rembBps: number | null;
  /** Who decides the REMB. */
  phase: string;
  /** Packets estimated. */
  packets: number;
  /** REMB packets written. */
  rembs: number;
  /** SSRCs in the estimator. */
  ssrcs: number[];
  /** abs-send-time or RTP timestamps. */
  mode: string | null;
  /** The cap in force, bps. */
  capBps: number | null;
  /** The peer connection's state. */
  connection: string;
}

interface Session {
  readonly id: string;
  readonly estimation: WeriftEstimation;
  readonly startMs: number;
  capBps: number | null;
  readonly streams: Set<ReadableStreamDefaultController<Uint8Array>>;
}

const MAX_SESSIONS = 8;
const HERE = new URL(".", import.meta.url);
const STATIC: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
};

/**
 * Starts the server.
 *
 * @param options Port, address, ICE scope and tick interval.
 * @returns The running server.
 */
export function startServer(options: ServerOptions = {}): RunningServer {
  const { port = 8080, hostname = "127.0.0.1", iceAll = false, tickMs = 250 } = options;
  const require = createRequire(import.meta.url);
  const uplot: Record<string, [string, string]> = {
    "/uPlot.iife.min.js": [
      require.resolve("uplot/dist/uPlot.iife.min.js"),
      "text/javascript; charset=utf-8",
    ],
    "/uPlot.min.css": [require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"],
  };
  const sessions = new Map<string, Session>();
  const encoder = new TextEncoder();
  const iceConfig: RTCPeerConnectionConfig = iceAll ? { iceServers: [] } : LOOPBACK_ICE;

  const tick = (session: Session) => {
    const stats = session.estimation.estimator.stats();
    const data: Tick = {
      t: performance.now() - session.startMs,
      estimateBps: stats.estimateBps ?? 0,
      incomingRateBps: stats.incomingRateBps ?? 0,
      rembBps: stats.lastRembBps ?? null,
      phase: stats.phase,
      packets: stats.packets,
      rembs: stats.rembsWritten,
      ssrcs: stats.estimator.streams.map((s) => s.ssrc),
      mode: stats.estimator.mode ?? null,
      capBps: session.capBps,
      connection: session.estimation.pc.connectionState,
    };
    const bytes = encoder.encode(`event: tick\ndata: ${JSON.stringify(data)}\n\n`);
    for (const stream of session.streams) {
      try {
        stream.enqueue(bytes);
      } catch {
        session.streams.delete(stream);
      }
    }
  };
  const timer = setInterval(() => {
    for (const session of sessions.values()) tick(session);
  }, tickMs);

  const closeSession = async (session: Session) => {
    if (!sessions.delete(session.id)) return;
    for (const stream of session.streams) {
      try {
        stream.close();
      } catch {
        // Already closed by the client.
      }
    }
    await session.estimation.close();
  };

  const offer = async (request: Request): Promise<Response> => {
    if (sessions.size >= MAX_SESSIONS) return text(503, "Too many sessions");
    const body = await request.json().catch(() => undefined);
    if (typeof body?.sdp !== "string" || body.type !== "offer") {
      return text(400, "Expected {type: 'offer', sdp}");
    }
    const estimation = createEstimatingPeerConnection(iceConfig);
    const session: Session = {
      id: crypto.randomUUID(),
      estimation,
      startMs: performance.now(),
      capBps: null,
      streams: new Set(),
    };
    sessions.set(session.id, session);
    estimation.pc.connectionStateChange.subscribe((state) => {
      if (state === "failed" || state === "closed") void closeSession(session);
    });
    try {
      await estimation.pc.setRemoteDescription({ type: "offer", sdp: body.sdp });
      const answer = await estimation.pc.createAnswer();
      await estimation.pc.setLocalDescription({ type: "answer", sdp: asDtlsServer(answer.sdp) });
      await waitFor(() => estimation.pc.iceGatheringState === "complete", 5000, "ICE gathering");
      const sdp = estimation.pc.localDescription!.sdp;
      return Response.json({
        session: session.id,
        type: "answer",
        sdp: iceAll ? sdp : loopbackOnly(sdp),
      });
    } catch (error) {
      await closeSession(session);
      return text(500, `Cannot answer: ${error}`);
    }
  };

  const events = (url: URL): Response => {
    const session = sessions.get(url.searchParams.get("session") ?? "");
    if (!session) return text(404, "No such session");
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        session.streams.add(c);
        c.enqueue(encoder.encode(": hello\n\n"));
      },
      cancel() {
        // The page went away: so does its peer connection.
        session.streams.delete(controller);
        if (session.streams.size === 0) void closeSession(session);
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    });
  };

  const cap = async (request: Request): Promise<Response> => {
    const body = await request.json().catch(() => undefined);
    const session = sessions.get(body?.session ?? "");
    if (!session) return text(404, "No such session");
    const bps = body.bitrateBps;
    if (bps !== null && !(Number.isSafeInteger(bps) && bps > 0)) {
      return text(400, "Expected bitrateBps: a positive integer, or null to lift the cap");
    }
    session.capBps = bps;
    session.estimation.estimator.setMaxDesiredBitrate(bps ?? Infinity);
    return Response.json({ capBps: bps });
  };

  const server = Deno.serve({ port, hostname, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/offer") return await offer(request);
    if (request.method === "POST" && url.pathname === "/cap") return await cap(request);
    if (request.method === "GET" && url.pathname === "/events") return events(url);
    const local = STATIC[url.pathname];
    const fromPackage = uplot[url.pathname];
    if (request.method === "GET" && (local || fromPackage)) {
      const [path, type] = local ? [new URL(local[0], HERE), local[1]] : fromPackage;
      return new Response(await Deno.readFile(path), {
        headers: { "content-type": type, "cache-control": "no-store" },
      });
    }
    return text(404, "Not found");
  });
  const address = server.addr as Deno.NetAddr;
  return {
    url: `http://${address.hostname}:${address.port}/`,
    get sessions() {
      return sessions.size;
    },
    async close() {
      clearInterval(timer);
      await Promise.all([...sessions.values()].map(closeSession));
      await server.shutdown();
    },
  };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      hostname: { type: "string", default: "127.0.0.1" },
      "ice-all": { type: "boolean", default: false },
    },
  });
  const server = startServer({
    port: Number(values.port),
    hostname: values.hostname,
    iceAll: values["ice-all"],
  });
  console.log(`receiver-gcc werift receiver (uPlot ${uplotPackage.version}) on ${server.url}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await server.close();
      Deno.exit(0);
    });
  }
}
