/**
 * The noise-conditional CNN classifier for images [B, H, W, C] (NHWC, e.g. MNIST; kind "imageClassifier"; see
 * ../classifier.ts for how it is trained and used).
 */
import * as tf from "@tensorflow/tfjs";
import { Conv2d, Dense, FourierEmbedding, activation, avgPool2 } from "../../models";
import { checkPositiveInt, fail } from "../../validate";
import { ClassifierBase, checkClassifierConfig } from "../classifier";
import type { ClassifierCommonConfig, ClassifierNetwork } from "../classifier";

export interface ImageClassifierConfig extends ClassifierCommonConfig {
  /** Image height = width (e.g. 28 for MNIST). */
  size: number;
  /** Image channels (NHWC; default 1). */
  channels?: number;
  /** Feature maps of the first convolution; later ones double (default 16). */
  features?: number;
  /** Convolution stages, each conv 3×3 + SiLU then 2×2 average pooling while the size is even (default 3). */
  stages?: number;
}

/**
 * A small noise-conditional CNN: the noise embedding enters as a per-channel bias after the first convolution (as
 * the U-Net's time conditioning), then conv stages with pooling and a dense head on the flattened last feature map
 * (not a global average, which would discard where a feature is). The input is divided by √(1 + s²), as in the toy
 * classifier.
 */
class ImageClassifier extends ClassifierBase<Required<ImageClassifierConfig>> {
  private readonly embed: FourierEmbedding;
  private readonly embedProj: Dense;
  private readonly convs: Conv2d[] = [];
  private readonly head: Dense;
  private readonly out: Dense;

  constructor(cfg: Required<ImageClassifierConfig>) {
    super("imageClassifier", cfg, "imageClassifier");
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

  override apply(x: tf.Tensor, noiseStd: tf.Tensor): tf.Tensor2D {
    const { size, channels } = this.cfg;
    if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== channels) {
      fail("ImageClassifier.apply", "x.shape", x.shape, `[B, ${size}, ${size}, ${channels}] (NHWC)`);
    }
    return tf.tidy(() => {
      const silu = activation("silu");
      let h = this.scaledInput("ImageClassifier.apply", x, noiseStd);
      this.convs.forEach((conv, i) => {
        h = conv.apply(h);
        if (i === 0) h = h.add(this.embedProj.apply(this.embed.apply(noiseStd)).reshape([x.shape[0], 1, 1, -1]));
        h = silu(h);
        if (h.shape[1]! % 2 === 0 && h.shape[2]! % 2 === 0 && i < this.convs.length - 1) h = avgPool2(h);
      });
      return this.out.apply(silu(this.head.apply(h.reshape([x.shape[0], -1])))) as tf.Tensor2D;
    });
  }
}

const WHERE = "createImageClassifier";

/** A small noise-conditional CNN classifier for images (see ImageClassifier). */
export function createImageClassifier(cfg: ImageClassifierConfig): ClassifierNetwork {
  const { numClasses, embeddingDim, fourierScale, seed } = checkClassifierConfig(WHERE, cfg, "an object {size, numClasses, ...}");
  return new ImageClassifier({
    size: checkPositiveInt(WHERE, "size", cfg.size),
    channels: checkPositiveInt(WHERE, "channels", cfg.channels ?? 1),
    numClasses,
    features: checkPositiveInt(WHERE, "features", cfg.features ?? 16),
    stages: checkPositiveInt(WHERE, "stages", cfg.stages ?? 3),
    embeddingDim,
    fourierScale,
    seed,
  });
}
