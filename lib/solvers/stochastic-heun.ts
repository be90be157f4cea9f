/**
 * Stochastic Heun: the reverse SDE dx = b(x, t) dt + g(t) dw̄, b = f − g² s, with the weak-order-2 predictor–
 * corrector scheme for additive noise (Kloeden & Platen 1992, §15.1, eq. 1.1; the noise g(t) does not depend on x
 * for every SDE here). One step from s to t < s, dt = t − s, ΔW = √(s − t) z with ONE normal z:
 *
 *   x̃ = x + b(x, s) dt + g(s) ΔW                                      (Euler–Maruyama predictor)
 *   x_t = x + ½ (b(x, s) + b(x̃, t)) dt + ½ (g(s) + g(t)) ΔW            (trapezoidal corrector)
 *
 * Averaging g over the step keeps the variance of ∫g dW̄ right to O(dt³) per step, so the weak order stays 2 for
 * time-dependent g. NFE 2 per step; xMean is x_t without the ΔW term.
 */
import * as tf from "@tensorflow/tfjs";
import { perExample, timeVector } from "../sde";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function stochasticHeun(ctx: SolverContext): StepSolver {
  readOptions("stochastic_heun", ctx.options, {});
  const { sde } = ctx;
  const rsde = sde.reverse(ctx.score);
  return {
    name: "stochastic_heun",
    evalsPerStep: 2,
    stochastic: true,
    step(state, s, t, rng) {
      return tf.tidy(() => {
        const { x } = state;
        const B = x.shape[0];
        const dt = t - s;
        const ts = timeVector(s, B, sde.T, "stochastic_heun");
        const tt = timeVector(t, B, sde.T, "stochastic_heun");
        const dW = rng.normal(x.shape).mul(Math.sqrt(-dt));
        const gS = perExample(sde.diffusion(ts), x);
        const gT = perExample(sde.diffusion(tt), x);
        const b = rsde.drift(x, ts);
        const xPred = x.add(b.mul(dt)).add(gS.mul(dW));
        const xMean = x.add(b.add(rsde.drift(xPred, tt)).mul(0.5 * dt));
        return { x: xMean.add(gS.add(gT).mul(0.5).mul(dW)), xMean, history: [] };
      });
    },
  };
}

registerSolver("stochastic_heun", {
  create: stochasticHeun,
  defaultGrid: "uniform",
  evalsPerStep: 2,
  stochastic: true,
  summary: "stochastic Heun on the reverse SDE (weak order 2 for additive noise), 2 NFE per step",
});
