// The CAS parser's thread: parses LaTeX into canonical MathJSON with @cortex-js/compute-engine and
// hands the JSON text back through shared memory, so that the main thread can wait for it
// synchronously with a time limit (math-cas.ts) and kill this thread when the parser runs away.
// Protocol (Int32 control words): ctrl[0] 0 = idle/pending, 1 = result ready, 2 = parser threw;
// ctrl[1] = byte length of the result in `data`; ctrl[2] = 1 once the engine is loaded.

import { parentPort, workerData } from 'node:worker_threads';
import { ComputeEngine } from '@cortex-js/compute-engine';

const { ctrlBuf, dataBuf } = workerData as { ctrlBuf: SharedArrayBuffer; dataBuf: SharedArrayBuffer };
const ctrl = new Int32Array(ctrlBuf);
const data = new Uint8Array(dataBuf);
const encoder = new TextEncoder();

// The engine reports some parse problems on the console; the caller only needs the MathJSON.
console.warn = () => {};
console.error = () => {};
console.log = () => {};

const ce = new ComputeEngine();
ce.parse('x+1'); // warm the parser before declaring readiness
Atomics.store(ctrl, 2, 1);
Atomics.notify(ctrl, 2);

parentPort!.on('message', (latex: string) => {
  let state = 1;
  let bytes: Uint8Array;
  try {
    bytes = encoder.encode(JSON.stringify(ce.parse(latex).json));
    if (bytes.length > data.length) { state = 2; bytes = encoder.encode('result too large'); }
  } catch (err) {
    state = 2;
    bytes = encoder.encode(String((err as Error).message ?? err).slice(0, 200));
  }
  data.set(bytes);
  Atomics.store(ctrl, 1, bytes.length);
  Atomics.store(ctrl, 0, state);
  Atomics.notify(ctrl, 0);
});
