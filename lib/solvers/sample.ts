/**
 * `sample`: any registered solver over any grid, from the prior to eps, through the one loop (./loop.ts).
 *
 *   const { samples, nfe } = await sample({ sde, score, shape: [2000, 2], solver: "dpm_solver_pp_2m", steps: 20, rng });
 *
 * Draws, in order: the prior (one normal of the sample shape), then whatever each step draws (nothing for the ODE
 * solvers). The same seed replays the same run.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { SDE } from "../sde";
import type { ScoreFn } from "../sde";
import { fail } from "../validate";
import { GRID_KINDS, GridKind, checkGrid, timeGrid } from "./grids";
import { checkedScore, runLoop } from "./loop";
import { modelOutputs } from "./model";
import type { SolverStepInfo } from "./loop";
import { getSolver } from "./registry";

export interface SampleOptions {
  sde: SDE;
  score: ScoreFn;
  /** [B, ...dims]. */
  shape: readonly number[];
  /** A registered solver name (see `solverNames()`). */
  solver: string;
  /** Either the grid itself (K + 1 decreasing times in (0, T], starting at T)… */
  grid?: ArrayLike<number>;
  /** …or its number of intervals K, with `gridKind` (default: the solver's) and `eps` (default `sde.defaultEps`). */
  steps?: number;
  gridKind?: GridKind;
  eps?: number;
  /** Solver options (η for ddim, churn for edm_stochastic, tolerances for adaptive_sde, …). */
  options?: Record<string, unknown>;
  rng: Rng;
  /** Start from this x_T instead of a prior draw (not disposed). */
  z?: tf.Tensor;
  /**
   * End with one denoising step at the last grid time ε: the data prediction x̂₀ = (x + σ_ε² s(x, ε))/α_ε (Tweedie's
   * formula), as the official `noise_removal` of the PC sampler and DPM-Solver's `denoise_to_zero`. It removes the
   * σ_ε noise that p_ε still carries (for a mode of std 0.05 and σ_ε ≈ 0.01 that is 4 % of its variance). One more
   * score evaluation, counted in `nfe`. Default false (the samples are x at ε).
   */
  denoise?: boolean;
  callback?: (info: SolverStepInfo) => void | Promise<void>;
  keepTrajectory?: boolean;
  trajectoryStride?: number;
}

export interface SampleResult {
  samples: tf.Tensor;
  /** Score evaluations actually made. */
  nfe: number;
  /** The grid walked. */
  grid: Float64Array;
  trajectory?: tf.Tensor;
  trajectorySteps?: number[];
}

const WHERE = "sample";

export async function sample(opts: SampleOptions): Promise<SampleResult> {
  if (opts === null || typeof opts !== "object") fail(WHERE, "options", opts, "an options object");
  const { sde, score, rng } = opts;
  if (!(sde instanceof SDE)) fail(WHERE, "sde", typeof sde, "an SDE instance (VESDE, VPSDE or SubVPSDE)");
  if (typeof score !== "function") fail(WHERE, "score", typeof score, "a function (x, t[B]) => tensor of x's shape");
  if (!rng || typeof rng.normal !== "function") fail(WHERE, "rng", typeof rng, "an Rng (createRng(seed))");
  const entry = getSolver(opts.solver);
  const shape = opts.shape;
  if (!Array.isArray(shape) || shape.length < 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(WHERE, "shape", shape, "an array [B, ...dims] of positive integers with at least one data dimension");
  }
  let grid: Float64Array;
  if (opts.grid !== undefined) {
    if (opts.steps !== undefined) fail(WHERE, "steps", opts.steps, "undefined when a grid is given (the grid fixes the steps)");
    grid = checkGrid(WHERE, opts.grid, sde.T);
  } else {
    if (opts.steps === undefined) fail(WHERE, "steps", undefined, "an integer ≥ 1 (or pass a grid)");
    const kind = opts.gridKind ?? entry.defaultGrid;
    if (!GRID_KINDS.includes(kind)) fail(WHERE, "gridKind", kind, `one of ${GRID_KINDS.map((k) => JSON.stringify(k)).join(", ")}`);
    grid = timeGrid(kind, sde, opts.steps, { eps: opts.eps });
  }
  const options = opts.options ?? {};
  if (typeof options !== "object" || options === null) fail(WHERE, "options", options, "an object of solver options");
  if (opts.denoise !== undefined && typeof opts.denoise !== "boolean") fail(WHERE, "denoise", opts.denoise, "a boolean");
  // Build once before any draw so that bad options fail first; the loop builds it again around its checked score.
  entry.create({ sde, score, grid, options });
  const x = opts.z !== undefined ? opts.z.clone() : sde.priorSample(shape, rng);
  if (opts.z !== undefined && (opts.z.shape.length !== shape.length || opts.z.shape.some((d, i) => d !== shape[i]))) {
    x.dispose();
    fail(WHERE, "z.shape", opts.z.shape, `equal to shape [${shape}]`);
  }
  const out = await runLoop({
    where: `${WHERE} (${opts.solver})`,
    sde,
    score,
    makeSolver: (counted) => entry.create({ sde, score: counted, grid, options }),
    grid,
    x,
    rng,
    callback: opts.callback,
    keepTrajectory: opts.keepTrajectory,
    trajectoryStride: opts.trajectoryStride,
  });
  out.xMean.dispose();
  let samples = out.x;
  let nfe = out.scoreEvals;
  if (opts.denoise) {
    try {
      samples = modelOutputs(sde, checkedScore(`${WHERE} (${opts.solver}) denoising step`, score).score).data(out.x, grid[grid.length - 1]);
      nfe++;
    } finally {
      out.x.dispose();
    }
  }
  const result: SampleResult = { samples, nfe, grid };
  if (opts.keepTrajectory) {
    result.trajectory = out.trajectory;
    result.trajectorySteps = out.trajectorySteps;
  }
  return result;
}
