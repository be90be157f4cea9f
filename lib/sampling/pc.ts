/**
 * The predictor–corrector sampler (Song et al. 2021, Alg. 1; official `get_pc_sampler`).
 *
 * Loop, exactly as the official code:
 *   x ~ prior (drawn through rng FIRST);  t_i = linspace(T, eps, N)_i;
 *   for i = 0 … N−1:  (x, x̄) = corrector(x, t_i);  (x, x̄) = predictor(x, t_i)      — corrector FIRST
 *   return x̄ of the last step if denoise (the final Tweedie-like step without noise), else x.
 * Random draws, in order: the prior (1 normal of the sample shape), then per step the corrector's nSteps normals,
 * then the predictor's 1 normal (0 for 'none'). Replaying the same draws (replayRng) replays the run exactly.
 * The steps run in the solvers' one loop (lib/solvers/loop.ts), which checks the score's output shape at every call
 * and that x is finite after every step (an error naming the step, not NaN samples).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { ScoreFn, SDE, linspace, timeVector } from "../sde";
import { runLoop } from "../solvers/loop";
import type { StepSolver } from "../solvers/types";
import { checkNonNegative, checkNonNegativeInt, checkPositiveInt, fail } from "../validate";
import { checkSdeAndScore } from "./checks";
import { getCorrector, getPredictor } from "./registry";
import type { Corrector, PCUpdateResult, Predictor } from "./types";

/** What the callback sees after step i. The tensors are freed after the callback returns: clone to keep them. */
export interface PCStepInfo {
  /** Step index 0 … N−1. */
  i: number;
  /** Grid time t_i of this step (the state moved from t_i towards t_{i+1}). */
  t: number;
  x: tf.Tensor;
  xMean: tf.Tensor;
}

export interface PCSampleOptions {
  sde: SDE;
  /** s(x, t[B]) ≈ ∇ log p_t(x), e.g. the exact score of a toy distribution or a wrapped network. */
  score: ScoreFn;
  /** Sample shape [B, ...dims]. */
  shape: readonly number[];
  /** Registered predictor name (default "reverse_diffusion", the official config default). */
  predictor?: string;
  /** Registered corrector name (default "langevin"). */
  corrector?: string;
  /** Langevin signal-to-noise ratio r ≥ 0 (default 0.16, the CIFAR-10 configs). */
  snr?: number;
  /** Corrector steps per noise scale, integer ≥ 0 (default 1; Table 1's C2000 uses 2 with predictor "none"). */
  nSteps?: number;
  /** Last time of the grid, in (0, T) (default sde.defaultEps: 1e-5 VE, 1e-3 VP / sub-VP). */
  eps?: number;
  /** Return x̄ (no noise) of the last step (default true, the official `noise_removal`). */
  denoise?: boolean;
  /** Predictor on the probability-flow ODE (reverse_diffusion + this = the paper's "probability flow" row). */
  probabilityFlow?: boolean;
  rng: Rng;
  /** Called after every step (may return a promise, which is awaited). */
  callback?: (info: PCStepInfo) => void | Promise<void>;
  /** Keep the noisy states x: the prior and the state after every `trajectoryStride`-th step (and the last). */
  keepTrajectory?: boolean;
  /** Default 1. */
  trajectoryStride?: number;
}

export interface PCSampleResult {
  samples: tf.Tensor;
  /**
   * Number of function evaluations as the official code reports it: N · (nSteps + 1), whatever the predictor and
   * corrector (so it counts N·(nSteps+1) even with corrector "none" — the official convention, kept comparable).
   */
  nfe: number;
  /** Score evaluations actually made: N · (predictor evals + corrector nSteps), e.g. N with corrector "none". */
  scoreEvals: number;
  /** [K, ...shape]: x_T, then x after the kept steps (only with keepTrajectory). */
  trajectory?: tf.Tensor;
  /** For each trajectory row, the number of steps done (0 = the prior draw, N = the end). */
  trajectorySteps?: number[];
}

/** The predictor–corrector settings every PC-style sampler shares (the fields of `PCSettingsOptions`). */
export type PCSettingsOptions = Pick<PCSampleOptions, "predictor" | "corrector" | "snr" | "nSteps" | "eps" | "denoise" | "probabilityFlow">;

/** Checks the PC settings and fills in the official defaults; errors name `where`, the field and what is allowed. */
export function pcSettings(where: string, sde: SDE, opts: PCSettingsOptions) {
  const snr = checkNonNegative(where, "snr", opts.snr ?? 0.16);
  const nSteps = checkNonNegativeInt(where, "nSteps", opts.nSteps ?? 1);
  const eps = opts.eps ?? sde.defaultEps;
  if (typeof eps !== "number" || !(eps > 0 && eps < sde.T)) fail(where, "eps", eps, `a number in (0, ${sde.T}) (open interval)`);
  const denoise = opts.denoise ?? true;
  const probabilityFlow = opts.probabilityFlow ?? false;
  if (typeof denoise !== "boolean") fail(where, "denoise", denoise, "a boolean");
  if (typeof probabilityFlow !== "boolean") fail(where, "probabilityFlow", probabilityFlow, "a boolean");
  return { predictorName: opts.predictor ?? "reverse_diffusion", correctorName: opts.corrector ?? "langevin", snr, nSteps, eps, denoise, probabilityFlow };
}

const WHERE = "pcSample";

export async function pcSample(opts: PCSampleOptions): Promise<PCSampleResult> {
  if (opts === null || typeof opts !== "object") fail(WHERE, "options", opts, "an options object");
  const { sde, score, rng, callback } = opts;
  checkSdeAndScore(WHERE, sde, score);
  const shape = checkShape(opts.shape);
  const { predictorName, correctorName, snr, nSteps, eps, denoise, probabilityFlow } = pcSettings(WHERE, sde, opts);
  if (!rng || typeof rng.normal !== "function") fail(WHERE, "rng", typeof rng, "an Rng (createRng(seed))");
  if (callback !== undefined && typeof callback !== "function") fail(WHERE, "callback", typeof callback, "a function or undefined");
  const keep = opts.keepTrajectory ?? false;
  const stride = checkPositiveInt(WHERE, "trajectoryStride", opts.trajectoryStride ?? 1);

  // Build the updaters once up front so that a bad combination fails before the prior is drawn; the loop
  // rebuilds them around its checked, counted score.
  getPredictor(predictorName)({ sde, score, probabilityFlow });
  getCorrector(correctorName)({ sde, score, snr, nSteps });

  const N = sde.N;
  const B = shape[0];
  // The loop walks N steps: from each t_i of linspace(T, eps, N) towards the next, the last one towards the data
  // (t = 0). The predictors step with the SDE's own N-step discretisation at t_i (official), not with tNext.
  const grid = new Float64Array(N + 1);
  grid.set(linspace(sde.T, eps, N));
  const x = sde.priorSample(shape, rng);
  const out = await runLoop({
    where: WHERE,
    sde,
    score,
    // Factories validate the combination (sub-VP ancestral, VP β_max/N ≥ 1, …) before any step is taken.
    makeSolver: (counted) =>
      pcStepSolver(
        getPredictor(predictorName)({ sde, score: counted, probabilityFlow }),
        getCorrector(correctorName)({ sde, score: counted, snr, nSteps }),
        B,
        sde.T,
      ),
    grid,
    x,
    rng,
    callback: callback && ((info) => callback({ i: info.i, t: info.t, x: info.x, xMean: info.xMean })),
    keepTrajectory: keep,
    trajectoryStride: stride,
  });
  const samples = denoise ? out.xMean : out.x;
  (denoise ? out.x : out.xMean).dispose();
  const result: PCSampleResult = { samples, nfe: N * (nSteps + 1), scoreEvals: out.scoreEvals };
  if (keep) {
    result.trajectory = out.trajectory;
    result.trajectorySteps = out.trajectorySteps;
  }
  return result;
}

/**
 * One PC step as a step solver: the corrector's update at t, then the predictor's (corrector FIRST, as the official
 * loop), each drawing its own normals in that order.
 */
function pcStepSolver(predictor: Predictor, corrector: Corrector, B: number, T: number): StepSolver {
  return {
    name: `${predictor.name} + ${corrector.name}`,
    evalsPerStep: predictor.scoreEvals + corrector.scoreEvals,
    stochastic: true,
    step(state, t, _tNext, rng) {
      const tv = timeVector(t, B, T, WHERE);
      let x = state.x;
      let xMean = state.xMean;
      let owned = false;
      try {
        for (const updater of [corrector, predictor]) {
          const next: PCUpdateResult = updater.update(x, tv, rng);
          if (owned) {
            x.dispose();
            xMean.dispose();
          }
          x = next.x;
          // Keep x and xMean distinct objects so that each is disposed exactly once.
          xMean = next.xMean === next.x ? next.x.clone() : next.xMean;
          owned = true;
        }
        return { x, xMean, history: [] };
      } catch (err) {
        if (owned) tf.dispose([x, xMean]);
        throw err;
      } finally {
        tv.dispose();
      }
    },
  };
}

function checkShape(shape: unknown): number[] {
  const ok =
    Array.isArray(shape) && shape.length >= 2 && shape.every((d) => Number.isInteger(d) && (d as number) > 0);
  if (!ok) fail(WHERE, "shape", shape, "an array [B, ...dims] of positive integers with at least one data dimension");
  return (shape as number[]).slice();
}
