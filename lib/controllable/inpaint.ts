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
 * Random draws, in order: the prior (one normal of the data's shape); with start "noised" one more normal; then per
 * step the corrector's draws, one normal for its replacement, the predictor's draws, one normal for its replacement.
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
  /** Called after grid step i (0 … N−1) with i, for progress displays; draws nothing. */
  onStep?: (i: number) => void;
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
  /** Official NFE convention, as `pcSample`: N (nSteps + 1). */
  nfe: number;
  /** Score evaluations actually made. */
  scoreEvals: number;
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

  const N = sde.N;
  const times = linspace(sde.T, eps, N);
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
    for (let i = 0; i < N; i++) {
      const t = timeVector(times[i], B, sde.T, where);
      try {
        for (const updater of [corrector, predictor]) {
          const next = updater.update(x, t, rng);
          const replaced = replace(next, t);
          tf.dispose([next.x, next.xMean, x, xMean]);
          x = replaced.x;
          xMean = replaced.xMean;
        }
      } finally {
        t.dispose();
      }
      opts.onStep?.(i);
    }
    const samples = denoise ? xMean : x;
    (denoise ? x : xMean).dispose();
    return { samples, nfe: N * (nSteps + 1), scoreEvals };
  } catch (err) {
    tf.dispose([x, xMean]);
    throw err;
  } finally {
    tf.dispose([U, free]);
    if (M) tf.dispose([M, Mt!]);
  }
}
