/**
 * The MNIST noise-conditional classifier of issue #16: a small CNN (lib/controllable createImageClassifier) trained
 * on MNIST perturbed by the VP SDE of the committed score model's config (β 0.1 → 20, data centred to [−1, 1]), for
 * class-conditional sampling with `pcConditionalSample` once an MNIST score model is committed.
 *
 * Files (data/classifiers/<name>/, written atomically):
 *   model.safetensors  the weights (logical names), with the classifier config, the SDE config and the data scaling
 *                      in the safetensors metadata — `loadMnistClassifier` rebuilds the network from them alone
 *   training.json      steps, batch size, learning rate, wall time, backend, losses, test accuracy by noise level
 *
 *   ts-node --transpile-only notebooks/experiments/controllable-mnist.ts [--steps 3000] [--batch 128] [--name mnist-vp]
 *
 * and measures issue #16's inpainting criterion (bottom half of the first --count test digits completed by the
 * committed mnist-vp, judged by data/pretrained/classifier-mnist; `runMnistControl` without class-conditional runs):
 *
 *   ts-node --transpile-only notebooks/experiments/controllable-mnist.ts inpaint --count 500 --N 1000
 *        --corrector langevin [--resample J,R] [--manifold ZETA] [--seed 1] [--threads 1] --out runs/inpaint/NAME.json
 *
 * (--resample J,R: RePaint resampling with jump length J and R resamplings; --manifold ζ: the manifold-constraint
 * gradient of Chung et al. 2022 with step size ζ; both in lib/controllable/inpaint.ts.) It writes
 * the settings, the fraction of completions that keep the test label, the NFE per digit, the wall time and the
 * judge's label per digit (so subsets such as the first 100 can be scored) to --out, atomically. The same for the
 * class-conditional criterion (--per-class samples of every digit per guidance γ, one batch per γ, same judge; the
 * report holds the judge's label of every sample):
 *
 *   ts-node --transpile-only notebooks/experiments/controllable-mnist.ts classes --per-class 100 --N 200
 *        --corrector none --guidance 1,3 [--seed 1] [--threads 1] --out runs/classes/NAME.json
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, initBackend } from "../lib/backend";
import { createRng } from "../lib/random";
import { SubVPSDE, VESDE, VPSDE, perExample } from "../lib/sde";
import type { SDE } from "../lib/sde";
import { imagesToTensor, loadMnist } from "../lib/data";
import type { ImageDataset } from "../lib/data";
import { readJsonFile, readSafetensors, writeJsonAtomic, writeSafetensors } from "../lib/io";
import {
  classifierFromConfig, classifierGradFn, createImageClassifier, getClassifierWeights, pcConditionalSample, pcInpaint,
  regionMask, setClassifierWeights, trainNoiseConditionalClassifier,
} from "../lib/controllable";
import { ImageClassifier } from "../lib/metrics/images";
import { loadScoreModel, type LoadedScoreModel } from "../lib/data/score-model";
import type { ClassifierNetwork, ResampleOptions } from "../lib/controllable";
import { repoRoot } from "./results";

const ROOT = repoRoot();
export const CLASSIFIER_DIR = path.join(ROOT, "data", "classifiers");

/** The SDE of the committed MNIST score model's config (data/configs/mnist-vp.json): VP, β 0.1 → 20, N = 1000. */
export function mnistClassifierSde(): VPSDE {
  return new VPSDE({ betaMin: 0.1, betaMax: 20, N: 1000 });
}

/** Random training batches: uniform indices (one uniform per image) → pixels / 255 → 2x − 1 (centred data). */
export function mnistBatches(d: ImageDataset): (n: number, rng: ReturnType<typeof createRng>) => { x: tf.Tensor; labels: Int32Array } {
  return (n, rng) => {
    const u = rng.uniformArray(n);
    const idx = Int32Array.from(u, (v) => Math.min(d.n - 1, Math.floor(v * d.n)));
    const x01 = imagesToTensor(d, idx);
    const x = tf.tidy(() => x01.mul(2).sub(1));
    x01.dispose();
    return { x, labels: Int32Array.from(idx, (i) => d.labels[i]) };
  };
}

/** Test accuracy of the classifier on the first `count` test digits perturbed to each time t (one noise draw each). */
export function mnistAccuracy(net: ClassifierNetwork, sde: SDE, test: ImageDataset, times: number[], count = 2000, seed = 0): { t: number; accuracy: number }[] {
  const rng = createRng(seed);
  const idx = Int32Array.from({ length: count }, (_, i) => i);
  const out: { t: number; accuracy: number }[] = [];
  for (const t of times) {
    let correct = 0;
    for (let s = 0; s < count; s += 500) {
      const part = idx.subarray(s, Math.min(count, s + 500));
      const pred = tf.tidy(() => {
        const x0 = imagesToTensor(test, part).mul(2).sub(1);
        const tt = tf.fill([part.length], t);
        const { mean, std } = sde.marginalCoefficients(tt);
        const xt = perExample(mean, x0).mul(x0).add(perExample(std, x0).mul(rng.normal(x0.shape)));
        return net.apply(xt, std).argMax(1);
      });
      const p = pred.dataSync();
      pred.dispose();
      part.forEach((i, k) => (correct += p[k] === test.labels[i] ? 1 : 0));
    }
    out.push({ t, accuracy: correct / count });
  }
  return out;
}

/** Names of the committed noise-conditional classifiers (folders of data/classifiers holding a model.safetensors). */
export function committedClassifierNames(): string[] {
  if (!fs.existsSync(CLASSIFIER_DIR)) return [];
  return fs.readdirSync(CLASSIFIER_DIR).filter((d) => fs.existsSync(path.join(CLASSIFIER_DIR, d, "model.safetensors"))).sort();
}

/** A committed noise-conditional classifier with the SDE and data scaling it was trained for (file metadata). */
export interface CommittedClassifier {
  name: string;
  net: ClassifierNetwork;
  /** The SDE of its training perturbations: its marginal std s(t) is the network's noise input. */
  sde: SDE;
  /** Trained on centred ([−1, 1]) data. */
  centered: boolean;
  /** [height, width, channels] of its inputs. */
  imageShape: [number, number, number];
}

/** Rebuilds the training SDE recorded in a classifier file's metadata ({kind: "VP" | "subVP" | "VE", …}). */
function sdeFromMetadata(file: string, json: string | undefined): SDE {
  const c = JSON.parse(json ?? "{}") as { kind?: string; betaMin?: number; betaMax?: number; sigmaMin?: number; sigmaMax?: number; N?: number };
  if (c.kind === "VP") return new VPSDE({ betaMin: c.betaMin, betaMax: c.betaMax, N: c.N });
  if (c.kind === "subVP") return new SubVPSDE({ betaMin: c.betaMin, betaMax: c.betaMax, N: c.N });
  if (c.kind === "VE") return new VESDE({ sigmaMin: c.sigmaMin, sigmaMax: c.sigmaMax, N: c.N });
  throw new Error(`${path.relative(ROOT, file)}: metadata "sde" = ${JSON.stringify(json)} is not a VP, subVP or VE SDE record`);
}

/**
 * Loads the committed classifier data/classifiers/<name>/ (by convention named after the score model it guides):
 * the network from the file's metadata alone, and its training SDE. An error lists the committed names.
 */
export function loadCommittedClassifier(name: string): CommittedClassifier {
  const file = path.join(CLASSIFIER_DIR, name, "model.safetensors");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || !fs.existsSync(file)) {
    throw new Error(`no committed noise-conditional classifier "${name}" (data/classifiers/${name}/model.safetensors); committed: ${committedClassifierNames().join(", ") || "(none)"}; train one with notebooks/experiments/controllable-mnist.ts`);
  }
  const { tensors, metadata } = readSafetensors(file);
  const config = JSON.parse(metadata.config) as { size?: number; channels?: number };
  const net = classifierFromConfig(config);
  setClassifierWeights(net, tensors.map((t) => ({ name: t.name, shape: t.shape, values: t.data })));
  const data = JSON.parse(metadata.data ?? "{}") as { centered?: boolean };
  return { name, net, sde: sdeFromMetadata(file, metadata.sde), centered: data.centered !== false, imageShape: [config.size ?? 28, config.size ?? 28, config.channels ?? 1] };
}

/** Loads a committed classifier's network (architecture from the file's metadata). */
export function loadMnistClassifier(name = "mnist-vp"): ClassifierNetwork {
  return loadCommittedClassifier(name).net;
}

/**
 * Why `clf` cannot guide `model`, or undefined when it can: same image shape, same data scaling, and the same
 * forward process (marginal mean and std equal at t = 0.01, 0.1, 0.5, 1 within 1e-5 relative), since the classifier's
 * ∇ₓ log p_t(y | x) is only the right term of eq. 14 for the score model's own p_t.
 */
export function classifierMismatch(clf: CommittedClassifier, model: LoadedScoreModel): string | undefined {
  if (clf.imageShape.join("×") !== model.imageShape.join("×")) return `it takes ${clf.imageShape.join("×")} images, the model makes ${model.imageShape.join("×")}`;
  if (clf.centered !== model.centered) return `it was trained on ${clf.centered ? "[−1, 1]" : "[0, 1]"} data, the model works on ${model.centered ? "[−1, 1]" : "[0, 1]"}`;
  const ts = [0.01, 0.1, 0.5, 1];
  const coef = (sde: SDE) =>
    tf.tidy(() => {
      const { mean, std } = sde.marginalCoefficients(tf.tensor1d(ts));
      return [...mean.dataSync(), ...std.dataSync()];
    });
  const a = coef(clf.sde);
  const b = coef(model.sde);
  const k = a.findIndex((v, i) => Math.abs(v - b[i]) > 1e-5 * Math.max(1, Math.abs(b[i])));
  if (k >= 0) return `its training SDE differs from the model's (marginal ${k < ts.length ? "mean" : "std"} at t = ${ts[k % ts.length]}: ${a[k]} vs ${b[k]})`;
  return undefined;
}

export interface TrainMnistClassifierOptions {
  name?: string;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** Trains the MNIST classifier and writes data/classifiers/<name>/ (see the module comment). */
export async function trainMnistClassifier(o: TrainMnistClassifierOptions = {}): Promise<void> {
  const name = o.name ?? "mnist-vp";
  const steps = o.steps ?? 3000;
  const batchSize = o.batchSize ?? 128;
  const lr = o.lr ?? 2e-3;
  const log = o.log ?? ((l: string) => console.error(l));
  const train = loadMnist({ split: "train" });
  const test = loadMnist({ split: "test" });
  const sde = mnistClassifierSde();
  const net = createImageClassifier({ size: 28, channels: 1, numClasses: 10, features: 16, stages: 3, seed: o.seed ?? 0 });
  const t0 = Date.now();
  const r = await trainNoiseConditionalClassifier({
    net, sde, data: mnistBatches(train), steps, batchSize, lr, rng: createRng(o.seed ?? 0), logEvery: 100,
    onLog: ({ step, loss }) => log(`step ${step}/${steps}: cross-entropy ${loss.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`),
  });
  const wallSeconds = (Date.now() - t0) / 1000;
  const accuracy = mnistAccuracy(net, sde, test, [0.001, 0.1, 0.2, 0.3, 0.5, 0.7, 1]);
  log(`test accuracy by t: ${accuracy.map((a) => `${a.t}: ${(100 * a.accuracy).toFixed(1)} %`).join(", ")}`);
  const dir = path.join(CLASSIFIER_DIR, name);
  fs.mkdirSync(dir, { recursive: true });
  const metadata = {
    config: JSON.stringify(net.getConfig()),
    sde: JSON.stringify({ kind: "VP", betaMin: sde.betaMin, betaMax: sde.betaMax, N: sde.N }),
    data: JSON.stringify({ dataset: "mnist", centered: true }),
    noiseInput: "the marginal std s(t) of the SDE",
  };
  writeSafetensors(path.join(dir, "model.safetensors"), getClassifierWeights(net).map((w) => ({ name: w.name, shape: w.shape, data: w.values })), metadata);
  const backend = (await backendInfo())?.name;
  writeJsonAtomic(path.join(dir, "training.json"), {
    name, steps, batchSize, lr, seed: o.seed ?? 0, wallSeconds, backend, cpu: os.cpus()[0]?.model,
    config: net.getConfig(), losses: r.losses, testAccuracy: accuracy, testImages: 2000,
  });
  net.dispose();
  log(`wrote ${path.relative(ROOT, dir)}/model.safetensors and training.json (${wallSeconds.toFixed(0)} s)`);
}

/** The flags both measuring commands share (--N, --corrector, --seed, --threads, --out). */
interface CommonEvalArgs {
  N: number;
  corrector: "none" | "langevin";
  seed: number;
  threads: number;
  out: string;
}

/**
 * Parses `argv` as --flag value pairs for `command`: the shared flags here, the command's own by `own` (which
 * returns false for a flag it does not know); a bad flag names itself, its value and what is allowed.
 */
function parseEvalArgs<A extends CommonEvalArgs>(
  command: string,
  usage: string,
  argv: string[],
  required: [keyof A & string, string][],
  own: (k: string, v: string, a: Partial<A>, bad: (name: string, value: unknown, allowed: string) => never, int: (k: string, v: string, min: number, max: number) => number) => boolean,
): A {
  const bad = (name: string, value: unknown, allowed: string): never => {
    throw new RangeError(`controllable-mnist ${command}: ${name} = ${JSON.stringify(value)} is not allowed; ${name} must be ${allowed}\nusage: controllable-mnist.ts ${command} ${usage}`);
  };
  const int = (k: string, v: string, min: number, max: number, why = ""): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) bad(k, v, `an integer in ${min} … ${max}${why}`);
    return Number(v);
  };
  const a = { seed: 1, threads: 1 } as Partial<A>;
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined || v.startsWith("--")) bad(k, v, "followed by a value");
    switch (k) {
      case "--N": a.N = int(k, v, 21, 100000, " (the reverse-diffusion predictor needs β_max/N < 1; mnist-vp has β_max = 20)") as A["N"]; break;
      case "--corrector":
        if (v !== "none" && v !== "langevin") bad(k, v, `"none" or "langevin" (official: langevin, snr 0.16)`);
        a.corrector = v as A["corrector"]; break;
      case "--seed": a.seed = int(k, v, 0, 2 ** 31) as A["seed"]; break;
      case "--threads": a.threads = int(k, v, 1, 64) as A["threads"]; break;
      case "--out":
        if (!v.endsWith(".json")) bad(k, v, "a file name ending in .json");
        a.out = v as A["out"]; break;
      default:
        if (!own(k, v, a, bad, int)) bad("argument", k, `one of ${usage.match(/--[A-Za-z-]+/g)!.join(", ")}`);
    }
  }
  for (const [k, flag] of required) if (a[k] === undefined) bad(flag, undefined, "given");
  return a as A;
}

/** Settings of the `inpaint` command (see the module doc). */
export interface InpaintEvalArgs extends CommonEvalArgs {
  count: number;
  resample?: ResampleOptions;
  /** Manifold-constraint step size ζ (absent: none). */
  manifold?: number;
}

export function parseInpaintEvalArgs(argv: string[]): InpaintEvalArgs {
  const usage = "--count K --N STEPS --corrector none|langevin [--resample J,R] [--manifold ZETA] [--seed S] [--threads T] --out FILE.json";
  const required: [keyof InpaintEvalArgs & string, string][] = [["count", "--count"], ["N", "--N"], ["corrector", "--corrector"], ["out", "--out"]];
  return parseEvalArgs<InpaintEvalArgs>("inpaint", usage, argv, required, (k, v, a, bad, int) => {
    switch (k) {
      case "--count": a.count = int(k, v, 1, 10000); return true;
      case "--resample": {
        const m = /^(\d+),(\d+)$/.exec(v);
        if (!m) bad(k, v, "J,R: jump length and number of resamplings, two positive integers (e.g. 10,4)");
        a.resample = { jumpLength: Number(m![1]), resamplings: Number(m![2]) };
        return true;
      }
      case "--manifold":
        if (!/^\d+(\.\d+)?(e-?\d+)?$/.test(v) || !(Number(v) > 0) || !Number.isFinite(Number(v))) bad(k, v, "a finite number > 0 (the manifold-constraint step size ζ, e.g. 1)");
        a.manifold = Number(v); return true;
      default: return false;
    }
  });
}

/** The `inpaint` command: bottom-half inpainting of the first `count` test digits; writes a JSON report. */
export async function runInpaintEval(a: InpaintEvalArgs, log: (line: string) => void = (l) => console.error(l)): Promise<void> {
  const t0 = Date.now();
  let last = 0;
  const r = await runMnistControl({
    N: a.N, perClass: 0, guidances: [], inpaintCount: a.count, corrector: a.corrector, resample: a.resample, manifold: a.manifold,
    onInpaintStep: (done, total) => {
      if (Date.now() - last < 60_000 && done < total) return;
      last = Date.now();
      const s = (last - t0) / 1000;
      log(`step ${done}/${total}, ${s.toFixed(0)} s, ~${((s / done) * (total - done)).toFixed(0)} s left`);
    },
  }, a.seed);
  const backend = (await backendInfo())?.name;
  const labels = loadMnist({ split: "test" }).labels;
  const kept = r.inpainting.completedLabels.map((p, i) => p === labels[i]);
  const keptFirst = (k: number) => (k <= kept.length ? kept.slice(0, k).filter(Boolean).length / k : null);
  writeJsonAtomic(path.resolve(a.out), {
    what: "bottom-half inpainting of MNIST test digits 0 … count − 1 by the committed mnist-vp, judged by data/pretrained/classifier-mnist (issue #16: ≥ 80 % keep their label)",
    scoreModelStep: r.scoreModelStep,
    settings: { count: a.count, N: a.N, predictor: "reverse_diffusion", corrector: a.corrector, snr: a.corrector === "langevin" ? 0.16 : undefined, resample: a.resample ?? null, manifold: a.manifold ?? null, seed: a.seed, rngSeed: a.seed + 1, denoise: true },
    keptLabel: r.inpainting.keptLabel,
    keptLabelFirst50: keptFirst(50),
    keptLabelFirst100: keptFirst(100),
    originalCorrect: r.inpainting.originalCorrect,
    nfePerDigit: r.inpainting.nfe,
    scoreEvalsPerDigit: r.inpainting.scoreEvals,
    seconds: r.inpainting.seconds,
    threads: a.threads,
    backend,
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    loadAverage: os.loadavg(),
    date: new Date().toISOString(),
    completedLabels: r.inpainting.completedLabels,
    testLabels: Array.from(labels.subarray(0, a.count)),
  });
  log(`${a.count} digits: ${(100 * r.inpainting.keptLabel).toFixed(1)} % keep their label (originals ${(100 * r.inpainting.originalCorrect).toFixed(1)} %), NFE ${r.inpainting.nfe}, ${r.inpainting.seconds.toFixed(0)} s; wrote ${a.out}`);
}

/** Where committed `inpaint` and `classes` reports live (measured by those commands, copied here when kept). */
export const CONTROLLABLE_RESULTS_DIR = path.join(ROOT, "data", "results", "controllable");

/** The committed reports `<prefix>*.json` in `dir`, read (a malformed one is refused naming its file). */
function committedReports<R>(dir: string, prefix: string, what: string): { file: string; r: R }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".json"))
    .map((file) => ({ file, r: readJsonFile<R>(path.join(dir, file), what) }));
}

/** One committed inpainting measurement, as notebook 07 shows it. */
export interface InpaintReportRow {
  file: string;
  count: number;
  N: number;
  corrector: string;
  resample: ResampleOptions | null;
  /** Manifold-constraint step size ζ, or null (none; also in reports written before the option existed). */
  manifold: number | null;
  /** Score evaluations per digit in the official count (grid steps × (1 + corrector steps)). */
  nfePerDigit: number;
  /** All score evaluations per digit: with `manifold` one more per grid step (with its backward pass). */
  scoreEvalsPerDigit: number;
  keptLabel: number;
  keptLabelFirst100: number | null;
  originalCorrect: number;
  seconds: number;
  scoreModelStep: number;
}

/**
 * The committed `inpaint` reports (data/results/controllable/inpaint-*.json), sorted by score evaluations. Each is re-scored from
 * its per-digit labels (the stored fraction must agree with them), so a hand-edited number cannot pass.
 */
export function committedInpaintReports(dir = CONTROLLABLE_RESULTS_DIR): InpaintReportRow[] {
  return committedReports<{
    settings: { count: number; N: number; corrector: string; resample: ResampleOptions | null; manifold?: number | null };
    keptLabel: number; keptLabelFirst100: number | null; originalCorrect: number; nfePerDigit: number; seconds: number;
    scoreEvalsPerDigit?: number;
    scoreModelStep: number; completedLabels: number[]; testLabels: number[];
  }>(dir, "inpaint-", "inpainting report")
    .map(({ file: f, r }) => {
      const kept = r.completedLabels.filter((p, i) => p === r.testLabels[i]).length / r.completedLabels.length;
      if (r.completedLabels.length !== r.settings.count || Math.abs(kept - r.keptLabel) > 1e-12) {
        throw new Error(`${f}: keptLabel ${r.keptLabel} disagrees with its ${r.completedLabels.length} per-digit labels (${kept})`);
      }
      // Reports written before scoreEvalsPerDigit existed: the manifold gradient adds one evaluation per grid step
      // (N without resampling); without it every evaluation is in nfePerDigit.
      const manifold = r.settings.manifold ?? null;
      if (r.scoreEvalsPerDigit === undefined && manifold !== null && r.settings.resample) throw new Error(`${f}: no scoreEvalsPerDigit`);
      return {
        file: f, count: r.settings.count, N: r.settings.N, corrector: r.settings.corrector, resample: r.settings.resample, manifold,
        nfePerDigit: r.nfePerDigit, scoreEvalsPerDigit: r.scoreEvalsPerDigit ?? r.nfePerDigit + (manifold !== null ? r.settings.N : 0),
        keptLabel: r.keptLabel, keptLabelFirst100: r.keptLabelFirst100, originalCorrect: r.originalCorrect, seconds: r.seconds,
        scoreModelStep: r.scoreModelStep,
      };
    })
    .sort((a, b) => a.scoreEvalsPerDigit - b.scoreEvalsPerDigit);
}

/** Settings of the `classes` command (see the module doc). */
export interface ClassEvalArgs extends CommonEvalArgs {
  perClass: number;
  guidances: number[];
}

export function parseClassEvalArgs(argv: string[]): ClassEvalArgs {
  const usage = "--per-class K --N STEPS --corrector none|langevin --guidance G[,G…] [--seed S] [--threads T] --out FILE.json";
  const required: [keyof ClassEvalArgs & string, string][] = [["perClass", "--per-class"], ["N", "--N"], ["corrector", "--corrector"], ["guidances", "--guidance"], ["out", "--out"]];
  return parseEvalArgs<ClassEvalArgs>("classes", usage, argv, required, (k, v, a, bad, int) => {
    switch (k) {
      case "--per-class": a.perClass = int(k, v, 1, 1000); return true;
      case "--guidance": {
        const g = v.split(",").map(Number);
        if (!g.every((x) => Number.isFinite(x) && x >= 0)) bad(k, v, "guidance scales γ ≥ 0 separated by commas (0: unconditional, 1: the paper's Bayes rule)");
        a.guidances = g;
        return true;
      }
      default: return false;
    }
  });
}

/** The `classes` command: `perClass` class-conditional samples of every digit per γ; writes a JSON report. */
export async function runClassEval(a: ClassEvalArgs, log: (line: string) => void = (l) => console.error(l)): Promise<void> {
  const r = await runMnistClassConditional({ N: a.N, perClass: a.perClass, guidances: a.guidances, corrector: a.corrector }, a.seed);
  writeJsonAtomic(path.resolve(a.out), {
    what: "class-conditional MNIST digits (perClass of each of 0 … 9 per guidance γ) by the committed mnist-vp and noise-conditional classifier, judged by data/pretrained/classifier-mnist (issue #16: ≥ 90 % recognised as the requested class)",
    scoreModelStep: r.scoreModelStep,
    settings: { perClass: a.perClass, N: a.N, predictor: "reverse_diffusion", corrector: a.corrector, snr: a.corrector === "langevin" ? 0.16 : undefined, guidances: a.guidances, seed: a.seed, denoise: true },
    rows: r.rows.map((row) => ({ ...row, fraction: row.correct / row.total })),
    threads: a.threads,
    backend: (await backendInfo())?.name,
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    loadAverage: os.loadavg(),
    date: new Date().toISOString(),
    requestedLabels: "sample i asks for digit ⌊i / perClass⌋",
    predicted: r.predicted,
  });
  for (const row of r.rows) log(`γ = ${row.guidance}: ${row.correct} / ${row.total} recognised as requested (${(100 * row.correct / row.total).toFixed(1)} %), ${row.seconds.toFixed(0)} s`);
  log(`wrote ${a.out}`);
}

/** One committed `classes` report row per γ (data/results/controllable/classes-*.json), re-scored from its labels. */
export interface ClassReportRow {
  file: string;
  perClass: number;
  N: number;
  corrector: string;
  guidance: number;
  correct: number;
  total: number;
  perClassCorrect: number[];
  seconds: number;
  scoreModelStep: number;
}

/** The committed `classes` reports, one row per γ; each is re-scored from its per-sample labels. */
export function committedClassReports(dir = CONTROLLABLE_RESULTS_DIR): ClassReportRow[] {
  return committedReports<{
    settings: { perClass: number; N: number; corrector: string };
    rows: { guidance: number; correct: number; total: number; perClassCorrect: number[]; seconds: number }[];
    predicted: Record<string, number[]>;
    scoreModelStep: number;
  }>(dir, "classes-", "class-conditional report")
    .flatMap(({ file: f, r }) => {
      return r.rows.map((row) => {
        const pred = r.predicted[`γ=${row.guidance}`] ?? [];
        const correct = pred.filter((p, i) => p === Math.floor(i / r.settings.perClass)).length;
        if (pred.length !== row.total || correct !== row.correct) {
          throw new Error(`${f}: γ = ${row.guidance}: ${row.correct} / ${row.total} disagrees with its ${pred.length} per-sample labels (${correct} correct)`);
        }
        return { file: f, perClass: r.settings.perClass, N: r.settings.N, corrector: r.settings.corrector, ...row, scoreModelStep: r.scoreModelStep };
      });
    });
}

if (require.main === module && (process.argv[2] === "inpaint" || process.argv[2] === "classes")) {
  (async () => {
    if (process.argv[2] === "inpaint") {
      const a = parseInpaintEvalArgs(process.argv.slice(3));
      await initBackend({ quiet: true, wasmThreads: a.threads });
      await runInpaintEval(a);
    } else {
      const a = parseClassEvalArgs(process.argv.slice(3));
      await initBackend({ quiet: true, wasmThreads: a.threads });
      await runClassEval(a);
    }
  })().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
} else if (require.main === module) {
  const arg = (k: string): string | undefined => {
    const i = process.argv.indexOf(k);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  (async () => {
    await initBackend({ quiet: true });
    await trainMnistClassifier({
      name: arg("--name"),
      steps: arg("--steps") ? Number(arg("--steps")) : undefined,
      batchSize: arg("--batch") ? Number(arg("--batch")) : undefined,
    });
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

export interface MnistControlSettings {
  /** Sampler steps N (the score model's SDE re-discretised; continuous-time labels). */
  N: number;
  /** Class-conditional samples per class. */
  perClass: number;
  /** Guidance scales γ to run. */
  guidances: number[];
  /** Test digits whose bottom half is inpainted. */
  inpaintCount: number;
  /** Corrector of the PC samplers (default "none"; the official configuration is "langevin" with snr 0.16). */
  corrector?: "none" | "langevin";
  /** Inpainting only: RePaint resampling (lib/controllable/inpaint.ts; default none, the official inpainter). */
  resample?: ResampleOptions;
  /** Inpainting only: manifold-constraint step size ζ (lib/controllable/inpaint.ts; default none). */
  manifold?: number;
  /**
   * Also completes the 10 displayed digits with the manifold-constraint gradient of this step size (same N, same
   * corrector, createRng(seed + 2)), for the figure beside the plain completions; absent: not run.
   */
  displayManifold?: number;
  /** Inpainting only: called after every grid step with the steps done and their total (progress display). */
  onInpaintStep?: (done: number, total: number) => void;
}

export function mnistControlSettings(quick: boolean): MnistControlSettings {
  return quick
    ? { N: 100, perClass: 2, guidances: [1], inpaintCount: 20, displayManifold: 1 }
    : { N: 200, perClass: 10, guidances: [0, 1, 3], inpaintCount: 500, displayManifold: 1 };
}

/** One image per row of `rows` (each [k·h·w] pixels in [0, 1]) laid out as a mosaic [rows·h][k·w] (for a heatmap). */
export function mosaic(rows: Float32Array[], perRow: number, h = 28, w = 28): number[][] {
  const out: number[][] = [];
  rows.forEach((imgs) => {
    for (let y = 0; y < h; y++) {
      const line: number[] = [];
      for (let k = 0; k < perRow; k++) for (let x = 0; x < w; x++) line.push(Math.round(imgs[k * h * w + y * w + x] * 100) / 100);
      out.push(line);
    }
  });
  return out;
}

/** Index of the largest of each row of K probabilities. */
function argmaxRows(p: Float64Array, K: number): Int32Array {
  const n = p.length / K;
  return Int32Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + b]) b = k;
    return b;
  });
}

export interface MnistClassConditionalRow {
  guidance: number;
  /** Samples the images issue's classifier assigns to the requested class. */
  correct: number;
  total: number;
  /** The same per requested digit 0 … 9 (of perClass each). */
  perClassCorrect: number[];
  seconds: number;
}

export interface MnistControlResult {
  /** Training steps of the committed score model used. */
  scoreModelStep: number;
  classConditional: MnistClassConditionalRow[];
  /** Per guidance: the samples' pixels in [0, 1], class by class ([10 · perClass · 784]). */
  classImages: Record<string, Float32Array>;
  inpainting: {
    count: number;
    keptLabel: number;
    originalCorrect: number;
    seconds: number;
    /** Score evaluations per digit (grid steps × (1 + corrector steps); resampled steps included). */
    nfe: number;
    /** All score evaluations per digit: `nfe` plus one (with its backward pass) per grid step with `manifold`. */
    scoreEvals: number;
    /** The judge's label for each completion, digit by digit (test indices 0 … count − 1). */
    completedLabels: number[];
  };
  /** First 10 digits: originals, masked inputs, completions, and with `displayManifold` MCG's ([10 · 784] each). */
  inpaintImages: { original: Float32Array; masked: Float32Array; completed: Float32Array; completedManifold?: Float32Array };
}

/**
 * Class-conditional sampling with the committed MNIST score model (data/pretrained/mnist-vp) and its committed
 * noise-conditional classifier (data/classifiers/mnist-vp): `perClass` samples of each digit 0 … 9 per guidance γ, in
 * one batch per γ drawn from createRng(seed), judged by the images issue's MNIST classifier (data/pretrained/
 * classifier-mnist). Reverse-diffusion predictor; no corrector unless `s.corrector` (official: Langevin, snr 0.16).
 */
export async function runMnistClassConditional(
  s: Pick<MnistControlSettings, "N" | "perClass" | "guidances" | "corrector">,
  seed = 1,
): Promise<{ scoreModelStep: number; rows: MnistClassConditionalRow[]; images: Record<string, Float32Array>; predicted: Record<string, number[]> }> {
  const { m, judge } = loadMnistControlModels();
  try {
    return { scoreModelStep: m.step, ...(await classConditionalWith(m, judge, s, seed)) };
  } finally {
    m.dispose();
  }
}

/** The images issue's MNIST classifier, which judges the samples. */
type Judge = ReturnType<typeof ImageClassifier.load>["classifier"];

/**
 * The committed mnist-vp score model and the images issue's judge, read from this checkout's data/pretrained (found
 * from package.json, so it also works from the notebooks/ link).
 */
function loadMnistControlModels(): { m: LoadedScoreModel; judge: Judge } {
  const m = loadScoreModel(path.join(ROOT, "data", "pretrained", "mnist-vp", "model.ckpt"));
  const judge = ImageClassifier.load(path.join(ROOT, "data", "pretrained", "classifier-mnist", "model.safetensors")).classifier;
  return { m, judge };
}

/** `runMnistClassConditional` with the models given (the caller disposes the score model). */
async function classConditionalWith(
  m: LoadedScoreModel,
  judge: Judge,
  s: Pick<MnistControlSettings, "N" | "perClass" | "guidances" | "corrector">,
  seed: number,
): Promise<{ rows: MnistClassConditionalRow[]; images: Record<string, Float32Array>; predicted: Record<string, number[]> }> {
  const { sde, score } = m.withSteps(s.N);
  const committed = loadCommittedClassifier("mnist-vp");
  const grad = classifierGradFn(committed.net, committed.sde);
  const labels = Int32Array.from({ length: 10 * s.perClass }, (_, i) => Math.floor(i / s.perClass));
  const rows: MnistClassConditionalRow[] = [];
  const images: Record<string, Float32Array> = {};
  const predicted: Record<string, number[]> = {};
  try {
    for (const g of s.guidances) {
      const t0 = Date.now();
      const out = await pcConditionalSample({
        sde, score, shape: [labels.length, 28, 28, 1], classifierGrad: grad, labels, guidance: g, predictor: "reverse_diffusion", corrector: s.corrector ?? "none", snr: 0.16, rng: createRng(seed),
      });
      const img = m.toImages(out.samples);
      const pixels = Float32Array.from(img.dataSync());
      tf.dispose([out.samples, img]);
      const pred = argmaxRows(judge.evaluate(pixels, labels.length).probs, 10);
      const perClassCorrect = Array.from({ length: 10 }, (_, c) => pred.filter((p, i) => labels[i] === c && p === c).length);
      rows.push({ guidance: g, correct: pred.filter((p, i) => p === labels[i]).length, total: labels.length, perClassCorrect, seconds: (Date.now() - t0) / 1000 });
      images[`γ=${g}`] = pixels;
      predicted[`γ=${g}`] = Array.from(pred);
    }
    return { rows, images, predicted };
  } finally {
    committed.net.dispose();
  }
}

/**
 * Class-conditional sampling and bottom-half inpainting with the committed MNIST score model (data/pretrained,
 * images issue) and the committed noise-conditional classifier; judged by the images issue's MNIST classifier
 * (data/pretrained/classifier-mnist). Reverse-diffusion predictor; no corrector unless `s.corrector` (official: Langevin,
 * snr 0.16).
 */
export async function runMnistControl(s: MnistControlSettings, seed = 1): Promise<MnistControlResult> {
  const { m, judge } = loadMnistControlModels();
  try {
    return await controlWith(m, judge, s, seed);
  } finally {
    m.dispose();
  }
}

/** `runMnistControl` with the models given (the caller disposes the score model). */
async function controlWith(m: LoadedScoreModel, judge: Judge, s: MnistControlSettings, seed: number): Promise<MnistControlResult> {
  const { rows: classConditional, images: classImages } = await classConditionalWith(m, judge, s, seed);
  const { sde, score } = m.withSteps(s.N);
  // Inpainting: the bottom half of the first inpaintCount test digits is unknown.
  const test = loadMnist({ split: "test" });
  const idx = Int32Array.from({ length: s.inpaintCount }, (_, i) => i);
  const t0 = Date.now();
  const x01 = imagesToTensor(test, idx);
  const data = m.fromImages(x01);
  const mask = regionMask("bottom", 28, 28, 1);
  const out = await pcInpaint({
    sde, score, data, mask, predictor: "reverse_diffusion", corrector: s.corrector ?? "none", snr: 0.16, rng: createRng(seed + 1), resample: s.resample,
    manifold: s.manifold === undefined ? undefined : { weight: s.manifold },
    onStep: s.onInpaintStep && ((_i, done, total) => s.onInpaintStep!(done, total)),
  });
  const done = m.toImages(out.samples);
  const completed = Float32Array.from(done.dataSync());
  const original = Float32Array.from(x01.dataSync());
  const masked = Float32Array.from(tf.tidy(() => x01.mul(mask)).dataSync());
  // The displayed digits once more with the manifold gradient (same inputs and mask, its own generator).
  let completedManifold: Float32Array | undefined;
  if (s.displayManifold !== undefined) {
    const data10 = data.slice(0, Math.min(10, s.inpaintCount));
    const mcg = await pcInpaint({
      sde, score, data: data10, mask, predictor: "reverse_diffusion", corrector: s.corrector ?? "none", snr: 0.16, rng: createRng(seed + 2),
      manifold: { weight: s.displayManifold },
    });
    const img = m.toImages(mcg.samples);
    completedManifold = Float32Array.from(img.dataSync());
    tf.dispose([data10, mcg.samples, img]);
  }
  tf.dispose([x01, data, mask, out.samples, done]);
  const predDone = argmaxRows(judge.evaluate(completed, idx.length).probs, 10);
  const predOrig = argmaxRows(judge.evaluate(original, idx.length).probs, 10);
  const inpainting = {
    count: idx.length,
    keptLabel: predDone.filter((p, i) => p === test.labels[i]).length / idx.length,
    originalCorrect: predOrig.filter((p, i) => p === test.labels[i]).length / idx.length,
    seconds: (Date.now() - t0) / 1000,
    nfe: out.nfe,
    scoreEvals: out.scoreEvals,
    completedLabels: Array.from(predDone),
  };
  const first = (a: Float32Array) => a.slice(0, 10 * 784);
  return { scoreModelStep: m.step, classConditional, classImages, inpainting, inpaintImages: { original: first(original), masked: first(masked), completed: first(completed), completedManifold } };
}
