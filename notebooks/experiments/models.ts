/**
 * Small learned score models for the toy ablations (notebooks 03 and 05): the training engineer's toy recipe
 * (experiments/toy-run.ts: toy MLP width 128 × 3, Fourier embedding of log σ for VE, positional 999t for VP / sub-VP,
 * Adam lr 2e-3, warm-up 100, clip 1, EMA 0.999, batch 512) on eightGaussians(radius 2, std 0.2), with the PAPER's
 * Table 2 loss: σ²-weighted continuous DSM (likelihood_weighting = False, as the Table 2 configs) and mean reduction.
 *
 * After training, the EMA weights (the official evaluation weights) are stored with the library's checkpoint module
 * (lib/train/checkpoint: atomic, checksummed) as data/results/ablations/models/<sde>_seed<k>.ckpt, with the spec, the
 * loss curve and the training time in its `config`; full-mode runs load them when the spec is unchanged. Quick mode
 * trains tiny models in memory and writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { createToyMLP, networkFromConfig, scoreFnFromModel } from "../lib/models";
import type { ScoreNetwork } from "../lib/models";
import { sdeFromConfig, type SDE } from "../lib/sde";
import type { ScoreFn } from "../lib/sde";
import { eightGaussians } from "../lib/toy";
import type { GaussianMixture } from "../lib/toy";
import { assignState, checkCompatible, loadCheckpoint, saveCheckpoint, train, toyBatchSource, variableTable } from "../lib/train";
import { recomputeForced, resultsDir } from "./results";

export type ToySde = "VE" | "VP" | "subVP";

export interface ToyModelSpec {
  sde: ToySde;
  seed: number;
  steps: number;
  batch: number;
  width: number;
  depth: number;
  lr: number;
  warmup: number;
  ema: number;
  likelihoodWeighting: boolean;
  /** The data: eightGaussians(radius, std). */
  radius: number;
  std: number;
}

export function toyModelSpec(sde: ToySde, seed: number, quick: boolean): ToyModelSpec {
  return {
    sde,
    seed,
    steps: quick ? 150 : 2500,
    batch: quick ? 256 : 512,
    width: quick ? 64 : 128,
    depth: quick ? 2 : 3,
    lr: 2e-3,
    warmup: 100,
    ema: 0.999,
    likelihoodWeighting: false,
    radius: 2,
    std: 0.2,
  };
}

export function toyModelData(spec: Pick<ToyModelSpec, "radius" | "std">): GaussianMixture {
  return eightGaussians({ radius: spec.radius, std: spec.std });
}

export interface TrainedToyModel {
  spec: ToyModelSpec;
  sde: SDE;
  model: ScoreNetwork;
  score: ScoreFn;
  /** Loss every `every` steps (mean over the block), from the training run. */
  lossCurve: { step: number; loss: number }[];
  trainSeconds: number;
  /** True when the weights came from the stored file. */
  loaded: boolean;
  dispose(): void;
}

/** What a stored model's checkpoint `config` holds besides the weights. */
export interface StoredToyModel {
  spec: ToyModelSpec;
  lossCurve: { step: number; loss: number }[];
  trainSeconds: number;
  backend: string;
  createdAt: string;
}

export function modelFile(spec: ToyModelSpec): string {
  return path.join(resultsDir(), "models", `${spec.sde}_seed${spec.seed}.ckpt`);
}

/** Stores the model's current weights (the EMA weights after training) and the record of its training. */
export function saveToyModel(file: string, model: ScoreNetwork, stored: StoredToyModel): void {
  saveCheckpoint(file, {
    step: stored.spec.steps,
    modelConfig: model.getConfig(),
    variables: variableTable(model),
    trainableCount: model.trainableVariables.length,
    params: model.stateVariables.map((s) => Float32Array.from(s.variable.dataSync() as Float32Array)),
    config: { ...stored },
  });
}

/** Loads a stored model when it was trained for `spec` (else undefined: the caller trains it). */
export function loadToyModel(file: string, spec: ToyModelSpec): { model: ScoreNetwork; stored: StoredToyModel } | undefined {
  const c = loadCheckpoint(file);
  const stored = c.config as unknown as StoredToyModel;
  if (JSON.stringify(stored.spec) !== JSON.stringify(spec)) return undefined;
  const model = networkFromConfig(c.modelConfig);
  try {
    checkCompatible(c, model, file);
    assignState(model, c.params);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, stored };
}

function wrap(spec: ToyModelSpec, model: ScoreNetwork, lossCurve: { step: number; loss: number }[], trainSeconds: number, loaded: boolean): TrainedToyModel {
  const sde = sdeFromConfig({ kind: spec.sde });
  return { spec, sde, model, score: scoreFnFromModel(sde, model), lossCurve, trainSeconds, loaded, dispose: () => model.dispose() };
}

/** Blocks of `every` losses averaged (a readable loss curve). */
export function blockMeans(losses: readonly number[], every: number): { step: number; loss: number }[] {
  const out: { step: number; loss: number }[] = [];
  for (let s = 0; s < losses.length; s += every) {
    const blk = losses.slice(s, s + every);
    out.push({ step: s + blk.length, loss: blk.reduce((a, b) => a + b, 0) / blk.length });
  }
  return out;
}

/**
 * Trains the model of `spec` (or loads it: full mode, same spec, file present, not SCORE_SDE_RECOMPUTE). Evaluation
 * uses the EMA weights. `onProgress(step, loss)` is called every 100 steps.
 */
export async function trainOrLoadToyModel(spec: ToyModelSpec, quick: boolean, onProgress?: (step: number, loss: number) => void): Promise<TrainedToyModel> {
  const file = modelFile(spec);
  if (!quick && !recomputeForced() && fs.existsSync(file)) {
    const loaded = loadToyModel(file, spec);
    if (loaded) return wrap(spec, loaded.model, loaded.stored.lossCurve, loaded.stored.trainSeconds, true);
  }
  const sde = sdeFromConfig({ kind: spec.sde });
  const model = createToyMLP({ dim: 2, width: spec.width, depth: spec.depth, embedding: spec.sde === "VE" ? "fourier" : "positional", embeddingDim: 32, seed: spec.seed });
  const res = await train({
    model,
    sde,
    batchSource: toyBatchSource(toyModelData(spec), spec.batch),
    steps: spec.steps,
    seed: spec.seed,
    loss: { likelihoodWeighting: spec.likelihoodWeighting, reduceMean: true },
    optimizer: { lr: spec.lr, warmup: spec.warmup, gradClip: 1 },
    emaDecay: spec.ema,
    logEvery: 100,
    onLog: (l) => onProgress?.(l.step, l.loss),
    progressLabel: `${spec.sde} seed ${spec.seed}: training`,
  });
  res.trainer.useEmaWeights();
  res.trainer.dispose();
  const curve = blockMeans(res.history, Math.max(1, Math.floor(spec.steps / 100)));
  if (!quick) saveToyModel(file, model, { spec, lossCurve: curve, trainSeconds: res.wallSeconds, backend: tf.getBackend(), createdAt: new Date().toISOString() });
  return wrap(spec, model, curve, res.wallSeconds, false);
}

/** The models the notebooks use: VE, VP, sub-VP (seed 1) and a second, independently trained VP (seed 2, App. D.5). */
export function ablationModelSpecs(quick: boolean): ToyModelSpec[] {
  return [toyModelSpec("VE", 1, quick), toyModelSpec("VP", 1, quick), toyModelSpec("subVP", 1, quick), toyModelSpec("VP", 2, quick)];
}
