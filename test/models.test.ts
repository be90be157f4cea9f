/** Toy MLP, score wrapping (against the official vectors), config registry and weight (de)serialisation. */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import {
  ScoreNetwork,
  createToyMLP,
  getWeights,
  networkFromConfig,
  scoreFnFromModel,
  setWeights,
} from "../lib/models";
import { assertClose, assertNoLeak, reference, setup } from "./helpers";

before(setup);

const ref = reference();
const A = ref.a_sde_coefficients;

function out(net: ScoreNetwork, x: tf.Tensor, label: tf.Tensor): Float32Array {
  return tf.tidy(() => net.apply(x, label).dataSync() as Float32Array);
}

describe("toy MLP", () => {
  const x = tf.tensor2d([[0.5, -1], [2, 0.25], [-0.3, 0.7]]);
  const sig = tf.tensor1d([0.01, 1, 50]);
  after(() => tf.dispose([x, sig]));

  it("maps [B, dim] and [B] labels to [B, dim], deterministically from the seed", () => {
    const a = createToyMLP({ width: 16, depth: 2, seed: 3 });
    const b = createToyMLP({ width: 16, depth: 2, seed: 3 });
    const c = createToyMLP({ width: 16, depth: 2, seed: 4 });
    const y = tf.tidy(() => a.apply(x, sig));
    assert.deepEqual(y.shape, [3, 2]);
    y.dispose();
    assert.deepEqual(out(a, x, sig), out(b, x, sig));
    assert.notDeepEqual(out(a, x, sig), out(c, x, sig));
    // Output depends on the label (the embedding reaches the output).
    const other = tf.tensor1d([2, 3, 4]);
    assert.notDeepEqual(out(a, x, sig), out(a, x, other));
    other.dispose();
    // 3 dense layers (2 hidden + out) × (kernel, bias); (2 + 32)·16 + 16 + 16·16 + 16 + 16·2 + 2.
    assert.equal(a.trainableVariables.length, 6);
    assert.equal(a.paramCount, 34 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
    assert.deepEqual([...a.variableNames], [...b.variableNames]);
    assert.equal(new Set(a.variableNames).size, a.variableNames.length);
    // Engine names differ between instances, so two copies coexist.
    assert.notEqual(a.trainableVariables[0].name, b.trainableVariables[0].name);
    [a, b, c].forEach((n) => n.dispose());
  });

  it("supports every activation and the positional embedding", () => {
    for (const activation of ["silu", "relu", "elu", "tanh"] as const) {
      const n = createToyMLP({ width: 8, depth: 1, activation, embedding: "positional", embeddingDim: 8, dim: 2 });
      const v = out(n, x, tf.tidy(() => tf.keep(tf.tensor1d([0, 500, 999]))));
      assert.ok(v.every(Number.isFinite), activation);
      n.dispose();
    }
  });

  it("rejects bad configurations with errors naming the parameter", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ width: 0 }, /width = 0/],
      [{ width: -4 }, /width = -4/],
      [{ depth: 1.5 }, /depth = 1.5/],
      [{ dim: 0 }, /dim = 0/],
      [{ activation: "gelu" }, /activation = "gelu".*"silu"/],
      [{ embedding: "learned" }, /embedding = "learned"/],
      [{ embeddingDim: 7 }, /embeddingDim = 7/],
      [{ fourierScale: -1 }, /fourierScale = -1/],
      [{ widht: 3 }, /config key = "widht"/],
    ];
    for (const [cfg, re] of bad) assert.throws(() => createToyMLP(cfg as never), re, JSON.stringify(cfg));
    const n = createToyMLP({ width: 8, depth: 1 });
    assert.throws(() => n.apply(tf.zeros([3, 3]), sig), /x.shape = \[3, 3\].*\[B, 2\]/);
    assert.throws(() => n.apply(x, tf.zeros([2])), /label.shape = \[2\]/);
    n.dispose();
  });

  it("gradients of all variables are finite and nonzero; no tensors leak over forward/backward", async () => {
    const n = createToyMLP({ width: 16, depth: 2, seed: 1 });
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => n.apply(x, sig).square().sum() as tf.Scalar);
        const names = Object.keys(grads);
        assert.equal(names.length, n.trainableVariables.length);
        for (const k of names) assert.ok(tf.abs(grads[k]).sum().dataSync()[0] > 0, k);
        return value.dataSync()[0];
      });
    step();
    await assertNoLeak(() => {
      for (let i = 0; i < 3; i++) step();
    }, "MLP forward/backward");
    n.dispose();
  });
});

describe("toy MLP training sanity", () => {
  it("learns the exact VE score of N(0, I) by regression with Adam over trainableVariables", () => {
    // x_t ~ N(0, (1 + σ²) I), so σ·∇log p_t(x) = −σ x / (1 + σ²). The wrapper divides the output by σ (scaleBySigma).
    const sde = new VESDE({ sigmaMin: 0.1, sigmaMax: 5 });
    // A low Fourier scale: σ spans only [0.1, 5] here, and scale-16 features of log σ oscillate too fast for 32 units
    // to interpolate between training batches (with 16 the held-out loss stalls near 8 % of its start).
    const net = createToyMLP({ width: 32, depth: 2, fourierScale: 1, seed: 0 });
    const score = scoreFnFromModel(sde, net);
    const opt = tf.train.adam(3e-3);
    const rng = createRng(7);
    const lossAt = (x: tf.Tensor, t: tf.Tensor): tf.Scalar => {
      const sigma = sde.sigma(t).reshape([-1, 1]);
      const target = x.mul(sigma).div(sigma.square().add(1)).neg();
      return score(x, t).mul(sigma).sub(target).square().mean() as tf.Scalar;
    };
    const batch = (): [tf.Tensor, tf.Tensor] => {
      const t = rng.uniform([128]);
      const x = rng.normal([128, 2]).mul(sde.sigma(t).square().add(1).sqrt().reshape([-1, 1]));
      return [x, t];
    };
    const [xe, te] = batch();
    const evalLoss = () => tf.tidy(() => lossAt(xe, te).dataSync()[0]);
    const initial = evalLoss();
    for (let i = 0; i < 200; i++) {
      tf.tidy(() => {
        const [x, t] = batch();
        opt.minimize(() => lossAt(x, t), false, net.trainableVariables as tf.Variable[]);
      });
    }
    const final = evalLoss();
    assert.ok(initial > 0.3, `initial loss ${initial}`);
    assert.ok(final < 0.02 * initial, `loss ${initial} → ${final}`);
    opt.dispose();
    tf.dispose([xe, te]);
    net.dispose();
  });
});

describe("config registry and weights", () => {
  const x = tf.tensor2d([[0.5, -1], [2, 0.25]]);
  const lab = tf.tensor1d([0.3, 7]);
  after(() => tf.dispose([x, lab]));

  it("networkFromConfig(getConfig()) rebuilds the same network (JSON round trip)", () => {
    const a = createToyMLP({ width: 12, depth: 2, activation: "elu", seed: 9 });
    const cfg = JSON.parse(JSON.stringify(a.getConfig()));
    assert.equal(cfg.kind, "mlp");
    const b = networkFromConfig(cfg);
    assert.deepEqual(b.getConfig(), a.getConfig());
    assert.deepEqual(out(b, x, lab), out(a, x, lab));
    assert.throws(() => networkFromConfig({ kind: "resnet" }), /config.kind = "resnet".*"mlp"/);
    a.dispose();
    b.dispose();
  });

  it("getWeights / setWeights round trip gives identical outputs", () => {
    const a = createToyMLP({ width: 12, depth: 2, seed: 1 });
    const b = createToyMLP({ width: 12, depth: 2, seed: 2 });
    assert.notDeepEqual(out(a, x, lab), out(b, x, lab));
    const w = getWeights(a);
    // Trainable variables plus the fixed Fourier frequencies.
    assert.equal(w.length, a.trainableVariables.length + 1);
    assert.equal(w[w.length - 1].name, "mlp/embed/W");
    assert.ok(w.every((e) => e.values instanceof Float32Array && e.values.length === e.shape.reduce((p, d) => p * d, 1)));
    setWeights(b, w);
    assert.deepEqual(out(b, x, lab), out(a, x, lab));
    // A copy: changing the network afterwards does not change the extracted values.
    const before = w[0].values[0];
    a.trainableVariables[0].assign(tf.zerosLike(a.trainableVariables[0]));
    assert.equal(w[0].values[0], before);
    a.dispose();
    b.dispose();
  });

  it("setWeights rejects missing, unknown, mis-shaped or non-finite weights and assigns nothing then", () => {
    const a = createToyMLP({ width: 12, depth: 2, seed: 1 });
    const w = getWeights(a);
    const before = out(a, x, lab);
    assert.throws(() => setWeights(a, w.slice(1)), /missing weights = \["mlp\/dense0\/kernel"\]/);
    assert.throws(() => setWeights(a, [...w, { name: "x/y", shape: [1], values: new Float32Array(1) }]), /unknown weights = \["x\/y"\]/);
    const wrongShape = w.map((e, i) => (i === 0 ? { ...e, shape: [e.shape[1], e.shape[0]] } : e));
    assert.throws(() => setWeights(a, wrongShape), /shape of "mlp\/dense0\/kernel" = \[12, 34\].*\[34, 12\]/);
    const nan = w.map((e, i) => (i === 2 ? { ...e, values: Float32Array.from(e.values, (v, j) => (j === 5 ? NaN : v + 1)) } : e));
    assert.throws(() => setWeights(a, nan), /"mlp\/dense1\/kernel"\[5\] = NaN/);
    const narrow = createToyMLP({ width: 8, depth: 2, seed: 1 });
    assert.throws(() => setWeights(narrow, w), /shape of "mlp\/dense0\/kernel"/);
    assert.deepEqual(out(a, x, lab), before);
    a.dispose();
    narrow.dispose();
  });
});

/**
 * A stand-in network that inverts the official wrapping exactly, as the reference vectors were made: it returns
 * `coef[b] · score_ref[b]` for fixed per-example coefficients and records the labels it was given.
 */
function standIn(score: number[][], coef: ArrayLike<number>): ScoreNetwork & { labels: number[] } {
  const net = {
    kind: "standin",
    labels: [] as number[],
    trainableVariables: [],
    stateVariables: [],
    variableNames: [],
    paramCount: 0,
    apply(_x: tf.Tensor, label: tf.Tensor) {
      net.labels = Array.from(label.dataSync());
      return tf.tidy(() => tf.tensor2d(score).mul(tf.tensor1d(Array.from(coef)).reshape([-1, 1])));
    },
    getConfig: () => ({ kind: "standin" }),
    dispose: () => undefined,
  };
  return net;
}

describe("scoreFnFromModel follows the official get_score_fn (section a inputs, exact GMM score)", () => {
  const make = (name: string): SDE => (name === "VESDE" ? new VESDE() : name === "VPSDE" ? new VPSDE() : new SubVPSDE());
  const x = tf.tensor2d(A.x);
  const t = tf.tensor1d(A.t);
  after(() => tf.dispose([x, t]));
  const score = (name: string): number[][] => A.per_sde[name].gmm_score;
  const std = (name: string): number[] => A.per_sde[name].marginal_std;

  it("VE continuous: label σ(t); output is the score (scaleBySigma false) or σ·score (default)", () => {
    const sde = make("VESDE");
    const plain = standIn(score("VESDE"), new Array(8).fill(1));
    assertClose(tf.tidy(() => scoreFnFromModel(sde, plain, { scaleBySigma: false })(x, t)), score("VESDE"), { what: "score" });
    assertClose(plain.labels, std("VESDE"), { what: "labels" });
    const scaled = standIn(score("VESDE"), std("VESDE"));
    assertClose(tf.tidy(() => scoreFnFromModel(sde, scaled)(x, t)), score("VESDE"), { what: "score /σ" });
  });

  it("VE discrete: label round((T − t)(N − 1)) indexing descending σ's", () => {
    const sde = make("VESDE") as VESDE;
    const N = sde.N;
    const labels = (A.t as number[]).map((tt) => {
      // torch.round: half to even.
      const v = (1 - Math.fround(tt)) * (N - 1);
      const r = Math.round(v);
      return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    });
    const sigmasDesc = Array.from(sde.discreteSigmas()).reverse();
    const plain = standIn(score("VESDE"), new Array(8).fill(1));
    assertClose(tf.tidy(() => scoreFnFromModel(sde, plain, { continuous: false, scaleBySigma: false })(x, t)), score("VESDE"));
    assert.deepEqual(plain.labels, labels);
    const scaled = standIn(score("VESDE"), labels.map((l) => sigmasDesc[l]));
    assertClose(tf.tidy(() => scoreFnFromModel(sde, scaled, { continuous: false })(x, t)), score("VESDE"), { what: "score /σ_i" });
  });

  for (const name of ["VPSDE", "subVPSDE"]) {
    it(`${name} continuous: label 999·t, score = −output/std`, () => {
      const net = standIn(score(name), std(name).map((s) => -s));
      assertClose(tf.tidy(() => scoreFnFromModel(make(name), net)(x, t)), score(name), { what: "score" });
      assertClose(net.labels, (A.t as number[]).map((v) => 999 * v), { what: "labels" });
      assert.throws(() => scoreFnFromModel(make(name), net, { scaleBySigma: true }), /scaleBySigma = true/);
    });
  }

  it("VP discrete: label t(N − 1) not rounded, std = sqrt(1 − ᾱ)[floor(t(N − 1))]", () => {
    const sde = make("VPSDE") as VPSDE;
    const ac = sde.alphasCumprod();
    const idx = A.per_sde.VPSDE.discretize_timestep_index as number[];
    const net = standIn(score("VPSDE"), idx.map((i) => -Math.sqrt(1 - ac[i])));
    assertClose(tf.tidy(() => scoreFnFromModel(sde, net, { continuous: false })(x, t)), score("VPSDE"), { what: "score" });
    assertClose(net.labels, (A.t as number[]).map((v) => 999 * v), { what: "labels" });
  });

  it("sub-VP discrete is treated as continuous (as the official code)", () => {
    const net = standIn(score("subVPSDE"), std("subVPSDE").map((s) => -s));
    assertClose(tf.tidy(() => scoreFnFromModel(make("subVPSDE"), net, { continuous: false })(x, t)), score("subVPSDE"));
    assertClose(net.labels, (A.t as number[]).map((v) => 999 * v));
  });

  it("wraps a real network without leaking tensors", async () => {
    const net = createToyMLP({ width: 8, depth: 1 });
    const sf = scoreFnFromModel(make("VESDE"), net);
    tf.dispose(sf(x, t));
    await assertNoLeak(() => tf.dispose(sf(x, t)), "score fn");
    net.dispose();
  });
});
