/**
 * Probability-flow ODE sampling and encoding (Song et al. 2021, §4.3 and App. D): dx/dt = f(x,t) − ½ g(t)² s(x,t),
 * solved with the adaptive RK45 of ./rk45 exactly as the official `get_ode_sampler` drives scipy's solve_ivp:
 *
 * - the whole batch is ONE flattened float64 state vector (so the step size and the RMS error norm are shared by
 *   all examples, and nfe is the solver's nfev), and each right-hand-side evaluation casts that state to float32
 *   before calling the score (the official `.type(torch.float32)`), while the solver's arithmetic stays float64;
 * - sampling integrates from T down to eps (default `sde.defaultEps`: 1e-3 VP / sub-VP, 1e-5 VE, as run_lib);
 *   `denoise` then takes one reverse-diffusion (non-probability-flow) step at eps and returns its mean
 *   x − rev_f, the official `denoise_update_fn`. Default false, as `get_ode_sampler`'s signature; note that the
 *   official run_lib goes through `get_sampling_fn`, which passes `config.sampling.noise_removal` (true in every
 *   config) — pass `denoise: true` to reproduce that. The official inverse data scaler is not applied here
 *   (samples stay in the model's data space; map them back with the data module's scaler);
 * - encoding integrates the same ODE forward from eps to T: z = x(T), and decoding z with the same eps and
 *   tolerances gives back x up to the solver tolerance (the flow is a bijection).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { ScoreFn, SDE } from "../sde";
import { timeVector } from "../sde";
import { checkBatched, checkPositive, checkTensorFinite, fail } from "../validate";
import { checkedScore } from "../solvers/loop";
import { AsyncOdeFunction, Rk45StepInfo, solveRk45Async } from "./rk45";
import type { EmbeddedTableau } from "./tableau";

/** What `onStep` receives after every accepted solver step. */
export interface FlowStepInfo {
  /** Time reached. */
  t: number;
  /** RHS evaluations so far. */
  nfe: number;
  nAccepted: number;
  nRejected: number;
  /** The flattened float64 state at t (a view the solver overwrites: copy it to keep a trajectory). */
  state: Float64Array;
}

/** Options shared by every probability-flow solve. */
export interface FlowSolveOptions {
  /** Relative tolerance of RK45 (official default 1e-5). */
  rtol?: number;
  /** Absolute tolerance of RK45 (official default 1e-5). */
  atol?: number;
  /** Cap on attempted solver steps; a solve that needs more stops with an error instead of running on (default 20 000). */
  maxSteps?: number;
  /** Called after every accepted step (progress bars, trajectory plots). */
  onStep?: (info: FlowStepInfo) => void;
}

export interface OdeSampleOptions extends FlowSolveOptions {
  sde: SDE;
  score: ScoreFn;
  /** Latent x_T to decode, [B, ...dims]. Give either z, or shape and rng (z = prior sample). */
  z?: tf.Tensor;
  /** Shape [B, ...dims] of the samples, when z is not given. */
  shape?: readonly number[];
  /** Draws the prior sample when z is not given. */
  rng?: Rng;
  /** Where the ODE stops, in (0, T) (default `sde.defaultEps`). */
  eps?: number;
  /** One final reverse-diffusion step at eps, returning its mean (official `denoise`, default false). */
  denoise?: boolean;
  /** The embedded RK pair (default `DOPRI5`, scipy's RK45 as the official code; `BOSH3` is RK23). */
  tableau?: EmbeddedTableau;
}

export interface OdeSampleResult {
  /** x(eps) (or the denoised mean), float32, same shape as z. The caller disposes it. */
  samples: tf.Tensor;
  /** Score-network evaluations of the ODE solve: the solver's nfev, as the official `solution.nfev`
   * (a `denoise` step costs one more score evaluation, not counted here, as in the official code). */
  nfe: number;
  nAccepted: number;
  nRejected: number;
}

export interface OdeEncodeOptions extends FlowSolveOptions {
  sde: SDE;
  score: ScoreFn;
  /** Data at t = eps, [B, ...dims]. */
  x: tf.Tensor;
  /** Start time, in (0, T) (default `sde.defaultEps`; use the same eps to decode). */
  eps?: number;
  /** The embedded RK pair (default `DOPRI5`). */
  tableau?: EmbeddedTableau;
}

export interface OdeEncodeResult {
  /** z = x(T), float32, same shape as x. The caller disposes it. */
  z: tf.Tensor;
  nfe: number;
  nAccepted: number;
  nRejected: number;
}

/** Checks eps ∈ (0, T). */
export function checkEps(where: string, eps: number, T: number): number {
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps <= 0 || eps >= T) fail(where, "eps", eps, `a number in (0, T) = (0, ${T})`);
  return eps;
}

/** Checks the tolerances and step cap with the caller's name (the solver would report them as solveRk45's). */
export function checkFlowOptions(where: string, o: FlowSolveOptions): { rtol: number; atol: number; maxSteps: number } {
  const rtol = checkPositive(where, "rtol", o.rtol ?? 1e-5);
  const atol = o.atol ?? 1e-5;
  if (typeof atol !== "number" || !Number.isFinite(atol) || atol < 0) fail(where, "atol", atol, "a finite number ≥ 0");
  const maxSteps = o.maxSteps ?? 20_000;
  if (!Number.isInteger(maxSteps) || maxSteps <= 0) fail(where, "maxSteps", maxSteps, "a positive integer");
  return { rtol, atol, maxSteps };
}

/** Checks a data tensor: a tf.Tensor [B, ...dims], finite (reads it once: entry points only). */
export function checkData(where: string, name: string, x: unknown): tf.Tensor {
  if (!(x instanceof tf.Tensor)) fail(where, name, x, "a tf.Tensor of shape [B, ...dims]");
  checkBatched(where, name, x);
  if (x.size === 0) fail(where, `${name}.shape`, x.shape, "a non-empty [B, ...dims]");
  checkTensorFinite(where, name, x);
  return x;
}

/** Adapts an `onStep` for the flattened state. */
export function flowStepAdapter(onStep: FlowSolveOptions["onStep"]): ((s: Rk45StepInfo) => void) | undefined {
  return onStep && ((s) => onStep({ t: s.t, nfe: s.nfev, nAccepted: s.nAccepted, nRejected: s.nRejected, state: s.y }));
}

/**
 * A flat right-hand side for a batched tensor field v(x, t): the float64 state is cast to float32 and reshaped to
 * `shape`, t becomes a checked [B] time vector (no device read-back for validation), and the result is read back
 * once per evaluation. `field` runs inside a tidy and returns the flattened derivative. Only the first prod(shape)
 * state components are passed on: extra components (the likelihood's δ) must not enter the derivative.
 */
export function tensorRhs(
  shape: readonly number[],
  T: number,
  field: (x: tf.Tensor, t: tf.Tensor, tScalar: number) => tf.Tensor,
): AsyncOdeFunction {
  const n = shape.reduce((a, b) => a * b, 1);
  const B = shape[0];
  return async (t, y) => {
    // Float32 cast of the state, as the official ode_func; a fresh buffer because some backends keep a reference.
    const x32 = new Float32Array(n);
    for (let i = 0; i < n; i++) x32[i] = y[i];
    const out = tf.tidy(() => field(tf.tensor(x32, shape as number[], "float32"), timeVector(t, B, T), t));
    try {
      return await out.data();
    } finally {
      out.dispose();
    }
  };
}

/**
 * Refuses a non-finite right-hand side at once, naming the evaluation and its time: with a score that returns NaN
 * the solver would otherwise shrink its step until it underflows, far from the cause.
 */
function finiteRhs(where: string, rhs: AsyncOdeFunction): AsyncOdeFunction {
  let evals = 0;
  return async (t, y) => {
    evals++;
    const f = await rhs(t, y);
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i])) {
        throw new RangeError(
          `${where}: the probability-flow drift is not finite ${evals === 1 ? "at the initial point " : "at "}t = ${t} (${f[i]} at flat index ${i}, solver evaluation ${evals}); ` +
            "the score returned NaN or ±Infinity there (the ODE state itself was finite)",
        );
      }
    }
    return f;
  };
}

/** The probability-flow drift f − ½ g² s as a flat field. */
function flowField(sde: SDE, score: ScoreFn): (x: tf.Tensor, t: tf.Tensor) => tf.Tensor {
  const rsde = sde.reverse(score, { probabilityFlow: true });
  return (x, t) => rsde.drift(x, t).reshape([-1]);
}

/** Reads a float64 state back into a float32 tensor of `shape` (the official `.type(torch.float32)`). */
function stateToTensor(y: Float64Array, shape: readonly number[]): tf.Tensor {
  return tf.tensor(Float32Array.from(y), shape as number[], "float32");
}

/** Samples by solving the probability-flow ODE from T to eps with RK45 (official `get_ode_sampler`). */
export async function odeSample(opts: OdeSampleOptions): Promise<OdeSampleResult> {
  const where = "odeSample";
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an object {sde, score, z | shape + rng, ...}");
  const { sde, score } = opts;
  if (typeof score !== "function") fail(where, "score", score, "a score function (x, t) => tensor");
  const eps = checkEps(where, opts.eps ?? sde.defaultEps, sde.T);
  const { rtol, atol, maxSteps } = checkFlowOptions(where, opts);
  let z: tf.Tensor;
  let ownZ = false;
  if (opts.z !== undefined) {
    z = checkData(where, "z", opts.z);
  } else {
    const shape = opts.shape;
    if (!Array.isArray(shape) || shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      fail(where, "shape", shape, "[B, ...dims] of positive integers (or pass z)");
    }
    if (!opts.rng) fail(where, "rng", opts.rng, "an Rng (createRng(seed)) to draw the prior sample (or pass z)");
    z = sde.priorSample(shape, opts.rng);
    ownZ = true;
  }
  const shape = z.shape;
  try {
    const y0 = Float64Array.from(await z.data());
    const sol = await solveRk45Async(finiteRhs(where, tensorRhs(shape, sde.T, flowField(sde, checkedScore(where, score).score))), [sde.T, eps], y0, {
      rtol, atol, maxSteps, onStep: flowStepAdapter(opts.onStep), tableau: opts.tableau,
    });
    const samples = tf.tidy(() => {
      const x = stateToTensor(sol.y, shape);
      if (!opts.denoise) return x;
      // One reverse-diffusion predictor step at t = eps, keeping its mean (no noise): x − rev_f.
      const { f } = sde.reverse(score).discretize(x, timeVector(eps, shape[0], sde.T));
      return x.sub(f);
    });
    return { samples, nfe: sol.nfev, nAccepted: sol.nAccepted, nRejected: sol.nRejected };
  } finally {
    if (ownZ) z.dispose();
  }
}

/** Encodes data x (at t = eps) into the latent z = x(T) by solving the probability-flow ODE forward. */
export async function odeEncode(opts: OdeEncodeOptions): Promise<OdeEncodeResult> {
  const where = "odeEncode";
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an object {sde, score, x, ...}");
  const { sde, score } = opts;
  if (typeof score !== "function") fail(where, "score", score, "a score function (x, t) => tensor");
  const x = checkData(where, "x", opts.x);
  const eps = checkEps(where, opts.eps ?? sde.defaultEps, sde.T);
  const { rtol, atol, maxSteps } = checkFlowOptions(where, opts);
  const y0 = Float64Array.from(await x.data());
  const sol = await solveRk45Async(tensorRhs(x.shape, sde.T, flowField(sde, score)), [eps, sde.T], y0, {
    rtol, atol, maxSteps, onStep: flowStepAdapter(opts.onStep), tableau: opts.tableau,
  });
  return { z: stateToTensor(sol.y, x.shape), nfe: sol.nfev, nAccepted: sol.nAccepted, nRejected: sol.nRejected };
}
