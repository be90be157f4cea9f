/**
 * The one loop that drives any step solver over any grid (the PC sampler's predictor–corrector steps included):
 *
 *   x = x_T (given, e.g. the prior draw);  for i = 0 … K−1:  state = solver.step(state, t_i, t_{i+1}, rng)
 *
 * and around each step: the score's output shape is checked at every call (a score that returns another shape
 * would broadcast silently), score calls are counted, x is checked to be finite after every step (an error naming
 * the step instead of NaN samples at the end), tensors of replaced states are freed, the trajectory is kept on
 * request and the callback sees every step. Draw order is entirely the solver's: the loop draws nothing.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { ScoreFn, SDE } from "../sde";
import { fmt } from "../validate";
import type { SolverState, StepSolver } from "./types";

/** What the callback sees after step i. The tensors are freed after the callback returns: clone to keep them. */
export interface SolverStepInfo {
  /** Step index 0 … K−1. */
  i: number;
  /** The step went from t to tNext. */
  t: number;
  tNext: number;
  x: tf.Tensor;
  xMean: tf.Tensor;
  /** Score evaluations so far. */
  scoreEvals: number;
}

export interface LoopOptions {
  /** The caller's name, used in every error. */
  where: string;
  sde: SDE;
  /** The user's score; the loop passes a checked, counted wrapper to `makeSolver`. */
  score: ScoreFn;
  makeSolver: (score: ScoreFn) => StepSolver;
  /** K + 1 times, already validated by the caller. */
  grid: Float64Array;
  /** The start state x(t_0); the loop takes ownership (it is freed or returned). */
  x: tf.Tensor;
  rng: Rng;
  callback?: (info: SolverStepInfo) => void | Promise<void>;
  /** Keep x_0 and x after every `trajectoryStride`-th step (and the last). */
  keepTrajectory?: boolean;
  trajectoryStride?: number;
}

export interface LoopResult {
  x: tf.Tensor;
  xMean: tf.Tensor;
  /** Score calls actually made. */
  scoreEvals: number;
  trajectory?: tf.Tensor;
  trajectorySteps?: number[];
}

/** Wraps a score so that every call is counted and must return a tensor of x's shape. */
export function checkedScore(where: string, score: ScoreFn): { score: ScoreFn; calls: () => number } {
  let calls = 0;
  const wrapped: ScoreFn = (x, t) => {
    calls++;
    const s = score(x, t);
    if (!(s instanceof tf.Tensor)) {
      throw new TypeError(`${where}: score(x, t) returned ${s === undefined ? "undefined" : fmt(typeof s)}; it must return a tf.Tensor of x's shape [${x.shape}]`);
    }
    if (s.shape.length !== x.shape.length || s.shape.some((d, k) => d !== x.shape[k])) {
      const tv = t.size > 0 ? t.dataSync()[0] : NaN;
      s.dispose();
      throw new RangeError(`${where}: score(x, t) returned shape [${s.shape}] for x of shape [${x.shape}] (t = ${tv}); the score must return a tensor of x's shape (no broadcasting)`);
    }
    return s;
  };
  return { score: wrapped, calls: () => calls };
}

function holds(state: SolverState, t: tf.Tensor): boolean {
  return state.x === t || state.xMean === t || state.history.some((h) => h.value === t);
}

function disposeReplaced(old: SolverState, next: SolverState): void {
  for (const t of [old.x, old.xMean, ...old.history.map((h) => h.value)]) if (!holds(next, t) && !t.isDisposed) t.dispose();
}

function disposeState(s: SolverState): void {
  for (const t of [s.x, s.xMean, ...s.history.map((h) => h.value)]) if (!t.isDisposed) t.dispose();
}

/** True when every value of x is finite (one scalar read: 0 · x sums to NaN iff some entry is NaN or ±∞). */
function allFinite(x: tf.Tensor): boolean {
  const s = tf.tidy(() => x.mul(0).sum());
  const v = s.dataSync()[0];
  s.dispose();
  return v === 0;
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  const { where, grid, rng, callback } = o;
  const counted = checkedScore(where, o.score);
  let state: SolverState = { x: o.x, xMean: o.x.clone(), history: [] };
  const stride = o.trajectoryStride ?? 1;
  const traj: tf.Tensor[] = [];
  const trajSteps: number[] = [];
  const K = grid.length - 1;
  try {
    const solver = o.makeSolver(counted.score);
    if (o.keepTrajectory) {
      traj.push(state.x.clone());
      trajSteps.push(0);
    }
    for (let i = 0; i < K; i++) {
      const t = grid[i];
      const tNext = grid[i + 1];
      const next = await solver.step(state, t, tNext, rng);
      disposeReplaced(state, next);
      state = next;
      if (!allFinite(state.x)) {
        throw new RangeError(
          `${where}: the samples are not finite (NaN or ±Infinity) after step ${i + 1} of ${K} (solver ${fmt(solver.name)}, t = ${t} → ${tNext}); ` +
            "the score returned non-finite values there, or the step diverged (e.g. a Langevin snr far too large, or too few steps for this solver)",
        );
      }
      if (o.keepTrajectory && ((i + 1) % stride === 0 || i === K - 1)) {
        traj.push(state.x.clone());
        trajSteps.push(i + 1);
      }
      if (callback) {
        const r = callback({ i, t, tNext, x: state.x, xMean: state.xMean, scoreEvals: counted.calls() });
        if (r && typeof (r as Promise<void>).then === "function") await r;
      }
    }
    for (const h of state.history) h.value.dispose();
    const result: LoopResult = { x: state.x, xMean: state.xMean, scoreEvals: counted.calls() };
    if (o.keepTrajectory) {
      result.trajectory = tf.stack(traj);
      result.trajectorySteps = trajSteps;
    }
    return result;
  } catch (err) {
    disposeState(state);
    throw err;
  } finally {
    for (const tr of traj) tr.dispose();
  }
}
