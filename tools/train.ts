/**
 * Image training CLI: trains a score model on MNIST or Fashion-MNIST from a JSON config (data/configs/<name>.json)
 * with the library trainer (lib/train: EMA, warm-up, gradient clipping, exact resume).
 *
 *   npm run train -- --config mnist-vp [--steps N] [--out runs/mnist-vp] [--fresh] [--threads 1]
 *   npm run train -- --config mnist-vp --publish [--with-resume]
 *
 * --publish trains nothing: it copies the run's current checkpoint into data/pretrained/<name>/ as the committed
 * model (notebooks/experiments/pretrained.ts): model.ckpt (EMA weights only), model.safetensors (the same weights,
 * PyTorch-style names, see lib/models/export.ts), training.json (config, steps, wall time per sitting, backend,
 * CPU, loss) and, with --with-resume, resume.ckpt (the full checkpoint, to continue training elsewhere: copy it to
 * runs/<name>/checkpoint.ckpt and run the same command).
 *
 * The run folder (default runs/<config name>/, ignored by git) holds:
 *   config.json      the resolved configuration (a resumed run must match it, except for `training.steps`)
 *   checkpoint.ckpt  resumable checkpoint (weights, EMA, Adam, rng, losses), written atomically every
 *                    `training.checkpointEvery` steps and at the end; the run resumes from it when it exists
 *   progress.json    the latest progress (step, loss, steps/s, time left), rewritten atomically at every log
 *   sittings.json    one entry per sitting (start, steps done, wall seconds, backend, CPU), for the record
 * Progress lines go to stderr. Batches depend only on (data seed, step) (lib/data epochBatchIndices) and the loss
 * noise on the checkpointed rng, so a stopped and resumed run reproduces the losses of an uninterrupted one.
 * A stop (Ctrl-C, SIGTERM) loses at most the steps since the last checkpoint.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from "../lib/io";
import { loadScoreModel, saveEmaCheckpoint } from "../lib/data/score-model";
import { exportSafetensors } from "../lib/models/export";
import { imageModelFromConfig, readImageConfig, type ImageTrainConfig } from "../lib/data/config";
import { imageBatchSource, loadImageDataset } from "../lib/data";
import { configDiff, loadCheckpoint } from "../lib/train/checkpoint";
import { train } from "../lib/train/train";

const REPO = path.join(__dirname, "..");

interface Args {
  config: string;
  steps?: number;
  out?: string;
  fresh: boolean;
  threads: number;
  publish: boolean;
  withResume: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { config: "", fresh: false, threads: 1, publish: false, withResume: false };
  const num = (k: string, v: string | undefined): number => {
    const x = Number(v);
    if (v === undefined || !Number.isInteger(x) || x < 1) throw new Error(`${k} needs a positive integer, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case "--config": a.config = v ?? ""; i++; break;
      case "--steps": a.steps = num(k, v); i++; break;
      case "--out": a.out = v; i++; break;
      case "--threads": a.threads = num(k, v); i++; break;
      case "--fresh": a.fresh = true; break;
      case "--publish": a.publish = true; break;
      case "--with-resume": a.withResume = true; break;
      default: throw new Error(`unknown argument ${k} (usage: npm run train -- --config <name or file.json> [--steps N] [--out DIR] [--fresh] [--threads N] | --publish [--with-resume])`);
    }
  }
  if (!a.config) throw new Error("--config is required: a name from data/configs/ (e.g. mnist-vp) or a .json file");
  return a;
}

/** A config name (data/configs/<name>.json) or a path to a JSON file. */
export function configPath(c: string): string {
  if (c.endsWith(".json")) return path.resolve(c);
  const file = path.join(REPO, "data", "configs", `${c}.json`);
  if (!fs.existsSync(file)) {
    const names = fs.readdirSync(path.join(REPO, "data", "configs")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    throw new Error(`--config ${c}: no such config; known: ${names.join(", ")} (or pass a .json file)`);
  }
  return file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg: ImageTrainConfig = readImageConfig(configPath(args.config));
  if (args.steps !== undefined) cfg.training.steps = args.steps;
  const out = path.resolve(args.out ?? path.join(REPO, "runs", cfg.name));
  fs.mkdirSync(out, { recursive: true });
  const ckpt = path.join(out, "checkpoint.ckpt");
  const cfgFile = path.join(out, "config.json");
  if (args.publish) {
    await initBackend({ wasmThreads: args.threads });
    return publish(cfg, out, args.withResume);
  }
  if (args.fresh) fs.rmSync(ckpt, { force: true });
  if (fs.existsSync(ckpt) && fs.existsSync(cfgFile)) {
    const prev = readJsonFile<ImageTrainConfig>(cfgFile, "run configuration");
    const strip = (c: ImageTrainConfig) => ({ ...c, training: { ...c.training, steps: 0 }, notes: undefined, description: undefined });
    const diff = configDiff(strip(prev) as unknown as Record<string, unknown>, strip(cfg) as unknown as Record<string, unknown>);
    if (diff.length) throw new Error(`${out}: holds a run with another configuration (${diff.join("; ")}); pass --fresh to start over or --out for another folder`);
  }
  writeJsonAtomic(cfgFile, cfg);

  const info = await initBackend({ wasmThreads: args.threads });
  const data = loadImageDataset(cfg.dataset, "train");
  const { model, sde } = imageModelFromConfig(cfg, data);
  const t = cfg.training;
  const sittingsFile = path.join(out, "sittings.json");
  const sittings: Sitting[] = fs.existsSync(sittingsFile) ? readJsonFile<Sitting[]>(sittingsFile, "training sittings record") : [];
  const cpu = `${os.cpus()[0]?.model ?? "CPU"} (${os.cpus().length} cores)`;
  const sitting: Sitting = { start: new Date().toISOString(), startStep: -1, step: -1, wallSeconds: 0, backend: info.name, cpu, threads: args.threads };
  sittings.push(sitting);
  console.error(
    `== ${cfg.name}: ${cfg.dataset} (${data.n} training images), ${sde.kind} SDE, U-Net ${model.paramCount} parameters, ` +
      `batch ${t.batchSize}, ${t.steps} steps, backend ${info.name}, ${os.cpus()[0]?.model ?? "CPU"} (${os.cpus().length} cores), run folder ${out}`,
  );
  const r = await train({
    model,
    sde,
    batchSource: imageBatchSource(data, { batchSize: t.batchSize, seed: t.seed, centered: cfg.data.centered }),
    steps: t.steps,
    seed: t.seed,
    loss: cfg.loss,
    optimizer: { lr: t.lr, warmup: t.warmup, gradClip: t.gradClip },
    emaDecay: t.emaDecay,
    checkpoint: { path: ckpt, every: t.checkpointEvery },
    logEvery: t.logEvery,
    progress: true,
    meta: { dataset: cfg.dataset, data: cfg.data, batchSize: t.batchSize },
    onLog: (l) => {
      writeJsonAtomic(path.join(out, "progress.json"), { ...l, name: cfg.name, backend: info.name, updated: new Date().toISOString() });
      if (sitting.startStep < 0) sitting.startStep = l.step - Math.round(l.stepsPerSecond * l.elapsedSeconds);
      Object.assign(sitting, { step: l.step, wallSeconds: l.elapsedSeconds });
      writeJsonAtomic(sittingsFile, sittings);
    },
  });
  if (r.resumedFrom) console.error(`resumed from ${r.resumedFrom} at step ${r.startStep}`);
  const tail = r.history.slice(-100);
  console.error(`done: step ${r.step}, mean loss of the last ${tail.length} steps ${(tail.reduce((a, b) => a + b, 0) / Math.max(tail.length, 1)).toFixed(5)}, ${r.wallSeconds.toFixed(0)} s this sitting; checkpoint ${ckpt}`);
  r.trainer.dispose();
  model.dispose();
}

interface Sitting {
  start: string;
  startStep: number;
  step: number;
  wallSeconds: number;
  backend: string;
  cpu: string;
  threads: number;
}

/** Copies the run's checkpoint into data/pretrained/<name>/ (see the header). */
function publish(cfg: ImageTrainConfig, out: string, withResume: boolean): void {
  const ckpt = path.join(out, "checkpoint.ckpt");
  const c = loadCheckpoint(ckpt);
  const dir = path.join(REPO, "data", "pretrained", cfg.name);
  fs.mkdirSync(dir, { recursive: true });
  const sittingsFile = path.join(out, "sittings.json");
  const sittings: Sitting[] = fs.existsSync(sittingsFile) ? readJsonFile<Sitting[]>(sittingsFile, "training sittings record") : [];
  const progressFile = path.join(out, "progress.json");
  if (sittings.length === 0 && fs.existsSync(progressFile)) {
    // A run started before sittings were recorded: its latest progress stands for one sitting.
    const p = readJsonFile<{ step: number; elapsedSeconds: number; stepsPerSecond: number; backend: string; updated: string }>(progressFile, "training progress record");
    sittings.push({ start: new Date(Date.parse(p.updated) - p.elapsedSeconds * 1000).toISOString(), startStep: p.step - Math.round(p.stepsPerSecond * p.elapsedSeconds), step: p.step, wallSeconds: p.elapsedSeconds, backend: p.backend, cpu: `${os.cpus()[0]?.model ?? "CPU"} (${os.cpus().length} cores)`, threads: 1 });
  }
  // A run resumed from a committed resume.ckpt starts its own record mid-way: the sittings before it are in the
  // committed training.json.
  const committedFile = path.join(dir, "training.json");
  if (sittings.length && sittings[0].startStep > 0 && fs.existsSync(committedFile)) {
    const before = readJsonFile<{ sittings?: Sitting[] }>(committedFile, "committed training record").sittings ?? [];
    sittings.unshift(...before.filter((s) => s.step <= sittings[0].startStep));
  }
  // A sitting's log may be ahead of the checkpoint the next sitting resumed from (or, for the last, of the published
  // one): those steps were trained again, so its time counts up to that step only.
  for (let i = 0; i < sittings.length; i++) {
    const s = sittings[i];
    const upTo = i + 1 < sittings.length ? sittings[i + 1].startStep : c.step;
    if (s.step > upTo && s.step > s.startStep) {
      s.wallSeconds *= Math.max(upTo - s.startStep, 0) / (s.step - s.startStep);
      s.step = upTo;
    }
  }
  const losses = c.losses ?? [];
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(a.length, 1);
  const record = {
    name: cfg.name,
    steps: c.step,
    plannedSteps: cfg.training.steps,
    wallSeconds: sittings.reduce((a, s) => a + s.wallSeconds, 0),
    sittings,
    lossFirst100: mean(losses.slice(0, 100)),
    lossLast100: mean(losses.slice(-100)),
    lossEvery100: losses.length ? Array.from({ length: Math.ceil(losses.length / 100) }, (_, i) => Number(mean(losses.slice(i * 100, i * 100 + 100)).toPrecision(5))) : [],
    parameters: c.params.slice(0, c.trainableCount).reduce((a, p) => a + p.length, 0),
    config: cfg,
    published: new Date().toISOString(),
  };
  const modelFile = path.join(dir, "model.ckpt");
  saveEmaCheckpoint(c, modelFile, { trainingSteps: c.step, trainingWallSeconds: record.wallSeconds });
  const m = loadScoreModel(modelFile);
  try {
    exportSafetensors(m.model, path.join(dir, "model.safetensors"), { name: cfg.name, sde: JSON.stringify(cfg.sde), centered: String(cfg.data.centered), steps: String(c.step) });
  } finally {
    m.dispose();
  }
  writeJsonAtomic(path.join(dir, "training.json"), record);
  if (withResume) writeFileAtomic(path.join(dir, "resume.ckpt"), fs.readFileSync(ckpt));
  console.error(`published ${cfg.name} at step ${c.step} to ${dir}${withResume ? " (with resume.ckpt)" : ""}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
