/*
 * Node-API glue of score_sde_native (see native.h for the files and the contract): reads and checks the
 * arguments lib/perf/native.ts passes (Float32Array views into the wasm heap, then integers), calls the kernel,
 * and turns a failure into a JavaScript error naming the function. Nothing here computes.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include "native.h"

#define CHECK(call)                                                             \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      napi_throw_error(env, NULL, "score_sde_native: bad argument in " #call); \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

/* The arguments of one call: up to 24. */
#define MAX_ARGS 24
typedef struct {
  napi_value v[MAX_ARGS];
  size_t n;
} Args;

static int get_args(napi_env env, napi_callback_info info, Args* a) {
  a->n = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->n, a->v, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "score_sde_native: bad arguments");
    return 0;
  }
  return 1;
}

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

/* An optional Float32Array argument: null gives NULL. */
static int get_f32_opt(napi_env env, napi_value v, float** out, size_t* len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_null) {
    *out = NULL;
    *len = 0;
    return 1;
  }
  return get_f32(env, v, out, len);
}

static int get_ints(napi_env env, const Args* a, size_t from, int count, int32_t* out) {
  for (int i = 0; i < count; i++) {
    if (from + i >= a->n || napi_get_value_int32(env, a->v[from + i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "score_sde_native: expected an integer argument");
      return 0;
    }
  }
  return 1;
}

static napi_value shorter(napi_env env, const char* where) {
  char msg[128];
  snprintf(msg, sizeof msg, "score_sde_native.%s: array shorter than its shape", where);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static napi_value failed(napi_env env, const char* where, const char* why) {
  char msg[384];
  snprintf(msg, sizeof msg, "score_sde_native.%s: %s", where, why);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* ---- matrix products ---- */

/* batchMatMul(a, b, out, batchA, batchB, m, n, k, transA, transB) */
static napi_value js_batch_matmul(napi_env env, napi_callback_info info) {
  Args a;
  float *pa, *pb, *pc;
  size_t la, lb, lc;
  int32_t d[7];
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &pa, &la) || !get_f32(env, a.v[1], &pb, &lb) ||
      !get_f32(env, a.v[2], &pc, &lc) || !get_ints(env, &a, 3, 7, d))
    return NULL;
  const int ba = d[0], bb = d[1], m = d[2], n = d[3], k = d[4];
  const int batch = ba > bb ? ba : bb;
  if (la < (size_t)ba * m * k || lb < (size_t)bb * k * n || lc < (size_t)batch * m * n) return shorter(env, "batchMatMul");
  const char* err = batch_matmul(pa, pb, pc, ba, bb, m, n, k, d[5], d[6]);
  return err ? failed(env, "batchMatMul", err) : NULL;
}

/* biasAct(c, bias|null, rows, n, act): in place, the epilogue of a fused matMul (act 0 linear, 1 relu). */
static napi_value js_bias_act(napi_env env, napi_callback_info info) {
  Args a;
  float *c, *bias;
  size_t lc, lbias;
  int32_t d[3];
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &c, &lc) || !get_f32_opt(env, a.v[1], &bias, &lbias) ||
      !get_ints(env, &a, 2, 3, d))
    return NULL;
  if (lc < (size_t)d[0] * d[1] || (bias && lbias < (size_t)d[1])) return shorter(env, "biasAct");
  bias_act(c, (size_t)d[0], d[1], bias, d[2]);
  return NULL;
}

/* ---- convolutions ---- */

static int get_geom(napi_env env, const Args* a, size_t from, Geom* g) {
  int32_t d[15];
  if (!get_ints(env, a, from, 15, d)) return 0;
  *g = (Geom){d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (g->b < 1 || g->h < 1 || g->w < 1 || g->cin < 1 || g->oh < 1 || g->ow < 1 || g->cout < 1 || g->kh < 1 ||
      g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->pt < 0 || g->pl < 0) {
    napi_throw_range_error(env, NULL, "score_sde_native: convolution geometry out of range");
    return 0;
  }
  return 1;
}

/* Image [b, h, w, cin], filter [kh, kw, cin, cout] and output-side [b, oh, ow, cout] lengths against g. */
static int conv_lengths_ok(const Geom* g, size_t limage, size_t lfilter, size_t lout) {
  return limage >= (size_t)g->b * g->h * g->w * g->cin && lfilter >= (size_t)g->kh * g->kw * g->cin * g->cout &&
         lout >= (size_t)g->b * g->oh * g->ow * g->cout;
}

/* conv2d(x, w, y, bias|null, act, ...geom): y = act(conv(x, w) + bias), act 0 linear, 1 relu. */
static napi_value js_conv2d(napi_env env, napi_callback_info info) {
  Args a;
  float *x, *w, *y, *bias;
  size_t lx, lw, ly, lbias;
  int32_t act;
  Geom g;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &x, &lx) || !get_f32(env, a.v[1], &w, &lw) ||
      !get_f32(env, a.v[2], &y, &ly) || !get_f32_opt(env, a.v[3], &bias, &lbias) || !get_ints(env, &a, 4, 1, &act) ||
      !get_geom(env, &a, 5, &g))
    return NULL;
  if (!conv_lengths_ok(&g, lx, lw, ly) || (bias && lbias < (size_t)g.cout)) return shorter(env, "conv2d");
  const char* err = conv_forward(&g, x, w, bias, act == 1, y);
  return err ? failed(env, "conv2d", err) : NULL;
}

/*
 * conv2dBackpropInput(dy, w, dx, ...geom, dyToken?): dx = the input gradient of conv(x, w) for output gradient dy.
 * dyToken (optional, 0 = none) names dy's data: see conv_backward_data in native.h.
 */
static napi_value js_conv2d_backprop_input(napi_env env, napi_callback_info info) {
  Args a;
  float *dy, *w, *dx;
  size_t ldy, lw, ldx;
  Geom g;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &dy, &ldy) || !get_f32(env, a.v[1], &w, &lw) ||
      !get_f32(env, a.v[2], &dx, &ldx) || !get_geom(env, &a, 3, &g))
    return NULL;
  if (!conv_lengths_ok(&g, ldx, lw, ldy)) return shorter(env, "conv2dBackpropInput");
  int32_t token = 0;
  if (a.n > 18 && !get_ints(env, &a, 18, 1, &token)) return NULL;
  const char* err = conv_backward_data(&g, dy, w, dx, token);
  return err ? failed(env, "conv2dBackpropInput", err) : NULL;
}

/*
 * conv2dBackpropFilter(x, dy, dw, dbias|null, ...geom, dyToken?): dw = the filter gradient of conv(x, w) for output gradient
 * dy and, when given, dbias = Σ dy over batch and positions, in the same pass.
 */
static napi_value js_conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  Args a;
  float *x, *dy, *dw, *db;
  size_t lx, ldy, ldw, ldb;
  Geom g;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &x, &lx) || !get_f32(env, a.v[1], &dy, &ldy) ||
      !get_f32(env, a.v[2], &dw, &ldw) || !get_f32_opt(env, a.v[3], &db, &ldb) || !get_geom(env, &a, 4, &g))
    return NULL;
  if (!conv_lengths_ok(&g, lx, ldw, ldy) || (db && ldb < (size_t)g.cout)) return shorter(env, "conv2dBackpropFilter");
  int32_t token = 0;
  if (a.n > 19 && !get_ints(env, &a, 19, 1, &token)) return NULL;
  const char* err = conv_backward_weights(&g, x, dy, dw, db, token);
  return err ? failed(env, "conv2dBackpropFilter", err) : NULL;
}

/* ---- elementwise ---- */

/* silu(x, y): y = x·σ(x). */
static napi_value js_silu(napi_env env, napi_callback_info info) {
  Args a;
  float *x, *y;
  size_t lx, ly;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &x, &lx) || !get_f32(env, a.v[1], &y, &ly)) return NULL;
  silu(x, y, lx < ly ? lx : ly);
  return NULL;
}

/* siluGrad(dy, x, dx): dx = dy·σ(x)(1 + x(1 − σ(x))). */
static napi_value js_silu_grad(napi_env env, napi_callback_info info) {
  Args a;
  float *dy, *x, *dx;
  size_t ldy, lx, ldx;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &dy, &ldy) || !get_f32(env, a.v[1], &x, &lx) ||
      !get_f32(env, a.v[2], &dx, &ldx))
    return NULL;
  size_t n = lx < ldx ? lx : ldx;
  silu_grad(dy, x, dx, n < ldy ? n : ldy);
  return NULL;
}

/* groupNorm(x, gamma, beta, y, mean, rstd, B, S, C, G, eps, silu) */
static napi_value js_group_norm(napi_env env, napi_callback_info info) {
  Args a;
  float *x, *gamma, *beta, *y, *mean, *rstd;
  size_t lx, lg, lb, ly, lm, lr;
  int32_t d[4];
  double eps;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &x, &lx) || !get_f32(env, a.v[1], &gamma, &lg) ||
      !get_f32(env, a.v[2], &beta, &lb) || !get_f32(env, a.v[3], &y, &ly) || !get_f32(env, a.v[4], &mean, &lm) ||
      !get_f32(env, a.v[5], &rstd, &lr) || !get_ints(env, &a, 6, 4, d))
    return NULL;
  int32_t silu;
  if (!get_ints(env, &a, 11, 1, &silu)) return NULL;
  CHECK(napi_get_value_double(env, a.v[10], &eps));
  const int B = d[0], S = d[1], C = d[2], G = d[3];
  if (G < 1 || C % G != 0 || lx < (size_t)B * S * C || ly < (size_t)B * S * C || lg < (size_t)C || lb < (size_t)C ||
      lm < (size_t)B * G || lr < (size_t)B * G)
    return shorter(env, "groupNorm");
  return group_norm(x, gamma, beta, y, mean, rstd, B, S, C, G, eps, silu) ? NULL : failed(env, "groupNorm", "out of memory");
}

/* groupNormGrad(dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta, B, S, C, G, silu) */
static napi_value js_group_norm_grad(napi_env env, napi_callback_info info) {
  Args a;
  float *dy, *x, *gamma, *beta, *mean, *rstd, *dx, *dgamma, *dbeta;
  size_t l[9];
  int32_t d[5];
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &dy, &l[0]) || !get_f32(env, a.v[1], &x, &l[1]) ||
      !get_f32(env, a.v[2], &gamma, &l[2]) || !get_f32(env, a.v[3], &beta, &l[3]) || !get_f32(env, a.v[4], &mean, &l[4]) ||
      !get_f32(env, a.v[5], &rstd, &l[5]) || !get_f32(env, a.v[6], &dx, &l[6]) ||
      !get_f32(env, a.v[7], &dgamma, &l[7]) || !get_f32(env, a.v[8], &dbeta, &l[8]) || !get_ints(env, &a, 9, 5, d))
    return NULL;
  const int B = d[0], S = d[1], C = d[2], G = d[3], silu = d[4];
  const size_t n = (size_t)B * S * C;
  if (G < 1 || C % G != 0 || l[0] < n || l[1] < n || l[6] < n || l[2] < (size_t)C || l[3] < (size_t)C || l[7] < (size_t)C ||
      l[8] < (size_t)C || l[4] < (size_t)B * G || l[5] < (size_t)B * G)
    return shorter(env, "groupNormGrad");
  return group_norm_grad(dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta, B, S, C, G, silu) ? NULL
                                                                                           : failed(env, "groupNormGrad", "out of memory");
}

/* sinCosRows(args f64 [rows], f f64 [half], out f32 [rows, dim], dim): out[b] = [sin(args_b f), cos(args_b f), (0)]. */
static napi_value js_sin_cos_rows(napi_env env, napi_callback_info info) {
  Args a;
  void *pa, *pf, *po;
  size_t la, lf, lo;
  napi_typedarray_type ta, tf, to;
  int32_t dim;
  if (!get_args(env, info, &a)) return NULL;
  CHECK(napi_get_typedarray_info(env, a.v[0], &ta, &la, &pa, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, a.v[1], &tf, &lf, &pf, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, a.v[2], &to, &lo, &po, NULL, NULL));
  if (!get_ints(env, &a, 3, 1, &dim)) return NULL;
  if (ta != napi_float64_array || tf != napi_float64_array || to != napi_float32_array || dim < 2 * (int)lf || lo < la * (size_t)dim) {
    napi_throw_range_error(env, NULL, "score_sde_native.sinCosRows: expected (Float64Array, Float64Array, Float32Array [rows·dim], dim ≥ 2·half)");
    return NULL;
  }
  sin_cos_rows((const double*)pa, (int)la, (const double*)pf, (int)lf, dim, (float*)po);
  return NULL;
}

/*
 * The blocks of concatRows / splitRows: `parts` (a JavaScript array of Float32Arrays) with inner sizes `inner`
 * (an Int32Array), each at least rows·inner_i long; the whole at least rows·Σ inner_i.
 */
static int get_blocks(napi_env env, napi_value arr, napi_value inner_v, size_t rows, float** ptrs, int** inner, int* n, size_t* width) {
  uint32_t len;
  napi_typedarray_type t;
  size_t ilen;
  void* idata;
  if (napi_get_array_length(env, arr, &len) != napi_ok || len < 1 || len > 64 ||
      napi_get_typedarray_info(env, inner_v, &t, &ilen, &idata, NULL, NULL) != napi_ok || t != napi_int32_array || ilen != len) {
    napi_throw_type_error(env, NULL, "score_sde_native: expected 1-64 Float32Arrays and an Int32Array of their widths");
    return 0;
  }
  *inner = (int*)idata;
  *n = (int)len;
  *width = 0;
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    size_t l;
    if (napi_get_element(env, arr, i, &e) != napi_ok || !get_f32(env, e, &ptrs[i], &l)) return 0;
    if ((*inner)[i] < 0 || l < rows * (size_t)(*inner)[i]) {
      shorter(env, "concatRows/splitRows");
      return 0;
    }
    *width += (size_t)(*inner)[i];
  }
  return 1;
}

/* concatRows(out, [in_i], Int32Array inner, rows): out [rows, Σ inner_i] = the inputs [rows, inner_i] side by side.
   splitRows(x, [out_i], Int32Array inner, rows): the inverse. Both read the same arguments: `split` picks which. */
static napi_value rows_op(napi_env env, napi_callback_info info, int split) {
  Args a;
  float *whole, *ptrs[64];
  size_t lwhole, width;
  int32_t rows;
  int* inner;
  int n;
  if (!get_args(env, info, &a) || a.n < 4 || !get_f32(env, a.v[0], &whole, &lwhole) || !get_ints(env, &a, 3, 1, &rows) ||
      !get_blocks(env, a.v[1], a.v[2], (size_t)rows, ptrs, &inner, &n, &width))
    return NULL;
  if (lwhole < (size_t)rows * width) return shorter(env, split ? "splitRows" : "concatRows");
  if (split)
    split_rows(whole, ptrs, inner, n, (size_t)rows);
  else
    concat_rows(whole, (const float* const*)ptrs, inner, n, (size_t)rows);
  return NULL;
}

static napi_value js_concat_rows(napi_env env, napi_callback_info info) { return rows_op(env, info, 0); }
static napi_value js_split_rows(napi_env env, napi_callback_info info) { return rows_op(env, info, 1); }

/* binary(a, b, out, op, outer, mid, inner, bOuter): out [outer, mid, inner] = a op b (see binary_bcast). */
static napi_value js_binary(napi_env env, napi_callback_info info) {
  Args a;
  float *pa, *pb, *po;
  size_t la, lb, lo;
  int32_t d[5];
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &pa, &la) || !get_f32(env, a.v[1], &pb, &lb) ||
      !get_f32(env, a.v[2], &po, &lo) || !get_ints(env, &a, 3, 5, d))
    return NULL;
  const int op = d[0], b_outer = d[4];
  const size_t outer = (size_t)d[1], mid = (size_t)d[2], inner = (size_t)d[3], n = outer * mid * inner;
  if (op < 0 || op > 1 || d[1] < 1 || d[2] < 1 || d[3] < 1) {
    napi_throw_range_error(env, NULL, "score_sde_native.binary: op must be 0 or 1 and the sizes positive");
    return NULL;
  }
  if (la < n || lo < n || lb < (b_outer ? outer : 1) * inner) return shorter(env, "binary");
  binary_bcast(op, pa, pb, po, outer, mid, inner, b_outer);
  return NULL;
}

/*
 * The arguments (x, out, d[0] … d[count − 1]) of the kernels that take one input, one output and sizes, every
 * size ≥ 1 (a range error naming `where` otherwise). Returns 0 with an exception pending on bad arguments.
 */
static int get_x_out_sizes(napi_env env, napi_callback_info info, const char* where, float** x, size_t* lx, float** o,
                           size_t* lo, int32_t* d, int count) {
  Args a;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], x, lx) || !get_f32(env, a.v[1], o, lo) || !get_ints(env, &a, 2, count, d))
    return 0;
  for (int i = 0; i < count; i++)
    if (d[i] < 1) {
      char msg[128];
      snprintf(msg, sizeof msg, "score_sde_native.%s: sizes must be positive", where);
      napi_throw_range_error(env, NULL, msg);
      return 0;
    }
  return 1;
}

/* upsampleNearest(x, out, B, H, W, C, fh, fw) */
static napi_value js_upsample_nearest(napi_env env, napi_callback_info info) {
  float *x, *o;
  size_t lx, lo;
  int32_t d[6];
  if (!get_x_out_sizes(env, info, "upsampleNearest", &x, &lx, &o, &lo, d, 6)) return NULL;
  const size_t n = (size_t)d[0] * d[1] * d[2] * d[3];
  if (lx < n || lo < n * d[4] * d[5]) return shorter(env, "upsampleNearest");
  upsample_nearest(x, o, d[0], d[1], d[2], d[3], d[4], d[5]);
  return NULL;
}

/* avgPool2(x, out, B, H, W, C): H and W even. */
static napi_value js_avg_pool2(napi_env env, napi_callback_info info) {
  float *x, *o;
  size_t lx, lo;
  int32_t d[4];
  if (!get_x_out_sizes(env, info, "avgPool2", &x, &lx, &o, &lo, d, 4)) return NULL;
  if (d[1] % 2 || d[2] % 2) {
    napi_throw_range_error(env, NULL, "score_sde_native.avgPool2: H and W must be even");
    return NULL;
  }
  const size_t n = (size_t)d[0] * d[1] * d[2] * d[3];
  if (lx < n || lo < n / 4) return shorter(env, "avgPool2");
  avg_pool2(x, o, d[0], d[1], d[2], d[3]);
  return NULL;
}

/* transposeLast2(x, out, n, rows, cols) */
static napi_value js_transpose_last2(napi_env env, napi_callback_info info) {
  float *x, *o;
  size_t lx, lo;
  int32_t d[3];
  if (!get_x_out_sizes(env, info, "transposeLast2", &x, &lx, &o, &lo, d, 3)) return NULL;
  const size_t n = (size_t)d[0] * d[1] * d[2];
  if (lx < n || lo < n) return shorter(env, "transposeLast2");
  transpose_last2(x, o, d[0], d[1], d[2]);
  return NULL;
}

/* sumMid(x, out, outer, mid, inner) */
static napi_value js_sum_mid(napi_env env, napi_callback_info info) {
  float *x, *o;
  size_t lx, lo;
  int32_t d[3];
  if (!get_x_out_sizes(env, info, "sumMid", &x, &lx, &o, &lo, d, 3)) return NULL;
  const size_t outer = (size_t)d[0], mid = (size_t)d[1], inner = (size_t)d[2];
  if (lx < outer * mid * inner || lo < outer * inner) return shorter(env, "sumMid");
  return sum_mid(x, o, outer, mid, inner) ? NULL : failed(env, "sumMid", "out of memory");
}

/* ---- optimiser ---- */

/* adam(p, g, m, v, pOut, mOut, vOut, gradScale, β1, 1 − β1, β2, 1 − β2, stepSize, sqrtBc2, eps) */
static napi_value js_adam(napi_env env, napi_callback_info info) {
  Args a;
  float* p[7];
  size_t l[7];
  double h[8];
  if (!get_args(env, info, &a)) return NULL;
  for (int i = 0; i < 7; i++)
    if (!get_f32(env, a.v[i], &p[i], &l[i])) return NULL;
  for (int i = 0; i < 8; i++) CHECK(napi_get_value_double(env, a.v[7 + i], &h[i]));
  for (int i = 1; i < 7; i++)
    if (l[i] < l[0]) return shorter(env, "adam");
  adam(p[0], p[1], p[2], p[3], p[4], p[5], p[6], l[0], (float)h[0], (float)h[1], (float)h[2], (float)h[3], (float)h[4],
       (float)h[5], (float)h[6], (float)h[7]);
  return NULL;
}

/* ema(shadow, p, out, decay): out = shadow − (1 − decay)(shadow − p). */
static napi_value js_ema(napi_env env, napi_callback_info info) {
  Args a;
  float *s, *p, *o;
  size_t ls, lp, lo;
  double decay;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &s, &ls) || !get_f32(env, a.v[1], &p, &lp) || !get_f32(env, a.v[2], &o, &lo))
    return NULL;
  CHECK(napi_get_value_double(env, a.v[3], &decay));
  if (lp < ls || lo < ls) return shorter(env, "ema");
  ema(s, p, o, ls, (float)(1.0 - decay));
  return NULL;
}

/* sumSquares(x): Σ x² in double. */
static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  float* x;
  size_t n;
  napi_value out;
  if (!get_args(env, info, &a) || !get_f32(env, a.v[0], &x, &n)) return NULL;
  CHECK(napi_create_double(env, sum_squares(x, n), &out));
  return out;
}

/* ---- threads and description ---- */

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  Args a;
  int32_t n;
  if (!get_args(env, info, &a) || !get_ints(env, &a, 0, 1, &n)) return NULL;
  set_threads(n);
  return NULL;
}

static napi_value js_threads(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  CHECK(napi_create_int32(env, get_threads(), &out));
  return out;
}

/* "oneDNN 2.6.3 avx512_core": the library and the instruction set its kernels were generated for. */
static napi_value js_description(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  CHECK(napi_create_string_utf8(env, dnnl_description(), NAPI_AUTO_LENGTH, &out));
  return out;
}

#define EXPORT(name, fn)                                                                \
  do {                                                                                  \
    napi_value f;                                                                       \
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) != napi_ok ||   \
        napi_set_named_property(env, exports, name, f) != napi_ok)                      \
      return NULL;                                                                      \
  } while (0)

NAPI_MODULE_INIT() {
  EXPORT("batchMatMul", js_batch_matmul);
  EXPORT("biasAct", js_bias_act);
  EXPORT("conv2d", js_conv2d);
  EXPORT("conv2dBackpropInput", js_conv2d_backprop_input);
  EXPORT("conv2dBackpropFilter", js_conv2d_backprop_filter);
  EXPORT("silu", js_silu);
  EXPORT("siluGrad", js_silu_grad);
  EXPORT("groupNorm", js_group_norm);
  EXPORT("groupNormGrad", js_group_norm_grad);
  EXPORT("binary", js_binary);
  EXPORT("upsampleNearest", js_upsample_nearest);
  EXPORT("avgPool2", js_avg_pool2);
  EXPORT("transposeLast2", js_transpose_last2);
  EXPORT("sumMid", js_sum_mid);
  EXPORT("adam", js_adam);
  EXPORT("ema", js_ema);
  EXPORT("sumSquares", js_sum_squares);
  EXPORT("sinCosRows", js_sin_cos_rows);
  EXPORT("concatRows", js_concat_rows);
  EXPORT("splitRows", js_split_rows);
  EXPORT("setThreads", js_set_threads);
  EXPORT("threads", js_threads);
  EXPORT("description", js_description);
  return exports;
}
