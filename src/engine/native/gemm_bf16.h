// The bf16 GEMM: both operands rounded to bfloat16 while they are packed, products summed in fp32 (the
// output, the master weights and everything outside the products stay fp32). Included by
// kernels_body.h inside each kernel set's anonymous namespace, after the fp32 GEMM whose vectors,
// threading helpers, tile (MR × NR) and b_strides it reuses.
//
// Operands are packed as 32-bit words each holding a pair of bf16 values at depth k = 2p (low half)
// and 2p + 1 (high half): the layout of the AVX512_BF16 instruction vdpbf16ps, which multiplies 16
// such pairs of A and B and adds both products to 16 fp32 sums. Where the CPU lacks it (BSTAR_BF16_NATIVE
// 0: AVX2, SSE2, NEON, AVX-512 before Cooper Lake / Zen 4) the same step is done with two fp32 FMAs,
// high pair first, as Intel specifies vdpbf16ps: c = (c + a₁·b₁) + a₀·b₀. A product of two bf16 values
// has at most 16 significant bits, so it is exact in fp32 and fused or separate multiply-add give the
// same sum: every emulated kernel set returns the same bits (denormal products aside, which vdpbf16ps
// flushes to zero). Whether a CPU's vdpbf16ps adds in exactly that order is the vendor's business; the
// engine tests it against the float64 reference only to fp32 accumulation accuracy (docs/performance.md).
//
// Bit-identity rules, as for fp32: each C element is, per depth block of BF_KC (even), a chain c = 0,
// c = dot2(c, a, b) over the block's pairs in order (an odd tail pair has a zero high half), then C = c
// for the first block without accumulate and C += c otherwise. Every path (packed, few-row, any thread
// count) follows it, so row i of C does not depend on M, the path or the threads.
//
// Rounding (bf16_hi): round to nearest even; zero and fp32 denormals become a signed zero (as
// vcvtne2ps2bf16 does); infinities stay; NaN stays NaN (quiet). Done in software on every kernel set, so
// the rounded operands are the same bits everywhere.

#ifndef BSTAR_BF16_NATIVE
#define BSTAR_BF16_NATIVE 0
#endif
#if BSTAR_BF16_NATIVE
static_assert(VW == 16, "vdpbf16ps works on 16-float vectors here");
#endif

typedef uint32_t vu __attribute__((vector_size(VW * 4)));
typedef uint32_t vuu __attribute__((vector_size(VW * 4), aligned(4)));

inline vu loadw(const uint32_t* p) { return *reinterpret_cast<const vuu*>(p); }
inline void storew(uint32_t* p, vu v) { *reinterpret_cast<vuu*>(p) = v; }
inline vu splatw(uint32_t x) { return x + vu{}; }

constexpr long BKC = GEMM_BF_KC, BMC = GEMM_BF_MC, BNC = GEMM_BF_NC;
static_assert(BKC % 2 == 0, "bf16 depth blocks hold whole pairs");
static_assert(BMC % MR == 0 && BNC % NR == 0, "bf16 cache blocks are whole tiles");

// x rounded to bf16, as the high half of a word whose low half is 0.
inline uint32_t bf16_hi(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t e = u & 0x7f800000u;
  if (e == 0) return u & 0x80000000u;
  if (e == 0x7f800000u) return (u & 0x7fffffu) ? ((u | 0x400000u) & 0xffff0000u) : u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
}

inline vu bf16_hi_v(vf x) {
  const vu u = (vu)x;
  const vu e = u & 0x7f800000u;
  vu r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const vu special = (u | ((u & 0x7fffffu) != 0 ? splatw(0x400000u) : vu{})) & 0xffff0000u;
  r = e == 0 ? (u & 0x80000000u) : r;
  r = e == 0x7f800000u ? special : r;
  return r;
}

// The pair word of (lo, hi).
inline uint32_t pair_w(float lo, float hi) { return bf16_hi(hi) | (bf16_hi(lo) >> 16); }

// VW pair words from 2·VW consecutive floats: word j = pair(x[2j], x[2j + 1]).
inline vu pairs_v(const float* x) {
  const vu h0 = bf16_hi_v(load(x)), h1 = bf16_hi_v(load(x + VW));
#if VW == 16
  const vu ev = __builtin_shufflevector(h0, h1, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const vu od = __builtin_shufflevector(h0, h1, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#elif VW == 8
  const vu ev = __builtin_shufflevector(h0, h1, 0, 2, 4, 6, 8, 10, 12, 14);
  const vu od = __builtin_shufflevector(h0, h1, 1, 3, 5, 7, 9, 11, 13, 15);
#else
  const vu ev = __builtin_shufflevector(h0, h1, 0, 2, 4, 6);
  const vu od = __builtin_shufflevector(h0, h1, 1, 3, 5, 7);
#endif
  return od | (ev >> 16);
}

// c + a₁·b₁ + a₀·b₀ per lane (high pair first), a and b pair words.
inline vf dot2(vf c, vu a, vu b) {
#if BSTAR_BF16_NATIVE
  return (vf)_mm512_dpbf16_ps((__m512)c, (__m512bh)a, (__m512bh)b);
#else
  const vu hi = splatw(0xffff0000u);
  c = c + (vf)(a & hi) * (vf)(b & hi);
  c = c + (vf)(a << 16) * (vf)(b << 16);
  return c;
#endif
}

// Words per pair-packed depth block of kc values.
inline long kpairs(long kc) { return (kc + 1) / 2; }

// Ap: MR-row slivers of kp = kpairs(kc) words, pair-major: the sliver of rows i0.. holds word
// Ap[i0·kp + p·MR + ii] = pair of row i0 + ii at k = 2p, 2p + 1. Rows past mc and k past kc give 0.
void pack_a_bf(long mc, long kc, const float* A, long rsA, long csA, uint32_t* Ap) {
  const long kp = kpairs(kc);
  if (rsA == 1) {
    // Aᵀ stored (tn): rows k and k + 1 of the block are contiguous over i; read each once.
    for (long p = 0; p < kp; p++) {
      const float* s0 = A + 2 * p * csA;
      const float* s1 = 2 * p + 1 < kc ? s0 + csA : nullptr;
      for (long i0 = 0; i0 < mc; i0 += MR) {
        uint32_t* d = Ap + i0 * kp + p * MR;
        const long mr = mc - i0 < MR ? mc - i0 : MR;
        long ii = 0;
        if (mr == MR && s1) {
          for (; ii + VW <= MR; ii += VW)
            storew(d + ii, bf16_hi_v(load(s1 + i0 + ii)) | (bf16_hi_v(load(s0 + i0 + ii)) >> 16));
        }
        for (; ii < mr; ii++) d[ii] = (s1 ? bf16_hi(s1[i0 + ii]) : 0u) | (bf16_hi(s0[i0 + ii]) >> 16);
        for (; ii < MR; ii++) d[ii] = 0;
      }
    }
    return;
  }
  for (long i0 = 0; i0 < mc; i0 += MR) {
    const long mr = mc - i0 < MR ? mc - i0 : MR;
    uint32_t* dst = Ap + i0 * kp;
    long p0 = 0;
    if (csA == 1) {
      // Rows contiguous over k: VW words of each row at a time, transposed into the sliver.
#if defined(__AVX512F__)
      if (MR <= 16) {
        const __mmask16 mrows = __mmask16((1u << MR) - 1);
        for (; 2 * (p0 + 16) <= kc; p0 += 16) {
          __m512 r[16];
          for (int ii = 0; ii < 16; ii++) r[ii] = ii < mr ? (__m512)pairs_v(A + (i0 + ii) * rsA + 2 * p0) : _mm512_setzero_ps();
          transpose16(r);
          for (int q = 0; q < 16; q++) _mm512_mask_storeu_epi32(dst + (p0 + q) * MR, mrows, (__m512i)r[q]);
        }
      }
#endif
      alignas(64) uint32_t t[MR * VW];
      for (; 2 * (p0 + VW) <= kc; p0 += VW) {
        for (long ii = 0; ii < mr; ii++) storew(t + ii * VW, pairs_v(A + (i0 + ii) * rsA + 2 * p0));
        for (long q = 0; q < VW; q++)
          for (long ii = 0; ii < MR; ii++) dst[(p0 + q) * MR + ii] = ii < mr ? t[ii * VW + q] : 0u;
      }
    }
    for (long p = p0; p < kp; p++) {
      for (long ii = 0; ii < MR; ii++) {
        uint32_t w = 0;
        if (ii < mr) {
          const float* s = A + (i0 + ii) * rsA + 2 * p * csA;
          w = pair_w(s[0], 2 * p + 1 < kc ? s[csA] : 0.0f);
        }
        dst[p * MR + ii] = w;
      }
    }
  }
}

// Bp: NR-column slivers of kp = kpairs(kc) words, pair-major: the sliver of columns j0.. holds word
// Bp[j0·kp + p·NR + jj] = pair of column j0 + jj at k = 2p, 2p + 1. Columns past nc and k past kc give 0.
void pack_b_bf(long kc, long nc, const float* B, long rsB, long csB, uint32_t* Bp) {
  const long kp = kpairs(kc);
  for (long j0 = 0; j0 < nc; j0 += NR) {
    const long nr = nc - j0 < NR ? nc - j0 : NR;
    uint32_t* dst = Bp + j0 * kp;
    if (csB == 1) {
      // B stored [K, N] (nn, tn): rows k and k + 1 are contiguous over j.
      for (long p = 0; p < kp; p++) {
        const float* s0 = B + 2 * p * rsB + j0;
        const float* s1 = 2 * p + 1 < kc ? s0 + rsB : nullptr;
        uint32_t* d = dst + p * NR;
        if (nr == NR && s1) {
          for (int v = 0; v < NV; v++)
            storew(d + v * VW, bf16_hi_v(load(s1 + v * VW)) | (bf16_hi_v(load(s0 + v * VW)) >> 16));
        } else {
          long jj = 0;
          for (; jj < nr; jj++) d[jj] = (s1 ? bf16_hi(s1[jj]) : 0u) | (bf16_hi(s0[jj]) >> 16);
          for (; jj < NR; jj++) d[jj] = 0;
        }
      }
      continue;
    }
    // B stored [N, K] (nt): column j is contiguous over k.
    long p0 = 0;
#if defined(__AVX512F__)
    if (NR % 16 == 0 && nr == NR) {
      for (; 2 * (p0 + 16) <= kc; p0 += 16) {
        for (int h = 0; h < NR; h += 16) {
          __m512 r[16];
          for (int c = 0; c < 16; c++) r[c] = (__m512)pairs_v(B + (j0 + h + c) * csB + 2 * p0 * rsB);
          transpose16(r);
          for (int q = 0; q < 16; q++) _mm512_storeu_si512(dst + (p0 + q) * NR + h, (__m512i)r[q]);
        }
      }
    }
#endif
    if (rsB == 1) {
      alignas(64) uint32_t t[NR * VW];
      for (; 2 * (p0 + VW) <= kc; p0 += VW) {
        for (long jj = 0; jj < nr; jj++) storew(t + jj * VW, pairs_v(B + (j0 + jj) * csB + 2 * p0));
        for (long q = 0; q < VW; q++)
          for (long jj = 0; jj < NR; jj++) dst[(p0 + q) * NR + jj] = jj < nr ? t[jj * VW + q] : 0u;
      }
    }
    for (long p = p0; p < kp; p++) {
      for (long jj = 0; jj < NR; jj++) {
        uint32_t w = 0;
        if (jj < nr) {
          const float* s = B + (j0 + jj) * csB + 2 * p * rsB;
          w = pair_w(s[0], 2 * p + 1 < kc ? s[rsB] : 0.0f);
        }
        dst[p * NR + jj] = w;
      }
    }
  }
}

// One MR×NR tile: C (=|+=) Ap·Bp over kp pair words. Edge tiles go through a buffer.
__attribute__((always_inline)) inline void micro_bf(long kp, const uint32_t* __restrict Ap, const uint32_t* __restrict Bp,
                                                    float* C, long ldc, int mr, int nr, bool acc) {
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
  for (long p = 0; p < kp; p++) {
    vu b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) b[v] = loadw(Bp + v * VW);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      const vu a = splatw(Ap[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) c[i][v] = dot2(c[i][v], a, b[v]);
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

__attribute__((noinline)) void macro_bf(long mc, long nc, long kc, const uint32_t* Ap, const uint32_t* Bp, float* C,
                                        long ldc, bool acc) {
  const long kp = kpairs(kc);
  for (long jr = 0; jr < nc; jr += NR) {
    const int nr = nc - jr < NR ? int(nc - jr) : NR;
    for (long ir = 0; ir < mc; ir += MR) {
      const int mr = mc - ir < MR ? int(mc - ir) : MR;
      micro_bf(kp, Ap + ir * kp, Bp + jr * kp, C + ir * ldc + jr, ldc, mr, nr, acc);
    }
  }
}

// Words between depth blocks of a pair-packed B of nSl slivers (every block but the last holds BKC).
inline long bf_block_words(long nSl) { return nSl * NR * (BKC / 2); }

// Unit u = (depth block pc, sliver j) of B into a pair-packed B of nSl slivers over columns [0, nc).
inline void pack_b_bf_unit(long u, long nSl, long K, long nc, const float* B, long rsB, long csB, uint32_t* Bp) {
  const long pc = u / nSl, j = u % nSl;
  const long kc = K - pc * BKC < BKC ? K - pc * BKC : BKC;
  const long nr = nc - j * NR < NR ? nc - j * NR : NR;
  pack_b_bf(kc, nr, B + pc * BKC * rsB + j * NR * csB, rsB, csB, Bp + pc * bf_block_words(nSl) + j * NR * kpairs(kc));
}

inline long bf_row_block(long M, int nth) {
  long rows = (M + nth * 4 - 1) / (nth * 4);
  rows = (rows + MR - 1) / MR * MR;
  if (rows > BMC) rows = BMC;
  if (rows < MR) rows = MR;
  return rows;
}

// Claims blocks of `rows` rows of C and multiplies each by the pair-packed B (columns [0, nc) of C) over
// the depth blocks [pc0, pc1) (Bp holds block pc0 first).
inline void bf_claim_rows(long& next, long nChunks, long rows, long M, long nc, long K, long pc0, long pc1, const float* A,
                          long rsA, long csA, const uint32_t* Bp, long nSl, float* C, long ldc, bool acc, uint32_t* Ap) {
  for (;;) {
    const long c = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
    if (c >= nChunks) break;
    const long i0 = c * rows;
    const long mc = M - i0 < rows ? M - i0 : rows;
    for (long pc = pc0; pc < pc1; pc++) {
      const long kc = K - pc * BKC < BKC ? K - pc * BKC : BKC;
      pack_a_bf(mc, kc, A + i0 * rsA + pc * BKC * csA, rsA, csA, Ap);
      macro_bf(mc, nc, kc, Ap, Bp + (pc - pc0) * bf_block_words(nSl), C + i0 * ldc, ldc, acc || pc > 0);
    }
  }
}

void matmul_bf(int layout, float* C, const float* A, const float* B, long M, long N, long K, bool acc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!acc) std::memset(C, 0, sizeof(float) * M * N);
    return;
  }
  long rsA, csA, rsB, csB;
  if (layout == 2) {
    rsA = 1;
    csA = M;
  } else {
    rsA = K;
    csA = 1;
  }
  b_strides(layout, K, N, rsB, csB);
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int nth = flops < double(1 << 21) ? 1 : pool_threads();
  const long nPc = (K + BKC - 1) / BKC;
  const long rows = bf_row_block(M, nth);
  const long nChunks = (M + rows - 1) / rows;
  // Column panels of BNC, and within a panel runs of depth blocks whose packed B stays ≤ 16 MiB (one
  // run unless K is very deep, as in an LM head's backward). Per run the threads pack its B together
  // (units claimed from a counter), wait for each other once, then claim blocks of C rows, each packing
  // its own A block. Each C element still gets its depth blocks in order, so the runs change no bit.
  for (long jc = 0; jc < N; jc += BNC) {
    const long nc = N - jc < BNC ? N - jc : BNC;
    const long nSl = (nc + NR - 1) / NR;
    const long perRun = std::max(1L, (1L << 22) / bf_block_words(nSl));
    const float* Bj = B + jc * csB;
    for (long pc0 = 0; pc0 < nPc; pc0 += perRun) {
      const long pc1 = std::min(nPc, pc0 + perRun);
      uint32_t* Bp = reinterpret_cast<uint32_t*>(thread_scratch(0, size_t(bf_block_words(nSl) * (pc1 - pc0))));
      const long unitsB = (pc1 - pc0) * nSl;
      long nextB = 0, doneB = 0, nextC = 0;
      const float* Bk = Bj + pc0 * BKC * rsB;
      const long Kr = std::min(K, pc1 * BKC) - pc0 * BKC;  // depth of this run
      auto body = [&](int, int) {
        for (;;) {
          const long u = __atomic_fetch_add(&nextB, 1, __ATOMIC_RELAXED);
          if (u >= unitsB) break;
          pack_b_bf_unit(u, nSl, Kr, nc, Bk, rsB, csB, Bp);
          __atomic_fetch_add(&doneB, 1, __ATOMIC_RELEASE);
        }
        for (int spins = 0; __atomic_load_n(&doneB, __ATOMIC_ACQUIRE) < unitsB; spins++) {
          if (spins > 2000) sched_yield();
        }
        uint32_t* Ap = reinterpret_cast<uint32_t*>(thread_scratch(1, size_t(rows * (BKC / 2))));
        bf_claim_rows(nextC, nChunks, rows, M, nc, K, pc0, pc1, A, rsA, csA, Bp, nSl, C + jc, N, acc, Ap);
      };
      parallel(nth, body);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// B packed once (decoding): a header (kPackMagicBf16, NR, BKC, K, N, data offset) and the pair-packed B
// over all N columns, the layout matmul_bf packs per column panel.

long packed_b_floats_bf(long K, long N) { return kPackHdr + 16 + ((N + NR - 1) / NR) * NR * kpairs(K); }

void packB_bf(int layout, float* Bp, const float* B, long K, long N) {
  long rsB, csB;
  b_strides(layout, K, N, rsB, csB);
  std::memset(Bp, 0, sizeof(float) * kPackHdr);
  Bp[0] = kPackMagicBf16;
  Bp[1] = float(NR);
  Bp[2] = float(BKC);
  Bp[3] = float(K);
  Bp[4] = float(N);
  const long off = kPackHdr + long((64 - (reinterpret_cast<uintptr_t>(Bp + kPackHdr) & 63)) & 63) / 4;
  Bp[5] = float(off);
  uint32_t* d = reinterpret_cast<uint32_t*>(Bp + off);
  const long nSl = (N + NR - 1) / NR;
  const long nPc = (K + BKC - 1) / BKC;
  par_range(nPc * nSl, 8, [&](long lo, long hi, long) {
    for (long u = lo; u < hi; u++) pack_b_bf_unit(u, nSl, K, N, B, rsB, csB, d);
  });
}

// Few rows over NS slivers of pair-packed B (sliver q at Bs + q·sls, NR words per pair) for one depth
// block of kp pairs; A given as pair words, row i at Aw + i·lda.
template <int MG, int NS>
inline void small_tile_bf(long kp, const uint32_t* Aw, long lda, const uint32_t* __restrict Bs, long sls, float* C,
                          long ldc, int nr, bool acc) {
  vf c[MG][NS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MG; i++)
#pragma GCC unroll 4
    for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) c[i][q][v] = vf{};
  for (long p = 0; p < kp; p++) {
    vu b[NS][NV];
#pragma GCC unroll 4
    for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) b[q][v] = loadw(Bs + q * sls + p * NR + v * VW);
#pragma GCC unroll 16
    for (int i = 0; i < MG; i++) {
      const vu a = splatw(Aw[i * lda + p]);
#pragma GCC unroll 4
      for (int q = 0; q < NS; q++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) c[i][q][v] = dot2(c[i][q][v], a, b[q][v]);
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

inline void small_rows_block_bf(const uint32_t* Aw, long lda, long M, long kp, const uint32_t* Bs, long sls, float* Cb,
                                long N, long ns, int nrLast, bool a2) {
  constexpr long SG = 4;
  long i = 0;
  auto rows = [&](auto mg, auto nsw) {
    constexpr int G = decltype(mg)::value, W = decltype(nsw)::value;
    for (; i + G <= M; i += G) {
      long q = 0;
      if (W > 1 && ns == SG) {
        for (; q + W <= ns; q += W)
          small_tile_bf<G, W>(kp, Aw + i * lda, lda, Bs + q * sls, sls, Cb + i * N + q * NR, N, q + W == ns ? nrLast : NR, a2);
      }
      for (; q < ns; q++)
        small_tile_bf<G, 1>(kp, Aw + i * lda, lda, Bs + q * sls, sls, Cb + i * N + q * NR, N, q + 1 == ns ? nrLast : NR, a2);
    }
  };
  rows(std::integral_constant<int, 8>(), std::integral_constant<int, 1>());
  rows(std::integral_constant<int, 4>(), std::integral_constant<int, 2>());
  rows(std::integral_constant<int, 2>(), std::integral_constant<int, 2>());
  rows(std::integral_constant<int, 1>(), std::integral_constant<int, 4>());
}

void matmulPacked_bf(float* C, const float* A, const float* Bp, long M, long N, long K, bool acc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!acc) std::memset(C, 0, sizeof(float) * M * N);
    return;
  }
  const uint32_t* Bd = reinterpret_cast<const uint32_t*>(Bp + long(Bp[5]));
  const long nSl = (N + NR - 1) / NR;
  const long blockWords = bf_block_words(nSl);
  const int nth = pool_threads();
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (M <= kSmallRowsBN) {
    // few rows: A rounded to pair words once ([M, kpairs(K)]), threads split the columns in groups of
    // 4 slivers
    const long KP = kpairs(K);
    uint32_t* Aw = reinterpret_cast<uint32_t*>(thread_scratch(0, size_t(M * KP)));
    for (long i = 0; i < M; i++) {
      const float* a = A + i * K;
      uint32_t* w = Aw + i * KP;
      long p = 0;
      for (; 2 * (p + VW) <= K; p += VW) storew(w + p, pairs_v(a + 2 * p));
      for (; p < KP; p++) w[p] = pair_w(a[2 * p], 2 * p + 1 < K ? a[2 * p + 1] : 0.0f);
    }
    constexpr long SG = 4;
    const long groups = (nSl + SG - 1) / SG;
    par_range(groups, flops < double(1 << 21) ? groups : 1, [&](long lo, long hi, long) {
      for (long g = lo; g < hi; g++) {
        const long j0 = g * SG * NR;
        const long cols = N - j0 < SG * NR ? N - j0 : SG * NR;
        const long ns = (cols + NR - 1) / NR;
        const int nrLast = int(cols - (ns - 1) * NR);
        for (long pc = 0; pc < K; pc += BKC) {
          const long kc = K - pc < BKC ? K - pc : BKC;
          const long kp = kpairs(kc);
          const uint32_t* Bs = Bd + (pc / BKC) * blockWords + (j0 / NR) * kp * NR;
          small_rows_block_bf(Aw + pc / 2, KP, M, kp, Bs, kp * NR, C + j0, N, ns, nrLast, acc || pc > 0);
        }
      }
    });
    return;
  }
  const long rows = bf_row_block(M, nth);
  const long nChunks = (M + rows - 1) / rows;
  long next = 0;
  auto body = [&](int, int) {
    uint32_t* Ap = reinterpret_cast<uint32_t*>(thread_scratch(1, size_t(rows * (BKC / 2))));
    bf_claim_rows(next, nChunks, rows, M, N, K, 0, (K + BKC - 1) / BKC, A, K, 1, Bd, nSl, C, N, acc, Ap);
  };
  if (flops < double(1 << 21) || nth <= 1 || nChunks <= 1) body(0, 1);
  else parallel(nChunks < nth ? int(nChunks) : nth, body);
}

const Bf16Ops* bf16_ops_here() {
  static const Bf16Ops ops = {
#if BSTAR_BF16_NATIVE
      "avx512bf16",
#else
      "emulated",
#endif
      matmul_bf, packed_b_floats_bf, packB_bf, matmulPacked_bf,
  };
  return &ops;
}
