/** Standard Gaussian-mixture toys, each a `GaussianMixture` (so each has an exact density and score at every t). */
import { checkPositive, checkPositiveInt } from "../validate";
import { GaussianMixture } from "./gmm";

function isotropic(d: number, variance: number): number[][] {
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? variance : 0)));
}

export interface EightGaussiansOptions {
  /** Radius of the circle the means sit on (default 2). */
  radius?: number;
  /** Per-coordinate standard deviation of every component (default 0.2). */
  std?: number;
}

/** Eight equal-weight isotropic Gaussians with means radius·(cos 2πk/8, sin 2πk/8), k = 0..7. */
export function eightGaussians(opts: EightGaussiansOptions = {}): GaussianMixture {
  const radius = checkPositive("eightGaussians", "radius", opts.radius ?? 2);
  const std = checkPositive("eightGaussians", "std", opts.std ?? 0.2);
  const means = Array.from({ length: 8 }, (_, k) => [radius * Math.cos((2 * Math.PI * k) / 8), radius * Math.sin((2 * Math.PI * k) / 8)]);
  return new GaussianMixture({
    name: "eightGaussians",
    weights: new Array<number>(8).fill(1 / 8),
    means,
    covariances: means.map(() => isotropic(2, std * std)),
  });
}

export interface GridGaussiansOptions {
  /** Components per side: an n × n grid (default 5). */
  n?: number;
  /** Distance between neighbouring means (default 1.5, so a 5 × 5 grid spans [−3, 3]²). */
  spacing?: number;
  /** Per-coordinate standard deviation of every component (default 0.1). */
  std?: number;
}

/** n × n equal-weight isotropic Gaussians on a square grid centred at the origin. */
export function gridGaussians(opts: GridGaussiansOptions = {}): GaussianMixture {
  const n = checkPositiveInt("gridGaussians", "n", opts.n ?? 5);
  const spacing = checkPositive("gridGaussians", "spacing", opts.spacing ?? 1.5);
  const std = checkPositive("gridGaussians", "std", opts.std ?? 0.1);
  const means: number[][] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) means.push([(i - (n - 1) / 2) * spacing, (j - (n - 1) / 2) * spacing]);
  return new GaussianMixture({
    name: `gridGaussians${n}x${n}`,
    weights: new Array<number>(n * n).fill(1 / (n * n)),
    means,
    covariances: means.map(() => isotropic(2, std * std)),
  });
}

/**
 * Three unequal components with correlated covariances: exactly the mixture of the official reference vectors
 * (`gmm` in shared/reference), so tests and notebooks can compare against the official numbers.
 */
export function anisotropicMixture(): GaussianMixture {
  return new GaussianMixture({
    name: "anisotropicMixture",
    weights: [0.5, 0.3, 0.2],
    means: [
      [1.0, 1.0],
      [-1.5, 0.5],
      [0.0, -1.2],
    ],
    covariances: [
      [
        [0.1, 0.03],
        [0.03, 0.05],
      ],
      [
        [0.04, 0.0],
        [0.0, 0.09],
      ],
      [
        [0.06, -0.02],
        [-0.02, 0.08],
      ],
    ],
  });
}
