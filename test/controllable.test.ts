/**
 * Controllable generation (lib/controllable) against the exact conditionals of lib/toy/conditional.ts, with the exact
 * toy score: class-conditional sampling, imputation and colourisation land within the energy-distance noise floor of
 * exact conditional samples of the same size, for VE and VP; a 0.8× classifier gradient is detectably outside; the
 * known coordinates come back exactly with the official order and not with a broken one; draws replay; bad input is
 * refused naming the parameter.
 *
 * What the floor can and cannot see (measured while writing these tests, N = 100): the replacement method is an
 * approximation. Where the known and unknown coordinates are independent it is exact, and lands within the floor at
 * n = 2000. On the overlapping (dependent, smooth) toy it is within the floor too (notebook 07, n = 2000, five seeds,
 * mean distance to three exact samples: z 0.6–3.0), so a bias there, if any, is below this resolution. Against ONE
 * fixed exact sample the same runs looked biased (z 3–9 at n = 2000 over three seeds): that sample's own fluctuation
 * is shared by every seed, which is why these tests and the notebook average over three exact samples.
 * Broken replacement orders (replacing before instead of after each update, skipping the replacement after the
 * corrector, replacing with the un-noised mean) stay within the floor on that toy at n = 1000 (z = −1.1 … +0.8), so
 * the order's power check is the exact reproduction of the known part. On the well-separated reference mixture the
 * official method is far outside the floor (last describe block).
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng, recordingRng } from "../lib/random";
import type { Rng } from "../lib/random";
import { SDE, VESDE, VPSDE, linspace, perExample, timeVector } from "../lib/sde";
import type { ScoreFn } from "../lib/sde";
import { correctorNames, getCorrector, getPredictor, pcSample, predictorNames } from "../lib/sampling";
import { GaussianMixture, anisotropicMixture, productMixture } from "../lib/toy";
import { MixtureClasses, MixtureConditional, colourToy, grayConditional } from "../lib/toy/conditional";
import { classifierGuidedScore, pcColorize, pcConditionalSample, pcInpaint } from "../lib/controllable";
import { energyDistance, noiseFloor, withinNoiseFloor } from "../lib/metrics";
import type { NoiseFloor, Points } from "../lib/metrics";
import { assertNoLeak, describeFloor, edToExact, exactSamples, setup } from "./helpers";
import { overlappingMixture } from "../notebooks/experiments/controllable";

before(setup);

/** Three overlapping correlated components: conditionals and class posteriors are smooth. */
const overlapping = overlappingMixture; // the same mixture notebook 07 shows

const SDES: [string, () => SDE][] = [
  ["VE", () => new VESDE({ sigmaMax: 10, N: 100 })],
  ["VP", () => new VPSDE({ N: 100 })],
];

const ed = (a: Points, b: Points): number => energyDistance(a, b);


describe("class-conditional sampling with the exact p_t(y | x) (n = 2000, N = 100)", () => {
  const n = 2000;
  for (const [name, make] of SDES) {
    it(`${name}: γ = 1 is within the floor of exact p_0(x | y) samples; a 0.8× classifier gradient is outside it`, async (t) => {
      const sde = make();
      const mix = overlapping();
      const classes = new MixtureClasses(mix, [0, 1, 1]);
      const target = classes.classMixture(0);
      const floor = noiseFloor(target, n, ed, { repeats: 10, seed: 3 });
      const truth = exactSamples(target, n);
      const run = async (guidance: number) => {
        const out = await pcConditionalSample({
          sde,
          score: mix.scoreFn(sde),
          shape: [n, 2],
          classifierGrad: classes.gradFn(sde),
          labels: 0,
          guidance,
          rng: createRng(7),
        });
        const d = edToExact(out.samples, truth);
        out.samples.dispose();
        return d;
      };
      const exact = await run(1);
      const wrong = await run(0.8);
      t.diagnostic(`γ = 1: ${describeFloor(exact, floor)}; γ = 0.8: ${describeFloor(wrong, floor)}`);
      assert.ok(withinNoiseFloor(exact, floor, 3), `γ = 1: ${describeFloor(exact, floor)}`);
      assert.ok(!withinNoiseFloor(wrong, floor, 3), `γ = 0.8 should be detectable: ${describeFloor(wrong, floor)}`);
            classes.dispose();
      mix.dispose();
    });
  }

  it("the guided score is s + γ ∇ log p_t(y|x) (γ = 1: the class sub-mixture's exact score); per-example labels", () => {
    const mix = overlapping();
    const classes = new MixtureClasses(mix, [0, 1, 1]);
    const sde = new VPSDE();
    tf.tidy(() => {
      const x = tf.tensor2d([
        [0.1, 0.2],
        [-0.5, 0.4],
        [1.0, -0.3],
      ]);
      const t = tf.tensor1d([0.1, 0.4, 0.8]);
      const labels = [1, 0, 1];
      const s1 = classifierGuidedScore(mix.scoreFn(sde), classes.gradFn(sde), { labels })(x, t).arraySync() as number[][];
      labels.forEach((c, b) => {
        const want = classes.classMixture(c).scoreAt(sde, x.slice([b], [1]), t.slice([b], [1])).dataSync();
        for (let i = 0; i < 2; i++) assert.ok(Math.abs(s1[b][i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])));
      });
      const s0 = classifierGuidedScore(mix.scoreFn(sde), classes.gradFn(sde), { labels, scale: 0 })(x, t);
      const s3 = classifierGuidedScore(mix.scoreFn(sde), classes.gradFn(sde), { labels, scale: 3 })(x, t);
      const g = classes.logPosteriorGrad(sde, x, t, labels);
      const diff = s3.sub(s0).sub(g.mul(3)).abs().max().dataSync()[0];
      assert.ok(diff < 1e-5, `γ = 3 adds 3 ∇ log p(y|x) (max error ${diff})`);
    });
    classes.dispose();
  });
});

describe("imputation with the official PC inpainter (N = 100)", () => {
  /** x₀ independent of x₁ (a 2-component mixture): replacement is exact here. */
  const independent = (): GaussianMixture =>
    productMixture(
      new GaussianMixture({ weights: [1], means: [[0.3]], covariances: [[[0.5]]] }),
      new GaussianMixture({ weights: [0.4, 0.6], means: [[-0.7], [0.6]], covariances: [[[0.1]], [[0.2]]] }),
    );
  const cases: [string, () => GaussianMixture, number, number][] = [
    ["independent coordinates (exact case)", independent, 0.5, 2000],
    ["overlapping toy", overlapping, 0, 1000],
  ];
  for (const [name, make] of SDES) {
    for (const [what, toy, v, n] of cases) {
      it(`${name}, ${what}, n = ${n}: x₁ given x₀ within the floor of exact conditional samples, official and noised (#39) starts`, async (t) => {
        const sde = make();
        const mix = toy();
        const cond = new MixtureConditional(mix, { known: [0], values: [v] });
        const floor = noiseFloor(cond, n, ed, { repeats: 10, seed: 3 });
        const truth = exactSamples(cond, n);
        const data = tf.tensor2d(Array.from({ length: n }, () => [v, 123])); // the unknown entry is never read
        const mask = tf.tensor1d([1, 0]);
        for (const start of ["official", "noised"] as const) {
          const out = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, start, rng: createRng(7) });
          const d = edToExact(out.samples, truth);
          t.diagnostic(`x₀ = ${v}, ${start} start: ${describeFloor(d, floor)}`);
          assert.ok(withinNoiseFloor(d, floor, 3), `x₀ = ${v}, ${start}: ${describeFloor(d, floor)}`);
          out.samples.dispose();
        }
        tf.dispose([data, mask]);
        cond.dispose();
        mix.dispose();
      });
    }
  }
});

/** The official loop with the replacement moved BEFORE each update (a broken order), for the power check. */
function replaceBeforeUpdate(sde: SDE, score: ScoreFn, data: tf.Tensor, mask: tf.Tensor, rng: Rng): tf.Tensor {
  const pred = getPredictor("reverse_diffusion")({ sde, score, probabilityFlow: false });
  const corr = getCorrector("langevin")({ sde, score, snr: 0.16, nSteps: 1 });
  const free = tf.onesLike(mask).sub(mask);
  const known = data.mul(mask);
  let x = tf.tidy(() => sde.priorSample(data.shape, rng).mul(free).add(known));
  let xMean = x.clone();
  const ts = linspace(sde.T, sde.defaultEps, sde.N);
  for (let i = 0; i < sde.N; i++) {
    const t = timeVector(ts[i], data.shape[0], sde.T);
    for (const u of [corr, pred]) {
      const replaced = tf.tidy(() => {
        const { mean, std } = sde.marginalCoefficients(t);
        return x.mul(free).add(perExample(mean, x).mul(known)).add(perExample(std, x).mul(rng.normal(x.shape)).mul(mask));
      });
      const o = u.update(replaced, t, rng);
      tf.dispose([x, xMean, replaced]);
      ({ x, xMean } = o);
    }
    t.dispose();
  }
  tf.dispose([x, free, known]);
  return xMean;
}

describe("the known part comes back exactly (official order), up to the final step's m(ε)", () => {
  for (const [name, make] of SDES) {
    it(`${name}: known entries = m(ε) · data bit for bit (VE: data itself), any mask shape; a broken order does not`, async () => {
      const sde = make();
      const mix = anisotropicMixture();
      const B = 64;
      const data = tf.tidy(() => mix.sample(2 * B, createRng(1)).reshape([B, 2, 2]));
      // A per-example mask of the full shape: random known/unknown pattern, at least one unknown per example.
      const m = createRng(2).uniformArray(B * 4);
      const maskArr = Float32Array.from(m, (u, i) => (i % 4 === 3 ? 0 : u < 0.5 ? 1 : 0));
      const mask = tf.tensor3d(maskArr, [B, 2, 2]);
      const score: ScoreFn = (x, t) => tf.tidy(() => mix.scoreAt(sde, x.reshape([B * 2, 2]), tf.concat([t, t])).reshape(x.shape));
      // The score above pairs rows (2 points per example): any score works for the known-part check.
      const out = await pcInpaint({ sde, score, data, mask, rng: createRng(3) });
      const mEps = tf.tidy(() => sde.marginalCoefficients(tf.tensor1d([sde.defaultEps])).mean);
      const want = tf.tidy(() => data.mul(mEps.reshape([1, 1, 1])));
      const got = out.samples.dataSync();
      const w = want.dataSync();
      const d = data.dataSync();
      let known = 0;
      for (let i = 0; i < got.length; i++) {
        if (maskArr[i] === 1) {
          known++;
          assert.equal(got[i], w[i], `entry ${i}: ${got[i]} vs m(ε)·data ${w[i]}`);
          if (name === "VE") assert.equal(got[i], d[i]);
          else assert.ok(Math.abs(got[i] - d[i]) <= 1e-4 * Math.abs(d[i]) + 1e-7);
        }
      }
      assert.ok(known > 50);
      // Power: replacing before each update leaves the last updates' drift and noise on the known part.
      const broken = replaceBeforeUpdate(sde, score, data, mask, createRng(3));
      const b = broken.dataSync();
      let worst = 0;
      for (let i = 0; i < b.length; i++) if (maskArr[i] === 1) worst = Math.max(worst, Math.abs(b[i] - w[i]));
      assert.ok(worst > 1e-3, `a broken order moves the known part (max change ${worst})`);
      tf.dispose([data, mask, out.samples, mEps, want, broken]);
    });
  }

  it("draws: prior, (noised start: one more), then per step corrector, replacement, predictor, replacement; replays", async () => {
    const sde = new VPSDE({ N: 30 });
    const mix = overlapping();
    const data = tf.tensor2d([
      [0.3, 0],
      [0.1, 0],
      [-0.2, 0],
    ]);
    const mask = tf.tensor1d([1, 0]);
    for (const [start, extra] of [
      ["official", 0],
      ["noised", 1],
    ] as const) {
      const rec = recordingRng(createRng(5));
      const a = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, start, nSteps: 2, rng: rec });
      assert.equal(rec.draws.length, 1 + extra + sde.N * (2 + 1 + 1 + 1));
      const b = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, start, nSteps: 2, rng: createRng(5) });
      assert.deepEqual(Array.from(a.samples.dataSync()), Array.from(b.samples.dataSync()));
      assert.equal(a.nfe, sde.N * 3);
      assert.equal(a.scoreEvals, sde.N * 3);
      tf.dispose([a.samples, b.samples]);
    }
    const colour = colourToy();
    const gray = tf.fill([2, 3], 0.1);
    colour.scoreAt(sde, gray, tf.fill([2], 0.5)).dispose(); // creates the mixture's device constants, kept until dispose
    await assertNoLeak(async () => {
      const r = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, rng: createRng(1), predictor: "euler_maruyama", corrector: "ald" });
      r.samples.dispose();
      const c = await pcColorize({ sde, score: colour.scoreFn(sde), gray, rng: createRng(1) });
      c.samples.dispose();
    }, "pcInpaint + pcColorize");
    tf.dispose(gray);
    colour.dispose();
    tf.dispose([data, mask]);
  });
});

describe("colourisation of the 3-D colour toy (n = 1000, N = 100)", () => {
  const n = 1000;
  for (const [name, make] of SDES) {
    it(`${name}: colours given gray are within the floor of the exact conditional (spread-3 toy); gray is kept`, async (t) => {
      const sde = make();
      const mix = colourToy({ spread: 3 });
      const g = 0.05;
      const cond = grayConditional(mix, g);
      const floor = noiseFloor(cond, n, ed, { repeats: 10, seed: 3 });
      const truth = exactSamples(cond, n);
      const gray = tf.fill([n, 3], g);
      const out = await pcColorize({ sde, score: mix.scoreFn(sde), gray, rng: createRng(7) });
      const d = edToExact(out.samples, truth);
      t.diagnostic(`gray ${g}: ${describeFloor(d, floor)}`);
      assert.ok(withinNoiseFloor(d, floor, 3), describeFloor(d, floor));
      const s = out.samples.arraySync() as number[][];
      for (const p of s) assert.ok(Math.abs((p[0] + p[1] + p[2]) / 3 - g) < 1e-5 * 3 * (1 + Math.abs(p[0]) + Math.abs(p[1]) + Math.abs(p[2])));
      tf.dispose([gray, out.samples]);
      cond.dispose();
    });
  }
});

describe("where the replacement method is not exact: well-separated conditional modes", () => {
  it("VP, reference mixture, x₀ = 0: the official inpainter puts far too much mass in the improbable mode", async (t) => {
    const sde = new VPSDE({ N: 100 });
    const mix = anisotropicMixture();
    const n = 500;
    const cond = new MixtureConditional(mix, { known: [0], values: [0] });
    const floor = noiseFloor(cond, n, ed, { repeats: 6, seed: 3 });
    const truth = exactSamples(cond, n);
    const data = tf.zeros([n, 2]);
    const out = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask: tf.tensor1d([1, 0]), rng: createRng(7) });
    const d = edToExact(out.samples, truth);
    const s = out.samples.arraySync() as number[][];
    const upper = s.filter((p) => p[1] > -0.3).length / n;
    // Exact: the mode at x₁ = 0.7 has conditional weight 0.0129 (the one at −1.2 has 0.987).
    t.diagnostic(`${describeFloor(d, floor)}; fraction in the x₁ > −0.3 mode: ${upper} (exact ${cond.mixture.weights[0].toFixed(4)})`);
    assert.ok(cond.mixture.weights[0] < 0.02);
    assert.ok(upper > 0.2, "the known limitation of replacement (documented in lib/controllable/inpaint.ts)");
    assert.ok(!withinNoiseFloor(d, floor, 3));
    tf.dispose([data, out.samples]);
  });
});

describe("every registered predictor and corrector", () => {
  it("pcConditionalSample is pcSample with the guided score (bit for bit), and it and pcInpaint run every combination pcSample runs", async () => {
    const mix = overlapping();
    const classes = new MixtureClasses(mix, [0, 1, 1]);
    for (const sde of [new VESDE({ sigmaMax: 10, N: 20 }), new VPSDE({ N: 30 })] as SDE[]) {
      const score = mix.scoreFn(sde);
      let ran = 0;
      for (const predictor of predictorNames()) {
        for (const corrector of correctorNames()) {
          for (const probabilityFlow of [false, true]) {
            const base = { sde, shape: [6, 2], predictor, corrector, probabilityFlow, snr: 0.16, nSteps: 1 };
            const guided = classifierGuidedScore(score, classes.gradFn(sde), { labels: 1 });
            let plain: tf.Tensor;
            try {
              plain = (await pcSample({ ...base, score: guided, rng: createRng(4) })).samples;
            } catch (err) {
              // A combination pcSample refuses (e.g. ancestral sampling with probability flow) is refused here too.
              await assert.rejects(pcConditionalSample({ ...base, score, classifierGrad: classes.gradFn(sde), labels: 1, rng: createRng(4) }));
              continue;
            }
            const out = await pcConditionalSample({ ...base, score, classifierGrad: classes.gradFn(sde), labels: 1, rng: createRng(4) });
            assert.deepEqual(Array.from(out.samples.dataSync()), Array.from(plain.dataSync()), `${predictor} + ${corrector}`);
            const data = tf.tensor2d([[0.2, 0], [0.4, 0], [0.1, 0], [0, 0], [-0.3, 0], [0.5, 0]]);
            const inp = await pcInpaint({ ...base, score, data, mask: tf.tensor1d([1, 0]), rng: createRng(4) });
            const v = inp.samples.dataSync();
            for (let i = 0; i < v.length; i++) assert.ok(Number.isFinite(v[i]), `${predictor} + ${corrector}: non-finite imputation`);
            tf.dispose([plain, out.samples, data, inp.samples]);
            ran++;
          }
        }
      }
      assert.ok(ran >= predictorNames().length * correctorNames().length, `ran ${ran} combinations`);
    }
    classes.dispose();
  });
});

describe("bad input is refused naming the parameter", () => {
  it("pcInpaint / pcColorize / pcConditionalSample / classifierGuidedScore", async () => {
    const sde = new VPSDE({ N: 30 });
    const mix = overlapping();
    const score = mix.scoreFn(sde);
    const rng = createRng(0);
    const data = tf.zeros([4, 2]);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 0, 1]), rng }), /mask.shape = \[3\].*\[4, 2\].*\[2\]/);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 0.5]), rng }), /mask \(flat index 1\) = 0.5/);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 1]), rng }), /mask = "all ones"/);
    await assert.rejects(pcInpaint({ sde, score, data: tf.zeros([2]), mask: tf.tensor1d([1, 0]), rng }), /data = \[2\]/);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 0]), rng, start: "middle" as never }), /start = "middle"/);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 0]), rng, predictor: "rk4" }), /predictor = "rk4"/);
    await assert.rejects(pcInpaint({ sde, score, data, mask: tf.tensor1d([1, 0]), rng, snr: -1 }), /snr = -1/);
    await assert.rejects(pcInpaint({ sde, score, data: tf.tensor2d([[NaN, 0]]), mask: tf.tensor1d([1, 0]), rng }), /data contains NaN/);
    await assert.rejects(pcColorize({ sde, score, gray: tf.tensor2d([[0.1, 0.2, 0.1]]), rng }), /gray = .*channels differing/);
    await assert.rejects(pcColorize({ sde, score, gray: tf.zeros([2, 2]), rng }), /gray.shape = \[2, 2\]/);
    const classes = new MixtureClasses(mix, [0, 1, 1]);
    const base = { sde, score, shape: [3, 2], classifierGrad: classes.gradFn(sde), rng };
    await assert.rejects(pcConditionalSample({ ...base, labels: [0, 1] }), /labels.length = 2/);
    await assert.rejects(pcConditionalSample({ ...base, labels: 2, numClasses: 2 }), /labels = 2.*0 … 1/);
    await assert.rejects(pcConditionalSample({ ...base, labels: [0, -1, 0] }), /labels\[1\] = -1/);
    await assert.rejects(pcConditionalSample({ ...base, labels: 0, guidance: -0.5 }), /scale = -0.5/);
    const badGrad = () => tf.zeros([3, 1]);
    await assert.rejects(pcConditionalSample({ ...base, classifierGrad: badGrad, labels: 0 }), /classifierGrad\(x, t, labels\).shape = \[3, 1\]/);
    assert.throws(() => classifierGuidedScore(score, 5 as never, { labels: 0 }), /classifierGrad = "number"/);
    tf.dispose(data);
  });
});
