/**
 * The experiments of notebook 08 (fast samplers): every registered solver of lib/solvers with the EXACT score, so
 * that the only error is the solver's.
 *
 * 1. `gaussianErrorCurves`: the 2-Wasserstein error of the sample law against the exact p_eps on the analytic
 *    Gaussian target (./gaussianTarget: mean and variance propagated exactly, no Monte-Carlo noise) against NFE, for
 *    VE, VP and sub-VP, with fitted log-log slopes (the measured orders).
 * 2. `runFastSamplerExperiment`: the 8-Gaussians toy of notebook 04 (radius 2, std 0.05), n points × seeds per
 *    (SDE, solver, NFE), scored against a fixed true reference by energy distance, mode spread and mode weights,
 *    beside the noise floor of true samples and the paper's PC1000 sampler (reverse diffusion + Langevin, snr 0.16,
 *    N = 1000; N = 200 in quick mode), every solver ending with the same Tweedie denoising step as PC1000; `reach` gives the smallest NFE at which each solver is within the noise floor of PC1000.
 *
 * Full-mode results are written to data/results/solvers/ (JSON with settings, seeds, backend and wall time, plus CSV)
 * and reused while the settings match (SCORE_SDE_RECOMPUTE=1 forces a new run); quick mode computes small and
 * writes nothing.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { energyDistance, modeStats, sampleCrossEntropy } from "../lib/metrics";
import { createRng } from "../lib/random";
import { pcSample } from "../lib/sampling";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { getSolver, sample, timeGrid } from "../lib/solvers";
import type { GridKind } from "../lib/solvers";
import { hostMixtureScore } from "../lib/toy";
import { sig } from "./format";
import { flowLawError, gaussianScoreHost, lawError, order } from "./gaussianTarget";
import { metricStats } from "./pc";
import type { MetricStats } from "./pc";
import { mixtureReference } from "./pcExperiments";
import type { PcMixtureSpec, ToyComparisonSettings } from "./pcExperiments";
import { cachedResult, repoRoot } from "./results";
import type { Cached, ResultStore } from "./results";

export type SolverSdeName = "VE" | "VP" | "subVP";
export const SOLVER_SDES: readonly SolverSdeName[] = ["VE", "VP", "subVP"];

export function makeSde(name: SolverSdeName, N = 1000): SDE {
  return name === "VE" ? new VESDE({ N }) : name === "VP" ? new VPSDE({ N }) : new SubVPSDE({ N });
}

/** A solver as swept: its registered name, options and grid (default: the solver's). */
export interface SolverSpec {
  label: string;
  solver: string;
  options?: Record<string, unknown>;
  grid?: GridKind;
}

export const SWEPT_SOLVERS: readonly SolverSpec[] = [
  { label: "DDIM", solver: "ddim", grid: "logsnr" },
  { label: "DPM-Solver-2", solver: "dpm_solver_2" },
  { label: "DPM-Solver-3", solver: "dpm_solver_3" },
  { label: "DPM-Solver++(2M)", solver: "dpm_solver_pp_2m" },
  { label: "Heun (EDM)", solver: "heun" },
  { label: "EDM stochastic", solver: "edm_stochastic" },
  { label: "stochastic Heun", solver: "stochastic_heun" },
  { label: "DDIM η=1", solver: "ddim", options: { eta: 1 }, grid: "logsnr" },
];

/** Grid intervals for a target NFE: round(NFE / NFE per step), at least 1 (minus the denoising step's one NFE). */
export function stepsFor(spec: SolverSpec, nfe: number, denoise = false): number {
  return Math.max(1, Math.round((nfe - (denoise ? 1 : 0)) / getSolver(spec.solver).evalsPerStep));
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Exact error on the Gaussian target

/** Errors below this are float32 rounding of the solvers' tensor arithmetic, not discretisation error. */
export const FLOAT_FLOOR = 5e-5;

export interface GaussianErrorRow {
  sde: SolverSdeName;
  label: string;
  steps: number;
  nfe: number;
  w2: number;
}

export interface GaussianSlopeRow {
  sde: SolverSdeName;
  label: string;
  /** The fitted order over the largest three NFE whose error is above float32 rounding (NaN: fewer than 2). */
  slope: number;
}

/** W2 error of each solver's law vs NFE on the Gaussian target (exact propagation; seconds of CPU). */
export async function gaussianErrorCurves(solvers: readonly SolverSpec[], nfes: readonly number[], sdes: readonly SolverSdeName[] = SOLVER_SDES): Promise<{ rows: GaussianErrorRow[]; slopes: GaussianSlopeRow[] }> {
  const rows: GaussianErrorRow[] = [];
  const slopes: GaussianSlopeRow[] = [];
  for (const sdeName of sdes) {
    const sde = makeSde(sdeName);
    for (const spec of solvers) {
      const entry = getSolver(spec.solver);
      const mine: GaussianErrorRow[] = [];
      for (const target of nfes) {
        const steps = stepsFor(spec, target);
        const grid = timeGrid(spec.grid ?? entry.defaultGrid, sde, steps);
        const options = spec.options ?? {};
        const w2 =
          entry.stochastic || options.eta
            ? await lawError(sde, entry.create({ sde, score: gaussianScoreHost(sde), grid, options }), grid)
            : await flowLawError(sde, (score) => entry.create({ sde, score, grid, options }), grid);
        mine.push({ sde: sdeName, label: spec.label, steps, nfe: steps * entry.evalsPerStep, w2 });
      }
      rows.push(...mine);
      // The order shows where the error is above float32 rounding (up to ~2e-5 for VE, whose states reach σ_max = 50).
      const tail = mine.filter((r) => r.w2 > FLOAT_FLOOR).slice(-3);
      slopes.push({ sde: sdeName, label: spec.label, slope: tail.length >= 2 ? order(tail.map((r) => r.nfe), tail.map((r) => r.w2)) : NaN });
    }
  }
  return { rows, slopes };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. 8 Gaussians: energy distance and mode spread vs NFE, against PC1000 and the noise floor

export interface FastSamplerSettings extends ToyComparisonSettings {
  sdes: SolverSdeName[];
  solvers: SolverSpec[];
  /** Target NFE per sample (steps = NFE / NFE per step). */
  nfes: number[];
  pc: { N: number; snr: number };
  /** End every solver with the Tweedie denoising step at ε (1 NFE, included in the NFE), as PC1000 does. */
  denoise: boolean;
  /** Points per configuration kept for the scatter plots (first seed). */
  keepPoints: number;
}

export function fastSamplerSettings(quick: boolean): FastSamplerSettings {
  const mixture: PcMixtureSpec = { kind: "eightGaussians", radius: 2, std: 0.05 };
  return quick
    ? { mixture, n: 300, seeds: [0, 1], nRef: 3000, refSeed: 777, floorRepeats: 4, floorSeed: 1, sdes: ["VE", "VP", "subVP"], solvers: SWEPT_SOLVERS.filter((s) => ["ddim", "dpm_solver_pp_2m", "heun"].includes(s.solver) && !s.options), nfes: [10, 20], pc: { N: 200, snr: 0.16 }, denoise: true, keepPoints: 300 }
    : { mixture, n: 2000, seeds: [0, 1, 2, 3, 4], nRef: 10000, refSeed: 777, floorRepeats: 10, floorSeed: 1, sdes: ["VE", "VP", "subVP"], solvers: [...SWEPT_SOLVERS], nfes: [5, 10, 20, 50, 100], pc: { N: 1000, snr: 0.16 }, denoise: true, keepPoints: 600 };
}

export interface SolverRunRow {
  sde: SolverSdeName;
  label: string;
  steps: number;
  nfe: number;
  seed: number;
  energyDistance: number;
  deltaCE: number;
  varRatio: number;
  weightTV: number;
  seconds: number;
}

export interface SolverSummaryRow extends MetricStats {
  sde: SolverSdeName;
  label: string;
  steps: number;
  nfe: number;
  seeds: number;
  secondsMean: number;
}

export interface ReachRow {
  sde: SolverSdeName;
  label: string;
  /** Smallest swept NFE within the noise floor of PC1000 by energy distance AND mode spread (null: none). */
  nfe: number | null;
  edMean: number | null;
  varRatioMean: number | null;
}

export interface FastSamplerPayload {
  runs: SolverRunRow[];
  summary: SolverSummaryRow[];
  /** PC1000 per SDE (label "PC1000"). */
  pc: SolverSummaryRow[];
  floor: MetricStats;
  reach: ReachRow[];
  /** First-seed samples (flattened [keepPoints, 2]) by "<sde> <label> <nfe>", and "truth". */
  samples: Record<string, number[]>;
}

/**
 * Within the noise floor of PC1000: energy distance at most PC1000's + 2 floor std, and |spread − 1| at most
 * PC1000's + 2 floor std (lower is better for both; being better than PC1000 counts).
 */
export function reachesPc(s: MetricStats, pc: MetricStats, floor: MetricStats): boolean {
  return s.edMean <= pc.edMean + 2 * floor.edStd && Math.abs(s.varRatioMean - 1) <= Math.abs(pc.varRatioMean - 1) + 2 * floor.varRatioStd;
}

function summarizeRuns(rows: readonly SolverRunRow[]): SolverSummaryRow[] {
  const groups = new Map<string, SolverRunRow[]>();
  for (const r of rows) {
    const k = `${r.sde}|${r.label}|${r.steps}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups.values()].map((g) => ({
    sde: g[0].sde, label: g[0].label, steps: g[0].steps, nfe: g[0].nfe, seeds: g.length, ...metricStats(g),
    secondsMean: g.reduce((a, r) => a + r.seconds, 0) / g.length,
  }));
}

export function solverResultsDir(): string {
  const custom = (process.env.SCORE_SDE_RESULTS_DIR ?? "").trim();
  return custom ? path.join(path.resolve(custom), "solvers") : path.join(repoRoot(), "data", "results", "solvers");
}

/** The solver experiments' result store (notebook 08): data/results/solvers. */
const solverStore = (): ResultStore => ({ dir: solverResultsDir(), what: "solver result (regenerate it with SCORE_SDE_RECOMPUTE=1 npm run notebooks -- 08)" });

const round = (r: object): Record<string, unknown> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? sig(v, 5) : v]));

export async function runFastSamplerExperiment(
  s: FastSamplerSettings,
  quick: boolean,
  onRun?: (what: string, done: number, total: number) => void,
): Promise<Cached<FastSamplerPayload>> {
  return cachedResult<FastSamplerPayload>(
    "fast_samplers",
    s,
    quick,
    async () => {
      const { mix, ref, floor } = mixtureReference(s);
      const samples: Record<string, number[]> = { truth: Array.from(ref.truth.data.subarray(0, 2 * s.keepPoints), (v) => sig(v, 4)) };
      const score = (x: Float32Array, seed: number) => {
        const pts = { data: Float64Array.from(x), dim: 2 };
        const ms = modeStats(mix, pts.data, 2);
        return { energyDistance: energyDistance(pts, ref.truth), deltaCE: sampleCrossEntropy(mix, pts) - ref.trueCrossEntropy, varRatio: ms.varRatio, weightTV: ms.weightTV, seed };
      };
      const total = s.sdes.length * s.seeds.length * (1 + s.solvers.length * s.nfes.length);
      let done = 0;
      const runs: SolverRunRow[] = [];
      const pcRuns: SolverRunRow[] = [];
      for (const sdeName of s.sdes) {
        for (const seed of s.seeds) {
          const sdeN = makeSde(sdeName, s.pc.N);
          const t0 = Date.now();
          const r = await pcSample({ sde: sdeN, score: hostMixtureScore(mix, sdeN), shape: [s.n, 2], snr: s.pc.snr, rng: createRng(seed) });
          const x = r.samples.dataSync() as Float32Array;
          r.samples.dispose();
          pcRuns.push({ sde: sdeName, label: "PC1000", steps: s.pc.N, nfe: r.scoreEvals, ...score(x, seed), seconds: (Date.now() - t0) / 1000 });
          if (seed === s.seeds[0]) samples[`${sdeName} PC1000`] = Array.from(x.subarray(0, 2 * s.keepPoints), (v) => sig(v, 4));
          onRun?.(`${sdeName} PC1000 seed ${seed}`, ++done, total);
          const sde = makeSde(sdeName);
          for (const spec of s.solvers) {
            for (const target of s.nfes) {
              const steps = stepsFor(spec, target, s.denoise);
              const t1 = Date.now();
              const out = await sample({ sde, score: hostMixtureScore(mix, sde), shape: [s.n, 2], solver: spec.solver, steps, gridKind: spec.grid, options: spec.options, denoise: s.denoise, rng: createRng(seed) });
              const y = out.samples.dataSync() as Float32Array;
              out.samples.dispose();
              runs.push({ sde: sdeName, label: spec.label, steps, nfe: out.nfe, ...score(y, seed), seconds: (Date.now() - t1) / 1000 });
              if (seed === s.seeds[0]) samples[`${sdeName} ${spec.label} ${out.nfe}`] = Array.from(y.subarray(0, 2 * s.keepPoints), (v) => sig(v, 4));
              onRun?.(`${sdeName} ${spec.label} NFE ${out.nfe} seed ${seed}`, ++done, total);
            }
          }
        }
      }
      const summary = summarizeRuns(runs);
      const pc = summarizeRuns(pcRuns);
      const reach: ReachRow[] = [];
      for (const sdeName of s.sdes) {
        const base = pc.find((p) => p.sde === sdeName)!;
        for (const spec of s.solvers) {
          const hit = summary.filter((r) => r.sde === sdeName && r.label === spec.label).sort((a, b) => a.nfe - b.nfe).find((r) => reachesPc(r, base, floor));
          reach.push({ sde: sdeName, label: spec.label, nfe: hit?.nfe ?? null, edMean: hit?.edMean ?? null, varRatioMean: hit?.varRatioMean ?? null });
        }
      }
      return { runs, summary, pc, floor, reach, samples };
    },
    (p) => ({ runs: [...p.pc.map(round), ...p.runs.map(round)], summary: [...p.pc, ...p.summary].map(round), reach: p.reach.map(round) }),
    solverStore(),
  );
}
