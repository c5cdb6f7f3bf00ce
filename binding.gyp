{
  # The native engine. Kernels compiled once per instruction set, each in its own static library with
  # its own flags, and picked at run time from what the CPU reports (see src/engine/native/addon.cc).
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=fast", "-fPIC"],
    "cflags": ["-O3", "-fPIC"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
  },
  "targets": [
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["src/engine/native/kernels_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2"]
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["src/engine/native/kernels_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma"]
    },
    {
      "target_name": "kernels_generic",
      "type": "static_library",
      "sources": ["src/engine/native/kernels_generic.cc"]
    },
    {
      "target_name": "bstar_engine",
      "sources": ["src/engine/native/addon.cc", "src/engine/native/pool.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["kernels_avx512", "kernels_avx2", "kernels_generic"],
      "libraries": ["-lpthread"]
    }
  ]
}
