// Kernels compiled for avx2 (flags in binding.gyp).
#include "isa.h"
namespace bstar {
const char* isa_name_avx2() { return "avx2"; }
}  // namespace bstar
