/**
 * The one step interface of every fixed-step sampler (predictor–corrector steps included): a solver is built once
 * per run from a context and advances a state from t to tNext < t:
 *
 *     state' = solver.step(state, t, tNext, rng)
 *
 * as k-diffusion's samplers walk a grid passed in and diffrax separates the solver from the loop. The loop
 * (./loop.ts) owns everything else: the grid, the prior draw, callbacks, trajectories, NFE counting, the score-shape
 * and non-finite checks. Every random draw goes through `rng`, so a run replays exactly from the same seed.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { ScoreFn, SDE } from "../sde";

/** A multistep method's memory entry: a model output (e.g. the data prediction x̂₀) at a past grid time. */
export interface HistoryEntry {
  t: number;
  value: tf.Tensor;
}

/**
 * The state a step maps to the next. Ownership: `step` neither keeps nor disposes its input; it returns new tensors,
 * except that `history` entries of the input may be carried over as the same objects. The loop disposes every
 * tensor of the old state that the new one does not hold.
 */
export interface SolverState {
  /** x at the current time. */
  x: tf.Tensor;
  /** x without the noise the last step added (the official `x_mean`; equal in value to x for ODE solvers). */
  xMean: tf.Tensor;
  /** Multistep memory, oldest first (empty for one-step methods). */
  history: HistoryEntry[];
}

/** What a solver is built from. */
export interface SolverContext {
  sde: SDE;
  /** The checked, counted score s(x, t[B]) (the loop wraps the user's score). */
  score: ScoreFn;
  /** The grid the loop will walk (K + 1 decreasing times); solvers that scale with K (EDM's churn) read it. */
  grid: Float64Array;
  /** Solver-specific options (η, churn, tolerances, …), validated by the solver's factory. */
  options: Record<string, unknown>;
}

export interface StepSolver {
  readonly name: string;
  /**
   * Score evaluations per step (its NFE per grid interval): 1 for DDIM / DPM-Solver-1 / DPM-Solver++(2M), 2 for Heun,
   * 3 for DPM-Solver-3, …; NaN for adaptive solvers (the loop counts the calls actually made either way).
   */
  readonly evalsPerStep: number;
  /** Whether a step draws noise (SDE solvers) or is deterministic (ODE solvers). */
  readonly stochastic: boolean;
  step(state: SolverState, t: number, tNext: number, rng: Rng): SolverState | Promise<SolverState>;
}

export type SolverFactory = (ctx: SolverContext) => StepSolver;
