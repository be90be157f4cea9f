/**
 * Predictors of the PC sampler (Song et al. 2021, §4.2; official `sampling.py`). Each step goes from the grid time
 * t_i towards t_{i+1} < t_i and draws exactly ONE standard normal of x's shape per update (none for `none`), as the
 * official code does — even where the noise is multiplied by 0 (probability flow) — so that `replayRng` with the
 * official noise reproduces the official numbers and the draw order never depends on the options.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { SubVPSDE, VESDE, VPSDE, perExample } from "../sde";
import { fail } from "../validate";
import { checkDiscreteBetas, checkSdeAndScore } from "./checks";
import type { PCUpdateResult, Predictor, PredictorContext } from "./types";

/**
 * Euler–Maruyama on the reverse SDE with the official step dt = −1/N (T = 1):
 * x̄ = x + [f − g² s] dt, x = x̄ + g √(−dt) z.
 * With `probabilityFlow` the official PyTorch code crashes (TypeError: the diffusion is the Python float 0 and is
 * indexed); here it is the deterministic Euler step of the probability-flow ODE, x = x̄ = x + [f − ½ g² s] dt. The
 * noise z is still drawn (and unused) so that the draw count is 1 per update whatever the options, as for the
 * official reverse_diffusion with probability flow.
 */
export class EulerMaruyamaPredictor implements Predictor {
  readonly name = "euler_maruyama";
  readonly noiseDraws = 1;
  readonly scoreEvals = 1;
  private readonly ctx: PredictorContext;

  constructor(ctx: PredictorContext) {
    checkSdeAndScore("EulerMaruyamaPredictor", ctx.sde, ctx.score);
    this.ctx = { ...ctx };
  }

  update(x: tf.Tensor, t: tf.Tensor, rng: Rng): PCUpdateResult {
    const { sde, score, probabilityFlow } = this.ctx;
    return tf.tidy(() => {
      const dt = -1 / sde.N;
      const z = rng.normal(x.shape);
      const rsde = sde.reverse(score, { probabilityFlow });
      const xMean = x.add(rsde.drift(x, t).mul(dt));
      if (probabilityFlow) return { x: xMean.clone(), xMean };
      const scale = perExample(rsde.diffusion(t).mul(Math.sqrt(-dt)), x);
      return { x: xMean.add(scale.mul(z)), xMean };
    });
  }
}

/**
 * Reverse diffusion: the forward discretisation of the SDE run backwards (Song et al. eq. 46–47):
 * (f, G) = reverse.discretize(x, t); x̄ = x − f; x = x̄ + G z. VE: x + (σ_i² − σ_{i−1}²) s + √(σ_i² − σ_{i−1}²) z;
 * VP: (2 − √(1 − β_i)) x + β_i s + √β_i z; sub-VP: its Euler–Maruyama discretisation. With `probabilityFlow` this
 * is the paper's "probability flow" predictor (½ G² s, G = 0; one draw still made, as the official code).
 */
export class ReverseDiffusionPredictor implements Predictor {
  readonly name = "reverse_diffusion";
  readonly noiseDraws = 1;
  readonly scoreEvals = 1;
  private readonly ctx: PredictorContext;

  constructor(ctx: PredictorContext) {
    checkSdeAndScore("ReverseDiffusionPredictor", ctx.sde, ctx.score);
    checkDiscreteBetas("ReverseDiffusionPredictor", ctx.sde);
    this.ctx = { ...ctx };
  }

  update(x: tf.Tensor, t: tf.Tensor, rng: Rng): PCUpdateResult {
    const { sde, score, probabilityFlow } = this.ctx;
    return tf.tidy(() => {
      const { f, G } = sde.reverse(score, { probabilityFlow }).discretize(x, t);
      const z = rng.normal(x.shape);
      const xMean = x.sub(f);
      if (probabilityFlow) return { x: xMean.clone(), xMean };
      return { x: xMean.add(perExample(G, x).mul(z)), xMean };
    });
  }
}

/**
 * Ancestral sampling of the discrete chains (Song et al. eq. 47 / Ho et al. 2020), VE and VP only:
 * VE x̄ = x + (σ_i² − σ_{i−1}²) s, std = √(σ_{i−1}² (σ_i² − σ_{i−1}²) / σ_i²);
 * VP x̄ = (x + β_i s) / √(1 − β_i), std = √β_i; x = x̄ + std z.
 * Refused with a clear error: sub-VP (no discrete chain; the official code raises NotImplementedError), probability
 * flow (the official code asserts it off: ancestral sampling has no ODE form), VP with β_max/N ≥ 1 (NaN).
 */
export class AncestralSamplingPredictor implements Predictor {
  readonly name = "ancestral_sampling";
  readonly noiseDraws = 1;
  readonly scoreEvals = 1;
  private readonly ctx: PredictorContext;

  constructor(ctx: PredictorContext) {
    const where = "AncestralSamplingPredictor";
    checkSdeAndScore(where, ctx.sde, ctx.score);
    if (ctx.sde instanceof SubVPSDE || !(ctx.sde instanceof VESDE || ctx.sde instanceof VPSDE)) {
      fail(
        where,
        "sde",
        `${ctx.sde.constructor.name} (kind ${ctx.sde.kind})`,
        "a VESDE or VPSDE: predictor 'ancestral_sampling' follows the SMLD / DDPM chains and sub-VP has none; use 'reverse_diffusion' or 'euler_maruyama'",
      );
    }
    if (ctx.probabilityFlow) {
      fail(where, "probabilityFlow", true, "false: ancestral sampling has no probability-flow form; use 'reverse_diffusion' with probabilityFlow");
    }
    checkDiscreteBetas(where, ctx.sde);
    this.ctx = { ...ctx };
  }

  update(x: tf.Tensor, t: tf.Tensor, rng: Rng): PCUpdateResult {
    const { sde, score } = this.ctx;
    return tf.tidy(() => {
      const s = score(x, t);
      const z = rng.normal(x.shape);
      if (sde instanceof VESDE) {
        const { sigma, sigmaPrev } = sde.adjacentSigmas(t);
        // σ_i² − σ_{i−1}² = G² of the SMLD step, which VESDE computes without float32 cancellation.
        const G = sde.discretize(x, t).G;
        const xMean = x.add(perExample(G.square(), x).mul(s));
        const std = sigmaPrev.mul(G).div(sigma);
        return { x: xMean.add(perExample(std, x).mul(z)), xMean };
      }
      const beta = (sde as VPSDE).discreteBeta(t);
      const xMean = x.add(perExample(beta, x).mul(s)).div(perExample(tf.scalar(1).sub(beta).sqrt(), x));
      return { x: xMean.add(perExample(beta.sqrt(), x).mul(z)), xMean };
    });
  }
}

/** No prediction: returns (x, x) and draws nothing (the official NonePredictor), e.g. for corrector-only C2000. */
export class NonePredictor implements Predictor {
  readonly name = "none";
  readonly noiseDraws = 0;
  readonly scoreEvals = 0;

  constructor(_ctx?: PredictorContext) {}

  update(x: tf.Tensor): PCUpdateResult {
    return { x: x.clone(), xMean: x.clone() };
  }
}
