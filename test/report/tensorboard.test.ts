// TensorBoard event files (src/report/tensorboard.ts), read back by an independent decoder:
// test/report/read_tfevents.py checks the TFRecord framing with its own CRC-32C and decodes each Event
// with the protobuf runtime (Debian's python3-protobuf) against descriptors built from the .proto
// files by hand. Those tests are skipped, with the reason, when no python3 with protobuf is installed;
// the byte-level tests below need no Python (hand-computed encodings).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeEvent, maskedCrc32c, syncMetricSinks, TensorboardExport, TENSORBOARD_DIR, tfRecord } from '../../src/report/tensorboard.js';
import { parseMetricsJsonl, parseRunRecords, STEP_KEYS, type MetricsRecord, type StepRecord } from '../../src/run/records.js';
import { refreshReport } from '../../src/report/live.js';
import { startRun } from '../../src/run/run.js';
import { tinyConfig } from '../run/tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const READER = path.join(here, '../../../test/report/read_tfevents.py');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-tb-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A python3 that has protobuf, or null. */
function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import google.protobuf'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}
const python = findPython();
const skip = python ? false : 'no python3 with protobuf (Debian: apt-get install python3-protobuf): the independent event-file decoder cannot run';

interface Decoded {
  file: string;
  events: { wall_time: number; step: number; file_version?: string; session_status?: string; scalars?: [string, number][] }[];
}

function decode(dir: string): Decoded[] {
  const r = spawnSync(python!, [READER, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `read_tfevents.py: ${r.stderr}`);
  return JSON.parse(r.stdout) as Decoded[];
}

/** tag → step → value, over a file's summary events. */
function scalarsOf(events: Decoded['events']): Map<string, Map<number, number>> {
  const m = new Map<string, Map<number, number>>();
  for (const e of events) for (const [tag, v] of e.scalars ?? []) (m.get(tag) ?? m.set(tag, new Map()).get(tag)!).set(e.step, v);
  return m;
}

test('encodeEvent: the protobuf bytes of a scalar event, hand-computed', () => {
  // Event{step: 3, summary: Summary{value: [Value{tag: "a", simple_value: 1.0}]}} (wall_time 0 omitted, as proto3 does)
  //   step: key (2<<3|0) = 0x10, varint 3;  summary: key (5<<3|2) = 0x2a, length 10
  //   Value (in Summary: key (1<<3|2) = 0x0a, length 8): tag key 0x0a, length 1, 'a' = 0x61; simple_value key (2<<3|5) = 0x15, 1.0f = 00 00 80 3f
  assert.deepEqual([...encodeEvent({ wallTime: 0, step: 3, scalars: [{ tag: 'a', value: 1 }] })], [0x10, 0x03, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3f]);
  // wall_time: key (1<<3|1) = 0x09 then the double 1.5 little-endian (3ff8 0000 0000 0000); file_version: key 0x1a
  assert.deepEqual([...encodeEvent({ wallTime: 1.5, step: 0, fileVersion: 'v' })], [0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 0x01, 0x76]);
  // SessionLog{status: START}: key (7<<3|2) = 0x3a, length 2, status key 0x08, 1; step 300 = varint ac 02
  assert.deepEqual([...encodeEvent({ wallTime: 0, step: 300, sessionStart: true })], [0x10, 0xac, 0x02, 0x3a, 0x02, 0x08, 0x01]);
});

test('TFRecord framing: little-endian length, masked CRC-32C of the length and of the data', () => {
  // the CRC-32C check value (RFC 3720 B.4 / iSCSI): crc32c("123456789") = 0xe3069283,
  // masked: ((c >>> 15) | (c << 17)) + 0xa282ead8 mod 2^32, computed by hand below
  const c = 0xe3069283;
  const want = ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;
  assert.equal(maskedCrc32c(Buffer.from('123456789')), want);
  const rec = tfRecord(new Uint8Array([1, 2, 3]));
  assert.equal(rec.length, 8 + 4 + 3 + 4);
  assert.equal(rec.readBigUInt64LE(0), 3n);
  assert.equal(rec.readUInt32LE(8), maskedCrc32c(rec.subarray(0, 8)));
  assert.deepEqual([...rec.subarray(12, 15)], [1, 2, 3]);
  assert.equal(rec.readUInt32LE(15), maskedCrc32c(new Uint8Array([1, 2, 3])));
});

// ---------------------------------------------------------------------------------------------
// metrics.jsonl → event files, decoded independently

const phaseRec = (iteration: number, phase: MetricsRecord['phase'], metrics: Record<string, number | null>): MetricsRecord => ({ v: 1, run: 'r', method: 'bstar', seed: 0, iteration, phase, metrics, timing: { ms: 1500, tokens: 300, tokensPerSecond: 200 } });
const stepRec = (iteration: number, phase: StepRecord['phase'], step: number, globalStep: number): StepRecord => ({
  v: 1, kind: 'step', run: 'r', method: 'bstar', seed: 0, iteration, phase, step, globalStep,
  metrics: { 'step/loss': 2 / globalStep + 0.1, 'step/lr': 1e-4 * step, 'step/grad-norm': 0.3 + globalStep / 7, 'step/tokens-per-second': 1234.5, 'step/padding': 0.125 },
});

test('every step record and every per-iteration metric becomes a scalar the decoder reads back (float32)', { skip }, () => {
  const dir = path.join(root, 'synthetic');
  mkdirSync(dir, { recursive: true });
  const lines: (MetricsRecord | StepRecord)[] = [];
  let g = 0;
  for (let s = 1; s <= 4; s++) lines.push(stepRec(0, 'sft', s, ++g));
  lines.push(phaseRec(0, 'sft', { 'sft/loss-last': 1.25, 'sft/steps': 4 }), phaseRec(0, 'eval', { 'eval/pass@1': 0.2, 'eval/pass@k': 0.5, 'eval/distinct-equations': null }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const tb = new TensorboardExport(dir, () => 1_700_000_000_000);
  tb.sync();
  // iteration 1 arrives later (and a line still being written is not exported yet)
  const more: (MetricsRecord | StepRecord)[] = [];
  for (let s = 1; s <= 3; s++) more.push(stepRec(1, 'train', s, ++g));
  more.push(phaseRec(1, 'eval', { 'eval/pass@1': 0.4, 'eval/pass@k': 0.6 }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), [...lines, ...more].map((l) => JSON.stringify(l)).join('\n') + '\n' + '{"v":1,"kind":"st');
  tb.sync();
  const files = decode(path.join(dir, TENSORBOARD_DIR));
  assert.equal(files.length, 1);
  assert.match(files[0].file, /^events\.out\.tfevents\.1700000000\.[^.]+\.\d+\.0$/);
  const ev = files[0].events;
  assert.equal(ev[0].file_version, 'brain.Event:2');
  assert.equal(ev[1].session_status, 'START');
  assert.equal(ev[1].step, 0);
  assert.ok(ev.every((e) => e.wall_time === 1_700_000_000));
  const sc = scalarsOf(ev);
  const steps = [...lines, ...more].filter((r): r is StepRecord => 'kind' in r);
  for (const key of STEP_KEYS) {
    assert.deepEqual([...sc.get(key)!.entries()], steps.map((r) => [r.globalStep, Math.fround(r.metrics[key]!)]), key);
  }
  assert.deepEqual([...sc.get('eval/pass@1')!.entries()], [[0, Math.fround(0.2)], [1, Math.fround(0.4)]]);
  assert.deepEqual([...sc.get('sft/loss-last')!.entries()], [[0, 1.25]]);
  assert.equal(sc.get('eval/distinct-equations'), undefined, 'null metrics are left out');
  assert.deepEqual([...sc.get('timing/eval/seconds')!.entries()], [[0, 1.5], [1, 1.5]]);
  assert.deepEqual([...sc.get('timing/eval/tokens-per-second')!.entries()], [[0, 200], [1, 200]]);
  // nothing was written twice
  assert.equal(ev.filter((e) => e.scalars).length, steps.length + 3);
});

test('a metrics.jsonl cut back under the export (a resume) starts a new event file with the whole history after a START', { skip }, () => {
  const dir = path.join(root, 'cut');
  mkdirSync(dir, { recursive: true });
  const recs = [stepRec(0, 'sft', 1, 1), stepRec(0, 'sft', 2, 2), phaseRec(0, 'eval', { 'eval/pass@1': 0.1 }), stepRec(1, 'train', 1, 3), stepRec(1, 'train', 2, 4)];
  const write = (rs: (MetricsRecord | StepRecord)[]) => writeFileSync(path.join(dir, 'metrics.jsonl'), rs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  write(recs);
  let now = 1_700_000_000_000;
  const tb = new TensorboardExport(dir, () => now);
  tb.sync();
  // resume from checkpoint 0: the file is cut back to iteration 0, then iteration 1 runs again (other values)
  write(recs.slice(0, 3));
  now += 1000;
  const redo = stepRec(1, 'train', 1, 3);
  redo.metrics['step/loss'] = 9;
  write([...recs.slice(0, 3), redo]);
  tb.sync();
  const files = decode(path.join(dir, TENSORBOARD_DIR));
  assert.equal(files.length, 2);
  assert.ok(files[0].file < files[1].file, 'the newer file sorts last');
  const [a, b] = files.map((f) => scalarsOf(f.events));
  assert.deepEqual([...a.get('step/loss')!.keys()], [1, 2, 3, 4]);
  assert.equal(files[1].events[1].session_status, 'START');
  assert.deepEqual([...b.get('step/loss')!.entries()], [[1, Math.fround(recs[0].metrics['step/loss']!)], [2, Math.fround(recs[1].metrics['step/loss']!)], [3, 9]]);
});

test('a config-change event in metrics.jsonl is no scalar; a bad line of a later sync is named by its line in the whole file', () => {
  const dir = path.join(root, 'event');
  mkdirSync(dir, { recursive: true });
  const event = { v: 1, run: 'r', event: 'config-change', iteration: 0, changes: [{ key: 'iterations', from: 2, to: 3 }] };
  const first = [JSON.stringify(stepRec(0, 'sft', 1, 1)), JSON.stringify(phaseRec(0, 'eval', { 'eval/pass@1': 0.1 })), JSON.stringify(event)];
  writeFileSync(path.join(dir, 'metrics.jsonl'), first.join('\n') + '\n');
  const tb = new TensorboardExport(dir, () => 1_700_000_000_000);
  tb.sync();
  writeFileSync(path.join(dir, 'metrics.jsonl'), [...first, '', JSON.stringify(stepRec(1, 'train', 1, 2)), '{"iteration": 1}'].join('\n') + '\n');
  assert.throws(() => tb.sync(), /metrics\.jsonl:6: expected a metrics record or a step record, found \{"iteration": 1\}/);
});

test('a tiny run with reportTo=tensorboard leaves event files with every iteration\'s Pass@1 and every step\'s loss', { skip, timeout: 300_000 }, async () => {
  const dir = path.join(root, 'run');
  // the event files are written by the report hook the CLI passes (report/live.ts)
  await startRun(tinyConfig(['method=bstar', 'iterations=2', 'reportTo=tensorboard']), dir, { log: () => {}, report: refreshReport });
  const tbDir = path.join(dir, TENSORBOARD_DIR);
  assert.equal(readdirSync(tbDir).filter((f) => f.startsWith('events.out.tfevents.')).length, 1);
  const [file] = decode(tbDir);
  const sc = scalarsOf(file.events);
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  const evals = parseMetricsJsonl(text).filter((r) => r.phase === 'eval');
  assert.deepEqual(evals.map((r) => r.iteration), [0, 1, 2]);
  assert.deepEqual([...sc.get('eval/pass@1')!.entries()], evals.map((r) => [r.iteration, Math.fround(r.metrics['eval/pass@1']!)]));
  // every numeric per-iteration metric of every phase record, at its iteration
  for (const r of parseMetricsJsonl(text)) {
    for (const [k, v] of Object.entries(r.metrics)) if (typeof v === 'number') assert.equal(sc.get(k)?.get(r.iteration), Math.fround(v), `${k} at iteration ${r.iteration}`);
  }
  const steps = parseRunRecords(text).steps;
  assert.ok(steps.length > 0, 'the training loop wrote step records');
  assert.deepEqual([...(sc.get('step/loss') ?? new Map()).entries()], steps.map((r) => [r.globalStep, Math.fround(r.metrics['step/loss']!)]));
  // the sinks follow the run's config.yaml: reportTo none (the default) writes nothing
  const plain = path.join(root, 'plain');
  mkdirSync(plain);
  writeFileSync(path.join(plain, 'config.yaml'), 'reportTo: none\n');
  writeFileSync(path.join(plain, 'metrics.jsonl'), text);
  syncMetricSinks(plain, (l) => assert.fail(l));
  assert.ok(!existsSync(path.join(plain, TENSORBOARD_DIR)));
  writeFileSync(path.join(plain, 'config.yaml'), 'reportTo: tensorboard\n');
  syncMetricSinks(plain, (l) => assert.fail(l));
  assert.equal(decode(path.join(plain, TENSORBOARD_DIR))[0].events.filter((e) => e.scalars).length, text.split('\n').filter((l) => l).length);
});
