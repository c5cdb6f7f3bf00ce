// Kernel entry points, one set per instruction set. Each kernels_<isa>.cc defines these with its
// suffix; addon.cc picks one set at load time from what the CPU reports.
#pragma once
namespace bstar {
const char* isa_name_avx512();
const char* isa_name_avx2();
const char* isa_name_generic();
}  // namespace bstar
