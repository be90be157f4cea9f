/**
 * The newcomer's test of the SDE contract (issue #11): a fourth SDE, VP with the cosine schedule, lives in one file
 * (test/fixtures/cosine-vp-sde.ts) that registers itself; nothing in lib/ knows its name. Through the existing API it
 * is rebuilt from its config, its marginal matches the closed form, its drift and diffusion produce that marginal,
 * a toy MLP trains on it (the loss falls, the checkpoint records and resumes it), pcSample draws the mixture with the
 * exact score and gives finite samples with the learned one, and the probability-flow likelihood of the exact score
 * equals the true log-density.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { logLikelihood } from "../lib/likelihood";
import { energyDistance, noiseFloor } from "../lib/metrics";
import { createToyMLP, scoreFnFromModel } from "../lib/models";
import { createRng } from "../lib/random";
import { pcSample } from "../lib/sampling";
import { registeredSdes, sdeFromConfig } from "../lib/sde";
import { eightGaussians } from "../lib/toy";
import { loadCheckpoint, toyBatchSource, train } from "../lib/train";
import { CosineVPSDE } from "./fixtures/cosine-vp-sde";
import { setup } from "./helpers";

before(setup);

/** Nichol & Dhariwal's ᾱ(τ) = f(τ)/f(0), f(τ) = cos²((τ + s)/(1 + s) π/2), written out independently in float64. */
function alphaBar(t: number, s = 0.008, tMax = 0.9946): number {
  const f = (tau: number): number => Math.cos(((tau + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return f(t * tMax) / f(0);
}

describe("a fourth SDE in one file: VP with the cosine schedule", () => {
  const sde = new CosineVPSDE();
  const mix = eightGaussians({ radius: 2, std: 0.2 });

  it("registers itself and round-trips through sdeFromConfig / getConfig", () => {
    assert.ok(registeredSdes().includes("cosineVP"));
    const back = sdeFromConfig({ kind: "cosineVP", N: 500 });
    assert.ok(back instanceof CosineVPSDE);
    assert.deepEqual(back.getConfig(), { kind: "cosineVP", N: 500, s: 0.008, tMax: 0.9946 });
    assert.deepEqual(sdeFromConfig(sde.getConfig()).getConfig(), sde.getConfig());
    assert.equal(sde.parameterization.name, "epsilon");
    assert.throws(() => sdeFromConfig({ kind: "cosineVP", sigmaMax: 50 }), /config.sigmaMax = 50 is not allowed.*N, s, tMax/);
  });

  it("marginal mean √ᾱ and std √(1 − ᾱ) equal the closed form; the host schedule agrees; t(λ) inverts λ(t)", () => {
    const ts = [0, 1e-3, 0.05, 0.2, 0.5, 0.8, 0.95, 1];
    const [m, s] = tf.tidy(() => {
      const c = sde.marginalCoefficients(tf.tensor1d(ts));
      return [Array.from(c.mean.dataSync()), Array.from(c.std.dataSync())];
    });
    ts.forEach((t, i) => {
      const ab = alphaBar(t);
      assert.ok(Math.abs(m[i] - Math.sqrt(ab)) <= 2e-6, `mean at t=${t}: ${m[i]} vs ${Math.sqrt(ab)}`);
      assert.ok(Math.abs(s[i] - Math.sqrt(1 - ab)) <= 2e-6 + 1e-5 * Math.sqrt(1 - ab), `std at t=${t}: ${s[i]} vs ${Math.sqrt(1 - ab)}`);
      assert.ok(Math.abs(sde.alphaAt(t) - Math.sqrt(ab)) < 1e-12);
      if (t > 0) assert.ok(Math.abs(sde.tOfLambda(sde.lambdaAt(t)) - t) < 1e-9, `t(λ(${t}))`);
    });
    // The prior N(0, I) is the marginal at t = 1 up to α(1)² ≈ 7e-5.
    assert.ok(sde.alphaAt(1) < 0.01 && sde.alphaAt(1) > 0.005, `α(1) = ${sde.alphaAt(1)}`);
  });

  it("its drift and diffusion produce that marginal: d log α/dt = −½ g², and Euler–Maruyama paths have mean α x₀ and variance 1 − α²", () => {
    const g2 = (t: number): number => tf.tidy(() => sde.diffusion(tf.tensor1d([t])).square().dataSync()[0]);
    for (const t of [0.1, 0.4, 0.7, 0.9]) {
      const h = 1e-5;
      const dLogAlpha = (Math.log(sde.alphaAt(t + h)) - Math.log(sde.alphaAt(t - h))) / (2 * h);
      assert.ok(Math.abs(dLogAlpha + 0.5 * g2(t)) <= 1e-4 * Math.abs(dLogAlpha), `t=${t}: ${dLogAlpha} vs ${-0.5 * g2(t)}`);
    }
    // Forward paths from x₀ = 1.5 to t = 0.6 with the SDE's own (Euler–Maruyama) discretisation, 400 steps.
    const n = 4000;
    const steps = 400;
    const tEnd = 0.6;
    const em = new CosineVPSDE({ N: Math.round(steps / tEnd) });
    const rng = createRng(17);
    let x = tf.fill([n, 1], 1.5);
    for (let i = 0; i < steps; i++) {
      const next = tf.tidy(() => {
        const t = tf.fill([n], (i * tEnd) / steps);
        const { f, G } = em.discretize(x, t);
        return x.add(f).add(rng.normal([n, 1]).mul(G.reshape([n, 1])));
      });
      x.dispose();
      x = next;
    }
    const v = Array.from(x.dataSync());
    x.dispose();
    const mean = v.reduce((a, b) => a + b, 0) / n;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    const a = Math.sqrt(alphaBar(tEnd));
    const se = Math.sqrt((1 - a * a) / n);
    assert.ok(Math.abs(mean - 1.5 * a) < 4 * se + 2e-3, `mean ${mean} vs ${1.5 * a} (se ${se})`);
    assert.ok(Math.abs(variance - (1 - a * a)) < 4 * (1 - a * a) * Math.sqrt(2 / n) + 3e-3, `variance ${variance} vs ${1 - a * a}`);
  });

  it("trains a toy MLP (the loss falls), its checkpoint records the SDE by config and resumes under it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cosine-vp-"));
    const ck = path.join(dir, "cosine.ckpt");
    const make = () => createToyMLP({ dim: 2, width: 48, depth: 2, embedding: "positional", embeddingDim: 16, seed: 3 });
    const common = { sde, batchSource: toyBatchSource(mix, 256), seed: 5, optimizer: { lr: 3e-3, warmup: 10 }, logEvery: 50, progress: false };
    const model = make();
    try {
      const first = await train({ ...common, model, steps: 60, checkpoint: { path: ck, every: 60 } });
      first.trainer.dispose();
      assert.deepEqual(loadCheckpoint(ck).config.sde, { kind: "cosineVP", N: 1000, s: 0.008, tMax: 0.9946 });
      const res = await train({ ...common, model, steps: 240, checkpoint: { path: ck, every: 60 } });
      assert.equal(res.startStep, 60);
      assert.equal(res.history.length, 240);
      const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const head = avg(res.history.slice(0, 30));
      const tail = avg(res.history.slice(-30));
      // σ²-weighted DSM with ε-prediction is E‖ε̂ − ε‖²/D: ≈ 1 for an untrained net.
      assert.ok(head > 0.5, `first losses ${head}`);
      assert.ok(tail < 0.8 * head, `loss ${head} → ${tail}`);
      res.trainer.useEmaWeights();
      res.trainer.dispose();

      // The learned score through the SDE's own parameterisation (−ε̂ / σ): finite samples and likelihoods.
      const learned = scoreFnFromModel(sde, model);
      const s = await pcSample({ sde: new CosineVPSDE({ N: 200 }), score: learned, shape: [200, 2], predictor: "euler_maruyama", corrector: "none", rng: createRng(8) });
      assert.deepEqual(s.samples.shape, [200, 2]);
      assert.ok(Array.from(s.samples.dataSync()).every(Number.isFinite));
      s.samples.dispose();
      const x = mix.sample(50, createRng(9));
      const ll = await logLikelihood({ sde, score: learned, x, divergence: "exact", eps: 1e-5, rtol: 1e-3, atol: 1e-3 });
      const nllLearned = -Array.from(ll.logp.dataSync()).reduce((a, b) => a + b, 0) / 50;
      assert.ok(Number.isFinite(nllLearned) && nllLearned > 0, `learned NLL ${nllLearned}`);
      tf.dispose([x, ll.logp, ll.bpd, ll.z, ll.priorLogp, ll.deltaLogp]);
    } finally {
      model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pcSample with the exact mixture score draws the mixture (energy distance at the noise floor of two true samples)", async () => {
    const n = 800;
    const r = await pcSample({ sde: new CosineVPSDE({ N: 500 }), score: mix.scoreFn(sde), shape: [n, 2], predictor: "euler_maruyama", corrector: "none", rng: createRng(21) });
    const truth = mix.sample(4000, createRng(22));
    const ed = energyDistance(r.samples, truth);
    const floor = noiseFloor(mix, n, (a, b) => energyDistance(a, b), { repeats: 5, seed: 23 });
    tf.dispose([r.samples, truth]);
    assert.ok(ed < floor.mean + 4 * floor.std + 0.01, `energy distance ${ed} vs floor ${floor.mean} ± ${floor.std}`);
  });

  it("the probability-flow likelihood of the exact score equals the true log-density", async () => {
    const x = mix.sample(100, createRng(31));
    const truth = -Array.from(tf.tidy(() => mix.logProb(x)).dataSync()).reduce((a, b) => a + b, 0) / 100;
    const r = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact", eps: 1e-5, rtol: 1e-5, atol: 1e-5 });
    const nll = -Array.from(r.logp.dataSync()).reduce((a, b) => a + b, 0) / 100;
    tf.dispose([x, r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
    assert.ok(Math.abs(nll - truth) < 0.01, `ODE NLL ${nll} vs true ${truth}`);
  });
});
