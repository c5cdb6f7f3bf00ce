// `bstar serve`: an OpenAI-compatible HTTP server over the local engine.
//
//   GET  /health                 {"status": "ok" | "draining", queued, running, served, cancelled}
//   GET  /v1/models              the one model this server holds
//   POST /v1/completions         prompt (string or list), n, temperature, top_p, max_tokens, stop, seed, logprobs, echo, stream
//   POST /v1/chat/completions    messages through the tokenizer's chat template; same parameters (logprobs: bool; no echo)
//
// Scheduling: requests queue; the scheduler takes every queued request with the same sampling
// parameters (temperature, top_p, max_tokens, stop) — up to maxBatch sequences — into ONE
// Sampler run, whose continuous batching decodes them together and refills finished slots. Each
// request's random streams derive from its seed and prompt index only (never from what it was batched
// with), so the same request with the same seed returns the same completions under any load. The run
// is stepped on the event loop with a turn of the loop between decode steps: new requests queue,
// health checks answer, streamed tokens go out, and a client that disconnects has its sequences
// cancelled (their slots go to waiting sequences) while the batch decodes.
//
// Streaming (SSE): one chunk per sampled token and choice (OpenAI's chunk shapes, `index` per choice),
// holding back text that could still be the start of a stop string (or an unfinished UTF-8
// character), so no chunk ever carries text past a stop; the last chunk of a choice has its
// finish_reason; then a usage chunk and `data: [DONE]`. The deltas add up to the unstreamed text.
//
// echo (completions): the prompt's text and per-token logprobs (the first null) come before the
// completion; with max_tokens 0 nothing is generated (scoring given text, as vLLM allows).
//
// Hardening: bodies over maxBodyBytes → 413; n, prompts, max_tokens and prompt + max_tokens ≤ context
// checked up front (400 naming the parameter); more than maxConcurrent requests queued or running
// → 429; a request that waits longer than queueTimeoutMs before it starts → 503 (never a silent hang);
// optional API key (401); close() stops accepting (503 for new requests), lets queued work finish
// for graceMs, then fails what is left with 503 and closes every connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { contextLength, type ModelConfig } from '../model/config.js';
import { Sampler, streamableLength, type GenerateRun, type Sample, type TokenEvent } from '../model/sampler.js';
import { hasChatTemplate, type Tokenizer } from '../tokenizer/index.js';
import { deriveSeed } from '../util/rng.js';
import { ApiError, finishReason, parseChat, parseCompletion, type Limits, type ParsedChat, type ParsedCompletion } from './openai.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Name clients pass as `model` (default "bstar"). */
  modelName?: string;
  apiKey?: string | null;
  maxBodyBytes?: number;
  maxN?: number;
  maxTokens?: number;
  maxPrompts?: number;
  /** Requests queued or running at once; more get 429. */
  maxConcurrent?: number;
  /** Most sequences decoded together in one batch. */
  maxBatch?: number;
  kvBudgetTokens?: number;
  queueTimeoutMs?: number;
  /** An idle server waits this long after a request arrives for others to batch with it (default 2 ms). */
  batchWindowMs?: number;
  /** Seed for requests that give none (each still gets its own stream). */
  seed?: number;
  /** Testing aid: every `every`-th generation request is answered with `status` (a flaky endpoint). */
  faults?: { every: number; status: number } | null;
  log?: (line: string) => void;
}

interface Job {
  parsed: ParsedCompletion | ParsedChat;
  prompts: number[][];
  seed: number;
  res: http.ServerResponse;
  id: string;
  created: number;
  enqueued: number;
  timer: NodeJS.Timeout | null;
  state: 'queued' | 'running' | 'done';
  /** Its prompts' request indices in the running generate call. */
  requestIndices: number[];
  /** stream: per choice index, the characters and tokens sent so far and the next text_offset. */
  streamed: { chars: number; tokens: number; offset: number }[];
}

export interface ServerStats {
  served: number;
  failed: number;
  batches: number;
  sequences: number;
  /** Requests whose client went away while they ran (their sequences were stopped). */
  cancelled: number;
  /** Completion tokens decoded (cancelled sequences included). */
  generatedTokens: number;
}

export class BstarServer {
  readonly limits: Limits;
  private readonly o: Required<Omit<ServeOptions, 'apiKey' | 'faults' | 'log'>> & Pick<ServeOptions, 'apiKey' | 'faults' | 'log'>;
  private readonly sampler: Sampler;
  private readonly server: http.Server;
  private readonly queue: Job[] = [];
  private running = 0;
  private scheduled = false;
  private draining = false;
  private requestNo = 0;
  private generationNo = 0;
  private seedNo = 0;
  private current: GenerateRun | null = null;
  readonly stats: ServerStats = { served: 0, failed: 0, batches: 0, sequences: 0, cancelled: 0, generatedTokens: 0 };

  constructor(
    readonly config: ModelConfig,
    weights: Map<string, Float32Array>,
    readonly tokenizer: Tokenizer,
    opts: ServeOptions = {},
  ) {
    this.o = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 8000,
      modelName: opts.modelName ?? 'bstar',
      apiKey: opts.apiKey ?? null,
      maxBodyBytes: opts.maxBodyBytes ?? 1 << 20,
      maxN: opts.maxN ?? 64,
      maxTokens: opts.maxTokens ?? Math.min(1024, contextLength(config) - 1),
      maxPrompts: opts.maxPrompts ?? 64,
      maxConcurrent: opts.maxConcurrent ?? 256,
      maxBatch: opts.maxBatch ?? 64,
      kvBudgetTokens: opts.kvBudgetTokens ?? 1 << 16,
      queueTimeoutMs: opts.queueTimeoutMs ?? 120_000,
      batchWindowMs: opts.batchWindowMs ?? 2,
      seed: opts.seed ?? 0,
      faults: opts.faults ?? null,
      log: opts.log,
    };
    this.limits = { maxN: this.o.maxN, maxTokens: this.o.maxTokens, maxPrompts: this.o.maxPrompts };
    this.sampler = new Sampler(config, weights, tokenizer, { kvBudgetTokens: this.o.kvBudgetTokens, maxBatch: this.o.maxBatch });
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.requestTimeout = this.o.queueTimeoutMs + 60_000;
  }

  /** Starts listening; resolves with the bound port (port 0 picks a free one). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  /** Graceful shutdown: refuse new requests, let queued ones run for up to graceMs, fail the rest, close. */
  async close(graceMs = 10_000): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    const until = Date.now() + graceMs;
    while ((this.queue.length > 0 || this.running > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (const j of this.queue.splice(0)) this.fail(j, new ApiError(503, 'The server is shutting down.', 'server_error', null, 'shutting_down'));
    this.server.closeIdleConnections();
    setTimeout(() => this.server.closeAllConnections(), 1000).unref();
    await closed;
  }

  // --------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/health') {
        return json(res, 200, { status: this.draining ? 'draining' : 'ok', queued: this.queue.length, running: this.running, served: this.stats.served, cancelled: this.stats.cancelled });
      }
      if (this.o.apiKey) {
        const auth = req.headers.authorization ?? '';
        if (auth !== `Bearer ${this.o.apiKey}`) {
          throw new ApiError(401, 'Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
        }
      }
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        return json(res, 200, { object: 'list', data: [{ id: this.o.modelName, object: 'model', created: 0, owned_by: 'bstar' }] });
      }
      const route = url.pathname === '/v1/completions' ? 'completion' : url.pathname === '/v1/chat/completions' ? 'chat' : null;
      if (!route) throw new ApiError(404, `Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null, 'not_found');
      if (req.method !== 'POST') throw new ApiError(405, `Method ${req.method} not allowed on ${url.pathname}; use POST.`, 'invalid_request_error', null, 'method_not_allowed');
      if (this.draining) throw new ApiError(503, 'The server is shutting down.', 'server_error', null, 'shutting_down');
      const body = await readBody(req, this.o.maxBodyBytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (e) {
        throw new ApiError(400, `We could not parse the JSON body of your request. (${(e as Error).message})`, 'invalid_request_error', null, 'invalid_json');
      }
      const p = route === 'completion' ? parseCompletion(parsed, this.limits) : parseChat(parsed, this.limits);
      if (p.model !== this.o.modelName) throw new ApiError(404, `The model '${p.model}' does not exist (this server has '${this.o.modelName}').`, 'invalid_request_error', 'model', 'model_not_found');
      const prompts = this.tokenize(p);
      if (this.queue.length + this.running >= this.o.maxConcurrent) {
        throw new ApiError(429, `Too many concurrent requests (limit ${this.o.maxConcurrent}); retry later.`, 'requests', null, 'rate_limit_exceeded');
      }
      const n = ++this.generationNo;
      if (this.o.faults && n % this.o.faults.every === 0) {
        throw new ApiError(this.o.faults.status, `Injected fault (request ${n}).`, 'server_error', null, 'injected_fault');
      }
      this.enqueue(p, prompts, res);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, `Internal error: ${(e as Error).message}`, 'server_error');
      if (!(e instanceof ApiError)) this.o.log?.(`bstar serve: ${(e as Error).stack}`);
      if (err.status === 413) res.setHeader('Connection', 'close');
      if (!res.headersSent) json(res, err.status, err.body());
      else res.end();
    }
  }

  private tokenize(p: ParsedCompletion | ParsedChat): number[][] {
    let ids: number[][];
    if (p.kind === 'completion') ids = p.prompts.map((s) => this.tokenizer.encode(s, { addBos: true }));
    else {
      if (!hasChatTemplate(this.tokenizer)) throw new ApiError(400, "This model's tokenizer has no chat template; use /v1/completions.", 'invalid_request_error', 'messages', null);
      let text: string;
      try {
        text = this.tokenizer.applyChatTemplate(p.messages, { addGenerationPrompt: true });
      } catch (e) {
        throw new ApiError(400, `The chat template refused the messages: ${(e as Error).message}`, 'invalid_request_error', 'messages', null);
      }
      ids = [this.tokenizer.encode(text)];
    }
    const ctx = contextLength(this.config);
    ids.forEach((t, i) => {
      if (t.length + p.maxTokens > ctx) {
        throw new ApiError(400, `This model's maximum context length is ${ctx} tokens. However, you requested ${t.length + p.maxTokens} tokens (${t.length} in the ${p.kind === 'chat' ? 'messages' : `prompt${ids.length > 1 ? `[${i}]` : ''}`}, ${p.maxTokens} in the completion).`, 'invalid_request_error', p.kind === 'chat' ? 'messages' : 'prompt', 'context_length_exceeded');
      }
    });
    return ids;
  }

  // --------------------------------------------------------------------------------------------
  // scheduling

  private enqueue(p: ParsedCompletion | ParsedChat, prompts: number[][], res: http.ServerResponse): void {
    const job: Job = {
      parsed: p, prompts, res, id: `${p.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${++this.requestNo}`,
      seed: p.seed ?? deriveSeed(this.o.seed, 'request', ++this.seedNo), created: Math.floor(Date.now() / 1000), enqueued: Date.now(), timer: null, state: 'queued',
      requestIndices: [], streamed: [],
    };
    job.timer = setTimeout(() => {
      const i = this.queue.indexOf(job);
      if (i >= 0 && job.state === 'queued') {
        this.queue.splice(i, 1);
        this.fail(job, new ApiError(503, `The request waited ${this.o.queueTimeoutMs} ms without starting; the server is overloaded.`, 'server_error', null, 'queue_timeout'));
      }
    }, this.o.queueTimeoutMs);
    res.on('close', () => {
      const i = this.queue.indexOf(job);
      if (i >= 0 && job.state === 'queued') {
        this.queue.splice(i, 1); // client went away before its turn
        job.state = 'done';
        if (job.timer) clearTimeout(job.timer);
      } else if (job.state === 'running') this.cancel(job); // client went away mid-generation
    });
    this.queue.push(job);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      if (this.running > 0 || this.queue.length === 0) return; // a running batch reschedules when it ends
      void this.runBatch().finally(() => {
        if (this.queue.length > 0) this.schedule();
      });
    }, this.o.batchWindowMs);
  }

  private key(p: ParsedParams): string {
    return JSON.stringify([p.temperature, p.topP, p.maxTokens, p.stop]);
  }

  /**
   * One generate run over every queued job with the first job's parameters (up to maxBatch
   * sequences), stepped with a turn of the event loop between decode steps: streamed tokens go out
   * as they are sampled, and a client that disconnects has its sequences cancelled (their slots go to
   * the sequences still waiting).
   */
  private async runBatch(): Promise<void> {
    const first = this.queue[0];
    const key = this.key(first.parsed);
    const batch: Job[] = [];
    const ids = new Set<string>();
    let seqs = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const j = this.queue[i];
      if (this.key(j.parsed) !== key) continue;
      const mine = j.prompts.map((_, k) => `${j.seed}/${k}`);
      const n = j.prompts.length * j.parsed.n;
      if (batch.length > 0 && (seqs + n > this.o.maxBatch || mine.some((x) => ids.has(x)))) continue;
      batch.push(j);
      mine.forEach((x) => ids.add(x));
      seqs += n;
      this.queue.splice(i--, 1);
    }
    const requests: { id: string; prompt: number[]; n: number }[] = [];
    const owner: { job: Job; k: number }[] = [];
    for (const job of batch) {
      job.state = 'running';
      if (job.timer) clearTimeout(job.timer);
      job.prompts.forEach((prompt, k) => {
        job.requestIndices.push(requests.length);
        requests.push({ id: `${job.seed}/${k}`, prompt, n: job.parsed.n });
        owner.push({ job, k });
      });
      if (job.parsed.stream) startStream(job.res);
    }
    this.running = batch.length;
    this.stats.batches++;
    this.stats.sequences += seqs;
    const p = first.parsed;
    try {
      let samples: Sample[][];
      if (p.maxTokens === 0) samples = requests.map(() => []); // echo-only: score the prompts, generate nothing
      else {
        const streaming = batch.some((j) => j.parsed.stream);
        const run = this.sampler.start(requests, {
          seed: 0, temperature: p.temperature, topP: p.topP, maxNewTokens: p.maxTokens, stop: p.stop, addBos: false,
          ...(streaming ? { onToken: (e: TokenEvent) => this.streamToken(owner[e.requestIndex].job, owner[e.requestIndex].k, e) } : {}),
        });
        this.current = run;
        // a turn of the event loop between steps: after every step when streaming, else at most every
        // millisecond (a step of a small model is far shorter than a loop turn with I/O)
        let last = performance.now();
        while (run.step()) {
          if (streaming || performance.now() - last >= 1) {
            await new Promise((r) => setImmediate(r));
            last = performance.now();
          }
        }
        const out = run.result();
        this.stats.generatedTokens += out.stats.generatedTokens;
        samples = out.samples;
      }
      const byJob = new Map<Job, Sample[][]>();
      samples.forEach((group, r) => {
        const { job } = owner[r];
        if (!byJob.has(job)) byJob.set(job, []);
        byJob.get(job)!.push(group);
      });
      for (const job of batch) if (job.state === 'running') this.finish(job, byJob.get(job) ?? []);
    } catch (e) {
      this.o.log?.(`bstar serve: generate failed: ${(e as Error).stack}`);
      for (const job of batch) if (job.state === 'running') this.fail(job, new ApiError(500, `Generation failed: ${(e as Error).message}`, 'server_error'));
    } finally {
      this.running = 0;
      this.current = null;
    }
  }

  /** A client went away while its job ran: stop its sequences so their slots serve the others. */
  private cancel(job: Job): void {
    job.state = 'done';
    this.stats.cancelled++;
    for (const r of job.requestIndices) this.current?.cancel(r);
  }

  /** SSE for one sampled token: the text that can no longer change (held back while it may start a stop string). */
  private streamToken(job: Job, k: number, e: TokenEvent): void {
    if (!job.parsed.stream || job.state !== 'running' || job.res.destroyed) return;
    const index = k * job.parsed.n + e.sampleIndex;
    const st = (job.streamed[index] ??= { chars: 0, tokens: 0, offset: 0 });
    const final = e.finishReason !== null;
    const upto = final ? e.text.length : streamableLength(e.text, job.parsed.stop);
    if (upto <= st.chars && !final) return;
    if (upto < st.chars) throw new Error(`stream of choice ${index}: the text shrank below what was sent (${upto} < ${st.chars})`);
    const delta = e.text.slice(st.chars, upto);
    const toks = e.tokens.slice(st.tokens);
    const lps = e.modelLogprobs.slice(st.tokens);
    const logprobs = this.logprobsOf(job, toks, lps, st.offset);
    const fr = final ? finishReason(e.finishReason!) : null;
    const base = { id: job.id, created: job.created, model: this.o.modelName };
    if (job.parsed.kind === 'chat') {
      const d = st.chars === 0 && st.tokens === 0 ? { role: 'assistant', content: delta } : { content: delta };
      sse(job.res, { ...base, object: 'chat.completion.chunk', choices: [{ index, delta: d, logprobs, finish_reason: fr }] });
    } else {
      sse(job.res, { ...base, object: 'text_completion', choices: [{ index, text: delta, logprobs, finish_reason: fr, stop_reason: e.stopString ?? null }] });
    }
    st.chars = upto;
    st.tokens = e.tokens.length;
    st.offset += toks.reduce((a, t) => a + this.tokenizer.decodeToken(t).length, 0);
  }

  private finish(job: Job, groups: Sample[][]): void {
    job.state = 'done';
    this.stats.served++;
    if (job.res.destroyed) return;
    if (job.parsed.maxTokens === 0) {
      // echo with max_tokens 0: n empty completions after each prompt
      groups = job.prompts.map((prompt, k) => Array.from({ length: job.parsed.n }, (_, j): Sample => ({
        requestIndex: k, requestId: `${job.seed}/${k}`, sampleIndex: j, promptTokens: prompt.length, tokens: [], text: '',
        modelLogprobs: [], samplerLogprobs: [], logprob: 0, finishReason: 'length',
      })));
    }
    const usage = {
      prompt_tokens: job.prompts.reduce((a, t) => a + t.length, 0),
      completion_tokens: groups.reduce((a, g) => a + g.reduce((b, s) => b + s.tokens.length, 0), 0),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (job.parsed.stream) {
      sse(job.res, { id: job.id, object: job.parsed.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: job.created, model: this.o.modelName, choices: [], usage });
      job.res.end('data: [DONE]\n\n');
      return;
    }
    const choices = groups.flatMap((g, k) => {
      const echo = job.parsed.echo ? this.echoOf(job, k) : null;
      return g.map((s) => this.choice(job, k, s, echo));
    });
    json(job.res, 200, { id: job.id, object: job.parsed.kind === 'chat' ? 'chat.completion' : 'text_completion', created: job.created, model: this.o.modelName, choices, usage });
  }

  private fail(job: Job, err: ApiError): void {
    job.state = 'done';
    this.stats.failed++;
    if (job.timer) clearTimeout(job.timer);
    if (job.res.destroyed) return;
    if (!job.res.headersSent) json(job.res, err.status, err.body());
    else {
      sse(job.res, err.body());
      job.res.end('data: [DONE]\n\n');
    }
  }

  private index(job: Job, k: number, s: Sample): number {
    return k * job.parsed.n + s.sampleIndex;
  }

  /**
   * echo: prompt k's text and, when logprobs are asked, its tokens with log p(token | tokens before);
   * the first token has no context and gets null (as in OpenAI's and vLLM's echo).
   */
  private echoOf(job: Job, k: number): { text: string; tokens: number[]; logprobs: (number | null)[] } {
    const ids = job.prompts[k];
    const text = (job.parsed as ParsedCompletion).prompts[k];
    if (job.parsed.logprobs === null) return { text, tokens: ids, logprobs: [] };
    const rest = ids.length > 1 ? this.sampler.logprobs([{ prompt: ids.slice(0, 1), completion: ids.slice(1) }], { addBos: false })[0].logprobs : [];
    return { text, tokens: ids, logprobs: [null, ...rest] };
  }

  /** OpenAI logprobs for the given tokens; completions' text_offset counts from `offset` (the UTF-16 length of the token strings before). */
  private logprobsOf(job: Job, tokens: readonly number[], lps: readonly (number | null)[], offset: number): unknown {
    if (job.parsed.logprobs === null) return null;
    const toks = tokens.map((t) => this.tokenizer.decodeToken(t));
    if (job.parsed.kind === 'chat') {
      return { content: toks.map((t, i) => ({ token: t, logprob: lps[i], bytes: [...Buffer.from(t, 'utf8')], top_logprobs: [] })) };
    }
    const offsets: number[] = [];
    let off = offset;
    for (const t of toks) {
      offsets.push(off);
      off += t.length;
    }
    return { tokens: toks, token_logprobs: lps, top_logprobs: null, text_offset: offsets };
  }

  private choice(job: Job, k: number, s: Sample, echo: { text: string; tokens: number[]; logprobs: (number | null)[] } | null): unknown {
    const index = this.index(job, k, s);
    const fr = finishReason(s.finishReason);
    // stop_reason as vLLM gives it: the matched stop string, else null (eos or length)
    const stopReason = s.stopString ?? null;
    if (job.parsed.kind === 'chat') return { index, message: { role: 'assistant', content: s.text }, logprobs: this.logprobsOf(job, s.tokens, s.modelLogprobs, 0), finish_reason: fr, stop_reason: stopReason };
    const text = echo ? echo.text + s.text : s.text;
    const logprobs = echo ? this.logprobsOf(job, [...echo.tokens, ...s.tokens], [...echo.logprobs, ...s.modelLogprobs], 0) : this.logprobsOf(job, s.tokens, s.modelLogprobs, 0);
    return { index, text, logprobs, finish_reason: fr, stop_reason: stopReason };
  }
}

type ParsedParams = ParsedCompletion | ParsedChat;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': b.length });
  res.end(b);
}

function startStream(res: http.ServerResponse): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
}

function sse(res: http.ServerResponse, obj: unknown): void {
  res.write(`data: ${JSON.stringify(obj)}\n\n`);
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const len = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(len) && len > max) {
      req.resume();
      return reject(new ApiError(413, `Request body of ${len} bytes exceeds the limit of ${max} bytes.`, 'invalid_request_error', null, 'request_too_large'));
    }
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        if (!over) reject(new ApiError(413, `Request body exceeds the limit of ${max} bytes.`, 'invalid_request_error', null, 'request_too_large'));
        over = true;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => !over && resolve(Buffer.concat(chunks)));
    req.on('error', (e) => reject(e));
  });
}
