/**
 * The contract between score networks, losses, training and checkpoints.
 *
 * A network maps data x [B, ...dims] and a conditioning label [B] to an output of x's shape. What the label and
 * the output mean depends on the SDE (see `scoreFnFromModel` / SPEC §1.2): VE — label σ(t), output the score
 * (already divided by σ); VP / sub-VP — label 999·t, output the predicted noise ε (score = −output / std).
 */
import type * as tf from "@tensorflow/tfjs";

export interface ScoreNetwork {
  /** Architecture name, e.g. "mlp" or "unet". */
  readonly kind: string;
  /** Forward pass. Must not keep references to its inputs; intermediates are freed (call inside tf.tidy). */
  apply(x: tf.Tensor, label: tf.Tensor): tf.Tensor;
  /** Trainable variables in a fixed order; names are unique and stable across rebuilds from the same config. */
  readonly trainableVariables: readonly tf.Variable[];
  /** JSON-serialisable configuration from which the same architecture is rebuilt. */
  getConfig(): Record<string, unknown>;
  /** Frees the variables. */
  dispose(): void;
}
