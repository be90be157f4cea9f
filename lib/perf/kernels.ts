/**
 * The one way library code reaches this project's fast kernels: `kernelOr(name, inputs, attrs, fallback)` runs the
 * tfjs kernel `name` when the active backend has it registered and every input is float32, and otherwise
 * `fallback()`, the same mathematics in stock tfjs ops, which runs on every backend.
 *
 * The kernels are registered by lib/perf/native (oneDNN / fused C kernels, wasm backend only, when the addon is
 * built and `SCORE_SDE_NATIVE` is not 0); no other backend has them, so a cpu, webgl or tfjs-node backend, or wasm
 * without the addon, runs the fallbacks. Callers write the mathematics once as the fallback and never ask which
 * backend or kernels are active. Each kernel's result equals its fallback's to float32 rounding
 * (test/perf/native.test.ts).
 */
import * as tf from "@tensorflow/tfjs";

/** The kernels (tfjs kernel names of this project's own; no tfjs op uses them). */
export const KERNELS = {
  /**
   * inputs {x [N, in], w [in, out], b [out] (optional)}: x·W (+ b) in one call. Differentiable, lazily: a gradient
   * with respect to x alone (the likelihood's divergence, a sampler's score gradient) computes no weight gradient.
   */
  dense: "ScoreSdeDense",
  /** inputs {x}: x·σ(x); differentiable (gradient kernel siluGrad). */
  silu: "ScoreSdeSilu",
  siluGrad: "ScoreSdeSiluGrad",
  /**
   * inputs {x [B, …, C], gamma [C], beta [C]}, attrs {groups, eps, silu}: outputs [y, mean, rstd], y = GroupNorm(x)
   * or, with attrs.silu, silu(GroupNorm(x)) in the same pass; differentiable in x, γ, β.
   */
  groupNorm: "ScoreSdeGroupNorm",
  groupNormGrad: "ScoreSdeGroupNormGrad",
  /**
   * inputs {x [B, H, W, Cin], w [k, k, Cin, Cout], b [Cout] (optional)}: a stride-1 'same' convolution (+ bias).
   * Differentiable, lazily: a gradient with respect to x alone (the likelihood's divergence) computes no filter
   * gradient; the filter and bias gradients come from one pass (kernel convFilterGrad).
   */
  conv2dSame: "ScoreSdeConv2dSame",
  /** inputs {x, dy}, attrs {filterShape, bias}: [dW] or [dW, db] of a stride-1 'same' convolution. */
  convFilterGrad: "ScoreSdeConvFilterGrad",
  /** inputs {p, g, m, v}, attrs {gradScale, beta1, beta2, stepSize, sqrtBc2, eps}: one Adam update, outputs [p', m', v']. */
  adam: "ScoreSdeAdam",
  /** inputs {shadow, p}, attrs {decay}: shadow − (1 − decay)(shadow − p). */
  ema: "ScoreSdeEma",
  /** inputs {t0, t1, …}: Σ over all of them of x², a scalar (summed in double where the kernel can). */
  sumSquares: "ScoreSdeSumSquares",
  /**
   * inputs {label [B], f [half]}, attrs {dim, log}: rows [sin(a_b f_k), cos(a_b f_k), 0 padding up to dim] with
   * a_b = log(label_b) when attrs.log else label_b, in float64 where the kernel can.
   */
  sinCosRows: "ScoreSdeSinCosRows",
} as const;

/** Whether the active backend runs kernel `name` for these inputs. */
export function hasKernel(name: string, inputs: tf.NamedTensorMap): boolean {
  if (tf.getKernel(name, tf.getBackend()) === undefined) return false;
  return Object.values(inputs).every((t) => t.dtype === "float32");
}

/**
 * Kernel `name` where the backend has it, else `fallback()`; the first output. Further outputs of the kernel are
 * statistics saved for its gradient (GroupNorm's mean and 1/σ): a recording tape keeps its own references to
 * them (tfjs saves outputs as kept clones), so they are disposed here.
 */
export function kernelOr(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap, fallback: () => tf.Tensor): tf.Tensor {
  if (!hasKernel(name, inputs)) return fallback();
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  if (!Array.isArray(out)) return out;
  tf.dispose(out.slice(1));
  return out[0];
}

/** Kernel `name` where the backend has it, else `fallback()`; every output. */
export function kernelsOr(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap, fallback: () => tf.Tensor[]): tf.Tensor[] {
  if (!hasKernel(name, inputs)) return fallback();
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}
