// `npm run bench -- sandbox [--json]`: what the code sandbox costs. Per-run latency of a small program
// (sequential), and gold-verification throughput on MBPP dev (90 programs, concurrency = cores), each
// for the bwrap sandbox and, as the reference measured in the same run, for mode 'none' (no isolation).
// Also the grader's cost (src/tasks/grader.ts: harness + candidate process) against running the same
// program and assert directly, both in the bwrap sandbox.
import { availableParallelism } from 'node:os';
import type { BenchOptions } from './main.js';
import { Sandbox, type SandboxOptions } from '../src/tasks/sandbox.js';
import { makeMbppTask } from '../src/tasks/code.js';
import { gradeInSandbox } from '../src/tasks/grader.js';

const PROGRAM = 'def f(x):\n    return x * 2\nassert f(2) == 4\nprint("ok")\n';

async function latency(opts: SandboxOptions, n: number): Promise<{ medianMs: number; p90Ms: number }> {
  const sb = new Sandbox({ ...opts, concurrency: 1 });
  await sb.ready();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await sb.run({ code: PROGRAM });
    if (r.stdout !== 'ok\n') throw new Error(`bench: unexpected output ${JSON.stringify(r.stdout)} (${r.status})`);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: round(ms[Math.floor(n / 2)]), p90Ms: round(ms[Math.floor(n * 0.9)]) };
}

async function gradedLatency(n: number): Promise<{ medianMs: number; p90Ms: number }> {
  const sb = new Sandbox({ concurrency: 1 });
  await sb.ready();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await gradeInSandbox(sb, { program: 'def f(x):\n    return x * 2\n', tests: ['assert f(2) == 4'], remote: ['f'] });
    if (!r.ok) throw new Error(`bench: grading failed (${r.reason})`);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: round(ms[Math.floor(n / 2)]), p90Ms: round(ms[Math.floor(n * 0.9)]) };
}

async function throughput(opts: SandboxOptions): Promise<{ programs: number; seconds: number; perSecond: number; verified: number }> {
  const task = makeMbppTask({ sandbox: opts });
  const qs = await task.load('dev');
  const t0 = performance.now();
  const vs = await Promise.all(qs.map((q) => task.verify(task.goldSolution(q), q)));
  const s = (performance.now() - t0) / 1000;
  return { programs: qs.length, seconds: round(s), perSecond: round(qs.length / s), verified: vs.filter((v) => v.correct).length };
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function run(opts: BenchOptions): Promise<unknown> {
  const n = Number(opts.args[0] ?? 30);
  const out = {
    cores: availableParallelism(),
    latency: { bwrap: await latency({}, n), none: await latency({ mode: 'none' }, n), graded: await gradedLatency(n) },
    mbppDev: { bwrap: await throughput({}), none: await throughput({ mode: 'none' }) },
  };
  if (!opts.json) {
    console.log(`sandbox latency, ${n} sequential small programs (median / p90 ms): bwrap ${out.latency.bwrap.medianMs} / ${out.latency.bwrap.p90Ms}, ` +
      `none ${out.latency.none.medianMs} / ${out.latency.none.p90Ms}; graded (harness + candidate process, bwrap) ${out.latency.graded.medianMs} / ${out.latency.graded.p90Ms} ` +
      `= ${(out.latency.graded.medianMs / out.latency.bwrap.medianMs).toFixed(2)}× the direct run`);
    console.log(`MBPP dev gold (${out.mbppDev.bwrap.programs} programs, concurrency ${out.cores}): bwrap ${out.mbppDev.bwrap.seconds} s ` +
      `(${out.mbppDev.bwrap.perSecond}/s, ${out.mbppDev.bwrap.verified} pass), none ${out.mbppDev.none.seconds} s (${out.mbppDev.none.perSecond}/s, ${out.mbppDev.none.verified} pass)`);
  }
  return out;
}
