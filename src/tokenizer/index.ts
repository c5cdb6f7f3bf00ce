// Tokenizers and the Hugging Face file loader. `loadTokenizer(dir)` reads tokenizer.json (+
// tokenizer_config.json) and dispatches on its model: the char-level shape written by CharTokenizer
// (BPE without merges), else a general tokenizer.json (byte-level BPE as Llama-3 / Qwen2 ship it,
// SentencePiece-style BPE as Llama-2 / Mistral) through HfTokenizer.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CharTokenizer, type CharTokenizerOptions } from './char.js';
import { HfTokenizer } from './hf.js';
import { TokenizerError, type Tokenizer } from './types.js';

export * from './types.js';
export { CharTokenizer, CHAR_SPECIALS } from './char.js';
export { HfTokenizer, hasChatTemplate, type ChatMessage } from './hf.js';

/** The tokenizer.json model is a kind this build cannot load yet. */
export class UnsupportedTokenizerError extends TokenizerError {}

/** A tokenizer from parsed tokenizer.json (+ optional tokenizer_config.json); `source` names the file in errors. */
export function tokenizerFromHf(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  source = 'tokenizer.json',
  opts: CharTokenizerOptions = {},
): Tokenizer {
  const j = tokenizerJson as { model?: { type?: unknown; merges?: unknown[] } } | null;
  const type = j?.model?.type;
  if (type === 'BPE' && Array.isArray(j?.model?.merges) && j!.model!.merges!.length === 0) {
    const cfg = (tokenizerConfig ?? {}) as { model_max_length?: unknown };
    const maxLen = typeof cfg.model_max_length === 'number' ? cfg.model_max_length : undefined;
    return CharTokenizer.fromHfJson(tokenizerJson, source, { modelMaxLength: maxLen, ...opts });
  }
  if (type === 'BPE' || type === 'WordPiece' || type === 'Unigram') {
    const cfg = tokenizerConfig ?? {};
    if (typeof cfg !== 'object' || Array.isArray(cfg)) throw new TokenizerError(`${source}: tokenizer_config.json must be a JSON object`);
    return new HfTokenizer(tokenizerJson as Record<string, unknown>, cfg as Record<string, unknown>, source);
  }
  throw new UnsupportedTokenizerError(`${source}: field "model.type": expected "BPE", "WordPiece" or "Unigram", found ${JSON.stringify(type)}`);
}

/** Reads <dir>/tokenizer.json and, when present, <dir>/tokenizer_config.json. */
export function loadTokenizer(dir: string, opts: CharTokenizerOptions = {}): Tokenizer {
  const file = path.join(dir, 'tokenizer.json');
  if (!existsSync(file)) throw new TokenizerError(`${file}: not found (a tokenizer directory needs tokenizer.json)`);
  const json = parseJsonFile(file);
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? parseJsonFile(cfgFile) : null;
  return tokenizerFromHf(json, cfg, file, opts);
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TokenizerError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
