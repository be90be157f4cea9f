/**
 * Exact conditionals of Gaussian mixtures — the ground truth for controllable generation (Song et al. 2021, §5 and
 * App. I), which separates the error of a conditional sampler from the error of a network.
 *
 * Classes. Give each mixture component k a class label c(k) (several components may share one). The forward
 * process perturbs x and leaves the label alone, so under every SDE marginal
 *   p_t(x | y = c) = Σ_{k ∈ c} (w_k / W_c) N(x; m μ_k, C_k),   W_c = Σ_{k ∈ c} w_k,   C_k = m² S_k + s² I,
 *   p_t(y = c | x) = W_c p_t(x | y = c) / p_t(x)           (the summed responsibilities of the class's components),
 *   ∇ₓ log p_t(y = c | x) = ∇ₓ log p_t(x | y = c) − ∇ₓ log p_t(x) = s_c(x) − Σ_j p_t(y = j | x) s_j(x),
 * with s_c the exact score of the class's own (perturbed) sub-mixture. These are the "classifier" and its gradient of
 * the paper's eq. (14)/App. I.1, exact: no network, no autodiff. Sampling with score ∇ log p_t(x) + ∇ log p_t(y|x)
 * targets p_0(x | y) exactly, up to the sampler's discretisation.
 *
 * Imputation. Conditioning a mixture on some coordinates x_K = v gives again a mixture over the others:
 *   w_k' ∝ w_k N(v; μ_{k,K}, S_{k,KK}),  μ_k' = μ_{k,U} + S_{k,UK} S_{k,KK}⁻¹ (v − μ_{k,K}),
 *   S_k'  = S_{k,UU} − S_{k,UK} S_{k,KK}⁻¹ S_{k,KU}      (Schur complement; host float64, Cholesky).
 * Colourisation is the same in a rotated basis: with an orthogonal M whose first column is (1, 1, 1)/√3 (the
 * official `get_pc_colorizer`'s decoupling matrix), u = Mᵀx has u₀ = √3 · gray(x), gray = the mean of the three
 * channels, so "x given its gray value" is "u₁, u₂ given u₀", mapped back by x = M u.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { SDE, ScoreFn } from "../sde";
import { checkPositive, checkPositiveInt, fail, fmt } from "../validate";
import { GaussianMixture } from "./gmm";
import type { ToyDistribution } from "./types";

// ---------------------------------------------------------------------------------------------------------------
// Classes of components: p_t(y | x) and ∇ₓ log p_t(y | x)
// ---------------------------------------------------------------------------------------------------------------

/** ∇ₓ log p_t(y | x) for per-example labels (host integers, one per example of x): same shape as x. */
export type ClassGradFn = (x: tf.Tensor, t: tf.Tensor, labels: Int32Array) => tf.Tensor;

/**
 * A mixture whose components are grouped into classes 0 … C−1 (`classes[k]` = class of component k; by default
 * each component is its own class). Offers the exact class posterior p_t(y | x) and its gradient under any SDE.
 */
export class MixtureClasses {
  readonly mixture: GaussianMixture;
  /** Class of each component. */
  readonly classes: readonly number[];
  readonly numClasses: number;
  /** Prior class probabilities W_c = Σ_{k ∈ c} w_k. */
  readonly classWeights: readonly number[];
  private readonly parts: GaussianMixture[];

  constructor(mixture: GaussianMixture, classes?: readonly number[]) {
    const where = "MixtureClasses";
    if (!(mixture instanceof GaussianMixture)) fail(where, "mixture", typeof mixture, "a GaussianMixture");
    const K = mixture.numComponents;
    const cls = classes ?? Array.from({ length: K }, (_, k) => k);
    if (!Array.isArray(cls) || cls.length !== K) fail(where, "classes", cls, `an array of K = ${K} class labels (one per component)`);
    cls.forEach((c, k) => {
      if (!Number.isInteger(c) || c < 0) fail(where, `classes[${k}]`, c, "a non-negative integer");
    });
    const C = Math.max(...cls) + 1;
    for (let c = 0; c < C; c++) {
      if (!cls.includes(c)) fail(where, "classes", cls, `labels 0 … ${C - 1} each used by at least one component (${c} is unused)`);
    }
    this.mixture = mixture;
    this.classes = cls.slice();
    this.numClasses = C;
    const W = new Array<number>(C).fill(0);
    cls.forEach((c, k) => (W[c] += mixture.weights[k]));
    this.classWeights = W;
    this.parts = W.map((Wc, c) => {
      const idx = cls.map((cc, k) => (cc === c ? k : -1)).filter((k) => k >= 0);
      const w = idx.map((k) => mixture.weights[k] / Wc);
      const sum = w.reduce((a, b) => a + b, 0);
      return new GaussianMixture({
        name: `${mixture.name}|y=${c}`,
        weights: w.map((v) => v / sum),
        means: idx.map((k) => mixture.means[k]),
        covariances: idx.map((k) => mixture.covariances[k]),
      });
    });
  }

  /** p_0(x | y = c): the class's components with renormalised weights. */
  classMixture(c: number): GaussianMixture {
    this.checkClass("classMixture", "c", c);
    return this.parts[c];
  }

  /** p_t(y = c | x) for every class, [B, C] (rows sum to 1), under the marginal of `sde` at times t [B]. */
  posterior(sde: SDE, x: tf.Tensor, t: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.posteriorLogits(sde, x, t).logits.softmax(1) as tf.Tensor2D);
  }

  /** log p_t(y = labels_b | x_b), [B]. */
  logPosterior(sde: SDE, x: tf.Tensor, t: tf.Tensor, labels: ArrayLike<number>): tf.Tensor1D {
    const y = this.checkLabels("logPosterior", labels, x);
    return tf.tidy(() => {
      const { logits } = this.posteriorLogits(sde, x, t);
      const logPost = logits.sub(logits.logSumExp(1, true));
      return logPost.mul(tf.oneHot(tf.tensor1d(y, "int32"), this.numClasses)).sum(1) as tf.Tensor1D;
    });
  }

  /**
   * ∇ₓ log p_t(y = labels_b | x_b) = s_{y}(x) − Σ_c p_t(c | x) s_c(x), same shape as x: exact, from the class
   * sub-mixtures' closed-form scores (one pass over each class).
   */
  logPosteriorGrad(sde: SDE, x: tf.Tensor, t: tf.Tensor, labels: ArrayLike<number>): tf.Tensor {
    const y = this.checkLabels("logPosteriorGrad", labels, x);
    return tf.tidy(() => {
      const { logits, scores } = this.posteriorLogits(sde, x, t, true);
      const post = logits.softmax(1); // [B, C]
      const onehot = tf.oneHot(tf.tensor1d(y, "int32"), this.numClasses).toFloat(); // [B, C]
      // Σ_c (1[y = c] − p(c | x)) s_c: the same weights on both terms, so no large cancellation is formed twice.
      const coef = onehot.sub(post);
      const S = tf.stack(scores!, 1); // [B, C, ...dims]
      const c = coef.reshape([...coef.shape, ...new Array(x.rank - 1).fill(1)]);
      return S.mul(c).sum(1);
    });
  }

  /** The gradient as a function, for `classifierGuidedScore` / `pcConditionalSample` (lib/controllable). */
  gradFn(sde: SDE): ClassGradFn {
    return (x, t, labels) => this.logPosteriorGrad(sde, x, t, labels);
  }

  /**
   * n labelled points of p_0(x, y): the mixture's `sampleWithComponents` (its documented draws) with each point's
   * class — the training data of a noise-conditional classifier.
   */
  sampleLabelled(n: number, rng: Rng): { x: tf.Tensor2D; labels: Int32Array } {
    const { x, components } = this.mixture.sampleWithComponents(n, rng);
    return { x, labels: Int32Array.from(components, (k) => this.classes[k]) };
  }

  /** The exact conditional score ∇ₓ log p_t(x | y = c) as a ScoreFn (the sampler target's own score). */
  classScoreFn(sde: SDE, c: number): ScoreFn {
    return this.classMixture(c).scoreFn(sde);
  }

  /** Releases the device constants of the class sub-mixtures (not those of `mixture`). */
  dispose(): void {
    for (const p of this.parts) p.dispose();
  }

  /** Per-class log W_c + log p_t(x | c) as [B, C] (and each class score when asked). Call inside a tidy. */
  private posteriorLogits(sde: SDE, x: tf.Tensor, t: tf.Tensor, withScores = false): { logits: tf.Tensor2D; scores?: tf.Tensor[] } {
    const cols: tf.Tensor[] = [];
    const scores: tf.Tensor[] = [];
    this.parts.forEach((p, c) => {
      if (withScores) {
        const r = p.logProbAndScoreAt(sde, x, t);
        cols.push(r.logp.add(Math.log(this.classWeights[c])));
        scores.push(r.score);
      } else {
        cols.push(p.logProbAt(sde, x, t).add(Math.log(this.classWeights[c])));
      }
    });
    return { logits: tf.stack(cols, 1) as tf.Tensor2D, scores: withScores ? scores : undefined };
  }

  private checkClass(method: string, name: string, c: number): void {
    if (!Number.isInteger(c) || c < 0 || c >= this.numClasses) {
      fail(`MixtureClasses.${method}`, name, c, `an integer class label in 0 … ${this.numClasses - 1}`);
    }
  }

  private checkLabels(method: string, labels: ArrayLike<number>, x: tf.Tensor): Int32Array {
    const where = `MixtureClasses.${method}`;
    if (!(x instanceof tf.Tensor)) fail(where, "x", x, `a tf.Tensor [B, ${this.mixture.dim}]`);
    if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
      fail(where, "labels", labels, "an array of integer class labels, one per example");
    }
    const B = x.shape[0];
    if (labels.length !== B) fail(where, "labels.length", labels.length, `${B} (one label per example of x)`);
    const y = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const c = labels[b];
      if (!Number.isInteger(c) || c < 0 || c >= this.numClasses) {
        fail(where, `labels[${b}]`, c, `an integer class label in 0 … ${this.numClasses - 1}`);
      }
      y[b] = c;
    }
    return y;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Linear maps and conditioning on coordinates
// ---------------------------------------------------------------------------------------------------------------

/**
 * The law of A x + b for x ~ mixture: means A μ_k + b, covariances A S_k Aᵀ (A is m × d with full row rank, so the
 * covariances stay positive definite; the constructor checks that).
 */
export function transformMixture(mixture: GaussianMixture, A: readonly (readonly number[])[], b?: readonly number[]): GaussianMixture {
  const where = "transformMixture";
  if (!(mixture instanceof GaussianMixture)) fail(where, "mixture", typeof mixture, "a GaussianMixture");
  const d = mixture.dim;
  if (!Array.isArray(A) || A.length === 0 || A.some((r) => !Array.isArray(r) || r.length !== d || r.some((v) => !Number.isFinite(v)))) {
    fail(where, "A", A, `an m × ${d} matrix of finite numbers (m ≥ 1 rows of ${d})`);
  }
  const m = A.length;
  if (b !== undefined && (!Array.isArray(b) || b.length !== m || b.some((v) => !Number.isFinite(v)))) {
    fail(where, "b", b, `undefined or ${m} finite numbers`);
  }
  const means = mixture.means.map((mu) => A.map((row, i) => row.reduce((s: number, a: number, j: number) => s + a * mu[j], b ? b[i] : 0)));
  const covariances = mixture.covariances.map((S) => {
    // A S Aᵀ, symmetrised exactly.
    const AS = A.map((row) => Array.from({ length: d }, (_, j) => row.reduce((s: number, a: number, l: number) => s + a * S[l][j], 0)));
    const C = A.map((_, i) => A.map((rowJ) => AS[i].reduce((s, v, l) => s + v * rowJ[l], 0)));
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) C[i][j] = C[j][i] = 0.5 * (C[i][j] + C[j][i]);
    return C;
  });
  return new GaussianMixture({ name: `${mixture.name}·A`, weights: mixture.weights, means, covariances });
}

/** Lower-triangular Cholesky factor of a small SPD matrix (row-major arrays), float64. */
function cholesky(S: number[][], where: string): number[][] {
  const n = S.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = S[i][j];
      for (let l = 0; l < j; l++) s -= L[i][l] * L[j][l];
      if (i === j) {
        if (!(s > 0)) fail(where, "covariance of the known coordinates", S, "positive definite");
        L[i][i] = Math.sqrt(s);
      } else {
        L[i][j] = s / L[j][j];
      }
    }
  }
  return L;
}

/** Solves L y = r (forward substitution). */
function forwardSolve(L: number[][], r: readonly number[]): number[] {
  const y = new Array<number>(r.length);
  for (let i = 0; i < r.length; i++) {
    let s = r[i];
    for (let l = 0; l < i; l++) s -= L[i][l] * y[l];
    y[i] = s / L[i][i];
  }
  return y;
}

export interface ConditionOptions {
  /** Indices (in the basis' coordinates) of the known coordinates: distinct, in 0 … d−1, at least one, not all. */
  known: readonly number[];
  /** Their values, one per index. */
  values: readonly number[];
  /**
   * An orthogonal d × d matrix M: condition in the coordinates u = Mᵀx (x = M u). Default the identity (plain
   * imputation). `GRAY_DECOUPLING` makes u₀ = √3 · gray(x) for colourisation.
   */
  basis?: readonly (readonly number[])[];
}

/**
 * The exact conditional law of x given known coordinates (of u = Mᵀx), as a distribution over the FULL vector x:
 * `sample` returns [n, d] points whose known coordinates (in the basis) are exactly `values` and whose other
 * coordinates follow the conditional mixture (`mixture`, over the unknown basis coordinates in increasing index
 * order). Components whose conditional weight underflows to 0 in float64 are dropped (they could never be drawn).
 */
export class MixtureConditional implements ToyDistribution {
  readonly name: string;
  readonly dim: number;
  /** The conditional mixture over the unknown coordinates (of the basis), in increasing index order. */
  readonly mixture: GaussianMixture;
  readonly known: readonly number[];
  readonly unknown: readonly number[];
  readonly values: readonly number[];
  /** The basis M (identity if none was given). */
  readonly basis: readonly (readonly number[])[];

  constructor(source: GaussianMixture, opts: ConditionOptions) {
    const where = "MixtureConditional";
    if (!(source instanceof GaussianMixture)) fail(where, "mixture", typeof source, "a GaussianMixture");
    if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an object {known, values, basis?}");
    const d = source.dim;
    const { known, values } = opts;
    if (!Array.isArray(known) || known.length === 0 || known.length >= d) {
      fail(where, "known", known, `a non-empty array of fewer than d = ${d} coordinate indices`);
    }
    known.forEach((i, a) => {
      if (!Number.isInteger(i) || i < 0 || i >= d) fail(where, `known[${a}]`, i, `an integer index in 0 … ${d - 1}`);
      if (known.indexOf(i) !== a) fail(where, "known", known, "distinct indices");
    });
    if (!Array.isArray(values) || values.length !== known.length) {
      fail(where, "values", values, `an array of ${known.length} numbers (one per known index)`);
    }
    values.forEach((v, a) => {
      if (typeof v !== "number" || !Number.isFinite(v)) fail(where, `values[${a}]`, v, "a finite number");
    });
    const basis = opts.basis ?? Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
    checkOrthogonal(where, basis, d);
    const unknown = Array.from({ length: d }, (_, i) => i).filter((i) => !known.includes(i));
    // Mixture of u = Mᵀ x.
    const Mt = basis[0].map((_, j) => basis.map((row) => row[j]));
    const u = opts.basis ? transformMixture(source, Mt) : source;
    const logW: number[] = [];
    const means: number[][] = [];
    const covs: number[][][] = [];
    for (let k = 0; k < u.numComponents; k++) {
      const mu = u.means[k];
      const S = u.covariances[k];
      const Skk = known.map((i) => known.map((j) => S[i][j]));
      const L = cholesky(Skk, where);
      const r = known.map((i, a) => values[a] - mu[i]);
      const z = forwardSolve(L, r); // L⁻¹ (v − μ_K)
      const logDet = 2 * L.reduce((s, row, i) => s + Math.log(row[i]), 0);
      const quad = z.reduce((s, v) => s + v * v, 0);
      logW.push(Math.log(u.weights[k]) - 0.5 * (quad + logDet + known.length * Math.log(2 * Math.PI)));
      // B = L⁻¹ S_{K,U} (column per unknown index): mean = μ_U + Bᵀ z, cov = S_UU − Bᵀ B.
      const Bcols = unknown.map((j) => forwardSolve(L, known.map((i) => S[i][j])));
      means.push(unknown.map((j, a) => mu[j] + Bcols[a].reduce((s, bv, l) => s + bv * z[l], 0)));
      const C = unknown.map((i, a) => unknown.map((j, b) => S[i][j] - Bcols[a].reduce((s, bv, l) => s + bv * Bcols[b][l], 0)));
      for (let a = 0; a < C.length; a++) for (let b = a + 1; b < C.length; b++) C[a][b] = C[b][a] = 0.5 * (C[a][b] + C[b][a]);
      covs.push(C);
    }
    if (u !== source) u.dispose();
    const maxLog = Math.max(...logW);
    const w = logW.map((l) => Math.exp(l - maxLog));
    const keep = w.map((v, k) => (v > 0 ? k : -1)).filter((k) => k >= 0);
    const sum = keep.reduce((s, k) => s + w[k], 0);
    this.mixture = new GaussianMixture({
      name: `${source.name}|u[${known.join(",")}]=${values.map((v) => fmt(v)).join(",")}`,
      weights: keep.map((k) => w[k] / sum),
      means: keep.map((k) => means[k]),
      covariances: keep.map((k) => covs[k]),
    });
    this.name = this.mixture.name;
    this.dim = d;
    this.known = known.slice();
    this.unknown = unknown;
    this.values = values.slice();
    this.basis = basis.map((r) => r.slice());
  }

  /**
   * n full points [n, d]: the unknown basis coordinates from `mixture.sample(n, rng)` (its documented draws), the
   * known ones set to `values`, mapped back by x = M u in float64.
   */
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt(`${this.name}.sample`, "n", n);
    const part = this.mixture.sample(n, rng);
    const pu = part.dataSync();
    part.dispose();
    const d = this.dim;
    const out = new Float32Array(n * d);
    const uvec = new Float64Array(d);
    for (let p = 0; p < n; p++) {
      this.known.forEach((i, a) => (uvec[i] = this.values[a]));
      this.unknown.forEach((i, a) => (uvec[i] = pu[p * this.unknown.length + a]));
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += this.basis[i][j] * uvec[j];
        out[p * d + i] = s;
      }
    }
    return tf.tensor2d(out, [n, d], "float32");
  }

  dispose(): void {
    this.mixture.dispose();
  }
}

function checkOrthogonal(where: string, M: readonly (readonly number[])[], d: number): void {
  if (!Array.isArray(M) || M.length !== d || M.some((r) => !Array.isArray(r) || r.length !== d || r.some((v) => !Number.isFinite(v)))) {
    fail(where, "basis", M, `a ${d} × ${d} matrix of finite numbers`);
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let l = 0; l < d; l++) s += M[l][i] * M[l][j];
      if (Math.abs(s - (i === j ? 1 : 0)) > 1e-6) fail(where, "basis", M, `orthogonal (MᵀM = I within 1e-6; entry [${i}][${j}] is ${s})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Colour toy
// ---------------------------------------------------------------------------------------------------------------

/**
 * The official colouriser's orthogonal decoupling M (columns (1,1,1)/√3, (−2,1,1)/√6, (0,1,−1)/√2, as the float32
 * matrix of `get_pc_colorizer` in score_sde / score_sde_pytorch, here exact in float64): u = Mᵀx has
 * u₀ = √3 · mean(x), and u₁, u₂ carry the colour. x = M u maps back (M⁻¹ = Mᵀ).
 */
export const GRAY_DECOUPLING: readonly (readonly number[])[] = (() => {
  const a = 1 / Math.sqrt(3);
  const b = 1 / Math.sqrt(6);
  const c = 1 / Math.sqrt(2);
  return [
    [a, -2 * b, 0],
    [a, b, c],
    [a, b, -c],
  ];
})();

export interface ColourToyOptions {
  /**
   * Multiplies every cluster's standard deviations (default 1: tight clusters, whose gray-conditional modes are well
   * separated; 3: broad, overlapping clusters).
   */
  spread?: number;
}

/**
 * A 3-D "colour" toy: four correlated colour clusters in RGB-like coordinates in [−1, 1], unequal weights, chosen
 * so that a gray value leaves more than one plausible colour (the conditional is multimodal).
 */
export function colourToy(opts: ColourToyOptions = {}): GaussianMixture {
  const k = checkPositive("colourToy", "spread", opts.spread ?? 1);
  const cov = (r0: number, g0: number, b0: number, rho: number): number[][] => {
    const [sr, sg, sb] = [r0 * k, g0 * k, b0 * k];
    return [
    [sr * sr, rho * sr * sg, rho * sr * sb],
    [rho * sr * sg, sg * sg, rho * sg * sb],
    [rho * sr * sb, rho * sg * sb, sb * sb],
    ];
  };
  return new GaussianMixture({
    name: k === 1 ? "colourToy" : `colourToy(spread ${k})`,
    weights: [0.3, 0.3, 0.25, 0.15],
    means: [
      [0.7, -0.3, -0.4], // red
      [-0.4, 0.6, -0.3], // green
      [-0.3, -0.2, 0.7], // blue
      [0.5, 0.5, -0.6], // yellow
    ],
    covariances: [cov(0.15, 0.1, 0.1, 0.5), cov(0.1, 0.15, 0.1, 0.4), cov(0.1, 0.1, 0.15, 0.3), cov(0.12, 0.12, 0.1, 0.6)],
  });
}

/** The exact law of a colour x ∈ ℝ³ given its gray value mean(x) = gray: `MixtureConditional` in the decoupled basis. */
export function grayConditional(mixture: GaussianMixture, gray: number): MixtureConditional {
  if (!(mixture instanceof GaussianMixture) || mixture.dim !== 3) fail("grayConditional", "mixture", mixture?.name, "a 3-D GaussianMixture");
  if (typeof gray !== "number" || !Number.isFinite(gray)) fail("grayConditional", "gray", gray, "a finite number");
  return new MixtureConditional(mixture, { known: [0], values: [Math.sqrt(3) * gray], basis: GRAY_DECOUPLING });
}
