// Models and datasets by hub id, against a loopback HTTP server that serves the hub's file API from
// fixtures (HF_ENDPOINT points at it): repository info with its commit, the recursive file tree,
// paths-info, and `resolve` downloads with byte ranges and ETags, as @huggingface/hub calls them.
// Checks the huggingface_hub cache layout (refs/main, snapshots/<commit>/, blobs/), that only the
// files bstar reads are fetched and only once, HF_TOKEN for a private repository, and the one-line
// errors offline, for an unknown repository and with nothing cached.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError, hubCacheDir, isHubId, resolveHubRepo, resolveModelPath } from '../../src/hub/index.js';
import { taskFromConfig } from '../../src/tasks/index.js';
import type { Query } from '../../src/tasks/types.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/bstar_tiny', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TOKEN = 'hf_loopbacktesttoken';

interface Repo {
  sha: string;
  files: Map<string, Buffer>;
  private?: boolean;
}

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');

function repoOf(files: Record<string, Buffer | string>, priv = false): Repo {
  const m = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));
  return { sha: sha1([...m].map(([k, v]) => k + sha1(v)).join()), files: m, private: priv };
}

const modelFiles: Record<string, Buffer | string> = {};
for (const f of readdirSync(FIXTURE)) modelFiles[f] = readFileSync(path.join(FIXTURE, f));
modelFiles['pytorch_model.bin'] = 'not wanted: bstar reads safetensors';
modelFiles['onnx/model.onnx'] = 'not wanted either';
const mathRows = [{ problem: '1+2', answer: '3' }, { problem: '2+2', answer: '4' }, { problem: '3*3', answer: '9' }];
const REPOS: Record<string, Repo> = {
  'models/tester/tiny': repoOf(modelFiles),
  'models/tester/secret': repoOf(modelFiles, true),
  'datasets/tester/tiny-math': repoOf({
    'README.md': '# tiny math',
    'data/test-00000-of-00001.jsonl': mathRows.map((r) => JSON.stringify(r)).join('\n') + '\n',
    'data/train-00000-of-00001.jsonl': mathRows.map((r) => JSON.stringify(r)).join('\n') + '\n',
  }),
};

const requests: string[] = [];
let server: Server;
let endpoint: string;
let home: string;
let deadEndpoint: string; // a loopback port nobody listens on

/** The CLI as a child process (async: the hub it talks to is served by this process). */
function bstar(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const saved: Record<string, string | undefined> = {};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json', 'Content-Length': String(buf.length), ...headers });
  res.end(buf);
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', endpoint);
  requests.push(`${req.method} ${url.pathname}`);
  const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/([^/?]+)/.exec(url.pathname);
  const dl = /^\/(?:(datasets)\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  const key = api ? `${api[1]}/${api[2]}` : dl ? `${dl[1] ?? 'models'}/${dl[2]}` : '';
  const repo = REPOS[key];
  if (!repo) return send(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
  if (repo.private && req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: 'Invalid credentials' });
  const rev = decodeURIComponent((api?.[4] ?? dl?.[3])!);
  if (rev !== 'main' && rev !== repo.sha) return send(res, 404, { error: 'Revision not found' }, { 'X-Error-Code': 'RevisionNotFound' });
  if (api?.[3] === 'revision') return send(res, 200, { _id: key, id: api[2], sha: repo.sha, private: !!repo.private, lastModified: '2026-01-01T00:00:00.000Z', siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })) });
  const entry = (p: string) => ({ type: 'file', path: p, oid: sha1(repo.files.get(p)!), size: repo.files.get(p)!.length, lastCommit: { id: repo.sha, title: 'fixture', date: '2026-01-01T00:00:00.000Z' } });
  if (api?.[3] === 'tree') {
    const dirs = [...new Set([...repo.files.keys()].filter((p) => p.includes('/')).map((p) => p.split('/')[0]))];
    return send(res, 200, [...dirs.map((d) => ({ type: 'directory', path: d, oid: sha1(d), size: 0 })), ...[...repo.files.keys()].map(entry)]);
  }
  if (api?.[3] === 'paths-info') return send(res, 200, (JSON.parse(body) as { paths: string[] }).paths.filter((p) => repo.files.has(p)).map(entry));
  const file = repo.files.get(dl![4]);
  if (!file) return send(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
  const headers = { ETag: `"${sha1(file)}"`, 'X-Repo-Commit': repo.sha, 'Accept-Ranges': 'bytes' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
  if (!range) return send(res, 200, file, headers);
  const start = Number(range[1]);
  const end = range[2] === '' ? file.length - 1 : Math.min(Number(range[2]), file.length - 1);
  return send(res, 206, file.subarray(start, end + 1), { ...headers, 'Content-Range': `bytes ${start}-${end}/${file.length}` });
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadEndpoint = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
  home = mkdtempSync(path.join(tmpdir(), 'bstar-hub-'));
  for (const k of ['HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HUB_OFFLINE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) saved[k] = process.env[k];
  for (const k of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HUB_OFFLINE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) delete process.env[k];
  process.env.HF_ENDPOINT = endpoint;
  process.env.HF_HOME = home;
});

after(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(home, { recursive: true, force: true });
});

test('isHubId: org/name only', () => {
  for (const s of ['meta-llama/Llama-3.2-1B', 'openai/gsm8k', 'a/b.c']) assert.equal(isHubId(s), true, s);
  for (const s of ['./x/y', '/abs/path', 'x', 'a/b/c', 'runs/x.jsonl', '../a/b', 'data/train.parquet']) assert.equal(isHubId(s), false, s);
});

test('--model org/name: the checkpoint files land in the hub cache layout, fetched once', async () => {
  requests.length = 0;
  const lines: string[] = [];
  const dir = await resolveModelPath('tester/tiny', (l) => lines.push(l));
  const repo = REPOS['models/tester/tiny'];
  const cache = path.join(home, 'hub', 'models--tester--tiny');
  assert.equal(hubCacheDir(), path.join(home, 'hub'));
  assert.equal(dir, path.join(cache, 'snapshots', repo.sha));
  assert.equal(readFileSync(path.join(cache, 'refs', 'main'), 'utf8'), repo.sha);
  // Every fixture file bstar reads, byte for byte, as links into blobs/; nothing else.
  for (const f of readdirSync(FIXTURE)) {
    assert.deepEqual(readFileSync(path.join(dir, f)), readFileSync(path.join(FIXTURE, f)), f);
    assert.ok(lstatSync(path.join(dir, f)).isSymbolicLink() && readlinkSync(path.join(dir, f)).includes('blobs'), f);
  }
  assert.equal(existsSync(path.join(dir, 'pytorch_model.bin')), false);
  assert.equal(existsSync(path.join(dir, 'onnx')), false);
  assert.ok(lines.some((l) => l.startsWith('hub: fetching tester/tiny/model.safetensors')), lines.join('\n'));
  const downloads = requests.filter((r) => r.includes('/resolve/')).length;
  assert.ok(downloads >= readdirSync(FIXTURE).length, requests.join('\n'));
  // Again: the hub is asked for the commit and the tree, but no file is downloaded a second time.
  requests.length = 0;
  assert.equal(await resolveModelPath('tester/tiny'), dir);
  assert.deepEqual(requests.filter((r) => r.includes('/resolve/')), []);
  // A local folder is used as it is, never looked up.
  assert.equal(await resolveModelPath(FIXTURE), FIXTURE);
});

test('HF_TOKEN reaches a private repository; without it the error says so in one line', async () => {
  await assert.rejects(resolveHubRepo({ kind: 'model', id: 'tester/secret' }), (e: Error) => e instanceof HubError && /model tester\/secret: not found on .* or not accessible \(HTTP 401\); check the id, set HF_TOKEN/.test(e.message) && !e.message.includes('\n'));
  process.env.HF_TOKEN = TOKEN;
  try {
    const dir = await resolveModelPath('tester/secret');
    assert.ok(existsSync(path.join(dir, 'model.safetensors')));
  } finally {
    delete process.env.HF_TOKEN;
  }
  process.env.HF_TOKEN = 'not-a-token';
  try {
    await assert.rejects(resolveModelPath('tester/nothere'), /HF_TOKEN: a Hugging Face access token starts with "hf_"/);
  } finally {
    delete process.env.HF_TOKEN;
  }
});

test('--dataset org/name: the split files are fetched and read; an unknown id is one clear line', async () => {
  const { task } = taskFromConfig({ name: 'math', file: 'tester/tiny-math' });
  const qs = (await task.load('test', {})) as Query[];
  assert.deepEqual(qs.map((q) => [q.prompt, q.gold.answer]), mathRows.map((r) => [r.problem, r.answer]));
  const snap = path.join(home, 'hub', 'datasets--tester--tiny-math', 'snapshots', REPOS['datasets/tester/tiny-math'].sha);
  assert.ok(existsSync(path.join(snap, 'data', 'test-00000-of-00001.jsonl')));
  assert.equal(existsSync(path.join(snap, 'README.md')), false);
  await assert.rejects(async () => taskFromConfig({ name: 'math', file: 'tester/none' }).task.load('test', {}), /dataset tester\/none: not found on .* \(HTTP 404\).*--dataset \.\/file\.jsonl/);
});

test('offline: the cached snapshot is used; with nothing cached, one line says how to pass a local path', async () => {
  process.env.HF_ENDPOINT = deadEndpoint;
  try {
    const lines: string[] = [];
    const dir = await resolveModelPath('tester/tiny', (l) => lines.push(l));
    assert.equal(dir, path.join(home, 'hub', 'models--tester--tiny', 'snapshots', REPOS['models/tester/tiny'].sha));
    assert.match(lines.join('\n'), new RegExp(`hub: ${deadEndpoint} unreachable \\(ECONNREFUSED\\); using the cached snapshot`));
    await assert.rejects(resolveModelPath('tester/never-fetched'), (e: Error) => e instanceof HubError
      && e.message.startsWith(`model tester/never-fetched: cannot reach the Hugging Face hub at ${deadEndpoint} (ECONNREFUSED) and it is not in the hub cache`)
      && e.message.endsWith('pass a local checkpoint folder instead: --model ./path (config.json, model.safetensors, tokenizer.json)'));
    process.env.HF_HUB_OFFLINE = '1';
    assert.equal(await resolveModelPath('tester/tiny'), dir);
  } finally {
    process.env.HF_ENDPOINT = endpoint;
    delete process.env.HF_HUB_OFFLINE;
  }
});

test('bstar run/eval with hub ids through the loopback hub; offline with nothing cached fails in one line', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bstar-hub-cli-'));
  const env = { ...process.env, HF_ENDPOINT: endpoint, HF_HOME: path.join(work, 'hf'), BSTAR_PROGRESS_EVERY_S: '0' };
  try {
    // A numeric dataset on the hub, and a tiny checkpoint SFT-trained on it (its tokenizer covers the prompts).
    const rows = Array.from({ length: 12 }, (_, i) => ({ ask: `What is ${i} plus ${i + 1}?`, result: 2 * i + 1 }));
    const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    REPOS['datasets/tester/sums'] = repoOf({ 'data/train-00000-of-00001.jsonl': text, 'data/test-00000-of-00001.jsonl': text });
    const fields = ['--set', 'task.name=gsm8k', '--set', 'task.fields.question=ask', '--set', 'task.fields.answer=result'];
    const tiny = ['threads=1', 'model.hidden_size=16', 'model.intermediate_size=32', 'model.num_hidden_layers=1', 'model.num_attention_heads=2', 'model.num_key_value_heads=2', 'model.max_position_embeddings=128',
      'sampling.maxTokens=8', 'sft.epochs=1', 'sft.startEpoch=1', 'sft.batchSize=4', 'queriesPerIteration=4', 'samplesPerQuery=2', 'targetSamples=4', 'search.devSize=2', 'search.samplesPerQuery=2',
      'search.temperatures=[1.0]', 'search.thresholds=[0.5]', 'train.stepsPerIteration=1', 'train.batchSize=2', 'eval.testSize=3', 'eval.k=1', 'eval.s=1', 'eval.bootstrapResamples=20'].flatMap((x) => ['--set', x]);
    const made = await bstar(['run', '--runs-dir', work, '--name', 'made', '--dataset', 'tester/sums', ...fields, ...tiny, '--iterations', '1', '--stop-after', '0'], env);
    assert.equal(made.status, 0, made.stderr + made.stdout);
    assert.match(made.stdout, /hub: fetching tester\/sums\/data\/train-00000-of-00001\.jsonl/);
    const ck = path.join(work, 'made', 'checkpoints', '0');
    const files: Record<string, Buffer> = {};
    for (const f of readdirSync(ck)) if (!f.startsWith('training_state')) files[f] = readFileSync(path.join(ck, f));
    REPOS['models/tester/sums-model'] = repoOf(files);
    // --model and --dataset both by hub id: a 1-iteration run, then eval of the hub checkpoint.
    const r = await bstar(['run', '--runs-dir', work, '--name', 'hub', '--model', 'tester/sums-model', '--dataset', 'tester/sums', ...fields, ...tiny, '--iterations', '1', '--set', 'sft.epochs=0', '--set', 'sft.startEpoch=0'], env);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /hub: fetching tester\/sums-model\/model\.safetensors/);
    assert.match(readFileSync(path.join(work, 'hub', 'config.yaml'), 'utf8'), /checkpoint: tester\/sums-model/);
    const ev = await bstar(['eval', 'tester/sums-model', '--task', 'gsm8k', '--dataset', 'tester/sums', '--set', 'task.fields.question=ask', '--set', 'task.fields.answer=result', '--set', 'eval.k=1', '--set', 'eval.s=1', '--set', 'eval.testSize=3', '--set', 'threads=1', '--set', 'sampling.maxTokens=8', '--set', 'search.devSize=2', '--json'], env);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal((JSON.parse(ev.stdout) as { queries: number }).queries, 3);
    // Unreachable hub, empty cache: one line naming the way to pass a local path.
    const off = await bstar(['run', '--runs-dir', work, '--name', 'off', '--model', 'tester/sums-model', ...fields, '--dataset', 'tester/sums'], { ...env, HF_ENDPOINT: deadEndpoint, HF_HOME: path.join(work, 'empty') });
    assert.equal(off.status, 1);
    assert.equal(off.stderr.trim().split('\n').length, 1, off.stderr);
    assert.match(off.stderr, /^bstar: model tester\/sums-model: cannot reach the Hugging Face hub at .* \(ECONNREFUSED\) and it is not in the hub cache .*; pass a local checkpoint folder instead: --model \.\/path/);
    assert.equal(existsSync(path.join(work, 'off')), false);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
