{
  # The native engine. Kernels compiled once per instruction set, each in its own static library with
  # its own flags, and picked at run time from what the CPU reports (see src/engine/native/addon.cc).
  # Per architecture: x86-64 builds avx512 (+ its AVX512_BF16 bf16 GEMM), avx2 and generic; aarch64
  # builds neon; anything else builds generic only. g++ or clang++ (CXX=clang++), as on macOS.
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=fast", "-fPIC"],
    "cflags": ["-O3", "-fPIC"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno", "-ffp-contract=fast"]
    }
  },
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "kernels_avx512",
          "type": "static_library",
          "sources": ["src/engine/native/kernels_avx512.cc"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2"]}
        },
        {
          "target_name": "kernels_avx512bf16",
          "type": "static_library",
          "sources": ["src/engine/native/kernels_avx512bf16.cc"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-mavx512bf16"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-mavx512bf16"]}
        },
        {
          "target_name": "kernels_avx2",
          "type": "static_library",
          "sources": ["src/engine/native/kernels_avx2.cc"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]}
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "kernels_neon",
          "type": "static_library",
          "sources": ["src/engine/native/kernels_neon.cc"]
        }
      ]
    }, {
      "targets": [
        {
          "target_name": "kernels_generic",
          "type": "static_library",
          "sources": ["src/engine/native/kernels_generic.cc"]
        }
      ]
    }]
  ],
  "targets": [
    {
      "target_name": "bstar_engine",
      "sources": ["src/engine/native/addon.cc", "src/engine/native/pool.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lpthread"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["kernels_avx512", "kernels_avx512bf16", "kernels_avx2", "kernels_generic"]}],
        ["target_arch=='arm64'", {"dependencies": ["kernels_neon"]}, {"dependencies": ["kernels_generic"]}]
      ]
    }
  ]
}
