/**
 * Optimisation pieces of the official `optimization_manager` and `torch.optim.Adam` (SPEC §1.5), written out so
 * that their state is plain data that a checkpoint can hold and restore bit for bit.
 */
import * as tf from "@tensorflow/tfjs";
import { KERNELS, kernelOr, kernelsOr } from "../perf/kernels";
import { checkNonNegative, checkNonNegativeInt, checkPositive, fail } from "../validate";

export interface AdamConfig {
  /** Base learning rate (default 2e-4, the official value). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂ (default 1e-8). */
  eps?: number;
}

export type ResolvedAdamConfig = Required<AdamConfig>;

export function resolveAdamConfig(cfg: AdamConfig = {}, where = "Adam"): ResolvedAdamConfig {
  const beta = (name: string, v: number) => {
    if (typeof v !== "number" || !(v >= 0 && v < 1)) fail(where, name, v, "a number in [0, 1)");
    return v;
  };
  return {
    lr: checkPositive(where, "lr", cfg.lr ?? 2e-4),
    beta1: beta("beta1", cfg.beta1 ?? 0.9),
    beta2: beta("beta2", cfg.beta2 ?? 0.999),
    eps: checkPositive(where, "eps", cfg.eps ?? 1e-8),
  };
}

/** Serialisable Adam state: the update count and the first/second moments of every variable (row-major). */
export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

/**
 * Adam exactly as torch.optim.Adam (no weight decay, no amsgrad): with k = number of updates so far + 1,
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr / (1−β₁ᵏ)) · m / (√v / √(1−β₂ᵏ) + eps).
 * The learning rate is given per call so warm-up can change it without touching the state.
 */
export class Adam {
  readonly config: ResolvedAdamConfig;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private k = 0;

  constructor(
    readonly variables: readonly tf.Variable[],
    cfg: AdamConfig = {},
  ) {
    this.config = resolveAdamConfig(cfg);
    // Inside tidy: tf.variable(x) shares x's data, and x itself would otherwise stay alive as a stray tensor.
    this.m = tf.tidy(() => variables.map((p) => tf.variable(tf.zerosLike(p), false)));
    this.v = tf.tidy(() => variables.map((p) => tf.variable(tf.zerosLike(p), false)));
  }

  /** Number of updates applied. */
  get step(): number {
    return this.k;
  }

  /**
   * Applies one update with learning rate `lr` (default: the configured one); grads in the order of `variables`,
   * each multiplied by `gradScale` first (global-norm clipping's coefficient, see clipCoefficient).
   */
  apply(grads: readonly tf.Tensor[], lr = this.config.lr, gradScale = 1): void {
    checkNonNegative("Adam.apply", "gradScale", gradScale);
    if (grads.length !== this.variables.length) fail("Adam.apply", "grads.length", grads.length, `${this.variables.length} (one per variable)`);
    checkNonNegative("Adam.apply", "lr", lr);
    const { beta1, beta2, eps } = this.config;
    this.k += 1;
    // Bias corrections on the host in float64, as torch computes them in Python floats.
    const stepSize = lr / (1 - Math.pow(beta1, this.k));
    const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, this.k));
    // The adam kernel where the backend has it (one fused pass per parameter instead of ~13 kernels), else the
    // same arithmetic in tfjs ops.
    const attrs = { gradScale, beta1, beta2, stepSize, sqrtBc2, eps };
    tf.tidy(() => {
      for (let i = 0; i < grads.length; i++) {
        const [p0, g0, m0, v0] = [this.variables[i], grads[i], this.m[i], this.v[i]];
        const [p, m, v] = kernelsOr(KERNELS.adam, { p: p0, g: g0, m: m0, v: v0 }, attrs, () => {
          const g = gradScale === 1 ? g0 : g0.mul(gradScale);
          const m = m0.mul(beta1).add(g.mul(1 - beta1));
          const v = v0.mul(beta2).add(g.square().mul(1 - beta2));
          return [p0.sub(m.div(v.sqrt().div(sqrtBc2).add(eps)).mul(stepSize)), m, v];
        });
        this.variables[i].assign(p);
        this.m[i].assign(m);
        this.v[i].assign(v);
      }
    });
  }

  getState(): AdamState {
    return { step: this.k, m: this.m.map((t) => t.dataSync().slice() as Float32Array), v: this.v.map((t) => t.dataSync().slice() as Float32Array) };
  }

  setState(s: AdamState): void {
    checkNonNegativeInt("Adam.setState", "step", s.step);
    const check = (name: string, arr: Float32Array[]) => {
      if (!Array.isArray(arr) || arr.length !== this.variables.length) fail("Adam.setState", `${name}.length`, arr?.length, `${this.variables.length}`);
      arr.forEach((a, i) => {
        if (a.length !== this.variables[i].size) fail("Adam.setState", `${name}[${i}].length`, a.length, `${this.variables[i].size} (size of variable ${i})`);
      });
    };
    check("m", s.m);
    check("v", s.v);
    this.k = s.step;
    tf.tidy(() => {
      s.m.forEach((a, i) => this.m[i].assign(tf.tensor(a, this.variables[i].shape, "float32")));
      s.v.forEach((a, i) => this.v[i].assign(tf.tensor(a, this.variables[i].shape, "float32")));
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/**
 * Linear warm-up of the official optimize_fn: lr · min(step / warmup, 1), where `step` counts the updates already
 * done (so the very first update, step 0, has learning rate 0 — as in the official code). warmup = 0 disables it.
 */
export function warmupLr(lr: number, step: number, warmup: number): number {
  return warmup > 0 ? lr * Math.min(step / warmup, 1) : lr;
}

/**
 * √(Σ g²) over all gradients, read on the host (NaN or ∞ when any gradient has one): the sumSquares kernel where
 * the backend has it (one pass over the heap, summed in double), else tfjs ops.
 */
export function globalNorm(grads: readonly tf.Tensor[]): number {
  const inputs = Object.fromEntries(grads.map((g, i) => [`t${i}`, g]));
  const sumT = tf.tidy(() => kernelOr(KERNELS.sumSquares, inputs, {}, () => tf.addN(grads.map((g) => g.square().sum()))));
  const sum = sumT.dataSync()[0];
  sumT.dispose();
  return Math.sqrt(sum);
}

/** What a clipping threshold may be: 0 would zero every gradient (the official code would do so without a word). */
export const CLIP_ALLOWED = "a number > 0 (the largest global gradient norm), or < 0 to disable clipping; 0 would zero every gradient";

/** The factor global-norm clipping multiplies every gradient by: min(maxNorm / (norm + 1e-6), 1); 1 when maxNorm < 0. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm) || maxNorm === 0) fail("clipCoefficient", "maxNorm", maxNorm, CLIP_ALLOWED);
  if (maxNorm < 0 || !Number.isFinite(norm)) return 1;
  return Math.min(maxNorm / (norm + 1e-6), 1);
}

/**
 * Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_: total = ‖(g₁, …, g_n)‖₂, every gradient is
 * scaled by min(maxNorm / (total + 1e-6), 1). maxNorm < 0 disables clipping (the official convention).
 * Returns the clipped gradients (new tensors) and the norm before clipping (a host number: training reads it to
 * stop on a non-finite gradient).
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm) || maxNorm === 0) fail("clipByGlobalNorm", "maxNorm", maxNorm, CLIP_ALLOWED);
  const norm = globalNorm(grads);
  if (maxNorm < 0 || !Number.isFinite(norm)) return { grads: grads.map((g) => g.clone()), norm };
  const coef = clipCoefficient(norm, maxNorm);
  return { grads: tf.tidy(() => grads.map((g) => g.mul(coef))), norm };
}

/**
 * Exponential moving average of the parameters, the official `models/ema.py`: on update n (1, 2, …)
 * decay_n = min(decay, (1 + n)/(10 + n)), shadow ← shadow − (1 − decay_n)(shadow − param). The warm-up of the
 * decay lets early averages follow the fast-moving weights instead of remembering the random initialisation.
 */
export class EMA {
  readonly decay: number;
  readonly shadow: tf.Variable[];
  private n = 0;

  constructor(
    readonly variables: readonly tf.Variable[],
    decay = 0.999,
  ) {
    if (typeof decay !== "number" || !(decay >= 0 && decay <= 1)) fail("EMA", "decay", decay, "a number in [0, 1]");
    this.decay = decay;
    this.shadow = tf.tidy(() => variables.map((p) => tf.variable(p.clone(), false)));
  }

  get numUpdates(): number {
    return this.n;
  }

  /** The effective decay of the next update. */
  nextDecay(): number {
    return Math.min(this.decay, (1 + this.n + 1) / (10 + this.n + 1));
  }

  update(): void {
    const d = this.nextDecay();
    this.n += 1;
    tf.tidy(() => {
      this.shadow.forEach((s, i) => {
        const p = this.variables[i];
        s.assign(kernelOr(KERNELS.ema, { shadow: s, p }, { decay: d }, () => s.sub(s.sub(p).mul(1 - d))));
      });
    });
  }

  /** Copies the averages into the live variables (for evaluation). Use `withWeights` to restore afterwards. */
  copyTo(targets: readonly tf.Variable[] = this.variables): void {
    if (targets.length !== this.shadow.length) fail("EMA.copyTo", "targets.length", targets.length, `${this.shadow.length}`);
    targets.forEach((t, i) => t.assign(this.shadow[i]));
  }

  getState(): { numUpdates: number; shadow: Float32Array[] } {
    return { numUpdates: this.n, shadow: this.shadow.map((s) => s.dataSync().slice() as Float32Array) };
  }

  setState(s: { numUpdates: number; shadow: Float32Array[] }): void {
    checkNonNegativeInt("EMA.setState", "numUpdates", s.numUpdates);
    if (s.shadow.length !== this.shadow.length) fail("EMA.setState", "shadow.length", s.shadow.length, `${this.shadow.length}`);
    s.shadow.forEach((a, i) => {
      if (a.length !== this.shadow[i].size) fail("EMA.setState", `shadow[${i}].length`, a.length, `${this.shadow[i].size}`);
    });
    this.n = s.numUpdates;
    tf.tidy(() => s.shadow.forEach((a, i) => this.shadow[i].assign(tf.tensor(a, this.shadow[i].shape, "float32"))));
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}

/**
 * Runs fn with the given weights (e.g. EMA averages) loaded into `variables`, then restores the originals —
 * the official ema.store / copy_to / restore pattern. Works for sync and async fn.
 */
export async function withWeights<T>(variables: readonly tf.Variable[], weights: readonly tf.Tensor[], fn: () => T | Promise<T>): Promise<T> {
  if (weights.length !== variables.length) fail("withWeights", "weights.length", weights.length, `${variables.length}`);
  const saved = variables.map((v) => v.clone());
  try {
    variables.forEach((v, i) => v.assign(weights[i]));
    return await fn();
  } finally {
    variables.forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }
}
