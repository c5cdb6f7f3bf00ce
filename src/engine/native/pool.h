// Persistent thread pool shared by every kernel set. Created once; the calling thread is worker 0.
// Workers spin briefly after a job (kernels come in quick succession) and then sleep.
// This header is included by the per-ISA kernel libraries, so it holds no code that the ISA flags
// could change: only declarations and a tiny type-erasing template.
#pragma once
#include <cstddef>

namespace bstar {

/**
 * fn(ctx, slot, nth): the caller runs it as slot 0; each worker that joins while the job is open
 * runs it with a distinct slot in [1, nth). A worker may join late or not at all (the machine may
 * be busy with other work), and the job ends as soon as the caller's own call returns and every
 * worker inside has left. So fn must claim its work dynamically (an atomic counter in ctx), never
 * assume a slot does a fixed share.
 */
using PoolFn = void (*)(void* ctx, int slot, int nth);

/** Threads in the pool, the caller included (≥ 1). */
int pool_threads();
/** Resize the pool to n threads (caller included); n ≥ 1. */
void pool_set_threads(int n);
/** Run fn with up to min(nth, pool_threads()) participants and wait; the caller alone when busy. */
void pool_run(PoolFn fn, void* ctx, int nth);

/** A per-thread, 64-byte aligned scratch buffer of at least n floats; slot picks one of 4. */
float* thread_scratch(int slot, size_t n);

template <class F>
inline void parallel(int nth, F& f) {
  pool_run([](void* c, int tid, int n) { (*static_cast<F*>(c))(tid, n); }, &f, nth);
}

}  // namespace bstar
