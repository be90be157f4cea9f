/**
 * `npm run sample -- --model …` (tools/sample/model.ts) with --class and --inpaint (issue #16): argument errors name
 * the flag, its value and what is allowed; every committed model writes its NPY, PNG and JSON; tiny runs on mnist-vp write NPY [N, 28, 28, 1] in
 * [0, 1] and a PNG, inpainting keeps the known pixels (up to pcInpaint's final step m(ε)·data), and a seed replays
 * the same NPY bytes.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { regionMaskValues } from "../lib/controllable";
import { loadMnist } from "../lib/data";
import { decodeNpy } from "../lib/io";
import { inpaintTestImages, main, parseModelArgs } from "../tools/sample/model";
import { parseToyArgs } from "../tools/sample/toy";
import { loadPretrained, pretrainedNames } from "../notebooks/experiments/pretrained";
import { setup, tempDir } from "./helpers";

/** A committed model's image shape [H, W, C]. */
const loadPretrainedShape = (name: string): number[] => {
  const m = loadPretrained(name);
  const shape = [...m.imageShape];
  m.dispose();
  return shape;
};

before(setup);

const dir = tempDir("sample-model-");
const out = (name: string) => path.join(dir, name);
const read = (file: string) => decodeNpy(fs.readFileSync(file), file);
/** PNG width and height from the IHDR chunk. */
const pngSize = (file: string) => {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString("latin1"), "PNG");
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
};

describe("sample --model: --class / --inpaint arguments", () => {
  const base = ["--model", "mnist-vp", "--seed", "0"];
  const bad = (args: string[], re: RegExp) => assert.throws(() => parseModelArgs([...base, ...args]), re);
  it("refuses bad values with the flag, the value and what is allowed", () => {
    bad(["--class", "10"], /--class = "10" is not allowed; --class must be an integer class label in 0 … 9/);
    bad(["--class", "-1"], /--class = "-1" is not allowed/);
    bad(["--class", "3.5"], /--class = "3.5" is not allowed/);
    bad(["--class", "3", "--guidance", "0"], /--guidance = "0" is not allowed; --guidance must be a finite number > 0/);
    bad(["--class", "3", "--guidance", "-2"], /--guidance = "-2" is not allowed/);
    bad(["--class", "3", "--guidance", "Infinity"], /--guidance = "Infinity" is not allowed/);
    bad(["--class", "3", "--guidance", "nan"], /--guidance = "nan" is not allowed/);
    bad(["--guidance", "2"], /--guidance = "2" is not allowed; --guidance must be given only with --class K/);
    bad(["--inpaint", "middle", "--from-test", "0..3"], /--inpaint = "middle" is not allowed; --inpaint must be one of bottom, top, left, right, center/);
    bad(["--inpaint", "bottom", "--from-test", "0-3"], /--from-test = "0-3" is not allowed; --from-test must be I..J, two test image indices, both inclusive/);
    bad(["--inpaint", "bottom", "--from-test", "3"], /--from-test = "3" is not allowed/);
    bad(["--inpaint", "bottom", "--from-test", "0...3"], /--from-test = "0...3" is not allowed/);
    bad(["--inpaint", "bottom", "--from-test", "5..2"], /--from-test = "5..2" is not allowed; --from-test must be I..J with I ≤ J/);
    bad(["--inpaint", "bottom", "--from-test", "9990..10000"], /--from-test = "9990..10000" is not allowed; --from-test must be I..J with J ≤ 9999/);
    bad(["--inpaint", "bottom"], /--from-test = undefined is not allowed; --from-test must be given with --inpaint/);
    bad(["--from-test", "0..3"], /--inpaint = undefined is not allowed; --inpaint must be given with --from-test/);
    bad(["--inpaint", "top", "--from-test", "0..3", "--n", "4"], /--n = "4" is not allowed; --n must be absent with --inpaint \(the count is that of --from-test 0..3: 4\)/);
    bad(["--class", "3", "--inpaint", "top", "--from-test", "0..3"], /--class = "3" is not allowed; --class must be absent with --inpaint/);
    bad(["--class", "3", "--sampler", "ode"], /--sampler = "ode" is not allowed; --sampler must be pc or em with --class/);
    bad(["--inpaint", "left", "--from-test", "0..1", "--sampler", "ode"], /--sampler = "ode" is not allowed; --sampler must be pc or em with --inpaint/);
    bad(["--class"], /--class = undefined is not allowed; --class must be followed by a value/);
    bad(["--class", "1", "--class", "2"], /--class = "2" is not allowed; --class must be given once/);
    bad(["--clas", "1"], /argument = "--clas" is not allowed/);
    // The inclusive range: 0..9 is ten images.
    const a = parseModelArgs([...base, "--inpaint", "center", "--from-test", "0..9"]);
    assert.deepEqual([a.region, a.from, a.to, a.n], ["center", 0, 9, 10]);
    assert.equal(parseModelArgs([...base, "--class", "7"]).guidance, undefined);
  });

  it("--resample J,R (RePaint resampling of the inpainting loop): parsed, and refused outside --inpaint or its ranges", () => {
    const inp = ["--inpaint", "bottom", "--from-test", "0..3"];
    assert.deepEqual(parseModelArgs([...base, ...inp, "--resample", "10,4"]).resample, { jumpLength: 10, resamplings: 4 });
    assert.equal(parseModelArgs([...base, ...inp]).resample, undefined);
    bad([...inp, "--resample", "10"], /--resample = "10" is not allowed; --resample must be J,R: the jump length J and the number of resamplings R/);
    bad([...inp, "--resample", "10,-4"], /--resample = "10,-4" is not allowed/);
    bad([...inp, "--resample", "0,2"], /--resample = "0,2" is not allowed; --resample must be J,R with J in 1 … 999 \(--steps − 1; --steps is 1000\)/);
    bad([...inp, "--steps", "100", "--resample", "100,2"], /--resample = "100,2" is not allowed; --resample must be J,R with J in 1 … 99/);
    bad([...inp, "--resample", "10,0"], /--resample = "10,0" is not allowed; --resample must be J,R with R in 1 … 1000/);
    bad(["--resample", "10,2"], /--resample = "10,2" is not allowed; --resample must be given only with --inpaint/);
    bad(["--class", "3", "--resample", "10,2"], /--resample = "10,2" is not allowed; --resample must be given only with --inpaint/);
  });

  it("--manifold ζ (manifold-constraint gradient of the inpainting loop): parsed, and refused outside --inpaint or > 0", () => {
    const inp = ["--inpaint", "bottom", "--from-test", "0..3"];
    assert.equal(parseModelArgs([...base, ...inp, "--manifold", "1.5"]).manifold, 1.5);
    assert.equal(parseModelArgs([...base, ...inp]).manifold, undefined);
    bad([...inp, "--manifold", "0"], /--manifold = "0" is not allowed; --manifold must be a finite number > 0 \(the manifold-constraint step size/);
    bad([...inp, "--manifold", "abc"], /--manifold = "abc" is not allowed/);
    bad([...inp, "--manifold", "-1"], /--manifold = "-1" is not allowed/);
    bad(["--manifold", "1"], /--manifold = "1" is not allowed; --manifold must be given only with --inpaint/);
  });

  it("--class / --inpaint with --toy, and --class for a model without a committed classifier, are refused", async () => {
    const toy = ["--toy", "eight-gaussians", "--sde", "vp", "--sampler", "pc", "--steps", "3", "--n", "4", "--seed", "0", "--out", out("t.npy")];
    assert.throws(() => parseToyArgs([...toy, "--class", "3"]), /--class = "3" is not allowed; --class must be absent with --toy/);
    assert.throws(() => parseToyArgs([...toy, "--inpaint", "bottom"]), /--inpaint = "bottom" is not allowed; --inpaint must be absent with --toy/);
    await assert.rejects(main(["--model", "runs/mnist-vp/checkpoint.ckpt", "--class", "3", "--out", out("x.npy")]), /--class = "3" is not allowed; --class must be used with a model that has a committed noise-conditional classifier \(data\/classifiers\/<model>\/\): --model mnist-vp/);
    await assert.rejects(main(["--model", "fashion-vp", "--class", "3", "--out", out("x.npy")]), /fashion-vp has none/);
    await assert.rejects(main(["--model", "mnist-vp", "--class", "3", "--steps", "3", "--out", out("x.npy")]), /--steps = "3" is not allowed; --steps must be > 20 with --sampler pc on this VP model/);
    assert.ok(!fs.existsSync(out("x.npy")));
  });
});

describe("sample --model: tiny runs on mnist-vp", () => {
  it("--class 3: NPY [2, 28, 28, 1] in [0, 1], a PNG, a JSON record; the same seed gives the same bytes", async () => {
    const args = (seed: number, file: string) => ["--model", "mnist-vp", "--class", "3", "--sampler", "em", "--steps", "3", "--n", "2", "--seed", String(seed), "--out", out(file)];
    await main(args(5, "c1.npy"));
    const a = read(out("c1.npy"));
    assert.equal(a.dtype, "float32");
    assert.deepEqual(a.shape, [2, 28, 28, 1]);
    assert.ok(a.data.every((v) => v >= 0 && v <= 1), "samples outside [0, 1]");
    assert.ok(a.data.some((v) => v > 0 && v < 1), "all samples clipped");
    const info = JSON.parse(fs.readFileSync(out("c1.json"), "utf8"));
    assert.deepEqual([info.class, info.guidance, info.nfePerSample, info.sampler], [3, 1, 3, "em"]);
    assert.deepEqual(pngSize(out("c1.png")), [2 * 58 + 2, 58 + 2]); // 2 columns of 28·2 + 2 pad
    await main(args(5, "c2.npy"));
    assert.ok(fs.readFileSync(out("c1.npy")).equals(fs.readFileSync(out("c2.npy"))), "same seed, different NPY bytes");
    await main(args(6, "c3.npy"));
    assert.ok(!fs.readFileSync(out("c1.npy")).equals(fs.readFileSync(out("c3.npy"))), "another seed gave the same samples");
    // Guidance changes the draw (the classifier gradient enters the score).
    await main([...args(5, "c4.npy"), "--guidance", "4"]);
    assert.ok(!fs.readFileSync(out("c1.npy")).equals(fs.readFileSync(out("c4.npy"))), "--guidance 4 gave the samples of --guidance 1");
  });

  it("every committed model through the command (issue #14): NPY [2, H, W, C] in [0, 1], its PNG and JSON record", async () => {
    const names = pretrainedNames();
    assert.ok(["mnist-vp", "mnist-ve", "fashion-vp"].every((n) => names.includes(n)), `committed models: ${names}`);
    for (const name of names) {
      const file = out(`all-${name}.npy`);
      await main(["--model", name, "--sampler", "em", "--steps", "3", "--n", "2", "--seed", "0", "--out", file]);
      const a = read(file);
      assert.deepEqual(a.shape, [2, ...loadPretrainedShape(name)]);
      assert.ok(a.data.every((v) => v >= 0 && v <= 1), `${name}: samples outside [0, 1]`);
      assert.equal(pngSize(file.replace(/\.npy$/, ".png")).length, 2);
      assert.equal(JSON.parse(fs.readFileSync(file.replace(/\.npy$/, ".json"), "utf8")).nfePerSample, 3);
    }
  });

  it("--inpaint bottom --from-test 3..4: the known pixels are the test digits' (up to m(ε)), the rest sampled; seed replay", async () => {
    const args = (file: string) => ["--model", "mnist-vp", "--inpaint", "bottom", "--from-test", "3..4", "--sampler", "em", "--steps", "3", "--seed", "2", "--out", out(file)];
    await main(args("i1.npy"));
    const a = read(out("i1.npy"));
    assert.deepEqual(a.shape, [2, 28, 28, 1]);
    assert.ok(a.data.every((v) => v >= 0 && v <= 1), "completions outside [0, 1]");
    const info = JSON.parse(fs.readFileSync(out("i1.json"), "utf8"));
    const test = loadMnist({ split: "test" });
    assert.deepEqual(info.testLabels, [test.labels[3], test.labels[4]]);
    // pcInpaint's final step returns x̄ whose known part is m(ε)·data (data = 2x − 1, the model's scaling), so the
    // known pixels are m(ε)·x + (1 − m(ε))/2 exactly; m(ε) from the model's own SDE at its default ε.
    const m = loadPretrained("mnist-vp");
    const mEps = tf.tidy(() => m.sde.marginalCoefficients(tf.tensor1d([m.sde.defaultEps])).mean.dataSync()[0]);
    m.dispose();
    assert.ok(mEps < 1 && mEps > 0.999, `m(ε) = ${mEps}`);
    const mask = regionMaskValues("bottom", 28, 28, 1);
    let known = 0;
    let worst = 0;
    let changed = 0;
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 784; j++) {
        const x = test.images[(3 + k) * 784 + j] / 255;
        const y = a.data[k * 784 + j];
        if (mask[j] === 1) {
          known++;
          worst = Math.max(worst, Math.abs(y - (mEps * x + (1 - mEps) / 2)));
        } else if (Math.abs(y - x) > 0.1) changed++;
      }
    }
    assert.equal(known, 2 * 14 * 28);
    assert.ok(worst <= 1e-6, `known pixels differ from m(ε)·x + (1 − m(ε))/2 by up to ${worst}`);
    assert.ok(changed > 50, `only ${changed} missing pixels differ from the original`);
    // PNG: one block of three rows (originals / masked / completions), two columns.
    assert.deepEqual(pngSize(out("i1.png")), [2 * 58 + 2, 3 * 58 + 2]);
    await main(args("i2.npy"));
    assert.ok(fs.readFileSync(out("i1.npy")).equals(fs.readFileSync(out("i2.npy"))), "same seed, different NPY bytes");
  });

  it("--inpaint with --resample 1,2 runs the resampled schedule: 3 + 1·1·⌊2/1⌋ = 5 steps (NFE 5 with em), recorded in the JSON", async () => {
    await main(["--model", "mnist-vp", "--inpaint", "bottom", "--from-test", "3..3", "--sampler", "em", "--steps", "3", "--resample", "1,2", "--seed", "2", "--out", out("r1.npy")]);
    const info = JSON.parse(fs.readFileSync(out("r1.json"), "utf8"));
    assert.deepEqual([info.nfePerSample, info.resample], [5, { jumpLength: 1, resamplings: 2 }]);
    const a = read(out("r1.npy"));
    assert.ok(a.data.every((v) => v >= 0 && v <= 1));
    await main(["--model", "mnist-vp", "--inpaint", "bottom", "--from-test", "3..3", "--sampler", "em", "--steps", "3", "--seed", "2", "--out", out("r0.npy")]);
    assert.equal(JSON.parse(fs.readFileSync(out("r0.json"), "utf8")).resample, null);
    assert.ok(!fs.readFileSync(out("r0.npy")).equals(fs.readFileSync(out("r1.npy"))), "resampling changed nothing");
    // --manifold: one more score evaluation (with its backward pass) per step, recorded; the same draws otherwise.
    await main(["--model", "mnist-vp", "--inpaint", "bottom", "--from-test", "3..3", "--sampler", "em", "--steps", "3", "--manifold", "1", "--seed", "2", "--out", out("m1.npy")]);
    const m = JSON.parse(fs.readFileSync(out("m1.json"), "utf8"));
    assert.deepEqual([m.nfePerSample, m.manifold, JSON.parse(fs.readFileSync(out("r0.json"), "utf8")).manifold], [6, 1, null]);
    assert.ok(!fs.readFileSync(out("r0.npy")).equals(fs.readFileSync(out("m1.npy"))), "the manifold gradient changed nothing");
  });

  it("--from-test beyond the test set is refused with the set's size, before sampling", async () => {
    assert.equal(parseModelArgs(["--model", "mnist-vp", "--inpaint", "top", "--from-test", "9998..9999"]).n, 2);
    const test = loadMnist({ split: "test" });
    const small = { ...test, n: 3 };
    const m = loadPretrained("mnist-vp");
    try {
      await assert.rejects(
        inpaintTestImages(m, small, { sampler: "em", steps: 3, seed: 0, region: "top", from: 2, to: 3 }),
        /--from-test = "2..3" is not allowed; --from-test must be I..J with 0 ≤ I ≤ J ≤ 2 \(both inclusive; the mnist test set has 3 images\)/,
      );
      const r = await inpaintTestImages(m, small, { sampler: "em", steps: 3, seed: 0, region: "top", from: 2, to: 2 });
      assert.deepEqual(r.shape, [1, 28, 28, 1]);
      assert.deepEqual(r.labels, [test.labels[2]]);
    } finally {
      m.dispose();
    }
  });
});
