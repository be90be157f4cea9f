/**
 * σ_max for a VE SDE by Song & Ermon (2020, "Improved techniques for training score-based generative models"),
 * technique 1: the largest noise scale should be about the largest Euclidean distance between two training
 * points, so that the perturbed distributions at σ_max connect every pair of modes and Langevin dynamics can move
 * between them.
 *
 * `maxPairwiseDistance` finds that distance exactly over a whole dataset without computing all n²/2 distances: for
 * non-negative data (pixels), xᵀy ≥ 0, so ‖x − y‖² = ‖x‖² + ‖y‖² − 2xᵀy ≤ ‖x‖² + ‖y‖². It computes the distances
 * from the `candidates` images of largest norm to every image (one matrix product per block) and then checks the
 * bound: any pair not covered has both images outside the candidates, so its squared distance is at most
 * 2‖x_(c+1)‖² (the (c+1)-th largest squared norm); when that is below the best found, the maximum is exact.
 * Otherwise the candidate set doubles. Returns the distance, the pair and whether the bound proved it exact.
 */
import * as tf from "@tensorflow/tfjs";
import { fail } from "../validate";
import { imagesToTensor, type ImageDataset } from "./dataset";

export interface MaxDistanceResult {
  distance: number;
  pair: [number, number];
  /** True when the norm bound proves no other pair is farther apart. */
  exact: boolean;
  /** Candidates (largest-norm images) compared against the whole set. */
  candidates: number;
}

/** Largest pairwise distance of the images in [0, 1] scale (multiply by 2 for data centred to [−1, 1]). */
export function maxPairwiseDistance(d: ImageDataset, o: { candidates?: number; block?: number } = {}): MaxDistanceResult {
  const n = d.n;
  if (n < 2) fail("maxPairwiseDistance", "dataset size", n, "at least 2 images");
  const D = d.height * d.width * d.channels;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * D; j < (i + 1) * D; j++) s += (d.images[j] / 255) ** 2;
    norms[i] = s;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => norms[b] - norms[a]);
  const block = o.block ?? 500;
  let c = Math.min(o.candidates ?? 256, n);
  let best = -1;
  let pair: [number, number] = [0, 1];
  let done = 0;
  const all = imagesToTensor(d, Int32Array.from({ length: n }, (_, i) => i)).reshape([n, D]) as tf.Tensor2D;
  try {
    for (;;) {
      for (let s = done; s < c; s += block) {
        const idx = order.slice(s, Math.min(s + block, c));
        const sq = tf.tidy(() => {
          const a = tf.gather(all, tf.tensor1d(idx, "int32"));
          return tf.matMul(a, all, false, true); // [m, n] inner products
        });
        const dots = sq.dataSync();
        sq.dispose();
        for (let r = 0; r < idx.length; r++) {
          const i = idx[r];
          for (let j = 0; j < n; j++) {
            const d2 = norms[i] + norms[j] - 2 * dots[r * n + j];
            if (d2 > best) {
              best = d2;
              pair = [Math.min(i, j), Math.max(i, j)];
            }
          }
        }
      }
      done = c;
      const bound = c < n ? 2 * norms[order[c]] : -Infinity;
      if (bound <= best || c === n) return { distance: Math.sqrt(Math.max(best, 0)), pair, exact: true, candidates: c };
      c = Math.min(2 * c, n);
    }
  } finally {
    all.dispose();
  }
}
