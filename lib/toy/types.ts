import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";

/**
 * What every toy distribution offers: a name for plots and tables, its dimension, and seeded sampling.
 * `sample(n, rng)` returns a float32 [n, dim] tensor (the caller disposes it) and draws only host arrays from rng
 * (`uniformArray` / `normalArray`), so the same seed gives the same points on every backend.
 */
export interface ToyDistribution {
  readonly name: string;
  readonly dim: number;
  sample(n: number, rng: Rng): tf.Tensor2D;
}
