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
 * on MNIST) trains and guides through the same two functions. The networks are one file each in ./classifiers/
 * (`createToyClassifier`, the MLP for toys; `createImageClassifier`, the CNN), built on `ClassifierBase` and
 * `checkClassifierConfig` here and registered by kind in ./classifiers/registry.ts (`classifierFromConfig`).
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import type { Rng } from "../random";
import { SDE, perExample } from "../sde";
import { ParamStore, getWeights, setWeights } from "../models";
import type { NamedWeight, ScoreNetwork } from "../models";
import { Adam } from "../train";
import { checkNonNegative, checkPositive, checkPositiveInt, fail } from "../validate";
import type { ClassifierGradFn } from "./guidance";

/**
 * A classifier of perturbed data: logits [B, numClasses] from x [B, ...dims] and the marginal std s(t) [B]. Like a
 * ScoreNetwork it names its state (`stateVariables`) and rebuilds from `getConfig()` (`classifierFromConfig`), so
 * its weights save and load with `getClassifierWeights` / `setClassifierWeights`.
 */
export interface ClassifierNetwork {
  /** The key of `classifierFromConfig`'s registry, e.g. "toyClassifier" or "imageClassifier". */
  readonly kind: string;
  readonly numClasses: number;
  apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D;
  readonly trainableVariables: readonly tf.Variable[];
  /** Trainable variables, then fixed state (the Fourier frequencies), with logical names. */
  readonly stateVariables: readonly { readonly name: string; readonly variable: tf.Variable }[];
  getConfig(): Record<string, unknown>;
  dispose(): void;
}

/** The settings every classifier shares (resolved by `checkClassifierConfig`). */
export interface ClassifierCommonConfig {
  numClasses: number;
  /** Width of the Fourier embedding of log s(t) (even, default 16). */
  embeddingDim?: number;
  /** Scale of its fixed random frequencies (default 1; see ToyMLPConfig.fourierScale for why small on toys). */
  fourierScale?: number;
  /** Seed of the initial weights and frequencies (default 0). */
  seed?: number;
}

/**
 * Checks a classifier config's shared settings (an object; numClasses an integer ≥ 2; embeddingDim even; fourierScale
 * positive; seed a safe integer) and fills their defaults; `expects` describes the object in the error.
 */
export function checkClassifierConfig(where: string, cfg: ClassifierCommonConfig, expects: string): Required<ClassifierCommonConfig> {
  if (cfg === null || typeof cfg !== "object") fail(where, "config", cfg, expects);
  const numClasses = checkPositiveInt(where, "numClasses", cfg.numClasses);
  if (numClasses < 2) fail(where, "numClasses", numClasses, "an integer ≥ 2");
  const embeddingDim = checkPositiveInt(where, "embeddingDim", cfg.embeddingDim ?? 16);
  if (embeddingDim % 2 !== 0) fail(where, "embeddingDim", embeddingDim, "an even positive integer");
  const fourierScale = checkPositive(where, "fourierScale", cfg.fourierScale ?? 1);
  const seed = cfg.seed ?? 0;
  if (!Number.isSafeInteger(seed)) fail(where, "seed", seed, "a safe integer");
  return { numClasses, embeddingDim, fourierScale, seed };
}

/**
 * What every classifier shares: its parameters in one ParamStore seeded from the config (so `getConfig()` rebuilds
 * the same initial weights), the state getters, `getConfig()` = {kind, ...resolved config}, and the input handling
 * of `apply`. A classifier is a subclass in lib/controllable/classifiers/ registered there by its kind.
 */
export abstract class ClassifierBase<C extends Required<ClassifierCommonConfig>> implements ClassifierNetwork {
  readonly numClasses: number;
  protected readonly store: ParamStore;

  /** `prefix` starts the logical names of the weights (kept as trained: checkpoints are keyed by them). */
  protected constructor(readonly kind: string, protected readonly cfg: C, prefix: string) {
    this.numClasses = cfg.numClasses;
    this.store = new ParamStore(createRng(cfg.seed), prefix);
  }

  abstract apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D;

  get trainableVariables(): readonly tf.Variable[] {
    return this.store.variables;
  }

  get stateVariables(): readonly { name: string; variable: tf.Variable }[] {
    return this.store.state;
  }

  getConfig(): Record<string, unknown> {
    return { kind: this.kind, ...this.cfg };
  }

  dispose(): void {
    this.store.dispose();
  }

  /**
   * Checks noiseStd against x (one std per example) and returns x / √(1 + s²), which keeps the input O(1) at every
   * noise level (VE's s reaches σ_max), so one network serves all t. Call inside tf.tidy.
   */
  protected scaledInput(where: string, x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor {
    if (noiseStd.rank !== 1 || noiseStd.shape[0] !== x.shape[0]) {
      fail(where, "noiseStd.shape", noiseStd.shape, `[${x.shape[0]}] (one std per example)`);
    }
    return x.div(perExample(noiseStd.square().add(1).sqrt(), x));
  }
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
