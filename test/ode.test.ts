/**
 * Probability-flow ODE sampling and encoding with exact Gaussian-mixture scores.
 *
 * Closed form used below: for data N(μ, S) with diagonal S, the marginal at t is N(m(t) μ, diag(m² S_ii + s²)),
 * and the probability-flow ODE decouples per coordinate into an affine flow, whose solution is the monotone
 * affine map between the two Gaussians: x_t = m(t) μ + (σ_t / σ_r)(x_r − m(r) μ), σ_t² = m(t)² S_ii + s(t)².
 */
import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { odeEncode, odeSample } from "../lib/ode";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, timeVector, VESDE, VPSDE } from "../lib/sde";
import { anisotropicMixture, GaussianMixture } from "../lib/toy";
import { assertClose, assertNoLeak, setup } from "./helpers";

const SDES: [string, () => SDE][] = [
  ["VE", () => new VESDE()],
  ["VP", () => new VPSDE()],
  ["subVP", () => new SubVPSDE()],
];

const MU = [0.7, -0.4];
const S = [0.09, 0.25];
const gaussian = () =>
  new GaussianMixture({ name: "diag", weights: [1], means: [MU], covariances: [[[S[0], 0], [0, S[1]]]] });

/** Host float64 m(t), s(t) from the SDE (read once). */
function coeffs(sde: SDE, t: number): [number, number] {
  return tf.tidy(() => {
    const c = sde.marginalCoefficients(tf.tensor1d([t], "float32"));
    return [c.mean.dataSync()[0], c.std.dataSync()[0]];
  });
}

/** The exact probability-flow map from time r to time t for the diagonal Gaussian. */
function exactFlow(sde: SDE, x: number[][], r: number, t: number): number[][] {
  const [mr, sr] = coeffs(sde, r);
  const [mt, st] = coeffs(sde, t);
  return x.map((row) =>
    row.map((v, i) => {
      const sigR = Math.sqrt(mr * mr * S[i] + sr * sr);
      const sigT = Math.sqrt(mt * mt * S[i] + st * st);
      return mt * MU[i] + (sigT / sigR) * (v - mr * MU[i]);
    }),
  );
}

describe("odeSample / odeEncode (probability-flow ODE, RK45)", () => {
  before(setup);

  for (const [name, make] of SDES) {
    it(`${name}: decoding a latent matches the closed-form Gaussian flow (rtol = atol = 1e-5)`, async () => {
      const sde = make();
      const g = gaussian();
      const rng = createRng(11);
      const z = sde.priorSample([16, 2], rng);
      const eps = sde.defaultEps;
      const { samples, nfe, nAccepted, nRejected } = await odeSample({ sde, score: g.scoreFn(sde), z });
      const expected = exactFlow(sde, z.arraySync() as number[][], 1, eps);
      // RK45 at 1e-5 and a float32 right-hand side: a few 1e-5 absolute error at most on O(1) outputs.
      assertClose(samples, expected, { rtol: 0, atol: 2e-4, what: `${name} x(eps)` });
      assert.equal(nfe, 2 + 6 * (nAccepted + nRejected));
      tf.dispose([z, samples]);
      g.dispose();
    });

    it(`${name}: encoding matches the closed-form flow and decode(encode(x)) ≈ x`, async () => {
      const sde = make();
      const mix = anisotropicMixture();
      const x = mix.sample(16, createRng(3));
      const score = mix.scoreFn(sde);
      const enc = await odeEncode({ sde, score, x });
      const dec = await odeSample({ sde, score, z: enc.z });
      const err = tf.tidy(() => dec.samples.sub(x).abs().max().dataSync()[0]);
      assert.ok(err < 2e-3, `${name}: max |decode(encode(x)) − x| = ${err}`);
      assert.ok(enc.nfe > 0 && dec.nfe > 0);
      tf.dispose([x, enc.z, dec.samples]);

      const g = gaussian();
      const x0 = g.sample(8, createRng(4));
      const e = await odeEncode({ sde, score: g.scoreFn(sde), x: x0 });
      const zExact = exactFlow(sde, x0.arraySync() as number[][], sde.defaultEps, 1);
      // z lives on the prior's scale (σ_max = 50 for VE): compare relative to it. The forward flow amplifies
      // early errors by σ_T/σ_eps ≈ 3 per coordinate here, hence a looser bound than for decoding.
      const zScale = sde.kind === "VE" ? 50 : 1;
      assertClose(e.z, zExact, { rtol: 0, atol: 5e-4 * zScale, what: `${name} z` });
      tf.dispose([x0, e.z]);
      mix.dispose();
      g.dispose();
    });
  }

  it("solver error shrinks as the tolerance tightens (closed-form flow, VP), at the cost of more evaluations", async () => {
    const sde = new VPSDE();
    const g = gaussian();
    const z = sde.priorSample([32, 2], createRng(13));
    const expected = exactFlow(sde, z.arraySync() as number[][], 1, sde.defaultEps).flat();
    const errs: number[] = [];
    const nfes: number[] = [];
    for (const tol of [1e-2, 1e-3, 1e-5]) {
      const { samples, nfe } = await odeSample({ sde, score: g.scoreFn(sde), z, rtol: tol, atol: tol });
      const v = samples.dataSync();
      errs.push(Math.max(...expected.map((e, i) => Math.abs(v[i] - e))));
      nfes.push(nfe);
      samples.dispose();
    }
    assert.ok(errs[0] > errs[1] && errs[1] > errs[2], `errors ${errs}`);
    assert.ok(nfes[0] < nfes[1] && nfes[1] < nfes[2], `nfe ${nfes}`);
    tf.dispose(z);
    g.dispose();
  });

  it("accepts the official NCHW layout: [B, 2, 1, 1] gives the same samples as [B, 2]", async () => {
    const sde = new VESDE();
    const mix = anisotropicMixture();
    const z = sde.priorSample([8, 2], createRng(14));
    const z4 = z.reshape([8, 2, 1, 1]);
    const a = await odeSample({ sde, score: mix.scoreFn(sde), z });
    const b = await odeSample({ sde, score: mix.scoreFn(sde), z: z4 });
    assert.deepEqual(b.samples.shape, [8, 2, 1, 1]);
    assert.equal(b.nfe, a.nfe);
    assertClose(b.samples, Array.from(a.samples.dataSync()), { rtol: 0, atol: 1e-6, what: "NCHW samples" });
    tf.dispose([z, z4, a.samples, b.samples]);
    mix.dispose();
  });

  it("denoise = one reverse-diffusion step at eps returning x − rev_f (official denoise_update_fn)", async () => {
    const sde = new VPSDE();
    const mix = anisotropicMixture();
    const score = mix.scoreFn(sde);
    const z = sde.priorSample([8, 2], createRng(5));
    const plain = await odeSample({ sde, score, z });
    const den = await odeSample({ sde, score, z, denoise: true });
    assert.equal(den.nfe, plain.nfe);
    const expected = tf.tidy(() => {
      const { f } = sde.reverse(score).discretize(plain.samples, timeVector(sde.defaultEps, 8, sde.T));
      return plain.samples.sub(f);
    });
    assertClose(den.samples, Array.from(expected.dataSync()), { rtol: 1e-6, atol: 1e-6, what: "denoised" });
    // The step moves the sample (VP at eps = 1e-3 has β_0 = 1e-4 ⇒ a tiny but non-zero move).
    const moved = tf.tidy(() => den.samples.sub(plain.samples).abs().max().dataSync()[0]);
    assert.ok(moved > 0);
    tf.dispose([z, plain.samples, den.samples, expected]);
    mix.dispose();
  });

  it("samples from the prior with shape + rng have the mixture's moments (exact score, VP)", async () => {
    const sde = new VPSDE();
    const mix = anisotropicMixture();
    const n = 400;
    const { samples } = await odeSample({ sde, score: mix.scoreFn(sde), shape: [n, 2], rng: createRng(21) });
    const xs = samples.arraySync() as number[][];
    const { mean, covariance } = mix.moments();
    for (let i = 0; i < 2; i++) {
      const m = xs.reduce((a, r) => a + r[i], 0) / n;
      // Monte-Carlo standard error √(var/n); allow 4 of them.
      assert.ok(Math.abs(m - mean[i]) < 4 * Math.sqrt(covariance[i][i] / n), `mean[${i}] ${m} vs ${mean[i]}`);
    }
    tf.dispose(samples);
    mix.dispose();
  });

  it("onStep reports each accepted step with decreasing t ending at eps", async () => {
    const sde = new VESDE();
    const g = gaussian();
    const ts: number[] = [];
    const z = sde.priorSample([4, 2], createRng(8));
    const r = await odeSample({ sde, score: g.scoreFn(sde), z, onStep: (s) => ts.push(s.t) });
    assert.equal(ts.length, r.nAccepted);
    assert.equal(ts[ts.length - 1], sde.defaultEps);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] < ts[i - 1]);
    tf.dispose([z, r.samples]);
    g.dispose();
  });

  it("bad inputs raise errors naming the parameter", async () => {
    const sde = new VPSDE();
    const g = gaussian();
    const score = g.scoreFn(sde);
    const z = tf.tensor2d([[0.1, 0.2]]);
    const bad = tf.tensor2d([[NaN, 0.2]]);
    await assert.rejects(odeSample({ sde, score, z: bad }), /odeSample: z contains NaN/);
    await assert.rejects(odeSample({ sde, score, z: tf.tensor1d([1, 2]) }), /z\.shape/);
    await assert.rejects(odeSample({ sde, score }), /odeSample: shape = undefined/);
    await assert.rejects(odeSample({ sde, score, shape: [4, 2] }), /odeSample: rng = undefined/);
    await assert.rejects(odeSample({ sde, score, z, eps: 0 }), /eps = 0 is not allowed/);
    await assert.rejects(odeSample({ sde, score, z, eps: 1 }), /eps = 1 is not allowed/);
    await assert.rejects(odeSample({ sde, score, z, rtol: 0 }), /rtol = 0 is not allowed/);
    await assert.rejects(odeSample({ sde, score, z, atol: -1 }), /atol = -1 is not allowed/);
    await assert.rejects(odeEncode({ sde, score, x: bad }), /odeEncode: x contains NaN/);
    await assert.rejects(odeEncode({ sde, score, x: z, eps: -1e-3 }), /odeEncode: eps = -0.001/);
    // A score that turns non-finite cannot silently produce NaN samples.
    await assert.rejects(odeSample({ sde, score: (x) => x.mul(NaN), z }), /not finite at the initial point/);
    tf.dispose([z, bad]);
    g.dispose();
  });

  it("leaves no tensors behind over full solves", async () => {
    const sde = new VESDE();
    const g = gaussian();
    const score = g.scoreFn(sde);
    const z = sde.priorSample([8, 2], createRng(1));
    // Warm-up creates the mixture's cached constants, which belong to it rather than to the solve.
    tf.dispose((await odeSample({ sde, score, z })).samples);
    await assertNoLeak(async () => {
      const a = await odeSample({ sde, score, z, denoise: true });
      const b = await odeEncode({ sde, score, x: a.samples });
      tf.dispose([a.samples, b.z]);
    }, "odeSample + odeEncode");
    tf.dispose(z);
    g.dispose();
  });
});
