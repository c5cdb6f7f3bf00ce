// Kernels compiled for AArch64 Advanced SIMD (NEON, part of every AArch64 CPU; flags in binding.gyp):
// 4-float vectors (128-bit), 32 vector registers. GEMM micro-tile 8×12: 24 accumulators (8 rows × 3
// vectors) + 3 for the B row + the A values (loaded as vectors, used by lane) = 29 of 32 registers; 24
// independent FMA chains cover a 4-cycle FMA latency on 4 pipes (Apple M-series, Neoverse V) and twice
// over on 2 (Neoverse N1, Cortex-A7x). 8×12 is also the tile of BLIS's and OpenBLAS's armv8 sgemm.
// Cache blocks: KC 256 keeps the 12-column B sliver at 12 KiB (L1d 32–128 KiB), MC 120 an A block of
// 120 KiB in a ≥ 1 MiB L2. The bf16 GEMM is emulated (two fp32 FMAs per pair; see gemm_bf16.h).
// Speed on real arm64 hardware has not been measured (docs/performance.md).
#define BSTAR_NS neon
#define BSTAR_ISA_NAME "neon"
#define VW 4
#define GEMM_MR 8
#define GEMM_NR 12
#define GEMM_KC 256
#define GEMM_MC 120
#define GEMM_NC 2040
#define GEMM_BF_KC 512
#define GEMM_BF_MC 120
#define GEMM_BF_NC 2040
#define ATT_BQ 8
#include "kernels_body.h"
namespace bstar {
const KernelTable* table_neon() { return neon::table(); }
}  // namespace bstar
