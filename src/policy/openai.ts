// A SamplingBackend over one or more OpenAI-compatible servers (vLLM, SGLang, llama.cpp server,
// bstar serve): each SampleRequest is one POST /v1/completions {prompt, n, temperature, top_p,
// max_tokens, stop, seed, logprobs}, spread over the endpoints, at most `concurrency` in flight per
// endpoint.
//
// Failures: a 429, a 5xx, a refused/reset connection or a request past `timeoutMs` is retried with
// exponential backoff (that endpoint rests for the backoff; others keep working) up to `maxAttempts`
// per request; then sample() rejects with a PolicyError naming the request, the endpoints tried and
// the last error. Any other 4xx (a bad request) fails at once. Every request ends in a result or an
// error: a response with fewer choices than asked, or malformed, is an error too — never a silently
// short sample list.
//
// Token ids: every request asks for them (vLLM's `return_token_ids`, which bstar serve speaks too):
// each choice's `prompt_token_ids` and `token_ids` become the completion's promptIds/completionIds, so
// training uses exactly the sampled ids. A server that refuses the parameter is asked without it from
// then on, and one that returns no ids gets its texts tokenized once with the policy's own tokenizer
// (`tokenizer`; BOS + prompt, completion text + eos when it ended on eos), which is logged once per
// endpoint; without a tokenizer the completions carry no ids and the trainer encodes their text.
//
// Determinism: each request's seed is deriveSeed(params.seed, 'openai', request.id); servers that
// honour `seed` per request (bstar serve does, vLLM does) return the same samples on a rerun
// whichever endpoint served them.
//
// Scoring (logprobs of given text): POST /v1/completions {prompt: prompt + completion, echo: true,
// max_tokens: 0, logprobs: 1} and return the echoed per-token logprobs of the completion
// part (completionLogprobs), with the same concurrency and retries.
import type { Tokenizer } from '../tokenizer/types.js';
import { deriveSeed } from '../util/rng.js';
import {
  PolicyError, type Completion, type FinishReason, type NextTokenRequest, type ProgressFn, type SampleOutput, type SampleParams, type SampleRequest,
  type SamplingBackend, type ScoreRequest, type TrainingBackend,
} from './types.js';

export interface Endpoint {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  /** Requests in flight at once on this endpoint (default 8). */
  concurrency?: number;
  apiKey?: string;
}

export interface OpenAiSamplingOptions {
  endpoints: Endpoint[];
  /** The `model` field sent (the served model's id). */
  model: string;
  timeoutMs?: number;
  maxAttempts?: number;
  /** First backoff; doubles per failure of the same request, capped at maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Ask for per-token logprobs (default true); without them Completion.logprob is NaN. */
  logprobs?: boolean;
  /**
   * Called by syncWeights after training: make the fleet serve the trained weights (restart servers on
   * the new checkpoint, vLLM's reload endpoint, …). Without it syncWeights throws, rather than
   * sampling silently from stale weights.
   */
  reload?: (from: TrainingBackend) => Promise<void>;
  log?: (line: string) => void;
  /** The policy's tokenizer: encodes prompts and completions once when a server returns no token ids. */
  tokenizer?: Tokenizer;
}

export interface FleetStats {
  requests: number;
  retries: number;
  perEndpoint: Record<string, { ok: number; failed: number }>;
}

interface Task {
  index: number;
  id: string;
  attempt: number;
  notBefore: number;
  errors: string[];
}

class RetryableError extends Error {}

/** A non-retryable HTTP error status, with the server's error param and message. */
class HttpError extends Error {
  constructor(message: string, readonly status: number, readonly param: string | null, readonly apiMessage: string) {
    super(message);
  }
}

export class OpenAiSamplingBackend implements SamplingBackend {
  readonly name: string;
  readonly stats: FleetStats = { requests: 0, retries: 0, perEndpoint: {} };
  private o: Required<Omit<OpenAiSamplingOptions, 'reload' | 'log' | 'tokenizer'>> & Pick<OpenAiSamplingOptions, 'reload' | 'log' | 'tokenizer'>;
  /** Endpoints that refused echo with max_tokens 0 (scored with max_tokens 1 instead). */
  private readonly oneTokenEcho = new Set<string>();
  /** Endpoints that refused `return_token_ids` (asked without it), and those already logged as giving no ids. */
  private readonly noTokenIdsParam = new Set<string>();
  private readonly noIdsLogged = new Set<string>();

  constructor(opts: OpenAiSamplingOptions) {
    if (opts.endpoints.length === 0) throw new PolicyError('openai backend: endpoints: expected at least one base URL');
    for (const [i, e] of opts.endpoints.entries()) {
      try {
        const u = new URL(e.baseUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw new PolicyError(`openai backend: endpoints[${i}].baseUrl: expected an http(s) URL, found ${JSON.stringify(e.baseUrl)}`);
      }
      if (e.concurrency !== undefined && (!Number.isInteger(e.concurrency) || e.concurrency < 1)) {
        throw new PolicyError(`openai backend: endpoints[${i}].concurrency: expected a positive integer, found ${e.concurrency}`);
      }
    }
    this.o = {
      timeoutMs: 120_000, maxAttempts: 5, backoffMs: 200, maxBackoffMs: 10_000, logprobs: true, ...opts,
      endpoints: opts.endpoints.map((e) => ({ ...e, baseUrl: e.baseUrl.replace(/\/+$/, '') })),
    };
    this.name = `openai:${this.o.endpoints.map((e) => e.baseUrl).join(',')}`;
    for (const e of this.o.endpoints) this.stats.perEndpoint[e.baseUrl] = { ok: 0, failed: 0 };
  }

  /** Replaces the fleet (e.g. after the reload hook restarted servers on new weights). */
  setEndpoints(endpoints: Endpoint[]): void {
    if (endpoints.length === 0) throw new PolicyError('openai backend: endpoints: expected at least one base URL');
    this.o.endpoints = endpoints.map((e) => ({ ...e, baseUrl: e.baseUrl.replace(/\/+$/, '') }));
    for (const e of this.o.endpoints) this.stats.perEndpoint[e.baseUrl] ??= { ok: 0, failed: 0 };
  }

  async sample(requests: readonly SampleRequest[], params: SampleParams, onProgress?: ProgressFn): Promise<SampleOutput> {
    const t0 = performance.now();
    let done = 0;
    let promptTokens = 0;
    let generatedTokens = 0;
    const total = requests.length * params.n;
    const results = await this.dispatch(requests.map((r) => r.id), (e, i) => this.post(e, requests[i], params), (r) => {
      promptTokens += r.promptTokens;
      generatedTokens += r.completions.reduce((a, c) => a + c.tokens, 0);
      done += params.n;
      onProgress?.(done, total);
    });
    return { completions: results.map((r) => r.completions), stats: { promptTokens, generatedTokens, ms: performance.now() - t0 } };
  }

  /**
   * Runs one call per item on the fleet: at most `concurrency` in flight per endpoint, the least
   * loaded free endpoint first, retryable failures retried with backoff (that endpoint rests), any
   * other failure or too many attempts → PolicyError. Resolves with every item's result, in order.
   */
  private async dispatch<T>(ids: readonly string[], call: (e: Endpoint, i: number) => Promise<T>, onResult?: (r: T) => void): Promise<T[]> {
    const results: T[] = new Array(ids.length);
    const got: boolean[] = new Array(ids.length).fill(false);
    const pending: Task[] = ids.map((id, index) => ({ index, id, attempt: 0, notBefore: 0, errors: [] }));
    const eps = this.o.endpoints.map((e) => ({ e, inFlight: 0, restUntil: 0 }));
    let fatal: PolicyError | null = null;

    await new Promise<void>((resolve) => {
      let active = 0;
      let wake: NodeJS.Timeout | null = null;
      const pump = () => {
        if (wake) clearTimeout(wake);
        wake = null;
        if (fatal || (pending.length === 0 && active === 0)) {
          if (active === 0) resolve();
          return;
        }
        const now = Date.now();
        for (;;) {
          const ti = pending.findIndex((t) => t.notBefore <= now);
          if (ti < 0) break;
          const free = eps.filter((x) => x.inFlight < (x.e.concurrency ?? 8) && x.restUntil <= now).sort((a, b) => a.inFlight - b.inFlight)[0];
          if (!free) break;
          const task = pending.splice(ti, 1)[0];
          free.inFlight++;
          active++;
          this.stats.requests++;
          call(free.e, task.index)
            .then((r) => {
              results[task.index] = r;
              got[task.index] = true;
              this.stats.perEndpoint[free.e.baseUrl].ok++;
              onResult?.(r);
            })
            .catch((err: Error) => {
              this.stats.perEndpoint[free.e.baseUrl].failed++;
              task.errors.push(`${free.e.baseUrl}: ${err.message}`);
              if (!(err instanceof RetryableError)) {
                fatal ??= new PolicyError(`openai backend: request "${task.id}" failed: ${err.message}`);
                return;
              }
              const back = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** task.attempt);
              free.restUntil = Date.now() + back;
              task.attempt++;
              if (task.attempt >= this.o.maxAttempts) {
                fatal ??= new PolicyError(`openai backend: request "${task.id}" failed ${task.attempt} times; errors: ${task.errors.join(' | ')}`);
                return;
              }
              this.stats.retries++;
              this.o.log?.(`openai backend: retrying "${task.id}" in ${back} ms (${err.message})`);
              task.notBefore = Date.now() + back;
              pending.push(task);
            })
            .finally(() => {
              free.inFlight--;
              active--;
              pump();
            });
        }
        if (pending.length > 0 && !fatal) {
          // nothing could start now: wake when the earliest task or endpoint becomes ready
          // (when every endpoint is full, a finishing request calls pump: no timer needed)
          const open = eps.filter((x) => x.inFlight < (x.e.concurrency ?? 8));
          if (open.length > 0) {
            const next = Math.max(Math.min(...pending.map((t) => t.notBefore)), Math.min(...open.map((x) => x.restUntil)));
            wake = setTimeout(pump, Math.max(1, next - Date.now()));
          }
        }
      };
      pump();
    });
    if (fatal) throw fatal;
    const missing = got.indexOf(false);
    if (missing >= 0) throw new PolicyError(`openai backend: request "${ids[missing]}" got no result (internal error)`);
    return results;
  }

  private async post(e: Endpoint, req: SampleRequest, p: SampleParams): Promise<{ completions: Completion[]; promptTokens: number }> {
    const body = {
      model: this.o.model, prompt: req.prompt, n: p.n, temperature: p.temperature, top_p: p.topP, max_tokens: p.maxTokens,
      ...(p.stop.length ? { stop: p.stop } : {}), seed: deriveSeed(p.seed, 'openai', req.id), ...(this.o.logprobs ? { logprobs: 0 } : {}), // the sampled tokens' logprobs, no top alternatives
    };
    const ask = (ids: boolean) => this.postJson(e, ids ? { ...body, return_token_ids: true } : body);
    let raw: unknown;
    if (this.noTokenIdsParam.has(e.baseUrl)) raw = await ask(false);
    else {
      try {
        raw = await ask(true);
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 400 || !(err.param === 'return_token_ids' || /return_token_ids/.test(err.apiMessage))) throw err;
        this.noTokenIdsParam.add(e.baseUrl); // a server without vLLM's extension: ask without it from now on
        raw = await ask(false);
      }
    }
    const j = raw as {
      choices?: {
        index?: number; text?: unknown; finish_reason?: unknown; stop_reason?: unknown; logprobs?: { tokens?: unknown[]; token_logprobs?: unknown[] } | null;
        prompt_token_ids?: unknown; token_ids?: unknown;
      }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const choices = j.choices;
    if (!Array.isArray(choices) || choices.length !== p.n) {
      throw new Error(`response has ${Array.isArray(choices) ? choices.length : 'no'} choices, expected n = ${p.n}`);
    }
    const out: Completion[] = new Array(p.n);
    for (const c of choices) {
      const i = c.index ?? 0;
      if (!Number.isInteger(i) || i < 0 || i >= p.n || out[i]) throw new Error(`response choice index ${c.index} is missing, repeated or out of [0, ${p.n})`);
      if (typeof c.text !== 'string') throw new Error(`response choice ${i} has no text`);
      const lp = c.logprobs?.token_logprobs;
      const hasLp = Array.isArray(lp) && lp.every((x) => typeof x === 'number' || x === null);
      // OpenAI says "stop" for both; vLLM and bstar serve name the matched stop string in stop_reason
      const finish: FinishReason = c.finish_reason === 'length' ? 'length' : typeof c.stop_reason === 'string' ? 'stop' : 'eos';
      out[i] = {
        text: c.text,
        tokens: hasLp ? lp.length : Math.round((j.usage?.completion_tokens ?? 0) / p.n),
        logprob: hasLp ? lp.reduce((a: number, x) => a + ((x as number | null) ?? 0), 0) : NaN,
        finishReason: finish,
        ...this.idsOf(e, req, c, i, finish, hasLp ? (lp as (number | null)[]) : null),
      };
    }
    return { completions: out, promptTokens: j.usage?.prompt_tokens ?? 0 };
  }

  /**
   * The ids of one choice: the server's (prompt_token_ids, token_ids), else encoded once with the policy's
   * tokenizer, else none. Per-token logprobs come along when there is one per completion id.
   */
  private idsOf(e: Endpoint, req: SampleRequest, c: { prompt_token_ids?: unknown; token_ids?: unknown; text?: unknown }, i: number, finish: FinishReason, lp: (number | null)[] | null): Pick<Completion, 'promptIds' | 'completionIds' | 'tokenLogprobs'> {
    const idList = (v: unknown, field: string): number[] | null => {
      if (v === undefined || v === null) return null;
      if (!Array.isArray(v) || !v.every((t) => Number.isInteger(t) && t >= 0)) throw new Error(`response choice ${i} ${field} is not a list of token ids`);
      return v as number[];
    };
    let promptIds = idList(c.prompt_token_ids, 'prompt_token_ids');
    let completionIds = idList(c.token_ids, 'token_ids');
    const tok = this.o.tokenizer;
    if (!completionIds && tok) {
      if (!this.noIdsLogged.has(e.baseUrl)) {
        this.noIdsLogged.add(e.baseUrl);
        this.o.log?.(`openai backend: ${e.baseUrl} returns no token ids (return_token_ids); its completions are tokenized once with the policy's tokenizer (a stop string's tokens are not in them)`);
      }
      completionIds = [...tok.encode(c.text as string), ...(finish === 'eos' ? [tok.eosId] : [])];
    }
    if (!promptIds && completionIds && tok) promptIds = tok.encode(req.prompt, { addBos: true });
    if (!completionIds || !promptIds) return {};
    const tokenLogprobs = lp && lp.length === completionIds.length && lp.every((x) => typeof x === 'number') ? (lp as number[]) : undefined;
    return { promptIds, completionIds, ...(tokenLogprobs ? { tokenLogprobs } : {}) };
  }

  /** POST {baseUrl}/completions; the parsed JSON body, or RetryableError (429/5xx/transport/not JSON) or HttpError (other status). */
  private async postJson(e: Endpoint, body: unknown): Promise<unknown> {
    let r: Response;
    let text: string;
    try {
      r = await fetch(`${e.baseUrl}/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(e.apiKey ? { Authorization: `Bearer ${e.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      text = await r.text();
    } catch (err) {
      const x = err as Error & { cause?: { code?: string } };
      const what = x.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : `${x.message}${x.cause?.code ? ` (${x.cause.code})` : ''}`;
      throw new RetryableError(what);
    }
    if (!r.ok) {
      let msg = text.slice(0, 300);
      let param: string | null = null;
      try {
        const err = (JSON.parse(text) as { error?: { message?: string; param?: string | null } }).error;
        msg = err?.message ?? msg;
        param = err?.param ?? null;
      } catch { /* not JSON: keep the text */ }
      const m = `HTTP ${r.status}: ${msg}`;
      if (r.status === 429 || r.status >= 500) throw new RetryableError(m);
      throw new HttpError(m, r.status, param, msg);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new RetryableError(`response is not JSON: ${text.slice(0, 100)}`);
    }
  }

  /**
   * log p(completion | prompt) per completion token, scored by the fleet with the completions echo
   * trick: POST {prompt: prompt + completion, echo: true, max_tokens: 0, logprobs: 1} and read the
   * echoed prompt's token_logprobs. The completion's tokens are found by character offset (see
   * completionLogprobs): the server tokenizes prompt + completion together, so a token that
   * straddles the split counts with the completion. A server that refuses max_tokens 0 is asked for
   * max_tokens 1 (its generated token is dropped) from then on; one without echo is a clear error.
   */
  async logprobs(items: readonly ScoreRequest[]): Promise<number[][]> {
    return this.dispatch(items.map((_, i) => `score[${i}]`), (e, i) => this.score(e, items[i], i));
  }

  private async score(e: Endpoint, item: ScoreRequest, i: number): Promise<number[]> {
    const text = item.prompt + item.completion;
    const ask = (maxTokens: number) => this.postJson(e, { model: this.o.model, prompt: text, echo: true, max_tokens: maxTokens, logprobs: 1, temperature: 0, n: 1 });
    let extra = this.oneTokenEcho.has(e.baseUrl) ? 1 : 0;
    let j: unknown;
    try {
      j = await ask(extra);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 400) throw err;
      if (err.param === 'echo' || /echo/i.test(err.apiMessage)) throw new Error(`${e.baseUrl} does not support 'echo' (needed to score given text): ${err.message}`);
      if (extra === 1 || !(err.param === 'max_tokens' || /max_tokens/.test(err.apiMessage))) throw err;
      this.oneTokenEcho.add(e.baseUrl); // e.g. servers that require max_tokens ≥ 1 even with echo
      extra = 1;
      j = await ask(1);
    }
    return completionLogprobs(j, text, item.completion, extra, `score[${i}] on ${e.baseUrl}`);
  }

  /**
   * Next-token logprobs of candidate tokens (a PRM's label tokens at its step tags) on the fleet, as vLLM
   * gives them: one POST per item with the token ids as the prompt, `echo: true`, `max_tokens: 1`,
   * `logprobs: 20` and `return_tokens_as_token_ids: true`; the top logprobs of echoed token p + 1 (of
   * the generated token, after the last prompt token) are the distribution after ids[0..p]. A candidate
   * outside the server's top 20 there is an error (a trained PRM puts its label tokens on top at a tag),
   * as is a server that cannot take token-id prompts or return prompt top logprobs.
   */
  async nextTokenLogprobs(items: readonly NextTokenRequest[], candidates: readonly number[]): Promise<(number[] | null)[][]> {
    const K = 20;
    return this.dispatch(items.map((_, i) => `next[${i}]`), async (e, i) => {
      const it = items[i];
      const j = (await this.postJson(e, { model: this.o.model, prompt: [...it.ids], echo: true, max_tokens: 1, logprobs: K, temperature: 0, n: 1, return_tokens_as_token_ids: true })) as {
        choices?: { logprobs?: { top_logprobs?: unknown } | null }[];
      };
      const top = j.choices?.[0]?.logprobs?.top_logprobs;
      const where = `next[${i}] on ${e.baseUrl}`;
      if (!Array.isArray(top) || top.length < it.ids.length + 1) {
        throw new Error(`${where}: the response has no top_logprobs for the echoed prompt (${Array.isArray(top) ? top.length : 'none'} entries for ${it.ids.length} + 1 tokens); scoring next tokens on a fleet needs vLLM's echo with logprobs and return_tokens_as_token_ids`);
      }
      return it.positions.map((p) => {
        const d = top[p + 1] as Record<string, number> | null;
        if (typeof d !== 'object' || d === null) throw new Error(`${where}: no top logprobs after position ${p}`);
        return candidates.map((c) => {
          const lp = d[`token_id:${c}`];
          if (typeof lp !== 'number') throw new Error(`${where}: token id ${c} is not among the top ${K} logprobs after position ${p} (keys ${Object.keys(d).slice(0, 3).join(', ')}…)`);
          return lp;
        });
      });
    });
  }

  async syncWeights(from: TrainingBackend): Promise<void> {
    if (!this.o.reload) {
      throw new PolicyError('openai backend: training changed the weights but no `reload` hook is configured to update the fleet (see docs/scale.md); refusing to sample from stale weights');
    }
    await this.o.reload(from);
  }
}

/**
 * The completion's per-token logprobs from an echo response to prompt + completion (`generated`
 * tokens after the echo are dropped). The split is found by character offset, aligned on the END of
 * the echoed text: the last echoed token ends at text_offset + its length, and the completion is the
 * final completion.length characters before that point. This absorbs a prefix the offsets may count
 * that the text does not (vLLM counts BOS as "<s>"). A token that ends after the split belongs to the
 * completion, including one that straddles it (it emits the completion's first characters; its
 * logprob also covers the prompt characters it spans). Offsets and lengths are UTF-16 units as in
 * JavaScript strings (bstar serve's text_offset); they equal Python's character counts except for
 * characters outside the BMP.
 */
export function completionLogprobs(body: unknown, text: string, completion: string, generated: number, where: string): number[] {
  const c = (body as { choices?: { text?: unknown; logprobs?: { tokens?: unknown; token_logprobs?: unknown; text_offset?: unknown } | null }[] })?.choices?.[0];
  if (!c) throw new Error(`${where}: the response has no choices`);
  if (typeof c.text !== 'string' || !c.text.startsWith(text)) {
    throw new Error(`${where}: the server did not echo the prompt (choices[0].text starts ${JSON.stringify(String(c.text).slice(0, 40))}); it does not support 'echo', which scoring needs`);
  }
  const lp = c.logprobs;
  const toks = lp?.tokens;
  const lps = lp?.token_logprobs;
  const offs = lp?.text_offset;
  if (!Array.isArray(toks) || !Array.isArray(lps) || !Array.isArray(offs) || toks.length !== lps.length || offs.length !== toks.length) {
    throw new Error(`${where}: the response has no logprobs.tokens/token_logprobs/text_offset of equal length; the server must return echo logprobs to score`);
  }
  const m = toks.length - generated;
  if (m < 1) throw new Error(`${where}: the echo has ${toks.length} tokens, fewer than the ${generated} generated`);
  if (completion.length === 0) return [];
  const end = (offs[m - 1] as number) + String(toks[m - 1]).length;
  const split = end - completion.length;
  let first = 0;
  while (first < m && (offs[first] as number) + String(toks[first]).length <= split) first++;
  if (first >= m) throw new Error(`${where}: no echoed token covers the completion (split at offset ${split}, echo ends at ${end})`);
  const out = lps.slice(first, m);
  out.forEach((x, t) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new Error(`${where}: completion token ${t} (${JSON.stringify(toks[first + t])}) has logprob ${JSON.stringify(x)}; the prompt needs at least one token before the completion`);
    }
  });
  return out as number[];
}
