/**
 * The image pipeline: a few-step MNIST training run whose loss falls and which resumes with the same losses, every
 * committed pretrained model loads and draws 4 images in [0, 1], its safetensors file reads back to the same
 * weights, and the PNG / safetensors encoders round-trip.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { checkImageConfig, imageBatchSource, imageModelFromConfig, loadMnist, type ImageDataset } from "../lib/data";
import { crc32, decodePng, decodeSafetensors, encodePng, encodeSafetensors, imageGrid } from "../lib/io";
import { importSafetensors } from "../lib/models/export";
import { networkFromConfig } from "../lib/models/registry";
import { train } from "../lib/train/train";
import { classifierSummary, featureStats, frechetDistance, kernelInceptionDistance } from "../lib/metrics/images";
import { createRng } from "../lib/random";
import { ROOT, tempDir } from "./helpers";
import { loadPretrained, pretrainedNames, pretrainedPath } from "../notebooks/experiments/pretrained";
import { sampleImages } from "../tools/sample/model";
import { setup } from "./helpers";

const tmp = tempDir("score-sde-images-");

function tinyConfig(steps: number) {
  return checkImageConfig(
    {
      name: "tiny",
      dataset: "mnist",
      data: { centered: true },
      sde: { kind: "VP", betaMin: 0.1, betaMax: 20, N: 1000 },
      model: { channels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [], embedding: "positional", gradientCheckpointing: false },
      loss: { continuous: true, reduceMean: true },
      training: { steps, batchSize: 16, seed: 3, lr: 3e-3, warmup: 0, gradClip: 1, emaDecay: 0.9, checkpointEvery: 100, logEvery: 100 },
    },
    "tiny config",
  );
}

async function run(data: ImageDataset, steps: number, ckpt?: string, every = 100) {
  const cfg = tinyConfig(steps);
  const { model, sde } = imageModelFromConfig(cfg, data);
  const t = cfg.training;
  const r = await train({
    model,
    sde,
    batchSource: imageBatchSource(data, { batchSize: t.batchSize, seed: t.seed, centered: true }),
    steps,
    seed: t.seed,
    loss: cfg.loss,
    optimizer: { lr: t.lr, warmup: t.warmup, gradClip: t.gradClip },
    emaDecay: t.emaDecay,
    checkpoint: ckpt ? { path: ckpt, every } : undefined,
    meta: { dataset: "mnist", data: cfg.data, batchSize: t.batchSize },
  });
  r.trainer.dispose();
  model.dispose();
  return r;
}

describe("images", () => {
  before(setup);

  it("a few-step MNIST training run: the loss falls, and a stopped + resumed run repeats the same losses", async () => {
    const data = loadMnist({ split: "test" });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const full = await run(data, 30);
    // ε-prediction starts at loss ≈ E[ε²] = 1 (zero-initialised output layer); 30 steps halve it.
    assert.ok(mean(full.losses.slice(0, 5)) > 0.8, `first losses ${full.losses.slice(0, 5)}`);
    assert.ok(mean(full.losses.slice(-5)) < 0.6 * mean(full.losses.slice(0, 5)), `losses ${full.losses.map((l) => l.toFixed(3)).join(" ")}`);
    const ckpt = path.join(tmp, "resume.ckpt");
    const first = await run(data, 6, ckpt, 3);
    const second = await run(data, 10, ckpt, 3);
    assert.equal(second.startStep, 6);
    assert.deepEqual([...first.losses, ...second.losses], full.losses.slice(0, 10));
  });

  it("every committed model loads by name and draws 4 images in [0, 1]; its safetensors file holds the same weights", async () => {
    const names = pretrainedNames();
    assert.ok(names.includes("mnist-vp"), `committed models: ${names}`);
    for (const name of names) {
      const m = loadPretrained(name);
      try {
        const r = await sampleImages(m, { sampler: "em", n: 4, seed: 0, steps: 8 });
        assert.deepEqual(r.shape, [4, ...m.imageShape]);
        assert.ok(r.images.every((v) => v >= 0 && v <= 1), `${name}: samples outside [0, 1]`);
        const fresh = networkFromConfig(m.model.getConfig());
        importSafetensors(fresh, path.join(path.dirname(pretrainedPath(name)), "model.safetensors"));
        fresh.stateVariables.forEach((s, i) => {
          assert.deepEqual(s.variable.dataSync(), m.model.stateVariables[i].variable.dataSync(), `${name}: ${s.name}`);
        });
        fresh.dispose();
      } finally {
        m.dispose();
      }
    }
    assert.throws(() => loadPretrained("no-such-model"), /does not exist; committed models: .*mnist-vp/);
  });

  it("PNG: valid signature, chunk CRCs and pixel rows; grids place images row-major", () => {
    const g = imageGrid(Float32Array.from([0, 1, 0.5, 1]), [4, 1, 1, 1], { cols: 2, pad: 1, background: 1 });
    assert.deepEqual([g.width, g.height], [5, 5]);
    assert.deepEqual(Array.from(g.pixels.subarray(5, 10)), [255, 0, 255, 255, 255]);
    assert.deepEqual(Array.from(g.pixels.subarray(15, 20)), [255, 128, 255, 255, 255]);
    const png = encodePng(g.pixels, g.width, g.height, 1);
    assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
    let pos = 8;
    const chunks: Record<string, Buffer> = {};
    while (pos < png.length) {
      const len = png.readUInt32BE(pos);
      const type = png.subarray(pos + 4, pos + 8).toString("latin1");
      const body = png.subarray(pos + 8, pos + 8 + len);
      assert.equal(png.readUInt32BE(pos + 8 + len), crc32(png.subarray(pos + 4, pos + 8 + len)), `CRC of ${type}`);
      chunks[type] = body;
      pos += 12 + len;
    }
    assert.deepEqual(Object.keys(chunks), ["IHDR", "IDAT", "IEND"]);
    const raw = zlib.inflateSync(chunks.IDAT);
    assert.equal(raw.length, 5 * 6, "5 rows of a filter byte and 5 pixels");
    assert.deepEqual(Array.from(decodePng(png).pixels), Array.from(g.pixels));
    assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926); // the standard CRC-32 check value
  });

  it("safetensors: header layout, alignment, metadata and values round-trip; bad files are named", () => {
    const a = { name: "w", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const b = { name: "b", shape: [1], data: Float32Array.from([-0.5]) };
    const buf = encodeSafetensors([a, b], { note: "x" });
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    assert.deepEqual(header.w, { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    assert.deepEqual(header.b.data_offsets, [24, 28]);
    const back = decodeSafetensors(buf);
    assert.deepEqual(back.metadata, { note: "x" });
    assert.deepEqual(back.tensors.map((t) => [t.name, Array.from(t.data)]), [["w", [1, 2, 3, 4, 5, 6]], ["b", [-0.5]]]);
    assert.throws(() => decodeSafetensors(buf.subarray(0, 20), "f.safetensors"), /f\.safetensors: header length .* exceeds/);
    tf.engine(); // keep tf referenced for the backend
  });

  it("Fréchet distance: 0 for equal statistics, the closed form for commuting covariances; KID ≈ 0 for one distribution", () => {
    const d = 3;
    const a = { mean: Float64Array.from([0, 1, 2]), cov: Float64Array.from([4, 0, 0, 0, 1, 0, 0, 0, 9]) };
    const b = { mean: Float64Array.from([1, 1, 0]), cov: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
    assert.ok(Math.abs(frechetDistance(a, a)) < 1e-9);
    // diagonal: ‖μa − μb‖² + Σ (√σa − √σb)² = 5 + (1 + 0 + 4)
    assert.ok(Math.abs(frechetDistance(a, b) - 10) < 1e-9, `${frechetDistance(a, b)}`);
    // A rotated covariance (non-diagonal): FD between N(0, R diag R^T) and N(0, I) = Σ (√λ − 1)².
    const c = Math.cos(0.3);
    const s2 = Math.sin(0.3);
    const lam = [4, 0.25];
    const rot = Float64Array.from([c * c * lam[0] + s2 * s2 * lam[1], c * s2 * (lam[0] - lam[1]), c * s2 * (lam[0] - lam[1]), s2 * s2 * lam[0] + c * c * lam[1]]);
    const fd2 = frechetDistance({ mean: new Float64Array(2), cov: rot }, { mean: new Float64Array(2), cov: Float64Array.from([1, 0, 0, 1]) });
    assert.ok(Math.abs(fd2 - (1 + 0.25)) < 1e-9, `${fd2}`);
    // featureStats: sample mean and (n − 1) covariance
    const st = featureStats(Float64Array.from([1, 2, 3, 6]), 2);
    assert.deepEqual(Array.from(st.mean), [2, 4]);
    assert.deepEqual(Array.from(st.cov), [2, 4, 4, 8]);
    const rng = createRng(4);
    const x = rng.normalArray(400 * d);
    const y = rng.normalArray(400 * d);
    const far = Float64Array.from(rng.normalArray(400 * d), (v) => v + 2);
    const same = kernelInceptionDistance(x, y, d, { subsets: 5, subsetSize: 200, rng: createRng(1) });
    const diff = kernelInceptionDistance(x, far, d, { subsets: 5, subsetSize: 200, rng: createRng(1) });
    assert.ok(Math.abs(same.mean) < 3 * same.std + 0.05, `same ${JSON.stringify(same)}`);
    assert.ok(diff.mean > 1, `shifted ${JSON.stringify(diff)}`);
    const sum = classifierSummary(Float64Array.from([0.95, 0.05, 0.6, 0.4, 0.1, 0.9, 0.2, 0.8]), 2);
    assert.deepEqual(sum.classFractions, [0.5, 0.5]);
    assert.equal(sum.confident, 0.5);
  });
});
