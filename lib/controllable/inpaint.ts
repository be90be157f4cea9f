/**
 * Imputation / inpainting and colourisation with an unconditional score (Song et al. 2021, §5 and App. I.2; the
 * official `get_pc_inpainter` and `get_pc_colorizer` of score_sde / score_sde_pytorch).
 *
 * Both are one loop: in coordinates u = decouple(x) (the identity for inpainting, the orthogonal gray decoupling for
 * colourisation), the known part u_Ω is fixed by the data and the rest is sampled. Official order, per grid time t_i:
 *   (x, x̄) = corrector(x, t_i);  replace;  (x, x̄) = predictor(x, t_i);  replace,
 * where "replace" overwrites the known part with a fresh sample of the forward process at t_i,
 *   u_Ω ← m(t_i) data_Ω + s(t_i) z,   z ~ N(0, I)   (x̄'s known part ← m(t_i) data_Ω, no noise).
 * Start (official): x_T = data on the known part, a prior draw elsewhere. `start: "noised"` is the alternative often
 * asked for (score_sde_pytorch issue #39): the known part starts as a forward sample at T, m(T) data + s(T) z,
 * like every later replacement.
 *
 * What comes back. With `denoise` (default) the result is x̄ of the last step: its known part is m(ε) data_Ω
 * EXACTLY (the "final step" of the method: data itself for VE, where m ≡ 1; a relative change of 1 − m(ε) ≈ 5e-5 for
 * VP at ε = 1e-3), and its unknown part is the last predictor's x̄. Without denoise, the known part is the noised
 * m(ε) data + s(ε) z. Differences from the official code, all deliberate:
 *   - the official x̄ takes its unknown part from the already-noised x (`x_mean = x * (1 - mask) + …` after x was
 *     reassigned), so its `denoise` leaves the last step's noise in the completed pixels; here x̄ is the updater's x̄;
 *   - the official colouriser's start multiplies the prior by the mask in RGB before decoupling (`decouple(prior *
 *     (1 - mask))`), which shrinks the start's spread in the colour channels; here the unknown decoupled channels
 *     start as a prior draw (the prior is isotropic, so decoupling leaves it a prior draw).
 * The method is an approximation: the known part is re-noised independently at every step, so the unknown part is
 * driven by ∇ log p_t at a noisy guess of x_t(Ω), not by the score of p_t(x(Ω̄) | data_Ω). It is exact when the
 * known and unknown parts are independent; where the conditional has well-separated modes it can put most samples
 * in an improbable one (the unknown part commits to a mode while the re-noised known part still says little, and
 * the late low-noise steps cannot move it across). Measured against exact conditionals on toys in
 * test/controllable.test.ts and notebook 07.
 *
 * Resampling (option `resample: { jumpLength: j, resamplings: r }`, default off; RePaint, Lugmayr et al. 2022, CVPR,
 * Alg. 1 and its jump schedule): a remedy for that limitation. After the steps that bring the state down to grid
 * time t_p, p = N−1, N−1−j, N−1−2j, … (p ≥ j), the whole state is taken back up to t_{p−j} with the SDE's exact
 * forward transition kernel (`SDE.transitionAt`: x ← a x + v z, a = m(t_{p−j})/m(t_p), v² = s(t_{p−j})² − a² s(t_p)²)
 * and the j steps p−j … p−1 are run again, r − 1 times in all for each such p (r = 1: no resampling, the plain loop).
 * Every re-run step replaces the known part afresh, so the unknown part gets r passes through each stretch of noise
 * levels to agree with the data instead of one; the final step (from t_{N−1} = ε) is not resampled, as in
 * RePaint's schedule. The state before step i is at grid time t_i (the predictor moves it from t_i towards t_{i+1}),
 * so the jump from "after step p−1" starts at t_p. One jump of j steps equals j one-step jumps in law (Gaussian
 * kernels compose), so it costs one normal. Cost: S = N + (r − 1)·j·⌊(N − 1)/j⌋ grid steps (`resampleSchedule`),
 * each with the usual nSteps + 1 score evaluations; `nfe` and `scoreEvals` count them all (the jumps evaluate
 * nothing). E.g. N = 1000, j = 10, r = 2: S = 1990; N = 250, j = 10, r = 4: S = 970.
 * RePaint is an approximation too (each stretch harmonises the unknown part with a re-noised known part), so it
 * reduces the bias rather than removing it. Measured with the exact score where the conditional has well-separated
 * modes (reference mixture given x₀ = 0, exact mass 0.013 in the improbable mode; n = 500, six seeds; energy
 * distance to exact samples, floor 1.7e-3; test/controllable-resample.test.ts, notebooks/experiments/controllable.ts
 * runResamplingComparison): VP official N = 1000 (NFE 2000) ED 0.87 ± 0.12 with mass 0.52 there; N = 100, j = 10,
 * r = 10 (NFE 1820) ED 0.48 ± 0.05, mass 0.38; VE likewise 0.68 ± 0.08 → 0.50 ± 0.06 (mass 0.46 → 0.40). Where
 * replacement is exact (independent coordinates) resampling stays within the floor.
 *
 * Manifold-constraint gradient (option `manifold: { weight: ζ }`, default off; MCG, Chung, Sim, Ryu & Ye 2022,
 * NeurIPS, Alg. 1 for inpainting, with the per-example normalisation of their follow-up DPS, Chung et al. 2023, ICLR):
 * another remedy, aimed at the same cause. Replacement tells the unknown part about the data only through the score
 * at a re-noised known part; MCG also asks the denoised estimate to agree with the data. With Tweedie's estimate
 * x̂₀(x) = (x + s(t)² ∇log p_t(x)) / m(t) (exact for the exact score: E[x₀ | x_t = x]) and the residual
 * r(x) = Ω ⊙ (decouple(x̂₀(x)) − data) on the known part, each predictor update becomes
 *   x' = predictor(x_i);   x' ← x' − ζ ∇_{x_i} ‖r(x_i)‖  (per example);   replace,
 * i.e. a step of length ζ against the direction in which the estimate of the clean known part disagrees with the
 * data — a gradient through the score (one more score evaluation with its backward pass per grid step, counted in
 * `scoreEvals`; `nfe` keeps the official convention). It draws nothing: the random draws are those of the plain
 * loop, and without `manifold` the results are bit for bit those of the plain loop. Combines with `resample`.
 * Where replacement and resampling stay biased (the separated-modes toy above), it reaches the noise floor of the
 * exact conditional at N = 100 with ζ ≈ 1 (VP) or ≈ 3 (VE) — test/controllable-manifold.test.ts has the numbers.
 *
 * Random draws, in order: the prior (one normal of the data's shape); with start "noised" one more normal; then per
 * step the corrector's draws, one normal for its replacement, the predictor's draws, one normal for its replacement;
 * with resampling, one normal per jump, drawn when the jump is made. Without `resample` (or with r = 1) the draws
 * and the results are those of the plain loop, bit for bit.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { SDE, linspace, perExample, timeVector } from "../sde";
import type { ScoreFn } from "../sde";
import { getCorrector, getPredictor } from "../sampling";
import type { PCUpdateResult } from "../sampling";
import { pcSettings, type PCSettingsOptions } from "../sampling/pc";
import { GRAY_DECOUPLING } from "../toy/conditional";
import { checkTensorFinite, fail } from "../validate";

export type InpaintStart = "official" | "noised";

/** Options shared by `pcInpaint` and `pcColorize` (those of `pcSample`, less shape/callback). */
export interface ReplacementSamplerOptions extends PCSettingsOptions {
  sde: SDE;
  score: ScoreFn;
  /** "official" (default): known part = data at the start; "noised": a forward sample at T (issue #39). */
  start?: InpaintStart;
  rng: Rng;
  /**
   * RePaint-style resampling (see the module doc); absent (default): none. jumpLength j: an integer in 1 … N − 1;
   * resamplings r: an integer in 1 … 1000, the number of passes through each resampled stretch (1 = none).
   */
  resample?: ResampleOptions;
  /**
   * Manifold-constraint gradient (see the module doc; Chung et al. 2022, NeurIPS), absent (default): none. weight ζ
   * > 0 (finite): after each predictor update, x ← x − ζ ∇ₓ‖Ω ⊙ (x̂₀(x) − data)‖ at the state before it.
   */
  manifold?: ManifoldOptions;
  /**
   * Called after every grid step with its index i (0 … N−1), the number of steps run so far (1 … total) and the
   * total (N, or the resampling schedule's length, in which i repeats), for progress displays; draws nothing.
   */
  onStep?: (i: number, done: number, total: number) => void;
}

/** Settings of the manifold-constraint gradient (see the module doc). */
export interface ManifoldOptions {
  /** The step size ζ > 0 (Chung et al. 2022 use a normalised step of order 1). */
  weight: number;
  /**
   * Examples per gradient pass, default 50: memory only (the backward pass keeps the network's activations; 500
   * MNIST images at once overflow the wasm heap). The values may differ from a single pass in the last bits.
   */
  gradientBatch?: number;
}

/** RePaint's jump length j and number of resamplings r (Lugmayr et al. 2022; their defaults j = r = 10). */
export interface ResampleOptions {
  jumpLength: number;
  resamplings: number;
}

export interface InpaintOptions extends ReplacementSamplerOptions {
  /** [B, ...dims]: the data; only its known entries are read (the others may hold anything finite). */
  data: tf.Tensor;
  /**
   * 1 = known, 0 = to fill in: the shape of `data`, or of one example (`data.shape` without the batch axis, shared by
   * the batch). Any pattern, e.g. a half image, a centre square, one coordinate of a toy point.
   */
  mask: tf.Tensor;
}

export interface ReplacementResult {
  /** The completed batch, the shape of the data. */
  samples: tf.Tensor;
  /** Official NFE convention, as `pcSample`: steps · (nSteps + 1), N (nSteps + 1) without resampling. */
  nfe: number;
  /** Score evaluations actually made. */
  scoreEvals: number;
  /** Grid steps run: N, or with resampling the length of `resampleSchedule(N, j, r)`. */
  steps: number;
}

/**
 * The order in which the replacement loop runs its N grid steps with RePaint resampling: step indices 0 … N−1, where
 * after the steps reaching grid point p (p = N−1, N−1−j, …, p ≥ j) the indices p−j … p−1 come again r − 1 times
 * (each repeat is preceded by a jump of the state from t_p back up to t_{p−j}). r = 1 gives 0, 1, …, N−1. Length
 * N + (r − 1)·j·⌊(N − 1)/j⌋. A jump sits wherever an index is not the previous one plus 1.
 */
export function resampleSchedule(N: number, jumpLength: number, resamplings: number): Int32Array {
  const where = "resampleSchedule";
  if (!Number.isInteger(N) || N < 2) fail(where, "N", N, "an integer ≥ 2 (grid steps; resampling needs a step to go back over)");
  checkResample(where, "", { jumpLength, resamplings }, N);
  const j = jumpLength;
  const jumpAt = new Set<number>();
  for (let p = N - 1; p >= j; p -= j) jumpAt.add(p);
  const out = new Int32Array(N + (resamplings - 1) * j * jumpAt.size);
  let k = 0;
  for (let i = 0; i < N; i++) {
    if (jumpAt.has(i)) {
      // The state has reached grid point i: go back over steps i − j … i − 1, r − 1 more times.
      for (let rep = 1; rep < resamplings; rep++) for (let q = i - j; q < i; q++) out[k++] = q;
    }
    out[k++] = i;
  }
  return out;
}

/** Checks `resample` ({ jumpLength, resamplings }, nothing else) for an N-step grid; `prefix` names it in errors. */
function checkResample(where: string, prefix: string, r: unknown, N: number): ResampleOptions {
  const name = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (r === null || typeof r !== "object" || Array.isArray(r)) fail(where, prefix || "resample", r, "an object { jumpLength, resamplings } or undefined (no resampling)");
  const keys = ["jumpLength", "resamplings"];
  for (const k of Object.keys(r)) if (!keys.includes(k)) fail(where, name("key"), k, `one of "jumpLength", "resamplings"`);
  const { jumpLength, resamplings } = r as ResampleOptions;
  if (!Number.isInteger(jumpLength) || jumpLength < 1 || jumpLength > N - 1) fail(where, name("jumpLength"), jumpLength, `an integer in 1 … ${N - 1} (N − 1, N = ${N} grid steps)`);
  if (!Number.isInteger(resamplings) || resamplings < 1 || resamplings > 1000) fail(where, name("resamplings"), resamplings, "an integer in 1 … 1000 (passes through each stretch; 1 = no resampling)");
  return { jumpLength, resamplings };
}

const WHERE_INPAINT = "pcInpaint";
const WHERE_COLOR = "pcColorize";

/** Inpainting / imputation (official `get_pc_inpainter`): fills the entries where mask = 0. See the module doc. */
export async function pcInpaint(opts: InpaintOptions): Promise<ReplacementResult> {
  if (opts === null || typeof opts !== "object") fail(WHERE_INPAINT, "options", opts, "an options object");
  const { data, mask } = opts;
  if (!(data instanceof tf.Tensor) || data.rank < 2) fail(WHERE_INPAINT, "data", data instanceof tf.Tensor ? data.shape : data, "a tf.Tensor [B, ...dims]");
  const full = checkMask(WHERE_INPAINT, mask, data.shape);
  try {
    return await replacementLoop(WHERE_INPAINT, opts, data, full, null);
  } finally {
    full.dispose();
  }
}

export interface ColorizeOptions extends ReplacementSamplerOptions {
  /**
   * Gray inputs [B, ..., 3] whose three channels (last axis, NHWC) are equal, or [B, ..., 1] (repeated to 3):
   * each pixel's gray value is the mean of its channels, kept fixed while the colour is sampled.
   */
  gray: tf.Tensor;
}

/**
 * Colourisation (official `get_pc_colorizer`): inpainting in the decoupled coordinates u = x · M (per pixel, over
 * the channel axis) with M = `GRAY_DECOUPLING`, where u₀ = √3 · gray is known and u₁, u₂ are sampled; the score is
 * always evaluated on x = u · Mᵀ. The result's gray (channel mean) equals the input's up to float32 rounding.
 */
export async function pcColorize(opts: ColorizeOptions): Promise<ReplacementResult> {
  if (opts === null || typeof opts !== "object") fail(WHERE_COLOR, "options", opts, "an options object");
  const { gray } = opts;
  if (!(gray instanceof tf.Tensor) || gray.rank < 2) fail(WHERE_COLOR, "gray", gray instanceof tf.Tensor ? gray.shape : gray, "a tf.Tensor [B, ..., 3] (channels last)");
  const c = gray.shape[gray.rank - 1];
  if (c !== 3 && c !== 1) fail(WHERE_COLOR, "gray.shape", gray.shape, "[B, ..., 3] with equal channels or [B, ..., 1] (channels last)");
  checkTensorFinite(WHERE_COLOR, "gray", gray);
  const rgb = c === 3 ? gray.clone() : tf.tidy(() => tf.concat([gray, gray, gray], gray.rank - 1));
  try {
    if (c === 3) {
      const spread = tf.tidy(() => rgb.max(-1).sub(rgb.min(-1)).max().dataSync()[0]);
      const scale = tf.tidy(() => rgb.abs().max().dataSync()[0]);
      if (spread > 1e-5 * Math.max(1, scale)) {
        fail(WHERE_COLOR, "gray", `channels differing by up to ${spread}`, "a gray input: its three channels equal (within 1e-5), e.g. the channel mean repeated");
      }
    }
    const mask = tf.tidy(() => {
      const m = tf.tensor1d([1, 0, 0]);
      return tf.zerosLike(rgb).add(m);
    });
    try {
      return await replacementLoop(WHERE_COLOR, opts, rgb, mask, GRAY_DECOUPLING);
    } finally {
      mask.dispose();
    }
  } finally {
    rgb.dispose();
  }
}

/** x · M over the last axis (3 channels). */
function mulChannels(x: tf.Tensor, M: tf.Tensor2D): tf.Tensor {
  return tf.matMul(x.reshape([-1, 3]), M).reshape(x.shape);
}

/** The mask as a float32 tensor of the data's full shape, checked to be 0/1 and broadcast over the batch. */
function checkMask(where: string, mask: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const one = shape.slice(1);
  if (!(mask instanceof tf.Tensor)) fail(where, "mask", mask, `a tf.Tensor of shape [${shape}] or [${one}] with entries 0 or 1`);
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(mask.shape, shape) && !same(mask.shape, one)) {
    fail(where, "mask.shape", mask.shape, `[${shape.join(", ")}] (the data's shape) or [${one.join(", ")}] (one example's, shared by the batch)`);
  }
  const v = mask.dataSync();
  let known = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0 && v[i] !== 1) fail(where, `mask (flat index ${i})`, v[i], "0 (to fill in) or 1 (known)");
    known += v[i];
  }
  if (known === v.length) fail(where, "mask", "all ones", "a mask with at least one 0 entry (something to fill in)");
  return tf.tidy(() => tf.zeros(shape as number[]).add(mask.toFloat()));
}

/** The shared loop; `basis` = null is the identity (inpainting), else u = x · basis, x = u · basisᵀ. */
async function replacementLoop(
  where: string,
  opts: ReplacementSamplerOptions,
  data: tf.Tensor,
  mask: tf.Tensor,
  basis: readonly (readonly number[])[] | null,
): Promise<ReplacementResult> {
  const { sde, score, rng } = opts;
  if (!(sde instanceof SDE)) fail(where, "sde", typeof sde, "an SDE (VESDE, VPSDE, SubVPSDE)");
  if (typeof score !== "function") fail(where, "score", typeof score, "a ScoreFn (x, t) => tensor");
  if (!rng || typeof rng.normal !== "function") fail(where, "rng", typeof rng, "an Rng (createRng(seed))");
  if (opts.onStep !== undefined && typeof opts.onStep !== "function") fail(where, "onStep", typeof opts.onStep, "a function (i) => void or undefined");
  checkTensorFinite(where, "data", data);
  const { predictorName, correctorName, snr, nSteps, eps, denoise, probabilityFlow } = pcSettings(where, sde, opts);
  const N = sde.N;
  let schedule: Int32Array | null = null;
  if (opts.resample !== undefined) {
    if (N < 2) fail(where, "resample", opts.resample, `undefined for an SDE with N = ${N} (resampling needs N ≥ 2 grid steps)`);
    const { jumpLength, resamplings } = checkResample(where, "resample", opts.resample, N);
    if (resamplings > 1) schedule = resampleSchedule(N, jumpLength, resamplings);
  }
  let manifoldWeight = 0;
  let manifoldBatch = 50;
  if (opts.manifold !== undefined) {
    const m = opts.manifold as unknown;
    if (m === null || typeof m !== "object" || Array.isArray(m)) fail(where, "manifold", m, "an object { weight, gradientBatch? } or undefined (no manifold-constraint gradient)");
    for (const k of Object.keys(m as object)) if (k !== "weight" && k !== "gradientBatch") fail(where, "manifold.key", k, `"weight" or "gradientBatch"`);
    const { weight: w, gradientBatch: gb } = m as ManifoldOptions;
    if (typeof w !== "number" || !Number.isFinite(w) || w <= 0) fail(where, "manifold.weight", w, "a finite number > 0 (the step size ζ)");
    if (gb !== undefined && (!Number.isInteger(gb) || gb < 1)) fail(where, "manifold.gradientBatch", gb, "an integer ≥ 1 (examples per gradient pass) or undefined (50)");
    manifoldWeight = w;
    manifoldBatch = gb ?? 50;
  }
  const start = opts.start ?? "official";
  if (start !== "official" && start !== "noised") fail(where, "start", start, `"official" (known part = data) or "noised" (a forward sample at T)`);
  let scoreEvals = 0;
  const counted: ScoreFn = (x, t) => {
    scoreEvals++;
    return score(x, t);
  };
  const predictor = getPredictor(predictorName)({ sde, score: counted, probabilityFlow });
  const corrector = getCorrector(correctorName)({ sde, score: counted, snr, nSteps });

  const shape = data.shape;
  const B = shape[0];
  const M = basis ? tf.tensor2d(basis.map((r) => r.slice()), [3, 3], "float32") : null;
  const Mt = M ? M.transpose() : null;
  const decouple = (x: tf.Tensor) => (M ? mulChannels(x, M) : x);
  const couple = (u: tf.Tensor) => (Mt ? mulChannels(u, Mt as tf.Tensor2D) : u);
  const U = tf.tidy(() => decouple(data).mul(mask)); // known part in u coordinates (zero elsewhere)
  const free = tf.tidy(() => tf.onesLike(mask).sub(mask));

  /** Replaces the known part of (x, x̄) by a forward sample at time t (and its mean); draws one normal. */
  const replace = (r: PCUpdateResult, t: tf.Tensor): PCUpdateResult =>
    tf.tidy(() => {
      const { mean, std } = sde.marginalCoefficients(t);
      const knownMean = perExample(mean, U).mul(U);
      const z = rng.normal(shape);
      const known = knownMean.add(perExample(std, U).mul(z).mul(mask));
      return {
        x: couple(decouple(r.x).mul(free).add(known)),
        xMean: couple(decouple(r.xMean).mul(free).add(knownMean)),
      };
    });

  /**
   * ζ ∇ₓ Σ_b ‖r_b(x)‖: the manifold-constraint step at the state x (time t), per example (see the module doc). The
   * gradient keeps the network's activations, so it runs over slices of `gradientBatch` examples (the examples are
   * independent: each one's norm depends only on its own state); one score evaluation per grid step is counted.
   */
  const reduceAxes = shape.slice(1).map((_, k) => k + 1);
  const manifoldStep = (xi: tf.Tensor, t: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      scoreEvals++;
      const parts: tf.Tensor[] = [];
      for (let b0 = 0; b0 < B; b0 += manifoldBatch) {
        const n = Math.min(manifoldBatch, B - b0);
        const rows = (a: tf.Tensor) => (a.shape[0] === B && n < B ? a.slice(b0, n) : a);
        const [tb, Ub, maskb] = [rows(t), rows(U), rows(mask)];
        const { mean, std } = sde.marginalCoefficients(tb);
        const residualNorm = (xx: tf.Tensor): tf.Scalar => {
          const x0 = xx.add(perExample(std.square(), xx).mul(score(xx, tb))).div(perExample(mean, xx));
          // + 1e-20 keeps the gradient of the norm finite where the residual vanishes.
          return decouple(x0).mul(maskb).sub(Ub).square().sum(reduceAxes).add(1e-20).sqrt().sum() as tf.Scalar;
        };
        parts.push(tf.grad(residualNorm)(rows(xi)));
      }
      return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)).mul(manifoldWeight);
    });

  const times = linspace(sde.T, eps, N);
  const total = schedule ? schedule.length : N;
  /** Takes the whole state from grid time t_p back up to t_q (q < p) with the exact forward kernel; one normal. */
  const jump = (p: number, q: number): void => {
    const { mean, std } = sde.transitionAt(times[p], times[q]);
    const up = tf.tidy(() => x.mul(mean).add(rng.normal(shape).mul(std)));
    tf.dispose([x, xMean]);
    x = up;
    xMean = up.clone();
  };
  let x: tf.Tensor;
  let xMean: tf.Tensor;
  {
    const prior = sde.priorSample(shape, rng);
    let knownStart: tf.Tensor = U;
    if (start === "noised") {
      const tT = timeVector(sde.T, B, sde.T, where);
      knownStart = tf.tidy(() => {
        const { mean, std } = sde.marginalCoefficients(tT);
        return perExample(mean, U).mul(U).add(perExample(std, U).mul(rng.normal(shape)).mul(mask));
      });
      tT.dispose();
    }
    x = tf.tidy(() => couple(decouple(prior).mul(free).add(knownStart)));
    if (knownStart !== U) knownStart.dispose();
    prior.dispose();
    xMean = x.clone();
  }
  try {
    for (let k = 0; k < total; k++) {
      const i = schedule ? schedule[k] : k;
      if (k > 0 && schedule && i !== schedule[k - 1] + 1) jump(schedule[k - 1] + 1, i);
      const t = timeVector(times[i], B, sde.T, where);
      try {
        for (const updater of [corrector, predictor]) {
          const g = manifoldWeight > 0 && updater === predictor ? manifoldStep(x, t) : null;
          let next = updater.update(x, t, rng);
          if (g) {
            const moved = tf.tidy(() => ({ x: next.x.sub(g), xMean: next.xMean.sub(g) }));
            tf.dispose([next.x, next.xMean, g]);
            next = moved;
          }
          const replaced = replace(next, t);
          tf.dispose([next.x, next.xMean, x, xMean]);
          x = replaced.x;
          xMean = replaced.xMean;
        }
      } finally {
        t.dispose();
      }
      opts.onStep?.(i, k + 1, total);
    }
    const samples = denoise ? xMean : x;
    (denoise ? x : xMean).dispose();
    return { samples, nfe: total * (nSteps + 1), scoreEvals, steps: total };
  } catch (err) {
    tf.dispose([x, xMean]);
    throw err;
  } finally {
    tf.dispose([U, free]);
    if (M) tf.dispose([M, Mt!]);
  }
}
