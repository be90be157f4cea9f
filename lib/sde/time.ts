/**
 * Time vectors. Every SDE method takes `t` of shape [B] (one time per example, as the official `vec_t`).
 * Checking that t lies in [0, T] reads the tensor; samplers build their time vectors with `timeVector`, which
 * validates the number once on the host and marks the tensor as checked, so hot loops never read back.
 */
import * as tf from "@tensorflow/tfjs";
import { fail } from "../validate";

const checked = new WeakSet<tf.Tensor>();

/** A [B] float32 vector filled with t, checked against [0, T]. */
export function timeVector(t: number, batch: number, T: number, where = "timeVector"): tf.Tensor1D {
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > T) fail(where, "t", t, `a number in [0, ${T}]`);
  const v = tf.fill([batch], t, "float32") as tf.Tensor1D;
  checked.add(v);
  return v;
}

/** Checks that t is [B] (B = batch when given) with values in [0, T]. */
export function checkTime(where: string, t: tf.Tensor, T: number, batch?: number): void {
  if (!(t instanceof tf.Tensor)) fail(where, "t", t, `a tf.Tensor of shape [B] with values in [0, ${T}]`);
  if (t.rank !== 1) fail(where, "t.shape", t.shape, "[B] (one time per example)");
  if (batch !== undefined && t.shape[0] !== batch) {
    fail(where, "t.shape", t.shape, `[${batch}] to match the batch size of x`);
  }
  if (checked.has(t)) return;
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= 0 && v[i] <= T)) fail(where, `t[${i}]`, v[i], `in [0, ${T}]`);
  }
  checked.add(t);
}

/** Reshapes a per-example vector v [B] to [B, 1, …, 1] so that it broadcasts against x [B, ...dims]. */
export function perExample(v: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return v.reshape([v.shape[0], ...new Array(x.rank - 1).fill(1)]);
}

/** Sum over every axis but the batch axis: [B, ...dims] → [B]. */
export function sumPerExample(x: tf.Tensor): tf.Tensor {
  return x.rank === 1 ? x : x.reshape([x.shape[0], -1]).sum(1);
}

/** Number of data dimensions per example: prod(shape[1:]). */
export function dimsOf(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * The sampler time grid linspace(start, end, n) in float64, computed as torch.linspace does (from the start for
 * the first half, from the end for the second), so that for linspace(T, eps, N) the discrete step index
 * floor(t_i (N−1)/T), evaluated in float32 on any backend, is exactly N − 1 − i.
 */
export function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? start + step * i : end - step * (n - 1 - i);
  return out;
}
