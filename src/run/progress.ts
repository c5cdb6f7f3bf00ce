// Progress of long phases. On a TTY (and not CI): a live bar with phase, done/total, tokens/s and ETA
// (cli-progress). Otherwise: quiet lines for logs — one every `everyMs` (default 60 s,
// BSTAR_PROGRESS_EVERY_S overrides) while a phase runs, with done/total, rate and ETA, and one when it
// ends (phase, count, time, tokens/s).
import cliProgress from 'cli-progress';
import type { PhaseProgress } from '../methods/context.js';

export interface ProgressOptions {
  /** Milliseconds between in-phase lines off a TTY (0: none). */
  everyMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Force the live bar on or off (default: a TTY and not CI). */
  live?: boolean;
}

function defaultEveryMs(): number {
  const v = process.env.BSTAR_PROGRESS_EVERY_S;
  if (v === undefined || v === '') return 60_000;
  const s = Number(v);
  if (!Number.isFinite(s) || s < 0) throw new Error(`BSTAR_PROGRESS_EVERY_S: expected seconds ≥ 0, found "${v}"`);
  return s * 1000;
}

const secs = (s: number) => (s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

export function makeProgress(log: (line: string) => void, stream: NodeJS.WriteStream = process.stderr, opts: ProgressOptions = {}): PhaseProgress {
  const live = opts.live ?? (stream.isTTY === true && !process.env.CI);
  const everyMs = opts.everyMs ?? defaultEveryMs();
  const now = opts.now ?? (() => performance.now());
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  let unit = '';
  let total = 0;
  let done = 0;
  let tokens = 0;
  let t0 = 0;
  let lastLine = 0;
  const rate = (s: number) => (tokens > 0 ? `${Math.round(tokens / s)} tok/s` : `${(done / Math.max(s, 1e-3)).toFixed(1)} ${unit}/s`);
  return {
    start(p, n, u) {
      phase = p;
      unit = u;
      total = n;
      done = 0;
      tokens = 0;
      t0 = now();
      lastLine = t0;
      if (live) {
        bar = new cliProgress.SingleBar(
          { format: `  {phase} [{bar}] {value}/{total} ${u} | {rate} | ETA {eta_formatted}`, stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(n, 0, { phase, rate: '' });
      }
    },
    update(d, tok) {
      done = d;
      if (tok !== undefined) tokens = tok;
      const t = now();
      const s = (t - t0) / 1000;
      if (bar) {
        bar.update(d, { phase, rate: rate(s) });
      } else if (everyMs > 0 && t - lastLine >= everyMs && d < total) {
        lastLine = t;
        const eta = d > 0 ? (s * (total - d)) / d : null;
        log(`  ${phase}: ${d}/${total} ${unit} after ${secs(s)} (${rate(s)})${eta === null ? '' : `, ETA ${secs(eta)}`}`);
      }
    },
    stop() {
      if (bar) {
        bar.stop();
        bar = null;
      }
      const s = (now() - t0) / 1000;
      log(`  ${phase}: ${done}/${total} ${unit} in ${s.toFixed(1)} s${tokens > 0 ? ` (${Math.round(tokens / s)} tok/s)` : ''}`);
    },
  };
}
