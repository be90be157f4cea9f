/**
 * DDIM (Song, Meng & Ermon 2021, eq. 12), written for any marginal x_t = α x₀ + σ ε so that it runs on VE, VP and
 * sub-VP through the host schedule. One step from s to t < s, with ε̂ = ε̂(x, s), x̂₀ = (x − σ_s ε̂)/α_s:
 *
 *   x_t = α_t x̂₀ + √(σ_t² − c²) ε̂ + c z,   c = η σ_t √(1 − e^{−2h}),  h = λ_t − λ_s > 0.
 *
 * c is DDIM's σ_t(η) (for VP it is η √((1−ᾱ_t)/(1−ᾱ_s)) √(1 − ᾱ_s/ᾱ_t)); η = 0 is deterministic and is exactly
 * DPM-Solver-1 (first-order exponential integrator of the probability-flow ODE, Lu et al. 2022 §4.1), η = 1 is
 * the DDPM ancestral step. NFE 1 per step; draws one normal per step when η > 0, none when η = 0.
 */
import * as tf from "@tensorflow/tfjs";
import { modelOutputs } from "./model";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function ddim(ctx: SolverContext): StepSolver {
  const { eta } = readOptions("ddim", ctx.options, { eta: { default: 0, min: 0, max: 1 } }) as { eta: number };
  const { sde } = ctx;
  const model = modelOutputs(sde, ctx.score);
  return {
    name: "ddim",
    evalsPerStep: 1,
    stochastic: eta > 0,
    step(state, s, t, rng) {
      return tf.tidy(() => {
        const { x } = state;
        const [aS, sS, aT, sT] = [sde.alphaAt(s), sde.stdAt(s), sde.alphaAt(t), sde.stdAt(t)];
        const h = sde.lambdaAt(t) - sde.lambdaAt(s);
        const e = model.noise(x, s);
        const x0 = x.sub(e.mul(sS)).div(aS);
        const c = eta * sT * Math.sqrt(-Math.expm1(-2 * h));
        const xMean = x0.mul(aT).add(e.mul(Math.sqrt(Math.max(0, sT * sT - c * c))));
        if (eta === 0) return { x: xMean, xMean: xMean.clone(), history: [] };
        const z = rng.normal(x.shape);
        return { x: xMean.add(z.mul(c)), xMean, history: [] };
      });
    },
  };
}

registerSolver("ddim", {
  create: ddim,
  defaultGrid: "quadratic",
  evalsPerStep: 1,
  stochastic: false,
  summary: "DDIM (η option, default 0 = DPM-Solver-1; η = 1 ancestral), 1 NFE per step",
});
