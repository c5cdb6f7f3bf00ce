// The avx512 kernel set's bf16 GEMM with the AVX512_BF16 instruction vdpbf16ps (flags in binding.gyp:
// the avx512 ones plus -mavx512bf16), for CPUs that have it (Cooper Lake, Sapphire Rapids and later,
// Zen 4 and later). Only the bf16 GEMM of this build is used; its fp32 kernels stay the avx512 set's,
// so fp32 results do not depend on whether a CPU has AVX512_BF16.
#define BSTAR_NS avx512bf16
#define BSTAR_ISA_NAME "avx512bf16"
#define BSTAR_BF16_ONLY 1
#define BSTAR_BF16_NATIVE 1
#include "tiles_avx512.h"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "kernels_body.h"
namespace bstar {
const Bf16Ops* bf16_avx512bf16() { return avx512bf16::bf16_ops(); }
}  // namespace bstar
