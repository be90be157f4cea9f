/**
 * End-to-end sample quality with the exact score: at the default N = 1000 of each SDE, pcSample's samples are as
 * close to the true mixture (energy distance) as a second true sample of the same size is — within mean + 3 std of
 * the noise floor measured over 8 independent true-vs-true pairs. This file: the PC sampler of the VE configs
 * (reverse diffusion + one Langevin step, snr 0.16); sampling-quality-em.test.ts: Euler–Maruyama (the continuous
 * VP / sub-VP configs) and the power check. Split in two to keep each file short on 2 shared cores.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { pcSample } from "../lib/sampling";
import { GaussianMixture } from "../lib/toy";
import { energyDistance, noiseFloor, withinNoiseFloor } from "../lib/metrics";
import type { NoiseFloor } from "../lib/metrics";
import { reference, setup } from "./helpers";

const ref = reference();
// 2000 points keep this file near 30 s on 2 busy cores; outside quick mode 4000 sharpen the floor by √2.
const n = process.env.SCORE_SDE_QUICK === "1" ? 2000 : 4000;
let mix: GaussianMixture;
let truth: tf.Tensor2D;
let floor: NoiseFloor;

before(async () => {
  await setup();
  mix = new GaussianMixture({ weights: ref.gmm.weights, means: ref.gmm.means, covariances: ref.gmm.covs });
  truth = mix.sample(n, createRng(100));
  floor = noiseFloor(mix, n, (x, y) => energyDistance(x, y), { repeats: 8, seed: 1 });
});

async function distanceOf(sde: SDE, predictor: string, corrector: string, scoreScale = 1): Promise<number> {
  const exact = mix.scoreFn(sde);
  const score = scoreScale === 1 ? exact : (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => exact(x, t).mul(scoreScale));
  const out = await pcSample({ sde, score, shape: [n, 2], predictor, corrector, snr: 0.16, rng: createRng(7) });
  assert.equal(sde.N, 1000);
  try {
    return energyDistance(out.samples, truth);
  } finally {
    out.samples.dispose();
  }
}

describe(`pcSample with the exact score reaches the energy-distance noise floor (n = ${n}, N = 1000)`, () => {
  const SDES: [string, () => SDE][] = [
    ["VE", () => new VESDE()],
    ["VP", () => new VPSDE()],
    ["sub-VP", () => new SubVPSDE()],
  ];
  for (const [name, make] of SDES) {
    for (const [predictor, corrector] of [["reverse_diffusion", "langevin"]]) {
      it(`${name} ${predictor} + ${corrector}`, async (t) => {
        const d = await distanceOf(make(), predictor, corrector);
        const msg = `energy distance ${d.toExponential(3)}; true-vs-true floor ${floor.mean.toExponential(3)} ± ${floor.std.toExponential(3)}`;
        t.diagnostic(msg);
        assert.ok(withinNoiseFloor(d, floor, 3), msg);
      });
    }
  }
});
