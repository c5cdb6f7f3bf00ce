// Kernels compiled for AVX-512 (flags in binding.gyp): 16-float vectors, 14×32 GEMM micro-tile
// (28 zmm accumulators + 2 for the B row + 1 broadcast).
#define BSTAR_NS avx512
#define BSTAR_ISA_NAME "avx512"
#define VW 16
#define GEMM_MR 14
#define GEMM_NR 32
#define GEMM_KC 256
#define GEMM_MC 336
#define GEMM_NC 2048
#define ATT_BQ 8
#include "kernels_body.h"
namespace bstar {
const KernelTable* table_avx512() { return avx512::table(); }
}  // namespace bstar
