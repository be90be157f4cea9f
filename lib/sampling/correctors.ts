/**
 * Correctors of the PC sampler: score-based MCMC at a fixed noise level (Song et al. 2021, Alg. 4/5; official
 * `sampling.py`). Each of the `nSteps` sub-steps makes ONE score evaluation and draws ONE standard normal of x's
 * shape, in that order, so an update draws exactly `nSteps` normals.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { SDE, VPSDE, perExample, sumPerExample } from "../sde";
import { checkNonNegative, checkNonNegativeInt } from "../validate";
import { checkDiscreteBetas, checkSdeAndScore } from "./checks";
import type { Corrector, CorrectorContext, PCUpdateResult } from "./types";

/**
 * α of Alg. 5 as the official code: α = 1 − β_i (the DDPM step's α_i, i = floor(t (N−1)), not the paper's
 * cumulative ∏(1 − β_j); see pytorch issue #73) for VP, 1 for VE. For sub-VP the official code crashes
 * (AttributeError: subVPSDE has no `alphas`); here α = 1, as for VE. Why 1: sub-VP has no discrete chain whose
 * α_i could be used, and for the default schedule 1 − β_i ≥ 0.98, so α only rescales the step by ≤ 2 % — which
 * the snr already controls.
 * Returns [B] for VP, or null for α = 1.
 */
function langevinAlpha(sde: SDE, t: tf.Tensor): tf.Tensor | null {
  return sde instanceof VPSDE ? tf.scalar(1).sub(sde.discreteBeta(t)) : null;
}

abstract class LangevinBase implements Corrector {
  abstract readonly name: string;
  readonly noiseDraws: number;
  readonly scoreEvals: number;
  protected readonly ctx: CorrectorContext;

  constructor(ctx: CorrectorContext, where: string) {
    checkSdeAndScore(where, ctx.sde, ctx.score);
    checkNonNegative(where, "snr", ctx.snr);
    checkNonNegativeInt(where, "nSteps", ctx.nSteps);
    checkDiscreteBetas(where, ctx.sde);
    this.ctx = { ...ctx };
    this.noiseDraws = ctx.nSteps;
    this.scoreEvals = ctx.nSteps;
  }

  /** Step size ε [B] of one sub-step, given the score g and the noise z. */
  protected abstract stepSize(x: tf.Tensor, t: tf.Tensor, g: tf.Tensor, z: tf.Tensor): tf.Tensor;

  update(x: tf.Tensor, t: tf.Tensor, rng: Rng): PCUpdateResult {
    const { score, nSteps } = this.ctx;
    // nSteps = 0 returns (x, x); the official loop would leave x_mean unbound (UnboundLocalError).
    let cur: PCUpdateResult = { x: x.clone(), xMean: x.clone() };
    for (let k = 0; k < nSteps; k++) {
      const prev = cur;
      cur = tf.tidy(() => {
        const g = score(prev.x, t);
        const z = rng.normal(prev.x.shape);
        const eps = perExample(this.stepSize(prev.x, t, g, z), prev.x);
        const xMean = prev.x.add(eps.mul(g));
        return { x: xMean.add(eps.mul(2).sqrt().mul(z)), xMean };
      });
      prev.x.dispose();
      prev.xMean.dispose();
    }
    return cur;
  }
}

/**
 * Langevin corrector (Alg. 4/5): ε = 2 α (r ‖z‖ / ‖s‖)², x̄ = x + ε s, x = x̄ + √(2ε) z, with the official
 * BATCH-AVERAGED norms ‖·‖ = mean over the batch of each example's L2 norm over all its dimensions — so ε is shared
 * by the batch and samples are not independent of the batch size. A score that is exactly 0 on the whole batch
 * gives ε = 0 (the official code would divide by 0).
 */
export class LangevinCorrector extends LangevinBase {
  readonly name = "langevin";

  constructor(ctx: CorrectorContext) {
    super(ctx, "LangevinCorrector");
  }

  protected stepSize(_x: tf.Tensor, t: tf.Tensor, g: tf.Tensor, z: tf.Tensor): tf.Tensor {
    const gradNorm = sumPerExample(g.square()).sqrt().mean();
    const noiseNorm = sumPerExample(z.square()).sqrt().mean();
    const ratio = noiseNorm.div(gradNorm);
    const base = tf.where(gradNorm.greater(0), ratio.mul(this.ctx.snr).square().mul(2), tf.zerosLike(ratio));
    const alpha = langevinAlpha(this.ctx.sde, t);
    return alpha ? alpha.mul(base) : tf.fill(t.shape, 1).mul(base);
  }
}

/**
 * Annealed Langevin dynamics of NCSN (Song & Ermon 2019), official `AnnealedLangevinDynamics`:
 * ε = 2 α (r · std(t))² with std from the SDE's marginal, then the same update as `langevin`.
 */
export class AnnealedLangevinCorrector extends LangevinBase {
  readonly name = "ald";

  constructor(ctx: CorrectorContext) {
    super(ctx, "AnnealedLangevinCorrector");
  }

  protected stepSize(_x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    const std = this.ctx.sde.marginalCoefficients(t).std;
    const base = std.mul(this.ctx.snr).square().mul(2);
    const alpha = langevinAlpha(this.ctx.sde, t);
    return alpha ? alpha.mul(base) : base;
  }
}

/** No correction: returns (x, x), draws nothing (the official NoneCorrector). */
export class NoneCorrector implements Corrector {
  readonly name = "none";
  readonly noiseDraws = 0;
  readonly scoreEvals = 0;

  constructor(_ctx?: CorrectorContext) {}

  update(x: tf.Tensor): PCUpdateResult {
    return { x: x.clone(), xMean: x.clone() };
  }
}
