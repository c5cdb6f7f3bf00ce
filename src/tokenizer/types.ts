// The tokenizer contract. Every tokenizer bstar uses (the char-level one for the embedded task, and
// later the general Hugging Face tokenizer.json loader) implements this interface; nothing above
// src/tokenizer knows which one it holds.

export interface EncodeOptions {
  /** Prepend the BOS id (what Hugging Face `tokenizer(text)` does for Llama-style post-processors). Default false. */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (bos, eos, pad, unk) from the text. Default false, as in Hugging Face. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** 'char' for the char-level tokenizer; loaders for other kinds add their own. */
  readonly kind: string;
  /** Number of ids (the model's vocab_size must be at least this). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** The unknown-token id, or null when the tokenizer has none. */
  readonly unkId: number | null;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /**
   * The text of one token, for streaming: for tokenizers whose tokens are whole characters,
   * decode(ids) === ids.map(decodeToken).join('') (special tokens included as their content).
   */
  decodeToken(id: number): string;
  /** True for bos/eos/pad/unk and any other special token. */
  isSpecial(id: number): boolean;
  /** The Hugging Face files that describe this tokenizer, by file name (tokenizer.json, …). */
  toHfFiles(): Record<string, unknown>;
}

/** Bad tokenizer input or file: names the file/field/position, what was expected and what was found. */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
}
