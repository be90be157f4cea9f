/**
 * How a score network's time label and output relate to the score, chosen by the SDE (the official
 * `models/utils.get_score_fn`, SPEC §1.2):
 *
 * - `scaleBySigma` (NCSN / NCSN++ on VE, Song & Ermon 2020): label σ(t) (continuous) or the index of σ in the
 *   descending discrete scales, round((T − t)(N − 1)); the network predicts σ·score and the score is output / σ.
 *   With the option `scaleBySigma: false` the output is the score itself, exactly as the official VE `score_fn`.
 * - `epsilonPrediction` (DDPM on VP / sub-VP, Ho et al. 2020): label 999·t (continuous) or t(N − 1) (discrete); the
 *   network predicts the noise ε of x_t = m(t) x₀ + s(t) ε and the score is −output / s(t), with the discrete
 *   chain's own s where it has one (DDPM's √(1 − ᾱ_i)).
 *
 * `scoreFnFromModel` (lib/models/score.ts) only composes labels → network → outputToScore, so an SDE with another
 * parameterisation brings its own object and nothing else changes.
 */
import * as tf from "@tensorflow/tfjs";
import { fail } from "../validate";
import type { SDE } from "./sde";
import { perExample } from "./time";

export interface ParameterizationOptions {
  /** Continuous-time labels (true) or the official discrete ones (false). */
  continuous: boolean;
  /** Scale-by-σ only: false returns the network output as the score. */
  scaleBySigma?: boolean;
}

export interface NetworkParameterization {
  /** "scale-by-sigma" or "epsilon" (for messages and records). */
  readonly name: string;
  /** The network's label for times t [B]. */
  labels(t: tf.Tensor, continuous: boolean): tf.Tensor;
  /**
   * Checks the options and prepares what they need once (tables); returns the map from the network output (for
   * inputs at times t, fed `labels`) to the score. `where` names the caller in errors.
   */
  outputToScore(opts: ParameterizationOptions, where: string): (out: tf.Tensor, t: tf.Tensor, labels: tf.Tensor) => tf.Tensor;
}

/** What scale-by-σ needs from its SDE: σ(t) and the geometric discrete scales σ_min … σ_max. */
export interface SigmaSchedule {
  readonly T: number;
  readonly N: number;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  sigma(t: tf.Tensor): tf.Tensor;
}

/** The NCSN++ VE parameterisation (see the module comment). */
export function scaleBySigma(sde: SigmaSchedule): NetworkParameterization {
  return {
    name: "scale-by-sigma",
    labels: (t, continuous) => (continuous ? sde.sigma(t) : tf.round(tf.scalar(sde.T).sub(t).mul(sde.N - 1))),
    outputToScore(opts) {
      if (!(opts.scaleBySigma ?? true)) return (out) => out;
      // Discrete labels index the DESCENDING σ's: σ = σ_max (σ_min/σ_max)^{label/(N−1)}, computed, not gathered.
      const step = sde.N > 1 ? Math.log(sde.sigmaMax / sde.sigmaMin) / (sde.N - 1) : 0;
      const continuous = opts.continuous;
      return (out, _t, labels) => {
        const sigma = continuous ? labels : labels.mul(-step).add(Math.log(sde.sigmaMax)).exp();
        return out.div(perExample(sigma, out));
      };
    },
  };
}

/** A discrete chain's own labels and noise std, for `epsilonPrediction` with continuous = false. */
export interface DiscreteEpsilon {
  labels(t: tf.Tensor): tf.Tensor;
  /** Prepares the std lookup once (e.g. a table); returns s_i at the step index of t, [B]. */
  std(): (t: tf.Tensor) => tf.Tensor;
}

/**
 * The DDPM parameterisation (see the module comment). Without `discrete`, discrete labels are treated as
 * continuous, as the official code does for sub-VP.
 */
export function epsilonPrediction(sde: SDE, discrete?: DiscreteEpsilon): NetworkParameterization {
  return {
    name: "epsilon",
    labels: (t, continuous) => (continuous || !discrete ? t.mul(999) : discrete.labels(t)),
    outputToScore(opts, where) {
      if (opts.scaleBySigma) fail(where, "scaleBySigma", true, `false or unset for ${sde.kind} (the network predicts ε)`);
      const std = !opts.continuous && discrete ? discrete.std() : (t: tf.Tensor) => sde.marginalCoefficients(t).std;
      return (out, t) => out.div(perExample(std(t), out)).neg();
    },
  };
}
