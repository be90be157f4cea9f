/**
 * The image-metrics classifier (lib/metrics/images.ts): the committed classifiers' accuracy on their dataset's test
 * set (issue #14: ≥ 99 % MNIST, ≥ 90 % Fashion-MNIST) and on its first 1000 images, the max-pooling gradient, the seeded random-shift augmentation, and loading of files
 * written before `pool` and a third convolution existed.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { datasetTensor } from "../lib/data";
import { loadImageDataset, type ImageDatasetName } from "../lib/data/images";
import { encodeSafetensors, readSafetensors } from "../lib/io/safetensors";
import { ImageClassifier, classifierAccuracy, maxPool2, randomShift, trainClassifier } from "../lib/metrics/images";
import { createRng } from "../lib/random";
import { ROOT, setup, tempDir } from "./helpers";

const tmp = tempDir("score-sde-classifier-");

/** Issue #14's thresholds, which are about the whole 10k test set. */
const REQUIRED: Record<ImageDatasetName, number> = { mnist: 0.99, "fashion-mnist": 0.9 };

describe("image classifier", () => {
  before(setup);

  for (const [dataset, required] of Object.entries(REQUIRED) as [ImageDatasetName, number][]) {
    it(`the committed ${dataset} classifier: ≥ ${100 * required} % on the whole test set; its first 1000 test images as recorded`, () => {
      // Issue #14's threshold is about the whole 10k test set, so that is what is asserted (recomputed here, a
      // forward pass of 10k images). The first 1000 images (the test size) are recomputed too and must
      // equal the trainer's record; they are not held to the threshold: for MNIST they are harder than the whole
      // set (98.80 % against 99.36 %, see data/pretrained/classifier-mnist/training.json).
      const { classifier, metadata } = ImageClassifier.load(path.join(ROOT, "data", "pretrained", `classifier-${dataset}`, "model.safetensors"));
      const test = loadImageDataset(dataset, "test");
      const x = datasetTensor(test);
      const images = x.dataSync() as Float32Array;
      x.dispose();
      const all = classifierAccuracy(classifier, images, test.labels);
      const first = classifierAccuracy(classifier, images.subarray(0, 1000 * 784), test.labels.subarray(0, 1000));
      classifier.dispose();
      assert.equal(metadata.dataset, dataset);
      assert.equal(test.labels.length, 10000);
      assert.ok(all >= required, `whole test set: accuracy ${all}`);
      assert.equal(all, Number(metadata.testAccuracy), "the recorded test-set accuracy");
      assert.equal(first, Number(metadata.testAccuracyFirst1000), "the recorded first-1000 accuracy");
      assert.ok(first >= required - 0.03, `first 1000 test images: accuracy ${first}`);
    });
  }

  it("maxPool2: tf.maxPool's values; its gradient is the output gradient at each 2×2 block's maximum, 0 elsewhere", () => {
    const [B, H, W, C] = [2, 6, 4, 3];
    const xv = Float32Array.from(createRng(2).normalArray(B * H * W * C));
    const wv = Float32Array.from(createRng(3).normalArray((B * H * W * C) / 4));
    const x = tf.tensor4d(xv, [B, H, W, C]);
    const w = tf.tensor4d(wv, [B, H / 2, W / 2, C]);
    const g = tf.grad((v: tf.Tensor) => maxPool2(v).mul(w).sum())(x);
    const y = maxPool2(x);
    assert.deepEqual(Array.from(y.dataSync()), Array.from(tf.maxPool(x, 2, 2, "valid").dataSync()));
    // Reference on the host: d/dx Σ w · maxpool(x) puts w of each block at the block's argmax (no ties in normals).
    const expected = new Float32Array(xv.length);
    const at = (b: number, r: number, q: number, c: number) => ((b * H + r) * W + q) * C + c;
    for (let b = 0; b < B; b++)
      for (let r = 0; r < H / 2; r++)
        for (let q = 0; q < W / 2; q++)
          for (let c = 0; c < C; c++) {
            let best = at(b, 2 * r, 2 * q, c);
            for (const [dr, dq] of [[0, 1], [1, 0], [1, 1]]) if (xv[at(b, 2 * r + dr, 2 * q + dq, c)] > xv[best]) best = at(b, 2 * r + dr, 2 * q + dq, c);
            expected[best] = wv[((b * (H / 2) + r) * (W / 2) + q) * C + c];
          }
    assert.deepEqual(Array.from(g.dataSync(), (v) => v + 0), Array.from(expected)); // + 0: −0 (mask 0 × negative dy) is 0
    assert.throws(() => maxPool2(tf.zeros([1, 5, 4, 1])), /maxPool2: x\.shape = \[1, 5, 4, 1\] is not allowed/);
    tf.dispose([x, w, g, y]);
  });

  it("randomShift: replayable with the seed, translations in {−k…k}² with zero fill, all of them drawn", () => {
    const size = 7;
    const n = 400;
    // Each image: one bright pixel at the centre (3, 3), value 1 + image index / n so images are distinguishable.
    const img = new Float32Array(n * size * size);
    for (let i = 0; i < n; i++) img[i * size * size + 3 * size + 3] = 1 + i / n;
    const a = randomShift(img, n, size, 1, 2, createRng(5));
    const b = randomShift(img, n, size, 1, 2, createRng(5));
    const c = randomShift(img, n, size, 1, 2, createRng(6));
    assert.deepEqual(a, b, "same seed, same shifts");
    assert.notDeepEqual(a, c, "another seed, other shifts");
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const nz: number[] = [];
      for (let p = 0; p < size * size; p++) if (a[i * size * size + p] !== 0) nz.push(p);
      assert.equal(nz.length, 1, `image ${i}: one pixel, moved, not duplicated`);
      assert.equal(a[i * size * size + nz[0]], img[i * size * size + 24]);
      const [r, q] = [Math.floor(nz[0] / size), nz[0] % size];
      assert.ok(Math.abs(r - 3) <= 2 && Math.abs(q - 3) <= 2, `image ${i}: pixel at (${r}, ${q})`);
      seen.add(`${r - 3},${q - 3}`);
    }
    assert.equal(seen.size, 25, "every (dy, dx) in {−2…2}² occurs in 400 draws");
    // A corner pixel shifted outwards leaves the image (zero fill, nothing wraps around).
    const corner = new Float32Array(200 * 4 * 4 * 2);
    for (let i = 0; i < 200; i++) corner.set([7, 8], i * 32);
    const cs = randomShift(corner, 200, 4, 2, 1, createRng(1));
    let kept = 0;
    for (let i = 0; i < 200; i++) {
      const s = cs.subarray(i * 32, (i + 1) * 32).reduce((u, v) => u + v, 0);
      assert.ok(s === 0 || s === 15, `image ${i}: sum ${s} (both channels move together)`);
      if (s) kept++;
    }
    assert.ok(kept > 200 / 9 && kept < 200 * 0.5, `${kept} of 200 corners stay in (expected 4/9 ≈ 89)`);
    assert.deepEqual(randomShift(img, n, size, 1, 0, createRng(1)), img, "maxShift 0: unchanged");
    assert.throws(() => randomShift(img, n, size, 1, 7, createRng(1)), /randomShift: maxShift = 7 .* \[0, 6\]/);
    assert.throws(() => randomShift(img, n - 1, size, 1, 1, createRng(1)), /randomShift: images\.length/);
  });

  it("trainClassifier: a seeded run with shifts repeats exactly, another seed differs, its loss falls; bad options are named", () => {
    const test = loadImageDataset("mnist", "test");
    const x = datasetTensor(test, 512);
    const images = x.dataSync() as Float32Array;
    x.dispose();
    const labels = test.labels.subarray(0, 512);
    const runOnce = (seed: number) => {
      const clf = new ImageClassifier({ imageSize: 28, imageChannels: 1, classes: 10, channels: [4, 8], hidden: 16, seed: 1 });
      const losses: number[] = [];
      trainClassifier(clf, { images, labels, epochs: 3, batchSize: 64, lr: [1e-2], shift: 2, seed, onLog: (l) => losses.push(l.loss) });
      const w = clf.variables.map((v) => Array.from(v.dataSync()));
      clf.dispose();
      return { w, losses };
    };
    const a = runOnce(7);
    const b = runOnce(7);
    const c = runOnce(8);
    assert.deepEqual(a.w, b.w, "same seed: the same weights");
    assert.notDeepEqual(a.w, c.w, "another seed: other batches and shifts");
    // onLog at each epoch's last step: the epoch-mean loss; from ln 10 ≈ 2.3 at the start.
    assert.equal(a.losses.length, 3);
    assert.ok(a.losses[2] < 0.8 * a.losses[0], `epoch losses ${a.losses}`);
    const clf = new ImageClassifier({ imageSize: 28, imageChannels: 1, classes: 10, channels: [4, 8], hidden: 16 });
    assert.throws(() => trainClassifier(clf, { images, labels, epochs: 1, shift: 28 }), /trainClassifier: shift = 28 .* \[0, 27\]/);
    assert.throws(() => trainClassifier(clf, { images, labels, epochs: 1, lr: [] }), /trainClassifier: lr = /);
    clf.dispose();
  });

  it("configs: a file without `pool` loads as average pooling; three convolutions; bad configs and tensors are named", () => {
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, "float32", 4);
    const avg = new ImageClassifier({ imageSize: 8, imageChannels: 1, classes: 3, channels: [4, 6], pool: "avg", hidden: 5, seed: 1 });
    // An old file: the same tensors, config without `pool`.
    const file = path.join(tmp, "old.safetensors");
    avg.save(file);
    const { tensors, metadata } = readSafetensors(file);
    const { pool: _pool, ...oldConfig } = JSON.parse(metadata.config);
    assert.equal(_pool, "avg");
    fs.writeFileSync(file, encodeSafetensors(tensors, { ...metadata, config: JSON.stringify(oldConfig) }));
    const old = ImageClassifier.load(file).classifier;
    assert.equal(old.config.pool, "avg");
    assert.deepEqual(Array.from(old.features(x).dataSync()), Array.from(avg.features(x).dataSync()));
    const max = new ImageClassifier({ imageSize: 8, imageChannels: 1, classes: 3, channels: [4, 6], hidden: 5, seed: 1 });
    assert.equal(max.config.pool, "max", "new classifiers default to max pooling");
    assert.notDeepEqual(Array.from(max.features(x).dataSync()), Array.from(avg.features(x).dataSync()));
    // Three convolutions: round trip through save / load, features [B, hidden].
    const three = new ImageClassifier({ imageSize: 8, imageChannels: 1, classes: 3, channels: [4, 6, 5], hidden: 5, seed: 2 });
    assert.deepEqual(three.stateVariables.map((v) => v.name).filter((n) => n.includes("conv3")).length, 2);
    const f3 = path.join(tmp, "three.safetensors");
    three.save(f3);
    const back = ImageClassifier.load(f3).classifier;
    assert.deepEqual(back.features(x).shape, [3, 5]);
    assert.deepEqual(Array.from(back.logits(x).dataSync()), Array.from(three.logits(x).dataSync()));
    // A three-convolution file whose config claims two: the extra tensors are named.
    const t3 = readSafetensors(f3);
    const bad = path.join(tmp, "bad.safetensors");
    fs.writeFileSync(bad, encodeSafetensors(t3.tensors, { ...t3.metadata, config: JSON.stringify({ ...JSON.parse(t3.metadata.config), channels: [4, 6] }) }));
    assert.throws(() => ImageClassifier.load(bad), /bad\.safetensors: tensors (classifier\/)?conv3\/kernel, (classifier\/)?conv3\/bias are not in the classifier/);
    fs.writeFileSync(bad, encodeSafetensors(t3.tensors, { ...t3.metadata, config: JSON.stringify({ ...JSON.parse(t3.metadata.config), pool: "median" }) }));
    assert.throws(() => ImageClassifier.load(bad), /bad\.safetensors: unsupported classifier config .*pool = "?median"?/);
    assert.throws(() => new ImageClassifier({ imageSize: 8, imageChannels: 1, classes: 3, channels: [4] }), /channels = \[?4\]? .*two or three/);
    tf.dispose(x);
    for (const c of [avg, old, max, three, back]) c.dispose();
  });
});
