/**
 * End-to-end sample quality of the probability-flow ODE sampler with the exact score: odeSample (RK45, rtol = atol =
 * 1e-5, the official defaults) draws samples as close to the true mixture (energy distance) as a second true sample
 * of the same size is, for VE, VP and sub-VP — within mean + 3 std of the true-vs-true noise floor (shared harness).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { odeSample } from "../lib/ode";
import { energyDistance, withinNoiseFloor } from "../lib/metrics";
import { n, qualityHarness } from "./sampling-quality-harness";

const h = qualityHarness();

/** Energy distance of odeSample's samples (seed 11) to the harness' true sample; scoreScale ≠ 1 corrupts the score. */
async function distanceOf(sde: SDE, scoreScale = 1): Promise<{ d: number; nfe: number }> {
  const exact = h.mixture().scoreFn(sde);
  const score = scoreScale === 1 ? exact : (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => exact(x, t).mul(scoreScale));
  const { samples, nfe } = await odeSample({ sde, score, shape: [n, 2], rng: createRng(11) });
  try {
    return { d: energyDistance(samples, h.truth()), nfe };
  } finally {
    samples.dispose();
  }
}

describe(`odeSample with the exact score reaches the energy-distance noise floor (n = ${n}, rtol = atol = 1e-5)`, () => {
  const SDES: [string, () => SDE][] = [
    ["VE", () => new VESDE()],
    ["VP", () => new VPSDE()],
    ["sub-VP", () => new SubVPSDE()],
  ];
  for (const [name, make] of SDES) {
    it(name, async (t) => {
      const { d, nfe } = await distanceOf(make());
      const f = h.floor();
      const msg = `energy distance ${d.toExponential(3)} (nfe ${nfe}); true-vs-true floor ${f.mean.toExponential(3)} ± ${f.std.toExponential(3)}`;
      t.diagnostic(msg);
      assert.ok(withinNoiseFloor(d, f, 3), msg);
    });
  }
});

it("has power: the same check fails for a score scaled by 0.8", async (t) => {
  const { d } = await distanceOf(new VPSDE(), 0.8);
  const f = h.floor();
  const msg = `energy distance ${d.toExponential(3)}; threshold ${(f.mean + 3 * f.std).toExponential(3)}`;
  t.diagnostic(msg);
  assert.ok(!withinNoiseFloor(d, f, 3), msg);
});
