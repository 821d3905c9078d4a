/**
 * Conformance with libwebrtc's `remote_bitrate_estimator_single_stream_unittest.cc` (reference
 * §12.4): packets without abs-send-time, so the estimator stays in RTP-timestamp mode (§9) and
 * updates from `process()`.
 *
 * @module
 */

import {
  capacityDropTestHelper,
  initialBehaviorTestHelper,
  rateIncreaseReorderingTestHelper,
  rateIncreaseRtpTimestampsTestHelper,
  RTP_TIMESTAMPS,
} from "./_stream_generator.ts";

Deno.test("BandwidthEstimator in RTP-timestamp mode reports nothing before data, then 508 017 ± 50 000 bps after 5 s of 50 fps packets (InitialBehavior)", () => {
  initialBehaviorTestHelper(RTP_TIMESTAMPS, 508_017);
});

Deno.test("BandwidthEstimator in RTP-timestamp mode keeps 506 422 ± 50 000 bps through reordered packets (RateIncreaseReordering)", () => {
  rateIncreaseReorderingTestHelper(RTP_TIMESTAMPS, 506_422);
});

Deno.test("BandwidthEstimator in RTP-timestamp mode climbs from 30 kbps to 500 kbps in exactly 1267 frames on a 1 Mbps link (RateIncreaseRtpTimestamps)", () => {
  rateIncreaseRtpTimestampsTestHelper(RTP_TIMESTAMPS, 1267);
});

Deno.test("BandwidthEstimator in RTP-timestamp mode drops to 500 kbit/s within 633 ± 33 ms after the capacity halves (CapacityDropOneStream)", () => {
  capacityDropTestHelper(RTP_TIMESTAMPS, 1, false, 633, 0);
});

Deno.test("BandwidthEstimator in RTP-timestamp mode drops to 500 kbit/s within 633 ± 33 ms after the capacity halves while RTP timestamps wrap (CapacityDropOneStreamWrap)", () => {
  capacityDropTestHelper(RTP_TIMESTAMPS, 1, true, 633, 0);
});
