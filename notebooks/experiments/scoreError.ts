/**
 * How well a learned score matches the exact one, as a function of t (notebook 03): on perturbed held-out points
 * x_t = m(t) x_0 + s(t) z, the mean squared error per dimension E‖s_θ − ∇log p_t‖²/D, the same weighted by s(t)²
 * (what the σ²-weighted DSM loss targets, up to its constant), and the relative error E‖s_θ − s‖² / E‖s‖².
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { perExample } from "../lib/sde";
import type { ScoreFn, SDE } from "../lib/sde";
import type { GaussianMixture } from "../lib/toy";

export interface ScoreErrorRow {
  t: number;
  std: number;
  mse: number;
  weightedMse: number;
  relative: number;
}

export function scoreErrorVsT(sde: SDE, learned: ScoreFn, mix: GaussianMixture, times: readonly number[], n: number, seed: number): ScoreErrorRow[] {
  const rng = createRng(seed);
  const x0 = mix.sample(n, rng);
  const exact = mix.scoreFn(sde);
  const out: ScoreErrorRow[] = [];
  try {
    for (const t of times) {
      const z = rng.normal([n, mix.dim]);
      const v = tf.tidy(() => {
        const tv = tf.fill([n], t);
        const { mean, std } = sde.marginalCoefficients(tv);
        const xt = perExample(mean, x0).mul(x0).add(perExample(std, x0).mul(z));
        const se = exact(xt, tv);
        const err = learned(xt, tv).sub(se).square().sum(1);
        const ref = se.square().sum(1);
        return tf.stack([err.mean().div(mix.dim), err.mul(std.square()).mean().div(mix.dim), std.mean(), err.mean().div(ref.mean())]);
      });
      const [mse, wmse, sd, rel] = Array.from(v.dataSync());
      tf.dispose([v, z]);
      out.push({ t, std: sd, mse, weightedMse: wmse, relative: rel });
    }
  } finally {
    x0.dispose();
  }
  return out;
}

/** Exact and learned score on a grid of points at one t (flat [n, 2] each), for side-by-side field plots. */
export function scoreOnGrid(sde: SDE, learned: ScoreFn, mix: GaussianMixture, points: Float32Array, t: number): { exact: Float32Array; learned: Float32Array } {
  return tf.tidy(() => {
    const n = points.length / 2;
    const x = tf.tensor2d(points, [n, 2]);
    const tv = tf.fill([n], t);
    return { exact: mix.scoreFn(sde)(x, tv).dataSync() as Float32Array, learned: learned(x, tv).dataSync() as Float32Array };
  });
}
