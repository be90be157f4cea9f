/**
 * An in-memory image dataset of 8-bit pixels, the data scaler of the official code (`datasets.get_data_scaler` /
 * `get_data_inverse_scaler`), and deterministic shuffling and batching through the seeded generator.
 *
 * Images are NHWC uint8 on the host (60 000 MNIST images are 47 MB as bytes, 188 MB as float32); a batch is
 * converted to a float32 tensor only when it is drawn.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import { checkNonNegativeInt, checkPositiveInt, fail } from "../validate";

export interface ImageDataset {
  /** e.g. "mnist", "fashion-mnist", "cifar10". */
  readonly name: string;
  readonly split: "train" | "test";
  /** Number of images. */
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Pixels 0…255, NHWC, C order: image i starts at i·height·width·channels. */
  readonly images: Uint8Array;
  /** Class label of each image, 0 … classNames.length − 1. */
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
}

/** Checks the sizes of a dataset's arrays; the error names the dataset and what is inconsistent. */
export function checkImageDataset(d: ImageDataset, where = "dataset"): ImageDataset {
  if (!d || typeof d !== "object") fail(where, "dataset", d, "an ImageDataset");
  const per = d.height * d.width * d.channels;
  if (!(d.images instanceof Uint8Array) || d.images.length !== d.n * per) {
    fail(where, `${d.name}/${d.split} images.length`, d.images?.length, `n·h·w·c = ${d.n}·${d.height}·${d.width}·${d.channels} = ${d.n * per}`);
  }
  if (!(d.labels instanceof Uint8Array) || d.labels.length !== d.n) fail(where, `${d.name}/${d.split} labels.length`, d.labels?.length, `n = ${d.n}`);
  for (let i = 0; i < d.n; i++) {
    if (d.labels[i] >= d.classNames.length) fail(where, `${d.name}/${d.split} label of image ${i}`, d.labels[i], `a class in [0, ${d.classNames.length - 1}]`);
  }
  return d;
}

/** Count of each label, length classNames.length. */
export function labelHistogram(d: ImageDataset): number[] {
  const h = new Array<number>(d.classNames.length).fill(0);
  for (let i = 0; i < d.n; i++) h[d.labels[i]]++;
  return h;
}

/**
 * The official data scaler: pixels in [0, 1] are mapped to [−1, 1] by 2x − 1 when `centered` (VP / sub-VP
 * DDPM++ configs), left in [0, 1] otherwise (VE NCSN++ configs).
 */
export function dataScaler(centered: boolean): (x: tf.Tensor) => tf.Tensor {
  if (typeof centered !== "boolean") fail("dataScaler", "centered", centered, "true or false");
  return centered ? (x) => tf.tidy(() => x.mul(2).sub(1)) : (x) => tf.tidy(() => x.clone());
}

/** The inverse of `dataScaler(centered)`: back to [0, 1] ((x + 1)/2 when centred). */
export function dataInverseScaler(centered: boolean): (x: tf.Tensor) => tf.Tensor {
  if (typeof centered !== "boolean") fail("dataInverseScaler", "centered", centered, "true or false");
  return centered ? (x) => tf.tidy(() => x.add(1).div(2)) : (x) => tf.tidy(() => x.clone());
}

/** The range of the scaled data: [−1, 1] when centred, [0, 1] otherwise (what `bitsPerDimOffset` takes). */
export function scaledRange(centered: boolean): [number, number] {
  return centered ? [-1, 1] : [0, 1];
}

/**
 * A permutation of 0 … n − 1 drawn by Fisher–Yates with one uniform per position from `createRng(seed)` (so the
 * same seed gives the same order on every backend and machine).
 */
export function permutation(n: number, seed: number): Int32Array {
  checkNonNegativeInt("permutation", "n", n);
  const rng = createRng(seed);
  const u = rng.uniformArray(n);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(Math.floor(u[i] * (i + 1)), i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Float pixels in [0, 1] of the given images (by index), NHWC [k, h, w, c]: value / 255, as tfds' convert_image_dtype. */
export function imagesToTensor(d: ImageDataset, indices: ArrayLike<number>): tf.Tensor4D {
  const per = d.height * d.width * d.channels;
  const out = new Float32Array(indices.length * per);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!(Number.isInteger(i) && i >= 0 && i < d.n)) fail("imagesToTensor", `indices[${k}]`, i, `an image index in [0, ${d.n - 1}]`);
    const src = d.images.subarray(i * per, (i + 1) * per);
    for (let j = 0; j < per; j++) out[k * per + j] = src[j] / 255;
  }
  return tf.tensor4d(out, [indices.length, d.height, d.width, d.channels]);
}

/** The first `count` images (or all) as a float tensor in [0, 1]. */
export function datasetTensor(d: ImageDataset, count = d.n): tf.Tensor4D {
  checkPositiveInt("datasetTensor", "count", count);
  if (count > d.n) fail("datasetTensor", "count", count, `at most ${d.n} (${d.name}/${d.split} has ${d.n} images)`);
  return imagesToTensor(d, Int32Array.from({ length: count }, (_, i) => i));
}

export interface EpochBatcherOptions {
  batchSize: number;
  /** Seed of the shuffling: epoch e uses permutation(n, mix(seed, e)). */
  seed: number;
}

/**
 * Epoch-wise shuffled batches, the official input pipeline's order without its buffer: epoch e is a fresh
 * permutation of the whole set drawn from a generator seeded by (seed, e); batch k of the run is the k-th group of
 * batchSize indices in the concatenation of the epochs (an incomplete last group of an epoch is dropped, as
 * tf.data's drop_remainder). The indices of batch k depend only on (seed, k), so a resumed run reads exactly the
 * batches it would have read, without saving any data-pipeline state.
 */
export function epochBatchIndices(n: number, o: EpochBatcherOptions): (k: number) => Int32Array {
  const B = checkPositiveInt("epochBatchIndices", "batchSize", o.batchSize);
  checkPositiveInt("epochBatchIndices", "n", n);
  if (B > n) fail("epochBatchIndices", "batchSize", B, `at most the dataset size ${n}`);
  if (!Number.isSafeInteger(o.seed)) fail("epochBatchIndices", "seed", o.seed, "a safe integer");
  const perEpoch = Math.floor(n / B);
  let cachedEpoch = -1;
  let perm: Int32Array = new Int32Array(0);
  return (k: number) => {
    checkNonNegativeInt("epochBatchIndices", "batch index", k);
    const e = Math.floor(k / perEpoch);
    if (e !== cachedEpoch) {
      // Distinct epochs get unrelated streams: the seed and epoch are combined before splitmix seeding.
      perm = permutation(n, (o.seed * 1000003 + e) % Number.MAX_SAFE_INTEGER);
      cachedEpoch = e;
    }
    const start = (k - e * perEpoch) * B;
    return perm.slice(start, start + B);
  };
}
