import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkPositive, fail } from "../validate";
import { scaleBySigma } from "./parameterization";
import { configNumbers, registerSde, type SDEConfig } from "./registry";
import { Discretization, MarginalCoefficients, SDE } from "./sde";
import { dimsOf, perExample, sumPerExample } from "./time";

export interface VESDEConfig {
  sigmaMin?: number;
  sigmaMax?: number;
  N?: number;
}

/**
 * Variance-exploding SDE (SMLD / NCSN): dx = σ(t) √(2 ln(σ_max/σ_min)) dw, σ(t) = σ_min (σ_max/σ_min)^t.
 * The marginal std is σ(t) itself, as the official code (not √(σ(t)² − σ_min²)); the prior is N(0, σ_max² I).
 * Its discrete chain is SMLD with the geometric noise scales σ_i = exp(linspace(ln σ_min, ln σ_max, N))_i.
 * Networks use the NCSN++ scale-by-σ parameterisation (./parameterization).
 */
export class VESDE extends SDE {
  readonly kind = "VE";
  readonly defaultEps = 1e-5;
  readonly parameterization = scaleBySigma(this);
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  private readonly logRatio: number;

  constructor(cfg: VESDEConfig = {}) {
    super(cfg.N ?? 1000, "VESDE");
    this.sigmaMin = checkPositive("VESDE", "sigmaMin", cfg.sigmaMin ?? 0.01);
    this.sigmaMax = checkPositive("VESDE", "sigmaMax", cfg.sigmaMax ?? 50);
    if (this.sigmaMin >= this.sigmaMax) {
      fail("VESDE", "sigmaMin", this.sigmaMin, `< sigmaMax (= ${this.sigmaMax})`);
    }
    this.logRatio = Math.log(this.sigmaMax / this.sigmaMin);
  }

  /** `{ kind: "VE", N, sigmaMin, sigmaMax }`. */
  getConfig(): SDEConfig {
    return { kind: this.kind, N: this.N, sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax };
  }

  static fromConfig(config: SDEConfig): VESDE {
    return new VESDE(configNumbers("VESDE.fromConfig", config, ["N", "sigmaMin", "sigmaMax"]));
  }

  /** σ(t) = σ_min (σ_max/σ_min)^t, shape [B]. */
  sigma(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => t.mul(this.logRatio).add(Math.log(this.sigmaMin)).exp());
  }

  /** VE has no mean scaling: α(t) = 1. */
  alphaAt(_t: number): number {
    return 1;
  }

  /** σ(t) = σ_min (σ_max/σ_min)^t on the host (float64). */
  stdAt(t: number): number {
    return this.sigmaMin * Math.exp(t * this.logRatio);
  }

  /** λ(t) = −log σ(t) = −log σ_min − t log(σ_max/σ_min). */
  override lambdaAt(t: number): number {
    return -Math.log(this.sigmaMin) - t * this.logRatio;
  }

  /** t(λ) = (−λ − log σ_min) / log(σ_max/σ_min). */
  tOfLambda(lambda: number): number {
    return (-lambda - Math.log(this.sigmaMin)) / this.logRatio;
  }

  /** t(σ) = log(σ/σ_min) / log(σ_max/σ_min), the inverse of σ(t) (EDM / Karras grids are given in σ). */
  tOfSigma(sigma: number): number {
    return Math.log(sigma / this.sigmaMin) / this.logRatio;
  }

  /** The N discrete noise scales (ascending), in float64. */
  discreteSigmas(): Float64Array {
    const out = new Float64Array(this.N);
    const a = Math.log(this.sigmaMin);
    const step = this.N > 1 ? this.logRatio / (this.N - 1) : 0;
    for (let i = 0; i < this.N; i++) out[i] = Math.exp(a + i * step);
    return out;
  }

  drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    this.checkXT("drift", x, t);
    return tf.zerosLike(x);
  }

  diffusion(t: tf.Tensor): tf.Tensor {
    this.checkT("diffusion", t);
    return tf.tidy(() => this.sigma(t).mul(Math.sqrt(2 * this.logRatio)));
  }

  marginalCoefficients(t: tf.Tensor): MarginalCoefficients {
    this.checkT("marginalCoefficients", t);
    return tf.tidy(() => ({ mean: tf.onesLike(t), std: this.sigma(t) }));
  }

  priorSample(shape: readonly number[], rng: Rng): tf.Tensor {
    return tf.tidy(() => rng.normal(shape).mul(this.sigmaMax));
  }

  priorLogProb(z: tf.Tensor): tf.Tensor {
    const n = dimsOf(z.shape);
    const s2 = this.sigmaMax * this.sigmaMax;
    return tf.tidy(() => sumPerExample(z.square()).div(-2 * s2).sub((n / 2) * Math.log(2 * Math.PI * s2)));
  }

  /**
   * SMLD step: i = floor(t (N−1)/T), f = 0, G = √(σ_i² − σ_{i−1}²) with σ_{−1} = 0. Written as
   * G = σ_i √(1 − r²), r = σ_{i−1}/σ_i = (σ_max/σ_min)^(−1/(N−1)), to avoid cancellation in float32.
   */
  override discretize(x: tf.Tensor, t: tf.Tensor): Discretization {
    this.checkXT("discretize", x, t);
    return tf.tidy(() => {
      const i = this.timestepIndex(t).toFloat();
      const step = this.N > 1 ? this.logRatio / (this.N - 1) : 0;
      const sigmaI = i.mul(step).add(Math.log(this.sigmaMin)).exp();
      const r2 = Math.exp(-2 * step);
      const G = tf.where(i.equal(0), sigmaI, sigmaI.mul(Math.sqrt(1 - r2)));
      return { f: tf.zerosLike(x), G };
    });
  }

  /** σ_i and σ_{i−1} (0 for i = 0) of the discrete chain at time t, for the ancestral sampler. */
  adjacentSigmas(t: tf.Tensor): { sigma: tf.Tensor; sigmaPrev: tf.Tensor } {
    this.checkT("adjacentSigmas", t);
    return tf.tidy(() => {
      const i = this.timestepIndex(t).toFloat();
      const step = this.N > 1 ? this.logRatio / (this.N - 1) : 0;
      const sigma = i.mul(step).add(Math.log(this.sigmaMin)).exp();
      const sigmaPrev = tf.where(i.equal(0), tf.zerosLike(sigma), sigma.mul(Math.exp(-step)));
      return { sigma, sigmaPrev };
    });
  }
}

registerSde("VE", VESDE.fromConfig);
