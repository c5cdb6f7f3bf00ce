// Kernels compiled for avx512 (flags in binding.gyp).
#include "isa.h"
namespace bstar {
const char* isa_name_avx512() { return "avx512"; }
}  // namespace bstar
