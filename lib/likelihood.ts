/**
 * Exact log-likelihoods through the probability-flow ODE (Song et al. 2021, §4.3 and App. D.2; official
 * `likelihood.py`). With f̃(x,t) = f(x,t) − ½ g(t)² s(x,t), the instantaneous change of variables gives
 *
 *     log p_eps(x) = log p_T(x(T)) + ∫_eps^T ∇·f̃(x(t), t) dt,
 *
 * so the state [x, δ] is integrated FORWARD from eps (data) to T with dx/dt = f̃, dδ/dt = ∇·f̃, δ(eps) = 0, and
 * log p(x) = log π(z) + δ(T) with z = x(T) and π the SDE's prior. Replacing p_T by π is the only modelling error
 * with an exact score: `logLikelihood` returns z so callers can measure that prior-mismatch gap.
 *
 * Divergence ∇·f̃:
 * - "exact": the trace of the Jacobian, one VJP per data dimension (D of them, batched into one backward pass
 *   over D copies of the batch) — the right choice in low dimension (toy 2-D data), not offered officially;
 * - "rademacher" / "gaussian": the Hutchinson–Skilling estimator εᵀ(∂f̃/∂x)ε with one VJP, as the official code.
 *   The probes are drawn ONCE per call through `rng` (per example, `probes` of them, averaged) and held fixed along
 *   the trajectory, so the ODE stays a smooth ODE and the estimate of log p is unbiased.
 *
 * Bits per dimension. bpd = −log p / (D ln 2) + offset, D = dims per example. The official code adds
 * offset = 7 − inverse_scaler(−1): 7 for data centred to [−1, 1], 8 for data in [0, 1]. That "hack" (as its own
 * comment calls it) converts a density on the scaled continuous space into a discrete likelihood of 8-bit data:
 * with 256 levels uniformly dequantised (level k ↦ (k + u)/256, u ~ U[0,1)) into a range of width W, each level
 * owns a bin of width W/256, so −log₂ P(k) ≤ −log₂ p(x) − D log₂(W/256) (Jensen; this is the variational bound
 * of uniform dequantisation), i.e. offset = 8 − log₂ W per dimension: 7 for W = 2, 8 for W = 1. It is only
 * meaningful for quantised data evaluated with dequantisation noise, which is why users are confused when they
 * apply it to continuous data, or forget the noise (official issues pytorch#51, score_sde#24). Here nothing is
 * hidden: the default offset is 0 (continuous data, bpd is just −log₂ p / D); `dequantize: {bits, range}` takes
 * integer levels, adds the uniform noise through `rng`, and then defaults the offset to `bitsPerDimOffset`.
 *
 * Batching. As in the official code all B examples form ONE state vector, so one adaptive solve serves the batch
 * (fast: one score call per evaluation), but the error test is an RMS over all B·(D+1) components: the worst
 * example's error grows with B. Measured with the exact score on the reference mixture at rtol = atol = 1e-5:
 * max error 1e-3 – 4e-3 nats for B = 8, up to 1.7e-2 for B = 1000 (mean 5e-5), 5e-5 for B = 1000 at 1e-7.
 * Tighten the tolerances, or call per smaller batch, when every single example must be accurate.
 */
import * as tf from "@tensorflow/tfjs";
import { checkData, checkEps, checkFlowOptions, flowStepAdapter, FlowSolveOptions, tensorRhs } from "./ode/flow";
import { solveRk45Async } from "./ode/rk45";
import { bitsPerDimOffset, uniformDequantize, type DequantizeOptions } from "./data/dequantize";
import type { Rng } from "./random";
import type { ScoreFn, SDE } from "./sde";
import { dimsOf, sumPerExample, timeVector } from "./sde";
import { Progress } from "./train/progress";
import { inKernel } from "./viz/notebook";
import { checkOneOf, checkPositiveInt, fail } from "./validate";

export type DivergenceKind = "exact" | "rademacher" | "gaussian";
export const DIVERGENCE_KINDS: readonly DivergenceKind[] = ["exact", "rademacher", "gaussian"];

/** Moved to lib/data (dequantisation belongs to the data); re-exported for existing imports. */
export { bitsPerDimOffset, uniformDequantize, type DequantizeOptions };

export interface LogLikelihoodOptions extends FlowSolveOptions {
  sde: SDE;
  score: ScoreFn;
  /**
   * Data [B, ...dims]: continuous values (default), or, with `dequantize`, integer levels 0 … 2^bits − 1 which are
   * dequantised here.
   */
  x: tf.Tensor;
  /** Divergence of the drift: "exact" (trace, for low dimension) or a Hutchinson estimator (default "rademacher", as official). */
  divergence?: DivergenceKind;
  /** Hutchinson probes per example, drawn once and held fixed; the estimates are averaged (default 1, as official). */
  probes?: number;
  /** Data time: the ODE starts at t = eps (default 1e-5, the official likelihood eps). */
  eps?: number;
  /** Source of the Hutchinson probes and the dequantisation noise (required for those). */
  rng?: Rng;
  /** Treat x as quantised levels and dequantise uniformly (see the module comment). */
  dequantize?: DequantizeOptions;
  /** Added to bpd. Default 0 for continuous data, `bitsPerDimOffset(dequantize)` with dequantisation. */
  offset?: number;
  /**
   * Most rows (copies of the batch × examples) per backward pass for exact / multi-probe divergences. Default
   * min(16 384, 2¹⁷ / D) for D data dimensions: 16 384 for the toys; 167 for a 28×28 image, whose U-Net keeps a few MB
   * of activations per row for the backward pass — 784 rows at once (the exact trace of one MNIST image) overran
   * wasm's heap and aborted the runtime.
   */
  maxRowsPerPass?: number;
  /**
   * One progress line updated in place (lib/train/progress.ts) with the share of [eps, T] integrated, the NFE and
   * the time left — as `train` does: on by default in a notebook kernel or a terminal, off in pipes and tests. One
   * solve of image data takes minutes (e.g. 20 MNIST images at rtol 1e-5), and a cell shows nothing until it ends.
   * Pass false when a caller shows its own progress over several solves.
   */
  progress?: boolean;
  /** Label of the progress line (default "likelihood"). */
  progressLabel?: string;
}

export interface LogLikelihoodResult {
  /** log p(x) in nats per example [B]: log π(z) + δ(T). Density on the continuous space x lives in. */
  logp: tf.Tensor1D;
  /** −logp / (D ln 2) + offset, [B]. */
  bpd: tf.Tensor1D;
  /** z = x(T), float32, same shape as x. */
  z: tf.Tensor;
  /** log π(z) [B]. */
  priorLogp: tf.Tensor1D;
  /** δ(T) = ∫ ∇·f̃ dt [B]. */
  deltaLogp: tf.Tensor1D;
  /** With `dequantize`: the dequantised continuous data actually evaluated (the caller disposes it); else undefined. */
  xDequantized?: tf.Tensor;
  /** Solver evaluations (scipy's nfev; each one is a drift plus divergence evaluation). */
  nfe: number;
  nAccepted: number;
  nRejected: number;
  /** The offset added to bpd. */
  offset: number;
  /** Data dimensions per example, D. */
  dims: number;
}

/**
 * Drift f̃ and its divergence for x [B, ...dims] at t [B] (a `timeVector`), with R fixed probe rows per example:
 * `probes` [R·B, ...dims] (replica-major). Exact divergence uses the D one-hot probes and sums; Hutchinson uses
 * random probes and averages. Each pass runs ONE forward and ONE backward over copies of the batch, which is much
 * cheaper than R separate VJPs (tf.grad re-runs the forward each time). Returns [B·D drift, B divergence] flat.
 */
function driftAndDivergence(
  drift: (x: tf.Tensor, t: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  t: number,
  T: number,
  probeChunks: readonly tf.Tensor[],
  reduce: "sum" | "mean",
  R: number,
): tf.Tensor {
  const B = x.shape[0];
  let f: tf.Tensor | undefined;
  const parts: tf.Tensor[] = [];
  for (const P of probeChunks) {
    const r = P.shape[0] / B;
    // r copies of the batch along axis 0 (replica-major, what tf.tile(x, [r, 1, …]) gives): concat is a plain
    // copy on wasm, about ten times faster than its Tile kernel.
    const xr = r === 1 ? x : tf.concat(new Array<tf.Tensor>(r).fill(x));
    const tr = timeVector(t, r * B, T);
    const { value, grad } = tf.valueAndGrad((xx: tf.Tensor) => drift(xx, tr))(xr, P);
    f ??= r === 1 ? value : value.slice(0, B);
    // Row i of grad is probeᵢᵀ J; its dot product with probeᵢ is one estimate (or one diagonal entry of J).
    parts.push(sumPerExample(grad.mul(P)).reshape([r, B]).sum(0));
  }
  let div = parts.length === 1 ? parts[0] : tf.addN(parts);
  if (reduce === "mean") div = div.div(R);
  return tf.concat([f!.reshape([-1]), div]);
}

/** Log-likelihood and bits/dim of x under the probability-flow ODE of `sde` with score `score` (see module comment). */
export async function logLikelihood(opts: LogLikelihoodOptions): Promise<LogLikelihoodResult> {
  const where = "logLikelihood";
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an object {sde, score, x, ...}");
  const { sde, score, rng } = opts;
  if (typeof score !== "function") fail(where, "score", score, "a score function (x, t) => tensor");
  const xIn = checkData(where, "x", opts.x);
  const kind = checkOneOf(where, "divergence", opts.divergence ?? "rademacher", DIVERGENCE_KINDS);
  const eps = checkEps(where, opts.eps ?? 1e-5, sde.T);
  const { rtol, atol, maxSteps } = checkFlowOptions(where, opts);
  const nProbes = checkPositiveInt(where, "probes", opts.probes ?? 1);
  if (kind === "exact" && opts.probes !== undefined) fail(where, "probes", opts.probes, "left out with divergence 'exact' (the trace needs no probes)");
  const maxRows = checkPositiveInt(where, "maxRowsPerPass", opts.maxRowsPerPass ?? Math.min(16_384, Math.max(1, Math.floor(2 ** 17 / dimsOf(xIn.shape)))));
  if ((kind !== "exact" || opts.dequantize) && !rng) {
    fail(where, "rng", rng, `an Rng (createRng(seed)) for the ${kind !== "exact" ? `${kind} probes` : "dequantisation noise"}`);
  }
  let offset = 0;
  if (opts.dequantize) offset = bitsPerDimOffset(opts.dequantize);
  if (opts.offset !== undefined) {
    if (typeof opts.offset !== "number" || !Number.isFinite(opts.offset)) fail(where, "offset", opts.offset, "a finite number");
    offset = opts.offset;
  }

  const shape = xIn.shape;
  const B = shape[0];
  const D = dimsOf(shape);
  const n = B * D;
  const keep: tf.Tensor[] = [];
  try {
    const x = opts.dequantize ? uniformDequantize(xIn, rng!, opts.dequantize) : xIn;
    if (x !== xIn) keep.push(x);
    // Probe rows, drawn once per call (draw order: dequantisation noise first, then the probes, replica-major).
    const R = kind === "exact" ? D : nProbes;
    const perPass = Math.max(1, Math.floor(maxRows / B));
    const probeChunks: tf.Tensor[] = [];
    for (let r0 = 0; r0 < R; r0 += perPass) {
      const r1 = Math.min(R, r0 + perPass);
      const rowsShape = [(r1 - r0) * B, ...shape.slice(1)];
      const P = tf.tidy(() => {
        if (kind === "rademacher") return rng!.rademacher(rowsShape);
        if (kind === "gaussian") return rng!.normal(rowsShape);
        // One-hot rows: replica r has a 1 at flat data dimension r for every example.
        const hot = tf.oneHot(tf.range(r0, r1, 1, "int32"), D).toFloat(); // [r, D]
        return tf.tile(hot.reshape([r1 - r0, 1, D]), [1, B, 1]).reshape(rowsShape);
      });
      probeChunks.push(P);
      keep.push(P);
    }
    const rsde = sde.reverse(score, { probabilityFlow: true });
    const drift = (xx: tf.Tensor, tt: tf.Tensor) => rsde.drift(xx, tt);
    const reduce = kind === "exact" ? "sum" : "mean";
    const rhs = tensorRhs(shape, sde.T, (xx, _tt, t) => driftAndDivergence(drift, xx, t, sde.T, probeChunks, reduce, R));
    const y0 = new Float64Array(n + B);
    y0.set(await x.data());
    const showProgress = opts.progress ?? (inKernel() || Boolean(process.stderr.isTTY));
    const progress = showProgress ? new Progress({ total: 1, unit: "", label: opts.progressLabel ?? "likelihood" }) : undefined;
    const userStep = flowStepAdapter(opts.onStep);
    const span = sde.T - eps;
    const sol = await solveRk45Async(rhs, [eps, sde.T], y0, {
      rtol,
      atol,
      maxSteps,
      onStep: (s) => {
        userStep?.(s);
        progress?.update((s.t - eps) / span, `t ${s.t.toPrecision(3)}  NFE ${s.nfev}`);
      },
    });
    progress?.finish(1, `NFE ${sol.nfev}`);
    const out = tf.tidy(() => {
      const z = tf.tensor(Float32Array.from(sol.y.subarray(0, n)), shape as number[], "float32");
      const deltaLogp = tf.tensor1d(Float32Array.from(sol.y.subarray(n)), "float32");
      const priorLogp = sde.priorLogProb(z) as tf.Tensor1D;
      const logp = priorLogp.add(deltaLogp) as tf.Tensor1D;
      const bpd = logp.div(-D * Math.LN2).add(offset) as tf.Tensor1D;
      return { z, deltaLogp, priorLogp, logp, bpd };
    });
    const xDequantized = x !== xIn ? x : undefined;
    if (xDequantized) keep.splice(keep.indexOf(x), 1);
    return { ...out, xDequantized, nfe: sol.nfev, nAccepted: sol.nAccepted, nRejected: sol.nRejected, offset, dims: D };
  } finally {
    tf.dispose(keep);
  }
}
