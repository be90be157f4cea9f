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
import { loadMnistClassifier, mnistAccuracy, mnistClassifierSde, parseInpaintEvalArgs } from "../notebooks/experiments/controllable-mnist";
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

describe("controllable-mnist.ts inpaint (issue #16's inpainting measurement): arguments", () => {
  it("parses the settings, with RePaint resampling as --resample J,R; refuses bad flags naming flag, value and what is allowed", () => {
    const base = ["--count", "100", "--N", "250", "--corrector", "langevin", "--out", "runs/inpaint/x.json"];
    assert.deepEqual(parseInpaintEvalArgs([...base, "--resample", "10,4"]), {
      count: 100, N: 250, corrector: "langevin", resample: { jumpLength: 10, resamplings: 4 }, seed: 1, threads: 1, out: "runs/inpaint/x.json",
    });
    assert.equal(parseInpaintEvalArgs(base).resample, undefined);
    const bad = (args: string[], re: RegExp) => assert.throws(() => parseInpaintEvalArgs(args), re);
    bad([...base, "--resample", "10"], /--resample = "10" is not allowed; --resample must be J,R: jump length and number of resamplings/);
    bad(["--count", "5", "--N", "100", "--corrector", "ald", "--out", "a.json"], /--corrector = "ald" is not allowed; --corrector must be "none" or "langevin"/);
    bad(["--count", "0", ...base.slice(2)], /--count = "0" is not allowed; --count must be an integer in 1 … 10000/);
    bad(["--count", "5", "--N", "20", "--corrector", "none", "--out", "a.json"], /--N = "20" is not allowed; --N must be an integer in 21 … 100000/);
    bad(["--count", "5", "--N", "100", "--corrector", "none", "--out", "a.npy"], /--out = "a.npy" is not allowed; --out must be a file name ending in .json/);
    bad(["--count", "5", "--N", "100", "--out", "a.json"], /--corrector = undefined is not allowed; --corrector must be given/);
    bad([...base, "--steps", "3"], /argument = "--steps" is not allowed/);
    bad([...base, "--seed"], /--seed = undefined is not allowed; --seed must be followed by a value/);
  });
});
