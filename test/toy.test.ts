/** Gaussian mixtures: exact perturbed densities and scores against the official vectors, calculus and quadrature. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE, timeVector } from "../lib/sde";
import { GaussianMixture, anisotropicMixture, eightGaussians, gridGaussians, productMixture, symmetricEigen } from "../lib/toy";
import { assertClose, assertNoLeak, reference, setup } from "./helpers";

const ref = reference();
const SDES: [string, () => SDE][] = [
  ["VESDE", () => new VESDE()],
  ["VPSDE", () => new VPSDE()],
  ["subVPSDE", () => new SubVPSDE()],
];
const refMixture = (): GaussianMixture =>
  new GaussianMixture({ weights: ref.gmm.weights, means: ref.gmm.means, covariances: ref.gmm.covs });

/**
 * Independent float64 log-density of a mixture, by Cholesky factorisation (not the eigendecomposition the library
 * uses), with the log-sum-exp done on the host.
 */
function hostLogProb(w: number[], mu: number[][], S: number[][][], x: number[]): number {
  const d = x.length;
  const terms = w.map((wk, k) => {
    const L = S[k].map((r) => r.map(() => 0));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let v = S[k][i][j];
        for (let p = 0; p < j; p++) v -= L[i][p] * L[j][p];
        L[i][j] = i === j ? Math.sqrt(v) : v / L[j][j];
      }
    }
    // Solve L z = x − μ; then quad = |z|², log det = 2 Σ log L_ii.
    const z = new Array<number>(d).fill(0);
    let logDet = 0;
    for (let i = 0; i < d; i++) {
      let v = x[i] - mu[k][i];
      for (let p = 0; p < i; p++) v -= L[i][p] * z[p];
      z[i] = v / L[i][i];
      logDet += 2 * Math.log(L[i][i]);
    }
    const quad = z.reduce((a, b) => a + b * b, 0);
    return Math.log(wk) - 0.5 * (quad + logDet + d * Math.log(2 * Math.PI));
  });
  const mx = Math.max(...terms);
  return mx + Math.log(terms.reduce((a, b) => a + Math.exp(b - mx), 0));
}

before(setup);

describe("GaussianMixture matches the official gmm_score / gmm_logp_t (section a)", () => {
  const a = ref.a_sde_coefficients;
  for (const [name, make] of SDES) {
    it(name, () => {
      const g = refMixture();
      const sde = make();
      const e = a.per_sde[name];
      tf.tidy(() => {
        const x = tf.tensor2d(a.x);
        const t = tf.tensor1d(a.t);
        assertClose(g.scoreAt(sde, x, t), e.gmm_score, { what: `${name} score`, rtol: 1e-5, atol: 1e-6 });
        assertClose(g.logProbAt(sde, x, t), e.gmm_logp_t, { what: `${name} logp_t`, rtol: 1e-5 });
        const both = g.logProbAndScoreAt(sde, x, t);
        assertClose(both.score, e.gmm_score, { what: `${name} joint score`, rtol: 1e-5, atol: 1e-6 });
        assertClose(both.logp, e.gmm_logp_t, { what: `${name} joint logp`, rtol: 1e-5 });
        // scoreFn is the same function in the sampler signature.
        assertClose(g.scoreFn(sde)(x, t), e.gmm_score, { what: `${name} scoreFn`, rtol: 1e-5, atol: 1e-6 });
      });
      g.dispose();
    });
  }
});

describe("GaussianMixture densities", () => {
  it("logProb equals an independent float64 Cholesky evaluation (d = 1, 2, 3)", () => {
    const cases: { w: number[]; mu: number[][]; S: number[][][] }[] = [
      { w: [0.25, 0.75], mu: [[-1], [2]], S: [[[0.3]], [[1.7]]] },
      { w: ref.gmm.weights, mu: ref.gmm.means, S: ref.gmm.covs },
      {
        w: [0.6, 0.4],
        mu: [
          [0, 1, -1],
          [1, -0.5, 0.3],
        ],
        S: [
          [
            [1.0, 0.3, -0.2],
            [0.3, 0.5, 0.1],
            [-0.2, 0.1, 0.8],
          ],
          [
            [0.2, 0.05, 0],
            [0.05, 0.3, -0.04],
            [0, -0.04, 0.4],
          ],
        ],
      },
    ];
    const rng = createRng(11);
    for (const c of cases) {
      const g = new GaussianMixture({ weights: c.w, means: c.mu, covariances: c.S });
      const d = c.mu[0].length;
      const pts = Array.from({ length: 20 }, () => Array.from(rng.normalArray(d)).map((v) => 1.5 * v));
      const expected = pts.map((p) => hostLogProb(c.w, c.mu, c.S, p));
      tf.tidy(() => assertClose(g.logProb(tf.tensor2d(pts)), expected, { what: `logProb d=${d}`, rtol: 2e-6, atol: 1e-6 }));
      g.dispose();
    }
  });

  it("logProbAt equals logProb of the perturbed mixture m μ_k, m² S_k + s² I", () => {
    const g = refMixture();
    const rng = createRng(3);
    for (const [name, make] of SDES) {
      const sde = make();
      for (const t of [0.02, 0.3, 0.9]) {
        const pt = g.perturbed(sde, t);
        tf.tidy(() => {
          const x = rng.normal([16, 2]).mul(2);
          const expected = Array.from(x.arraySync() as number[][]).map((p) => hostLogProb(pt.weights.slice(), pt.means.map((m) => m.slice()), pt.covariances.map((S) => S.map((r) => r.slice())), p));
          assertClose(g.logProbAt(sde, x, timeVector(t, 16, 1)), expected, { what: `${name} t=${t}`, rtol: 2e-6, atol: 1e-6 });
        });
        pt.dispose();
      }
    }
    g.dispose();
  });

  it("the score is the gradient of logProbAt (tf.grad), at mixed per-example times", () => {
    const g = refMixture();
    const rng = createRng(5);
    for (const [name, make] of SDES) {
      const sde = make();
      tf.tidy(() => {
        const x = rng.normal([32, 2]).mul(1.5);
        const t = tf.tensor1d(Array.from(rng.uniformArray(32)).map((u) => 0.001 + 0.999 * u));
        const grad = tf.grad((xx: tf.Tensor) => g.logProbAt(sde, xx, t).sum())(x);
        const score = g.scoreAt(sde, x, t);
        assertClose(score, Array.from(grad.dataSync()), { what: `${name} score vs grad`, rtol: 1e-4, atol: 1e-4 });
      });
    }
    g.dispose();
  });

  it("p_t integrates to 1 (2-D midpoint quadrature) at several t for VE, VP and sub-VP", () => {
    const g = refMixture();
    const cases: [string, SDE, number, number][] = [
      ["data", new VPSDE(), 0, 3.5],
      ["VP", new VPSDE(), 0.1, 4],
      ["VP", new VPSDE(), 0.6, 6],
      ["subVP", new SubVPSDE(), 0.3, 4],
      ["VE", new VESDE(), 0.2, 4],
      ["VE", new VESDE(), 0.4, 8],
    ];
    for (const [name, sde, t, L] of cases) {
      // The integrand is smooth and negligible at the box edge (≥ 6 std out), so the midpoint rule is accurate
      // far beyond the 1e-4 asked here.
      const n = 240;
      const h = (2 * L) / n;
      const mass = tf.tidy(() => {
        const c = tf.linspace(-L + h / 2, L - h / 2, n);
        const xs = tf.stack([c.reshape([n, 1]).tile([1, n]).reshape([-1]), c.reshape([1, n]).tile([n, 1]).reshape([-1])], 1);
        const lp = t === 0 ? g.logProb(xs) : g.logProbAt(sde, xs, timeVector(t, n * n, 1));
        return lp.exp().sum().mul(h * h).dataSync()[0];
      });
      assert.ok(Math.abs(mass - 1) < 1e-4, `${name} t=${t}: ∫ p_t = ${mass}`);
    }
    g.dispose();
  });

  it("accepts [B, ...dims] inputs with d values per example and returns the score in x's shape", async () => {
    const g = new GaussianMixture({
      weights: [0.5, 0.5],
      means: [
        [1, 0, 0, -1],
        [-1, 0.5, 0, 1],
      ],
      covariances: [0.3, 0.6].map((v) => [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? v : 0)))),
    });
    tf.tidy(() => {
      const x = createRng(1).normal([6, 1, 2, 2]);
      const t = timeVector(0.4, 6, 1);
      const sde = new VPSDE();
      const s = g.scoreAt(sde, x, t);
      assert.deepEqual(s.shape, [6, 1, 2, 2]);
      assertClose(s, Array.from(g.scoreAt(sde, x.reshape([6, 4]), t).dataSync()), { what: "4-D score" });
    });
    // The internal reshape of a rank-4 input must not leak.
    const x4 = tf.ones([3, 1, 2, 2]);
    const t4 = timeVector(0.3, 3, 1);
    g.logProb(x4).dispose();
    await assertNoLeak(() => tf.dispose([g.scoreAt(new VPSDE(), x4, t4), g.logProb(x4), g.logProbAt(new VESDE(), x4, t4)]), "rank-4 input");
    tf.dispose([x4, t4]);
    g.dispose();
  });
});

describe("productMixture", () => {
  it("on the official 4-D loss data [8,4,1,1]: score = the pair scores concatenated, log p = their sum", () => {
    const a = refMixture();
    const b = eightGaussians();
    const p = productMixture(a, b);
    assert.equal(p.dim, 4);
    assert.equal(p.numComponents, 24);
    const x0: number[][] = ref.d_losses.x0;
    for (const [name, make] of SDES) {
      const sde = make();
      tf.tidy(() => {
        const x = tf.tensor4d(x0.flat(), [8, 4, 1, 1]);
        const t = tf.tensor1d(ref.d_losses.u.map((u: number) => 0.02 + 0.97 * u));
        const x2 = x.reshape([8, 4]);
        const first = x2.slice([0, 0], [8, 2]);
        const second = x2.slice([0, 2], [8, 2]);
        const s = p.scoreAt(sde, x, t);
        assert.deepEqual(s.shape, [8, 4, 1, 1]);
        const expected = tf.concat([a.scoreAt(sde, first, t), b.scoreAt(sde, second, t)], 1);
        assertClose(s, Array.from(expected.dataSync()), { what: `${name} product score`, rtol: 1e-5, atol: 1e-5 });
        const lp = a.logProbAt(sde, first, t).add(b.logProbAt(sde, second, t));
        assertClose(p.logProbAt(sde, x, t), Array.from(lp.dataSync()), { what: `${name} product logp`, rtol: 1e-5 });
      });
    }
    [a, b, p].forEach((g) => g.dispose());
  });
});

describe("GaussianMixture sampling", () => {
  it("is seeded: the same seed gives the same points, another seed others", () => {
    const g = eightGaussians();
    const a = g.sample(100, createRng(7));
    const b = g.sample(100, createRng(7));
    const c = g.sample(100, createRng(8));
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    assert.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  it("sample moments and component frequencies agree with the mixture within sampling error", () => {
    const g = refMixture();
    const n = 20000;
    const { x, components } = g.sampleWithComponents(n, createRng(123));
    const v = x.dataSync();
    x.dispose();
    const counts = [0, 0, 0];
    for (const k of components) counts[k]++;
    g.weights.forEach((w, k) => {
      // Binomial standard error; 4.5 σ keeps the test deterministic-in-practice for any seed.
      const se = Math.sqrt((w * (1 - w)) / n);
      assert.ok(Math.abs(counts[k] / n - w) < 4.5 * se, `component ${k}: frequency ${counts[k] / n} vs weight ${w}`);
    });
    // Per-component sample mean and covariance against μ_k, S_k (the eigendecomposition path of sample()).
    for (let k = 0; k < 3; k++) {
      const pts: number[][] = [];
      for (let p = 0; p < n; p++) if (components[p] === k) pts.push([v[2 * p], v[2 * p + 1]]);
      const m = [0, 1].map((i) => pts.reduce((a, p) => a + p[i], 0) / pts.length);
      const S = g.covariances[k];
      [0, 1].forEach((i) => {
        const se = Math.sqrt(S[i][i] / pts.length);
        assert.ok(Math.abs(m[i] - g.means[k][i]) < 4.5 * se, `component ${k} mean[${i}] = ${m[i]} vs ${g.means[k][i]}`);
      });
      for (const [i, j] of [[0, 0], [0, 1], [1, 1]]) {
        const c = pts.reduce((a, p) => a + (p[i] - m[i]) * (p[j] - m[j]), 0) / (pts.length - 1);
        // Var of a sample covariance entry: (S_ii S_jj + S_ij²)/n for Gaussian data.
        const se = Math.sqrt((S[i][i] * S[j][j] + S[i][j] * S[i][j]) / pts.length);
        assert.ok(Math.abs(c - S[i][j]) < 4.5 * se, `component ${k} cov[${i}][${j}] = ${c} vs ${S[i][j]}`);
      }
    }
    // The mixture's overall moments helper agrees with a direct computation.
    const mom = g.moments();
    const meanDirect = [0, 1].map((i) => g.weights.reduce((a, w, k) => a + w * g.means[k][i], 0));
    assertClose(mom.mean, meanDirect, { what: "mixture mean", rtol: 1e-12 });
    g.dispose();
  });
});

describe("presets", () => {
  it("eightGaussians: 8 equal weights, means on the circle of the given radius, isotropic std", () => {
    const g = eightGaussians({ radius: 3, std: 0.1 });
    assert.equal(g.numComponents, 8);
    for (let k = 0; k < 8; k++) {
      assert.ok(Math.abs(Math.hypot(g.means[k][0], g.means[k][1]) - 3) < 1e-12);
      assert.equal(g.weights[k], 1 / 8);
      assert.deepEqual(g.covariances[k], [
        [0.1 * 0.1, 0],
        [0, 0.1 * 0.1],
      ]);
    }
    const d = eightGaussians();
    assertClose(d.means[1], [Math.SQRT2, Math.SQRT2], { rtol: 1e-12, what: "default radius 2" });
    assert.equal(d.covariances[0][0][0], 0.2 * 0.2);
  });

  it("gridGaussians: n² components on a centred grid", () => {
    const g = gridGaussians();
    assert.equal(g.numComponents, 25);
    const xs = new Set(g.means.map((m) => m[0]));
    assert.deepEqual([...xs].sort((a, b) => a - b), [-3, -1.5, 0, 1.5, 3]);
    assert.equal(gridGaussians({ n: 3 }).numComponents, 9);
  });

  it("anisotropicMixture is the official reference mixture", () => {
    const g = anisotropicMixture();
    assert.deepEqual(g.weights, ref.gmm.weights);
    assert.deepEqual(g.means, ref.gmm.means);
    assert.deepEqual(g.covariances, ref.gmm.covs);
    assert.deepEqual(new GaussianMixture(g.getConfig()).getConfig(), g.getConfig());
  });
});

describe("symmetricEigen", () => {
  it("reconstructs random symmetric matrices with orthonormal eigenvectors", () => {
    const rng = createRng(9);
    for (const d of [1, 2, 3, 6]) {
      const A = Array.from(rng.normalArray(d * d));
      const S = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) S[i * d + j] = A[i * d + j] + A[j * d + i];
      const { values, vectors: U } = symmetricEigen(S, d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let rec = 0;
          let orth = 0;
          for (let k = 0; k < d; k++) {
            rec += U[i * d + k] * values[k] * U[j * d + k];
            orth += U[k * d + i] * U[k * d + j];
          }
          assert.ok(Math.abs(rec - S[i * d + j]) < 1e-12 * 10, `d=${d} reconstruction [${i}][${j}]`);
          assert.ok(Math.abs(orth - (i === j ? 1 : 0)) < 1e-13, `d=${d} orthonormality [${i}][${j}]`);
        }
      }
    }
  });
});

describe("GaussianMixture validation names the parameter and the value", () => {
  const I2 = [
    [1, 0],
    [0, 1],
  ];
  const cases: [string, () => unknown, RegExp][] = [
    ["weights not summing to 1", () => new GaussianMixture({ weights: [0.5, 0.4], means: [[0, 0], [1, 1]], covariances: [I2, I2] }), /weights = \[0.5, 0.4\].*sum to 0.9/],
    ["negative weight", () => new GaussianMixture({ weights: [1.5, -0.5], means: [[0, 0], [1, 1]], covariances: [I2, I2] }), /weights\[1\] = -0.5/],
    ["empty weights", () => new GaussianMixture({ weights: [], means: [], covariances: [] }), /weights = \[\]/],
    ["means count", () => new GaussianMixture({ weights: [1], means: [[0, 0], [1, 1]], covariances: [I2] }), /means = .*K = 1/],
    ["ragged means", () => new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [1]], covariances: [I2, I2] }), /means\[1\] = \[1\].*d = 2/],
    ["NaN mean", () => new GaussianMixture({ weights: [1], means: [[0, NaN]], covariances: [I2] }), /means\[0\]\[1\] = NaN/],
    ["covariance shape", () => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1]]] }), /covariances\[0\] = \[\[1\]\].*2 × 2/],
    ["asymmetric covariance", () => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 0.5], [0.2, 1]]] }), /covariances\[0\] = .*symmetric/],
    ["not positive definite", () => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] }), /covariances\[0\] = .*positive definite .*-0\.99/],
    ["singular", () => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 1], [1, 1]]] }), /positive definite/],
    ["x dimension", () => anisotropicMixture().logProb(tf.zeros([4, 3])), /x.shape = \[4, 3\].*\[B, 2\]/],
    ["x without batch", () => anisotropicMixture().logProb(tf.zeros([2])), /x.shape = \[2\]/],
    ["t batch", () => anisotropicMixture().scoreAt(new VPSDE(), tf.zeros([4, 2]), tf.zeros([3])), /t.shape = \[3\].*\[4\]/],
    ["t out of range", () => anisotropicMixture().scoreAt(new VPSDE(), tf.zeros([2, 2]), tf.tensor1d([0.5, 2])), /t\[1\] = 2/],
    ["sample n", () => anisotropicMixture().sample(0, createRng(1)), /n = 0/],
    ["eightGaussians std", () => eightGaussians({ std: -1 }), /std = -1/],
    ["gridGaussians n", () => gridGaussians({ n: 2.5 }), /n = 2.5/],
    ["perturbed t", () => anisotropicMixture().perturbed(new VESDE(), 1.5), /t = 1.5/],
  ];
  for (const [what, fn, re] of cases) it(what, () => assert.throws(fn, re));
});

describe("GaussianMixture frees its intermediates", () => {
  it("1000 score evaluations (and log-densities) leave no tensors behind", async () => {
    const g = gridGaussians();
    const sde = new VESDE();
    const x = tf.randomNormal([64, 2]);
    g.logProb(x).dispose(); // creates the kept constants once
    await assertNoLeak(() => {
      const score = g.scoreFn(sde);
      for (let i = 0; i < 1000; i++) {
        const t = timeVector(1 - i / 1000, 64, 1);
        tf.dispose([t, score(x, t)]);
      }
      for (let i = 0; i < 20; i++) tf.tidy(() => {
        g.logProbAt(sde, x, timeVector(0.5, 64, 1));
      });
    }, "score");
    x.dispose();
    const before = tf.memory().numTensors;
    g.dispose();
    assert.equal(tf.memory().numTensors, before - 5, "dispose releases the 5 device constants");
  });

  it("constants first created inside a caller's tf.tidy survive it", () => {
    const g = anisotropicMixture();
    const x = tf.ones([2, 2]);
    const first = tf.tidy(() => g.logProb(x).dataSync()[0]);
    const second = tf.tidy(() => g.logProb(x).dataSync()[0]);
    assert.equal(second, first);
    x.dispose();
    g.dispose();
  });
});
