/**
 * From a network to a score function s(x, t) ≈ ∇ₓ log p_t(x), following the official `get_score_fn`
 * (models/utils.py, SPEC §1.2):
 *
 * | SDE          | continuous (default)           | discrete                                      | score              |
 * |--------------|--------------------------------|-----------------------------------------------|--------------------|
 * | VE           | label σ(t)                     | label round((T − t)(N − 1)) (descending σ's) | out / σ  or  out   |
 * | VP           | label 999·t, std = marginal    | label t(N − 1) (not rounded), std =           | −out / std         |
 * |              |                                | sqrt(1 − ᾱ)[floor(t(N − 1))]                  |                    |
 * | sub-VP       | label 999·t, std = marginal (discrete is treated as continuous, as the official code)   |
 *
 * The SDE chooses the parameterisation (`sde.parameterization`, lib/sde/parameterization.ts); this wrapper only
 * composes label → network → score, so the networks never know the SDE. scale-by-σ lives there, not in the
 * networks: with `scaleBySigma` (default true for VE, as every official NCSN++ VE config) the VE network predicts
 * σ·score (unit scale, like VP's ε) and the wrapper divides by σ — σ(t) when continuous, the discrete σ of the label
 * when discrete. With `scaleBySigma: false` the network output is returned as the score, exactly as the official VE
 * score_fn (this is what the official reference vectors' stand-in network assumes).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { SDE, ScoreFn } from "../sde";
import { fail } from "../validate";
import type { ScoreNetwork } from "./network";

export interface ScoreFnOptions {
  /** Continuous-time labels (default true). False gives the official discrete (SMLD / DDPM) labels. */
  continuous?: boolean;
  /** Scale-by-σ parameterisations (VE) only: the network predicts σ·score and the wrapper divides by σ (default true). */
  scaleBySigma?: boolean;
  /** Training mode (dropout on), passed to the network. */
  training?: boolean;
  /** Dropout source when training. */
  rng?: Rng;
}

/** The network label for time t [B] (exactly what `scoreFnFromModel` feeds the network). */
export function labelsForTime(sde: SDE, t: tf.Tensor, continuous = true): tf.Tensor {
  return tf.tidy(() => sde.parameterization.labels(t, continuous));
}

export function scoreFnFromModel(sde: SDE, model: ScoreNetwork, opts: ScoreFnOptions = {}): ScoreFn {
  const continuous = opts.continuous ?? true;
  if (typeof continuous !== "boolean") fail("scoreFnFromModel", "continuous", continuous, "true or false");
  const applyOpts = { training: opts.training ?? false, rng: opts.rng };
  const p = sde.parameterization;
  const toScore = p.outputToScore({ continuous, scaleBySigma: opts.scaleBySigma }, "scoreFnFromModel");
  return (x, t) =>
    tf.tidy(() => {
      const labels = p.labels(t, continuous);
      return toScore(model.apply(x, labels, applyOpts), t, labels);
    });
}
