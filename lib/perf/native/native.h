/*
 * score_sde_native: the kernels of lib/perf/native.ts for the tfjs wasm backend, computed on the tensors in the
 * wasm heap (no copies). One file per concern:
 *
 *   addon.c        Node-API glue: argument checks, the exported functions
 *   parallel.c     the thread pool (OpenMP, shared with oneDNN) and the work split of the elementwise kernels
 *   conv.c         convolutions on oneDNN (forward, input gradient, filter + bias gradient), primitives cached
 *   conv_direct.c  convolutions with 1–4 output channels (stride 1), where oneDNN pads the channels to 16
 *   matmul.c       matrix products on oneDNN's sgemm, with the bias/relu epilogue
 *   elementwise.c  SiLU, GroupNorm (both directions), the time embedding's sin/cos rows, broadcast Add/Multiply,
 *                  Concat/Split, upsampling, sums over an axis
 *   optim.c        Adam, EMA, the global gradient norm's sum of squares
 *
 * Contract: every array is a float32 view the caller (addon.c, after lib/perf/native.ts) checked against its
 * shape; nothing keeps a pointer after returning, so the wasm heap may grow between calls. Layouts are tfjs':
 * row-major, images NHWC, filters HWIO ([kh, kw, cin, cout]).
 */
#ifndef SCORE_SDE_NATIVE_H
#define SCORE_SDE_NATIVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The elementwise loops are compiled three times, for AVX-512 (x86-64-v4: both of our CPU kinds), AVX2+FMA
 * (x86-64-v3) and the baseline, and the loader picks one for the CPU it runs on (GCC function multiversioning).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* GroupNorm's per-channel loops (C = 16–64 wide) ran slower in their AVX-512 build (see elementwise.c). */
#define HOT_AVX2 __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT
#define HOT_AVX2
#endif

/* ---- parallel.c ---- */
#define MAX_THREADS 64
void set_threads(int n);
int get_threads(void);
/* fn over [0, n) in `parts` contiguous ranges, range t on one thread with id t (results never depend on parts). */
typedef void (*range_fn)(void* ctx, int tid, int lo, int hi);
void run_parts(range_fn fn, void* ctx, int n, int parts);
/* How many ranges for n items of `work` floats each: one per thread, none smaller than ~64k floats of work. */
int parts_for(size_t n, size_t work);
/* For a range function that could not get its memory: the caller reports it once all ranges are done. */
void mark_failed(int* failed);
/* Every signal held back on this thread until release_signals (around each oneDNN call: see parallel.c). */
void hold_signals(sigset_t* saved);
void release_signals(const sigset_t* saved);

/* ---- conv.c ---- */
/* Convolution geometry, in the order lib/perf/native.ts passes it. */
typedef struct {
  int b, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl;
} Geom;
/* Each returns NULL on success, else a message naming what failed (a oneDNN status or memory). */
const char* conv_forward(const Geom* g, const float* x, const float* w, const float* bias, int relu, float* y);
/* dy_token: a number naming dy's data (never reused for other data), so that the second backward direction on the
   same dy reuses the first one's blocked copy; 0 when unnamed. */
const char* conv_backward_data(const Geom* g, const float* dy, const float* w, float* dx, int32_t dy_token);
const char* conv_backward_weights(const Geom* g, const float* x, const float* dy, float* dw, float* dbias, int32_t dy_token);
/* ---- conv_direct.c ---- */
#define CONV_DIRECT_MAX_COUT 4
/* Whether conv.c's entry points hand geometry g to the conv_direct_* loops (few output channels, stride 1). */
int conv_direct_applies(const Geom* g);
const char* conv_direct_forward(const Geom* g, const float* x, const float* w, const float* bias, int relu, float* y);
const char* conv_direct_backward_data(const Geom* g, const float* dy, const float* w, float* dx);
const char* conv_direct_backward_weights(const Geom* g, const float* x, const float* dy, float* dw, float* dbias);
/* oneDNN's version and the instruction set its JIT kernels use (for the backend line). */
const char* dnnl_description(void);

/* ---- matmul.c ---- */
/* out[i] = op(a[i])·op(b[i]) for i < max(batchA, batchB) (a batch of 1 broadcasts); op(a) [m, k], op(b) [k, n]. */
const char* batch_matmul(const float* a, const float* b, float* c, int batch_a, int batch_b, int m, int n, int k, int ta, int tb);
/* Adds bias[n] (or nothing) to every row of c[rows, n] and applies the activation (0 linear, 1 relu). */
void bias_act(float* c, size_t rows, int n, const float* bias, int act);

/* ---- elementwise.c ---- */
void silu(const float* x, float* y, size_t n);
void silu_grad(const float* dy, const float* x, float* dx, size_t n);
/* Returns 0 when out of memory. */
int group_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int B, int S,
               int C, int G, double eps, int silu);
int group_norm_grad(const float* dy, const float* x, const float* gamma, const float* beta, const float* mean, const float* rstd,
                    float* dx, float* dgamma, float* dbeta, int B, int S, int C, int G, int silu);
void sin_cos_rows(const double* args, int rows, const double* f, int half, int dim, float* out);
/* Concatenation (and its inverse) along an axis, as [rows, inner_i] blocks. */
void concat_rows(float* out, const float* const* ins, const int* inner, int n, size_t rows);
void split_rows(const float* x, float* const* outs, const int* inner, int n, size_t rows);

/* out [outer, mid, inner] = a op b[o or 0, i] (b_outer: b has the outer axis); inner 1 without b_outer: b is a
   scalar. op 0 add, 1 multiply. */
void binary_bcast(int op, const float* a, const float* b, float* out, size_t outer, size_t mid, size_t inner, int b_outer);
/* out [outer, inner] = Σ over the middle axis of x [outer, mid, inner] (double accumulation). 0: out of memory. */
int sum_mid(const float* x, float* out, size_t outer, size_t mid, size_t inner);
/* out [B, H·fh, W·fw, C]: nearest-neighbour upsampling of x [B, H, W, C] by integer factors. */
void upsample_nearest(const float* x, float* out, int B, int H, int W, int C, int fh, int fw);
/* 2×2 average pooling, stride 2: x [B, H, W, C] (H, W even) → out [B, H/2, W/2, C]. */
void avg_pool2(const float* x, float* out, int B, int H, int W, int C);
/* out [n, cols, rows] = x [n, rows, cols] transposed matrix by matrix. */
void transpose_last2(const float* x, float* out, int n, int rows, int cols);

/* ---- optim.c ---- */
void adam(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, size_t n,
          float gs, float b1, float omb1, float b2, float omb2, float lr, float bc2, float eps);
void ema(const float* s, const float* p, float* o, size_t n, float k);
double sum_squares(const float* x, size_t n);

#endif
