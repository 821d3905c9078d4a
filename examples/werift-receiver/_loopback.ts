/**
 * Helpers for the loops that connect two peers on 127.0.0.1 (the wrtc loop and the loopback tests):
 * ICE restricted to the loopback address, SDP exchanged once gathering is complete, everything
 * bounded in time, and werift's answer made the DTLS server.
 *
 * @module
 */

/** werift ICE settings that gather a 127.0.0.1 host candidate and no IPv6 and no STUN. */
export const LOOPBACK_ICE = {
  iceServers: [],
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceInterfaceAddresses: { udp4: "127.0.0.1" },
};

/**
 * Keeps only the candidates on 127.0.0.1, so that no connectivity check leaves the loopback range.
 *
 * @param sdp A session description with candidates.
 * @returns The description with every other `a=candidate` line removed.
 */
export function loopbackOnly(sdp: string): string {
  return sdp.split("\r\n").filter((line) =>
    !line.startsWith("a=candidate:") || / udp \d+ 127\.0\.0\.1 \d+ typ host/i.test(line)
  ).join("\r\n");
}

/**
 * Makes werift's answer take the DTLS server role (`a=setup:passive`), so that the remote peer is
 * the DTLS client. werift answers `active` by default; as the DTLS client, about one call in ten
 * with libwebrtc M98 (npm:@roamhq/wrtc) derived SRTP keys that authenticated no packet (12 of 130
 * calls here), and none of 130 as the server. Pass the answer through this before
 * `setLocalDescription`.
 *
 * @param sdp werift's answer.
 * @returns The answer with every `a=setup:active` line set to `passive`.
 */
export function asDtlsServer(sdp: string): string {
  return sdp.replace(/^a=setup:active(?=\r?$)/gm, "a=setup:passive");
}

/**
 * Resolves when `predicate` holds, polling every 10 ms, or rejects after `timeoutMs`.
 *
 * @param predicate What to wait for.
 * @param timeoutMs The limit.
 * @param what Named in the error; a function is asked at the time-out, for the state then.
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) {
      const name = typeof what === "string" ? what : what();
      throw new Error(`Timed out after ${timeoutMs} ms: ${name}`);
    }
    await sleep(10);
  }
}

/**
 * Sleeps.
 *
 * @param ms How long.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
