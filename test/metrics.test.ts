/** Sample distances against exact identities and closed forms. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { GaussianMixture, eightGaussians } from "../lib/toy";
import {
  energyDistance,
  noiseFloor,
  sampleCrossEntropy,
  slicedWasserstein,
  wasserstein1d,
  withinNoiseFloor,
} from "../lib/metrics";
import { assertNoLeak, setup } from "./helpers";

before(setup);

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): ample for the 2e-5 tolerances below. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const Phi = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));

/** Acklam's inverse normal CDF (relative error < 1.2e-9). */
function ndtri(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

const rows = (v: ArrayLike<number>, d: number): number[][] => Array.from({ length: v.length / d }, (_, i) => Array.from(v).slice(i * d, (i + 1) * d));

describe("energyDistance", () => {
  it("is exactly 0 between a sample and a (permuted) copy of itself (V-statistic)", () => {
    const x = rows(createRng(1).normalArray(600), 2);
    const y = x.slice().reverse();
    assert.equal(energyDistance(x, y), 0);
    assert.equal(energyDistance(x, x.map((r) => r.slice())), 0);
  });

  it("equals a naive all-pairs evaluation in 3-D (V and U)", () => {
    const r = createRng(2);
    const x = rows(r.normalArray(40 * 3), 3);
    const y = rows(r.normalArray(30 * 3), 3).map((p) => p.map((v) => v + 0.5));
    const mean = (a: number[][], b: number[][], skipDiag: boolean): number => {
      let s = 0;
      let c = 0;
      a.forEach((p, i) =>
        b.forEach((q, j) => {
          if (skipDiag && i === j) return;
          s += Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
          c++;
        }),
      );
      return s / c;
    };
    const v = 2 * mean(x, y, false) - mean(x, x, false) - mean(y, y, false);
    const u = 2 * mean(x, y, false) - mean(x, x, true) - mean(y, y, true);
    assert.ok(Math.abs(energyDistance(x, y) - v) < 1e-12, "V");
    assert.ok(Math.abs(energyDistance(x, y, { estimator: "U" }) - u) < 1e-12, "U");
    // Tensors and {data, dim} give the same number.
    const xt = tf.tensor2d(x);
    const same = energyDistance(xt, { data: y.flat(), dim: 3 });
    xt.dispose();
    assert.ok(Math.abs(same - v) < 1e-5, "tensor input (float32)");
  });

  it("in 1-D equals 2∫(F_n − G_m)² dx, the Cramér distance of the empirical CDFs", () => {
    const r = createRng(3);
    const a = Array.from(r.normalArray(300));
    const b = Array.from(r.normalArray(200)).map((v) => 0.7 + 1.3 * v);
    // ∫(F − G)² exactly: both CDFs are constant between consecutive merged points.
    const all = [...a.map((v) => [v, 0]), ...b.map((v) => [v, 1])].sort((p, q) => p[0] - q[0]);
    let F = 0;
    let G = 0;
    let integral = 0;
    for (let k = 0; k < all.length - 1; k++) {
      if (all[k][1] === 0) F += 1 / a.length;
      else G += 1 / b.length;
      integral += (F - G) ** 2 * (all[k + 1][0] - all[k][0]);
    }
    const ed = energyDistance(a.map((v) => [v]), b.map((v) => [v]));
    assert.ok(Math.abs(ed - 2 * integral) < 1e-10 * (1 + ed), `${ed} vs ${2 * integral}`);
  });

  it("matches the closed form for two 1-D Gaussians (quantile samples)", () => {
    // D² = 2E|X − Y| − E|X − X'| − E|Y − Y'| with X − Y ~ N(Δ, s²): E|Z| = s√(2/π) e^{−Δ²/2s²} + Δ(1 − 2Φ(−Δ/s)),
    // and E|X − X'| = 2σ/√π. Deterministic quantile points x_i = μ + σ Φ⁻¹((i + ½)/n) make the V-statistic a
    // quadrature whose error shrinks like n^{−3/2} (measured: 5.7e-6 at n = 2000).
    const [m1, s1, m2, s2] = [0, 1, 1, 1.5];
    const eAbs = (mu: number, s: number): number => s * Math.sqrt(2 / Math.PI) * Math.exp(-(mu * mu) / (2 * s * s)) + mu * (1 - 2 * Phi(-mu / s));
    const exact = 2 * eAbs(m2 - m1, Math.hypot(s1, s2)) - (2 * s1) / Math.sqrt(Math.PI) - (2 * s2) / Math.sqrt(Math.PI);
    const n = 2000;
    const x = Array.from({ length: n }, (_, i) => [m1 + s1 * ndtri((i + 0.5) / n)]);
    const y = Array.from({ length: n }, (_, i) => [m2 + s2 * ndtri((i + 0.5) / n)]);
    const ed = energyDistance(x, y);
    assert.ok(Math.abs(ed - exact) < 2e-5, `ED ${ed} vs closed form ${exact}`);
  });

  it("grows with a shift, and → 2|δ| − 2·mean‖x_i − x_j‖ for a large shift of the same cloud", () => {
    const x = rows(createRng(4).normalArray(800), 2);
    const shifted = (d: number): number[][] => x.map(([a, b]) => [a + 0.6 * d, b + 0.8 * d]);
    const eds = [0, 0.25, 0.5, 1, 2].map((d) => energyDistance(x, shifted(d)));
    for (let k = 1; k < eds.length; k++) assert.ok(eds[k] > eds[k - 1], `ED not increasing: ${eds}`);
    // Σ_ij (x_j − x_i)·δ̂ = 0 exactly, so mean‖x_i − x_j − δ‖ = |δ| + O(E‖x‖²/|δ|).
    const big = 1000;
    let W = 0; // mean over all pairs (i = j included) of ‖x_i − x_j‖
    for (const p of x) for (const q of x) W += Math.hypot(p[0] - q[0], p[1] - q[1]) / (x.length * x.length);
    assert.ok(Math.abs(energyDistance(x, shifted(big)) - (2 * big - 2 * W)) < 0.01);
  });

  it("U-statistic between two samples of one distribution is ≈ 0 (unbiased), V is biased up by ≈ E‖X − X'‖/n·2", () => {
    const g = eightGaussians();
    const r = createRng(5);
    let u = 0;
    let v = 0;
    const reps = 4;
    for (let k = 0; k < reps; k++) {
      const a = g.sample(400, r);
      const b = g.sample(400, r);
      u += energyDistance(a, b, { estimator: "U" }) / reps;
      v += energyDistance(a, b) / reps;
      tf.dispose([a, b]);
    }
    assert.ok(Math.abs(u) < 0.01, `U mean ${u}`);
    assert.ok(v > u, "V ≥ U");
  });

  it("maxPoints subsamples with the rng; ≥ n gives the full estimate", () => {
    const r = createRng(6);
    const x = rows(r.normalArray(400), 2);
    const y = rows(r.normalArray(400), 2);
    assert.equal(energyDistance(x, y, { maxPoints: 200, rng: createRng(1) }), energyDistance(x, y, { maxPoints: 200, rng: createRng(1) }));
    assert.equal(energyDistance(x, y, { maxPoints: 500 }), energyDistance(x, y));
    assert.throws(() => energyDistance(x, y, { maxPoints: 100 }), /rng = undefined/);
  });
});

describe("Wasserstein", () => {
  it("1-D, unequal sizes: exact small cases and the repetition identity", () => {
    assert.equal(wasserstein1d([0], [0, 1]), 0.5);
    assert.ok(Math.abs(wasserstein1d([0, 1, 2], [0, 3]) - 5 / 6) < 1e-15);
    // Repeating every point of a k times leaves its distribution unchanged.
    const r = createRng(7);
    const a = Array.from(r.normalArray(7));
    const b = Array.from(r.normalArray(5)).map((v) => 2 * v + 1);
    const rep = (v: number[], k: number): number[] => v.flatMap((x) => new Array<number>(k).fill(x));
    for (const p of [1, 2, 3]) {
      const direct = wasserstein1d(a, b, p);
      const equalSizes = wasserstein1d(rep(a, 5), rep(b, 7), p);
      assert.ok(Math.abs(direct - equalSizes) < 1e-12, `p=${p}: ${direct} vs ${equalSizes}`);
    }
  });

  it("sliced: a shifted cloud gives exactly |θ·δ| per direction (SW₁ = mean|θ·δ|, SW₂ = √mean(θ·δ)²)", () => {
    const x = rows(createRng(8).normalArray(1000), 2);
    const delta = [0.9, -0.4];
    const y = x.map(([a, b]) => [a + delta[0], b + delta[1]]);
    const dirs = [
      [1, 0],
      [0, 1],
      [3, 4],
      [-1, 2],
    ];
    const proj = dirs.map(([u, v]) => Math.abs(u * delta[0] + v * delta[1]) / Math.hypot(u, v));
    const sw1 = slicedWasserstein(x, y, { directions: dirs, p: 1 });
    const sw2 = slicedWasserstein(x, y, { directions: dirs, p: 2 });
    assert.ok(Math.abs(sw1 - proj.reduce((s, v) => s + v, 0) / 4) < 1e-9, `SW1 ${sw1}`);
    assert.ok(Math.abs(sw2 - Math.sqrt(proj.reduce((s, v) => s + v * v, 0) / 4)) < 1e-9, `SW2 ${sw2}`);
    // Random directions on the circle: E|θ·δ| = 2|δ|/π and E(θ·δ)² = |δ|²/2 (Monte Carlo over 4000 directions).
    const L = 4000;
    const n = Math.hypot(delta[0], delta[1]);
    const r1 = slicedWasserstein(x.slice(0, 200), y.slice(0, 200), { projections: L, p: 1, rng: createRng(9) });
    const r2 = slicedWasserstein(x.slice(0, 200), y.slice(0, 200), { projections: L, p: 2, rng: createRng(9) });
    // Std of |cos| is 0.31·|δ|, of cos² is 0.35·|δ|²: 4.5 standard errors.
    assert.ok(Math.abs(r1 - (2 * n) / Math.PI) < 4.5 * 0.31 * n / Math.sqrt(L), `SW1 ${r1} vs ${(2 * n) / Math.PI}`);
    assert.ok(Math.abs(r2 * r2 - (n * n) / 2) < 4.5 * 0.36 * n * n / Math.sqrt(L), `SW2² ${r2 * r2} vs ${(n * n) / 2}`);
  });

  it("1-D Gaussians: W₂² = (μ₁ − μ₂)² + (σ₁ − σ₂)² on quantile samples", () => {
    const n = 4000;
    const q = Array.from({ length: n }, (_, i) => ndtri((i + 0.5) / n));
    const w2 = wasserstein1d(q.map((v) => 0.5 + 2 * v), q.map((v) => -1 + 0.5 * v), 2);
    // Exact for the quantile points up to the truncated tails: (Σ (1.5 q_i)²/n)^{1/2} vs 1.5 (σ of N(0,1) is 1).
    assert.ok(Math.abs(w2 * w2 - (1.5 * 1.5 + 1.5 * 1.5)) < 0.01, `W2² ${w2 * w2}`);
    const sw = slicedWasserstein(q.map((v) => [0.5 + 2 * v]), q.map((v) => [-1 + 0.5 * v]), { directions: [[1]] });
    assert.ok(Math.abs(sw - w2) < 1e-12);
  });
});

describe("noise floor and cross-entropy", () => {
  it("noiseFloor is seeded; a fresh true sample is within it, a shifted one is not", () => {
    const g = eightGaussians();
    const metric = (x: Parameters<typeof energyDistance>[0], y: Parameters<typeof energyDistance>[1]): number => energyDistance(x, y);
    const f1 = noiseFloor(g, 300, metric, { repeats: 6, seed: 1 });
    const f2 = noiseFloor(g, 300, metric, { repeats: 6, seed: 1 });
    assert.deepEqual(f1, f2);
    assert.equal(f1.values.length, 6);
    assert.ok(f1.mean > 0 && f1.std > 0);
    const r = createRng(99);
    const a = g.sample(300, r);
    const b = g.sample(300, r);
    const shifted = tf.tidy(() => g.sample(300, r).add(tf.tensor1d([0.3, 0])));
    assert.ok(withinNoiseFloor(energyDistance(a, b), f1, 4), "fresh sample within the floor");
    assert.ok(!withinNoiseFloor(energyDistance(a, shifted), f1, 4), "shifted sample outside the floor");
    tf.dispose([a, b, shifted]);
    // A function source works too.
    const fn = noiseFloor((n, rr) => rows(rr.normalArray(2 * n), 2), 100, metric, { repeats: 3 });
    assert.equal(fn.values.length, 3);
  });

  it("sampleCrossEntropy: mean −log p; for N(0, I₂) samples ≈ its entropy 1 + log 2π", () => {
    const g = new GaussianMixture({
      weights: [1],
      means: [[0, 0]],
      covariances: [
        [
          [1, 0],
          [0, 1],
        ],
      ],
    });
    const x = g.sample(20000, createRng(10));
    const ce = sampleCrossEntropy(g, x, { batchSize: 3000 });
    // −log p = log 2π + |x|²/2 exactly, so the mean is checked against a host evaluation of the same points.
    const v = x.dataSync();
    let direct = 0;
    for (let i = 0; i < 20000; i++) direct += Math.log(2 * Math.PI) + 0.5 * (v[2 * i] ** 2 + v[2 * i + 1] ** 2);
    assert.ok(Math.abs(ce - direct / 20000) < 1e-5, `${ce} vs ${direct / 20000}`);
    // Var(|x|²/2) = 1 for d = 2: standard error 1/√20000; 4.5 of them.
    assert.ok(Math.abs(ce - (1 + Math.log(2 * Math.PI))) < 4.5 / Math.sqrt(20000), `${ce}`);
    x.dispose();
    g.dispose();
  });

  it("metrics leave no tensors behind", async () => {
    const g = eightGaussians();
    g.logProb(tf.zeros([1, 2])).dispose(); // device constants, created once
    await assertNoLeak(() => {
      noiseFloor(g, 50, (x, y) => slicedWasserstein(x, y, { rng: createRng(1), projections: 8 }), { repeats: 2 });
      const x = g.sample(100, createRng(2));
      sampleCrossEntropy(g, x, { batchSize: 30 });
      energyDistance(x, x);
      x.dispose();
    });
    g.dispose();
  });
});

describe("metric validation names the parameter and the value", () => {
  const p2 = [
    [0, 0],
    [1, 1],
  ];
  const cases: [string, () => unknown, RegExp][] = [
    ["dimension mismatch", () => energyDistance(p2, [[0, 0, 0]]), /y.dim = 3 .*x.dim = 2/],
    ["empty", () => energyDistance([], p2), /x = \[\]/],
    ["NaN", () => energyDistance([[0, NaN]], p2), /x\[0\]\[1\] = NaN/],
    ["ragged", () => slicedWasserstein([[0, 0], [1]], p2, { directions: [[1, 0]] }), /x\[1\] = \[1\]/],
    ["U with one point", () => energyDistance([[0, 0]], p2, { estimator: "U" }), /at least 2 points/],
    ["estimator", () => energyDistance(p2, p2, { estimator: "W" as "V" }), /estimator = "W"/],
    ["SW without rng", () => slicedWasserstein(p2, p2), /rng = undefined/],
    ["SW p < 1", () => slicedWasserstein(p2, p2, { p: 0.5, directions: [[1, 0]] }), /p = 0.5/],
    ["SW zero direction", () => slicedWasserstein(p2, p2, { directions: [[0, 0]] }), /directions\[0\] = \[0, 0\]/],
    ["noiseFloor repeats", () => noiseFloor(eightGaussians(), 10, energyDistance, { repeats: 1 }), /repeats = 1/],
    ["tensor rank", () => energyDistance(tf.zeros([4]), p2), /x.shape = \[4\]/],
  ];
  for (const [what, fn, re] of cases) it(what, () => assert.throws(fn, re));
});
