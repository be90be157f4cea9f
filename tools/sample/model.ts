/**
 * Samples from an image score model:
 *
 *   npm run sample -- --model mnist-vp --sampler pc|ode|em --n 500 --seed 0 --out samples.npy
 *        [--steps 1000] [--snr 0.16] [--rtol 1e-5 --atol 1e-5] [--eps E] [--batch 100] [--grid 100]
 *
 * --model: a committed model's name (data/pretrained/<name>/, see notebooks/experiments/pretrained.ts) or a
 * checkpoint file (e.g. runs/mnist-vp/checkpoint.ckpt: its EMA weights are used).
 * Samplers (Song et al. 2021 §4; official sampling.py):
 *   pc   reverse-diffusion predictor + Langevin corrector (one corrector step, signal-to-noise ratio --snr),
 *        N = --steps noise levels, NFE = 2N
 *   em   Euler–Maruyama on the reverse SDE, N = --steps, NFE = N
 *   ode  the probability-flow ODE with RK45 (scipy's Dormand–Prince), tolerances --rtol/--atol, adaptive NFE
 * Every sampler ends with the official denoising step (the mean of the last step). Writes --out, a float32 NPY
 * [N, H, W, C] with values in [0, 1] (the inverse data scaler, clipped), a PNG grid of the first --grid samples
 * beside it (<out>.png) and <out>.json (model, sampler, NFE, time). Batches of --batch are drawn in turn from one
 * seeded generator, so the same seed and batch size give the same samples.
 */
import * as path from "node:path";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { loadScoreModel, type LoadedScoreModel } from "../../lib/data/score-model";
import { writeJsonAtomic, writeNpy, writeImageGridPng } from "../../lib/io";
import { odeSample } from "../../lib/ode/flow";
import { createRng } from "../../lib/random";
import { pcSample } from "../../lib/sampling";
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
}

/**
 * Draws `n` samples from a loaded model; returns images in [0, 1] as float32 NHWC plus the NFE per sample.
 */
export async function sampleImages(m: LoadedScoreModel, o: ImageSampleOptions): Promise<{ images: Float32Array; shape: [number, number, number, number]; nfe: number; seconds: number }> {
  const [h, w, c] = m.imageShape;
  const rng = createRng(o.seed);
  const batch = Math.min(o.batch ?? 100, o.n);
  const out = new Float32Array(o.n * h * w * c);
  const { sde, score } = m.withSteps(o.steps ?? 1000);
  const t0 = Date.now();
  let nfe = 0;
  for (let done = 0; done < o.n; done += batch) {
    const b = Math.min(batch, o.n - done);
    const shape = [b, h, w, c];
    let x: tf.Tensor;
    if (o.sampler === "ode") {
      const r = await odeSample({ sde, score, shape, rng, rtol: o.rtol ?? 1e-5, atol: o.atol ?? 1e-5, eps: o.eps, denoise: true });
      x = r.samples;
      nfe = Math.max(nfe, r.nfe + 1);
    } else {
      const r = await pcSample({
        sde,
        score,
        shape,
        rng,
        predictor: o.sampler === "pc" ? "reverse_diffusion" : "euler_maruyama",
        corrector: o.sampler === "pc" ? "langevin" : "none",
        snr: o.snr ?? 0.16,
        eps: o.eps,
        denoise: true,
      });
      x = r.samples;
      nfe = r.scoreEvals;
    }
    const img = m.toImages(x);
    out.set(img.dataSync() as Float32Array, done * h * w * c);
    tf.dispose([x, img]);
    o.onBatch?.(done + b, o.n);
  }
  return { images: out, shape: [o.n, h, w, c], nfe, seconds: (Date.now() - t0) / 1000 };
}

function parse(argv: string[]): ImageSampleOptions & { model: string; out: string; grid: number; threads: number } {
  const a = { model: "", sampler: "pc" as ImageSampler, n: 64, seed: 0, out: "", grid: 100, threads: 1 } as ImageSampleOptions & { model: string; out: string; grid: number; threads: number };
  const num = (k: string, v: string | undefined, int = false): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || (int && !Number.isInteger(x))) throw new Error(`${k} needs ${int ? "an integer" : "a number"}, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case "--model": a.model = v ?? ""; i++; break;
      case "--sampler":
        if (!(IMAGE_SAMPLERS as readonly string[]).includes(v)) throw new Error(`--sampler ${v}: not one of ${IMAGE_SAMPLERS.join(", ")}`);
        a.sampler = v as ImageSampler; i++; break;
      case "--n": a.n = num(k, v, true); i++; break;
      case "--seed": a.seed = num(k, v, true); i++; break;
      case "--out": a.out = v ?? ""; i++; break;
      case "--steps": a.steps = num(k, v, true); i++; break;
      case "--snr": a.snr = num(k, v); i++; break;
      case "--rtol": a.rtol = num(k, v); i++; break;
      case "--atol": a.atol = num(k, v); i++; break;
      case "--eps": a.eps = num(k, v); i++; break;
      case "--batch": a.batch = num(k, v, true); i++; break;
      case "--grid": a.grid = num(k, v, true); i++; break;
      case "--threads": a.threads = num(k, v, true); i++; break;
      case "--help": console.error(require("node:fs").readFileSync(__filename, "utf8").split("*/")[0]); process.exit(0); break;
      default: throw new Error(`unknown argument ${k} (see npm run sample -- --model x --help)`);
    }
  }
  if (!a.model) throw new Error("--model needs a committed model's name or a checkpoint file");
  if (!(a.n >= 1)) throw new Error(`--n ${a.n}: needs at least 1 sample`);
  if (a.steps !== undefined && a.steps < 1) throw new Error(`--steps ${a.steps}: needs at least 1`);
  if (a.batch !== undefined && a.batch < 1) throw new Error(`--batch ${a.batch}: needs at least 1`);
  if (!a.out) a.out = `${path.basename(a.model).replace(/\.ckpt$/, "")}-${a.sampler}.npy`;
  if (!a.out.endsWith(".npy")) throw new Error(`--out ${a.out}: must end in .npy`);
  return a;
}

export async function main(argv: string[]): Promise<void> {
  const a = parse(argv);
  const info = await initBackend({ wasmThreads: a.threads });
  const m = /\.ckpt$/.test(a.model) ? loadScoreModel(a.model) : loadPretrained(a.model);
  try {
    console.error(`== ${a.model}: ${m.sde.kind}, ${m.model.paramCount} parameters, EMA weights after ${m.step} steps; sampler ${a.sampler}, n ${a.n}, seed ${a.seed}, backend ${info.name}`);
    const r = await sampleImages(m, { ...a, onBatch: (d, t) => console.error(`   ${d}/${t} samples`) });
    writeNpy(a.out, r.images, r.shape);
    const g = Math.min(a.grid, a.n);
    const png = a.out.replace(/\.npy$/, ".png");
    if (g > 0) writeImageGridPng(png, r.images.subarray(0, g * r.shape[1] * r.shape[2] * r.shape[3]), [g, r.shape[1], r.shape[2], r.shape[3]], { cols: Math.ceil(Math.sqrt(g)), scale: 2 });
    writeJsonAtomic(a.out.replace(/\.npy$/, ".json"), {
      model: a.model, step: m.step, sde: m.sde.kind, sampler: a.sampler, n: a.n, seed: a.seed, steps: a.sampler === "ode" ? undefined : a.steps ?? 1000,
      snr: a.sampler === "pc" ? a.snr ?? 0.16 : undefined, rtol: a.sampler === "ode" ? a.rtol ?? 1e-5 : undefined, atol: a.sampler === "ode" ? a.atol ?? 1e-5 : undefined,
      nfePerSample: r.nfe, seconds: r.seconds, backend: info.name, cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`, date: new Date().toISOString(),
    });
    console.error(`wrote ${a.out} [${r.shape.join(", ")}] float32 in [0, 1]${g > 0 ? `, ${png}` : ""}; NFE ${r.nfe} per sample, ${r.seconds.toFixed(1)} s`);
  } finally {
    m.dispose();
  }
}
