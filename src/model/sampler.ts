// Batched sampling through a KV cache, with continuous batching and prompt prefix sharing.
//
// Every (request, sample) is a sequence that needs one cache slot. Slots are a fixed grid carved
// out of a token budget (S slots × cap positions, cap = the longest prompt + max_new_tokens − 1 of
// the call). The loop: admit waiting sequences into free slots (a request's prompt is prefilled once,
// into the first of its samples to get a slot; its other samples copy those KV rows, from that slot
// or from a saved copy when they are admitted later); every live sequence then decodes one token in
// one forward over all of them (GEMMs of live × hidden); a sequence that ends (eos, stop string,
// max_new_tokens, context) frees its slot for the next waiting one.
//
// Vocabulary: a model may have more ids than its tokenizer (padded embeddings, e.g. Qwen2.5's 151936 rows
// for 151665 tokens). Ids the tokenizer cannot decode are never sampled: the LM head is cut to the
// tokenizer's ids, so logits, token choice and logprobs are over those ids only.
//
// Reproducibility: sample j of request r draws from its own Rng(deriveSeed(seed, 'sample', id, j)),
// one coin per token, and every row's arithmetic is independent of the other rows (kernel
// contract), so the same seed gives the same samples whatever maxBatch, budget, thread count or
// order of completion.
import type { Kernels, Precision } from '../engine/kernels.js';
import { getKernels, withMatmulPrecision } from '../engine/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { deriveSeed, Rng } from '../util/rng.js';
import {
  createKvCache, createScratch, decodeStepsRows, decoderWeights, dimsOf, forwardRows, refreshPacked, restoreSlotPrefix, copySlot, saveSlotPrefix,
  type DecodeScratch, type DecoderWeights, type Dims, type KvCache, type SlotPrefix,
} from './decoder.js';
import { eosIds, type ModelConfig } from './config.js';
import { firstNonFinite } from './params.js';
import { ropeTables } from './rope.js';
import { chooseToken, createChoiceScratch, logSumExp, topLogprobs, type ChoiceScratch, type TokenChoiceParams, type TopLogprob } from './sampling.js';

export class SamplingError extends Error {
  override readonly name: string = 'SamplingError';
}

/**
 * The model gave non-finite logits (every sampled token and scored logprob is checked). Names where, and
 * the first non-finite weight (tensor and flat index) when there is one, else says an activation overflowed.
 */
export class NonFiniteLogitsError extends SamplingError {
  override readonly name = 'NonFiniteLogitsError';
}

export interface SamplerOptions {
  /** Default: getKernels(). */
  kernels?: Kernels;
  /** GEMM precision of the projections and the head (default fp32; bf16: see withMatmulPrecision). */
  precision?: Precision;
  /** KV cache budget in token positions (all slots together). Default 65536. */
  kvBudgetTokens?: number;
  /** Most sequences decoded together. Default 256. */
  maxBatch?: number;
  /** Most rows in one prefill/scoring forward. Default 1024. */
  prefillChunk?: number;
  /**
   * Keep copies of the projection weights packed by the kernels (one more copy of the weights in
   * memory), rewritten from the live weights at the start of every generate()/logprobs() call, so
   * that no decode step re-packs them. Same results bit for bit. Default true.
   */
  packedWeights?: boolean;
  /**
   * Allocate the KV-cache arena for the whole kvBudgetTokens now and touch every page, instead of on
   * the first call that needs it (where its page faults are paid inside that call). For benchmarks
   * and long-lived samplers. Default false.
   */
  preallocate?: boolean;
}

export interface GenerateParams {
  /** Run seed; each (request id, sample index) derives its own stream from it. */
  seed: number;
  /** ≥ 0; 0 = greedy. */
  temperature: number;
  /** In (0, 1]. Default 1 (off). */
  topP?: number;
  /** Non-negative integer; 0 = off (default). */
  topK?: number;
  /** Positive integer. */
  maxNewTokens: number;
  /** Generation ends when the decoded text contains one of these (matched across token boundaries). */
  stop?: string[];
  /** Samples per request unless the request says otherwise. Default 1. */
  n?: number;
  /** Prepend BOS to text prompts. Default true. Token-id prompts are used as given. */
  addBos?: boolean;
  /** Keep going past eos (benchmarks that need exactly max_new_tokens). Default false. */
  ignoreEos?: boolean;
  /** Called as each sample finishes (progress displays, streaming to disk); `done` of `total`. */
  onSample?: (sample: Sample, done: number, total: number) => void;
  /**
   * Called after every sampled token of every sequence (token streaming). It must not keep the
   * event's arrays. Unset, nothing is allocated; set or not, the samples are the same.
   */
  onToken?: (e: TokenEvent) => void;
  /**
   * Per sampled token, also the k most likely tokens under the model (Sample.topLogprobs; bstar
   * serve's top_logprobs). 0 = off (default). Set, every decode step takes the one-step path (the
   * same samples).
   */
  topLogprobs?: number;
}

export interface GenerateRequest {
  /** Names the request's random streams (default: its index in the call, as a string). */
  id?: string;
  /** Text (tokenized here) or token ids. */
  prompt: string | readonly number[];
  /** Overrides GenerateParams.n. */
  n?: number;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Sample {
  requestIndex: number;
  requestId: string;
  sampleIndex: number;
  promptTokens: number;
  /** Generated ids; the eos id is included when finishReason is 'eos'. */
  tokens: number[];
  /** Decoded generated text: without eos, and cut just before the stop string when one matched. */
  text: string;
  /** Per token: log p(token) under the model itself (log_softmax of the raw logits; T = 1, no top-k/top-p). */
  modelLogprobs: number[];
  /** Per token: log q(token) under the distribution actually sampled (temperature, top-k, top-p); 0 when greedy. */
  samplerLogprobs: number[];
  /** Σ modelLogprobs. */
  logprob: number;
  /** With GenerateParams.topLogprobs k: per token, the k most likely tokens under the model, most likely first. */
  topLogprobs?: TopLogprob[][];
  finishReason: FinishReason;
  /** The stop string that ended the sample (finishReason 'stop'). */
  stopString?: string;
}

export interface GenerateStats {
  sequences: number;
  slots: number;
  slotCapacity: number;
  prefillTokens: number;
  generatedTokens: number;
  decodeSteps: number;
  /** From the call to the first sampled token. */
  timeToFirstTokenMs: number;
  totalMs: number;
  /** Cache arena in use plus saved prompt prefixes at their peak. */
  peakKvBytes: number;
  /** Sequences of cancelled requests (GenerateRun.cancel) that were stopped or never started. */
  cancelledSequences: number;
}

export interface GenerateResult {
  /** samples[r][j]; a cancelled request's list misses the samples it did not finish. */
  samples: Sample[][];
  stats: GenerateStats;
}

/** A generate() call driven step by step (Sampler.start). */
export interface GenerateRun {
  /** Runs one admit/prefill or decode step; false once every sequence has ended. */
  step(): boolean;
  /** Stops request r: its live sequences end before the next step without a sample, its waiting ones never start. */
  cancel(requestIndex: number): void;
  /** The samples and stats, once step() has returned false. */
  result(): GenerateResult;
}

/** A sequence as it stands after each sampled token (GenerateParams.onToken); valid only during the call. */
export interface TokenEvent {
  readonly requestIndex: number;
  readonly sampleIndex: number;
  /** Tokens generated so far (the newest last). */
  readonly tokens: readonly number[];
  readonly modelLogprobs: readonly number[];
  /** With GenerateParams.topLogprobs: per token, the k most likely tokens. */
  readonly topLogprobs?: readonly TopLogprob[][];
  /** Decoded text so far (cut before a matched stop string once one matched); may still change at its end (see streamableLength). */
  readonly text: string;
  /** Set on the sequence's last token. */
  readonly finishReason: FinishReason | null;
  /** The stop string that ended it (finishReason 'stop'). */
  readonly stopString?: string;
}

export interface ScoreItem {
  prompt: string | readonly number[];
  completion: string | readonly number[];
}

export interface ScoreResult {
  promptTokens: number;
  /** The completion's token ids. */
  tokens: number[];
  /** log p(token | prompt, earlier tokens) under the model, per completion token. */
  logprobs: number[];
  logprob: number;
  /** With logprobs(…, {topLogprobs: k}): per completion token, the k most likely tokens at its position. */
  topLogprobs?: TopLogprob[][];
}

interface Seq {
  r: number;
  j: number;
  slot: number;
  P: number;
  rng: Rng;
  tokens: number[];
  modelLp: number[];
  samplerLp: number[];
  topLp: TopLogprob[][] | null;
  text: string;
  finish: FinishReason | null;
  stopString?: string;
}

interface PrefixEntry {
  logits: Float32Array; // [V] next-token logits after the prompt
  hostSlot: number; // slot holding the prompt's rows this round, −1 after the round
  saved: SlotPrefix | null;
  remaining: number; // samples not yet admitted
}

interface RowSpec {
  slot: number;
  tokens: readonly number[];
  /** logits wanted for tokens[i] with i ≥ logitsFrom */
  logitsFrom: number;
  tag: number;
}

export class Sampler {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  private readonly k: Kernels;
  private readonly d: Dims;
  private readonly w: DecoderWeights;
  private readonly rope: { cos: Float32Array; sin: Float32Array };
  private readonly budget: number;
  private readonly maxBatch: number;
  private readonly chunk: number;
  private readonly eos: Set<number>;
  private readonly eosIds: Int32Array;
  private arenaK: Float32Array[] = [];
  private arenaV: Float32Array[] = [];
  private scratch: DecodeScratch | null = null;
  private logitsBuf = new Float32Array(0);
  private readonly choice: ChoiceScratch;
  private readonly packed: boolean;
  private readonly weights: ReadonlyMap<string, Float32Array>;

  constructor(config: ModelConfig, weights: ReadonlyMap<string, Float32Array>, tokenizer: Tokenizer, opts: SamplerOptions = {}) {
    this.config = config;
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.k = withMatmulPrecision(opts.kernels ?? getKernels(), opts.precision ?? 'fp32');
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new SamplingError(`tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${config.vocab_size}`);
    }
    // the sampled vocabulary: the tokenizer's ids (the LM head rows beyond them are never used)
    this.d = { ...dimsOf(config), V: tokenizer.vocabSize };
    this.w = decoderWeights(config, weights);
    this.w.lmHead = this.w.lmHead.subarray(0, this.d.V * this.d.C);
    this.packed = opts.packedWeights ?? true;
    this.rope = ropeTables(config, this.d.maxPos);
    this.budget = positiveInt(opts.kvBudgetTokens ?? 65536, 'kvBudgetTokens');
    this.maxBatch = positiveInt(opts.maxBatch ?? 256, 'maxBatch');
    this.chunk = positiveInt(opts.prefillChunk ?? 1024, 'prefillChunk');
    this.eos = new Set([tokenizer.eosId, ...eosIds(config).filter((id) => id < this.d.V)]);
    this.eosIds = Int32Array.from(this.eos);
    this.choice = createChoiceScratch(this.d.V);
    if (opts.preallocate) {
      const c = createKvCache(this.d, 1, this.budget);
      for (const a of [...c.k, ...c.v]) a.fill(0);
      this.arenaK = c.k;
      this.arenaV = c.v;
    }
  }

  // --------------------------------------------------------------------------------------------
  // generation

  generate(requests: readonly GenerateRequest[], params: GenerateParams): GenerateResult {
    const run = this.start(requests, params);
    while (run.step());
    return run.result();
  }

  /**
   * generate() one step at a time: each step() admits waiting sequences or decodes one token for
   * every live one, and returns false when all are done. Between steps the caller may yield to the
   * event loop (bstar serve streams tokens and notices disconnects that way) and cancel() requests.
   * Driving a run to the end gives exactly generate()'s samples. Bad requests or parameters are
   * reported (SamplingError) by the first step().
   */
  start(requests: readonly GenerateRequest[], params: GenerateParams): GenerateRun {
    const cancelled = new Set<number>();
    const it = this.steps(requests, params, cancelled);
    let out: GenerateResult | null = null;
    return {
      step: () => {
        if (out) return false;
        const r = it.next();
        if (r.done) out = r.value;
        return !r.done;
      },
      cancel: (requestIndex: number) => void cancelled.add(requestIndex),
      result: () => {
        if (!out) throw new SamplingError('GenerateRun.result(): the run has not finished (call step() until it returns false)');
        return out;
      },
    };
  }

  private *steps(requests: readonly GenerateRequest[], params: GenerateParams, cancelled: ReadonlySet<number>): Generator<void, GenerateResult, void> {
    const t0 = performance.now();
    const choice = checkParams(params);
    if (this.packed) refreshPacked(this.k, this.d, this.w);
    const maxNew = params.maxNewTokens;
    const stops = params.stop ?? [];
    const { maxPos, V } = this.d;
    const prompts = requests.map((req, i) => this.promptIds(req.prompt, i, params.addBos ?? true, 'prompt'));
    const ns = requests.map((req, i) => positiveInt(req.n ?? params.n ?? 1, req.n !== undefined ? `requests[${i}].n` : 'n'));
    const ids = requests.map((req, i) => req.id ?? String(i));
    const seen = new Map<string, number>();
    ids.forEach((id, i) => {
      // equal ids would give equal random streams, i.e. duplicated samples
      if (seen.has(id)) throw new SamplingError(`requests[${i}].id ${JSON.stringify(id)} repeats requests[${seen.get(id)}].id; ids name the random streams and must be unique`);
      seen.set(id, i);
    });
    prompts.forEach((p, i) => {
      if (p.length >= maxPos) {
        throw new SamplingError(`requests[${i}].prompt has ${p.length} tokens; the context (max_position_embeddings) is ${maxPos}, so a prompt may have at most ${maxPos - 1}`);
      }
    });
    const capOf = (P: number) => Math.min(P + maxNew - 1, maxPos);
    let cap = 1;
    prompts.forEach((p, i) => {
      const c = capOf(p.length);
      if (c > this.budget) {
        throw new SamplingError(`requests[${i}] needs ${c} KV cache positions (prompt ${p.length} + max_new_tokens ${maxNew} − 1) but kvBudgetTokens is ${this.budget}`);
      }
      cap = Math.max(cap, c);
    });
    const total = ns.reduce((a, b) => a + b, 0);
    const samples: Sample[][] = requests.map(() => []);
    const stats: GenerateStats = {
      sequences: total, slots: 0, slotCapacity: cap, prefillTokens: 0, generatedTokens: 0, decodeSteps: 0,
      timeToFirstTokenMs: 0, totalMs: 0, peakKvBytes: 0, cancelledSequences: 0,
    };
    if (total === 0) return { samples, stats };
    const S = Math.min(this.maxBatch, Math.floor(this.budget / cap), total);
    const cache = this.cacheView(S, cap);
    stats.slots = S;
    const arenaBytes = S * cap * this.d.KV * this.d.D * 4 * 2 * this.d.L;
    let prefixBytes = 0;
    stats.peakKvBytes = arenaBytes;

    const queue: [number, number][] = [];
    ns.forEach((n, r) => {
      for (let j = 0; j < n; j++) queue.push([r, j]);
    });
    let qi = 0;
    const free: number[] = [];
    for (let s = S - 1; s >= 0; s--) free.push(s);
    const active: Seq[] = [];
    const prefixes = new Map<number, PrefixEntry>();
    let first = true;
    let done = 0;
    const onToken = params.onToken;
    const topK = params.topLogprobs ?? 0;
    if (!Number.isSafeInteger(topK) || topK < 0) throw new SamplingError(`topLogprobs: expected an integer ≥ 0, found ${topK}`);

    const charTokens = this.tokenizer.kind === 'char';
    const finishCheck = (q: Seq) => {
      const g = q.tokens.length;
      const last = q.tokens[g - 1];
      if (!params.ignoreEos && this.eos.has(last)) q.finish = 'eos';
      else {
        let before = q.text.length;
        if (charTokens) {
          if (!this.tokenizer.isSpecial(last)) q.text += this.tokenizer.decodeToken(last);
        } else {
          // multi-byte characters and leading-space markers span tokens: decode the whole completion
          // after a few prompt tokens of context (as vLLM's detokenizer does) and diff against the prefix
          const next = decodeAfter(this.tokenizer, prompts[q.r], q.tokens);
          before = commonPrefix(q.text, next);
          q.text = next;
        }
        const hit = findStop(q.text, before, stops);
        if (hit) {
          q.text = q.text.slice(0, hit.index);
          q.stopString = hit.stop;
          q.finish = 'stop';
        } else if (g >= maxNew || q.P + g >= maxPos) q.finish = 'length';
      }
    };
    const take = (q: Seq, logits: Float32Array, off: number) => {
      const c = chooseToken(logits, off, V, choice, q.rng, this.choice);
      if (!Number.isFinite(c.modelLogprob)) throw this.nonFinite(`requests[${q.r}] sample ${q.j} at generated token ${q.tokens.length + 1}`);
      if (first) {
        stats.timeToFirstTokenMs = performance.now() - t0;
        first = false;
      }
      q.tokens.push(c.token);
      q.modelLp.push(c.modelLogprob);
      q.samplerLp.push(c.samplerLogprob);
      if (q.topLp) q.topLp.push(topLogprobs(logits, off, V, topK));
      stats.generatedTokens++;
      finishCheck(q);
      if (onToken) onToken({ requestIndex: q.r, sampleIndex: q.j, tokens: q.tokens, modelLogprobs: q.modelLp, ...(q.topLp ? { topLogprobs: q.topLp } : {}), text: q.text, finishReason: q.finish, stopString: q.stopString });
    };
    const drop = () => {
      // cancelled requests: their live sequences end now (no sample), their waiting ones never start
      for (let i = active.length - 1; i >= 0; i--) {
        if (!cancelled.has(active[i].r)) continue;
        free.push(active[i].slot);
        active.splice(i, 1);
        stats.cancelledSequences++;
      }
      free.sort((a, b) => b - a);
    };
    const retire = () => {
      for (let i = active.length - 1; i >= 0; i--) {
        const q = active[i];
        if (!q.finish) continue;
        const sample: Sample = {
          requestIndex: q.r, requestId: ids[q.r], sampleIndex: q.j, promptTokens: q.P, tokens: q.tokens, text: q.text,
          modelLogprobs: q.modelLp, samplerLogprobs: q.samplerLp, logprob: q.modelLp.reduce((a, b) => a + b, 0),
          ...(q.topLp ? { topLogprobs: q.topLp } : {}),
          finishReason: q.finish, ...(q.stopString !== undefined ? { stopString: q.stopString } : {}),
        };
        samples[q.r][q.j] = sample;
        params.onSample?.(sample, ++done, total);
        free.push(q.slot);
        active.splice(i, 1);
      }
      free.sort((a, b) => b - a); // lowest slot first: placement never depends on completion timing beyond this
    };

    while (qi < queue.length || active.length > 0) {
      if (cancelled.size > 0) drop();
      // ---- admit waiting sequences into free slots; prefill prompts not seen yet
      const admitted: Seq[] = [];
      while (qi < queue.length && free.length > 0) {
        const [r, j] = queue[qi++];
        if (cancelled.has(r)) {
          stats.cancelledSequences++;
          continue;
        }
        admitted.push({
          r, j, slot: free.pop()!, P: prompts[r].length, rng: new Rng(deriveSeed(params.seed, 'sample', ids[r], j)),
          tokens: [], modelLp: [], samplerLp: [], topLp: topK > 0 ? [] : null, text: '', finish: null,
        });
      }
      if (admitted.length > 0) {
        const specs: RowSpec[] = [];
        for (const q of admitted) {
          if (prefixes.has(q.r)) continue;
          const P = prompts[q.r].length;
          prefixes.set(q.r, { logits: new Float32Array(V), hostSlot: q.slot, saved: null, remaining: ns[q.r] });
          specs.push({ slot: q.slot, tokens: prompts[q.r], logitsFrom: P - 1, tag: q.r });
          stats.prefillTokens += P;
        }
        this.runRows(cache, specs, (r, _i, logits, off) => prefixes.get(r)!.logits.set(logits.subarray(off, off + V)));
        const firstLogits = admitted.map((q) => prefixes.get(q.r)!.logits);
        for (const q of admitted) {
          const pe = prefixes.get(q.r)!;
          if (pe.hostSlot !== q.slot) {
            if (pe.hostSlot >= 0) copySlot(cache, pe.hostSlot, q.slot, q.P);
            else restoreSlotPrefix(cache, pe.saved!, q.slot);
          }
          pe.remaining--;
        }
        for (const [r, pe] of prefixes) {
          if (pe.remaining === 0) {
            if (pe.saved) prefixBytes -= savedBytes(pe.saved);
            prefixes.delete(r);
          } else if (pe.hostSlot >= 0) {
            // later samples of this prompt will find the host slot reused: keep a copy of its rows
            pe.saved = saveSlotPrefix(cache, pe.hostSlot, prompts[r].length);
            pe.hostSlot = -1;
            prefixBytes += savedBytes(pe.saved);
            stats.peakKvBytes = Math.max(stats.peakKvBytes, arenaBytes + prefixBytes);
          }
        }
        admitted.forEach((q, i) => {
          take(q, firstLogits[i], 0);
          active.push(q);
        });
        retire();
        yield;
        continue; // refill slots freed by sequences that ended on their first token
      }
      if (active.length === 0) break; // the rest was cancelled
      if (this.k.decodeSteps && this.w.p && topK === 0) {
        // ---- several decode steps for every live sequence in one native call (token choice included);
        // a sequence that ends inside the chunk (stop string) drops the tokens after its end
        const R = active.length;
        const s = this.ensureScratch(R);
        const { tokens, positions, slots } = decodeInputs(active);
        const budget = new Int32Array(R);
        const rng = new Uint32Array(4 * R);
        let most = 0;
        for (let i = 0; i < R; i++) {
          const q = active[i];
          const g = q.tokens.length;
          budget[i] = Math.min(maxNew - g, maxPos - (q.P + g));
          most = Math.max(most, budget[i]);
          rng.set(q.rng.getState().s, 4 * i);
        }
        // short chunks while stop strings can end sequences early or sequences wait for a slot
        // (and while a token callback streams them or a step-wise caller may cancel between chunks)
        const K = stops.length > 0 || qi < queue.length || onToken ? Math.min(most, DECODE_CHUNK) : most;
        const outTokens = new Int32Array(R * K);
        const outModelLp = new Float64Array(R * K);
        const outSamplerLp = new Float64Array(R * K);
        const outCount = new Int32Array(R);
        decodeStepsRows(this.k, this.d, this.w, this.rope, cache, s, positions, slots, R, this.ensureLogits(R), {
          tokens, budget, rng, temperature: choice.temperature, topP: choice.topP, topK: choice.topK, eos: this.eosIds,
          stopAtEos: !params.ignoreEos, steps: K, outTokens, outModelLp, outSamplerLp, outCount,
        });
        let ran = 0;
        for (let i = 0; i < R; i++) {
          const q = active[i];
          q.rng.setState({ s: [rng[4 * i], rng[4 * i + 1], rng[4 * i + 2], rng[4 * i + 3]], spareNormal: q.rng.getState().spareNormal });
          ran = Math.max(ran, outCount[i]);
          for (let c = 0; c < outCount[i] && !q.finish; c++) {
            if (!Number.isFinite(outModelLp[i * K + c])) throw this.nonFinite(`requests[${q.r}] sample ${q.j} at generated token ${q.tokens.length + 1}`);
            q.tokens.push(outTokens[i * K + c]);
            q.modelLp.push(outModelLp[i * K + c]);
            q.samplerLp.push(outSamplerLp[i * K + c]);
            stats.generatedTokens++;
            finishCheck(q);
            if (onToken) onToken({ requestIndex: q.r, sampleIndex: q.j, tokens: q.tokens, modelLogprobs: q.modelLp, text: q.text, finishReason: q.finish, stopString: q.stopString });
          }
        }
        stats.decodeSteps += ran;
        retire();
        if (qi < queue.length || active.length > 0) yield;
        continue;
      }
      // ---- one decode step for every live sequence
      const R = active.length;
      const s = this.ensureScratch(R);
      const { tokens, positions, slots } = decodeInputs(active);
      const rows = Int32Array.from({ length: R }, (_, i) => i);
      const logits = this.ensureLogits(R);
      forwardRows(this.k, this.d, this.w, this.rope, cache, s, tokens, positions, slots, R, rows, R, logits);
      stats.decodeSteps++;
      for (let i = 0; i < R; i++) take(active[i], logits, i * V);
      retire();
      if (qi < queue.length || active.length > 0) yield;
    }
    stats.totalMs = performance.now() - t0;
    return { samples, stats };
  }

  // --------------------------------------------------------------------------------------------
  // scoring: logprobs(prompt, completion)

  /** log p(completion | prompt) per token, for a batch (text prompts get BOS unless addBos is false). */
  logprobs(items: readonly ScoreItem[], opts: { addBos?: boolean; topLogprobs?: number } = {}): ScoreResult[] {
    const topK = opts.topLogprobs ?? 0;
    const { maxPos, V } = this.d;
    const seqs = items.map((it, i) => {
      const p = this.promptIds(it.prompt, i, opts.addBos ?? true, 'prompt', 'items');
      const c = this.promptIds(it.completion, i, false, 'completion', 'items');
      if (p.length + c.length > maxPos) {
        throw new SamplingError(`items[${i}]: prompt ${p.length} + completion ${c.length} tokens exceed the context (max_position_embeddings) ${maxPos}`);
      }
      const need = p.length + c.length - 1;
      if (need > this.budget) throw new SamplingError(`items[${i}] needs ${need} KV cache positions but kvBudgetTokens is ${this.budget}`);
      return { p, c, all: [...p, ...c.slice(0, -1)] };
    });
    if (this.packed) refreshPacked(this.k, this.d, this.w);
    const out: ScoreResult[] = seqs.map((s) => ({ promptTokens: s.p.length, tokens: [...s.c], logprobs: new Array<number>(s.c.length), logprob: 0, ...(topK > 0 ? { topLogprobs: new Array<TopLogprob[]>(s.c.length) } : {}) }));
    if (seqs.length === 0) return out;
    const cap = Math.max(...seqs.map((s) => s.all.length));
    const S = Math.min(this.maxBatch, Math.floor(this.budget / cap), seqs.length);
    const cache = this.cacheView(S, cap);
    for (let start = 0; start < seqs.length; start += S) {
      const specs: RowSpec[] = [];
      for (let i = start; i < Math.min(start + S, seqs.length); i++) {
        specs.push({ slot: i - start, tokens: seqs[i].all, logitsFrom: seqs[i].p.length - 1, tag: i });
      }
      this.runRows(cache, specs, (i, t, logits, off) => {
        const ci = t - (seqs[i].p.length - 1);
        const tok = seqs[i].c[ci];
        const lse = logSumExp(logits, off, V);
        const lp = logits[off + tok] - lse;
        if (!Number.isFinite(lp)) throw this.nonFinite(`items[${i}] at completion token ${ci}`);
        out[i].logprobs[ci] = lp;
        if (topK > 0) out[i].topLogprobs![ci] = topLogprobs(logits, off, V, topK, lse);
      });
    }
    for (const o of out) o.logprob = o.logprobs.reduce((a, b) => a + b, 0);
    return out;
  }

  /** Drops the KV arena and scratch (they are re-created on the next call). */
  free(): void {
    this.arenaK = [];
    this.arenaV = [];
    this.scratch = null;
    this.logitsBuf = new Float32Array(0);
    this.w.p = undefined;
  }

  // --------------------------------------------------------------------------------------------
  // internals

  /** Feeds each spec's tokens from position 0 of its slot, in chunks; calls back for wanted logits. */
  private runRows(cache: KvCache, specs: RowSpec[], onLogits: (tag: number, tokenIndex: number, logits: Float32Array, off: number) => void): void {
    const V = this.d.V;
    const n = Math.min(this.chunk, specs.reduce((a, s) => a + s.tokens.length, 0));
    if (n === 0) return;
    const s = this.ensureScratch(n);
    const logits = this.ensureLogits(n);
    const tokens = new Int32Array(n);
    const positions = new Int32Array(n);
    const slots = new Int32Array(n);
    const logitRows = new Int32Array(n);
    const wanted: [number, number][] = [];
    let R = 0;
    const flush = () => {
      if (R === 0) return;
      forwardRows(this.k, this.d, this.w, this.rope, cache, s, tokens, positions, slots, R, logitRows, wanted.length, logits);
      wanted.forEach(([tag, t], j) => onLogits(tag, t, logits, j * V));
      R = 0;
      wanted.length = 0;
    };
    for (const spec of specs) {
      for (let t = 0; t < spec.tokens.length; t++) {
        tokens[R] = spec.tokens[t];
        positions[R] = t;
        slots[R] = spec.slot;
        if (t >= spec.logitsFrom) {
          logitRows[wanted.length] = R;
          wanted.push([spec.tag, t]);
        }
        R++;
        if (R === n) flush();
      }
    }
    flush();
  }

  /** The error for non-finite logits at `where`, naming the first non-finite weight if there is one. */
  private nonFinite(where: string): NonFiniteLogitsError {
    const bad = firstNonFinite(this.weights);
    return new NonFiniteLogitsError(
      `non-finite logits for ${where}: ` +
        (bad ? `weight tensor "${bad.tensor}" has ${bad.value} at flat index ${bad.index}` : 'every weight is finite, so an activation overflowed to Inf/NaN in the forward pass'),
    );
  }

  private cacheView(S: number, cap: number): KvCache {
    const n = S * cap * this.d.KV * this.d.D;
    if (this.arenaK.length === 0 || this.arenaK[0].length < n) {
      const c = createKvCache(this.d, S, cap);
      this.arenaK = c.k;
      this.arenaV = c.v;
    }
    return { S, cap, KV: this.d.KV, D: this.d.D, k: this.arenaK.map((a) => a.subarray(0, n)), v: this.arenaV.map((a) => a.subarray(0, n)) };
  }

  private ensureScratch(rows: number): DecodeScratch {
    if (!this.scratch || this.scratch.rows < rows) this.scratch = createScratch(this.d, Math.max(rows, this.scratch ? this.scratch.rows * 2 : 0));
    return this.scratch;
  }

  private ensureLogits(rows: number): Float32Array {
    if (this.logitsBuf.length < rows * this.d.V) this.logitsBuf = new Float32Array(rows * this.d.V);
    return this.logitsBuf;
  }

  private promptIds(p: string | readonly number[], i: number, addBos: boolean, field: string, list = 'requests'): number[] {
    let ids: number[];
    if (typeof p === 'string') {
      try {
        ids = this.tokenizer.encode(p, { addBos });
      } catch (e) {
        throw new SamplingError(`${list}[${i}].${field}: ${(e as Error).message}`);
      }
    } else if (Array.isArray(p)) {
      ids = [...p];
      ids.forEach((t, k) => {
        if (!Number.isInteger(t) || t < 0 || t >= this.d.V) throw new SamplingError(`${list}[${i}].${field}[${k}]: token id ${t} is outside [0, ${this.d.V})`);
      });
    } else throw new SamplingError(`${list}[${i}].${field}: expected a string or an array of token ids, found ${typeof p}`);
    if (ids.length === 0) throw new SamplingError(`${list}[${i}].${field} is empty${field === 'prompt' ? ' (a prompt needs at least one token, e.g. BOS)' : ''}`);
    return ids;
  }
}

/** Decode steps per native call while stop strings may end sequences early or sequences wait for a slot. */
const DECODE_CHUNK = 8;

/** The next decode step's inputs of live sequences: each one's last token, its position and its KV slot. */
function decodeInputs(active: readonly Seq[]): { tokens: Int32Array; positions: Int32Array; slots: Int32Array } {
  const R = active.length;
  const tokens = new Int32Array(R);
  const positions = new Int32Array(R);
  const slots = new Int32Array(R);
  for (let i = 0; i < R; i++) {
    const q = active[i];
    const g = q.tokens.length;
    tokens[i] = q.tokens[g - 1];
    positions[i] = q.P + g - 1;
    slots[i] = q.slot;
  }
  return { tokens, positions, slots };
}

function savedBytes(p: SlotPrefix): number {
  return p.k.reduce((a, x) => a + x.byteLength, 0) * 2;
}

/** The earliest stop string that ends in the text appended since `before`. */
/** The text `tokens` add after `prompt` (its last few non-special tokens as context), specials skipped. */
function decodeAfter(tok: Tokenizer, prompt: readonly number[], tokens: readonly number[]): string {
  const ctx: number[] = [];
  for (let i = prompt.length - 1; i >= 0 && ctx.length < 4; i--) if (!tok.isSpecial(prompt[i])) ctx.unshift(prompt[i]);
  const gen = tokens.filter((t) => !tok.isSpecial(t));
  const head = tok.decode(ctx, { skipSpecialTokens: true });
  const all = tok.decode([...ctx, ...gen], { skipSpecialTokens: true });
  if (ctx.length > 0 && all.startsWith(head) && !head.endsWith('\uFFFD')) return all.slice(head.length);
  return tok.decode(gen, { skipSpecialTokens: true });
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * How much of a live sequence's text can be sent now and never change: all of it except an end that
 * could still be the start of a stop string (the stop would cut it) or an unfinished multi-byte
 * character (U+FFFD until its last byte arrives). Once the sequence has finished, all of `text` is final.
 */
export function streamableLength(text: string, stops: readonly string[]): number {
  let n = text.length;
  while (n > 0 && text.charCodeAt(n - 1) === 0xfffd) n--;
  let hold = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return Math.min(n, text.length - hold);
}

export function findStop(text: string, before: number, stops: readonly string[]): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const stop of stops) {
    const from = Math.max(0, before - stop.length + 1);
    const idx = text.indexOf(stop, from);
    if (idx >= 0 && (best === null || idx < best.index)) best = { index: idx, stop };
  }
  return best;
}

function positiveInt(v: unknown, field: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new SamplingError(`${field} must be a positive integer, found ${JSON.stringify(v)}`);
  return v as number;
}

function checkParams(p: GenerateParams): TokenChoiceParams {
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) throw new SamplingError(`seed must be a non-negative integer, found ${JSON.stringify(p.seed)}`);
  if (typeof p.temperature !== 'number' || !Number.isFinite(p.temperature) || p.temperature < 0) {
    throw new SamplingError(`temperature must be a finite number >= 0 (0 = greedy), found ${JSON.stringify(p.temperature)}`);
  }
  const topP = p.topP ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new SamplingError(`top_p must be in (0, 1], found ${JSON.stringify(p.topP)}`);
  const topK = p.topK ?? 0;
  if (!Number.isSafeInteger(topK) || topK < 0) throw new SamplingError(`top_k must be a non-negative integer (0 = off), found ${JSON.stringify(p.topK)}`);
  positiveInt(p.maxNewTokens, 'max_new_tokens');
  if (p.stop !== undefined) {
    if (!Array.isArray(p.stop)) throw new SamplingError(`stop must be a list of strings, found ${JSON.stringify(p.stop)}`);
    p.stop.forEach((s, i) => {
      if (typeof s !== 'string' || s.length === 0) throw new SamplingError(`stop[${i}] must be a non-empty string, found ${JSON.stringify(s)}`);
    });
  }
  return { temperature: p.temperature, topP, topK };
}
