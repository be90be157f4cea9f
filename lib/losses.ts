/**
 * Training objectives (SPEC §1.5, the official `losses.py`).
 *
 * - `dsmLoss` — continuous denoising score matching (Song et al. 2021, eq. 7):
 *   t = u (T − eps) + eps with u ~ U[0,1), z ~ N(0, I), x_t = m(t) x0 + s(t) z, s_θ = score(x_t, t);
 *   weighting λ = σ² (default): ℓ_b = R((s_θ s(t) + z)²); likelihood weighting λ = g² (Song et al. 2021b):
 *   ℓ_b = R((s_θ + z / s(t))²) g(t)²; R = mean over data dims (reduceMean) or ½ sum; loss = mean over the batch.
 * With a `model`, the score is the official wrapping of the network (`scoreFnFromModel`): VE — label σ(t), output
 *   σ·score (scaleBySigma, default) or the score; VP / sub-VP — label 999 t, output ε, score = −ε / s(t).
 * - `smldLoss` (VE) and `ddpmLoss` (VP) — the legacy discrete objectives with integer noise labels.
 *
 * Random draw order (so that `replayRng` can feed the official fixed arrays, and a resumed run draws the same
 * numbers): continuous — first `rng.uniform([B])` (u), then `rng.normal(x0.shape)` (z); discrete — first
 * `rng.uniform([B])`, turned into labels floor(u N) (the official `torch.randint(0, N)`; to replay a given label l
 * feed u = (l + ½)/N), then `rng.normal(x0.shape)`. With `training` and a `dropoutRng`, a network with dropout
 * draws its masks during the forward pass, i.e. after these.
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreNetwork } from "./models/network";
import { scoreFnFromModel } from "./models/score";
import type { Rng } from "./random";
import { SDE, ScoreFn, VESDE, VPSDE, perExample } from "./sde";
import { checkBatched, checkOneOf, fail } from "./validate";

export interface LossOptions {
  sde: SDE;
  /** A score network, wrapped the official way (`scoreFnFromModel`: VE output = score, VP/sub-VP output = ε). */
  model?: ScoreNetwork;
  /** Or a score function directly (e.g. an exact mixture score, for checks). Exactly one of model / score. */
  score?: ScoreFn;
  /** Clean data [B, ...dims]. */
  x0: tf.Tensor;
  rng: Rng;
  /** R = mean over data dimensions (true, default) or ½ · sum (false). */
  reduceMean?: boolean;
  /** λ(t) = g(t)² (true) instead of the default λ = s(t)² (false, default). Continuous only. */
  likelihoodWeighting?: boolean;
  /** Smallest training time (default 1e-5, the official value for every SDE). */
  eps?: number;
  /** Continuous-time DSM (true, default) or the legacy discrete SMLD (VE) / DDPM (VP) loss. */
  continuous?: boolean;
  /** VE with a model: the network predicts σ·score (default true, see `scoreFnFromModel`); false: the score. */
  scaleBySigma?: boolean;
  /** Run the network in training mode (dropout); its masks are drawn from `dropoutRng`. */
  training?: boolean;
  dropoutRng?: Rng;
}

// A type alias (not an interface) so that it is a tf.TensorContainer and can be returned from tf.tidy.
export type LossResult = {
  /** Scalar batch mean of `perExample`. */
  loss: tf.Scalar;
  /** [B] loss of each example. */
  perExample: tf.Tensor1D;
  /** [B] the times (continuous) or the integer labels as float (discrete) that were drawn. */
  t: tf.Tensor1D;
};

/** The reduction R over data dimensions: mean, or ½ · sum (the official `reduce_op`). */
function reduceDims(sq: tf.Tensor, reduceMean: boolean): tf.Tensor1D {
  const flat = sq.reshape([sq.shape[0], -1]);
  return (reduceMean ? flat.mean(1) : flat.sum(1).mul(0.5)) as tf.Tensor1D;
}

function resultOf(perEx: tf.Tensor1D, t: tf.Tensor1D): LossResult {
  return { loss: perEx.mean() as tf.Scalar, perExample: perEx, t };
}

function checkCommon(where: string, o: LossOptions): void {
  if (!(o.sde instanceof SDE)) fail(where, "sde", o.sde, "an SDE (VESDE, VPSDE, SubVPSDE or one registered with registerSde)");
  if (!(o.x0 instanceof tf.Tensor)) fail(where, "x0", o.x0, "a tf.Tensor [B, ...dims]");
  checkBatched(where, "x0", o.x0);
  if (o.x0.shape[0] === 0) fail(where, "x0.shape", o.x0.shape, "a batch of at least one example");
  if (!o.rng || typeof o.rng.normal !== "function") fail(where, "rng", o.rng, "an Rng (createRng(seed))");
  if (o.reduceMean !== undefined && typeof o.reduceMean !== "boolean") fail(where, "reduceMean", o.reduceMean, "a boolean");
}

/** The score function a loss evaluates: the wrapped model, or the given function. */
function resolveScore(where: string, o: LossOptions, continuous: boolean): ScoreFn {
  if ((o.model === undefined) === (o.score === undefined)) {
    fail(where, "model/score", { model: o.model?.kind, score: typeof o.score }, "exactly one of model and score");
  }
  if (o.score !== undefined) {
    if (typeof o.score !== "function") fail(where, "score", o.score, "a function (x, t) => tensor");
    return o.score;
  }
  return scoreFnFromModel(o.sde, o.model as ScoreNetwork, { continuous, scaleBySigma: o.scaleBySigma, training: o.training, rng: o.dropoutRng });
}

/**
 * The DSM loss of the official `get_sde_loss_fn` (continuous: true, the default), or — with continuous: false —
 * the legacy SMLD (VE) / DDPM (VP) loss; discrete sub-VP has no legacy loss and throws, as the official code.
 * All returned tensors are new; the caller disposes them (or calls inside tf.tidy / tf.variableGrads).
 */
export function dsmLoss(o: LossOptions): LossResult {
  const where = "dsmLoss";
  checkCommon(where, o);
  const continuous = o.continuous ?? true;
  if (typeof continuous !== "boolean") fail(where, "continuous", continuous, "a boolean");
  const likelihoodWeighting = o.likelihoodWeighting ?? false;
  if (typeof likelihoodWeighting !== "boolean") fail(where, "likelihoodWeighting", likelihoodWeighting, "a boolean");
  if (!continuous) {
    // The official get_step_fn asserts this too: the discrete losses have one fixed weighting.
    if (likelihoodWeighting) fail(where, "likelihoodWeighting", true, "false when continuous = false (the legacy losses have a fixed weighting)");
    checkDiscreteLoss(where, "continuous", o.sde);
    return o.sde instanceof VESDE ? smldLoss(o) : ddpmLoss(o);
  }
  const eps = o.eps ?? 1e-5;
  if (typeof eps !== "number" || !(eps >= 0 && eps < o.sde.T)) fail(where, "eps", eps, `a number in [0, ${o.sde.T})`);
  const reduceMean = o.reduceMean ?? true;
  const score = resolveScore(where, o, true);
  const { sde, x0, rng } = o;
  const B = x0.shape[0];
  return tf.tidy(() => {
    // Draw order: u, then z (documented in the module header).
    const t = rng.uniform([B]).mul(sde.T - eps).add(eps) as tf.Tensor1D;
    const z = rng.normal(x0.shape);
    const { mean, std } = sde.marginalCoefficients(t);
    const stdB = perExample(std, x0);
    const xt = perExample(mean, x0).mul(x0).add(stdB.mul(z));
    const s = score(xt, t);
    let perEx: tf.Tensor1D;
    if (!likelihoodWeighting) {
      perEx = reduceDims(s.mul(stdB).add(z).square(), reduceMean);
    } else {
      const g2 = sde.diffusion(t).square();
      perEx = reduceDims(s.add(z.div(stdB)).square(), reduceMean).mul(g2) as tf.Tensor1D;
    }
    return resultOf(perEx, t);
  });
}

/**
 * Throws unless `sde` has a legacy discrete loss: SMLD for the VE chain, DDPM for the VP chain (the official
 * `get_step_fn` has no other; e.g. discrete sub-VP training is an error there too). `name` is the option that asked.
 */
export function checkDiscreteLoss(where: string, name: string, sde: SDE): void {
  if (!(sde instanceof VESDE) && !(sde instanceof VPSDE)) {
    fail(where, name, false, `true for ${sde.kind} (the legacy discrete losses exist for VESDE (SMLD) and VPSDE (DDPM) only; discrete ${sde.kind} training has none)`);
  }
}

/** Integer labels floor(u N) ∈ {0 … N−1} from one uniform draw, as float [B] and int32 [B]. */
function drawLabels(rng: Rng, B: number, N: number): { f: tf.Tensor1D; i: tf.Tensor1D } {
  return tf.tidy(() => {
    const f = rng.uniform([B]).mul(N).floor().clipByValue(0, N - 1) as tf.Tensor1D;
    return { f, i: f.toInt() as tf.Tensor1D };
  });
}

/**
 * Legacy SMLD (NCSN) loss, VE only: label l ~ U{0…N−1}, σ = flip(discrete σ)[l] (l = 0 is σ_max), x̃ = x0 + σ z,
 * ℓ = R((s_θ(x̃, l) + z/σ)²) σ². The network is called with the raw label (no wrapping: its output is the score).
 */
export function smldLoss(o: LossOptions): LossResult {
  const where = "smldLoss";
  checkCommon(where, o);
  if (!(o.sde instanceof VESDE)) fail(where, "sde", `${o.sde.kind}SDE`, "a VESDE (SMLD training only works for VE)");
  const reduceMean = o.reduceMean ?? false; // the official get_smld_loss_fn default
  const net = discreteNet(where, o);
  const sde = o.sde;
  const { x0, rng } = o;
  const B = x0.shape[0];
  const desc = Float32Array.from(sde.discreteSigmas()).reverse();
  return tf.tidy(() => {
    const { f: labels, i } = drawLabels(rng, B, sde.N);
    const z = rng.normal(x0.shape);
    const sigma = tf.gather(tf.tensor1d(desc), i);
    const sigmaB = perExample(sigma, x0);
    const s = net(x0.add(sigmaB.mul(z)), labels);
    const perEx = reduceDims(s.add(z.div(sigmaB)).square(), reduceMean).mul(sigma.square()) as tf.Tensor1D;
    return resultOf(perEx, labels);
  });
}

/**
 * Legacy DDPM loss, VP only: label l ~ U{0…N−1}, x̃ = √ᾱ_l x0 + √(1−ᾱ_l) z, ℓ = R((ε_θ(x̃, l) − z)²).
 * The network output is ε (not wrapped).
 */
export function ddpmLoss(o: LossOptions): LossResult {
  const where = "ddpmLoss";
  checkCommon(where, o);
  if (!(o.sde instanceof VPSDE)) fail(where, "sde", `${o.sde.kind}SDE`, "a VPSDE (DDPM training only works for VP)");
  const reduceMean = o.reduceMean ?? true; // the official get_ddpm_loss_fn default
  const net = discreteNet(where, o);
  const sde = o.sde;
  const { x0, rng } = o;
  const B = x0.shape[0];
  const ac = sde.alphasCumprod();
  const sqrtAc = Float32Array.from(ac, (a) => Math.sqrt(a));
  const sqrt1mAc = Float32Array.from(ac, (a) => Math.sqrt(1 - a));
  return tf.tidy(() => {
    const { f: labels, i } = drawLabels(rng, B, sde.N);
    const z = rng.normal(x0.shape);
    const a = perExample(tf.gather(tf.tensor1d(sqrtAc), i), x0);
    const b = perExample(tf.gather(tf.tensor1d(sqrt1mAc), i), x0);
    const epsHat = net(a.mul(x0).add(b.mul(z)), labels);
    return resultOf(reduceDims(epsHat.sub(z).square(), reduceMean), labels);
  });
}

/** The raw network call of the legacy losses (label = integer step index as float). */
function discreteNet(where: string, o: LossOptions): (x: tf.Tensor, label: tf.Tensor) => tf.Tensor {
  if ((o.model === undefined) === (o.score === undefined)) {
    fail(where, "model/score", { model: o.model?.kind, score: typeof o.score }, "exactly one of model and score");
  }
  if (o.model) {
    const m = o.model;
    const opts = { training: o.training ?? false, rng: o.dropoutRng };
    return (x, l) => m.apply(x, l, opts);
  }
  // A plain function here receives the label in place of t: (x, label) => network output.
  return o.score as ScoreFn;
}

/** Names accepted by `lossByName` (for configs and notebooks). */
export const LOSS_KINDS = ["dsm", "smld", "ddpm"] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/** The loss function of a name (validated). */
export function lossByName(name: LossKind): (o: LossOptions) => LossResult {
  checkOneOf("lossByName", "name", name, LOSS_KINDS);
  return name === "dsm" ? dsmLoss : name === "smld" ? smldLoss : ddpmLoss;
}
