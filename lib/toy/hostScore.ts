/**
 * The exact score of a Gaussian mixture under an SDE's marginal, computed on the host in float64.
 *
 * Same mathematics as `GaussianMixture.scoreAt` (lib/toy): component k of p_t is N(m μ_k, m² S_k + s² I), and
 *   ∇ log p_t(x) = −Σ_k r_k(x) C_k⁻¹ (x − m μ_k),  r_k = softmax_k(log w_k + log N(x; m μ_k, C_k)),
 * with C_k = U_k (m² Λ_k + s² I) U_kᵀ from the mixture's own eigendecomposition. Why a second implementation: a
 * sampler ablation calls the score hundreds of thousands of times on a few thousand 2-D points; the tensor version
 * is ~30 small tfjs ops per call, each with its own dispatch cost, while this one reads x once, loops in float64 and
 * returns one tensor. The coefficients m(t), s(t) come from the SDE itself (`marginalCoefficients`, float32, cached
 * per distinct t), so the two implementations see the same schedule. Agreement with `GaussianMixture.scoreFn` is
 * asserted in test/toy-host-score.test.ts.
 *
 * Not differentiable (it leaves the tape): use `GaussianMixture.scoreFn` where gradients are needed (likelihoods).
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreFn, SDE } from "../sde";
import type { GaussianMixture } from "./gmm";
import { symmetricEigen } from "./linalg";
import { fail } from "../validate";

interface Comp {
  logW: number;
  mu: Float64Array; // d
  lam: Float64Array; // d eigenvalues of S_k
  U: Float64Array; // d×d row-major, eigenvectors as columns
}

/** A fast host-side exact score of `mix` under `sde` (see the module comment). */
export function hostMixtureScore(mix: GaussianMixture, sde: SDE): ScoreFn {
  const d = mix.dim;
  const K = mix.numComponents;
  const comps: Comp[] = [];
  for (let k = 0; k < K; k++) {
    const S = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) S[i * d + j] = 0.5 * (mix.covariances[k][i][j] + mix.covariances[k][j][i]);
    const { values, vectors } = symmetricEigen(S, d);
    comps.push({ logW: Math.log(mix.weights[k]), mu: Float64Array.from(mix.means[k]), lam: values, U: vectors });
  }
  const coefCache = new Map<number, [number, number]>();
  const coefficients = (t: number): [number, number] => {
    let c = coefCache.get(t);
    if (!c) {
      c = tf.tidy(() => {
        const { mean, std } = sde.marginalCoefficients(tf.tensor1d([t], "float32"));
        return [mean.dataSync()[0], std.dataSync()[0]] as [number, number];
      });
      if (coefCache.size > 50_000) coefCache.clear();
      coefCache.set(t, c);
    }
    return c;
  };
  const logits = new Float64Array(K);
  const y = new Float64Array(K * d); // per component: U_kᵀ (x − m μ_k) / v
  const diff = new Float64Array(d);
  return (x: tf.Tensor, t: tf.Tensor): tf.Tensor => {
    const B = x.shape[0];
    if (x.size !== B * d) fail("hostMixtureScore", "x.shape", x.shape, `[B, ${d}]`);
    if (t.size !== B) fail("hostMixtureScore", "t.shape", t.shape, `[${B}]`);
    const xs = x.dataSync();
    const ts = t.dataSync();
    const out = new Float32Array(B * d);
    let lastT = NaN;
    let v: Float64Array[] = [];
    let logDet: Float64Array = new Float64Array(K);
    let m = 0;
    for (let b = 0; b < B; b++) {
      if (ts[b] !== lastT) {
        lastT = ts[b];
        const [mm, s] = coefficients(lastT);
        m = mm;
        v = comps.map((c) => c.lam.map((l) => m * m * l + s * s));
        logDet = Float64Array.from(v, (vk) => vk.reduce((a, e) => a + Math.log(e), 0));
      }
      let maxL = -Infinity;
      for (let k = 0; k < K; k++) {
        const c = comps[k];
        for (let i = 0; i < d; i++) diff[i] = xs[b * d + i] - m * c.mu[i];
        let quad = 0;
        for (let j = 0; j < d; j++) {
          let yj = 0;
          for (let i = 0; i < d; i++) yj += c.U[i * d + j] * diff[i];
          const q = yj / v[k][j];
          y[k * d + j] = q;
          quad += yj * q;
        }
        const l = c.logW - 0.5 * (quad + logDet[k]);
        logits[k] = l;
        if (l > maxL) maxL = l;
      }
      let z = 0;
      for (let k = 0; k < K; k++) {
        logits[k] = Math.exp(logits[k] - maxL);
        z += logits[k];
      }
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const U = comps[k].U;
          let ui = 0;
          for (let j = 0; j < d; j++) ui += U[i * d + j] * y[k * d + j];
          s += logits[k] * ui;
        }
        out[b * d + i] = -s / z;
      }
    }
    return tf.tensor(out, x.shape, "float32");
  };
}
