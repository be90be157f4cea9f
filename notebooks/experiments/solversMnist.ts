/**
 * Notebook 08's comparison on a committed image model (issue #15: "the same comparison on the committed MNIST model
 * (image FD of the images issue)"): for each (solver, steps) setting, n samples drawn with lib/solvers' `sample`
 * from the model's score, ending with the same Tweedie denoising step as the toy comparison, scored by the Fréchet
 * distance of the image classifier's penultimate features against the test split (lib/metrics/images:
 * featureStats, frechetDistance; the protocol of tools/evaluate-images.ts).
 *
 * Resumable: the samples of a setting are drawn in chunks of `chunk` images; a chunk is one float32 NPY
 * `<label>/chunk-NNNN.npy` ([b, H, W, C] in [0, 1]) plus its record `.json` (settings, NFE, seconds), both written
 * atomically, and a chunk whose files exist (with the same settings) is read back instead of drawn — so a killed run
 * continues where it stopped. Chunk k of a setting draws from seed · 1 000 003 + k, so it does not depend on the
 * chunks before it. The classifier is loaded from its path when the comparison runs (it is being retrained; nothing
 * derived from it is cached), and the test features are recomputed every run.
 *
 * Layout: chunks in `<chunkDir>/<model>-step<step>/<label>/chunk-*.{npy,json}` (default runs/solvers/ at the
 * repository root, ignored by git: 3 MB per 1000 samples and setting) and, after a full run, the result
 * `<dir>/mnist_<model>.json` + `.csv` (saveResult; `dir` defaults to data/results/solvers, solverResultsDir,
 * SCORE_SDE_RESULTS_DIR honoured).
 *
 *   nice -n 10 npx ts-node --transpile-only notebooks/experiments/solversMnist.ts --model mnist-vp --n 1000 \
 *     [--chunk 100] [--seed 0] [--settings ddim:20,dpm_solver_pp_2m:10,…] [--classifier file] [--dir folder]
 *     [--chunk-dir folder]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { datasetTensor, permutation } from "../lib/data/dataset";
import { loadImageDataset, type ImageDatasetName } from "../lib/data/images";
import type { LoadedScoreModel } from "../lib/data/score-model";
import { readJsonFile, readNpy, writeJsonAtomic, writeNpy } from "../lib/io";
import { ImageClassifier, featureStats, frechetDistance } from "../lib/metrics/images";
import { createRng } from "../lib/random";
import { getSolver, sample } from "../lib/solvers";
import type { GridKind } from "../lib/solvers";
import { loadPretrained, pretrainedRecord, PRETRAINED_DIR } from "./pretrained";
import { recomputeForced, repoRoot, saveResult, type ResultStore } from "./results";
import { solverResultsDir } from "./solvers";

/** One sampler setting: a registered solver, its grid intervals K, and optionally its grid kind and options. */
export interface MnistSolverSetting {
  solver: string;
  steps: number;
  gridKind?: GridKind;
  options?: Record<string, unknown>;
}

export interface MnistSolverComparisonOptions {
  /** A committed model's name (data/pretrained/<name>) — or an already loaded model (tests). */
  model: string | LoadedScoreModel;
  settings: readonly MnistSolverSetting[];
  /** Samples per setting. */
  n: number;
  /** Samples per chunk (one NPY each; default 100). */
  chunk?: number;
  seed?: number;
  /** The classifier's safetensors (default data/pretrained/classifier-<dataset>/model.safetensors), read at run time. */
  classifierFile?: string;
  /** Where the result JSON/CSV goes (default data/results/solvers). */
  dir?: string;
  /** Where the sample chunks go (default runs/solvers at the repository root; regenerable bulk, not committed). */
  chunkDir?: string;
  /** Test images for the reference statistics (default: the whole test split). */
  testCount?: number;
  /** Write the result JSON/CSV (full runs; default true). */
  save?: boolean;
  log?: (line: string) => void;
}

export interface MnistSolverRow {
  label: string;
  solver: string;
  steps: number;
  /** Score evaluations per sample, denoising step included. */
  nfe: number;
  n: number;
  fd: number;
  /** Sampling seconds per sample, summed over the chunks (whenever they were drawn). */
  secondsPerSample: number;
}

export interface MnistSolverComparison {
  model: string;
  step: number;
  classifierFile: string;
  /** FD of n training images against the test statistics: the floor a perfect sampler reaches at this n. */
  trainFloorFd: number;
  rows: MnistSolverRow[];
}

export const settingLabel = (s: MnistSolverSetting): string =>
  [s.solver, `K${s.steps}`, s.gridKind, s.options && Object.keys(s.options).length ? Object.entries(s.options).map(([k, v]) => `${k}=${v}`).join("_") : undefined]
    .filter(Boolean)
    .join("-");

function checkOptions(o: MnistSolverComparisonOptions): void {
  const where = "runMnistSolverComparison";
  if (!Number.isInteger(o.n) || o.n < 2) throw new Error(`${where}: n = ${o.n}; must be an integer ≥ 2 (samples per setting; FD needs ≥ 2)`);
  const chunk = o.chunk ?? 100;
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`${where}: chunk = ${chunk}; must be an integer ≥ 1`);
  if (!Array.isArray(o.settings) || o.settings.length === 0) throw new Error(`${where}: settings = ${JSON.stringify(o.settings)}; must be a non-empty list of { solver, steps }`);
  for (const s of o.settings) {
    getSolver(s.solver); // unknown names fail here, listing the registered ones
    if (!Number.isInteger(s.steps) || s.steps < 1) throw new Error(`${where}: steps = ${s.steps} for ${s.solver}; must be an integer ≥ 1`);
  }
}

/**
 * Draws (or reads back) the n samples of one setting in chunks; returns the images in [0, 1] (NHWC, flat), the NFE
 * per sample and the sampling seconds summed over the chunks.
 */
export async function mnistSettingSamples(
  m: LoadedScoreModel,
  s: MnistSolverSetting,
  o: { n: number; chunk: number; seed: number; dir: string; log?: (line: string) => void },
): Promise<{ images: Float32Array; nfe: number; seconds: number }> {
  const [h, w, c] = m.imageShape;
  const per = h * w * c;
  const folder = path.join(o.dir, settingLabel(s));
  fs.mkdirSync(folder, { recursive: true });
  const images = new Float32Array(o.n * per);
  const base = { step: m.step, solver: s.solver, steps: s.steps, gridKind: s.gridKind ?? null, options: s.options ?? {}, denoise: true, seed: o.seed, chunk: o.chunk };
  let nfe = 0;
  let seconds = 0;
  for (let k = 0, done = 0; done < o.n; k++, done += o.chunk) {
    const b = Math.min(o.chunk, o.n - done);
    const stem = path.join(folder, `chunk-${String(k).padStart(4, "0")}`);
    const settings = { ...base, index: k, images: b };
    let rec: { nfe: number; seconds: number } | undefined;
    if (fs.existsSync(`${stem}.json`) && fs.existsSync(`${stem}.npy`)) {
      const r = readJsonFile<{ settings: unknown; nfe: number; seconds: number }>(`${stem}.json`, "solver comparison chunk record (delete the chunk's .json and .npy to redraw it)");
      if (JSON.stringify(r.settings) !== JSON.stringify(settings)) {
        throw new Error(`${stem}.json: drawn with other settings (${JSON.stringify(r.settings)}, now ${JSON.stringify(settings)}); use another dir or delete ${folder}`);
      }
      const x = readNpy(`${stem}.npy`);
      if (x.data.length !== b * per) throw new Error(`${stem}.npy: shape [${x.shape}], expected [${b}, ${h}, ${w}, ${c}]; delete it and its .json to redraw`);
      images.set(x.data as Float32Array, done * per);
      rec = r;
    } else {
      const t0 = Date.now();
      const out = await sample({
        sde: m.sde,
        score: m.score,
        shape: [b, h, w, c],
        solver: s.solver,
        steps: s.steps,
        gridKind: s.gridKind,
        options: s.options,
        denoise: true,
        rng: createRng(o.seed * 1_000_003 + k),
      });
      const img = tf.tidy(() => m.toImages(out.samples));
      const data = Float32Array.from(img.dataSync() as Float32Array);
      tf.dispose([img, out.samples]);
      rec = { nfe: out.nfe, seconds: (Date.now() - t0) / 1000 };
      writeNpy(`${stem}.npy`, data, [b, h, w, c]);
      writeJsonAtomic(`${stem}.json`, { settings, ...rec });
      images.set(data, done * per);
    }
    nfe = Math.max(nfe, rec.nfe);
    seconds += rec.seconds;
    o.log?.(`${settingLabel(s)}: ${done + b}/${o.n} (chunk ${k}, ${rec.seconds.toFixed(1)} s)`);
  }
  return { images, nfe, seconds };
}

/** The comparison (see the module comment). */
export async function runMnistSolverComparison(o: MnistSolverComparisonOptions): Promise<MnistSolverComparison> {
  checkOptions(o);
  const chunk = o.chunk ?? 100;
  const seed = o.seed ?? 0;
  const ownModel = typeof o.model === "string";
  const m = typeof o.model === "string" ? loadPretrained(o.model) : o.model;
  // A loaded committed model is named by its folder (data/pretrained/<name>/model.ckpt), a checkpoint by its file.
  const name = typeof o.model === "string" ? o.model : path.basename(m.file) === "model.ckpt" ? path.basename(path.dirname(m.file)) : path.basename(m.file).replace(/\.ckpt$/, "");
  const dataset = (m.dataset ?? "mnist") as ImageDatasetName;
  const classifierFile = o.classifierFile ?? path.join(PRETRAINED_DIR, `classifier-${dataset}`, "model.safetensors");
  const root = o.dir ?? solverResultsDir();
  const dir = path.join(o.chunkDir ?? path.join(repoRoot(), "runs", "solvers"), `${name}-step${m.step}`);
  try {
    const { classifier } = ImageClassifier.load(classifierFile);
    try {
      const hidden = classifier.config.hidden;
      const statsOf = (imgs: Float32Array, count: number) => featureStats(classifier.evaluate(imgs, count).features, hidden);
      const hostImages = (d: ReturnType<typeof loadImageDataset>, count: number) => {
        const t = datasetTensor(d, count);
        const v = Float32Array.from(t.dataSync() as Float32Array);
        t.dispose();
        return v;
      };
      const test = loadImageDataset(dataset, "test");
      const testCount = Math.min(o.testCount ?? test.n, test.n);
      const testStats = statsOf(hostImages(test, testCount), testCount);
      const train = loadImageDataset(dataset, "train");
      // The floor: n training images drawn at random, as tools/evaluate-images.ts does (the seed there is 1234 + seed).
      // The first n are not a fair draw: MNIST's training file starts with one writer population (n = 1000 scored
      // FD 10.2 against 4.3 for a random 1000).
      const pick = permutation(train.n, 1234 + seed).subarray(0, o.n);
      const all = hostImages(train, train.n);
      const D = m.imageShape.reduce((a, b) => a * b, 1);
      const floorImgs = new Float32Array(o.n * D);
      pick.forEach((j, i) => floorImgs.set(all.subarray(j * D, (j + 1) * D), i * D));
      const trainFloorFd = frechetDistance(statsOf(floorImgs, o.n), testStats);
      const rows: MnistSolverRow[] = [];
      for (const s of o.settings) {
        const r = await mnistSettingSamples(m, s, { n: o.n, chunk, seed, dir, log: o.log });
        const fd = frechetDistance(statsOf(r.images, o.n), testStats);
        rows.push({ label: settingLabel(s), solver: s.solver, steps: s.steps, nfe: r.nfe, n: o.n, fd, secondsPerSample: r.seconds / o.n });
        o.log?.(`${settingLabel(s)}: NFE ${r.nfe}, FD ${fd.toFixed(3)} (train floor ${trainFloorFd.toFixed(3)})`);
      }
      const result: MnistSolverComparison = { model: name, step: m.step, classifierFile, trainFloorFd, rows };
      if (o.save ?? true) {
        const store: ResultStore = { dir: root, what: "MNIST solver comparison (regenerate it with runMnistSolverComparison; the chunks are reused)" };
        saveResult(`mnist_${name}`, { experiment: "mnist solver comparison", settings: { model: name, step: m.step, n: o.n, chunk, seed, testCount, classifierFile: path.relative(root, classifierFile), settings: o.settings }, backend: tf.getBackend(), createdAt: new Date().toISOString(), wallSeconds: rows.reduce((a, r) => a + r.secondsPerSample * r.n, 0), payload: result }, { "": rows.map((r) => ({ ...r })) }, store);
      }
      return result;
    } finally {
      classifier.dispose();
    }
  } finally {
    if (ownModel) m.dispose();
  }
}

/**
 * Parses `--settings solver:K[:grid][:option=value…],…` (e.g. ddim:20,heun:10:karras,ddim:100:eta=1,
 * edm_stochastic:50:sChurn=10). Option values are numbers; the solver itself validates their names and ranges.
 */
export function parseSettings(spec: string): MnistSolverSetting[] {
  return spec.split(",").map((part) => {
    const [solver, k, ...rest] = part.split(":");
    const steps = Number(k);
    if (!solver || !Number.isInteger(steps) || steps < 1) throw new Error(`--settings: "${part}" is not solver:K (K an integer ≥ 1), e.g. dpm_solver_pp_2m:10`);
    const setting: MnistSolverSetting = { solver, steps };
    const options: Record<string, unknown> = {};
    rest.forEach((r, i) => {
      const eq = r.indexOf("=");
      if (eq < 0) {
        if (i > 0) throw new Error(`--settings: "${part}": the grid kind ("${r}") must come right after K, before option=value parts`);
        setting.gridKind = r as GridKind;
        return;
      }
      const value = Number(r.slice(eq + 1));
      if (eq === 0 || r.slice(eq + 1).trim() === "" || !Number.isFinite(value)) {
        throw new Error(`--settings: "${part}": "${r}" is not option=number (e.g. eta=1)`);
      }
      options[r.slice(0, eq)] = value;
    });
    if (Object.keys(options).length > 0) setting.options = options;
    return setting;
  });
}

/**
 * The default sweep: the notebook's fast solvers at about 10 / 20 / 50 NFE, then the stochastic solvers at
 * 20 … 200 NFE (DDIM η = 1, EDM Algorithm 2 with its default churn, stochastic Heun) — the deterministic ones level
 * off above PC1000's FD on this model, so the question is where a stochastic one reaches it.
 */
export const DEFAULT_MNIST_SETTINGS: readonly MnistSolverSetting[] = [
  ...[10, 20, 50].map((k) => ({ solver: "ddim", steps: k })),
  ...[10, 20, 50].map((k) => ({ solver: "dpm_solver_pp_2m", steps: k })),
  ...[3, 7, 17].map((k) => ({ solver: "dpm_solver_3", steps: k })),
  ...[5, 10, 25].map((k) => ({ solver: "heun", steps: k })),
  ...[20, 50, 100, 200].map((k) => ({ solver: "ddim", steps: k, options: { eta: 1 } })),
  ...[25, 50, 100].map((k) => ({ solver: "edm_stochastic", steps: k })),
  ...[25, 50, 100].map((k) => ({ solver: "stochastic_heun", steps: k })),
];

/**
 * Notebook 08's MNIST section. Full mode: the default sweep, 1000 samples per setting, on the committed mnist-vp —
 * the committed result (data/results/solvers/mnist_mnist-vp.json) when it scores the committed weights with these
 * settings (SCORE_SDE_RECOMPUTE=1 redraws), else computed (chunks reused from runs/solvers). Quick mode: two
 * settings at 5 steps on 20 samples against 500 test images, chunks in a temporary folder, nothing written.
 */
export async function mnistSolverExperiment(quick: boolean, log?: (line: string) => void): Promise<{ result: MnistSolverComparison; reused: boolean }> {
  const model = "mnist-vp";
  if (quick) {
    const chunkDir = fs.mkdtempSync(path.join(os.tmpdir(), "nb08-mnist-"));
    try {
      const settings = [{ solver: "dpm_solver_pp_2m", steps: 5 }, { solver: "ddim", steps: 5 }];
      return { result: await runMnistSolverComparison({ model, settings, n: 20, chunk: 20, testCount: 500, save: false, chunkDir, log }), reused: false };
    } finally {
      fs.rmSync(chunkDir, { recursive: true, force: true });
    }
  }
  const n = 1000;
  const file = path.join(solverResultsDir(), `mnist_${model}.json`);
  const step = Number(pretrainedRecord(model)?.steps);
  if (!recomputeForced() && fs.existsSync(file)) {
    const r = readJsonFile<{ settings: { n: number; settings: unknown }; payload: MnistSolverComparison }>(file, "MNIST solver comparison");
    if (r.payload.step === step && r.settings.n === n && JSON.stringify(r.settings.settings) === JSON.stringify(DEFAULT_MNIST_SETTINGS)) return { result: r.payload, reused: true };
  }
  return { result: await runMnistSolverComparison({ model, settings: DEFAULT_MNIST_SETTINGS, n, log }), reused: false };
}

/** Command line (see the module comment). */
export async function runMnistSolverComparisonCli(argv = process.argv.slice(2)): Promise<void> {
  const { initBackend } = await import("../lib/backend");
  const arg = (k: string, d?: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
  };
  await initBackend();
  const r = await runMnistSolverComparison({
    model: arg("model", "mnist-vp")!,
    n: Number(arg("n", "1000")),
    chunk: Number(arg("chunk", "100")),
    seed: Number(arg("seed", "0")),
    settings: arg("settings") ? parseSettings(arg("settings")!) : DEFAULT_MNIST_SETTINGS,
    classifierFile: arg("classifier"),
    dir: arg("dir"),
    chunkDir: arg("chunk-dir"),
    log: (l) => console.error(l),
  });
  console.log(JSON.stringify(r, null, 1));
}

if (require.main === module) {
  runMnistSolverComparisonCli().catch((e: unknown) => {
    console.error((e as Error).message ?? e);
    process.exit(1);
  });
}
