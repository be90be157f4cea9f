/**
 * `sample` and the one loop: identities, NFE counting, replayable draws, clear errors for bad grids / names /
 * options, the score-shape and non-finite checks (also through pcSample and odeSample), no leaked tensors.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng, recordingRng } from "../../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../../lib/sde";
import { pcSample } from "../../lib/sampling";
import { odeSample } from "../../lib/ode";
import { eightGaussians } from "../../lib/toy";
import { getSolver, sample, solverNames } from "../../lib/solvers";
import { assertNoLeak, setup } from "../helpers";
import { MU, gaussianScore, sdAt } from "../../notebooks/experiments/gaussianTarget";

before(setup);

const SDES: SDE[] = [new VESDE(), new VPSDE(), new SubVPSDE()];
const NAMES = ["ddim", "dpm_solver_1", "dpm_solver_2", "dpm_solver_3", "dpm_solver_pp_2m", "heun", "edm_stochastic", "stochastic_heun", "adaptive_sde"];

describe("sample(): registered solvers", () => {
  it("registers every solver of issue #15 by name", () => {
    for (const n of NAMES) assert.ok(solverNames().includes(n), n);
  });

  it("DDIM (η = 0) equals DPM-Solver-1 to float32 rounding (the same method)", async () => {
    for (const sde of SDES) {
      const toy = eightGaussians();
      const z = sde.priorSample([256, 2], createRng(3));
      const a = await sample({ sde, score: toy.scoreFn(sde), shape: [256, 2], solver: "ddim", steps: 10, gridKind: "logsnr", rng: createRng(0), z });
      const b = await sample({ sde, score: toy.scoreFn(sde), shape: [256, 2], solver: "dpm_solver_1", steps: 10, rng: createRng(0), z });
      const d = tf.tidy(() => a.samples.sub(b.samples).abs().max().dataSync()[0]);
      const scale = tf.tidy(() => a.samples.abs().max().dataSync()[0]);
      assert.ok(d <= 2e-6 * scale, `${sde.kind}: max |ddim − dpm_solver_1| = ${d} (scale ${scale})`);
      tf.dispose([z, a.samples, b.samples]);
    }
  });

  it("nfe = K × NFE per step for the fixed-step solvers; draws: the prior, then one normal per step for the stochastic ones", async () => {
    const sde = new VPSDE();
    for (const n of NAMES.filter((n) => n !== "adaptive_sde")) {
      const e = getSolver(n);
      const rng = recordingRng(createRng(1));
      const r = await sample({ sde, score: gaussianScore(sde), shape: [8, 2], solver: n, steps: 6, rng });
      assert.equal(r.nfe, 6 * e.evalsPerStep, n);
      assert.equal(rng.draws.length, e.stochastic ? 7 : 1, `${n} draws`);
      r.samples.dispose();
    }
  });

  it("denoise ends with Tweedie's step x̂₀ = (x + σ² s)/α at the last time, one more NFE", async () => {
    const sde = new VPSDE();
    const score = gaussianScore(sde);
    const base = { sde, score, shape: [32, 2], solver: "dpm_solver_pp_2m", steps: 8 } as const;
    const a = await sample({ ...base, rng: createRng(5) });
    const b = await sample({ ...base, rng: createRng(5), denoise: true });
    assert.equal(b.nfe, a.nfe + 1);
    const eps = sde.defaultEps;
    const want = tf.tidy(() => a.samples.add(score(a.samples, tf.fill([32], eps)).mul(sde.stdAt(eps) ** 2)).div(sde.alphaAt(eps)));
    const d = tf.tidy(() => want.sub(b.samples).abs().max().dataSync()[0]);
    assert.ok(d < 1e-6, `max diff ${d}`);
    tf.dispose([a.samples, b.samples, want]);
    await assert.rejects(sample({ ...base, rng: createRng(5), denoise: 1 as never }), /sample: denoise = 1 is not allowed; denoise must be a boolean/);
  });

  it("the same seed replays a stochastic run exactly", async () => {
    const sde = new VESDE();
    for (const n of ["edm_stochastic", "stochastic_heun", "adaptive_sde"]) {
      const run = async () => {
        const r = await sample({ sde, score: gaussianScore(sde), shape: [16, 2], solver: n, steps: n === "adaptive_sde" ? 1 : 8, rng: createRng(9) });
        const v = Array.from(r.samples.dataSync());
        r.samples.dispose();
        return v;
      };
      assert.deepEqual(await run(), await run(), n);
    }
  });

  it("every solver rejects an increasing grid, a grid outside (0, T] and steps with a grid; an unknown name lists the known ones", async () => {
    const sde = new VPSDE();
    const base = { sde, score: gaussianScore(sde), shape: [4, 2], rng: createRng(0) };
    for (const solver of NAMES) {
      await assert.rejects(sample({ ...base, solver, grid: [0.1, 0.5, 1] }), /sample: grid\[1\] = 0.5 is not allowed; grid\[1\] must be < grid\[0\] = 0.1/);
      await assert.rejects(sample({ ...base, solver, grid: [1, 0.5, 0] }), /sample: grid\[2\] = 0 is not allowed; grid\[2\] must be a time in \(0, T\] = \(0, 1\]/);
      await assert.rejects(sample({ ...base, solver, grid: [1.5, 0.5] }), /grid\[0\] = 1.5 is not allowed/);
      await assert.rejects(sample({ ...base, solver, grid: [1, 0.5], steps: 3 }), /steps = 3 is not allowed; steps must be undefined when a grid is given/);
      await assert.rejects(sample({ ...base, solver }), /steps = undefined is not allowed/);
    }
    await assert.rejects(sample({ ...base, solver: "dpm_solver_4", steps: 3 }), /getSolver: solver = "dpm_solver_4" is not allowed; solver must be one of "ddim", /);
  });

  it("solver options are checked: unknown keys and out-of-range values are refused", async () => {
    const sde = new VPSDE();
    const base = { sde, score: gaussianScore(sde), shape: [4, 2], rng: createRng(0), steps: 3 };
    await assert.rejects(sample({ ...base, solver: "ddim", options: { etta: 1 } }), /ddim: options = "etta" is not allowed; options must be one of "eta"/);
    await assert.rejects(sample({ ...base, solver: "ddim", options: { eta: 1.5 } }), /ddim: options.eta = 1.5 is not allowed; options.eta must be a number in \[0, 1\]/);
    await assert.rejects(sample({ ...base, solver: "heun", options: { eta: 0 } }), /heun: options = "eta" is not allowed; options must be none/);
    await assert.rejects(sample({ ...base, solver: "dpm_solver_pp_2m", options: { prediction: "x0" } }), /options.prediction = "x0" is not allowed; options.prediction must be one of "data", "noise"/);
  });

  it("leaks no tensors (multistep history, churn noise, per-example adaptive steps), also when a step fails", async () => {
    const sde = new SubVPSDE();
    for (const solver of NAMES) {
      await assertNoLeak(async () => {
        const r = await sample({ sde, score: gaussianScore(sde), shape: [8, 2], solver, steps: solver === "adaptive_sde" ? 1 : 5, rng: createRng(2), keepTrajectory: true });
        assert.equal(r.trajectory!.shape[0], solver === "adaptive_sde" ? 2 : 6);
        tf.dispose([r.samples, r.trajectory!]);
      }, solver);
    }
    let calls = 0;
    const nanLater = (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => (++calls > 3 ? x.mul(NaN) : gaussianScore(sde)(x, t)));
    await assertNoLeak(async () => {
      await assert.rejects(sample({ sde, score: nanLater, shape: [8, 2], solver: "dpm_solver_pp_2m", steps: 6, rng: createRng(2) }), /not finite/);
    }, "failing run");
  });

  it("adaptive_sde: with the Brownian bridge on rejections (default) and without rejections it samples the Gaussian target (moments within Monte-Carlo error); the paper's fresh draws widen it; looser tolerance, fewer NFE", async () => {
    const sde = new VPSDE();
    const n = 2000;
    const eps = sde.defaultEps;
    const run = async (options: Record<string, unknown>) => {
      const r = await sample({ sde, score: gaussianScore(sde), shape: [n, 2], solver: "adaptive_sde", steps: 1, options, rng: createRng(4) });
      const v = r.samples.dataSync();
      r.samples.dispose();
      const stats = [0, 1].map((d) => {
        let m = 0;
        let s2 = 0;
        for (let i = 0; i < n; i++) m += v[2 * i + d] / n;
        for (let i = 0; i < n; i++) s2 += (v[2 * i + d] - m) ** 2 / (n - 1);
        return { mean: m, stdRatio: Math.sqrt(s2) / sdAt(sde, eps, d) };
      });
      return { stats, nfe: r.nfe };
    };
    // Within 4 Monte-Carlo standard errors of the exact p_eps: mean sd/√n, std ratio 1/√(2n).
    const exact = (what: string, r: Awaited<ReturnType<typeof run>>) =>
      r.stats.forEach(({ mean, stdRatio }, d) => {
        const sd = sdAt(sde, eps, d);
        assert.ok(Math.abs(mean - sde.alphaAt(eps) * MU[d]) < (4 * sd) / Math.sqrt(n), `${what}: mean[${d}] ${mean}`);
        assert.ok(Math.abs(stdRatio - 1) < 4 / Math.sqrt(2 * n), `${what}: std ratio[${d}] ${stdRatio}`);
      });
    const bridge = await run({});
    exact("bridge (default)", bridge);
    const free = await run({ reject: false });
    exact("no rejections", free);
    const paper = await run({ bridge: false });
    assert.ok(paper.stats.every((s) => s.stdRatio > 1 + 4 / Math.sqrt(2 * n)), `fresh draws on rejection should widen the law: ${JSON.stringify(paper.stats)}`);
    const loose = await run({ rtol: 0.1 });
    assert.ok(loose.nfe < bridge.nfe && free.nfe < bridge.nfe, `NFE ${loose.nfe} (rtol 0.1), ${bridge.nfe} (rtol 0.01), ${free.nfe} (no rejections)`);
    assert.ok(Math.abs(paper.nfe - bridge.nfe) < 0.1 * bridge.nfe, `NFE ${paper.nfe} (fresh draws) vs ${bridge.nfe} (bridge)`);
    assert.equal(bridge.nfe % 2, 0);
  });
});

describe("the loop's checks: score shape and non-finite samples (issue #12 item 6)", () => {
  const sde = new VESDE();
  const broadcastScore = (x: tf.Tensor) => tf.zeros([x.shape[0], 1]);

  it("a score whose output shape differs from x fails on the first call, naming both shapes", async () => {
    await assert.rejects(
      pcSample({ sde, score: broadcastScore, shape: [16, 2], rng: createRng(0) }),
      /pcSample: score\(x, t\) returned shape \[16,1\] for x of shape \[16,2\] \(t = 1\); the score must return a tensor of x's shape/,
    );
    await assert.rejects(sample({ sde, score: broadcastScore, shape: [16, 2], solver: "heun", steps: 4, rng: createRng(0) }), /sample \(heun\): score\(x, t\) returned shape \[16,1\] for x of shape \[16,2\]/);
    await assert.rejects(odeSample({ sde, score: broadcastScore, shape: [16, 2], rng: createRng(0) }), /odeSample: score\(x, t\) returned shape \[16,1\] for x of shape \[16,2\]/);
    await assert.rejects(pcSample({ sde, score: () => 3 as never, shape: [16, 2], rng: createRng(0) }), /pcSample: score\(x, t\) returned "number"; it must return a tf.Tensor/);
  });

  it("non-finite samples are reported with the step: a far too large snr, a score returning NaN", async () => {
    const toy = eightGaussians();
    // One unguarded run first: the first call allocates tfjs' one-time constants (5 tensors), not a leak.
    await pcSample({ sde, score: toy.scoreFn(sde), shape: [64, 2], snr: 1e20, rng: createRng(0) }).catch(() => undefined);
    await assertNoLeak(async () => {
      await assert.rejects(
        // snr 1e20 overflows float32 in the first Langevin step (snr 1e6 now stays finite, |x| ~ 1e7: wrong but not
        // detectable as non-finite).
        pcSample({ sde, score: toy.scoreFn(sde), shape: [64, 2], snr: 1e20, rng: createRng(0) }),
        /pcSample: the samples are not finite \(NaN or ±Infinity\) after step 1 of 1000 \(solver "reverse_diffusion \+ langevin", t = [\d.e-]+ → [\d.e-]+\)/,
      );
    }, "pcSample snr 1e20");
    let calls = 0;
    const nanAt5 = (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => (++calls === 5 ? x.mul(NaN) : toy.scoreFn(sde)(x, t)));
    await assert.rejects(
      pcSample({ sde, score: nanAt5, shape: [8, 2], rng: createRng(0) }),
      /pcSample: the samples are not finite \(NaN or ±Infinity\) after step 3 of 1000 .*the score returned non-finite values there/,
    );
    calls = 0;
    await assert.rejects(sample({ sde, score: nanAt5, shape: [8, 2], solver: "dpm_solver_2", steps: 10, rng: createRng(0) }), /after step 3 of 10 \(solver "dpm_solver_2"/);
    let odeCalls = 0;
    const nanAfter20 = (x: tf.Tensor, t: tf.Tensor) => tf.tidy(() => (++odeCalls > 20 ? x.mul(NaN) : toy.scoreFn(sde)(x, t)));
    await assert.rejects(odeSample({ sde, score: nanAfter20, shape: [8, 2], rng: createRng(0) }), /odeSample: the probability-flow drift is not finite at t = [\d.e-]+ \(NaN at flat index 0, solver evaluation 21\); the score returned NaN/);
    await assert.rejects(
      odeSample({ sde, score: (x) => tf.fill(x.shape, NaN), shape: [8, 2], rng: createRng(0) }),
      /odeSample: the probability-flow drift is not finite at the initial point t = 1 \(NaN at flat index 0, solver evaluation 1\); the score returned NaN/,
    );
  });
});
