// bstar native engine: N-API surface. Picks the kernel set for this CPU once, at load.
#include <napi.h>
#include "isa.h"

namespace {
const char* pick_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return bstar::isa_name_avx512();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return bstar::isa_name_avx2();
  return bstar::isa_name_generic();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", pick_isa());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}
}  // namespace

NODE_API_MODULE(bstar_engine, Init)
