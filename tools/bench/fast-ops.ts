/**
 * Fast-path replacements for tfjs ops that are slow on the wasm backend, kept for the bench (fastops.ts times them
 * against the stock ops; the library does not use them). Each one is the same math written with kernels that
 * XNNPACK (or a cheap elementwise loop) runs; the measured gains are in this folder's README.
 *
 * - `sinCos`: tfjs-wasm's Sin and Cos are scalar libm calls (~30–60 ns per element on the 2-core bench machine);
 *   the Fourier embedding of every score evaluation calls both on [B, dim/2]. Here: one Cody–Waite range
 *   reduction to r ∈ [−π, π], then sine and cosine of r/2 by Taylor polynomials (|r/2| ≤ π/2: truncation
 *   < 6e-8), doubled with 2sc and 1 − 2s². ~30 elementwise multiply/add kernels that run at memory speed.
 *   Accuracy: |error| ≤ 1e-6 against float64 sin/cos of the same float32 input for |x| ≤ 2^12·2π ≈ 25 700
 *   (test/perf/fast-ops.test.ts); beyond that the reduction constant's product is no longer exact and the
 *   function falls back to tf.sin / tf.cos.
 * - `readSync`: run tensor code and read the result on the host. `tf.tidy(() => t.dataSync())` looks cheap but
 *   tf.tidy walks whatever it returns, and a typed array is walked element by element (a `for…in` over its
 *   indices plus a Set insertion each): ~1–3 µs per value, i.e. seconds for a 1M-value result.
 *
 * The all-matMul dense gradients first measured here now live in lib/perf/fastGradients, installed by initBackend.
 */
import * as tf from "@tensorflow/tfjs";

// 2π split for Cody–Waite: C1 has 12 significant bits, so k·C1 is exact in float32 for |k| < 2^12.
const TWO_PI = 2 * Math.PI;
const C1 = Math.round(TWO_PI * 2 ** 9) / 2 ** 9; // 6.283203125 (12 bits)
const C2 = Math.fround(TWO_PI - C1); // its own rounding error (~6e-13) times k < 2^12 stays below 3e-9
/** Largest |x| for which the reduction is exact enough (k < 2^12). */
export const SINCOS_MAX_ABS = (2 ** 12 - 1) * TWO_PI;

// Taylor coefficients of sin(u)/u and cos(u) in u² (|u| ≤ π/2).
const SIN = [1, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800];
const COS = [1, -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, 1 / 479001600];

function horner(u2: tf.Tensor, coeffs: readonly number[]): tf.Tensor {
  let acc: tf.Tensor = tf.scalar(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) acc = acc.mul(u2).add(coeffs[i]);
  return acc;
}

/**
 * [sin(x), cos(x)] for a float32 tensor, without the Sin/Cos kernels (see the file comment). Values with
 * |x| > SINCOS_MAX_ABS make it fall back to tf.sin / tf.cos (checked on the host only when `maxAbs` is not given:
 * pass the known bound, e.g. |log σ|max · max|W|, to skip that read-back in a hot loop).
 */
export function sinCos(x: tf.Tensor, maxAbs?: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    // square + max, not abs: tfjs-wasm's Abs is a slow scalar loop.
    const bound = maxAbs ?? Math.sqrt(x.square().max().dataSync()[0]);
    if (!(bound <= SINCOS_MAX_ABS)) return [tf.sin(x), tf.cos(x)];
    const k = x.mul(1 / TWO_PI).round();
    const r = x.sub(k.mul(C1)).sub(k.mul(C2)); // r ∈ [−π, π] (up to rounding)
    const u = r.mul(0.5);
    const u2 = u.square();
    const s = horner(u2, SIN).mul(u); // sin(r/2)
    const c = horner(u2, COS); // cos(r/2)
    const sin = s.mul(c).mul(2);
    const cos = tf.scalar(1).sub(s.square().mul(2));
    return [sin, cos];
  });
}

/** Runs `fn` in a tidy scope and returns its result's values, without tf.tidy walking the typed array. */
export function readSync(fn: () => tf.Tensor): Float32Array | Int32Array | Uint8Array {
  const t = tf.tidy(fn);
  try {
    return t.dataSync() as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}
