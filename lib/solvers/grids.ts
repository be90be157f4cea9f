/**
 * Time grids as values: decreasing float64 times t_0 = T > t_1 > … > t_K = eps, one per solver boundary (K steps),
 * computed by pure functions of the SDE's host schedule (α(t), σ(t), λ(t), t(λ); see lib/sde). A grid is an
 * argument of every fixed-step solver (k-diffusion style: the sampler walks the grid it is given).
 *
 * - `uniform`: uniform in t, linspace(T, eps, K + 1) — the official samplers' spacing (the PC sampler evaluates at
 *   linspace(T, eps, N), the same grid without its end point).
 * - `logsnr`: uniform in λ = log(α/σ), the grid of DPM-Solver (Lu et al. 2022, §3.4 "time_uniform" vs "logSNR").
 * - `karras`: the EDM grid (Karras et al. 2022, eq. 5) in σ̂ = σ/α = e^{−λ}, uniform in σ̂^{1/ρ} with ρ = 7, which
 *   concentrates steps at small noise; for VE σ̂ is the SDE's σ.
 * - `quadratic`: t_i = eps + (T − eps)(1 − i/K)², DDIM's "quad" spacing (Song, Meng & Ermon 2021, App. D.2).
 *
 * The end points are exactly T and eps (not recomputed through t(λ)), so a grid never leaves (0, T] by rounding.
 */
import type { SDE } from "../sde";
import { linspace } from "../sde";
import { fail, fmt } from "../validate";

export const GRID_KINDS = ["uniform", "logsnr", "karras", "quadratic"] as const;
export type GridKind = (typeof GRID_KINDS)[number];

export interface TimeGridOptions {
  /** Last time, in (0, T) (default `sde.defaultEps`). */
  eps?: number;
  /** EDM's ρ for `karras` (default 7). */
  rho?: number;
}

function checkArgs(where: string, sde: SDE, steps: number, eps: number | undefined): number {
  if (!Number.isInteger(steps) || steps < 1) fail(where, "steps", steps, "an integer ≥ 1 (the number of grid intervals)");
  const e = eps ?? sde.defaultEps;
  if (typeof e !== "number" || !Number.isFinite(e) || e <= 0 || e >= sde.T) fail(where, "eps", e, `a number in (0, T) = (0, ${sde.T})`);
  return e;
}

/** Sets the exact end points and checks the result (a schedule that is not monotone would show here). */
function finish(where: string, g: Float64Array, T: number, eps: number): Float64Array {
  g[0] = T;
  g[g.length - 1] = eps;
  checkGrid(where, g, T);
  return g;
}

/** linspace(T, eps, steps + 1). */
export function uniformGrid(sde: SDE, steps: number, opts: TimeGridOptions = {}): Float64Array {
  const eps = checkArgs("uniformGrid", sde, steps, opts.eps);
  return finish("uniformGrid", linspace(sde.T, eps, steps + 1), sde.T, eps);
}

/** Uniform in λ(t) = log(α/σ) between λ(T) and λ(eps), mapped back through t(λ). */
export function logSnrGrid(sde: SDE, steps: number, opts: TimeGridOptions = {}): Float64Array {
  const eps = checkArgs("logSnrGrid", sde, steps, opts.eps);
  const l0 = sde.lambdaAt(sde.T);
  const l1 = sde.lambdaAt(eps);
  const g = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) g[i] = sde.tOfLambda(l0 + ((l1 - l0) * i) / steps);
  return finish("logSnrGrid", g, sde.T, eps);
}

/** EDM's σ̂_i = (σ̂_max^{1/ρ} + i/K (σ̂_min^{1/ρ} − σ̂_max^{1/ρ}))^ρ with σ̂ = e^{−λ}, mapped back through t(λ). */
export function karrasGrid(sde: SDE, steps: number, opts: TimeGridOptions = {}): Float64Array {
  const eps = checkArgs("karrasGrid", sde, steps, opts.eps);
  const rho = opts.rho ?? 7;
  if (typeof rho !== "number" || !Number.isFinite(rho) || rho <= 0) fail("karrasGrid", "rho", rho, "a finite number > 0 (EDM: 7)");
  const a = Math.exp(-sde.lambdaAt(sde.T) / rho);
  const b = Math.exp(-sde.lambdaAt(eps) / rho);
  const g = new Float64Array(steps + 1);
  // λ = −log σ̂ = −ρ log(a + i/K (b − a)).
  for (let i = 0; i <= steps; i++) g[i] = sde.tOfLambda(-rho * Math.log(a + ((b - a) * i) / steps));
  return finish("karrasGrid", g, sde.T, eps);
}

/** t_i = eps + (T − eps)(1 − i/K)²: dense near eps (DDIM "quad"). */
export function quadraticGrid(sde: SDE, steps: number, opts: TimeGridOptions = {}): Float64Array {
  const eps = checkArgs("quadraticGrid", sde, steps, opts.eps);
  const g = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) g[i] = eps + (sde.T - eps) * (1 - i / steps) ** 2;
  return finish("quadraticGrid", g, sde.T, eps);
}

/** The grid of the given kind (see the module comment). */
export function timeGrid(kind: GridKind, sde: SDE, steps: number, opts: TimeGridOptions = {}): Float64Array {
  switch (kind) {
    case "uniform":
      return uniformGrid(sde, steps, opts);
    case "logsnr":
      return logSnrGrid(sde, steps, opts);
    case "karras":
      return karrasGrid(sde, steps, opts);
    case "quadratic":
      return quadraticGrid(sde, steps, opts);
    default:
      return fail("timeGrid", "kind", kind, `one of ${GRID_KINDS.map((k) => fmt(k)).join(", ")}`);
  }
}

/**
 * Checks a solver grid: an array of at least 2 finite numbers, strictly decreasing, every time in (0, T]
 * (`endMayBeZero`: the last one may be 0, for samplers whose last step lands on the data, as the PC sampler's).
 * Returns it as a Float64Array.
 */
export function checkGrid(where: string, grid: unknown, T: number, opts: { endMayBeZero?: boolean } = {}): Float64Array {
  const ok = grid instanceof Float64Array || grid instanceof Float32Array || Array.isArray(grid);
  if (!ok) fail(where, "grid", typeof grid, "an array (or Float64Array) of decreasing times in (0, T]");
  const g = Float64Array.from(grid as ArrayLike<number>);
  if (g.length < 2) fail(where, "grid.length", g.length, "≥ 2 (K + 1 times for K steps)");
  for (let i = 0; i < g.length; i++) {
    const v = g[i];
    const last = i === g.length - 1;
    const lowOk = last && opts.endMayBeZero ? v >= 0 : v > 0;
    if (typeof v !== "number" || !Number.isFinite(v) || !lowOk || v > T) {
      fail(where, `grid[${i}]`, v, `a time in ${last && opts.endMayBeZero ? "[0" : "(0"}, T] = ${last && opts.endMayBeZero ? "[0" : "(0"}, ${T}]`);
    }
    if (i > 0 && !(v < g[i - 1])) {
      fail(where, `grid[${i}]`, v, `< grid[${i - 1}] = ${g[i - 1]}: a grid runs from T down to eps (strictly decreasing)`);
    }
  }
  return g;
}
