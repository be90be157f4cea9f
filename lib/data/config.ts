/**
 * The JSON configuration of an image score model (data/configs/*.json in the repository; the same object is stored
 * beside committed weights): dataset, data scaling, SDE, U-Net, loss and training settings. `readImageConfig`
 * validates a file and names the file and field that is wrong; `imageModelFromConfig` builds the SDE and a fresh
 * U-Net for it.
 */
import { readJsonFile } from "../io/atomic";
import { createUNet, type UNetConfig } from "../models/unet";
import type { ScoreNetwork } from "../models/network";
import { registeredSdes, sdeFromConfig, type SDE } from "../sde";
import type { TrainLossOptions } from "../train/train";
import { fail } from "../validate";
import { IMAGE_DATASETS, type ImageDatasetName } from "./images";

export interface ImageSdeConfig {
  kind: "VE" | "VP" | "subVP";
  N?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  betaMin?: number;
  betaMax?: number;
}

export interface ImageTrainConfig {
  name: string;
  description?: string;
  dataset: ImageDatasetName;
  /** Official data.centered: scale pixels to [−1, 1] (true) or keep [0, 1]. */
  data: { centered: boolean };
  sde: ImageSdeConfig;
  /** U-Net settings; imageSize and imageChannels come from the dataset. */
  model: Omit<UNetConfig, "imageSize" | "imageChannels">;
  loss: TrainLossOptions;
  training: {
    steps: number;
    batchSize: number;
    /** Seed of the data order and of the trainer's rng. */
    seed: number;
    lr: number;
    warmup: number;
    gradClip: number;
    emaDecay: number;
    checkpointEvery: number;
    logEvery: number;
  };
  notes?: string[];
  [key: string]: unknown;
}

/** Validates a parsed config; `where` (the file) prefixes every error. */
export function checkImageConfig(c: unknown, where: string): ImageTrainConfig {
  const W = where;
  if (!c || typeof c !== "object") fail(W, "config", c, "an object");
  const o = c as ImageTrainConfig;
  if (typeof o.name !== "string" || !/^[a-z0-9][a-z0-9._-]*$/.test(o.name)) fail(W, "name", o.name, "a lower-case name (letters, digits, . _ -)");
  if (!(IMAGE_DATASETS as readonly string[]).includes(o.dataset)) fail(W, "dataset", o.dataset, `one of ${IMAGE_DATASETS.join(", ")}`);
  if (!o.data || typeof o.data.centered !== "boolean") fail(W, "data.centered", o.data?.centered, "true or false");
  if (!o.sde || !registeredSdes().includes(o.sde.kind)) fail(W, "sde.kind", o.sde?.kind, `one of the registered SDEs: ${registeredSdes().join(", ")}`);
  if (!o.model || typeof o.model !== "object") fail(W, "model", o.model, "an object of U-Net settings");
  if (!o.loss || typeof o.loss !== "object") fail(W, "loss", o.loss, "an object of loss settings");
  const t = o.training;
  if (!t || typeof t !== "object") fail(W, "training", t, "an object");
  for (const k of ["steps", "batchSize", "checkpointEvery", "logEvery"] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) fail(W, `training.${k}`, t[k], "a positive integer");
  }
  for (const k of ["seed", "warmup"] as const) if (!Number.isInteger(t[k]) || t[k] < 0) fail(W, `training.${k}`, t[k], "a non-negative integer");
  if (!(t.lr > 0)) fail(W, "training.lr", t.lr, "a positive number");
  if (typeof t.gradClip !== "number") fail(W, "training.gradClip", t.gradClip, "a number (≤ 0 disables clipping)");
  if (!(t.emaDecay >= 0 && t.emaDecay <= 1)) fail(W, "training.emaDecay", t.emaDecay, "a number in [0, 1]");
  return o;
}

/** Reads and validates a config file. */
export function readImageConfig(file: string): ImageTrainConfig {
  return checkImageConfig(readJsonFile(file, "image model config"), file);
}

/** The SDE of a config (the library's one name → SDE factory, `sdeFromConfig`). */
export function sdeFromImageConfig(s: ImageSdeConfig): SDE {
  return sdeFromConfig({ ...s });
}

/** The SDE and a fresh U-Net (weights from model.seed) for a config and images of the given size. */
export function imageModelFromConfig(cfg: ImageTrainConfig, shape: { height: number; width: number; channels: number }): { model: ScoreNetwork; sde: SDE } {
  if (shape.height !== shape.width) fail("imageModelFromConfig", "image shape", [shape.height, shape.width], "square images");
  const sde = sdeFromImageConfig(cfg.sde);
  const model = createUNet({ ...cfg.model, imageSize: shape.height, imageChannels: shape.channels });
  return { model, sde };
}
