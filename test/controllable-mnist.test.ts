/**
 * The committed MNIST noise-conditional classifier (data/classifiers/mnist-vp, trained by
 * experiments/controllable-mnist.ts): it loads from its file alone, recognises clean and lightly perturbed test
 * digits, falls to chance where the VP marginal has forgotten the data, and gives a finite input gradient for guidance.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadMnist } from "../lib/data";
import { classifierGradFn } from "../lib/controllable";
import { loadMnistClassifier, mnistAccuracy, mnistClassifierSde } from "../notebooks/experiments/controllable-mnist";
import { setup } from "./helpers";

before(setup);

describe("committed MNIST noise-conditional classifier", () => {
  it("test accuracy by noise level: high at small t, chance at t = 1; finite guidance gradient", (t) => {
    const net = loadMnistClassifier("mnist-vp");
    assert.equal(net.kind, "imageClassifier");
    assert.equal(net.numClasses, 10);
    const sde = mnistClassifierSde();
    const test = loadMnist({ split: "test" });
    const acc = mnistAccuracy(net, sde, test, [0.001, 0.3, 1], 1000, 1);
    t.diagnostic(acc.map((a) => `t = ${a.t}: ${(100 * a.accuracy).toFixed(1)} %`).join(", "));
    assert.ok(acc[0].accuracy >= 0.95, `clean accuracy ${acc[0].accuracy}`);
    assert.ok(acc[1].accuracy >= 0.85, `accuracy at t = 0.3: ${acc[1].accuracy}`);
    assert.ok(acc[2].accuracy < 0.2, `accuracy at t = 1 should be near chance: ${acc[2].accuracy}`);
    tf.tidy(() => {
      const x = tf.randomNormal([4, 28, 28, 1], 0, 1, "float32", 3);
      const g = classifierGradFn(net, sde)(x, tf.fill([4], 0.5), Int32Array.from([0, 3, 7, 9]));
      assert.deepEqual(g.shape, [4, 28, 28, 1]);
      const v = g.dataSync();
      assert.ok(v.every((u) => Number.isFinite(u)) && v.some((u) => u !== 0));
    });
    net.dispose();
  });
});
