// bstar serve as vLLM users expect it: logprobs with top_logprobs, /metrics in the Prometheus text
// format, drain on SIGTERM, 4xx naming the field for client mistakes (no stack traces, none for
// client aborts), the config's limits, and token streaming whose first chunk comes well before the last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { MAX_TEMPERATURE } from '../../src/run/config.js';
import { BstarServer, firstInvalidUtf8, type ServeOptions } from '../../src/serve/server.js';
import { runLoadTest } from '../../src/serve/loadtest.js';
import { CharTokenizer, loadTokenizer, type HfTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { randomWeights, tinyConfig } from '../model/helpers.js';
import type { ModelConfig } from '../../src/model/config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');
const cli = path.resolve(here, '../../src/cli/main.js');
const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));

interface Model {
  config: ModelConfig;
  weights: Map<string, Float32Array>;
  tokenizer: Tokenizer;
}
const tinyFixture: Model = { config: ck.config, weights: ck.weights, tokenizer: ck.tokenizer! };

async function withServer(opts: ServeOptions, f: (base: string, s: BstarServer, logs: string[]) => Promise<void>, m: Model = tinyFixture): Promise<void> {
  const logs: string[] = [];
  const s = new BstarServer(m.config, m.weights, m.tokenizer, { port: 0, log: (l) => logs.push(l), ...opts });
  const port = await s.listen();
  try {
    await f(`http://127.0.0.1:${port}/v1`, s, logs);
  } finally {
    await s.close(1000);
  }
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit });
  return { status: r.status, json: await r.json() };
}

async function sse(r: Response): Promise<any[]> {
  const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
  assert.equal(events.at(-1), '[DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e));
}

// ---------------------------------------------------------------------------------------------
// logprobs

test('completions logprobs k: top_logprobs has k entries per token, summing to ≤ 1, the same completion as without', async () => {
  await withServer({}, async (base) => {
    const req = { model: 'bstar', prompt: ['12+30=', '7*6='], n: 2, max_tokens: 12, temperature: 0.9, seed: 5 };
    const plain = await post(`${base}/completions`, req);
    for (const k of [1, 3, 5]) {
      const r = await post(`${base}/completions`, { ...req, logprobs: k });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.choices.map((c: any) => c.text), plain.json.choices.map((c: any) => c.text));
      for (const c of r.json.choices) {
        const lp = c.logprobs;
        assert.equal(lp.top_logprobs.length, lp.tokens.length);
        lp.top_logprobs.forEach((d: Record<string, number>, t: number) => {
          const vals = Object.values(d);
          assert.equal(vals.length, k, `k = ${k}: ${JSON.stringify(d)}`);
          assert.ok(vals.reduce((a, x) => a + Math.exp(x), 0) <= 1 + 1e-9);
          // the sampled token is no likelier than the best (a JSON object has no order to check:
          // digit-like keys such as "7" come first in JavaScript's)
          assert.ok(lp.token_logprobs[t] <= Math.max(...vals) + 1e-6);
          if (lp.tokens[t] in d) assert.ok(Math.abs(d[lp.tokens[t]] - lp.token_logprobs[t]) < 1e-5);
        });
      }
    }
    // k = 0: the sampled tokens' logprobs, no alternatives
    const zero = await post(`${base}/completions`, { ...req, logprobs: 0 });
    assert.equal(zero.json.choices[0].logprobs.top_logprobs, null);
    assert.equal(zero.json.choices[0].logprobs.token_logprobs.length, zero.json.choices[0].logprobs.tokens.length);
    const over = await post(`${base}/completions`, { ...req, logprobs: 21 });
    assert.equal(over.status, 400);
    assert.equal(over.json.error.param, 'logprobs');
    assert.match(over.json.error.message, /Invalid 'logprobs': 21 is not in \[0, 20\]/);
  });
});

test('echo with logprobs k: the prompt\'s top logprobs too (null at its first token); return_tokens_as_token_ids names ids', async () => {
  await withServer({}, async (base) => {
    const r = await post(`${base}/completions`, { model: 'bstar', prompt: '3+4=', echo: true, max_tokens: 0, logprobs: 2 });
    assert.equal(r.status, 200);
    const lp = r.json.choices[0].logprobs;
    const ids = ck.tokenizer!.encode('3+4=', { addBos: true });
    assert.equal(lp.tokens.length, ids.length);
    assert.equal(lp.top_logprobs[0], null);
    assert.equal(lp.token_logprobs[0], null);
    for (const d of lp.top_logprobs.slice(1)) assert.equal(Object.keys(d).length, 2);
    const t = await post(`${base}/completions`, { model: 'bstar', prompt: '3+4=', echo: true, max_tokens: 4, logprobs: 2, temperature: 0, return_tokens_as_token_ids: true });
    const tl = t.json.choices[0].logprobs;
    assert.deepEqual(tl.tokens.slice(0, ids.length), ids.map((i) => `token_id:${i}`));
    assert.ok(tl.tokens.every((x: string) => /^token_id:\d+$/.test(x)));
    for (const d of tl.top_logprobs.slice(1)) for (const key of Object.keys(d)) assert.match(key, /^token_id:\d+$/);
    // the generated ids decode to the generated text
    const gen = tl.tokens.slice(ids.length).map((x: string) => Number(x.split(':')[1]));
    assert.equal(ck.tokenizer!.decode(gen, { skipSpecialTokens: true }), t.json.choices[0].text.slice('3+4='.length));
  });
});

test('chat logprobs with top_logprobs k: k {token, logprob, bytes} per token; top_logprobs needs logprobs', async () => {
  const tok = loadTokenizer(path.join(fixtures, 'tokenizers', 'bytelevel')) as HfTokenizer;
  const config = tinyConfig({ vocab_size: tok.vocabSize, eos_token_id: tok.eosId, bos_token_id: tok.bosId, max_position_embeddings: 128 });
  const weights = randomWeights(config, 2, 1);
  await withServer({}, async (base) => {
    const messages = [{ role: 'user', content: 'What is 2+3?' }];
    const r = await post(`${base}/chat/completions`, { model: 'bstar', messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const content = r.json.choices[0].logprobs.content;
    assert.ok(content.length > 0);
    for (const c of content) {
      assert.equal(c.top_logprobs.length, 3);
      assert.ok(c.top_logprobs.reduce((a: number, x: any) => a + Math.exp(x.logprob), 0) <= 1 + 1e-9);
      for (const x of c.top_logprobs) assert.deepEqual(x.bytes, [...Buffer.from(x.token, 'utf8')]);
      // greedy: the chosen token is the most likely one
      assert.ok(Math.abs(c.logprob - c.top_logprobs[0].logprob) < 1e-6);
    }
    const bad = await post(`${base}/chat/completions`, { model: 'bstar', messages, top_logprobs: 2 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'top_logprobs');
  }, { config, weights, tokenizer: tok });
});

test('streamed top_logprobs add up to the unstreamed ones', async () => {
  await withServer({}, async (base) => {
    const req = { model: 'bstar', prompt: '9*9=', max_tokens: 16, temperature: 1, seed: 3, logprobs: 2 };
    const plain = await post(`${base}/completions`, req);
    const chunks = await sse(await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ ...req, stream: true }) }));
    chunks.pop(); // usage
    const tops = chunks.flatMap((c) => c.choices[0].logprobs.top_logprobs);
    const want = plain.json.choices[0].logprobs.top_logprobs;
    assert.equal(tops.length, want.length);
    tops.forEach((d: Record<string, number>, t: number) => {
      assert.deepEqual(Object.keys(d), Object.keys(want[t]));
      for (const key of Object.keys(d)) assert.ok(Math.abs(d[key] - want[t][key]) < 1e-5);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// /metrics

/**
 * A strict reader of the Prometheus text exposition format 0.0.4: every line a `# HELP`, a `# TYPE`
 * (before the metric's samples, once) or a sample `name{labels} value`, names and label names
 * valid, label values properly quoted and escaped, values numbers; histograms with cumulative
 * buckets ending at +Inf equal to _count. Returns samples by name and label text.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const seen = new Set<string>();
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([^ ]+) (.*)$/.exec(line))) {
      assert.match(m[1], NAME);
      continue;
    }
    if ((m = /^# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.match(m[1], NAME);
      assert.ok(!types.has(m[1]), `TYPE of ${m[1]} once`);
      assert.ok(![...seen].some((s) => s === m![1] || s.startsWith(`${m![1]}_`)), `TYPE of ${m[1]} before its samples`);
      types.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? ([^ ]+)( -?\d+)?$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3] === 'NaN' ? NaN : Number(m[3]);
    assert.ok(!Number.isNaN(v) || m[3] === 'NaN', `value ${m[3]}`);
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]) || types.get(base) === 'histogram', `${m[1]} has a TYPE`);
    seen.add(m[1]);
    samples.set(`${m[1]}${m[2] ?? ''}`, v);
  }
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const buckets = [...samples].filter(([k]) => k.startsWith(`${name}_bucket{`)).map(([k, v]) => ({ le: k.match(/le="([^"]+)"/)![1], v }));
    assert.equal(buckets.at(-1)!.le, '+Inf', `${name}: the last bucket is +Inf`);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(Number(buckets[i].le === '+Inf' ? Infinity : buckets[i].le) > Number(buckets[i - 1].le), `${name}: bounds ascend`);
      assert.ok(buckets[i].v >= buckets[i - 1].v, `${name}: cumulative`);
    }
    assert.equal(buckets.at(-1)!.v, samples.get(`${name}_count`));
    assert.ok(samples.has(`${name}_sum`));
  }
  return { types, samples };
}

/** A python3 with prometheus_client (Debian python3-prometheus-client), or null. */
const promPython = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import prometheus_client.parser'], { encoding: 'utf8' }).status === 0) ?? null;

test('/metrics: Prometheus text format with requests, tokens, queue depth and latency histograms that match the traffic', async () => {
  await withServer({ maxBatch: 1, batchWindowMs: 30 }, async (base) => {
    const ok = await Promise.all([0, 1, 2].map((i) => post(`${base}/completions`, { model: 'bstar', prompt: `${i}+1=`, max_tokens: 6, seed: i })));
    const streamed = await sse(await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '5+5=', max_tokens: 6, seed: 9, stream: true }) }));
    assert.equal((await post(`${base}/completions`, { model: 'bstar', prompt: 'x', n: 999 })).status, 400);
    assert.equal((await post(`${base}/completions`, { model: 'nope', prompt: 'x' })).status, 404);
    const r = await fetch(base.replace('/v1', '/metrics'));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await r.text();
    const { types, samples } = parsePrometheus(text);
    assert.equal(types.get('bstar_requests_total'), 'counter');
    assert.equal(types.get('bstar_request_latency_seconds'), 'histogram');
    assert.equal(types.get('bstar_requests_waiting'), 'gauge');
    assert.equal(samples.get('bstar_requests_total{endpoint="/v1/completions",status="200"}'), 4);
    assert.equal(samples.get('bstar_requests_total{endpoint="/v1/completions",status="400"}'), 1);
    assert.equal(samples.get('bstar_requests_total{endpoint="/v1/completions",status="404"}'), 1);
    const usage = [...ok.map((x) => x.json.usage), streamed.at(-1).usage];
    assert.equal(samples.get('bstar_prompt_tokens_total'), usage.reduce((a, u) => a + u.prompt_tokens, 0));
    assert.equal(samples.get('bstar_generation_tokens_total'), usage.reduce((a, u) => a + u.completion_tokens, 0));
    assert.equal(samples.get('bstar_request_latency_seconds_count'), 4);
    assert.equal(samples.get('bstar_time_to_first_token_seconds_count'), 4);
    assert.equal(samples.get('bstar_requests_waiting'), 0);
    assert.equal(samples.get('bstar_requests_running'), 0);
    assert.equal(samples.get('bstar_batches_total'), 4, 'maxBatch 1: a batch per request');
    // the queue depth while requests wait: maxBatch 1 and a 30 ms window keep the later ones queued
    const pending = [0, 1, 2, 3].map((i) => post(`${base}/completions`, { model: 'bstar', prompt: `${i}*2=`, max_tokens: 20, seed: i, ignore_eos: true }));
    let waiting = 0;
    for (let t = 0; t < 200 && waiting === 0; t++) {
      waiting = parsePrometheus(await (await fetch(base.replace('/v1', '/metrics'))).text()).samples.get('bstar_requests_waiting')!;
      if (waiting === 0) await new Promise((res) => setTimeout(res, 2));
    }
    assert.ok(waiting >= 1, 'requests seen waiting');
    await Promise.all(pending);
    // an independent parser: the official Python client's (Debian python3-prometheus-client), when installed
    if (promPython) {
      const py = spawnSync(promPython, ['-c', 'import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\nfor f in p(sys.stdin.read()):\n  for s in f.samples: print(f.type, s.name, sorted(s.labels.items()), s.value)'], { input: text, encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      assert.match(py.stdout, /^counter bstar_requests_total \[\('endpoint', '\/v1\/completions'\), \('status', '200'\)\] 4\.0$/m);
      assert.match(py.stdout, /^histogram bstar_request_latency_seconds_count \[\] 4\.0$/m);
      assert.equal(py.stdout.trim().split('\n').length, [...samples.keys()].length);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// client mistakes: 4xx naming the field, nothing logged

test('client input errors are 400 naming the field, with nothing logged: outside the alphabet, invalid UTF-8, bad fields', async () => {
  await withServer({}, async (base, _s, logs) => {
    const cases: [unknown, string | null, string, RegExp][] = [
      [{ model: 'bstar', prompt: '12+€=' }, 'prompt', 'invalid_prompt', /Invalid 'prompt': char tokenizer: character "€" \(U\+20AC\) at position 3 of the text is not in the alphabet/],
      [{ model: 'bstar', prompt: ['1+1=', 'héllo'] }, 'prompt[1]', 'invalid_prompt', /Invalid 'prompt\[1\]'.*not in the alphabet/],
      [{ model: 'bstar', prompt: '1+1=', temperature: MAX_TEMPERATURE + 1 }, 'temperature', null as unknown as string, new RegExp(`Invalid 'temperature': ${MAX_TEMPERATURE + 1} is not in \\[0, ${MAX_TEMPERATURE}\\]`)],
      [{ model: 'bstar', prompt: '1+1=', top_k: -2 }, 'top_k', null as unknown as string, /Invalid 'top_k'/],
      [{ model: 'bstar', prompt: '1+1=', ignore_eos: 'yes' }, 'ignore_eos', null as unknown as string, /expected a boolean/],
    ];
    for (const [body, param, code, re] of cases) {
      const r = await post(`${base}/completions`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.param, param);
      if (code) assert.equal(r.json.error.code, code);
      assert.match(r.json.error.message, re);
    }
    // bytes that are not UTF-8 inside the prompt string: named, with the offset
    const raw = Buffer.concat([Buffer.from('{"model": "bstar", "prompt": "1+'), Buffer.from([0xff, 0xfe]), Buffer.from('="}')]);
    const u = await post(`${base}/completions`, raw);
    assert.equal(u.status, 400);
    assert.deepEqual([u.json.error.param, u.json.error.code], ['prompt', 'invalid_utf8']);
    assert.match(u.json.error.message, /^Invalid 'prompt': not valid UTF-8 \(byte 0xff at offset 32 of the body\)\.$/);
    // temperature above OpenAI's 2 but within the config's range is served (B-STaR searches T up to 5)
    assert.equal((await post(`${base}/completions`, { model: 'bstar', prompt: '1+1=', temperature: 3, max_tokens: 3 })).status, 200);
    assert.deepEqual(logs, [], 'no stack trace (nothing logged) for client mistakes');
  });
  assert.equal(firstInvalidUtf8(Buffer.from('aé€😀')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc3])), 1, 'cut short');
  assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0, 'a UTF-16 surrogate');
  assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0x80])), 0, 'overlong');
});

test('chat: invalid UTF-8 in a message names messages[i].content', async () => {
  const tok = loadTokenizer(path.join(fixtures, 'tokenizers', 'bytelevel')) as HfTokenizer;
  const config = tinyConfig({ vocab_size: tok.vocabSize, eos_token_id: tok.eosId, bos_token_id: tok.bosId, max_position_embeddings: 128 });
  await withServer({}, async (base, _s, logs) => {
    const raw = Buffer.concat([Buffer.from('{"model": "bstar", "messages": [{"role": "user", "content": "hi '), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    const r = await post(`${base}/chat/completions`, raw);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'messages[0].content');
    assert.deepEqual(logs, []);
  }, { config, weights: randomWeights(config, 1, 0.5), tokenizer: tok });
});

test('a client that aborts mid-body or mid-generation is no error: nothing logged, the server goes on', async () => {
  await withServer({}, async (base, s, logs) => {
    const port = Number(new URL(base).port);
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model": "bstar", "pro');
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 50);
      });
      sock.on('error', reject);
    });
    // mid-generation: a non-streamed request whose client gives up
    const ac = new AbortController();
    const gone = fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '1+1=', max_tokens: 40, n: 8, ignore_eos: true }), signal: ac.signal }).catch(() => null);
    await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await gone;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await post(`${base}/completions`, { model: 'bstar', prompt: '2+2=', max_tokens: 3 })).status, 200);
    assert.deepEqual(logs, []);
    assert.equal(s.stats.failed, 0);
  });
});

test('the server\'s own limits: --max-tokens beyond the context is refused at start; a request past the KV budget is a 400', async () => {
  assert.throws(() => new BstarServer(ck.config, ck.weights, ck.tokenizer!, { maxTokens: ck.config.max_position_embeddings }), /maxTokens \(--max-tokens\) 48 leaves no room for a prompt: .* at most 47/);
  await withServer({ kvBudgetTokens: 20 }, async (base) => {
    const r = await post(`${base}/completions`, { model: 'bstar', prompt: '12+30=', max_tokens: 30 });
    assert.equal(r.status, 400);
    assert.deepEqual([r.json.error.param, r.json.error.code], ['max_tokens', 'kv_budget_exceeded']);
    assert.match(r.json.error.message, /need 36 KV cache positions, more than this server's budget of 20/);
  });
});

// ---------------------------------------------------------------------------------------------
// streaming and shutdown

test('token streaming: a long completion\'s first chunk arrives well before its last', async () => {
  const tok = new CharTokenizer([...'0123456789+-*=() ab\n']);
  const config = tinyConfig({ vocab_size: tok.vocabSize, max_position_embeddings: 512, hidden_size: 64, intermediate_size: 128 });
  await withServer({}, async (base) => {
    const t0 = performance.now();
    const r = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '1+2=', max_tokens: 400, temperature: 1, seed: 1, ignore_eos: true, stream: true }) });
    const reader = r.body!.getReader();
    const times: number[] = [];
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      times.push(performance.now() - t0);
      text += new TextDecoder().decode(value);
    }
    const chunks = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    assert.equal(chunks.at(-1).usage.completion_tokens, 400);
    assert.ok(times.length > 20, `${times.length} reads`);
    const first = times[0];
    const last = times.at(-1)!;
    assert.ok(first < last / 4, `first chunk at ${first.toFixed(1)} ms, last at ${last.toFixed(1)} ms`);
  }, { config, weights: randomWeights(config, 4, 0.3), tokenizer: tok });
});

test('bstar serve on SIGTERM: stops accepting, finishes every accepted request, exits 0', { timeout: 120_000 }, async () => {
  const proc = spawn(process.execPath, [cli, 'serve', path.join(fixtures, 'bstar_tiny'), '--port', '0', '--max-batch', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  while (!out.includes('"listening"')) await new Promise((r) => setTimeout(r, 20));
  const base = JSON.parse(out.split('\n')[0]).listening as string;
  const health = base.replace('/v1', '/health');
  // 24 requests of 8 × 40 tokens, one sequence at a time: they queue
  const N = 24;
  const reqs = Array.from({ length: N }, (_, i) => {
    const body = { model: 'bstar', prompt: `${i}+1=`, max_tokens: 40, n: 8, temperature: 1, seed: i, ignore_eos: true, stream: i % 3 === 0 };
    return fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.text() }));
  });
  for (;;) {
    const h = await (await fetch(health)).json();
    if (h.queued + h.running + h.served >= N) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  proc.kill('SIGTERM');
  while (!err.includes('draining')) await new Promise((r) => setTimeout(r, 5));
  const pending = Number(/draining (\d+) accepted request/.exec(err)![1]);
  assert.ok(pending >= 1, `requests still pending at SIGTERM: ${pending}`);
  // a new request is refused (the port is closed, or 503 on a kept-alive connection)
  const late = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '1+1=' }) }).then((r) => r.status, () => 'refused');
  assert.ok(late === 'refused' || late === 503, String(late));
  const done = await Promise.all(reqs);
  assert.deepEqual(done.map((d) => d.status), Array(N).fill(200));
  for (const [i, d] of done.entries()) {
    if (i % 3 === 0) assert.match(d.body, /data: \[DONE\]\n\n$/);
    else assert.equal(JSON.parse(d.body).choices.length, 8);
  }
  assert.equal(await exited, 0);
  assert.match(out, /"stopped":true/);
  assert.doesNotMatch(err, /at .*\.js:\d+/, 'no stack trace');
});

test('the load test reports TTFT, ITL and TPOT for streamed requests', async () => {
  await withServer({}, async (base) => {
    const st = await runLoadTest({ baseUrl: base, clients: 3, durationMs: 600, body: (c, i) => ({ model: 'bstar', prompt: `${c}*${i}=`, max_tokens: 24, temperature: 0.8, seed: c * 1000 + i, ignore_eos: true, stream: true }) });
    assert.ok(st.ok > 0);
    assert.equal(st.requests, st.ok);
    assert.ok(st.ttftMs!.p50 >= st.firstChunkMs!.p50 && st.ttftMs!.p50 <= st.latencyMs.p50);
    // 24 tokens per request: at most 23 gaps each (a chunk holds one character without stop strings;
    // special tokens past an ignored eos add no text)
    assert.ok(st.itlMs!.count <= st.ok * 23 && st.itlMs!.count >= st.ok * 10, `${st.itlMs!.count} gaps for ${st.ok} requests`);
    assert.ok(st.itlMs!.p99 >= st.itlMs!.p50 && st.tpotMs!.p99 >= st.tpotMs!.p50);
  });
});
