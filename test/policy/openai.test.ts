// The fleet sampling backend against real `bstar serve` processes on loopback: samples equal the local
// Sampler's for the same seeds whichever endpoint served them; a server killed mid-run and a server
// answering 503s are absorbed by retries on the others with every sample accounted for; a fleet with no
// live endpoint fails with a clear error within a bounded time instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { Sampler } from '../../src/model/sampler.js';
import { OpenAiSamplingBackend } from '../../src/policy/openai.js';
import { PolicyError, type SampleParams } from '../../src/policy/types.js';
import { deriveSeed } from '../../src/util/rng.js';
import { fake, startServe } from './serve_procs.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const ckDir = path.join(fixtures, 'bstar_tiny');
const ck = loadCheckpoint(ckDir);

const params: SampleParams = { n: 3, temperature: 0.9, topP: 0.95, maxTokens: 12, stop: ['\n'], seed: 11 };
const requests = Array.from({ length: 24 }, (_, i) => ({ id: `q${i}`, prompt: `${i}+${(i * 7) % 13}=` }));

/** What bstar serve computes for a request: the local Sampler with the request's seed. */
function expectedSamples() {
  const s = new Sampler(ck.config, ck.weights, ck.tokenizer!);
  return requests.map((r) => {
    const seed = deriveSeed(params.seed, 'openai', r.id);
    return s.generate([{ id: `${seed}/0`, prompt: ck.tokenizer!.encode(r.prompt, { addBos: true }), n: params.n }],
      { seed: 0, temperature: params.temperature, topP: params.topP, maxNewTokens: params.maxTokens, stop: [...params.stop], addBos: false })
      .samples[0];
  });
}
const expected = () => expectedSamples().map((g) => g.map((x) => x.text));

test('two bstar serve processes: prompts spread over both, samples identical to the local sampler', async () => {
  const a = await startServe(ckDir);
  const b = await startServe(ckDir);
  try {
    const fleet = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: a.baseUrl, concurrency: 3 }, { baseUrl: b.baseUrl, concurrency: 3 }], model: 'bstar' });
    let progress = 0;
    const out = await fleet.sample(requests, params, (done) => (progress = done));
    assert.equal(progress, requests.length * params.n);
    assert.deepEqual(out.completions.map((g) => g.map((c) => c.text)), expected());
    for (const g of out.completions) for (const c of g) assert.ok(Number.isFinite(c.logprob) && c.tokens > 0);
    // the sampled ids come back (return_token_ids): prompt with BOS, completion ids as sampled, their logprobs
    const ref = expectedSamples();
    out.completions.forEach((g, r) => g.forEach((c, j) => {
      assert.deepEqual(c.promptIds, ck.tokenizer!.encode(requests[r].prompt, { addBos: true }));
      assert.deepEqual(c.completionIds, ref[r][j].tokens);
      assert.equal(c.tokenLogprobs!.length, c.tokens);
    }));
    assert.ok(fleet.stats.perEndpoint[a.baseUrl].ok > 0 && fleet.stats.perEndpoint[b.baseUrl].ok > 0, JSON.stringify(fleet.stats));
    assert.equal(fleet.stats.retries, 0);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('one server killed mid-run, one answering 503 every 2nd request: retries finish every sample', async () => {
  const healthy = await startServe(ckDir);
  const doomed = await startServe(ckDir);
  const flaky = await startServe(ckDir, ['--inject-fault-every', '2', '--inject-fault-status', '503']);
  try {
    const fleet = new OpenAiSamplingBackend({
      endpoints: [healthy, doomed, flaky].map((s) => ({ baseUrl: s.baseUrl, concurrency: 2 })), model: 'bstar', backoffMs: 20, maxAttempts: 8, timeoutMs: 20_000,
    });
    let killed = false;
    const out = await fleet.sample(requests, params, (done) => {
      if (!killed && done >= 6) {
        killed = true;
        doomed.proc.kill('SIGKILL');
      }
    });
    assert.ok(killed);
    assert.deepEqual(out.completions.map((g) => g.map((c) => c.text)), expected());
    assert.ok(fleet.stats.retries > 0, JSON.stringify(fleet.stats));
    assert.ok(fleet.stats.perEndpoint[flaky.baseUrl].failed > 0, JSON.stringify(fleet.stats));
  } finally {
    await Promise.all([healthy.stop(), doomed.stop(), flaky.stop()]);
  }
});

test('no live endpoint: a clear PolicyError after bounded retries, never a hang; bad requests fail at once', async () => {
  const s = await startServe(ckDir);
  const url = s.baseUrl;
  const bad = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: url }], model: 'not-this-model' });
  await assert.rejects(bad.sample(requests.slice(0, 2), params), (e: Error) => e instanceof PolicyError && /HTTP 404: The model 'not-this-model' does not exist/.test(e.message));
  await s.stop();
  const dead = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: url }], model: 'bstar', backoffMs: 10, maxAttempts: 3 });
  const t0 = Date.now();
  await assert.rejects(dead.sample(requests.slice(0, 3), params), (e: Error) => e instanceof PolicyError && /failed 3 times; errors: .*ECONNREFUSED/.test(e.message));
  assert.ok(Date.now() - t0 < 10_000);
  await assert.rejects(dead.syncWeights({} as never), /no `reload` hook/);
  assert.throws(() => new OpenAiSamplingBackend({ endpoints: [{ baseUrl: 'ftp://x' }], model: 'm' }), /endpoints\[0\]\.baseUrl/);
});

test('token ids from servers without return_token_ids: refused → asked without it; none returned → tokenized once with the policy tokenizer (logged once)', async () => {
  const tok = ck.tokenizer!;
  const choice = (text: string, finish: string) => ({ index: 0, text, finish_reason: finish, logprobs: { tokens: [...text], token_logprobs: [...text].map(() => -0.5) } });
  // a strict server: refuses the unknown parameter, then answers without ids
  const strict = await fake(async (body) => (body.return_token_ids !== undefined
    ? [400, { error: { message: 'Unrecognized request argument supplied: return_token_ids', type: 'invalid_request_error', param: 'return_token_ids', code: null } }]
    : [200, { choices: [choice('42', 'stop')], usage: { prompt_tokens: 5, completion_tokens: 2 } }]));
  // a server that ignores it; the choice ended on eos (finish 'stop' without a stop_reason)
  const lax = await fake(async () => [200, { choices: [choice('7', 'stop')] }]);
  try {
    const lines: string[] = [];
    const p1 = { ...params, n: 1, stop: [] };
    const a = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: strict.base, concurrency: 1 }], model: 'm', tokenizer: tok, log: (l) => lines.push(l) });
    const out = await a.sample([{ id: 'a', prompt: '40+2=' }, { id: 'b', prompt: '1+1=' }], p1);
    assert.deepEqual(strict.seen.map((b) => b.return_token_ids !== undefined), [true, false, false], 'asked with it once, then without');
    const c = out.completions[0][0];
    assert.deepEqual(c.promptIds, tok.encode('40+2=', { addBos: true }));
    assert.deepEqual(c.completionIds, [...tok.encode('42'), tok.eosId]);
    assert.deepEqual(c.tokenLogprobs, undefined, 'two logprobs for three ids: not attached');
    assert.equal(lines.filter((l) => /returns no token ids/.test(l)).length, 1, lines.join('\n'));
    const b = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: lax.base }], model: 'm', tokenizer: tok });
    const d = (await b.sample([{ id: 'x', prompt: '3+4=' }], { ...p1, stop: ['\n'] })).completions[0][0];
    assert.deepEqual(d.completionIds, [...tok.encode('7'), tok.eosId]);
    // without a tokenizer the completion carries no ids (the trainer encodes its text)
    const bare = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: lax.base }], model: 'm' });
    const e = (await bare.sample([{ id: 'x', prompt: '3+4=' }], p1)).completions[0][0];
    assert.equal(e.completionIds, undefined);
    assert.equal(e.text, '7');
  } finally {
    await Promise.all([strict.close(), lax.close()]);
  }
});

test('next-token logprobs on a fleet (a PRM scored on vLLM): token-id prompt, echo top logprobs keyed token_id:N', async () => {
  // a vLLM-shaped answer: top_logprobs[j] is the distribution of token j given the tokens before it
  const srv = await fake(async (body) => {
    const ids = body.prompt as number[];
    const top = [null, ...ids.slice(1).map((_, j) => ({ 'token_id:5': -0.1 - j, 'token_id:6': -2 - j, 'token_id:7': -3 })), { 'token_id:5': -0.5, 'token_id:6': -1 }];
    return [200, { choices: [{ index: 0, text: '', logprobs: { tokens: [...ids, 5].map((t) => `token_id:${t}`), token_logprobs: [null, ...ids.slice(1).map(() => -1), -0.5], top_logprobs: top } }] }];
  });
  try {
    const fleet = new OpenAiSamplingBackend({ endpoints: [{ baseUrl: srv.base }], model: 'prm' });
    const out = await fleet.nextTokenLogprobs([{ ids: [1, 9, 9, 4], positions: [0, 3] }], [5, 6]);
    // after position 0 → top_logprobs[1] (j = 0); after the last position 3 → the generated token's
    assert.deepEqual(out, [[[-0.1, -2], [-0.5, -1]]]);
    assert.deepEqual(srv.seen[0], { model: 'prm', prompt: [1, 9, 9, 4], echo: true, max_tokens: 1, logprobs: 20, temperature: 0, n: 1, return_tokens_as_token_ids: true });
    await assert.rejects(fleet.nextTokenLogprobs([{ ids: [1, 9], positions: [0] }], [5, 8]), (e: Error) => e instanceof PolicyError && /token id 8 is not among the top 20 logprobs after position 0/.test(e.message));
  } finally {
    await srv.close();
  }
});
