/**
 * Sample quality of the Euler–Maruyama predictor without corrector (the continuous VP / sub-VP configs), and a
 * deliberately wrong score (×0.7) that must fail the same check, so the check has power. See the harness.
 */
import { it } from "node:test";
import * as assert from "node:assert/strict";
import { VPSDE } from "../lib/sde";
import { withinNoiseFloor } from "../lib/metrics";
import { describeReachesNoiseFloor, qualityHarness } from "./sampling-quality-harness";

const h = qualityHarness();
describeReachesNoiseFloor(h, "euler_maruyama", "none");

it("has power: a score scaled by 0.7 is detected", async (t) => {
  const d = await h.distanceOf(new VPSDE(), "euler_maruyama", "none", 0.7);
  const f = h.floor();
  const msg = `energy distance ${d.toExponential(3)}; threshold ${(f.mean + 3 * f.std).toExponential(3)}`;
  t.diagnostic(msg);
  assert.ok(!withinNoiseFloor(d, f, 3), msg);
});
