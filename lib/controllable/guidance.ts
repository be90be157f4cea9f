/**
 * Class-conditional sampling with a noise-conditional classifier (Song et al. 2021, §5 eq. 14 and App. I.1; the
 * official JAX `get_pc_conditional_sampler`). By Bayes' rule the forward process leaves y alone, so
 *   ∇ₓ log p_t(x | y) = ∇ₓ log p_t(x) + ∇ₓ log p_t(y | x),
 * and running the PC sampler with this score samples p_0(x | y). A guidance scale γ gives s + γ ∇ log p_t(y | x)
 * (γ = 1: Bayes' rule, the paper; γ > 1: the usual sharpening towards confidently classified samples, which no longer
 * targets p_0(x | y)).
 *
 * As officially, the predictor AND the corrector use the conditional score, so the Langevin corrector's step size
 * ε = 2α (r ‖z‖ / ‖s‖)² is computed from the conditional score's norm. That is exactly what `pcSample` does with the
 * wrapped ScoreFn, for every registered predictor and corrector: this module is only that wrapper.
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreFn } from "../sde";
import { pcSample } from "../sampling";
import type { PCSampleOptions, PCSampleResult } from "../sampling";
import { checkFinite, fail } from "../validate";

/**
 * ∇ₓ log p_t(y | x) of a noise-conditional classifier, for per-example labels (host integers, one per example):
 * same shape as x. E.g. `MixtureClasses.gradFn(sde)` (exact, toys) or `classifierGradFn(trained, sde)` (a network).
 */
export type ClassifierGradFn = (x: tf.Tensor, t: tf.Tensor, labels: Int32Array) => tf.Tensor;

/** Labels as one Int32Array of length B: a single integer is repeated, an array is checked entry by entry. */
export function labelVector(where: string, labels: number | ArrayLike<number>, batch: number, numClasses?: number): Int32Array {
  const allowed = numClasses === undefined ? "a non-negative integer" : `an integer class label in 0 … ${numClasses - 1}`;
  const check = (name: string, c: unknown): number => {
    if (!Number.isInteger(c) || (c as number) < 0 || (numClasses !== undefined && (c as number) >= numClasses)) fail(where, name, c, allowed);
    return c as number;
  };
  if (typeof labels === "number") return new Int32Array(batch).fill(check("labels", labels));
  if (labels === null || typeof labels !== "object" || typeof (labels as ArrayLike<number>).length !== "number") {
    fail(where, "labels", labels, `one class label or an array of ${batch} (one per example)`);
  }
  if (labels.length !== batch) fail(where, "labels.length", labels.length, `${batch} (one label per example)`);
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) out[b] = check(`labels[${b}]`, labels[b]);
  return out;
}

export interface GuidedScoreOptions {
  /** One class label for every example, or one per example. */
  labels: number | ArrayLike<number>;
  /** γ ≥ 0 multiplying ∇ log p_t(y | x) (default 1 = Bayes' rule). */
  scale?: number;
  /** When given, labels must be < numClasses. */
  numClasses?: number;
}

/**
 * The conditional score s(x, t) + γ ∇ₓ log p_t(y | x) as a ScoreFn, for any unconditional score and classifier
 * gradient. The batch of x must match the labels (checked per call, shapes only).
 */
export function classifierGuidedScore(score: ScoreFn, classifierGrad: ClassifierGradFn, opts: GuidedScoreOptions): ScoreFn {
  const where = "classifierGuidedScore";
  if (typeof score !== "function") fail(where, "score", typeof score, "a ScoreFn (x, t) => tensor");
  if (typeof classifierGrad !== "function") fail(where, "classifierGrad", typeof classifierGrad, "a function (x, t, labels) => tensor");
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an object {labels, scale?}");
  const scale = checkFinite(where, "scale", opts.scale ?? 1);
  if (scale < 0) fail(where, "scale", scale, "a finite number ≥ 0");
  const raw = opts.labels;
  let labels: Int32Array | undefined;
  return (x, t) => {
    labels ??= labelVector(where, raw, x.shape[0], opts.numClasses);
    if (labels.length !== x.shape[0]) fail(where, "x.shape[0]", x.shape[0], `${labels.length} (the number of labels)`);
    return tf.tidy(() => {
      const s = score(x, t);
      if (scale === 0) return s;
      const g = classifierGrad(x, t, labels!);
      if (!(g instanceof tf.Tensor) || g.shape.length !== x.shape.length || g.shape.some((v, i) => v !== x.shape[i])) {
        fail(where, "classifierGrad(x, t, labels).shape", g instanceof tf.Tensor ? g.shape : g, `[${x.shape.join(", ")}] (the shape of x)`);
      }
      return scale === 1 ? s.add(g) : s.add(g.mul(scale));
    });
  };
}

export interface PCConditionalSampleOptions extends PCSampleOptions {
  /** ∇ₓ log p_t(y | x) of a noise-conditional classifier. */
  classifierGrad: ClassifierGradFn;
  /** One class for the whole batch, or one per example (length shape[0]). */
  labels: number | ArrayLike<number>;
  /** Guidance scale γ ≥ 0 (default 1 = Bayes' rule). */
  guidance?: number;
  numClasses?: number;
}

/**
 * Class-conditional PC sampling (official `get_pc_conditional_sampler`): `pcSample` with the score replaced by
 * s + γ ∇ log p_t(y | x) in the predictor and the corrector; same options, draws and result as `pcSample`.
 */
export async function pcConditionalSample(opts: PCConditionalSampleOptions): Promise<PCSampleResult> {
  const where = "pcConditionalSample";
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an options object");
  if (!Array.isArray(opts.shape) || opts.shape.length < 2) fail(where, "shape", opts.shape, "[B, ...dims]");
  const labels = labelVector(where, opts.labels, opts.shape[0], opts.numClasses);
  const { classifierGrad, guidance, numClasses, labels: _l, ...rest } = opts;
  const score = classifierGuidedScore(opts.score, classifierGrad, { labels, scale: guidance ?? 1, numClasses });
  return pcSample({ ...rest, score });
}
