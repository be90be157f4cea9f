/**
 * The predictor / corrector contract of the PC sampler (Song et al. 2021, §4.2, Algorithms 1–5), shaped like the
 * official `sampling.py`: a predictor is built from (sde, score, probabilityFlow), a corrector from
 * (sde, score, snr, nSteps), and both expose `update(x, t, rng) → {x, xMean}`.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { ScoreFn, SDE } from "../sde";

/** The result of one predictor or corrector update. */
export interface PCUpdateResult {
  /** The next state, noise included. */
  x: tf.Tensor;
  /** The next state without the noise of the last sub-step (the official `x_mean`; the denoised sample at t = eps). */
  xMean: tf.Tensor;
}

/** What a predictor is built from (the official `Predictor(sde, score_fn, probability_flow)`). */
export interface PredictorContext {
  sde: SDE;
  score: ScoreFn;
  /** Use the probability-flow ODE instead of the reverse SDE (½ g² s drift, no noise). */
  probabilityFlow: boolean;
}

/** What a corrector is built from (the official `Corrector(sde, score_fn, snr, n_steps)`). */
export interface CorrectorContext {
  sde: SDE;
  score: ScoreFn;
  /** Signal-to-noise ratio r of the Langevin step (Alg. 4/5), ≥ 0. */
  snr: number;
  /** Corrector steps per noise scale, integer ≥ 0. */
  nSteps: number;
}

/**
 * One update rule. `update` does not keep or dispose its inputs; the two tensors it returns are new, distinct
 * tensor objects owned by the caller (dispose both). `t` is [B], one time per example.
 */
export interface PCUpdater {
  readonly name: string;
  /** Standard-normal draws of x's shape that one `update` call makes (the official count, see README there). */
  readonly noiseDraws: number;
  /** Score evaluations that one `update` call makes. */
  readonly scoreEvals: number;
  update(x: tf.Tensor, t: tf.Tensor, rng: Rng): PCUpdateResult;
}

export type Predictor = PCUpdater;
export type Corrector = PCUpdater;
export type PredictorFactory = (ctx: PredictorContext) => Predictor;
export type CorrectorFactory = (ctx: CorrectorContext) => Corrector;
