/**
 * The two experiments of notebook 04 at a given size: the Table 1 grid and the Table 5 snr sweep, both with the
 * EXACT score of a tight 2-D mixture (computed on the host, lib/toy hostMixtureScore). Quick and full sizes are defined here so
 * that the notebook, the exported test and tools/ablations.ts run exactly the same thing.
 */
import { eightGaussians, hostMixtureScore } from "../lib/toy";
import type { GaussianMixture } from "../lib/toy";
import type { Table1Column, Table1Row } from "../lib/sampling";
import { scoreFnFromModel } from "../lib/models";
import { toyModelData, toyModelSpec, trainOrLoadToyModel } from "./models";
import type { ToyModelSpec } from "./models";
import {
  configKey,
  makeReference,
  PcConfig,
  PcRunRow,
  PcSdeName,
  NoiseFloorSummary,
  referenceNoiseFloor,
  runGrid,
  summarize,
  SummaryRow,
  table1Configs,
} from "./pc";
import { cachedResult } from "./results";
import type { Cached } from "./results";
import { sig } from "./format";

export interface PcMixtureSpec {
  kind: "eightGaussians";
  radius: number;
  std: number;
}

export function pcMixture(spec: PcMixtureSpec): GaussianMixture {
  return eightGaussians({ radius: spec.radius, std: spec.std });
}

/**
 * The toy comparison's ground truth, shared by notebook 04's Table 1 and notebook 08: the mixture, nRef true samples
 * (the reference every sampler is scored against) and, for `floorRepeats` > 0, the noise floor of n true samples.
 */
export function mixtureReference(s: ToyComparisonSettings) {
  const mix = pcMixture(s.mixture);
  const ref = makeReference(mix, s.nRef, s.refSeed);
  return { mix, ref, floor: referenceNoiseFloor(ref, s.n, s.floorRepeats, s.floorSeed) };
}

/** What every toy sampler comparison fixes: the mixture, the runs' size and seeds, the reference and its noise floor. */
export interface ToyComparisonSettings {
  mixture: PcMixtureSpec;
  /** Sampler points per run. */
  n: number;
  /** Sampler seeds (the same seeds for every configuration: common random numbers). */
  seeds: number[];
  /** True points of the fixed reference sample, and its seed. */
  nRef: number;
  refSeed: number;
  /** Repeats of the noise floor (true samples of n points against the reference). */
  floorRepeats: number;
  floorSeed: number;
}

export interface Table1ExperimentSettings extends ToyComparisonSettings {
  /** Points per configuration kept for the scatter plots (first seed). */
  keepPoints: number;
  /** Subsets of the grid (quick mode only; absent = the whole table). */
  rows?: Table1Row[];
  columns?: Table1Column[];
}

export function table1ExperimentSettings(quick: boolean): Table1ExperimentSettings {
  return quick
    ? { mixture: { kind: "eightGaussians", radius: 2, std: 0.05 }, n: 300, seeds: [0, 1], nRef: 4000, refSeed: 777, floorRepeats: 5, floorSeed: 1, keepPoints: 300, rows: ["reverse diffusion", "probability flow"], columns: ["P1000", "C2000", "PC1000"] }
    : { mixture: { kind: "eightGaussians", radius: 2, std: 0.05 }, n: 2000, seeds: [0, 1, 2, 3, 4], nRef: 10000, refSeed: 777, floorRepeats: 10, floorSeed: 1, keepPoints: 600 };
}


export interface Table1Payload {
  runs: PcRunRow[];
  summary: SummaryRow[];
  floor: NoiseFloorSummary;
  /** configKey → flat [x0, y0, x1, y1, …] (first seed, `keepPoints` points, 3 decimals). */
  samples: Record<string, number[]>;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export async function runTable1Experiment(
  s: Table1ExperimentSettings,
  quick: boolean,
  onRun?: (r: PcRunRow, done: number, total: number) => void,
): Promise<Cached<Table1Payload>> {
  return cachedResult<Table1Payload>(
    "table1_exact_score",
    s,
    quick,
    async () => {
      const { mix, ref, floor } = mixtureReference(s);
      const keep = new Map<string, Float32Array>();
      const runs = await runGrid({ configs: table1Configs(["VE", "VP"], s.rows, s.columns), seeds: s.seeds, n: s.n, ref, scoreFor: (sde) => hostMixtureScore(mix, sde), onRun, keepSamples: keep });
      const samples: Record<string, number[]> = {};
      for (const [k, v] of keep) samples[k] = Array.from(v.subarray(0, 2 * s.keepPoints), round3);
      const truth = Array.from(ref.truth.data.subarray(0, 2 * s.keepPoints), round3);
      samples["truth"] = truth;
      return { runs, summary: summarize(runs), floor, samples };
    },
    (p) => ({ runs: p.runs.map(roundRow), summary: p.summary.map(roundRow) }),
  );
}

function roundRow<T extends object>(r: T): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) o[k] = typeof v === "number" ? sig(v, 5) : v;
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Table 5: snr sweep of the Langevin corrector

export interface SnrSweepSettings {
  mixture: PcMixtureSpec;
  n: number;
  seeds: number[];
  nRef: number;
  refSeed: number;
  /** snr values per SDE. */
  snrs: Record<PcSdeName, number[]>;
  /** Samplers swept: "C2000" and the PC1000 rows. */
  samplers: ("C2000" | Table1Row)[];
}

export function snrSweepSettings(quick: boolean): SnrSweepSettings {
  return quick
    ? {
        mixture: { kind: "eightGaussians", radius: 2, std: 0.05 },
        n: 300,
        seeds: [0],
        nRef: 4000,
        refSeed: 777,
        snrs: { VE: [0.05, 0.16, 0.4], VP: [0.01, 0.27] },
        samplers: ["C2000", "reverse diffusion"],
      }
    : {
        mixture: { kind: "eightGaussians", radius: 2, std: 0.05 },
        n: 1000,
        seeds: [0, 1],
        nRef: 10000,
        refSeed: 777,
        snrs: { VE: [0.05, 0.16, 0.22, 0.4], VP: [0.01, 0.04, 0.16, 0.27] },
        samplers: ["C2000", "ancestral sampling", "reverse diffusion", "probability flow"],
      };
}

export function snrSweepConfigs(s: SnrSweepSettings): PcConfig[] {
  const out: PcConfig[] = [];
  for (const sde of ["VE", "VP"] as const) {
    for (const sm of s.samplers) {
      for (const snr of s.snrs[sde]) {
        out.push(sm === "C2000" ? { sde, row: "corrector only", column: "C2000", snr } : { sde, row: sm, column: "PC1000", snr });
      }
    }
  }
  return out;
}

export interface SnrBest {
  sde: PcSdeName;
  sampler: string;
  /** snr with the lowest mean energy distance. */
  bestSnrByED: number;
  /** snr with the mean spread ratio closest to 1. */
  bestSnrBySpread: number;
  paperSnr: number;
}

/** The best swept snr per SDE and sampler, by energy distance and by spread ratio (closest to 1). */
export function snrBest(summary: readonly SummaryRow[], samplers: readonly ("C2000" | Table1Row)[], paperSnr: (sde: PcSdeName, sampler: string) => number): SnrBest[] {
  const best: SnrBest[] = [];
  for (const sde of ["VE", "VP"] as const) {
    for (const sm of samplers) {
      const rows = summary.filter((r) => r.sde === sde && (sm === "C2000" ? r.column === "C2000" : r.column === "PC1000" && r.row === sm));
      if (rows.length === 0) continue;
      const argmin = (f: (r: SummaryRow) => number): number => rows.reduce((a, b) => (f(b) < f(a) ? b : a)).snr;
      best.push({ sde, sampler: sm === "C2000" ? "C2000" : `PC1000 ${sm}`, bestSnrByED: argmin((r) => r.edMean), bestSnrBySpread: argmin((r) => Math.abs(r.varRatioMean - 1)), paperSnr: paperSnr(sde, sm) });
    }
  }
  return best;
}

export interface SnrSweepPayload {
  runs: PcRunRow[];
  summary: SummaryRow[];
  best: SnrBest[];
}

export async function runSnrSweepExperiment(
  s: SnrSweepSettings,
  quick: boolean,
  paperSnr: (sde: PcSdeName, sampler: string) => number,
  onRun?: (r: PcRunRow, done: number, total: number) => void,
): Promise<Cached<SnrSweepPayload>> {
  return cachedResult<SnrSweepPayload>(
    "table5_snr_sweep",
    s,
    quick,
    async () => {
      const mix = pcMixture(s.mixture);
      const ref = makeReference(mix, s.nRef, s.refSeed);
      const runs = await runGrid({ configs: snrSweepConfigs(s), seeds: s.seeds, n: s.n, ref, scoreFor: (sde) => hostMixtureScore(mix, sde), onRun });
      const summary = summarize(runs);
      const best = snrBest(summary, s.samplers, paperSnr);
      return { runs, summary, best };
    },
    (p) => ({ runs: p.runs.map(roundRow), summary: p.summary.map(roundRow), best: p.best.map(roundRow) }),
  );
}



// ---------------------------------------------------------------------------------------------------------------
// Table 1 with the LEARNED score (the toy models of ./models, on their data eightGaussians(2, 0.2))

export interface LearnedTable1Settings {
  n: number;
  seeds: number[];
  nRef: number;
  refSeed: number;
  floorRepeats: number;
  rows: Table1Row[];
  columns: Table1Column[];
  /** The models (VE and VP, seed 1) whose scores are sampled. */
  models: ToyModelSpec[];
}

export function learnedTable1Settings(quick: boolean): LearnedTable1Settings {
  return {
    n: quick ? 200 : 1000,
    seeds: quick ? [0, 1] : [0, 1, 2],
    nRef: quick ? 3000 : 10000,
    refSeed: 777,
    floorRepeats: 5,
    // Full mode: the paper's whole Table 1 grid (3 predictors × P1000, P2000, C2000, PC1000); snr = the paper's Table 5.
    rows: quick ? ["reverse diffusion"] : ["ancestral sampling", "reverse diffusion", "probability flow"],
    columns: quick ? ["P1000", "C2000", "PC1000"] : ["P1000", "P2000", "C2000", "PC1000"],
    models: [toyModelSpec("VE", 1, quick), toyModelSpec("VP", 1, quick)],
  };
}

export async function runLearnedTable1Experiment(
  s: LearnedTable1Settings,
  quick: boolean,
  onRun?: (r: PcRunRow, done: number, total: number) => void,
): Promise<Cached<Table1Payload>> {
  return cachedResult<Table1Payload>(
    "table1_learned_score",
    s,
    quick,
    async () => {
      const mix = toyModelData(s.models[0]);
      const ref = makeReference(mix, s.nRef, s.refSeed);
      const floor = referenceNoiseFloor(ref, s.n, s.floorRepeats, s.refSeed + 1);
      const runs: PcRunRow[] = [];
      const keep = new Map<string, Float32Array>();
      const all = table1Configs(["VE", "VP"], s.rows, s.columns);
      let done = 0;
      for (const spec of s.models) {
        const m = await trainOrLoadToyModel(spec, quick);
        try {
          const configs = all.filter((c) => c.sde === spec.sde);
          const part = await runGrid({
            configs, seeds: s.seeds, n: s.n, ref, keepSamples: keep,
            scoreFor: (sde) => scoreFnFromModel(sde, m.model),
            onRun: (r) => onRun?.(r, ++done, all.length * s.seeds.length),
          });
          runs.push(...part);
        } finally {
          m.dispose();
        }
      }
      const samples: Record<string, number[]> = {};
      for (const [k, v] of keep) samples[k] = Array.from(v.subarray(0, 1200), round3);
      samples["truth"] = Array.from(ref.truth.data.subarray(0, 1200), round3);
      return { runs, summary: summarize(runs), floor, samples };
    },
    (p) => ({ runs: p.runs.map(roundRow), summary: p.summary.map(roundRow) }),
  );
}
