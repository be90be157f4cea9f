/**
 * Small dense linear algebra on the host in float64, for the d × d covariances of toy mixtures (d is small).
 * Done once per mixture at construction, so clarity matters more than speed.
 */

/** A symmetric eigendecomposition S = U diag(values) Uᵀ; `vectors` is row-major d × d with eigenvectors as columns. */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/**
 * Cyclic Jacobi rotations for a symmetric matrix (row-major, length d²). Jacobi is chosen over QR because it is
 * short, unconditionally stable, and accurate to high relative precision for the small positive definite matrices
 * used here (tiny eigenvalues come out to full relative accuracy, which the log-determinant needs).
 *
 * Why not mathjs (`math.eigs`, also Jacobi for real symmetric input): on rotated diagonal matrices with
 * eigenvalues down to 1e-12 (d = 2, 3, 8) both give the same relative error, set by the rounding of the float64
 * input; but `math.eigs` is 5–75× slower per call at these sizes, and its module takes seconds to load in every
 * process that builds a mixture (each test file, each kernel).
 * So this stays, and mathjs is not a dependency.
 */
export function symmetricEigen(matrix: ArrayLike<number>, d: number): SymmetricEigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < d; p++) {
      diag += a[p * d + p] * a[p * d + p];
      for (let q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
    }
    // Stop once the off-diagonal mass is negligible against the diagonal (or exactly zero).
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (apq === 0) continue;
        const app = a[p * d + p];
        const aqq = a[q * d + q];
        // Rotation angle that zeroes a_pq (Golub & Van Loan, Alg. 8.5.1), in the cancellation-free form.
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // A ← Jᵀ A J, applied to columns then rows.
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i];
  return { values, vectors: v };
}
