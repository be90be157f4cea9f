/** SDE coefficients, reverse SDE / probability flow and the discrete time grid against the official vectors. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { SDE, SubVPSDE, VESDE, VPSDE, ScoreFn, linspace, timeVector } from "../lib";
import { assertClose, assertNoLeak, reference, setup } from "./helpers";

const ref = reference();
const make = (name: string): SDE =>
  name === "VESDE" ? new VESDE() : name === "VPSDE" ? new VPSDE() : new SubVPSDE();
const SDES = ["VESDE", "VPSDE", "subVPSDE"] as const;

before(setup);

describe("SDE coefficients match official section a", () => {
  const a = ref.a_sde_coefficients;
  for (const name of SDES) {
    it(name, () => {
      const e = a.per_sde[name];
      const sde = make(name);
      const x = tf.tensor2d(a.x);
      const t = tf.tensor1d(a.t);
      const z = tf.tensor2d(a.z);
      assert.equal(sde.T, e.T);
      assert.equal(sde.N, e.N);
      assertClose(sde.drift(x, t), e.drift, { what: "drift" });
      assertClose(sde.diffusion(t), e.diffusion, { what: "diffusion" });
      const { mean, std } = sde.marginal(x, t);
      assertClose(mean, e.marginal_mean, { what: "marginal mean" });
      assertClose(std, e.marginal_std, { what: "marginal std" });
      assertClose(sde.marginalCoefficients(t).mean, e.marginal_mean_coeff, { what: "mean coeff" });
      assertClose(sde.priorLogProb(z), e.prior_logp, { what: "prior logp" });
      const { f, G } = sde.discretize(x, t);
      assertClose(f, e.discretize_f, { what: "discretize f" });
      assertClose(G, e.discretize_G, { what: "discretize G" });
      if (e.discretize_timestep_index) {
        assert.deepEqual(Array.from(sde.timestepIndex(t).dataSync()), e.discretize_timestep_index);
      }
      if (sde instanceof VESDE) {
        const s = sde.discreteSigmas();
        assertClose(s.slice(0, 3), e.discrete_sigmas_head, { what: "sigmas head" });
        assertClose(s.slice(-3), e.discrete_sigmas_tail, { what: "sigmas tail" });
      }
      if (sde instanceof VPSDE) {
        const b = sde.discreteBetas();
        assertClose(b.slice(0, 3), e.discrete_betas_head, { what: "betas head" });
        assertClose(b.slice(-3), e.discrete_betas_tail, { what: "betas tail" });
        const ac = sde.alphasCumprod();
        assertClose(ac.slice(0, 3), e.alphas_cumprod_head, { what: "alphas_cumprod head" });
        assertClose(ac.slice(-3), e.alphas_cumprod_tail, { what: "alphas_cumprod tail", atol: 1e-12 });
      }
    });
  }
});

describe("reverse SDE and probability flow match official section c", () => {
  const a = ref.a_sde_coefficients;
  const c = ref.c_reverse_and_probability_flow;
  for (const name of SDES) {
    // Section c uses the same x and t as section a, whose gmm_score is the model: replay it as the score.
    const score: ScoreFn = () => tf.tensor2d(a.per_sde[name].gmm_score);
    for (const mode of ["reverse_sde", "probability_flow"] as const) {
      it(`${name} ${mode}`, () => {
        const e = c.per_sde[name][mode];
        const rsde = make(name).reverse(score, { probabilityFlow: mode === "probability_flow" });
        const x = tf.tensor2d(c.x);
        const t = tf.tensor1d(c.t);
        assertClose(rsde.drift(x, t), e.drift, { what: "drift", atol: 1e-5 });
        assertClose(rsde.diffusion(t), e.diffusion, { what: "diffusion" });
        const { f, G } = rsde.discretize(x, t);
        assertClose(f, e.discretize_rev_f, { what: "rev f" });
        assertClose(G, e.discretize_rev_G, { what: "rev G" });
      });
    }
  }
});

describe("discrete time grid (official section h)", () => {
  for (const eps of [1e-3, 1e-5]) {
    it(`floor(t (N-1)) = N-1-i on linspace(1, ${eps}, 1000) in float32`, () => {
      const sde = new VPSDE();
      // tf.linspace accumulates in float32 and gets 9 indices wrong at eps = 1e-3; our grid gets none.
      const grid = tf.tensor1d(Array.from(linspace(1, eps, 1000)));
      const idx = sde.timestepIndex(grid).dataSync();
      let mismatches = 0;
      for (let i = 0; i < 1000; i++) if (idx[i] !== 999 - i) mismatches++;
      assert.equal(mismatches, ref.h_timestep_index_grid[`float32_eps${eps === 1e-3 ? "0.001" : "1e-05"}`].n_mismatch);
    });
  }
});

describe("SDE input validation names the parameter and the value", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["sigmaMin ≤ 0", () => new VESDE({ sigmaMin: 0 }), /sigmaMin = 0/],
    ["sigmaMin ≥ sigmaMax", () => new VESDE({ sigmaMin: 60, sigmaMax: 50 }), /sigmaMin = 60 .*sigmaMax/],
    ["betaMin > betaMax", () => new VPSDE({ betaMin: 30 }), /betaMin = 30/],
    ["N not an integer", () => new SubVPSDE({ N: 10.5 }), /N = 10.5 .*positive integer/],
    ["N = 0", () => new VPSDE({ N: 0 }), /N = 0/],
    ["t > T", () => new VESDE().diffusion(tf.tensor1d([0.5, 1.5])), /t\[1\] = 1.5 .*\[0, 1\]/],
    ["t < 0", () => new VPSDE().marginal(tf.ones([2, 2]), tf.tensor1d([-0.1, 0.2])), /t\[0\] = -0.1/],
    ["t NaN", () => new VPSDE().drift(tf.ones([1, 2]), tf.tensor1d([NaN])), /t\[0\] = NaN/],
    ["t batch mismatch", () => new VPSDE().drift(tf.ones([3, 2]), tf.tensor1d([0.1, 0.2])), /t.shape = \[2\].*\[3\]/],
    ["t not a vector", () => new VESDE().diffusion(tf.ones([2, 1])), /t.shape = \[2, 1\]/],
    ["x without batch", () => new VESDE().drift(tf.ones([2]), tf.ones([2])), /x.shape = \[2\]/],
    ["timeVector t out of range", () => timeVector(2, 4, 1), /t = 2 .*\[0, 1\]/],
  ];
  for (const [what, fn, re] of cases) it(what, () => assert.throws(fn, re));
});

describe("SDE methods free their intermediates", () => {
  it("1000 calls of every method leave no tensors behind", async () => {
    for (const name of SDES) {
      const sde = make(name);
      const x = tf.randomNormal([16, 2]);
      await assertNoLeak(() => {
        for (let i = 0; i < 1000; i++) {
          const t = timeVector(1 - i / 1000, 16, 1);
          const d = sde.discretize(x, t);
          const m = sde.marginal(x, t);
          tf.dispose([t, sde.drift(x, t), sde.diffusion(t), d.f, d.G, m.mean, m.std]);
        }
      }, name);
      x.dispose();
    }
  });
});
