// Kernels compiled for AVX2 + FMA (flags in binding.gyp): 8-float vectors, 6×16 GEMM micro-tile
// (12 ymm accumulators + 2 for the B row + 1 broadcast).
#define BSTAR_NS avx2
#define BSTAR_ISA_NAME "avx2"
#define VW 8
#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256
#define GEMM_MC 120
#define GEMM_NC 2048
#define GEMM_BF_KC 512
#define GEMM_BF_MC 120
#define GEMM_BF_NC 2048
#define ATT_BQ 4
#include "kernels_body.h"
namespace bstar {
const KernelTable* table_avx2() { return avx2::table(); }
}  // namespace bstar
