/**
 * Samples from an image score model, unconditionally, class-conditionally or by inpainting test digits:
 *
 *   npm run sample -- --model mnist-vp --sampler pc|ode|em --n 500 --seed 0 --out samples.npy
 *        [--steps 1000] [--snr 0.16] [--rtol 1e-5 --atol 1e-5] [--eps E] [--batch 100] [--grid 100]
 *   npm run sample -- --model mnist-vp --class 7 [--guidance 1] --sampler pc|em --n 64 --seed 0 --out sevens.npy
 *   npm run sample -- --model mnist-vp --inpaint bottom|top|left|right|center --from-test 0..99 --sampler pc|em
 *        [--resample J,R] [--manifold ZETA] --seed 0 --out completed.npy
 *
 * --model: a committed model's name (data/pretrained/<name>/, see notebooks/experiments/pretrained.ts) or a
 * checkpoint file (e.g. runs/mnist-vp/checkpoint.ckpt: its EMA weights are used).
 * Samplers (Song et al. 2021 §4; official sampling.py):
 *   pc   reverse-diffusion predictor + Langevin corrector (one corrector step, signal-to-noise ratio --snr),
 *        N = --steps noise levels, NFE = 2N
 *   em   Euler–Maruyama on the reverse SDE, N = --steps, NFE = N
 *   ode  the probability-flow ODE with RK45 (scipy's Dormand–Prince), tolerances --rtol/--atol, adaptive NFE
 *        (unconditional only)
 * Controllable generation (§5, App. I; lib/controllable):
 *   --class K      class-conditional sampling of digit K (0 … 9) with the committed noise-conditional classifier of
 *                  the model, data/classifiers/<model>/ (notebooks/experiments/controllable-mnist.ts): the score
 *                  s + γ ∇ₓ log p_t(y = K | x) in the predictor and the corrector (the official JAX
 *                  get_pc_conditional_sampler). --guidance γ > 0, default 1 = the paper's Bayes rule (eq. 14);
 *                  γ > 1 sharpens towards confidently classified digits (no longer p₀(x | y)). Only for committed
 *                  models whose classifier was trained with the same SDE and data scaling (checked).
 *   --inpaint R    completes the missing region R of test images (the model's dataset's test split, e.g. MNIST's):
 *                  bottom/top/left/right half or the center ⌈H/2⌉×⌈W/2⌉ box (lib/controllable/masks.ts), with the
 *                  official PC inpainter (pcInpaint: the known part replaced by a forward sample at every step).
 *   --resample J,R with --inpaint: RePaint resampling (Lugmayr et al. 2022; lib/controllable/inpaint.ts): after every
 *                  J grid steps the state is taken back J steps with the SDE's exact forward kernel and the J steps are
 *                  run again, R passes in all (R = 1: none). J in 1 … steps − 1, R in 1 … 1000. The run takes
 *                  S = steps + (R − 1)·J·⌊(steps − 1)/J⌋ grid steps, NFE = 2S with pc (e.g. --steps 250 --resample
 *                  10,4: S = 970, NFE 1940, about the official PC's 2000 at --steps 1000).
 *   --manifold ζ   with --inpaint: the manifold-constraint gradient (Chung et al. 2022; lib/controllable/inpaint.ts)
 *                  with step size ζ > 0: after each predictor step the state also moves ζ against the gradient of
 *                  ‖known part of Tweedie's x̂₀ − data‖; one score evaluation with its backward pass more per step
 *                  (about 2.5× the time of pc). On mnist-vp, --steps 250 --manifold 1 keeps far more digits' labels
 *                  than the official inpainter (data/results/controllable/).
 *   --from-test I..J  the test images I through J, BOTH INCLUSIVE (0..9 = the first ten); N = J − I + 1, so --n is
 *                  not given. The known pixels of the output equal the test image's up to the method's final step
 *                  (x̄'s known part is m(ε)·data, e.g. |Δ| ≤ 3e-5 for VP at ε = 1e-3; see lib/controllable/inpaint.ts).
 * Every sampler ends with the official denoising step (the mean of the last step). Writes --out, a float32 NPY
 * [N, H, W, C] with values in [0, 1] (the inverse data scaler, clipped), a PNG grid of the first --grid samples
 * beside it (<out>.png; for --inpaint rows of originals / masked inputs (missing part gray) / completions, ten
 * digits wide) and <out>.json (model, sampler, class or region and test indices, NFE, time). Batches of --batch are
 * drawn in turn from one seeded generator, so the same seed and batch size give the same NPY bytes. Progress is one
 * line rewritten in place on a terminal (a line per batch in logs).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { classifierGradFn, INPAINT_REGIONS, pcConditionalSample, pcInpaint, regionMask, regionMaskValues, type InpaintRegion, type ResampleOptions } from "../../lib/controllable";
import { imagesToTensor, loadFashionMnist, loadMnist, type ImageDataset } from "../../lib/data";
import { loadScoreModel, type LoadedScoreModel } from "../../lib/data/score-model";
import { writeJsonAtomic, writeNpy, writeImageGridPng } from "../../lib/io";
import { odeSample } from "../../lib/ode/flow";
import { createRng, type Rng } from "../../lib/random";
import { pcSample } from "../../lib/sampling";
import { VPSDE } from "../../lib/sde";
import { classifierMismatch, committedClassifierNames, loadCommittedClassifier, type CommittedClassifier } from "../../notebooks/experiments/controllable-mnist";
import { loadPretrained } from "../../notebooks/experiments/pretrained";

export const IMAGE_SAMPLERS = ["pc", "ode", "em"] as const;
export type ImageSampler = (typeof IMAGE_SAMPLERS)[number];

export interface ImageSampleOptions {
  sampler: ImageSampler;
  n: number;
  seed: number;
  /** pc / em: number of noise levels N (default 1000, the official). */
  steps?: number;
  /** pc: Langevin signal-to-noise ratio (default 0.16, official). */
  snr?: number;
  rtol?: number;
  atol?: number;
  eps?: number;
  batch?: number;
  onBatch?: (done: number, total: number) => void;
  /** pc / em: after step i (0 … N−1) of the batch starting at sample `done`. */
  onStep?: (done: number, i: number, N: number) => void;
}

interface SampleResult {
  images: Float32Array;
  shape: [number, number, number, number];
  nfe: number;
  seconds: number;
}

/**
 * The one batch loop of every mode: `draw(b, done, rng)` returns a batch of b examples in model space; they are
 * mapped to [0, 1] and stored in turn. One generator for all batches, so a seed replays the whole run.
 */
async function batched(m: LoadedScoreModel, o: ImageSampleOptions, draw: (b: number, done: number, rng: Rng) => Promise<{ x: tf.Tensor; nfe: number }>): Promise<SampleResult> {
  const [h, w, c] = m.imageShape;
  const rng = createRng(o.seed);
  const batch = Math.min(o.batch ?? 100, o.n);
  const out = new Float32Array(o.n * h * w * c);
  const t0 = Date.now();
  let nfe = 0;
  for (let done = 0; done < o.n; done += batch) {
    const b = Math.min(batch, o.n - done);
    const r = await draw(b, done, rng);
    nfe = Math.max(nfe, r.nfe);
    const img = m.toImages(r.x);
    out.set(img.dataSync() as Float32Array, done * h * w * c);
    tf.dispose([r.x, img]);
    o.onBatch?.(done + b, o.n);
  }
  return { images: out, shape: [o.n, h, w, c], nfe, seconds: (Date.now() - t0) / 1000 };
}

/** The PC settings of the named sampler (pc: reverse diffusion + Langevin; em: Euler–Maruyama, no corrector). */
function pcSettingsOf(o: ImageSampleOptions) {
  if (o.sampler === "ode") throw new Error(`--sampler ode is not allowed here; --sampler must be pc or em for class-conditional sampling and inpainting`);
  return {
    predictor: o.sampler === "pc" ? "reverse_diffusion" : "euler_maruyama",
    corrector: o.sampler === "pc" ? "langevin" : "none",
    snr: o.snr ?? 0.16,
    eps: o.eps,
    denoise: true,
  } as const;
}

/**
 * Draws `n` samples from a loaded model; returns images in [0, 1] as float32 NHWC plus the NFE per sample.
 */
export async function sampleImages(m: LoadedScoreModel, o: ImageSampleOptions): Promise<SampleResult> {
  const [h, w, c] = m.imageShape;
  const { sde, score } = m.withSteps(o.steps ?? 1000);
  return batched(m, o, async (b, done, rng) => {
    const shape = [b, h, w, c];
    if (o.sampler === "ode") {
      const r = await odeSample({ sde, score, shape, rng, rtol: o.rtol ?? 1e-5, atol: o.atol ?? 1e-5, eps: o.eps, denoise: true });
      return { x: r.samples, nfe: r.nfe + 1 };
    }
    const r = await pcSample({ sde, score, shape, rng, ...pcSettingsOf(o), callback: ({ i }) => o.onStep?.(done, i, sde.N) });
    return { x: r.samples, nfe: r.scoreEvals };
  });
}

/**
 * Class-conditional samples of class `label` (lib/controllable pcConditionalSample with the classifier's
 * ∇ₓ log p_t(y | x), guidance γ); images in [0, 1]. The classifier must fit the model (`classifierMismatch`).
 */
export async function sampleClassImages(m: LoadedScoreModel, clf: CommittedClassifier, o: ImageSampleOptions & { label: number; guidance?: number }): Promise<SampleResult> {
  const why = classifierMismatch(clf, m);
  if (why) throw new Error(`the classifier data/classifiers/${clf.name}/ cannot guide this model: ${why}`);
  const [h, w, c] = m.imageShape;
  const { sde, score } = m.withSteps(o.steps ?? 1000);
  const classifierGrad = classifierGradFn(clf.net, clf.sde);
  const settings = pcSettingsOf(o);
  return batched(m, o, async (b, done, rng) => {
    const r = await pcConditionalSample({
      sde, score, shape: [b, h, w, c], rng, ...settings, classifierGrad, labels: o.label, guidance: o.guidance ?? 1, numClasses: clf.net.numClasses,
      callback: ({ i }) => o.onStep?.(done, i, sde.N),
    });
    return { x: r.samples, nfe: r.scoreEvals };
  });
}

/** The test split of the dataset a model was trained on (MNIST or Fashion-MNIST). */
export function testSetOf(m: LoadedScoreModel): ImageDataset {
  if (m.dataset === "mnist") return loadMnist({ split: "test" });
  if (m.dataset === "fashion-mnist") return loadFashionMnist({ split: "test" });
  throw new Error(`--from-test needs a model trained on mnist or fashion-mnist; ${path.basename(m.file)} records dataset ${JSON.stringify(m.dataset)}`);
}

/**
 * Inpaints the missing `region` of test images `from` … `to` (inclusive) with lib/controllable pcInpaint; returns
 * the completions in [0, 1] plus the originals and the masked inputs (missing part 0.5 gray) for display.
 */
export async function inpaintTestImages(
  m: LoadedScoreModel,
  test: ImageDataset,
  o: Omit<ImageSampleOptions, "n"> & { region: InpaintRegion; from: number; to: number; resample?: ResampleOptions; manifold?: number },
): Promise<SampleResult & { original: Float32Array; masked: Float32Array; labels: number[] }> {
  const [h, w, c] = m.imageShape;
  if (test.height !== h || test.width !== w || test.channels !== c) throw new Error(`test images ${test.height}×${test.width}×${test.channels} do not fit the model's ${m.imageShape.join("×")}`);
  if (!(Number.isInteger(o.from) && Number.isInteger(o.to) && 0 <= o.from && o.from <= o.to && o.to < test.n)) {
    throw new Error(`--from-test = "${o.from}..${o.to}" is not allowed; --from-test must be I..J with 0 ≤ I ≤ J ≤ ${test.n - 1} (both inclusive; the ${test.name} test set has ${test.n} images)`);
  }
  const n = o.to - o.from + 1;
  const indices = Int32Array.from({ length: n }, (_, i) => o.from + i);
  const per = h * w * c;
  const original = new Float32Array(n * per);
  for (let k = 0; k < n; k++) for (let j = 0; j < per; j++) original[k * per + j] = test.images[indices[k] * per + j] / 255;
  const maskValues = regionMaskValues(o.region, h, w, c);
  const masked = original.map((v, i) => (maskValues[i % per] === 1 ? v : 0.5));
  const { sde, score } = m.withSteps(o.steps ?? 1000);
  const settings = pcSettingsOf({ ...o, n });
  const mask = regionMask(o.region, h, w, c);
  try {
    const r = await batched(m, { ...o, n }, async (b, done, rng) => {
      const x01 = imagesToTensor(test, indices.subarray(done, done + b));
      const data = m.fromImages(x01);
      x01.dispose();
      try {
        const out = await pcInpaint({ sde, score, data, mask, rng, ...settings, resample: o.resample, manifold: o.manifold === undefined ? undefined : { weight: o.manifold }, onStep: (_i, k, total) => o.onStep?.(done, k - 1, total) });
        return { x: out.samples, nfe: out.scoreEvals };
      } finally {
        data.dispose();
      }
    });
    return { ...r, original, masked, labels: Array.from(indices, (i) => test.labels[i]) };
  } finally {
    mask.dispose();
  }
}

type Args = ImageSampleOptions & {
  model: string;
  out: string;
  grid: number;
  threads: number;
  label?: number;
  guidance?: number;
  region?: InpaintRegion;
  from?: number;
  to?: number;
  resample?: ResampleOptions;
  manifold?: number;
};

const USAGE =
  "usage: npm run sample -- --model NAME|FILE.ckpt [--sampler pc|ode|em] [--n N] [--seed S] [--out FILE.npy] [--steps K] [--snr R] " +
  "[--rtol R --atol A] [--eps E] [--batch B] [--grid G] [--class K [--guidance G] | --inpaint bottom|top|left|right|center --from-test I..J [--resample J,R] [--manifold ZETA]]";

function bad(name: string, value: unknown, allowed: string): never {
  throw new RangeError(`sample --model: ${name} = ${JSON.stringify(value)} is not allowed; ${name} must be ${allowed}\n${USAGE}`);
}

export function parseModelArgs(argv: string[]): Args {
  const a = { model: "", sampler: "pc" as ImageSampler, n: 64, seed: 0, out: "", grid: 100, threads: 1 } as Args;
  const seen = new Set<string>();
  const num = (k: string, v: string | undefined, int = false): number => {
    const x = Number(v);
    if (v === undefined || v.trim() === "" || !Number.isFinite(x) || (int && !Number.isInteger(x))) bad(k, v, int ? "an integer" : "a finite number");
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--help") {
      console.error(fs.readFileSync(__filename, "utf8").split("*/")[0]);
      process.exit(0);
    }
    const v = argv[i + 1];
    if (!k.startsWith("--")) bad("argument", k, "a flag --name followed by its value");
    if (v === undefined || v.startsWith("--")) bad(k, v, "followed by a value");
    if (seen.has(k)) bad(k, v, "given once");
    seen.add(k);
    i++;
    switch (k) {
      case "--model": a.model = v ?? ""; break;
      case "--sampler":
        if (!(IMAGE_SAMPLERS as readonly string[]).includes(v)) bad(k, v, `one of ${IMAGE_SAMPLERS.join(", ")}`);
        a.sampler = v as ImageSampler; break;
      case "--n": a.n = num(k, v, true); break;
      case "--seed": a.seed = num(k, v, true); break;
      case "--out": a.out = v ?? ""; break;
      case "--steps": a.steps = num(k, v, true); break;
      case "--snr": a.snr = num(k, v); break;
      case "--rtol": a.rtol = num(k, v); break;
      case "--atol": a.atol = num(k, v); break;
      case "--eps": a.eps = num(k, v); break;
      case "--batch": a.batch = num(k, v, true); break;
      case "--grid": a.grid = num(k, v, true); break;
      case "--threads": a.threads = num(k, v, true); break;
      case "--class":
        if (v === undefined || !/^\d+$/.test(v) || Number(v) > 9) bad(k, v, "an integer class label in 0 … 9 (an MNIST digit)");
        a.label = Number(v); break;
      case "--guidance": {
        const g = Number(v);
        if (v === undefined || v.trim() === "" || !Number.isFinite(g) || g <= 0) bad(k, v, "a finite number > 0 (1 = the paper's Bayes rule; > 1 sharpens)");
        a.guidance = g; break;
      }
      case "--inpaint":
        if (!(INPAINT_REGIONS as readonly string[]).includes(v)) bad(k, v, `one of ${INPAINT_REGIONS.join(", ")} (the part to fill in)`);
        a.region = v as InpaintRegion; break;
      case "--from-test": {
        const m = /^(\d+)\.\.(\d+)$/.exec(v ?? "");
        if (!m) bad(k, v, "I..J, two test image indices, both inclusive (e.g. 0..9 for the first ten)");
        const [from, to] = [Number(m[1]), Number(m[2])];
        if (from > to) bad(k, v, `I..J with I ≤ J (both inclusive: ${to}..${from} for these images)`);
        if (to > 9999) bad(k, v, "I..J with J ≤ 9999 (the MNIST / Fashion-MNIST test sets have 10000 images, 0 … 9999)");
        a.from = from;
        a.to = to;
        break;
      }
      case "--resample": {
        const m = /^(\d+),(\d+)$/.exec(v ?? "");
        if (!m) bad(k, v, "J,R: the jump length J and the number of resamplings R, two positive integers (e.g. 10,4)");
        const [jumpLength, resamplings] = [Number(m[1]), Number(m[2])];
        if (resamplings < 1 || resamplings > 1000) bad(k, v, "J,R with R in 1 … 1000 (passes through each stretch; 1 = no resampling)");
        a.resample = { jumpLength, resamplings };
        break;
      }
      case "--manifold": {
        const z = Number(v);
        if (v === undefined || v.trim() === "" || !Number.isFinite(z) || z <= 0) bad(k, v, "a finite number > 0 (the manifold-constraint step size ζ, e.g. 1)");
        a.manifold = z;
        break;
      }
      default: bad("argument", k, "one of --model, --sampler, --n, --seed, --out, --steps, --snr, --rtol, --atol, --eps, --batch, --grid, --threads, --class, --guidance, --inpaint, --from-test, --resample, --manifold");
    }
  }
  if (!a.model) bad("--model", a.model || undefined, "a committed model's name or a checkpoint file");
  if (!(a.n >= 1)) bad("--n", String(a.n), "an integer ≥ 1");
  if (a.seed < 0) bad("--seed", String(a.seed), "an integer ≥ 0");
  if (a.steps !== undefined && a.steps < 1) bad("--steps", String(a.steps), "an integer ≥ 1");
  if (a.batch !== undefined && a.batch < 1) bad("--batch", String(a.batch), "an integer ≥ 1");
  if (a.grid < 0) bad("--grid", String(a.grid), "an integer ≥ 0 (0: no PNG)");
  if (a.label !== undefined && a.region !== undefined) bad("--class", String(a.label), "absent with --inpaint (one kind of conditioning per run)");
  if (a.guidance !== undefined && a.label === undefined) bad("--guidance", String(a.guidance), "given only with --class K");
  if (a.region !== undefined && a.from === undefined) bad("--from-test", undefined, "given with --inpaint: the test images I..J to complete (both inclusive)");
  if (a.from !== undefined && a.region === undefined) bad("--inpaint", undefined, `given with --from-test: one of ${INPAINT_REGIONS.join(", ")}`);
  if (a.region !== undefined && seen.has("--n")) bad("--n", String(a.n), `absent with --inpaint (the count is that of --from-test ${a.from}..${a.to}: ${a.to! - a.from! + 1})`);
  if (a.region !== undefined) a.n = a.to! - a.from! + 1;
  if (a.resample !== undefined) {
    const r = a.resample;
    if (a.region === undefined) bad("--resample", `${r.jumpLength},${r.resamplings}`, "given only with --inpaint (it resamples the inpainting loop)");
    const steps = a.steps ?? 1000;
    if (r.jumpLength < 1 || r.jumpLength > steps - 1) bad("--resample", `${r.jumpLength},${r.resamplings}`, `J,R with J in 1 … ${steps - 1} (--steps − 1; --steps is ${steps})`);
  }
  if (a.manifold !== undefined && a.region === undefined) bad("--manifold", String(a.manifold), "given only with --inpaint (it steers the inpainting loop)");
  if ((a.label !== undefined || a.region !== undefined) && a.sampler === "ode") bad("--sampler", "ode", `pc or em with ${a.label !== undefined ? "--class" : "--inpaint"} (the conditional samplers are PC samplers)`);
  if (!a.out) a.out = `${path.basename(a.model).replace(/\.ckpt$/, "")}-${a.sampler}${a.label !== undefined ? `-class${a.label}` : ""}${a.region ? `-inpaint-${a.region}` : ""}.npy`;
  if (!a.out.endsWith(".npy")) bad("--out", a.out, "a file name ending in .npy");
  return a;
}

/**
 * Progress: one line rewritten in place on a terminal (at most every 0.5 s, from the sampler's steps), a line per
 * batch and every 10 s otherwise; the time left is extrapolated from the steps done.
 */
function progress(what: string, n: number, batch: number): { update: (done: number, total: number) => void; step: (done: number, i: number, N: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  const t0 = Date.now();
  let last = 0;
  const say = (line: string) => process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
  return {
    update: (done, total) => {
      last = Date.now();
      const s = (last - t0) / 1000;
      say(`   ${done}/${total} ${what}, ${s.toFixed(0)} s${done < total ? `, ~${((s / done) * (total - done)).toFixed(0)} s left` : ""}`);
    },
    step: (done, i, N) => {
      const now = Date.now();
      if (now - last < (tty ? 500 : 10_000) || i === N - 1) return;
      last = now;
      const s = (now - t0) / 1000;
      const frac = (done + (Math.min(batch, n - done) * (i + 1)) / N) / n;
      say(`   ${done}/${n} ${what}, batch step ${i + 1}/${N}, ${s.toFixed(0)} s, ~${((s / frac) * (1 - frac)).toFixed(0)} s left`);
    },
    end: () => {
      if (tty) process.stderr.write("\n");
    },
  };
}

/** Originals / masked / completions, in blocks of three rows of up to ten images (empty slots white). */
function inpaintPanel(original: Float32Array, masked: Float32Array, completed: Float32Array, g: number, per: number): { data: Float32Array; count: number; cols: number } {
  const cols = Math.min(10, g);
  const blocks = Math.ceil(g / cols);
  const data = new Float32Array(blocks * 3 * cols * per).fill(1);
  for (let b = 0; b < blocks; b++) {
    [original, masked, completed].forEach((src, row) => {
      for (let k = 0; k < cols && b * cols + k < g; k++) {
        const i = b * cols + k;
        data.set(src.subarray(i * per, (i + 1) * per), ((b * 3 + row) * cols + k) * per);
      }
    });
  }
  return { data, count: blocks * 3 * cols, cols };
}

export async function main(argv: string[]): Promise<void> {
  const a = parseModelArgs(argv);
  const info = await initBackend({ wasmThreads: a.threads });
  const isFile = /\.ckpt$/.test(a.model);
  let clf: CommittedClassifier | undefined;
  if (a.label !== undefined) {
    if (isFile || !committedClassifierNames().includes(a.model)) {
      bad("--class", String(a.label), `used with a model that has a committed noise-conditional classifier (data/classifiers/<model>/): --model ${committedClassifierNames().join(" or ") || "(none committed)"}; ${a.model} has none`);
    }
    clf = loadCommittedClassifier(a.model);
    if (a.label >= clf.net.numClasses) bad("--class", String(a.label), `an integer class label in 0 … ${clf.net.numClasses - 1} (the classes of data/classifiers/${a.model}/)`);
  }
  const m = isFile ? loadScoreModel(a.model) : loadPretrained(a.model);
  try {
    const steps = a.steps ?? 1000;
    if (a.sampler === "pc" && m.sde instanceof VPSDE && m.sde.betaMax / steps >= 1) {
      bad("--steps", String(steps), `> ${m.sde.betaMax} with --sampler pc on this VP model (the reverse-diffusion predictor needs β_max/N < 1); --sampler em takes fewer`);
    }
    const mode = a.label !== undefined ? `class ${a.label}, guidance ${a.guidance ?? 1}` : a.region ? `inpainting the ${a.region} of test images ${a.from}..${a.to}` : "unconditional";
    console.error(`== ${a.model}: ${m.sde.kind}, ${m.model.paramCount} parameters, EMA weights after ${m.step} steps; ${mode}; sampler ${a.sampler}, n ${a.n}, seed ${a.seed}, backend ${info.name}`);
    const p = progress(a.region ? "images completed" : "samples", a.n, Math.min(a.batch ?? 100, a.n));
    let r: SampleResult;
    let extra: Record<string, unknown> = {};
    let panel: { data: Float32Array; count: number; cols: number } | undefined;
    const g = Math.min(a.grid, a.n);
    const per = m.imageShape[0] * m.imageShape[1] * m.imageShape[2];
    if (clf) {
      r = await sampleClassImages(m, clf, { ...a, label: a.label!, onBatch: p.update, onStep: p.step });
      extra = { class: a.label, guidance: a.guidance ?? 1, classifier: `data/classifiers/${clf.name}/model.safetensors` };
    } else if (a.region) {
      const test = testSetOf(m);
      const ri = await inpaintTestImages(m, test, { ...a, region: a.region, from: a.from!, to: a.to!, onBatch: p.update, onStep: p.step });
      r = ri;
      extra = { inpaint: a.region, fromTest: [a.from, a.to], testSet: `${test.name} test, indices ${a.from}..${a.to} inclusive`, resample: a.resample ?? null, manifold: a.manifold ?? null, testLabels: ri.labels };
      if (g > 0) panel = inpaintPanel(ri.original, ri.masked, ri.images, g, per);
    } else {
      r = await sampleImages(m, { ...a, onBatch: p.update, onStep: p.step });
    }
    p.end();
    writeNpy(a.out, r.images, r.shape);
    const png = a.out.replace(/\.npy$/, ".png");
    const [, h, w, c] = r.shape;
    if (panel) writeImageGridPng(png, panel.data, [panel.count, h, w, c], { cols: panel.cols, scale: 2 });
    else if (g > 0) writeImageGridPng(png, r.images.subarray(0, g * per), [g, h, w, c], { cols: Math.ceil(Math.sqrt(g)), scale: 2 });
    writeJsonAtomic(a.out.replace(/\.npy$/, ".json"), {
      model: a.model, step: m.step, sde: m.sde.kind, sampler: a.sampler, n: a.n, seed: a.seed, ...extra, steps: a.sampler === "ode" ? undefined : a.steps ?? 1000,
      snr: a.sampler === "pc" ? a.snr ?? 0.16 : undefined, rtol: a.sampler === "ode" ? a.rtol ?? 1e-5 : undefined, atol: a.sampler === "ode" ? a.atol ?? 1e-5 : undefined,
      nfePerSample: r.nfe, seconds: r.seconds, backend: info.name, cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`, date: new Date().toISOString(),
    });
    console.error(`wrote ${a.out} [${r.shape.join(", ")}] float32 in [0, 1]${g > 0 ? `, ${png}${panel ? " (rows: originals / masked / completions)" : ""}` : ""}; NFE ${r.nfe} per sample, ${r.seconds.toFixed(1)} s`);
  } finally {
    m.dispose();
    clf?.net.dispose();
  }
}
