/*
 * Convolutions with few output channels (cout ≤ CONV_DIRECT_MAX_COUT), input channels in whole blocks of 16 and
 * stride 1, computed here rather than by oneDNN on CPUs with AVX-512: a U-Net's last convolution (16 → 1 channel on
 * MNIST, → 3 on RGB) and its two gradients.
 *
 * Why: oneDNN 2.6's direct kernels block the output channels by 16 (AVX-512) or 8 (AVX2), so for one output
 * channel they compute sixteen and keep one: ONEDNN_VERBOSE on the MNIST U-Net's last convolution, [64,28,28,16]
 * → 1 channel, shows "dst_f32:p:blocked:aBcd16b" (p: padded), at a sixteenth of the speed of its other
 * convolutions. Asking it for NHWC instead gives its reference kernels or, with every tensor NHWC, a forward and
 * filter gradient still padded to 16. Measured figures: tools/bench/README.md.
 *
 * How: everything runs on 16 channels at a time (one AVX-512 vector, two AVX2 ones), which NHWC keeps contiguous;
 * the filter is first transposed to [kh][kw][cout][cin] so that its channels are contiguous too. The forward keeps
 * each output position's sums in registers, several positions at a time. The gradients go tap by tap: a filter tap
 * (i, j) meets the image over a rectangle of positions known in advance, so their loops run over it with no bounds
 * checks. Results never depend on the thread count: rows (forward, input gradient) are independent, and the filter
 * gradient sums one partial per image, in float over the image, then in double over the batch in image order.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "native.h"

#define CB 16 /* channels per block */

/* 16 floats as one value (one AVX-512 register, two AVX2 ones, four SSE ones: GCC lowers it per clone); v16u loads
   and stores at any float alignment. */
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
#define LOAD(p) (*(const v16u*)(p))
#define STORE(p, v) (*(v16u*)(p) = (v))

/* Only where the CPU has AVX-512 (x86-64-v4), where these loops were measured faster than oneDNN in every direction.
   On AVX2 the forward's register sums (8 positions × cout 16-lane vectors, two registers each) outgrow its 16
   vector registers, and oneDNN pads to blocks of 8 there, not 16: on an AVX2-only EPYC the loops were 1.5–3× slower
   than oneDNN at 2–4 output channels (forward, filter gradient) and mixed at 1 (tools/bench/README.md). */
int conv_direct_applies(const Geom* g) {
  return __builtin_cpu_supports("x86-64-v4") && g->cout <= CONV_DIRECT_MAX_COUT && g->cin % CB == 0 && g->sh == 1 && g->sw == 1;
}

/* Σ of the 16 lanes, pairwise in one fixed order. */
static inline __attribute__((always_inline)) float lanes_sum(v16 v) {
  const v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

/* The positions p in [0, count) whose p + shift lies in [0, n), as [lo, hi) (empty when hi ≤ lo). A tap at offset
   k·dk − pad meets output p at input p + k·dk − pad (forward, filter gradient); input p meets output p + pad − k·dk
   (input gradient). */
static inline void shifted_range(int shift, int n, int count, int* lo, int* hi) {
  *lo = shift < 0 ? -shift : 0;
  *hi = n - shift < count ? n - shift : count;
}

/* The filter [kh][kw][cin][cout] as [kh][kw][cout][cin]. */
static float* transposed_filter(const Geom* g, const float* w) {
  const size_t taps = (size_t)g->kh * g->kw;
  float* t = malloc(taps * g->cin * g->cout * sizeof(float));
  if (!t) return NULL;
  for (size_t k = 0; k < taps; k++)
    for (int c = 0; c < g->cin; c++)
      for (int o = 0; o < g->cout; o++) t[(k * g->cout + o) * g->cin + c] = w[(k * g->cin + c) * g->cout + o];
  return t;
}

typedef struct {
  const Geom* g;
  const float *x, *wt, *bias, *dy;
  float *y, *dx;
  float* part; /* filter gradient: per image, taps·cout·cin filter sums, then cout bias sums */
  int relu;
} Job;

/* y[b, oy, ox, o] = bias[o] + Σ_{i, j, c} x[b, oy − pt + i·dh, ox − pl + j·dw, c] · w[i, j, c, o]. The
   accumulator blocks stay in registers, summed across lanes at the end; px neighbouring positions at a time where
   every tap lands inside the row, so that 8 independent sums hide the FMA latency (one position alone would wait
   on one chain of kh·kw·cin/16 additions). */
static inline __attribute__((always_inline)) void fwd_positions(const Job* j, int b, int oy, int ox, const int px, const int cout,
                                                                 const int inside) {
  const Geom* g = j->g;
  const int cin = g->cin, kw = g->kw;
  v16 acc[8][CONV_DIRECT_MAX_COUT];
  for (int p = 0; p < px; p++)
    for (int o = 0; o < cout; o++) acc[p][o] = (v16){0};
  for (int i = 0; i < g->kh; i++) {
    const int iy = oy - g->pt + i * g->dh;
    if (iy < 0 || iy >= g->h) continue;
    const float* xrow = j->x + ((size_t)b * g->h + iy) * g->w * cin;
    const float* wi = j->wt + (size_t)i * kw * cout * cin;
    for (int jx = 0; jx < kw; jx++) {
      const int ix = ox - g->pl + jx * g->dw;
      if (!inside && (ix < 0 || ix >= g->w)) continue;
      const float* xp = xrow + (size_t)ix * cin;
      const float* wp = wi + (size_t)jx * cout * cin;
      for (int c0 = 0; c0 < cin; c0 += CB)
        for (int o = 0; o < cout; o++) {
          const v16 wv = LOAD(wp + o * cin + c0);
          for (int p = 0; p < px; p++) acc[p][o] += LOAD(xp + (size_t)p * cin + c0) * wv;
        }
    }
  }
  float* yp = j->y + (((size_t)b * g->oh + oy) * g->ow + ox) * cout;
  for (int p = 0; p < px; p++)
    for (int o = 0; o < cout; o++) yp[p * cout + o] = lanes_sum(acc[p][o]) + (j->bias ? j->bias[o] : 0.0f);
}

static inline __attribute__((always_inline)) void fwd_rows_n(const Job* j, int lo, int hi, const int cout) {
  const Geom* g = j->g;
  const int px = cout == 1 ? 8 : cout == 2 ? 4 : 2;
  /* the positions whose taps all land inside the row: ox − pl + jx·dw ∈ [0, w) for every jx */
  const int in0 = g->pl, in1 = g->w + g->pl - (g->kw - 1) * g->dw;
  for (int r = lo; r < hi; r++) {
    const int b = r / g->oh, oy = r % g->oh;
    for (int ox = 0; ox < g->ow;) {
      if (ox >= in0 && ox + px <= in1) {
        fwd_positions(j, b, oy, ox, px, cout, 1);
        ox += px;
      } else {
        fwd_positions(j, b, oy, ox, 1, cout, ox >= in0 && ox < in1);
        ox += 1;
      }
    }
    if (j->relu) { /* a pass of its own: a branch per value on the sign mispredicts half the time */
      float* yp = j->y + ((size_t)b * g->oh + oy) * g->ow * cout;
      for (int k = 0; k < g->ow * cout; k++) yp[k] = yp[k] < 0.0f ? 0.0f : yp[k];
    }
  }
}

/* dx[b, iy, ix, c] = Σ_{i, j, o} dy[b, iy + pt − i·dh, ix + pl − j·dw, o] · w[i, j, c, o] (stride 1), a row at a
   time, accumulated in dx's row itself. */
static inline __attribute__((always_inline)) void bwd_data_rows_n(Job* j, int lo, int hi, const int cout) {
  const Geom* g = j->g;
  const int cin = g->cin;
  for (int r = lo; r < hi; r++) {
    const int b = r / g->h, iy = r % g->h;
    float* dxrow = j->dx + ((size_t)b * g->h + iy) * g->w * cin;
    memset(dxrow, 0, (size_t)g->w * cin * sizeof(float));
    for (int i = 0; i < g->kh; i++) {
      const int oy = iy + g->pt - i * g->dh;
      if (oy < 0 || oy >= g->oh) continue;
      const float* dyrow = j->dy + ((size_t)b * g->oh + oy) * g->ow * cout;
      for (int jx = 0; jx < g->kw; jx++) {
        /* input ix meets output ox = ix + shift */
        const int shift = g->pl - jx * g->dw;
        int x0, x1;
        shifted_range(shift, g->ow, g->w, &x0, &x1);
        for (int c0 = 0; c0 < cin; c0 += CB) {
          v16 wv[CONV_DIRECT_MAX_COUT];
          for (int o = 0; o < cout; o++) wv[o] = LOAD(j->wt + ((size_t)(i * g->kw + jx) * cout + o) * cin + c0);
          for (int ix = x0; ix < x1; ix++) {
            v16 a = LOAD(dxrow + (size_t)ix * cin + c0);
            for (int o = 0; o < cout; o++) a += dyrow[(ptrdiff_t)(ix + shift) * cout + o] * wv[o];
            STORE(dxrow + (size_t)ix * cin + c0, a);
          }
        }
      }
    }
  }
}

/* Image b's share of the filter gradient, Σ_{oy, ox} x[b, oy − pt + i·dh, ox − pl + j·dw, c] · dy[b, oy, ox, o],
   and of the bias gradient, Σ_{oy, ox} dy[b, oy, ox, o], into part[b]: tap by tap over the tap's rectangle, two
   accumulators per output channel (even and odd positions) to hide the FMA latency. */
static inline __attribute__((always_inline)) void bwd_weights_images_n(Job* j, int lo, int hi, const int cout) {
  const Geom* g = j->g;
  const int cin = g->cin, taps = g->kh * g->kw;
  const size_t stride = (size_t)taps * cout * cin + cout;
  for (int b = lo; b < hi; b++) {
    float* part = j->part + b * stride; /* [taps][cout][cin], then [cout] */
    const float* dyb = j->dy + (size_t)b * g->oh * g->ow * cout;
    for (int i = 0; i < g->kh; i++) {
      const int yshift = i * g->dh - g->pt;
      int y0, y1;
      shifted_range(yshift, g->h, g->oh, &y0, &y1);
      for (int jx = 0; jx < g->kw; jx++) {
        const int shift = jx * g->dw - g->pl;
        int x0, x1;
        shifted_range(shift, g->w, g->ow, &x0, &x1);
        for (int c0 = 0; c0 < cin; c0 += CB) {
          v16 a0[CONV_DIRECT_MAX_COUT], a1[CONV_DIRECT_MAX_COUT];
          for (int o = 0; o < cout; o++) a0[o] = a1[o] = (v16){0};
          for (int oy = y0; oy < y1; oy++) {
            const float* xrow = j->x + ((size_t)b * g->h + (oy + yshift)) * g->w * cin + c0;
            const float* dyp = dyb + (size_t)oy * g->ow * cout;
            int ox = x0;
            for (; ox + 1 < x1; ox += 2) {
              const v16 xa = LOAD(xrow + (ptrdiff_t)(ox + shift) * cin), xb = LOAD(xrow + (ptrdiff_t)(ox + 1 + shift) * cin);
              for (int o = 0; o < cout; o++) {
                a0[o] += xa * dyp[(size_t)ox * cout + o];
                a1[o] += xb * dyp[(size_t)(ox + 1) * cout + o];
              }
            }
            if (ox < x1) {
              const v16 xa = LOAD(xrow + (ptrdiff_t)(ox + shift) * cin);
              for (int o = 0; o < cout; o++) a0[o] += xa * dyp[(size_t)ox * cout + o];
            }
          }
          for (int o = 0; o < cout; o++) STORE(part + ((size_t)(i * g->kw + jx) * cout + o) * cin + c0, a0[o] + a1[o]);
        }
      }
    }
    float* db = part + (size_t)taps * cout * cin;
    for (int o = 0; o < cout; o++) db[o] = 0.0f;
    for (int p = 0; p < g->oh * g->ow; p++)
      for (int o = 0; o < cout; o++) db[o] += dyb[(size_t)p * cout + o];
  }
}

/* One clone per instruction set, each with cout made a constant (the accumulators then stay in registers). */
#define BY_COUT(body, j, lo, hi)       \
  switch ((j)->g->cout) {              \
    case 1: body(j, lo, hi, 1); break; \
    case 2: body(j, lo, hi, 2); break; \
    case 3: body(j, lo, hi, 3); break; \
    default: body(j, lo, hi, 4); break; \
  }
HOT static void fwd_rows(void* ctx, int tid, int lo, int hi) {
  (void)tid;
  BY_COUT(fwd_rows_n, (Job*)ctx, lo, hi);
}
HOT static void bwd_data_rows(void* ctx, int tid, int lo, int hi) {
  (void)tid;
  BY_COUT(bwd_data_rows_n, (Job*)ctx, lo, hi);
}
HOT static void bwd_weights_images(void* ctx, int tid, int lo, int hi) {
  (void)tid;
  BY_COUT(bwd_weights_images_n, (Job*)ctx, lo, hi);
}

/* Floats of work per row, for the split over threads. */
static size_t row_work(const Geom* g) { return (size_t)g->ow * g->kh * g->kw * g->cin * g->cout + (size_t)g->ow * g->cin; }

const char* conv_direct_forward(const Geom* g, const float* x, const float* w, const float* bias, int relu, float* y) {
  float* wt = transposed_filter(g, w);
  if (!wt) return "out of memory";
  Job j = {.g = g, .x = x, .wt = wt, .bias = bias, .y = y, .relu = relu};
  const int rows = g->b * g->oh;
  run_parts(fwd_rows, &j, rows, parts_for(rows, row_work(g)));
  free(wt);
  return NULL;
}

const char* conv_direct_backward_data(const Geom* g, const float* dy, const float* w, float* dx) {
  float* wt = transposed_filter(g, w);
  if (!wt) return "out of memory";
  Job j = {.g = g, .wt = wt, .dy = dy, .dx = dx};
  const int rows = g->b * g->h;
  run_parts(bwd_data_rows, &j, rows, parts_for(rows, row_work(g)));
  free(wt);
  return NULL;
}

const char* conv_direct_backward_weights(const Geom* g, const float* x, const float* dy, float* dw, float* dbias) {
  const int taps = g->kh * g->kw, cout = g->cout, cin = g->cin;
  const size_t stride = (size_t)taps * cout * cin + cout;
  float* part = malloc((size_t)g->b * stride * sizeof(float));
  double* sum = calloc(stride, sizeof(double));
  if (!part || !sum) {
    free(part);
    free(sum);
    return "out of memory";
  }
  Job j = {.g = g, .x = x, .dy = dy, .part = part};
  run_parts(bwd_weights_images, &j, g->b, parts_for(g->b, row_work(g) * g->oh));
  for (int b = 0; b < g->b; b++)
    for (size_t k = 0; k < stride; k++) sum[k] += part[b * stride + k];
  for (int k = 0; k < taps; k++) /* [taps][cout][cin] → HWIO [taps][cin][cout] */
    for (int o = 0; o < cout; o++)
      for (int c = 0; c < cin; c++) dw[((size_t)k * cin + c) * cout + o] = (float)sum[((size_t)k * cout + o) * cin + c];
  if (dbias)
    for (int o = 0; o < cout; o++) dbias[o] = (float)sum[(size_t)taps * cout * cin + o];
  free(part);
  free(sum);
  return NULL;
}
