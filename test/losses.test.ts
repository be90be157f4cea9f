/**
 * Losses against the official section d vectors: the continuous DSM loss for every SDE × weighting × reduction and
 * the legacy SMLD / DDPM losses, fed the official u, z and labels through replayRng, with stand-in networks that
 * invert the official score wrapping of the exact mixture score (official_vectors.README.md).
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { dsmLoss, smldLoss, ddpmLoss, lossByName } from "../lib/losses";
import type { ScoreNetwork } from "../lib/models/network";
import { createRng, replayRng, type Draw } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE, type ScoreFn } from "../lib/sde";
import { assertClose, assertNoLeak, flat, reference, setup, type Json } from "./helpers";

interface Gmm {
  weights: number[];
  means: number[][];
  covs: number[][][];
}

/**
 * Exact score of the 2-D mixture perturbed with mean coefficient m and std s, in float64 on the host (the fixture
 * must be more precise than the float32 code it checks): ∇log p = −Σ_k r_k C_k⁻¹ (x − m μ_k), C_k = m² S_k + s² I.
 */
function gmmScore2(g: Gmm, x: [number, number], m: number, s: number): [number, number] {
  const K = g.weights.length;
  const logp: number[] = [];
  const grads: [number, number][] = [];
  for (let k = 0; k < K; k++) {
    const S = g.covs[k];
    const a = m * m * S[0][0] + s * s;
    const b = m * m * S[0][1];
    const d = m * m * S[1][1] + s * s;
    const det = a * d - b * b;
    const i00 = d / det;
    const i01 = -b / det;
    const i11 = a / det;
    const d0 = x[0] - m * g.means[k][0];
    const d1 = x[1] - m * g.means[k][1];
    const q0 = i00 * d0 + i01 * d1;
    const q1 = i01 * d0 + i11 * d1;
    logp.push(Math.log(g.weights[k]) - 0.5 * (d0 * q0 + d1 * q1) - 0.5 * Math.log(det) - Math.log(2 * Math.PI));
    grads.push([-q0, -q1]);
  }
  const mx = Math.max(...logp);
  const w = logp.map((l) => Math.exp(l - mx));
  const z = w.reduce((p, c) => p + c, 0);
  let s0 = 0;
  let s1 = 0;
  for (let k = 0; k < K; k++) {
    s0 += (w[k] / z) * grads[k][0];
    s1 += (w[k] / z) * grads[k][1];
  }
  return [s0, s1];
}

/**
 * Applies per example b: out = scale_b · score(x_b; m_b, s_b), on 4-D points made of two independent 2-D pairs
 * (channels (0,1) and (2,3)), any trailing 1-sized dims.
 */
function pairScore(g: Gmm, x: tf.Tensor, coef: (b: number) => { m: number; s: number; scale: number }): tf.Tensor {
  const B = x.shape[0];
  const v = x.dataSync();
  const D = v.length / B;
  const out = new Float32Array(v.length);
  for (let b = 0; b < B; b++) {
    const { m, s, scale } = coef(b);
    for (let p = 0; p < D; p += 2) {
      const sc = gmmScore2(g, [v[b * D + p], v[b * D + p + 1]], m, s);
      out[b * D + p] = scale * sc[0];
      out[b * D + p + 1] = scale * sc[1];
    }
  }
  return tf.tensor(out, x.shape);
}

/** m(t), s(t) of each SDE in float64 (the official marginal_prob). */
function coefs(sde: SDE, t: number): { m: number; s: number } {
  if (sde instanceof VESDE) return { m: 1, s: sde.sigmaMin * Math.pow(sde.sigmaMax / sde.sigmaMin, t) };
  const b = sde as VPSDE;
  const lmc = -0.25 * t * t * (b.betaMax - b.betaMin) - 0.5 * t * b.betaMin;
  const m = Math.exp(lmc);
  return sde instanceof SubVPSDE ? { m, s: -Math.expm1(2 * lmc) } : { m, s: Math.sqrt(-Math.expm1(2 * lmc)) };
}

function standIn(apply: (x: tf.Tensor, label: tf.Tensor) => tf.Tensor): ScoreNetwork {
  return { kind: "stand-in", apply, trainableVariables: [], variableNames: [], stateVariables: [], paramCount: 0, getConfig: () => ({}), dispose: () => undefined };
}

/** The continuous stand-in network: inverts the official wrapping (VE label σ → score; VP/sub-VP label 999t → −s·score). */
function continuousNet(g: Gmm, sde: SDE): ScoreNetwork {
  return standIn((x, label) => {
    const l = label.dataSync();
    if (sde instanceof VESDE) return pairScore(g, x, (b) => ({ m: 1, s: l[b], scale: 1 }));
    return pairScore(g, x, (b) => {
      const c = coefs(sde, l[b] / 999);
      return { ...c, scale: -c.s };
    });
  });
}

/** The exact score function itself, s(x, t). */
function exactScore(g: Gmm, sde: SDE): ScoreFn {
  return (x, t) => {
    const tv = t.dataSync();
    return pairScore(g, x, (b) => ({ ...coefs(sde, tv[b]), scale: 1 }));
  };
}

const SDES: Record<string, () => SDE> = {
  VESDE: () => new VESDE(),
  VPSDE: () => new VPSDE(),
  subVPSDE: () => new SubVPSDE(),
};

describe("losses vs official section d", () => {
  let d: Json;
  let g: Gmm;
  let x0: tf.Tensor;
  before(async () => {
    await setup();
    d = reference().d_losses;
    g = reference().gmm;
    x0 = tf.tensor(flat(d.x0), d.data_shape);
  });

  const contDraws = (): Draw[] => [
    { kind: "uniform", shape: [8], values: flat(d.u) },
    { kind: "normal", shape: d.data_shape, values: flat(d.z) },
  ];

  for (const name of Object.keys(SDES)) {
    for (const lw of [false, true]) {
      for (const rm of [true, false]) {
        it(`${name} continuous DSM, likelihoodWeighting=${lw}, reduceMean=${rm} (network and exact score)`, () => {
          const sde = SDES[name]();
          const want = d.per_sde[name][`likelihood_weighting=${lw ? "True" : "False"},reduce_mean=${rm ? "True" : "False"}`];
          for (const via of ["model", "score"] as const) {
            const rng = replayRng(contDraws());
            const src = via === "model" ? { model: continuousNet(g, sde) } : { score: exactScore(g, sde) };
            // scaleBySigma false: the official VE score_fn returns the network output as the score.
            const r = dsmLoss({ sde, ...src, x0, rng, reduceMean: rm, likelihoodWeighting: lw, eps: d.eps, scaleBySigma: via === "model" && name === "VESDE" ? false : undefined });
            assert.equal(rng.remaining, 0, "draws u then z, nothing else");
            assertClose(r.t, d.per_sde[name].t_used, { rtol: 1e-6, what: `${name} t_used` });
            assertClose(r.perExample, want.per_example, { rtol: 1e-5, what: `${name} per_example (${via})` });
            assertClose(r.loss, want.loss, { rtol: 1e-5, what: `${name} loss (${via})` });
            tf.dispose([r.loss, r.perExample, r.t]);
          }
        });
      }
    }
  }

  const discreteDraws = (N: number): Draw[] => [
    // labels l are drawn as floor(u N): u = (l + ½)/N replays the official torch.randint values.
    { kind: "uniform", shape: [8], values: d.discrete.labels.map((l: number) => (l + 0.5) / N) },
    { kind: "normal", shape: d.data_shape, values: flat(d.discrete.z) },
  ];

  for (const rm of [false, true]) {
    it(`legacy SMLD loss, reduceMean=${rm}`, () => {
      const sde = new VESDE();
      const desc = Array.from(sde.discreteSigmas()).reverse();
      const net = standIn((x, label) => {
        const l = label.dataSync();
        return pairScore(g, x, (b) => ({ m: 1, s: desc[l[b]], scale: 1 }));
      });
      for (const fn of [smldLoss, (o: Parameters<typeof smldLoss>[0]) => dsmLoss({ ...o, continuous: false })]) {
        const rng = replayRng(discreteDraws(sde.N));
        const r = fn({ sde, model: net, x0, rng, reduceMean: rm });
        assert.deepEqual(Array.from(r.t.dataSync()), d.discrete.labels);
        assertClose(r.loss, d.discrete.values[`smld_reduce_mean=${rm ? "True" : "False"}`], { rtol: 1e-5, what: "smld loss" });
        tf.dispose([r.loss, r.perExample, r.t]);
      }
    });

    it(`legacy DDPM loss, reduceMean=${rm}`, () => {
      const sde = new VPSDE();
      const ac = sde.alphasCumprod();
      const net = standIn((x, label) => {
        const l = label.dataSync();
        return pairScore(g, x, (b) => {
          const s = Math.sqrt(1 - ac[l[b]]);
          return { m: Math.sqrt(ac[l[b]]), s, scale: -s };
        });
      });
      for (const fn of [ddpmLoss, (o: Parameters<typeof ddpmLoss>[0]) => dsmLoss({ ...o, continuous: false })]) {
        const rng = replayRng(discreteDraws(sde.N));
        const r = fn({ sde, model: net, x0, rng, reduceMean: rm });
        assertClose(r.loss, d.discrete.values[`ddpm_reduce_mean=${rm ? "True" : "False"}`], { rtol: 1e-5, what: "ddpm loss" });
        tf.dispose([r.loss, r.perExample, r.t]);
      }
    });
  }
});

describe("loss validation and hygiene", () => {
  before(setup);
  const x0 = () => tf.randomNormal([4, 2], 0, 1, "float32", 1);
  const zeroScore: ScoreFn = (x) => tf.zerosLike(x);

  it("discrete sub-VP is a clear error, as in the official code", () => {
    const x = x0();
    assert.throws(() => dsmLoss({ sde: new SubVPSDE(), score: zeroScore, x0: x, rng: createRng(0), continuous: false }), /sub-VP|subVP/);
    x.dispose();
  });

  it("likelihood weighting with a discrete loss, both or neither of model/score, bad eps are named errors", () => {
    const x = x0();
    const rng = createRng(0);
    assert.throws(() => dsmLoss({ sde: new VESDE(), score: zeroScore, x0: x, rng, continuous: false, likelihoodWeighting: true }), /likelihoodWeighting/);
    assert.throws(() => dsmLoss({ sde: new VESDE(), x0: x, rng }), /exactly one of model and score/);
    assert.throws(() => dsmLoss({ sde: new VESDE(), score: zeroScore, x0: x, rng, eps: 1 }), /eps = 1 is not allowed/);
    assert.throws(() => dsmLoss({ sde: new VESDE(), score: zeroScore, x0: tf.zeros([3]), rng }), /x0.shape/);
    assert.throws(() => smldLoss({ sde: new VPSDE(), score: zeroScore, x0: x, rng }), /VESDE/);
    assert.throws(() => ddpmLoss({ sde: new VESDE(), score: zeroScore, x0: x, rng }), /VPSDE/);
    assert.throws(() => lossByName("nope" as "dsm"), /name = "nope"/);
    x.dispose();
  });

  it("a zero score gives the closed form ℓ_b = mean(z_b²) under the σ² weighting", () => {
    // With s = 0 and λ = s², ℓ_b = mean(z_b²): the loss equals the mean square of the drawn noise exactly.
    const x = x0();
    const rng = createRng(7);
    const probe = createRng(7);
    probe.uniform([4]).dispose();
    const z = probe.normal([4, 2]);
    const r = dsmLoss({ sde: new VPSDE(), score: zeroScore, x0: x, rng });
    assertClose(r.perExample, Array.from(z.square().mean(1).dataSync()), { rtol: 1e-6, what: "zero-score loss" });
    tf.dispose([x, z, r.loss, r.perExample, r.t]);
  });

  it("leaves no tensors behind and is differentiable through a model", async () => {
    const x = x0();
    const w = tf.variable(tf.scalar(0.3));
    const net = standIn((xx, l) => xx.mul(w).add(l.reshape([-1, 1]).mul(0)));
    await assertNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => dsmLoss({ sde: new VPSDE(), model: net, x0: x, rng: createRng(1) }).loss, [w]);
      assert.ok(Number.isFinite(value.dataSync()[0]) && Number.isFinite(grads[w.name].dataSync()[0]));
      tf.dispose([value, grads[w.name]]);
    }, "dsmLoss + grads");
    tf.dispose([x, w]);
  });
});
