/*
 * Convolutions on oneDNN (the library PyTorch runs its CPU convolutions on), through its C API: forward (bias and
 * relu fused), input gradient, filter gradient with the bias gradient in the same pass.
 *
 * Layout strategy (chosen by measurement per CPU kind, see environment.md): the tensors stay NHWC / HWIO in the
 * wasm heap, as every other tfjs kernel needs them. The filters always go to the layout oneDNN asks for
 * (format_tag_any; a small reorder). The activations:
 *   - where oneDNN runs its AVX-512 kernels, fixed to NHWC: oneDNN 2.6 then runs its direct kernels on them
 *     (brgconv forward, jit gradients) and no activation is reordered: faster than blocked activations with their
 *     reorders on the Intel Xeon (AMX), even on the AVX-512 AMD EPYC.
 *   - elsewhere (AVX2) left to oneDNN (format_tag_any: nChw8c), reordered into it and the output back; NHWC
 *     measured even there, its filter gradient slower.
 *   With the filters fixed to HWIO as well, oneDNN 2.6 falls back to im2col + GEMM (several times slower), and a
 *   geometry whose NHWC primitive would be such a fallback (or a reference kernel) takes the blocked layout.
 * Where a blocked layout places every element where NHWC does (a channel block as wide as the channels: 8 channels
 * on AVX2), there is no reorder at all. Convolutions with 1–4 output channels and stride 1, which oneDNN pads to a
 * whole channel block, go to conv_direct.c instead on CPUs with AVX-512 (conv_direct_applies says when).
 *
 * Primitives are created once per (direction, geometry, bias, relu, thread count) and cached: creating one
 * JIT-compiles its kernel (~1 ms). The blocked copies live in scratch buffers shared by all entries (one call runs
 * at a time: Node's thread): one per argument slot, and one for the output gradient dy of the two backward
 * directions. A convolution's backward pass runs both on the same dy; the caller names dy's data with a token
 * (never reused for other data, tensors being immutable), and the second direction reuses the blocked copy the
 * first one made while the scratch still holds it (one reorder of dy instead of two).
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "native.h"

enum { FWD, BWD_DATA, BWD_WEIGHTS };

/* One tensor argument: the caller's NHWC/HWIO memory, and (when oneDNN wants another layout) its own copy. */
typedef struct {
  int exec_arg;
  int output;
  dnnl_memory_t user;
  dnnl_memory_t inner;      /* NULL: the primitive reads/writes the user layout directly */
  dnnl_primitive_t reorder; /* user → inner for inputs, inner → user for outputs */
  size_t inner_bytes;
} Arg;

typedef struct {
  int kind, bias, relu, threads;
  Geom g;
  dnnl_primitive_t prim;
  Arg args[3];
  dnnl_memory_t bias_mem; /* the bias (forward) or its gradient (filter gradient), always the user layout */
} Entry;

#define CACHE_SIZE 96
static Entry cache[CACHE_SIZE];
static int cache_used, cache_next;

static dnnl_engine_t engine;
static dnnl_stream_t stream;

/* Scratch for the blocked copies, grown on demand and kept: slots 0–2 by argument position, DY_SLOT for the
   output gradient of both backward directions. */
enum { DY_SLOT = 3, SLOTS = 4 };
static void* scratch[SLOTS];
static size_t scratch_bytes[SLOTS];

/* What scratch[DY_SLOT] holds: the blocked copy (layout md) of the dy named by token (0: nothing reusable). */
static struct {
  int32_t token;
  dnnl_memory_desc_t md;
} dy_held;

static char message[256];

static const char* failure(const char* what, dnnl_status_t s) {
  snprintf(message, sizeof message, "oneDNN %s failed (status %d)", what, (int)s);
  return message;
}

#define TRY(what, call)                           \
  do {                                            \
    dnnl_status_t s_ = (call);                    \
    if (s_ != dnnl_success) return failure(what, s_); \
  } while (0)

static const char* ensure_engine(void) {
  if (engine) return NULL;
  TRY("engine creation", dnnl_engine_create(&engine, dnnl_cpu, 0));
  TRY("stream creation", dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  return NULL;
}

static void free_entry(Entry* e) {
  if (e->prim) dnnl_primitive_destroy(e->prim);
  for (int i = 0; i < 3; i++) {
    Arg* a = &e->args[i];
    if (a->user) dnnl_memory_destroy(a->user);
    if (a->inner) dnnl_memory_destroy(a->inner);
    if (a->reorder) dnnl_primitive_destroy(a->reorder);
  }
  if (e->bias_mem) dnnl_memory_destroy(e->bias_mem);
  memset(e, 0, sizeof *e);
}

/* Offset (in elements) of index i along dimension d, every other index 0, in a blocked memory desc. */
static dnnl_dim_t offset_along(const dnnl_memory_desc_t* md, int d, dnnl_dim_t i) {
  const dnnl_blocking_desc_t* b = &md->format_desc.blocking;
  dnnl_dim_t block = 1, inner = 0, stride = 1;
  for (int k = b->inner_nblks - 1; k >= 0; k--) { /* innermost block first */
    if (b->inner_idxs[k] == d) {
      inner += ((i / block) % b->inner_blks[k]) * stride;
      block *= b->inner_blks[k];
    }
    stride *= b->inner_blks[k];
  }
  return (i / block) * b->strides[d] + inner;
}

/*
 * Whether two memory descs put every element at the same place: then oneDNN's layout can be used on the caller's
 * buffer as it is, with no reorder. That is the case for a channel block as wide as the channels (nChw16c with 16
 * channels is NHWC byte for byte; the U-Net's 28×28 layers). Blocked offsets are a sum over the dimensions of a
 * function of each index alone, so comparing each dimension's offsets over its whole range is a complete check.
 */
static int same_placement(const dnnl_memory_desc_t* a, const dnnl_memory_desc_t* b) {
  if (a->format_kind != dnnl_blocked || b->format_kind != dnnl_blocked || a->ndims != b->ndims || a->offset0 != b->offset0 ||
      a->data_type != b->data_type)
    return 0;
  for (int d = 0; d < a->ndims; d++) {
    if (a->dims[d] != b->dims[d] || a->padded_dims[d] != a->dims[d] || b->padded_dims[d] != b->dims[d]) return 0;
    for (dnnl_dim_t i = 0; i < a->dims[d]; i++)
      if (offset_along(a, d, i) != offset_along(b, d, i)) return 0;
  }
  return 1;
}

/* The argument `exec_arg` of primitive descriptor pd, in user layout `user_md`: memories and reorder. */
static const char* make_arg(Arg* a, dnnl_primitive_desc_t pd, int exec_arg, int output, const dnnl_memory_desc_t* user_md) {
  a->exec_arg = exec_arg;
  a->output = output;
  const dnnl_memory_desc_t* want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, exec_arg);
  /* The caller's buffer in oneDNN's own layout when that places every element where the caller's does. */
  const int same = dnnl_memory_desc_equal(want, user_md) || same_placement(want, user_md);
  TRY("memory creation", dnnl_memory_create(&a->user, same ? want : user_md, engine, DNNL_MEMORY_NONE));
  if (same) return NULL;
  TRY("memory creation", dnnl_memory_create(&a->inner, want, engine, DNNL_MEMORY_NONE));
  a->inner_bytes = dnnl_memory_desc_get_size(want);
  dnnl_primitive_desc_t rpd;
  const dnnl_memory_desc_t *from = output ? want : user_md, *to = output ? user_md : want;
  TRY("reorder creation", dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL));
  dnnl_status_t s = dnnl_primitive_create(&a->reorder, rpd);
  dnnl_primitive_desc_destroy(rpd);
  if (s != dnnl_success) return failure("reorder creation", s);
  return NULL;
}

static void dims4(dnnl_dims_t d, int a, int b, int c, int e) { d[0] = a; d[1] = b; d[2] = c; d[3] = e; }

/* Whether oneDNN runs its AVX-512 kernels here (DNNL_MAX_CPU_ISA may cap it): then activations stay NHWC. */
static int nhwc_activations(void) {
  return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

/* Whether pd runs one of oneDNN's direct kernels, not its im2col + GEMM ("gemm:…") or reference ("ref:…") ones. */
static int direct_kernel(dnnl_primitive_desc_t pd) {
  const char* impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) return 0;
  return strncmp(impl, "gemm", 4) != 0 && strncmp(impl, "ref", 3) != 0;
}

/*
 * A cache entry with the activations (source and destination) in layout `act`. With `fallback` given, a primitive
 * that would not run a direct kernel is not built: *fallback is set (the caller frees what was made).
 */
static const char* build_with(Entry* e, int kind, const Geom* g, int bias, int relu, dnnl_format_tag_t act, int* fallback) {
  const char* err;
  e->kind = kind;
  e->g = *g;
  e->bias = bias;
  e->relu = relu;
  e->threads = get_threads();
  dnnl_dims_t sd, wd, dd, bd = {g->cout}, strides = {g->sh, g->sw}, dil = {g->dh - 1, g->dw - 1};
  dnnl_dims_t pad_l = {g->pt, g->pl}, pad_r;
  /* oneDNN checks oh = (h − ekh + pt + pr)/sh + 1 in integer division: the smallest pr ≥ 0 that gives tfjs' oh. */
  const int ekh = (g->kh - 1) * g->dh + 1, ekw = (g->kw - 1) * g->dw + 1;
  const int pr_h = (g->oh - 1) * g->sh + ekh - g->h - g->pt, pr_w = (g->ow - 1) * g->sw + ekw - g->w - g->pl;
  pad_r[0] = pr_h > 0 ? pr_h : 0;
  pad_r[1] = pr_w > 0 ? pr_w : 0;
  dims4(sd, g->b, g->cin, g->h, g->w); /* oneDNN's logical order is always N, C, H, W / O, I, H, W */
  dims4(wd, g->cout, g->cin, g->kh, g->kw);
  dims4(dd, g->b, g->cout, g->oh, g->ow);
  dnnl_memory_desc_t s_user, w_user, d_user, b_md, s_act, w_any, d_act;
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&s_user, 4, sd, dnnl_f32, dnnl_nhwc));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&w_user, 4, wd, dnnl_f32, dnnl_hwio));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&d_user, 4, dd, dnnl_f32, dnnl_nhwc));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&s_act, 4, sd, dnnl_f32, act));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
  TRY("memory desc", dnnl_memory_desc_init_by_tag(&d_act, 4, dd, dnnl_f32, act));

  /* The forward descriptor: the primitive itself, or the hint every backward primitive needs. */
  dnnl_convolution_desc_t fd;
  TRY("convolution desc", dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &s_act, &w_any,
                                                                      bias ? &b_md : NULL, &d_act, strides, dil, pad_l, pad_r));
  dnnl_primitive_attr_t attr = NULL;
  if (kind == FWD && relu) {
    dnnl_post_ops_t ops;
    TRY("post-op", dnnl_post_ops_create(&ops));
    TRY("post-op", dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    TRY("attribute", dnnl_primitive_attr_create(&attr));
    TRY("attribute", dnnl_primitive_attr_set_post_ops(attr, ops));
    dnnl_post_ops_destroy(ops);
  }
  dnnl_primitive_desc_t fpd, pd;
  dnnl_status_t s = dnnl_primitive_desc_create(&fpd, &fd, attr, engine, NULL);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (s != dnnl_success) return failure("forward convolution descriptor", s);
  if (kind == FWD) {
    pd = fpd;
  } else {
    dnnl_convolution_desc_t bd_;
    if (kind == BWD_DATA)
      s = dnnl_dilated_convolution_backward_data_desc_init(&bd_, dnnl_convolution_direct, &s_act, &w_any, &d_act, strides, dil, pad_l, pad_r);
    else
      s = dnnl_dilated_convolution_backward_weights_desc_init(&bd_, dnnl_convolution_direct, &s_act, &w_any, bias ? &b_md : NULL, &d_act,
                                                             strides, dil, pad_l, pad_r);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &bd_, NULL, engine, fpd);
    dnnl_primitive_desc_destroy(fpd);
    if (s != dnnl_success) return failure("backward convolution descriptor", s);
  }
  if (fallback && !direct_kernel(pd)) {
    dnnl_primitive_desc_destroy(pd);
    *fallback = 1;
    return NULL;
  }
  if (kind == FWD) {
    err = make_arg(&e->args[0], pd, DNNL_ARG_SRC, 0, &s_user);
    if (!err) err = make_arg(&e->args[1], pd, DNNL_ARG_WEIGHTS, 0, &w_user);
    if (!err) err = make_arg(&e->args[2], pd, DNNL_ARG_DST, 1, &d_user);
  } else if (kind == BWD_DATA) {
    err = make_arg(&e->args[0], pd, DNNL_ARG_DIFF_DST, 0, &d_user);
    if (!err) err = make_arg(&e->args[1], pd, DNNL_ARG_WEIGHTS, 0, &w_user);
    if (!err) err = make_arg(&e->args[2], pd, DNNL_ARG_DIFF_SRC, 1, &s_user);
  } else {
    err = make_arg(&e->args[0], pd, DNNL_ARG_SRC, 0, &s_user);
    if (!err) err = make_arg(&e->args[1], pd, DNNL_ARG_DIFF_DST, 0, &d_user);
    if (!err) err = make_arg(&e->args[2], pd, DNNL_ARG_DIFF_WEIGHTS, 1, &w_user);
  }
  if (!err && bias) {
    s = dnnl_memory_create(&e->bias_mem, &b_md, engine, DNNL_MEMORY_NONE);
    if (s != dnnl_success) err = failure("memory creation", s);
  }
  if (!err) {
    s = dnnl_primitive_create(&e->prim, pd);
    if (s != dnnl_success) err = failure("primitive creation", s);
  }
  dnnl_primitive_desc_destroy(pd);
  return err;
}

/*
 * Builds the cache entry for (kind, g, bias, relu) at the current thread count: activations in NHWC where
 * nhwc_activations() (unless oneDNN has no direct kernel for them there), else in the layout oneDNN picks.
 */
static const char* build(Entry* e, int kind, const Geom* g, int bias, int relu) {
  if (nhwc_activations()) {
    int fallback = 0;
    const char* err = build_with(e, kind, g, bias, relu, dnnl_nhwc, &fallback);
    if (!err && !fallback) return NULL;
    free_entry(e); /* no direct kernel on NHWC, or no primitive at all: the blocked layout */
  }
  return build_with(e, kind, g, bias, relu, dnnl_format_tag_any, NULL);
}

/* The cached entry for this call, built on first use (the oldest entry makes room when the cache is full). */
static const char* lookup(int kind, const Geom* g, int bias, int relu, Entry** out) {
  const char* err = ensure_engine();
  if (err) return err;
  const int threads = get_threads();
  for (int i = 0; i < cache_used; i++) {
    Entry* e = &cache[i];
    if (e->kind == kind && e->bias == bias && e->relu == relu && e->threads == threads && !memcmp(&e->g, g, sizeof *g)) {
      *out = e;
      return NULL;
    }
  }
  Entry* e;
  if (cache_used < CACHE_SIZE) e = &cache[cache_used++];
  else {
    e = &cache[cache_next];
    cache_next = (cache_next + 1) % CACHE_SIZE;
    free_entry(e);
  }
  err = build(e, kind, g, bias, relu);
  if (err) {
    free_entry(e);
    /* keep the cache dense: move the last entry into the freed slot */
    Entry* last = &cache[cache_used - 1];
    if (e != last) { *e = *last; memset(last, 0, sizeof *last); }
    cache_used--;
    return err;
  }
  *out = e;
  return NULL;
}

/*
 * Runs entry e on the caller's arrays (in argument order) and the bias (or its gradient); dy_token names the data
 * of the output gradient (backward directions; 0: unnamed).
 */
static const char* execute(Entry* e, const float* p0, const float* p1, float* p2, float* bias, int32_t dy_token) {
  void* ptrs[3] = {(void*)p0, (void*)p1, (void*)p2};
  dnnl_exec_arg_t args[4];
  int n = 0;
  for (int i = 0; i < 3; i++) {
    Arg* a = &e->args[i];
    TRY("set handle", dnnl_memory_set_data_handle(a->user, ptrs[i]));
    if (a->inner) {
      const int k = a->exec_arg == DNNL_ARG_DIFF_DST ? DY_SLOT : i; /* its scratch buffer */
      const dnnl_memory_desc_t* md;
      TRY("memory desc", dnnl_memory_get_memory_desc(a->inner, &md));
      const int held = k == DY_SLOT && dy_token != 0 && dy_held.token == dy_token && dnnl_memory_desc_equal(&dy_held.md, md);
      if (k == DY_SLOT && !held) dy_held.token = 0; /* about to be overwritten */
      if (scratch_bytes[k] < a->inner_bytes) {
        free(scratch[k]);
        scratch[k] = aligned_alloc(64, (a->inner_bytes + 63) / 64 * 64);
        scratch_bytes[k] = scratch[k] ? a->inner_bytes : 0;
        if (!scratch[k]) return "out of memory";
      }
      TRY("set handle", dnnl_memory_set_data_handle(a->inner, scratch[k]));
      if (!a->output && !held) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, a->user}, {DNNL_ARG_TO, a->inner}};
        TRY("reorder", dnnl_primitive_execute(a->reorder, stream, 2, r));
        if (k == DY_SLOT && dy_token != 0) {
          dy_held.token = dy_token;
          dy_held.md = *md;
        }
      }
    }
    args[n++] = (dnnl_exec_arg_t){a->exec_arg, a->inner ? a->inner : a->user};
  }
  if (e->bias_mem) {
    TRY("set handle", dnnl_memory_set_data_handle(e->bias_mem, bias));
    args[n++] = (dnnl_exec_arg_t){e->kind == FWD ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS, e->bias_mem};
  }
  TRY("convolution", dnnl_primitive_execute(e->prim, stream, n, args));
  Arg* out = &e->args[2];
  if (out->inner) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, out->inner}, {DNNL_ARG_TO, out->user}};
    TRY("reorder", dnnl_primitive_execute(out->reorder, stream, 2, r));
  }
  TRY("stream wait", dnnl_stream_wait(stream));
  return NULL;
}

/* execute with signals held back: a convolution may run oneDNN's GEMM kernels, which a signal handler corrupts
   the heap under (see parallel.c). */
static const char* run(Entry* e, const float* p0, const float* p1, float* p2, float* bias, int32_t dy_token) {
  sigset_t saved;
  hold_signals(&saved);
  const char* err = execute(e, p0, p1, p2, bias, dy_token);
  release_signals(&saved);
  return err;
}

const char* conv_forward(const Geom* g, const float* x, const float* w, const float* bias, int relu, float* y) {
  if (conv_direct_applies(g)) return conv_direct_forward(g, x, w, bias, relu, y);
  Entry* e;
  const char* err = lookup(FWD, g, bias != NULL, relu, &e);
  return err ? err : run(e, x, w, y, (float*)bias, 0);
}

const char* conv_backward_data(const Geom* g, const float* dy, const float* w, float* dx, int32_t dy_token) {
  if (conv_direct_applies(g)) return conv_direct_backward_data(g, dy, w, dx);
  Entry* e;
  const char* err = lookup(BWD_DATA, g, 0, 0, &e);
  return err ? err : run(e, dy, w, dx, NULL, dy_token);
}

const char* conv_backward_weights(const Geom* g, const float* x, const float* dy, float* dw, float* dbias, int32_t dy_token) {
  if (conv_direct_applies(g)) return conv_direct_backward_weights(g, x, dy, dw, dbias);
  Entry* e;
  const char* err = lookup(BWD_WEIGHTS, g, dbias != NULL, 0, &e);
  return err ? err : run(e, x, dy, dw, dbias, dy_token);
}

const char* dnnl_description(void) {
  static char text[96];
  const dnnl_version_t* v = dnnl_version();
  const char* isa;
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx: isa = "avx"; break;
    case dnnl_cpu_isa_sse41: isa = "sse41"; break;
    default: isa = "baseline"; break;
  }
  snprintf(text, sizeof text, "oneDNN %d.%d.%d %s", v->major, v->minor, v->patch, isa);
  return text;
}
