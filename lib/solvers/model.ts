/**
 * The model's outputs that solvers are written in, derived from the score s(x, t) with the host schedule
 * (x_t = α x₀ + σ ε): the noise prediction ε̂ = −σ s and the data prediction x̂₀ = (x + σ² s)/α (Tweedie), as
 * DPM-Solver (noise) and DPM-Solver++ (data) use them. Each call is one score evaluation.
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreFn, SDE } from "../sde";
import { timeVector } from "../sde";

export interface ModelOutputs {
  score(x: tf.Tensor, t: number): tf.Tensor;
  /** ε̂(x, t) = −σ(t) s(x, t). */
  noise(x: tf.Tensor, t: number): tf.Tensor;
  /** x̂₀(x, t) = (x + σ(t)² s(x, t)) / α(t). */
  data(x: tf.Tensor, t: number): tf.Tensor;
}

export function modelOutputs(sde: SDE, score: ScoreFn): ModelOutputs {
  const at = (x: tf.Tensor, t: number) => tf.tidy(() => score(x, timeVector(t, x.shape[0], sde.T, "solver")));
  return {
    score: at,
    noise: (x, t) => tf.tidy(() => at(x, t).mul(-sde.stdAt(t))),
    data: (x, t) =>
      tf.tidy(() => {
        const s = sde.stdAt(t);
        return x.add(at(x, t).mul(s * s)).div(sde.alphaAt(t));
      }),
  };
}
