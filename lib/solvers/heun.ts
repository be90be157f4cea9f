/**
 * EDM's deterministic sampler (Karras et al. 2022, Algorithm 1): Heun's second-order method on the
 * probability-flow ODE in EDM's variables x̂ = x/α and σ̂ = σ/α = e^{−λ}, where it reads dx̂/dσ̂ = ε̂(x, t) — the
 * noise prediction, i.e. (x̂ − D(x̂; σ̂))/σ̂ in EDM's notation (for VE, α = 1 and this is Algorithm 1 verbatim; for
 * VP / sub-VP it is Algorithm 1 with EDM's scaling s(t) = α(t)). One step from s to t:
 *
 *   d = ε̂(x_s, s);  x̂' = x̂_s + (σ̂_t − σ̂_s) d                    (Euler: this alone is DDIM)
 *   d' = ε̂(α_t x̂', t);  x̂_t = x̂_s + (σ̂_t − σ̂_s)(d + d')/2        (trapezoidal correction)
 *
 * NFE 2 per step (the grid ends at eps > 0, so there is no Euler-only last step); global order 2. Deterministic.
 * The EDM σ grid (ρ = 7) is `karrasGrid`.
 */
import * as tf from "@tensorflow/tfjs";
import type { SDE } from "../sde";
import { modelOutputs } from "./model";
import type { ModelOutputs } from "./model";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

/** σ̂(t) = σ(t)/α(t). */
export const edmSigma = (sde: SDE, t: number): number => sde.stdAt(t) / sde.alphaAt(t);

/** One Heun step in EDM variables from (x at time s) to time t; exported for edm_stochastic. */
export function heunStep(sde: SDE, model: ModelOutputs, x: tf.Tensor, s: number, t: number): tf.Tensor {
  return tf.tidy(() => {
    const [aS, aT] = [sde.alphaAt(s), sde.alphaAt(t)];
    const dSigma = edmSigma(sde, t) - edmSigma(sde, s);
    const xh = x.div(aS);
    const d = model.noise(x, s);
    const xEuler = xh.add(d.mul(dSigma));
    const d2 = model.noise(xEuler.mul(aT), t);
    return xh.add(d.add(d2).mul(0.5 * dSigma)).mul(aT);
  });
}

export function heun(ctx: SolverContext): StepSolver {
  readOptions("heun", ctx.options, {});
  const { sde } = ctx;
  const model = modelOutputs(sde, ctx.score);
  return {
    name: "heun",
    evalsPerStep: 2,
    stochastic: false,
    step(state, s, t) {
      const x = heunStep(sde, model, state.x, s, t);
      return { x, xMean: x.clone(), history: [] };
    },
  };
}

registerSolver("heun", {
  create: heun,
  defaultGrid: "karras",
  evalsPerStep: 2,
  stochastic: false,
  summary: "EDM Algorithm 1 (Heun in σ̂ = σ/α), 2 NFE per step, order 2",
});
