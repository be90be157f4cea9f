/**
 * The noise-conditional classifier trainer (lib/controllable/classifier.ts): trained on perturbed labelled toy data,
 * its input gradient approaches the exact ∇ₓ log p_t(y | x) of lib/toy/conditional.ts.
 *
 * Measured while writing this test (overlapping 3-component mixture, classes {0}, {1, 2}; width 64, depth 2, Adam
 * 3e-3, batch 256): relative squared error of the gradient over points of p_t at t ∈ {0.02, 0.1, 0.3, 0.6},
 * untrained 0.99; after 300 / 600 / 2000 steps VP 0.195 / 0.170 / 0.083, VE (σ_max 10) 0.158 / 0.092 / 0.028.
 * The image CNN on 8×8 two-class images (a 64-D mixture, so exact too; batch 64): 1.00 → 0.88 / 0.17 after 200 / 600.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, VESDE, VPSDE } from "../lib/sde";
import { GaussianMixture } from "../lib/toy";
import { MixtureClasses } from "../lib/toy/conditional";
import {
  classifierFromConfig,
  classifierGradFn,
  classifierLogProb,
  createImageClassifier,
  createToyClassifier,
  getClassifierWeights,
  setClassifierWeights,
  trainNoiseConditionalClassifier,
} from "../lib/controllable";
import type { ClassifierNetwork } from "../lib/controllable";
import { setup } from "./helpers";
import { classifierGradError, overlappingMixture } from "../notebooks/experiments/controllable";

before(setup);

const overlapping = overlappingMixture; // the same mixture notebook 07 shows

/** Relative squared error Σ‖g_net − g_exact‖² / Σ‖g_exact‖² over labelled points of p_t at a few times. */
const gradError = classifierGradError;

describe("noise-conditional classifier", () => {
  it("classifierGradFn is the input gradient of classifierLogProb (central differences)", () => {
    const sde = new VPSDE();
    const net = createToyClassifier({ numClasses: 3, seed: 4, width: 16 });
    const x = tf.tensor2d([
      [0.3, -0.4],
      [1.2, 0.5],
    ]);
    const t = tf.tensor1d([0.2, 0.7]);
    const labels = Int32Array.from([2, 0]);
    const g = classifierGradFn(net, sde)(x, t, labels).arraySync() as number[][];
    const h = 1e-2;
    const base = x.arraySync() as number[][];
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 2; i++) {
        const f = (d: number) =>
          tf.tidy(() => {
            const p = base.map((r) => r.slice());
            p[b][i] += d;
            return classifierLogProb(net, sde, tf.tensor2d(p), t, labels).dataSync()[b];
          });
        const fd = (f(h) - f(-h)) / (2 * h);
        assert.ok(Math.abs(g[b][i] - fd) < 2e-3 + 1e-2 * Math.abs(fd), `grad[${b}][${i}] ${g[b][i]} vs fd ${fd}`);
      }
    }
    tf.dispose([x, t]);
    net.dispose();
  });

  for (const [name, sde] of [
    ["VP", new VPSDE()],
    ["VE", new VESDE({ sigmaMax: 10 })],
  ] as [string, SDE][]) {
    it(`${name}: trained on perturbed data, ∇ log p_t(y|x) approaches the exact one (400 steps: error < 0.3, from ≈ 1)`, async (t) => {
      const mix = overlapping();
      const classes = new MixtureClasses(mix, [0, 1, 1]);
      const net = createToyClassifier({ numClasses: 2, seed: 1 });
      const before = gradError(net, mix, classes, sde);
      const tensors = tf.memory().numTensors;
      const r = await trainNoiseConditionalClassifier({
        net,
        sde,
        data: (n, rng) => classes.sampleLabelled(n, rng),
        steps: 400,
        lr: 3e-3,
        rng: createRng(2),
      });
      assert.equal(tf.memory().numTensors, tensors, "training leaves no tensors behind");
      const after = gradError(net, mix, classes, sde);
      t.diagnostic(`relative gradient error ${before.toFixed(3)} → ${after.toFixed(4)}; losses ${r.losses.map((l) => l.loss.toFixed(3)).join(", ")}`);
      assert.ok(before > 0.9);
      assert.ok(after < 0.3, `relative error ${after}`);
      net.dispose();
      classes.dispose();
      mix.dispose();
    });
  }

  it("image CNN (NHWC): on 8×8 two-class images with an exact posterior, its gradient approaches the exact one", async (t) => {
    // Class ±: mean ±0.5 on the top half and ∓0.5 on the bottom half, isotropic std 0.5 — a 64-D Gaussian mixture,
    // so MixtureClasses gives the exact ∇ log p_t(y | x) for images too.
    const S = 8;
    const d = S * S;
    const pattern = Array.from({ length: d }, (_, i) => (Math.floor(i / S) < S / 2 ? 0.5 : -0.5));
    const diag = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 0.25 : 0)));
    const mix = new GaussianMixture({ weights: [0.5, 0.5], means: [pattern, pattern.map((v) => -v)], covariances: [diag, diag] });
    const classes = new MixtureClasses(mix);
    const sde = new VPSDE();
    const net = createImageClassifier({ size: S, numClasses: 2, features: 8, stages: 2 });
    const error = (): number => {
      let num = 0;
      let den = 0;
      for (const time of [0.1, 0.3, 0.6]) {
        const pt = new MixtureClasses(mix.perturbed(sde, time));
        const { x, labels } = pt.sampleLabelled(200, createRng(5));
        const tt = tf.fill([200], time);
        const [a, b] = tf.tidy(() => {
          const ge = classes.logPosteriorGrad(sde, x, tt, labels);
          const gn = classifierGradFn(net, sde)(x.reshape([200, S, S, 1]), tt, labels).reshape([200, d]);
          return [gn.sub(ge).square().sum().dataSync()[0], ge.square().sum().dataSync()[0]];
        });
        num += a;
        den += b;
        tf.dispose([x, tt]);
        pt.dispose();
        pt.mixture.dispose();
      }
      return num / den;
    };
    const before = error();
    const r = await trainNoiseConditionalClassifier({
      net,
      sde,
      data: (n, rng) => {
        const s = classes.sampleLabelled(n, rng);
        const x = s.x.reshape([n, S, S, 1]);
        s.x.dispose();
        return { x, labels: s.labels };
      },
      steps: 500,
      batchSize: 64,
      lr: 3e-3,
      rng: createRng(2),
    });
    const after = error();
    t.diagnostic(`relative gradient error ${before.toFixed(3)} → ${after.toFixed(3)}; losses ${r.losses.map((l) => l.loss.toFixed(3)).join(", ")}`);
    assert.ok(before > 0.9 && after < 0.4, `relative gradient error ${before} → ${after}`);
    net.dispose();
    classes.dispose();
    mix.dispose();
  });

  it("weights round-trip through getConfig / classifierFromConfig / get- and setClassifierWeights (toy and image)", async () => {
    const sde = new VPSDE();
    for (const net of [createToyClassifier({ numClasses: 3, seed: 2 }), createImageClassifier({ size: 4, numClasses: 2, features: 4, seed: 3 })]) {
      const x = net.kind === "toyClassifier" ? tf.randomNormal([5, 2], 0, 1, "float32", 1) : tf.randomNormal([5, 4, 4, 1], 0, 1, "float32", 1);
      const data = (n: number) => ({ x: net.kind === "toyClassifier" ? tf.zeros([n, 2]).add(0.3) : tf.zeros([n, 4, 4, 1]).add(0.3), labels: new Int32Array(n) });
      await trainNoiseConditionalClassifier({ net, sde, data, steps: 2, batchSize: 4, rng: createRng(1) });
      const copy = classifierFromConfig(JSON.parse(JSON.stringify(net.getConfig())));
      const std = tf.fill([5], 0.4);
      assert.notDeepEqual(Array.from(copy.apply(x, std).dataSync()), Array.from(net.apply(x, std).dataSync()), "trained weights differ from fresh ones");
      setClassifierWeights(copy, getClassifierWeights(net));
      assert.deepEqual(Array.from(copy.apply(x, std).dataSync()), Array.from(net.apply(x, std).dataSync()));
      const w = getClassifierWeights(net);
      assert.throws(() => setClassifierWeights(copy, w.slice(1)), /missing weights/);
      tf.dispose([x, std]);
      copy.dispose();
      net.dispose();
    }
    assert.throws(() => classifierFromConfig({ kind: "mlp" }), /config.kind = "mlp"/);
  });

  it("rejects bad input naming the parameter", async () => {
    assert.throws(() => createToyClassifier({ numClasses: 1 }), /numClasses = 1/);
    assert.throws(() => createToyClassifier({ numClasses: 2, embeddingDim: 7 }), /embeddingDim = 7/);
    const net = createToyClassifier({ numClasses: 2 });
    const sde = new VPSDE();
    const mix = overlapping();
    const classes = new MixtureClasses(mix, [0, 1, 2]);
    const base = { net, sde, rng: createRng(0), steps: 1, batchSize: 4 };
    await assert.rejects(trainNoiseConditionalClassifier({ ...base, data: (n, rng) => classes.sampleLabelled(n, rng) }), /data labels\[\d\] = 2/);
    await assert.rejects(trainNoiseConditionalClassifier({ ...base, data: (n, rng) => classes.sampleLabelled(n + 1, rng) }), /data\(n, rng\)/);
    await assert.rejects(trainNoiseConditionalClassifier({ ...base, data: (n, rng) => classes.sampleLabelled(n, rng), lr: 0 }), /lr = 0/);
    assert.throws(() => net.apply(tf.zeros([2, 3]), tf.zeros([2])), /x.shape = \[2, 3\]/);
    assert.throws(() => createImageClassifier({ size: 0, numClasses: 10 }), /size = 0/);
    const cnn = createImageClassifier({ size: 4, numClasses: 3, features: 2 });
    assert.throws(() => cnn.apply(tf.zeros([2, 4, 4, 3]), tf.zeros([2])), /x.shape = \[2, 4, 4, 3\].*\[B, 4, 4, 1\]/);
    assert.throws(() => cnn.apply(tf.zeros([2, 4, 4, 1]), tf.zeros([3])), /noiseStd.shape = \[3\]/);
    cnn.dispose();
    net.dispose();
    classes.dispose();
  });
});
