// Persistent thread pool shared by every kernel set. Created once; the calling thread is worker 0.
// Workers spin briefly after a job (kernels come in quick succession) and then sleep.
// This header is included by the per-ISA kernel libraries, so it holds no code that the ISA flags
// could change: only declarations and a tiny type-erasing template.
#pragma once
#include <cstddef>

namespace bstar {

/** fn(ctx, tid, nth) runs once on each of nth threads (tid 0 = caller). */
using PoolFn = void (*)(void* ctx, int tid, int nth);

/** Threads in the pool, the caller included (≥ 1). */
int pool_threads();
/** Resize the pool to n threads (caller included); n ≥ 1. */
void pool_set_threads(int n);
/** Run fn on min(nth, pool_threads()) threads and wait; single-threaded if the pool is busy. */
void pool_run(PoolFn fn, void* ctx, int nth);

/** A per-thread, 64-byte aligned scratch buffer of at least n floats; slot picks one of 4. */
float* thread_scratch(int slot, size_t n);

template <class F>
inline void parallel(int nth, F& f) {
  pool_run([](void* c, int tid, int n) { (*static_cast<F*>(c))(tid, n); }, &f, nth);
}

}  // namespace bstar
