import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkNonNegative, fail } from "../validate";
import { epsilonPrediction } from "./parameterization";
import { configNumbers, registerSde, type SDEConfig } from "./registry";
import { Discretization, MarginalCoefficients, SDE } from "./sde";
import { dimsOf, perExample, sumPerExample } from "./time";

export interface VPSDEConfig {
  betaMin?: number;
  betaMax?: number;
  N?: number;
}

/** Shared by VP and sub-VP: β(t) = β₀ + t(β₁ − β₀) and the log mean coefficient ∫₀ᵗ −½β = −¼t²(β₁−β₀) − ½tβ₀. */
export abstract class BetaScheduleSDE extends SDE {
  readonly defaultEps = 1e-3;
  readonly betaMin: number;
  readonly betaMax: number;

  protected constructor(cfg: VPSDEConfig, where: string) {
    super(cfg.N ?? 1000, where);
    this.betaMin = checkNonNegative(where, "betaMin", cfg.betaMin ?? 0.1);
    this.betaMax = checkNonNegative(where, "betaMax", cfg.betaMax ?? 20);
    if (this.betaMin > this.betaMax) fail(where, "betaMin", this.betaMin, `≤ betaMax (= ${this.betaMax})`);
    if (this.betaMax === 0) fail(where, "betaMax", this.betaMax, "> 0");
  }

  /** `{ kind, N, betaMin, betaMax }`. */
  getConfig(): SDEConfig {
    return { kind: this.kind, N: this.N, betaMin: this.betaMin, betaMax: this.betaMax };
  }

  /** β(t), shape [B]. */
  beta(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => t.mul(this.betaMax - this.betaMin).add(this.betaMin));
  }

  /** log m(t) = −¼ t² (β₁ − β₀) − ½ t β₀. */
  logMeanCoeff(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      t
        .square()
        .mul(-0.25 * (this.betaMax - this.betaMin))
        .sub(t.mul(0.5 * this.betaMin)),
    );
  }

  /** log α(t) = −¼ t² (β₁ − β₀) − ½ t β₀ on the host (float64). */
  logAlphaAt(t: number): number {
    return -0.25 * t * t * (this.betaMax - this.betaMin) - 0.5 * t * this.betaMin;
  }

  /** The time whose log α is `logAlpha` (< 0): the positive root of ¼Δβ t² + ½β₀ t + log α = 0, written without cancellation. */
  protected tOfLogAlpha(logAlpha: number): number {
    const b = 0.5 * this.betaMin;
    return (-2 * logAlpha) / (b + Math.sqrt(b * b - (this.betaMax - this.betaMin) * logAlpha));
  }

  alphaAt(t: number): number {
    return Math.exp(this.logAlphaAt(t));
  }

  drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    this.checkXT("drift", x, t);
    return tf.tidy(() => perExample(this.beta(t), x).mul(x).mul(-0.5));
  }

  priorSample(shape: readonly number[], rng: Rng): tf.Tensor {
    return rng.normal(shape);
  }

  priorLogProb(z: tf.Tensor): tf.Tensor {
    const n = dimsOf(z.shape);
    return tf.tidy(() => sumPerExample(z.square()).mul(-0.5).sub((n / 2) * Math.log(2 * Math.PI)));
  }
}

/**
 * Variance-preserving SDE (DDPM): dx = −½β(t) x dt + √β(t) dw. Marginal N(e^{lmc} x₀, (1 − e^{2 lmc}) I).
 * Its discrete chain is DDPM with β_i = linspace(β₀/N, β₁/N, N)_i. Networks predict ε (./parameterization), with
 * DDPM's √(1 − ᾱ_i) as the std of discrete labels.
 */
export class VPSDE extends BetaScheduleSDE {
  readonly kind = "VP";
  readonly parameterization = epsilonPrediction(this, {
    labels: (t) => t.mul(this.N - 1),
    std: () => {
      const table = Float32Array.from(this.alphasCumprod(), (a) => Math.sqrt(1 - a));
      // A lookup in a constant table: gather is fine here because nothing differentiates through the table.
      return (t) => tf.gather(tf.tensor1d(table), this.timestepIndex(t));
    },
  });

  constructor(cfg: VPSDEConfig = {}) {
    super(cfg, "VPSDE");
  }

  static fromConfig(config: SDEConfig): VPSDE {
    return new VPSDE(configNumbers("VPSDE.fromConfig", config, ["N", "betaMin", "betaMax"]));
  }

  /**
   * The DDPM chain needs every discrete β_i < 1 (√(1 − β_i) and α_i = 1 − β_i > 0). The largest is β_max/N, so
   * e.g. β_max = 20 with N = 10 is refused here instead of producing NaN in a sampler loop.
   */
  override checkDiscretization(where: string): void {
    if (this.betaMax / this.N >= 1) {
      fail(
        where,
        "sde (VPSDE) betaMax/N",
        this.betaMax / this.N,
        `< 1 (betaMax = ${this.betaMax}, N = ${this.N}): the DDPM chain needs 1 − β_i > 0; raise N or use euler_maruyama`,
      );
    }
  }

  diffusion(t: tf.Tensor): tf.Tensor {
    this.checkT("diffusion", t);
    return tf.tidy(() => this.beta(t).sqrt());
  }

  marginalCoefficients(t: tf.Tensor): MarginalCoefficients {
    this.checkT("marginalCoefficients", t);
    return tf.tidy(() => {
      const lmc = this.logMeanCoeff(t);
      // 1 − e^{2 lmc} = −expm1(2 lmc): no cancellation for small t.
      return { mean: lmc.exp(), std: tf.expm1(lmc.mul(2)).neg().sqrt() };
    });
  }

  /** σ(t) = √(1 − α²) = √(−expm1(2 log α)) (full precision at small t). */
  stdAt(t: number): number {
    return Math.sqrt(-Math.expm1(2 * this.logAlphaAt(t)));
  }

  /** λ = log α − ½ log(1 − α²). */
  override lambdaAt(t: number): number {
    const la = this.logAlphaAt(t);
    return la - 0.5 * Math.log(-Math.expm1(2 * la));
  }

  /** α² = e^{2λ}/(1 + e^{2λ}), so log α = −½ log(1 + e^{−2λ}) (DPM-Solver's inverse for VP), then t(log α). */
  tOfLambda(lambda: number): number {
    const logAlpha = lambda > 0 ? -0.5 * Math.log1p(Math.exp(-2 * lambda)) : lambda - 0.5 * Math.log1p(Math.exp(2 * lambda));
    return this.tOfLogAlpha(logAlpha);
  }

  /** The discrete β_i = β₀/N + i (β₁ − β₀)/(N (N−1)), float64. */
  discreteBetas(): Float64Array {
    const out = new Float64Array(this.N);
    const a = this.betaMin / this.N;
    const b = this.betaMax / this.N;
    for (let i = 0; i < this.N; i++) out[i] = this.N > 1 ? a + ((b - a) * i) / (this.N - 1) : a;
    return out;
  }

  /** ᾱ_i = ∏_{j ≤ i} (1 − β_j), float64. */
  alphasCumprod(): Float64Array {
    const betas = this.discreteBetas();
    const out = new Float64Array(this.N);
    let p = 1;
    for (let i = 0; i < this.N; i++) out[i] = p *= 1 - betas[i];
    return out;
  }

  /** β_i at the step index of t, shape [B] (computed, not gathered). */
  discreteBeta(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const i = this.timestepIndex(t).toFloat();
      const a = this.betaMin / this.N;
      const b = this.betaMax / this.N;
      return this.N > 1 ? i.mul((b - a) / (this.N - 1)).add(a) : tf.fill(t.shape, a);
    });
  }

  /** DDPM step: f = √(1 − β_i) x − x, G = √β_i. */
  override discretize(x: tf.Tensor, t: tf.Tensor): Discretization {
    this.checkXT("discretize", x, t);
    return tf.tidy(() => {
      const beta = this.discreteBeta(t);
      const f = perExample(tf.scalar(1).sub(beta).sqrt(), x).mul(x).sub(x);
      return { f, G: beta.sqrt() };
    });
  }
}

/**
 * Sub-VP SDE (Song et al. eq. 29): dx = −½β(t) x dt + √(β(t)(1 − e^{−2∫β})) dw. Its marginal std is
 * 1 − e^{2 lmc} (the official `marginal_prob` returns this as std; the variance is its square), always below the
 * VP std. It has no discrete chain of its own: `discretize` is the base Euler–Maruyama step. Networks predict ε
 * (discrete labels are treated as continuous, as the official code).
 */
export class SubVPSDE extends BetaScheduleSDE {
  readonly kind = "subVP";
  readonly parameterization = epsilonPrediction(this);

  constructor(cfg: VPSDEConfig = {}) {
    super(cfg, "SubVPSDE");
  }

  static fromConfig(config: SDEConfig): SubVPSDE {
    return new SubVPSDE(configNumbers("SubVPSDE.fromConfig", config, ["N", "betaMin", "betaMax"]));
  }

  diffusion(t: tf.Tensor): tf.Tensor {
    this.checkT("diffusion", t);
    return tf.tidy(() => {
      // 1 − exp(−2β₀t − (β₁−β₀)t²) = −expm1(…)
      const e = t
        .square()
        .mul(-(this.betaMax - this.betaMin))
        .sub(t.mul(2 * this.betaMin));
      return this.beta(t).mul(tf.expm1(e).neg()).sqrt();
    });
  }

  marginalCoefficients(t: tf.Tensor): MarginalCoefficients {
    this.checkT("marginalCoefficients", t);
    return tf.tidy(() => {
      const lmc = this.logMeanCoeff(t);
      return { mean: lmc.exp(), std: tf.expm1(lmc.mul(2)).neg() };
    });
  }

  /** σ(t) = 1 − α² = −expm1(2 log α) (the official sub-VP `marginal_prob` std). */
  stdAt(t: number): number {
    return -Math.expm1(2 * this.logAlphaAt(t));
  }

  /** λ = log α − log(1 − α²). */
  override lambdaAt(t: number): number {
    const la = this.logAlphaAt(t);
    return la - Math.log(-Math.expm1(2 * la));
  }

  /**
   * α / (1 − α²) = e^λ is the quadratic e^λ α² + α − e^λ = 0, whose positive root is
   * α = 1 / (v + √(1 + v²)) with v = e^{−λ}/2, i.e. log α = −asinh(e^{−λ}/2) (accurate for every λ); then t(log α).
   */
  tOfLambda(lambda: number): number {
    const logAlpha = -Math.asinh(0.5 * Math.exp(-lambda));
    return this.tOfLogAlpha(logAlpha);
  }
}

registerSde("VP", VPSDE.fromConfig);
registerSde("subVP", SubVPSDE.fromConfig);
