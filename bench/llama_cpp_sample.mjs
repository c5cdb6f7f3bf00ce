// Decode speed of llama.cpp (node-llama-cpp) on a GGUF file: one sequence, `prompt` ids, then up to
// `newTokens` sampled at temperature 1 (it may stop early on the end-of-generation token).
//   node bench/llama_cpp_sample.mjs <node-llama-cpp module> '{"model": "x.gguf", "prompt": [1, 5], "newTokens": 128, "threads": 2}'
const [mod, argJson] = process.argv.slice(2);
const { getLlama } = await import(mod);
const a = JSON.parse(argJson);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: a.model });
const ctx = await model.createContext({ contextSize: a.prompt.length + a.newTokens + 8, batchSize: 512, threads: a.threads });
const seq = ctx.getSequence();
const t0 = performance.now();
let first = 0;
let n = 0;
for await (const _t of seq.evaluate(a.prompt, { temperature: 1, seed: 1 })) {
  if (n === 0) first = performance.now() - t0;
  if (++n >= a.newTokens) break;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ tokens: n, tokensPerS: (n / ms) * 1000, ttftMs: first }));
await ctx.dispose();
await model.dispose();
await llama.dispose();
