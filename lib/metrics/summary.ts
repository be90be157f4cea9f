/**
 * Summary statistics of repeated runs (mean, sample standard deviation) and per-mode statistics of 2-D samples
 * against a Gaussian mixture (how the toy ablations read sampler quality beyond a global distance).
 */

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, v) => a + (v - m) * (v - m), 0) / (xs.length - 1));
}

/**
 * Per-mode statistics of 2-D (or d-D) points against a Gaussian mixture with well-separated components: every point
 * is assigned to the component of highest weighted density, then
 *   weightTV  = ½ Σ_k |n_k/n − w_k|                       (mode balance),
 *   varRatio  = Σ_k w_k tr(Σ̂_k) / tr(S_k)                 (spread of the points around their mode's TRUE mean,
 *                                                           relative to the true spread; 1 is exact, < 1 too tight),
 *   meanShift = Σ_k w_k ‖μ̂_k − μ_k‖ / sqrt(tr(S_k)/d)     (mode-centre error in units of the mode's std).
 * These resolve what a global distance between point clouds cannot at a few thousand points: a few per cent of
 * variance lost or gained inside tight modes.
 */
export interface ModeStats {
  weightTV: number;
  varRatio: number;
  meanShift: number;
}

export function modeStats(
  mix: { weights: readonly number[]; means: readonly (readonly number[])[]; covariances: readonly (readonly (readonly number[])[])[] },
  data: ArrayLike<number>,
  dim: number,
): ModeStats {
  const K = mix.weights.length;
  const n = Math.floor(data.length / dim);
  // Precision matrices and log-normalisers (small d: Gauss–Jordan inverse).
  const prec: Float64Array[] = [];
  const logNorm: number[] = [];
  for (let k = 0; k < K; k++) {
    const { inv, logDet } = invertSpd(mix.covariances[k], dim);
    prec.push(inv);
    logNorm.push(Math.log(mix.weights[k]) - 0.5 * logDet);
  }
  const count = new Float64Array(K);
  const sumD = new Float64Array(K * dim);
  const sumSq = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestL = -Infinity;
    for (let k = 0; k < K; k++) {
      let q = 0;
      for (let a = 0; a < dim; a++) {
        const da = data[i * dim + a] - mix.means[k][a];
        for (let b = 0; b < dim; b++) q += da * prec[k][a * dim + b] * (data[i * dim + b] - mix.means[k][b]);
      }
      const l = logNorm[k] - 0.5 * q;
      if (l > bestL) {
        bestL = l;
        best = k;
      }
    }
    count[best]++;
    for (let a = 0; a < dim; a++) {
      const da = data[i * dim + a] - mix.means[best][a];
      sumD[best * dim + a] += da;
      sumSq[best] += da * da;
    }
  }
  let tv = 0;
  let vr = 0;
  let ms = 0;
  for (let k = 0; k < K; k++) {
    tv += Math.abs(count[k] / n - mix.weights[k]);
    let tr = 0;
    for (let a = 0; a < dim; a++) tr += mix.covariances[k][a][a];
    if (count[k] > 0) {
      vr += (mix.weights[k] * sumSq[k]) / count[k] / tr;
      let sh = 0;
      for (let a = 0; a < dim; a++) sh += (sumD[k * dim + a] / count[k]) ** 2;
      ms += (mix.weights[k] * Math.sqrt(sh)) / Math.sqrt(tr / dim);
    }
  }
  return { weightTV: tv / 2, varRatio: vr, meanShift: ms };
}

function invertSpd(S: readonly (readonly number[])[], d: number): { inv: Float64Array; logDet: number } {
  const a = new Float64Array(d * 2 * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) a[i * 2 * d + j] = S[i][j];
    a[i * 2 * d + d + i] = 1;
  }
  let logDet = 0;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * 2 * d + c]) > Math.abs(a[p * 2 * d + c])) p = r;
    if (p !== c) for (let j = 0; j < 2 * d; j++) [a[c * 2 * d + j], a[p * 2 * d + j]] = [a[p * 2 * d + j], a[c * 2 * d + j]];
    const piv = a[c * 2 * d + c];
    logDet += Math.log(Math.abs(piv));
    for (let j = 0; j < 2 * d; j++) a[c * 2 * d + j] /= piv;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r * 2 * d + c];
      if (f !== 0) for (let j = 0; j < 2 * d; j++) a[r * 2 * d + j] -= f * a[c * 2 * d + j];
    }
  }
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) inv[i * d + j] = a[i * 2 * d + d + j];
  return { inv, logDet };
}
