/*
 * score_sde_native: matrix products and convolutions for the tfjs wasm backend, computed by the system's
 * OpenBLAS (AVX2 + FMA) directly on the wasm heap.
 *
 * Also a few fused elementwise kernels (SiLU, GroupNorm, Adam, EMA) where the wasm backend would run 3–15 small
 * kernels, each a pass over memory with its own dispatch cost.
 *
 * Why: tfjs-backend-wasm's XNNPACK build has 128-bit SIMD without fused multiply-add, reaches ~36 GFLOP/s on a
 * 1024³ product where OpenBLAS reaches ~76 on the same core, runs transposed products and the convolution input
 * gradient as scalar loops, and has no convolution filter gradient at all. tfjs-node (native TensorFlow) would
 * fix this but cannot be installed offline. This addon is small, built from this file at setup with Debian's gcc
 * and libopenblas-dev, and optional: lib/perf/native.ts falls back to the wasm kernels when it is absent.
 *
 * Contract: every array argument is a Float32Array view (usually into the wasm heap); shapes are passed as
 * integers and were checked by the caller (lib/perf/native.ts), which also allocates the outputs. Nothing here
 * keeps a pointer after returning, so the wasm heap may grow between calls.
 *
 * Layouts: row-major; images NHWC; filters HWIO ([kh, kw, cin, cout]), exactly tfjs' layouts.
 */
#include <node_api.h>
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/*
 * The elementwise loops are compiled twice, for AVX2+FMA (x86-64-v3) and for the baseline, and the loader picks
 * one for the CPU it runs on (GCC function multiversioning): measured SiLU over 65k floats 195 µs → 54 µs.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT
#endif

/* OpenBLAS extensions (declared here so any cblas.h works). */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char* openblas_get_config(void);

#define CHECK(call)                                                                      \
  do {                                                                                   \
    if ((call) != napi_ok) {                                                             \
      napi_throw_error(env, NULL, "score_sde_native: bad argument in " #call);          \
      return NULL;                                                                       \
    }                                                                                    \
  } while (0)

static int get_f32(napi_env env, napi_value v, float** out, size_t* len) {
  napi_typedarray_type t;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, &data, &ab, &off) != napi_ok || t != napi_float32_array) {
    napi_throw_type_error(env, NULL, "score_sde_native: expected a Float32Array");
    return 0;
  }
  *out = (float*)data;
  return 1;
}

static int get_ints(napi_env env, napi_value* argv, int from, int count, int32_t* out) {
  for (int i = 0; i < count; i++) {
    if (napi_get_value_int32(env, argv[from + i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "score_sde_native: expected an integer argument");
      return 0;
    }
  }
  return 1;
}

/*
 * Threads. Matrix products use OpenBLAS' own threads. Convolutions split the batch over our threads instead, one
 * image per GEMM on each (OpenBLAS set to 1 thread meanwhile): a per-image GEMM such as [784, 288]·[288, 32] is too
 * thin for OpenBLAS to split well (measured: 2 threads gave the U-Net train step no gain at all), and the
 * im2col copies, a third of a convolution's time, run in parallel too.
 */
#define MAX_THREADS 64
static int n_threads = 1;

/* Scratch buffers (im2col blocks, partial filter gradients), one per thread, grown on demand and kept. */
static float* scratch[MAX_THREADS];
static size_t scratch_len[MAX_THREADS];
static float* get_scratch(int tid, size_t n) {
  if (n > scratch_len[tid]) {
    free(scratch[tid]);
    scratch[tid] = (float*)malloc(n * sizeof(float));
    scratch_len[tid] = scratch[tid] ? n : 0;
  }
  return scratch[tid];
}

/* Largest im2col block (floats): bounds memory at ~32 MB whatever the batch. */
#define COL_BUDGET (8u << 20)

/*
 * batchMatMul(a, b, out, batchA, batchB, m, n, k, transA, transB): out[i] = op(a[i]) · op(b[i]) for i < max(batchA,
 * batchB); a batch of 1 broadcasts. op(a) is [m, k], op(b) is [k, n], out [.., m, n].
 */
static napi_value batch_matmul(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *a, *b, *c;
  size_t la, lb, lc;
  int32_t d[7];
  if (!get_f32(env, argv[0], &a, &la) || !get_f32(env, argv[1], &b, &lb) || !get_f32(env, argv[2], &c, &lc)) return NULL;
  if (!get_ints(env, argv, 3, 7, d)) return NULL;
  const int ba = d[0], bb = d[1], m = d[2], n = d[3], k = d[4], ta = d[5], tb = d[6];
  const int batch = ba > bb ? ba : bb;
  if (la < (size_t)ba * m * k || lb < (size_t)bb * k * n || lc < (size_t)batch * m * n) {
    napi_throw_range_error(env, NULL, "score_sde_native.batchMatMul: array shorter than its shape");
    return NULL;
  }
  for (int i = 0; i < batch; i++) {
    const float* ai = a + (size_t)(ba == 1 ? 0 : i) * m * k;
    const float* bi = b + (size_t)(bb == 1 ? 0 : i) * k * n;
    float* ci = c + (size_t)i * m * n;
    if (m == 1 && !ta) {
      /* a row vector times a matrix: gemv over b (or bᵀ) is the same product with better memory access. */
      cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? n : k, tb ? k : n, 1.0f, bi, tb ? k : n, ai, 1,
                  0.0f, ci, 1);
    } else {
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, ai,
                  ta ? m : k, bi, tb ? k : n, 0.0f, ci, n);
    }
  }
  return NULL;
}

/* Adds bias[n] to every row of c[rows, n] and applies the activation (0 linear, 1 relu). */
static HOT void bias_act(float* c, size_t rows, int n, const float* bias, int act) {
  for (size_t r = 0; r < rows; r++) {
    float* row = c + r * n;
    if (bias)
      for (int j = 0; j < n; j++) row[j] += bias[j];
    if (act == 1)
      for (int j = 0; j < n; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
  }
}

/* biasAct(c, bias or null, rows, n, act): in place, the epilogue of a fused matMul. */
static napi_value bias_act_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *c, *bias = NULL;
  size_t lc, lbias;
  napi_valuetype t;
  int32_t d[3];
  if (!get_f32(env, argv[0], &c, &lc)) return NULL;
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_null && !get_f32(env, argv[1], &bias, &lbias)) return NULL;
  if (!get_ints(env, argv, 2, 3, d)) return NULL;
  if (lc < (size_t)d[0] * d[1] || (bias && lbias < (size_t)d[1])) {
    napi_throw_range_error(env, NULL, "score_sde_native.biasAct: array shorter than its shape");
    return NULL;
  }
  bias_act(c, (size_t)d[0], d[1], bias, d[2]);
  return NULL;
}

/* Convolution geometry, in the order lib/perf/native.ts passes it. */
typedef struct {
  int b, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl;
} Geom;

static int get_geom(napi_env env, napi_value* argv, int from, Geom* g) {
  int32_t d[15];
  if (!get_ints(env, argv, from, 15, d)) return 0;
  g->b = d[0]; g->h = d[1]; g->w = d[2]; g->cin = d[3]; g->oh = d[4]; g->ow = d[5]; g->cout = d[6];
  g->kh = d[7]; g->kw = d[8]; g->sh = d[9]; g->sw = d[10]; g->dh = d[11]; g->dw = d[12]; g->pt = d[13]; g->pl = d[14];
  return 1;
}

/*
 * The three convolution calls pass an image [b, h, w, cin], a filter [kh, kw, cin, cout] and an output-side array
 * [b, oh, ow, cout] in some order; false (with a RangeError naming `where`) when one is shorter than its shape.
 */
static int conv_lengths_ok(napi_env env, const Geom* g, size_t limage, size_t lfilter, size_t lout, const char* where) {
  const size_t kdim = (size_t)g->kh * g->kw * g->cin, np = (size_t)g->oh * g->ow;
  if (limage < (size_t)g->b * g->h * g->w * g->cin || lfilter < kdim * g->cout || lout < (size_t)g->b * np * g->cout) {
    char msg[128];
    snprintf(msg, sizeof msg, "score_sde_native.%s: array shorter than its shape", where);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

/* Rows [p0, p0 + np) of one image's im2col matrix [oh·ow, kh·kw·cin], column order (i, j, ci) = HWIO's. */
static void im2col(const Geom* g, const float* img, float* col, int p0, int np) {
  const size_t kdim = (size_t)g->kh * g->kw * g->cin;
  for (int p = 0; p < np; p++) {
    const int oy = (p0 + p) / g->ow, ox = (p0 + p) % g->ow;
    float* row = col + (size_t)p * kdim;
    for (int i = 0; i < g->kh; i++) {
      const int y = oy * g->sh - g->pt + i * g->dh;
      for (int j = 0; j < g->kw; j++) {
        const int x = ox * g->sw - g->pl + j * g->dw;
        float* dst = row + ((size_t)i * g->kw + j) * g->cin;
        if (y < 0 || y >= g->h || x < 0 || x >= g->w) memset(dst, 0, g->cin * sizeof(float));
        else memcpy(dst, img + ((size_t)y * g->w + x) * g->cin, g->cin * sizeof(float));
      }
    }
  }
}

/* The adjoint of im2col: adds rows [p0, p0 + np) of col back into the image. */
static HOT void col2im_add(const Geom* g, const float* col, float* img, int p0, int np) {
  const size_t kdim = (size_t)g->kh * g->kw * g->cin;
  for (int p = 0; p < np; p++) {
    const int oy = (p0 + p) / g->ow, ox = (p0 + p) % g->ow;
    const float* row = col + (size_t)p * kdim;
    for (int i = 0; i < g->kh; i++) {
      const int y = oy * g->sh - g->pt + i * g->dh;
      if (y < 0 || y >= g->h) continue;
      for (int j = 0; j < g->kw; j++) {
        const int x = ox * g->sw - g->pl + j * g->dw;
        if (x < 0 || x >= g->w) continue;
        const float* src = row + ((size_t)i * g->kw + j) * g->cin;
        float* dst = img + ((size_t)y * g->w + x) * g->cin;
        for (int c = 0; c < g->cin; c++) dst[c] += src[c];
      }
    }
  }
}

static int pointwise(const Geom* g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

/* Output positions per im2col block. */
static int block_rows(const Geom* g) {
  const size_t kdim = (size_t)g->kh * g->kw * g->cin;
  size_t rows = COL_BUDGET / (kdim ? kdim : 1);
  const size_t np = (size_t)g->oh * g->ow;
  if (rows < 1) rows = 1;
  return (int)(rows < np ? rows : np);
}

/*
 * Work split into contiguous ranges of [0, n), one per thread; the caller's thread takes the first range. A thread
 * that cannot be started leaves its range to the caller, so results never depend on how many threads ran.
 * Threads are started per call (~20 µs each), which is noise next to the calls that use them (≥ 1 ms).
 */
typedef void (*range_fn)(void* ctx, int tid, int lo, int hi);

typedef struct {
  range_fn fn;
  void* ctx;
  int tid, lo, hi;
} Range;

static void* range_main(void* arg) {
  Range* r = (Range*)arg;
  r->fn(r->ctx, r->tid, r->lo, r->hi);
  return NULL;
}

/* How many ranges for n items of `work` floats each: one per thread, none smaller than ~64k floats of work. */
static int parts_for(size_t n, size_t work) {
  const size_t by_work = n * work / (64u << 10);
  size_t parts = (size_t)n_threads;
  if (parts > n) parts = n;
  if (parts > by_work) parts = by_work;
  return parts < 1 ? 1 : (int)parts;
}

/* Runs fn over [0, n) in `parts` ranges (OpenBLAS single-threaded meanwhile); returns the number of ranges. */
static int run_parts(range_fn fn, void* ctx, int n, int parts) {
  if (parts <= 1) {
    fn(ctx, 0, 0, n);
    return 1;
  }
  Range r[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS];
  openblas_set_num_threads(1);
  for (int t = 0; t < parts; t++) {
    r[t] = (Range){fn, ctx, t, (int)((long)n * t / parts), (int)((long)n * (t + 1) / parts)};
    started[t] = t > 0 && pthread_create(&tids[t], NULL, range_main, &r[t]) == 0;
  }
  fn(ctx, 0, r[0].lo, r[0].hi);
  for (int t = 1; t < parts; t++) {
    if (started[t]) pthread_join(tids[t], NULL);
    else fn(ctx, t, r[t].lo, r[t].hi);
  }
  openblas_set_num_threads(n_threads);
  return parts;
}

/* For a range function that could not get its memory: the caller throws once all ranges are done. */
static void mark_failed(int* failed) { __atomic_store_n(failed, 1, __ATOMIC_RELAXED); }

/*
 * A convolution's work over the batch, for the range functions below (images [lo, hi) on thread `tid`, with that
 * thread's scratch). Arguments by role: x the image-side input, w the filter-side input, y the output.
 */
typedef struct {
  const Geom* g;
  const float* x;
  const float* w;
  float* y;
  float* partial[MAX_THREADS]; /* filter gradient: each thread's own sum (thread 0's is y itself) */
  int failed;
} ConvJob;

/* The batch over the threads, whole images each (a per-image GEMM is the unit of work). */
static int run_over_batch(range_fn images, ConvJob* job) {
  const Geom* g = job->g;
  return run_parts(images, job, g->b, parts_for((size_t)g->b, (size_t)g->oh * g->ow * g->kh * g->kw * g->cin));
}

/* Forward: y[n] = im2col(x[n]) · w, block by block. */
static void forward_images(void* ctx, int tid, int n0, int n1) {
  ConvJob* job = (ConvJob*)ctx;
  const Geom* g = job->g;
  const size_t kdim = (size_t)g->kh * g->kw * g->cin, np = (size_t)g->oh * g->ow;
  const int rows = block_rows(g);
  float* col = get_scratch(tid, (size_t)rows * kdim);
  if (!col) { mark_failed(&job->failed); return; }
  for (int n = n0; n < n1; n++) {
    const float* img = job->x + (size_t)n * g->h * g->w * g->cin;
    for (int p0 = 0; p0 < (int)np; p0 += rows) {
      const int nr = p0 + rows <= (int)np ? rows : (int)np - p0;
      im2col(g, img, col, p0, nr);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, g->cout, (int)kdim, 1.0f, col, (int)kdim, job->w,
                  g->cout, 0.0f, job->y + ((size_t)n * np + p0) * g->cout, g->cout);
    }
  }
}

/* y = conv(x, w) for geometry g (im2col + GEMM, or one GEMM for 1×1 stride 1); returns 0 when out of memory. */
static int conv_forward(const Geom* g, const float* x, const float* w, float* y) {
  const size_t np = (size_t)g->oh * g->ow;
  if (pointwise(g)) {
    /* One tall GEMM over the whole batch: OpenBLAS splits it well by itself. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->b * (int)np, g->cout, g->cin, 1.0f, x, g->cin, w, g->cout,
                0.0f, y, g->cout);
    return 1;
  }
  ConvJob job = {.g = g, .x = x, .w = w, .y = y};
  run_over_batch(forward_images, &job);
  return !job.failed;
}

/* conv2d(x, w, y, bias|null, act, ...geom): y = act(conv(x, w) + bias). */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 20;
  napi_value argv[20];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *x, *w, *y, *bias = NULL;
  size_t lx, lw, ly, lbias;
  napi_valuetype t;
  int32_t act;
  Geom g;
  if (!get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &w, &lw) || !get_f32(env, argv[2], &y, &ly)) return NULL;
  CHECK(napi_typeof(env, argv[3], &t));
  if (t != napi_null && !get_f32(env, argv[3], &bias, &lbias)) return NULL;
  if (!get_ints(env, argv, 4, 1, &act) || !get_geom(env, argv, 5, &g)) return NULL;
  const size_t np = (size_t)g.oh * g.ow;
  if (!conv_lengths_ok(env, &g, lx, lw, ly, "conv2d")) return NULL;
  if (!conv_forward(&g, x, w, y)) { napi_throw_error(env, NULL, "score_sde_native.conv2d: out of memory"); return NULL; }
  if (bias || act) bias_act(y, (size_t)g.b * np, g.cout, bias, act);
  return NULL;
}

/* The convolution gradients' arguments: three Float32Arrays, then the geometry. */
static int get_grad_args(napi_env env, napi_callback_info info, float** a, size_t* la, float** b, size_t* lb, float** c,
                         size_t* lc, Geom* g) {
  size_t argc = 18;
  napi_value argv[18];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "score_sde_native: bad arguments");
    return 0;
  }
  return get_f32(env, argv[0], a, la) && get_f32(env, argv[1], b, lb) && get_f32(env, argv[2], c, lc) && get_geom(env, argv, 3, g);
}

/* Input gradient, general stride: col = dy[n] · wᵀ block by block, scatter-added back into y[n] (= dx[n]). */
static void input_grad_images(void* ctx, int tid, int n0, int n1) {
  ConvJob* job = (ConvJob*)ctx;
  const Geom* g = job->g;
  const size_t kdim = (size_t)g->kh * g->kw * g->cin, np = (size_t)g->oh * g->ow;
  const int rows = block_rows(g);
  float* col = get_scratch(tid, (size_t)rows * kdim);
  if (!col) { mark_failed(&job->failed); return; }
  for (int n = n0; n < n1; n++) {
    float* img = job->y + (size_t)n * g->h * g->w * g->cin;
    memset(img, 0, (size_t)g->h * g->w * g->cin * sizeof(float));
    for (int p0 = 0; p0 < (int)np; p0 += rows) {
      const int nr = p0 + rows <= (int)np ? rows : (int)np - p0;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, (int)kdim, g->cout, 1.0f, job->x + ((size_t)n * np + p0) * g->cout,
                  g->cout, job->w, g->cout, 0.0f, col, (int)kdim);
      col2im_add(g, col, img, p0, nr);
    }
  }
}

/* conv2dBackpropInput(dy, w, dx, ...geom): dx = the input gradient of conv(x, w) for output gradient dy. */
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  float *dy, *w, *dx;
  size_t ldy, lw, ldx;
  Geom g;
  if (!get_grad_args(env, info, &dy, &ldy, &w, &lw, &dx, &ldx, &g)) return NULL;
  const size_t kdim = (size_t)g.kh * g.kw * g.cin, np = (size_t)g.oh * g.ow;
  if (!conv_lengths_ok(env, &g, ldx, lw, ldy, "conv2dBackpropInput")) return NULL;
  if (pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.b * (int)np, g.cin, g.cout, 1.0f, dy, g.cout, w, g.cout, 0.0f,
                dx, g.cin);
    return NULL;
  }
  int ok;
  if (g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1) {
    /*
     * Stride 1: dx[y, x, ci] = Σ dy[y + pt − i, x + pl − j, co] w[i, j, ci, co] is a forward convolution of dy with
     * the filter flipped in space and ci/co swapped, padded by (kh − 1 − pt, kw − 1 − pl). It runs as fast as the
     * forward pass (no scatter-add): U-Net 3×3 layers 19.8 → ~16 ms per call.
     */
    float* wf = (float*)malloc(kdim * g.cout * sizeof(float));
    if (!wf) { napi_throw_error(env, NULL, "score_sde_native.conv2dBackpropInput: out of memory"); return NULL; }
    for (int i = 0; i < g.kh; i++)
      for (int j = 0; j < g.kw; j++)
        for (int ci = 0; ci < g.cin; ci++)
          for (int co = 0; co < g.cout; co++)
            wf[(((size_t)i * g.kw + j) * g.cout + co) * g.cin + ci] =
                w[(((size_t)(g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.cin + ci) * g.cout + co];
    const Geom t = {g.b, g.oh, g.ow, g.cout, g.h, g.w, g.cin, g.kh, g.kw, 1, 1, 1, 1, g.kh - 1 - g.pt, g.kw - 1 - g.pl};
    ok = conv_forward(&t, dy, wf, dx);
    free(wf);
  } else {
    ConvJob job = {.g = &g, .x = dy, .w = w, .y = dx};
    run_over_batch(input_grad_images, &job);
    ok = !job.failed;
  }
  if (!ok) napi_throw_error(env, NULL, "score_sde_native.conv2dBackpropInput: out of memory");
  return NULL;
}

/* Filter gradient: dw += im2col(x[n])ᵀ · dy[n] block by block, into this thread's partial sum. */
static void filter_grad_images(void* ctx, int tid, int n0, int n1) {
  ConvJob* job = (ConvJob*)ctx;
  const Geom* g = job->g;
  const size_t kdim = (size_t)g->kh * g->kw * g->cin, np = (size_t)g->oh * g->ow;
  const int rows = block_rows(g);
  /* Thread 0 sums straight into the output; the others into the tail of their scratch. */
  float* col = get_scratch(tid, (size_t)rows * kdim + (tid ? kdim * g->cout : 0));
  if (!col) { mark_failed(&job->failed); return; }
  float* dw = tid ? col + (size_t)rows * kdim : job->y;
  job->partial[tid] = dw;
  float beta = 0.0f;
  for (int n = n0; n < n1; n++) {
    const float* img = job->x + (size_t)n * g->h * g->w * g->cin;
    for (int p0 = 0; p0 < (int)np; p0 += rows) {
      const int nr = p0 + rows <= (int)np ? rows : (int)np - p0;
      im2col(g, img, col, p0, nr);
      /* dw[K, cout] += colᵀ[K, nr] · dy[nr, cout] */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kdim, g->cout, nr, 1.0f, col, (int)kdim,
                  job->w + ((size_t)n * np + p0) * g->cout, g->cout, beta, dw, g->cout);
      beta = 1.0f;
    }
  }
  if (beta == 0.0f) memset(dw, 0, kdim * g->cout * sizeof(float));
}

/* conv2dBackpropFilter(x, dy, dw, ...geom): dw = the filter gradient of conv(x, w) for output gradient dy. */
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  float *x, *dy, *dw;
  size_t lx, ldy, ldw;
  Geom g;
  if (!get_grad_args(env, info, &x, &lx, &dy, &ldy, &dw, &ldw, &g)) return NULL;
  const size_t kdim = (size_t)g.kh * g.kw * g.cin, np = (size_t)g.oh * g.ow;
  if (!conv_lengths_ok(env, &g, lx, ldw, ldy, "conv2dBackpropFilter")) return NULL;
  if (pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.cin, g.cout, g.b * (int)np, 1.0f, x, g.cin, dy, g.cout, 0.0f,
                dw, g.cout);
    return NULL;
  }
  ConvJob job = {.g = &g, .x = x, .w = dy, .y = dw};
  const int parts = run_over_batch(filter_grad_images, &job);
  if (job.failed) { napi_throw_error(env, NULL, "score_sde_native.conv2dBackpropFilter: out of memory"); return NULL; }
  for (int t = 1; t < parts; t++) cblas_saxpy((int)(kdim * g.cout), 1.0f, job.partial[t], 1, dw, 1);
  return NULL;
}

/* ---- elementwise kernels: SiLU, GroupNorm, Adam, EMA (one pass over memory instead of 3–15 wasm kernels) ---- */

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

static HOT void silu_f32(const float* restrict x, float* restrict y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] * sigmoid_f32(x[i]);
}

static HOT void silu_grad_f32(const float* restrict dy, const float* restrict x, float* restrict dx, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float s = sigmoid_f32(x[i]);
    dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
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

/* silu(x, y): y = x·σ(x). */
static napi_value silu(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *x, *y;
  size_t lx, ly;
  if (!get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &y, &ly)) return NULL;
  const size_t n = lx < ly ? lx : ly;
  Elementwise e = {x, NULL, y};
  run_parts(silu_range, &e, (int)n, parts_for(n, 1));
  return NULL;
}

/* siluGrad(dy, x, dx): dx = dy·σ(x)(1 + x(1 − σ(x))). */
static napi_value silu_grad(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *dy, *x, *dx;
  size_t ldy, lx, ldx;
  if (!get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &x, &lx) || !get_f32(env, argv[2], &dx, &ldx)) return NULL;
  size_t n = lx < ldx ? lx : ldx;
  n = n < ldy ? n : ldy;
  Elementwise e = {dy, x, dx};
  run_parts(silu_grad_range, &e, (int)n, parts_for(n, 1));
  return NULL;
}

/*
 * GroupNorm over x [B, S, C] with C split into G groups of cg = C/G channels. Both directions run image by image,
 * images split over the threads. Sums run per channel (vectorisable: cg is often 4) in float over blocks of
 * GN_BLOCK positions, flushed to double, then per group.
 */
#define GN_BLOCK 128

typedef struct {
  const float *x, *dy, *gamma, *beta, *mean, *rstd;
  float *y, *mean_out, *rstd_out, *dx;
  double* dparams; /* gradient: per-thread sums [dγ (C) | dβ (C)], thread t's at dparams + 2·C·t */
  int S, C, G, want_params;
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

/* Per-channel sums of a[s, c] and a[s, c]·b[s, c] (b NULL: a²) over s < S, in double. */
static HOT void channel_sums(const float* restrict a, const float* restrict b, int S, int C, float* restrict f1,
                             float* restrict f2, double* restrict d1, double* restrict d2) {
  memset(d1, 0, C * sizeof(double));
  memset(d2, 0, C * sizeof(double));
  for (int s0 = 0; s0 < S; s0 += GN_BLOCK) {
    const int s1 = s0 + GN_BLOCK < S ? s0 + GN_BLOCK : S;
    memset(f1, 0, C * sizeof(float));
    memset(f2, 0, C * sizeof(float));
    for (int s = s0; s < s1; s++) {
      const float* ar = a + (size_t)s * C;
      const float* br = b ? b + (size_t)s * C : ar;
      for (int c = 0; c < C; c++) { f1[c] += ar[c]; f2[c] += ar[c] * br[c]; }
    }
    for (int c = 0; c < C; c++) { d1[c] += f1[c]; d2[c] += f2[c]; }
  }
}

static HOT void gn_range(void* ctx, int tid, int lo, int hi) {
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
    channel_sums(xb, NULL, S, C, f1, f2, d, d + C);
    for (int g = 0; g < G; g++) {
      double s1, s2;
      group_totals(d, d + C, g, cg, &s1, &s2);
      const double m = s1 / count;
      double var = s2 / count - m * m;
      if (var < 0) var = 0;
      const float r = (float)(1.0 / __builtin_sqrt(var + j->eps));
      j->mean_out[b * G + g] = (float)m;
      j->rstd_out[b * G + g] = r;
      for (int c = g * cg; c < (g + 1) * cg; c++) {
        scale[c] = r * j->gamma[c];
        scale[C + c] = j->beta[c] - (float)m * r * j->gamma[c];
      }
    }
    float* yb = j->y + (size_t)b * S * C;
    for (int s = 0; s < S; s++) {
      const float* row = xb + (size_t)s * C;
      float* out = yb + (size_t)s * C;
      for (int c = 0; c < C; c++) out[c] = row[c] * scale[c] + scale[C + c];
    }
  }
  free(f);
  free(d);
}

/*
 * groupNorm(x, gamma, beta, y, mean, rstd, B, S, C, G, eps): per (b, g) the mean and population variance over
 * S × C/G (sums in double), y = (x − mean)·rstd·γ + β, rstd = 1/√(var + eps).
 */
static napi_value group_norm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *x, *gamma, *beta, *y, *mean, *rstd;
  size_t lx, lg, lb, ly, lm, lr;
  int32_t d[4];
  double eps;
  if (!get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &gamma, &lg) || !get_f32(env, argv[2], &beta, &lb) ||
      !get_f32(env, argv[3], &y, &ly) || !get_f32(env, argv[4], &mean, &lm) || !get_f32(env, argv[5], &rstd, &lr))
    return NULL;
  if (!get_ints(env, argv, 6, 4, d)) return NULL;
  CHECK(napi_get_value_double(env, argv[10], &eps));
  const int B = d[0], S = d[1], C = d[2], G = d[3];
  if (G < 1 || C % G != 0 || lx < (size_t)B * S * C || ly < (size_t)B * S * C || lg < (size_t)C || lb < (size_t)C ||
      lm < (size_t)B * G || lr < (size_t)B * G) {
    napi_throw_range_error(env, NULL, "score_sde_native.groupNorm: bad shapes");
    return NULL;
  }
  GnJob j = {.x = x, .gamma = gamma, .beta = beta, .y = y, .mean_out = mean, .rstd_out = rstd, .S = S, .C = C, .G = G, .eps = eps};
  run_parts(gn_range, &j, B, parts_for((size_t)B, (size_t)S * C));
  if (j.failed) napi_throw_error(env, NULL, "score_sde_native.groupNorm: out of memory");
  return NULL;
}

/* An optional Float32Array argument: null gives NULL. */
static int get_f32_opt(napi_env env, napi_value v, float** out, size_t* len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_null) { *out = NULL; *len = 0; return 1; }
  return get_f32(env, v, out, len);
}

/* x̂[s, c] = (x[s, c] − μ_c)·r_c for one image, with the group statistics spread per channel. */
static HOT void gn_normalise(const float* restrict x, const float* restrict mu, const float* restrict r, int S, int C,
                             float* restrict xh) {
  for (int s = 0; s < S; s++)
    for (int c = 0; c < C; c++) xh[(size_t)s * C + c] = (x[(size_t)s * C + c] - mu[c]) * r[c];
}

static HOT void gn_grad_range(void* ctx, int tid, int lo, int hi) {
  GnJob* j = (GnJob*)ctx;
  const int S = j->S, C = j->C, G = j->G, cg = C / G;
  /* xh [S·C], gd = dy·γ [S·C], mu, r, f1, f2, coef (2C) floats; d (4C) doubles */
  float* f = (float*)malloc((2 * (size_t)S * C + 6 * (size_t)C) * sizeof(float));
  double* d = (double*)malloc(4 * (size_t)C * sizeof(double));
  if (!f || !d) { free(f); free(d); mark_failed(&j->failed); return; }
  float *xh = f, *gd = f + (size_t)S * C, *mu = gd + (size_t)S * C, *r = mu + C, *f1 = r + C, *f2 = f1 + C, *coef = f2 + C;
  double* dp = j->dparams + 2 * (size_t)C * tid; /* this thread's [dγ | dβ] */
  const double count = (double)S * cg;
  for (int b = lo; b < hi; b++) {
    const float* xb = j->x + (size_t)b * S * C;
    const float* db = j->dy + (size_t)b * S * C;
    for (int c = 0; c < C; c++) { mu[c] = j->mean[b * G + c / cg]; r[c] = j->rstd[b * G + c / cg]; }
    gn_normalise(xb, mu, r, S, C, xh);
    if (j->want_params) {
      /* dγ_c += Σ_s dy x̂, dβ_c += Σ_s dy */
      channel_sums(db, xh, S, C, f1, f2, d, d + C);
      for (int c = 0; c < C; c++) { dp[C + c] += d[c]; dp[c] += d[C + c]; }
    }
    if (!j->dx) continue;
    for (int s = 0; s < S; s++)
      for (int c = 0; c < C; c++) gd[(size_t)s * C + c] = db[(size_t)s * C + c] * j->gamma[c];
    /* per channel Σ g and Σ g x̂, then per group: m1 = mean(g), m2 = mean(g x̂) */
    channel_sums(gd, xh, S, C, f1, f2, d, d + C);
    for (int g = 0; g < G; g++) {
      double s1, s2;
      group_totals(d, d + C, g, cg, &s1, &s2);
      const float m1 = (float)(s1 / count), m2 = (float)(s2 / count);
      for (int c = g * cg; c < (g + 1) * cg; c++) { coef[c] = m1; coef[C + c] = m2; }
    }
    /* dx = r (g − m1 − x̂ m2) */
    float* dxb = j->dx + (size_t)b * S * C;
    for (int s = 0; s < S; s++) {
      const size_t o = (size_t)s * C;
      for (int c = 0; c < C; c++) dxb[o + c] = r[c] * (gd[o + c] - coef[c] - xh[o + c] * coef[C + c]);
    }
  }
  free(f);
  free(d);
}

/*
 * groupNormGrad(dy, x, gamma, mean, rstd, dx|null, dgamma|null, dbeta|null, B, S, C, G): with x̂ = (x − mean)·rstd,
 * g = dy·γ and means over each group, dx = rstd (g − mean(g) − x̂ mean(g x̂)), dγ = Σ dy x̂, dβ = Σ dy. Computes the
 * outputs given (tfjs asks for each input's gradient separately and may skip some).
 */
static napi_value group_norm_grad(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *dy, *x, *gamma, *mean, *rstd, *dx, *dgamma, *dbeta;
  size_t l[8];
  int32_t d[4];
  if (!get_f32(env, argv[0], &dy, &l[0]) || !get_f32(env, argv[1], &x, &l[1]) || !get_f32(env, argv[2], &gamma, &l[2]) ||
      !get_f32(env, argv[3], &mean, &l[3]) || !get_f32(env, argv[4], &rstd, &l[4]) || !get_f32_opt(env, argv[5], &dx, &l[5]) ||
      !get_f32_opt(env, argv[6], &dgamma, &l[6]) || !get_f32_opt(env, argv[7], &dbeta, &l[7]))
    return NULL;
  if (!get_ints(env, argv, 8, 4, d)) return NULL;
  const int B = d[0], S = d[1], C = d[2], G = d[3];
  const size_t n = (size_t)B * S * C;
  if (G < 1 || C % G != 0 || l[0] < n || l[1] < n || (dx && l[5] < n) || l[2] < (size_t)C || (dgamma && l[6] < (size_t)C) ||
      (dbeta && l[7] < (size_t)C) || l[3] < (size_t)B * G || l[4] < (size_t)B * G) {
    napi_throw_range_error(env, NULL, "score_sde_native.groupNormGrad: bad shapes");
    return NULL;
  }
  const int parts = parts_for((size_t)B, (size_t)S * C);
  double* dparams = (double*)calloc(2 * (size_t)C * parts, sizeof(double));
  if (!dparams) { napi_throw_error(env, NULL, "score_sde_native.groupNormGrad: out of memory"); return NULL; }
  GnJob j = {.x = x, .dy = dy, .gamma = gamma, .mean = mean, .rstd = rstd, .dx = dx, .dparams = dparams, .S = S, .C = C,
             .G = G, .want_params = dgamma || dbeta};
  run_parts(gn_grad_range, &j, B, parts);
  if (j.failed) { free(dparams); napi_throw_error(env, NULL, "score_sde_native.groupNormGrad: out of memory"); return NULL; }
  for (int c = 0; c < C; c++) {
    double sg = 0, sb = 0;
    for (int t = 0; t < parts; t++) { sg += dparams[2 * (size_t)C * t + c]; sb += dparams[2 * (size_t)C * t + C + c]; }
    if (dgamma) dgamma[c] = (float)sg;
    if (dbeta) dbeta[c] = (float)sb;
  }
  free(dparams);
  return NULL;
}

static HOT void adam_f32(const float* restrict p, const float* restrict g, const float* restrict m, const float* restrict v,
                         float* restrict po, float* restrict mo, float* restrict vo, size_t n, float gs, float b1,
                         float omb1, float b2, float omb2, float lr, float bc2, float eps) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * gs;
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * (gi * gi);
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr * (mi / (__builtin_sqrtf(vi) / bc2 + eps));
  }
}

/*
 * adam(p, g, m, v, pOut, mOut, vOut, gradScale, β1, 1 − β1, β2, 1 − β2, stepSize, sqrtBc2, eps): torch.optim.Adam's
 * update with the gradient scaled by gradScale (global-norm clipping) —
 *   m' = β1 m + (1 − β1) g,  v' = β2 v + (1 − β2) g²,  p' = p − stepSize · m' / (√v' / sqrtBc2 + eps).
 * 1 − β is passed in, computed in double and rounded once, as the tfjs formulation does (1 − 0.9f ≠ 0.1f).
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float* a[7];
  size_t l[7];
  double h[8];
  for (int i = 0; i < 7; i++)
    if (!get_f32(env, argv[i], &a[i], &l[i])) return NULL;
  for (int i = 0; i < 8; i++) CHECK(napi_get_value_double(env, argv[7 + i], &h[i]));
  const size_t n = l[0];
  for (int i = 1; i < 7; i++)
    if (l[i] < n) { napi_throw_range_error(env, NULL, "score_sde_native.adam: arrays of different lengths"); return NULL; }
  const float gs = (float)h[0], b1 = (float)h[1], omb1 = (float)h[2], b2 = (float)h[3], omb2 = (float)h[4];
  const float lr = (float)h[5], bc2 = (float)h[6], eps = (float)h[7];
  const float *p = a[0], *g = a[1], *m = a[2], *v = a[3];
  float *po = a[4], *mo = a[5], *vo = a[6];
  adam_f32(p, g, m, v, po, mo, vo, n, gs, b1, omb1, b2, omb2, lr, bc2, eps);
  return NULL;
}

static HOT void ema_f32(const float* restrict s, const float* restrict p, float* restrict o, size_t n, float k) {
  for (size_t i = 0; i < n; i++) o[i] = s[i] - (s[i] - p[i]) * k;
}

/* ema(shadow, p, out, decay): out = shadow − (1 − decay)(shadow − p), the official update's arithmetic. */
static napi_value ema(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *s, *p, *o;
  size_t ls, lp, lo;
  double decay;
  if (!get_f32(env, argv[0], &s, &ls) || !get_f32(env, argv[1], &p, &lp) || !get_f32(env, argv[2], &o, &lo)) return NULL;
  CHECK(napi_get_value_double(env, argv[3], &decay));
  if (lp < ls || lo < ls) { napi_throw_range_error(env, NULL, "score_sde_native.ema: arrays of different lengths"); return NULL; }
  ema_f32(s, p, o, ls, (float)(1.0 - decay));
  return NULL;
}

/* sumSquares(x): Σ x² in double (the global gradient norm's terms; NaN and ∞ propagate). */
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  float* x;
  size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_f32(env, argv[0], &x, &n)) return NULL;
  double total = 0.0;
  size_t i = 0;
  while (i < n) { /* float partial sums over blocks of 256 vectorise; the blocks add up in double */
    float part = 0.0f;
    const size_t end = i + 256 < n ? i + 256 : n;
    for (; i < end; i++) part += x[i] * x[i];
    total += part;
  }
  CHECK(napi_create_double(env, total, &out));
  return out;
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

static HOT void sin_cos_rows_f64(const double* restrict args, int rows, const double* restrict f, int half, int dim,
                                 float* restrict out) {
  for (int b = 0; b < rows; b++) {
    float* row = out + (size_t)b * dim;
    if (b > 0 && args[b] == args[b - 1]) { /* repeated labels (a sampler's whole batch): copy the row */
      memcpy(row, row - dim, 2 * (size_t)half * sizeof(float));
      continue;
    }
    for (int k = 0; k < half; k++) {
      const double x = args[b] * f[k];
      double s, c;
      if (__builtin_fabs(x) < SINCOS_LIMIT) sincos_f64(x, &s, &c);
      else { s = sin(x); c = cos(x); }
      row[k] = (float)s;
      row[half + k] = (float)c;
    }
  }
}

/* sinCosRows(args f64 [rows], f f64 [half], out f32 [rows, dim], dim): out[b] = [sin(args_b f), cos(args_b f), (0)]. */
static napi_value sin_cos_rows(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *a, *f, *o;
  size_t la, lf, lo;
  napi_typedarray_type ta, tf_, to;
  int32_t dim;
  CHECK(napi_get_typedarray_info(env, argv[0], &ta, &la, &a, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[1], &tf_, &lf, &f, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[2], &to, &lo, &o, NULL, NULL));
  if (!get_ints(env, argv, 3, 1, &dim)) return NULL;
  if (ta != napi_float64_array || tf_ != napi_float64_array || to != napi_float32_array || dim < 2 * (int)lf ||
      lo < la * (size_t)dim) {
    napi_throw_range_error(env, NULL, "score_sde_native.sinCosRows: expected (Float64Array, Float64Array, Float32Array [rows·dim], dim ≥ 2·half)");
    return NULL;
  }
  sin_cos_rows_f64((const double*)a, (int)la, (const double*)f, (int)lf, dim, (float*)o);
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_ints(env, argv, 0, 1, &n)) return NULL;
  n_threads = n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : n);
  openblas_set_num_threads(n_threads);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value blas_config(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &out));
  return out;
}

#define EXPORT(name, fn)                                                        \
  do {                                                                          \
    napi_value f;                                                               \
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) != napi_ok || \
        napi_set_named_property(env, exports, name, f) != napi_ok)              \
      return NULL;                                                              \
  } while (0)

NAPI_MODULE_INIT() {
  EXPORT("batchMatMul", batch_matmul);
  EXPORT("biasAct", bias_act_js);
  EXPORT("conv2d", conv2d);
  EXPORT("conv2dBackpropInput", conv2d_backprop_input);
  EXPORT("conv2dBackpropFilter", conv2d_backprop_filter);
  EXPORT("silu", silu);
  EXPORT("siluGrad", silu_grad);
  EXPORT("groupNorm", group_norm);
  EXPORT("groupNormGrad", group_norm_grad);
  EXPORT("adam", adam);
  EXPORT("ema", ema);
  EXPORT("sumSquares", sum_squares);
  EXPORT("sinCosRows", sin_cos_rows);
  EXPORT("setThreads", set_threads);
  EXPORT("threads", get_threads);
  EXPORT("blasConfig", blas_config);
  return exports;
}
