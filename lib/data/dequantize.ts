/**
 * Uniform dequantisation of 8-bit (or b-bit) data and the bits/dim offset that goes with it (Song et al. 2021,
 * App. D.2 / Table 2; official `likelihood.py` and `datasets.py`).
 *
 * A continuous density p on the scaled data space gives a discrete likelihood of the quantised data through
 * dequantisation: level k of 2^b levels is spread uniformly over its bin, k ↦ lo + (k + u)(hi − lo)/2^b with
 * u ~ U[0, 1). Each bin has width W/2^b (W = hi − lo), so by Jensen −log₂ P(k) ≤ −log₂ p(x) − D log₂(W/2^b): the
 * bits/dim of the discrete data is bounded by the continuous bits/dim plus b − log₂ W per dimension. The official
 * code adds exactly this as `7 − inverse_scaler(−1)`: 7 for data centred to [−1, 1], 8 for data in [0, 1].
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { fail } from "../validate";

/** Uniform dequantisation of `bits`-bit data into the continuous `range` (official: bits 8, [−1, 1] when centred). */
export interface DequantizeOptions {
  /** Bits per value: levels are the integers 0 … 2^bits − 1 (default 8). */
  bits?: number;
  /** The continuous range [lo, hi] the levels are scaled into (default [−1, 1], the official centred data). */
  range?: readonly [number, number];
}

/** offset = bits − log₂(hi − lo): 7 for 8-bit data in [−1, 1], 8 for 8-bit data in [0, 1] (official 7 − inverse_scaler(−1)). */
export function bitsPerDimOffset(opts: DequantizeOptions = {}): number {
  const { bits, lo, hi } = checkDequantize("bitsPerDimOffset", opts);
  return bits - Math.log2(hi - lo);
}

export function checkDequantize(where: string, o: DequantizeOptions): { bits: number; lo: number; hi: number } {
  if (o === null || typeof o !== "object") fail(where, "dequantize", o, "an object {bits?, range?}");
  const bits = o.bits ?? 8;
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) fail(where, "dequantize.bits", bits, "an integer in [1, 16]");
  const range = o.range ?? [-1, 1];
  if (!Array.isArray(range) || range.length !== 2 || !Number.isFinite(range[0]) || !Number.isFinite(range[1]) || !(range[1] > range[0])) {
    fail(where, "dequantize.range", range, "[lo, hi] with finite lo < hi");
  }
  return { bits, lo: range[0], hi: range[1] };
}

/**
 * Uniform dequantisation: integer levels k ∈ {0, …, 2^bits − 1} ↦ lo + (k + u)(hi − lo)/2^bits, u ~ U[0, 1) drawn
 * through rng (one uniform per value). With the defaults this is the official `(255·img + U)/256` followed by the
 * centring scaler 2v − 1. Non-integer or out-of-range levels raise an error naming the first one.
 */
export function uniformDequantize(levels: tf.Tensor, rng: Rng, opts: DequantizeOptions = {}): tf.Tensor {
  const where = "uniformDequantize";
  const { bits, lo, hi } = checkDequantize(where, opts);
  if (!(levels instanceof tf.Tensor)) fail(where, "levels", levels, "a tf.Tensor of integer levels");
  if (!rng) fail(where, "rng", rng, "an Rng for the dequantisation noise");
  const L = 2 ** bits;
  const v = levels.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!(Number.isInteger(v[i]) && v[i] >= 0 && v[i] < L)) {
      fail(where, `levels (flat index ${i})`, v[i], `an integer level in [0, ${L - 1}] for ${bits}-bit data (pass continuous data without 'dequantize')`);
    }
  }
  return tf.tidy(() => rng.uniform(levels.shape).add(levels.toFloat()).mul((hi - lo) / L).add(lo));
}

