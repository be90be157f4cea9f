/**
 * The runs behind notebook 07 (controllable generation, issue #16): class-conditional sampling, imputation and
 * colourisation with the EXACT toy score, scored by energy distance against exact conditional samples of the same
 * size (lib/toy/conditional.ts), plus a learned noise-conditional classifier. Quick and full sizes live here; every
 * run is seeded, so a notebook cell recomputes the same numbers.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, VESDE, VPSDE } from "../lib/sde";
import { GaussianMixture, anisotropicMixture, productMixture } from "../lib/toy";
import { MixtureClasses, MixtureConditional, colourToy, grayConditional, GRAY_DECOUPLING } from "../lib/toy";
import { classifierGradFn, createToyClassifier, pcColorize, pcConditionalSample, pcInpaint, trainNoiseConditionalClassifier } from "../lib/controllable";
import type { ClassifierNetwork } from "../lib/controllable";
import type { InpaintStart, ResampleOptions } from "../lib/controllable";
import { energyDistance, noiseFloor } from "../lib/metrics";
import type { NoiseFloor, Points } from "../lib/metrics";

export type ControllableSdeName = "VE" | "VP";

export interface ControllableSettings {
  /** Points per run (and per exact sample). */
  n: number;
  /** Sampler steps N. */
  N: number;
  /** Sampler seeds: each configuration is run once per seed (the same seeds everywhere: paired). */
  seeds: number[];
  /** True-vs-true pairs of the noise floor. */
  floorRepeats: number;
  /** Optimiser steps of the learned classifier. */
  classifierSteps: number;
}

export function controllableSettings(quick: boolean): ControllableSettings {
  return quick
    ? { n: 2000, N: 100, seeds: [7], floorRepeats: 10, classifierSteps: 400 }
    : { n: 2000, N: 100, seeds: [7, 8, 9, 10, 11], floorRepeats: 20, classifierSteps: 2000 };
}

/** VE with σ_max = 10 (the toys span a few units) and VP with the official schedule, both with N steps. */
export function controllableSde(name: ControllableSdeName, N: number): SDE {
  return name === "VE" ? new VESDE({ sigmaMax: 10, N }) : new VPSDE({ N });
}

/** Three overlapping correlated components; classes {0} and {1, 2}: smooth posteriors and conditionals. */
export function overlappingMixture(): GaussianMixture {
  return new GaussianMixture({
    name: "overlapping",
    weights: [0.3, 0.2, 0.5],
    means: [
      [-0.6, 0.2],
      [0.6, 0.6],
      [0.4, -0.5],
    ],
    covariances: [
      [
        [0.3, 0.1],
        [0.1, 0.2],
      ],
      [
        [0.2, 0],
        [0, 0.3],
      ],
      [
        [0.25, -0.05],
        [-0.05, 0.2],
      ],
    ],
  });
}
export const OVERLAPPING_CLASSES = [0, 1, 1];

/**
 * x₀ ~ N(0.3, 0.5) independent of x₁ ~ 0.4 N(−0.7, 0.1) + 0.6 N(0.6, 0.2): the case where replacement is exact
 * (the score of x₁ does not depend on x₀, so re-noising the known part changes nothing).
 */
export function independentMixture(): GaussianMixture {
  return productMixture(
    new GaussianMixture({ name: "x0", weights: [1], means: [[0.3]], covariances: [[[0.5]]] }),
    new GaussianMixture({ name: "x1", weights: [0.4, 0.6], means: [[-0.7], [0.6]], covariances: [[[0.1]], [[0.2]]] }),
  );
}

export interface DistanceRow {
  /** What was run, e.g. { sde: "VP", guidance: 1 }. */
  [key: string]: string | number | boolean;
  sde: ControllableSdeName;
  /** Energy distance to exact conditional samples (mean over three of them), mean over seeds. */
  ed: number;
  edStd: number;
  floorMean: number;
  floorStd: number;
  /** (ed − floor mean) / floor std. */
  z: number;
  /** ed ≤ floor mean + 3 floor std. */
  withinFloor: boolean;
}

/** Per-seed distances of each row (same order as `rows`), for paired comparisons (same seed = same prior draw). */
export type PerSeed = number[][];

/** Paired difference a − b over seeds: mean, std and t = mean / (std / √k) (NaN with one seed). */
export function pairedDifference(a: number[], b: number[]): { mean: number; std: number; t: number } {
  const d = a.map((v, i) => v - b[i]);
  const mean = d.reduce((x, y) => x + y, 0) / d.length;
  const std = d.length > 1 ? Math.sqrt(d.reduce((x, v) => x + (v - mean) ** 2, 0) / (d.length - 1)) : NaN;
  return { mean, std, t: mean / (std / Math.sqrt(d.length)) };
}

const host = (t: tf.Tensor): Float32Array => {
  const v = t.dataSync() as Float32Array;
  return Float32Array.from(v);
};
const ed = (a: Points, b: Points): number => energyDistance(a, b);

function summarise(values: number[], floor: NoiseFloor): Pick<DistanceRow, "ed" | "edStd" | "floorMean" | "floorStd" | "z" | "withinFloor"> {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { ed: mean, edStd: std, floorMean: floor.mean, floorStd: floor.std, z: (mean - floor.mean) / floor.std, withinFloor: mean <= floor.mean + 3 * floor.std };
}

/**
 * Runs one sampler per seed; each run's distance is the mean of its energy distances to three independent exact
 * samples of the same size (averaging over the exact side removes part of the exact sample's own fluctuation, while a
 * bias adds to every term alike). Returns the row statistics, the first seed's samples and the first exact sample.
 */
async function against(
  exact: { sample(n: number, rng: ReturnType<typeof createRng>): tf.Tensor },
  s: ControllableSettings,
  run: (seed: number) => Promise<tf.Tensor>,
): Promise<{ stats: ReturnType<typeof summarise>; values: number[]; samples: Float32Array; truth: Float32Array }> {
  const floor = noiseFloor(exact, s.n, ed, { repeats: s.floorRepeats, seed: 3 });
  const truths = [98, 97, 96].map((seed) => {
    const t = exact.sample(s.n, createRng(seed));
    const v = host(t);
    t.dispose();
    return v;
  });
  const values: number[] = [];
  let first: Float32Array | undefined;
  for (const seed of s.seeds) {
    const out = await run(seed);
    const dim = out.shape[1] as number;
    const data = host(out);
    out.dispose();
    first ??= data;
    values.push(truths.reduce((acc, tr) => acc + ed({ data, dim }, { data: tr, dim }), 0) / truths.length);
  }
  return { stats: summarise(values, floor), values, samples: first!, truth: truths[0] };
}

export interface ClassConditionalResult {
  rows: DistanceRow[];
  /** First-seed samples [n·2] per "SDE γ" key, and the exact p_0(x | y = 0) sample. */
  samples: Record<string, Float32Array>;
  truth: Float32Array;
}

/** Class 0 of the overlapping mixture, exact score + exact ∇ log p_t(y|x) × γ, for VE and VP. */
export async function runClassConditional(s: ControllableSettings, guidances = [1, 0.8, 2]): Promise<ClassConditionalResult> {
  const mix = overlappingMixture();
  const classes = new MixtureClasses(mix, OVERLAPPING_CLASSES);
  const rows: DistanceRow[] = [];
  const samples: Record<string, Float32Array> = {};
  let truth: Float32Array = new Float32Array(0);
  for (const name of ["VE", "VP"] as const) {
    const sde = controllableSde(name, s.N);
    for (const g of guidances) {
      const r = await against(classes.classMixture(0), s, async (seed) => {
        const out = await pcConditionalSample({
          sde, score: mix.scoreFn(sde), shape: [s.n, 2], classifierGrad: classes.gradFn(sde), labels: 0, guidance: g, rng: createRng(seed),
        });
        return out.samples;
      });
      rows.push({ sde: name, guidance: g, ...r.stats });
      samples[`${name} γ=${g}`] = r.samples;
      truth = r.truth;
    }
  }
  classes.dispose();
  mix.dispose();
  return { rows, samples, truth };
}

export interface ImputationCase {
  toy: "independent" | "overlapping" | "reference";
  /** The known value of x₀. */
  value: number;
}

export interface ImputationResult {
  rows: DistanceRow[];
  perSeed: PerSeed;
  /** First-seed imputed x₁ per "toy x₀ SDE start" key. */
  x1: Record<string, Float32Array>;
  /** The exact conditional mixture of x₁ per "toy x₀" key (weights, means, variances). */
  exact: Record<string, { weights: number[]; means: number[]; variances: number[] }>;
}

/** x₁ given x₀ = value, official and noised (#39) starts, VE and VP. */
export async function runImputation(
  s: ControllableSettings,
  cases: ImputationCase[] = [
    { toy: "independent", value: 0.5 },
    { toy: "overlapping", value: 0 },
    { toy: "overlapping", value: 0.8 },
    { toy: "reference", value: 0 },
  ],
): Promise<ImputationResult> {
  const rows: DistanceRow[] = [];
  const perSeed: PerSeed = [];
  const x1: Record<string, Float32Array> = {};
  const exact: ImputationResult["exact"] = {};
  for (const c of cases) {
    const mix = c.toy === "overlapping" ? overlappingMixture() : c.toy === "independent" ? independentMixture() : anisotropicMixture();
    const cond = new MixtureConditional(mix, { known: [0], values: [c.value] });
    exact[`${c.toy} x₀=${c.value}`] = {
      weights: cond.mixture.weights.slice(),
      means: cond.mixture.means.map((m) => m[0]),
      variances: cond.mixture.covariances.map((S) => S[0][0]),
    };
    for (const name of ["VE", "VP"] as const) {
      const sde = controllableSde(name, s.N);
      for (const start of ["official", "noised"] as InpaintStart[]) {
        const r = await against(cond, s, async (seed) => {
          const data = tf.tensor2d(Array.from({ length: s.n }, () => [c.value, 0]));
          const mask = tf.tensor1d([1, 0]);
          try {
            return (await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, start, rng: createRng(seed) })).samples;
          } finally {
            tf.dispose([data, mask]);
          }
        });
        const key = `${c.toy} x₀=${c.value} ${name} ${start}`;
        x1[key] = Float32Array.from({ length: s.n }, (_, i) => r.samples[2 * i + 1]);
        rows.push({ toy: c.toy, x0: c.value, sde: name, start, ...r.stats });
        perSeed.push(r.values);
      }
    }
    cond.dispose();
    mix.dispose();
  }
  return { rows, perSeed, x1, exact };
}

export interface ColourisationResult {
  rows: DistanceRow[];
  /** First-seed samples in the decoupled colour plane (u₁, u₂) [n·2], per "spread SDE" key, and the exact ones. */
  plane: Record<string, Float32Array>;
}

/** Colour given gray = 0.05 for the tight (spread 1) and broad (spread 3) colour toys, VE and VP. */
export async function runColourisation(s: ControllableSettings, gray = 0.05, spreads = [1, 3]): Promise<ColourisationResult> {
  const rows: DistanceRow[] = [];
  const plane: Record<string, Float32Array> = {};
  const toPlane = (x: Float32Array): Float32Array => {
    const n = x.length / 3;
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      for (let j = 1; j < 3; j++) {
        let u = 0;
        for (let k = 0; k < 3; k++) u += x[3 * i + k] * GRAY_DECOUPLING[k][j];
        out[2 * i + j - 1] = u;
      }
    }
    return out;
  };
  for (const spread of spreads) {
    const mix = colourToy({ spread });
    const cond = grayConditional(mix, gray);
    for (const name of ["VE", "VP"] as const) {
      const sde = controllableSde(name, s.N);
      const r = await against(cond, s, async (seed) => {
        const g = tf.fill([s.n, 3], gray);
        try {
          return (await pcColorize({ sde, score: mix.scoreFn(sde), gray: g, rng: createRng(seed) })).samples;
        } finally {
          g.dispose();
        }
      });
      rows.push({ spread, sde: name, ...r.stats });
      plane[`spread ${spread} ${name}`] = toPlane(r.samples);
      plane[`spread ${spread} exact`] = toPlane(r.truth);
    }
    cond.dispose();
    mix.dispose();
  }
  return { rows, plane };
}

export interface LearnedClassifierResult {
  sde: ControllableSdeName;
  steps: number;
  losses: { step: number; loss: number }[];
  /** Relative squared error of the learned ∇ log p_t(y|x) over points of p_t, t ∈ {0.02, 0.1, 0.3, 0.6}. */
  gradErrorBefore: number;
  gradErrorAfter: number;
  /** Class-conditional sampling with the learned classifier (exact score): energy distance vs the floor. */
  row: DistanceRow;
  samples: Float32Array;
  seconds: number;
}

/**
 * Relative squared error Σ|∇̂ − ∇|² / Σ|∇|² of a learned classifier's ∇ₓ log p_t(y|x) against the exact one, over 500
 * labelled points of p_t at t ∈ {0.02, 0.1, 0.3, 0.6} (a fixed seed, so before/after values are comparable).
 */
export function classifierGradError(net: ClassifierNetwork, mix: GaussianMixture, classes: MixtureClasses, sde: SDE): number {
  let num = 0;
  let den = 0;
  const grad = classifierGradFn(net, sde);
  for (const t of [0.02, 0.1, 0.3, 0.6]) {
    const pt = new MixtureClasses(mix.perturbed(sde, t), classes.classes);
    const { x, labels } = pt.sampleLabelled(500, createRng(5));
    const tt = tf.fill([500], t);
    const [a, b] = tf.tidy(() => {
      const ge = classes.logPosteriorGrad(sde, x, tt, labels);
      const gn = grad(x, tt, labels);
      return [gn.sub(ge).square().sum().dataSync()[0], ge.square().sum().dataSync()[0]];
    });
    num += a;
    den += b;
    tf.dispose([x, tt]);
    pt.dispose();
    pt.mixture.dispose();
  }
  return num / den;
}

/** Trains the toy classifier on perturbed labelled data of the overlapping mixture and guides with it. */
export async function runLearnedClassifier(s: ControllableSettings, name: ControllableSdeName = "VP"): Promise<LearnedClassifierResult> {
  const mix = overlappingMixture();
  const classes = new MixtureClasses(mix, OVERLAPPING_CLASSES);
  const sde = controllableSde(name, s.N);
  const net = createToyClassifier({ numClasses: 2, seed: 1 });
  const t0 = Date.now();
  const before = classifierGradError(net, mix, classes, sde);
  const train = await trainNoiseConditionalClassifier({
    net, sde, data: (n, rng) => classes.sampleLabelled(n, rng), steps: s.classifierSteps, lr: 3e-3, rng: createRng(2),
  });
  const after = classifierGradError(net, mix, classes, sde);
  const r = await against(classes.classMixture(0), s, async (seed) =>
    (await pcConditionalSample({
      sde, score: mix.scoreFn(sde), shape: [s.n, 2], classifierGrad: classifierGradFn(net, sde), labels: 0, rng: createRng(seed),
    })).samples,
  );
  const seconds = (Date.now() - t0) / 1000;
  net.dispose();
  classes.dispose();
  mix.dispose();
  return {
    sde: name, steps: s.classifierSteps, losses: train.losses, gradErrorBefore: before, gradErrorAfter: after,
    row: { sde: name, classifier: "learned", ...r.stats }, samples: r.samples, seconds,
  };
}

/**
 * One imputation sampler of `runResamplingComparison`: N grid steps, with or without RePaint resampling, with or
 * without the manifold-constraint gradient of step size `manifold` (lib/controllable/inpaint.ts).
 */
export interface ResamplingConfig {
  N: number;
  resample?: ResampleOptions;
  manifold?: number;
}

export interface ResamplingRow extends DistanceRow {
  N: number;
  jumpLength: number;
  resamplings: number;
  /** Manifold-constraint step size ζ (0: none). */
  manifold: number;
  /** Score evaluations per sample (`pcInpaint`'s nfe: grid steps × 2 with the Langevin corrector). */
  nfe: number;
  /** All score evaluations per sample, the manifold gradient's included (one per grid step, with a backward pass). */
  scoreEvals: number;
  /** Mean over seeds of the fraction of imputed x₁ in the improbable mode (x₁ > −0.3), and its exact weight. */
  improbable: number;
  improbableExact: number;
  /** Wall seconds per seed (sampling and scoring). */
  seconds: number;
}

/**
 * Where replacement fails (the reference mixture given x₀ = 0: conditional modes at x₁ ≈ 0.7 with weight 0.013 and
 * x₁ ≈ −1.2 with 0.987), the official PC inpainter (reverse diffusion + Langevin, snr 0.16) alone, with RePaint
 * resampling and with the manifold-constraint gradient (lib/controllable/inpaint.ts), exact score, VE and VP: energy
 * distance to exact conditional samples (mean over three, as every row here) against the noise floor, the mass put in
 * the improbable mode, NFE and wall time.
 */
export async function runResamplingComparison(
  s: ControllableSettings,
  configs: ResamplingConfig[] = [
    { N: 100 },
    { N: 1000 },
    { N: 100, resample: { jumpLength: 10, resamplings: 2 } },
    { N: 100, resample: { jumpLength: 10, resamplings: 10 } },
    { N: 100, resample: { jumpLength: 10, resamplings: 20 } },
  ],
  sdes: ControllableSdeName[] = ["VE", "VP"],
): Promise<{ rows: ResamplingRow[]; perSeed: PerSeed; perSeedImprobable: PerSeed }> {
  const mix = anisotropicMixture();
  const cond = new MixtureConditional(mix, { known: [0], values: [0] });
  const improbableExact = cond.mixture.weights.reduce((a, w, k) => a + (cond.mixture.means[k][0] > -0.3 ? w : 0), 0);
  const rows: ResamplingRow[] = [];
  const perSeed: PerSeed = [];
  const perSeedImprobable: PerSeed = [];
  for (const name of sdes) {
    for (const c of configs) {
      const sde = controllableSde(name, c.N);
      let nfe = 0;
      let scoreEvals = 0;
      const fractions: number[] = [];
      const t0 = Date.now();
      const r = await against(cond, s, async (seed) => {
        const data = tf.zeros([s.n, 2]);
        const mask = tf.tensor1d([1, 0]);
        try {
          const manifold = c.manifold === undefined ? undefined : { weight: c.manifold };
          const out = await pcInpaint({ sde, score: mix.scoreFn(sde), data, mask, rng: createRng(seed), resample: c.resample, manifold });
          nfe = out.nfe;
          scoreEvals = out.scoreEvals;
          const v = out.samples.dataSync();
          let up = 0;
          for (let i = 0; i < s.n; i++) if (v[2 * i + 1] > -0.3) up++;
          fractions.push(up / s.n);
          return out.samples;
        } finally {
          tf.dispose([data, mask]);
        }
      });
      rows.push({
        sde: name, N: c.N, jumpLength: c.resample?.jumpLength ?? 0, resamplings: c.resample?.resamplings ?? 1,
        manifold: c.manifold ?? 0, nfe, scoreEvals, seconds: (Date.now() - t0) / 1000 / s.seeds.length,
        improbable: fractions.reduce((a, b) => a + b, 0) / fractions.length, improbableExact, ...r.stats,
      });
      perSeed.push(r.values);
      perSeedImprobable.push(fractions);
    }
  }
  cond.dispose();
  mix.dispose();
  return { rows, perSeed, perSeedImprobable };
}
