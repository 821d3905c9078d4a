/**
 * A werift peer that sends VP8-shaped RTP the way a GCC sender would time it, with its own correct
 * abs-send-time (werift's own stamping is broken), for the loopback tests.
 *
 * @module
 */

import {
  MediaStreamTrack,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtpHeader,
  RtpPacket,
  useAbsSendTime,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  useVP8,
} from "werift";
import { absSendTimeFromMicros } from "../../core/abs_send_time.ts";
import { ABS_SEND_TIME_URI } from "../../interceptor/interceptor.ts";
import {
  LOOPBACK_ICE,
  loopbackOnly,
  sleep,
  waitFor,
} from "../../examples/werift-receiver/_loopback.ts";

/** The sending peer. */
export interface WeriftSender {
  /** Its peer connection. */
  pc: RTCPeerConnection;
  /** Its sendonly video transceiver. */
  transceiver: RTCRtpTransceiver;
}

/**
 * A sender that offers VP8 with goog-remb *and* transport-cc, as browsers do, on 127.0.0.1.
 *
 * @returns The sender, with its offer set locally and gathered (127.0.0.1 candidates only).
 */
export async function newWeriftSender(): Promise<WeriftSender & { offer: string }> {
  const pc = new RTCPeerConnection({
    ...LOOPBACK_ICE,
    codecs: {
      video: [useVP8({ rtcpFeedback: [useNACK(), usePLI(), useREMB(), useTWCC()] })],
      audio: [],
    },
    headerExtensions: {
      video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()],
      audio: [],
    },
  });
  const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), {
    direction: "sendonly",
  });
  await pc.setLocalDescription(await pc.createOffer());
  await waitFor(() => pc.iceGatheringState === "complete", 5000, "sender gathering");
  return { pc, transceiver, offer: loopbackOnly(pc.localDescription!.sdp) };
}

/** The schedule of {@linkcode sendStream}. */
export interface StreamSchedule {
  /** Packets of the opening burst, 5 ms apart. */
  probePackets: number;
  /** Frames at 30 fps after the burst. */
  frames: number;
  /** Packets per frame. */
  packetsPerFrame: number;
  /** Payload bytes per packet. */
  packetBytes: number;
}

/**
 * Sends a probe-like burst and then frames, each packet stamped with the sender's abs-send-time.
 *
 * @param transceiver The connected sender's transceiver.
 * @param schedule What to send.
 * @returns Packets sent.
 */
export async function sendStream(
  transceiver: RTCRtpTransceiver,
  schedule: StreamSchedule,
): Promise<number> {
  const absId = transceiver.headerExtensions.find((e) => e.uri === ABS_SEND_TIME_URI)!.id;
  let sequence = 0;
  const send = (timestamp: number, marker: boolean) => {
    const absSendTime = Buffer.alloc(3);
    absSendTime.writeUIntBE(absSendTimeFromMicros(Math.round(performance.now() * 1000)), 0, 3);
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: sequence++ & 0xffff,
      timestamp,
      marker,
      extension: true,
      extensions: [{ id: absId, payload: absSendTime }],
    });
    void transceiver.sender.sendRtp(
      new RtpPacket(header, Buffer.alloc(schedule.packetBytes, 0x5a)),
    );
  };
  for (let i = 0; i < schedule.probePackets; i++) {
    send(0, i === schedule.probePackets - 1);
    await sleep(5);
  }
  const start = performance.now();
  for (let frame = 1; frame <= schedule.frames; frame++) {
    for (let i = 0; i < schedule.packetsPerFrame; i++) {
      send(frame * 3000, i === schedule.packetsPerFrame - 1);
    }
    await sleep(Math.max(0, start + frame * 1000 / 30 - performance.now()));
  }
  return sequence;
}
