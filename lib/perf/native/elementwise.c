/*
 * Fused elementwise kernels: SiLU and GroupNorm (each direction one pass, where the wasm backend runs 3–15 small
 * kernels, each a pass over memory with its own dispatch cost), and the time embedding's sin/cos rows in double.
 * Work is split over the threads of parallel.c (elements, or whole images for GroupNorm).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "native.h"

/*
 * exp for float32 without libm calls, so that the loops below vectorise: Cody–Waite range reduction and the Cephes
 * expf polynomial (relative error ~1e-7, i.e. float32 rounding). Inputs are clamped to the finite range.
 */
static inline __attribute__((always_inline)) float exp_f32(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  /* n = round(x / ln 2) as floor(t + 0.5): t + 127.5 > 0 here, so truncation is floor and vectorises (no floorf). */
  const int32_t ni = (int32_t)(x * 1.44269504088896341f + 127.5f) - 127;
  const float n = (float)ni;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } scale;
  scale.i = (ni + 127) << 23;
  return p * scale.f;
}

static inline __attribute__((always_inline)) float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

/* SiLU and its gradient for one element: the SiLU kernels and GroupNorm's fused SiLU share these expressions, so the
   fused path gives the separate kernels' numbers. */
static inline __attribute__((always_inline)) float silu_of(float x) { return x * sigmoid_f32(x); }

/* dy·silu'(x), silu'(x) = σ(x)(1 + x(1 − σ(x))). */
static inline __attribute__((always_inline)) float silu_grad_of(float dy, float x) {
  const float s = sigmoid_f32(x);
  return dy * s * (1.0f + x * (1.0f - s));
}

static HOT void silu_f32(const float* restrict x, float* restrict y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = silu_of(x[i]);
}

static HOT void silu_grad_f32(const float* restrict dy, const float* restrict x, float* restrict dx, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = silu_grad_of(dy[i], x[i]);
}

/* Elementwise work split over the threads: a (and b) read, out written, over [lo, hi). */
typedef struct {
  const float *a, *b;
  float* out;
} Elementwise;

static void silu_range(void* ctx, int tid, int lo, int hi) {
  const Elementwise* e = (const Elementwise*)ctx;
  (void)tid;
  silu_f32(e->a + lo, e->out + lo, (size_t)(hi - lo));
}

static void silu_grad_range(void* ctx, int tid, int lo, int hi) {
  const Elementwise* e = (const Elementwise*)ctx;
  (void)tid;
  silu_grad_f32(e->a + lo, e->b + lo, e->out + lo, (size_t)(hi - lo));
}

/* y = x·σ(x). */
void silu(const float* x, float* y, size_t n) {
  Elementwise e = {x, NULL, y};
  run_parts(silu_range, &e, (int)n, parts_for(n, 1));
}

/* dx = dy·σ(x)(1 + x(1 − σ(x))). */
void silu_grad(const float* dy, const float* x, float* dx, size_t n) {
  Elementwise e = {dy, x, dx};
  run_parts(silu_grad_range, &e, (int)n, parts_for(n, 1));
}


/*
 * GroupNorm over x [B, S, C] with C split into G groups of cg = C/G channels. Both directions run image by image,
 * images split over the threads. Sums run per channel (vectorisable: cg is often 4) in float over blocks of
 * GN_BLOCK positions, flushed to double, then per group. The forward's statistics loops are built for AVX2 at most
 * (HOT_AVX2): their AVX-512 build was slower (forward [64, 28, 28, 16], 4 groups, AMD EPYC: 0.43–0.46 ms against
 * 0.40–0.42 ms). The passes that carry the SiLU are built for AVX-512 (HOT), and the gradient is two passes over
 * an image (sums, then dx) where it was four (x̂, SiLU, sums, dx); figures in tools/bench/README.md.
 */
#define GN_BLOCK 128

/* GroupNorm's per-channel affine map y = x·scale + shift, from the group's mean m and 1/σ r: the forward pass and
   the fused SiLU's gradient (which recomputes y) both use this, so they get the same floats. */
static inline __attribute__((always_inline)) void gn_affine(float m, float r, float gamma, float beta, float* scale, float* shift) {
  *scale = r * gamma;
  *shift = beta - m * r * gamma;
}

typedef struct {
  const float *x, *dy, *gamma, *beta, *mean, *rstd;
  float *y, *mean_out, *rstd_out, *dx;
  double* dparams; /* gradient: per-thread sums [dγ (C) | dβ (C)], thread t's at dparams + 2·C·t */
  int S, C, G;
  int silu; /* fused activation: y = silu(GroupNorm(x)); the gradient goes through it first */
  double eps;
  int failed;
} GnJob;

/* Totals over group g's channels [g·cg, (g + 1)·cg) of the per-channel sums d1, d2. */
static void group_totals(const double* d1, const double* d2, int g, int cg, double* t1, double* t2) {
  double s1 = 0, s2 = 0;
  for (int c = g * cg; c < (g + 1) * cg; c++) { s1 += d1[c]; s2 += d2[c]; }
  *t1 = s1;
  *t2 = s2;
}

/* Per-channel sums of a[s, c] and a[s, c]² over s < S, in double (the forward's statistics). */
static HOT_AVX2 void channel_sums(const float* restrict a, int S, int C, float* restrict f1, float* restrict f2, double* restrict d1,
                                  double* restrict d2) {
  memset(d1, 0, C * sizeof(double));
  memset(d2, 0, C * sizeof(double));
  for (int s0 = 0; s0 < S; s0 += GN_BLOCK) {
    const int s1 = s0 + GN_BLOCK < S ? s0 + GN_BLOCK : S;
    memset(f1, 0, C * sizeof(float));
    memset(f2, 0, C * sizeof(float));
    for (int s = s0; s < s1; s++) {
      const float* ar = a + (size_t)s * C;
      for (int c = 0; c < C; c++) { f1[c] += ar[c]; f2[c] += ar[c] * ar[c]; }
    }
    for (int c = 0; c < C; c++) { d1[c] += f1[c]; d2[c] += f2[c]; }
  }
}

/* y = x·scale_c + shift_c, then silu(y) when `silu`, for one image. */
static HOT void gn_apply(const float* restrict x, const float* restrict scale, const float* restrict shift, int S, int C, int silu,
                         float* restrict y) {
  if (silu) { /* two loops, as in gn_grad_sums: a condition inside one costs its vectorisation */
    for (int s = 0; s < S; s++)
      for (int c = 0; c < C; c++) y[(size_t)s * C + c] = silu_of(x[(size_t)s * C + c] * scale[c] + shift[c]);
  } else {
    for (int s = 0; s < S; s++)
      for (int c = 0; c < C; c++) y[(size_t)s * C + c] = x[(size_t)s * C + c] * scale[c] + shift[c];
  }
}
/*
 * gn_apply and gn_grad_sums / gn_grad_dx carry the SiLU and are built for AVX-512 (HOT); GroupNorm's statistics
 * loops (channel_sums, gn_range) for AVX2 at most. A call from an AVX2 clone to a HOT function would bind to its
 * AVX2 clone (the SiLU then 2.1x slower: [64, 28, 28, 16] 0.42 against 0.20 ms, AMD EPYC), so gn_range calls
 * through this pointer, which the loader resolves to the best clone. volatile: the compiler may not resolve it at
 * build time.
 */
static void (*volatile gn_apply_dispatched)(const float*, const float*, const float*, int, int, int, float*) = gn_apply;

static HOT_AVX2 void gn_range(void* ctx, int tid, int lo, int hi) {
  GnJob* j = (GnJob*)ctx;
  const int S = j->S, C = j->C, G = j->G, cg = C / G;
  (void)tid;
  /* f1, f2, scale (2C) floats; d1, d2 doubles */
  float* f = (float*)malloc(4 * (size_t)C * sizeof(float));
  double* d = (double*)malloc(2 * (size_t)C * sizeof(double));
  if (!f || !d) { free(f); free(d); mark_failed(&j->failed); return; }
  float *f1 = f, *f2 = f + C, *scale = f + 2 * C; /* scale: rstd·γ [C] | β − mean·rstd·γ [C] */
  const double count = (double)S * cg;
  for (int b = lo; b < hi; b++) {
    const float* xb = j->x + (size_t)b * S * C;
    channel_sums(xb, S, C, f1, f2, d, d + C);
    for (int g = 0; g < G; g++) {
      double s1, s2;
      group_totals(d, d + C, g, cg, &s1, &s2);
      const double m = s1 / count;
      double var = s2 / count - m * m;
      if (var < 0) var = 0;
      const float r = (float)(1.0 / __builtin_sqrt(var + j->eps));
      j->mean_out[b * G + g] = (float)m;
      j->rstd_out[b * G + g] = r;
      for (int c = g * cg; c < (g + 1) * cg; c++) gn_affine((float)m, r, j->gamma[c], j->beta[c], &scale[c], &scale[C + c]);
    }
    gn_apply_dispatched(xb, scale, scale + C, S, C, j->silu, j->y + (size_t)b * S * C);
  }
  free(f);
  free(d);
}

/*
 * Per (b, g) the mean and population variance over S × C/G (sums in double), y = (x − mean)·rstd·γ + β,
 * rstd = 1/√(var + eps), then y = silu(y) when `silu` (the U-Net's GN → act pairs: one pass instead of two
 * kernels). Returns 0 when out of memory.
 */
int group_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int B, int S,
               int C, int G, double eps, int silu) {
  GnJob j = {.x = x, .gamma = gamma, .beta = beta, .y = y, .mean_out = mean, .rstd_out = rstd, .S = S, .C = C, .G = G, .eps = eps,
             .silu = silu};
  run_parts(gn_range, &j, B, parts_for((size_t)B, (size_t)S * C));
  return !j.failed;
}

/*
 * One pass over an image for the gradient's sums: x̂ = (x − μ_c)·r_c, g = dy (or, through the fused SiLU,
 * dy·silu'(x·scale_c + shift_c), kept in de for the second pass), and per channel Σ g, Σ g·x̂ (float over blocks of
 * GN_BLOCK positions, flushed to double into d1, d2).
 */
static HOT void gn_grad_sums(const float* restrict x, const float* restrict dy, const float* restrict mu, const float* restrict r,
                             const float* restrict scale, const float* restrict shift, int S, int C, float* restrict de,
                             float* restrict a1, float* restrict a2, double* restrict d1, double* restrict d2) {
  memset(d1, 0, C * sizeof(double));
  memset(d2, 0, C * sizeof(double));
  for (int s0 = 0; s0 < S; s0 += GN_BLOCK) {
    const int s1 = s0 + GN_BLOCK < S ? s0 + GN_BLOCK : S;
    memset(a1, 0, C * sizeof(float));
    memset(a2, 0, C * sizeof(float));
    /* Two loops, not one with the SiLU under a condition: GCC does not vectorise that one (figures in
       tools/bench/README.md). */
    if (de) {
      for (int s = s0; s < s1; s++)
        for (int c = 0; c < C; c++) {
          const size_t o = (size_t)s * C + c;
          const float xh = (x[o] - mu[c]) * r[c];
          const float g = silu_grad_of(dy[o], x[o] * scale[c] + shift[c]);
          de[o] = g;
          a1[c] += g;
          a2[c] += g * xh;
        }
    } else {
      for (int s = s0; s < s1; s++)
        for (int c = 0; c < C; c++) {
          const size_t o = (size_t)s * C + c;
          const float xh = (x[o] - mu[c]) * r[c];
          a1[c] += dy[o];
          a2[c] += dy[o] * xh;
        }
    }
    for (int c = 0; c < C; c++) { d1[c] += a1[c]; d2[c] += a2[c]; }
  }
}

/* dx = r (g γ − m1 − x̂ m2), x̂ recomputed (the same float operations as in gn_grad_sums). */
static HOT void gn_grad_dx(const float* restrict x, const float* restrict g, const float* restrict mu, const float* restrict r,
                           const float* restrict gamma, const float* restrict coef, int S, int C, float* restrict dx) {
  for (int s = 0; s < S; s++)
    for (int c = 0; c < C; c++) {
      const size_t o = (size_t)s * C + c;
      const float xh = (x[o] - mu[c]) * r[c];
      dx[o] = r[c] * (g[o] * gamma[c] - coef[c] - xh * coef[C + c]);
    }
}

static void gn_grad_range(void* ctx, int tid, int lo, int hi) {
  GnJob* j = (GnJob*)ctx;
  const int S = j->S, C = j->C, G = j->G, cg = C / G;
  /* de [S·C] (with silu); mu, r, scale, shift, a1, a2 (C each), coef (2C) floats; d (2C) doubles */
  const size_t sc = (size_t)S * C;
  float* f = (float*)malloc(((j->silu ? sc : 0) + 8 * (size_t)C) * sizeof(float));
  double* d = (double*)malloc(2 * (size_t)C * sizeof(double));
  if (!f || !d) { free(f); free(d); mark_failed(&j->failed); return; }
  float *de = j->silu ? f : NULL, *mu = f + (j->silu ? sc : 0), *r = mu + C, *scale = r + C, *shift = scale + C, *a1 = shift + C,
        *a2 = a1 + C, *coef = a2 + C;
  double* dp = j->dparams + 2 * (size_t)C * tid; /* this thread's [dγ | dβ] */
  const double count = (double)S * cg;
  for (int b = lo; b < hi; b++) {
    const float* xb = j->x + (size_t)b * S * C;
    const float* db = j->dy + (size_t)b * S * C;
    for (int c = 0; c < C; c++) {
      mu[c] = j->mean[b * G + c / cg];
      r[c] = j->rstd[b * G + c / cg];
      /* with silu, z = GroupNorm(x) as the forward pass computed it (same float operations) */
      if (j->silu) gn_affine(mu[c], r[c], j->gamma[c], j->beta[c], &scale[c], &shift[c]);
    }
    /* One pass of sums serves all three gradients: d[c] = Σ_s g, d[C + c] = Σ_s g x̂, with g the gradient at
       GroupNorm's output (dy, or dy·silu'(z) through the activation). */
    gn_grad_sums(xb, db, mu, r, scale, shift, S, C, de, a1, a2, d, d + C);
    for (int c = 0; c < C; c++) { dp[c] += d[C + c]; dp[C + c] += d[c]; } /* dγ_c = Σ g x̂, dβ_c = Σ g */
    /* with h = g·γ: per group m1 = mean(h) = Σ_c γ_c d[c] / count, m2 = mean(h x̂) = Σ_c γ_c d[C + c] / count */
    for (int gi = 0; gi < G; gi++) {
      double s1 = 0, s2 = 0;
      for (int c = gi * cg; c < (gi + 1) * cg; c++) { s1 += (double)j->gamma[c] * d[c]; s2 += (double)j->gamma[c] * d[C + c]; }
      const float m1 = (float)(s1 / count), m2 = (float)(s2 / count);
      for (int c = gi * cg; c < (gi + 1) * cg; c++) { coef[c] = m1; coef[C + c] = m2; }
    }
    gn_grad_dx(xb, j->silu ? de : db, mu, r, j->gamma, coef, S, C, j->dx + (size_t)b * S * C);
  }
  free(f);
  free(d);
}

/*
 * With x̂ = (x − mean)·rstd, g = dy·γ and means over each group: dx = rstd (g − mean(g) − x̂ mean(g x̂)),
 * dγ = Σ dy x̂, dβ = Σ dy. All three come from one pass of per-channel sums (Σ dy and Σ dy x̂; mean(g) and
 * mean(g x̂) are their γ-weighted group totals), so asking for all of them costs little more than dx alone.
 * With `silu` the forward pass was silu(GroupNorm(x)) and dy is first taken through the activation (z recomputed
 * from x, mean, rstd, γ, β). Returns 0 when out of memory.
 */
int group_norm_grad(const float* dy, const float* x, const float* gamma, const float* beta, const float* mean, const float* rstd,
                    float* dx, float* dgamma, float* dbeta, int B, int S, int C, int G, int silu) {
  const int parts = parts_for((size_t)B, (size_t)S * C);
  double* dparams = (double*)calloc(2 * (size_t)C * parts, sizeof(double));
  if (!dparams) return 0;
  GnJob j = {.x = x, .dy = dy, .gamma = gamma, .beta = beta, .mean = mean, .rstd = rstd, .dx = dx, .dparams = dparams, .S = S,
             .C = C, .G = G, .silu = silu};
  run_parts(gn_grad_range, &j, B, parts);
  if (j.failed) { free(dparams); return 0; }
  for (int c = 0; c < C; c++) {
    double sg = 0, sb = 0;
    for (int t = 0; t < parts; t++) { sg += dparams[2 * (size_t)C * t + c]; sb += dparams[2 * (size_t)C * t + C + c]; }
    dgamma[c] = (float)sg;
    dbeta[c] = (float)sb;
  }
  free(dparams);
  return 1;
}

/* ---- sin/cos rows for the time embeddings, in double ---- */

/*
 * sin and cos of x in double precision without libm calls, so the loop vectorises: Cody–Waite reduction by π/2
 * with a three-part π/2 (exact quotient bits up to |x| < 2^20·π/2), then the fdlibm kernel polynomials on
 * [−π/4, π/4] (error < 1e-15, far below the float32 the rows are stored in). Larger |x| go to libm.
 */
#define SINCOS_LIMIT 1.0e6
static inline __attribute__((always_inline)) void sincos_f64(double x, double* s_out, double* c_out) {
  const double shift = 6755399441055744.0; /* 1.5·2^52: adding it rounds to an integer kept in the low bits */
  const double t = x * 0.63661977236758134308 + shift;
  const double n = t - shift;
  int64_t bits;
  memcpy(&bits, &t, sizeof bits);
  const int q = (int)(bits & 3);
  const double r = ((x - n * 1.57079632673412561417e+00) - n * 6.07710050650619224932e-11) - n * 2.02226624879595063154e-21;
  const double z = r * r;
  const double s = r + r * z * (-1.66666666666666324348e-01 + z * (8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 +
                   z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))));
  const double c = 1.0 - 0.5 * z + z * z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * (2.48015872894767294178e-05 +
                   z * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
  /* quadrant q: (sin, cos) = (s, c), (c, −s), (−s, −c), (−c, s) */
  const double ss = (q & 1) ? c : s, cc = (q & 1) ? s : c;
  *s_out = (q & 2) ? -ss : ss;
  *c_out = ((q + 1) & 2) ? -cc : cc;
}

HOT void sin_cos_rows(const double* restrict args, int rows, const double* restrict f, int half, int dim,
                      float* restrict out) {
  for (int b = 0; b < rows; b++) {
    float* row = out + (size_t)b * dim;
    if (b > 0 && args[b] == args[b - 1]) { /* repeated labels (a sampler's whole batch): copy the row */
      memcpy(row, row - dim, (size_t)dim * sizeof(float));
      continue;
    }
    for (int k = 2 * half; k < dim; k++) row[k] = 0.0f; /* odd widths: zero padding (out is not zeroed) */
    /* The polynomial for every k (a branch-free loop, which the compiler vectorises; a libm call in it did not),
       then libm for the rare |x| past the reduction's range. */
    const double a = args[b];
    for (int k = 0; k < half; k++) {
      double s, c;
      sincos_f64(a * f[k], &s, &c);
      row[k] = (float)s;
      row[half + k] = (float)c;
    }
    for (int k = 0; k < half; k++) {
      const double x = a * f[k];
      if (!(__builtin_fabs(x) < SINCOS_LIMIT)) {
        row[k] = (float)sin(x);
        row[half + k] = (float)cos(x);
      }
    }
  }
}

/*
 * Concatenation along any axis as rows: with rows = the product of the dimensions before the axis, input i is
 * [rows, inner_i] and the output [rows, Σ inner_i]. wasm's Concat copies row by row from JavaScript and its SplitV
 * slices one output at a time (the U-Net's skip connections: 13 ms and 18 ms per call at [64, 28, 28, 32]).
 */
typedef struct {
  float* whole;
  float* const* parts;
  const int* inner;
  int n, split;
  size_t width;
} Rows;

/* Rows [lo, hi): whole [rows, width] from the parts (concat) or the parts from whole (split). */
static void rows_range(void* ctx, int tid, int lo, int hi) {
  const Rows* j = (const Rows*)ctx;
  (void)tid;
  for (size_t r = (size_t)lo; r < (size_t)hi; r++) {
    float* row = j->whole + r * j->width;
    for (int i = 0; i < j->n; i++) {
      const size_t w = (size_t)j->inner[i];
      if (j->split)
        memcpy(j->parts[i] + r * w, row, w * sizeof(float));
      else
        memcpy(row, j->parts[i] + r * w, w * sizeof(float));
      row += w;
    }
  }
}

static void rows_copy(float* whole, float* const* parts, const int* inner, int n, size_t rows, int split) {
  size_t width = 0;
  for (int i = 0; i < n; i++) width += (size_t)inner[i];
  Rows j = {whole, parts, inner, n, split, width};
  run_parts(rows_range, &j, (int)rows, parts_for(rows, width));
}

void concat_rows(float* out, const float* const* ins, const int* inner, int n, size_t rows) {
  rows_copy(out, (float* const*)ins, inner, n, rows, 0);
}

/* The inverse: out_i [rows, inner_i] from x [rows, Σ inner_i]. */
void split_rows(const float* x, float* const* outs, const int* inner, int n, size_t rows) {
  rows_copy((float*)x, outs, inner, n, rows, 1);
}

/*
 * Addition and product of float32 tensors under the broadcasts the networks use, viewing the output as
 * [outer, mid, inner]: out[o, m, i] = a[o, m, i] op b[o or 0, i] (same shapes: mid = 1; a bias [C]: outer = 1; a
 * per-image bias [B, 1, 1, C]: b has the outer axis), or op a scalar. wasm's kernels run these broadcasts one
 * element at a time through index arithmetic (0.75 ms for [64, 28, 28, 16] + [64, 1, 1, 16]) and on one thread.
 */
typedef struct {
  const float *a, *b;
  float* out;
  size_t mid, inner;
  int b_outer, op;
} Binary;

static HOT void binary_row(const float* restrict a, const float* restrict b, float* restrict out, size_t n, int op) {
  if (op == 0)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
  else
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

static HOT void binary_scalar(const float* restrict a, float s, float* restrict out, size_t n, int op) {
  if (op == 0)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + s;
  else
    for (size_t i = 0; i < n; i++) out[i] = a[i] * s;
}

/* Rows [lo, hi) of the [outer·mid, inner] view. */
static void binary_range(void* ctx, int tid, int lo, int hi) {
  const Binary* j = (const Binary*)ctx;
  (void)tid;
  for (int r = lo; r < hi; r++) {
    const size_t o = (size_t)r / j->mid;
    const float* brow = j->b + (j->b_outer ? o * j->inner : 0);
    binary_row(j->a + (size_t)r * j->inner, brow, j->out + (size_t)r * j->inner, j->inner, j->op);
  }
}

static void binary_scalar_range(void* ctx, int tid, int lo, int hi) {
  const Binary* j = (const Binary*)ctx;
  (void)tid;
  binary_scalar(j->a + lo, j->b[0], j->out + lo, (size_t)(hi - lo), j->op);
}

/* Same shapes: elements [lo, hi). */
static void binary_same_range(void* ctx, int tid, int lo, int hi) {
  const Binary* j = (const Binary*)ctx;
  (void)tid;
  binary_row(j->a + lo, j->b + lo, j->out + lo, (size_t)(hi - lo), j->op);
}

void binary_bcast(int op, const float* a, const float* b, float* out, size_t outer, size_t mid, size_t inner, int b_outer) {
  Binary j = {a, b, out, mid, inner, b_outer, op};
  const size_t n = outer * mid * inner;
  if (inner == 1 && !b_outer) {
    run_parts(binary_scalar_range, &j, (int)n, parts_for(n, 1));
    return;
  }
  if (outer * mid == 1) { /* one row: split its elements */
    run_parts(binary_same_range, &j, (int)n, parts_for(n, 1));
    return;
  }
  const size_t rows = outer * mid;
  run_parts(binary_range, &j, (int)rows, parts_for(rows, inner));
}

/* Nearest-neighbour upsampling by integer factors: out [B, H·fh, W·fw, C], out[b, i, j] = x[b, i / fh, j / fw]. */
typedef struct {
  const float* x;
  float* out;
  int h, w, c, fh, fw;
} Upsample;

static void upsample_range(void* ctx, int tid, int lo, int hi) {
  const Upsample* u = (const Upsample*)ctx;
  (void)tid;
  const size_t c = (size_t)u->c, ow = (size_t)u->w * u->fw;
  for (int r = lo; r < hi; r++) { /* r = b·(H·fh) + output row */
    const int b = r / (u->h * u->fh), i = r % (u->h * u->fh);
    const float* src = u->x + ((size_t)b * u->h + i / u->fh) * u->w * c;
    float* dst = u->out + (size_t)r * ow * c;
    for (int x = 0; x < u->w; x++)
      for (int k = 0; k < u->fw; k++) memcpy(dst + ((size_t)x * u->fw + k) * c, src + (size_t)x * c, c * sizeof(float));
  }
}

void upsample_nearest(const float* x, float* out, int B, int H, int W, int C, int fh, int fw) {
  Upsample u = {x, out, H, W, C, fh, fw};
  const size_t rows = (size_t)B * H * fh;
  run_parts(upsample_range, &u, (int)rows, parts_for(rows, (size_t)W * fw * C));
}

/*
 * 2×2 average pooling with stride 2 (the U-Net's downsampling, and the gradient of its upsampling): out [B, H/2,
 * W/2, C], out[b, i, j] = (x[b, 2i, 2j] + x[b, 2i, 2j+1] + x[b, 2i+1, 2j] + x[b, 2i+1, 2j+1])·¼. wasm's kernel
 * runs on one thread; this one splits the output rows over the threads.
 */
typedef struct {
  const float* x;
  float* out;
  int h, w, c;
} Pool;

static HOT void pool_range(void* ctx, int tid, int lo, int hi) {
  const Pool* p = (const Pool*)ctx;
  (void)tid;
  const int oh = p->h / 2, ow = p->w / 2, c = p->c;
  const size_t row = (size_t)p->w * c;
  for (int r = lo; r < hi; r++) { /* r = b·oh + output row */
    const float* a = p->x + ((size_t)(r / oh) * p->h + 2 * (r % oh)) * row;
    const float* b = a + row;
    float* o = p->out + (size_t)r * ow * c;
    for (int j = 0; j < ow; j++)
      for (int k = 0; k < c; k++) {
        const size_t l = (size_t)2 * j * c + k;
        o[(size_t)j * c + k] = ((a[l] + a[l + c]) + (b[l] + b[l + c])) * 0.25f;
      }
  }
}

void avg_pool2(const float* x, float* out, int B, int H, int W, int C) {
  Pool p = {x, out, H, W, C};
  const size_t rows = (size_t)B * (H / 2);
  run_parts(pool_range, &p, (int)rows, parts_for(rows, (size_t)2 * W * C));
}

/*
 * out [n, cols, rows] = x [n, rows, cols] with the last two axes swapped (attention's kᵀ and the gradients of its
 * products), in 32 × 32 tiles; the matrices split over the threads (wasm's Transpose runs on one).
 */
typedef struct {
  const float* x;
  float* out;
  int rows, cols;
} Transpose;

static void transpose_range(void* ctx, int tid, int lo, int hi) {
  const Transpose* t = (const Transpose*)ctx;
  (void)tid;
  const int R = t->rows, C = t->cols;
  for (int m = lo; m < hi; m++) {
    const float* x = t->x + (size_t)m * R * C;
    float* o = t->out + (size_t)m * R * C;
    for (int i0 = 0; i0 < R; i0 += 32)
      for (int j0 = 0; j0 < C; j0 += 32) {
        const int i1 = i0 + 32 < R ? i0 + 32 : R, j1 = j0 + 32 < C ? j0 + 32 : C;
        for (int i = i0; i < i1; i++)
          for (int j = j0; j < j1; j++) o[(size_t)j * R + i] = x[(size_t)i * C + j];
      }
  }
}

void transpose_last2(const float* x, float* out, int n, int rows, int cols) {
  Transpose t = {x, out, rows, cols};
  run_parts(transpose_range, &t, n, parts_for((size_t)n, (size_t)rows * cols));
}

/*
 * Sums over the middle axis of x [outer, mid, inner]: out[o, i] = Σ_m x[o, m, i], in float over blocks of
 * SUM_BLOCK rows flushed to double (the per-image bias gradient Σ_{h,w} dy of [B, H, W, C]; wasm's Sum took
 * 1.4 ms for [64, 28, 28, 16] over axes 1, 2). Work units are (o, column chunk): images split over the threads,
 * or, with one image, its columns. inner 1 (a last-axis sum) runs 16 independent lanes, which vectorise.
 */
#define SUM_BLOCK 128
#define SUM_LANES 16

typedef struct {
  const float* x;
  float* out;
  size_t mid, inner, chunk; /* columns per unit */
  int chunks;               /* units per o */
  int failed;
} SumMid;

static HOT void sum_mid_range(void* ctx, int tid, int lo, int hi) {
  SumMid* j = (SumMid*)ctx;
  (void)tid;
  const size_t mid = j->mid, inner = j->inner;
  if (inner == 1) {
    for (int o = lo; o < hi; o++) {
      const float* x = j->x + (size_t)o * mid;
      double total = 0;
      const size_t full = mid - mid % SUM_LANES;
      size_t m = 0;
      while (m < full) {
        float lane[SUM_LANES] = {0};
        const size_t end = m + SUM_BLOCK * SUM_LANES < full ? m + SUM_BLOCK * SUM_LANES : full;
        for (; m < end; m += SUM_LANES)
          for (int k = 0; k < SUM_LANES; k++) lane[k] += x[m + k];
        for (int k = 0; k < SUM_LANES; k++) total += lane[k];
      }
      for (; m < mid; m++) total += x[m];
      j->out[o] = (float)total;
    }
    return;
  }
  float* f = (float*)malloc(j->chunk * sizeof(float));
  double* d = (double*)malloc(j->chunk * sizeof(double));
  if (!f || !d) { free(f); free(d); mark_failed(&j->failed); return; }
  for (int u = lo; u < hi; u++) {
    const size_t o = (size_t)(u / j->chunks), i0 = (size_t)(u % j->chunks) * j->chunk;
    const size_t w = i0 + j->chunk < inner ? j->chunk : inner - i0;
    const float* x = j->x + o * mid * inner + i0;
    memset(d, 0, w * sizeof(double));
    for (size_t m0 = 0; m0 < mid; m0 += SUM_BLOCK) {
      const size_t m1 = m0 + SUM_BLOCK < mid ? m0 + SUM_BLOCK : mid;
      memset(f, 0, w * sizeof(float));
      for (size_t m = m0; m < m1; m++) {
        const float* row = x + m * inner;
        for (size_t i = 0; i < w; i++) f[i] += row[i];
      }
      for (size_t i = 0; i < w; i++) d[i] += f[i];
    }
    for (size_t i = 0; i < w; i++) j->out[o * inner + i0 + i] = (float)d[i];
  }
  free(f);
  free(d);
}

int sum_mid(const float* x, float* out, size_t outer, size_t mid, size_t inner) {
  /* Fewer images than threads: split the columns too, in chunks of at least 64. */
  const int threads = get_threads();
  int chunks = 1;
  if (inner > 1 && outer < (size_t)threads) {
    const size_t most = inner / 64 > 0 ? inner / 64 : 1;
    chunks = (int)((size_t)threads < most ? (size_t)threads : most);
  }
  const size_t chunk = inner == 1 ? 1 : (inner + chunks - 1) / chunks;
  SumMid j = {x, out, mid, inner, chunk, chunks, 0};
  const size_t units = outer * (size_t)chunks;
  run_parts(sum_mid_range, &j, (int)units, parts_for(units, mid * chunk));
  return !j.failed;
}
