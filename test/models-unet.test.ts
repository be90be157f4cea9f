/** The small NCSN++/DDPM++-style U-Net: shapes, seeding, gradients (cpu parity, finite differences), save/load. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { VESDE } from "../lib/sde";
import { Trainer } from "../lib/train";
import {
  AUTO_CHECKPOINT_BYTES,
  ScoreNetwork,
  UNetConfig,
  UNetNetwork,
  createUNet,
  getWeights,
  groupsFor,
  networkFromConfig,
  scoreFnFromModel,
  setWeights,
} from "../lib/models";
import { assertClose, assertNoLeak, setup } from "./helpers";

let main = "";
before(async () => {
  await setup();
  main = tf.getBackend();
});

/** A tiny U-Net on 8×8×2 images (two levels, attention at 4×4) so every test is quick. */
const TINY: UNetConfig = { channels: 8, channelMult: [1, 2], numResBlocks: 1, groups: 2, imageSize: 8, imageChannels: 2, initScale: 1 };

function data(shape: number[], seed: number): { x: tf.Tensor; label: tf.Tensor } {
  const rng = createRng(seed);
  return { x: rng.normal(shape), label: rng.uniform([shape[0]]).mul(10).add(0.05) };
}

function out(net: ScoreNetwork, x: tf.Tensor, label: tf.Tensor): Float32Array {
  return tf.tidy(() => net.apply(x, label).dataSync() as Float32Array);
}

/** Σ net(x)·R for a fixed R: a scalar that depends on every output element. */
function loss(net: ScoreNetwork, x: tf.Tensor, label: tf.Tensor): tf.Scalar {
  const y = net.apply(x, label);
  return y.mul(createRng(99).normal(y.shape)).sum() as tf.Scalar;
}

function grads(net: ScoreNetwork, x: tf.Tensor, label: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const { grads: g } = tf.variableGrads(() => loss(net, x, label), net.trainableVariables as tf.Variable[]);
    return net.trainableVariables.map((v) => g[v.name].dataSync() as Float32Array);
  });
}

describe("U-Net", () => {
  for (const [size, ch, mult] of [[28, 1, [1, 2, 2]], [32, 3, [1, 2, 2, 2]]] as const) {
    it(`runs forward and backward on [2, ${size}, ${size}, ${ch}]`, () => {
      const net = createUNet({ channels: 8, channelMult: [...mult], numResBlocks: 1, groups: 2, imageSize: size, imageChannels: ch, initScale: 1 });
      const { x, label } = data([2, size, size, ch], 1);
      const y = tf.tidy(() => net.apply(x, label));
      assert.deepEqual(y.shape, [2, size, size, ch]);
      const g = grads(net, x, label);
      assert.equal(g.length, net.trainableVariables.length);
      g.forEach((gi, i) => {
        assert.ok(gi.every(Number.isFinite), net.variableNames[i]);
        assert.ok(gi.some((v) => v !== 0), `zero gradient for ${net.variableNames[i]}`);
      });
      tf.dispose([x, label, y]);
      net.dispose();
    });
  }

  it("is deterministic from the seed; default init (initScale 0) outputs exactly 0 as the official zero-init", () => {
    const { x, label } = data([2, 8, 8, 2], 2);
    const a = createUNet({ ...TINY, seed: 1 });
    const b = createUNet({ ...TINY, seed: 1 });
    const c = createUNet({ ...TINY, seed: 2 });
    assert.deepEqual(out(a, x, label), out(b, x, label));
    assert.notDeepEqual(out(a, x, label), out(c, x, label));
    assert.deepEqual([...a.variableNames], [...b.variableNames]);
    assert.equal(new Set(a.variableNames).size, a.variableNames.length);
    assert.ok(a.variableNames.includes("unet/mid.attn/q/kernel"), "attention at the lowest resolution");
    const z = createUNet({ ...TINY, initScale: undefined });
    assert.ok(out(z, x, label).every((v) => v === 0));
    [a, b, c, z].forEach((n) => n.dispose());
    tf.dispose([x, label]);
  });

  it("gradients on the main backend equal those on the cpu backend", async () => {
    const net = createUNet({ ...TINY, seed: 3 });
    const { x, label } = data([2, 8, 8, 2], 3);
    const gMain = grads(net, x, label);
    await tf.setBackend("cpu");
    let gCpu: Float32Array[];
    try {
      gCpu = grads(net, x, label);
    } finally {
      await tf.setBackend(main);
    }
    gMain.forEach((g, i) => {
      const m = gCpu[i].reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      assertClose(g, Array.from(gCpu[i]), { rtol: 1e-3, atol: 1e-4 * Math.max(1, m), what: net.variableNames[i] });
    });
    tf.dispose([x, label]);
    net.dispose();
  });

  it("the parameter gradient matches a finite difference along a random direction", () => {
    const net = createUNet({ ...TINY, seed: 4 });
    const { x, label } = data([2, 8, 8, 2], 4);
    const g = grads(net, x, label);
    const vars = net.trainableVariables;
    const dirs = vars.map((v, i) => createRng(200 + i).normal(v.shape));
    const saved = vars.map((v) => v.clone());
    const h = 1e-3;
    const at = (s: number): number => {
      tf.tidy(() => vars.forEach((v, i) => v.assign(saved[i].add(dirs[i].mul(s)))));
      return tf.tidy(() => loss(net, x, label).dataSync()[0]);
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    tf.tidy(() => vars.forEach((v, i) => v.assign(saved[i])));
    let an = 0;
    dirs.forEach((d, i) => {
      const dv = d.dataSync();
      for (let k = 0; k < dv.length; k++) an += g[i][k] * dv[k];
    });
    assert.ok(Math.abs(an - fd) <= 2e-2 * Math.abs(an) + 1e-2, `analytic ${an} vs finite difference ${fd}`);
    tf.dispose([...dirs, ...saved, x, label]);
    net.dispose();
  });

  it("config and weights round-trip: the rebuilt network gives identical outputs", () => {
    const a = createUNet({ ...TINY, embedding: "fourier", seed: 5 });
    const cfg = JSON.parse(JSON.stringify(a.getConfig()));
    assert.equal(cfg.kind, "unet");
    const b = networkFromConfig({ ...cfg, seed: 6 });
    const { x, label } = data([2, 8, 8, 2], 5);
    assert.notDeepEqual(out(a, x, label), out(b, x, label));
    const w = JSON.parse(JSON.stringify(getWeights(a).map((e) => ({ ...e, values: Array.from(e.values) }))));
    setWeights(b, w.map((e: { name: string; shape: number[]; values: number[] }) => ({ ...e, values: Float32Array.from(e.values) })));
    assert.deepEqual(out(b, x, label), out(a, x, label));
    assert.ok(getWeights(a).some((e) => e.name === "unet/embed/W"), "the Fourier frequencies are saved");
    const mlpCfg = createUNet({ ...TINY, channels: 4, channelMult: [1] });
    assert.throws(() => setWeights(mlpCfg, getWeights(a)), /setWeights/);
    [a, b, mlpCfg].forEach((n) => n.dispose());
    tf.dispose([x, label]);
  });

  it("positional embedding, centerInput and dropout behave as documented", () => {
    const { x, label } = data([2, 8, 8, 2], 7);
    const p = createUNet({ ...TINY, embedding: "positional", seed: 7 });
    assert.ok(out(p, x, label).every(Number.isFinite));
    const c = createUNet({ ...TINY, centerInput: true, seed: 7 });
    const n = createUNet({ ...TINY, centerInput: false, seed: 7 });
    const x2 = tf.tidy(() => x.mul(2).sub(1));
    assertClose(out(c, x, label), Array.from(out(n, x2, label)), { rtol: 1e-5, atol: 1e-5, what: "centerInput" });
    const d = createUNet({ ...TINY, dropout: 0.5, seed: 8 });
    const evalOut = out(d, x, label);
    assert.deepEqual(out(d, x, label), evalOut, "no dropout outside training");
    const tr = (seed: number) => tf.tidy(() => d.apply(x, label, { training: true, rng: createRng(seed) }).dataSync());
    assert.deepEqual(tr(1), tr(1));
    assert.notDeepEqual(tr(1), evalOut);
    assert.throws(() => tf.tidy(() => d.apply(x, label, { training: true })), /opts.rng/);
    [p, c, n, d].forEach((m) => m.dispose());
    tf.dispose([x, label, x2]);
  });

  it("gradient checkpointing gives the same outputs and gradients (with dropout), and leaks nothing", async () => {
    const { x, label } = data([2, 8, 8, 2], 11);
    const plain = createUNet({ ...TINY, dropout: 0.3, seed: 12, gradientCheckpointing: false });
    const remat = createUNet({ ...TINY, dropout: 0.3, seed: 12, gradientCheckpointing: true });
    const run = (net: ScoreNetwork) =>
      tf.tidy(() => {
        const rng = createRng(5);
        const { value, grads: g } = tf.variableGrads(
          () => loss({ ...net, apply: (a: tf.Tensor, b: tf.Tensor) => net.apply(a, b, { training: true, rng }) } as ScoreNetwork, x, label),
          net.trainableVariables as tf.Variable[],
        );
        return { value: value.dataSync()[0], grads: net.trainableVariables.map((v) => g[v.name].dataSync() as Float32Array) };
      });
    const a = run(plain);
    const b = run(remat);
    assert.ok(Math.abs(a.value - b.value) <= 1e-5 * Math.abs(a.value), `loss ${a.value} vs ${b.value}`);
    a.grads.forEach((g, i) => assertClose(b.grads[i], Array.from(g), { rtol: 1e-4, atol: 1e-5, what: remat.variableNames[i] }));
    // Input gradient (as a likelihood's VJP takes it) through checkpointed blocks.
    const gx = (net: ScoreNetwork) => tf.tidy(() => tf.grad((z: tf.Tensor) => loss(net, z, label))(x).dataSync() as Float32Array);
    assertClose(gx(remat), Array.from(gx(plain)), { rtol: 1e-4, atol: 1e-5, what: "dL/dx" });
    run(remat);
    await assertNoLeak(() => void run(remat), "checkpointed backward");
    [plain, remat].forEach((n) => n.dispose());
    tf.dispose([x, label]);
  });

  it('gradientCheckpointing "auto" (default) checkpoints only above AUTO_CHECKPOINT_BYTES of estimated memory, an estimate on the safe side', async () => {
    const cfg: UNetConfig = { channels: 16, channelMult: [1, 2], imageSize: 16, imageChannels: 1, attentionResolutions: [8], seed: 3 };
    const batch = 8;
    const x0 = createRng(4).uniform([batch, 16, 16, 1]);
    // A train step's peak heap above what it started with, and its kernel calls.
    const step = async (net: UNetNetwork) => {
      const trainer = new Trainer({ model: net, sde: new VESDE({ sigmaMin: 0.01, sigmaMax: 50 }), batchSource: () => x0.clone(), seed: 5 });
      trainer.trainStep();
      const before = tf.memory().numBytes;
      const p = await tf.profile(() => void trainer.trainStep());
      trainer.dispose();
      return { peak: p.peakBytes - before, kernels: p.kernels.length };
    };
    const auto = createUNet(cfg);
    const plain = createUNet({ ...cfg, gradientCheckpointing: false });
    const remat = createUNet({ ...cfg, gradientCheckpointing: true });
    assert.equal(auto.getConfig().gradientCheckpointing, "auto");
    const [a, p, r] = [await step(auto), await step(plain), await step(remat)];
    // At this batch "auto" does not checkpoint: the plain step's kernels, not the recomputing one's.
    assert.equal(auto.checkpoints(batch), false);
    assert.equal(a.kernels, p.kernels);
    assert.ok(r.kernels > p.kernels && r.peak < p.peak / 2, `checkpointed: ${r.kernels} kernels, peak ${r.peak} vs ${p.kernels}, ${p.peak}`);
    // The estimate errs on the safe side, by less than 60 %, on this backend (with or without the fast kernels).
    const ratio = auto.trainStepBytes(batch) / p.peak;
    assert.ok(ratio >= 1 && ratio < 1.6, `trainStepBytes(${batch}) / measured peak = ${ratio.toFixed(3)}`);
    // The switch is at the batch whose estimate passes AUTO_CHECKPOINT_BYTES; true / false never switch.
    const bStar = Math.floor(AUTO_CHECKPOINT_BYTES / auto.trainStepBytes(1));
    assert.equal(auto.checkpoints(bStar), false);
    assert.equal(auto.checkpoints(bStar + 1), true);
    assert.deepEqual([plain.checkpoints(bStar + 1), remat.checkpoints(1)], [false, true]);
    // Checkpointing changes no weight: a run saved with it on (the old default) resumes with "auto"; a real change
    // of architecture is still refused.
    const sde = new VESDE({ sigmaMin: 0.01, sigmaMax: 50 });
    const saved = new Trainer({ model: remat, sde, batchSource: () => x0.clone(), seed: 5 });
    saved.trainStep();
    const snap = saved.snapshot();
    const resumed = new Trainer({ model: auto, sde, batchSource: () => x0.clone(), seed: 5 });
    resumed.restore(snap);
    assert.equal(resumed.step, 1);
    const wider = createUNet({ ...cfg, channels: 8 });
    const other = new Trainer({ model: wider, sde, batchSource: () => x0.clone() });
    assert.throws(() => other.restore(snap), /another architecture.*channels: 16 vs 8/);
    [saved, resumed, other].forEach((t) => t.dispose());
    wider.dispose();
    [auto, plain, remat].forEach((n) => n.dispose());
    x0.dispose();
  });

  it("rejects bad configurations and inputs with errors naming the parameter", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ imageSize: 30, channelMult: [1, 2, 2] }, /imageSize = 30.*divisible by .* 4/],
      [{ attentionResolutions: [5] }, /attentionResolutions = \[5\]/],
      [{ dropout: 1 }, /dropout = 1/],
      [{ channels: 0 }, /channels = 0/],
      [{ channelMult: [1, 0] }, /channelMult = \[1, 0\]/],
      [{ embedding: "learned" }, /embedding = "learned"/],
      [{ activation: "gelu" }, /activation = "gelu"/],
      [{ imageChannels: undefined }, /imageChannels/],
      [{ numResBlock: 2 }, /config key = "numResBlock"/],
      [{ gradientCheckpointing: 1 }, /gradientCheckpointing = 1.*true, false or "auto"/],
    ];
    for (const [patch, re] of bad) assert.throws(() => createUNet({ ...TINY, ...patch } as UNetConfig), re, JSON.stringify(patch));
    const net = createUNet(TINY);
    assert.throws(() => net.apply(tf.zeros([2, 8, 8, 1]), tf.ones([2])), /x.shape = \[2, 8, 8, 1\].*\[B, 8, 8, 2\]/);
    assert.throws(() => net.apply(tf.zeros([2, 8, 8, 2]), tf.ones([3])), /label.shape = \[3\]/);
    net.dispose();
    assert.equal(groupsFor(96, 32), 24);
    assert.equal(groupsFor(128, 32), 32);
    assert.equal(groupsFor(8, 2), 2);
    assert.equal(groupsFor(2, 32), 1);
  });

  it("no tensors leak over repeated forward/backward or through scoreFnFromModel", async () => {
    const net = createUNet({ ...TINY, dropout: 0.1 });
    const { x, label } = data([2, 8, 8, 2], 9);
    const rng = createRng(1);
    const step = () =>
      tf.tidy(() => {
        const { value } = tf.variableGrads(() => net.apply(x, label, { training: true, rng }).square().mean() as tf.Scalar);
        return value.dataSync()[0];
      });
    step();
    const sf = scoreFnFromModel(new VESDE(), net);
    const t = tf.tensor1d([0.3, 0.9]);
    tf.dispose(sf(x, t));
    await assertNoLeak(() => {
      for (let i = 0; i < 2; i++) step();
      tf.dispose(sf(x, t));
    }, "U-Net");
    tf.dispose([x, label, t]);
    net.dispose();
  });
});
