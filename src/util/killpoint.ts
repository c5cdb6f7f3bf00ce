// Test hook for crash-safety tests: BSTAR_KILL_AT="<point>[:<n>]" makes the process SIGKILL itself
// the n-th time (default 1st) it passes the named point, e.g. "sample:3", "train:10", "checkpoint-write",
// "report-search" (run.ts: after progress.json and report.html are rewritten at the end of a phase).
// Off (one env lookup) unless the variable is set.
const counts = new Map<string, number>();

export function killPoint(point: string): void {
  const spec = process.env.BSTAR_KILL_AT;
  if (!spec) return;
  const [name, nth] = spec.split(':');
  if (name !== point) return;
  const c = (counts.get(point) ?? 0) + 1;
  counts.set(point, c);
  if (c === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
