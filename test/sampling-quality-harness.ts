/**
 * Shared by sampling-quality*.test.ts (split in two files to keep each short on 2 shared cores): with the exact
 * score, at the default N = 1000 of each SDE, pcSample's samples are as close to the true mixture (energy distance)
 * as a second true sample of the same size is — within mean + 3 std of the noise floor measured over 8 independent
 * true-vs-true pairs.
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

// 2000 points keep each file near 30 s on 2 busy cores; outside quick mode 4000 sharpen the floor by √2.
export const n = process.env.SCORE_SDE_QUICK === "1" ? 2000 : 4000;

export interface QualityHarness {
  /** The reference mixture of the official vectors, its fixed true sample, and the true-vs-true noise floor. */
  mixture(): GaussianMixture;
  truth(): tf.Tensor2D;
  floor(): NoiseFloor;
  /** Energy distance of pcSample's samples (seed 7, snr 0.16) to a fixed true sample; scoreScale ≠ 1 corrupts the score. */
  distanceOf(sde: SDE, predictor: string, corrector: string, scoreScale?: number): Promise<number>;
}

/** Registers the shared `before` hook and returns the harness. */
export function qualityHarness(): QualityHarness {
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
  return {
    mixture: () => mix,
    truth: () => truth,
    floor: () => floor,
    async distanceOf(sde, predictor, corrector, scoreScale = 1) {
      const exact = mix.scoreFn(sde);
      const score = scoreScale === 1 ? exact : (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => exact(x, t).mul(scoreScale));
      const out = await pcSample({ sde, score, shape: [n, 2], predictor, corrector, snr: 0.16, rng: createRng(7) });
      assert.equal(sde.N, 1000);
      try {
        return energyDistance(out.samples, truth);
      } finally {
        out.samples.dispose();
      }
    },
  };
}

/** One test per SDE: the given predictor + corrector reaches the noise floor. */
export function describeReachesNoiseFloor(h: QualityHarness, predictor: string, corrector: string): void {
  describe(`pcSample with the exact score reaches the energy-distance noise floor (n = ${n}, N = 1000)`, () => {
    const SDES: [string, () => SDE][] = [
      ["VE", () => new VESDE()],
      ["VP", () => new VPSDE()],
      ["sub-VP", () => new SubVPSDE()],
    ];
    for (const [name, make] of SDES) {
      it(`${name} ${predictor} + ${corrector}`, async (t) => {
        const d = await h.distanceOf(make(), predictor, corrector);
        const f = h.floor();
        const msg = `energy distance ${d.toExponential(3)}; true-vs-true floor ${f.mean.toExponential(3)} ± ${f.std.toExponential(3)}`;
        t.diagnostic(msg);
        assert.ok(withinNoiseFloor(d, f, 3), msg);
      });
    }
  });
}
