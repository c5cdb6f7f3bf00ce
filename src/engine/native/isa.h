// Kernel entry points, one table per instruction set. Each kernels_<isa>.cc compiles
// kernels_body.h with its own flags inside its own namespace and returns its table; addon.cc picks
// one at load time from what the CPU reports (BSTAR_ISA can force a lower one).
#pragma once
#include <cstdint>

namespace bstar {

// One decoder layer's weights for decodeLayers: norms plain, projections from packB('nt', W [out, in]),
// biases optional (nullptr), and the layer's KV cache arenas [S, KV, cap, D].
struct DecodeLayer {
  const float *ln1, *wq, *wk, *wv, *wo, *ln2, *wg, *wu, *wd;
  const float *bq, *bk, *bv, *bo;
  float *kc, *vc;
};

// Activations are [R, ·] buffers; a block of rows uses its own rows of each. Every row of a slot is
// in the same block (rows of one slot attend to each other's keys, written before the block's attention).
struct DecodeArgs {
  float *x, *xb, *q, *k, *v, *att, *gate, *up, *hid;
  const DecodeLayer* layers;
  long L;
  const float *cos, *sin;
  const int32_t *positions, *slots, *lengths;
  long R, C, H, KV, D, F, cap;
  // blocks of rows taken by one thread through all layers: [starts[b], starts[b+1]), b < nBlocks
  const long* starts;
  long nBlocks;
  float eps;
  // optional (head != nullptr): the final norm and the LM head of every row, logits [R, V]
  const float *norm, *head;
  float* logits;
  long V;
};

// decodeSteps: several decode steps with the token choice in native code (see kernels_body.h).
struct SampleArgs {
  const float* embed;  // [V, C]
  const int32_t* tokens;  // [R] each row's last token (input of its first step)
  const int32_t* positions;  // [R] that token's position
  const int32_t* budget;  // [R] most tokens the row may produce in this call
  uint32_t* rng;  // [R, 4] xoshiro128** state of each row, advanced in place
  double temperature, topP;
  long topK;
  const int32_t* eos;  // eos ids; a row stops after producing one when stopAtEos
  long nEos;
  bool stopAtEos;
  long steps;
  int32_t* outTokens;  // [R, steps]
  double *outModelLp, *outSamplerLp;  // [R, steps]
  int32_t* outCount;  // [R] tokens produced
};

// The bf16 GEMM (src/engine/native/gemm_bf16.h): bf16 operands, fp32 sums. `dot` names how a pair
// product is done: "avx512bf16" (vdpbf16ps) or "emulated" (two fp32 FMAs). A kernel set's emulated and
// native variants pack B alike, so a packed B works with both.
struct Bf16Ops {
  const char* dot;
  void (*matmul)(int layout, float* C, const float* A, const float* B, long M, long N, long K, bool accumulate);
  long (*packedBFloats)(long K, long N);
  void (*packB)(int layout, float* Bp, const float* B, long K, long N);
  void (*matmulPacked)(float* C, const float* A, const float* Bp, long M, long N, long K, bool accumulate);
};

// First float of a B packed by the bf16 GEMM (the fp32 one writes 4242).
constexpr float kPackedBf16Magic = 4243.0f;

struct KernelTable {
  const char* isa;
  // layout: 0 = nn, 1 = nt, 2 = tn (see src/engine/kernels.ts)
  void (*matmul)(int layout, float* C, const float* A, const float* B, long M, long N, long K, bool accumulate);
  void (*embeddingForward)(float* out, const float* wte, const int32_t* tokens, long N, long C);
  void (*embeddingBackward)(float* dwte, const float* dout, const int32_t* tokens, long N, long C);
  void (*rmsnormForward)(float* out, float* rstd, const float* inp, const float* weight, long N, long C, float eps);
  void (*rmsnormBackward)(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                          const float* rstd, long N, long C);
  void (*rope)(float* x, const float* cos, const float* sin, const int32_t* positions, long N, long nHeads, long D,
               float sign);
  void (*attentionForward)(float* out, float* lse, const float* q, const float* k, const float* v, long B, long T,
                           long H, long KV, long D);
  void (*attentionBackward)(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                            const float* v, const float* out, const float* lse, long B, long T, long H, long KV,
                            long D);
  void (*attentionKvForward)(float* out, const float* q, const float* kCache, const float* vCache,
                             const int32_t* slots, const int32_t* lengths, long R, long H, long KV, long D, long cap);
  void (*swigluForward)(float* out, const float* gate, const float* up, long n);
  void (*swigluBackward)(float* dgate, float* dup, const float* dout, const float* gate, const float* up, long n);
  void (*add)(float* out, const float* a, const float* b, long n);
  void (*scale)(float* x, float s, long n);
  double (*sumSquares)(const float* x, long n);
  double (*crossEntropy)(float* losses, float* dlogits, const float* logits, const int32_t* targets,
                         const float* weights, long N, long V);
  void (*adamw)(float* params, const float* grads, float* m, float* v, long n, double lr, double beta1, double beta2,
                double eps, double weightDecay, double step);
  // GEMM cache blocks (KC, MC, NC); ≤ 0 keeps a value. For tuning, not part of the contract.
  void (*setGemmBlocking)(long kc, long mc, long nc);
  // B packed once for matmulPacked (see kernels_body.h): its size in floats, the packing, and a
  // check of a packed buffer against (K, N) and the current kernel set (nullptr when it fits).
  long (*packedBFloats)(long K, long N);
  void (*packB)(int layout, float* Bp, const float* B, long K, long N);
  const char* (*packedBMismatch)(const float* Bp, long K, long N);
  void (*matmulPacked)(float* C, const float* A, const float* Bp, long M, long N, long K, bool accumulate);
  void (*decodeLayers)(const DecodeArgs& a);
  void (*decodeSteps)(const DecodeArgs& a, const SampleArgs& s);
  // bf16: this set's own (emulated) GEMM; which one its matmulPacked and decode use (nullptr: its own);
  // the one in use.
  const Bf16Ops* bf16Emulated;
  void (*useBf16)(const Bf16Ops* ops);
  const Bf16Ops* (*bf16)();
};

#if defined(__x86_64__)
const KernelTable* table_avx512();
const KernelTable* table_avx2();
#endif
#if defined(__aarch64__)
const KernelTable* table_neon();
#endif
const KernelTable* table_generic();
#if defined(__x86_64__)
// The avx512 set's bf16 GEMM with vdpbf16ps (kernels_avx512bf16.cc), for CPUs with AVX512_BF16.
const Bf16Ops* bf16_avx512bf16();
#endif

}  // namespace bstar
