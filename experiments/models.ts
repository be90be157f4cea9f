/**
 * Small learned score models for the toy ablations (notebooks 03 and 05): the training engineer's toy recipe
 * (lib/train/toy-run.ts: toy MLP width 128 × 3, Fourier embedding of log σ for VE, positional 999t for VP / sub-VP,
 * Adam lr 2e-3, warm-up 100, clip 1, EMA 0.999, batch 512) on eightGaussians(radius 2, std 0.2), with the PAPER's
 * Table 2 loss: σ²-weighted continuous DSM (likelihood_weighting = False, as the Table 2 configs) and mean reduction.
 *
 * After training, the EMA weights (the official evaluation weights) are saved compactly as
 * data/results/ablations/models/<sde>_seed<k>.json (config + base64 float32 weights + loss curve); full-mode runs
 * load them when the spec is unchanged. Quick mode trains tiny models in memory and writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { createToyMLP, getWeights, networkFromConfig, setWeights, scoreFnFromModel } from "../models";
import type { NamedWeight, ScoreNetwork } from "../models";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../sde";
import type { ScoreFn } from "../sde";
import { eightGaussians } from "../toy";
import type { GaussianMixture } from "../toy";
import { train, toyBatchSource } from "../train";
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

export function makeToySde(name: ToySde): SDE {
  return name === "VE" ? new VESDE() : name === "VP" ? new VPSDE() : new SubVPSDE();
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

interface StoredModel {
  spec: ToyModelSpec;
  modelConfig: Record<string, unknown>;
  weights: { name: string; shape: number[]; base64: string }[];
  lossCurve: { step: number; loss: number }[];
  trainSeconds: number;
  backend: string;
  createdAt: string;
}

export function modelFile(spec: ToyModelSpec): string {
  return path.join(resultsDir(), "models", `${spec.sde}_seed${spec.seed}.json`);
}

function wrap(spec: ToyModelSpec, model: ScoreNetwork, lossCurve: { step: number; loss: number }[], trainSeconds: number, loaded: boolean): TrainedToyModel {
  const sde = makeToySde(spec.sde);
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
    const st = JSON.parse(fs.readFileSync(file, "utf8")) as StoredModel;
    if (JSON.stringify(st.spec) === JSON.stringify(spec)) {
      const model = networkFromConfig(st.modelConfig);
      const ws: NamedWeight[] = st.weights.map((w) => {
        const buf = Buffer.from(w.base64, "base64");
        return { name: w.name, shape: w.shape, values: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) };
      });
      setWeights(model, ws);
      return wrap(spec, model, st.lossCurve, st.trainSeconds, true);
    }
  }
  const sde = makeToySde(spec.sde);
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
  });
  res.trainer.useEmaWeights();
  res.trainer.dispose();
  const curve = blockMeans(res.history, Math.max(1, Math.floor(spec.steps / 100)));
  if (!quick) {
    const stored: StoredModel = {
      spec,
      modelConfig: model.getConfig(),
      weights: getWeights(model).map((w) => ({ name: w.name, shape: w.shape, base64: Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength).toString("base64") })),
      lossCurve: curve,
      trainSeconds: res.wallSeconds,
      backend: tf.getBackend(),
      createdAt: new Date().toISOString(),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(stored) + "\n");
  }
  return wrap(spec, model, curve, res.wallSeconds, false);
}

/** The models the notebooks use: VE, VP, sub-VP (seed 1) and a second, independently trained VP (seed 2, App. D.5). */
export function ablationModelSpecs(quick: boolean): ToyModelSpec[] {
  return [toyModelSpec("VE", 1, quick), toyModelSpec("VP", 1, quick), toyModelSpec("subVP", 1, quick), toyModelSpec("VP", 2, quick)];
}
