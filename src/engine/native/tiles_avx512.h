// Vector width, GEMM tiles and cache blocks of the AVX-512 kernel set, shared by kernels_avx512.cc and
// kernels_avx512bf16.cc (whose bf16 GEMM must pack B exactly as the avx512 set's emulated one does).
// fp32: a 14×32 micro-tile in 28 zmm accumulators + 2 for the B row + 1 broadcast; blocks for a 48 KiB
// L1d and 1–2 MiB L2 per core. bf16: the same tile (16 pair words per zmm), twice the depth per block
// (a 512-deep bf16 B sliver is as many bytes as a 256-deep fp32 one).
#define VW 16
#define GEMM_MR 14
#define GEMM_NR 32
#define GEMM_KC 256
#define GEMM_MC 336
#define GEMM_NC 2048
#define GEMM_BF_KC 512
#define GEMM_BF_MC 336
#define GEMM_BF_NC 2048
#define ATT_BQ 8
