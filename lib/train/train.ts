/**
 * The training loop of the official `run_lib.train` / `get_step_fn`, for any `ScoreNetwork`:
 * per step, draw a batch (`batchSource(step, rng)`), evaluate the loss (its u and z come from the same rng, after
 * the batch), back-propagate, clip the global gradient norm, apply Adam with the warmed-up learning rate, update
 * the EMA. Every random number comes from one seeded `Rng` whose state is checkpointed, so a run that is killed
 * and resumed from its last checkpoint produces exactly the losses of an uninterrupted run.
 *
 * Steps are counted from 0: "step k" is the update made when k updates are already done; it uses batchSource(k),
 * learning rate lr·min(k / warmup, 1), and its loss is losses[k]. A checkpoint "at step n" holds the state after n
 * completed updates.
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { checkDiscreteLoss, dsmLoss, type LossOptions } from "../losses";
import type { ScoreNetwork } from "../models/network";
import { createRng, type Rng } from "../random";
import { SDE } from "../sde";
import { checkNonNegativeInt, checkPositiveInt, fail } from "../validate";
import {
  assignState,
  checkCompatible,
  configDiff,
  loadCheckpoint,
  lockCheckpoint,
  readVariable,
  saveCheckpoint,
  variableTable,
  type CheckpointData,
  type CheckpointLock,
} from "./checkpoint";
import { Adam, CLIP_ALLOWED, EMA, clipCoefficient, globalNorm, resolveAdamConfig, warmupLr, type AdamConfig } from "./optim";
import { Progress } from "./progress";
import { inKernel } from "../viz/notebook";

/** Returns the batch [B, ...dims] for step `step`, drawing only from `rng`. The trainer disposes it. */
export type BatchSource = (step: number, rng: Rng) => tf.Tensor;

/** Loss settings of a run (SPEC §1.5); defaults are the official continuous DSM with reduce-mean, σ² weighting. */
export type TrainLossOptions = Pick<LossOptions, "reduceMean" | "likelihoodWeighting" | "eps" | "continuous" | "scaleBySigma"> & {
  /**
   * Run the network in training mode (dropout on, as the official model.train()), its masks drawn from the
   * training rng after the loss's own draws, so resumed runs stay exact. Default true.
   */
  training?: boolean;
};

export interface OptimizerOptions extends AdamConfig {
  /** Linear warm-up length in steps (official 5000; 0 = none). Default 0 here: toy runs are short. */
  warmup?: number;
  /** Maximum global gradient norm (official 1.0); < 0 disables clipping; 0 is refused. Default 1. */
  gradClip?: number;
}

export interface StepInfo {
  /** 0-based index of the step just done. */
  step: number;
  loss: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export interface LogInfo {
  /** Completed steps. */
  step: number;
  totalSteps: number;
  /** Mean loss over the steps since the previous log. */
  loss: number;
  stepsPerSecond: number;
  elapsedSeconds: number;
  secondsLeft: number;
}

export interface CheckpointOptions {
  /**
   * File to write (atomically) and to resume from. train() holds `<path>.lock` while it runs, so a second trainer on
   * the same path is refused (naming the holder); the folder must be writable (checked before any step).
   */
  path: string;
  /** Save every this many steps (and at the end). */
  every: number;
  /** Continue from `path` when it exists (default true). */
  resume?: boolean;
}

export interface TrainOptions {
  model: ScoreNetwork;
  sde: SDE;
  batchSource: BatchSource;
  /** Total number of steps to reach (a resumed run does only the remaining ones). */
  steps: number;
  /** Seed of the training RNG (default 42, the official seed). Ignored when resuming: the RNG state is restored. */
  seed?: number;
  loss?: TrainLossOptions;
  optimizer?: OptimizerOptions;
  /** EMA decay (official 0.999 VE, 0.9999 VP/sub-VP). Default 0.999. */
  emaDecay?: number;
  checkpoint?: CheckpointOptions;
  /** Steps between log events (default 100). */
  logEvery?: number;
  /**
   * One progress line updated in place (lib/train/progress.ts): in a notebook an output replaced on every log
   * event, in a terminal a `\r` line, elsewhere a plain line every 10 s. Default: in a notebook or a terminal.
   */
  progress?: boolean;
  /** Label of the progress line (e.g. "VP"). */
  progressLabel?: string;
  onStep?: (info: StepInfo) => void;
  onLog?: (info: LogInfo) => void;
  /**
   * Extra data recorded in the checkpoint's config (dataset, batch size, …): compared on resume like every other
   * setting, so put here only what defines the run (no dates or host names).
   */
  meta?: Record<string, unknown>;
}

export interface TrainResult {
  /** Losses of the steps run by this call (losses[i] is step startStep + i). */
  losses: number[];
  /** Losses of every step since step 0 (restored from the checkpoint when resuming). */
  history: number[];
  startStep: number;
  /** Completed steps at the end. */
  step: number;
  wallSeconds: number;
  stepsPerSecond: number;
  resumedFrom?: string;
  /** The trainer (optimizer, EMA, rng); call `trainer.dispose()` when done with its state. */
  trainer: Trainer;
}

/** Error thrown when the loss or the gradient stops being finite. The parameters are not updated by that step. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly value: number,
    what: string,
    checkpointNote: string,
  ) {
    super(`train: ${what} is ${value} at step ${step} (0-based; ${step} steps had completed); training stopped, parameters not updated by this step. ${checkpointNote}`);
    this.name = "TrainingDivergedError";
  }
}

const WHERE = "train";

/**
 * Holds the training state of one model: optimizer, EMA, rng, step and loss history. `train()` drives it; a
 * notebook may also call `step()` itself.
 */
export class Trainer {
  readonly model: ScoreNetwork;
  readonly sde: SDE;
  readonly optimizer: Adam;
  readonly ema: EMA;
  readonly rng: Rng;
  readonly history: number[] = [];
  private readonly vars: tf.Variable[];
  private readonly lossOpts: TrainLossOptions;
  private readonly warmup: number;
  private readonly gradClip: number;
  private readonly batchSource: BatchSource;
  private readonly config: Record<string, unknown>;
  lastCheckpointStep: number | undefined;
  checkpointPath: string | undefined;
  /** Shape of the run's batches (its first step's, or the checkpoint's), recorded in checkpoints. */
  private batchShape: number[] | undefined;
  /** After restore: the checkpoint, whose batch shape the next batch must have. */
  private batchShapeFrom: string | undefined;

  constructor(o: Omit<TrainOptions, "steps">) {
    if (!o || typeof o !== "object") fail(WHERE, "options", o, "an object");
    if (!o.model || !Array.isArray(o.model.trainableVariables) || typeof o.model.apply !== "function") fail(WHERE, "model", o.model, "a ScoreNetwork");
    if (!(o.sde instanceof SDE)) fail(WHERE, "sde", o.sde, "an SDE (VESDE, VPSDE, SubVPSDE or one registered with registerSde)");
    if (typeof o.batchSource !== "function") fail(WHERE, "batchSource", o.batchSource, "a function (step, rng) => tensor [B, ...dims]");
    const seed = o.seed ?? 42;
    if (!Number.isSafeInteger(seed)) fail(WHERE, "seed", seed, "a safe integer");
    const opt = o.optimizer ?? {};
    const adamCfg = resolveAdamConfig(opt, WHERE);
    this.warmup = checkNonNegativeInt(WHERE, "optimizer.warmup", opt.warmup ?? 0);
    this.gradClip = opt.gradClip ?? 1;
    if (typeof this.gradClip !== "number" || Number.isNaN(this.gradClip) || this.gradClip === 0) fail(WHERE, "optimizer.gradClip", this.gradClip, CLIP_ALLOWED);
    const emaDecay = o.emaDecay ?? 0.999;
    if (typeof emaDecay !== "number" || !(emaDecay >= 0 && emaDecay <= 1)) fail(WHERE, "emaDecay", emaDecay, "a number in [0, 1]");
    this.lossOpts = { ...(o.loss ?? {}) };
    if (this.lossOpts.continuous === false) checkDiscreteLoss(WHERE, "loss.continuous", o.sde);
    this.model = o.model;
    this.sde = o.sde;
    this.batchSource = o.batchSource;
    this.vars = o.model.trainableVariables.slice();
    if (this.vars.length === 0) fail(WHERE, "model.trainableVariables", "[]", "at least one variable");
    this.optimizer = new Adam(this.vars, adamCfg);
    this.ema = new EMA(this.vars, emaDecay);
    this.rng = createRng(seed);
    this.config = {
      sde: o.sde.getConfig(),
      loss: this.lossOpts,
      optimizer: { ...adamCfg, warmup: this.warmup, gradClip: this.gradClip },
      emaDecay,
      seed,
      ...(o.meta ? { meta: o.meta } : {}),
    };
  }

  /** Completed steps. */
  get step(): number {
    return this.history.length;
  }

  /** One training step; returns its loss. Throws TrainingDivergedError on a non-finite loss or gradient. */
  trainStep(): StepInfo {
    const k = this.step;
    const batch = this.batchSource(k, this.rng);
    if (!(batch instanceof tf.Tensor)) fail(WHERE, `batchSource(${k}) result`, batch, "a tf.Tensor [B, ...dims]");
    let lossValue: number;
    let grads: tf.Tensor[];
    try {
      if (batch.rank < 2 || batch.shape[0] === 0) fail(WHERE, `batchSource(${k}) shape`, batch.shape, "[B, ...dims] with B ≥ 1");
      if (this.batchShape === undefined) this.batchShape = batch.shape.slice();
      if (this.batchShapeFrom !== undefined) {
        const want = this.batchShape;
        if (batch.shape.length !== want.length || batch.shape.some((d, i) => d !== want[i])) {
          throw new Error(
            `${WHERE}: batch shape: [${want}] in the checkpoint ${this.batchShapeFrom} vs [${batch.shape}] from batchSource(${k}) in this run ` +
              "(a resumed run must keep the batch size and data dimensions; train into another checkpoint path to change them)",
          );
        }
        this.batchShapeFrom = undefined;
      }
      const { value, grads: g } = tf.variableGrads(
        () =>
          dsmLoss({
            ...this.lossOpts,
            training: this.lossOpts.training ?? true,
            dropoutRng: this.rng,
            sde: this.sde,
            model: this.model,
            x0: batch,
            rng: this.rng,
          }).loss,
        this.vars,
      );
      lossValue = value.dataSync()[0];
      value.dispose();
      grads = this.vars.map((v) => g[v.name]);
    } finally {
      batch.dispose();
    }
    const note = this.checkpointNote();
    if (!Number.isFinite(lossValue)) {
      tf.dispose(grads);
      throw new TrainingDivergedError(k, lossValue, "the loss", note);
    }
    // Clipping as clipByGlobalNorm, with the scale applied inside the Adam update (no scaled copies).
    const norm = globalNorm(grads);
    if (!Number.isFinite(norm)) {
      tf.dispose(grads);
      throw new TrainingDivergedError(k, norm, "the gradient norm", note);
    }
    const lr = warmupLr(this.optimizer.config.lr, k, this.warmup);
    this.optimizer.apply(grads, lr, clipCoefficient(norm, this.gradClip));
    tf.dispose(grads);
    this.ema.update();
    this.history.push(lossValue);
    return { step: k, loss: lossValue, lr, gradNorm: norm };
  }

  private checkpointNote(): string {
    if (!this.checkpointPath) return "No checkpoint was configured.";
    return this.lastCheckpointStep === undefined
      ? `No checkpoint had been written yet (${this.checkpointPath}).`
      : `The last good checkpoint (step ${this.lastCheckpointStep}) is kept at ${this.checkpointPath}.`;
  }

  /** Everything needed to resume. */
  snapshot(): CheckpointData {
    const a = this.optimizer.getState();
    const e = this.ema.getState();
    return {
      step: this.step,
      modelConfig: this.model.getConfig(),
      variables: variableTable(this.model),
      trainableCount: this.vars.length,
      params: this.model.stateVariables.map((s) => readVariable(s.variable)),
      ema: { decay: this.ema.decay, numUpdates: e.numUpdates, shadow: e.shadow },
      adam: { config: { ...this.optimizer.config }, step: a.step, m: a.m, v: a.v },
      rng: this.rng.getState(),
      config: this.batchShape ? { ...this.config, batchShape: this.batchShape.slice() } : this.config,
      losses: this.history.slice(),
    };
  }

  save(path: string): void {
    saveCheckpoint(path, this.snapshot());
    this.lastCheckpointStep = this.step;
  }

  /**
   * Restores a checkpoint; it must be for this architecture and the same SDE / loss / optimiser settings and `meta`
   * (dataset, batch size, …); the batches of the resumed run must have the shape the checkpoint's run used.
   */
  restore(c: CheckpointData, file = "checkpoint"): void {
    checkCompatible(c, this.model, file);
    const { batchShape, ...settings } = c.config ?? {};
    const diff = configDiff(stripSeed(settings), stripSeed(this.config));
    if (diff.length) {
      throw new Error(
        `${file}: trained with other settings (checkpoint vs this run): ${diff.join("; ")}. ` +
          "Resume with the checkpoint's settings, or train into another checkpoint path (or with checkpoint.resume = false to start over)",
      );
    }
    if (!c.ema || !c.adam || !c.rng || !c.losses) throw new Error(`${file}: lacks training state (ema, optimizer, rng or losses); it cannot be resumed`);
    if (c.losses.length !== c.step) throw new Error(`${file}: corrupt: ${c.losses.length} losses for step ${c.step}`);
    assignState(this.model, c.params);
    this.ema.setState({ numUpdates: c.ema.numUpdates, shadow: c.ema.shadow });
    this.optimizer.setState({ step: c.adam.step, m: c.adam.m, v: c.adam.v });
    this.rng.setState(c.rng);
    this.history.length = 0;
    this.history.push(...c.losses);
    this.lastCheckpointStep = c.step;
    if (Array.isArray(batchShape) && batchShape.every((d) => Number.isInteger(d))) {
      this.batchShape = (batchShape as number[]).slice();
      this.batchShapeFrom = file;
    }
  }

  /** Copies the EMA weights into the model (the official evaluation weights). Training should not continue after. */
  useEmaWeights(): void {
    this.ema.copyTo();
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema.dispose();
  }
}

function stripSeed(c: Record<string, unknown>): Record<string, unknown> {
  // The seed only matters before step 0; a resumed run continues from the stored RNG state.
  const { seed: _seed, ...rest } = c ?? {};
  return rest;
}


/**
 * Trains `model` for `steps` total steps (resuming from `checkpoint.path` when it exists), with progress output and
 * callbacks. Returns the losses and timing; the trainer in the result holds the optimiser and EMA state.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const steps = checkNonNegativeInt(WHERE, "steps", o.steps);
  const logEvery = checkPositiveInt(WHERE, "logEvery", o.logEvery ?? 100);
  const ck = o.checkpoint;
  if (ck !== undefined) {
    if (!ck || typeof ck.path !== "string" || ck.path === "") fail(WHERE, "checkpoint.path", ck?.path, "a file path");
    checkPositiveInt(WHERE, "checkpoint.every", ck.every);
  }
  // Claimed before anything else: refuses a second trainer on the same path, and fails now (not at the first save,
  // after the work) when the folder cannot be written.
  const lock: CheckpointLock | undefined = ck ? lockCheckpoint(ck.path, WHERE) : undefined;
  if (lock?.tookOver) process.stderr.write(`${WHERE}: ${lock.tookOver}\n`);
  try {
    return await trainLocked(o, steps, logEvery);
  } finally {
    lock?.release();
  }
}

async function trainLocked(o: TrainOptions, steps: number, logEvery: number): Promise<TrainResult> {
  const ck = o.checkpoint;
  const trainer = new Trainer(o);
  let resumedFrom: string | undefined;
  try {
    if (ck) {
      trainer.checkpointPath = ck.path;
      if ((ck.resume ?? true) && fs.existsSync(ck.path)) {
        trainer.restore(loadCheckpoint(ck.path), ck.path);
        resumedFrom = ck.path;
        if (steps < trainer.step) {
          fail(
            WHERE,
            "steps",
            steps,
            `≥ ${trainer.step}, the step of the checkpoint ${ck.path} it resumes (steps is the total to reach, not the number to add; ` +
              "use another checkpoint path or checkpoint.resume = false to start over)",
          );
        }
      }
    }
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  const startStep = trainer.step;
  const progress = o.progress ?? (inKernel() || Boolean(process.stderr.isTTY)) ? new Progress({ total: steps, start: startStep, label: o.progressLabel ?? "training" }) : undefined;
  const t0 = Date.now();
  let logSum = 0;
  let logCount = 0;
  const losses: number[] = [];
  try {
    while (trainer.step < steps) {
      const info = trainer.trainStep();
      losses.push(info.loss);
      o.onStep?.(info);
      logSum += info.loss;
      logCount++;
      const done = trainer.step;
      if (ck && (done % ck.every === 0 || done === steps)) trainer.save(ck.path);
      if (done % logEvery === 0 || done === steps) {
        const elapsed = (Date.now() - t0) / 1000;
        const rate = (done - startStep) / Math.max(elapsed, 1e-9);
        const log: LogInfo = {
          step: done,
          totalSteps: steps,
          loss: logSum / logCount,
          stepsPerSecond: rate,
          elapsedSeconds: elapsed,
          secondsLeft: (steps - done) / Math.max(rate, 1e-9),
        };
        logSum = 0;
        logCount = 0;
        o.onLog?.(log);
        if (done === steps) progress?.finish(done, { loss: log.loss });
        else progress?.update(done, { loss: log.loss });
      }
      // Let the event loop breathe (notebook displays, signals) without slowing the loop measurably.
      if (trainer.step % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    // The caller never sees this trainer: free its optimiser and EMA state before reporting the error.
    trainer.dispose();
    throw e;
  }
  const wallSeconds = (Date.now() - t0) / 1000;
  return {
    losses,
    history: trainer.history.slice(),
    startStep,
    step: trainer.step,
    wallSeconds,
    stepsPerSecond: (trainer.step - startStep) / Math.max(wallSeconds, 1e-9),
    resumedFrom,
    trainer,
  };
}



/** Batches of `batchSize` points from a toy distribution (anything with `sample(n, rng)`). */
export function toyBatchSource(dist: { sample(n: number, rng: Rng): tf.Tensor }, batchSize: number): BatchSource {
  checkPositiveInt("toyBatchSource", "batchSize", batchSize);
  if (!dist || typeof dist.sample !== "function") fail("toyBatchSource", "dist", dist, "a distribution with sample(n, rng)");
  return (_step, rng) => dist.sample(batchSize, rng);
}

/**
 * Batches of `batchSize` rows drawn uniformly with replacement from a dataset tensor [n, ...dims] (the indices come
 * from rng, so batches are reproducible and resumable).
 */
export function datasetBatchSource(data: tf.Tensor, batchSize: number): BatchSource {
  checkPositiveInt("datasetBatchSource", "batchSize", batchSize);
  if (!(data instanceof tf.Tensor) || data.rank < 2 || data.shape[0] === 0) fail("datasetBatchSource", "data.shape", data?.shape, "[n, ...dims] with n ≥ 1");
  const n = data.shape[0];
  return (_step, rng) => {
    const u = rng.uniformArray(batchSize);
    const idx = Int32Array.from(u, (x) => Math.min(Math.floor(x * n), n - 1));
    return tf.tidy(() => tf.gather(data, tf.tensor1d(idx, "int32")));
  };
}


