/*
 * Threads: one pool, OpenMP's, shared with oneDNN (which runs its convolutions and matrix products on it). The
 * elementwise kernels split their work into contiguous ranges over the same threads, so no two pools spin
 * against each other on the same cores (with OpenBLAS' pool next to our own pthreads they did: an idle OpenBLAS
 * worker spun for ~0.1 s after each product and took a core from the convolution threads). Also here: the
 * signal mask that keeps oneDNN's kernels safe from signal handlers.
 */
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include "native.h"

static int n_threads = 1;

void set_threads(int n) {
  n_threads = n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : n);
  omp_set_num_threads(n_threads); /* oneDNN sizes its parallel regions by omp_get_max_threads() */
  /* The pool's workers never take a signal (see hold_signals): each blocks them all, for good. libgomp keeps these
     threads for every later region of at most n_threads; a thread it creates later inherits the mask of the thread
     that starts the region, and every region oneDNN starts runs between hold_signals and release_signals. */
#pragma omp parallel num_threads(n_threads)
  if (omp_get_thread_num() != 0) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
  }
}

/*
 * Signals are held back while oneDNN's kernels run. Its generated GEMM kernels (oneDNN ≤ 3.11; Debian's 2.6.3
 * among them) point the stack pointer into a heap buffer while they run, so a signal handled on that thread in
 * the meantime writes its frame into the heap: glibc aborts later with "corrupted size vs. prev_size" or the
 * process crashes or, worse, computes on with damaged memory (oneDNN issue #4845, fixed upstream by PR #4855).
 * Found here with `node --cpu-prof` (V8's profiler interrupts the main thread with SIGPROF) on both the AVX-512
 * and the AMD machines' sgemm; any signal does it (SIGCHLD, SIGWINCH, SIGINT with a handler). Held signals are
 * delivered when the call returns. Costs two system calls per call (~2.5 µs on our VMs), so only the oneDNN
 * entry points (products, convolutions) pay it.
 */
void hold_signals(sigset_t* saved) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, saved);
}

void release_signals(const sigset_t* saved) { pthread_sigmask(SIG_SETMASK, saved, NULL); }

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
