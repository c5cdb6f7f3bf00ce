// General Hugging Face tokenizer.json (byte-level BPE as Llama-3 / Qwen2 ship it, SentencePiece-style
// BPE with byte fallback as Llama-2 / Mistral ship it, and whatever else tokenizers.js implements)
// behind bstar's Tokenizer interface, plus the chat template of tokenizer_config.json rendered with
// @huggingface/jinja. Both libraries are pure JS and need no download.
//
// Special-token ids come from tokenizer_config.json (bos_token, eos_token, pad_token, unk_token as
// strings or {content} objects) looked up in the vocabulary; `encode(text, {addBos: true})` runs the
// tokenizer's own post-processor (what `tokenizer(text)` does in transformers), `addBos: false`
// encodes the bare text.
import { Tokenizer as HfJsTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { TokenizerError, type DecodeOptions, type EncodeOptions, type Tokenizer } from './types.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf';
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number | null;
  /** The tokenizer_config.json chat template, when there is one. */
  readonly chatTemplate: string | null;
  private readonly tok: HfJsTokenizer;
  private readonly special = new Set<number>();
  private readonly tokens: Record<string, string | null>;
  private template: Template | null = null;

  constructor(
    private readonly tokenizerJson: Record<string, unknown>,
    private readonly tokenizerConfig: Record<string, unknown>,
    readonly source = 'tokenizer.json',
  ) {
    try {
      this.tok = new HfJsTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`${source}: cannot be loaded (${(e as Error).message})`);
    }
    let maxId = -1;
    for (const id of this.tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    for (const [id, t] of this.tok.get_added_tokens_decoder()) if (t.special) this.special.add(id);
    const name = (field: string): string | null => {
      const v = tokenizerConfig[field];
      if (v === undefined || v === null) return null;
      if (typeof v === 'string') return v;
      if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
      throw new TokenizerError(`${source}: tokenizer_config.json field "${field}": expected a token string or {content}, found ${JSON.stringify(v)}`);
    };
    this.tokens = { bos: name('bos_token'), eos: name('eos_token'), pad: name('pad_token'), unk: name('unk_token') };
    const id = (field: string, tokName: string | null): number | null => {
      if (tokName === null) return null;
      const i = this.tok.token_to_id(tokName);
      if (i === undefined) throw new TokenizerError(`${source}: tokenizer_config.json ${field} ${JSON.stringify(tokName)} is not in the vocabulary`);
      return i;
    };
    const eos = id('eos_token', this.tokens.eos);
    if (eos === null) throw new TokenizerError(`${source}: tokenizer_config.json has no eos_token (bstar needs one to end samples)`);
    this.eosId = eos;
    // no BOS (Qwen2): -1, which encode never emits
    this.bosId = id('bos_token', this.tokens.bos) ?? -1;
    this.padId = id('pad_token', this.tokens.pad) ?? eos;
    this.unkId = id('unk_token', this.tokens.unk);
    for (const i of [this.bosId, this.eosId, this.padId, this.unkId]) if (i !== null && i >= 0) this.special.add(i);
    const t = tokenizerConfig.chat_template;
    this.chatTemplate = typeof t === 'string' ? t : null;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addBos ?? false }).ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    for (let i = 0; i < ids.length; i++) this.checkId(ids[i]);
    return this.tok.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  /** One token alone (byte-level pieces of a multi-byte character decode to U+FFFD); use decode for text. */
  decodeToken(id: number): string {
    return this.decode([id]);
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  toHfFiles(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizerJson, 'tokenizer_config.json': this.tokenizerConfig };
  }

  /**
   * Renders the chat template as transformers' apply_chat_template(messages, tokenize=False,
   * add_generation_prompt) does (bos_token / eos_token given to the template as strings).
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (this.chatTemplate === null) throw new TokenizerError(`${this.source}: tokenizer_config.json has no chat_template`);
    for (const [i, m] of messages.entries()) {
      if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
        throw new TokenizerError(`messages[${i}]: expected {role: string, content: string}, found ${JSON.stringify(m)}`);
      }
    }
    try {
      this.template ??= new Template(this.chatTemplate);
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        bos_token: this.tokens.bos ?? '',
        eos_token: this.tokens.eos ?? '',
        pad_token: this.tokens.pad ?? '',
        unk_token: this.tokens.unk ?? '',
      });
    } catch (e) {
      if (e instanceof TokenizerError) throw e;
      throw new TokenizerError(`${this.source}: chat_template failed to render (${(e as Error).message})`);
    }
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`${this.source}: token id ${id} is outside [0, ${this.vocabSize})`);
  }
}

/** Whether `t` renders chat messages (an HfTokenizer with a chat template). */
export function hasChatTemplate(t: Tokenizer): t is HfTokenizer {
  return t instanceof HfTokenizer && t.chatTemplate !== null;
}
