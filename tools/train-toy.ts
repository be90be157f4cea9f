/**
 * Toy acceptance run (CLI): trains VE, VP and sub-VP score networks on eightGaussians({radius 2, std 0.2}) on the
 * CPU and judges them against the exact mixture score (see notebooks/experiments/toy-run.ts for what is measured):
 *   (a) PC-sampler energy distance with the learned score ≤ 2 × the same with the exact score;
 *   (b) ODE NLL of held-out true points within 0.15 nats of the mixture's cross-entropy on them;
 *   (c) score MSE vs t (data for plots).
 * Writes toy-acceptance.{json,md} and checkpoints/<sde>.ckpt into a run folder: by default runs/train-toy/
 * (git-ignored), or --out DIR; the committed results in data/results/training/ are written only with --commit-results.
 *
 *   npm run train-toy -- [--sde VE,VP,subVP] [--steps 4000] [--batch 512] [--seed 42]
 *        [--lr 2e-3] [--warmup 100] [--ema 0.999] [--lw none|VE,VP,subVP (likelihood weighting; default none)] [--samples 2000] [--nll-points 1000]
 *        [--out DIR | --commit-results] [--fresh]
 * A run resumes from its checkpoint in the run folder when one exists and says how many steps it trains; --steps below
 * the checkpoint's step is refused (it would train nothing). The table keeps the rows of earlier runs in the folder
 * only when they were made with the same settings; otherwise the run is refused (use --fresh or another --out).
 * --fresh deletes the chosen SDEs' checkpoints and starts a new table.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { readJsonFile } from "../lib/io";
import { eightGaussians } from "../lib/toy";
import { loadCheckpoint } from "../lib/train";
import { TOY_SDES, toyRun, type ToyRunReport, type ToySdeName } from "../notebooks/experiments/toy-run";
import { writeFileAtomic } from "../lib/io";

interface Args {
  sdes: ToySdeName[];
  steps: number;
  batch: number;
  seed: number;
  lr: number;
  warmup: number;
  ema: number;
  lw: ToySdeName[];
  samples: number;
  nllPoints: number;
  out: string;
  commitResults: boolean;
  fresh: boolean;
}

const ROOT = path.join(__dirname, "..");
/** The committed acceptance results, written only with --commit-results. */
const COMMITTED_OUT = path.join(ROOT, "data", "results", "training");
/** The default run folder (git-ignored). */
const DEFAULT_OUT = path.join(ROOT, "runs", "train-toy");

function parseArgs(argv: string[]): Args {
  const a: Args = {
    sdes: [...TOY_SDES],
    steps: 4000,
    batch: 512,
    seed: 42,
    lr: 2e-3,
    warmup: 100,
    ema: 0.999,
    lw: [],
    samples: 2000,
    nllPoints: 1000,
    out: DEFAULT_OUT,
    commitResults: false,
    fresh: false,
  };
  let outGiven = false;
  const sdeList = (v: string): ToySdeName[] => {
    if (v === "" || v === "none") return [];
    return v.split(",").map((s) => {
      if (!(TOY_SDES as readonly string[]).includes(s)) throw new Error(`--sde/--lw: "${s}" is not one of ${TOY_SDES.join(", ")}`);
      return s as ToySdeName;
    });
  };
  const num = (k: string, v: string | undefined): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) throw new Error(`${k} needs a number, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case "--sde": a.sdes = sdeList(v); i++; break;
      case "--lw": a.lw = sdeList(v); i++; break;
      case "--steps": a.steps = num(k, v); i++; break;
      case "--batch": a.batch = num(k, v); i++; break;
      case "--seed": a.seed = num(k, v); i++; break;
      case "--lr": a.lr = num(k, v); i++; break;
      case "--warmup": a.warmup = num(k, v); i++; break;
      case "--ema": a.ema = num(k, v); i++; break;
      case "--samples": a.samples = num(k, v); i++; break;
      case "--nll-points": a.nllPoints = num(k, v); i++; break;
      case "--out":
        if (v === undefined || v.startsWith("--")) throw new Error("--out needs a folder");
        a.out = path.resolve(v);
        outGiven = true;
        i++;
        break;
      case "--commit-results": a.commitResults = true; break;
      case "--fresh": a.fresh = true; break;
      default: throw new Error(`unknown argument ${k} (see the header of tools/train-toy.ts)`);
    }
  }
  if (!Number.isSafeInteger(a.steps) || a.steps < 0) throw new Error(`--steps = ${a.steps} is not allowed; --steps must be a whole number ≥ 0`);
  if (a.commitResults) {
    if (outGiven && path.resolve(a.out) !== COMMITTED_OUT) throw new Error(`--commit-results writes ${path.relative(ROOT, COMMITTED_OUT)}; it cannot be combined with --out ${a.out}`);
    a.out = COMMITTED_OUT;
  } else if (path.resolve(a.out) === COMMITTED_OUT) {
    throw new Error(`--out ${a.out} is the committed results folder; pass --commit-results to write there`);
  }
  return a;
}

function markdown(meta: Record<string, unknown>, reports: ToyRunReport[]): string {
  const f = (x: number | undefined, d = 4) => (x === undefined ? "–" : x.toFixed(d));
  const lines = [
    "# Toy acceptance run: learned vs exact score on eightGaussians(radius 2, std 0.2)",
    "",
    `Generated by \`tools/train-toy.ts\` on ${meta.date} (backend ${meta.backend}, ${meta.cpus} CPU cores shared with other jobs). ` +
      "Evaluation uses the EMA weights. Numbers are in `toy-acceptance.json`.",
    "",
    "| SDE | steps | train s | loss weighting | ED learned | ED exact | ratio (≤ 2) | NLL learned | NLL exact score | true CE | |gap| (≤ 0.15) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of reports) {
    const lw = (r.config.loss as { likelihoodWeighting?: boolean }).likelihoodWeighting ? "g² (likelihood)" : "σ²";
    lines.push(
      `| ${r.sde} | ${r.training.steps}${r.training.startStep > 0 ? ` (resumed at ${r.training.startStep})` : ""} | ${r.training.wallSeconds.toFixed(0)} | ${lw} | ${f(r.sampling?.energyDistanceLearned, 5)} | ${f(r.sampling?.energyDistanceExact, 5)} | ` +
        `${f(r.sampling?.ratio, 2)} ${r.sampling ? (r.sampling.pass ? "✓" : "✗") : ""} | ${f(r.nll?.nllLearned)} | ${f(r.nll?.nllExactScore)} | ${f(r.nll?.trueCrossEntropy)} | ` +
        `${f(r.nll ? Math.abs(r.nll.gapLearned) : undefined, 3)} ${r.nll ? (r.nll.pass ? "✓" : "✗") : ""} |`,
    );
  }
  lines.push("", "Sampler of criterion (a) and extra PC configurations (same N = 1000, count, seed; ED = V-statistic):", "");
  lines.push("| SDE | predictor + corrector | ED learned | ED exact | ratio | noise floor (2 true samples) | off-mode learned / exact | sample CE learned / exact (entropy ≈) |");
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const r of reports) {
    for (const [tag, s] of [["criterion", r.sampling], ...(r.samplingExtra ?? []).map((e) => ["extra", e] as const)] as const) {
      if (!s) continue;
      lines.push(
        `| ${r.sde} | ${s.predictor} + ${s.corrector}${s.corrector === "none" ? "" : ` (snr ${s.snr})`} (${tag}) | ${f(s.energyDistanceLearned, 5)} | ${f(s.energyDistanceExact, 5)} | ` +
          `${f(s.ratio, 2)} | ${f(s.noiseFloorMean, 5)} ± ${f(s.noiseFloorStd, 5)} | ${s.offModeLearned} / ${s.offModeExact} | ${f(s.crossEntropyLearned, 3)} / ${f(s.crossEntropyExact, 3)} (${f(s.entropyEstimate, 3)}) |`,
      );
    }
  }
  lines.push("", "Score error E‖s_θ − ∇log p_t‖²/D on perturbed held-out points (and × s(t)²):", "");
  lines.push(`| t | ${reports.map((r) => `${r.sde} MSE | ${r.sde} s²·MSE`).join(" | ")} |`);
  lines.push(`|---|${reports.map(() => "---|---").join("|")}|`);
  const times = reports[0]?.scoreMse?.map((m) => m.t) ?? [];
  times.forEach((t, i) => {
    lines.push(`| ${t} | ${reports.map((r) => `${r.scoreMse?.[i].mse.toPrecision(3)} | ${r.scoreMse?.[i].weightedMse.toPrecision(3)}`).join(" | ")} |`);
  });
  lines.push(
    "",
    "Criterion (a) sampler: PC with N = 1000, predictor only (VE reverse diffusion, VP / sub-VP Euler–Maruyama — the " +
      "official VP / sub-VP choice), the same seed for learned and exact score; 2000 samples vs 5000 fresh true samples. " +
      "The official VE choice (reverse diffusion + Langevin, snr 0.16) is reported as an extra row. " +
      "NLL: probability-flow ODE, RK45 rtol = atol = 1e-5, eps = 1e-5, exact divergence; true CE = −mean log p₀ of the same 1000 held-out points.",
    "",
  );
  return lines.join("\n");
}

/** The settings a table row depends on (besides the SDE); rows of different settings are never mixed in one table. */
function runSettings(a: Args): Record<string, unknown> {
  return { steps: a.steps, batch: a.batch, seed: a.seed, lr: a.lr, warmup: a.warmup, ema: a.ema, lw: a.lw, samples: a.samples, nllPoints: a.nllPoints };
}

interface AcceptanceFile {
  meta?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  runs?: ToyRunReport[];
}

/**
 * Checks each chosen SDE's checkpoint before any work: a checkpoint beyond --steps is refused (it would train
 * nothing and report a model trained longer than asked). Returns the step each run resumes at.
 */
function resumeSteps(args: Args, ckDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sde of args.sdes) {
    const ck = path.join(ckDir, `${sde}.ckpt`);
    if (args.fresh || !fs.existsSync(ck)) {
      out.set(sde, 0);
      continue;
    }
    const step = loadCheckpoint(ck).step;
    if (step > args.steps) {
      throw new Error(
        `--steps ${args.steps} is below the step of the checkpoint ${path.relative(process.cwd(), ck)} (${step}): it would train nothing. ` +
          `Pass --steps ≥ ${step} to continue it, --fresh to start over, or --out DIR for a new run folder.`,
      );
    }
    out.set(sde, step);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dist = eightGaussians({ radius: 2, std: 0.2 });
  const ckDir = path.join(args.out, "checkpoints");
  const jsonPath = path.join(args.out, "toy-acceptance.json");
  const settings = runSettings(args);
  const prev: AcceptanceFile = !args.fresh && fs.existsSync(jsonPath) ? readJsonFile<AcceptanceFile>(jsonPath, "toy acceptance results") : {};
  const kept = (prev.runs ?? []).filter((r) => !args.sdes.includes(r.sde));
  if (kept.length && JSON.stringify(prev.settings) !== JSON.stringify(settings)) {
    throw new Error(
      `${path.relative(process.cwd(), jsonPath)} holds rows (${kept.map((r) => r.sde).join(", ")}) made with other settings ` +
        `(${JSON.stringify(prev.settings ?? "not recorded")} vs ${JSON.stringify(settings)}); one table never mixes settings: ` +
        "pass --fresh to start a new table, --out DIR for another run folder, or the same settings.",
    );
  }
  const starts = resumeSteps(args, ckDir);
  const info = await initBackend();
  console.error(`writing into ${path.relative(process.cwd(), args.out) || "."}${args.commitResults ? " (committed results)" : ""}`);
  fs.mkdirSync(ckDir, { recursive: true });
  const reports = new Map<string, ToyRunReport>(kept.map((r) => [r.sde, r]));
  for (const sde of args.sdes) {
    const ck = path.join(ckDir, `${sde}.ckpt`);
    if (args.fresh) fs.rmSync(ck, { force: true });
    const start = starts.get(sde) ?? 0;
    const todo = args.steps - start;
    console.error(
      `== ${sde}: ${start > 0 ? `resuming ${path.relative(process.cwd(), ck)} at step ${start}; ` : ""}training ${todo} step${todo === 1 ? "" : "s"} ` +
        `(to step ${args.steps}), batch ${args.batch}, seed ${args.seed}`,
    );
    const t0 = Date.now();
    const r = await toyRun({
      sde,
      dist,
      steps: args.steps,
      batchSize: args.batch,
      seed: args.seed,
      loss: { likelihoodWeighting: args.lw.includes(sde), reduceMean: true },
      optimizer: { lr: args.lr, warmup: args.warmup, gradClip: 1 },
      emaDecay: args.ema,
      checkpoint: ck,
      checkpointEvery: 500,
      sampler: { samples: args.samples, N: 1000 },
      referenceSamples: 5000,
      nllPoints: args.nllPoints,
      progress: true,
    });
    const trained = r.training.steps - r.training.startStep;
    console.error(`   ${sde} done in ${((Date.now() - t0) / 1000).toFixed(0)} s (trained ${trained} steps, model at step ${r.training.steps}): ` + JSON.stringify({ sampling: r.sampling, nll: r.nll }));
    reports.set(sde, r);
    const runs = TOY_SDES.filter((s) => reports.has(s)).map((s) => reports.get(s) as ToyRunReport);
    const meta = { date: new Date().toISOString(), backend: info.name, cpus: os.cpus().length, node: process.version, command: `tools/train-toy.ts ${process.argv.slice(2).join(" ")}` };
    writeFileAtomic(jsonPath, JSON.stringify({ meta, settings, runs }, null, 1) + "\n");
    writeFileAtomic(path.join(args.out, "toy-acceptance.md"), markdown(meta, runs));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
