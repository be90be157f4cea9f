/**
 * Noise-conditional classifiers p_t(y | x) for class-conditional sampling (Song et al. 2021, App. I.1: "a
 * time-dependent classifier trained on perturbed data"; official JAX `get_pc_conditional_sampler`, whose
 * classifier takes the marginal std of the SDE, `ve_noise_scale = sde.marginal_prob(x, t)[1]`, as its noise input).
 *
 * Training (`trainNoiseConditionalClassifier`) minimises the cross-entropy of y given x_t = m(t) x₀ + s(t) z with
 * t ~ U(ε, T) — the same perturbation as score training, so the classifier learns p_t(y | x) at every t; its input
 * gradient (`classifierGradFn`, by autodiff) is then ∇ₓ log p_t(y | x) for `pcConditionalSample`. On Gaussian-mixture
 * toys the exact answer is `MixtureClasses.logPosteriorGrad` (lib/toy/conditional.ts), so the error of the learned
 * gradient can be measured (test/controllable-classifier.test.ts).
 *
 * The contract is a `ClassifierNetwork` (logits from x and the noise std), so an image classifier (e.g. a small CNN
 * on MNIST) trains and guides through the same two functions; `createToyClassifier` is the MLP for toys.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import type { Rng } from "../random";
import { SDE, perExample } from "../sde";
import { Conv2d, Dense, FourierEmbedding, ParamStore, activation, avgPool2, getWeights, setWeights } from "../models";
import type { Activation, NamedWeight, ScoreNetwork } from "../models";
import { Adam } from "../train";
import { checkNonNegative, checkPositive, checkPositiveInt, fail } from "../validate";
import type { ClassifierGradFn } from "./guidance";

/**
 * A classifier of perturbed data: logits [B, numClasses] from x [B, ...dims] and the marginal std s(t) [B]. Like a
 * ScoreNetwork it names its state (`stateVariables`) and rebuilds from `getConfig()` (`classifierFromConfig`), so
 * its weights save and load with `getClassifierWeights` / `setClassifierWeights`.
 */
export interface ClassifierNetwork {
  /** "toyClassifier" or "imageClassifier" (the key of `classifierFromConfig`). */
  readonly kind: string;
  readonly numClasses: number;
  apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D;
  readonly trainableVariables: readonly tf.Variable[];
  /** Trainable variables, then fixed state (the Fourier frequencies), with logical names. */
  readonly stateVariables: readonly { readonly name: string; readonly variable: tf.Variable }[];
  getConfig(): Record<string, unknown>;
  dispose(): void;
}

export interface ToyClassifierConfig {
  /** Data dimension (x is [B, dim]). Default 2. */
  dim?: number;
  numClasses: number;
  /** Hidden units per layer (default 64). */
  width?: number;
  /** Hidden layers (default 2). */
  depth?: number;
  activation?: Activation;
  /** Width of the Fourier embedding of log s(t) (even, default 16). */
  embeddingDim?: number;
  /** Scale of its fixed random frequencies (default 1; see ToyMLPConfig.fourierScale for why small on toys). */
  fourierScale?: number;
  /** Seed of the initial weights and frequencies (default 0). */
  seed?: number;
}

const WHERE_NET = "createToyClassifier";

class ToyClassifier implements ClassifierNetwork {
  readonly kind = "toyClassifier";
  readonly numClasses: number;
  private readonly store: ParamStore;
  private readonly embed: FourierEmbedding;
  private readonly hidden: Dense[] = [];
  private readonly out: Dense;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(private readonly cfg: Required<ToyClassifierConfig>) {
    this.numClasses = cfg.numClasses;
    this.store = new ParamStore(createRng(cfg.seed), "classifier");
    this.act = activation(cfg.activation);
    this.embed = new FourierEmbedding(this.store, "classifier/embed", cfg.embeddingDim, cfg.fourierScale);
    let inDim = cfg.dim + cfg.embeddingDim;
    for (let i = 0; i < cfg.depth; i++) {
      this.hidden.push(new Dense(this.store, `classifier/dense${i}`, inDim, cfg.width));
      inDim = cfg.width;
    }
    this.out = new Dense(this.store, "classifier/out", cfg.width, cfg.numClasses, 0.1);
  }

  get trainableVariables(): readonly tf.Variable[] {
    return this.store.variables;
  }

  get stateVariables(): readonly { name: string; variable: tf.Variable }[] {
    return this.store.state;
  }

  apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.cfg.dim) fail("ToyClassifier.apply", "x.shape", x.shape, `[B, ${this.cfg.dim}]`);
    if (noiseStd.rank !== 1 || noiseStd.shape[0] !== x.shape[0]) {
      fail("ToyClassifier.apply", "noiseStd.shape", noiseStd.shape, `[${x.shape[0]}] (one std per example)`);
    }
    return tf.tidy(() => {
      // x / √(1 + s²) keeps the input O(1) at every noise level (VE's s reaches σ_max), so one MLP serves all t.
      const xin = x.div(perExample(noiseStd.square().add(1).sqrt(), x));
      let h = tf.concat([xin, this.embed.apply(noiseStd)], 1);
      for (const d of this.hidden) h = this.act(d.apply(h));
      return this.out.apply(h) as tf.Tensor2D;
    });
  }

  getConfig(): Record<string, unknown> {
    return { kind: "toyClassifier", ...this.cfg };
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** A small MLP classifier of (x, s(t)) for toys (see the module comment). */
export function createToyClassifier(cfg: ToyClassifierConfig): ClassifierNetwork {
  if (cfg === null || typeof cfg !== "object") fail(WHERE_NET, "config", cfg, "an object {numClasses, ...}");
  const numClasses = checkPositiveInt(WHERE_NET, "numClasses", cfg.numClasses);
  if (numClasses < 2) fail(WHERE_NET, "numClasses", numClasses, "an integer ≥ 2");
  const r: Required<ToyClassifierConfig> = {
    dim: checkPositiveInt(WHERE_NET, "dim", cfg.dim ?? 2),
    numClasses,
    width: checkPositiveInt(WHERE_NET, "width", cfg.width ?? 64),
    depth: checkPositiveInt(WHERE_NET, "depth", cfg.depth ?? 2),
    activation: cfg.activation ?? "silu",
    embeddingDim: checkPositiveInt(WHERE_NET, "embeddingDim", cfg.embeddingDim ?? 16),
    fourierScale: checkPositive(WHERE_NET, "fourierScale", cfg.fourierScale ?? 1),
    seed: cfg.seed ?? 0,
  };
  if (r.embeddingDim % 2 !== 0) fail(WHERE_NET, "embeddingDim", r.embeddingDim, "an even positive integer");
  if (!Number.isSafeInteger(r.seed)) fail(WHERE_NET, "seed", r.seed, "a safe integer");
  return new ToyClassifier(r);
}

export interface ImageClassifierConfig {
  /** Image height = width (e.g. 28 for MNIST). */
  size: number;
  /** Image channels (NHWC; default 1). */
  channels?: number;
  numClasses: number;
  /** Feature maps of the first convolution; later ones double (default 16). */
  features?: number;
  /** Convolution stages, each conv 3×3 + SiLU then 2×2 average pooling while the size is even (default 3). */
  stages?: number;
  /** Width of the Fourier embedding of log s(t) (even, default 16). */
  embeddingDim?: number;
  fourierScale?: number;
  seed?: number;
}

const WHERE_CNN = "createImageClassifier";

/**
 * A small noise-conditional CNN for images [B, H, W, C] (NHWC, e.g. MNIST): the noise embedding enters as a
 * per-channel bias after the first convolution (as the U-Net's time conditioning), then conv stages with pooling
 * and a dense head on the flattened last feature map (not a global average, which would discard where a feature is). The input is divided by √(1 + s²), as in the toy classifier.
 */
class ImageClassifier implements ClassifierNetwork {
  readonly kind = "imageClassifier";
  readonly numClasses: number;
  private readonly store: ParamStore;
  private readonly embed: FourierEmbedding;
  private readonly embedProj: Dense;
  private readonly convs: Conv2d[] = [];
  private readonly head: Dense;
  private readonly out: Dense;

  constructor(private readonly cfg: Required<ImageClassifierConfig>) {
    this.numClasses = cfg.numClasses;
    this.store = new ParamStore(createRng(cfg.seed), "imageClassifier");
    this.embed = new FourierEmbedding(this.store, "imageClassifier/embed", cfg.embeddingDim, cfg.fourierScale);
    this.embedProj = new Dense(this.store, "imageClassifier/embedProj", cfg.embeddingDim, cfg.features);
    let ch = cfg.channels;
    let side = cfg.size;
    for (let i = 0; i < cfg.stages; i++) {
      const outCh = cfg.features * 2 ** Math.min(i, 2);
      this.convs.push(new Conv2d(this.store, `imageClassifier/conv${i}`, ch, outCh));
      ch = outCh;
      if (side % 2 === 0 && i < cfg.stages - 1) side /= 2;
    }
    this.head = new Dense(this.store, "imageClassifier/head", side * side * ch, 2 * cfg.features);
    this.out = new Dense(this.store, "imageClassifier/out", 2 * cfg.features, cfg.numClasses, 0.1);
  }

  get trainableVariables(): readonly tf.Variable[] {
    return this.store.variables;
  }

  get stateVariables(): readonly { name: string; variable: tf.Variable }[] {
    return this.store.state;
  }

  apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D {
    const { size, channels } = this.cfg;
    if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== channels) {
      fail("ImageClassifier.apply", "x.shape", x.shape, `[B, ${size}, ${size}, ${channels}] (NHWC)`);
    }
    if (noiseStd.rank !== 1 || noiseStd.shape[0] !== x.shape[0]) {
      fail("ImageClassifier.apply", "noiseStd.shape", noiseStd.shape, `[${x.shape[0]}] (one std per example)`);
    }
    return tf.tidy(() => {
      const silu = activation("silu");
      let h = x.div(perExample(noiseStd.square().add(1).sqrt(), x));
      this.convs.forEach((conv, i) => {
        h = conv.apply(h);
        if (i === 0) h = h.add(this.embedProj.apply(this.embed.apply(noiseStd)).reshape([x.shape[0], 1, 1, -1]));
        h = silu(h);
        if (h.shape[1]! % 2 === 0 && h.shape[2]! % 2 === 0 && i < this.convs.length - 1) h = avgPool2(h);
      });
      return this.out.apply(silu(this.head.apply(h.reshape([x.shape[0], -1])))) as tf.Tensor2D;
    });
  }

  getConfig(): Record<string, unknown> {
    return { kind: "imageClassifier", ...this.cfg };
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** A small noise-conditional CNN classifier for images (see ImageClassifier). */
export function createImageClassifier(cfg: ImageClassifierConfig): ClassifierNetwork {
  if (cfg === null || typeof cfg !== "object") fail(WHERE_CNN, "config", cfg, "an object {size, numClasses, ...}");
  const numClasses = checkPositiveInt(WHERE_CNN, "numClasses", cfg.numClasses);
  if (numClasses < 2) fail(WHERE_CNN, "numClasses", numClasses, "an integer ≥ 2");
  const r: Required<ImageClassifierConfig> = {
    size: checkPositiveInt(WHERE_CNN, "size", cfg.size),
    channels: checkPositiveInt(WHERE_CNN, "channels", cfg.channels ?? 1),
    numClasses,
    features: checkPositiveInt(WHERE_CNN, "features", cfg.features ?? 16),
    stages: checkPositiveInt(WHERE_CNN, "stages", cfg.stages ?? 3),
    embeddingDim: checkPositiveInt(WHERE_CNN, "embeddingDim", cfg.embeddingDim ?? 16),
    fourierScale: checkPositive(WHERE_CNN, "fourierScale", cfg.fourierScale ?? 1),
    seed: cfg.seed ?? 0,
  };
  if (r.embeddingDim % 2 !== 0) fail(WHERE_CNN, "embeddingDim", r.embeddingDim, "an even positive integer");
  if (!Number.isSafeInteger(r.seed)) fail(WHERE_CNN, "seed", r.seed, "a safe integer");
  return new ImageClassifier(r);
}

/** Rebuilds a classifier's architecture from its `getConfig()` (fresh weights; load them with setClassifierWeights). */
export function classifierFromConfig(config: Record<string, unknown>): ClassifierNetwork {
  if (config === null || typeof config !== "object") fail("classifierFromConfig", "config", config, "a classifier's getConfig() object");
  const { kind, ...rest } = config;
  if (kind === "toyClassifier") return createToyClassifier(rest as unknown as ToyClassifierConfig);
  if (kind === "imageClassifier") return createImageClassifier(rest as unknown as ImageClassifierConfig);
  return fail("classifierFromConfig", "config.kind", kind, `"toyClassifier" or "imageClassifier"`);
}

// The weight copy/load of lib/models reads only `kind` and `stateVariables`, which classifiers share with networks.
/** The classifier's state (logical names, shapes, float32 values), e.g. to write with lib/io. */
export function getClassifierWeights(net: ClassifierNetwork): NamedWeight[] {
  return getWeights(net as unknown as ScoreNetwork);
}

/** Loads weights by name, checking every name and shape before assigning anything (as `setWeights`). */
export function setClassifierWeights(net: ClassifierNetwork, weights: readonly NamedWeight[]): void {
  setWeights(net as unknown as ScoreNetwork, weights);
}

/** Labelled training data: n points [n, ...dims] and their class labels (host integers). */
export type LabelledSource = (n: number, rng: Rng) => { x: tf.Tensor; labels: Int32Array };

export interface TrainClassifierOptions {
  net: ClassifierNetwork;
  sde: SDE;
  data: LabelledSource;
  /** Optimiser steps (default 500). */
  steps?: number;
  /** Points per step (default 256). */
  batchSize?: number;
  /** Adam learning rate (default 2e-3). */
  lr?: number;
  /** Smallest training time (default sde.defaultEps): t ~ U(eps, T). */
  eps?: number;
  rng: Rng;
  /** Called every `logEvery` steps with the mean loss since the last call (default every 100 steps). */
  onLog?: (info: { step: number; loss: number }) => void;
  logEvery?: number;
}

export interface TrainClassifierResult {
  /** Mean cross-entropy (nats) over each block of `logEvery` steps. */
  losses: { step: number; loss: number }[];
}

/**
 * Trains `net` on perturbed labelled data. Draws per step, in order: the data source's draws for `batchSize` points,
 * `batchSize` uniforms (t), one normal of the batch's shape (z).
 */
export async function trainNoiseConditionalClassifier(opts: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const where = "trainNoiseConditionalClassifier";
  if (opts === null || typeof opts !== "object") fail(where, "options", opts, "an options object");
  const { net, sde, data, rng } = opts;
  if (!net || typeof net.apply !== "function" || !Array.isArray(net.trainableVariables)) fail(where, "net", typeof net, "a ClassifierNetwork");
  if (!(sde instanceof SDE)) fail(where, "sde", typeof sde, "an SDE");
  if (typeof data !== "function") fail(where, "data", typeof data, "a function (n, rng) => {x, labels}");
  if (!rng || typeof rng.uniformArray !== "function") fail(where, "rng", typeof rng, "an Rng (createRng(seed))");
  const steps = checkPositiveInt(where, "steps", opts.steps ?? 500);
  const B = checkPositiveInt(where, "batchSize", opts.batchSize ?? 256);
  const lr = checkPositive(where, "lr", opts.lr ?? 2e-3);
  const eps = checkNonNegative(where, "eps", opts.eps ?? sde.defaultEps);
  if (eps >= sde.T) fail(where, "eps", eps, `< T = ${sde.T}`);
  const logEvery = checkPositiveInt(where, "logEvery", opts.logEvery ?? 100);
  const optim = new Adam(net.trainableVariables, { lr });
  const losses: { step: number; loss: number }[] = [];
  let acc = 0;
  let count = 0;
  try {
    for (let step = 1; step <= steps; step++) {
      const batch = data(B, rng);
      const bad = (name: string, value: unknown, allowed: string): never => {
        if (batch?.x instanceof tf.Tensor) batch.x.dispose();
        return fail(where, name, value, allowed);
      };
      if (!(batch?.x instanceof tf.Tensor) || batch.x.shape[0] !== B || !(batch.labels instanceof Int32Array) || batch.labels.length !== B) {
        bad("data(n, rng)", batch?.x?.shape, `{x: tensor [${B}, ...], labels: Int32Array(${B})} for n = ${B}`);
      }
      for (let b = 0; b < B; b++) {
        const c = batch.labels[b];
        if (c < 0 || c >= net.numClasses) bad(`data labels[${b}]`, c, `in 0 … ${net.numClasses - 1}`);
      }
      const u = rng.uniformArray(B);
      const tHost = Float32Array.from(u, (v) => eps + (sde.T - eps) * v);
      const lossValue = tf.tidy(() => {
        const t = tf.tensor1d(tHost);
        const { mean, std } = sde.marginalCoefficients(t);
        const xt = perExample(mean, batch.x).mul(batch.x).add(perExample(std, batch.x).mul(rng.normal(batch.x.shape)));
        const onehot = tf.oneHot(tf.tensor1d(batch.labels, "int32"), net.numClasses).toFloat();
        const { value, grads } = tf.variableGrads(() => {
          const logits = net.apply(xt, std);
          return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
        }, net.trainableVariables as tf.Variable[]);
        optim.apply(net.trainableVariables.map((v) => grads[v.name]), lr);
        return value.dataSync()[0];
      });
      batch.x.dispose();
      if (!Number.isFinite(lossValue)) throw new Error(`${where}: the loss became ${lossValue} at step ${step}; lower lr (${lr})`);
      acc += lossValue;
      count++;
      if (step % logEvery === 0 || step === steps) {
        const info = { step, loss: acc / count };
        losses.push(info);
        opts.onLog?.(info);
        acc = 0;
        count = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  } finally {
    optim.dispose();
  }
  return { losses };
}

/** log p_t(y = labels_b | x_b) [B] under a trained classifier (log-softmax of its logits). */
export function classifierLogProb(net: ClassifierNetwork, sde: SDE, x: tf.Tensor, t: tf.Tensor, labels: Int32Array): tf.Tensor1D {
  return tf.tidy(() => {
    const logits = net.apply(x, sde.marginalCoefficients(t).std);
    const logp = logits.sub(logits.logSumExp(1, true));
    return logp.mul(tf.oneHot(tf.tensor1d(labels, "int32"), net.numClasses)).sum(1) as tf.Tensor1D;
  });
}

/**
 * ∇ₓ log p_t(y | x) of a trained classifier by autodiff (the official `get_classifier_grad_fn`): the gradient of
 * Σ_b log p_t(y_b | x_b), which is per example because examples do not interact.
 */
export function classifierGradFn(net: ClassifierNetwork, sde: SDE): ClassifierGradFn {
  if (!net || typeof net.apply !== "function") fail("classifierGradFn", "net", typeof net, "a ClassifierNetwork");
  if (!(sde instanceof SDE)) fail("classifierGradFn", "sde", typeof sde, "an SDE");
  return (x, t, labels) => tf.tidy(() => tf.grad((xx: tf.Tensor) => classifierLogProb(net, sde, xx, t, labels).sum())(x));
}
