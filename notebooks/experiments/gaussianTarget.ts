/**
 * The analytic Gaussian target of the solver tests (test/solvers) and of notebook 08: data x₀ ~ N(μ, diag(s₀²)), so every marginal is
 * p_t = N(α(t) μ, α² s₀² + σ(t)²) per coordinate, the exact score is affine in x, and the probability-flow ODE maps
 * x_T to x_t = α_t μ + (sd_t/sd_T)(x_T − α_T μ) (sd_t = √(α_t² s₀² + σ_t²)) in closed form.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../lib/random";
import { SDE, perExample } from "../lib/sde";
import { runLoop } from "../lib/solvers";
import type { StepSolver } from "../lib/solvers";

export const MU = [1, -0.5];
export const S0 = [0.5, 0.3];

/** Exact score of N(α μ, α² s₀² + σ²) per coordinate. */
export function gaussianScore(sde: SDE) {
  return (x: tf.Tensor, t: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const { mean, std } = sde.marginalCoefficients(t);
      const m = perExample(mean, x);
      const v = m.square().mul(tf.tensor1d(S0.map((s) => s * s))).add(perExample(std, x).square());
      return x.sub(m.mul(tf.tensor1d(MU))).div(v).neg();
    });
}

/** The marginal standard deviation of coordinate d at time t. */
export const sdAt = (sde: SDE, t: number, d: number): number => Math.hypot(sde.alphaAt(t) * S0[d], sde.stdAt(t));

/** An Rng whose normal draws are fixed rows (the probe's z). */
export function fixedRng(rows: number[][]): Rng {
  return { normal: () => tf.tensor2d(rows) } as unknown as Rng;
}

const PROBE_X = [[0, 0], [1, 1], [0, 0]];
const PROBE_Z = [[0, 0], [0, 0], [1, 1]];

/**
 * 2-Wasserstein distance between the law a solver produces from the exact p_T and the exact p_eps, with no
 * Monte-Carlo noise: with the exact (affine) score every step is x' = A x + c + D z per coordinate (one normal per
 * step at most), read off a 3-row probe, and the mean and variance are propagated exactly.
 */
export async function lawError(sde: SDE, solver: StepSolver, grid: Float64Array): Promise<number> {
  const K = grid.length - 1;
  const mean = MU.map((m) => sde.alphaAt(grid[0]) * m);
  const variance = [0, 1].map((d) => sdAt(sde, grid[0], d) ** 2);
  const rng = fixedRng(PROBE_Z);
  for (let i = 0; i < K; i++) {
    const x = tf.tensor2d(PROBE_X);
    const next = await solver.step({ x, xMean: x, history: [] }, grid[i], grid[i + 1], rng);
    const o = next.x.dataSync();
    tf.dispose([x, next.x, next.xMean, ...next.history.map((h) => h.value)]);
    for (let d = 0; d < 2; d++) {
      const c = o[d];
      const A = o[2 + d] - c;
      const D = o[4 + d] - c;
      mean[d] = A * mean[d] + c;
      variance[d] = A * A * variance[d] + D * D;
    }
  }
  const eps = grid[K];
  return Math.hypot(...mean.map((m, d) => m - sde.alphaAt(eps) * MU[d]), ...variance.map((v, d) => Math.sqrt(v) - sdAt(sde, eps, d)));
}

/** Least-squares slope of log err against log K, sign flipped: the convergence order. */
export function order(Ks: number[], errs: number[]): number {
  const lx = Ks.map(Math.log);
  const ly = errs.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / lx.length;
  const my = ly.reduce((a, b) => a + b) / ly.length;
  let num = 0;
  let den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * (ly[i] - my);
    den += (x - mx) ** 2;
  });
  return -num / den;
}

/**
 * The same 2-Wasserstein error for a deterministic solver, multistep ones included: the solver's map x_T ↦ x_eps
 * is affine per coordinate, so running it on the two points α_T μ and α_T μ + sd_T gives the pushed-forward mean
 * and standard deviation directly.
 */
export async function flowLawError(sde: SDE, makeSolver: (score: ReturnType<typeof gaussianScore>) => StepSolver, grid: Float64Array): Promise<number> {
  const T = grid[0];
  const eps = grid[grid.length - 1];
  const X = [0, 1].map((k) => MU.map((m, d) => sde.alphaAt(T) * m + k * sdAt(sde, T, d)));
  const out = await runLoop({ where: "flowLawError", sde, score: gaussianScore(sde), makeSolver, grid, x: tf.tensor2d(X), rng: fixedRng([]) });
  const y = out.x.dataSync();
  tf.dispose([out.x, out.xMean]);
  const parts: number[] = [];
  for (let d = 0; d < 2; d++) {
    parts.push(y[d] - sde.alphaAt(eps) * MU[d]);
    parts.push(y[2 + d] - y[d] - sdAt(sde, eps, d));
  }
  return Math.hypot(...parts);
}
