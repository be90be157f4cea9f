/**
 * Resuming training safely (issue #12): one trainer per checkpoint path (a lock naming its holder, a stale lock of a
 * killed run taken over), resume refused when a setting, a `meta` field or the batch shape differs, `steps` below
 * the checkpoint's step refused, temporary files of killed writes removed, an unwritable path refused before any
 * step, `gradClip: 0` refused.
 *
 * With SCORE_SDE_RESUME_CHILD set this file is the child process of the lock test: it trains "forever" on that
 * checkpoint path and prints one line per step.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { createToyMLP } from "../lib/models/mlp";
import type { ScoreNetwork } from "../lib/models/network";
import { VPSDE } from "../lib/sde";
import { eightGaussians } from "../lib/toy";
import { clipByGlobalNorm, loadCheckpoint, saveCheckpoint, toyBatchSource, train, Trainer, type TrainOptions } from "../lib/train";
import { lockCheckpoint, removeStaleTemps } from "../lib/train/checkpoint";
import { setup } from "./helpers";

function net(seed = 3): ScoreNetwork {
  return createToyMLP({ width: 8, depth: 2, embedding: "positional", embeddingDim: 8, seed });
}
function options(model: ScoreNetwork, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model,
    sde: new VPSDE(),
    batchSource: toyBatchSource(eightGaussians(), 16),
    steps: 6,
    seed: 5,
    optimizer: { lr: 1e-3 },
    emaDecay: 0.99,
    progress: false,
    ...extra,
  };
}

const CHILD = process.env.SCORE_SDE_RESUME_CHILD;

if (CHILD) {
  (async () => {
    await initBackend({ quiet: true });
    await train(options(net(), { steps: 1_000_000, checkpoint: { path: CHILD, every: 5 }, onStep: (s) => process.stdout.write(`${s.step}\n`) }));
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  let dir: string;
  before(async () => {
    await setup();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-resume-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Starts a child trainer on `ck` and resolves once it has written its first checkpoint (step 5). */
  async function startHolder(ck: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [__filename], { env: { ...process.env, SCORE_SDE_RESUME_CHILD: ck }, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child trainer wrote no checkpoint in 90 s: ${err}`)), 90000);
      let lines = 0;
      child.stdout!.on("data", (d: Buffer) => {
        lines += d.toString().split("\n").length - 1;
        // Step 5's checkpoint is written before step 6's line is printed.
        if (lines >= 7 && fs.existsSync(ck)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => reject(new Error(`the child trainer exited (${code}): ${err}`)));
    });
    return child;
  }

  const killed = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });

  describe("one trainer per checkpoint path", () => {
    it("a second trainer is refused naming the holder; a killed holder's lock is taken over with a message", async () => {
      const ck = path.join(dir, "locked.ckpt");
      const child = await startHolder(ck);
      try {
        const m = net();
        const steps: number[] = [];
        await assert.rejects(
          train(options(m, { steps: 100, checkpoint: { path: ck, every: 5 }, onStep: (s) => steps.push(s.step) })),
          (e: Error) => {
            assert.match(e.message, /is in use by another trainer/);
            assert.match(e.message, new RegExp(`pid ${child.pid} on ${os.hostname()}, started \\d{4}-\\d\\d-\\d\\dT`));
            return true;
          },
        );
        assert.deepEqual(steps, [], "the refused trainer did no step");
        // The holder is unharmed: still running, its lock in place.
        assert.equal(child.exitCode, null);
        assert.equal(JSON.parse(fs.readFileSync(`${ck}.lock`, "utf8")).pid, child.pid);
        m.dispose();
      } finally {
        await killed(child);
      }
      // SIGKILL left the lock behind; the next trainer takes it over, says so, and resumes the checkpoint.
      assert.ok(fs.existsSync(`${ck}.lock`));
      const c = loadCheckpoint(ck);
      const said: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => (said.push(String(chunk)), true)) as typeof process.stderr.write;
      const m = net(9);
      let r;
      try {
        r = await train(options(m, { steps: c.step + 2, checkpoint: { path: ck, every: 5 } }));
      } finally {
        process.stderr.write = write;
      }
      assert.match(said.join(""), new RegExp(`took over the stale lock of pid ${child.pid} .*no longer running`));
      assert.equal(r.startStep, c.step);
      assert.equal(r.step, c.step + 2);
      assert.ok(!fs.existsSync(`${ck}.lock`), "the lock is released at the end");
      r.trainer.dispose();
      m.dispose();
    });

    it("two train() calls on one path in one process: the second is refused; the lock is released on errors too", async () => {
      const ck = path.join(dir, "same-process.ckpt");
      const lock = lockCheckpoint(ck);
      const m = net();
      await assert.rejects(train(options(m, { checkpoint: { path: ck, every: 5 } })), /in use by this process/);
      lock.release();
      assert.ok(!fs.existsSync(`${ck}.lock`));
      // A run that fails (here: a bad batch) releases the lock, so the next one starts.
      await assert.rejects(train(options(m, { checkpoint: { path: ck, every: 5 }, batchSource: () => tf.zeros([0, 2]) })), /shape = \[0, 2\]/);
      assert.ok(!fs.existsSync(`${ck}.lock`));
      const r = await train(options(m, { checkpoint: { path: ck, every: 5 } }));
      r.trainer.dispose();
      m.dispose();
    });
  });

  describe("resume checks", () => {
    it("another batch size, dataset or meta field is refused naming the field and both values", async () => {
      const ck = path.join(dir, "meta.ckpt");
      const m = net();
      const meta = { dist: "8gaussians", batchSize: 16 };
      (await train(options(m, { steps: 4, meta, checkpoint: { path: ck, every: 2 } }))).trainer.dispose();
      const resume = (extra: Partial<TrainOptions>) => train(options(net(), { steps: 8, meta, checkpoint: { path: ck, every: 2 }, ...extra }));
      await assert.rejects(resume({ meta: { ...meta, batchSize: 32 } }), /other settings .*meta\.batchSize: 16 vs 32/);
      await assert.rejects(resume({ meta: { ...meta, dist: "swissroll" } }), /meta\.dist: "8gaussians" vs "swissroll"/);
      await assert.rejects(resume({ meta: { dist: "8gaussians" } }), /meta\.batchSize: 16 vs undefined/);
      await assert.rejects(resume({ emaDecay: 0.9 }), /emaDecay: 0\.99 vs 0\.9/);
      // No meta at all: the batch shape recorded in the checkpoint still catches another batch size or dimension.
      await assert.rejects(resume({ batchSource: toyBatchSource(eightGaussians(), 32) }), /batch shape: \[16,2\] in the checkpoint .*meta\.ckpt vs \[32,2\]/);
      // The same settings resume.
      const r = await resume({});
      assert.equal(r.startStep, 4);
      r.trainer.dispose();
      m.dispose();
    });

    it("steps below the checkpoint's step is an error (not a silent no-op); equal steps do nothing", async () => {
      const ck = path.join(dir, "steps.ckpt");
      const m = net();
      (await train(options(m, { steps: 6, checkpoint: { path: ck, every: 3 } }))).trainer.dispose();
      await assert.rejects(train(options(net(), { steps: 4, checkpoint: { path: ck, every: 3 } })), /steps = 4 is not allowed; steps must be ≥ 6, the step of the checkpoint .*steps\.ckpt/);
      const r = await train(options(net(), { steps: 6, checkpoint: { path: ck, every: 3 } }));
      assert.deepEqual([r.startStep, r.step, r.losses.length], [6, 6, 0]);
      r.trainer.dispose();
      m.dispose();
    });
  });

  describe("checkpoint files", () => {
    it("temporary files of a killed write are removed on the next save and load; a live writer's are kept", async () => {
      const ck = path.join(dir, "tmp.ckpt");
      const t = new Trainer(options(net()));
      t.trainStep();
      t.save(ck);
      // A pid that certainly ran and is gone now.
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
      const stale = path.join(dir, `.tmp.ckpt.${dead}.1700000000000.tmp`);
      const live = path.join(dir, `.tmp.ckpt.${process.ppid}.1700000000001.tmp`);
      const unrelated = path.join(dir, `.other.ckpt.${dead}.1700000000000.tmp`);
      for (const f of [stale, live, unrelated]) fs.writeFileSync(f, "half a checkpoint");
      loadCheckpoint(ck);
      assert.ok(!fs.existsSync(stale), "load removes the dead writer's temporary file");
      assert.ok(fs.existsSync(live), "a running process's temporary file is kept");
      assert.ok(fs.existsSync(unrelated), "another file's temporary file is not touched");
      fs.writeFileSync(stale, "again");
      saveCheckpoint(ck, t.snapshot());
      assert.ok(!fs.existsSync(stale), "save removes it too");
      assert.deepEqual(removeStaleTemps(ck), []);
      // The lock's own private files of a lockCheckpoint killed mid-way go on the next lock.
      const lockLeft = [`${ck}.lock.${dead}.0123abcd.new`, `${ck}.lock.${dead}.0123abcd.stale`];
      for (const f of lockLeft) fs.writeFileSync(f, "{}");
      lockCheckpoint(ck).release();
      for (const f of lockLeft) assert.ok(!fs.existsSync(f), `${path.basename(f)} removed`);
      fs.rmSync(live);
      t.dispose();
    });

    it("an unwritable checkpoint path or a folder as the path fails before any step", async () => {
      const file = path.join(dir, "a-file");
      fs.writeFileSync(file, "x");
      const m = net();
      let batches = 0;
      const counting = { batchSource: toyBatchSource(eightGaussians(), 16) };
      const src: TrainOptions["batchSource"] = (k, rng) => (batches++, counting.batchSource(k, rng));
      await assert.rejects(
        train(options(m, { batchSource: src, checkpoint: { path: path.join(file, "sub", "x.ckpt"), every: 2 } })),
        /cannot write the checkpoint .*x\.ckpt.*not writable \((ENOTDIR|EEXIST)\); choose a writable checkpoint\.path/,
      );
      await assert.rejects(train(options(m, { batchSource: src, checkpoint: { path: dir, every: 2 } })), /is a directory; give the path of a checkpoint file/);
      assert.throws(() => loadCheckpoint(dir), /is a directory/);
      assert.equal(batches, 0, "no training step ran");
      m.dispose();
    });

    it("gradClip 0 (which would zero every gradient) is refused; < 0 still disables clipping", async () => {
      const m = net();
      await assert.rejects(train(options(m, { optimizer: { lr: 1e-3, gradClip: 0 } })), /optimizer\.gradClip = 0 is not allowed.*0 would zero every gradient/);
      const g = [tf.tensor1d([3, 4])];
      assert.throws(() => clipByGlobalNorm(g, 0), /maxNorm = 0 is not allowed/);
      const off = clipByGlobalNorm(g, -1);
      assert.deepEqual(Array.from(off.grads[0].dataSync()), [3, 4]);
      tf.dispose([...g, ...off.grads]);
      m.dispose();
    });
  });
}
