/**
 * lib/data: the MNIST and Fashion-MNIST loaders on the real package files (counts, label histograms, pixel range),
 * clear errors on missing / truncated / corrupt files, the CIFAR-10 binary reader on a generated file, the data
 * scaler round trip, and the deterministic shuffling and batching.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  dataInverseScaler,
  dataScaler,
  encodeIdx,
  epochBatchIndices,
  imageBatchSource,
  labelHistogram,
  loadCifar10,
  maxPairwiseDistance,
  loadFashionMnist,
  loadMnist,
  mnistDataDir,
  parseIdx,
  permutation,
  scaledRange,
  type ImageDataset,
} from "../lib/data";
import { bitsPerDimOffset as fromLikelihood } from "../lib/likelihood";
import { bitsPerDimOffset } from "../lib/data";
import { createRng } from "../lib/random";
import { setup, tempDir } from "./helpers";

const tmp = tempDir("score-sde-data-");

function pixelRange(d: ImageDataset): [number, number] {
  let lo = 255;
  let hi = 0;
  for (const v of d.images) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

describe("data", () => {
  before(setup);

  it("MNIST: 60 000 / 10 000 images of 28×28, the published label counts, pixels 0…255", () => {
    const train = loadMnist({ split: "train" });
    const test = loadMnist({ split: "test" });
    assert.deepEqual([train.n, train.height, train.width, train.channels], [60000, 28, 28, 1]);
    assert.equal(test.n, 10000);
    // The label counts of the original distribution.
    assert.deepEqual(labelHistogram(train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(labelHistogram(test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.deepEqual([train.labels[0], train.labels[1], test.labels[0]], [5, 0, 7]);
    assert.deepEqual(pixelRange(train), [0, 255]);
    assert.deepEqual(pixelRange(test), [0, 255]);
    // Mean pixel of the training set: 33.32 (0.1307 of 255, the constant every MNIST normaliser uses).
    let s = 0;
    for (const v of train.images) s += v;
    assert.ok(Math.abs(s / train.images.length / 255 - 0.1307) < 5e-4, `mean ${s / train.images.length / 255}`);
  });

  it("Fashion-MNIST: 6000 / 1000 images per class, classes interleaved, pixels 0…255", () => {
    const train = loadFashionMnist({ split: "train" });
    const test = loadFashionMnist({ split: "test" });
    assert.equal(train.n, 60000);
    assert.equal(test.n, 10000);
    assert.deepEqual(labelHistogram(train), new Array(10).fill(6000));
    assert.deepEqual(labelHistogram(test), new Array(10).fill(1000));
    assert.deepEqual(Array.from(train.labels.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.deepEqual(pixelRange(train), [0, 255]);
    assert.equal(train.classNames[9], "Ankle boot");
  });

  it("IDX: missing, truncated, wrong-magic and label-mismatched files are errors naming the path", () => {
    const dir = path.join(tmp, "mnist");
    fs.mkdirSync(dir, { recursive: true });
    const src = mnistDataDir();
    assert.throws(() => loadMnist({ split: "test", dir }), (e: Error) => e.message.includes(path.join(dir, "t10k-images-idx3-ubyte")) && /does not exist/.test(e.message));
    const img = fs.readFileSync(path.join(src, "t10k-images-idx3-ubyte"));
    const lbl = fs.readFileSync(path.join(src, "t10k-labels-idx1-ubyte"));
    fs.writeFileSync(path.join(dir, "t10k-images-idx3-ubyte"), img.subarray(0, 5000));
    fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), lbl);
    assert.throws(() => loadMnist({ split: "test", dir }), (e: Error) => e.message.startsWith(path.join(dir, "t10k-images-idx3-ubyte")) && /truncated/.test(e.message));
    const gz = Buffer.from(img);
    gz[0] = 31;
    gz[1] = 139;
    fs.writeFileSync(path.join(dir, "t10k-images-idx3-ubyte"), gz);
    assert.throws(() => loadMnist({ split: "test", dir }), /magic number starts 31, 139.*gzip/);
    fs.writeFileSync(path.join(dir, "t10k-images-idx3-ubyte"), img);
    fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), encodeIdx(lbl.subarray(8, 8 + 9999), [9999]));
    assert.throws(() => loadMnist({ split: "test", dir }), /9999 labels for the 10000 images/);
    const bad = Buffer.from(lbl);
    bad[8 + 17] = 12;
    fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), bad);
    assert.throws(() => loadMnist({ split: "test", dir }), /label 17 is 12, not a digit/);
    // encode / parse round trip
    const a = parseIdx(encodeIdx(Uint8Array.from([1, 2, 3, 4, 5, 6]), [2, 3]), "mem");
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
    assert.throws(() => parseIdx(Buffer.concat([encodeIdx(Uint8Array.from([1, 2]), [2]), Buffer.from([0])]), "mem"), /trailing bytes/);
  });

  it("Fashion-MNIST: missing and corrupt class files are errors naming the path", () => {
    const dir = path.join(tmp, "fashion");
    fs.mkdirSync(dir, { recursive: true });
    assert.throws(() => loadFashionMnist({ split: "test", dir }), (e: Error) => e.message.includes(path.join(dir, "0.json")) && /does not exist/.test(e.message));
    fs.writeFileSync(path.join(dir, "0.json"), '{"data":[[0,0,');
    assert.throws(() => loadFashionMnist({ split: "test", dir }), (e: Error) => e.message.startsWith(path.join(dir, "0.json")) && /truncated/.test(e.message));
    fs.writeFileSync(path.join(dir, "0.json"), JSON.stringify({ data: [new Array(784).fill(0), new Array(783).fill(0)] }));
    assert.throws(() => loadFashionMnist({ split: "test", dir }), /image 1 has 783 values, expected 784/);
    fs.writeFileSync(path.join(dir, "0.json"), JSON.stringify({ data: [[...new Array(783).fill(0), 300]] }));
    assert.throws(() => loadFashionMnist({ split: "test", dir }), /image 0 pixel 783: expected an integer in \[0, 255\]/);
  });

  it("CIFAR-10 binary reader: planes → NHWC, labels, and clear errors (generated file)", () => {
    const dir = path.join(tmp, "cifar");
    fs.mkdirSync(dir, { recursive: true });
    const n = 3;
    const buf = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      buf[i * 3073] = (i * 4) % 10;
      for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[i * 3073 + 1 + c * 1024 + p] = (i + 7 * c + p) % 256;
    }
    fs.writeFileSync(path.join(dir, "test_batch.bin"), buf);
    const d = loadCifar10({ split: "test", dir });
    assert.deepEqual([d.n, d.height, d.width, d.channels], [3, 32, 32, 3]);
    assert.deepEqual(Array.from(d.labels), [0, 4, 8]);
    // image 2, pixel (row 1, col 3) = plane index 35, channel c holds (2 + 7c + 35) % 256
    const at = (i: number, p: number, c: number) => d.images[i * 3072 + 3 * p + c];
    assert.deepEqual([at(2, 35, 0), at(2, 35, 1), at(2, 35, 2)], [37, 44, 51]);
    fs.writeFileSync(path.join(dir, "test_batch.bin"), buf.subarray(0, 5000));
    assert.throws(() => loadCifar10({ split: "test", dir }), /test_batch\.bin: 5000 bytes is not a whole number of 3073-byte/);
    assert.throws(() => loadCifar10({ split: "train", dir }), /data_batch_1\.bin.*does not exist/);
  });

  it("scaler: centred maps [0, 1] → [−1, 1] and back; uncentred is the identity", () => {
    const x = tf.tensor1d([0, 0.25, 1]);
    for (const centered of [true, false]) {
      const y = dataScaler(centered)(x);
      const back = dataInverseScaler(centered)(y);
      assert.deepEqual(Array.from(y.dataSync()), centered ? [-1, -0.5, 1] : [0, 0.25, 1]);
      assert.deepEqual(Array.from(back.dataSync()), [0, 0.25, 1]);
      assert.deepEqual(scaledRange(centered), centered ? [-1, 1] : [0, 1]);
      tf.dispose([y, back]);
    }
    x.dispose();
    assert.throws(() => dataScaler("yes" as unknown as boolean), /centered/);
    // The bits/dim offset lives in lib/data now; lib/likelihood re-exports it.
    assert.equal(bitsPerDimOffset({ range: scaledRange(true) }), 7);
    assert.equal(fromLikelihood({ range: scaledRange(false) }), 8);
  });

  it("shuffling and batching: seeded permutations, epochs without repeats, batches depend only on (seed, k)", () => {
    const p = permutation(1000, 3);
    assert.deepEqual(Array.from(p), Array.from(permutation(1000, 3)));
    assert.notDeepEqual(Array.from(p), Array.from(permutation(1000, 4)));
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    const idx = epochBatchIndices(100, { batchSize: 30, seed: 5 });
    const epoch0 = [0, 1, 2].flatMap((k) => Array.from(idx(k)));
    assert.equal(new Set(epoch0).size, 90, "one epoch draws each index at most once");
    const e1 = Array.from(idx(3));
    assert.notDeepEqual(e1, epoch0.slice(0, 30), "the next epoch is reshuffled");
    // a fresh batcher (a resumed run) reads the same batch k
    assert.deepEqual(Array.from(epochBatchIndices(100, { batchSize: 30, seed: 5 })(4)), Array.from(idx(4)));
    assert.throws(() => epochBatchIndices(10, { batchSize: 11, seed: 0 }), /batchSize/);
  });

  it("imageBatchSource gives scaled float batches that ignore the trainer's rng", () => {
    const test = loadMnist({ split: "test" });
    const src = imageBatchSource(test, { batchSize: 8, seed: 1, centered: true });
    const a = src(2, createRng(0));
    const b = src(2, createRng(99));
    assert.deepEqual(a.shape, [8, 28, 28, 1]);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    const [lo, hi] = [a.min().dataSync()[0], a.max().dataSync()[0]];
    assert.equal(lo, -1);
    assert.equal(hi, 1);
    tf.dispose([a, b]);
  });

  it("maxPairwiseDistance (σ_max, Song & Ermon 2020 technique 1) equals the brute-force maximum, proved by the norm bound", () => {
    const n = 300;
    const D = 16;
    const rng = createRng(11);
    const u = rng.uniformArray(n * D);
    const images = Uint8Array.from(u, (v, i) => Math.floor(v * 256 * ((i % 7) / 7)));
    const d: ImageDataset = { name: "rand", split: "train", n, height: 4, width: 4, channels: 1, images, labels: new Uint8Array(n), classNames: ["x"] };
    let best = 0;
    let pair = [0, 0];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let s2 = 0;
        for (let k = 0; k < D; k++) s2 += ((images[i * D + k] - images[j * D + k]) / 255) ** 2;
        if (s2 > best) [best, pair] = [s2, [i, j]];
      }
    }
    const r = maxPairwiseDistance(d, { candidates: 4, block: 50 });
    assert.ok(Math.abs(r.distance - Math.sqrt(best)) < 1e-5, `${r.distance} vs ${Math.sqrt(best)}`);
    assert.deepEqual(r.pair, pair);
    assert.equal(r.exact, true);
  });
});
