/*
 * Matrix products on oneDNN's sgemm (row-major). Measured against OpenBLAS 0.3.21 (Debian's, which the addon
 * used before) on the project's machines, every shape class at 1 and 2 threads: see environment.md.
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include "native.h"

typedef struct {
  const float *a, *b;
  float* c;
  int ba, bb, m, n, k, ta, tb;
  int failed;
} Product;

static int one(const Product* p, int i) {
  const float* ai = p->a + (size_t)(p->ba == 1 ? 0 : i) * p->m * p->k;
  const float* bi = p->b + (size_t)(p->bb == 1 ? 0 : i) * p->k * p->n;
  float* ci = p->c + (size_t)i * p->m * p->n;
  return dnnl_sgemm(p->ta ? 'T' : 'N', p->tb ? 'T' : 'N', p->m, p->n, p->k, 1.0f, ai, p->ta ? p->m : p->k, bi,
                    p->tb ? p->k : p->n, 0.0f, ci, p->n) == dnnl_success;
}

/* A batch of small products (attention's [49, 49] blocks) split over the threads, one whole product each. */
static void products_range(void* ctx, int tid, int lo, int hi) {
  Product* p = (Product*)ctx;
  (void)tid;
  for (int i = lo; i < hi; i++)
    if (!one(p, i)) mark_failed(&p->failed);
}

const char* batch_matmul(const float* a, const float* b, float* c, int batch_a, int batch_b, int m, int n, int k, int ta, int tb) {
  Product p = {a, b, c, batch_a, batch_b, m, n, k, ta, tb, 0};
  const int batch = batch_a > batch_b ? batch_a : batch_b;
  sigset_t saved;
  hold_signals(&saved); /* oneDNN's GEMM kernels are not safe against signal handlers: see parallel.c */
  /* Below ~1 MFLOP a product is too small for sgemm to split over threads: split the batch instead. */
  if (batch > 1 && (size_t)m * n * k < (1u << 19)) run_parts(products_range, &p, batch, parts_for((size_t)batch, (size_t)m * n * k / 8 + 1));
  else
    for (int i = 0; i < batch && !p.failed; i++)
      if (!one(&p, i)) p.failed = 1;
  release_signals(&saved);
  return p.failed ? "oneDNN sgemm failed" : NULL;
}

HOT void bias_act(float* c, size_t rows, int n, const float* bias, int act) {
  for (size_t r = 0; r < rows; r++) {
    float* row = c + r * n;
    if (bias)
      for (int j = 0; j < n; j++) row[j] += bias[j];
    if (act == 1)
      for (int j = 0; j < n; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
  }
}
