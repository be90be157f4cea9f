/**
 * Runners for the paper's predictor–corrector ablations (Song et al. 2021, Table 1 and Table 5) on toy data.
 *
 * One configuration = one `pcSample` call with the settings of `table1Settings` (lib/sampling/table1.ts), at
 * an snr that can be overridden (the Table 5 sweep). Each run is scored against a fixed sample of the TRUE
 * distribution by
 *   - the energy distance (V-statistic, Székely–Rizzo; lib/metrics) — the table's metric, read against its noise
 *     floor (two true samples of the same sizes);
 *   - the sample cross-entropy −mean log p₀(x) under the exact mixture density, minus that of a true sample of the
 *     same size (ΔCE ≈ KL(q‖p) + H(q) − H(p)): far more sensitive to mass put between or around tight modes.
 * C2000 (corrector only) does not depend on the predictor row: it is run once per SDE and seed.
 */
import { createRng } from "../lib/random";
import { energyDistance, mean, modeStats, sampleCrossEntropy, std } from "../lib/metrics";
import type { HostPoints } from "../lib/metrics";
import { pcSample, table1Settings, TABLE1_COLUMNS, TABLE1_ROWS } from "../lib/sampling";
import type { Table1Column, Table1Row } from "../lib/sampling";
import { sdeFromConfig, type ScoreFn, type SDE } from "../lib/sde";
import type { GaussianMixture } from "../lib/toy";

export type PcSdeName = "VE" | "VP";

/** Table 1 of the paper: CIFAR-10 FID (mean over 5 sampling runs), for the tables' "paper" column. */
export const PAPER_TABLE1_FID: Record<PcSdeName, Record<Table1Row, Record<Table1Column, number>>> = {
  VE: {
    "ancestral sampling": { P1000: 4.98, P2000: 4.88, C2000: 20.43, PC1000: 3.62 },
    "reverse diffusion": { P1000: 4.79, P2000: 4.74, C2000: 20.43, PC1000: 3.6 },
    "probability flow": { P1000: 15.41, P2000: 10.54, C2000: 20.43, PC1000: 3.51 },
  },
  VP: {
    "ancestral sampling": { P1000: 3.24, P2000: 3.24, C2000: 19.06, PC1000: 3.21 },
    "reverse diffusion": { P1000: 3.21, P2000: 3.19, C2000: 19.06, PC1000: 3.18 },
    "probability flow": { P1000: 3.59, P2000: 3.23, C2000: 19.06, PC1000: 3.06 },
  },
};

/** Table 5 of the paper: the best snr (grid step 0.01), as the library's `table1Settings` holds it. */
export const PAPER_TABLE5_SNR: Record<PcSdeName, { C2000: number } & Record<Table1Row, number>> = {
  VE: paperSnrs("VE"),
  VP: paperSnrs("VP"),
};

function paperSnrs(sde: PcSdeName): { C2000: number } & Record<Table1Row, number> {
  const pc = (row: Table1Row): number => table1Settings("PC1000", row, sde).snr;
  return { C2000: table1Settings("C2000", "reverse diffusion", sde).snr, "ancestral sampling": pc("ancestral sampling"), "reverse diffusion": pc("reverse diffusion"), "probability flow": pc("probability flow") };
}

/** One sampler configuration of the grid. `row` is "corrector only" for C2000. */
export interface PcConfig {
  sde: PcSdeName;
  row: Table1Row | "corrector only";
  column: Table1Column;
  /** Override the Langevin snr (Table 5 sweep); default: the paper's Table 5 value. */
  snr?: number;
}

/** What every run is scored against. */
export interface PcReference {
  mixture: GaussianMixture;
  /** A large true sample (host float64, [nRef, 2]). */
  truth: HostPoints;
  /** −mean log p₀ of true samples (the CE a perfect sampler gets, in expectation). */
  trueCrossEntropy: number;
}

/** Draws the reference sample and its cross-entropy (seeded). */
export function makeReference(mixture: GaussianMixture, nRef: number, seed: number): PcReference {
  const t = mixture.sample(nRef, createRng(seed));
  const data = Float64Array.from(t.dataSync());
  const ce = sampleCrossEntropy(mixture, t);
  t.dispose();
  return { mixture, truth: { data, n: nRef, dim: mixture.dim }, trueCrossEntropy: ce };
}

export interface PcRunRow {
  sde: PcSdeName;
  row: string;
  column: Table1Column;
  predictor: string;
  corrector: string;
  probabilityFlow: boolean;
  N: number;
  nSteps: number;
  snr: number;
  seed: number;
  samples: number;
  energyDistance: number;
  /** Sample cross-entropy minus the reference sample's (nats). */
  deltaCE: number;
  /** Per-mode diagnostics (./stats modeStats): within-mode variance ratio (1 = exact), mode-weight TV. */
  varRatio: number;
  weightTV: number;
  /** NFE as the official code counts it, N · (nSteps + 1). */
  nfe: number;
  /** Score evaluations actually made. */
  scoreEvals: number;
  seconds: number;
}

/** Runs one configuration with one seed and scores it. `scoreFor(sde)` gives the score to sample with. */
export async function runPcConfig(
  cfg: PcConfig,
  seed: number,
  n: number,
  ref: PcReference,
  scoreFor: (sde: SDE) => ScoreFn,
): Promise<{ row: PcRunRow; samples: Float32Array }> {
  const settingsRow: Table1Row = cfg.row === "corrector only" ? "reverse diffusion" : cfg.row;
  const s = table1Settings(cfg.column, settingsRow, cfg.sde);
  const snr = cfg.snr ?? s.snr;
  const sde = sdeFromConfig({ kind: cfg.sde, N: s.N });
  const t0 = Date.now();
  const res = await pcSample({
    sde,
    score: scoreFor(sde),
    shape: [n, ref.mixture.dim],
    predictor: s.predictor,
    corrector: s.corrector,
    snr,
    nSteps: s.nSteps,
    probabilityFlow: s.probabilityFlow,
    rng: createRng(seed),
  });
  const seconds = (Date.now() - t0) / 1000;
  const samples = res.samples.dataSync() as Float32Array;
  res.samples.dispose();
  const pts = { data: Float64Array.from(samples), dim: ref.mixture.dim };
  const ed = energyDistance(pts, ref.truth);
  const ce = sampleCrossEntropy(ref.mixture, pts);
  const ms = modeStats(ref.mixture, pts.data, ref.mixture.dim);
  return {
    row: {
      sde: cfg.sde,
      row: cfg.column === "C2000" ? "corrector only" : cfg.row,
      column: cfg.column,
      predictor: s.predictor,
      corrector: s.corrector,
      probabilityFlow: s.probabilityFlow,
      N: s.N,
      nSteps: s.nSteps,
      snr: s.corrector === "none" ? 0 : snr,
      seed,
      samples: n,
      energyDistance: ed,
      deltaCE: ce - ref.trueCrossEntropy,
      varRatio: ms.varRatio,
      weightTV: ms.weightTV,
      nfe: res.nfe,
      scoreEvals: res.scoreEvals,
      seconds,
    },
    samples,
  };
}

/** The Table 1 configurations in the paper's order; C2000 once per SDE. */
export function table1Configs(sdes: readonly PcSdeName[] = ["VE", "VP"], rows: readonly Table1Row[] = TABLE1_ROWS, columns: readonly Table1Column[] = TABLE1_COLUMNS): PcConfig[] {
  const out: PcConfig[] = [];
  for (const sde of sdes) {
    for (const column of columns) {
      if (column === "C2000") out.push({ sde, row: "corrector only", column });
      else for (const row of rows) out.push({ sde, row, column });
    }
  }
  return out;
}

export interface GridOptions {
  configs: readonly PcConfig[];
  seeds: readonly number[];
  n: number;
  ref: PcReference;
  scoreFor: (sde: SDE) => ScoreFn;
  /** Called after every run (progress, partial saves). */
  onRun?: (row: PcRunRow, done: number, total: number) => void;
  /** Keep the samples of the first seed of each configuration (for scatter plots), keyed by `configKey`. */
  keepSamples?: Map<string, Float32Array>;
}

export function configKey(c: { sde: string; row: string; column: string; snr?: number }): string {
  return `${c.sde}|${c.row}|${c.column}${c.snr !== undefined ? `|${c.snr}` : ""}`;
}

/** Runs every configuration with every seed. */
export async function runGrid(o: GridOptions): Promise<PcRunRow[]> {
  const rows: PcRunRow[] = [];
  const total = o.configs.length * o.seeds.length;
  for (const cfg of o.configs) {
    for (const [j, seed] of o.seeds.entries()) {
      const { row, samples } = await runPcConfig(cfg, seed, o.n, o.ref, o.scoreFor);
      rows.push(row);
      if (j === 0 && o.keepSamples) o.keepSamples.set(configKey(cfg), samples);
      o.onRun?.(row, rows.length, total);
    }
  }
  return rows;
}

/** Mean ± std over repeats of the four sample metrics of a run (energy distance, ΔCE, mode spread, weight TV). */
export interface MetricStats {
  edMean: number;
  edStd: number;
  dceMean: number;
  dceStd: number;
  varRatioMean: number;
  varRatioStd: number;
  weightTVMean: number;
  weightTVStd: number;
}

/** The metric values of one set of samples, as `metricStats` reads them. */
export interface RunMetrics {
  energyDistance: number;
  deltaCE: number;
  varRatio: number;
  weightTV: number;
}

export function metricStats(runs: readonly RunMetrics[]): MetricStats {
  const of = (f: (r: RunMetrics) => number) => runs.map(f);
  const [ed, dce, vr, tv] = [of((r) => r.energyDistance), of((r) => r.deltaCE), of((r) => r.varRatio), of((r) => r.weightTV)];
  return { edMean: mean(ed), edStd: std(ed), dceMean: mean(dce), dceStd: std(dce), varRatioMean: mean(vr), varRatioStd: std(vr), weightTVMean: mean(tv), weightTVStd: std(tv) };
}

export interface SummaryRow extends MetricStats {
  sde: PcSdeName;
  row: string;
  column: Table1Column;
  snr: number;
  seeds: number;
  nfe: number;
  scoreEvals: number;
  secondsMean: number;
  paperFid: number;
}

/** Mean ± std over seeds per (sde, row, column, snr). */
export function summarize(rows: readonly PcRunRow[]): SummaryRow[] {
  const groups = new Map<string, PcRunRow[]>();
  for (const r of rows) {
    const k = configKey({ ...r, snr: r.snr });
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const out: SummaryRow[] = [];
  for (const g of groups.values()) {
    const r0 = g[0];
    const paperRow: Table1Row = r0.row === "corrector only" ? "reverse diffusion" : (r0.row as Table1Row);
    out.push({
      sde: r0.sde,
      row: r0.row,
      column: r0.column,
      snr: r0.snr,
      seeds: g.length,
      ...metricStats(g),
      nfe: r0.nfe,
      scoreEvals: r0.scoreEvals,
      secondsMean: mean(g.map((r) => r.seconds)),
      paperFid: PAPER_TABLE1_FID[r0.sde][paperRow][r0.column],
    });
  }
  return out;
}

/** Looks up one summary cell. */
export function cell(summary: readonly SummaryRow[], sde: PcSdeName, row: string, column: Table1Column): SummaryRow {
  const r = summary.find((s) => s.sde === sde && s.column === column && (column === "C2000" || s.row === row));
  if (!r) throw new Error(`no result for ${sde} / ${row} / ${column}`);
  return r;
}

/** The energy-distance noise floor of `n` sampler points against the reference: V-statistic between true samples. */
export function referenceNoiseFloor(ref: PcReference, n: number, repeats: number, seed: number): NoiseFloorSummary {
  const rng = createRng(seed);
  const runs: RunMetrics[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = ref.mixture.sample(n, rng);
    const pts = { data: Float64Array.from(t.dataSync()), dim: ref.mixture.dim };
    t.dispose();
    const ms = modeStats(ref.mixture, pts.data, ref.mixture.dim);
    runs.push({
      energyDistance: energyDistance(pts, ref.truth),
      deltaCE: sampleCrossEntropy(ref.mixture, pts) - ref.trueCrossEntropy,
      varRatio: ms.varRatio,
      weightTV: ms.weightTV,
    });
  }
  return metricStats(runs);
}

/** What true samples of the sampler's size score: the floor every metric is read against. */
export type NoiseFloorSummary = MetricStats;

/** A metric of one run where lower is better. */
export type RunMetric = "energyDistance" | "spreadError" | "absDeltaCE";

export function metricOf(r: PcRunRow, m: RunMetric): number {
  if (m === "energyDistance") return r.energyDistance;
  if (m === "spreadError") return Math.abs(r.varRatio - 1);
  return Math.abs(r.deltaCE);
}

export interface PairedComparison {
  /** mean over seeds of metric(a) − metric(b) (same seed: common random numbers), its std and t statistic. */
  diffMean: number;
  diffStd: number;
  t: number;
  seeds: number;
}

function findRuns(runs: readonly PcRunRow[], sde: PcSdeName, row: string, column: Table1Column): PcRunRow[] {
  return runs.filter((r) => r.sde === sde && r.column === column && (column === "C2000" || r.row === row));
}

/** Paired (same-seed) difference of a metric between configurations a and b. */
export function paired(runs: readonly PcRunRow[], sde: PcSdeName, a: [string, Table1Column], b: [string, Table1Column], metric: RunMetric): PairedComparison {
  const ra = findRuns(runs, sde, a[0], a[1]);
  const rb = findRuns(runs, sde, b[0], b[1]);
  const diffs: number[] = [];
  for (const x of ra) {
    const y = rb.find((r) => r.seed === x.seed);
    if (y) diffs.push(metricOf(x, metric) - metricOf(y, metric));
  }
  const m = mean(diffs);
  const s = std(diffs);
  return { diffMean: m, diffStd: s, t: s > 0 ? m / (s / Math.sqrt(diffs.length)) : m === 0 ? 0 : Math.sign(m) * Infinity, seeds: diffs.length };
}

export type Verdict = "holds" | "reversed" | "not resolved";

/** "a better than b" holds when the paired difference is negative with |t| ≥ tMin (default 2.5), reversed when positive. */
export function verdict(c: PairedComparison, tMin = 2.5): Verdict {
  if (c.seeds < 2 || !(Math.abs(c.t) >= tMin)) return "not resolved";
  return c.diffMean < 0 ? "holds" : "reversed";
}

export interface ClaimRow {
  claim: string;
  sde: PcSdeName;
  better: string;
  worse: string;
  paperFid: string;
  metric: RunMetric;
  diffMean: number;
  diffStd: number;
  t: number;
  verdict: Verdict;
}

/**
 * The orderings Table 1 claims, checked pairwise on the runs: for each SDE and each claimed "better < worse" pair, the
 * paired difference of `metric` (better − worse; negative = the claim's direction).
 */
export function table1Claims(runs: readonly PcRunRow[], metric: RunMetric, tMin = 2.5): ClaimRow[] {
  const out: ClaimRow[] = [];
  const rows = TABLE1_ROWS;
  const fid = (sde: PcSdeName, r: string, c: Table1Column): number => PAPER_TABLE1_FID[sde][(r === "corrector only" ? "reverse diffusion" : r) as Table1Row][c];
  const add = (claim: string, sde: PcSdeName, a: [string, Table1Column], b: [string, Table1Column]): void => {
    if (findRuns(runs, sde, ...a).length === 0 || findRuns(runs, sde, ...b).length === 0) return;
    const c = paired(runs, sde, a, b, metric);
    out.push({
      claim,
      sde,
      better: `${a[1]} ${a[1] === "C2000" ? "" : a[0]}`.trim(),
      worse: `${b[1]} ${b[1] === "C2000" ? "" : b[0]}`.trim(),
      paperFid: `${fid(sde, ...a)} < ${fid(sde, ...b)}`,
      metric,
      diffMean: c.diffMean,
      diffStd: c.diffStd,
      t: c.t,
      verdict: verdict(c, tMin),
    });
  };
  for (const sde of ["VE", "VP"] as const) {
    for (const r of rows) add("PC1000 beats P1000", sde, [r, "PC1000"], [r, "P1000"]);
    for (const r of rows) add("PC1000 beats C2000", sde, [r, "PC1000"], ["corrector only", "C2000"]);
    for (const r of rows) add("C2000 is worst (P1000 beats it)", sde, [r, "P1000"], ["corrector only", "C2000"]);
    for (const r of rows) add("P2000 beats P1000", sde, [r, "P2000"], [r, "P1000"]);
  }
  add("VE: reverse diffusion P1000 beats probability flow P1000", "VE", ["reverse diffusion", "P1000"], ["probability flow", "P1000"]);
  add("VE: ancestral P1000 beats probability flow P1000", "VE", ["ancestral sampling", "P1000"], ["probability flow", "P1000"]);
  return out;
}

/**
 * The paper's Table 1 layout (one record per predictor row; columns "VE P1000" … "VP PC1000") filled with
 * `value(cell)` — e.g. our mean ± std of a metric, or the paper's FID.
 */
export function table1Layout(summary: readonly SummaryRow[], value: (s: SummaryRow) => string | number): Record<string, string | number>[] {
  return TABLE1_ROWS.map((row) => {
    const rec: Record<string, string | number> = { predictor: row };
    for (const sde of ["VE", "VP"] as const) {
      for (const column of TABLE1_COLUMNS) {
        const s = summary.find((x) => x.sde === sde && x.column === column && (column === "C2000" || x.row === row));
        rec[`${sde} ${column}`] = s ? value(s) : "–";
      }
    }
    return rec;
  });
}

/** The paper's Table 1 (CIFAR-10 FID) in the same layout. */
export function paperTable1Layout(): Record<string, string | number>[] {
  return TABLE1_ROWS.map((row) => {
    const rec: Record<string, string | number> = { predictor: row };
    for (const sde of ["VE", "VP"] as const) for (const column of TABLE1_COLUMNS) rec[`${sde} ${column}`] = PAPER_TABLE1_FID[sde][row][column];
    return rec;
  });
}

/** Points relative to the centre of their nearest mode (all modes folded onto one frame), flat [dx, dy, …]. */
export function foldToModes(means: readonly (readonly number[])[], flat: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    let best = 0;
    let bd = Infinity;
    for (let k = 0; k < means.length; k++) {
      const d = (flat[i] - means[k][0]) ** 2 + (flat[i + 1] - means[k][1]) ** 2;
      if (d < bd) {
        bd = d;
        best = k;
      }
    }
    out.push(flat[i] - means[best][0], flat[i + 1] - means[best][1]);
  }
  return out;
}
