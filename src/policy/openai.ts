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
// Determinism: each request's seed is deriveSeed(params.seed, 'openai', request.id); servers that
// honour `seed` per request (bstar serve does, vLLM does) return the same samples on a rerun
// whichever endpoint served them.
import { deriveSeed } from '../util/rng.js';
import {
  PolicyError, type Completion, type FinishReason, type ProgressFn, type SampleOutput, type SampleParams, type SampleRequest,
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
}

export interface FleetStats {
  requests: number;
  retries: number;
  perEndpoint: Record<string, { ok: number; failed: number }>;
}

interface Task {
  index: number;
  req: SampleRequest;
  attempt: number;
  notBefore: number;
  errors: string[];
}

class RetryableError extends Error {}

export class OpenAiSamplingBackend implements SamplingBackend {
  readonly name: string;
  readonly stats: FleetStats = { requests: 0, retries: 0, perEndpoint: {} };
  private o: Required<Omit<OpenAiSamplingOptions, "reload" | "log">> & Pick<OpenAiSamplingOptions, "reload" | "log">;

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
    const completions: Completion[][] = new Array(requests.length);
    const pending: Task[] = requests.map((req, index) => ({ index, req, attempt: 0, notBefore: 0, errors: [] }));
    const eps = this.o.endpoints.map((e) => ({ e, inFlight: 0, restUntil: 0 }));
    let done = 0;
    let promptTokens = 0;
    let generatedTokens = 0;
    let fatal: PolicyError | null = null;
    const total = requests.length * params.n;

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
          this.post(free.e, task.req, params)
            .then((r) => {
              completions[task.index] = r.completions;
              promptTokens += r.promptTokens;
              generatedTokens += r.completions.reduce((a, c) => a + c.tokens, 0);
              done += params.n;
              this.stats.perEndpoint[free.e.baseUrl].ok++;
              onProgress?.(done, total);
            })
            .catch((err: Error) => {
              this.stats.perEndpoint[free.e.baseUrl].failed++;
              task.errors.push(`${free.e.baseUrl}: ${err.message}`);
              if (!(err instanceof RetryableError)) {
                fatal ??= new PolicyError(`openai backend: request "${task.req.id}" failed: ${err.message}`);
                return;
              }
              const back = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** task.attempt);
              free.restUntil = Date.now() + back;
              task.attempt++;
              if (task.attempt >= this.o.maxAttempts) {
                fatal ??= new PolicyError(`openai backend: request "${task.req.id}" failed ${task.attempt} times; errors: ${task.errors.join(' | ')}`);
                return;
              }
              this.stats.retries++;
              this.o.log?.(`openai backend: retrying "${task.req.id}" in ${back} ms (${err.message})`);
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
    for (let i = 0; i < completions.length; i++) {
      if (!completions[i]) throw new PolicyError(`openai backend: request "${requests[i].id}" got no result (internal error)`);
    }
    return { completions, stats: { promptTokens, generatedTokens, ms: performance.now() - t0 } };
  }

  private async post(e: Endpoint, req: SampleRequest, p: SampleParams): Promise<{ completions: Completion[]; promptTokens: number }> {
    const body = {
      model: this.o.model, prompt: req.prompt, n: p.n, temperature: p.temperature, top_p: p.topP, max_tokens: p.maxTokens,
      ...(p.stop.length ? { stop: p.stop } : {}), seed: deriveSeed(p.seed, 'openai', req.id), ...(this.o.logprobs ? { logprobs: 1 } : {}),
    };
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
      try {
        msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? msg;
      } catch { /* not JSON: keep the text */ }
      const m = `HTTP ${r.status}: ${msg}`;
      if (r.status === 429 || r.status >= 500) throw new RetryableError(m);
      throw new Error(m);
    }
    let j: { choices?: { index?: number; text?: unknown; finish_reason?: unknown; stop_reason?: unknown; logprobs?: { tokens?: unknown[]; token_logprobs?: unknown[] } | null }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } };
    try {
      j = JSON.parse(text);
    } catch {
      throw new RetryableError(`response is not JSON: ${text.slice(0, 100)}`);
    }
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
      };
    }
    return { completions: out, promptTokens: j.usage?.prompt_tokens ?? 0 };
  }

  async logprobs(_items: readonly ScoreRequest[]): Promise<number[][]> {
    throw new PolicyError('openai backend: scoring completions (logprobs of given text) is not offered by the OpenAI completions API as bstar uses it; score with a local policy');
  }

  async syncWeights(from: TrainingBackend): Promise<void> {
    if (!this.o.reload) {
      throw new PolicyError('openai backend: training changed the weights but no `reload` hook is configured to update the fleet (see docs/scale.md); refusing to sample from stale weights');
    }
    await this.o.reload(from);
  }
}
