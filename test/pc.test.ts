/** The predictor–corrector sampling loop: draw order, NFE, denoising, determinism, memory, errors, Table 1 configs. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng, recordingRng, replayRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE, linspace, timeVector } from "../lib/sde";
import { TABLE1_COLUMNS, TABLE1_ROWS, getCorrector, getPredictor, pcSample, table1Settings } from "../lib/sampling";
import type { PCStepInfo } from "../lib/sampling";
import { GaussianMixture } from "../lib/toy";
import { assertClose, assertNoLeak, reference, setup } from "./helpers";

const ref = reference();
const gmm = () => new GaussianMixture({ weights: ref.gmm.weights, means: ref.gmm.means, covariances: ref.gmm.covs });

before(setup);

describe("pcSample loop", () => {
  it("draws the prior first, then per step the corrector's then the predictor's noise (manual composition agrees)", async () => {
    const mix = gmm();
    for (const sde of [new VESDE({ N: 7 }), new VPSDE({ N: 30 })] as SDE[]) {
      const score = mix.scoreFn(sde);
      const shape = [5, 2];
      const rec = recordingRng(createRng(11));
      const out = await pcSample({ sde, score, shape, predictor: "reverse_diffusion", corrector: "langevin", snr: 0.16, nSteps: 2, rng: rec });
      assert.equal(rec.draws.length, 1 + sde.N * 3, "prior + N (2 corrector + 1 predictor) draws");
      // Manual loops on identically seeded generators: the documented order (corrector, predictor) agrees
      // bit for bit; the other order does not, so the test would see a swap.
      const manual = (order: "CP" | "PC"): number[] => {
        const rng = createRng(11);
        const pred = getPredictor("reverse_diffusion")({ sde, score, probabilityFlow: false });
        const corr = getCorrector("langevin")({ sde, score, snr: 0.16, nSteps: 2 });
        let x = sde.priorSample(shape, rng);
        let xMean = x.clone();
        const ts = linspace(sde.T, sde.defaultEps, sde.N);
        for (let i = 0; i < sde.N; i++) {
          const t = timeVector(ts[i], shape[0], sde.T);
          for (const u of order === "CP" ? [corr, pred] : [pred, corr]) {
            const r = u.update(x, t, rng);
            tf.dispose([x, xMean]);
            ({ x, xMean } = r);
          }
          t.dispose();
        }
        const v = Array.from(xMean.dataSync());
        tf.dispose([x, xMean]);
        return v;
      };
      assert.deepEqual(Array.from(out.samples.dataSync()), manual("CP"), "denoised = x̄ of the last step, corrector first");
      assert.notDeepEqual(Array.from(out.samples.dataSync()), manual("PC"));
      out.samples.dispose();
    }
    mix.dispose();
  });

  it("replaying the recorded draws reproduces the samples; same seed → identical, other seed → different", async () => {
    const mix = gmm();
    const sde = new VPSDE({ N: 50 });
    const base = { sde, score: mix.scoreFn(sde), shape: [64, 2], predictor: "euler_maruyama", corrector: "ald", snr: 0.05 };
    const rec = recordingRng(createRng(3));
    const a = await pcSample({ ...base, rng: rec });
    const b = await pcSample({ ...base, rng: createRng(3) });
    const c = await pcSample({ ...base, rng: createRng(4) });
    const r = replayRng(rec.draws);
    const d = await pcSample({ ...base, rng: r });
    assert.equal(r.remaining, 0);
    assert.deepEqual(Array.from(b.samples.dataSync()), Array.from(a.samples.dataSync()));
    assert.deepEqual(Array.from(d.samples.dataSync()), Array.from(a.samples.dataSync()));
    assert.notDeepEqual(Array.from(c.samples.dataSync()), Array.from(a.samples.dataSync()));
    tf.dispose([a.samples, b.samples, c.samples, d.samples]);
    mix.dispose();
  });

  it("nfe follows the official N·(nSteps+1); scoreEvals counts the real calls (Table 1 configurations)", async () => {
    const mix = gmm();
    const cases: [string, SDE, Partial<Parameters<typeof pcSample>[0]>, number, number][] = [
      // name, sde, options, official nfe, real score evaluations
      ["P (reverse diffusion)", new VESDE({ N: 20 }), { predictor: "reverse_diffusion", corrector: "none" }, 40, 20],
      ["P2000-like (N doubled)", new VESDE({ N: 40 }), { predictor: "ancestral_sampling", corrector: "none" }, 80, 40],
      ["C (2 corrector steps per scale)", new VPSDE({ N: 40 }), { predictor: "none", corrector: "langevin", nSteps: 2, snr: 0.27 }, 120, 80],
      ["PC", new VPSDE({ N: 40 }), { predictor: "ancestral_sampling", corrector: "langevin", snr: 0.01 }, 80, 80],
      ["probability flow", new SubVPSDE({ N: 20 }), { predictor: "reverse_diffusion", corrector: "none", probabilityFlow: true }, 40, 20],
      ["PC probability flow", new VESDE({ N: 20 }), { predictor: "reverse_diffusion", corrector: "langevin", probabilityFlow: true, snr: 0.17 }, 40, 40],
      ["Euler–Maruyama ODE (any N)", new VPSDE({ N: 10 }), { predictor: "euler_maruyama", corrector: "none", probabilityFlow: true }, 20, 10],
    ];
    for (const [name, sde, opts, nfe, evals] of cases) {
      const out = await pcSample({ sde, score: mix.scoreFn(sde), shape: [16, 2], rng: createRng(1), ...opts });
      assert.equal(out.nfe, nfe, `${name} nfe`);
      assert.equal(out.scoreEvals, evals, `${name} scoreEvals`);
      assert.ok(Array.from(out.samples.dataSync()).every(Number.isFinite), `${name} finite`);
      out.samples.dispose();
    }
    mix.dispose();
  });

  it("callback sees every step on linspace(T, eps, N); denoise chooses x̄ or x of the last step; trajectory", async () => {
    const mix = gmm();
    const sde = new VESDE({ N: 12 });
    const seen: { i: number; t: number; x: number[]; xMean: number[] }[] = [];
    const cb = (s: PCStepInfo) => {
      seen.push({ i: s.i, t: s.t, x: Array.from(s.x.dataSync()), xMean: Array.from(s.xMean.dataSync()) });
    };
    const opts = { sde, score: mix.scoreFn(sde), shape: [4, 2], eps: 1e-2, callback: cb, keepTrajectory: true, trajectoryStride: 5 };
    const on = await pcSample({ ...opts, rng: createRng(9) });
    const grid = linspace(1, 1e-2, 12);
    assert.deepEqual(seen.map((s) => s.i), [...Array(12).keys()]);
    assert.deepEqual(seen.map((s) => s.t), Array.from(grid));
    assert.deepEqual(Array.from(on.samples.dataSync()), seen[11].xMean);
    assert.notDeepEqual(seen[11].x, seen[11].xMean);
    assert.deepEqual(on.trajectory!.shape, [4, 4, 2]);
    assert.deepEqual(on.trajectorySteps, [0, 5, 10, 12]);
    assert.deepEqual(Array.from(on.trajectory!.slice([3], [1]).dataSync()), seen[11].x);
    assert.deepEqual(Array.from(on.trajectory!.slice([1], [1]).dataSync()), seen[4].x);
    seen.length = 0;
    const off = await pcSample({ ...opts, rng: createRng(9), denoise: false, keepTrajectory: false });
    assert.deepEqual(Array.from(off.samples.dataSync()), seen[11].x);
    assert.equal(off.trajectory, undefined);
    // An async callback is awaited.
    let n = 0;
    const asyncOut = await pcSample({ ...opts, rng: createRng(9), keepTrajectory: false, callback: async () => { await new Promise((r) => setImmediate(r)); n++; } });
    assert.equal(n, 12);
    tf.dispose([on.samples, on.trajectory!, off.samples, asyncOut.samples]);
    mix.dispose();
  });

  it("a 1000-step PC run (reverse diffusion + Langevin, VE) leaves no tensors behind", async () => {
    const mix = gmm();
    const sde = new VESDE();
    const score = mix.scoreFn(sde);
    tf.tidy(() => score(tf.zeros([1, 2]), tf.ones([1]))); // the mixture's cached constants exist before counting
    let out: Awaited<ReturnType<typeof pcSample>> | undefined;
    const before = tf.memory().numTensors;
    out = await pcSample({ sde, score, shape: [32, 2], rng: createRng(5) });
    assert.equal(tf.memory().numTensors, before + 1, "only the samples remain");
    assert.equal(out.nfe, 2000);
    assert.equal(out.scoreEvals, 2000);
    out.samples.dispose();
    // And a failing run frees what it made.
    await assertNoLeak(async () => {
      await assert.rejects(pcSample({ sde, score, shape: [4, 2], rng: replayRng([]) }), /replayRng/);
      await assert.rejects(
        pcSample({ sde, score, shape: [4, 2], rng: createRng(1), callback: ({ i }) => { if (i === 3) throw new Error("stop"); } }),
        /stop/,
      );
    }, "failed runs");
    mix.dispose();
  });
});

describe("pcSample errors", () => {
  const sde = new VESDE({ N: 5 });
  const score = (x: tf.Tensor) => x.neg();
  const ok = { sde, score, shape: [2, 2], rng: createRng(0) };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["eps 0", { eps: 0 }, /eps = 0 is not allowed; eps must be a number in \(0, 1\)/],
    ["eps T", { eps: 1 }, /eps = 1 is not allowed/],
    ["eps NaN", { eps: NaN }, /eps = NaN/],
    ["snr < 0", { snr: -1 }, /snr = -1 is not allowed; snr must be a finite number ≥ 0/],
    ["nSteps 0.5", { nSteps: 0.5 }, /nSteps = 0.5 is not allowed; nSteps must be a non-negative integer/],
    ["unknown predictor", { predictor: "ddim" }, /predictor = "ddim" is not allowed; predictor must be one of "euler_maruyama", "reverse_diffusion", "ancestral_sampling", "none"/],
    ["unknown corrector", { corrector: "hmc" }, /corrector = "hmc" is not allowed; corrector must be one of "langevin", "ald", "none"/],
    ["shape without data dims", { shape: [4] }, /shape = \[4\] is not allowed/],
    ["shape with 0", { shape: [0, 2] }, /shape = \[0, 2\]/],
    ["sub-VP ancestral", { sde: new SubVPSDE(), predictor: "ancestral_sampling" }, /SubVPSDE.*ancestral_sampling/],
    ["VP ancestral with betaMax/N >= 1", { sde: new VPSDE({ N: 10 }), predictor: "ancestral_sampling" }, /betaMax\/N = 2/],
    ["ancestral + probability flow", { predictor: "ancestral_sampling", probabilityFlow: true }, /probabilityFlow = true/],
    ["no rng", { rng: undefined }, /rng = "undefined" is not allowed/],
    ["stride 0", { keepTrajectory: true, trajectoryStride: 0 }, /trajectoryStride = 0/],
  ];
  for (const [name, extra, re] of cases) {
    it(name, async () => {
      await assertNoLeak(() => assert.rejects(pcSample({ ...ok, ...extra } as Parameters<typeof pcSample>[0]), re), name);
    });
  }
  it("Euler–Maruyama on the probability-flow ODE runs and is deterministic given the prior", async () => {
    const mix = gmm();
    const vp = new VPSDE({ N: 100 });
    const o1 = await pcSample({ sde: vp, score: mix.scoreFn(vp), shape: [8, 2], predictor: "euler_maruyama", corrector: "none", probabilityFlow: true, rng: createRng(2) });
    // Same prior draw, different later noise: an ODE ignores the later noise entirely.
    const prior = createRng(2).normal([8, 2]);
    const draws = [{ kind: "normal" as const, shape: [8, 2], values: Array.from(prior.dataSync()) }];
    for (let i = 0; i < 100; i++) draws.push({ kind: "normal", shape: [8, 2], values: new Array(16).fill(i % 2 ? 3 : -3) });
    const o2 = await pcSample({ sde: vp, score: mix.scoreFn(vp), shape: [8, 2], predictor: "euler_maruyama", corrector: "none", probabilityFlow: true, rng: replayRng(draws) });
    assertClose(o2.samples, Array.from(o1.samples.dataSync()), { rtol: 0, atol: 0, what: "ODE samples" });
    tf.dispose([o1.samples, o2.samples, prior]);
    mix.dispose();
  });
});

describe("Table 1 settings", () => {
  it("map every cell to the paper's configuration (Table 1 + Table 5 snr)", () => {
    assert.deepEqual(table1Settings("P1000", "reverse diffusion", "VE"), { N: 1000, predictor: "reverse_diffusion", corrector: "none", snr: 0, nSteps: 1, probabilityFlow: false });
    assert.deepEqual(table1Settings("P2000", "probability flow", "VP"), { N: 2000, predictor: "reverse_diffusion", corrector: "none", snr: 0, nSteps: 1, probabilityFlow: true });
    assert.deepEqual(table1Settings("P1000", "ancestral sampling", "VP").predictor, "ancestral_sampling");
    for (const row of TABLE1_ROWS) {
      assert.deepEqual(table1Settings("C2000", row, "VE"), { N: 1000, predictor: "none", corrector: "langevin", snr: 0.22, nSteps: 2, probabilityFlow: false });
      assert.equal(table1Settings("C2000", row, "VP").snr, 0.27);
    }
    const pc = (row: (typeof TABLE1_ROWS)[number], sde: "VE" | "VP") => table1Settings("PC1000", row, sde).snr;
    assert.deepEqual([pc("ancestral sampling", "VE"), pc("reverse diffusion", "VE"), pc("probability flow", "VE")], [0.17, 0.16, 0.17]);
    assert.deepEqual([pc("ancestral sampling", "VP"), pc("reverse diffusion", "VP"), pc("probability flow", "VP")], [0.01, 0.01, 0.04]);
    assert.throws(() => table1Settings("P4000" as "P1000", "reverse diffusion", "VE"), /column = "P4000" is not allowed; column must be one of "P1000", "P2000", "C2000", "PC1000"/);
    assert.throws(() => table1Settings("P1000", "reverse diffusion", "subVP" as "VE"), /sde = "subVP"/);
  });
  it("every cell runs through pcSample (N shrunk to 40 here: the plumbing, not the quality) and C2000 at full N", async () => {
    const mix = gmm();
    for (const kind of ["VE", "VP"] as const) {
      for (const column of TABLE1_COLUMNS) {
        for (const row of TABLE1_ROWS) {
          const s = table1Settings(column, row, kind);
          const N = 40 * (s.N / 1000);
          const sde = kind === "VE" ? new VESDE({ N }) : new VPSDE({ N });
          const out = await pcSample({ sde, score: mix.scoreFn(sde), shape: [8, 2], rng: createRng(1), ...s });
          assert.equal(out.nfe, N * (s.nSteps + 1));
          assert.ok(Array.from(out.samples.dataSync()).every(Number.isFinite), `${kind} ${column} ${row}`);
          out.samples.dispose();
        }
      }
    }
    const s = table1Settings("C2000", "reverse diffusion", "VE");
    const sde = new VESDE({ N: s.N });
    const out = await pcSample({ sde, score: mix.scoreFn(sde), shape: [8, 2], rng: createRng(1), ...s });
    assert.equal(out.scoreEvals, 2000, "C2000: 2000 corrector score evaluations");
    assert.equal(out.nfe, 3000, "official count N·(nSteps+1)");
    out.samples.dispose();
    mix.dispose();
  });
});
