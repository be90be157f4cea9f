/**
 * Weak convergence of the reverse-SDE / probability-flow predictors against an analytic Gaussian target, with no
 * Monte-Carlo noise.
 *
 * For Gaussian data x₀ ~ N(μ, diag(s₀²)) the perturbed marginal is p_t = N(m(t) μ, m² s₀² + s(t)²) per coordinate, so
 * the exact score is affine in x and every predictor update is x' = A x + c + D z per coordinate. A, c and D are read
 * off one update of a 3-row probe batch (x = 0 and z = 0; x = 1 and z = 0; x = 0 and z = 1) — the probe rng returns
 * those z — and the mean and variance of the sampler's law are propagated exactly: mean' = A mean + c,
 * var' = A² var + D². Starting from the exact p_T isolates the discretisation error from the prior mismatch; the
 * error is the 2-Wasserstein distance between Gaussians to the law the chain targets. Expected: weak order 1, i.e.
 * a log-log slope of −1 in N.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE, linspace, perExample, timeVector } from "../lib/sde";
import { getPredictor } from "../lib/sampling";
import type { Predictor } from "../lib/sampling";
import { assertClose, setup } from "./helpers";
import { MU, S0, gaussianScore, order } from "../notebooks/experiments/gaussianTarget";

const NS = [100, 200, 400, 800]; // from N = 100 on: at N = 50 the probability-flow predictors are still pre-asymptotic (error ~0.3)

/** An Rng whose normal draws are fixed rows (the probe's z). */
function fixedRng(rows: number[][]): Rng {
  return { normal: () => tf.tensor2d(rows) } as unknown as Rng;
}

const PROBE_X = [[0, 0], [1, 1], [0, 0]];
const PROBE_Z = [[0, 0], [0, 0], [1, 1]];

function affineStep(p: Predictor, t: tf.Tensor): { A: number[]; c: number[]; D: number[] } {
  return tf.tidy(() => {
    const o = p.update(tf.tensor2d(PROBE_X), t, fixedRng(PROBE_Z)).x.dataSync();
    const c = [o[0], o[1]];
    return { c, A: [o[2] - c[0], o[3] - c[1]], D: [o[4] - c[0], o[5] - c[1]] };
  });
}

function marginal(sde: SDE, t: number): [number, number] {
  return tf.tidy(() => {
    const c = sde.marginalCoefficients(tf.tensor1d([t]));
    return [c.mean.dataSync()[0], c.std.dataSync()[0]];
  });
}

/** W2 distance between the sampler's final law (x, noise included) and N(μ, s_end²). */
function samplerError(sde: SDE, predictor: string, probabilityFlow: boolean, sEnd: number[]): number {
  const p = getPredictor(predictor)({ sde, score: gaussianScore(sde), probabilityFlow });
  const [mT, sT] = marginal(sde, sde.T);
  const mean = MU.map((v) => mT * v);
  const variance = S0.map((v) => mT * mT * v * v + sT * sT);
  const ts = linspace(sde.T, 1e-5, sde.N);
  for (let i = 0; i < sde.N; i++) {
    const t = timeVector(ts[i], 3, sde.T);
    const { A, c, D } = affineStep(p, t);
    t.dispose();
    for (let d = 0; d < 2; d++) {
      mean[d] = A[d] * mean[d] + c[d];
      variance[d] = A[d] * A[d] * variance[d] + D[d] * D[d];
    }
  }
  return Math.hypot(...mean.map((m, d) => m - MU[d]), ...variance.map((v, d) => Math.sqrt(v) - sEnd[d]));
}

/** Least-squares slope of log y against log x (the convergence order with its sign flipped). */
const slope = (xs: number[], ys: number[]): number => -order(xs, ys);

before(setup);

describe("weak order 1 of the predictors on a Gaussian target (exact mean/variance propagation)", () => {
  it("the probe is exact: one update equals A x + c + D z for arbitrary x and z", () => {
    const sde = new VPSDE({ N: 100 });
    const p = getPredictor("reverse_diffusion")({ sde, score: gaussianScore(sde), probabilityFlow: false });
    const t = timeVector(0.37, 3, 1);
    const { A, c, D } = affineStep(p, t);
    const x = [[0.3, -2], [1.7, 0.4], [-1, 1]];
    const z = [[1.1, -0.2], [-0.7, 2.3], [0.05, -1.4]];
    const r = p.update(tf.tensor2d(x), t, fixedRng(z));
    assertClose(r.x, x.map((row, i) => row.map((v, d) => A[d] * v + c[d] + D[d] * z[i][d])), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([t, r.x, r.xMean]);
  });

  const SDES: [string, (N: number) => SDE][] = [
    ["VE", (N) => new VESDE({ N })],
    ["VP", (N) => new VPSDE({ N })],
    ["subVP", (N) => new SubVPSDE({ N })],
  ];
  const PREDICTORS: [string, boolean][] = [
    ["euler_maruyama", false],
    ["reverse_diffusion", false],
    ["ancestral_sampling", false],
    ["reverse_diffusion", true],
    ["euler_maruyama", true],
  ];
  for (const [sdeName, make] of SDES) {
    for (const [predictor, pf] of PREDICTORS) {
      if (sdeName === "subVP" && predictor === "ancestral_sampling") continue;
      it(`${sdeName} ${predictor}${pf ? " (probability flow)" : ""}: error ∝ 1/N`, (t) => {
        // What the chain targets at its end. Euler–Maruyama steps dt = −1/N from t = 1 down to t = 0, whose
        // marginal under the official VE convention has std √(s₀² + σ_min²) (s(0) = σ_min, not 0). The discrete
        // chains (reverse diffusion, ancestral) end at σ_{−1} = 0 (VE) or at the DDPM x₀ (VP): the data, std s₀.
        const sEnd = sdeName === "VE" && predictor === "euler_maruyama" ? S0.map((s) => Math.hypot(s, 0.01)) : S0;
        const errs = NS.map((N) => samplerError(make(N), predictor, pf, sEnd));
        const k = slope(NS, errs);
        const msg = `errors ${errs.map((e) => e.toExponential(2)).join(", ")} for N = ${NS.join(", ")}; slope ${k.toFixed(3)}`;
        t.diagnostic(msg);
        for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], msg);
        assert.ok(k > -1.15 && k < -0.85, `slope not ≈ −1: ${msg}`);
        assert.ok(errs[errs.length - 1] < 0.03, msg);
      });
    }
  }
});
