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
 * scale-by-σ lives HERE, in the wrapper, not in the networks: with `scaleBySigma` (default true for VE, as every
 * official NCSN++ VE config) the VE network predicts σ·score (unit scale, like VP's ε) and the wrapper divides by
 * σ — σ(t) when continuous, the discrete σ of the label when discrete. With `scaleBySigma: false` the network
 * output is returned as the score, exactly as the official VE score_fn (this is what the official reference
 * vectors' stand-in network assumes).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { SDE, ScoreFn } from "../sde";
import { VESDE } from "../sde";
import { VPSDE } from "../sde";
import { fail } from "../validate";
import type { ScoreNetwork } from "./network";

export interface ScoreFnOptions {
  /** Continuous-time labels (default true). False gives the official discrete (SMLD / DDPM) labels. */
  continuous?: boolean;
  /** VE only: the network predicts σ·score and the wrapper divides by σ (default true). */
  scaleBySigma?: boolean;
  /** Training mode (dropout on), passed to the network. */
  training?: boolean;
  /** Dropout source when training. */
  rng?: Rng;
}

/** The network label for time t [B] (exactly what `scoreFnFromModel` feeds the network). */
export function labelsForTime(sde: SDE, t: tf.Tensor, continuous = true): tf.Tensor {
  return tf.tidy(() => {
    if (sde.kind === "VE") {
      if (continuous) return (sde as VESDE).sigma(t);
      return tf.round(tf.scalar(sde.T).sub(t).mul(sde.N - 1));
    }
    if (continuous || sde.kind === "subVP") return t.mul(999);
    return t.mul(sde.N - 1);
  });
}

export function scoreFnFromModel(sde: SDE, model: ScoreNetwork, opts: ScoreFnOptions = {}): ScoreFn {
  const continuous = opts.continuous ?? true;
  if (typeof continuous !== "boolean") fail("scoreFnFromModel", "continuous", continuous, "true or false");
  const applyOpts = { training: opts.training ?? false, rng: opts.rng };

  if (sde.kind === "VE") {
    const ve = sde as VESDE;
    const scale = opts.scaleBySigma ?? true;
    const step = ve.N > 1 ? Math.log(ve.sigmaMax / ve.sigmaMin) / (ve.N - 1) : 0;
    return (x, t) =>
      tf.tidy(() => {
        const labels = labelsForTime(sde, t, continuous);
        const out = model.apply(x, labels, applyOpts);
        if (!scale) return out;
        // Continuous: σ is the label itself. Discrete: the label indexes the DESCENDING σ's, so
        // σ = σ_max (σ_min/σ_max)^{label/(N−1)} — computed, not gathered.
        const sigma = continuous ? labels : labels.mul(-step).add(Math.log(ve.sigmaMax)).exp();
        return out.div(sigma.reshape([-1, ...new Array(x.rank - 1).fill(1)]));
      });
  }

  if (opts.scaleBySigma) fail("scoreFnFromModel", "scaleBySigma", true, `false or unset for ${sde.kind} (the network predicts ε)`);
  const discreteVP = !continuous && sde.kind === "VP";
  const sqrt1m = discreteVP ? Float32Array.from((sde as VPSDE).alphasCumprod(), (a) => Math.sqrt(1 - a)) : undefined;
  return (x, t) =>
    tf.tidy(() => {
      const labels = labelsForTime(sde, t, continuous);
      let std: tf.Tensor;
      if (sqrt1m) {
        // A lookup in a constant table: gather is fine here because nothing differentiates through the table.
        std = tf.gather(tf.tensor1d(sqrt1m), sde.timestepIndex(t));
      } else {
        std = sde.marginalCoefficients(t).std;
      }
      const out = model.apply(x, labels, applyOpts);
      return out.div(std.reshape([-1, ...new Array(x.rank - 1).fill(1)])).neg();
    });
}
