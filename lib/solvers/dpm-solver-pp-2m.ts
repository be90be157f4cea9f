/**
 * Multistep second-order DPM-Solver (Lu et al. 2022b, "DPM-Solver++", Algorithm 2), one score evaluation per
 * step: the model output m_i at each grid time is kept, and the step from t_i to t_{i+1} uses the last two,
 * with h = λ_{i+1} − λ_i, r = h_{i−1}/h (h_{i−1} = λ_i − λ_{i−1}) and D = (1 + 1/(2r)) m_i − (1/(2r)) m_{i−1}
 * (D = m_i on the first step, which is DPM-Solver-1 / DDIM):
 *
 *   prediction "data" (DPM-Solver++(2M), m = x̂₀):  x_{i+1} = (σ_{i+1}/σ_i) x_i − α_{i+1} (e^{−h} − 1) D
 *   prediction "noise" (multistep DPM-Solver-2, m = ε̂): x_{i+1} = (α_{i+1}/α_i) x_i − σ_{i+1} (e^h − 1) D
 *
 * Global order 2 on any grid; the data form is the one recommended for guided / few-step sampling. The history
 * travels in the solver state (one entry). NFE 1 per step; deterministic.
 */
import * as tf from "@tensorflow/tfjs";
import { modelOutputs } from "./model";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function dpmSolverPp2m(ctx: SolverContext): StepSolver {
  const { prediction } = readOptions("dpm_solver_pp_2m", ctx.options, { prediction: ["data", "noise"] as const }) as {
    prediction: "data" | "noise";
  };
  const { sde } = ctx;
  const model = modelOutputs(sde, ctx.score);
  const lam = (t: number) => sde.lambdaAt(t);
  return {
    name: "dpm_solver_pp_2m",
    evalsPerStep: 1,
    stochastic: false,
    step(state, s, t) {
      return tf.tidy(() => {
        const { x } = state;
        const h = lam(t) - lam(s);
        const m = prediction === "data" ? model.data(x, s) : model.noise(x, s);
        const prev = state.history[state.history.length - 1];
        let d = m;
        if (prev) {
          const r = (lam(s) - lam(prev.t)) / h;
          d = m.mul(1 + 1 / (2 * r)).sub(prev.value.mul(1 / (2 * r)));
        }
        const out =
          prediction === "data"
            ? x.mul(sde.stdAt(t) / sde.stdAt(s)).sub(d.mul(sde.alphaAt(t) * Math.expm1(-h)))
            : x.mul(sde.alphaAt(t) / sde.alphaAt(s)).sub(d.mul(sde.stdAt(t) * Math.expm1(h)));
        // tf.keep: m outlives this tidy as the next step's history (the loop frees it when it is replaced).
        return { x: out, xMean: out.clone(), history: [{ t: s, value: tf.keep(m) }] };
      });
    },
  };
}

registerSolver("dpm_solver_pp_2m", {
  create: dpmSolverPp2m,
  defaultGrid: "logsnr",
  evalsPerStep: 1,
  stochastic: false,
  summary: "multistep DPM-Solver++(2M) (Lu et al. 2022b; prediction 'data' default or 'noise'), 1 NFE per step, order 2",
});
