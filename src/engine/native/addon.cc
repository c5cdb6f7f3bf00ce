// bstar native engine: the N-API surface. Validates arguments (types, lengths, dims, indices), then
// calls the kernel set picked for this CPU at load time (AVX-512, AVX2+FMA or plain C++; BSTAR_ISA or
// setIsa() can force a lower one for testing). Names and argument order are those of
// src/engine/kernels.ts.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/mman.h>

#include "isa.h"
#include "pool.h"

namespace {

using bstar::KernelTable;

// ================================================================================================
// ISA selection

#if defined(__x86_64__)
bool cpu_vendor_amd() {
  __builtin_cpu_init();
  return __builtin_cpu_is("amd");
}
#else
bool cpu_vendor_amd() { return false; }
#endif

#if defined(__x86_64__)
// Kernel sets of this build, best first.
constexpr const char* kIsas[] = {"avx512", "avx2", "generic"};
constexpr const char* kIsaList = "avx512, avx2 or generic";

bool cpu_has(const char* isa) {
  __builtin_cpu_init();
  if (!std::strcmp(isa, "avx512"))
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!std::strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return !std::strcmp(isa, "generic");
}

const KernelTable* table_for(const char* isa) {
  if (!std::strcmp(isa, "avx512")) return bstar::table_avx512();
  if (!std::strcmp(isa, "avx2")) return bstar::table_avx2();
  if (!std::strcmp(isa, "generic")) return bstar::table_generic();
  return nullptr;
}

// The native bf16 GEMM for a kernel set, or nullptr where the CPU (or the build) has none.
const bstar::Bf16Ops* native_bf16_for(const KernelTable* t) {
  __builtin_cpu_init();
  if (t == bstar::table_avx512() && __builtin_cpu_supports("avx512bf16")) return bstar::bf16_avx512bf16();
  return nullptr;
}
#elif defined(__aarch64__)
constexpr const char* kIsas[] = {"neon"};
constexpr const char* kIsaList = "neon";
bool cpu_has(const char* isa) { return !std::strcmp(isa, "neon"); }  // Advanced SIMD is part of AArch64
const KernelTable* table_for(const char* isa) { return !std::strcmp(isa, "neon") ? bstar::table_neon() : nullptr; }
const bstar::Bf16Ops* native_bf16_for(const KernelTable*) { return nullptr; }
#else
constexpr const char* kIsas[] = {"generic"};
constexpr const char* kIsaList = "generic";
bool cpu_has(const char* isa) { return !std::strcmp(isa, "generic"); }
const KernelTable* table_for(const char* isa) { return !std::strcmp(isa, "generic") ? bstar::table_generic() : nullptr; }
const bstar::Bf16Ops* native_bf16_for(const KernelTable*) { return nullptr; }
#endif

const KernelTable* best_table() {
  for (const char* isa : kIsas)
    if (cpu_has(isa)) return table_for(isa);
  return table_for("generic");
}

const KernelTable* K = nullptr;

// Which bf16 GEMM the current kernel set uses: the native one where there is one, unless
// BSTAR_BF16=emulated (or setBf16('emulated')) asks for the emulated one.
bool bf16_prefer_native = true;
void select_bf16() {
  const bstar::Bf16Ops* native = bf16_prefer_native ? native_bf16_for(K) : nullptr;
  K->useBf16(native);
}

// Floats of a packed B as its header says it was packed (fp32 or bf16).
long packed_floats(const float* Bp, long Kd, long N) {
  return Bp[0] == bstar::kPackedBf16Magic ? K->bf16()->packedBFloats(Kd, N) : K->packedBFloats(Kd, N);
}

// An optional precision argument: 'fp32' (the default when absent) or 'bf16'.

// ================================================================================================
// argument checking: a bad argument throws ArgError, turned into a JS TypeError / RangeError

struct ArgError {
  std::string msg;
  bool range;
};

struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;

  [[noreturn]] void fail(const std::string& m, bool range = false) const {
    throw ArgError{std::string("bstar native ") + fn + ": " + m, range};
  }

  static const char* type_name(const Napi::Value& v) {
    if (v.IsTypedArray()) {
      switch (v.As<Napi::TypedArray>().TypedArrayType()) {
        case napi_float32_array: return "Float32Array";
        case napi_float64_array: return "Float64Array";
        case napi_int32_array: return "Int32Array";
        case napi_uint32_array: return "Uint32Array";
        case napi_int8_array: return "Int8Array";
        case napi_uint8_array: return "Uint8Array";
        case napi_uint8_clamped_array: return "Uint8ClampedArray";
        case napi_int16_array: return "Int16Array";
        case napi_uint16_array: return "Uint16Array";
        default: return "a typed array of another type";
      }
    }
    if (v.IsUndefined()) return "undefined";
    if (v.IsNull()) return "null";
    if (v.IsNumber()) return "a number";
    if (v.IsString()) return "a string";
    if (v.IsBoolean()) return "a boolean";
    if (v.IsArray()) return "an Array";
    return "an object";
  }

  template <class T>
  T* typed(size_t i, const char* name, napi_typedarray_type want, const char* wantName, double need,
           const char* needExpr) const {
    Napi::Value v = info[i];
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    if (!v.IsTypedArray() ||
        napi_get_typedarray_info(info.Env(), v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != want)
      fail(std::string("argument ") + name + " must be a " + wantName + ", got " + type_name(v));
    if (double(len) < need) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "argument %s is too short: needs %.0f elements (%s), got %zu", name, need,
                    needExpr, len);
      fail(buf);
    }
    return static_cast<T*>(data);
  }

  size_t length(size_t i) const {
    size_t len = 0;
    napi_get_typedarray_info(info.Env(), info[i], nullptr, &len, nullptr, nullptr, nullptr);
    return len;
  }

  float* f32(size_t i, const char* name, double need, const char* needExpr) const {
    return typed<float>(i, name, napi_float32_array, "Float32Array", need, needExpr);
  }
  float* f32_or_null(size_t i, const char* name, double need, const char* needExpr) const {
    if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
    return f32(i, name, need, needExpr);
  }
  int32_t* i32(size_t i, const char* name, double need, const char* needExpr) const {
    return typed<int32_t>(i, name, napi_int32_array, "Int32Array", need, needExpr);
  }

  double num(size_t i, const char* name) const {
    Napi::Value v = info[i];
    if (!v.IsNumber()) fail(std::string("argument ") + name + " must be a number, got " + type_name(v));
    return v.As<Napi::Number>().DoubleValue();
  }

  long dim(size_t i, const char* name) const {
    double d = num(i, name);
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "argument %s must be an integer >= 0, got %g", name, d);
      fail(buf, true);
    }
    return long(d);
  }

  bool boolean(size_t i, const char* name) const {
    Napi::Value v = info[i];
    if (!v.IsBoolean()) fail(std::string("argument ") + name + " must be a boolean, got " + type_name(v));
    return v.As<Napi::Boolean>().Value();
  }

  // Every index in idx[0..n) must lie in [0, limit).
  void indices(const int32_t* idx, long n, long limit, const char* name, const char* limitExpr) const {
    for (long j = 0; j < n; j++) {
      if (idx[j] < 0 || idx[j] >= limit) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s[%ld] = %d is out of range: expected 0 <= value < %ld (%s)", name, j,
                      int(idx[j]), limit, limitExpr);
        fail(buf, true);
      }
    }
  }
};

template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, F body) {
  Napi::Env env = info.Env();
  try {
    Args a{info, fn};
    return body(a);
  } catch (const ArgError& e) {
    if (e.range)
      Napi::RangeError::New(env, e.msg).ThrowAsJavaScriptException();
    else
      Napi::TypeError::New(env, e.msg).ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

#define KERNEL(name) Napi::Value name(const Napi::CallbackInfo& info) { return guarded(info, #name, [&](Args& a) -> Napi::Value {
#define END_KERNEL \
  return info.Env().Undefined();                                                                             \
  });                                                                                                        \
  }

// ================================================================================================
// kernels

bool bf16_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Value v = info[i];
  if (v.IsUndefined()) return false;
  std::string p = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (p == "fp32") return false;
  if (p == "bf16") return true;
  throw ArgError{std::string("bstar native ") + fn + ": argument precision must be 'fp32' or 'bf16', got " +
                     (v.IsString() ? "'" + p + "'" : Args::type_name(v)),
                 false};
}

KERNEL(matmul)
  Napi::Value lv = info[0];
  std::string layout = lv.IsString() ? lv.As<Napi::String>().Utf8Value() : "";
  int l = layout == "nn" ? 0 : layout == "nt" ? 1 : layout == "tn" ? 2 : -1;
  if (l < 0) a.fail(std::string("argument layout must be 'nn', 'nt' or 'tn', got ") + (lv.IsString() ? "'" + layout + "'" : Args::type_name(lv)));
  long M = a.dim(4, "M"), N = a.dim(5, "N"), Kd = a.dim(6, "K");
  bool acc = a.boolean(7, "accumulate");
  float* C = a.f32(1, "C", double(M) * N, "M*N");
  const float* A = a.f32(2, "A", double(M) * Kd, "M*K");
  const float* B = a.f32(3, "B", double(Kd) * N, "K*N");
  if (M > 0 && N > 0 && Kd > 0) {
    // The contract forbids C aliasing A or B; overlapping memory would silently corrupt the result.
    auto overlaps = [](const float* x, size_t nx, const float* y, size_t ny) { return x < y + ny && y < x + nx; };
    size_t cn = size_t(M) * N;
    if (overlaps(C, cn, A, size_t(M) * Kd)) a.fail("argument C overlaps A in memory (the contract forbids aliasing)");
    if (overlaps(C, cn, B, size_t(Kd) * N)) a.fail("argument C overlaps B in memory (the contract forbids aliasing)");
  }
  if (bf16_arg(info, 8, "matmul")) K->bf16()->matmul(l, C, A, B, M, N, Kd, acc);
  else K->matmul(l, C, A, B, M, N, Kd, acc);
END_KERNEL

// packB(layout, B, K, N) -> Float32Array: B ('nn': [K,N]; 'nt': [N,K]) packed for matmulPacked.
KERNEL(packB)
  Napi::Value lv = info[0];
  std::string layout = lv.IsString() ? lv.As<Napi::String>().Utf8Value() : "";
  int l = layout == "nn" ? 0 : layout == "nt" ? 1 : -1;
  if (l < 0) a.fail(std::string("argument layout must be 'nn' or 'nt', got ") + (lv.IsString() ? "'" + layout + "'" : Args::type_name(lv)));
  long Kd = a.dim(2, "K"), N = a.dim(3, "N");
  const float* B = a.f32(1, "B", double(Kd) * N, "K*N");
  if (bf16_arg(info, 4, "packB")) {
    const bstar::Bf16Ops* bf = K->bf16();
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), size_t(bf->packedBFloats(Kd, N)));
    bf->packB(l, out.Data(), B, Kd, N);
    return out;
  }
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), size_t(K->packedBFloats(Kd, N)));
  K->packB(l, out.Data(), B, Kd, N);
  return out;
END_KERNEL

// matmulPacked(C, A, Bp, M, N, K, accumulate): C (=|+=) A[M,K]·B with B from packB(layout, B, K, N).
KERNEL(matmulPacked)
  long M = a.dim(3, "M"), N = a.dim(4, "N"), Kd = a.dim(5, "K");
  bool acc = a.boolean(6, "accumulate");
  float* C = a.f32(0, "C", double(M) * N, "M*N");
  const float* A = a.f32(1, "A", double(M) * Kd, "M*K");
  const float* Bp = a.f32(2, "Bp", 16, "the packB header");
  if (const char* why = K->packedBMismatch(Bp, Kd, N)) a.fail(std::string("argument Bp does not fit: ") + why);
  a.f32(2, "Bp", double(packed_floats(Bp, Kd, N)), "packB(K, N)");
  if (M > 0 && N > 0 && Kd > 0) {
    auto overlaps = [](const float* x, size_t nx, const float* y, size_t ny) { return x < y + ny && y < x + nx; };
    size_t cn = size_t(M) * N;
    if (overlaps(C, cn, A, size_t(M) * Kd)) a.fail("argument C overlaps A in memory (the contract forbids aliasing)");
    if (overlaps(C, cn, Bp, size_t(packed_floats(Bp, Kd, N)))) a.fail("argument C overlaps Bp in memory (the contract forbids aliasing)");
  }
  K->matmulPacked(C, A, Bp, M, N, Kd, acc);
END_KERNEL

KERNEL(embeddingForward)
  long N = a.dim(3, "N"), C = a.dim(4, "C");
  float* out = a.f32(0, "out", double(N) * C, "N*C");
  const float* wte = a.f32(1, "wte", N > 0 ? double(C) : 0, "C");
  const int32_t* tok = a.i32(2, "tokens", double(N), "N");
  long rows = C > 0 ? long(a.length(1)) / C : 0;
  if (C > 0) a.indices(tok, N, rows, "tokens", "rows of wte");
  K->embeddingForward(out, wte, tok, N, C);
END_KERNEL

KERNEL(embeddingBackward)
  long N = a.dim(3, "N"), C = a.dim(4, "C");
  float* dwte = a.f32(0, "dwte", N > 0 ? double(C) : 0, "C");
  const float* dout = a.f32(1, "dout", double(N) * C, "N*C");
  const int32_t* tok = a.i32(2, "tokens", double(N), "N");
  long rows = C > 0 ? long(a.length(0)) / C : 0;
  if (C > 0) a.indices(tok, N, rows, "tokens", "rows of dwte");
  K->embeddingBackward(dwte, dout, tok, N, C);
END_KERNEL

KERNEL(rmsnormForward)
  long N = a.dim(4, "N"), C = a.dim(5, "C");
  double eps = a.num(6, "eps");
  float* out = a.f32(0, "out", double(N) * C, "N*C");
  float* rstd = a.f32(1, "rstd", double(N), "N");
  const float* inp = a.f32(2, "inp", double(N) * C, "N*C");
  const float* w = a.f32(3, "weight", double(C), "C");
  K->rmsnormForward(out, rstd, inp, w, N, C, float(eps));
END_KERNEL

KERNEL(rmsnormBackward)
  long N = a.dim(6, "N"), C = a.dim(7, "C");
  float* dinp = a.f32(0, "dinp", double(N) * C, "N*C");
  float* dw = a.f32(1, "dweight", double(C), "C");
  const float* dout = a.f32(2, "dout", double(N) * C, "N*C");
  const float* inp = a.f32(3, "inp", double(N) * C, "N*C");
  const float* w = a.f32(4, "weight", double(C), "C");
  const float* rstd = a.f32(5, "rstd", double(N), "N");
  K->rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C);
END_KERNEL

Napi::Value rope_common(Args& a, const char* xname, float sign) {
  long N = a.dim(4, "N"), nH = a.dim(5, "nHeads"), D = a.dim(6, "D");
  if (D % 2) a.fail("argument D must be even (rotate_half pairs i and i + D/2), got " + std::to_string(D), true);
  float* x = a.f32(0, xname, double(N) * nH * D, "N*nHeads*D");
  const int32_t* pos = a.i32(3, "positions", double(N), "N");
  const float* c = a.f32(1, "cos", 0, "");
  const float* s = a.f32(2, "sin", 0, "");
  long half = D / 2;
  if (half > 0 && N > 0) {
    long cl = long(a.length(1)), sl = long(a.length(2));
    long rows = (cl < sl ? cl : sl) / half;
    a.indices(pos, N, rows, "positions", "rows of the cos/sin tables (length / (D/2))");
  }
  K->rope(x, c, s, pos, N, nH, D, sign);
  return a.info.Env().Undefined();
}
Napi::Value ropeForward(const Napi::CallbackInfo& info) {
  return guarded(info, "ropeForward", [&](Args& a) { return rope_common(a, "x", 1.0f); });
}
Napi::Value ropeBackward(const Napi::CallbackInfo& info) {
  return guarded(info, "ropeBackward", [&](Args& a) { return rope_common(a, "dx", -1.0f); });
}

void check_heads(Args& a, long H, long KV) {
  if (KV == 0 && H > 0) a.fail("argument KV must be >= 1 when H >= 1", true);
  if (KV > 0 && H % KV != 0)
    a.fail("argument H must be a multiple of KV (grouped-query heads), got H=" + std::to_string(H) +
               ", KV=" + std::to_string(KV),
           true);
}

KERNEL(attentionForward)
  long B = a.dim(5, "B"), T = a.dim(6, "T"), H = a.dim(7, "H"), KV = a.dim(8, "KV"), D = a.dim(9, "D");
  check_heads(a, H, KV);
  double q_n = double(B) * T * H * D, kv_n = double(B) * T * KV * D;
  float* out = a.f32(0, "out", q_n, "B*T*H*D");
  float* lse = a.f32(1, "lse", double(B) * H * T, "B*H*T");
  const float* q = a.f32(2, "q", q_n, "B*T*H*D");
  const float* k = a.f32(3, "k", kv_n, "B*T*KV*D");
  const float* v = a.f32(4, "v", kv_n, "B*T*KV*D");
  if (H > 0) K->attentionForward(out, lse, q, k, v, B, T, H, KV, D);
END_KERNEL

KERNEL(attentionKvForward)
  long R = a.dim(6, "R"), H = a.dim(7, "H"), KV = a.dim(8, "KV"), D = a.dim(9, "D"), cap = a.dim(10, "cap");
  check_heads(a, H, KV);
  double q_n = double(R) * H * D;
  float* out = a.f32(0, "out", q_n, "R*H*D");
  const float* q = a.f32(1, "q", q_n, "R*H*D");
  double slot_n = double(KV) * cap * D;
  const float* kc = a.f32(2, "kCache", slot_n, "KV*cap*D (one slot)");
  const float* vc = a.f32(3, "vCache", slot_n, "KV*cap*D (one slot)");
  const int32_t* slots = a.i32(4, "slots", double(R), "R");
  const int32_t* lengths = a.i32(5, "lengths", double(R), "R");
  if (R > 0 && H > 0) {
    size_t kn = a.length(2), vn = a.length(3);
    long S = long((kn < vn ? kn : vn) / size_t(slot_n > 0 ? slot_n : 1));
    a.indices(slots, R, S, "slots", "S = cache slots, from kCache/vCache length / (KV*cap*D)");
    a.indices(lengths, R, cap + 1, "lengths", "cap + 1");
    K->attentionKvForward(out, q, kc, vc, slots, lengths, R, H, KV, D, cap);
  }
END_KERNEL

KERNEL(attentionBackward)
  long B = a.dim(9, "B"), T = a.dim(10, "T"), H = a.dim(11, "H"), KV = a.dim(12, "KV"), D = a.dim(13, "D");
  check_heads(a, H, KV);
  double q_n = double(B) * T * H * D, kv_n = double(B) * T * KV * D;
  float* dq = a.f32(0, "dq", q_n, "B*T*H*D");
  float* dk = a.f32(1, "dk", kv_n, "B*T*KV*D");
  float* dv = a.f32(2, "dv", kv_n, "B*T*KV*D");
  const float* dout = a.f32(3, "dout", q_n, "B*T*H*D");
  const float* q = a.f32(4, "q", q_n, "B*T*H*D");
  const float* k = a.f32(5, "k", kv_n, "B*T*KV*D");
  const float* v = a.f32(6, "v", kv_n, "B*T*KV*D");
  const float* out = a.f32(7, "out", q_n, "B*T*H*D");
  const float* lse = a.f32(8, "lse", double(B) * H * T, "B*H*T");
  if (H > 0) K->attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KV, D);
END_KERNEL

KERNEL(swigluForward)
  long n = a.dim(3, "n");
  float* out = a.f32(0, "out", double(n), "n");
  const float* g = a.f32(1, "gate", double(n), "n");
  const float* u = a.f32(2, "up", double(n), "n");
  K->swigluForward(out, g, u, n);
END_KERNEL

KERNEL(swigluBackward)
  long n = a.dim(5, "n");
  float* dg = a.f32(0, "dgate", double(n), "n");
  float* du = a.f32(1, "dup", double(n), "n");
  const float* dout = a.f32(2, "dout", double(n), "n");
  const float* g = a.f32(3, "gate", double(n), "n");
  const float* u = a.f32(4, "up", double(n), "n");
  K->swigluBackward(dg, du, dout, g, u, n);
END_KERNEL

KERNEL(add)
  long n = a.dim(3, "n");
  float* out = a.f32(0, "out", double(n), "n");
  const float* x = a.f32(1, "a", double(n), "n");
  const float* y = a.f32(2, "b", double(n), "n");
  K->add(out, x, y, n);
END_KERNEL

KERNEL(scale)
  double s = a.num(1, "s");
  long n = a.dim(2, "n");
  float* x = a.f32(0, "x", double(n), "n");
  K->scale(x, float(s), n);
END_KERNEL

Napi::Value sumSquares(const Napi::CallbackInfo& info) {
  return guarded(info, "sumSquares", [&](Args& a) -> Napi::Value {
    long n = a.dim(1, "n");
    const float* x = a.f32(0, "x", double(n), "n");
    return Napi::Number::New(info.Env(), K->sumSquares(x, n));
  });
}

Napi::Value crossEntropy(const Napi::CallbackInfo& info) {
  return guarded(info, "crossEntropy", [&](Args& a) -> Napi::Value {
    long N = a.dim(5, "N"), V = a.dim(6, "V");
    float* losses = a.f32(0, "losses", double(N), "N");
    float* dlogits = a.f32_or_null(1, "dlogits", double(N) * V, "N*V");
    const float* logits = a.f32(2, "logits", double(N) * V, "N*V");
    const int32_t* targets = a.i32(3, "targets", double(N), "N");
    const float* weights = a.f32(4, "weights", double(N), "N");
    a.indices(targets, N, V, "targets", "V");
    return Napi::Number::New(info.Env(), K->crossEntropy(losses, dlogits, logits, targets, weights, N, V));
  });
}

KERNEL(adamw)
  long n = a.dim(4, "n");
  double lr = a.num(5, "lr"), b1 = a.num(6, "beta1"), b2 = a.num(7, "beta2"), eps = a.num(8, "eps");
  double wd = a.num(9, "weightDecay"), step = a.num(10, "step");
  if (!(step >= 1) || step != std::floor(step)) a.fail("argument step must be an integer >= 1, got " + std::to_string(step), true);
  float* p = a.f32(0, "params", double(n), "n");
  const float* g = a.f32(1, "grads", double(n), "n");
  float* m = a.f32(2, "m", double(n), "n");
  float* v = a.f32(3, "v", double(n), "n");
  K->adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step);
END_KERNEL

// decodeLayers(x, xb, q, k, v, att, gate, up, hid, layers, cos, sin, positions, slots, R, C, H, KV, D, F,
// cap, eps, rowsPerBlock[, norm, head, logits, V]): all decoder layers for R rows, each slot's rows
// contiguous (see kernels_body.h); threads take blocks of at least rowsPerBlock rows, cut where the
// slot changes. With norm/head (head from packB('nt', lmHead, C, V)), also logits[R, V] of every row. layers: [{ln1, wq, wk, wv, wo, ln2, wg, wu, wd, bq?, bk?, bv?, bo?, kCache, vCache}],
// projections from packB('nt', W, in, out). Row r is at position positions[r] of slot slots[r] and
// attends to positions 0..positions[r] of it.
Napi::Value decode_common(Args& a, const Napi::CallbackInfo& info, bool steps) {
  long R = a.dim(14, "R"), C = a.dim(15, "C"), H = a.dim(16, "H"), KV = a.dim(17, "KV"), D = a.dim(18, "D");
  long F = a.dim(19, "F"), cap = a.dim(20, "cap");
  double eps = a.num(21, "eps");
  long rb = a.dim(22, "rowsPerBlock");
  // optional 24..27: norm [C], head = packB('nt', lmHead, C, V), logits [R, V], V
  const bool withHead = info.Length() > 23 && !info[23].IsUndefined() && !info[23].IsNull();
  check_heads(a, H, KV);
  if (D % 2) a.fail("argument D must be even (RoPE pairs), got " + std::to_string(D), true);
  const long HD = H * D, KD = KV * D;
  bstar::DecodeArgs d{};
  d.x = a.f32(0, "x", double(R) * C, "R*C");
  d.xb = a.f32(1, "xb", double(R) * C, "R*C");
  d.q = a.f32(2, "q", double(R) * HD, "R*H*D");
  d.k = a.f32(3, "k", double(R) * KD, "R*KV*D");
  d.v = a.f32(4, "v", double(R) * KD, "R*KV*D");
  d.att = a.f32(5, "att", double(R) * HD, "R*H*D");
  d.gate = a.f32(6, "gate", double(R) * F, "R*F");
  d.up = a.f32(7, "up", double(R) * F, "R*F");
  d.hid = a.f32(8, "hid", double(R) * F, "R*F");
  d.cos = a.f32(10, "cos", 0, "");
  d.sin = a.f32(11, "sin", 0, "");
  const long maxPos = long((a.length(10) < a.length(11) ? a.length(10) : a.length(11)) / size_t(D > 0 ? D / 2 : 1));
  d.positions = a.i32(12, "positions", double(R), "R");
  d.slots = a.i32(13, "slots", double(R), "R");
  if (!info[9].IsArray()) a.fail(std::string("argument layers must be an Array, got ") + Args::type_name(info[9]));
  Napi::Array la = info[9].As<Napi::Array>();
  const long L = long(la.Length());
  std::vector<bstar::DecodeLayer> layers(static_cast<size_t>(L));
  const double slotN = double(KV) * cap * D;
  long S = -1;
  for (long l = 0; l < L; l++) {
    Napi::Value lv = la.Get(uint32_t(l));
    if (!lv.IsObject()) a.fail("layers[" + std::to_string(l) + "] must be an object, got " + Args::type_name(lv));
    Napi::Object o = lv.As<Napi::Object>();
    auto buf = [&](const char* name, double need, bool optional) -> float* {
      Napi::Value v = o.Get(name);
      std::string field = "layers[" + std::to_string(l) + "]." + name;
      if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
      napi_typedarray_type type;
      size_t len = 0;
      void* data = nullptr;
      if (!v.IsTypedArray() || napi_get_typedarray_info(info.Env(), v, &type, &len, &data, nullptr, nullptr) != napi_ok ||
          type != napi_float32_array)
        a.fail("argument " + field + " must be a Float32Array, got " + Args::type_name(v));
      if (double(len) < need) a.fail("argument " + field + " is too short: needs " + std::to_string(long(need)) + " elements, got " + std::to_string(len));
      if (std::string(name) == "kCache" || std::string(name) == "vCache") {
        long s = long(double(len) / (slotN > 0 ? slotN : 1));
        if (S < 0 || s < S) S = s;
      }
      return static_cast<float*>(data);
    };
    auto packed = [&](const char* name, long Kd, long N) -> const float* {
      const float* p = buf(name, 16, false);
      if (const char* why = K->packedBMismatch(p, Kd, N))
        a.fail("argument layers[" + std::to_string(l) + "]." + name + " does not fit packB('nt', W, " + std::to_string(Kd) + ", " + std::to_string(N) + "): " + why);
      return buf(name, double(packed_floats(p, Kd, N)), false);
    };
    bstar::DecodeLayer& w = layers[size_t(l)];
    w.ln1 = buf("ln1", double(C), false);
    w.ln2 = buf("ln2", double(C), false);
    w.wq = packed("wq", C, HD);
    w.wk = packed("wk", C, KD);
    w.wv = packed("wv", C, KD);
    w.wo = packed("wo", HD, C);
    w.wg = packed("wg", C, F);
    w.wu = packed("wu", C, F);
    w.wd = packed("wd", F, C);
    w.bq = buf("bq", double(HD), true);
    w.bk = buf("bk", double(KD), true);
    w.bv = buf("bv", double(KD), true);
    w.bo = buf("bo", double(C), true);
    w.kc = buf("kCache", slotN, false);
    w.vc = buf("vCache", slotN, false);
  }
  if (R > 0 && L > 0) {
    a.indices(d.slots, R, S, "slots", "S = cache slots, from kCache/vCache length / (KV*cap*D)");
    a.indices(d.positions, R, cap < maxPos ? cap : maxPos, "positions", "min(cap, rows of the cos/sin tables)");
    std::vector<char> seen(static_cast<size_t>(S), 0);
    for (long r = 0; r < R; r++) {
      if (r > 0 && d.slots[r] == d.slots[r - 1]) continue;
      if (seen[size_t(d.slots[r])])
        a.fail("slots[" + std::to_string(r) + "] = " + std::to_string(d.slots[r]) +
                   " returns to a slot of earlier rows after another slot (decodeLayers needs each slot's rows contiguous)",
               true);
      seen[size_t(d.slots[r])] = 1;
    }
    for (long l = 0; l < L; l++) {
      auto overlaps = [](const float* x, size_t nx, const float* y, size_t ny) { return x < y + ny && y < x + nx; };
      if (overlaps(layers[size_t(l)].kc, size_t(S * slotN), layers[size_t(l)].vc, size_t(S * slotN)))
        a.fail("argument layers[" + std::to_string(l) + "].kCache overlaps its vCache");
    }
  }
  std::vector<int32_t> lengths(static_cast<size_t>(R));
  for (long r = 0; r < R; r++) lengths[size_t(r)] = d.positions[r] + 1;
  if (withHead) {
    long V = a.dim(26, "V");
    d.norm = a.f32(23, "norm", double(C), "C");
    const float* hp = a.f32(24, "head", 16, "the packB header");
    if (const char* why = K->packedBMismatch(hp, C, V))
      a.fail("argument head does not fit packB('nt', lmHead, " + std::to_string(C) + ", " + std::to_string(V) + "): " + why);
    d.head = a.f32(24, "head", double(packed_floats(hp, C, V)), "packB(C, V)");
    d.logits = a.f32(25, "logits", double(R) * V, "R*V");
    d.V = V;
  }
  d.layers = layers.data();
  d.L = L;
  d.lengths = lengths.data();
  d.R = R;
  d.C = C;
  d.H = H;
  d.KV = KV;
  d.D = D;
  d.F = F;
  d.cap = cap;
  d.eps = float(eps);
  // Blocks cut only where the slot changes, "guided": each about the rows left / (2 · threads), but at
  // least rb (rb = 0: one block). Big blocks first, small ones last, so that the thread finishing
  // last (perhaps one the OS preempted) holds a small block: a decodeSteps block runs all its steps.
  std::vector<long> starts{0};
  const long nth = bstar::pool_threads();
  long want = rb > 0 ? rb : R;
  for (long r = 1; r < R; r++) {
    if (r - starts.back() == 1) {
      const long left = R - starts.back();
      want = rb > 0 ? std::max(rb, (left + 2 * nth - 1) / (2 * nth)) : R;
    }
    if (d.slots[r] != d.slots[r - 1] && r - starts.back() >= want) starts.push_back(r);
  }
  starts.push_back(R);
  d.starts = starts.data();
  d.nBlocks = long(starts.size()) - 1;
  if (!steps) {
    if (R > 0 && L > 0 && C > 0) K->decodeLayers(d);
    return info.Env().Undefined();
  }
  // decodeSteps: argument 27 is the sampling object
  if (!withHead) a.fail("decodeSteps needs norm, head, logits and V (arguments 23..26)");
  if (!info[27].IsObject()) a.fail(std::string("argument s must be an object, got ") + Args::type_name(info[27]));
  Napi::Object so = info[27].As<Napi::Object>();
  auto arr = [&](const char* name, napi_typedarray_type want, const char* wantName, double need) -> void* {
    Napi::Value v = so.Get(name);
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    if (!v.IsTypedArray() || napi_get_typedarray_info(info.Env(), v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != want)
      a.fail(std::string("argument s.") + name + " must be a " + wantName + ", got " + Args::type_name(v));
    if (double(len) < need) a.fail(std::string("argument s.") + name + " is too short: needs " + std::to_string(long(need)) + " elements, got " + std::to_string(len));
    return data;
  };
  auto num = [&](const char* name) -> double {
    Napi::Value v = so.Get(name);
    if (!v.IsNumber()) a.fail(std::string("argument s.") + name + " must be a number, got " + Args::type_name(v));
    return v.As<Napi::Number>().DoubleValue();
  };
  bstar::SampleArgs sa{};
  const long V = d.V;
  const long nSteps = long(num("steps"));
  if (!(nSteps >= 0)) a.fail("argument s.steps must be >= 0", true);
  sa.steps = nSteps;
  sa.embed = static_cast<const float*>(arr("embed", napi_float32_array, "Float32Array", double(V) * C));
  sa.tokens = static_cast<const int32_t*>(arr("tokens", napi_int32_array, "Int32Array", double(R)));
  sa.positions = d.positions;
  sa.budget = static_cast<const int32_t*>(arr("budget", napi_int32_array, "Int32Array", double(R)));
  sa.rng = static_cast<uint32_t*>(arr("rng", napi_uint32_array, "Uint32Array", 4.0 * R));
  sa.temperature = num("temperature");
  sa.topP = num("topP");
  sa.topK = long(num("topK"));
  if (!(sa.temperature >= 0) || !(sa.topP > 0 && sa.topP <= 1) || sa.topK < 0) a.fail("argument s: temperature >= 0, topP in (0, 1], topK >= 0 expected", true);
  Napi::Value ev = so.Get("eos");
  napi_typedarray_type et;
  size_t en = 0;
  void* ed = nullptr;
  if (!ev.IsTypedArray() || napi_get_typedarray_info(info.Env(), ev, &et, &en, &ed, nullptr, nullptr) != napi_ok || et != napi_int32_array)
    a.fail(std::string("argument s.eos must be an Int32Array, got ") + Args::type_name(ev));
  sa.eos = static_cast<const int32_t*>(ed);
  sa.nEos = long(en);
  sa.stopAtEos = so.Get("stopAtEos").ToBoolean().Value();
  sa.outTokens = static_cast<int32_t*>(arr("outTokens", napi_int32_array, "Int32Array", double(R) * nSteps));
  sa.outModelLp = static_cast<double*>(arr("outModelLp", napi_float64_array, "Float64Array", double(R) * nSteps));
  sa.outSamplerLp = static_cast<double*>(arr("outSamplerLp", napi_float64_array, "Float64Array", double(R) * nSteps));
  sa.outCount = static_cast<int32_t*>(arr("outCount", napi_int32_array, "Int32Array", double(R)));
  a.indices(sa.tokens, R, V, "s.tokens", "V");
  for (long r = 1; r < R; r++)
    if (d.slots[r] == d.slots[r - 1]) a.fail("slots[" + std::to_string(r) + "] repeats slots[" + std::to_string(r - 1) + "] (decodeSteps takes one row per slot)", true);
  for (long r = 0; r < R; r++) {
    if (sa.budget[r] < 0) a.fail("s.budget[" + std::to_string(r) + "] must be >= 0", true);
    const long last = long(d.positions[r]) + (sa.budget[r] > 0 ? sa.budget[r] - 1 : 0);
    if (last >= cap || last >= maxPos)
      a.fail("row " + std::to_string(r) + ": position " + std::to_string(d.positions[r]) + " + budget " + std::to_string(sa.budget[r]) +
                 " - 1 reaches past the slot (cap " + std::to_string(cap) + ") or the RoPE tables (" + std::to_string(maxPos) + ")",
             true);
  }
  if (R > 0 && L > 0 && C > 0) K->decodeSteps(d, sa);
  return info.Env().Undefined();
}

KERNEL(decodeLayers)
  return decode_common(a, info, false);
END_KERNEL

KERNEL(decodeSteps)
  return decode_common(a, info, true);
END_KERNEL

// ================================================================================================
// control: info, setThreads, setIsa

Napi::Value info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", K->isa);
  o.Set("threads", bstar::pool_threads());
  Napi::Array avail = Napi::Array::New(env);
  uint32_t i = 0;
  for (const char* n : kIsas)
    if (cpu_has(n)) avail.Set(i++, n);
  o.Set("isas", avail);
  // how this kernel set multiplies bf16 pairs ('avx512bf16' or 'emulated'), and whether it could natively
  o.Set("bf16", K->bf16()->dot);
  o.Set("bf16Native", native_bf16_for(K) != nullptr);
  // Whether precision 'auto' picks bf16: where the bf16 GEMM in use is native and does more multiply-adds
  // per cycle than the fp32 one. AMD Zen 4/5 run vdpbf16ps at the rate of an fp32 FMA (two products per
  // lane); Intel's Sapphire/Emerald Rapids at a quarter of it (measured: docs/performance.md), where only
  // AMX would be faster (not implemented).
  o.Set("bf16Fast", std::strcmp(K->bf16()->dot, "emulated") != 0 && cpu_vendor_amd());
  return o;
}

KERNEL(setThreads)
  double n = a.num(0, "n");
  if (!(n >= 1) || n != std::floor(n) || n > 256)
    a.fail("argument n must be an integer in [1, 256], got " + std::to_string(n), true);
  bstar::pool_set_threads(int(n));
END_KERNEL

// setIsa(name): switch kernel set ('avx512' | 'avx2' | 'generic'); refuses one this CPU cannot run.
KERNEL(setIsa)
  Napi::Value v = info[0];
  if (!v.IsString()) a.fail(std::string("argument isa must be a string, got ") + Args::type_name(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  const KernelTable* t = table_for(s.c_str());
  if (!t) a.fail(std::string("argument isa must be ") + kIsaList + ", got '" + s + "'", true);
  if (!cpu_has(s.c_str())) a.fail("this CPU cannot run the '" + s + "' kernels", true);
  K = t;
  select_bf16();
  return Napi::String::New(info.Env(), K->isa);
END_KERNEL

// setBf16('native' | 'emulated'): which bf16 GEMM the kernel sets use (for testing the emulated one on a
// CPU with AVX512_BF16); 'native' where the CPU has none keeps the emulated one. Returns the one in use.
KERNEL(setBf16)
  Napi::Value v = info[0];
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s != "native" && s != "emulated") a.fail("argument impl must be 'native' or 'emulated', got " + (v.IsString() ? "'" + s + "'" : std::string(Args::type_name(v))), true);
  bf16_prefer_native = s == "native";
  select_bf16();
  return Napi::String::New(info.Env(), K->bf16()->dot);
END_KERNEL

// setGemmBlocking(kc, mc, nc): tuning hook for the current kernel set (0 keeps a value).
KERNEL(setGemmBlocking)
  long kc = a.dim(0, "kc"), mc = a.dim(1, "mc"), nc = a.dim(2, "nc");
  K->setGemmBlocking(kc, mc, nc);
END_KERNEL

// allocLarge(n): a zeroed Float32Array of n floats. From 4 MiB up it is its own anonymous mapping,
// 2 MiB aligned and advised for transparent huge pages (MADV_HUGEPAGE; this kernel's THP default is
// often "madvise"): a KV-cache arena of hundreds of MB then costs a few hundred page faults instead of
// ~10^5 on first touch, and the decode attention, which visits every slot's rows on every step,
// misses the TLB far less. Unmapped when the array is collected. Smaller sizes are plain V8 arrays.
KERNEL(allocLarge)
  const long n = a.dim(0, "n");
  Napi::Env env = info.Env();
  const size_t bytes = size_t(n) * 4;
  constexpr size_t kHuge = size_t(2) << 20;
  if (bytes < (size_t(4) << 20)) return Napi::Float32Array::New(env, size_t(n));
  const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
  void* raw = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) a.fail("cannot map " + std::to_string(bytes) + " bytes", true);
  const uintptr_t r = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t p = (r + kHuge - 1) / kHuge * kHuge;
  if (p > r) munmap(raw, p - r);
  const uintptr_t end = r + len + kHuge;
  if (end > p + len) munmap(reinterpret_cast<void*>(p + len), end - (p + len));
  madvise(reinterpret_cast<void*>(p), len, MADV_HUGEPAGE);
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(len));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, reinterpret_cast<void*>(p), bytes, [len](Napi::Env e, void* data) {
    munmap(data, len);
    Napi::MemoryManagement::AdjustExternalMemory(e, -int64_t(len));
  });
  return Napi::Float32Array::New(env, size_t(n), ab, 0);
END_KERNEL

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  K = best_table();
  // BSTAR_ISA=avx2|generic forces a lower instruction set (for testing); an unknown name, or one
  // the CPU lacks, fails the load with a message rather than being ignored.
  if (const char* e = std::getenv("BSTAR_ISA")) {
    if (*e && !table_for(e)) {
      Napi::Error::New(env, std::string("BSTAR_ISA=") + e + " is not an instruction set; expected " + kIsaList)
          .ThrowAsJavaScriptException();
      return exports;
    }
    if (*e && !cpu_has(e)) {
      Napi::Error::New(env, std::string("BSTAR_ISA=") + e + ": this CPU cannot run those kernels").ThrowAsJavaScriptException();
      return exports;
    }
    if (*e) K = table_for(e);
  }
  // BSTAR_BF16=emulated keeps the emulated bf16 GEMM on a CPU with AVX512_BF16 (for testing).
  if (const char* e = std::getenv("BSTAR_BF16")) {
    if (*e && std::strcmp(e, "native") && std::strcmp(e, "emulated")) {
      Napi::Error::New(env, std::string("BSTAR_BF16=") + e + " is not a bf16 implementation; expected native or emulated")
          .ThrowAsJavaScriptException();
      return exports;
    }
    bf16_prefer_native = std::strcmp(e, "emulated") != 0;
  }
  select_bf16();
#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))
  EXPORT(info);
  EXPORT(setThreads);
  EXPORT(setIsa);
  EXPORT(setBf16);
  EXPORT(setGemmBlocking);
  EXPORT(allocLarge);
  EXPORT(matmul);
  EXPORT(packB);
  EXPORT(matmulPacked);
  EXPORT(decodeLayers);
  EXPORT(decodeSteps);
  EXPORT(embeddingForward);
  EXPORT(embeddingBackward);
  EXPORT(rmsnormForward);
  EXPORT(rmsnormBackward);
  EXPORT(ropeForward);
  EXPORT(ropeBackward);
  EXPORT(attentionForward);
  EXPORT(attentionKvForward);
  EXPORT(attentionBackward);
  EXPORT(swigluForward);
  EXPORT(swigluBackward);
  EXPORT(add);
  EXPORT(scale);
  EXPORT(sumSquares);
  EXPORT(crossEntropy);
  EXPORT(adamw);
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(bstar_engine, Init)
