/**
 * A small NCSN++ / DDPM++-style U-Net (official `ncsnpp.py` with resblock_type 'ddpm', no FIR, no progressive
 * paths), NHWC, built from the fast-gradient layers of ./layers:
 *
 *   label → embedding (Fourier of log σ: width 2·nf; positional: width nf) → Dense(4nf) → act → Dense(4nf) = temb
 *   x → conv3x3(nf)
 *   per level i (resolution imageSize / 2^i): numResBlocks × [ResBlock(nf·channelMult[i]) (+ Attention)],
 *     then (not at the last level) Downsample = 2×2 average pool → conv3x3; every output is kept as a skip
 *   middle: ResBlock, Attention (when the lowest resolution is in attentionResolutions), ResBlock
 *   per level, reversed: (numResBlocks + 1) × ResBlock(concat(h, skip)) (+ Attention), then (not at level 0)
 *     Upsample = nearest 2× → conv3x3
 *   output: GroupNorm → act → conv3x3(imageChannels)
 *
 * ResBlock: GN → act → conv3x3 → + Dense(act(temb)) per channel → GN → act → dropout → conv3x3 (init scale
 * `initScale`, 0 = zero-init as the official configs) ; skip x (1×1 if the width changes) ; (x + h)/√2.
 * GroupNorm uses, per layer, the largest divisor of C that is ≤ min(groups, C/4) (official: min(C/4, 32)).
 * Down/up-sampling are average pooling and nearest upsampling + conv (no strided or transposed convolutions:
 * their gradients are missing or slow on wasm). Images are NHWC ([B, H, W, C], tfjs' native layout; the official
 * code is NCHW).
 *
 * The defaults at 28×28×1 have 798,145 parameters (forward and train-step times: tools/bench/README.md).
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import { checkNonNegative, checkOneOf, checkPositive, checkPositiveInt, fail } from "../validate";
import {
  ACTIVATIONS,
  Activation,
  Attention,
  Conv2d,
  Dense,
  EMBEDDINGS,
  EmbeddingType,
  FourierEmbedding,
  GroupNorm,
  ParamStore,
  ParamStoreNetwork,
  PositionalEmbedding,
  activation,
  avgPool2,
  makeEmbedding,
  upsampleNearest2,
} from "./layers";
import type { ApplyOptions, ScoreNetwork } from "./network";
import { remat } from "./remat";
import { KERNELS, hasKernel } from "../perf/kernels";

export interface UNetConfig {
  /** Base width nf. Default 32. */
  channels?: number;
  /** Width multiplier per resolution level. Default [1, 1, 2] (with nf 32: ~0.8 M parameters at 28×28×1). */
  channelMult?: number[];
  /** Residual blocks per level (down path; the up path has one more). Default 1. */
  numResBlocks?: number;
  /** Resolutions with self-attention. Default: the lowest resolution only. */
  attentionResolutions?: number[];
  /** Maximum number of GroupNorm groups. Default 32. */
  groups?: number;
  /** Dropout rate in the residual blocks (training mode only). Default 0. */
  dropout?: number;
  /** 'fourier' (of log label; VE σ) or 'positional' (label, e.g. VP 999·t). Default 'fourier'. */
  embedding?: EmbeddingType;
  fourierScale?: number;
  activation?: Activation;
  /** Scale of the last conv of each block, the attention output and the output conv; 0 = zero-init. Default 0. */
  initScale?: number;
  /**
   * Gradient checkpointing of every residual and attention block (see ./remat): the backward pass recomputes each
   * block instead of keeping its intermediates — about 2.7× less memory for a train step, for one extra forward
   * pass of each block (~25 % more time per step). Values and gradients equal to float32 rounding.
   * "auto" (default): checkpoint a call only when the un-checkpointed train step is estimated to need more than
   * AUTO_CHECKPOINT_BYTES (2 GiB; the wasm heap is capped at 4 GB) for its batch — `trainStepBytes` — so batches
   * that fit run at full speed and large ones still fit. true / false: always / never.
   */
  gradientCheckpointing?: boolean | "auto";
  /** Map inputs x → 2x − 1 first (official, for data in [0, 1] with data.centered = False). Default false. */
  centerInput?: boolean;
  /** Image side (square images). Required. */
  imageSize: number;
  /** Image channels. Required. */
  imageChannels: number;
  seed?: number;
}

export type ResolvedUNetConfig = Required<UNetConfig> & { kind: "unet" };

const WHERE = "createUNet";

export function resolveUNetConfig(cfg: UNetConfig): ResolvedUNetConfig {
  if (cfg === null || typeof cfg !== "object") fail(WHERE, "config", cfg, "an object");
  const known = [
    "kind", "channels", "channelMult", "numResBlocks", "attentionResolutions", "groups", "dropout", "embedding",
    "fourierScale", "activation", "initScale", "gradientCheckpointing", "centerInput", "imageSize", "imageChannels", "seed",
  ];
  for (const k of Object.keys(cfg)) if (!known.includes(k)) fail(WHERE, "config key", k, `one of ${known.join(", ")}`);
  const channelMult = cfg.channelMult ?? [1, 1, 2];
  if (!Array.isArray(channelMult) || channelMult.length === 0 || !channelMult.every((m) => Number.isInteger(m) && m > 0)) {
    fail(WHERE, "channelMult", channelMult, "a non-empty array of positive integers");
  }
  const imageSize = checkPositiveInt(WHERE, "imageSize", cfg.imageSize);
  const levels = channelMult.length;
  const lowest = imageSize / 2 ** (levels - 1);
  if (!Number.isInteger(lowest)) {
    fail(WHERE, "imageSize", imageSize, `divisible by 2^(channelMult.length − 1) = ${2 ** (levels - 1)}`);
  }
  const resolutions = channelMult.map((_, i) => imageSize / 2 ** i);
  const attn = cfg.attentionResolutions ?? [lowest];
  if (!Array.isArray(attn) || !attn.every((r) => resolutions.includes(r))) {
    fail(WHERE, "attentionResolutions", attn, `an array of resolutions among [${resolutions.join(", ")}]`);
  }
  const r: ResolvedUNetConfig = {
    kind: "unet",
    channels: checkPositiveInt(WHERE, "channels", cfg.channels ?? 32),
    channelMult: channelMult.slice(),
    numResBlocks: checkPositiveInt(WHERE, "numResBlocks", cfg.numResBlocks ?? 1),
    attentionResolutions: attn.slice(),
    groups: checkPositiveInt(WHERE, "groups", cfg.groups ?? 32),
    dropout: checkNonNegative(WHERE, "dropout", cfg.dropout ?? 0),
    embedding: checkOneOf(WHERE, "embedding", cfg.embedding ?? "fourier", EMBEDDINGS),
    fourierScale: checkPositive(WHERE, "fourierScale", cfg.fourierScale ?? 16),
    activation: checkOneOf(WHERE, "activation", cfg.activation ?? "silu", ACTIVATIONS),
    initScale: checkNonNegative(WHERE, "initScale", cfg.initScale ?? 0),
    gradientCheckpointing: cfg.gradientCheckpointing ?? "auto",
    centerInput: cfg.centerInput ?? false,
    imageSize,
    imageChannels: checkPositiveInt(WHERE, "imageChannels", cfg.imageChannels),
    seed: cfg.seed ?? 0,
  };
  if (r.dropout >= 1) fail(WHERE, "dropout", r.dropout, "in [0, 1)");
  if (typeof r.gradientCheckpointing !== "boolean" && r.gradientCheckpointing !== "auto") {
    fail(WHERE, "gradientCheckpointing", r.gradientCheckpointing, 'true, false or "auto"');
  }
  if (typeof r.centerInput !== "boolean") fail(WHERE, "centerInput", r.centerInput, "true or false");
  if (!Number.isSafeInteger(r.seed)) fail(WHERE, "seed", r.seed, "a safe integer");
  if (r.embedding === "positional" && r.channels < 4) fail(WHERE, "channels", r.channels, "≥ 4 for the positional embedding");
  return r;
}

/** Largest divisor of c that is ≤ min(maxGroups, c/4), at least 1 (official: min(c // 4, 32)). */
export function groupsFor(c: number, maxGroups: number): number {
  for (let g = Math.max(1, Math.min(maxGroups, Math.floor(c / 4))); g > 1; g--) if (c % g === 0) return g;
  return 1;
}

interface Ctx {
  temb: tf.Tensor;
  training: boolean;
  opts?: ApplyOptions;
  /** Whether this call checkpoints its blocks (the config's setting, "auto" decided for the batch). */
  checkpoint: boolean;
}

/** "auto" checkpointing turns on above this estimated train-step memory (trainStepBytes): half the 4 GB wasm heap. */
export const AUTO_CHECKPOINT_BYTES = 2 ** 31;

/**
 * Bytes an un-checkpointed train step keeps per example at its peak, per float of the forward pass's main
 * activations (the sum UNet.activationFloats adds up block by block). Measured with tf.profile's peakBytes on wasm,
 * six configurations (8×8 to 32×32×3; 1–2 res blocks; attention at 0–2 resolutions): 2.4–2.8 floats kept per
 * float counted with this project's kernels, 5.4–7.5 with the tfjs fallbacks (their gradients keep more
 * intermediates). Rounded up, so the estimate errs on the safe side (test/models-unet.test.ts checks one).
 */
const BYTES_PER_FLOAT = { kernels: 3 * 4, fallback: 7.5 * 4 };

class ResBlock {
  private readonly gn0: GroupNorm;
  private readonly conv0: Conv2d;
  private readonly tproj: Dense;
  private readonly gn1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly skip?: Dense;
  /** This block's variables (for gradient checkpointing). */
  readonly params: tf.Variable[];
  constructor(
    store: ParamStore,
    name: string,
    inCh: number,
    readonly outCh: number,
    tembDim: number,
    private readonly cfg: ResolvedUNetConfig,
    private readonly act: (x: tf.Tensor) => tf.Tensor,
  ) {
    const first = store.variables.length;
    this.gn0 = new GroupNorm(store, `${name}/norm0`, inCh, groupsFor(inCh, cfg.groups));
    this.conv0 = new Conv2d(store, `${name}/conv0`, inCh, outCh);
    this.tproj = new Dense(store, `${name}/temb`, tembDim, outCh);
    this.gn1 = new GroupNorm(store, `${name}/norm1`, outCh, groupsFor(outCh, cfg.groups));
    this.conv1 = new Conv2d(store, `${name}/conv1`, outCh, outCh, 3, cfg.initScale);
    if (inCh !== outCh) this.skip = new Dense(store, `${name}/skip`, inCh, outCh);
    this.params = store.variables.slice(first);
  }
  /** The dropout mask (scaled by 1/keep) for input x [B, H, W, ·], or undefined when dropout is off. */
  dropoutMask(x: tf.Tensor, ctx: Ctx): tf.Tensor | undefined {
    if (!ctx.training || this.cfg.dropout === 0) return undefined;
    const rng = ctx.opts?.rng;
    if (!rng) fail("UNet.apply", "opts.rng", rng, "an Rng when training with dropout > 0");
    const keep = 1 - this.cfg.dropout;
    const [b, h, w] = x.shape as [number, number, number];
    return tf.tidy(() => rng.uniform([b, h, w, this.outCh]).less(keep).toFloat().div(keep));
  }
  /** With `mask` given (gradient checkpointing) it is used as is; otherwise a mask is drawn when training. */
  apply(x: tf.Tensor, ctx: Ctx, mask?: tf.Tensor): tf.Tensor {
    let h = this.conv0.apply(this.gn0.apply(x, this.cfg.activation));
    // The time embedding enters as a per-channel bias, broadcast over the pixels.
    const b = this.tproj.apply(this.act(ctx.temb));
    h = h.add(b.reshape([b.shape[0], 1, 1, this.outCh]));
    h = this.gn1.apply(h, this.cfg.activation);
    const m = mask ?? this.dropoutMask(x, ctx);
    if (m) h = h.mul(m);
    h = this.conv1.apply(h);
    const s = this.skip ? this.skip.apply(x) : x;
    return s.add(h).mul(Math.SQRT1_2);
  }
}

type Block =
  | { type: "res"; block: ResBlock }
  | { type: "attn"; block: Attention }
  | { type: "down"; conv: Conv2d }
  | { type: "up"; conv: Conv2d };

class UNet extends ParamStoreNetwork implements ScoreNetwork {
  readonly kind = "unet";
  private readonly embed: FourierEmbedding | PositionalEmbedding;
  private readonly temb0: Dense;
  private readonly temb1: Dense;
  private readonly convIn: Conv2d;
  private readonly down: { block: Block; skip: boolean }[] = [];
  private readonly mid: Block[] = [];
  private readonly up: { block: Block; popSkip: boolean }[] = [];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  /** Σ of the forward pass's main activation sizes per example (floats), for trainStepBytes. */
  readonly activationFloats: number;

  constructor(private readonly cfg: ResolvedUNetConfig) {
    super(new ParamStore(createRng(cfg.seed), "unet"));
    const s = this.store;
    const act = (this.act = activation(cfg.activation));
    const nf = cfg.channels;
    const embDim = cfg.embedding === "fourier" ? 2 * nf : nf;
    this.embed = makeEmbedding(s, "unet/embed", cfg.embedding, embDim, cfg.fourierScale);
    const tembDim = 4 * nf;
    this.temb0 = new Dense(s, "unet/temb0", embDim, tembDim);
    this.temb1 = new Dense(s, "unet/temb1", tembDim, tembDim);
    this.convIn = new Conv2d(s, "unet/conv_in", cfg.imageChannels, nf);

    const levels = cfg.channelMult.length;
    const skipCh: number[] = [nf];
    let ch = nf;
    let res = cfg.imageSize;
    const attnHere = (r: number) => cfg.attentionResolutions.includes(r);
    // Activation sizes per example, for the memory estimate of a train step (see trainStepBytes).
    let floats = res * res * (cfg.imageChannels + 2 * nf);
    const resFloats = (r: number, cin: number, cout: number) => r * r * (2 * cin + 6 * cout);
    const attnFloats = (r: number, c: number) => r * r * 8 * c + 6 * r ** 4;
    for (let i = 0; i < levels; i++) {
      for (let j = 0; j < cfg.numResBlocks; j++) {
        const out = nf * cfg.channelMult[i];
        const rb = new ResBlock(s, `unet/down${i}.res${j}`, ch, out, tembDim, cfg, act);
        floats += resFloats(res, ch, out);
        ch = out;
        const hasAttn = attnHere(res);
        this.down.push({ block: { type: "res", block: rb }, skip: !hasAttn });
        if (hasAttn) {
          floats += attnFloats(res, ch);
          this.down.push({ block: { type: "attn", block: new Attention(s, `unet/down${i}.attn${j}`, ch, groupsFor(ch, cfg.groups), cfg.initScale) }, skip: true });
        }
        skipCh.push(ch);
      }
      if (i !== levels - 1) {
        this.down.push({ block: { type: "down", conv: new Conv2d(s, `unet/down${i}.downsample`, ch, ch) }, skip: true });
        skipCh.push(ch);
        res /= 2;
        floats += 2 * res * res * ch;
      }
    }
    this.mid.push({ type: "res", block: new ResBlock(s, "unet/mid.res0", ch, ch, tembDim, cfg, act) });
    floats += 2 * resFloats(res, ch, ch) + (attnHere(res) ? attnFloats(res, ch) : 0);
    if (attnHere(res)) this.mid.push({ type: "attn", block: new Attention(s, "unet/mid.attn", ch, groupsFor(ch, cfg.groups), cfg.initScale) });
    this.mid.push({ type: "res", block: new ResBlock(s, "unet/mid.res1", ch, ch, tembDim, cfg, act) });
    for (let i = levels - 1; i >= 0; i--) {
      for (let j = 0; j < cfg.numResBlocks + 1; j++) {
        const out = nf * cfg.channelMult[i];
        const inCh = ch + (skipCh.pop() as number);
        this.up.push({ block: { type: "res", block: new ResBlock(s, `unet/up${i}.res${j}`, inCh, out, tembDim, cfg, act) }, popSkip: true });
        floats += res * res * inCh + resFloats(res, inCh, out);
        ch = out;
      }
      if (attnHere(res)) {
        floats += attnFloats(res, ch);
        this.up.push({ block: { type: "attn", block: new Attention(s, `unet/up${i}.attn`, ch, groupsFor(ch, cfg.groups), cfg.initScale) }, popSkip: false });
      }
      if (i !== 0) {
        this.up.push({ block: { type: "up", conv: new Conv2d(s, `unet/up${i}.upsample`, ch, ch) }, popSkip: false });
        res *= 2;
        floats += 2 * res * res * ch;
      }
    }
    if (skipCh.length !== 0) throw new Error("UNet: skip bookkeeping is inconsistent (a bug)");
    this.normOut = new GroupNorm(s, "unet/norm_out", ch, groupsFor(ch, cfg.groups));
    this.activationFloats = floats + res * res * (2 * ch + cfg.imageChannels);
    this.convOut = new Conv2d(s, "unet/conv_out", ch, cfg.imageChannels, 3, cfg.initScale);
  }

  /**
   * Estimated peak bytes an un-checkpointed train step (loss and backward) on `batch` examples adds to the heap on
   * the active backend: what "auto" compares with AUTO_CHECKPOINT_BYTES (checkpointing keeps ~2.7× less).
   */
  trainStepBytes(batch: number): number {
    const withKernels = hasKernel(KERNELS.conv2dSame, {}) && hasKernel(KERNELS.groupNorm, {});
    return batch * this.activationFloats * (withKernels ? BYTES_PER_FLOAT.kernels : BYTES_PER_FLOAT.fallback);
  }

  /** Whether a call on `batch` examples checkpoints its blocks: the config's setting, "auto" decided by trainStepBytes. */
  checkpoints(batch: number): boolean {
    const mode = this.cfg.gradientCheckpointing;
    return mode === "auto" ? this.trainStepBytes(batch) > AUTO_CHECKPOINT_BYTES : mode;
  }

  /**
   * One block inside its own tidy: a single outer tidy would hold every intermediate of the whole pass until the end
   * (about twice the forward heap). Under a gradient tape this is still safe: tfjs
   * keeps its own clones of what each gradient needs (and our custom ops save explicitly).
   */
  private run(b: Block, h: tf.Tensor, ctx: Ctx): tf.Tensor {
    return tf.tidy(() => this.runBlock(b, h, ctx));
  }

  private runBlock(b: Block, h: tf.Tensor, ctx: Ctx): tf.Tensor {
    switch (b.type) {
      case "res": {
        const block = b.block;
        if (!ctx.checkpoint) return block.apply(h, ctx);
        // The mask is drawn once, outside, so that the backward recomputation uses the same one.
        const mask = block.dropoutMask(h, ctx);
        const inputs = mask ? [h, ctx.temb, mask] : [h, ctx.temb];
        return remat((x, temb, m) => block.apply(x, { ...ctx, temb }, m), inputs, block.params);
      }
      case "attn": {
        const block = b.block;
        return ctx.checkpoint ? remat((x) => block.apply(x), [h], block.params) : block.apply(h);
      }
      case "down":
        return b.conv.apply(avgPool2(h));
      case "up":
        return b.conv.apply(upsampleNearest2(h));
    }
  }

  apply(x: tf.Tensor, label: tf.Tensor, opts?: ApplyOptions): tf.Tensor {
    const { imageSize: n, imageChannels: c } = this.cfg;
    if (x.rank !== 4 || x.shape[1] !== n || x.shape[2] !== n || x.shape[3] !== c) {
      fail("UNet.apply", "x.shape", x.shape, `[B, ${n}, ${n}, ${c}] (NHWC)`);
    }
    if (label.rank !== 1 || label.shape[0] !== x.shape[0]) {
      fail("UNet.apply", "label.shape", label.shape, `[${x.shape[0]}] (one label per example)`);
    }
    return tf.tidy(() => {
      // The embedding (sin/cos, slow on wasm) is computed once per call and shared by every block.
      const temb = this.temb1.apply(this.act(this.temb0.apply(this.embed.apply(label))));
      const ctx: Ctx = { temb, training: opts?.training ?? false, opts, checkpoint: this.checkpoints(x.shape[0]) };
      let h = this.convIn.apply(this.cfg.centerInput ? x.mul(2).sub(1) : x);
      const skips: tf.Tensor[] = [h];
      for (const { block, skip } of this.down) {
        h = this.run(block, h, ctx);
        if (skip) skips.push(h);
      }
      for (const b of this.mid) h = this.run(b, h, ctx);
      for (const { block, popSkip } of this.up) {
        if (popSkip) h = tf.concat([h, skips.pop() as tf.Tensor], 3);
        h = this.run(block, h, ctx);
      }
      const last = h;
      return tf.tidy(() => this.convOut.apply(this.normOut.apply(last, this.cfg.activation)));
    });
  }

  getConfig(): Record<string, unknown> {
    return { ...this.cfg, channelMult: this.cfg.channelMult.slice(), attentionResolutions: this.cfg.attentionResolutions.slice() };
  }

}

/** The U-Net as createUNet returns it: a ScoreNetwork that can estimate a train step's memory. */
export interface UNetNetwork extends ScoreNetwork {
  /** Estimated peak bytes of an un-checkpointed train step on `batch` examples (see UNet.trainStepBytes). */
  trainStepBytes(batch: number): number;
  /** Whether a call on `batch` examples checkpoints its blocks (gradientCheckpointing, "auto" decided). */
  checkpoints(batch: number): boolean;
}

/** A small NCSN++/DDPM++-style U-Net (see the file comment); weights and Fourier frequencies drawn from `seed`. */
export function createUNet(cfg: UNetConfig): UNetNetwork {
  return new UNet(resolveUNetConfig(cfg));
}
