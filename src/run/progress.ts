// Progress of long phases. On a TTY (and not CI): a live bar with phase, done/total, tokens/s and ETA
// (cli-progress). Otherwise: one quiet line when a phase ends (phase, count, time, tokens/s).
import cliProgress from 'cli-progress';
import type { PhaseProgress } from '../methods/context.js';

export function makeProgress(log: (line: string) => void, stream: NodeJS.WriteStream = process.stderr): PhaseProgress {
  const live = stream.isTTY === true && !process.env.CI;
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  let unit = '';
  let total = 0;
  let done = 0;
  let tokens = 0;
  let t0 = 0;
  return {
    start(p, n, u) {
      phase = p;
      unit = u;
      total = n;
      done = 0;
      tokens = 0;
      t0 = performance.now();
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
      if (bar) {
        const s = (performance.now() - t0) / 1000;
        bar.update(d, { phase, rate: tokens > 0 ? `${Math.round(tokens / s)} tok/s` : `${(d / Math.max(s, 1e-3)).toFixed(1)} ${unit}/s` });
      }
    },
    stop() {
      if (bar) {
        bar.stop();
        bar = null;
      }
      const s = (performance.now() - t0) / 1000;
      log(`  ${phase}: ${done}/${total} ${unit} in ${s.toFixed(1)} s${tokens > 0 ? ` (${Math.round(tokens / s)} tok/s)` : ''}`);
    },
  };
}
