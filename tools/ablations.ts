/**
 * ONE command that regenerates every committed number of the ablation notebooks (issue 4):
 *
 *   npx ts-node --transpile-only tools/ablations.ts [--only table1,snr,train,table1learned,flow] [--no-notebooks] [--quick]
 *
 * 1. runs each experiment at full size (notebooks/experiments/: the same functions and settings the notebooks call) and
 *    writes data/results/ablations/<experiment>.{json,csv} — settings, seeds, sample counts, backend, wall time and
 *    every row;
 * 2. then executes notebooks 03–05 in full mode (tools/notebooks/run.js --full --figures-dir=figures/ablations):
 *    they reuse those result files (same settings), show the tables and write their figures to
 *    figures/ablations/<notebook>/ and their outputs into the .ipynb files.
 * SCORE_SDE_RECOMPUTE=1 recomputes even when a result file with the same settings exists. Progress goes to stderr.
 * Run it under `nice` on a shared machine: the full set takes about 40 minutes of one CPU core.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { initBackend } from "../lib/backend";
import {
  PAPER_TABLE5_SNR,
  runSnrSweepExperiment,
  runTable1Experiment,
  snrSweepSettings,
  table1ExperimentSettings,
} from "../notebooks/experiments";
import { ablationModelSpecs, learnedTable1Settings, modelFile, runLearnedTable1Experiment, trainOrLoadToyModel } from "../notebooks/experiments";
import { encodeSettings, loadAblationModels, nllSettings, runEncodeExperiment, runNllExperiment, runToleranceExperiment, toleranceSettings } from "../notebooks/experiments";
import type { Cached, PcRunRow } from "../notebooks/experiments";
import { repoRoot } from "../notebooks/experiments/results";

const EXPERIMENTS = ["table1", "snr", "train", "table1learned", "flow"] as const;
type Exp = (typeof EXPERIMENTS)[number];

function progress(label: string): (r: PcRunRow, done: number, total: number) => void {
  const t0 = Date.now();
  return (r, done, total) => {
    const el = (Date.now() - t0) / 1000;
    process.stderr.write(
      `[${label}] ${done}/${total} ${r.sde} ${r.row} ${r.column} snr=${r.snr} seed=${r.seed}: ED=${r.energyDistance.toExponential(2)} dCE=${r.deltaCE.toFixed(3)} (${r.seconds.toFixed(1)} s; ~${((el / done) * (total - done)).toFixed(0)} s left)\n`,
    );
  };
}

function report<P>(name: string, c: Cached<P>): void {
  const root = repoRoot();
  if (c.reused) console.log(`${name}: up to date (settings unchanged; SCORE_SDE_RECOMPUTE=1 to redo)`);
  else console.log(`${name}: ${c.result.wallSeconds.toFixed(0)} s, wrote ${c.files.map((f) => path.relative(root, f)).join(", ") || "(quick: nothing)"}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const onlyArg = argv.indexOf("--only");
  const only: Exp[] = onlyArg >= 0 ? (argv[onlyArg + 1] ?? "").split(",").map((s) => s.trim()) as Exp[] : [...EXPERIMENTS];
  for (const o of only) if (!EXPERIMENTS.includes(o)) throw new Error(`--only: "${o}" is not one of ${EXPERIMENTS.join(", ")}`);
  const b = await initBackend();
  console.log(`backend ${b.name}; ${quick ? "QUICK sizes (nothing written)" : "full sizes"}; experiments: ${only.join(", ")}`);
  if (only.includes("table1")) report("table1", await runTable1Experiment(table1ExperimentSettings(quick), quick, progress("table1")));
  if (only.includes("snr")) {
    const paper = (sde: "VE" | "VP", sm: string): number => (PAPER_TABLE5_SNR[sde] as Record<string, number>)[sm];
    report("snr", await runSnrSweepExperiment(snrSweepSettings(quick), quick, paper, progress("snr")));
  }
  if (only.includes("train")) {
    for (const spec of ablationModelSpecs(quick)) {
      const t0 = Date.now();
      const m = await trainOrLoadToyModel(spec, quick, (step, loss) => {
        if (step % 500 === 0) process.stderr.write(`[train ${spec.sde} seed ${spec.seed}] step ${step}/${spec.steps} loss ${loss.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      });
      console.log(`model ${spec.sde} seed ${spec.seed}: ${m.loaded ? "up to date" : `trained in ${m.trainSeconds.toFixed(0)} s`} (${quick ? "quick: not stored" : path.relative(repoRoot(), modelFile(spec))})`);
      m.dispose();
    }
  }
  if (only.includes("table1learned")) report("table1learned", await runLearnedTable1Experiment(learnedTable1Settings(quick), quick, progress("table1learned")));
  if (only.includes("flow")) {
    const models = await loadAblationModels(quick);
    const log = (m: string): void => void process.stderr.write(`[flow] ${m}\n`);
    report("flow_tolerance", await runToleranceExperiment(toleranceSettings(quick), quick, models, log));
    report("flow_nll", await runNllExperiment(nllSettings(quick), quick, models, log));
    report("flow_encode", await runEncodeExperiment(encodeSettings(quick), quick, models, log));
    for (const m of models.values()) m.dispose();
  }
  if (!argv.includes("--no-notebooks") && !quick) {
    const root = repoRoot();
    const r = spawnSync(process.execPath, [path.join(root, "tools", "notebooks", "run.js"), "03_training_toy", "04_pc_samplers", "05_probability_flow", "--full", "--figures-dir=" + path.join(root, "figures", "ablations")], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
