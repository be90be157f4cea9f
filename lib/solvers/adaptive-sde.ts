/**
 * Adaptive-step reverse-SDE solver of Jolicoeur-Martineau et al. 2021 ("Gotta Go Fast When Generating Data with
 * Score-Based Models", Algorithm 1): a Euler–Maruyama step and an improved-Euler (stochastic Heun) step share one
 * noise draw; their difference estimates the local error, the higher-order one is kept (extrapolation), and each
 * example has its OWN time and step size, as in the paper. Per iteration, with h the example's step and z ~ N(0, I):
 *
 *   x'  = x − h b(x, t) + √h g(t) z                  (b = f − g² s, the reverse drift)
 *   x̃  = x − h b(x', t − h) + √h g(t − h) z
 *   x'' = ½ (x' + x̃)
 *   δ = max(ε_abs, ε_rel · max(|x'|, |x'_prev|)),   E = ‖(x' − x'')/δ‖₂ / √n   (per example)
 *   accept if E ≤ 1: x ← x'', t ← t − h, x'_prev ← x';   always h ← min(θ h E^{−r}, t − t_end)
 *
 * Options (the paper's defaults): rtol ε_rel 0.01, atol ε_abs 0.0078, hInit 0.01, safety θ 0.9, exponent r 0.9,
 * maxIterations 10 000 (then a clear error), reject true. As a step solver it integrates adaptively from t to tNext, so the
 * usual grid is just [T, eps] (`steps: 1`). NFE = 2 per iteration (the loop counts them); one normal per iteration.
 *
 * Rejections. As in the paper, a rejected step is retried with a FRESH normal. That biases the law: whether a step
 * is rejected depends on its z (the error estimate contains √h z terms), so accepted increments are not Gaussian
 * (Rackauckas & Nie 2017 discuss this and fix it with a Brownian bridge, "rejection sampling with memory"). On the
 * Gaussian target with the exact score the samples come out too wide, more so at tighter tolerances (see the
 * tests). `reject: false` keeps every step and uses the error estimate only to choose the next step size: the
 * increments stay exact Gaussian draws and the law converges (also fewer NFE).
 */
import * as tf from "@tensorflow/tfjs";
import { perExample } from "../sde";
import { readOptions } from "./options";
import { registerSolver } from "./registry";
import type { SolverContext, StepSolver } from "./types";

export function adaptiveSde(ctx: SolverContext): StepSolver {
  const o = readOptions("adaptive_sde", ctx.options, {
    rtol: { default: 0.01, min: 0 },
    atol: { default: 0.0078, min: 0 },
    hInit: { default: 0.01, min: 1e-12 },
    safety: { default: 0.9, min: 1e-3, max: 1 },
    exponent: { default: 0.9, min: 0.1, max: 2 },
    maxIterations: { default: 10_000, min: 1 },
    reject: { boolean: true, default: true },
  }) as { rtol: number; atol: number; hInit: number; safety: number; exponent: number; maxIterations: number; reject: boolean };
  if (o.rtol === 0 && o.atol === 0) throw new RangeError("adaptive_sde: options.rtol and options.atol are both 0; at least one must be > 0");
  const { sde } = ctx;
  const rsde = sde.reverse(ctx.score);
  const T = sde.T;
  return {
    name: "adaptive_sde",
    evalsPerStep: NaN,
    stochastic: true,
    step(state, tStart, tEnd, rng) {
      const x0 = state.x;
      const B = x0.shape[0];
      const n = x0.size / B;
      const tNow = new Float64Array(B).fill(tStart);
      const h = new Float64Array(B).fill(Math.min(o.hInit, tStart - tEnd));
      let x = x0.clone();
      let xPrev = x0.clone();
      let xMean = x0.clone();
      const tv = (v: Float64Array) => tf.tensor1d(Float32Array.from(v));
      try {
        for (let iter = 0; ; iter++) {
          const active = Array.from(tNow, (t) => t > tEnd);
          if (!active.includes(true)) break;
          if (iter >= o.maxIterations) {
            throw new RangeError(`adaptive_sde: options.maxIterations = ${o.maxIterations} reached between t = ${tStart} and ${tEnd} (${active.filter(Boolean).length} examples unfinished); loosen rtol/atol or raise maxIterations`);
          }
          const hEff = Float64Array.from(tNow, (t, i) => (active[i] ? Math.min(h[i], t - tEnd) : 0));
          const tNext = Float64Array.from(tNow, (t, i) => (active[i] ? (hEff[i] === t - tEnd ? tEnd : t - hEff[i]) : t));
          const step = tf.tidy(() => {
            const t1 = tv(tNow);
            const t2 = tv(tNext);
            const hv = perExample(tf.tensor1d(Float32Array.from(hEff)), x);
            const sq = hv.sqrt();
            const z = rng.normal(x.shape);
            const xE = x.sub(hv.mul(rsde.drift(x, t1))).add(sq.mul(perExample(sde.diffusion(t1), x)).mul(z));
            const xT = x.sub(hv.mul(rsde.drift(xE, t2))).add(sq.mul(perExample(sde.diffusion(t2), x)).mul(z));
            const xH = xE.add(xT).mul(0.5);
            // The noise-free part of x'' (for xMean): ½(x'+x̃) minus the shared noise term ½ √h (g₁ + g₂) z.
            const noise = sq.mul(perExample(sde.diffusion(t1).add(sde.diffusion(t2)), x)).mul(0.5).mul(z);
            const delta = tf.maximum(xE.abs().maximum(xPrev.abs()).mul(o.rtol), o.atol);
            const err = xE.sub(xH).div(delta).square().reshape([B, n]).mean(1).sqrt();
            return { xE, xH, mean: xH.sub(noise), err };
          });
          const err = step.err.dataSync();
          const accept = Array.from(err, (e, i) => active[i] && (!o.reject || e <= 1));
          const [nx, np, nm] = tf.tidy(() => {
            const mask = perExample(tf.tensor1d(accept, "bool"), x);
            return [tf.where(mask, step.xH, x), tf.where(mask, step.xE, xPrev), tf.where(mask, step.mean, xMean)];
          });
          tf.dispose([x, xPrev, xMean, step.xE, step.xH, step.mean, step.err]);
          [x, xPrev, xMean] = [nx, np, nm];
          for (let i = 0; i < B; i++) {
            if (!active[i]) continue;
            if (accept[i]) tNow[i] = tNext[i];
            if (!Number.isFinite(err[i])) {
              throw new RangeError(`adaptive_sde: the error estimate of example ${i} is not finite at t = ${tNow[i]} (the score returned NaN/Infinity there)`);
            }
            const factor = o.safety * (err[i] > 0 ? err[i] ** -o.exponent : 10);
            h[i] = Math.max(1e-12, Math.min(hEff[i] * Math.min(factor, 10), T));
          }
        }
        return { x, xMean, history: [] };
      } catch (e) {
        tf.dispose([x, xMean]);
        throw e;
      } finally {
        xPrev.dispose();
      }
    },
  };
}

registerSolver("adaptive_sde", {
  create: adaptiveSde,
  defaultGrid: "uniform",
  evalsPerStep: NaN,
  stochastic: true,
  summary: "adaptive reverse-SDE solver (Jolicoeur-Martineau et al. 2021; per-example steps), 2 NFE per iteration",
});
