/**
 * Gaussian mixtures with exact densities and exact scores under every SDE marginal — the oracle that lets samplers,
 * ODE solvers and likelihood code be measured apart from any network error.
 *
 * If x₀ ~ Σ_k w_k N(μ_k, S_k) and the perturbation kernel is x_t | x₀ ~ N(m(t) x₀, s(t)² I), then
 *   p_t(x) = Σ_k w_k N(x; m μ_k, C_k),  C_k = m² S_k + s² I,
 *   ∇ log p_t(x) = −Σ_k r_k(x) C_k⁻¹ (x − m μ_k),  r_k = posterior responsibility of component k,
 * as the official reference vectors' `gmm_score` / `gmm_logp_t` (see shared/reference/README.md).
 *
 * Numerics: each S_k = U_k diag(λ_k) U_kᵀ is eigendecomposed once on the host in float64. C_k shares U_k, with
 * eigenvalues v = m² λ_k + s², so for any per-example (m, s) the inverse and log-determinant are elementwise:
 * with y = U_kᵀ (x − m μ_k), the quadratic form is Σ y²/v, log det C_k = Σ log v, and C_k⁻¹(x − m μ_k) = U_k (y/v).
 * The difference x − m μ_k is formed before rotating, so near a mean it is exact (Sterbenz) rather than the small
 * difference of two rotated large numbers. Responsibilities use log-sum-exp. Everything is float32 tensor ops laid
 * out [K, B, d] with no host reads, so it runs inside sampler loops without a read-back per step.
 *
 * Accuracy: against the official float64 values the score agrees to ≤ 1e-5 relative (log-density ≤ 2e-7). The
 * worst point is x = 0 at t ≈ 0, several standard deviations from every component: there the score (≈ −1.36) is
 * a near-cancellation of component terms C_k⁻¹(x − m μ_k) of size ≈ 17, so it amplifies absolute errors in the
 * logits (|logit| ≈ 10, float32 rounding ≈ 1e-6) about 25-fold. Measured in float64: merely rounding the mixture's
 * parameters to float32 (μ = −1.2, S entries 0.03, …), with exact arithmetic otherwise, moves the score there by
 * 5.7e-6 relative; the float32 operations add a comparable random part (total 1.0e-5 wasm, 9.5e-6 cpu). A
 * compensated (Dekker) m·μ product carried into the quadratic form was tried in emulation and does not help
 * consistently (other roundings are as large); only double-float parameters and arithmetic throughout would.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { SDE, ScoreFn } from "../sde";
import { dimsOf } from "../sde";
import { checkBatched, checkPositiveInt, fail, fmt } from "../validate";
import { symmetricEigen } from "./linalg";
import type { ToyDistribution } from "./types";

export interface GaussianMixtureConfig {
  /** K positive weights summing to 1 (within 1e-6). */
  weights: readonly number[];
  /** K means, each of length d. */
  means: readonly (readonly number[])[];
  /** K symmetric positive definite d × d covariances. */
  covariances: readonly (readonly (readonly number[])[])[];
  /** A label for plots and tables. */
  name?: string;
}

const WHERE = "GaussianMixture";
const LOG_2PI = Math.log(2 * Math.PI);
/** Largest finite float32 and smallest normal float32: the mixture is evaluated in float32 tensors. */
const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 2 ** -126;
const F32_RANGE = `a finite number within float32 range (|v| ≤ ${F32_MAX}; the mixture is evaluated in float32)`;

/** Device-side constants, created lazily (after the backend is chosen) and kept out of any caller's tidy. */
interface Consts {
  logW: tf.Tensor2D; // [K, 1]
  mu: tf.Tensor3D; // [K, 1, d]
  lam: tf.Tensor3D; // [K, 1, d]  eigenvalues of S_k
  U: tf.Tensor3D; // [K, d, d]  eigenvectors as columns
  Ut: tf.Tensor3D; // [K, d, d]  U_kᵀ, stored so that no matMul needs a transpose flag (slow on wasm)
}

export class GaussianMixture implements ToyDistribution {
  readonly name: string;
  readonly dim: number;
  /** Number of components K. */
  readonly numComponents: number;
  readonly weights: readonly number[];
  readonly means: readonly (readonly number[])[];
  readonly covariances: readonly (readonly (readonly number[])[])[];
  /** Host float64 eigendecompositions: eigenvalues [K][d] and eigenvectors (row-major d × d, columns) [K]. */
  private readonly eigValues: Float64Array[];
  private readonly eigVectors: Float64Array[];
  private consts: Consts | undefined;
  /** True when every S_k is diagonal (then U_k = I exactly and the rotations are skipped). */
  private readonly axisAligned: boolean;

  constructor(cfg: GaussianMixtureConfig) {
    if (cfg === null || typeof cfg !== "object") fail(WHERE, "config", cfg, "an object {weights, means, covariances}");
    const { weights, means, covariances } = cfg;
    if (!Array.isArray(weights) || weights.length === 0) fail(WHERE, "weights", weights, "a non-empty array of numbers");
    const K = weights.length;
    let sum = 0;
    weights.forEach((w, k) => {
      if (typeof w !== "number" || !Number.isFinite(w) || w <= 0) fail(WHERE, `weights[${k}]`, w, "a finite number > 0");
      sum += w;
    });
    if (Math.abs(sum - 1) > 1e-6) fail(WHERE, "weights", weights, `positive numbers summing to 1 within 1e-6 (they sum to ${sum})`);
    if (!Array.isArray(means) || means.length !== K) fail(WHERE, "means", means, `an array of K = ${K} mean vectors (one per weight)`);
    if (!Array.isArray(means[0]) || means[0].length === 0) fail(WHERE, "means[0]", means[0], "a non-empty array of numbers");
    const d = means[0].length;
    means.forEach((m, k) => {
      if (!Array.isArray(m) || m.length !== d) fail(WHERE, `means[${k}]`, m, `an array of d = ${d} numbers (as means[0])`);
      m.forEach((v, i) => {
        if (typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) > F32_MAX) fail(WHERE, `means[${k}][${i}]`, v, F32_RANGE);
      });
    });
    if (!Array.isArray(covariances) || covariances.length !== K) {
      fail(WHERE, "covariances", covariances, `an array of K = ${K} covariance matrices (one per weight)`);
    }
    this.eigValues = [];
    this.eigVectors = [];
    covariances.forEach((S, k) => {
      if (!Array.isArray(S) || S.length !== d || S.some((row) => !Array.isArray(row) || row.length !== d)) {
        fail(WHERE, `covariances[${k}]`, S, `a ${d} × ${d} matrix (array of ${d} rows of ${d} numbers)`);
      }
      const flatS = new Float64Array(d * d);
      let scale = 0;
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          const v = S[i][j];
          if (typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) > F32_MAX) fail(WHERE, `covariances[${k}][${i}][${j}]`, v, F32_RANGE);
          flatS[i * d + j] = v;
          scale = Math.max(scale, Math.abs(v));
        }
      }
      for (let i = 0; i < d; i++) {
        for (let j = i + 1; j < d; j++) {
          if (Math.abs(S[i][j] - S[j][i]) > 1e-9 * scale) {
            fail(WHERE, `covariances[${k}]`, S, `symmetric (entry [${i}][${j}] = ${S[i][j]} but [${j}][${i}] = ${S[j][i]})`);
          }
        }
      }
      // Symmetrise exactly so the eigenvectors are orthogonal to rounding.
      for (let i = 0; i < d; i++) {
        for (let j = i + 1; j < d; j++) flatS[i * d + j] = flatS[j * d + i] = 0.5 * (S[i][j] + S[j][i]);
      }
      const { values, vectors } = symmetricEigen(flatS, d);
      const maxEig = Math.max(...values);
      const minEig = Math.min(...values);
      // Below ~1e-12 relative, the eigenvalue is rounding noise: the matrix is singular for all practical purposes.
      if (!(minEig > 1e-12 * maxEig && minEig > 0)) {
        fail(WHERE, `covariances[${k}]`, S, `positive definite (its smallest eigenvalue is ${fmt(minEig)})`);
      }
      // Eigenvalues below the smallest normal float32 become subnormal or zero on the device (log det −∞, NaN).
      if (minEig < F32_MIN_NORMAL || maxEig > F32_MAX) {
        fail(WHERE, `covariances[${k}]`, S, `a matrix whose eigenvalues lie in float32's normal range [2^-126, ${F32_MAX}] (they span ${fmt(minEig)} … ${fmt(maxEig)})`);
      }
      this.eigValues.push(values);
      this.eigVectors.push(vectors);
    });
    this.axisAligned = this.eigVectors.every((v) => v.every((u, i) => u === (i % (d + 1) === 0 ? 1 : 0)));
    this.name = cfg.name ?? `gmm${K}`;
    this.dim = d;
    this.numComponents = K;
    this.weights = weights.slice();
    this.means = means.map((m) => m.slice());
    this.covariances = covariances.map((S) => S.map((row: readonly number[]) => row.slice()));
  }

  /** The configuration, as passed (round-trips through the constructor). */
  getConfig(): GaussianMixtureConfig {
    return {
      name: this.name,
      weights: this.weights.slice(),
      means: this.means.map((m) => m.slice()),
      covariances: this.covariances.map((S) => S.map((r) => r.slice())),
    };
  }

  /** Releases the device-side constants (they are recreated if the mixture is used again). */
  dispose(): void {
    if (this.consts) tf.dispose(Object.values(this.consts));
    this.consts = undefined;
  }

  /** Mixture mean Σ w_k μ_k and covariance Σ w_k (S_k + μ_k μ_kᵀ) − mean meanᵀ, host float64. */
  moments(): { mean: number[]; covariance: number[][] } {
    const d = this.dim;
    const mean = new Array<number>(d).fill(0);
    this.means.forEach((m, k) => m.forEach((v, i) => (mean[i] += this.weights[k] * v)));
    const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    this.means.forEach((m, k) => {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) cov[i][j] += this.weights[k] * (this.covariances[k][i][j] + m[i] * m[j]);
      }
    });
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i][j] -= mean[i] * mean[j];
    return { mean, covariance: cov };
  }

  /**
   * n points as float32 [n, d]. Draw order (documented so runs are reproducible): n uniforms pick the components
   * (inverse CDF of the weights), then n·d standard normals z give x = μ_k + U_k diag(√λ_k) z.
   */
  sample(n: number, rng: Rng): tf.Tensor2D {
    return this.sampleWithComponents(n, rng).x;
  }

  /** As `sample`, also returning each point's component index (for colouring plots). */
  sampleWithComponents(n: number, rng: Rng): { x: tf.Tensor2D; components: Int32Array } {
    checkPositiveInt(`${WHERE}.sample`, "n", n);
    const d = this.dim;
    const K = this.numComponents;
    const cdf = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) cdf[k] = acc += this.weights[k];
    const u = rng.uniformArray(n);
    const z = rng.normalArray(n * d);
    // A_k = U_k diag(√λ_k), so A_k A_kᵀ = S_k.
    const A = this.eigVectors.map((U, k) => {
      const a = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = U[i * d + j] * Math.sqrt(this.eigValues[k][j]);
      return a;
    });
    const out = new Float32Array(n * d);
    const components = new Int32Array(n);
    for (let p = 0; p < n; p++) {
      // u < 1 = cdf[K−1] up to rounding of the weights' sum; the last component takes whatever is left.
      let k = 0;
      while (k < K - 1 && u[p] * acc >= cdf[k]) k++;
      components[p] = k;
      const a = A[k];
      const mu = this.means[k];
      for (let i = 0; i < d; i++) {
        let v = mu[i];
        for (let j = 0; j < d; j++) v += a[i * d + j] * z[p * d + j];
        out[p * d + i] = v;
      }
    }
    return { x: tf.tensor2d(out, [n, d], "float32"), components };
  }

  /** log p₀(x) per example, [B]; x is [B, ...dims] with prod(dims) = d. */
  logProb(x: tf.Tensor): tf.Tensor1D {
    this.checkInput("logProb", x);
    return tf.tidy(() => {
      const x2 = this.as2d(x);
      const B = x2.shape[0];
      return this.core(x2, tf.ones([B]), tf.zeros([B]), false).logp;
    });
  }

  /** log p_t(x) per example, [B], under the marginal of `sde` at the per-example times t [B]. */
  logProbAt(sde: SDE, x: tf.Tensor, t: tf.Tensor): tf.Tensor1D {
    this.checkInput("logProbAt", x, t);
    return tf.tidy(() => {
      const x2 = this.as2d(x);
      const { mean, std } = sde.marginalCoefficients(t);
      return this.core(x2, mean, std, false).logp;
    });
  }

  /** ∇ₓ log p_t(x), same shape as x, under the marginal of `sde` at the per-example times t [B]. */
  scoreAt(sde: SDE, x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    this.checkInput("scoreAt", x, t);
    return tf.tidy(() => {
      const x2 = this.as2d(x);
      const { mean, std } = sde.marginalCoefficients(t);
      return this.core(x2, mean, std, true).score!.reshape(x.shape);
    });
  }

  /** Both at once (one pass): log p_t(x) [B] and the score. */
  logProbAndScoreAt(sde: SDE, x: tf.Tensor, t: tf.Tensor): { logp: tf.Tensor1D; score: tf.Tensor } {
    this.checkInput("logProbAndScoreAt", x, t);
    return tf.tidy(() => {
      const x2 = this.as2d(x);
      const { mean, std } = sde.marginalCoefficients(t);
      const r = this.core(x2, mean, std, true);
      return { logp: r.logp, score: r.score!.reshape(x.shape) };
    });
  }

  /** The exact score of p_t as a `ScoreFn`, usable by every sampler, corrector and ODE routine. */
  scoreFn(sde: SDE): ScoreFn {
    return (x, t) => this.scoreAt(sde, x, t);
  }

  /**
   * The perturbed distribution p_t itself, for one scalar time t, as a new mixture
   * (means m μ_k, covariances m² S_k + s² I) — e.g. to draw exact samples of x_t.
   */
  perturbed(sde: SDE, t: number): GaussianMixture {
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > sde.T) fail(`${WHERE}.perturbed`, "t", t, `a number in [0, ${sde.T}]`);
    const [m, s] = tf.tidy(() => {
      const c = sde.marginalCoefficients(tf.tensor1d([t]));
      return [c.mean.dataSync()[0], c.std.dataSync()[0]];
    });
    return new GaussianMixture({
      name: `${this.name}@t=${t}`,
      weights: this.weights,
      means: this.means.map((mu) => mu.map((v) => m * v)),
      covariances: this.covariances.map((S) =>
        S.map((row, i) => row.map((v, j) => m * m * v + (i === j ? s * s : 0))),
      ),
    });
  }

  /** Checks x ([B, ...dims], prod(dims) = d) and the batch of t (shapes only, no reads). */
  private checkInput(method: string, x: tf.Tensor, t?: tf.Tensor): void {
    const where = `${WHERE}.${method}`;
    if (!(x instanceof tf.Tensor)) fail(where, "x", x, `a tf.Tensor of shape [B, ${this.dim}]`);
    checkBatched(where, "x", x);
    if (dimsOf(x.shape) !== this.dim) fail(where, "x.shape", x.shape, `[B, ${this.dim}] (or [B, ...dims] with ${this.dim} values per example)`);
    if (t !== undefined) {
      if (!(t instanceof tf.Tensor) || t.rank !== 1 || t.shape[0] !== x.shape[0]) {
        fail(where, "t.shape", t instanceof tf.Tensor ? t.shape : t, `[${x.shape[0]}] (one time per example of x)`);
      }
    }
  }

  /** x as [B, d]; a reshape makes a new tensor handle, so call this inside a tidy. */
  private as2d(x: tf.Tensor): tf.Tensor2D {
    return (x.rank === 2 ? x : x.reshape([x.shape[0], this.dim])) as tf.Tensor2D;
  }

  private constants(): Consts {
    if (this.consts && !this.consts.mu.isDisposed) return this.consts;
    const K = this.numComponents;
    const d = this.dim;
    const U = new Float32Array(K * d * d);
    const Ut = new Float32Array(K * d * d);
    this.eigVectors.forEach((v, k) => {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          U[k * d * d + i * d + j] = v[i * d + j];
          Ut[k * d * d + j * d + i] = v[i * d + j];
        }
      }
    });
    const mu = new Float32Array(K * d);
    const lam = new Float32Array(K * d);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < d; i++) {
        mu[k * d + i] = this.means[k][i];
        lam[k * d + i] = this.eigValues[k][i];
      }
    }
    const c: Consts = {
      logW: tf.keep(tf.tensor2d(this.weights.map(Math.log), [K, 1], "float32")),
      mu: tf.keep(tf.tensor3d(mu, [K, 1, d], "float32")),
      lam: tf.keep(tf.tensor3d(lam, [K, 1, d], "float32")),
      U: tf.keep(tf.tensor3d(U, [K, d, d], "float32")),
      Ut: tf.keep(tf.tensor3d(Ut, [K, d, d], "float32")),
    };
    this.consts = c;
    return c;
  }

  /** log p and (optionally) the score for x [B, d] with mean coefficient m [B] and std s [B]. Call inside tidy. */
  private core(x: tf.Tensor2D, m: tf.Tensor, s: tf.Tensor, withScore: boolean): { logp: tf.Tensor1D; score?: tf.Tensor2D } {
    const c = this.constants();
    const K = this.numComponents;
    const B = x.shape[0];
    const d = this.dim;
    const m3 = m.reshape([1, B, 1]);
    const s3 = s.reshape([1, B, 1]);
    const diff = x.reshape([1, B, d]).sub(m3.mul(c.mu)); // [K, B, d]
    // yᵀ = diffᵀ U_k, i.e. y = U_kᵀ diff; axis-aligned mixtures (all U_k = I) skip the rotations.
    const y = this.axisAligned ? diff : tf.matMul(diff, c.U);
    const v = m3.square().mul(c.lam).add(s3.square()); // [K, B, d] eigenvalues of C_k
    const q = y.div(v);
    const quad = y.mul(q).sum(2); // [K, B]
    const logDet = v.log().sum(2); // [K, B]
    // The common −(d/2) log 2π is added after the log-sum-exp: kept out of the logits, it cannot round away bits of
    // their differences, which are all the responsibilities depend on.
    const logits = c.logW.sub(quad.add(logDet).mul(0.5)); // [K, B]
    // tf.logSumExp's own steps, with the shift kept finite: a point so far from every component that each quadratic
    // form overflows float32 has a log-density below −3.4e38, whose float32 value is −∞ — tf.logSumExp gives NaN
    // there (−∞ − (−∞)). For finite logits the clamp changes nothing, bit for bit.
    const shift = logits.max(0, true).maximum(-F32_MAX); // [1, B]
    const lse = logits.sub(shift).exp().sum(0).log().add(shift.reshape([B])); // [B]
    const logp = lse.sub(0.5 * d * LOG_2PI) as tf.Tensor1D;
    if (!withScore) return { logp };
    const r = logits.sub(lse).exp().reshape([K, B, 1]);
    const rq = q.mul(r);
    const score = (this.axisAligned ? rq : tf.matMul(rq, c.Ut)).sum(0).neg() as tf.Tensor2D; // −Σ_k r_k U_k (y/v)
    return { logp, score };
  }
}

/**
 * The product distribution of independent mixtures (coordinates concatenated in order): a mixture in Σ d_i
 * dimensions with Π K_i components, weights the products, covariances block-diagonal. Its score is the parts'
 * scores concatenated and its log-density their sum — e.g. the official 4-D loss data, two independent copies of
 * the 2-D reference mixture on channels (0, 1) and (2, 3): `productMixture(anisotropicMixture(), anisotropicMixture())`.
 */
export function productMixture(...parts: GaussianMixture[]): GaussianMixture {
  if (parts.length === 0 || parts.some((p) => !(p instanceof GaussianMixture))) {
    fail("productMixture", "parts", parts.length, "one or more GaussianMixture instances");
  }
  let weights: number[] = [1];
  let means: number[][] = [[]];
  let covs: number[][][] = [[]];
  let offset = 0;
  for (const p of parts) {
    const w2: number[] = [];
    const m2: number[][] = [];
    const c2: number[][][] = [];
    weights.forEach((w, a) => {
      for (let k = 0; k < p.numComponents; k++) {
        w2.push(w * p.weights[k]);
        m2.push([...means[a], ...p.means[k]]);
        // Rows so far get zeros for the new block; the new rows are zeros, then the block.
        const rows = covs[a].map((r) => [...r, ...new Array<number>(p.dim).fill(0)]);
        p.covariances[k].forEach((r) => rows.push([...new Array<number>(offset).fill(0), ...r]));
        c2.push(rows);
      }
    });
    weights = w2;
    means = m2;
    covs = c2;
    offset += p.dim;
  }
  // Products of weights summing to 1 sum to 1 up to rounding; renormalise so validation sees an exact 1.
  const sum = weights.reduce((a, b) => a + b, 0);
  return new GaussianMixture({
    name: parts.map((p) => p.name).join("×"),
    weights: weights.map((w) => w / sum),
    means,
    covariances: covs,
  });
}
