/*
 * Optimiser updates, one pass per parameter (where the wasm backend runs ~13 kernels for Adam): torch.optim.Adam
 * with the gradient scaled by the clipping coefficient, the EMA of the official models/ema.py, and the global
 * gradient norm's sum of squares read straight from the heap.
 */
#include "native.h"

/*
 * torch.optim.Adam's update with the gradient scaled by gs (global-norm clipping):
 *   m' = β1 m + (1 − β1) g,  v' = β2 v + (1 − β2) g²,  p' = p − lr · m' / (√v' / bc2 + eps)
 * with lr the bias-corrected step size and bc2 = √(1 − β2^k). 1 − β is passed in, computed in double and rounded
 * once, as the tfjs formulation does (1 − 0.9f ≠ 0.1f).
 */
HOT void adam(const float* restrict p, const float* restrict g, const float* restrict m, const float* restrict v,
              float* restrict po, float* restrict mo, float* restrict vo, size_t n, float gs, float b1, float omb1,
              float b2, float omb2, float lr, float bc2, float eps) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * gs;
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * (gi * gi);
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr * (mi / (__builtin_sqrtf(vi) / bc2 + eps));
  }
}

/* o = s − (1 − decay)(s − p) with k = 1 − decay: the official update's arithmetic. */
HOT void ema(const float* restrict s, const float* restrict p, float* restrict o, size_t n, float k) {
  for (size_t i = 0; i < n; i++) o[i] = s[i] - (s[i] - p[i]) * k;
}

/*
 * Σ x² in double (NaN and ∞ propagate). 64 float partial sums (four AVX-512 or eight AVX2 vectors) over blocks of
 * 4096 elements, added up in double per block: a single running float sum is a chain of dependent additions that
 * the compiler may not reorder (no -ffast-math), one element per addition latency; independent lanes vectorise
 * and keep several additions in flight. Each lane sums 64 squares in float before the double.
 */
#define SS_LANES 64
#define SS_BLOCK 4096
HOT double sum_squares(const float* restrict x, size_t n) {
  double total = 0.0;
  size_t i = 0;
  while (i < n) {
    const size_t end = i + SS_BLOCK < n ? i + SS_BLOCK : n;
    float lane[SS_LANES] = {0};
    for (; i + SS_LANES <= end; i += SS_LANES)
      for (int j = 0; j < SS_LANES; j++) lane[j] += x[i + j] * x[i + j];
    for (; i < end; i++) lane[0] += x[i] * x[i];
    double part = 0.0;
    for (int j = 0; j < SS_LANES; j++) part += lane[j];
    total += part;
  }
  return total;
}
