/*
 * Threads: one pool, OpenMP's, shared with oneDNN (which runs its convolutions and matrix products on it). The
 * elementwise kernels split their work into contiguous ranges over the same threads, so no two pools spin
 * against each other on the same cores (with OpenBLAS' pool next to our own pthreads they did: an idle OpenBLAS
 * worker spun for ~0.1 s after each product and took a core from the convolution threads).
 */
#include <omp.h>
#include "native.h"

static int n_threads = 1;

void set_threads(int n) {
  n_threads = n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : n);
  omp_set_num_threads(n_threads); /* oneDNN sizes its parallel regions by omp_get_max_threads() */
}

int get_threads(void) { return n_threads; }

int parts_for(size_t n, size_t work) {
  const size_t by_work = n * work / (64u << 10);
  size_t parts = (size_t)n_threads;
  if (parts > n) parts = n;
  if (parts > by_work) parts = by_work;
  return parts < 1 ? 1 : (int)parts;
}

void run_parts(range_fn fn, void* ctx, int n, int parts) {
  if (parts <= 1) {
    fn(ctx, 0, 0, n);
    return;
  }
#pragma omp parallel num_threads(parts)
  {
    /* The runtime may give fewer threads than asked: each takes every nth range, so all ranges run. */
    const int nt = omp_get_num_threads();
    for (int t = omp_get_thread_num(); t < parts; t += nt)
      fn(ctx, t, (int)((long)n * t / parts), (int)((long)n * (t + 1) / parts));
  }
}

void mark_failed(int* failed) { __atomic_store_n(failed, 1, __ATOMIC_RELAXED); }
