// Runs when `node-gyp rebuild` fails at install time. The TypeScript kernels still work, so the
// install goes on; say plainly what happened and how to get the fast path back.
console.warn(
  "bstar: the native engine addon did not build (see the node-gyp output above).\n" +
    "bstar will run on its pure-TypeScript kernels, which are much slower.\n" +
    "Fix: install a C++ toolchain (g++, make, python3 for node-gyp), then run `npm rebuild bstar` or `npx node-gyp rebuild`."
);
