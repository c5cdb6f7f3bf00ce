// The run's hooks for its live report: after each phase (progress.json) and after each iteration's
// records and checkpoint are written, report.html is rewritten (atomically). The run's state
// (status.json) is in status.ts. A report that cannot be written never stops the run: the failure is
// logged.
import path from 'node:path';
import { REPORT_FILE, writeRunReport } from './report.js';
import { syncMetricSinks } from './tensorboard.js';

/** The line the run CLI prints at start: where the live report will be. */
export function reportLine(dir: string): string {
  return `report: ${path.resolve(dir, REPORT_FILE)} (rewritten after each phase; open it in a browser, or serve it: bstar report ${dir} --serve)`;
}

/**
 * Feeds the records metrics.jsonl gained to the run's metric sinks (TensorBoard, when the run asked
 * for it: tensorboard.ts), then rewrites <dir>/report.html; logs (never throws) when either fails.
 */
export async function refreshReport(dir: string, log: (line: string) => void): Promise<void> {
  syncMetricSinks(dir, log);
  try {
    await writeRunReport(dir);
  } catch (e) {
    log(`report: ${dir}/report.html not updated (${(e as Error).message})`);
  }
}

