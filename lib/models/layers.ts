/**
 * Building blocks of the score networks: a parameter store that names and initialises variables from a seeded
 * Rng, and the layers (dense, conv3x3, GroupNorm, attention, time/noise embeddings) built on the fast primitives
 * of ./ops.
 *
 * Naming: every variable has a *logical* name ("unet/down0.res0/conv0/kernel") that is stable across rebuilds of
 * the same config — checkpoints use it — and an engine name `<kind>#<instance>/<logical>` that is unique in the
 * process, so two copies of one network (e.g. a model and its EMA copy) can live side by side.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkOneOf, checkPositive, checkPositiveInt, fail } from "../validate";
import { avgPool2, conv2dSame, groupNorm, groupNormSilu, linear, silu, bmm, upsampleNearest2 } from "./ops";
import { KERNELS, kernelOr } from "../perf/kernels";

/** How a weight is initialised. 'varianceScaling' is the official `default_init` (fan_avg, uniform). */
export type Init =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "varianceScaling"; scale: number; fanIn: number; fanOut: number }
  | { kind: "normal"; std: number };

let instanceCounter = 0;

/** Creates, names and owns the variables of one network instance. Draws come from the given Rng, in order. */
export class ParamStore {
  readonly names: string[] = [];
  readonly variables: tf.Variable[] = [];
  /** Fixed (non-trained) state that a checkpoint must still save, e.g. the random Fourier frequencies. */
  readonly fixedNames: string[] = [];
  readonly fixedVariables: tf.Variable[] = [];
  /** Fixed (non-trained) tensors, e.g. the Fourier projection; owned and disposed with the store. */
  private readonly buffers: tf.Tensor[] = [];
  private readonly prefix: string;

  constructor(
    private readonly rng: Rng,
    kind: string,
  ) {
    this.prefix = `${kind}#${++instanceCounter}`;
  }

  variable(name: string, shape: number[], init: Init): tf.Variable {
    this.checkFree(name);
    const value = tf.tidy(() => {
      switch (init.kind) {
        case "zeros":
          return tf.zeros(shape);
        case "ones":
          return tf.ones(shape);
        case "normal":
          return this.rng.normal(shape).mul(init.std);
        case "varianceScaling": {
          // Official default_init: uniform on ±sqrt(3 · scale / fan_avg); scale 0 (zero init) gives exact zeros.
          if (init.scale === 0) return tf.zeros(shape);
          const limit = Math.sqrt((3 * init.scale) / ((init.fanIn + init.fanOut) / 2));
          return this.rng.uniform(shape).mul(2 * limit).sub(limit);
        }
      }
    });
    const v = tf.variable(value, true, `${this.prefix}/${name}`);
    value.dispose();
    this.names.push(name);
    this.variables.push(v);
    return v;
  }

  private checkFree(name: string): void {
    if (this.names.includes(name) || this.fixedNames.includes(name)) {
      throw new Error(`ParamStore: variable name "${name}" is used twice`);
    }
  }

  /** A non-trainable variable holding `value` (taken over): saved in checkpoints, never trained. */
  fixed(name: string, value: tf.Tensor): tf.Variable {
    this.checkFree(name);
    const v = tf.variable(value, false, `${this.prefix}/${name}`);
    value.dispose();
    this.fixedNames.push(name);
    this.fixedVariables.push(v);
    return v;
  }

  /** Trainable variables, then fixed ones, with their logical names: everything a checkpoint saves. */
  get state(): { name: string; variable: tf.Variable }[] {
    return [
      ...this.variables.map((variable, i) => ({ name: this.names[i], variable })),
      ...this.fixedVariables.map((variable, i) => ({ name: this.fixedNames[i], variable })),
    ];
  }

  /** A constant tensor derived from the config alone (not saved), owned and disposed with the store. */
  buffer(t: tf.Tensor): tf.Tensor {
    const kept = tf.keep(t);
    this.buffers.push(kept);
    return kept;
  }

  get rngSource(): Rng {
    return this.rng;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    for (const v of this.fixedVariables) v.dispose();
    for (const b of this.buffers) b.dispose();
    this.variables.length = 0;
    this.fixedVariables.length = 0;
    this.buffers.length = 0;
  }
}

export type Activation = "silu" | "relu" | "elu" | "tanh";
export const ACTIVATIONS: readonly Activation[] = ["silu", "relu", "elu", "tanh"];

export function activation(name: Activation): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case "silu":
      return silu;
    case "relu":
      return tf.relu;
    case "elu":
      return tf.elu;
    case "tanh":
      return tf.tanh;
    default:
      return fail("activation", "activation", name, `one of ${ACTIVATIONS.join(", ")}`);
  }
}

/** Fully connected layer on the last axis with the fast gradient of `linear`. */
/**
 * The variable bookkeeping every network built on a ParamStore shares: the `ScoreNetwork` getters over its store
 * and `dispose`. Subclasses create their layers on `this.store` in their constructors.
 */
export abstract class ParamStoreNetwork {
  protected constructor(protected readonly store: ParamStore) {}

  get trainableVariables(): readonly tf.Variable[] {
    return this.store.variables;
  }
  get variableNames(): readonly string[] {
    return this.store.names;
  }
  get stateVariables(): readonly { name: string; variable: tf.Variable }[] {
    return this.store.state;
  }
  get paramCount(): number {
    return this.store.variables.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    this.store.dispose();
  }
}

export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inDim: number, outDim: number, initScale = 1) {
    this.kernel = store.variable(`${name}/kernel`, [inDim, outDim], {
      kind: "varianceScaling",
      scale: initScale,
      fanIn: inDim,
      fanOut: outDim,
    });
    this.bias = store.variable(`${name}/bias`, [outDim], { kind: "zeros" });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return linear(x, this.kernel, this.bias);
  }
}

/** Stride-1 'same' k×k convolution (NHWC) with forward-conv gradients. */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inCh: number, outCh: number, k = 3, initScale = 1) {
    this.kernel = store.variable(`${name}/kernel`, [k, k, inCh, outCh], {
      kind: "varianceScaling",
      scale: initScale,
      fanIn: inCh * k * k,
      fanOut: outCh * k * k,
    });
    this.bias = store.variable(`${name}/bias`, [outCh], { kind: "zeros" });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return conv2dSame(x, this.kernel, this.bias);
  }
}

export class GroupNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(
    store: ParamStore,
    name: string,
    readonly channels: number,
    readonly groups: number,
  ) {
    if (channels % groups !== 0) fail(name, "groups", groups, `a divisor of the channel count ${channels}`);
    this.gamma = store.variable(`${name}/gamma`, [channels], { kind: "ones" });
    this.beta = store.variable(`${name}/beta`, [channels], { kind: "zeros" });
  }
  /** GroupNorm(x), followed by the activation `act` when given (SiLU fused into the same kernel). */
  apply(x: tf.Tensor, act?: Activation): tf.Tensor {
    if (act === "silu") return groupNormSilu(x, this.gamma, this.beta, this.groups);
    const y = groupNorm(x, this.gamma, this.beta, this.groups);
    return act ? activation(act)(y) : y;
  }
}

/**
 * Self-attention over the pixels of [B, H, W, C] (official AttnBlockpp): GroupNorm, 1×1 q/k/v, softmax(q kᵀ/√C) v,
 * a 1×1 output projection (zero-initialised by default, as the official init_scale 0), and the skip (x + h)/√2. Matrix products use `bmm` (fast gradients).
 */
export class Attention {
  private readonly norm: GroupNorm;
  private readonly q: Dense;
  private readonly k: Dense;
  private readonly v: Dense;
  private readonly out: Dense;
  /** This block's variables (for gradient checkpointing). */
  readonly params: tf.Variable[];
  constructor(store: ParamStore, name: string, readonly channels: number, groups: number, outInitScale = 0) {
    const first = store.variables.length;
    this.norm = new GroupNorm(store, `${name}/norm`, channels, groups);
    this.q = new Dense(store, `${name}/q`, channels, channels);
    this.k = new Dense(store, `${name}/k`, channels, channels);
    this.v = new Dense(store, `${name}/v`, channels, channels);
    this.out = new Dense(store, `${name}/out`, channels, channels, outInitScale);
    this.params = store.variables.slice(first);
  }
  apply(x: tf.Tensor): tf.Tensor {
    const [b, hh, ww, c] = x.shape;
    const h = this.norm.apply(x).reshape([b, hh * ww, c]);
    const q = this.q.apply(h);
    const k = this.k.apply(h);
    const v = this.v.apply(h);
    const w = tf.softmax(bmm(q, tf.transpose(k, [0, 2, 1])).mul(1 / Math.sqrt(c)));
    const o = this.out.apply(bmm(w, v)).reshape([b, hh, ww, c]);
    return x.add(o).mul(Math.SQRT1_2);
  }
}

export type EmbeddingType = "fourier" | "positional";
export const EMBEDDINGS: readonly EmbeddingType[] = ["fourier", "positional"];

/**
 * Gaussian Fourier features of log(label) (NCSN++ `GaussianFourierProjection`, for VE labels σ > 0):
 * W ~ N(0, 1)·scale drawn once from the seeded Rng and never trained; output [sin(2π log σ W), cos(2π log σ W)]
 * of width `dim` (W has dim/2 entries). Computed once per forward pass; every block reuses the result.
 *
 * Both embeddings run the sinCosRows kernel where the backend has it (lib/perf/native: the rows in double, once
 * per distinct label — a sampler's batch shares one; wasm's Sin/Cos/Log kernels cost ~1 µs per element), else
 * the same features in tfjs ops. Labels are constants to autodiff on the kernel path: nothing in this library
 * differentiates a network with respect to its noise label.
 */
export class FourierEmbedding {
  private readonly W: tf.Variable;
  constructor(store: ParamStore, name: string, readonly dim: number, scale: number) {
    checkPositiveInt("FourierEmbedding", "dim", dim);
    if (dim % 2 !== 0) fail("FourierEmbedding", "dim", dim, "an even positive integer");
    checkPositive("FourierEmbedding", "scale", scale);
    // Stored with the 2π folded in; a fixed variable, so checkpoints carry it (as the official state_dict).
    this.W = store.fixed(`${name}/W`, tf.tidy(() => store.rngSource.normal([1, dim / 2]).mul(scale * 2 * Math.PI)));
  }
  apply(label: tf.Tensor): tf.Tensor {
    return kernelOr(KERNELS.sinCosRows, { label: label.reshape([-1]), f: this.W.reshape([-1]) }, { dim: this.dim, log: true }, () => {
      const proj = label.log().reshape([-1, 1]).mul(this.W);
      return tf.concat([tf.sin(proj), tf.cos(proj)], 1);
    });
  }
}

/**
 * DDPM sinusoidal embedding (`get_timestep_embedding`, max_positions 10000): frequencies
 * exp(−k ln(10000)/(half − 1)), k < half = ⌊dim/2⌋, output [sin(label·f), cos(label·f)] (zero-padded if dim is odd).
 */
export class PositionalEmbedding {
  private readonly freqs: tf.Tensor;
  constructor(store: ParamStore, readonly dim: number, maxPositions = 10000) {
    checkPositiveInt("PositionalEmbedding", "dim", dim);
    if (dim < 4) fail("PositionalEmbedding", "dim", dim, "an integer ≥ 4");
    const half = Math.floor(dim / 2);
    const f = Float32Array.from({ length: half }, (_, k) => Math.exp((-k * Math.log(maxPositions)) / (half - 1)));
    this.freqs = store.buffer(tf.tensor2d(f, [1, half]));
  }
  apply(label: tf.Tensor): tf.Tensor {
    // The kernel leaves the odd-dim zero column at 0 (rows are dim wide, 2·half filled).
    return kernelOr(KERNELS.sinCosRows, { label: label.reshape([-1]), f: this.freqs.reshape([-1]) }, { dim: this.dim, log: false }, () => {
      const arg = label.reshape([-1, 1]).mul(this.freqs);
      const e = tf.concat([tf.sin(arg), tf.cos(arg)], 1);
      return this.dim % 2 === 1 ? tf.pad(e, [[0, 0], [0, 1]]) : e;
    });
  }
}

export function makeEmbedding(
  store: ParamStore,
  name: string,
  type: EmbeddingType,
  dim: number,
  fourierScale: number,
): FourierEmbedding | PositionalEmbedding {
  checkOneOf("embedding", "embedding", type, EMBEDDINGS);
  return type === "fourier" ? new FourierEmbedding(store, name, dim, fourierScale) : new PositionalEmbedding(store, dim);
}

export { avgPool2, upsampleNearest2 };
