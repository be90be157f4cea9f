/**
 * The noise-conditional MLP classifier for toys (kind "toyClassifier"): x / √(1 + s²) concatenated with a Fourier
 * embedding of the noise std, `depth` dense layers, linear logits (Song et al. 2021, App. I.1; see ../classifier.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { Dense, FourierEmbedding, activation } from "../../models";
import type { Activation } from "../../models";
import { checkPositiveInt, fail } from "../../validate";
import { ClassifierBase, checkClassifierConfig } from "../classifier";
import type { ClassifierCommonConfig, ClassifierNetwork } from "../classifier";

export interface ToyClassifierConfig extends ClassifierCommonConfig {
  /** Data dimension (x is [B, dim]). Default 2. */
  dim?: number;
  /** Hidden units per layer (default 64). */
  width?: number;
  /** Hidden layers (default 2). */
  depth?: number;
  activation?: Activation;
}

class ToyClassifier extends ClassifierBase<Required<ToyClassifierConfig>> {
  private readonly embed: FourierEmbedding;
  private readonly hidden: Dense[] = [];
  private readonly out: Dense;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(cfg: Required<ToyClassifierConfig>) {
    super("toyClassifier", cfg, "classifier");
    this.act = activation(cfg.activation);
    this.embed = new FourierEmbedding(this.store, "classifier/embed", cfg.embeddingDim, cfg.fourierScale);
    let inDim = cfg.dim + cfg.embeddingDim;
    for (let i = 0; i < cfg.depth; i++) {
      this.hidden.push(new Dense(this.store, `classifier/dense${i}`, inDim, cfg.width));
      inDim = cfg.width;
    }
    this.out = new Dense(this.store, "classifier/out", cfg.width, cfg.numClasses, 0.1);
  }

  override apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.cfg.dim) fail("ToyClassifier.apply", "x.shape", x.shape, `[B, ${this.cfg.dim}]`);
    return tf.tidy(() => {
      let h = tf.concat([this.scaledInput("ToyClassifier.apply", x, noiseStd), this.embed.apply(noiseStd)], 1);
      for (const d of this.hidden) h = this.act(d.apply(h));
      return this.out.apply(h) as tf.Tensor2D;
    });
  }
}

const WHERE = "createToyClassifier";

/** A small MLP classifier of (x, s(t)) for toys (see the module comment). */
export function createToyClassifier(cfg: ToyClassifierConfig): ClassifierNetwork {
  const { numClasses, embeddingDim, fourierScale, seed } = checkClassifierConfig(WHERE, cfg, "an object {numClasses, ...}");
  return new ToyClassifier({
    dim: checkPositiveInt(WHERE, "dim", cfg.dim ?? 2),
    numClasses,
    width: checkPositiveInt(WHERE, "width", cfg.width ?? 64),
    depth: checkPositiveInt(WHERE, "depth", cfg.depth ?? 2),
    activation: cfg.activation ?? "silu",
    embeddingDim,
    fourierScale,
    seed,
  });
}
