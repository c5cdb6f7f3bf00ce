// Kernels compiled for generic (flags in binding.gyp).
#include "isa.h"
namespace bstar {
const char* isa_name_generic() { return "generic"; }
}  // namespace bstar
