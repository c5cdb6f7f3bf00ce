// bstar serve on loopback: OpenAI-shaped responses and errors, determinism under batching, SSE,
// chat templates, limits (413/429/401), graceful shutdown and a short bounded load test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { Sampler } from '../../src/model/sampler.js';
import { BstarServer, type ServeOptions } from '../../src/serve/server.js';
import { runLoadTest } from '../../src/serve/loadtest.js';
import { loadTokenizer, type HfTokenizer } from '../../src/tokenizer/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));

async function withServer(opts: ServeOptions, f: (base: string, s: BstarServer) => Promise<void>, src = ck): Promise<void> {
  const s = new BstarServer(src.config, src.weights, src.tokenizer!, { port: 0, ...opts });
  const port = await s.listen();
  try {
    await f(`http://127.0.0.1:${port}/v1`, s);
  } finally {
    await s.close(1000);
  }
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

test('completions: OpenAI shape, n × prompts choices, same seed → same completions alone or batched with others', async () => {
  await withServer({}, async (base) => {
    const req = { model: 'bstar', prompt: ['12+30=', '7*6='], n: 2, max_tokens: 10, temperature: 0.9, seed: 42, logprobs: 1 };
    const alone = await post(`${base}/completions`, req);
    assert.equal(alone.status, 200);
    assert.equal(alone.json.object, 'text_completion');
    assert.deepEqual(alone.json.choices.map((c: any) => c.index), [0, 1, 2, 3]);
    const c0 = alone.json.choices[0];
    assert.equal(c0.logprobs.tokens.length, c0.logprobs.token_logprobs.length);
    assert.ok(['stop', 'length'].includes(c0.finish_reason));
    // batched together with other traffic (different seeds, same params) → the same completions
    const others = Array.from({ length: 5 }, (_, i) => post(`${base}/completions`, { ...req, seed: 100 + i }));
    const [again] = await Promise.all([post(`${base}/completions`, req), ...others]);
    // tokens and texts exactly; logprobs to float tolerance (GEMM sums may associate differently per batch size)
    const same = (a: any[], b: any[]) => {
      assert.deepEqual(a.map((c) => [c.index, c.text, c.finish_reason, c.logprobs.tokens]), b.map((c) => [c.index, c.text, c.finish_reason, c.logprobs.tokens]));
      a.forEach((c, i) => c.logprobs.token_logprobs.forEach((x: number, t: number) => assert.ok(Math.abs(x - b[i].logprobs.token_logprobs[t]) < 1e-4)));
    };
    same(again.json.choices, alone.json.choices);
    // and they are exactly what the Sampler gives for the request's streams (seed/prompt index)
    const direct = new Sampler(ck.config, ck.weights, ck.tokenizer!).generate(
      ['12+30=', '7*6='].map((p, k) => ({ id: `42/${k}`, prompt: ck.tokenizer!.encode(p, { addBos: true }), n: 2 })),
      { seed: 0, temperature: 0.9, maxNewTokens: 10, addBos: false });
    assert.deepEqual(alone.json.choices.map((c: any) => c.text), direct.samples.flat().map((s) => s.text));
    alone.json.choices[0].logprobs.token_logprobs.forEach((x: number, t: number) => assert.ok(Math.abs(x - direct.samples[0][0].modelLogprobs[t]) < 1e-4));
    assert.equal(alone.json.usage.completion_tokens, direct.samples.flat().reduce((a, s) => a + s.tokens.length, 0));
  });
});

test('validation: exact OpenAI error bodies naming the parameter', async () => {
  await withServer({ maxN: 4, maxBodyBytes: 2000 }, async (base) => {
    const cases: [unknown, number, string | null, RegExp][] = [
      [{ prompt: 'x' }, 400, 'model', /You must provide a model parameter/],
      [{ model: 'other', prompt: 'x' }, 404, 'model', /The model 'other' does not exist/],
      [{ model: 'bstar' }, 400, 'prompt', /Invalid 'prompt'/],
      [{ model: 'bstar', prompt: 'x', n: 5 }, 400, 'n', /Invalid 'n': 5 is not in \[1, 4\]/],
      [{ model: 'bstar', prompt: ['a', 'b', 'c'], n: 2 }, 400, 'n', /n × prompts = 6 exceeds the server limit 4/],
      [{ model: 'bstar', prompt: 'x', temperature: -1 }, 400, 'temperature', /Invalid 'temperature'/],
      [{ model: 'bstar', prompt: 'x', top_p: 0 }, 400, 'top_p', /top_p/],
      [{ model: 'bstar', prompt: 'x', max_tokens: 1.5 }, 400, 'max_tokens', /expected an integer/],
      [{ model: 'bstar', prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop', /at most 4 strings/],
      [{ model: 'bstar', prompt: 'x', frobnicate: 1 }, 400, 'frobnicate', /Unrecognized request argument supplied: frobnicate/],
      [{ model: 'bstar', prompt: 'x', echo: true, stream: true }, 400, 'stream', /'echo' together with 'stream' is not supported/],
      [{ model: 'bstar', prompt: 'x', max_tokens: 0 }, 400, 'max_tokens', /Invalid 'max_tokens': 0 is not in \[1, /],
      [{ model: 'bstar', prompt: '1'.repeat(45), max_tokens: 10 }, 400, 'prompt', /maximum context length is 48 tokens\. However, you requested 56 tokens/],
      ['{"model": "bstar",', 400, null, /could not parse the JSON body/],
      [{ model: 'bstar', prompt: 'x'.repeat(3000) }, 413, null, /exceeds the limit of 2000 bytes/],
    ];
    for (const [body, status, param, re] of cases) {
      const r = await post(`${base}/completions`, body);
      assert.equal(r.status, status, JSON.stringify(body).slice(0, 60));
      assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(r.json.error.param, param);
      assert.match(r.json.error.message, re);
    }
    const notFound = await fetch(`${base}/nope`);
    assert.equal(notFound.status, 404);
    const wrongMethod = await fetch(`${base}/completions`);
    assert.equal(wrongMethod.status, 405);
    const models = await (await fetch(`${base}/models`)).json();
    assert.deepEqual(models.data.map((m: any) => m.id), ['bstar']);
  });
});

test('API key: required on /v1, /health stays open', async () => {
  await withServer({ apiKey: 'sekret' }, async (base) => {
    const r = await post(`${base}/completions`, { model: 'bstar', prompt: '1+1=' });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'invalid_api_key');
    assert.equal((await post(`${base}/completions`, { model: 'bstar', prompt: '1+1=', max_tokens: 2 }, { Authorization: 'Bearer sekret' })).status, 200);
    assert.equal((await fetch(base.replace('/v1', '/health'))).status, 200);
  });
});

/** Reads an SSE body to the end: the JSON chunks and whether it ended with [DONE]. */
async function sseEvents(r: Response): Promise<{ chunks: any[]; done: boolean }> {
  const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
  const done = events[events.length - 1] === '[DONE]';
  return { chunks: (done ? events.slice(0, -1) : events).map((e) => JSON.parse(e)), done };
}

test('streaming: token by token; the deltas add up to the unstreamed texts (n > 1, a stop string spanning tokens), then [DONE]', async () => {
  await withServer({}, async (base) => {
    const req = { model: 'bstar', prompt: '3+4=', n: 4, max_tokens: 24, temperature: 1, seed: 7, logprobs: 1 };
    const free = await post(`${base}/completions`, req);
    const long = free.json.choices.find((c: any) => c.text.length >= 8);
    const stop = long.text.slice(4, 7); // three characters = three tokens of the char tokenizer
    const plain = await post(`${base}/completions`, { ...req, stop: [stop, 'zzz'] });
    assert.ok(plain.json.choices.some((c: any) => c.finish_reason === 'stop' && c.stop_reason === stop));
    const r = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ ...req, stop: [stop, 'zzz'], stream: true }) });
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const { chunks, done } = await sseEvents(r);
    assert.ok(done);
    const usage = chunks.pop();
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens, plain.json.usage.completion_tokens);
    const per = new Map<number, any[]>();
    for (const c of chunks) {
      assert.equal(c.object, 'text_completion');
      assert.equal(c.choices.length, 1);
      const ch = c.choices[0];
      per.set(ch.index, [...(per.get(ch.index) ?? []), ch]);
    }
    assert.deepEqual([...per.keys()].sort(), [0, 1, 2, 3]);
    for (const c of plain.json.choices) {
      const got = per.get(c.index)!;
      assert.equal(got.map((x) => x.text).join(''), c.text, `choice ${c.index}`);
      // token by token: a chunk holds one new character, or a few held back while they might have started the stop
      assert.ok(got.every((x) => x.text.length <= stop.length), JSON.stringify(got.map((x) => x.text)));
      assert.ok(got.length >= c.text.length / stop.length, `choice ${c.index}: ${got.length} chunks for ${c.text.length} characters`);
      // only the last chunk of a choice finishes it, with the unstreamed finish and stop reasons
      assert.deepEqual(got.map((x) => x.finish_reason), [...Array(got.length - 1).fill(null), c.finish_reason]);
      assert.equal(got[got.length - 1].stop_reason, c.stop_reason);
      // the chunks' logprobs add up to the unstreamed ones
      assert.deepEqual(got.flatMap((x) => x.logprobs.tokens), c.logprobs.tokens);
      assert.deepEqual(got.flatMap((x) => x.logprobs.text_offset), c.logprobs.text_offset);
      got.flatMap((x) => x.logprobs.token_logprobs).forEach((v: number, t: number) => assert.ok(Math.abs(v - c.logprobs.token_logprobs[t]) < 1e-4));
    }
    assert.ok(chunks.length > 3 * plain.json.choices.length);
  });
});

test('streaming: a client that disconnects mid-stream has its sequences stopped; the server goes on serving', async () => {
  // maxBatch 2: A (n = 2) fills the batch, B waits for the next one
  await withServer({ maxBatch: 2, batchWindowMs: 20 }, async (base, s) => {
    const ac = new AbortController();
    const body = { model: 'bstar', prompt: '1+2=', n: 2, max_tokens: 40, temperature: 1, seed: 3 };
    const a = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ ...body, stream: true }), signal: ac.signal });
    const b = post(`${base}/completions`, { ...body, n: 1, seed: 4 });
    const reader = a.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^data: \{/);
    ac.abort();
    const rb = await b;
    assert.equal(rb.status, 200);
    assert.equal(rb.json.choices.length, 1);
    assert.equal(s.stats.cancelled, 1);
    // A's two sequences were stopped after a few tokens: fewer tokens were decoded than A alone would take
    const full = new Sampler(ck.config, ck.weights, ck.tokenizer!).generate(
      [{ id: '3/0', prompt: ck.tokenizer!.encode('1+2=', { addBos: true }), n: 2 }], { seed: 0, temperature: 1, maxNewTokens: 40, addBos: false });
    assert.ok(full.stats.generatedTokens > 30, 'A would have run long');
    assert.ok(s.stats.generatedTokens - rb.json.usage.completion_tokens < full.stats.generatedTokens / 2, `${s.stats.generatedTokens} tokens decoded`);
    const health = await (await fetch(base.replace('/v1', '/health'))).json();
    assert.equal(health.cancelled, 1);
    assert.equal((await post(`${base}/completions`, { ...body, n: 1 })).status, 200);
  });
});

test('chat completions through the tokenizer\'s chat template', async () => {
  const tok = loadTokenizer(path.join(fixtures, 'tokenizers', 'bytelevel')) as HfTokenizer;
  const { tinyConfig, randomWeights } = await import('../model/helpers.js');
  const config = tinyConfig({ vocab_size: tok.vocabSize, eos_token_id: tok.eosId, bos_token_id: tok.bosId, max_position_embeddings: 128 });
  const weights = randomWeights(config, 2, 1);
  await withServer({}, async (base) => {
    const messages = [{ role: 'user', content: 'What is 2+3?' }];
    const r = await post(`${base}/chat/completions`, { model: 'bstar', messages, max_tokens: 12, temperature: 0, logprobs: true });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.json.choices[0].message.role, 'assistant');
    const ids = tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }));
    const direct = new Sampler(config, weights, tok).generate([{ prompt: ids }], { seed: 0, temperature: 0, maxNewTokens: 12 });
    assert.equal(r.json.choices[0].message.content, direct.samples[0][0].text);
    assert.equal(r.json.choices[0].logprobs.content.length, direct.samples[0][0].tokens.length);
    assert.equal(r.json.usage.prompt_tokens, ids.length);
    // streamed: chat.completion.chunk deltas (role first) that add up to the same content
    const sr = await fetch(`${base}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', messages, max_tokens: 12, temperature: 0, stream: true }) });
    const { chunks, done } = await sseEvents(sr);
    assert.ok(done);
    chunks.pop(); // usage
    assert.ok(chunks.length > 1 && chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks.map((c) => c.choices[0].delta.content).join(''), direct.samples[0][0].text);
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, r.json.choices[0].finish_reason);
    const bad = await post(`${base}/chat/completions`, { model: 'bstar', messages: [{ role: 'robot', content: 'x' }] });
    assert.equal(bad.json.error.param, 'messages[0].role');
  }, { config, weights, tokenizer: tok, generation: null, trainingState: null, metadata: {} });
});

test('limits and shutdown: over-concurrency gets 429; close() finishes queued work and refuses new requests', async () => {
  // a 100 ms batching window: the 12 requests arrive while the first 3 wait for their batch
  const s = new BstarServer(ck.config, ck.weights, ck.tokenizer!, { port: 0, maxConcurrent: 3, batchWindowMs: 100 });
  const port = await s.listen();
  const base = `http://127.0.0.1:${port}/v1`;
  try {
  const reqs = Array.from({ length: 12 }, (_, i) => post(`${base}/completions`, { model: 'bstar', prompt: '9*9=', max_tokens: 30, n: 4, temperature: 1, seed: i }));
  const res = await Promise.all(reqs);
  const statuses = res.map((r) => r.status);
  assert.ok(statuses.every((x) => x === 200 || x === 429), String(statuses));
  assert.ok(statuses.includes(429) && statuses.includes(200), String(statuses));
  for (const r of res.filter((x) => x.status === 429)) assert.equal(r.json.error.code, 'rate_limit_exceeded');
  // graceful: requests queued before close() complete; after it, none are accepted
  const inflight = [0, 1].map((i) => post(`${base}/completions`, { model: 'bstar', prompt: '1+2=', max_tokens: 20, seed: i }));
  while ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()).queued < 2) await new Promise((r) => setTimeout(r, 5));
  const closing = s.close(5000);
  const done = await Promise.all(inflight);
  assert.deepEqual(done.map((r) => r.status), [200, 200]);
  await closing;
  await assert.rejects(fetch(`${base}/models`));
  } finally {
    await s.close(0);
  }
});

test('a bounded loopback load test: every request answered, none lost', async () => {
  await withServer({}, async (base) => {
    const r = await runLoadTest({ baseUrl: base, clients: 6, durationMs: 1500, body: (c, i) => ({ model: 'bstar', prompt: `${c}+${i}=`, max_tokens: 16, temperature: 0.8, seed: c * 1000 + i }) });
    assert.ok(r.ok > 0);
    assert.equal(r.requests, r.ok, JSON.stringify(r));
    assert.equal(r.transportErrors, 0);
    assert.ok(r.latencyMs.p99 >= r.latencyMs.p50);
    // streaming clients: every stream complete ([DONE] after the usage chunk), first chunks before the ends
    const st = await runLoadTest({ baseUrl: base, clients: 4, durationMs: 700, body: (c, i) => ({ model: 'bstar', prompt: `${c}*${i}=`, max_tokens: 16, temperature: 0.8, seed: c * 1000 + i, stream: true }) });
    assert.ok(st.ok > 0);
    assert.equal(st.requests, st.ok, JSON.stringify(st));
    assert.ok(st.completionTokens > 0);
    assert.ok(st.firstChunkMs!.p50 <= st.latencyMs.p50);
  });
});
