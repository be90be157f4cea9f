/**
 * The host schedule of every SDE — α(t), σ(t), λ(t) = log(α/σ) and t(λ) (and VE's t(σ)) — against the closed forms
 * of Song et al. 2021 (App. B: VE σ_min (σ_max/σ_min)^t; VP mean e^{−¼t²Δβ−½tβ₀}, variance 1 − α²; sub-VP std
 * 1 − α², as the official `marginal_prob`), against the tensor `marginalCoefficients`, and as round trips.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { setup } from "./helpers";

before(setup);

const TS = [1e-5, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.77, 0.99, 1];
const close = (a: number, b: number, rtol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rtol * Math.abs(b) + 1e-14, `${what}: ${a} vs ${b} (rel ${(Math.abs(a - b) / Math.abs(b)).toExponential(2)})`);

describe("SDE host schedule: α(t), σ(t), λ(t), t(λ)", () => {
  it("closed forms (β₀ 0.1, β₁ 20, σ_min 0.01, σ_max 50)", () => {
    const ve = new VESDE();
    const vp = new VPSDE();
    const sub = new SubVPSDE();
    for (const t of TS) {
      const la = -0.25 * t * t * 19.9 - 0.5 * t * 0.1;
      close(ve.alphaAt(t), 1, 0, `VE α(${t})`);
      close(ve.stdAt(t), 0.01 * 5000 ** t, 1e-13, `VE σ(${t})`);
      close(ve.lambdaAt(t), -Math.log(0.01 * 5000 ** t), 1e-13, `VE λ(${t})`);
      close(vp.alphaAt(t), Math.exp(la), 1e-14, `VP α(${t})`);
      close(vp.stdAt(t), Math.sqrt(1 - Math.exp(2 * la)), 1e-9, `VP σ(${t})`);
      close(vp.lambdaAt(t), 0.5 * Math.log(Math.exp(2 * la) / (1 - Math.exp(2 * la))), 1e-9, `VP λ(${t})`);
      close(sub.alphaAt(t), Math.exp(la), 1e-14, `sub-VP α(${t})`);
      close(sub.stdAt(t), 1 - Math.exp(2 * la), 1e-9, `sub-VP σ(${t})`);
      close(sub.lambdaAt(t), la - Math.log(1 - Math.exp(2 * la)), 1e-9, `sub-VP λ(${t})`);
    }
    // A case whose closed form has no cancellation at all: VP at t = 1, α² = e^{−10.05}.
    close(vp.stdAt(1), Math.sqrt(1 - Math.exp(-10.05)), 1e-15, "VP σ(1)");
  });

  it("agree with the tensor marginalCoefficients (float32) at every t", () => {
    for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE()] as SDE[]) {
      const { mean, std } = sde.marginalCoefficients(tf.tensor1d(TS));
      const m = mean.dataSync();
      const s = std.dataSync();
      TS.forEach((t, i) => {
        close(sde.alphaAt(t), m[i], 1e-6, `${sde.kind} α(${t})`);
        close(sde.stdAt(t), s[i], 2e-6, `${sde.kind} σ(${t})`);
      });
      tf.dispose([mean, std]);
    }
  });

  it("λ is strictly decreasing and t(λ(t)) = t to float64 rounding, λ(t(λ)) = λ, for any β₀ ≥ 0", () => {
    const sdes: SDE[] = [
      new VESDE(), new VESDE({ sigmaMin: 0.002, sigmaMax: 80 }),
      new VPSDE(), new VPSDE({ betaMin: 0, betaMax: 5 }), new VPSDE({ betaMin: 3, betaMax: 3 }),
      new SubVPSDE(), new SubVPSDE({ betaMin: 0, betaMax: 5 }),
    ];
    for (const sde of sdes) {
      let prev = Infinity;
      for (const t of TS) {
        const l = sde.lambdaAt(t);
        assert.ok(l < prev, `${sde.kind} λ not decreasing at t = ${t}`);
        prev = l;
        close(sde.tOfLambda(l), t, 1e-9, `${sde.kind} t(λ(${t}))`);
      }
      for (const l of [-6, -2, 0, 0.5, 3, 8]) {
        const t = sde.tOfLambda(l);
        if (t > 0 && t <= 1) close(sde.lambdaAt(t), l, 1e-9, `${sde.kind} λ(t(${l}))`);
      }
    }
  });

  it("VE t(σ) inverts σ(t)", () => {
    const ve = new VESDE();
    for (const t of TS) close(ve.tOfSigma(ve.stdAt(t)), t, 1e-11, `t(σ(${t}))`);
    assert.equal(ve.tOfSigma(0.01), 0);
    close(ve.tOfSigma(50), 1, 1e-15, "t(σ_max)");
  });
});
