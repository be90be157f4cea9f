/**
 * Image training CLI: trains a score model on MNIST or Fashion-MNIST from a JSON config (data/configs/<name>.json)
 * with the library trainer (lib/train: EMA, warm-up, gradient clipping, exact resume).
 *
 *   npm run train -- --config mnist-vp [--steps N] [--out runs/mnist-vp] [--fresh] [--threads 1]
 *
 * The run folder (default runs/<config name>/, ignored by git) holds:
 *   config.json      the resolved configuration (a resumed run must match it, except for `training.steps`)
 *   checkpoint.ckpt  resumable checkpoint (weights, EMA, Adam, rng, losses), written atomically every
 *                    `training.checkpointEvery` steps and at the end; the run resumes from it when it exists
 *   progress.json    the latest progress (step, loss, steps/s, time left), rewritten atomically at every log
 * Progress lines go to stderr. Batches depend only on (data seed, step) (lib/data epochBatchIndices) and the loss
 * noise on the checkpointed rng, so a stopped and resumed run reproduces the losses of an uninterrupted one.
 * A stop (Ctrl-C, SIGTERM) loses at most the steps since the last checkpoint.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { writeJsonAtomic } from "../lib/io";
import { imageModelFromConfig, readImageConfig, type ImageTrainConfig } from "../lib/data/config";
import { imageBatchSource, loadImageDataset } from "../lib/data";
import { configDiff } from "../lib/train/checkpoint";
import { train } from "../lib/train/train";

const REPO = path.join(__dirname, "..");

interface Args {
  config: string;
  steps?: number;
  out?: string;
  fresh: boolean;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { config: "", fresh: false, threads: 1 };
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
      default: throw new Error(`unknown argument ${k} (usage: npm run train -- --config <name or file.json> [--steps N] [--out DIR] [--fresh] [--threads N])`);
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
  if (args.fresh) fs.rmSync(ckpt, { force: true });
  if (fs.existsSync(ckpt) && fs.existsSync(cfgFile)) {
    const prev = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as ImageTrainConfig;
    const strip = (c: ImageTrainConfig) => ({ ...c, training: { ...c.training, steps: 0 }, notes: undefined, description: undefined });
    const diff = configDiff(strip(prev) as unknown as Record<string, unknown>, strip(cfg) as unknown as Record<string, unknown>);
    if (diff.length) throw new Error(`${out}: holds a run with another configuration (${diff.join("; ")}); pass --fresh to start over or --out for another folder`);
  }
  writeJsonAtomic(cfgFile, cfg);

  const info = await initBackend({ wasmThreads: args.threads });
  const data = loadImageDataset(cfg.dataset, "train");
  const { model, sde } = imageModelFromConfig(cfg, data);
  const t = cfg.training;
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
    onLog: (l) => writeJsonAtomic(path.join(out, "progress.json"), { ...l, name: cfg.name, backend: info.name, updated: new Date().toISOString() }),
  });
  if (r.resumedFrom) console.error(`resumed from ${r.resumedFrom} at step ${r.startStep}`);
  const tail = r.history.slice(-100);
  console.error(`done: step ${r.step}, mean loss of the last ${tail.length} steps ${(tail.reduce((a, b) => a + b, 0) / Math.max(tail.length, 1)).toFixed(5)}, ${r.wallSeconds.toFixed(0)} s this sitting; checkpoint ${ckpt}`);
  r.trainer.dispose();
  model.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
