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

/**
 * The same exact score with its schedule evaluated on the host in float64 at the (float32) times it is given, for the
 * convergence measurements (lawError, flowLawError). Why: gaussianScore takes σ(t) from the SDE's float32 tensor
 * code, and for VE σ = exp(t log(σ_max/σ_min) + log σ_min) carries a systematic relative error of ~5e-7 (the float32
 * rounding of an exponent up to ~8.5), i.e. it is the exact score of a slightly different target; the solver's
 * coefficients use the float64 host σ. On VE that mismatch alone puts a K-independent floor of ~1.5e-6 under the W2
 * error (DPM-Solver-3: 3.90e-5 / 1.42e-5 / 2.86e-6 / 2.70e-7 at K = 24 / 32 / 48 / 64 against 4.05e-5 / 1.60e-5 /
 * 4.42e-6 / 1.80e-6 in float64; a float64 reference with only that σ rounded reproduces the float32 numbers), which
 * bent the fitted orders. Reading t back costs a device sync per call: fine for 2–3-row probes, not for sampling.
 */
export function gaussianScoreHost(sde: SDE) {
  return (x: tf.Tensor, t: tf.Tensor): tf.Tensor => {
    const ts = t.dataSync();
    const D = MU.length;
    const mean = new Float32Array(ts.length * D);
    const variance = new Float32Array(ts.length * D);
    ts.forEach((ti, b) => {
      const a = sde.alphaAt(ti);
      const s = sde.stdAt(ti);
      for (let d = 0; d < D; d++) {
        mean[b * D + d] = a * MU[d];
        variance[b * D + d] = a * a * S0[d] * S0[d] + s * s;
      }
    });
    return tf.tidy(() => x.sub(tf.tensor2d(mean, [ts.length, D])).div(tf.tensor2d(variance, [ts.length, D])).neg());
  };
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
 * The convergence order with the next term of the error expansion fitted too: e = A h^p (1 + b h + O(h²)), so
 * log e = log A + p log h + b h + O(h²); with h ∝ 1/K that is the linear least squares
 * log e = a − p log K + c/K (three coefficients, so at least four K). Why: the plain slope (`order`) carries the O(h)
 * bias b·h, which is small for most solvers but not for DPM-Solver-3, whose h⁴ term is about as large as its h³ term
 * per unit of λ-step (float64, logSNR grid, VE: plain local slopes 3.37 / 3.23 / 3.13 / 3.07 / 3.03 at K = 16 / 32 /
 * 64 / 128 / 256, i.e. 3 + O(1/K)); the K where the plain slope is within 0.1 of 3 (K ≳ 100) have W2 errors below
 * the float32 rounding of the library (~2–4e-7 here). Returns p.
 */
export function orderWithNextTerm(Ks: number[], errs: number[]): number {
  if (Ks.length < 4 || Ks.length !== errs.length) {
    throw new Error(`orderWithNextTerm: Ks.length = ${Ks.length} and errs.length = ${errs.length}; need equal lengths ≥ 4 (three coefficients are fitted)`);
  }
  const rows = Ks.map((K) => [1, -Math.log(K), 1 / K]);
  const y = errs.map(Math.log);
  // Normal equations (3 × 3), solved by Gaussian elimination with partial pivoting.
  const M = [0, 1, 2].map((a) => [0, 1, 2].map((b) => rows.reduce((s, r) => s + r[a] * r[b], 0)).concat(rows.reduce((s, r, i) => s + r[a] * y[i], 0)));
  for (let i = 0; i < 3; i++) {
    let piv = i;
    for (let k = i + 1; k < 3; k++) if (Math.abs(M[k][i]) > Math.abs(M[piv][i])) piv = k;
    [M[i], M[piv]] = [M[piv], M[i]];
    for (let k = 0; k < 3; k++) {
      if (k === i) continue;
      const f = M[k][i] / M[i][i];
      for (let j = i; j < 4; j++) M[k][j] -= f * M[i][j];
    }
  }
  return M[1][3] / M[1][1];
}

/**
 * The same 2-Wasserstein error for a deterministic solver, multistep ones included: the solver's map x_T ↦ x_eps
 * is affine per coordinate, so running it on the two points α_T μ and α_T μ + sd_T gives the pushed-forward mean
 * and standard deviation directly.
 */
export async function flowLawError(sde: SDE, makeSolver: (score: ReturnType<typeof gaussianScoreHost>) => StepSolver, grid: Float64Array): Promise<number> {
  const T = grid[0];
  const eps = grid[grid.length - 1];
  const X = [0, 1].map((k) => MU.map((m, d) => sde.alphaAt(T) * m + k * sdAt(sde, T, d)));
  const out = await runLoop({ where: "flowLawError", sde, score: gaussianScoreHost(sde), makeSolver, grid, x: tf.tensor2d(X), rng: fixedRng([]) });
  const y = out.x.dataSync();
  tf.dispose([out.x, out.xMean]);
  const parts: number[] = [];
  for (let d = 0; d < 2; d++) {
    parts.push(y[d] - sde.alphaAt(eps) * MU[d]);
    parts.push(y[2 + d] - y[d] - sdAt(sde, eps, d));
  }
  return Math.hypot(...parts);
}
