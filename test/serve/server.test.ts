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

test('streaming: one SSE chunk per choice, the same texts as without streaming, then [DONE]', async () => {
  await withServer({}, async (base) => {
    const req = { model: 'bstar', prompt: '3+4=', n: 3, max_tokens: 8, temperature: 1, seed: 7 };
    const plain = await post(`${base}/completions`, req);
    const r = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ ...req, stream: true }) });
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    assert.equal(events[events.length - 1], '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const texts = new Map<number, string>();
    for (const c of chunks) for (const ch of c.choices) texts.set(ch.index, (texts.get(ch.index) ?? '') + ch.text);
    assert.deepEqual([...texts.keys()].sort(), [0, 1, 2]);
    for (const c of plain.json.choices) assert.equal(texts.get(c.index), c.text);
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
  });
});
