// Character-level tokenizer: one id per Unicode code point of a fixed alphabet, plus four special
// tokens. It is saved as a real Hugging Face tokenizer.json — a BPE model with an empty merge list
// (so the `tokenizers` library splits text into single characters and maps each through the vocab),
// no normalizer or pre-tokenizer, a Fuse decoder (tokens joined without spaces) and a
// TemplateProcessing post-processor that prepends <s>, as Llama tokenizers do. Loading checks that
// the JSON has exactly that shape, so a general tokenizer.json is never misread as char-level.
import { TokenizerError, type DecodeOptions, type EncodeOptions, type Tokenizer } from './types.js';

export const CHAR_SPECIALS = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<pad>' } as const;

export interface CharTokenizerOptions {
  /** What encode does with a character outside the alphabet: throw (default) or map to <unk>. */
  onUnknown?: 'error' | 'unk';
  /** Saved as model_max_length in tokenizer_config.json. */
  modelMaxLength?: number;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  readonly unkId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly padId = 3;
  /** id → text; specials hold their content (<s>, …). */
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;
  private readonly onUnknown: 'error' | 'unk';
  private readonly modelMaxLength: number | undefined;

  /** Ids: <unk>=0, <s>=1, </s>=2, <pad>=3, then the alphabet in the given order from 4. */
  constructor(alphabet: Iterable<string>, opts: CharTokenizerOptions = {}) {
    const symbols = [...alphabet];
    const specials = Object.values(CHAR_SPECIALS) as string[];
    this.tokens = [...specials, ...symbols];
    this.ids = new Map();
    symbols.forEach((s, i) => {
      if (typeof s !== 'string' || [...s].length !== 1) {
        throw new TokenizerError(`char tokenizer: alphabet[${i}] must be exactly one character (Unicode code point); found ${JSON.stringify(s)}`);
      }
      if (this.ids.has(s)) throw new TokenizerError(`char tokenizer: alphabet[${i}] ${JSON.stringify(s)} repeats alphabet[${this.ids.get(s)! - specials.length}]`);
      this.ids.set(s, i + specials.length);
    });
    this.vocabSize = this.tokens.length;
    this.onUnknown = opts.onUnknown ?? 'error';
    this.modelMaxLength = opts.modelMaxLength;
  }

  /** The alphabet without the special tokens. */
  get alphabet(): string[] {
    return this.tokens.slice(4);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = opts.addBos ? [this.bosId] : [];
    let pos = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id !== undefined) out.push(id);
      else if (this.onUnknown === 'unk') out.push(this.unkId);
      else {
        throw new TokenizerError(
          `char tokenizer: character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${pos} of the text is not in the alphabet`,
        );
      }
      pos++;
    }
    return out;
  }

  decodeToken(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`char tokenizer: token id ${id} is outside [0, ${this.vocabSize})`);
    }
    return this.tokens[id];
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      if (opts.skipSpecialTokens && this.isSpecial(ids[i])) continue;
      s += this.decodeToken(ids[i]);
    }
    return s;
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < 4;
  }

  toHfFiles(): Record<string, unknown> {
    return {
      'tokenizer.json': this.tokenizerJson(),
      'tokenizer_config.json': this.tokenizerConfig(),
      'special_tokens_map.json': {
        bos_token: CHAR_SPECIALS.bos,
        eos_token: CHAR_SPECIALS.eos,
        unk_token: CHAR_SPECIALS.unk,
        pad_token: CHAR_SPECIALS.pad,
      },
    };
  }

  private tokenizerJson(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => (vocab[t] = i));
    const bos = CHAR_SPECIALS.bos;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.tokens.slice(0, 4).map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: bos, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: bos, type_id: 1 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { [bos]: { id: bos, ids: [this.bosId], tokens: [bos] } },
      },
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: CHAR_SPECIALS.unk,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }

  private tokenizerConfig(): Record<string, unknown> {
    const decoder: Record<string, unknown> = {};
    for (let id = 0; id < 4; id++) {
      decoder[String(id)] = { content: this.tokens[id], lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
    }
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      add_bos_token: true,
      add_eos_token: false,
      bos_token: CHAR_SPECIALS.bos,
      eos_token: CHAR_SPECIALS.eos,
      unk_token: CHAR_SPECIALS.unk,
      pad_token: CHAR_SPECIALS.pad,
      clean_up_tokenization_spaces: false,
      ...(this.modelMaxLength !== undefined ? { model_max_length: this.modelMaxLength } : {}),
      added_tokens_decoder: decoder,
      bstar_tokenizer: 'char',
    };
  }

  /**
   * Reads a tokenizer.json written by toHfFiles() (or any with the same shape). `file` names the
   * source in errors. Throws TokenizerError naming the first field that differs from that shape.
   */
  static fromHfJson(json: unknown, file = 'tokenizer.json', opts: CharTokenizerOptions = {}): CharTokenizer {
    const bad = (field: string, expected: string, found: unknown): never => {
      throw new TokenizerError(`${file}: ${field}: expected ${expected}, found ${JSON.stringify(found)}`);
    };
    if (!isObj(json)) return bad('(top level)', 'an object', json);
    const model = json.model;
    if (!isObj(model)) return bad('model', 'an object', model);
    if (model.type !== 'BPE') bad('model.type', '"BPE" (char-level = BPE with no merges)', model.type);
    if (!Array.isArray(model.merges) || model.merges.length !== 0) bad('model.merges', 'an empty list for a char-level tokenizer', Array.isArray(model.merges) ? `${model.merges.length} merges` : model.merges);
    if (json.normalizer !== null && json.normalizer !== undefined) bad('normalizer', 'null', json.normalizer);
    if (json.pre_tokenizer !== null && json.pre_tokenizer !== undefined) bad('pre_tokenizer', 'null', json.pre_tokenizer);
    if (!isObj(json.decoder) || json.decoder.type !== 'Fuse') bad('decoder', '{"type":"Fuse"}', json.decoder);
    const vocab = model.vocab;
    if (!isObj(vocab)) return bad('model.vocab', 'an object token → id', vocab);
    const byId: string[] = [];
    for (const [tok, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0) bad(`model.vocab[${JSON.stringify(tok)}]`, 'a non-negative integer id', id);
      if (byId[id as number] !== undefined) bad(`model.vocab[${JSON.stringify(tok)}]`, 'a unique id', `id ${id} also used by ${JSON.stringify(byId[id as number])}`);
      byId[id as number] = tok;
    }
    for (let i = 0; i < byId.length; i++) if (byId[i] === undefined) bad('model.vocab', `contiguous ids 0..${byId.length - 1}`, `no token with id ${i}`);
    const specials = Object.values(CHAR_SPECIALS) as string[];
    specials.forEach((s, i) => {
      if (byId[i] !== s) bad(`model.vocab id ${i}`, JSON.stringify(s), byId[i]);
    });
    const added = json.added_tokens;
    if (!Array.isArray(added)) return bad('added_tokens', 'a list', added);
    specials.forEach((s, i) => {
      const a = added.find((t) => isObj(t) && t.id === i);
      if (!isObj(a) || a.content !== s || a.special !== true) bad(`added_tokens (id ${i})`, `{"content":${JSON.stringify(s)},"special":true}`, a);
    });
    return new CharTokenizer(byId.slice(specials.length), opts);
  }
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
