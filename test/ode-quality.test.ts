/**
 * End-to-end sample quality of the probability-flow ODE sampler with the exact score: odeSample (RK45, rtol = atol =
 * 1e-5, the official defaults) draws samples as close to the true mixture (energy distance) as a second true sample
 * of the same size is, for VE, VP and sub-VP — within mean + 3 std of the true-vs-true noise floor.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { odeSample } from "../lib/ode";
import { GaussianMixture } from "../lib/toy";
import { energyDistance, noiseFloor, withinNoiseFloor } from "../lib/metrics";
import type { NoiseFloor } from "../lib/metrics";
import { reference, setup } from "./helpers";

const n = 2000;
const ref = reference();
let mix: GaussianMixture;
let truth: tf.Tensor2D;
let floor: NoiseFloor;

before(async () => {
  await setup();
  mix = new GaussianMixture({ weights: ref.gmm.weights, means: ref.gmm.means, covariances: ref.gmm.covs });
  truth = mix.sample(n, createRng(100));
  floor = noiseFloor(mix, n, (x, y) => energyDistance(x, y), { repeats: 8, seed: 1 });
});

describe(`odeSample with the exact score reaches the energy-distance noise floor (n = ${n}, rtol = atol = 1e-5)`, () => {
  const SDES: [string, () => SDE][] = [
    ["VE", () => new VESDE()],
    ["VP", () => new VPSDE()],
    ["sub-VP", () => new SubVPSDE()],
  ];
  for (const [name, make] of SDES) {
    it(name, async (t) => {
      const sde = make();
      const { samples, nfe } = await odeSample({ sde, score: mix.scoreFn(sde), shape: [n, 2], rng: createRng(11) });
      const d = energyDistance(samples, truth);
      samples.dispose();
      const msg = `energy distance ${d.toExponential(3)} (nfe ${nfe}); true-vs-true floor ${floor.mean.toExponential(3)} ± ${floor.std.toExponential(3)}`;
      t.diagnostic(msg);
      assert.ok(withinNoiseFloor(d, floor, 3), msg);
    });
  }
});

it("has power: the same check fails for a score scaled by 0.8", async (t) => {
  const sde = new VPSDE();
  const exact = mix.scoreFn(sde);
  const score = (x: tf.Tensor, tt: tf.Tensor) => tf.tidy(() => exact(x, tt).mul(0.8));
  const { samples } = await odeSample({ sde, score, shape: [n, 2], rng: createRng(11) });
  const d = energyDistance(samples, truth);
  samples.dispose();
  const msg = `energy distance ${d.toExponential(3)}; threshold ${(floor.mean + 3 * floor.std).toExponential(3)}`;
  t.diagnostic(msg);
  assert.ok(!withinNoiseFloor(d, floor, 3), msg);
});
