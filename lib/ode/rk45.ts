/**
 * Adaptive Dormand–Prince RK5(4) ("RK45") for dy/dt = f(t, y), with the semantics of scipy's
 * `solve_ivp(method="RK45")`, which the official score_sde code uses for probability-flow sampling and likelihood:
 *
 * - error per step: err = h Σ_j E_j K_j (E = b − b̂, seven stages incl. the FSAL stage), measured in the RMS norm
 *   of err / (atol + rtol · max(|y|, |y_new|)); a step is accepted when that norm is < 1;
 * - step control: h ← h · min(10, 0.9 · norm^(−1/5)) after an accepted step (no growth right after a rejection),
 *   h ← h · max(0.2, 0.9 · norm^(−1/5)) after a rejected one; the step never drops below 10 ulps of t;
 * - first step: scipy's `select_initial_step` (Hairer, Nørsett & Wanner, "Solving ODEs I", §II.4), one extra RHS
 *   evaluation, clamped to the interval as scipy ≥ 1.12 does (older versions could probe outside [t0, t1]);
 * - FSAL: the last stage of an accepted step is the first stage of the next, so each attempted step costs 6
 *   evaluations and nfev = 2 + 6 · (accepted + rejected), counted exactly like scipy's `nfev`;
 * - integration backwards (t1 < t0) is allowed; the state is float64 throughout.
 *
 * The solver knows nothing about diffusion models (diffrax style): the probability-flow sampler and the
 * likelihood wrap their tensors into a `(t, y) => Float64Array` right-hand side. Unlike scipy it never loops
 * forever: `maxSteps` bounds the number of attempted steps and a step-size underflow raises a clear error.
 *
 * The tableau (./dopri5.ts; `BOSH3` in ./bosh3.ts is scipy's RK23, option `tableau`) and the step-size controller
 * (./controller.ts) are separate parts; this file is the adaptive driver they share.
 *
 * The core is a generator that yields evaluation requests, so the same code drives a synchronous RHS
 * (`solveRk45`) and an asynchronous one (`solveRk45Async`, e.g. one that awaits `tensor.data()` on a GPU backend).
 */
import { fail, fmt } from "../validate";
import { MIN_FACTOR, StepController, rmsRatio } from "./controller";
import { DOPRI5 } from "./dopri5";
import { EmbeddedTableau, checkTableau } from "./tableau";

/** Right-hand side dy/dt = f(t, y). It must not keep `y` (the solver reuses the buffer) and may reuse its output. */
export type OdeFunction = (t: number, y: Float64Array) => ArrayLike<number>;
/** An asynchronous right-hand side. */
export type AsyncOdeFunction = (t: number, y: Float64Array) => ArrayLike<number> | Promise<ArrayLike<number>>;

export interface Rk45StepInfo {
  /** Time reached by the accepted step. */
  t: number;
  /** State at t (a view the solver will overwrite: copy it to keep it). */
  y: Float64Array;
  /** The signed step just taken. */
  h: number;
  /** RHS evaluations so far. */
  nfev: number;
  /** Accepted and rejected steps so far. */
  nAccepted: number;
  nRejected: number;
}

export interface Rk45Options {
  /** Relative tolerance (scipy default 1e-3). Must be > 0; values below 100·machine-eps are raised to it, as scipy does. */
  rtol?: number;
  /** Absolute tolerance, scalar or one per component (scipy default 1e-6). Must be ≥ 0. */
  atol?: number | ArrayLike<number>;
  /** Initial step size |h₀|; default: scipy's `select_initial_step` (costs one evaluation). */
  firstStep?: number;
  /** Largest allowed |h| (default ∞). */
  maxStep?: number;
  /** Largest number of attempted (accepted + rejected) steps before giving up with an error (default 100 000). */
  maxSteps?: number;
  /** Called after every accepted step (for progress bars and trajectory plots). */
  onStep?: (info: Rk45StepInfo) => void;
  /** The embedded pair (default `DOPRI5`, scipy's RK45; `BOSH3` is scipy's RK23). */
  tableau?: EmbeddedTableau;
}

export interface Rk45Result {
  /** Final time (= t1). */
  t: number;
  /** Final state y(t1), float64. */
  y: Float64Array;
  /** Number of RHS evaluations, counted as scipy's `nfev`. */
  nfev: number;
  nAccepted: number;
  nRejected: number;
}

const EPS = 2.220446049250313e-16;

const WHERE = "solveRk45";

interface EvalRequest {
  t: number;
  y: Float64Array;
}

/** The next float after t in direction dir (±1), as numpy.nextafter(t, dir·∞). */
export function nextAfter(t: number, dir: number): number {
  if (t === 0) return dir > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, t);
  const bits = view.getBigUint64(0);
  // Positive numbers grow with their bit pattern, negative ones shrink: away from zero is +1 ulp in bits.
  const away = (t > 0) === (dir > 0);
  view.setBigUint64(0, away ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

interface Checked {
  t0: number;
  t1: number;
  y0: Float64Array;
  rtol: number;
  atol: Float64Array;
  firstStep: number | undefined;
  maxStep: number;
  maxSteps: number;
  tableau: EmbeddedTableau;
}

function checkArgs(tSpan: readonly [number, number], y0: ArrayLike<number>, opts: Rk45Options): Checked {
  if (!Array.isArray(tSpan) || tSpan.length !== 2) fail(WHERE, "tSpan", tSpan, "a pair [t0, t1] of finite numbers");
  const [t0, t1] = tSpan;
  if (typeof t0 !== "number" || !Number.isFinite(t0)) fail(WHERE, "t0", t0, "a finite number");
  if (typeof t1 !== "number" || !Number.isFinite(t1)) fail(WHERE, "t1", t1, "a finite number");
  if (y0 == null || typeof y0.length !== "number") fail(WHERE, "y0", y0, "an array of finite numbers");
  const y = Float64Array.from(y0);
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) fail(WHERE, `y0[${i}]`, y[i], "finite");
  const rtolIn = opts.rtol ?? 1e-3;
  if (typeof rtolIn !== "number" || !Number.isFinite(rtolIn) || rtolIn <= 0) {
    fail(WHERE, "rtol", rtolIn, "a finite number > 0");
  }
  // scipy warns and raises rtol to 100·eps: below that the error test cannot be met in float64.
  const rtol = Math.max(rtolIn, 100 * EPS);
  const atolIn = opts.atol ?? 1e-6;
  const atol = new Float64Array(y.length);
  if (typeof atolIn === "number") {
    if (!Number.isFinite(atolIn) || atolIn < 0) fail(WHERE, "atol", atolIn, "a finite number ≥ 0");
    atol.fill(atolIn);
  } else {
    if (atolIn == null || atolIn.length !== y.length) {
      fail(WHERE, "atol.length", atolIn?.length, `${y.length} (one tolerance per component) or a scalar atol`);
    }
    for (let i = 0; i < y.length; i++) {
      const a = atolIn[i];
      if (!Number.isFinite(a) || a < 0) fail(WHERE, `atol[${i}]`, a, "a finite number ≥ 0");
      atol[i] = a;
    }
  }
  const firstStep = opts.firstStep;
  if (firstStep !== undefined && !(Number.isFinite(firstStep) && firstStep > 0 && firstStep <= Math.abs(t1 - t0))) {
    fail(WHERE, "firstStep", firstStep, `a number in (0, |t1 − t0|] = (0, ${Math.abs(t1 - t0)}]`);
  }
  const maxStep = opts.maxStep ?? Infinity;
  if (typeof maxStep !== "number" || !(maxStep > 0)) fail(WHERE, "maxStep", maxStep, "a number > 0 (∞ allowed)");
  const maxSteps = opts.maxSteps ?? 100_000;
  if (!Number.isInteger(maxSteps) || maxSteps <= 0) fail(WHERE, "maxSteps", maxSteps, "a positive integer");
  const tableau = opts.tableau ?? DOPRI5;
  if (tableau === null || typeof tableau !== "object" || !Array.isArray(tableau.c)) fail(WHERE, "tableau", typeof tableau, "an EmbeddedTableau (DOPRI5 or BOSH3)");
  return { t0, t1, y0: y, rtol, atol, firstStep, maxStep, maxSteps, tableau: checkTableau(tableau) };
}

/** Copies an RHS result into `dst`, checking its length. Returns whether every value is finite. */
function take(f: ArrayLike<number>, dst: Float64Array, t: number): boolean {
  if (f == null || f.length !== dst.length) {
    throw new RangeError(`${WHERE}: the right-hand side returned ${f == null ? fmt(f) : `${f.length} values`} at t = ${t}; expected ${dst.length} (one per state component)`);
  }
  let finite = true;
  for (let i = 0; i < dst.length; i++) {
    const v = f[i];
    dst[i] = v;
    if (!Number.isFinite(v)) finite = false;
  }
  return finite;
}

/** The solver as a generator of RHS evaluation requests; each `next(f)` answers the last request. */
function* rkCore(c: Checked, onStep: Rk45Options["onStep"]): Generator<EvalRequest, Rk45Result, ArrayLike<number>> {
  const { t0, t1, rtol, atol, maxStep, maxSteps } = c;
  const { c: C, a: A, b: B, e: E } = c.tableau;
  const S = C.length;
  const control = new StepController(c.tableau.errorOrder);
  const n = c.y0.length;
  const dir = t1 > t0 ? 1 : -1;
  const lo = Math.min(t0, t1);
  const hi = Math.max(t0, t1);
  let nfev = 0;
  let y = Float64Array.from(c.y0);
  let yNew = new Float64Array(n);
  const yTmp = new Float64Array(n);
  // K[0..S−1]: the stages; K[S] = f(t + h, y_new). FSAL swaps K[S] into K[0] on acceptance.
  const K: Float64Array[] = Array.from({ length: S + 1 }, () => new Float64Array(n));
  const err = new Float64Array(n);
  const scale = new Float64Array(n);

  const evaluate = function* (t: number, state: Float64Array, dst: Float64Array): Generator<EvalRequest, boolean, ArrayLike<number>> {
    // Stage times t + c·h lie in [t, t_new] mathematically; clamp the last-ulp overshoot so that callers which
    // validate t ∈ [eps, T] (the SDE code does) never see T + 1 ulp.
    const tc = Math.min(hi, Math.max(lo, t));
    nfev++;
    const f = yield { t: tc, y: state };
    return take(f, dst, tc);
  };

  if (!(yield* evaluate(t0, y, K[0]))) {
    throw new RangeError(`${WHERE}: the right-hand side is not finite at the initial point t0 = ${t0} (first non-finite value: ${fmt(Array.from(K[0]).find((v) => !Number.isFinite(v)))})`);
  }
  const result = (t: number, nAccepted: number, nRejected: number): Rk45Result => ({ t, y, nfev, nAccepted, nRejected });
  if (t0 === t1 || n === 0) return result(t1, 0, 0);

  // Initial step (scipy `select_initial_step`, with the ≥ 1.12 clamp to the interval).
  let hAbs: number;
  const interval = hi - lo;
  if (c.firstStep !== undefined) {
    hAbs = c.firstStep;
  } else {
    for (let i = 0; i < n; i++) scale[i] = atol[i] + Math.abs(y[i]) * rtol;
    const d1 = rmsRatio(K[0], scale);
    const h0 = control.probeStep(rmsRatio(y, scale), d1, interval);
    for (let i = 0; i < n; i++) yTmp[i] = y[i] + h0 * dir * K[0][i];
    const f1 = K[1];
    yield* evaluate(t0 + h0 * dir, yTmp, f1);
    for (let i = 0; i < n; i++) err[i] = f1[i] - K[0][i];
    hAbs = control.initialStep(h0, d1, rmsRatio(err, scale) / h0, interval, maxStep);
  }

  let t = t0;
  let nAccepted = 0;
  let nRejected = 0;
  let sawNonFinite = false;
  while (dir * (t - t1) < 0) {
    const minStep = 10 * Math.abs(nextAfter(t, dir) - t);
    if (hAbs > maxStep) hAbs = maxStep;
    else if (hAbs < minStep) hAbs = minStep;
    let accepted = false;
    let rejected = false;
    let tNew = t;
    let hTaken = 0;
    while (!accepted) {
      if (hAbs < minStep) {
        throw new RangeError(`${WHERE}: required step size |h| = ${hAbs} is below the spacing of floats at t = ${t} (10 ulp = ${minStep})` +
            (sawNonFinite ? "; the right-hand side returned non-finite values (NaN/Infinity) near this t" : "; the problem may be too stiff for the tolerances"));
      }
      if (nAccepted + nRejected >= maxSteps) {
        throw new RangeError(`${WHERE}: maxSteps = ${maxSteps} attempted steps reached at t = ${t} of [${t0}, ${t1}] (nfev = ${nfev}); loosen rtol/atol or raise maxSteps`);
      }
      let h = hAbs * dir;
      tNew = t + h;
      if (dir * (tNew - t1) > 0) tNew = t1;
      h = tNew - t;
      hAbs = Math.abs(h);
      hTaken = h;

      let finite = true;
      for (let s = 1; s < S; s++) {
        const a = A[s];
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let j = 0; j < s; j++) acc += a[j] * K[j][i];
          yTmp[i] = y[i] + h * acc;
        }
        if (!(yield* evaluate(t + C[s] * h, yTmp, K[s]))) finite = false;
      }
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < S; j++) acc += B[j] * K[j][i];
        yNew[i] = y[i] + h * acc;
      }
      if (!(yield* evaluate(t + h, yNew, K[S]))) finite = false;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j <= S; j++) acc += E[j] * K[j][i];
        err[i] = acc * h;
        scale[i] = atol[i] + Math.max(Math.abs(y[i]), Math.abs(yNew[i])) * rtol;
      }
      const errorNorm = rmsRatio(err, scale);
      if (!finite || !Number.isFinite(errorNorm)) {
        // scipy shrinks by MIN_FACTOR in this case too (max(0.2, nan) is 0.2 in Python).
        sawNonFinite = sawNonFinite || !finite;
        hAbs *= MIN_FACTOR;
        rejected = true;
        nRejected++;
      } else if (errorNorm < 1) {
        hAbs *= control.accepted(errorNorm, rejected);
        accepted = true;
        nAccepted++;
      } else {
        hAbs *= control.rejected(errorNorm);
        rejected = true;
        nRejected++;
      }
    }
    t = tNew;
    [y, yNew] = [yNew, y];
    [K[0], K[S]] = [K[S], K[0]];
    onStep?.({ t, y, h: hTaken, nfev, nAccepted, nRejected });
  }
  return result(t, nAccepted, nRejected);
}

/** Solves dy/dt = f(t, y) from t0 to t1 (t1 < t0 allowed) with adaptive RK45; see the module comment. */
export function solveRk45(f: OdeFunction, tSpan: readonly [number, number], y0: ArrayLike<number>, opts: Rk45Options = {}): Rk45Result {
  if (typeof f !== "function") fail(WHERE, "f", f, "a function (t, y) => array");
  const gen = rkCore(checkArgs(tSpan, y0, opts), opts.onStep);
  let r = gen.next();
  while (!r.done) r = gen.next(f(r.value.t, r.value.y));
  return r.value;
}

/** As `solveRk45`, for a right-hand side that returns a Promise (awaited once per evaluation). */
export async function solveRk45Async(f: AsyncOdeFunction, tSpan: readonly [number, number], y0: ArrayLike<number>, opts: Rk45Options = {}): Promise<Rk45Result> {
  if (typeof f !== "function") fail(WHERE, "f", f, "a function (t, y) => array | Promise<array>");
  const gen = rkCore(checkArgs(tSpan, y0, opts), opts.onStep);
  let r = gen.next();
  while (!r.done) r = gen.next(await f(r.value.t, r.value.y));
  return r.value;
}
