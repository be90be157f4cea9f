/**
 * The probability-flow experiments of notebook 05 (Song et al. 2021, §4.3, Fig. 3, Table 2, App. D.5) on
 * eightGaussians(radius 2, std 0.2) — the data the toy models of ./models are trained on:
 *   1. NFE and sample quality of adaptive RK45 against the tolerance (exact score, and a learned VP model);
 *   2. NLL of held-out points for VE / VP / sub-VP, exact score and learned models, exact trace and Hutchinson
 *      divergence, against the true value −mean log p₀ (the mixture's exact density);
 *   3. encode → decode round trips, latent interpolation, and identifiability of the encodings of two independently
 *      trained VP models (and of the exact-score flow).
 */
import * as tf from "@tensorflow/tfjs";
import { logLikelihood } from "../lib/likelihood";
import { energyDistance, mean, modeStats, sampleCrossEntropy, std } from "../lib/metrics";
import { odeEncode, odeSample } from "../lib/ode";
import { createRng } from "../lib/random";
import { Progress } from "../lib/train";
import { inKernel } from "../lib/viz";
import { sdeFromConfig, type ScoreFn, type SDE } from "../lib/sde";
import { hostMixtureScore } from "../lib/toy";
import { ablationModelSpecs, toyModelData, trainOrLoadToyModel } from "./models";
import type { ToySde, TrainedToyModel } from "./models";
import { cachedResult } from "./results";
import type { Cached } from "./results";
import { sig } from "./format";

const DATA = { radius: 2, std: 0.2 };
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function roundRow<T extends object>(r: T): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) o[k] = typeof v === "number" ? sig(v, 5) : v;
  return o;
}

/** Loads (full) or trains (quick) the four ablation models, keyed "VE", "VP", "subVP", "VP#2". */
export async function loadAblationModels(quick: boolean): Promise<Map<string, TrainedToyModel>> {
  const out = new Map<string, TrainedToyModel>();
  for (const spec of ablationModelSpecs(quick)) {
    const m = await trainOrLoadToyModel(spec, quick);
    out.set(spec.sde === "VP" && spec.seed === 2 ? "VP#2" : spec.sde, m);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. tolerance sweep

export interface ToleranceSettings {
  n: number;
  tolerances: number[];
  sdes: ToySde[];
  latentSeed: number;
  nRef: number;
  refSeed: number;
  /** Also sweep the learned VP model. */
  learnedVP: boolean;
}

export function toleranceSettings(quick: boolean): ToleranceSettings {
  return quick
    ? { n: 300, tolerances: [1e-1, 1e-2, 1e-4], sdes: ["VE", "VP"], latentSeed: 5, nRef: 3000, refSeed: 777, learnedVP: true }
    : { n: 1000, tolerances: [3e-1, 1e-1, 3e-2, 1e-2, 1e-3, 1e-4, 1e-5], sdes: ["VE", "VP", "subVP"], latentSeed: 5, nRef: 10000, refSeed: 777, learnedVP: true };
}

export interface ToleranceRow {
  score: string;
  sde: ToySde;
  tol: number;
  nfe: number;
  /** NFE saved relative to the tightest tolerance, in %. */
  nfeSavedPct: number;
  energyDistance: number;
  varRatio: number;
  weightTV: number;
  deltaCE: number;
  /** RMS distance to the tightest-tolerance solution from the same latents (what "visible" change means). */
  rmsToFinest: number;
  maxToFinest: number;
  seconds: number;
}

export interface TolerancePayload {
  rows: ToleranceRow[];
  floorED: { mean: number; std: number };
  /** score|sde|tol → first 400 samples (flat, 3 decimals); "truth" → true points. */
  samples: Record<string, number[]>;
}

export async function runToleranceExperiment(s: ToleranceSettings, quick: boolean, models?: Map<string, TrainedToyModel>, log?: (m: string) => void): Promise<Cached<TolerancePayload>> {
  return cachedResult<TolerancePayload>(
    "flow_tolerance",
    { ...s, models: s.learnedVP ? ablationModelSpecs(quick).filter((m) => m.sde === "VP" && m.seed === 1) : [] },
    quick,
    async () => {
      const mix = toyModelData(DATA);
      const refT = mix.sample(s.nRef, createRng(s.refSeed));
      const ref = { data: Float64Array.from(refT.dataSync()), dim: 2 };
      const refCE = sampleCrossEntropy(mix, refT);
      refT.dispose();
      const floorRng = createRng(s.refSeed + 1);
      const floors: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t = mix.sample(s.n, floorRng);
        floors.push(energyDistance(t, ref));
        t.dispose();
      }
      const rows: ToleranceRow[] = [];
      const samples: Record<string, number[]> = { truth: Array.from(ref.data.subarray(0, 800), round3) };
      const jobs: { score: string; sde: ToySde; fn: (sde: SDE) => ScoreFn }[] = s.sdes.map((sde) => ({ score: "exact", sde, fn: (x: SDE) => hostMixtureScore(mix, x) }));
      if (s.learnedVP) {
        const m = models?.get("VP") ?? (await trainOrLoadToyModel(ablationModelSpecs(quick)[1], quick));
        jobs.push({ score: "learned", sde: "VP", fn: () => m.score });
      }
      for (const job of jobs) {
        const sde = sdeFromConfig({ kind: job.sde });
        const score = job.fn(sde);
        const z = sde.priorSample([s.n, 2], createRng(s.latentSeed));
        const tols = [...s.tolerances].sort((a, b) => a - b); // finest first
        let finest: Float32Array | undefined;
        let finestNfe = 0;
        const part: ToleranceRow[] = [];
        for (const tol of tols) {
          const t0 = Date.now();
          const r = await odeSample({ sde, score, z, rtol: tol, atol: tol });
          const seconds = (Date.now() - t0) / 1000;
          const x = r.samples.dataSync() as Float32Array;
          r.samples.dispose();
          if (!finest) {
            finest = x;
            finestNfe = r.nfe;
          }
          let se = 0;
          let mx = 0;
          for (let i = 0; i < x.length; i += 2) {
            const d2 = (x[i] - finest[i]) ** 2 + (x[i + 1] - finest[i + 1]) ** 2;
            se += d2;
            mx = Math.max(mx, Math.sqrt(d2));
          }
          const pts = { data: Float64Array.from(x), dim: 2 };
          const ms = modeStats(mix, pts.data, 2);
          part.push({
            score: job.score,
            sde: job.sde,
            tol,
            nfe: r.nfe,
            nfeSavedPct: 0,
            energyDistance: energyDistance(pts, ref),
            varRatio: ms.varRatio,
            weightTV: ms.weightTV,
            deltaCE: sampleCrossEntropy(mix, pts) - refCE,
            rmsToFinest: Math.sqrt(se / (x.length / 2)),
            maxToFinest: mx,
            seconds,
          });
          samples[`${job.score}|${job.sde}|${tol}`] = Array.from(x.subarray(0, 800), round3);
          log?.(`tolerance ${job.score} ${job.sde} ${tol}: nfe ${r.nfe}, ${seconds.toFixed(1)} s`);
        }
        z.dispose();
        for (const p of part) p.nfeSavedPct = 100 * (1 - p.nfe / finestNfe);
        rows.push(...part.sort((a, b) => b.tol - a.tol));
      }
      return { rows, floorED: { mean: mean(floors), std: std(floors) }, samples };
    },
    (p) => ({ "": p.rows.map(roundRow) }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 2. likelihood (Table 2)

export interface NllSettings {
  n: number;
  dataSeed: number;
  rtol: number;
  atol: number;
  eps: number;
  probeSeed: number;
  sdes: ToySde[];
  divergences: ("exact" | "rademacher")[];
}

export function nllSettings(quick: boolean): NllSettings {
  return quick
    ? { n: 100, dataSeed: 31, rtol: 1e-3, atol: 1e-3, eps: 1e-5, probeSeed: 9, sdes: ["VE", "VP", "subVP"], divergences: ["exact", "rademacher"] }
    : { n: 500, dataSeed: 31, rtol: 1e-5, atol: 1e-5, eps: 1e-5, probeSeed: 9, sdes: ["VE", "VP", "subVP"], divergences: ["exact", "rademacher"] };
}

export interface NllRow {
  score: string;
  sde: ToySde;
  divergence: string;
  /** −mean log p (nats per point) and its standard error over points. */
  nll: number;
  nllSE: number;
  /** The true value on the same points: −mean log p₀ under the mixture. */
  trueNll: number;
  /** nll − trueNll (mean) and its standard error (paired over points). */
  gap: number;
  gapSE: number;
  /** bits/dim of continuous 2-D data: nll / (2 ln 2). */
  bpd: number;
  nfe: number;
  seconds: number;
}

export interface NllPayload {
  rows: NllRow[];
}

export async function runNllExperiment(s: NllSettings, quick: boolean, models?: Map<string, TrainedToyModel>, log?: (m: string) => void): Promise<Cached<NllPayload>> {
  return cachedResult<NllPayload>(
    "flow_nll",
    { ...s, models: ablationModelSpecs(quick).filter((m) => m.seed === 1) },
    quick,
    async () => {
      const mix = toyModelData(DATA);
      const x = mix.sample(s.n, createRng(s.dataSeed));
      const truePer = Array.from(tf.tidy(() => mix.logProb(x).neg()).dataSync());
      const rows: NllRow[] = [];
      const own = models ?? (await loadAblationModels(quick));
      // One progress line over all solves (each solve's own line is off), shown where logLikelihood's would be: in
      // a notebook (updated in place) or a terminal, not in pipes and tests.
      const solves = 2 * s.sdes.length * s.divergences.length;
      const shown = inKernel() || Boolean(process.stderr.isTTY);
      const progress = new Progress({ total: solves, unit: "solves", label: "NLL", mode: shown ? undefined : "off" });
      for (const scoreKind of ["exact", "learned"] as const) {
        for (const sdeName of s.sdes) {
          const sde = sdeFromConfig({ kind: sdeName });
          const score = scoreKind === "exact" ? mix.scoreFn(sde) : own.get(sdeName)!.score;
          for (const div of s.divergences) {
            const t0 = Date.now();
            const span = sde.T - s.eps;
            const r = await logLikelihood({
              sde, score, x, divergence: div, eps: s.eps, rtol: s.rtol, atol: s.atol,
              rng: div === "exact" ? undefined : createRng(s.probeSeed),
              progress: false,
              onStep: (st) => progress.update(rows.length + (st.t - s.eps) / span, `${scoreKind} ${sdeName} ${div}  NFE ${st.nfe}`),
            });
            const per = Array.from(r.logp.dataSync(), (v) => -v);
            tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
            const gaps = per.map((v, i) => v - truePer[i]);
            const nll = mean(per);
            rows.push({
              score: scoreKind,
              sde: sdeName,
              divergence: div,
              nll,
              nllSE: std(per) / Math.sqrt(per.length),
              trueNll: mean(truePer),
              gap: mean(gaps),
              gapSE: std(gaps) / Math.sqrt(gaps.length),
              bpd: nll / (2 * Math.LN2),
              nfe: r.nfe,
              seconds: (Date.now() - t0) / 1000,
            });
            log?.(`nll ${scoreKind} ${sdeName} ${div}: ${nll.toFixed(4)} (true ${mean(truePer).toFixed(4)}), nfe ${r.nfe}`);
          }
        }
      }
      progress.finish(solves);
      x.dispose();
      if (!models) for (const m of own.values()) m.dispose();
      return { rows };
    },
    (p) => ({ "": p.rows.map(roundRow) }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 3. encoding, interpolation, identifiability

export interface EncodeSettings {
  n: number;
  dataSeed: number;
  tol: number;
  permSeed: number;
  /** Interpolation: number of points along the latent path. */
  steps: number;
}

export function encodeSettings(quick: boolean): EncodeSettings {
  return quick ? { n: 60, dataSeed: 41, tol: 1e-3, permSeed: 3, steps: 5 } : { n: 300, dataSeed: 41, tol: 1e-5, permSeed: 3, steps: 11 };
}

export interface EncodeRow {
  score: string;
  /** Max and RMS of ‖decode(encode(x)) − x‖ over the points. */
  reconMax: number;
  reconRms: number;
  /** Energy distance between the latents and an equal-size prior sample, and its noise floor (two prior samples). */
  latentED: number;
  nfeEncode: number;
  nfeDecode: number;
}

export interface IdentRow {
  pair: string;
  /** Mean ‖z_a(x) − z_b(x)‖ over the same points. */
  sameData: number;
  /** Mean ‖z_a(x_i) − z_b(x_π(i))‖ for a random permutation π. */
  randomPairing: number;
  ratio: number;
}

export interface EncodePayload {
  encode: EncodeRow[];
  latentFloorED: number;
  ident: IdentRow[];
  /** Latents and data (flat) for plots. */
  data: number[];
  latents: Record<string, number[]>;
  /** Interpolation: score → decoded path [steps × 2] for 3 pairs of points. */
  interpolation: Record<string, { pair: number; a: number[]; b: number[]; path: number[] }[]>;
}

/** Spherical interpolation of two latents (keeps the norm typical of a Gaussian prior). */
export function slerp(a: readonly number[], b: readonly number[], u: number): number[] {
  const na = Math.hypot(...a);
  const nb = Math.hypot(...b);
  const cos = Math.min(1, Math.max(-1, a.reduce((s, v, i) => s + v * b[i], 0) / (na * nb)));
  const th = Math.acos(cos);
  if (th < 1e-6) return a.map((v, i) => (1 - u) * v + u * b[i]);
  const wa = Math.sin((1 - u) * th) / Math.sin(th);
  const wb = Math.sin(u * th) / Math.sin(th);
  return a.map((v, i) => wa * v + wb * b[i]);
}

export async function runEncodeExperiment(s: EncodeSettings, quick: boolean, models?: Map<string, TrainedToyModel>, log?: (m: string) => void): Promise<Cached<EncodePayload>> {
  return cachedResult<EncodePayload>(
    "flow_encode",
    { ...s, models: ablationModelSpecs(quick).filter((m) => m.sde === "VP") },
    quick,
    async () => {
      const mix = toyModelData(DATA);
      const sde = sdeFromConfig({ kind: "VP" });
      const x = mix.sample(s.n, createRng(s.dataSeed));
      const xs = Array.from(x.dataSync());
      const own = models ?? (await loadAblationModels(quick));
      const scores: [string, ScoreFn][] = [
        ["exact", hostMixtureScore(mix, sde)],
        ["learned VP #1", own.get("VP")!.score],
        ["learned VP #2", own.get("VP#2")!.score],
      ];
      const latents: Record<string, number[]> = {};
      const encode: EncodeRow[] = [];
      const priorA = sde.priorSample([s.n, 2], createRng(s.dataSeed + 100));
      const priorB = sde.priorSample([s.n, 2], createRng(s.dataSeed + 200));
      const latentFloorED = energyDistance(priorA, priorB);
      const interpolation: EncodePayload["interpolation"] = {};
      // Interpolation end points: three pairs of data points from different modes.
      const pairs = [
        [0, 1],
        [2, 3],
        [4, 5],
      ];
      for (const [name, score] of scores) {
        const e = await odeEncode({ sde, score, x, rtol: s.tol, atol: s.tol });
        const d = await odeSample({ sde, score, z: e.z, rtol: s.tol, atol: s.tol });
        const zs = Array.from(e.z.dataSync());
        const rs = d.samples.dataSync();
        let mx = 0;
        let se = 0;
        for (let i = 0; i < xs.length; i += 2) {
          const dd = Math.hypot(rs[i] - xs[i], rs[i + 1] - xs[i + 1]);
          mx = Math.max(mx, dd);
          se += dd * dd;
        }
        encode.push({ score: name, reconMax: mx, reconRms: Math.sqrt(se / (xs.length / 2)), latentED: energyDistance(e.z, priorA), nfeEncode: e.nfe, nfeDecode: d.nfe });
        latents[name] = zs.map(round3);
        tf.dispose([e.z, d.samples]);
        // Interpolate between the latents of points i and j (slerp) and decode the whole path in one batch.
        const path: number[][] = [];
        for (const [i, j] of pairs) {
          const a = [zs[2 * i], zs[2 * i + 1]];
          const b = [zs[2 * j], zs[2 * j + 1]];
          for (let k = 0; k < s.steps; k++) path.push(slerp(a, b, k / (s.steps - 1)));
        }
        const zPath = tf.tensor2d(path.flat(), [path.length, 2], "float32");
        const dec = await odeSample({ sde, score, z: zPath, rtol: s.tol, atol: s.tol });
        const dp = Array.from(dec.samples.dataSync());
        tf.dispose([zPath, dec.samples]);
        interpolation[name] = pairs.map(([i, j], p) => ({
          pair: p,
          a: [xs[2 * i], xs[2 * i + 1]].map(round3),
          b: [xs[2 * j], xs[2 * j + 1]].map(round3),
          path: dp.slice(p * 2 * s.steps, (p + 1) * 2 * s.steps).map(round3),
        }));
        log?.(`encode ${name}: recon max ${mx.toExponential(2)}, nfe ${e.nfe}/${d.nfe}`);
      }
      // The same data encoded by the exact-score flows of the other two SDEs, latents divided by the prior std
      // (σ_max for VE, 1 for sub-VP): with the exact score the three ODEs are one ODE after x ↦ x / m(t),
      // σ = s(t) / m(t), so they should give the same standardised latents.
      for (const [name, other, scale] of [["exact VE (z / σ_max)", sdeFromConfig({ kind: "VE" }), 50], ["exact sub-VP", sdeFromConfig({ kind: "subVP" }), 1]] as const) {
        const e = await odeEncode({ sde: other, score: hostMixtureScore(mix, other), x, rtol: s.tol, atol: s.tol });
        latents[name] = Array.from(e.z.dataSync(), (v) => round3(v / scale));
        e.z.dispose();
        log?.(`encode ${name}: nfe ${e.nfe}`);
      }
      tf.dispose([priorA, priorB, x]);
      // Identifiability: distances between the latents of the same points under two maps, vs a random pairing.
      const rng = createRng(s.permSeed);
      const perm = Array.from({ length: s.n }, (_, i) => i);
      const u = rng.uniformArray(s.n);
      for (let i = s.n - 1; i > 0; i--) {
        const j = Math.floor(u[i] * (i + 1));
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      const full = (name: string): number[] => latents[name];
      const ident: IdentRow[] = [];
      for (const [a, b] of [
        ["learned VP #1", "learned VP #2"],
        ["learned VP #1", "exact"],
        ["learned VP #2", "exact"],
        ["exact VE (z / σ_max)", "exact"],
        ["exact sub-VP", "exact"],
      ]) {
        const za = full(a);
        const zb = full(b);
        let same = 0;
        let rand = 0;
        for (let i = 0; i < s.n; i++) {
          same += Math.hypot(za[2 * i] - zb[2 * i], za[2 * i + 1] - zb[2 * i + 1]);
          const j = perm[i];
          rand += Math.hypot(za[2 * i] - zb[2 * j], za[2 * i + 1] - zb[2 * j + 1]);
        }
        ident.push({ pair: `${a} vs ${b}`, sameData: same / s.n, randomPairing: rand / s.n, ratio: same / rand });
      }
      if (!models) for (const m of own.values()) m.dispose();
      return { encode, latentFloorED, ident, data: xs.map(round3), latents, interpolation };
    },
    (p) => ({ encode: p.encode.map(roundRow), identifiability: p.ident.map(roundRow) }),
  );
}
