/**
 * The SDE contract (Song et al. 2021, eq. 5): dx = f(x, t) dt + g(t) dw on t ∈ [0, T], t = 0 data, t = T prior.
 *
 * Conventions follow the official `sde_lib.py`: data tensors are [B, ...dims], t is [B]; `discretize` gives one
 * forward step x_{i+1} = x_i + f + G z of the discrete chain (SMLD for VE, DDPM for VP, Euler–Maruyama for sub-VP),
 * with the step index i = floor(t (N − 1) / T).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkBatched, fail } from "../validate";
import type { NetworkParameterization } from "./parameterization";
import type { SDEConfig } from "./registry";
import { checkTime, perExample } from "./time";

/** A score function s(x, t) ≈ ∇ₓ log p_t(x); t has shape [B]. */
export type ScoreFn = (x: tf.Tensor, t: tf.Tensor) => tf.Tensor;

export interface Discretization {
  f: tf.Tensor;
  /** [B]: one noise scale per example. */
  G: tf.Tensor;
}

export interface MarginalCoefficients {
  /** [B]: mean coefficient m(t), so that E[x_t | x_0] = m(t) x_0. */
  mean: tf.Tensor;
  /** [B]: standard deviation s(t) of x_t given x_0 (as the official `marginal_prob`). */
  std: tf.Tensor;
}

/** Largest number of discretisation steps an SDE accepts (2^24: see the SDE constructor). */
export const MAX_N = 2 ** 24;

/**
 * One file per SDE: a subclass implements the abstract members below, `getConfig()` / a static `fromConfig`, and
 * registers itself with `registerSde(kind, fromConfig)` (./registry); see lib/sde/ve.ts, vp.ts and the cosine-schedule
 * VP of test/fixtures/cosine-vp-sde.ts.
 */
export abstract class SDE {
  /** The registered name (`sdeFromConfig({ kind })`): "VE", "VP", "subVP", or a user SDE's own. */
  abstract readonly kind: string;
  /** End time; the official code fixes T = 1. */
  readonly T = 1;
  /** Number of discretisation steps (the official `num_scales`). */
  readonly N: number;
  /** The official sampling eps: 1e-3 for VP / sub-VP, 1e-5 for VE. */
  abstract readonly defaultEps: number;

  protected constructor(N: number, where: string) {
    // The step index floor(t (N − 1) / T) is computed in float32, whose integers are exact only up to 2^24; beyond
    // that grid times merge (and N = 1e12 would fail much later allocating the discrete schedule).
    if (!Number.isInteger(N) || N < 1 || N > MAX_N) fail(where, "N", N, `a positive integer ≤ 2^24 = ${MAX_N} (discretisation steps; official 1000 or 2000)`);
    this.N = N;
  }

  /** f(x, t). */
  abstract drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor;
  /** g(t), shape [B]. */
  abstract diffusion(t: tf.Tensor): tf.Tensor;
  /** m(t) and s(t) of the perturbation kernel p_{0t}(x_t | x_0) = N(m x_0, s² I). */
  abstract marginalCoefficients(t: tf.Tensor): MarginalCoefficients;
  /** x_T ~ π, the prior. */
  abstract priorSample(shape: readonly number[], rng: Rng): tf.Tensor;
  /** log π(z) per example, shape [B]. */
  abstract priorLogProb(z: tf.Tensor): tf.Tensor;
  /** The settings that define this SDE, `{ kind, N, ...parameters }`: `sdeFromConfig(sde.getConfig())` rebuilds it. */
  abstract getConfig(): SDEConfig;
  /** How a score network's label and output relate to the score under this SDE (./parameterization). */
  abstract readonly parameterization: NetworkParameterization;

  /**
   * Throws when this SDE's discrete chain (`discretize`) is undefined for its N; the samplers that use the chain
   * call it up front. Nothing to check by default.
   */
  checkDiscretization(_where: string): void {}

  /*
   * Host schedule (float64 numbers, no tensors), for samplers that choose their steps on the host — the exponential
   * integrators (DDIM, DPM-Solver; Lu et al. 2022 §3) need α(t), σ(t), λ(t) = log(α/σ) and t(λ). Every SDE of the
   * library has the marginal x_t = α(t) x₀ + σ(t) ε (α = `marginalCoefficients().mean`, σ = its `std`, the official
   * `marginal_prob`), so these formulas apply to VE, VP and sub-VP alike.
   */
  /** α(t) = m(t), the marginal mean coefficient (1 for VE). */
  abstract alphaAt(t: number): number;
  /** σ(t) = s(t), the marginal standard deviation. */
  abstract stdAt(t: number): number;
  /** λ(t) = log(α(t)/σ(t)), half the log-SNR; strictly decreasing in t. */
  lambdaAt(t: number): number {
    return Math.log(this.alphaAt(t)) - Math.log(this.stdAt(t));
  }
  /** The inverse of λ(t): the time whose half log-SNR is λ (in closed form for every SDE here). */
  abstract tOfLambda(lambda: number): number;

  /**
   * The forward transition kernel from time s to a later time t (0 ≤ s ≤ t ≤ T): p(x_t | x_s) = N(a x_s, v² I) with
   *   a = α(t)/α(s),   v² = σ(t)² − a² σ(s)²,
   * for the linear SDEs here (x_t = α(t) x₀ + σ(t) ε): with deterministic coefficients the variance of x_t given x₀
   * splits as a² Var(x_s | x₀) + Var(x_t | x_s), so the transition variance is that difference (VE: σ_t² − σ_s²;
   * VP: 1 − a²; sub-VP included). Taking a sample at s back up to t with it ("going back in time", RePaint's
   * resampling, Lugmayr et al. 2022) keeps p_s ↦ p_t exact. v is clamped at 0 against rounding when t ≈ s.
   */
  transitionAt(s: number, t: number): { mean: number; std: number } {
    const where = `${this.kind}SDE.transitionAt`;
    if (typeof s !== "number" || !(s >= 0 && s <= this.T)) fail(where, "s", s, `a time in [0, ${this.T}]`);
    if (typeof t !== "number" || !(t >= s && t <= this.T)) fail(where, "t", t, `a time in [s, ${this.T}] = [${s}, ${this.T}] (the kernel runs forward)`);
    const a = this.alphaAt(t) / this.alphaAt(s);
    const [sS, sT] = [this.stdAt(s), this.stdAt(t)];
    return { mean: a, std: Math.sqrt(Math.max(0, sT * sT - a * a * sS * sS)) };
  }

  /** Mean m(t) x0 and std s(t) [B] of the perturbation kernel. */
  marginal(x0: tf.Tensor, t: tf.Tensor): { mean: tf.Tensor; std: tf.Tensor } {
    this.checkXT("marginal", x0, t);
    return tf.tidy(() => {
      const { mean, std } = this.marginalCoefficients(t);
      return { mean: perExample(mean, x0).mul(x0), std };
    });
  }

  /** One forward step of the discrete chain. The base class is Euler–Maruyama: f = f(x,t)/N, G = g(t)/√N. */
  discretize(x: tf.Tensor, t: tf.Tensor): Discretization {
    this.checkXT("discretize", x, t);
    return tf.tidy(() => ({
      f: this.drift(x, t).div(this.N),
      G: this.diffusion(t).mul(Math.sqrt(1 / this.N)),
    }));
  }

  /** The discrete step index floor(t (N − 1) / T) as int32 [B]; for t on linspace(T, eps, N) it is N − 1 − i. */
  timestepIndex(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => t.mul((this.N - 1) / this.T).floor().clipByValue(0, this.N - 1).toInt());
  }

  /** The reverse-time SDE (or, with probabilityFlow, the probability-flow ODE) for a given score. */
  reverse(score: ScoreFn, opts: { probabilityFlow?: boolean } = {}): ReverseSDE {
    return new ReverseSDE(this, score, opts.probabilityFlow ?? false);
  }

  /** Checks x [B, ...dims] and t [B] with values in [0, T]. */
  protected checkXT(where: string, x: tf.Tensor, t: tf.Tensor): void {
    const w = `${this.kind}SDE.${where}`;
    checkBatched(w, "x", x);
    checkTime(w, t, this.T, x.shape[0]);
  }

  protected checkT(where: string, t: tf.Tensor): void {
    checkTime(`${this.kind}SDE.${where}`, t, this.T);
  }
}

/**
 * Reverse-time SDE dx = [f − g² s(x,t)] dt + g dw̄, and with `probabilityFlow` the ODE dx/dt = f − ½ g² s,
 * as the official `RSDE`. `discretize` reverses the forward chain: rev_f = f_d − G_d² s (½ for the ODE),
 * rev_G = G_d (0 for the ODE).
 */
export class ReverseSDE {
  constructor(
    readonly sde: SDE,
    readonly score: ScoreFn,
    readonly probabilityFlow: boolean,
  ) {}

  get N(): number {
    return this.sde.N;
  }
  get T(): number {
    return this.sde.T;
  }

  private get weight(): number {
    return this.probabilityFlow ? 0.5 : 1;
  }

  /** f − g² s (× ½ for the probability-flow ODE). */
  drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const f = this.sde.drift(x, t);
      const g2 = perExample(this.sde.diffusion(t).square(), x);
      return f.sub(g2.mul(this.score(x, t)).mul(this.weight));
    });
  }

  /** g(t), or zeros [B] for the ODE. */
  diffusion(t: tf.Tensor): tf.Tensor {
    return this.probabilityFlow ? tf.zerosLike(t) : this.sde.diffusion(t);
  }

  discretize(x: tf.Tensor, t: tf.Tensor): Discretization {
    return tf.tidy(() => {
      const { f, G } = this.sde.discretize(x, t);
      const revF = f.sub(perExample(G.square(), x).mul(this.score(x, t)).mul(this.weight));
      return { f: revF, G: this.probabilityFlow ? tf.zerosLike(G) : G };
    });
  }
}
