/**
 * Singlestep DPM-Solver of orders 1, 2, 3 (Lu et al. 2022, "DPM-Solver", Algorithms 1–2 with r₁ = ½ for order 2,
 * r₁ = ⅓, r₂ = ⅔ for order 3), the noise-prediction form: the probability-flow ODE solved exactly in its linear
 * part, x_t = (α_t/α_s) x_s − α_t ∫ e^{−λ} ε̂ dλ, with ε̂ expanded to order k in λ. With h = λ_t − λ_s and
 * φ₁(h) = e^h − 1:
 *
 *   order 1:  x_t = (α_t/α_s) x − σ_t φ₁(h) ε̂_s                                        (= DDIM with η = 0)
 *   order 2:  u = (α_{s₁}/α_s) x − σ_{s₁} φ₁(r₁h) ε̂_s,   λ_{s₁} = λ_s + r₁h
 *             x_t = (α_t/α_s) x − σ_t φ₁(h) ε̂_s − σ_t/(2r₁) φ₁(h) (ε̂(u, s₁) − ε̂_s)
 *   order 3:  u₁ as u above; D₁ = ε̂(u₁, s₁) − ε̂_s
 *             u₂ = (α_{s₂}/α_s) x − σ_{s₂} φ₁(r₂h) ε̂_s − σ_{s₂} (r₂/r₁) (φ₁(r₂h)/(r₂h) − 1) D₁
 *             D₂ = ε̂(u₂, s₂) − ε̂_s;   x_t = (α_t/α_s) x − σ_t φ₁(h) ε̂_s − (σ_t/r₂)(φ₁(h)/h − 1) D₂
 *
 * Intermediate times come from the SDE's t(λ), so the same code runs on VE, VP and sub-VP. NFE per step = order;
 * global error O(h^order). Deterministic: draws nothing.
 */
import * as tf from "@tensorflow/tfjs";
import { modelOutputs } from "./model";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function dpmSolver(order: 1 | 2 | 3) {
  return (ctx: SolverContext): StepSolver => {
    const name = `dpm_solver_${order}`;
    readOptions(name, ctx.options, {});
    const { sde } = ctx;
    const model = modelOutputs(sde, ctx.score);
    const lam = (t: number) => sde.lambdaAt(t);
    /** (α_u/α_s) x − σ_u φ₁(λ_u − λ_s) ε̂_s: the first-order move from s to u. */
    const firstOrder = (x: tf.Tensor, e: tf.Tensor, s: number, u: number) =>
      x.mul(sde.alphaAt(u) / sde.alphaAt(s)).sub(e.mul(sde.stdAt(u) * Math.expm1(lam(u) - lam(s))));
    return {
      name,
      evalsPerStep: order,
      stochastic: false,
      step(state, s, t) {
        return tf.tidy(() => {
          const { x } = state;
          const h = lam(t) - lam(s);
          const e = model.noise(x, s);
          let out: tf.Tensor;
          if (order === 1) {
            out = firstOrder(x, e, s, t);
          } else if (order === 2) {
            const r1 = 0.5;
            const s1 = sde.tOfLambda(lam(s) + r1 * h);
            const d1 = model.noise(firstOrder(x, e, s, s1), s1).sub(e);
            out = firstOrder(x, e, s, t).sub(d1.mul((sde.stdAt(t) / (2 * r1)) * Math.expm1(h)));
          } else {
            const r1 = 1 / 3;
            const r2 = 2 / 3;
            const s1 = sde.tOfLambda(lam(s) + r1 * h);
            const s2 = sde.tOfLambda(lam(s) + r2 * h);
            const d1 = model.noise(firstOrder(x, e, s, s1), s1).sub(e);
            const u2 = firstOrder(x, e, s, s2).sub(d1.mul(sde.stdAt(s2) * (r2 / r1) * (Math.expm1(r2 * h) / (r2 * h) - 1)));
            const d2 = model.noise(u2, s2).sub(e);
            out = firstOrder(x, e, s, t).sub(d2.mul((sde.stdAt(t) / r2) * (Math.expm1(h) / h - 1)));
          }
          return { x: out, xMean: out.clone(), history: [] };
        });
      },
    };
  };
}

for (const order of [1, 2, 3] as const) {
  registerSolver(`dpm_solver_${order}`, {
    create: dpmSolver(order),
    defaultGrid: "logsnr",
    evalsPerStep: order,
    stochastic: false,
    summary: `singlestep DPM-Solver-${order} (Lu et al. 2022, noise prediction), ${order} NFE per step, order ${order}`,
  });
}
