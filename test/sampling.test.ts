/**
 * Predictors and correctors, one update at a time, against the official section b vectors (score_sde_pytorch's
 * own update functions, with its two randn draws replaced by noise_A / noise_B), and the four cases where the
 * official code crashes.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { replayRng } from "../lib/random";
import type { Draw } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import {
  correctorNames,
  getCorrector,
  getPredictor,
  predictorNames,
  registerCorrector,
  registerPredictor,
} from "../lib/sampling";
import type { PCUpdater } from "../lib/sampling";
import { GaussianMixture } from "../lib/toy";
import { assertClose, assertNoLeak, flat, reference, setup } from "./helpers";

const ref = reference();
const b = ref.b_predictor_corrector_updates;
const SDES = ["VESDE", "VPSDE", "subVPSDE"] as const;
const make = (name: string): SDE => (name === "VESDE" ? new VESDE() : name === "VPSDE" ? new VPSDE() : new SubVPSDE());
const gmm = () => new GaussianMixture({ weights: ref.gmm.weights, means: ref.gmm.means, covariances: ref.gmm.covs });

/** The official noise: first randn draw noise_A, second noise_B, both [8, 2]. */
const officialNoise = (): Draw[] => [
  { kind: "normal", shape: [8, 2], values: flat(b.noise_A) },
  { kind: "normal", shape: [8, 2], values: flat(b.noise_B) },
];

interface Kind {
  key: string;
  build: (sde: SDE, mix: GaussianMixture) => PCUpdater;
}
const KINDS: Kind[] = [
  { key: "euler_maruyama", build: (sde, m) => getPredictor("euler_maruyama")({ sde, score: m.scoreFn(sde), probabilityFlow: false }) },
  { key: "reverse_diffusion", build: (sde, m) => getPredictor("reverse_diffusion")({ sde, score: m.scoreFn(sde), probabilityFlow: false }) },
  { key: "reverse_diffusion_pflow", build: (sde, m) => getPredictor("reverse_diffusion")({ sde, score: m.scoreFn(sde), probabilityFlow: true }) },
  { key: "ancestral_sampling", build: (sde, m) => getPredictor("ancestral_sampling")({ sde, score: m.scoreFn(sde), probabilityFlow: false }) },
];
for (const [name, snr, nSteps] of [
  ["langevin", 0.16, 1],
  ["langevin", 0.01, 1],
  ["langevin", 0.16, 2],
  ["ald", 0.16, 1],
  ["ald", 0.01, 1],
  ["ald", 0.16, 2],
] as const) {
  KINDS.push({
    key: `${name}_snr${snr}${nSteps === 2 ? "_nsteps2" : ""}`,
    build: (sde, m) => getCorrector(name)({ sde, score: m.scoreFn(sde), snr, nSteps }),
  });
}

/**
 * rtol 1e-5 elementwise, plus an absolute 1e-6 relative to the largest entry. Why the second term: for VE Langevin
 * at t = 1 the step ε ≈ 1e5 makes x̄ = x + ε s the difference of two O(20) terms (ε s nearly cancels x), so an entry
 * of 0.047 carries the float32 rounding of ε (computed from float32 score norms of size 4e-4) times |ε s| ≈ 20:
 * measured |diff| 3.2e-6 there, 1.5e-7 of the row scale; every other entry passes at atol 1e-6.
 */
function scaleAtol(v: unknown): number {
  return Math.max(1e-6, 1e-6 * Math.max(...flat(v).map(Math.abs)));
}

before(setup);

describe("one-step updates match official section b (replayed official noise, exact GMM score)", () => {
  for (const sdeName of SDES) {
    b.update_times.forEach((tv: number, j: number) => {
      const e = b.per_sde[sdeName][j];
      assert.equal(e.t, tv);
      for (const kind of KINDS) {
        const exp = e[kind.key];
        if (exp.error) continue; // the official crashes: tested below
        it(`${sdeName} t=${tv} ${kind.key}`, () => {
          const mix = gmm();
          const sde = make(sdeName);
          const upd = kind.build(sde, mix);
          const rng = replayRng(officialNoise());
          const x = tf.tensor2d(b.x);
          const t = tf.fill([8], tv);
          const r = upd.update(x, t, rng);
          assertClose(r.xMean, exp.x_mean, { what: `${kind.key} x_mean`, atol: scaleAtol(exp.x_mean) });
          assertClose(r.x, exp.x, { what: `${kind.key} x`, atol: scaleAtol(exp.x) });
          assert.equal(2 - rng.remaining, exp.noise_draws_used, "noise draws");
          assert.equal(upd.noiseDraws, exp.noise_draws_used, "declared noise draws");
          tf.dispose([x, t, r.x, r.xMean]);
          mix.dispose();
        });
      }
    });
  }
});

/** β(t) of the default VP / sub-VP schedule, float64. */
const betaT = (t: number) => 0.1 + t * (20 - 0.1);

describe("the cases where the official code crashes", () => {
  for (const sdeName of SDES) {
    b.update_times.forEach((tv: number, j: number) => {
      it(`${sdeName} t=${tv} euler_maruyama with probability flow = deterministic Euler step of the ODE`, () => {
        const e = b.per_sde[sdeName][j];
        assert.match(e.euler_maruyama_pflow.error, /TypeError/);
        const mix = gmm();
        const sde = make(sdeName);
        const upd = getPredictor("euler_maruyama")({ sde, score: mix.scoreFn(sde), probabilityFlow: true });
        const rng = replayRng(officialNoise());
        const x = tf.tensor2d(b.x);
        const r = upd.update(x, tf.fill([8], tv), rng);
        // From the official (non-flow) Euler–Maruyama x̄ − x = (f − g² s) dt and the analytic f dt, the ODE step is
        // x + f dt + ½ (x̄_EM − x − f dt), dt = −1/N; no noise is added; the one draw is still consumed.
        const dt = -1 / sde.N;
        const expected = b.x.map((row: number[], i: number) =>
          row.map((xv: number, c: number) => {
            const fdt = sdeName === "VESDE" ? 0 : -0.5 * betaT(tv) * xv * dt;
            return xv + fdt + 0.5 * (e.euler_maruyama.x_mean[i][c] - xv - fdt);
          }),
        );
        assertClose(r.xMean, expected, { what: "x_mean", atol: scaleAtol(expected) });
        assertClose(r.x, expected, { what: "x", atol: scaleAtol(expected) });
        assert.equal(rng.remaining, 1, "one draw, as reverse_diffusion with probability flow");
        mix.dispose();
      });
    });
  }

  for (const [name, snr, nSteps] of [
    ["langevin", 0.16, 1],
    ["langevin", 0.01, 1],
    ["langevin", 0.16, 2],
    ["ald", 0.16, 1],
    ["ald", 0.01, 1],
    ["ald", 0.16, 2],
  ] as const) {
    b.update_times.forEach((tv: number, j: number) => {
      it(`subVPSDE t=${tv} ${name} snr=${snr} nSteps=${nSteps}: α = 1 (official AttributeError)`, () => {
        const key = `${name}_snr${snr}${nSteps === 2 ? "_nsteps2" : ""}`;
        assert.match(b.per_sde.subVPSDE[j][key].error, /AttributeError/);
        const mix = gmm();
        const sde = new SubVPSDE();
        const rng = replayRng(officialNoise());
        const t = tf.fill([8], tv);
        const r = getCorrector(name)({ sde, score: mix.scoreFn(sde), snr, nSteps }).update(tf.tensor2d(b.x), t, rng);
        // Host re-derivation in float64 of Alg. 4 / ALD with α = 1 (only the GMM score comes from tensors).
        let x: number[][] = b.x.map((row: number[]) => row.slice());
        let xMean = x;
        const lmc = -0.25 * tv * tv * (20 - 0.1) - 0.5 * tv * 0.1;
        const std = -Math.expm1(2 * lmc); // sub-VP marginal std as the official marginal_prob
        for (let k = 0; k < nSteps; k++) {
          const s = tf.tidy(() => mix.scoreAt(sde, tf.tensor2d(x), t).arraySync() as number[][]);
          const z: number[][] = k === 0 ? b.noise_A : b.noise_B;
          const norm = (v: number[][]) => v.reduce((a, row) => a + Math.hypot(...row), 0) / v.length;
          const eps = name === "langevin" ? 2 * (snr * norm(z) / norm(s)) ** 2 : 2 * (snr * std) ** 2;
          xMean = x.map((row, i) => row.map((v, c) => v + eps * s[i][c]));
          x = xMean.map((row, i) => row.map((v, c) => v + Math.sqrt(2 * eps) * z[i][c]));
        }
        assertClose(r.xMean, xMean, { what: "x_mean", atol: scaleAtol(xMean) });
        assertClose(r.x, x, { what: "x", atol: scaleAtol(x) });
        assert.equal(2 - rng.remaining, nSteps);
        mix.dispose();
      });
    });
  }

  it("ancestral sampling with sub-VP is a clear error naming the SDE and the predictor", () => {
    assert.match(b.per_sde.subVPSDE[0].ancestral_sampling.error, /NotImplementedError/);
    const sde = new SubVPSDE();
    assert.throws(
      () => getPredictor("ancestral_sampling")({ sde, score: (x) => tf.zerosLike(x), probabilityFlow: false }),
      (err: Error) => /SubVPSDE/.test(err.message) && /ancestral_sampling/.test(err.message) && /reverse_diffusion/.test(err.message),
    );
  });

  it("VP with betaMax/N >= 1 is refused by every update on the DDPM chain, and Euler–Maruyama stays finite", () => {
    const sde = new VPSDE({ N: 10 }); // β_max/N = 2: √(1 − β_i) would be NaN
    const score = (x: tf.Tensor) => x.neg();
    for (const p of ["ancestral_sampling", "reverse_diffusion"]) {
      assert.throws(() => getPredictor(p)({ sde, score, probabilityFlow: false }), /betaMax\/N = 2 is not allowed.*< 1/);
    }
    for (const c of ["langevin", "ald"]) {
      assert.throws(() => getCorrector(c)({ sde, score, snr: 0.16, nSteps: 1 }), /betaMax\/N = 2/);
    }
    assert.throws(() => getPredictor("ancestral_sampling")({ sde: new VPSDE({ N: 20 }), score, probabilityFlow: false }), /betaMax\/N = 1 /);
    const em = getPredictor("euler_maruyama")({ sde, score, probabilityFlow: false });
    const r = em.update(tf.ones([4, 2]), tf.fill([4], 1), replayRng([{ kind: "normal", shape: [4, 2], values: new Array(8).fill(0.5) }]));
    assert.ok(Array.from(r.x.dataSync()).every(Number.isFinite));
  });

  it("ancestral sampling refuses probability flow (no ODE form)", () => {
    assert.throws(
      () => getPredictor("ancestral_sampling")({ sde: new VESDE(), score: (x) => x, probabilityFlow: true }),
      /probabilityFlow = true is not allowed/,
    );
  });
});

describe("validation and registry", () => {
  const sde = new VESDE();
  const score = (x: tf.Tensor) => x.neg();
  it("snr and nSteps are checked, naming the value and what is allowed", () => {
    for (const c of ["langevin", "ald"]) {
      assert.throws(() => getCorrector(c)({ sde, score, snr: -0.1, nSteps: 1 }), /snr = -0.1 is not allowed; snr must be a finite number ≥ 0/);
      assert.throws(() => getCorrector(c)({ sde, score, snr: NaN, nSteps: 1 }), /snr = NaN/);
      assert.throws(() => getCorrector(c)({ sde, score, snr: 0.1, nSteps: 1.5 }), /nSteps = 1.5 is not allowed; nSteps must be a non-negative integer/);
      assert.throws(() => getCorrector(c)({ sde, score, snr: 0.1, nSteps: -1 }), /nSteps = -1/);
    }
  });
  it("sde and score are checked", () => {
    assert.throws(() => getPredictor("reverse_diffusion")({ sde: {} as SDE, score, probabilityFlow: false }), /sde = "Object" is not allowed/);
    assert.throws(
      () => getPredictor("euler_maruyama")({ sde, score: 3 as unknown as typeof score, probabilityFlow: false }),
      /score = "number" is not allowed/,
    );
  });
  it("unknown names list the registered ones", () => {
    assert.deepEqual(predictorNames().slice(0, 4), ["euler_maruyama", "reverse_diffusion", "ancestral_sampling", "none"]);
    assert.deepEqual(correctorNames().slice(0, 3), ["langevin", "ald", "none"]);
    assert.throws(() => getPredictor("reverse_difusion"), /predictor = "reverse_difusion" is not allowed; predictor must be one of "euler_maruyama", "reverse_diffusion", "ancestral_sampling", "none"/);
    assert.throws(() => getCorrector("langevn"), /corrector = "langevn" is not allowed; corrector must be one of "langevin", "ald", "none"/);
  });
  it("a custom update can be registered once under a new name (duplicates refused unless replace)", () => {
    registerPredictor("test_half_step", (ctx) => {
      const inner = getPredictor("euler_maruyama")(ctx);
      return { name: "test_half_step", noiseDraws: 1, scoreEvals: 1, update: (x, t, rng) => inner.update(x, t, rng) };
    });
    assert.ok(predictorNames().includes("test_half_step"));
    assert.throws(() => registerPredictor("euler_maruyama", (ctx) => getPredictor("none")(ctx)), /not already registered/);
    assert.throws(() => registerCorrector("bad name!", (ctx) => getCorrector("none")(ctx)), /name = "bad name!"/);
    registerCorrector("ald", getCorrector("ald"), { replace: true });
  });
  it("a score that is exactly zero gives a zero Langevin step, not NaN", () => {
    const zero = (x: tf.Tensor) => tf.zerosLike(x);
    const r = getCorrector("langevin")({ sde: new VPSDE(), score: zero, snr: 0.16, nSteps: 2 }).update(
      tf.ones([3, 2]),
      tf.fill([3], 0.5),
      replayRng([
        { kind: "normal", shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
        { kind: "normal", shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
      ]),
    );
    assertClose(r.x, new Array(6).fill(1), { what: "x" });
  });
  it("nSteps = 0 returns (x, x) and draws nothing; 'none' updates draw nothing", () => {
    const rng = replayRng([]);
    const x = tf.tensor2d([[1, 2]]);
    for (const u of [
      getCorrector("langevin")({ sde, score, snr: 0.16, nSteps: 0 }),
      getCorrector("none")({ sde, score, snr: 0.16, nSteps: 1 }),
      getPredictor("none")({ sde, score, probabilityFlow: false }),
    ]) {
      const r = u.update(x, tf.fill([1], 0.5), rng);
      assert.notEqual(r.x, r.xMean);
      assertClose(r.x, [1, 2]);
      assertClose(r.xMean, [1, 2]);
      assert.equal(u.noiseDraws, 0);
    }
  });
  it("updates free every intermediate", async () => {
    const mix = gmm();
    for (const sdeName of SDES) {
      const s = make(sdeName);
      const ups: PCUpdater[] = [
        ...["euler_maruyama", "reverse_diffusion", ...(sdeName === "subVPSDE" ? [] : ["ancestral_sampling"])].map((p) =>
          getPredictor(p)({ sde: s, score: mix.scoreFn(s), probabilityFlow: false }),
        ),
        getPredictor("euler_maruyama")({ sde: s, score: mix.scoreFn(s), probabilityFlow: true }),
        getCorrector("langevin")({ sde: s, score: mix.scoreFn(s), snr: 0.16, nSteps: 2 }),
        getCorrector("ald")({ sde: s, score: mix.scoreFn(s), snr: 0.16, nSteps: 2 }),
      ];
      const x = tf.tensor2d(b.x);
      const t = tf.fill([8], 0.5);
      mix.scoreAt(s, x, t).dispose(); // create the mixture's cached constants outside the leak check
      for (const u of ups) {
        await assertNoLeak(() => {
          const r = u.update(x, t, replayRng(officialNoise()));
          tf.dispose([r.x, r.xMean]);
        }, `${sdeName} ${u.name}`);
      }
      tf.dispose([x, t]);
    }
    mix.dispose();
  });
});
