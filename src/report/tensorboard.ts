// TensorBoard event files (`--report-to tensorboard`): every per-step and per-iteration metric of
// metrics.jsonl as a scalar, in <run>/tensorboard/events.out.tfevents.<time>.<host>.<pid>.<n>.
//
// The format, written here because no npm package writes it without native parts:
//   file    = record*   (TFRecord framing, tensorflow/core/lib/io/record_writer.cc)
//   record  = uint64le length · uint32le masked_crc32c(length bytes) · data · uint32le masked_crc32c(data)
//   masked  = ((crc >>> 15) | (crc << 17)) + 0xa282ead8   (mod 2^32; CRC-32C from @aws-crypto/crc32c)
//   data    = an Event protobuf (tensorflow/core/util/event.proto):
//             Event {double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 7}
//             Summary {repeated Value value = 1}   Value {string tag = 1; float simple_value = 2}
//             SessionLog {SessionStatus status = 1}   (START = 1)
// The first event is file_version "brain.Event:2"; the second a SessionLog START at step 0, which
// makes TensorBoard drop what it read from older files of the run (a resumed run's new process
// writes a new file with the whole history, so a resume that re-runs an iteration shows it once).
//
// Tags are metrics.jsonl's keys. Step records (`step/loss`, `step/lr`, `step/grad-norm`,
// `step/tokens-per-second`, `step/padding`) are at their global optimizer step; phase records
// (`eval/pass@1`, `train/loss-last`, `search/temperature`, …) and their timing
// (`timing/<phase>/seconds`, `timing/<phase>/tokens-per-second`) at their iteration. Null values
// (undefined metrics) are left out.
import { crc32c } from '@aws-crypto/crc32c';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRunEvent, recordKind, type MetricsRecord, type StepRecord } from '../run/records.js';
import { jsonlLines, splitLines } from '../util/jsonl.js';

/** Where a run's event files go, under its run directory. */
export const TENSORBOARD_DIR = 'tensorboard';
export const FILE_VERSION = 'brain.Event:2';

// ---------------------------------------------------------------------------------------------
// protobuf wire format (the few field kinds an Event uses)

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n); // negative int64 as two's complement, as protobuf does
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const key = (field: number, wire: number) => varint(BigInt((field << 3) | wire));

function lengthDelimited(field: number, bytes: Uint8Array): number[] {
  return [...key(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
}

function double(field: number, x: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...key(field, 1), ...b];
}

function float(field: number, x: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return [...key(field, 5), ...b];
}

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

export interface Scalar {
  tag: string;
  value: number;
}

/** An Event with wall_time, step and one of: file_version, a summary of scalars, a SessionLog START. */
export function encodeEvent(e: { wallTime: number; step: number; fileVersion?: string; scalars?: readonly Scalar[]; sessionStart?: boolean }): Uint8Array {
  // proto3 leaves fields at their default (0) out: the bytes are what protobuf itself would write
  const out = [...(e.wallTime !== 0 ? double(1, e.wallTime) : []), ...(e.step !== 0 ? [...key(2, 0), ...varint(BigInt(e.step))] : [])];
  if (e.fileVersion !== undefined) out.push(...lengthDelimited(3, utf8(e.fileVersion)));
  if (e.scalars) {
    const summary = e.scalars.flatMap((s) => lengthDelimited(1, new Uint8Array([...lengthDelimited(1, utf8(s.tag)), ...float(2, s.value)])));
    out.push(...lengthDelimited(5, new Uint8Array(summary)));
  }
  if (e.sessionStart) out.push(...lengthDelimited(7, new Uint8Array([...key(1, 0), ...varint(1n)])));
  return new Uint8Array(out);
}

/** TFRecord's masked CRC-32C. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([head, Buffer.from(data), tail]);
}

// ---------------------------------------------------------------------------------------------
// records → events

/** The scalars of a metrics.jsonl record and the step they are logged at. */
export function scalarsOf(r: { step: StepRecord } | { phase: MetricsRecord }): { step: number; scalars: Scalar[] } {
  const num = (m: Record<string, number | null>) => Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])).map(([tag, value]) => ({ tag, value }));
  if ('step' in r) return { step: r.step.globalStep, scalars: num(r.step.metrics) };
  const p = r.phase;
  const scalars = num(p.metrics);
  if (p.timing && Number.isFinite(p.timing.ms)) {
    scalars.push({ tag: `timing/${p.phase}/seconds`, value: p.timing.ms / 1000 });
    if (p.timing.tokens > 0) scalars.push({ tag: `timing/${p.phase}/tokens-per-second`, value: p.timing.tokensPerSecond });
  }
  return { step: p.iteration, scalars };
}

/**
 * One process's event file for a run, fed from metrics.jsonl: each sync() appends the events of the
 * complete lines written since the last one. Created on the first sync (file_version, SessionLog
 * START, then the whole file so far). If metrics.jsonl no longer starts with what was exported (a
 * resume in this process cut it back), a new event file starts over.
 */
export class TensorboardExport {
  private file: string | null = null;
  private exported = 0; // bytes of metrics.jsonl exported
  private lines = 0; // lines exported
  private tail = Buffer.alloc(0); // the exported bytes' last 64, to notice a cut-back file

  constructor(
    readonly runDir: string,
    private readonly now: () => number = Date.now,
  ) {}

  get eventFile(): string | null {
    return this.file;
  }

  /** Appends the events of the new complete lines of metrics.jsonl. Throws on unreadable records. */
  sync(): void {
    const mf = path.join(this.runDir, 'metrics.jsonl');
    const buf = existsSync(mf) ? readFileSync(mf) : Buffer.alloc(0);
    const complete = buf.subarray(0, buf.lastIndexOf(0x0a) + 1);
    if (this.file && (complete.length < this.exported || !complete.subarray(this.exported - this.tail.length, this.exported).equals(this.tail))) {
      this.file = null; // cut back under us: a new file with the whole history
    }
    const wall = this.now() / 1000;
    const parts: Buffer[] = [];
    if (!this.file) {
      this.file = this.newFile();
      this.exported = 0;
      this.lines = 0;
      parts.push(tfRecord(encodeEvent({ wallTime: wall, step: 0, fileVersion: FILE_VERSION })), tfRecord(encodeEvent({ wallTime: wall, step: 0, sessionStart: true })));
    }
    const fresh = complete.subarray(this.exported).toString('utf8');
    const { rows } = jsonlLines(fresh, mf, { firstLine: this.lines + 1 });
    for (const { value: obj, line, text } of rows) {
      if (isRunEvent(obj)) continue; // a config-change event: no scalars
      const kind = recordKind(obj);
      if (kind === null) throw new Error(`${mf}:${line}: expected a metrics record or a step record, found ${text.slice(0, 80)}`);
      const { step, scalars } = scalarsOf(kind === 'step' ? { step: obj as unknown as StepRecord } : { phase: obj as unknown as MetricsRecord });
      if (scalars.length) parts.push(tfRecord(encodeEvent({ wallTime: wall, step, scalars })));
    }
    appendFileSync(this.file, Buffer.concat(parts));
    this.exported = complete.length;
    this.lines += splitLines(fresh).lines.length;
    this.tail = Buffer.from(complete.subarray(Math.max(0, complete.length - 64)));
  }

  /** events.out.tfevents.<seconds>.<host>.<pid>.<n>, named to sort after the run's older files. */
  private newFile(): string {
    const dir = path.join(this.runDir, TENSORBOARD_DIR);
    mkdirSync(dir, { recursive: true });
    const older = readdirSync(dir).map((f) => /^events\.out\.tfevents\.(\d+)\./.exec(f)).filter((m) => m !== null).map((m) => Number(m[1]));
    const sec = Math.max(Math.floor(this.now() / 1000), ...older.map((s) => s + 1));
    let n = 0;
    const name = () => path.join(dir, `events.out.tfevents.${String(sec).padStart(10, '0')}.${hostname()}.${process.pid}.${n}`);
    while (existsSync(name()) && statSync(name()).isFile()) n++;
    return name();
  }
}

// ---------------------------------------------------------------------------------------------
// the run's sinks

/** This process's exports, by run directory: the first sync of a run in a process starts its event file. */
const exports = new Map<string, TensorboardExport>();

/** The run's `reportTo` (config.yaml), or 'none' when it cannot be read. */
export function reportToOf(runDir: string): string {
  try {
    const c = parseYaml(readFileSync(path.join(runDir, 'config.yaml'), 'utf8')) as { reportTo?: unknown } | null;
    return typeof c?.reportTo === 'string' ? c.reportTo : 'none';
  } catch {
    return 'none';
  }
}

/**
 * After metrics.jsonl grew (each phase, each checkpoint): its new records go to the sinks the run's
 * config asks for (`reportTo: tensorboard`). Logs, never throws.
 */
export function syncMetricSinks(runDir: string, log: (line: string) => void): void {
  if (reportToOf(runDir) !== 'tensorboard') return;
  const key = path.resolve(runDir);
  let tb = exports.get(key);
  if (!tb) exports.set(key, (tb = new TensorboardExport(runDir)));
  try {
    tb.sync();
  } catch (e) {
    log(`tensorboard: ${tb.eventFile ?? path.join(runDir, TENSORBOARD_DIR)} not updated (${(e as Error).message})`);
  }
}
