/**
 * The contract between score networks, losses, training and checkpoints.
 *
 * A network maps data x [B, ...dims] and a conditioning label [B] to an output of x's shape. What the label and
 * the output mean depends on the SDE; `scoreFnFromModel` (./score.ts, SPEC §1.2) does the wrapping:
 *   VE — label σ(t) (continuous) or round((T − t)(N − 1)) (discrete); with `scaleBySigma` (the default, as the
 *        official NCSN++ VE configs) the output is σ·score and the wrapper divides by σ; without it the output
 *        is the score itself.
 *   VP / sub-VP — label 999·t (continuous) or t(N − 1) (discrete); the output is the predicted noise ε and
 *        score = −output / std.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";

/** Options of one forward pass. */
export interface ApplyOptions {
  /** Training mode: enables dropout (default false). */
  training?: boolean;
  /** Source of the dropout masks; required when training with dropout > 0. */
  rng?: Rng;
}

export interface ScoreNetwork {
  /** Architecture name, e.g. "mlp" or "unet" (the key of `networkFromConfig`'s registry). */
  readonly kind: string;
  /**
   * Forward pass. Must not keep references to its inputs; intermediates are freed (call inside tf.tidy).
   * Differentiable in x and the variables; the label is a constant to autodiff (the built-in networks compute
   * the noise embedding on the host on wasm/cpu).
   */
  apply(x: tf.Tensor, label: tf.Tensor, opts?: ApplyOptions): tf.Tensor;
  /** Trainable variables in a fixed order. Their engine names are unique per instance (see `variableNames`). */
  readonly trainableVariables: readonly tf.Variable[];
  /**
   * Logical names of `trainableVariables`, same order, unique within the network and stable across rebuilds from
   * the same config (checkpoints key weights by these; engine names carry an instance number).
   */
  readonly variableNames: readonly string[];
  /**
   * Everything a checkpoint saves, with logical names: the trainable variables (same order) followed by fixed,
   * non-trained state such as the random Fourier frequencies of the noise embedding.
   */
  readonly stateVariables: readonly { readonly name: string; readonly variable: tf.Variable }[];
  /** JSON-serialisable configuration (with `kind`) from which `networkFromConfig` rebuilds the same architecture. */
  getConfig(): Record<string, unknown>;
  /** Number of trainable scalars. */
  readonly paramCount: number;
  /** Frees the variables and fixed buffers. */
  dispose(): void;
}
