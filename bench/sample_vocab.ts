// A char tokenizer with exactly a model's vocab_size ids (4 specials + vocab_size − 4 distinct code points
// from U+0100 up, surrogates and noncharacters skipped), for sampling benchmarks of random-weight
// checkpoints: the sampler computes logits for every id the tokenizer has, and llama.cpp for every row of
// the GGUF's output matrix, so both sides then do the same LM-head work. Prompts are token ids, so the
// text side of the vocabulary never matters.
import { CharTokenizer } from '../src/tokenizer/index.js';

export const PROMPT_LEN = 16;

export function fullVocabTokenizer(V: number): CharTokenizer {
  const chars: string[] = [];
  for (let cp = 0x100; chars.length < V - 4; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) continue;
    chars.push(String.fromCodePoint(cp));
  }
  return new CharTokenizer(chars);
}

/** The seeded prompts of a sampling benchmark at `batch` sequences (the same for bstar and llama.cpp). */
export function benchPrompts(batch: number, V: number, seed = batch): number[][] {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return Array.from({ length: batch }, () => Array.from({ length: PROMPT_LEN }, () => 4 + (next() % (V - 4))));
}
