// Decode speed of llama.cpp (node-llama-cpp) on a GGUF file: `prompts` (token ids; one sequence each, all in
// one context so that llama.cpp decodes them together in one batch, its own batched decoding), then up to
// `newTokens` tokens per sequence sampled at temperature 1 (a sequence may stop early on the
// end-of-generation token). Prints one JSON line: tokens, tokens/s over the whole run, time to first
// token, and the decode rate after it (tokens after each sequence's first over the time after the first).
//   node bench/llama_cpp_sample.mjs <node-llama-cpp module> '{"model": "x.gguf", "prompts": [[1, 5]], "newTokens": 128, "threads": 2}'
// ("prompt": [...] is accepted for one sequence.)
const [mod, argJson] = process.argv.slice(2);
const { getLlama } = await import(mod);
const a = JSON.parse(argJson);
const prompts = a.prompts ?? [a.prompt];
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: a.model });
const longest = Math.max(...prompts.map((p) => p.length));
const ctx = await model.createContext({ contextSize: longest + a.newTokens + 8, sequences: prompts.length, batchSize: Math.max(512, prompts.length), threads: a.threads });
const seqs = prompts.map(() => ctx.getSequence());
const t0 = performance.now();
let first = 0;
let n = 0;
await Promise.all(prompts.map(async (prompt, i) => {
  let mine = 0;
  for await (const _t of seqs[i].evaluate(prompt, { temperature: 1, seed: 1 + i })) {
    if (n === 0) first = performance.now() - t0;
    n++;
    if (++mine >= a.newTokens) break;
  }
}));
const ms = performance.now() - t0;
console.log(JSON.stringify({ sequences: prompts.length, tokens: n, tokensPerS: (n / ms) * 1000, ttftMs: first, decodeTokensPerS: ((n - prompts.length) / (ms - first)) * 1000, kvCache: 'f16 (llama.cpp default)' }));
await ctx.dispose();
await model.dispose();
await llama.dispose();
