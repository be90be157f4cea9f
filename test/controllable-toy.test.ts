/**
 * Exact conditionals of Gaussian mixtures (lib/toy/conditional.ts) against brute force in float64: class posteriors
 * against Bayes' rule with explicitly inverted perturbed covariances, their gradient against central finite
 * differences, conditional laws against numerical integration of the joint density on a grid.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, VESDE, VPSDE } from "../lib/sde";
import { GaussianMixture, anisotropicMixture } from "../lib/toy";
import { GRAY_DECOUPLING, MixtureClasses, MixtureConditional, colourToy, grayConditional, transformMixture } from "../lib/toy/conditional";
import { setup } from "./helpers";

before(setup);

/** log N(x; μ, C) in float64 by Gaussian elimination (d ≤ 3 here). */
function logGauss(x: number[], mu: number[], C: number[][]): number {
  const d = x.length;
  const A = C.map((r, i) => [...r, x[i] - mu[i]]);
  let logDet = 0;
  for (let i = 0; i < d; i++) {
    logDet += Math.log(A[i][i]);
    for (let r = i + 1; r < d; r++) {
      const f = A[r][i] / A[i][i];
      for (let c = i; c <= d; c++) A[r][c] -= f * A[i][c];
    }
  }
  // A is upper triangular with U = L⁻¹C ... solve back for C⁻¹(x−μ) and form the quadratic form.
  const sol = new Array<number>(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = A[i][d];
    for (let c = i + 1; c < d; c++) s -= A[i][c] * sol[c];
    sol[i] = s / A[i][i];
  }
  const quad = sol.reduce((s, v, i) => s + v * (x[i] - mu[i]), 0);
  return -0.5 * (quad + logDet + d * Math.log(2 * Math.PI));
}

function coeffs(sde: SDE, t: number): { m: number; s: number } {
  return tf.tidy(() => {
    const c = sde.marginalCoefficients(tf.tensor1d([t]));
    return { m: c.mean.dataSync()[0], s: c.std.dataSync()[0] };
  });
}

/** Host float64 log p_t(y = c | x) by Bayes' rule over the perturbed components. */
function hostLogPosterior(mix: GaussianMixture, classes: number[], sde: SDE, t: number, x: number[], c: number): number {
  const { m, s } = coeffs(sde, t);
  const terms = mix.means.map((mu, k) =>
    Math.log(mix.weights[k]) +
    logGauss(
      x,
      mu.map((v) => m * v),
      mix.covariances[k].map((r, i) => r.map((v, j) => m * m * v + (i === j ? s * s : 0))),
    ),
  );
  const lse = (a: number[]) => {
    const mx = Math.max(...a);
    return mx + Math.log(a.reduce((acc, v) => acc + Math.exp(v - mx), 0));
  };
  return lse(terms.filter((_, k) => classes[k] === c)) - lse(terms);
}

describe("MixtureClasses: exact p_t(y | x) and its gradient", () => {
  const points = [
    [0.9, 0.8],
    [-1.2, 0.2],
    [0.1, -0.9],
    [-0.4, 0.1],
    [2.5, -1.5],
  ];
  for (const [name, sde] of [
    ["VE", new VESDE({ sigmaMax: 10 })],
    ["VP", new VPSDE()],
  ] as [string, SDE][]) {
    it(`${name}: posterior = Bayes' rule on the perturbed components (float64), rows sum to 1`, () => {
      const mix = anisotropicMixture();
      const classes = [0, 1, 1];
      const mc = new MixtureClasses(mix, classes);
      for (const t of [0.01, 0.2, 0.6]) {
        const x = tf.tensor2d(points);
        const tt = tf.fill([points.length], t);
        const post = mc.posterior(sde, x, tt);
        const p = post.arraySync() as number[][];
        points.forEach((pt, b) => {
          assert.ok(Math.abs(p[b][0] + p[b][1] - 1) < 1e-6);
          for (const c of [0, 1]) {
            const want = Math.exp(hostLogPosterior(mix, classes, sde, t, pt, c));
            assert.ok(Math.abs(p[b][c] - want) <= 2e-6 + 1e-4 * want, `t=${t} x=${pt} c=${c}: ${p[b][c]} vs ${want}`);
          }
        });
        const lp = mc.logPosterior(sde, x, tt, [0, 1, 1, 0, 1]).dataSync();
        points.forEach((pt, b) => {
          const want = hostLogPosterior(mix, classes, sde, t, pt, [0, 1, 1, 0, 1][b]);
          assert.ok(Math.abs(lp[b] - want) <= 1e-4 * Math.max(1, Math.abs(want)), `log posterior ${lp[b]} vs ${want}`);
        });
        tf.dispose([x, tt, post]);
      }
      mc.dispose();
    });

    it(`${name}: ∇ₓ log p_t(y | x) = central finite differences of the float64 log posterior`, () => {
      const mix = anisotropicMixture();
      const classes = [0, 1, 2];
      const mc = new MixtureClasses(mix, classes);
      const h = 1e-5;
      for (const t of [0.02, 0.3]) {
        for (const c of [0, 1, 2]) {
          const x = tf.tensor2d(points);
          const tt = tf.fill([points.length], t);
          const g = mc.logPosteriorGrad(sde, x, tt, new Array(points.length).fill(c)).arraySync() as number[][];
          points.forEach((pt, b) => {
            for (let i = 0; i < 2; i++) {
              const up = pt.slice();
              const dn = pt.slice();
              up[i] += h;
              dn[i] -= h;
              const fd = (hostLogPosterior(mix, classes, sde, t, up, c) - hostLogPosterior(mix, classes, sde, t, dn, c)) / (2 * h);
              assert.ok(Math.abs(g[b][i] - fd) <= 2e-3 + 2e-4 * Math.abs(fd), `t=${t} c=${c} x=${pt} i=${i}: ${g[b][i]} vs fd ${fd}`);
            }
          });
          tf.dispose([x, tt]);
        }
      }
      mc.dispose();
    });
  }

  it("the class gradient plus the score is the class sub-mixture's score (the conditional score), any input rank", () => {
    const mix = anisotropicMixture();
    const mc = new MixtureClasses(mix, [1, 0, 1]);
    const sde = new VPSDE();
    tf.tidy(() => {
      const x = tf.tensor4d([0.3, -0.2, 1.1, 0.4, -1.0, 0.5, 0.0, 0.0], [4, 1, 1, 2]);
      const t = tf.tensor1d([0.05, 0.1, 0.5, 0.9]);
      const labels = [0, 1, 1, 0];
      const lhs = mc.logPosteriorGrad(sde, x, t, labels).add(mix.scoreAt(sde, x, t));
      assert.deepEqual(lhs.shape, [4, 1, 1, 2]);
      const l = lhs.dataSync();
      labels.forEach((c, b) => {
        const want = mc.classMixture(c).scoreAt(sde, x.slice([b], [1]), t.slice([b], [1])).dataSync();
        for (let i = 0; i < 2; i++) assert.ok(Math.abs(l[2 * b + i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])));
      });
    });
    assert.equal(mc.numClasses, 2);
    assert.deepEqual(mc.classWeights, [0.3, 0.7]);
    mc.dispose();
  });

  it("rejects bad input naming the parameter", () => {
    const mix = anisotropicMixture();
    assert.throws(() => new MixtureClasses(mix, [0, 1]), /classes = .*K = 3/);
    assert.throws(() => new MixtureClasses(mix, [0, 2, 2]), /classes = .*1 is unused/);
    assert.throws(() => new MixtureClasses(mix, [0, -1, 1]), /classes\[1\]/);
    const mc = new MixtureClasses(mix);
    const sde = new VPSDE();
    tf.tidy(() => {
      const x = tf.zeros([2, 2]);
      const t = tf.fill([2], 0.5);
      assert.throws(() => mc.logPosteriorGrad(sde, x, t, [0]), /labels.length = 1/);
      assert.throws(() => mc.logPosteriorGrad(sde, x, t, [0, 3]), /labels\[1\] = 3/);
      assert.throws(() => mc.logPosteriorGrad(sde, x, t, [0, 0.5]), /labels\[1\] = 0.5/);
    });
    assert.throws(() => mc.classMixture(7), /c = 7/);
  });
});

/** Trapezoid-free Riemann integration on a fine uniform grid (the integrands are smooth and vanish at the ends). */
function grid(lo: number, hi: number, n: number): { xs: number[]; h: number } {
  const h = (hi - lo) / (n - 1);
  return { xs: Array.from({ length: n }, (_, i) => lo + i * h), h };
}

function hostMixLogPdf(mix: GaussianMixture, x: number[]): number {
  const terms = mix.means.map((mu, k) => Math.log(mix.weights[k]) + logGauss(x, mu.slice(), mix.covariances[k].map((r) => r.slice())));
  const mx = Math.max(...terms);
  return mx + Math.log(terms.reduce((a, v) => a + Math.exp(v - mx), 0));
}

describe("MixtureConditional: exact conditional laws against numerical integration", () => {
  it("2-D imputation: p(x₁ | x₀ = v) equals p(v, x₁) / ∫ p(v, ·) on a grid, for several v (both coordinates)", () => {
    const mix = anisotropicMixture();
    for (const [known, v] of [
      [0, 0.2],
      [0, -1.0],
      [1, 0.0],
      [1, 0.9],
    ]) {
      const cond = new MixtureConditional(mix, { known: [known], values: [v] });
      assert.equal(cond.mixture.dim, 1);
      const { xs, h } = grid(-4, 4, 4001);
      const joint = xs.map((u) => Math.exp(hostMixLogPdf(mix, known === 0 ? [v, u] : [u, v])));
      const Z = joint.reduce((a, b) => a + b, 0) * h;
      const got = xs.map((u) => Math.exp(hostMixLogPdf(cond.mixture, [u])));
      let maxErr = 0;
      let peak = 0;
      xs.forEach((_, i) => {
        maxErr = Math.max(maxErr, Math.abs(got[i] - joint[i] / Z));
        peak = Math.max(peak, joint[i] / Z);
      });
      assert.ok(maxErr < 1e-8 * peak + 1e-12, `known ${known} = ${v}: max density error ${maxErr} (peak ${peak})`);
      // Samples carry the known value exactly and have the conditional mean.
      const s = cond.sample(4000, createRng(5));
      const a = s.arraySync() as number[][];
      s.dispose();
      assert.ok(a.every((p) => p[known] === Math.fround(v)));
      const mean = a.reduce((acc, p) => acc + p[1 - known], 0) / a.length;
      const want = (xs.reduce((acc, u, i) => acc + u * joint[i], 0) * h) / Z;
      const sd = Math.sqrt((xs.reduce((acc, u, i) => acc + (u - want) ** 2 * joint[i], 0) * h) / Z);
      assert.ok(Math.abs(mean - want) < 4 * (sd / Math.sqrt(a.length)), `sample mean ${mean} vs ${want}`);
      cond.dispose();
    }
  });

  it("3-D colour toy: the law of x given mean(x) = g equals the joint density on the plane, normalised by 2-D integration", () => {
    const mix = colourToy();
    for (const g of [0.0, -0.1, 0.15]) {
      const cond = grayConditional(mix, g);
      assert.equal(cond.mixture.dim, 2);
      assert.ok(cond.mixture.numComponents >= 2);
      const M = GRAY_DECOUPLING;
      const toX = (u1: number, u2: number): number[] =>
        [0, 1, 2].map((i) => M[i][0] * Math.sqrt(3) * g + M[i][1] * u1 + M[i][2] * u2);
      const { xs, h } = grid(-2.5, 2.5, 301);
      let Z = 0;
      const joint: number[] = [];
      for (const u1 of xs) for (const u2 of xs) {
        const p = Math.exp(hostMixLogPdf(mix, toX(u1, u2)));
        joint.push(p);
        Z += p * h * h;
      }
      let maxErr = 0;
      let peak = 0;
      let idx = 0;
      for (const u1 of xs) for (const u2 of xs) {
        const want = joint[idx++] / Z;
        maxErr = Math.max(maxErr, Math.abs(Math.exp(hostMixLogPdf(cond.mixture, [u1, u2])) - want));
        peak = Math.max(peak, want);
      }
      assert.ok(maxErr < 1e-6 * peak, `gray ${g}: max density error ${maxErr} (peak ${peak})`);
      const s = cond.sample(500, createRng(1));
      const a = s.arraySync() as number[][];
      s.dispose();
      for (const p of a) assert.ok(Math.abs((p[0] + p[1] + p[2]) / 3 - g) < 1e-6, `sample ${p} has gray ${(p[0] + p[1] + p[2]) / 3}`);
      cond.dispose();
    }
  });

  it("GRAY_DECOUPLING is orthogonal, its first column the gray direction, and equals the official float32 matrix", () => {
    const official = [
      [5.7735014e-1, -8.1649649e-1, 4.7008697e-8],
      [5.7735026e-1, 4.0824834e-1, 7.0710671e-1],
      [5.7735026e-1, 4.0824822e-1, -7.0710683e-1],
    ];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(GRAY_DECOUPLING[i][j] - official[i][j]) < 3e-7);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const dot = [0, 1, 2].reduce((s, l) => s + GRAY_DECOUPLING[l][i] * GRAY_DECOUPLING[l][j], 0);
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-15);
    }
  });

  it("transformMixture: moments of A x + b are A mean + b and A cov Aᵀ", () => {
    const mix = colourToy();
    const A = [
      [1, 2, 0],
      [0, -1, 0.5],
    ];
    const b = [0.5, -1];
    const y = transformMixture(mix, A, b);
    const { mean, covariance } = mix.moments();
    const my = y.moments();
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(my.mean[i] - (A[i].reduce((s, a, j) => s + a * mean[j], 0) + b[i])) < 1e-12);
      for (let j = 0; j < 2; j++) {
        let want = 0;
        for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) want += A[i][k] * covariance[k][l] * A[j][l];
        assert.ok(Math.abs(my.covariance[i][j] - want) < 1e-12);
      }
    }
  });

  it("rejects bad input naming the parameter", () => {
    const mix = anisotropicMixture();
    assert.throws(() => new MixtureConditional(mix, { known: [], values: [] }), /known = \[\]/);
    assert.throws(() => new MixtureConditional(mix, { known: [0, 1], values: [0, 0] }), /known = /);
    assert.throws(() => new MixtureConditional(mix, { known: [2], values: [0] }), /known\[0\] = 2/);
    assert.throws(() => new MixtureConditional(mix, { known: [0], values: [0, 1] }), /values = /);
    assert.throws(() => new MixtureConditional(mix, { known: [0], values: [NaN] }), /values\[0\] = NaN/);
    assert.throws(() => new MixtureConditional(mix, { known: [0], values: [0], basis: [[1, 1], [0, 1]] }), /basis = .*orthogonal/);
    assert.throws(() => grayConditional(mix, 0), /mixture = .*3-D/);
    assert.throws(() => grayConditional(colourToy(), Infinity), /gray = /);
    assert.throws(() => transformMixture(mix, [[1, 0, 0]]), /A = /);
  });
});
