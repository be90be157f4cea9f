/**
 * Sample-quality distances for low-dimensional point clouds (the toy experiments): energy distance, sliced
 * Wasserstein, the noise floor of either between two true samples, and the cross-entropy of samples under an exact
 * density. All work on host float64 copies; nothing here is meant for a hot loop.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import type { Rng } from "../random";
import { checkNonNegativeInt, checkOneOf, checkPositive, checkPositiveInt, fail } from "../validate";
import { HostPoints, Points, subsamplePoints, toHostPoints } from "./points";

/** Σ_{i<j} ‖p_i − p_j‖. */
function sumWithin(p: HostPoints): number {
  const { data, n, dim } = p;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let row = 0; // per-row partial sums keep the float64 accumulation error at O(n) rather than O(n²) ulps
    if (dim === 2) {
      const xi = data[2 * i];
      const yi = data[2 * i + 1];
      for (let j = i + 1; j < n; j++) {
        const dx = xi - data[2 * j];
        const dy = yi - data[2 * j + 1];
        row += Math.sqrt(dx * dx + dy * dy);
      }
    } else {
      for (let j = i + 1; j < n; j++) row += dist(data, i, data, j, dim);
    }
    total += row;
  }
  return total;
}

/** Σ_{i,j} ‖x_i − y_j‖. */
function sumCross(x: HostPoints, y: HostPoints): number {
  const dim = x.dim;
  let total = 0;
  for (let i = 0; i < x.n; i++) {
    let row = 0;
    if (dim === 2) {
      const xi = x.data[2 * i];
      const yi = x.data[2 * i + 1];
      const yd = y.data;
      for (let j = 0; j < y.n; j++) {
        const dx = xi - yd[2 * j];
        const dy = yi - yd[2 * j + 1];
        row += Math.sqrt(dx * dx + dy * dy);
      }
    } else {
      for (let j = 0; j < y.n; j++) row += dist(x.data, i, y.data, j, dim);
    }
    total += row;
  }
  return total;
}

function dist(a: Float64Array, i: number, b: Float64Array, j: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const d = a[i * dim + k] - b[j * dim + k];
    s += d * d;
  }
  return Math.sqrt(s);
}

function sameDim(where: string, x: HostPoints, y: HostPoints): void {
  if (x.dim !== y.dim) fail(where, "y.dim", y.dim, `equal to x.dim = ${x.dim}`);
}

export interface EnergyDistanceOptions {
  /**
   * "V" (default): the V-statistic 2·mean‖x_i − y_j‖ − mean‖x_i − x_j‖ − mean‖y_i − y_j‖ with all pairs, i = j
   * included. It is ≥ 0, exactly 0 when the two samples are the same multiset, and equals 2∫(F_n − G_m)² in 1-D;
   * it is biased upwards by about E‖X − X'‖/n + E‖Y − Y'‖/m, which is why distances should be read against
   * `noiseFloor`. "U": the unbiased U-statistic (within-sample means over i ≠ j); can be slightly negative.
   */
  estimator?: "V" | "U";
  /** Subsample each set to at most this many points (without replacement) to bound the O(n²) cost; needs rng. */
  maxPoints?: number;
  rng?: Rng;
}

/**
 * The (squared) energy distance of Székely & Rizzo, D²(X, Y) = 2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖, estimated from
 * samples x [n, d] and y [m, d] (not its square root). O((n + m)²) distance evaluations in tight float64 loops:
 * 10k × 10k 2-D points take about a second.
 */
export function energyDistance(x: Points, y: Points, opts: EnergyDistanceOptions = {}): number {
  const where = "energyDistance";
  const estimator = checkOneOf(where, "estimator", opts.estimator ?? "V", ["V", "U"] as const);
  let X = toHostPoints(where, "x", x);
  let Y = toHostPoints(where, "y", y);
  sameDim(where, X, Y);
  if (opts.maxPoints !== undefined) {
    const m = checkPositiveInt(where, "maxPoints", opts.maxPoints);
    if (X.n > m || Y.n > m) {
      if (!opts.rng) fail(where, "rng", opts.rng, "an Rng when maxPoints subsamples");
      X = subsamplePoints(X, m, opts.rng);
      Y = subsamplePoints(Y, m, opts.rng);
    }
  }
  const n = X.n;
  const m = Y.n;
  if (estimator === "U" && (n < 2 || m < 2)) fail(where, "x/y sizes", [n, m], "at least 2 points each for the U-statistic");
  const cross = sumCross(X, Y) / (n * m);
  const wx = (2 * sumWithin(X)) / (estimator === "V" ? n * n : n * (n - 1));
  const wy = (2 * sumWithin(Y)) / (estimator === "V" ? m * m : m * (m - 1));
  const d2 = 2 * cross - wx - wy;
  // The V-statistic is a squared L² norm of characteristic-function differences: clamp float rounding below 0.
  return estimator === "V" ? Math.max(0, d2) : d2;
}

/**
 * W_p^p between two 1-D empirical distributions (uniform weights), ∫₀¹ |F⁻¹(u) − G⁻¹(u)|^p du, from the sorted
 * samples. Different sizes are handled exactly by merging the quantile breakpoints i/n and j/m.
 */
export function wassersteinPowerSorted1d(a: Float64Array, b: Float64Array, p: number): number {
  const n = a.length;
  const m = b.length;
  const pow = p === 1 ? Math.abs : p === 2 ? (v: number) => v * v : (v: number) => Math.abs(v) ** p;
  if (n === m) {
    let s = 0;
    for (let i = 0; i < n; i++) s += pow(a[i] - b[i]);
    return s / n;
  }
  // Walk the breakpoints in integer units of 1/(n m): a_i covers (i m, (i+1) m], b_j covers (j n, (j+1) n].
  let i = 0;
  let j = 0;
  let u = 0;
  let s = 0;
  while (i < n && j < m) {
    const ea = (i + 1) * m;
    const eb = (j + 1) * n;
    const e = Math.min(ea, eb);
    s += (e - u) * pow(a[i] - b[j]);
    u = e;
    if (ea === e) i++;
    if (eb === e) j++;
  }
  return s / (n * m);
}

/** W_p between two 1-D samples (any sizes). */
export function wasserstein1d(a: ArrayLike<number>, b: ArrayLike<number>, p = 1): number {
  checkPositive("wasserstein1d", "p", p);
  if (a.length === 0 || b.length === 0) fail("wasserstein1d", "sizes", [a.length, b.length], "both non-empty");
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  return wassersteinPowerSorted1d(sa, sb, p) ** (1 / p);
}

export interface SlicedWassersteinOptions {
  /** Number of random directions, uniform on the unit sphere (default 128). */
  projections?: number;
  /** The order p ≥ 1 (default 2). */
  p?: number;
  /** Draws the directions (normalised standard normals, d per direction): required unless `directions` is given. */
  rng?: Rng;
  /** Explicit directions (each normalised here) instead of random ones: deterministic comparisons. */
  directions?: readonly (readonly number[])[];
}

/**
 * Sliced Wasserstein distance SW_p(x, y) = (mean_θ W_p^p(θᵀx, θᵀy))^{1/p} over directions θ on the unit sphere
 * (Monte Carlo over `projections` directions); each 1-D W_p is exact (sorted samples, any sizes).
 */
export function slicedWasserstein(x: Points, y: Points, opts: SlicedWassersteinOptions = {}): number {
  const where = "slicedWasserstein";
  const X = toHostPoints(where, "x", x);
  const Y = toHostPoints(where, "y", y);
  sameDim(where, X, Y);
  const p = opts.p ?? 2;
  if (typeof p !== "number" || !(p >= 1) || !Number.isFinite(p)) fail(where, "p", p, "a finite number ≥ 1");
  const d = X.dim;
  let dirs: Float64Array[];
  if (opts.directions !== undefined) {
    if (!Array.isArray(opts.directions) || opts.directions.length === 0) fail(where, "directions", opts.directions, "a non-empty array of vectors");
    dirs = opts.directions.map((v, k) => {
      if (!Array.isArray(v) || v.length !== d) fail(where, `directions[${k}]`, v, `a vector of ${d} numbers`);
      const norm = Math.hypot(...v);
      if (!(norm > 0) || !Number.isFinite(norm)) fail(where, `directions[${k}]`, v, "a finite non-zero vector");
      return Float64Array.from(v, (c) => c / norm);
    });
  } else {
    const L = checkPositiveInt(where, "projections", opts.projections ?? 128);
    if (!opts.rng) fail(where, "rng", opts.rng, "an Rng (or explicit directions)");
    const z = opts.rng.normalArray(L * d);
    dirs = [];
    for (let l = 0; l < L; l++) {
      const v = z.subarray(l * d, (l + 1) * d);
      const norm = Math.hypot(...v);
      dirs.push(Float64Array.from(v, (c) => c / norm));
    }
  }
  const a = new Float64Array(X.n);
  const b = new Float64Array(Y.n);
  let total = 0;
  for (const th of dirs) {
    project(X, th, a);
    project(Y, th, b);
    a.sort();
    b.sort();
    total += wassersteinPowerSorted1d(a, b, p);
  }
  return (total / dirs.length) ** (1 / p);
}

function project(P: HostPoints, th: Float64Array, out: Float64Array): void {
  const { data, n, dim } = P;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += data[i * dim + k] * th[k];
    out[i] = s;
  }
}

/** Something to draw true samples from: a toy distribution or a function. */
export type SampleSource = { sample(n: number, rng: Rng): tf.Tensor } | ((n: number, rng: Rng) => Points);

export interface NoiseFloor {
  /** Mean of the distance between two independent true samples of the given size. */
  mean: number;
  /** Sample standard deviation over the repeats. */
  std: number;
  values: number[];
}

export interface NoiseFloorOptions {
  /** Number of independent pairs (default 5). */
  repeats?: number;
  /** Seed of the generator that draws all the pairs (default 0). */
  seed?: number;
}

/**
 * The noise floor of a sample distance: `metric` between two independent true samples of size n each, repeated
 * (mean ± std). A sampler whose distance to a true sample of the same size is within a few std of this mean is as
 * good as the metric can tell at that size.
 */
export function noiseFloor(
  source: SampleSource,
  n: number,
  metric: (x: Points, y: Points) => number,
  opts: NoiseFloorOptions = {},
): NoiseFloor {
  const where = "noiseFloor";
  checkPositiveInt(where, "n", n);
  const repeats = checkPositiveInt(where, "repeats", opts.repeats ?? 5);
  const seed = checkNonNegativeInt(where, "seed", opts.seed ?? 0);
  if (repeats < 2) fail(where, "repeats", repeats, "≥ 2 (a standard deviation needs two values)");
  const rng = createRng(seed);
  const draw = (): HostPoints => {
    if (typeof source === "function") return toHostPoints(where, "sample", source(n, rng));
    const t = source.sample(n, rng);
    try {
      return toHostPoints(where, "sample", t);
    } finally {
      t.dispose();
    }
  };
  const values: number[] = [];
  for (let r = 0; r < repeats; r++) values.push(metric(draw(), draw()));
  const mean = values.reduce((a, b) => a + b, 0) / repeats;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / (repeats - 1));
  return { mean, std, values };
}

/** value ≤ floor.mean + k · floor.std: "as close as two true samples are", at k standard deviations (default 3). */
export function withinNoiseFloor(value: number, floor: NoiseFloor, k = 3): boolean {
  return value <= floor.mean + k * floor.std;
}

export interface CrossEntropyOptions {
  /** Points per logProb call (default 8192). */
  batchSize?: number;
}

/**
 * Cross-entropy of samples under an exact density: mean over x of −log p(x) (nats), e.g. under a GaussianMixture.
 * Against the same distribution's entropy it measures KL(q ‖ p) of the sampler's distribution q.
 */
export function sampleCrossEntropy(
  dist: { logProb(x: tf.Tensor): tf.Tensor },
  x: Points,
  opts: CrossEntropyOptions = {},
): number {
  const where = "sampleCrossEntropy";
  const X = toHostPoints(where, "x", x);
  const bs = checkPositiveInt(where, "batchSize", opts.batchSize ?? 8192);
  let total = 0;
  for (let s = 0; s < X.n; s += bs) {
    const e = Math.min(X.n, s + bs);
    // Read outside tidy: tf.tidy walks a returned typed array element by element.
    const lpT = tf.tidy(() => dist.logProb(tf.tensor2d(Float32Array.from(X.data.subarray(s * X.dim, e * X.dim)), [e - s, X.dim], "float32")));
    const lp = lpT.dataSync();
    lpT.dispose();
    for (let i = 0; i < lp.length; i++) total -= lp[i];
  }
  return total / X.n;
}
