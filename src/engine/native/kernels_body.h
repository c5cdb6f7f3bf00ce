// The kernels, written once over GCC vector extensions and compiled three times (kernels_avx512.cc,
// kernels_avx2.cc, kernels_generic.cc), each with its own -m flags, vector width and GEMM tiling,
// inside its own namespace so that no inline function crosses instruction sets at link time.
//
// The includer defines, before including this file:
//   BSTAR_NS   namespace of this build (avx512, avx2, generic) and BSTAR_ISA_NAME its string
//   VW         floats per vector register (16, 8, 4)
//   GEMM_MR, GEMM_NR   micro-tile rows and columns (GEMM_NR a multiple of VW)
//   GEMM_KC, GEMM_MC, GEMM_NC   cache blocks (GEMM_MC a multiple of GEMM_MR, GEMM_NC of GEMM_NR)
//   GEMM_BF_KC, GEMM_BF_MC, GEMM_BF_NC   cache blocks of the bf16 GEMM (gemm_bf16.h; GEMM_BF_KC even)
//   ATT_BQ     query rows per attention block (ATT_BQ × 2 vectors of accumulators must fit the registers)
// and optionally BSTAR_BF16_NATIVE 1 (the bf16 GEMM uses vdpbf16ps) with BSTAR_BF16_ONLY 1 (this build
// provides only that GEMM: kernels_avx512bf16.cc).
//
// Shapes and semantics are those of src/engine/kernels.ts; arguments are validated in addon.cc.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sched.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "isa.h"
#include "pool.h"
#ifndef BSTAR_BF16_ONLY
#define BSTAR_BF16_ONLY 0
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace bstar {
namespace BSTAR_NS {
namespace {

// ================================================================================================
// vectors

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
typedef float vfh __attribute__((vector_size(VW * 2), aligned(4)));  // half a vector, for float64 sums
typedef double vd __attribute__((vector_size(VW * 4)));

inline vf load(const float* p) { return *reinterpret_cast<const vfu*>(p); }
inline void store(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
inline vf splat(float x) { return x - vf{}; }  // x − (+0) is exact, so this folds to a broadcast

typedef float vf4 __attribute__((vector_size(16)));
#if VW >= 8
typedef float vf8 __attribute__((vector_size(32)));
#endif
inline float hsum(vf v) {
  // A tree of halvings (the plain lane loop is a chain of VW dependent scalar adds).
#if VW == 16
  vf8 h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  vf4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
#elif VW == 8
  vf4 h4 = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
  vf4 h4 = v;
#endif
  return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}
inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < VW; i++) m = v[i] > m ? v[i] : m;
  return m;
}

// exp(x) for a vector: Cephes' expf polynomial on x - n·ln2, scaled by 2^n through the exponent
// bits. Relative error about 2 ulp; 0 below -87.3 (the float range).
inline vf vexp(vf x) {
  vf big = splat(88.3762626647949f);
  x = x > big ? big : x;
  vi under = x < splat(-87.3365447504f);
  vf t = x * 1.44269504088896341f;
  vf n = (t + 12582912.0f) - 12582912.0f;  // round to nearest for |t| < 2^22
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  vi e = __builtin_convertvector(n, vi);
  vi bits = (vi)p + (e << 23);  // vector casts reinterpret the bits
  vf res = (vf)bits;
  return under ? vf{} : res;
}

inline float sexp(float x) { return std::exp(x); }

inline float dot(const float* a, const float* b, long n) {
  vf s0{}, s1{};
  long i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    s0 += load(a + i) * load(b + i);
    s1 += load(a + i + VW) * load(b + i + VW);
  }
  for (; i + VW <= n; i += VW) s0 += load(a + i) * load(b + i);
  float s = hsum(s0 + s1);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// y += a·x
inline void axpy(float* y, float a, const float* x, long n) {
  vf va = splat(a);
  long i = 0;
  for (; i + VW <= n; i += VW) store(y + i, load(y + i) + va * load(x + i));
  for (; i < n; i++) y[i] += a * x[i];
}

// e[i] = exp(s[i] - sub) in place; returns Σ e.
inline float exp_shift_sum(float* s, long n, float sub) {
  vf acc{};
  vf vs = splat(sub);
  long i = 0;
  for (; i + VW <= n; i += VW) {
    vf e = vexp(load(s + i) - vs);
    store(s + i, e);
    acc += e;
  }
  float sum = hsum(acc);
  for (; i < n; i++) {
    float e = sexp(s[i] - sub);
    s[i] = e;
    sum += e;
  }
  return sum;
}

// ================================================================================================
// threading helpers

constexpr int kMaxChunks = 1024;

// How many pieces par_range cuts [0, n) into: up to 4 per thread (so a thread the OS delays costs
// little: the others take its pieces), none smaller than grain. Depends only on n, grain and the
// thread count, so per-chunk partial results are summed in the same order on every run.
inline long n_chunks(long n, long grain) {
  long c = grain > 0 ? n / grain : n;
  long cap = 4L * pool_threads();
  if (cap > kMaxChunks) cap = kMaxChunks;
  if (pool_threads() <= 1) cap = 1;
  if (c > cap) c = cap;
  return c < 1 ? 1 : c;
}

// f(lo, hi, chunk) over [0, n) in n_chunks(n, grain) contiguous pieces claimed dynamically.
template <class F>
void par_range(long n, long grain, F f) {
  long chunks = n_chunks(n, grain);
  if (chunks <= 1) {
    if (n > 0) f(0L, n, 0L);
    return;
  }
  long next = 0;
  auto body = [&](int, int) {
    for (;;) {
      long c = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
      if (c >= chunks) break;
      f(n * c / chunks, n * (c + 1) / chunks, c);
    }
  };
  int nth = pool_threads();
  parallel(chunks < nth ? int(chunks) : nth, body);
}

// ================================================================================================
// GEMM: BLIS-style. C[M,N] (=|+=) A·B with A(i,k) = A[i·rsA + k·csA], B(k,j) = B[k·rsB + j·csB].
// Loops: jc (NC columns) → pc (KC depth; pack B panel) → ic (MC rows; pack A block) → jr → ir →
// micro-kernel on an MR×NR tile held in registers. The B sliver (KC×NR) stays in L1 while the
// A block (MC×KC) streams from L2. Threads split C into independent blocks (each packs its own
// panels), so there is no barrier inside a GEMM.

constexpr int MR = GEMM_MR, NR = GEMM_NR;
// Cache blocks: defaults per ISA, adjustable at run time (setGemmBlocking) for tuning experiments.
long KC = GEMM_KC, MC = GEMM_MC, NC = GEMM_NC;
constexpr int NV = NR / VW;

#if defined(__AVX512F__)
// In-register 16×16 transpose: r[i] = row i in, r[c] = column c out. In-lane 4×4 transposes
// (unpack + shuffle), then two rounds of 128-bit lane shuffles.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int g = 0; g < 4; g++) {
    __m512 a = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]), b = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    __m512 c = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]), d = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    // t[4g + j]: in lane L, column 4L + j of rows 4g..4g+3
    t[4 * g + 0] = _mm512_shuffle_ps(a, c, 0x44);
    t[4 * g + 1] = _mm512_shuffle_ps(a, c, 0xEE);
    t[4 * g + 2] = _mm512_shuffle_ps(b, d, 0x44);
    t[4 * g + 3] = _mm512_shuffle_ps(b, d, 0xEE);
  }
  for (int j = 0; j < 4; j++) {
    __m512 s0 = _mm512_shuffle_f32x4(t[j], t[4 + j], 0x88), s1 = _mm512_shuffle_f32x4(t[j], t[4 + j], 0xDD);
    __m512 s2 = _mm512_shuffle_f32x4(t[8 + j], t[12 + j], 0x88), s3 = _mm512_shuffle_f32x4(t[8 + j], t[12 + j], 0xDD);
    r[0 + j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
    r[4 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
  }
}
#endif

// Ap: MR-row slivers, k-major (Ap[k·MR + ii]); rows past mc are zero.
void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* Ap) {
  if (rsA == 1) {
    // Aᵀ stored (tn): row k of the block is contiguous. Read each source row once, left to right;
    // walking one sliver down all k instead strides by a (often power-of-two) row length and
    // thrashes the cache sets.
    long full = mc / MR * MR;
    for (long k = 0; k < kc; k++) {
      const float* src = A + k * csA;
      long i0 = 0;
      if (k + 4 < kc)
        for (long i = 0; i < mc; i += 16) __builtin_prefetch(src + 4 * csA + i);
      for (; i0 < full; i0 += MR) __builtin_memcpy(Ap + i0 * kc + k * MR, src + i0, sizeof(float) * MR);
      if (i0 < mc) {
        float* d = Ap + i0 * kc + k * MR;
        long ii = 0;
        for (; ii < mc - i0; ii++) d[ii] = src[i0 + ii];
        for (; ii < MR; ii++) d[ii] = 0;
      }
    }
    return;
  }
  for (long i0 = 0; i0 < mc; i0 += MR) {
    long mr = mc - i0 < MR ? mc - i0 : MR;
    float* dst = Ap + i0 * kc;
    // Row-major A: transpose in k-chunks so the chunk of the sliver being written stays in L1.
    constexpr long KB = 16;
    long k0 = 0;
#if defined(__AVX512F__)
    if (csA == 1 && MR <= 16) {
      // 16 k at a time through an in-register transpose (rows past mr read as zero).
      const __mmask16 mrows = __mmask16((1u << MR) - 1);
      for (; k0 + 16 <= kc; k0 += 16) {
        __m512 r[16];
        for (int ii = 0; ii < 16; ii++) {
          if (ii < mr) {
            const float* src = A + (i0 + ii) * rsA + k0;
            _mm_prefetch(reinterpret_cast<const char*>(src + 128), _MM_HINT_T0);
            r[ii] = _mm512_loadu_ps(src);
          } else {
            r[ii] = _mm512_setzero_ps();
          }
        }
        transpose16(r);
        for (int k = 0; k < 16; k++) _mm512_mask_storeu_ps(dst + (k0 + k) * MR, mrows, r[k]);
      }
    }
#endif
    for (; k0 < kc; k0 += KB) {
      long kb = kc - k0 < KB ? kc - k0 : KB;
      for (long ii = 0; ii < mr; ii++) {
        const float* src = A + (i0 + ii) * rsA + k0 * csA;
        float* d = dst + k0 * MR + ii;
        if (csA == 1 && kb == KB) {
#pragma GCC unroll 16
          for (long k = 0; k < KB; k++) d[k * MR] = src[k];
        } else {
          for (long k = 0; k < kb; k++) d[k * MR] = src[k * csA];
        }
      }
    }
    for (long ii = mr; ii < MR; ii++)
      for (long k = 0; k < kc; k++) dst[k * MR + ii] = 0;
  }
}

// Bp: NR-column slivers, k-major (Bp[k·NR + jj]); columns past nc are zero.
void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* Bp) {
  for (long j0 = 0; j0 < nc; j0 += NR) {
    long nr = nc - j0 < NR ? nc - j0 : NR;
    float* dst = Bp + j0 * kc;
    if (csB == 1) {
      for (long k = 0; k < kc; k++) {
        const float* src = B + k * rsB + j0;
        float* d = dst + k * NR;
        if (nr == NR) {
          for (int v = 0; v < NV; v++) store(d + v * VW, load(src + v * VW));
        } else {
          long jj = 0;
          for (; jj < nr; jj++) d[jj] = src[jj];
          for (; jj < NR; jj++) d[jj] = 0;
        }
      }
    } else {
      // B(k, j) = B[j·csB + k]: each column of the sliver is a contiguous source row.
      long jj = 0;
#if defined(__AVX512F__)
      if (rsB == 1 && NR % 16 == 0 && nr == NR) {
        long k = 0;
        for (; k + 16 <= kc; k += 16) {
          for (int h = 0; h < NR; h += 16) {
            __m512 r[16];
            for (int c = 0; c < 16; c++) r[c] = _mm512_loadu_ps(B + (j0 + h + c) * csB + k);
            transpose16(r);
            for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (k + q) * NR + h, r[q]);
          }
        }
        for (; k < kc; k++)
          for (int c = 0; c < NR; c++) dst[k * NR + c] = B[(j0 + c) * csB + k];
        continue;
      }
#endif
      for (; jj + 4 <= nr; jj += 4) {
        const float* s0 = B + (j0 + jj) * csB;
        const float* s1 = s0 + csB;
        const float* s2 = s1 + csB;
        const float* s3 = s2 + csB;
        float* d = dst + jj;
        for (long k = 0; k < kc; k++) {
          d[k * NR] = s0[k * rsB];
          d[k * NR + 1] = s1[k * rsB];
          d[k * NR + 2] = s2[k * rsB];
          d[k * NR + 3] = s3[k * rsB];
        }
      }
      for (; jj < nr; jj++) {
        const float* s = B + (j0 + jj) * csB;
        for (long k = 0; k < kc; k++) dst[k * NR + jj] = s[k * rsB];
      }
      for (; jj < NR; jj++)
        for (long k = 0; k < kc; k++) dst[k * NR + jj] = 0;
    }
  }
}

// One MR×NR tile: C (=|+=) Ap·Bp over kc. Edge tiles (mr < MR or nr < NR) go through a buffer.
__attribute__((always_inline)) inline void micro_kernel(long kc, const float* __restrict Ap,
                                                        const float* __restrict Bp, float* C, long ldc, int mr,
                                                        int nr, bool acc) {
  vf c[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) c[i][v] = vf{};
  if (mr == MR && nr == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (int l = 0; l < NR; l += 16) __builtin_prefetch(C + i * ldc + l, 1);
  }
  for (long k = 0; k < kc; k++) {
    vf b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) b[v] = load(Bp + v * VW);  // packB's data may sit off a 64-byte line
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      vf a = splat(Ap[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) c[i][v] += a * b[v];
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
    if (acc) {
#pragma GCC unroll 32
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) store(C + i * ldc + v * VW, load(C + i * ldc + v * VW) + c[i][v]);
    } else {
#pragma GCC unroll 32
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) store(C + i * ldc + v * VW, c[i][v]);
    }
    return;
  }
  alignas(64) float t[MR * NR];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) *reinterpret_cast<vf*>(t + i * NR + v * VW) = c[i][v];
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) C[i * ldc + j] = acc ? C[i * ldc + j] + t[i * NR + j] : t[i * NR + j];
}

__attribute__((noinline)) void macro_kernel(long mc, long nc, long kc, const float* Ap, const float* Bp, float* C,
                                            long ldc, bool acc) {
  for (long jr = 0; jr < nc; jr += NR) {
    int nr = nc - jr < NR ? int(nc - jr) : NR;
    for (long ir = 0; ir < mc; ir += MR) {
      int mr = mc - ir < MR ? int(mc - ir) : MR;
      micro_kernel(kc, Ap + ir * kc, Bp + jr * kc, C + ir * ldc + jr, ldc, mr, nr, acc);
    }
  }
}

void gemm_serial(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB,
                 float* C, long ldc, bool acc) {
  if (K == 0) {
    if (!acc)
      for (long i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  long ncMax = N < NC ? ((N + NR - 1) / NR) * NR : NC;
  long kcMax = K < KC ? K : KC;
  long mcMax = M < MC ? ((M + MR - 1) / MR) * MR : MC;
  float* Bp = thread_scratch(0, size_t(kcMax) * ncMax);
  float* Ap = thread_scratch(1, size_t(kcMax) * mcMax);
  for (long jc = 0; jc < N; jc += NC) {
    long nc = N - jc < NC ? N - jc : NC;
    for (long pc = 0; pc < K; pc += KC) {
      long kc = K - pc < KC ? K - pc : KC;
      pack_b(kc, nc, B + pc * rsB + jc * csB, rsB, csB, Bp);
      bool a2 = acc || pc > 0;
      for (long ic = 0; ic < M; ic += MC) {
        long mc = M - ic < MC ? M - ic : MC;
        pack_a(mc, kc, A + ic * rsA + pc * csA, rsA, csA, Ap);
        macro_kernel(mc, nc, kc, Ap, Bp, C + ic * ldc + jc, ldc, a2);
      }
    }
  }
}

// Few rows of C (decoding a small batch): A is read in place (packing it would pad M up to MR rows of
// work), and so is B for nn/tn; nt packs one KC×NR sliver of B at a time. Each C element gets exactly
// the float operations of the packed path (micro_kernel): per KC block of k a chain c = 0, c += a·b
// in k order (one FMA per step where the ISA has FMA), then C = c for the first block without
// accumulate, C += c otherwise. So row i of C does not depend on M (the contract in kernels.ts).
// MG rows × NS slivers of NR columns (sliver s at Bs + s·sls, rows ldb apart; only the last one may
// be partial, nr columns). Several slivers at once for small MG so that enough independent FMA
// chains are in flight (one row and one sliver would be bound by the FMA latency).
template <int MG, int NS>
inline void small_tile(long kc, const float* A, long rsA, long csA, const float* __restrict Bs, long sls, long ldb,
                       float* C, long ldc, int nr, bool acc) {
  vf c[MG][NS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MG; i++)
#pragma GCC unroll 4
    for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) c[i][q][v] = vf{};
  for (long k = 0; k < kc; k++) {
    vf b[NS][NV];
#pragma GCC unroll 4
    for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) b[q][v] = load(Bs + q * sls + k * ldb + v * VW);
#pragma GCC unroll 16
    for (int i = 0; i < MG; i++) {
      vf a = splat(A[i * rsA + k * csA]);
#pragma GCC unroll 4
      for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) c[i][q][v] += a * b[q][v];
    }
  }
  for (int i = 0; i < MG; i++)
    for (int q = 0; q < NS; q++) {
      float* d = C + i * ldc + q * NR;
      if (q < NS - 1 || nr == NR) {
        for (int v = 0; v < NV; v++) store(d + v * VW, acc ? load(d + v * VW) + c[i][q][v] : c[i][q][v]);
      } else {
        alignas(64) float t[NR];
        for (int v = 0; v < NV; v++) *reinterpret_cast<vf*>(t + v * VW) = c[i][q][v];
        for (int j = 0; j < nr; j++) d[j] = acc ? d[j] + t[j] : t[j];
      }
    }
}

// The row groups of a few-row product over ns slivers of B (sliver s at Bs + s·sls, rows ldb apart,
// the last one nrLast columns wide) for one depth block: C[:, j0 …] (=|+=) A·B.
inline void small_rows_block(const float* Ab, long rsA, long csA, long M, long kc, const float* Bs, long sls, long ldb,
                             float* Cb, long N, long ns, int nrLast, bool a2) {
  constexpr long SG = 4;  // slivers per group (the caller's grouping)
  long i = 0;
  // rows in groups of 8, 4, 2, 1; each group over the ns slivers, NS at a time
  auto rows = [&](auto mg, auto nsw) {
    constexpr int G = decltype(mg)::value, W = decltype(nsw)::value;
    for (; i + G <= M; i += G) {
      long q = 0;
      if (W > 1 && ns == SG) {
        for (; q + W <= ns; q += W)
          small_tile<G, W>(kc, Ab + i * rsA, rsA, csA, Bs + q * sls, sls, ldb, Cb + i * N + q * NR, N,
                           q + W == ns ? nrLast : NR, a2);
      }
      for (; q < ns; q++)
        small_tile<G, 1>(kc, Ab + i * rsA, rsA, csA, Bs + q * sls, sls, ldb, Cb + i * N + q * NR, N,
                         q + 1 == ns ? nrLast : NR, a2);
    }
  };
  rows(std::integral_constant<int, 8>(), std::integral_constant<int, 1>());
  rows(std::integral_constant<int, 4>(), std::integral_constant<int, 2>());
  rows(std::integral_constant<int, 2>(), std::integral_constant<int, 2>());
  rows(std::integral_constant<int, 1>(), std::integral_constant<int, 4>());
}

// Columns [n0, n1) of C (n0 a multiple of NR), so threads can split N.
void small_rows(const float* A, long rsA, long csA, const float* B, long rsB, long csB, long M, long N, long K,
                float* C, bool acc, long n0, long n1) {
  constexpr long SG = 4;  // slivers per group
  float* Bp = nullptr;
  for (long j0 = n0; j0 < n1; j0 += SG * NR) {
    long cols = n1 - j0 < SG * NR ? n1 - j0 : SG * NR;
    long ns = (cols + NR - 1) / NR;
    int nrLast = int(cols - (ns - 1) * NR);
    for (long pc = 0; pc < K; pc += KC) {
      long kc = K - pc < KC ? K - pc : KC;
      const float* Bs;
      long ldb, sls;
      if (csB == 1 && nrLast == NR) {
        Bs = B + pc * rsB + j0;
        ldb = rsB;
        sls = NR;
      } else {
        if (!Bp) Bp = thread_scratch(0, size_t(KC) * NR * SG);
        pack_b(kc, cols, B + pc * rsB + j0 * csB, rsB, csB, Bp);
        Bs = Bp;
        ldb = NR;
        sls = kc * NR;
      }
      small_rows_block(A + pc * csA, rsA, csA, M, kc, Bs, sls, ldb, C + j0, N, ns, nrLast, acc || pc > 0);
    }
  }
}

constexpr long kSmallRows = 16;    // nt
constexpr long kSmallRowsBN = 48;  // nn, tn, while B (≤ 1 MiB) stays in L2: it is read once per 8 rows of C

// B(k, j) = B[k·rsB + j·csB] for a matmul layout: 1 = nt (B stored [N,K]), else B stored [K,N].
inline void b_strides(int layout, long K, long N, long& rsB, long& csB) {
  if (layout == 1) {
    rsB = 1;
    csB = K;
  } else {
    rsB = N;
    csB = 1;
  }
}

// Packs unit u = (depth block pc, sliver j) of B into its place in a packed B whose depth blocks are
// `panel` floats apart (the layout gemm_dynamic, packB and matmulPacked share).
inline void pack_b_unit(long u, long nSl, long K, long N, const float* B, long rsB, long csB, float* Bp, long panel) {
  long pc = u / nSl, j = u % nSl;
  long kc = K - pc * KC < KC ? K - pc * KC : KC;
  long nc = N - j * NR < NR ? N - j * NR : NR;
  pack_b(kc, nc, B + pc * KC * rsB + j * NR * csB, rsB, csB, Bp + pc * panel + j * kc * NR);
}

// Rows of C per block claimed by one thread: about 4 blocks per thread, a multiple of MR, ≤ MC.
inline long row_block(long M, int nth) {
  long rows = (M + nth * 4 - 1) / (nth * 4);
  rows = (rows + MR - 1) / MR * MR;
  if (rows > MC) rows = MC;
  if (rows < MR) rows = MR;
  return rows;
}

// Claims blocks of `rows` rows of C from `next` until none is left; for each, packs its A block
// (into Ap, rows × KC) and multiplies it by the packed B (depth blocks `panel` floats apart).
inline void claim_row_blocks(long& next, long nChunks, long rows, long M, long N, long K, const float* A, long rsA,
                             long csA, const float* Bp, long panel, float* C, long ldc, bool acc, float* Ap) {
  for (;;) {
    long c = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
    if (c >= nChunks) break;
    long i0 = c * rows;
    long mc = M - i0 < rows ? M - i0 : rows;
    for (long pc = 0; pc * KC < K; pc++) {
      long kc = K - pc * KC < KC ? K - pc * KC : KC;
      pack_a(mc, kc, A + i0 * rsA + pc * KC * csA, rsA, csA, Ap);
      macro_kernel(mc, N, kc, Ap, Bp + pc * panel, C + i0 * ldc, ldc, acc || pc > 0);
    }
  }
}

// Multi-threaded GEMM with dynamic scheduling: the threads first pack all of B together (units
// claimed from an atomic counter), wait for each other once, then claim blocks of C rows one at a
// time, each packing its own A block. A thread that the OS descheduled (the machine may be shared)
// simply claims fewer blocks. Each C element is still summed in the same order as in the serial
// path, so results do not depend on the thread count.
void gemm_dynamic(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB,
                  float* C, long ldc, bool acc, int nth) {
  const long nSl = (N + NR - 1) / NR;
  const long nPc = (K + KC - 1) / KC;
  const long panel = nSl * NR * KC;  // floats per depth block of packed B
  float* Bp = thread_scratch(0, size_t(panel) * nPc);
  const long rows = row_block(M, nth);
  const long nChunks = (M + rows - 1) / rows;
  const long unitsB = nPc * nSl;
  long nextB = 0, doneB = 0, nextC = 0;
  auto body = [&](int, int) {
    for (;;) {
      long u = __atomic_fetch_add(&nextB, 1, __ATOMIC_RELAXED);
      if (u >= unitsB) break;
      pack_b_unit(u, nSl, K, N, B, rsB, csB, Bp, panel);
      __atomic_fetch_add(&doneB, 1, __ATOMIC_RELEASE);
    }
    for (int spins = 0; __atomic_load_n(&doneB, __ATOMIC_ACQUIRE) < unitsB; spins++) {
      if (spins > 2000) sched_yield();
    }
    claim_row_blocks(nextC, nChunks, rows, M, N, K, A, rsA, csA, Bp, panel, C, ldc, acc, thread_scratch(1, size_t(rows) * KC));
  };
  parallel(nth, body);
}

void matmul(int layout, float* C, const float* A, const float* B, long M, long N, long K, bool acc) {
  if (M == 0 || N == 0) return;
  long rsA, csA, rsB, csB;
  if (layout == 2) {  // tn: A[K,M]
    rsA = 1;
    csA = M;
  } else {
    rsA = K;
    csA = 1;
  }
  b_strides(layout, K, N, rsB, csB);
  int nth = pool_threads();
  double flops = 2.0 * double(M) * double(N) * double(K);
  if (K > 0 && (M <= kSmallRows || (layout != 1 && M <= kSmallRowsBN && K * N <= (1L << 18)))) {
    long units = (N + NR - 1) / NR;
    par_range(units, flops < double(1 << 21) ? units : 1, [&](long lo, long hi, long) {
      long n0 = lo * NR, n1 = hi * NR < N ? hi * NR : N;
      small_rows(A, rsA, csA, B, rsB, csB, M, N, K, C, acc, n0, n1);
    });
    return;
  }
  if (flops < double(1 << 21) || nth <= 1) {
    gemm_serial(M, N, K, A, rsA, csA, B, rsB, csB, C, N, acc);
    return;
  }
  if (double(K) * double(N) <= double(1 << 23)) {
    gemm_dynamic(M, N, K, A, rsA, csA, B, rsB, csB, C, N, acc, nth);
    return;
  }
  // Very wide B: split C into mt × nt blocks (mt·nt = threads used), as square as the shape allows.
  long mTiles = (M + MR - 1) / MR, nTiles = (N + NR - 1) / NR;
  int bestMt = 1, bestNt = 1;
  double bestCost = 1e300;
  for (int mt = 1; mt <= nth; mt++) {
    if (nth % mt) continue;
    int nt = nth / mt;
    if (mt > mTiles || nt > nTiles) continue;
    double bm = double((mTiles + mt - 1) / mt) * MR, bn = double((nTiles + nt - 1) / nt) * NR;
    // Cost: the slowest block's work plus the packing each block repeats.
    double cost = bm * bn * double(K) + (bm + bn) * double(K) * 4.0;
    if (cost < bestCost) {
      bestCost = cost;
      bestMt = mt;
      bestNt = nt;
    }
  }
  if (bestMt * bestNt <= 1) {
    gemm_serial(M, N, K, A, rsA, csA, B, rsB, csB, C, N, acc);
    return;
  }
  long nextBlock = 0;
  auto body = [&](int, int) {
    const int mt = bestMt, nt = bestNt;
    for (;;) {
      long blk = __atomic_fetch_add(&nextBlock, 1, __ATOMIC_RELAXED);
      if (blk >= mt * nt) break;
      long ti = blk / nt, tj = blk % nt;
      long m0 = (mTiles * ti / mt) * MR, m1 = (mTiles * (ti + 1) / mt) * MR;
      long n0 = (nTiles * tj / nt) * NR, n1 = (nTiles * (tj + 1) / nt) * NR;
      if (m1 > M) m1 = M;
      if (n1 > N) n1 = N;
      if (m1 <= m0 || n1 <= n0) continue;
      gemm_serial(m1 - m0, n1 - n0, K, A + m0 * rsA, rsA, csA, B + n0 * csB, rsB, csB, C + m0 * N + n0, N, acc);
    }
  };
  parallel(bestMt * bestNt, body);
}

// ================================================================================================
// GEMM with a B packed once (weights reused over many calls, as in decoding): the layout gemm_dynamic
// packs into every call. A header of kPackHdr floats (magic, NR, KC, K, N) lets matmulPacked refuse
// a B packed by another kernel set or blocking; then, for each KC block of depth, ceil(N/NR) slivers
// of kc×NR (k-major, columns past N zero). The products are those of matmul, float for float (same
// blocks, same chains), so row i of C equals matmul's bit for bit; only the per-call packing of B,
// and the barrier after it, are gone.

constexpr long kPackHdr = 16;
constexpr float kPackMagic = 4242.0f;
constexpr float kPackMagicBf16 = kPackedBf16Magic;  // a B packed by the bf16 GEMM (gemm_bf16.h)

// The bf16 GEMM this kernel set's matmulPacked (and so the fused decode) hands bf16-packed weights to:
// its own emulated one, or the native AVX512_BF16 one where the CPU has it (set by addon.cc).
const Bf16Ops* bf16_current();

// header, up to 15 floats of padding (the data starts on a 64-byte line; header[5] holds its offset), data
long packed_b_floats(long K, long N) { return kPackHdr + 16 + ((N + NR - 1) / NR) * NR * K; }

void packB(int layout, float* Bp, const float* B, long K, long N) {
  long rsB, csB;
  b_strides(layout, K, N, rsB, csB);
  std::memset(Bp, 0, sizeof(float) * kPackHdr);
  Bp[0] = kPackMagic;
  Bp[1] = float(NR);
  Bp[2] = float(KC);
  Bp[3] = float(K);
  Bp[4] = float(N);
  const long off = kPackHdr + long((64 - (reinterpret_cast<uintptr_t>(Bp + kPackHdr) & 63)) & 63) / 4;
  Bp[5] = float(off);
  float* d = Bp + off;
  const long nSl = (N + NR - 1) / NR;
  const long nPc = (K + KC - 1) / KC;
  par_range(nPc * nSl, 8, [&](long lo, long hi, long) {
    for (long u = lo; u < hi; u++) pack_b_unit(u, nSl, K, N, B, rsB, csB, d, KC * nSl * NR);
  });
}

// 0 when Bp was packed by this kernel set with the current blocking for (K, N); else what differs.
const char* packed_b_mismatch(const float* Bp, long K, long N) {
  if (Bp[0] != kPackMagic && Bp[0] != kPackMagicBf16) return "it was not made by packB";
  if (Bp[1] != float(NR) || Bp[2] != float(Bp[0] == kPackMagic ? KC : GEMM_BF_KC)) return "it was packed by another kernel set or GEMM blocking (pack it again)";
  if (Bp[3] != float(K) || Bp[4] != float(N)) return "it was packed for other K, N";
  if (!(Bp[5] >= float(kPackHdr) && Bp[5] < float(kPackHdr + 16) && Bp[5] == float(long(Bp[5])))) return "its header is damaged";
  return nullptr;
}

void matmulPacked(float* C, const float* A, const float* Bp, long M, long N, long K, bool acc) {
  if (Bp[0] == kPackMagicBf16) {
    bf16_current()->matmulPacked(C, A, Bp, M, N, K, acc);
    return;
  }
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!acc) std::memset(C, 0, sizeof(float) * M * N);
    return;
  }
  const float* Bd = Bp + long(Bp[5]);
  const long nSl = (N + NR - 1) / NR;
  const long blockStride = KC * nSl * NR;  // floats between depth blocks
  const int nth = pool_threads();
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (M <= kSmallRowsBN) {
    // few rows: A in place, threads split the columns in groups of 4 slivers
    constexpr long SG = 4;
    const long groups = (nSl + SG - 1) / SG;
    par_range(groups, flops < double(1 << 21) ? groups : 1, [&](long lo, long hi, long) {
      for (long g = lo; g < hi; g++) {
        long j0 = g * SG * NR;
        long cols = N - j0 < SG * NR ? N - j0 : SG * NR;
        long ns = (cols + NR - 1) / NR;
        int nrLast = int(cols - (ns - 1) * NR);
        for (long pc = 0; pc < K; pc += KC) {
          long kc = K - pc < KC ? K - pc : KC;
          const float* Bs = Bd + (pc / KC) * blockStride + (j0 / NR) * kc * NR;
          small_rows_block(A + pc, K, 1, M, kc, Bs, kc * NR, NR, C + j0, N, ns, nrLast, acc || pc > 0);
        }
      }
    });
    return;
  }
  // many rows: threads claim blocks of rows (each packs its own A block); no barrier
  const long rows = row_block(M, nth);
  const long nChunks = (M + rows - 1) / rows;
  long next = 0;
  auto body = [&](int, int) {
    claim_row_blocks(next, nChunks, rows, M, N, K, A, K, 1, Bd, blockStride, C, N, acc, thread_scratch(1, size_t(rows) * KC));
  };
  if (flops < double(1 << 21) || nth <= 1 || nChunks <= 1) body(0, 1);
  else parallel(nChunks < nth ? int(nChunks) : nth, body);
}

// ================================================================================================
// bf16 GEMM (bf16 operands, fp32 sums)

#include "gemm_bf16.h"

const Bf16Ops* bf16_active = nullptr;
const Bf16Ops* bf16_current() { return bf16_active ? bf16_active : bf16_ops_here(); }

// ================================================================================================
// embedding

void embeddingForward(float* out, const float* wte, const int32_t* tokens, long N, long C) {
  par_range(N, 256, [&](long lo, long hi, long) {
    for (long n = lo; n < hi; n++) std::memcpy(out + n * C, wte + long(tokens[n]) * C, sizeof(float) * C);
  });
}

void embeddingBackward(float* dwte, const float* dout, const int32_t* tokens, long N, long C) {
  // Threads split the channels, so rows with the same token never race.
  long grain = N * C < (1 << 16) ? C : 64;
  par_range(C, grain, [&](long lo, long hi, long) {
    for (long n = 0; n < N; n++) {
      float* d = dwte + long(tokens[n]) * C;
      const float* s = dout + n * C;
      for (long c = lo; c < hi; c++) d[c] += s[c];
    }
  });
}

// ================================================================================================
// RMSNorm

void rmsnormForward(float* out, float* rstd, const float* inp, const float* weight, long N, long C, float eps) {
  long grain = C >= 1024 ? 8 : 64;
  par_range(N, grain, [&](long lo, long hi, long) {
    for (long n = lo; n < hi; n++) {
      const float* x = inp + n * C;
      float* o = out + n * C;
      float r = 1.0f / std::sqrt(dot(x, x, C) / float(C) + eps);
      rstd[n] = r;
      for (long c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
    }
  });
}

void rmsnormBackward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                     const float* rstd, long N, long C) {
  if (N == 0 || C == 0) return;
  long grain = C >= 1024 ? 8 : 64;
  // dweight: one partial row per chunk (not per thread: a thread may take several chunks), summed
  // in chunk order afterwards.
  long chunks = n_chunks(N, grain);
  float* parts = thread_scratch(3, size_t(chunks) * C);
  par_range(N, grain, [&](long lo, long hi, long chunk) {
    float* dw = parts + chunk * C;
    std::memset(dw, 0, sizeof(float) * C);
    for (long n = lo; n < hi; n++) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      float* dx = dinp + n * C;
      float r = rstd[n];
      float d = 0;
      {
        vf s{};
        long c = 0;
        for (; c + VW <= C; c += VW) s += load(dy + c) * load(weight + c) * load(x + c);
        d = hsum(s);
        for (; c < C; c++) d += dy[c] * weight[c] * x[c];
      }
      float k = d * r * r * r / float(C);
      for (long c = 0; c < C; c++) {
        dw[c] += dy[c] * x[c] * r;
        dx[c] += dy[c] * weight[c] * r - x[c] * k;
      }
    }
  });
  for (long t = 0; t < chunks; t++)
    for (long c = 0; c < C; c++) dweight[c] += parts[t * C + c];
}

// ================================================================================================
// RoPE (rotate_half); sign −1 applies the inverse rotation (backward).

void rope(float* x, const float* cosT, const float* sinT, const int32_t* positions, long N, long nHeads, long D,
          float sign) {
  long half = D / 2;
  par_range(N, 64, [&](long lo, long hi, long) {
    for (long n = lo; n < hi; n++) {
      const float* cs = cosT + long(positions[n]) * half;
      const float* sn = sinT + long(positions[n]) * half;
      for (long h = 0; h < nHeads; h++) {
        float* x1 = x + (n * nHeads + h) * D;
        float* x2 = x1 + half;
        for (long i = 0; i < half; i++) {
          float c = cs[i], s = sign * sn[i];
          float a = x1[i], b = x2[i];
          x1[i] = a * c - b * s;
          x2[i] = b * c + a * s;
        }
      }
    }
  });
}

// ================================================================================================
// causal attention with grouped-query heads, in blocks of BQ query rows. For one block the scores
// against its keys (BQ × T, never T × T) come from a register-blocked Q·Kᵀ over a packed Kᵀ, the
// softmax is done in place, and P·V is another register-blocked product. Forward runs in parallel
// over (b, h); backward over (b, kv head), so the query heads that share a kv head accumulate its
// dk/dv in one thread's buffer (no races, fixed order); P is recomputed from the saved lse.

constexpr int BQ = ATT_BQ;

inline long round_up(long x, long m) { return (x + m - 1) / m * m; }

// S[i][s] = Σ_{d<D} X[i][d]·YT[d][s] for i < BQ, s < ns (ns a multiple of VW).
void att_xyt(float* S, long lds, const float* X, long ldx, const float* YT, long ldy, long D, long ns) {
  long s0 = 0;
  for (; s0 + 2 * VW <= ns; s0 += 2 * VW) {
    vf acc[BQ][2];
    for (int i = 0; i < BQ; i++) acc[i][0] = acc[i][1] = vf{};
    for (long d = 0; d < D; d++) {
      vf b0 = load(YT + d * ldy + s0), b1 = load(YT + d * ldy + s0 + VW);
#pragma GCC unroll 16
      for (int i = 0; i < BQ; i++) {
        vf a = splat(X[i * ldx + d]);
        acc[i][0] += a * b0;
        acc[i][1] += a * b1;
      }
    }
    for (int i = 0; i < BQ; i++) {
      store(S + i * lds + s0, acc[i][0]);
      store(S + i * lds + s0 + VW, acc[i][1]);
    }
  }
  if (s0 < ns) {
    vf acc[BQ];
    for (int i = 0; i < BQ; i++) acc[i] = vf{};
    for (long d = 0; d < D; d++) {
      vf b0 = load(YT + d * ldy + s0);
#pragma GCC unroll 16
      for (int i = 0; i < BQ; i++) acc[i] += splat(X[i * ldx + d]) * b0;
    }
    for (int i = 0; i < BQ; i++) store(S + i * lds + s0, acc[i]);
  }
}

// O[i][:Dp] = Σ_{s<ns} P[i][s]·Y[s][:Dp] for i < BQ (Dp a multiple of VW).
void att_py(float* O, long ldo, const float* P, long ldp, const float* Y, long ldy, long ns, long Dp) {
  long d0 = 0;
  for (; d0 + 2 * VW <= Dp; d0 += 2 * VW) {
    vf acc[BQ][2];
    for (int i = 0; i < BQ; i++) acc[i][0] = acc[i][1] = vf{};
    for (long s = 0; s < ns; s++) {
      vf b0 = load(Y + s * ldy + d0), b1 = load(Y + s * ldy + d0 + VW);
#pragma GCC unroll 16
      for (int i = 0; i < BQ; i++) {
        vf a = splat(P[i * ldp + s]);
        acc[i][0] += a * b0;
        acc[i][1] += a * b1;
      }
    }
    for (int i = 0; i < BQ; i++) {
      store(O + i * ldo + d0, acc[i][0]);
      store(O + i * ldo + d0 + VW, acc[i][1]);
    }
  }
  if (d0 < Dp) {
    vf acc[BQ];
    for (int i = 0; i < BQ; i++) acc[i] = vf{};
    for (long s = 0; s < ns; s++) {
      vf b0 = load(Y + s * ldy + d0);
#pragma GCC unroll 16
      for (int i = 0; i < BQ; i++) acc[i] += splat(P[i * ldp + s]) * b0;
    }
    for (int i = 0; i < BQ; i++) store(O + i * ldo + d0, acc[i]);
  }
}

// Acc[s][:Dp] += Σ_{i<BQ} W[i][s]·X[i][:Dp] for s < ns.
void att_wtx(float* Acc, long lda, const float* W, long ldw, const float* X, long ldx, long ns, long Dp) {
  for (long d0 = 0; d0 < Dp; d0 += VW) {
    vf x[BQ];
    for (int i = 0; i < BQ; i++) x[i] = load(X + i * ldx + d0);
    for (long s = 0; s < ns; s++) {
      vf acc = load(Acc + s * lda + d0);
#pragma GCC unroll 16
      for (int i = 0; i < BQ; i++) acc += splat(W[i * ldw + s]) * x[i];
      store(Acc + s * lda + d0, acc);
    }
  }
}

// YT[d][s] = Y[s][d] (rows of Y strided by ldy), zero for s in [T, Tp).
void att_pack_t(float* YT, long Tp, const float* Y, long ldy, long T, long D) {
  for (long d = 0; d < D; d++) std::memset(YT + d * Tp + T, 0, sizeof(float) * (Tp - T));
  long s0 = 0;
#if defined(__AVX512F__)
  // 16×16 blocks through registers; the tails below take the rest.
  long D16 = D / 16 * 16;
  for (; s0 + 16 <= T; s0 += 16) {
    for (long d0 = 0; d0 < D16; d0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(Y + (s0 + i) * ldy + d0);
      transpose16(r);
      for (int i = 0; i < 16; i++) _mm512_storeu_ps(YT + (d0 + i) * Tp + s0, r[i]);
    }
    for (long d = D16; d < D; d++)
      for (long s = s0; s < s0 + 16; s++) YT[d * Tp + s] = Y[s * ldy + d];
  }
#endif
  for (long d = 0; d < D; d++)
    for (long s = s0; s < T; s++) YT[d * Tp + s] = Y[s * ldy + d];
}

// Yp[s][:] = Y[s][:D] zero-padded to Dp columns, rows in [T, Tp) zero.
void att_pack_rows(float* Yp, long Dp, const float* Y, long ldy, long T, long Tp, long D, float mul) {
  for (long s = 0; s < Tp; s++) {
    if (s + 8 < T)
      for (long c = 0; c < D; c += 16) __builtin_prefetch(Y + (s + 8) * ldy + c);
    float* d = Yp + s * Dp;
    long c = 0;
    if (s < T)
      for (; c < D; c++) d[c] = Y[s * ldy + c] * mul;
    for (; c < Dp; c++) d[c] = 0;
  }
}

struct AttScratch {
  float *KT, *VT, *KP, *VP, *dKa, *dVa, *S, *dP, *Qb, *Qr, *dOb, *Ob;
};

AttScratch att_scratch(long T, long D) {
  long Tp = round_up(T, VW), Dp = round_up(D, VW);
  long sizes[12] = {D * Tp, D * Tp, Tp * Dp, Tp * Dp, Tp * Dp, Tp * Dp, BQ * Tp, BQ * Tp, BQ * Dp, BQ * Dp, BQ * Dp, BQ * Dp};
  long total = 0;
  for (long z : sizes) total += round_up(z, 16);
  float* base = thread_scratch(2, size_t(total));
  float* p[12];
  for (int i = 0; i < 12; i++) {
    p[i] = base;
    base += round_up(sizes[i], 16);
  }
  return {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
}

void attentionForward(float* out, float* lse, const float* q, const float* k, const float* v, long B, long T,
                      long H, long KV, long D) {
  const float scale = 1.0f / std::sqrt(float(D));
  const long group = H / KV;
  const long qs = H * D, ks = KV * D;
  const long Tp = round_up(T, VW), Dp = round_up(D, VW);
  long grain = T * T * D < (1 << 14) ? 8 : 1;
  par_range(B * H, grain, [&](long lo, long hi, long) {
    AttScratch w = att_scratch(T, D);
    for (long bh = lo; bh < hi; bh++) {
      long b = bh / H, h = bh % H, kh = h / group;
      att_pack_t(w.KT, Tp, k + b * T * ks + kh * D, ks, T, D);
      att_pack_rows(w.VP, Dp, v + b * T * ks + kh * D, ks, T, Tp, D, 1.0f);
      for (long i0 = 0; i0 < T; i0 += BQ) {
        long bq = T - i0 < BQ ? T - i0 : BQ;
        for (long i = i0 + BQ; i < i0 + 2 * BQ && i < T; i++)  // the next block's rows
          for (long d = 0; d < D; d += 16) __builtin_prefetch(q + (b * T + i) * qs + h * D + d);
        att_pack_rows(w.Qb, Dp, q + (b * T + i0) * qs + h * D, qs, bq, BQ, D, scale);
        long ns = round_up(i0 + bq, VW);
        att_xyt(w.S, Tp, w.Qb, Dp, w.KT, Tp, D, ns);
        float inv[BQ];
        for (long i = 0; i < BQ; i++) {
          float* row = w.S + i * Tp;
          if (i >= bq) {
            std::memset(row, 0, sizeof(float) * ns);
            inv[i] = 0;
            continue;
          }
          long t = i0 + i;
          float mx = -INFINITY;
          for (long s = 0; s <= t; s++) mx = row[s] > mx ? row[s] : mx;
          float sum = exp_shift_sum(row, t + 1, mx);
          for (long s = t + 1; s < ns; s++) row[s] = 0;
          lse[(b * H + h) * T + t] = mx + std::log(sum);
          inv[i] = 1.0f / sum;
        }
        att_py(w.Ob, Dp, w.S, Tp, w.VP, Dp, ns, Dp);
        for (long i = 0; i < bq; i++) {
          float* o = out + (b * T + i0 + i) * qs + h * D;
          const float* src = w.Ob + i * Dp;
          for (long d = 0; d < D; d++) o[d] = src[d] * inv[i];
        }
      }
    }
  });
}

void attentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                       const float* v, const float* out, const float* lse, long B, long T, long H, long KV, long D) {
  const float scale = 1.0f / std::sqrt(float(D));
  const long group = H / KV;
  const long qs = H * D, ks = KV * D;
  const long Tp = round_up(T, VW), Dp = round_up(D, VW);
  long grain = T * T * D * group < (1 << 14) ? 8 : 1;
  // delta[n, h] = dO·O of row n, head h, in one streaming pass over dout and out (inside the
  // (b, kv head) loop these rows, H·D floats apart, were first touched one by one and stalled it).
  float* deltas = thread_scratch(3, size_t(B * T * H));
  par_range(B * T, 64, [&](long lo, long hi, long) {
    for (long n = lo; n < hi; n++)
      for (long h = 0; h < H; h++) deltas[n * H + h] = dot(dout + n * qs + h * D, out + n * qs + h * D, D);
  });
  par_range(B * KV, grain, [&](long lo, long hi, long) {
    AttScratch w = att_scratch(T, D);
    for (long bk = lo; bk < hi; bk++) {
      long b = bk / KV, kh = bk % KV;
      const float* kb = k + b * T * ks + kh * D;
      const float* vb = v + b * T * ks + kh * D;
      att_pack_t(w.KT, Tp, kb, ks, T, D);
      att_pack_t(w.VT, Tp, vb, ks, T, D);
      att_pack_rows(w.KP, Dp, kb, ks, T, Tp, D, 1.0f);
      std::memset(w.dKa, 0, sizeof(float) * Tp * Dp);
      std::memset(w.dVa, 0, sizeof(float) * Tp * Dp);
      for (long h = kh * group; h < (kh + 1) * group; h++) {
        // this head's q and dO rows (H·D floats apart) requested all at once, so that their misses
        // overlap instead of each block waiting for its own
        for (long i = 0; i < T; i++)
          for (long d = 0; d < D; d += 16) {
            __builtin_prefetch(q + (b * T + i) * qs + h * D + d);
            __builtin_prefetch(dout + (b * T + i) * qs + h * D + d);
          }
        for (long i0 = 0; i0 < T; i0 += BQ) {
          long bq = T - i0 < BQ ? T - i0 : BQ;
          const long row0 = (b * T + i0) * qs + h * D;
          for (long i = BQ; i < 2 * BQ && i0 + i < T; i++)  // the next block's rows
            for (long d = 0; d < D; d += 16) {
              __builtin_prefetch(q + row0 + i * qs + d);
              __builtin_prefetch(dout + row0 + i * qs + d);
            }
          att_pack_rows(w.Qb, Dp, q + row0, qs, bq, BQ, D, scale);
          att_pack_rows(w.Qr, Dp, q + row0, qs, bq, BQ, D, 1.0f);
          att_pack_rows(w.dOb, Dp, dout + row0, qs, bq, BQ, D, 1.0f);
          long ns = round_up(i0 + bq, VW);
          att_xyt(w.S, Tp, w.Qb, Dp, w.KT, Tp, D, ns);
          att_xyt(w.dP, Tp, w.dOb, Dp, w.VT, Tp, D, ns);
          for (long i = 0; i < BQ; i++) {
            float* P = w.S + i * Tp;
            float* dS = w.dP + i * Tp;
            if (i >= bq) {
              std::memset(P, 0, sizeof(float) * ns);
              std::memset(dS, 0, sizeof(float) * ns);
              continue;
            }
            long t = i0 + i;
            float delta = deltas[(b * T + t) * H + h];
            exp_shift_sum(P, t + 1, lse[(b * H + h) * T + t]);
            long s = 0;
            vf vdelta = splat(delta), vscale = splat(scale);
            for (; s + VW <= t + 1; s += VW) store(dS + s, load(P + s) * (load(dS + s) - vdelta) * vscale);
            for (; s <= t; s++) dS[s] = P[s] * (dS[s] - delta) * scale;
            for (s = t + 1; s < ns; s++) P[s] = dS[s] = 0;
          }
          att_py(w.Ob, Dp, w.dP, Tp, w.KP, Dp, ns, Dp);  // dQ block
          for (long i = 0; i < bq; i++) {
            float* o = dq + row0 + i * qs;
            const float* src = w.Ob + i * Dp;
            for (long d = 0; d < D; d++) o[d] = src[d];
          }
          att_wtx(w.dKa, Dp, w.dP, Tp, w.Qr, Dp, ns, Dp);
          att_wtx(w.dVa, Dp, w.S, Tp, w.dOb, Dp, ns, Dp);
        }
      }
      for (long s = 0; s < T; s++) {
        std::memcpy(dk + (b * T + s) * ks + kh * D, w.dKa + s * Dp, sizeof(float) * D);
        std::memcpy(dv + (b * T + s) * ks + kh * D, w.dVa + s * Dp, sizeof(float) * D);
      }
    }
  });
}

// Attention of R new query rows against a head-major KV cache [S, KV, cap, D] (decoding). Work
// units are (row, kv head): the query heads sharing a kv head read its keys and values together.
// A unit's arithmetic depends only on its own row, so the result is the same whatever R, the other
// rows or the thread count.
//
// At batch 256 a decode step reads tens of MB of cache per layer, so the kernel is bound by memory
// as much as by arithmetic: while the scores of a unit are computed, its values and the next unit's
// keys are prefetched (the hardware prefetchers stop at page boundaries and a unit's rows start on
// a fresh page); the value pass keeps the output in registers (no store/load chain per position).

constexpr long kAttPf = 8;  // positions ahead for software prefetch

inline void prefetch_rows(const float* p, long bytes) {
  const char* c = reinterpret_cast<const char*>(p);
  for (long o = 0; o < bytes; o += 64) __builtin_prefetch(c + o);
}

// sc[t] = scale · Q·K[t] for t < len, D a multiple of VW.
inline void att_scores_vec(float* sc, const float* Q, const float* K0, const float* V0, long len, long D, float scale) {
  const long nv = D / VW;
  const long rowBytes = D * 4;
  long t = 0;
  for (; t + 4 <= len; t += 4) {
    const float* k0 = K0 + t * D;
    if (t + kAttPf + 4 <= len) prefetch_rows(k0 + kAttPf * D, 4 * rowBytes);
    prefetch_rows(V0 + t * D, 4 * rowBytes);
    vf a0{}, a1{}, a2{}, a3{};
    for (long v = 0; v < nv; v++) {
      vf qv = load(Q + v * VW);
      a0 += qv * load(k0 + v * VW);
      a1 += qv * load(k0 + D + v * VW);
      a2 += qv * load(k0 + 2 * D + v * VW);
      a3 += qv * load(k0 + 3 * D + v * VW);
    }
    sc[t] = hsum(a0) * scale;
    sc[t + 1] = hsum(a1) * scale;
    sc[t + 2] = hsum(a2) * scale;
    sc[t + 3] = hsum(a3) * scale;
  }
  for (; t < len; t++) {
    const float* k0 = K0 + t * D;
    prefetch_rows(V0 + t * D, rowBytes);
    vf a0{};
    for (long v = 0; v < nv; v++) a0 += load(Q + v * VW) * load(k0 + v * VW);
    sc[t] = hsum(a0) * scale;
  }
}

// O[0, D) = Σ_t p[t]·V[t], D a multiple of VW; four vectors of O at a time in registers, even and
// odd positions in separate accumulators (two FMA chains per vector), added at the end.
inline void att_pv_vec(float* O, const float* p, const float* V0, long len, long D) {
  for (long c0 = 0; c0 < D; c0 += 4 * VW) {
    const long nv = (D - c0) / VW < 4 ? (D - c0) / VW : 4;
    const float* vb = V0 + c0;
    if (nv == 4) {
      vf e0{}, e1{}, e2{}, e3{}, o0{}, o1{}, o2{}, o3{};
      long t = 0;
      for (; t + 2 <= len; t += 2) {
        vf pe = splat(p[t]), po = splat(p[t + 1]);
        const float* v0 = vb + t * D;
        const float* v1 = v0 + D;
        e0 += pe * load(v0);
        e1 += pe * load(v0 + VW);
        e2 += pe * load(v0 + 2 * VW);
        e3 += pe * load(v0 + 3 * VW);
        o0 += po * load(v1);
        o1 += po * load(v1 + VW);
        o2 += po * load(v1 + 2 * VW);
        o3 += po * load(v1 + 3 * VW);
      }
      if (t < len) {
        vf pe = splat(p[t]);
        const float* v0 = vb + t * D;
        e0 += pe * load(v0);
        e1 += pe * load(v0 + VW);
        e2 += pe * load(v0 + 2 * VW);
        e3 += pe * load(v0 + 3 * VW);
      }
      store(O + c0, e0 + o0);
      store(O + c0 + VW, e1 + o1);
      store(O + c0 + 2 * VW, e2 + o2);
      store(O + c0 + 3 * VW, e3 + o3);
    } else {
      for (long v = 0; v < nv; v++) {
        vf e{}, o{};
        long t = 0;
        for (; t + 2 <= len; t += 2) {
          e += splat(p[t]) * load(vb + t * D + v * VW);
          o += splat(p[t + 1]) * load(vb + (t + 1) * D + v * VW);
        }
        if (t < len) e += splat(p[t]) * load(vb + t * D + v * VW);
        store(O + c0 + v * VW, e + o);
      }
    }
  }
}

void attentionKvForward(float* out, const float* q, const float* kCache, const float* vCache, const int32_t* slots,
                        const int32_t* lengths, long R, long H, long KV, long D, long cap) {
  const float scale = 1.0f / std::sqrt(float(D));
  const long group = H / KV;
  double work = 0;
  for (long r = 0; r < R; r++) work += double(lengths[r]);
  work *= 4.0 * double(H) * double(D);
  const long units = R * KV;
  const bool vec = D % VW == 0;
  par_range(units, work < double(1 << 17) ? units : 1, [&](long lo, long hi, long) {
    float* sc = thread_scratch(2, size_t(group) * size_t(cap > 0 ? cap : 1));
    for (long u = lo; u < hi; u++) {
      const long r = u / KV, kh = u % KV, len = lengths[r];
      const float* K0 = kCache + (long(slots[r]) * KV + kh) * cap * D;
      const float* V0 = vCache + (long(slots[r]) * KV + kh) * cap * D;
      const float* Q = q + r * H * D + kh * group * D;
      float* O = out + r * H * D + kh * group * D;
      if (len == 0) {
        std::memset(O, 0, sizeof(float) * group * D);
        continue;
      }
      if (u + 1 < hi) {
        // the next unit's first keys (its values are fetched during its own score pass)
        const long r1 = (u + 1) / KV, kh1 = (u + 1) % KV;
        const long l1 = lengths[r1] < kAttPf ? lengths[r1] : kAttPf;
        prefetch_rows(kCache + (long(slots[r1]) * KV + kh1) * cap * D, l1 * D * 4);
      }
      if (vec) {
        for (long g = 0; g < group; g++) att_scores_vec(sc + g * cap, Q + g * D, K0, V0, len, D, scale);
      } else {
        std::memset(O, 0, sizeof(float) * group * D);
        for (long t = 0; t < len; t++) {
          const float* kt = K0 + t * D;
          for (long g = 0; g < group; g++) sc[g * cap + t] = dot(Q + g * D, kt, D) * scale;
        }
      }
      for (long g = 0; g < group; g++) {
        float* p = sc + g * cap;
        float mx = -INFINITY;
        for (long t = 0; t < len; t++) mx = p[t] > mx ? p[t] : mx;
        float inv = 1.0f / exp_shift_sum(p, len, mx);
        for (long t = 0; t < len; t++) p[t] *= inv;
      }
      if (vec) {
        for (long g = 0; g < group; g++) att_pv_vec(O + g * D, sc + g * cap, V0, len, D);
      } else {
        for (long t = 0; t < len; t++) {
          const float* vt = V0 + t * D;
          for (long g = 0; g < group; g++) axpy(O + g * D, sc[g * cap + t], vt, D);
        }
      }
    }
  });
}

// ================================================================================================
// SwiGLU

void swigluForward(float* out, const float* gate, const float* up, long n) {
  par_range(n, 1 << 15, [&](long lo, long hi, long) {
    long i = lo;
    for (; i + VW <= hi; i += VW) {
      vf g = load(gate + i);
      store(out + i, g / (1.0f + vexp(-g)) * load(up + i));
    }
    for (; i < hi; i++) out[i] = gate[i] / (1.0f + sexp(-gate[i])) * up[i];
  });
}

void swigluBackward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, long n) {
  par_range(n, 1 << 15, [&](long lo, long hi, long) {
    long i = lo;
    for (; i + VW <= hi; i += VW) {
      vf g = load(gate + i), d = load(dout + i), u = load(up + i);
      vf sg = 1.0f / (1.0f + vexp(-g));
      store(dup + i, d * g * sg);
      store(dgate + i, d * u * sg * (1.0f + g * (1.0f - sg)));
    }
    for (; i < hi; i++) {
      float g = gate[i], sg = 1.0f / (1.0f + sexp(-g)), d = dout[i];
      dup[i] = d * g * sg;
      dgate[i] = d * up[i] * sg * (1.0f + g * (1.0f - sg));
    }
  });
}

// ================================================================================================
// elementwise

void add(float* out, const float* a, const float* b, long n) {
  par_range(n, 1 << 16, [&](long lo, long hi, long) {
    for (long i = lo; i < hi; i++) out[i] = a[i] + b[i];
  });
}

void scale(float* x, float s, long n) {
  par_range(n, 1 << 16, [&](long lo, long hi, long) {
    for (long i = lo; i < hi; i++) x[i] *= s;
  });
}

double sumSquares(const float* x, long n) {
  double partial[kMaxChunks] = {};
  par_range(n, 1 << 16, [&](long lo, long hi, long chunk) {
    vd s0{}, s1{};
    constexpr int H = VW / 2;
    long i = lo;
    for (; i + VW <= hi; i += VW) {
      vd a = __builtin_convertvector(*reinterpret_cast<const vfh*>(x + i), vd);
      vd b = __builtin_convertvector(*reinterpret_cast<const vfh*>(x + i + H), vd);
      s0 += a * a;
      s1 += b * b;
    }
    double s = 0;
    vd t = s0 + s1;
    for (int j = 0; j < H; j++) s += t[j];
    for (; i < hi; i++) s += double(x[i]) * double(x[i]);
    partial[chunk] = s;
  });
  double s = 0;
  for (int t = 0; t < kMaxChunks; t++) s += partial[t];
  return s;
}

// ================================================================================================
// cross-entropy fused with its gradient (dlogits may alias logits, or be null)

double crossEntropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, const float* weights,
                    long N, long V) {
  double partial[kMaxChunks] = {};
  long grain = V >= 4096 ? 1 : 64;
  par_range(N, grain, [&](long lo, long hi, long chunk) {
    float* e = thread_scratch(2, V);
    double tot = 0;
    for (long n = lo; n < hi; n++) {
      const float* x = logits + n * V;
      float w = weights[n];
      if (w == 0) {
        losses[n] = 0;
        if (dlogits) std::memset(dlogits + n * V, 0, sizeof(float) * V);
        continue;
      }
      vf m = splat(-INFINITY);
      long i = 0;
      for (; i + VW <= V; i += VW) {
        vf a = load(x + i);
        m = a > m ? a : m;
      }
      float mx = hmax(m);
      for (; i < V; i++) mx = x[i] > mx ? x[i] : mx;
      std::memcpy(e, x, sizeof(float) * V);
      double sum = exp_shift_sum(e, V, mx);
      double l = double(mx) + std::log(sum);
      long t = targets[n];
      double loss = l - double(x[t]);
      losses[n] = float(loss);
      tot += double(w) * loss;
      if (dlogits) {
        float* d = dlogits + n * V;
        float sc = float(double(w) / sum);
        vf vsc = splat(sc);
        long j = 0;
        for (; j + VW <= V; j += VW) store(d + j, load(e + j) * vsc);
        for (; j < V; j++) d[j] = e[j] * sc;
        d[t] -= w;
      }
    }
    partial[chunk] = tot;
  });
  double s = 0;
  for (int t = 0; t < kMaxChunks; t++) s += partial[t];
  return s;
}

// ================================================================================================
// AdamW (PyTorch semantics; the scalar factors are computed in float64 as in the TS oracle)

void adamw(float* params, const float* grads, float* m, float* v, long n, double lr, double beta1, double beta2,
           double eps, double weightDecay, double step) {
  const float bc2 = float(std::sqrt(1.0 - std::pow(beta2, step)));
  const float stepSize = float(lr / (1.0 - std::pow(beta1, step)));
  const float decay = float(1.0 - lr * weightDecay);
  const float b1 = float(beta1), b2 = float(beta2), c1 = float(1.0 - beta1), c2 = float(1.0 - beta2);
  const float ep = float(eps), inv_bc2 = 1.0f / bc2;
  par_range(n, 1 << 15, [&](long lo, long hi, long) {
    for (long i = lo; i < hi; i++) {
      float g = grads[i];
      float mi = b1 * m[i] + c1 * g;
      float vi_ = b2 * v[i] + c2 * g * g;
      m[i] = mi;
      v[i] = vi_;
      params[i] = params[i] * decay - stepSize * mi / (std::sqrt(vi_) * inv_bc2 + ep);
    }
  });
}

}  // namespace

#if BSTAR_BF16_ONLY
// This build (kernels_avx512bf16.cc) exists only for its native bf16 GEMM.
const Bf16Ops* bf16_ops() { return bf16_ops_here(); }
#else

// ================================================================================================
// decodeLayers: every decoder layer for R rows whose rows of any one slot are contiguous (a decode
// step: one row per slot; a prefill: each prompt's rows together). Rows of different slots never
// meet inside a layer, so threads take blocks of whole slots and run them through all layers alone:
// one parallel region per call instead of ~15 per layer.
// On a shared machine that matters most: a thread the OS preempts inside a short region stalls the
// whole region, while here the other thread keeps taking blocks. Each block calls the kernels above
// (their own parallel calls run inline on the calling thread), whose rows do not depend on how many
// rows a call has, so the result is bit-identical to the layer-by-layer sequence of kernel calls.

void add_bias_rows(float* out, const float* b, long n, long N) {
  for (long r = 0; r < n; r++)
    for (long j = 0; j < N; j++) out[r * N + j] += b[j];
}

void decode_block(const DecodeArgs& a, long r0, long r1) {
  const long n = r1 - r0, C = a.C, HD = a.H * a.D, KD = a.KV * a.D, F = a.F, D = a.D;
  float* x = a.x + r0 * C;
  float* xb = a.xb + r0 * C;
  float* q = a.q + r0 * HD;
  float* k = a.k + r0 * KD;
  float* v = a.v + r0 * KD;
  float* att = a.att + r0 * HD;
  float* gate = a.gate + r0 * F;
  float* up = a.up + r0 * F;
  float* hid = a.hid + r0 * F;
  float* rstd = thread_scratch(3, size_t(n));
  for (long l = 0; l < a.L; l++) {
    const DecodeLayer& w = a.layers[l];
    rmsnormForward(xb, rstd, x, w.ln1, n, C, a.eps);
    matmulPacked(q, xb, w.wq, n, HD, C, false);
    matmulPacked(k, xb, w.wk, n, KD, C, false);
    matmulPacked(v, xb, w.wv, n, KD, C, false);
    if (w.bq) add_bias_rows(q, w.bq, n, HD);
    if (w.bk) add_bias_rows(k, w.bk, n, KD);
    if (w.bv) add_bias_rows(v, w.bv, n, KD);
    rope(q, a.cos, a.sin, a.positions + r0, n, a.H, D, 1.0f);
    rope(k, a.cos, a.sin, a.positions + r0, n, a.KV, D, 1.0f);
    for (long r = 0; r < n; r++) {
      const long slot = a.slots[r0 + r], pos = a.positions[r0 + r];
      for (long h = 0; h < a.KV; h++) {
        const long o = ((slot * a.KV + h) * a.cap + pos) * D;
        std::memcpy(w.kc + o, k + r * KD + h * D, sizeof(float) * D);
        std::memcpy(w.vc + o, v + r * KD + h * D, sizeof(float) * D);
      }
    }
    attentionKvForward(att, q, w.kc, w.vc, a.slots + r0, a.lengths + r0, n, a.H, a.KV, D, a.cap);
    matmulPacked(xb, att, w.wo, n, C, HD, false);
    if (w.bo) add_bias_rows(xb, w.bo, n, C);
    add(x, x, xb, n * C);
    rmsnormForward(xb, rstd, x, w.ln2, n, C, a.eps);
    matmulPacked(gate, xb, w.wg, n, F, C, false);
    matmulPacked(up, xb, w.wu, n, F, C, false);
    swigluForward(hid, gate, up, n * F);
    matmulPacked(xb, hid, w.wd, n, C, F, false);
    add(x, x, xb, n * C);
  }
  if (a.head) {
    rmsnormForward(xb, rstd, x, a.norm, n, C, a.eps);
    matmulPacked(a.logits + r0 * a.V, xb, a.head, n, a.V, C, false);
  }
}

// Runs fn(r0, r1) on every row block [starts[b], starts[b+1]) of a decode call, threads taking the
// next block as they finish one (blocks are sized big first, small last).
template <typename F>
static void forEachRowBlock(const DecodeArgs& a, F fn) {
  if (a.R == 0) return;
  const long nb = a.nBlocks;
  long next = 0;
  auto body = [&](int, int) {
    for (;;) {
      long b = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
      if (b >= nb) break;
      fn(a.starts[b], a.starts[b + 1]);
    }
  };
  const int nth = pool_threads();
  if (nb <= 1 || nth <= 1) body(0, 1);
  else parallel(nb < nth ? int(nb) : nth, body);
}

void decodeLayers(const DecodeArgs& a) {
  forEachRowBlock(a, [&](long r0, long r1) { decode_block(a, r0, r1); });
}

// ================================================================================================
// decodeSteps: up to `steps` decode steps in one call, the next token chosen here (the same rule as
// src/model/sampling.ts chooseToken, in float64, from each row's own xoshiro128** stream as
// src/util/rng.ts draws it). A row depends only on its own previous token, so each thread takes a
// block of rows through all the steps alone: one parallel region per call, not per step.

inline uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
inline uint32_t rng_next(uint32_t* s) {
  const uint32_t result = rotl32(s[1] * 5u, 7) * 9u;
  const uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl32(s[3], 11);
  return result;
}
inline double rng_float(uint32_t* s) {
  const double hi = double(rng_next(s) >> 5);
  const double lo = double(rng_next(s) >> 6);
  return (hi * 67108864.0 + lo) / 9007199254740992.0;
}

double log_sum_exp(const float* l, long V) {
  double mx = -INFINITY;
  for (long i = 0; i < V; i++)
    if (double(l[i]) > mx) mx = l[i];
  double s = 0;
  for (long i = 0; i < V; i++) s += std::exp(double(l[i]) - mx);
  return mx + std::log(s);
}

// The next token from one row of logits (see chooseToken in src/model/sampling.ts).
void choose_token(const float* l, long V, const SampleArgs& a, uint32_t* rng, double* p, int32_t* order, int32_t* tok,
                  double* modelLp, double* samplerLp) {
  if (a.temperature == 0) {
    const double lse = log_sum_exp(l, V);
    long best = 0;
    for (long i = 1; i < V; i++)
      if (l[i] > l[best]) best = i;
    *tok = int32_t(best);
    *modelLp = double(l[best]) - lse;
    *samplerLp = 0;
    return;
  }
  const double invT = 1 / a.temperature;
  double mx = -INFINITY;
  for (long i = 0; i < V; i++)
    if (double(l[i]) > mx) mx = l[i];
  double Z = 0;
  for (long i = 0; i < V; i++) {
    p[i] = std::exp((double(l[i]) - mx) * invT);
    Z += p[i];
  }
  const double lse = invT == 1 ? mx + std::log(Z) : log_sum_exp(l, V);
  const bool useTopK = a.topK > 0 && a.topK < V;
  const bool truncate = useTopK || a.topP < 1;
  long kept = V;
  double mass = Z;
  if (truncate) {
    const double thr = useTopK ? 0 : (((1 - a.topP) * Z) / double(V)) * 0.999;
    long m = 0;
    for (long i = 0; i < V; i++)
      if (p[i] >= thr) order[m++] = int32_t(i);
    std::sort(order, order + m, [&](int32_t x, int32_t y) { return p[x] > p[y] || (p[x] == p[y] && x < y); });
    kept = useTopK ? a.topK : m;
    mass = useTopK ? 0 : Z;
    if (useTopK)
      for (long i = 0; i < kept; i++) mass += p[order[i]];
    if (a.topP < 1) {
      double cum = 0;
      long k = 0;
      while (k < kept) {
        cum += p[order[k]];
        k++;
        if (cum / mass >= a.topP) break;
      }
      kept = k;
      mass = cum;
    }
  }
  const double u = rng_float(rng) * mass;
  double cum = 0;
  long token = -1;
  for (long i = 0; i < kept; i++) {
    const long id = truncate ? order[i] : i;
    cum += p[id];
    if (u < cum) {
      token = id;
      break;
    }
  }
  if (token < 0) {
    for (long i = kept - 1; i >= 0 && token < 0; i--) {
      const long id = truncate ? order[i] : i;
      if (p[id] > 0) token = id;
    }
  }
  *tok = int32_t(token);
  *modelLp = double(l[token]) - lse;
  *samplerLp = std::log(p[token] / mass);
}

void decode_steps_block(const DecodeArgs& a, const SampleArgs& sa, long r0, long r1) {
  const long n = r1 - r0, C = a.C, V = a.V, K = sa.steps;
  std::vector<int32_t> tok(sa.tokens + r0, sa.tokens + r1), pos(sa.positions + r0, sa.positions + r1);
  const size_t un = static_cast<size_t>(n), uv = static_cast<size_t>(V);
  std::vector<int32_t> tl(un), pl(un), sl(un), ll(un);
  std::vector<long> act(un);
  std::vector<char> stopped(un, 0);
  std::vector<double> p(uv);
  std::vector<int32_t> order(uv);
  for (long i = 0; i < n; i++) sa.outCount[r0 + i] = 0;
  DecodeArgs la = a;
  la.x = a.x + r0 * C;
  la.xb = a.xb + r0 * C;
  la.q = a.q + r0 * a.H * a.D;
  la.k = a.k + r0 * a.KV * a.D;
  la.v = a.v + r0 * a.KV * a.D;
  la.att = a.att + r0 * a.H * a.D;
  la.gate = a.gate + r0 * a.F;
  la.up = a.up + r0 * a.F;
  la.hid = a.hid + r0 * a.F;
  la.logits = a.logits + r0 * V;
  la.positions = pl.data();
  la.slots = sl.data();
  la.lengths = ll.data();
  for (long step = 0; step < K; step++) {
    long m = 0;
    for (long i = 0; i < n; i++) {
      if (stopped[size_t(i)] || sa.outCount[r0 + i] >= sa.budget[r0 + i]) continue;
      act[size_t(m)] = i;
      tl[size_t(m)] = tok[size_t(i)];
      pl[size_t(m)] = pos[size_t(i)];
      sl[size_t(m)] = a.slots[r0 + i];
      ll[size_t(m)] = pos[size_t(i)] + 1;
      m++;
    }
    if (m == 0) break;
    for (long j = 0; j < m; j++) std::memcpy(la.x + j * C, sa.embed + long(tl[size_t(j)]) * C, sizeof(float) * C);
    decode_block(la, 0, m);
    for (long j = 0; j < m; j++) {
      const long i = act[size_t(j)], r = r0 + i, c = sa.outCount[r];
      int32_t t;
      double mlp, slp;
      choose_token(la.logits + j * V, V, sa, sa.rng + 4 * r, p.data(), order.data(), &t, &mlp, &slp);
      sa.outTokens[r * K + c] = t;
      sa.outModelLp[r * K + c] = mlp;
      sa.outSamplerLp[r * K + c] = slp;
      sa.outCount[r] = int32_t(c + 1);
      tok[size_t(i)] = t;
      pos[size_t(i)]++;
      if (sa.stopAtEos)
        for (long e = 0; e < sa.nEos; e++)
          if (sa.eos[e] == t) stopped[size_t(i)] = 1;
    }
  }
}

void decodeSteps(const DecodeArgs& a, const SampleArgs& s) {
  forEachRowBlock(a, [&](long r0, long r1) { decode_steps_block(a, s, r0, r1); });
}

void set_blocking(long kc, long mc, long nc) {
  if (kc > 0) KC = kc;
  if (mc > 0) MC = (mc + MR - 1) / MR * MR;
  if (nc > 0) NC = (nc + NR - 1) / NR * NR;
}

void use_bf16(const Bf16Ops* ops) { bf16_active = ops; }

const KernelTable* table() {
  static const KernelTable t = {
      BSTAR_ISA_NAME, matmul,        embeddingForward, embeddingBackward, rmsnormForward,
      rmsnormBackward, rope,         attentionForward, attentionBackward, attentionKvForward, swigluForward,
      swigluBackward, add,           scale,            sumSquares,        crossEntropy,
      adamw,         set_blocking,     packed_b_floats,  packB,             packed_b_mismatch,
      matmulPacked,  decodeLayers,     decodeSteps,      bf16_ops_here(),   use_bf16,
      bf16_current,
  };
  return &t;
}
#endif  // BSTAR_BF16_ONLY

}  // namespace BSTAR_NS
}  // namespace bstar
