/**
 * Image-sample metrics from a small classifier trained here (the CPU stand-in for the Inception network of FID,
 * Heusel et al. 2017, and of KID, Bińkowski et al. 2018):
 *
 * - `ImageClassifier`: conv3×3(c₁) → ReLU → 2×2 pool → conv3×3(c₂) → ReLU → pool [→ conv3×3(c₃) → ReLU] →
 *   dense(hidden) → ReLU (the penultimate features) → dense(classes). Pooling is max (`pool: "max"`, the default of
 *   new classifiers) or average (`pool: "avg"`, what classifiers saved before the option existed use; `load` reads
 *   them as such). The committed MNIST classifier (max pooling, ±2-pixel shifts, 15 epochs with a decaying rate,
 *   tools/train-classifier.ts) reaches 99.36 % on the test set; the earlier recipe (average pooling, no shifts,
 *   5 epochs) stopped at 98.79 %. Max pooling's gradient is written
 *   as nearest-neighbour resizes and a mask (`maxPool2` below), because wasm's MaxPoolGrad is slow.
 * - Training (`trainClassifier`): Adam on softmax cross-entropy with per-epoch learning rates and optional random
 *   translations of up to `shift` pixels (zero fill), drawn through the seeded generator (`randomShift`).
 * - Fréchet distance between Gaussians fitted to the penultimate features of two image sets,
 *   FD = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}) (the FID formula; the symmetric form of
 *   tr (Σ₁Σ₂)^{1/2}, computed by two symmetric eigendecompositions in float64).
 * - KID: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets.
 * - Classifier confidence (fraction of samples whose top class has probability ≥ a threshold) and class coverage
 *   (the fraction of samples in each predicted class).
 * - Baselines: a Gaussian fitted to the training pixels (full covariance) to sample from.
 * FD / KID values depend on the feature network, so they compare models only under the same classifier.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../io/atomic";
import { encodeSafetensors, readSafetensors } from "../io/safetensors";
import { Conv2d, Dense, ParamStore } from "../models/layers";
import { avgPool2 } from "../models/ops";
import { createRng, type Rng } from "../random";
import { symmetricEigen } from "../toy/linalg";
import { Adam } from "../train/optim";
import { checkOneOf, checkPositiveInt, fail } from "../validate";

export const CLASSIFIER_POOLS = ["max", "avg"] as const;
export type ClassifierPool = (typeof CLASSIFIER_POOLS)[number];

/**
 * 2×2 max pooling [B, H, W, C] → [B, H/2, W/2, C] (H, W even): tf.maxPool forward; the gradient goes to the
 * input pixels equal to their block's maximum (dy and the pooled maximum upsampled by nearest-neighbour resizes,
 * times the equality mask). Exact ties pass the gradient to every tied pixel (tfjs' MaxPoolGrad picks one); after
 * a ReLU that happens only where a whole block is 0, whose gradient the ReLU zeroes anyway.
 */
export function maxPool2(x: tf.Tensor): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (x.rank !== 4 || h % 2 !== 0 || w % 2 !== 0) fail("maxPool2", "x.shape", x.shape, "[B, H, W, C] with H and W even");
  return maxPoolOp(x) as tf.Tensor4D;
}

const maxPoolOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const y = tf.maxPool(x, 2, 2, "valid");
  save([x, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ys] = saved as [tf.Tensor4D, tf.Tensor4D];
      const size: [number, number] = [xs.shape[1], xs.shape[2]];
      const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, size, false, false);
      return [tf.mul(up(dy as tf.Tensor4D), tf.cast(tf.equal(xs, up(ys)), "float32"))];
    },
  };
});

export interface ClassifierConfig {
  imageSize: number;
  imageChannels: number;
  classes: number;
  /**
   * Widths of the convolutions (default [32, 64]): two (each followed by a 2×2 pool) or three (the third at
   * imageSize/4, not pooled).
   */
  channels?: number[];
  /** 2×2 pooling after the first two convolutions (default "max"; files without the field were "avg"). */
  pool?: ClassifierPool;
  /** Width of the penultimate (feature) layer (default 128). */
  hidden?: number;
  seed?: number;
}

/** A small CNN classifier on images in [0, 1] (NHWC). */
export class ImageClassifier {
  readonly config: Required<ClassifierConfig>;
  private readonly store: ParamStore;
  private readonly convs: Conv2d[];
  private readonly poolFn: (x: tf.Tensor) => tf.Tensor4D;
  private readonly fc: Dense;
  private readonly out: Dense;

  constructor(cfg: ClassifierConfig) {
    const W = "ImageClassifier";
    // Defaults for absent (or undefined) fields.
    const c: Required<ClassifierConfig> = { ...cfg, channels: cfg.channels ?? [32, 64], pool: cfg.pool ?? "max", hidden: cfg.hidden ?? 128, seed: cfg.seed ?? 0 };
    checkPositiveInt(W, "imageSize", c.imageSize);
    if (c.imageSize % 4 !== 0) fail(W, "imageSize", c.imageSize, "a multiple of 4 (two 2× poolings)");
    checkPositiveInt(W, "imageChannels", c.imageChannels);
    checkPositiveInt(W, "classes", c.classes);
    checkPositiveInt(W, "hidden", c.hidden);
    if (!Array.isArray(c.channels) || c.channels.length < 2 || c.channels.length > 3 || !c.channels.every((v) => Number.isInteger(v) && v > 0)) {
      fail(W, "channels", c.channels, "two or three positive integer widths");
    }
    checkOneOf(W, "pool", c.pool, CLASSIFIER_POOLS);
    this.config = c;
    this.store = new ParamStore(createRng(c.seed), "classifier");
    // Names conv1, conv2 (, conv3): the two-convolution layout keeps the tensor names of older files.
    this.convs = c.channels.map((w, i) => new Conv2d(this.store, `conv${i + 1}`, i === 0 ? c.imageChannels : c.channels[i - 1], w));
    this.poolFn = c.pool === "max" ? maxPool2 : avgPool2;
    const s = c.imageSize / 4;
    this.fc = new Dense(this.store, "fc", s * s * c.channels[c.channels.length - 1], c.hidden);
    this.out = new Dense(this.store, "out", c.hidden, c.classes);
  }

  get variables(): readonly tf.Variable[] {
    return this.store.variables;
  }
  get stateVariables(): { name: string; variable: tf.Variable }[] {
    return this.store.state;
  }

  /** Penultimate features [B, hidden] of images x [B, h, w, c] in [0, 1]. */
  features(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      // Centre the pixels around 0 (MNIST's mean is 0.13): faster training, nothing else.
      let h: tf.Tensor = x.sub(0.5);
      this.convs.forEach((conv, i) => {
        h = tf.relu(conv.apply(h));
        if (i < 2) h = this.poolFn(h);
      });
      return tf.relu(this.fc.apply(h.reshape([x.shape[0], -1]))) as tf.Tensor2D;
    });
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.out.apply(this.features(x)) as tf.Tensor2D);
  }

  /**
   * Features and class probabilities of n images given as float32 NHWC values in [0, 1], in batches (host arrays:
   * features [n·hidden] float64, probabilities [n·classes]).
   */
  evaluate(images: Float32Array, n: number, batch = 500): { features: Float64Array; probs: Float64Array } {
    const { imageSize: s, imageChannels: c, hidden, classes } = this.config;
    const per = s * s * c;
    if (images.length !== n * per) fail("ImageClassifier.evaluate", "images.length", images.length, `n·${s}·${s}·${c} = ${n * per}`);
    const features = new Float64Array(n * hidden);
    const probs = new Float64Array(n * classes);
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      const [f, p] = tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(i * per, (i + b) * per), [b, s, s, c]);
        const feat = this.features(x);
        return [feat, tf.softmax(this.out.apply(feat))];
      });
      features.set(f.dataSync(), i * hidden);
      probs.set(p.dataSync(), i * classes);
      tf.dispose([f, p]);
    }
    return { features, probs };
  }

  /** Writes the weights and config as safetensors (names as in `stateVariables`, values unchanged). */
  save(file: string, metadata: Record<string, string> = {}): void {
    const tensors = this.store.state.map(({ name, variable }) => ({ name, shape: variable.shape.slice(), data: variable.dataSync().slice() as Float32Array }));
    writeFileAtomic(file, encodeSafetensors(tensors, { kind: "score-sde-ts image classifier", config: JSON.stringify(this.config), ...metadata }));
  }

  /**
   * Loads a classifier written by `save`; returns it with the file's metadata. A config without `pool` was saved
   * before max pooling existed and is read as average pooling (what those weights were trained with).
   */
  static load(file: string): { classifier: ImageClassifier; metadata: Record<string, string> } {
    const { tensors, metadata } = readSafetensors(file);
    if (!metadata.config) throw new Error(`${file}: no classifier config in the safetensors metadata (not written by ImageClassifier.save)`);
    let cfg: ClassifierConfig;
    try {
      cfg = { pool: "avg", ...(JSON.parse(metadata.config) as ClassifierConfig) };
    } catch (e) {
      throw new Error(`${file}: the classifier config in the safetensors metadata is not JSON (${(e as Error).message})`);
    }
    let clf: ImageClassifier;
    try {
      clf = new ImageClassifier(cfg);
    } catch (e) {
      throw new Error(`${file}: unsupported classifier config ${metadata.config}: ${(e as Error).message}`);
    }
    const expected = new Set(clf.store.state.map((v) => v.name));
    const extra = tensors.map((t) => t.name).filter((n) => !expected.has(n));
    if (extra.length) {
      clf.dispose();
      throw new Error(`${file}: tensors ${extra.join(", ")} are not in the classifier its config describes (${metadata.config})`);
    }
    const byName = new Map(tensors.map((t) => [t.name, t]));
    for (const { name, variable } of clf.store.state) {
      const t = byName.get(name);
      if (!t || t.shape.join(",") !== variable.shape.join(",")) {
        clf.dispose();
        throw new Error(`${file}: tensor ${name} ${t ? `has shape [${t.shape}], expected [${variable.shape}]` : "is missing"}`);
      }
      tf.tidy(() => variable.assign(tf.tensor(t.data, variable.shape, "float32")));
    }
    return { classifier: clf, metadata };
  }

  dispose(): void {
    this.store.dispose();
  }
}

export interface ClassifierTrainOptions {
  /** Training images, float32 NHWC in [0, 1], and their labels. */
  images: Float32Array;
  labels: Uint8Array;
  epochs: number;
  batchSize?: number;
  /** Learning rate per epoch (the last value repeats); default [1e-3, 1e-3, 3e-4]. */
  lr?: number[];
  /** Random translation of each training image by up to this many pixels in x and y (zero fill); default 0. */
  shift?: number;
  seed?: number;
  onLog?: (info: { epoch: number; step: number; loss: number; accuracy: number }) => void;
}

/**
 * Trains with Adam on softmax cross-entropy; epochs are seeded permutations of the training set, and with `shift`
 * each batch is translated by `randomShift` (the same generator, after the epoch's permutation).
 */
export function trainClassifier(clf: ImageClassifier, o: ClassifierTrainOptions): void {
  const { imageSize: s, imageChannels: c, classes } = clf.config;
  const per = s * s * c;
  const n = o.labels.length;
  if (o.images.length !== n * per) fail("trainClassifier", "images.length", o.images.length, `labels.length·${per} = ${n * per}`);
  const B = o.batchSize ?? 128;
  const lrs = o.lr ?? [1e-3, 1e-3, 3e-4];
  if (!Array.isArray(lrs) || lrs.length === 0 || !lrs.every((v) => v > 0 && Number.isFinite(v))) fail("trainClassifier", "lr", lrs, "a non-empty list of positive rates");
  const shift = o.shift ?? 0;
  if (!Number.isInteger(shift) || shift < 0 || shift >= s) fail("trainClassifier", "shift", shift, `an integer in [0, ${s - 1}]`);
  const rng = createRng(o.seed ?? 0);
  const adam = new Adam(clf.variables, { lr: lrs[0] });
  const xb = new Float32Array(B * per);
  const yb = new Int32Array(B);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = lrs[Math.min(epoch, lrs.length - 1)];
      const u = rng.uniformArray(n);
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a] - u[b]);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let k = 0; k + B <= n; k += B) {
        for (let j = 0; j < B; j++) {
          const i = order[k + j];
          xb.set(o.images.subarray(i * per, (i + 1) * per), j * per);
          yb[j] = o.labels[i];
        }
        const x = tf.tensor4d(shift > 0 ? randomShift(xb, B, s, c, shift, rng) : xb, [B, s, s, c]);
        const y = tf.oneHot(tf.tensor1d(yb, "int32"), classes);
        let pred: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = clf.logits(x);
          pred = tf.keep(logits.argMax(1)); // the training accuracy from the same forward pass
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        }, clf.variables as tf.Variable[]);
        if (!pred) throw new Error("trainClassifier: no predictions recorded");
        const p = pred.dataSync();
        for (let j = 0; j < B; j++) if (p[j] === yb[j]) correct++;
        seen += B;
        lossSum += value.dataSync()[0] * B;
        adam.apply(clf.variables.map((v) => grads[v.name]), lr);
        tf.dispose([x, y, value, pred, ...Object.values(grads)]);
        const step = k / B + 1;
        if (o.onLog && (step % 50 === 0 || k + 2 * B > n)) o.onLog({ epoch, step, loss: lossSum / seen, accuracy: correct / seen });
      }
    }
  } finally {
    adam.dispose();
  }
}

/**
 * Translates each of n images (float32 NHWC [n·size·size·channels]) by (dx, dy) integer pixels, each drawn
 * uniformly from {−maxShift, …, maxShift} through rng (2n uniform draws: dx then dy per image); pixels shifted in
 * from outside are 0 (the background of MNIST and Fashion-MNIST). Returns a new array; the input is unchanged.
 */
export function randomShift(images: Float32Array, n: number, size: number, channels: number, maxShift: number, rng: Rng): Float32Array {
  const per = size * size * channels;
  if (images.length !== n * per) fail("randomShift", "images.length", images.length, `n·size·size·channels = ${n * per}`);
  if (!Number.isInteger(maxShift) || maxShift < 0 || maxShift >= size) fail("randomShift", "maxShift", maxShift, `an integer in [0, ${size - 1}]`);
  const u = rng.uniformArray(2 * n);
  const out = new Float32Array(images.length);
  const span = 2 * maxShift + 1;
  for (let i = 0; i < n; i++) {
    const dx = Math.min(Math.floor(u[2 * i] * span), span - 1) - maxShift;
    const dy = Math.min(Math.floor(u[2 * i + 1] * span), span - 1) - maxShift;
    const base = i * per;
    for (let r = Math.max(0, dy); r < Math.min(size, size + dy); r++) {
      const src = base + ((r - dy) * size + Math.max(0, -dx)) * channels;
      const dst = base + (r * size + Math.max(0, dx)) * channels;
      out.set(images.subarray(src, src + (size - Math.abs(dx)) * channels), dst);
    }
  }
  return out;
}

/** Fraction of images whose predicted class equals the label. */
export function classifierAccuracy(clf: ImageClassifier, images: Float32Array, labels: Uint8Array): number {
  const { probs } = clf.evaluate(images, labels.length);
  const K = clf.config.classes;
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[i * K + k] > probs[i * K + best]) best = k;
    if (best === labels[i]) ok++;
  }
  return ok / labels.length;
}

/** Mean and covariance (float64, divisor n − 1) of n feature rows of dimension d. */
export function featureStats(features: Float64Array, d: number): { mean: Float64Array; cov: Float64Array; n: number } {
  const n = features.length / d;
  if (!Number.isInteger(n) || n < 2) fail("featureStats", "features.length", features.length, `a multiple of d = ${d} with at least 2 rows`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mean, cov, n };
}

/** Symmetric square root U diag(√max(λ, 0)) Uᵀ of a symmetric positive semi-definite d × d matrix. */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = vectors[i * d + k] * s;
      for (let j = 0; j < d; j++) out[i * d + j] += vi * vectors[j * d + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/** Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) (see the module comment). */
export function frechetDistance(a: { mean: Float64Array; cov: Float64Array }, b: { mean: Float64Array; cov: Float64Array }): number {
  const d = a.mean.length;
  if (b.mean.length !== d || a.cov.length !== d * d || b.cov.length !== d * d) fail("frechetDistance", "dimensions", [a.mean.length, b.mean.length], "equal, with d × d covariances");
  let diff = 0;
  for (let j = 0; j < d; j++) diff += (a.mean[j] - b.mean[j]) ** 2;
  const sa = sqrtPsd(a.cov, d);
  const m = matmul(matmul(sa, b.cov, d), sa, d);
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(v, 0));
  let tr = 0;
  for (let j = 0; j < d; j++) tr += a.cov[j * d + j] + b.cov[j * d + j];
  return diff + tr - 2 * trSqrt;
}

/**
 * KID: unbiased MMD² between feature sets x and y (rows of dimension d) with k(u, v) = (uᵀv / d + 1)³, averaged
 * over `subsets` random subsets of `subsetSize` rows each (drawn through rng); returns mean and standard deviation.
 */
export function kernelInceptionDistance(
  x: Float64Array,
  y: Float64Array,
  d: number,
  o: { subsets?: number; subsetSize?: number; rng: Rng },
): { mean: number; std: number } {
  const nx = x.length / d;
  const ny = y.length / d;
  const m = Math.min(o.subsetSize ?? 1000, nx, ny);
  const S = o.subsets ?? 10;
  if (m < 2) fail("kernelInceptionDistance", "subset size", m, "at least 2 rows in each set");
  const k = (p: Float64Array, i: number, q: Float64Array, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += p[i * d + t] * q[j * d + t];
    return (s / d + 1) ** 3;
  };
  const pick = (n: number) => {
    const u = o.rng.uniformArray(n);
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a] - u[b]).slice(0, m);
  };
  const vals: number[] = [];
  for (let s = 0; s < S; s++) {
    const ix = pick(nx);
    const iy = pick(ny);
    let kxx = 0;
    let kyy = 0;
    let kxy = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        kxx += k(x, ix[a], x, ix[b]);
        kyy += k(y, iy[a], y, iy[b]);
      }
      for (let b = 0; b < m; b++) kxy += k(x, ix[a], y, iy[b]);
    }
    vals.push((2 * kxx) / (m * (m - 1)) + (2 * kyy) / (m * (m - 1)) - (2 * kxy) / (m * m));
  }
  const mean = vals.reduce((a, b) => a + b, 0) / S;
  const std = S > 1 ? Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (S - 1)) : 0;
  return { mean, std };
}

/** Confidence and class coverage of n samples' class probabilities [n·K]. */
export function classifierSummary(probs: Float64Array, K: number, threshold = 0.9): { confident: number; classFractions: number[]; minClassFraction: number; meanTopProbability: number } {
  const n = probs.length / K;
  const counts = new Array<number>(K).fill(0);
  let confident = 0;
  let top = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[i * K + k] > probs[i * K + best]) best = k;
    counts[best]++;
    top += probs[i * K + best];
    if (probs[i * K + best] >= threshold) confident++;
  }
  const classFractions = counts.map((c) => c / n);
  return { confident: confident / n, classFractions, minClassFraction: Math.min(...classFractions), meanTopProbability: top / n };
}

/**
 * Samples from a Gaussian with the mean and (full) covariance of the given images' pixels (float32 [n·D] in
 * [0, 1]), clipped to [0, 1]: the baseline every model must beat. The covariance gets `jitter` on its diagonal so
 * that its Cholesky factor exists (MNIST's border pixels are constant).
 */
export function gaussianBaselineSamples(images: Float32Array, D: number, count: number, rng: Rng, jitter = 1e-6): Float32Array {
  const n = images.length / D;
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mean[j] += images[i * D + j];
  for (let j = 0; j < D; j++) mean[j] /= n;
  // Covariance through one float32 matrix product on the backend: D × n times n × D.
  const cov = tf.tidy(() => {
    const x = tf.tensor2d(images, [n, D]).sub(tf.tensor1d(Float32Array.from(mean)));
    return tf.matMul(x, x, true, false).div(n - 1);
  });
  const c = Float64Array.from(cov.dataSync());
  cov.dispose();
  for (let j = 0; j < D; j++) c[j * D + j] += jitter;
  // Cholesky c = L Lᵀ (row-major lower triangle).
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = c[i * D + j];
      for (let k = 0; k < j; k++) s -= L[i * D + k] * L[j * D + k];
      if (i === j) {
        if (!(s > 0)) fail("gaussianBaselineSamples", `covariance pivot ${i}`, s, "> 0 (raise jitter)");
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j];
    }
  }
  const out = new Float32Array(count * D);
  for (let s = 0; s < count; s++) {
    const z = rng.normalArray(D);
    for (let i = 0; i < D; i++) {
      let v = mean[i];
      for (let k = 0; k <= i; k++) v += L[i * D + k] * z[k];
      out[s * D + i] = Math.min(Math.max(v, 0), 1);
    }
  }
  return out;
}
