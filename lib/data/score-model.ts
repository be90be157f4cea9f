/**
 * A trained image score model loaded from a checkpoint file (the trainer's checkpoint, or the EMA-only file of a
 * committed pretrained model): the network with its EMA weights (the official evaluation weights), the SDE it was
 * trained for, the score function with the training's label convention, and the data scaling needed to turn samples
 * back into images. The file path comes from the caller (the registry of committed models lives outside lib).
 */
import * as tf from "@tensorflow/tfjs";
import { networkFromConfig } from "../models/registry";
import type { ScoreNetwork } from "../models/network";
import { scoreFnFromModel } from "../models/score";
import type { SDE, ScoreFn } from "../sde";
import { assignState, checkCompatible, loadCheckpoint, saveCheckpoint, type CheckpointData } from "../train/checkpoint";
import { dataInverseScaler, dataScaler } from "./dataset";
import { sdeFromImageConfig, type ImageSdeConfig } from "./config";

export interface LoadedScoreModel {
  readonly file: string;
  readonly model: ScoreNetwork;
  readonly sde: SDE;
  /** Score s(x, t) with the training's continuous / scale-by-σ convention (network in evaluation mode). */
  readonly score: ScoreFn;
  /** Official data.centered: the model works on [−1, 1] (true) or [0, 1] data. */
  readonly centered: boolean;
  /** [height, width, channels] of one image. */
  readonly imageShape: [number, number, number];
  /** Completed training steps of the weights. */
  readonly step: number;
  /** Dataset name recorded at training, when any. */
  readonly dataset?: string;
  /** The checkpoint's training configuration (SDE, loss, optimiser, meta). */
  readonly config: Record<string, unknown>;
  /** Model space → images in [0, 1] (inverse scaler, then clipped to [0, 1]). */
  toImages(x: tf.Tensor): tf.Tensor;
  /** Images in [0, 1] → model space (the data scaler). */
  fromImages(x: tf.Tensor): tf.Tensor;
  /**
   * The same SDE discretised with N steps (the samplers take their step count from sde.N) and the score for it:
   * continuous-time labels do not depend on N, so the network is shared.
   */
  withSteps(N: number): { sde: SDE; score: ScoreFn };
  dispose(): void;
}

/**
 * Loads `file` (a score-sde-ts checkpoint written by the image trainer) and returns the model with its EMA weights
 * (`ema: false` for the raw weights of a training checkpoint).
 */
export function loadScoreModel(file: string, o: { ema?: boolean } = {}): LoadedScoreModel {
  const c = loadCheckpoint(file);
  const cfg = c.config ?? {};
  const sdeCfg = cfg.sde as ImageSdeConfig | undefined;
  const meta = (cfg.meta ?? {}) as { dataset?: string; data?: { centered?: boolean } };
  const centered = meta.data?.centered;
  if (!sdeCfg || typeof sdeCfg.kind !== "string") throw new Error(`${file}: the checkpoint records no SDE (config.sde); not an image score model`);
  if (typeof centered !== "boolean") throw new Error(`${file}: the checkpoint records no data scaling (config.meta.data.centered); not written by the image trainer`);
  const mc = c.modelConfig as { imageSize?: number; imageChannels?: number };
  if (!Number.isInteger(mc.imageSize) || !Number.isInteger(mc.imageChannels)) throw new Error(`${file}: the model config has no image size (imageSize, imageChannels); not an image model`);
  const model = networkFromConfig(c.modelConfig);
  try {
    checkCompatible(c, model, file);
    const useEma = (o.ema ?? true) && c.ema !== undefined;
    assignState(model, useEma && c.ema ? [...c.ema.shadow, ...c.params.slice(c.trainableCount)] : c.params);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const sde = sdeFromImageConfig(sdeCfg);
  const loss = (cfg.loss ?? {}) as { continuous?: boolean; scaleBySigma?: boolean };
  const scoreFor = (s: SDE) => scoreFnFromModel(s, model, { continuous: loss.continuous ?? true, scaleBySigma: s.kind === "VE" ? loss.scaleBySigma ?? true : undefined });
  const score = scoreFor(sde);
  const inv = dataInverseScaler(centered);
  const fwd = dataScaler(centered);
  return {
    file,
    model,
    sde,
    score,
    centered,
    imageShape: [mc.imageSize as number, mc.imageSize as number, mc.imageChannels as number],
    step: c.step,
    dataset: meta.dataset,
    config: cfg,
    toImages: (x) => tf.tidy(() => inv(x).clipByValue(0, 1)),
    fromImages: (x) => fwd(x),
    withSteps: (N) => {
      const s = sdeFromImageConfig({ ...sdeCfg, N });
      return { sde: s, score: scoreFor(s) };
    },
    dispose: () => model.dispose(),
  };
}

/**
 * Writes the EMA weights of a training checkpoint as a small evaluation checkpoint (no optimiser state, rng or
 * losses: a quarter of the size), with `record` (e.g. steps, wall time, backend) added to config.meta.
 */
export function saveEmaCheckpoint(src: CheckpointData, file: string, record: Record<string, unknown> = {}): void {
  if (!src.ema) throw new Error(`saveEmaCheckpoint: the source checkpoint (step ${src.step}) has no EMA weights`);
  const meta = (src.config.meta ?? {}) as Record<string, unknown>;
  saveCheckpoint(file, {
    step: src.step,
    modelConfig: src.modelConfig,
    variables: src.variables,
    trainableCount: src.trainableCount,
    params: [...src.ema.shadow, ...src.params.slice(src.trainableCount)],
    config: { ...src.config, meta: { ...meta, ...record, weights: `EMA (decay ${src.ema.decay}) after ${src.step} steps` } },
  });
}
