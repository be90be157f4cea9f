/**
 * Training: Adam / warm-up / clipping / EMA against their defining formulas, determinism, checkpoints (round trip,
 * truncated, corrupt, other architecture), exact resume — in-process and after SIGKILL of a training child
 * process — NaN stop, validation and memory.
 *
 * This file is also the child process of the SIGKILL test: with SCORE_SDE_TRAIN_CHILD set it trains and prints
 * one JSON line per step instead of registering tests.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { createToyMLP } from "../lib/models/mlp";
import type { ScoreNetwork } from "../lib/models/network";
import { createRng } from "../lib/random";
import { VESDE, VPSDE } from "../lib/sde";
import { eightGaussians } from "../lib/toy";
import {
  Adam,
  EMA,
  Trainer,
  TrainingDivergedError,
  clipByGlobalNorm,
  datasetBatchSource,
  formatDuration,
  loadCheckpoint,
  loadWeightsInto,
  saveCheckpoint,
  toyBatchSource,
  train,
  warmupLr,
  type BatchSource,
  type TrainOptions,
} from "../lib/train";
import { setup } from "./helpers";

/** A small VP setup shared by the tests and the child process: tiny MLP, 8 Gaussians, batch 32. */
function smallNet(seed = 3): ScoreNetwork {
  return createToyMLP({ width: 16, depth: 2, embedding: "positional", embeddingDim: 8, seed });
}
function smallOptions(model: ScoreNetwork, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model,
    sde: new VPSDE(),
    batchSource: toyBatchSource(eightGaussians(), 32),
    steps: 20,
    seed: 11,
    optimizer: { lr: 1e-3, warmup: 5, gradClip: 1 },
    emaDecay: 0.99,
    progress: false,
    ...extra,
  };
}

const CHILD = process.env.SCORE_SDE_TRAIN_CHILD;

if (CHILD) {
  // Child mode (SIGKILL test): train "forever" with frequent checkpoints, one line per step.
  (async () => {
    await initBackend({ quiet: true });
    const model = smallNet();
    await train(
      smallOptions(model, {
        steps: 100000,
        checkpoint: { path: CHILD, every: 7 },
        onStep: (s) => process.stdout.write(JSON.stringify({ step: s.step, loss: s.loss }) + "\n"),
      }),
    );
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  let dir: string;
  before(async () => {
    await setup();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-train-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("optimiser pieces", () => {
    it("Adam follows torch.optim.Adam's update (three steps on fixed gradients, float64 reference)", () => {
      const p = tf.variable(tf.tensor1d([0.5, -1, 2]));
      const adam = new Adam([p], { lr: 0.1 });
      const gs = [
        [1, -2, 0.5],
        [0.3, 0.1, -4],
        [-1, 1e-3, 2],
      ];
      // float64 reference of the same recursion
      const ref = [0.5, -1, 2];
      const m = [0, 0, 0];
      const v = [0, 0, 0];
      gs.forEach((g, k) => {
        const step = k + 1;
        for (let i = 0; i < 3; i++) {
          m[i] = 0.9 * m[i] + 0.1 * g[i];
          v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
          const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** step) + 1e-8;
          ref[i] -= (0.1 / (1 - 0.9 ** step)) * (m[i] / denom);
        }
        const gt = tf.tensor1d(g);
        adam.apply([gt]);
        gt.dispose();
      });
      const got = Array.from(p.dataSync());
      got.forEach((x, i) => assert.ok(Math.abs(x - ref[i]) < 1e-6, `p[${i}] ${x} vs ${ref[i]}`));
      assert.equal(adam.step, 3);
      // First Adam step is lr·sign(g) (m̂/√v̂ = g/|g|): checked from a fresh optimiser.
      const q = tf.variable(tf.tensor1d([0, 0]));
      const a2 = new Adam([q], { lr: 0.01 });
      const g = tf.tensor1d([3, -0.2]);
      a2.apply([g]);
      assert.deepEqual(Array.from(q.dataSync()).map((x) => Math.round(x * 1e6) / 1e6), [-0.01, 0.01]);
      tf.dispose([p, q, g]);
      adam.dispose();
      a2.dispose();
    });

    it("Adam state round-trips exactly", () => {
      const p = tf.variable(tf.tensor1d([1, 2]));
      const a = new Adam([p]);
      const g = tf.tensor1d([0.5, -0.25]);
      a.apply([g]);
      const s = a.getState();
      const b = new Adam([p]);
      b.setState(s);
      assert.deepEqual(b.getState(), s);
      assert.throws(() => b.setState({ step: 1, m: [new Float32Array(3)], v: [new Float32Array(2)] }), /m\[0\]\.length = 3/);
      tf.dispose([p, g]);
      a.dispose();
      b.dispose();
    });

    it("warm-up is lr·min(step/warmup, 1), with lr 0 at step 0 as the official code", () => {
      assert.equal(warmupLr(2e-4, 0, 5000), 0);
      assert.equal(warmupLr(2e-4, 2500, 5000), 1e-4);
      assert.equal(warmupLr(2e-4, 9000, 5000), 2e-4);
      assert.equal(warmupLr(2e-4, 0, 0), 2e-4);
    });

    it("global-norm clipping scales by maxNorm/(‖g‖+1e-6) only when above, and is off for maxNorm < 0", () => {
      const g = [tf.tensor1d([3, 0]), tf.tensor2d([[0, 4]])]; // global norm 5
      const c = clipByGlobalNorm(g, 1);
      assert.ok(Math.abs(c.norm - 5) < 1e-6);
      const total = Math.hypot(...c.grads.flatMap((t) => Array.from(t.dataSync())));
      assert.ok(Math.abs(total - 5 / (5 + 1e-6)) < 1e-6, `clipped norm ${total}`);
      const off = clipByGlobalNorm(g, -1);
      assert.deepEqual(Array.from(off.grads[0].dataSync()), [3, 0]);
      const big = clipByGlobalNorm(g, 10);
      assert.deepEqual(Array.from(big.grads[1].dataSync()), [0, 4]);
      tf.dispose([...g, ...c.grads, ...off.grads, ...big.grads]);
    });

    it("EMA uses the official decay warm-up min(decay, (1+n)/(10+n))", () => {
      const p = tf.variable(tf.tensor1d([0]));
      const ema = new EMA([p], 0.9);
      // Move the parameter to 1 and keep it there: shadow_n = 1 − ∏_{k≤n} decay_k.
      p.assign(tf.tensor1d([1]));
      let prod = 1;
      for (let n = 1; n <= 30; n++) {
        const d = Math.min(0.9, (1 + n) / (10 + n));
        assert.ok(Math.abs(ema.nextDecay() - d) < 1e-15);
        ema.update();
        prod *= d;
        assert.ok(Math.abs(ema.shadow[0].dataSync()[0] - (1 - prod)) < 1e-6, `n=${n}`);
      }
      assert.equal(ema.numUpdates, 30);
      assert.throws(() => new EMA([p], 1.5), /decay = 1.5/);
      ema.dispose();
      p.dispose();
    });

    it("formats durations for the progress line", () => {
      assert.equal(formatDuration(4.2), "4s");
      assert.equal(formatDuration(75), "1m15s");
      assert.equal(formatDuration(3725), "1h02m");
    });
  });

  describe("training loop", () => {
    it("is deterministic for a seed, reports progress, and lowers the loss", async () => {
      const logs: number[] = [];
      const a = smallNet();
      const ra = await train(smallOptions(a, { steps: 60, logEvery: 20, onLog: (l) => logs.push(l.step) }));
      const b = smallNet();
      const rb = await train(smallOptions(b, { steps: 60 }));
      assert.deepEqual(ra.losses, rb.losses);
      assert.deepEqual(logs, [20, 40, 60]);
      assert.equal(ra.step, 60);
      assert.ok(ra.stepsPerSecond > 0 && ra.wallSeconds > 0);
      // VP DSM with reduce-mean starts near E‖ε̂ − ε‖²/d ≈ 1 for ε̂ ≈ 0 and must fall with training.
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      assert.ok(mean(ra.losses.slice(40)) < mean(ra.losses.slice(0, 10)), `${mean(ra.losses.slice(0, 10))} → ${mean(ra.losses.slice(40))}`);
      ra.trainer.dispose();
      rb.trainer.dispose();
      a.dispose();
      b.dispose();
    });

    it("resumes in-process from a checkpoint with exactly the losses of an uninterrupted run", async () => {
      const ck = path.join(dir, "resume.ckpt");
      const full = smallNet();
      const rf = await train(smallOptions(full, { steps: 30 }));
      const m1 = smallNet();
      const r1 = await train(smallOptions(m1, { steps: 17, checkpoint: { path: ck, every: 5 } }));
      assert.equal(loadCheckpoint(ck).step, 17);
      const m2 = smallNet(99); // different init: everything must come from the checkpoint
      const r2 = await train(smallOptions(m2, { steps: 30, checkpoint: { path: ck, every: 5 } }));
      assert.equal(r2.startStep, 17);
      assert.equal(r2.resumedFrom, ck);
      assert.deepEqual(r2.history, rf.history);
      assert.deepEqual([...r1.losses, ...r2.losses], rf.losses);
      assert.deepEqual(Array.from(m2.trainableVariables[0].dataSync()), Array.from(full.trainableVariables[0].dataSync()));
      for (const r of [rf, r1, r2]) r.trainer.dispose();
      [full, m1, m2].forEach((m) => m.dispose());
    });

    it("survives SIGKILL of a training process: resumed losses equal an uninterrupted run exactly", async () => {
      const ck = path.join(dir, "killed.ckpt");
      const child = spawn(process.execPath, [__filename], { env: { ...process.env, SCORE_SDE_TRAIN_CHILD: ck }, stdio: ["ignore", "pipe", "pipe"] });
      const seen: { step: number; loss: number }[] = [];
      let buf = "";
      let err = "";
      child.stderr.on("data", (d) => (err += d));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("child did not reach step 40 in 60 s: " + err)), 60000);
        child.stdout.on("data", (d) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            seen.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
          if (seen.length >= 40 && child.exitCode === null && !child.killed) {
            child.kill("SIGKILL"); // mid-run, at an arbitrary point relative to the checkpoint writes
            clearTimeout(timer);
          }
        });
        child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
      });
      const c = loadCheckpoint(ck); // a complete checkpoint survives
      assert.ok(c.step >= 35 && c.step % 7 === 0, `checkpoint step ${c.step}`);
      const target = c.step + 15;
      const m = smallNet(5);
      const resumed = await train(smallOptions(m, { steps: target, checkpoint: { path: ck, every: 7 } }));
      assert.equal(resumed.startStep, c.step);
      const ref = smallNet();
      const full = await train(smallOptions(ref, { steps: target }));
      assert.deepEqual(resumed.history, full.history);
      assert.deepEqual(resumed.losses, full.losses.slice(c.step));
      // What the killed child printed before dying matches too.
      const n = Math.min(seen.length, target);
      assert.deepEqual(seen.slice(0, n).map((s) => s.loss), full.losses.slice(0, n));
      resumed.trainer.dispose();
      full.trainer.dispose();
      m.dispose();
      ref.dispose();
    });

    it("stops on a NaN loss naming the step, and keeps the last good checkpoint", async () => {
      const ck = path.join(dir, "nan.ckpt");
      const base = toyBatchSource(eightGaussians(), 32);
      const poisoned: BatchSource = (step, rng) => {
        const x = base(step, rng);
        if (step !== 9) return x;
        const bad = tf.tidy(() => x.add(tf.scalar(NaN)));
        x.dispose();
        return bad;
      };
      const m = smallNet();
      const before = tf.memory().numTensors;
      await assert.rejects(
        train(smallOptions(m, { steps: 20, batchSource: poisoned, checkpoint: { path: ck, every: 4 } })),
        (e: unknown) => e instanceof TrainingDivergedError && e.step === 9 && /NaN at step 9/.test(e.message) && /step 8\) is kept/.test(e.message),
      );
      // The failing train() freed its optimiser and EMA state (and left the model alone).
      assert.equal(tf.memory().numTensors, before);
      const c = loadCheckpoint(ck);
      assert.equal(c.step, 8);
      assert.ok(c.losses?.every(Number.isFinite));
      m.dispose();
    });

    it("holds a constant number of tensors over 2000 steps; a trainer frees all it made", async () => {
      const m = smallNet();
      const t0 = tf.memory().numTensors;
      new Trainer(smallOptions(m)).dispose();
      assert.equal(tf.memory().numTensors, t0, "Trainer construction + dispose");
      const trainer = new Trainer(smallOptions(m));
      for (let i = 0; i < 10; i++) trainer.trainStep();
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 2000; i++) trainer.trainStep();
      assert.equal(tf.memory().numTensors, n0, "tensors leaked per step");
      assert.equal(trainer.step, 2010);
      trainer.dispose();
      m.dispose();
    });

    it("runs the network in training mode with the training rng (dropout), unless loss.training is false", async () => {
      const m = smallNet();
      const seen: { training?: boolean; rng: boolean }[] = [];
      const spy: ScoreNetwork = {
        kind: m.kind,
        trainableVariables: m.trainableVariables,
        variableNames: m.variableNames,
        stateVariables: m.stateVariables,
        paramCount: m.paramCount,
        getConfig: () => m.getConfig(),
        dispose: () => m.dispose(),
        apply: (x, l, o) => {
          seen.push({ training: o?.training, rng: o?.rng !== undefined });
          return m.apply(x, l, o);
        },
      };
      (await train(smallOptions(spy, { steps: 2 }))).trainer.dispose();
      (await train(smallOptions(spy, { steps: 1, loss: { training: false } }))).trainer.dispose();
      assert.deepEqual(seen, [{ training: true, rng: true }, { training: true, rng: true }, { training: false, rng: true }]);
      m.dispose();
    });

    it("datasetBatchSource draws reproducible rows of the dataset through the rng", () => {
      const data = tf.tensor2d([[0, 0], [1, 10], [2, 20], [3, 30], [4, 40]]);
      const src = datasetBatchSource(data, 7);
      const a = src(0, createRng(5));
      const b = src(0, createRng(5));
      const rows = a.arraySync() as number[][];
      assert.deepEqual(rows, b.arraySync());
      assert.deepEqual(a.shape, [7, 2]);
      for (const [i, y] of rows) assert.ok(Number.isInteger(i) && i >= 0 && i <= 4 && y === 10 * i, `row [${i}, ${y}]`);
      tf.dispose([data, a, b]);
    });

    it("rejects bad settings with named errors", async () => {
      const m = smallNet();
      const bad = async (extra: Partial<TrainOptions>, re: RegExp) => assert.rejects(train(smallOptions(m, extra)), re);
      await bad({ optimizer: { lr: 0 } }, /lr = 0 is not allowed/);
      await bad({ optimizer: { lr: -1e-3 } }, /lr = -0.001 is not allowed/);
      await bad({ optimizer: { beta1: 1 } }, /beta1 = 1 is not allowed/);
      await bad({ optimizer: { warmup: -1 } }, /optimizer.warmup = -1/);
      await bad({ optimizer: { gradClip: NaN } }, /gradClip = NaN/);
      await bad({ steps: -5 }, /steps = -5/);
      await bad({ steps: 2.5 }, /steps = 2.5/);
      await bad({ emaDecay: 2 }, /emaDecay = 2/);
      await bad({ checkpoint: { path: path.join(dir, "x.ckpt"), every: 0 } }, /checkpoint.every = 0/);
      await bad({ seed: 0.5 }, /seed = 0.5/);
      await bad({ batchSource: (() => tf.zeros([0, 2])) as BatchSource, steps: 1 }, /shape = \[0, 2\]/);
      assert.throws(() => toyBatchSource(eightGaussians(), 0), /batchSize = 0 is not allowed/);
      assert.throws(() => datasetBatchSource(tf.zeros([4, 2]), -3), /batchSize = -3/);
      // Architecture errors come from the model constructor (models engineer), named the same way.
      assert.throws(() => createToyMLP({ width: -4 }), /width = -4/);
      assert.throws(() => createToyMLP({ activation: "swishy" as "silu" }), /activation = "swishy"/);
      m.dispose();
    });
  });

  describe("checkpoints", () => {
    it("round-trip weights, EMA, optimiser and RNG; loadWeightsInto gives the EMA weights", async () => {
      const ck = path.join(dir, "rt.ckpt");
      const m = smallNet();
      const r = await train(smallOptions(m, { steps: 12, checkpoint: { path: ck, every: 100 } }));
      const c = loadCheckpoint(ck);
      assert.equal(c.step, 12);
      assert.deepEqual(c.rng, r.trainer.rng.getState());
      assert.deepEqual(c.adam?.m[1], r.trainer.optimizer.getState().m[1]);
      const e = smallNet(77);
      loadWeightsInto(ck, e);
      assert.deepEqual(Array.from(e.trainableVariables[2].dataSync()), Array.from(r.trainer.ema.shadow[2].dataSync()));
      loadWeightsInto(ck, e, { ema: false });
      assert.deepEqual(Array.from(e.trainableVariables[2].dataSync()), Array.from(m.trainableVariables[2].dataSync()));
      // No stray temp files from the atomic writes.
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("rt.ckpt")), ["rt.ckpt"]);
      r.trainer.dispose();
      m.dispose();
      e.dispose();
    });

    it("truncated, corrupt, foreign and other-architecture files give clear errors", async () => {
      const ck = path.join(dir, "bad.ckpt");
      const m = smallNet();
      const t = new Trainer(smallOptions(m));
      t.trainStep();
      t.save(ck);
      const raw = fs.readFileSync(ck);
      const trunc = path.join(dir, "trunc.ckpt");
      fs.writeFileSync(trunc, raw.subarray(0, raw.length - 100));
      assert.throws(() => loadCheckpoint(trunc), /truncated: \d+ of \d+ body bytes/);
      const corrupt = path.join(dir, "corrupt.ckpt");
      const flipped = Buffer.from(raw);
      flipped[raw.length - 50] ^= 0x01;
      fs.writeFileSync(corrupt, flipped);
      assert.throws(() => loadCheckpoint(corrupt), /corrupt: SHA-256/);
      const foreign = path.join(dir, "foreign.ckpt");
      fs.writeFileSync(foreign, '{"hello": 1}');
      assert.throws(() => loadCheckpoint(foreign), /not a score-sde-ts checkpoint/);
      assert.throws(() => loadCheckpoint(path.join(dir, "missing.ckpt")), /no such file/);
      const wide = createToyMLP({ width: 24, depth: 2, embedding: "positional", embeddingDim: 8, seed: 3 });
      assert.throws(() => loadWeightsInto(ck, wide), /another architecture.*width: 16 vs 24/);
      // Same architecture, other SDE: resuming refuses instead of silently mixing runs.
      const t2 = new Trainer(smallOptions(smallNet(), { sde: new VESDE() }));
      assert.throws(() => t2.restore(loadCheckpoint(ck), ck), /other settings.*sde/);
      // A checkpoint file written by saveCheckpoint with no training state cannot be resumed.
      const bare = path.join(dir, "bare.ckpt");
      const snap = t.snapshot();
      saveCheckpoint(bare, { ...snap, ema: undefined });
      assert.throws(() => t.restore(loadCheckpoint(bare), bare), /lacks training state/);
      t.dispose();
      t2.dispose();
      m.dispose();
      wide.dispose();
    });
  });
}
