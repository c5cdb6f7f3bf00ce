// status.json: whether a run is running (which process, on which host), paused (--stop-after),
// stopped by an error, or finished, so that a report built later (`bstar report`, `--serve`, a
// resume) tells a run in progress from one that stopped without finishing. Written by the run
// (src/run/run.ts) at its start, pause, error and end; a view for the report (resume never reads it).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** The run's state file, beside metrics.jsonl (a view for the report; resume never reads it). */
export const STATUS_FILE = 'status.json';

export type RunState = 'running' | 'paused' | 'failed' | 'finished';

export interface RunStatus {
  state: RunState;
  /** The process that wrote it, and its host (a process can only be checked on its own host). */
  pid: number;
  host: string;
  /** ISO time written. */
  updated: string;
  /** paused: the iteration it paused after; failed: the error's message. */
  iteration?: number;
  message?: string;
}

/** Writes <dir>/status.json (atomically) for this process; logs (never throws) when that fails. */
export function writeRunStatus(dir: string, state: RunState, extra: { iteration?: number; message?: string } = {}, log?: (line: string) => void): void {
  const s: RunStatus = { state, pid: process.pid, host: hostname(), updated: new Date().toISOString(), ...extra };
  const f = path.join(dir, STATUS_FILE);
  try {
    writeFileSync(`${f}.tmp-${process.pid}`, JSON.stringify(s) + '\n');
    renameSync(`${f}.tmp-${process.pid}`, f);
  } catch (e) {
    log?.(`report: ${f} not written (${(e as Error).message})`);
  }
}

/** <dir>/status.json, or null when absent or unreadable (runs written before it had none). */
export function readRunStatus(dir: string): RunStatus | null {
  const f = path.join(dir, STATUS_FILE);
  if (!existsSync(f)) return null;
  try {
    const s = JSON.parse(readFileSync(f, 'utf8')) as Partial<RunStatus>;
    if (!['running', 'paused', 'failed', 'finished'].includes(s.state as string) || typeof s.pid !== 'number' || typeof s.host !== 'string') return null;
    return s as RunStatus;
  } catch {
    return null;
  }
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether an unfinished run is still going. `stopped` is the sentence the report shows instead of
 * "in progress" when it is known not to be: paused, failed, or its process is gone. Without a
 * status.json, or when the process ran on another host, the run counts as in progress.
 */
export function runLiveness(dir: string, finished: boolean, status = readRunStatus(dir), alive = processAlive): { live: boolean; stopped: string | null } {
  if (finished) return { live: false, stopped: null };
  if (!status) return { live: true, stopped: null };
  const resume = `continue it with \`bstar run --resume ${dir}\``;
  const after = status.iteration !== undefined ? ` after iteration ${status.iteration}` : '';
  switch (status.state) {
    case 'paused':
      return { live: false, stopped: `Paused${after} (--stop-after) at ${status.updated}; ${resume}.` };
    case 'failed':
      return { live: false, stopped: `Stopped with an error at ${status.updated}: ${status.message ?? 'unknown error'}; fix the cause and ${resume}.` };
    case 'finished':
      // recorded as finished, but the records end before the last evaluation (metrics.jsonl cut back?)
      return { live: false, stopped: `Recorded as finished at ${status.updated}, but metrics.jsonl ends before the last iteration's evaluation; ${resume}.` };
    case 'running':
      if (status.host === hostname() && !alive(status.pid)) {
        return { live: false, stopped: `Stopped without finishing: its process (pid ${status.pid} on ${status.host}, last status ${status.updated}) is gone (killed or crashed); ${resume}.` };
      }
      return { live: true, stopped: null };
  }
}
