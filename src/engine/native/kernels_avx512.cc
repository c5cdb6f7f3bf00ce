// Kernels compiled for AVX-512 (flags in binding.gyp): 16-float vectors, 14×32 GEMM micro-tile
// (tiles_avx512.h). Its bf16 GEMM is the emulated one; addon.cc swaps in kernels_avx512bf16.cc's
// where the CPU has AVX512_BF16.
#define BSTAR_NS avx512
#define BSTAR_ISA_NAME "avx512"
#include "tiles_avx512.h"
#include "kernels_body.h"
namespace bstar {
const KernelTable* table_avx512() { return avx512::table(); }
}  // namespace bstar
