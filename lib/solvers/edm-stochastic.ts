/**
 * EDM's stochastic sampler (Karras et al. 2022, Algorithm 2), in EDM's variables x̂ = x/α, σ̂ = σ/α as `heun`:
 * each step first adds noise ("churn") to climb from σ̂_s to σ̂_hat = (1 + γ) σ̂_s,
 *
 *   γ = min(S_churn / K, √2 − 1) if σ̂_s ∈ [S_tmin, S_tmax], else 0      (K = number of grid intervals)
 *   x̂_hat = x̂_s + √(σ̂_hat² − σ̂_s²) S_noise z,
 *
 * then takes one Heun step from σ̂_hat down to σ̂_t. σ̂_hat is capped at σ̂(T) (the score is defined on [0, T]; EDM's
 * networks accept any σ). Options: sChurn (default 10), sTmin (0), sTmax (∞), sNoise (1); sChurn = 0 is `heun`.
 * NFE 2 per step; draws one normal per step (even when γ = 0, so the draw order never depends on the options).
 */
import * as tf from "@tensorflow/tfjs";
import { edmSigma, heunStep } from "./heun";
import { modelOutputs } from "./model";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function edmStochastic(ctx: SolverContext): StepSolver {
  const o = readOptions("edm_stochastic", ctx.options, {
    sChurn: { default: 10, min: 0 },
    sTmin: { default: 0, min: 0 },
    sTmax: { default: Infinity, min: 0, allowInfinity: true },
    sNoise: { default: 1, min: 0 },
  }) as { sChurn: number; sTmin: number; sTmax: number; sNoise: number };
  const { sde } = ctx;
  const model = modelOutputs(sde, ctx.score);
  const K = ctx.grid.length - 1;
  const sigmaMax = edmSigma(sde, sde.T);
  return {
    name: "edm_stochastic",
    evalsPerStep: 2,
    stochastic: true,
    step(state, s, t, rng) {
      const { x } = state;
      const sigS = edmSigma(sde, s);
      const gamma = sigS >= o.sTmin && sigS <= o.sTmax ? Math.min(o.sChurn / K, Math.SQRT2 - 1) : 0;
      const sigHat = Math.min(sigS * (1 + gamma), sigmaMax);
      const tHat = sigHat > sigS ? Math.min(sde.T, Math.max(s, sde.tOfLambda(-Math.log(sigHat)))) : s;
      const z = rng.normal(x.shape);
      const xHat = tf.tidy(() => {
        const add = Math.sqrt(Math.max(0, sigHat * sigHat - sigS * sigS)) * o.sNoise;
        // x̂_hat = x̂_s + add z, back in x at time t_hat: x = α(t_hat) x̂.
        return x.div(sde.alphaAt(s)).add(z.mul(add)).mul(sde.alphaAt(tHat));
      });
      z.dispose();
      try {
        const out = heunStep(sde, model, xHat, tHat, t);
        return { x: out, xMean: out.clone(), history: [] };
      } finally {
        xHat.dispose();
      }
    },
  };
}

registerSolver("edm_stochastic", {
  create: edmStochastic,
  defaultGrid: "karras",
  evalsPerStep: 2,
  stochastic: true,
  summary: "EDM Algorithm 2 (churn, then Heun), 2 NFE per step",
});
