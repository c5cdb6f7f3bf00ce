// Scoring given text on a fleet (the completions echo trick) against bstar serve on loopback: the
// fleet's per-token logprobs equal the local engine's; a server that refuses max_tokens 0 is asked
// for one token (dropped); a server without echo is a clear error; the split rule on a hand-made
// response with a token straddling the prompt/completion boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { Sampler } from '../../src/model/sampler.js';
import { completionLogprobs, OpenAiSamplingBackend } from '../../src/policy/openai.js';
import { PolicyError } from '../../src/policy/types.js';
import { BstarServer } from '../../src/serve/server.js';
import { fake } from './serve_procs.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));

const items = [
  { prompt: '12+30=', completion: '42' },
  { prompt: '7*6=', completion: '42\n' },
  { prompt: '1', completion: '+1=2' },
  { prompt: '(3-1)*4=', completion: '8' },
  { prompt: '9=', completion: '' },
];

async function serve(): Promise<{ base: string; s: BstarServer }> {
  const s = new BstarServer(ck.config, ck.weights, ck.tokenizer!, { port: 0 });
  return { base: `http://127.0.0.1:${await s.listen()}/v1`, s };
}

const local = () => new Sampler(ck.config, ck.weights, ck.tokenizer!).logprobs(items.filter((i) => i.completion).map((i) => ({ prompt: i.prompt, completion: i.completion }))).map((r) => r.logprobs);

function close(a: number[][], b: number[][]): void {
  assert.deepEqual(a.map((x) => x.length), b.map((x) => x.length));
  a.forEach((x, i) => x.forEach((v, t) => assert.ok(Math.abs(v - b[i][t]) < 1e-4, `item ${i} token ${t}: ${v} vs ${b[i][t]}`)));
}

test('bstar serve echo: prompt text and per-token logprobs (first null) with max_tokens 0, prompt + completion otherwise', async () => {
  const { base, s } = await serve();
  try {
    const r = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '12+30=42', echo: true, max_tokens: 0, logprobs: 1, n: 2 }) });
    const j = await r.json();
    assert.equal(r.status, 200, JSON.stringify(j));
    assert.equal(j.choices.length, 2);
    const c = j.choices[0];
    assert.equal(c.text, '12+30=42');
    assert.deepEqual(c.logprobs.tokens, ['<s>', ...'12+30=42']);
    assert.deepEqual(c.logprobs.text_offset, [0, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(c.logprobs.token_logprobs[0], null);
    const ref = new Sampler(ck.config, ck.weights, ck.tokenizer!).logprobs([{ prompt: '', completion: '12+30=42' }])[0].logprobs; // BOS, then the text
    close([c.logprobs.token_logprobs.slice(1)], [ref]);
    assert.equal(j.usage.completion_tokens, 0);
    // with generation: the completion follows the echoed prompt, logprobs continue after it
    const g = await (await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '3+4=', echo: true, max_tokens: 5, logprobs: 1, seed: 2 }) })).json();
    const plain = await (await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify({ model: 'bstar', prompt: '3+4=', max_tokens: 5, logprobs: 1, seed: 2 }) })).json();
    assert.equal(g.choices[0].text, '3+4=' + plain.choices[0].text);
    assert.deepEqual(g.choices[0].logprobs.tokens.slice(5), plain.choices[0].logprobs.tokens);
    assert.equal(g.choices[0].logprobs.text_offset[5], 7);
  } finally {
    await s.close(500);
  }
});

test('fleet logprobs(prompt, completion) over two servers equal the local engine\'s to 1e-4', async () => {
  const [a, b] = [await serve(), await serve()];
  try {
    const fleet = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: a.base, concurrency: 2 }, { baseUrl: b.base, concurrency: 2 }], model: 'bstar' });
    const got = await fleet.logprobs(items);
    assert.deepEqual(got[4], []); // empty completion
    close(got.slice(0, 4), local());
    assert.ok(a.s.stats.served > 0 && b.s.stats.served > 0);
    assert.equal(a.s.stats.generatedTokens + b.s.stats.generatedTokens, 0, 'nothing generated with max_tokens 0');
  } finally {
    await Promise.all([a.s.close(500), b.s.close(500)]);
  }
});

test('a server that refuses max_tokens 0 is asked for 1 token (dropped); one without echo is a clear error', async () => {
  const { base, s } = await serve();
  // a proxy in front of bstar serve that rejects max_tokens 0 the way a strict server does
  const strict = await fake(async (body) => {
    if (body.max_tokens === 0) return [400, { error: { message: "Invalid 'max_tokens': 0 is not in [1, 32].", type: 'invalid_request_error', param: 'max_tokens', code: null } }];
    const r = await fetch(`${base}/completions`, { method: 'POST', body: JSON.stringify(body) });
    return [r.status, await r.json()];
  });
  const noEcho = await fake(async () => [400, { error: { message: "'echo' is not supported by this server.", type: 'invalid_request_error', param: 'echo', code: null } }]);
  const ignores = await fake(async () => [200, { choices: [{ index: 0, text: '5', logprobs: { tokens: ['5'], token_logprobs: [-1], text_offset: [0] } }] }]);
  try {
    const fleet = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: strict.base, concurrency: 1 }], model: 'bstar' });
    close((await fleet.logprobs(items.slice(0, 4))), local());
    // asked 0 once, then 1 for every item (the endpoint is remembered)
    assert.deepEqual(strict.seen.map((x) => x.max_tokens), [0, 1, 1, 1, 1]);
    await assert.rejects(new OpenAiSamplingBackend({ endpoints: [{ baseUrl: noEcho.base }], model: 'bstar' }).logprobs(items.slice(0, 1)),
      (e: Error) => e instanceof PolicyError && /does not support 'echo' \(needed to score given text\)/.test(e.message));
    await assert.rejects(new OpenAiSamplingBackend({ endpoints: [{ baseUrl: ignores.base }], model: 'bstar' }).logprobs(items.slice(0, 1)),
      (e: Error) => e instanceof PolicyError && /did not echo the prompt/.test(e.message));
  } finally {
    await Promise.all([s.close(500), strict.close(), noEcho.close(), ignores.close()]);
  }
});

test('the split: end-aligned offsets; a token straddling prompt|completion counts with the completion', () => {
  // text "abc def" = prompt "abc" + completion " def"; offsets count a BOS "<s>" the text does not have
  const body = { choices: [{ text: 'abc def', logprobs: { tokens: ['<s>', 'ab', 'c d', 'ef'], token_logprobs: [null, -1, -2, -3], text_offset: [0, 3, 5, 8] } }] };
  assert.deepEqual(completionLogprobs(body, 'abc def', ' def', 0, 't'), [-2, -3]);
  assert.deepEqual(completionLogprobs(body, 'abc def', 'ef', 0, 't'), [-3]); // on a token boundary: exactly its tokens
  // one generated token after the echo is dropped
  const gen = { choices: [{ text: 'abc defX', logprobs: { tokens: ['<s>', 'ab', 'c d', 'ef', 'X'], token_logprobs: [null, -1, -2, -3, -9], text_offset: [0, 3, 5, 8, 10] } }] };
  assert.deepEqual(completionLogprobs(gen, 'abc def', ' def', 1, 't'), [-2, -3]);
  // the completion reaching into the null-logprob first token: an error, not a silent 0
  const noBos = { choices: [{ text: 'abc def', logprobs: { tokens: ['ab', 'c d', 'ef'], token_logprobs: [null, -2, -3], text_offset: [0, 2, 5] } }] };
  assert.deepEqual(completionLogprobs(noBos, 'abc def', ' def', 0, 't'), [-2, -3]);
  assert.throws(() => completionLogprobs(noBos, 'abc def', 'abc def', 0, 't'), /has logprob null/);
  assert.throws(() => completionLogprobs({ choices: [{ text: 'abc def', logprobs: null }] }, 'abc def', 'ef', 0, 't'), /no logprobs/);
});
