/**
 * Evaluates an image score model against the issue's criteria and writes a JSON + Markdown report:
 *
 *   npx ts-node --transpile-only tools/evaluate-images.ts --model mnist-vp [--sampler pc] [--n 1000] [--steps 1000]
 *        [--snr 0.16] [--samples file.npy] [--bpd-images 100] [--bpd-exact 0] [--bpd-rtol 1e-5] [--seed 0]
 *        [--out runs/eval/<model>] [--chunk 100] [--work DIR] [--force]
 *
 * --out gets report.json and report.md; an existing report is kept unless --force (committed results under
 * data/results/images/ are not overwritten by accident). --work holds the chunks (default runs/eval/<out's name>/).
 *
 * Resumable: samples are drawn in chunks of --chunk images, chunk k from its own seeded generator
 * (createRng(seed · 1 000 003 + k)), and each chunk is written atomically to <out>/chunks/ as an NPY with a JSON
 * record of what drew it (model step, sampler, steps, snr, seed, chunk size); bits/dim likewise per batch of test
 * images. A stopped evaluation rerun with the same arguments reuses every finished chunk (a chunk drawn with other
 * settings is an error, not silently mixed in), so a PC N = 1000 run over 1000 samples can span several sittings.
 *
 * From the classifier of the model's dataset (data/pretrained/classifier-<dataset>/), on its penultimate features,
 * against the whole test set: Fréchet distance (FD) and KID of
 *   - the model's samples (drawn here, or read from --samples, an NPY written by npm run sample),
 *   - the floor: n random training images (what a perfect model would score with n samples),
 *   - the baseline: n samples of a Gaussian fitted to the training pixels (full covariance);
 * plus the fraction of samples classified with probability ≥ 0.9 and the fraction per predicted class. Bits/dim of
 * the first --bpd-images test images through the probability-flow ODE (Hutchinson, one Rademacher probe, uniform
 * dequantisation of the 8-bit pixels: the paper's Table 2 quantity), and with the exact divergence on the first
 * --bpd-exact of them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { datasetTensor, permutation, scaledRange } from "../lib/data/dataset";
import { loadImageDataset, type ImageDatasetName } from "../lib/data/images";
import { loadScoreModel, type LoadedScoreModel } from "../lib/data/score-model";
import { readJsonFile, readNpy, writeFileAtomic, writeJsonAtomic, writeNpy } from "../lib/io";
import { logLikelihood } from "../lib/likelihood";
import { ImageClassifier, classifierSummary, featureStats, frechetDistance, gaussianBaselineSamples, kernelInceptionDistance } from "../lib/metrics/images";
import { createRng } from "../lib/random";
import { loadPretrained } from "../notebooks/experiments/pretrained";
import { sampleImages, type ImageSampler } from "./sample/model";

const REPO = path.join(__dirname, "..");

interface Args {
  model: string;
  sampler: ImageSampler;
  n: number;
  steps: number;
  snr: number;
  samples?: string;
  bpdImages: number;
  bpdExact: number;
  bpdRtol: number;
  seed: number;
  chunk: number;
  out?: string;
  work?: string;
  force: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { model: "", sampler: "pc", n: 1000, steps: 1000, snr: 0.16, bpdImages: 100, bpdExact: 0, bpdRtol: 1e-5, seed: 0, chunk: 100, force: false };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    const num = () => {
      const x = Number(v);
      if (v === undefined || !Number.isFinite(x)) throw new Error(`${k} needs a number, got ${v}`);
      return x;
    };
    switch (k) {
      case "--model": a.model = v; break;
      case "--sampler": a.sampler = v as ImageSampler; break;
      case "--n": a.n = num(); break;
      case "--steps": a.steps = num(); break;
      case "--snr": a.snr = num(); break;
      case "--samples": a.samples = v; break;
      case "--bpd-images": a.bpdImages = num(); break;
      case "--bpd-exact": a.bpdExact = num(); break;
      case "--bpd-rtol": a.bpdRtol = num(); break;
      case "--seed": a.seed = num(); break;
      case "--out": a.out = v; break;
      case "--chunk": a.chunk = num(); break;
      case "--work": a.work = v; break;
      case "--force": a.force = true; i--; break;
      default: throw new Error(`unknown argument ${k} (see the header of tools/evaluate-images.ts)`);
    }
    i++;
  }
  if (!a.model) throw new Error("--model is required (a committed model's name or a checkpoint file)");
  for (const [k, v, min] of [["--n", a.n, 1], ["--chunk", a.chunk, 1], ["--steps", a.steps, 1], ["--bpd-images", a.bpdImages, 0], ["--bpd-exact", a.bpdExact, 0], ["--seed", a.seed, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${k} ${v}: must be an integer ≥ ${min}`);
  }
  if (!["pc", "em", "ode"].includes(a.sampler)) throw new Error(`--sampler ${a.sampler}: not one of pc, em, ode`);
  return a;
}

interface SetScore {
  fd: number;
  kid: { mean: number; std: number };
  confident: number;
  minClassFraction: number;
  classFractions: number[];
  meanTopProbability: number;
}

/** Reads a chunk's record, or undefined if the chunk is not there yet; a chunk made with other settings is an error. */
function finishedChunk<T>(file: string, expected: Record<string, unknown>): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  const rec = readJsonFile<{ settings: Record<string, unknown> } & T>(file, "evaluation chunk");
  const a = JSON.stringify(rec.settings);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${file}: drawn with other settings (${a}, now ${b}); pass another --out or delete the folder`);
  return rec;
}

async function bitsPerDim(m: LoadedScoreModel, test: ReturnType<typeof loadImageDataset>, count: number, divergence: "rademacher" | "exact", rtol: number, seed: number, dir: string) {
  const t0 = Date.now();
  const out: number[] = [];
  let nfe = 0;
  let seconds = 0;
  const batch = divergence === "exact" ? 1 : 50;
  const settings = { step: m.step, divergence, rtol, seed, batch };
  for (let i = 0; i < count; i += batch) {
    const b = Math.min(batch, count - i);
    const file = path.join(dir, `bpd-${divergence}-${String(i).padStart(5, "0")}.json`);
    let rec = finishedChunk<{ values: number[]; nfe: number; seconds: number }>(file, { ...settings, first: i, images: b });
    if (!rec) {
      const c0 = Date.now();
      // Batch i's generator: its own seed, so a resumed run draws the same probes and dequantisation noise.
      const rng = createRng(seed * 1_000_003 + i);
      const x = tf.tidy(() => datasetTensor(test, i + b).slice([i], [b]).mul(255).round());
      const r = await logLikelihood({ sde: m.sde, score: m.score, x, rng, divergence, dequantize: { bits: 8, range: scaledRange(m.centered) }, rtol, atol: rtol });
      rec = { values: Array.from(r.bpd.dataSync() as Float32Array), nfe: r.nfe, seconds: (Date.now() - c0) / 1000 };
      tf.dispose([x, r.bpd, r.logp, r.z, r.priorLogp, r.deltaLogp, r.xDequantized].filter(Boolean) as tf.Tensor[]);
      writeJsonAtomic(file, { settings: { ...settings, first: i, images: b }, ...rec });
    }
    out.push(...rec.values);
    nfe = Math.max(nfe, rec.nfe);
    seconds += rec.seconds;
    const mean = out.reduce((p, q) => p + q, 0) / out.length;
    console.error(`   bits/dim (${divergence}) ${out.length}/${count}: running mean ${mean.toFixed(3)}`);
  }
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  const std = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(out.length - 1, 1));
  return { images: count, divergence, mean, stderr: std / Math.sqrt(out.length), nfe, rtol, seconds, wallSecondsThisSitting: (Date.now() - t0) / 1000, values: out };
}

/** The model's samples in resumable chunks (see the header): images in [0, 1], NHWC, and the sampling record. */
async function chunkedSamples(m: LoadedScoreModel, a: Args, dir: string): Promise<{ images: Float32Array; nfe: number; seconds: number }> {
  const [h, w, c] = m.imageShape;
  const per = h * w * c;
  const images = new Float32Array(a.n * per);
  const settings = { step: m.step, sampler: a.sampler, steps: a.sampler === "ode" ? undefined : a.steps, snr: a.sampler === "pc" ? a.snr : undefined, seed: a.seed, chunk: a.chunk };
  let nfe = 0;
  let seconds = 0;
  for (let k = 0, done = 0; done < a.n; k++, done += a.chunk) {
    const b = Math.min(a.chunk, a.n - done);
    const base = path.join(dir, `chunk-${String(k).padStart(4, "0")}`);
    let rec = finishedChunk<{ nfe: number; seconds: number }>(`${base}.json`, { ...settings, index: k, images: b });
    if (rec && fs.existsSync(`${base}.npy`)) {
      const r = readNpy(`${base}.npy`);
      if (r.shape[0] !== b || r.data.length !== b * per) throw new Error(`${base}.npy: shape [${r.shape}], expected [${b}, ${h}, ${w}, ${c}]; delete it to redraw`);
      images.set(r.data as Float32Array, done * per);
    } else {
      const r = await sampleImages(m, { sampler: a.sampler, n: b, seed: a.seed * 1_000_003 + k, steps: a.steps, snr: a.snr, batch: b });
      writeNpy(`${base}.npy`, r.images, r.shape);
      rec = { nfe: r.nfe, seconds: r.seconds };
      writeJsonAtomic(`${base}.json`, { settings: { ...settings, index: k, images: b }, ...rec });
      images.set(r.images, done * per);
    }
    nfe = Math.max(nfe, rec.nfe);
    seconds += rec.seconds;
    console.error(`   sampled ${done + b}/${a.n} (chunk ${k}: ${rec.seconds.toFixed(0)} s)`);
  }
  return { images, nfe, seconds };
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const info = await initBackend();
  const m = /\.ckpt$/.test(a.model) ? loadScoreModel(a.model) : loadPretrained(a.model);
  const name = path.basename(a.model).replace(/\.ckpt$/, "");
  const out = path.resolve(a.out ?? path.join(REPO, "runs", "eval", name));
  if (fs.existsSync(path.join(out, "report.json")) && !a.force) throw new Error(`${path.join(out, "report.json")} exists; pass --force to replace it, or another --out`);
  const work = path.resolve(a.work ?? path.join(REPO, "runs", "eval", path.basename(out)), "chunks");
  const dataset = (m.dataset ?? "mnist") as ImageDatasetName;
  const clfFile = path.join(REPO, "data", "pretrained", `classifier-${dataset}`, "model.safetensors");
  const { classifier: clf, metadata: clfMeta } = ImageClassifier.load(clfFile);
  const train = loadImageDataset(dataset, "train");
  const test = loadImageDataset(dataset, "test");
  const D = 28 * 28;
  const K = clf.config.classes;
  const hidden = clf.config.hidden;
  const host = (t: tf.Tensor) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  };
  console.error(`== evaluating ${name} (${m.sde.kind}, step ${m.step}) on ${dataset}; classifier test accuracy ${clfMeta.testAccuracy}; backend ${info.name}`);

  // Model samples.
  let samples: Float32Array;
  let sampling: Record<string, unknown>;
  if (a.samples) {
    const r = readNpy(a.samples);
    if (r.shape.length !== 4 || r.shape[1] !== 28 || r.shape[2] !== 28) throw new Error(`${a.samples}: shape [${r.shape}], expected [N, 28, 28, 1]`);
    samples = Float32Array.from(r.data as Float32Array);
    a.n = r.shape[0];
    const sideJson = a.samples.replace(/\.npy$/, ".json");
    sampling = { from: a.samples, ...(fs.existsSync(sideJson) ? readJsonFile<Record<string, unknown>>(sideJson, "samples record") : {}) };
  } else {
    const r = await chunkedSamples(m, a, work);
    samples = r.images;
    sampling = { sampler: a.sampler, n: a.n, steps: a.sampler === "ode" ? undefined : a.steps, snr: a.sampler === "pc" ? a.snr : undefined, seed: a.seed, chunk: a.chunk, chunkSeeds: "seed * 1000003 + chunk index", nfePerSample: r.nfe, seconds: r.seconds };
  }
  const n = a.n;

  const testImgs = host(datasetTensor(test));
  const testEval = clf.evaluate(testImgs, test.n);
  const testStats = featureStats(testEval.features, hidden);
  const score = (imgs: Float32Array, seed: number): SetScore => {
    const e = clf.evaluate(imgs, imgs.length / D);
    const s = classifierSummary(e.probs, K);
    return {
      fd: frechetDistance(featureStats(e.features, hidden), testStats),
      kid: kernelInceptionDistance(e.features, testEval.features, hidden, { subsets: 10, subsetSize: Math.min(1000, imgs.length / D), rng: createRng(seed) }),
      confident: s.confident,
      minClassFraction: s.minClassFraction,
      classFractions: s.classFractions.map((f) => Number(f.toFixed(4))),
      meanTopProbability: s.meanTopProbability,
    };
  };
  const perm = permutation(train.n, 1234 + a.seed).subarray(0, n);
  const floorImgs = host(tf.tidy(() => tf.gather(datasetTensor(train), tf.tensor1d(perm, "int32"))));
  const trainImgs = host(datasetTensor(train));
  const gauss = gaussianBaselineSamples(trainImgs, D, n, createRng(99 + a.seed));
  const model = score(samples, 1);
  const floor = score(floorImgs, 2);
  const baseline = score(gauss, 3);
  const testSelf = classifierSummary(testEval.probs, K);
  console.error(`FD: model ${model.fd.toFixed(3)}, floor ${floor.fd.toFixed(3)}, Gaussian baseline ${baseline.fd.toFixed(3)} (ratio ${(model.fd / baseline.fd).toFixed(3)})`);
  console.error(`confident ≥ 0.9: model ${(100 * model.confident).toFixed(1)} %, real test ${(100 * testSelf.confident).toFixed(1)} %; smallest class ${(100 * model.minClassFraction).toFixed(1)} %`);

  let bpd: unknown[] = [];
  if (a.bpdImages > 0) {
    const h = await bitsPerDim(m, test, a.bpdImages, "rademacher", a.bpdRtol, 7, work);
    console.error(`bits/dim (Hutchinson) of ${a.bpdImages} test images: ${h.mean.toFixed(3)} ± ${h.stderr.toFixed(3)} (NFE ${h.nfe}, ${h.seconds.toFixed(0)} s)`);
    bpd.push(h);
    if (a.bpdExact > 0) {
      const ex = await bitsPerDim(m, test, a.bpdExact, "exact", a.bpdRtol, 7, work);
      const hSame = h.values.slice(0, a.bpdExact);
      console.error(`bits/dim (exact divergence) of the first ${a.bpdExact}: ${ex.mean.toFixed(3)} (Hutchinson on the same: ${(hSame.reduce((x, y) => x + y, 0) / hSame.length).toFixed(3)})`);
      bpd.push({ ...ex, hutchinsonSameImages: hSame });
    }
  }
  const report = {
    model: name,
    step: m.step,
    sde: m.sde.kind,
    dataset,
    sampling,
    classifier: { file: path.relative(REPO, clfFile), testAccuracy: Number(clfMeta.testAccuracy) },
    n,
    scores: { model, floor, gaussianBaseline: baseline },
    realTestConfidence: testSelf.confident,
    criteria: {
      fdRatioToBaseline: model.fd / baseline.fd,
      fdAtMost25PercentOfBaseline: model.fd <= 0.25 * baseline.fd,
      confidentAtLeast80Percent: model.confident >= 0.8,
      everyClassAtLeast5Percent: model.minClassFraction >= 0.05,
      bitsPerDimAtMost2: bpd.length ? (bpd[0] as { mean: number }).mean <= 2 : undefined,
    },
    bitsPerDim: bpd,
    backend: info.name,
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    date: new Date().toISOString(),
  };
  writeJsonAtomic(path.join(out, "report.json"), report);
  const f = (x: number, d = 3) => x.toFixed(d);
  const row = (label: string, s: SetScore) => `| ${label} | ${f(s.fd)} | ${s.kid.mean.toPrecision(3)} ± ${s.kid.std.toPrecision(2)} | ${f(100 * s.confident, 1)} % | ${f(100 * s.minClassFraction, 1)} % |`;
  const md = [
    `# ${name}: ${m.sde.kind} on ${dataset}, EMA weights after ${m.step} steps`,
    "",
    `Sampling: ${JSON.stringify(sampling)}. Classifier: ${path.relative(REPO, clfFile)} (test accuracy ${f(100 * Number(clfMeta.testAccuracy), 2)} %). ` +
      `Features: its ${hidden}-d penultimate layer; reference: the ${test.n} test images. Backend ${info.name}, ${report.cpu}. ${report.date}.`,
    "",
    `| ${n} images | FD | KID | p_max ≥ 0.9 | smallest class |`,
    "|---|---|---|---|---|",
    row("model samples", model),
    row("floor: training images", floor),
    row("baseline: Gaussian fit to the pixels", baseline),
    "",
    `FD ratio model / baseline: ${f(model.fd / baseline.fd)} (criterion ≤ 0.25: ${report.criteria.fdAtMost25PercentOfBaseline ? "met" : "not met"}); confident ${f(100 * model.confident, 1)} % (≥ 80 %: ${report.criteria.confidentAtLeast80Percent ? "met" : "not met"}); ` +
      `smallest class ${f(100 * model.minClassFraction, 1)} % (≥ 5 %: ${report.criteria.everyClassAtLeast5Percent ? "met" : "not met"}). Real test images: ${f(100 * testSelf.confident, 1)} % confident.`,
    "",
    `Class fractions of the samples: ${model.classFractions.map((x, i) => `${i}: ${f(100 * x, 1)} %`).join(", ")}.`,
    "",
    ...bpd.map((b) => {
      const r = b as { images: number; divergence: string; mean: number; stderr: number; nfe: number; rtol: number; seconds: number };
      return `Bits/dim, ${r.images} test images, ${r.divergence} divergence, uniform dequantisation (8 bits), RK45 rtol = atol = ${r.rtol}: **${f(r.mean)} ± ${f(r.stderr)}** (NFE ${r.nfe}, ${f(r.seconds, 0)} s).`;
    }),
    "",
  ].join("\n");
  writeFileAtomic(path.join(out, "report.md"), md);
  console.error(`wrote ${path.join(out, "report.json")} and report.md`);
  clf.dispose();
  m.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
