// The run directory:
//   runs/<name>/config.yaml            the resolved config
//   runs/<name>/metrics.jsonl          one record per iteration per phase (records.ts)
//   runs/<name>/iterations/<i>/        samples.jsonl, selected.jsonl, selection.json, search.json,
//                                      dev-samples.jsonl, eval.json, eval-samples.jsonl
//   runs/<name>/checkpoints/<i>/       HF layout + training state (resume point after iteration i), and
//                                      manifest.json: the files a resume from i needs, with their hashes
//                                      (manifest.ts); written after the checkpoint
//   runs/<name>/discarded/<time>/      checkpoints a resume could not verify, a damaged config.yaml
//   runs/<name>/summary.json           the final table's data
//   runs/<name>/progress.json          the iteration in progress: its phase records so far (report only)
//   runs/<name>/report.html            the live report (src/report/)
// Every file is written atomically and durably (temp file, fsync, rename, fsync of the directory);
// metrics.jsonl is appended and fsynced.
import { rmSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { splitLines } from '../util/jsonl.js';
import { fsyncDir } from '../util/fs.js';

/** Writes `file` atomically and durably: a temp file beside it, fsynced, renamed onto it, directory fsynced. */
export function writeDurably(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export class RunDirError extends Error {
  override readonly name = 'RunDirError';
}

export const RUN_FILES = { config: 'config.yaml', metrics: 'metrics.jsonl', summary: 'summary.json', progress: 'progress.json' } as const;

export class RunDir {
  constructor(readonly dir: string) {}

  get name(): string {
    return path.basename(path.resolve(this.dir));
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }
  iterationDir(i: number): string {
    return path.join(this.dir, 'iterations', String(i));
  }
  checkpointDir(i: number): string {
    return path.join(this.dir, 'checkpoints', String(i));
  }

  /** Creates a new run dir; refuses an existing one (nothing is written then). */
  static create(dir: string): RunDir {
    RunDir.refuseExisting(dir);
    mkdirSync(dir, { recursive: true });
    return new RunDir(dir);
  }

  /** Throws when `dir` exists (a new run never writes into an existing directory). */
  static refuseExisting(dir: string): void {
    if (existsSync(dir)) throw new RunDirError(`run directory ${dir} already exists; resume it with \`bstar run --resume ${dir}\` or choose another --name`);
  }

  static open(dir: string): RunDir {
    if (!existsSync(path.join(dir, RUN_FILES.config))) throw new RunDirError(`${dir}: not a run directory (no ${RUN_FILES.config})`);
    return new RunDir(dir);
  }

  /** Writes a file atomically and durably: temp file, fsync, rename, fsync of the directory. */
  writeFile(rel: string, text: string): void {
    writeDurably(path.join(this.dir, rel), text);
  }

  /** Removes a file if it is there. */
  removeFile(rel: string): void {
    const f = path.join(this.dir, rel);
    if (!existsSync(f)) return;
    rmSync(f, { force: true });
    fsyncDir(path.dirname(f));
  }

  /** fsyncs a directory of the run (after renames in it). */
  syncDir(rel = '.'): void {
    fsyncDir(path.join(this.dir, rel));
  }

  /** Appends lines to metrics.jsonl and fsyncs; returns the file's new size. */
  appendMetrics(lines: readonly string[]): number {
    const f = this.file(RUN_FILES.metrics);
    const fd = openSync(f, 'a');
    try {
      if (lines.length) writeSync(fd, lines.map((l) => l + '\n').join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return statSync(f).size;
  }

  /** Complete lines in metrics.jsonl. */
  metricsLines(): number {
    return splitLines(this.readMetrics()).lines.length;
  }

  /** Keeps the first `lines` lines of metrics.jsonl (drops what was written after the resume point). */
  truncateMetrics(lines: number): void {
    const f = this.file(RUN_FILES.metrics);
    const all = splitLines(this.readMetrics()).lines;
    if (all.length < lines) throw new RunDirError(`${f}: ${all.length} lines, but the checkpoint recorded ${lines}; the run directory was changed`);
    writeDurably(f, all.slice(0, lines).map((l) => l + '\n').join(''));
  }

  readMetrics(): string {
    const f = this.file(RUN_FILES.metrics);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Completed checkpoints by iteration, ascending (temp dirs of interrupted saves excluded). */
  checkpoints(): number[] {
    const d = path.join(this.dir, 'checkpoints');
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((f) => /^\d+$/.test(f))
      .map(Number)
      .sort((a, b) => a - b);
  }
}
