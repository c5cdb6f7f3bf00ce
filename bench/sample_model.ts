// One sampling measurement of a real checkpoint in its own process (so that its memory is its own), for
// `npm run bench -- sample --model <dir>`: the checkpoint's weights in the KV-cache sampler at
// sampling.precision fp32 or bf16, `batch` sequences of a 16-token seeded random prompt, `newTokens`
// tokens each at temperature 1 with eos ignored; one JSON line: tokens/s (generated tokens over the whole
// call, weight packing and prefill included), time to first token, the decode rate after it (tokens after
// each sequence's first over the time after the first token), peak RSS.
// With BSTAR_PROFILE=1 every kernel call is timed (bench/profile.ts) and the measured call's breakdown goes to
// stderr after a line "kernel profile".
//   node dist/bench/sample_model.js <dir> <batch> <newTokens> <threads> <fp32|bf16>
import { getKernels, type Precision } from '../src/engine/index.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { Sampler } from '../src/model/sampler.js';
import { profileKernels } from './profile.js';
import { benchPrompts, fullVocabTokenizer, PROMPT_LEN } from './sample_vocab.js';

function main(): void {
  const [dir, b, n, th, prec] = process.argv.slice(2);
  const [batch, newTokens, threads] = [b, n, th].map(Number);
  const precision = prec as Precision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`sample_model: precision must be fp32 or bf16, found ${prec}`);
  const k = getKernels();
  k.setThreads(threads);
  const prof = process.env.BSTAR_PROFILE === '1' ? profileKernels(k) : null;
  const ck = loadCheckpoint(dir, { tokenizer: false, trainingState: false });
  const tok = fullVocabTokenizer(ck.config.vocab_size);
  const reqs = benchPrompts(batch, ck.config.vocab_size).map((prompt) => ({ prompt }));
  const sampler = new Sampler(ck.config, ck.weights, tok, { kernels: prof?.kernels ?? k, precision, maxBatch: batch, kvBudgetTokens: batch * (PROMPT_LEN + newTokens), preallocate: true });
  // a short warm-up call packs the weights once and touches the code paths
  sampler.generate(reqs.slice(0, 1), { seed: 1, temperature: 1, maxNewTokens: 2, ignoreEos: true, addBos: false });
  prof?.reset();
  const { stats } = sampler.generate(reqs, { seed: 0, temperature: 1, maxNewTokens: newTokens, ignoreEos: true, addBos: false });
  if (prof) console.error(`kernel profile (${precision}, batch ${batch}, ${threads} threads)\n${prof.report(stats.totalMs)}`);
  console.log(JSON.stringify({
    precision, batch, threads, kernels: k.info(), generated: stats.generatedTokens, seconds: stats.totalMs / 1000,
    tokensPerSecond: stats.generatedTokens / (stats.totalMs / 1000), ttftMs: stats.timeToFirstTokenMs,
    decodeTokensPerSecond: (stats.generatedTokens - batch) / ((stats.totalMs - stats.timeToFirstTokenMs) / 1000),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }));
}

main();
