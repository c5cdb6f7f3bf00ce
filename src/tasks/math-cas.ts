// LaTeX → canonical MathJSON with a hard time limit, synchronously. The compute-engine parser is
// synchronous and can take seconds (or not return) on malformed input, so it runs in a worker thread
// (math-cas-worker.ts); the caller blocks on shared memory with Atomics.wait for at most the time
// limit, and on expiry the worker is terminated and a fresh one is started for the next call.

import { Worker } from 'node:worker_threads';

/** Per-parse time limit in milliseconds: BSTAR_CAS_TIMEOUT_MS, default 2000. */
export function casTimeoutMs(): number {
  const raw = process.env['BSTAR_CAS_TIMEOUT_MS'];
  if (raw === undefined || raw === '') return 2000;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`BSTAR_CAS_TIMEOUT_MS: expected a positive number of milliseconds, found ${JSON.stringify(raw)}`);
  return v;
}
/** How long the first call may wait for the worker to load the engine. */
const STARTUP_MS = 20000;
const DATA_BYTES = 1 << 20;

/** The parser did not answer within the time limit (the worker was restarted). */
export class CasTimeoutError extends Error {
  override name = 'CasTimeoutError';
}

interface CasWorker { worker: Worker; ctrl: Int32Array; data: Uint8Array }
let current: CasWorker | null = null;
const decoder = new TextDecoder();

function start(): CasWorker {
  const ctrlBuf = new SharedArrayBuffer(3 * 4);
  const dataBuf = new SharedArrayBuffer(DATA_BYTES);
  const worker = new Worker(new URL('./math-cas-worker.js', import.meta.url), { workerData: { ctrlBuf, dataBuf } });
  worker.unref();
  worker.on('error', () => { if (current?.worker === worker) current = null; });
  const w = { worker, ctrl: new Int32Array(ctrlBuf), data: new Uint8Array(dataBuf) };
  if (Atomics.wait(w.ctrl, 2, 0, STARTUP_MS) === 'timed-out' && Atomics.load(w.ctrl, 2) !== 1) {
    void worker.terminate();
    throw new CasTimeoutError(`the CAS worker did not start within ${STARTUP_MS} ms`);
  }
  return w;
}

/** Parse `latex` to canonical MathJSON within `timeoutMs`; throws CasTimeoutError or the parser's error. */
export function parseLatex(latex: string, timeoutMs = casTimeoutMs()): unknown {
  current ??= start();
  const w = current;
  Atomics.store(w.ctrl, 0, 0);
  w.worker.postMessage(latex);
  const r = Atomics.wait(w.ctrl, 0, 0, timeoutMs);
  const state = Atomics.load(w.ctrl, 0);
  if (r === 'timed-out' && state === 0) {
    current = null;
    void w.worker.terminate();
    throw new CasTimeoutError(`CAS parse of ${latex.length} chars exceeded ${timeoutMs} ms`);
  }
  const text = decoder.decode(w.data.slice(0, Atomics.load(w.ctrl, 1)));
  if (state === 2) throw new Error(`CAS parse failed: ${text}`);
  return JSON.parse(text) as unknown;
}

/** Stop the worker (tests; the worker is unref'd, so a process exits without this). */
export async function stopCas(): Promise<void> {
  const w = current;
  current = null;
  if (w) await w.worker.terminate();
}
