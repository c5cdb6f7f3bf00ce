// The persistent thread pool (see pool.h). Compiled without ISA flags.
#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define BSTAR_PAUSE() _mm_pause()
#else
#define BSTAR_PAUSE() ((void)0)
#endif

namespace bstar {
namespace {

// Spinning before a worker sleeps, and before a caller waiting for workers sleeps. A pause takes
// about 23 ns on the project's Zen 5 (20000 took 460 µs); on a shared machine a spinning thread takes
// the core from the thread it waits for (often our own other thread), so both spins are short:
// ~4000 pauses ≈ 90 µs covers the gaps between the kernels of a training step, and a caller whose
// worker was preempted inside a job sleeps until it finishes instead of spinning for a time slice.
int spin_count() {
  static const int n = [] {
    const char* e = std::getenv("BSTAR_POOL_SPIN");
    int v = e && *e ? std::atoi(e) : 4000;
    return v < 0 ? 0 : v;
  }();
  return n;
}
constexpr int kCallerSpin = 2000;

struct Pool {
  int n = 1;  // threads including the caller
  std::vector<std::thread> workers;
  std::atomic<unsigned long> gen{0};  // bumped once per job
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
  // The current job. fn/ctx/job_n are written before `open` is set and read only by a worker
  // that saw `open` after announcing itself in `active`, so they are stable while it runs.
  PoolFn fn = nullptr;
  void* ctx = nullptr;
  int job_n = 1;
  std::atomic<bool> open{false};
  std::atomic<int> joined{0};  // slots handed out
  std::atomic<int> active{0};  // workers inside the job
  std::mutex m;
  std::condition_variable cv;
  std::atomic<int> sleeping{0};
  // the caller waiting for workers still inside a job
  std::atomic<bool> waiting{false};
  std::mutex done_m;
  std::condition_variable done_cv;

  void worker(unsigned long seen) {
    for (;;) {
      unsigned long g = seen;
      const int spin = spin_count();
      for (int i = 0; i < spin; i++) {
        g = gen.load(std::memory_order_acquire);
        if (g != seen || stop.load(std::memory_order_relaxed)) break;
        BSTAR_PAUSE();
      }
      if (g == seen && !stop.load()) {
        std::unique_lock<std::mutex> lk(m);
        sleeping++;
        cv.wait(lk, [&] { return gen.load(std::memory_order_acquire) != seen || stop.load(); });
        sleeping--;
        g = gen.load(std::memory_order_acquire);
      }
      if (stop.load()) return;
      seen = g;
      // Dekker-style handshake with run(): announce, then look. Either we see the job open (and
      // the caller then waits for us), or the caller has closed it and we must not touch it.
      active.fetch_add(1, std::memory_order_seq_cst);
      if (open.load(std::memory_order_seq_cst)) {
        int slot = joined.fetch_add(1, std::memory_order_relaxed);
        if (slot < job_n) fn(ctx, slot, job_n);
      }
      active.fetch_sub(1, std::memory_order_seq_cst);
      if (waiting.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lk(done_m);
        done_cv.notify_all();
      }
    }
  }

  void start(int threads) {
    n = threads;
    stop = false;
    unsigned long g0 = gen.load();
    for (int t = 1; t < n; t++) workers.emplace_back([this, g0] { worker(g0); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(m);
      stop = true;
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    n = 1;
  }

  void run(PoolFn f, void* c, int nth) {
    if (nth > n) nth = n;
    bool expected = false;
    if (nth <= 1 || !busy.compare_exchange_strong(expected, true)) {
      f(c, 0, 1);
      return;
    }
    fn = f;
    ctx = c;
    job_n = nth;
    joined.store(1, std::memory_order_relaxed);
    open.store(true, std::memory_order_seq_cst);
    {
      // Bumped under the mutex so a worker between its predicate check and its wait cannot miss
      // the notification.
      std::lock_guard<std::mutex> lk(m);
      gen.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleeping.load() > 0) cv.notify_all();
    f(c, 0, nth);
    // All work is claimed once our own call returns; only workers already inside can still be
    // finishing a piece.
    open.store(false, std::memory_order_seq_cst);
    int spins = 0;
    while (active.load(std::memory_order_seq_cst) != 0) {
      if (++spins < kCallerSpin) {
        BSTAR_PAUSE();
        continue;
      }
      // Dekker-style with the worker's exit: we announce `waiting`, then test `active` under the
      // mutex; a worker leaving decrements `active`, then looks at `waiting` and notifies under it.
      std::unique_lock<std::mutex> lk(done_m);
      waiting.store(true, std::memory_order_seq_cst);
      done_cv.wait_for(lk, std::chrono::microseconds(500), [&] { return active.load(std::memory_order_seq_cst) == 0; });
      waiting.store(false, std::memory_order_seq_cst);
    }
    busy.store(false, std::memory_order_release);
  }
};

int default_threads() {
  long c = sysconf(_SC_NPROCESSORS_ONLN);
  return c < 1 ? 1 : (c > 256 ? 256 : int(c));
}

Pool& pool() {
  static Pool* p = [] {
    Pool* q = new Pool();  // never destroyed: workers may outlive static destructors at exit
    q->start(default_threads());
    return q;
  }();
  return *p;
}

}  // namespace

int pool_threads() { return pool().n; }

void pool_set_threads(int n) {
  Pool& p = pool();
  if (n < 1) n = 1;
  if (n == p.n) return;
  p.shutdown();
  p.start(n);
}

void pool_run(PoolFn fn, void* ctx, int nth) { pool().run(fn, ctx, nth); }

float* thread_scratch(int slot, size_t n) {
  struct Buf {
    float* p = nullptr;
    size_t cap = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf bufs[4];
  Buf& b = bufs[slot & 3];
  if (b.cap < n) {
    std::free(b.p);
    size_t bytes = ((n * sizeof(float)) + 63) & ~size_t(63);
    b.p = static_cast<float*>(std::aligned_alloc(64, bytes));
    b.cap = b.p ? n : 0;
    if (!b.p) std::abort();
  }
  return b.p;
}

}  // namespace bstar
