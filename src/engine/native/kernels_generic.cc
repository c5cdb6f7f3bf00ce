// Kernels in plain C++ for any x86-64 (SSE2) or other CPU: 4-float vectors, 6×8 GEMM micro-tile.
#define BSTAR_NS generic
#define BSTAR_ISA_NAME "generic"
#define VW 4
#define GEMM_MR 6
#define GEMM_NR 8
#define GEMM_KC 256
#define GEMM_MC 120
#define GEMM_NC 2048
#define GEMM_BF_KC 512
#define GEMM_BF_MC 120
#define GEMM_BF_NC 2048
#define ATT_BQ 4
#include "kernels_body.h"
namespace bstar {
const KernelTable* table_generic() { return generic::table(); }
}  // namespace bstar
