// Starts real `bstar serve` processes on loopback for tests (port 0: the OS picks a free port).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface ServeProc {
  proc: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

export function startServe(checkpoint: string, extra: string[] = []): Promise<ServeProc> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [cli, 'serve', checkpoint, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error(`bstar serve did not start in 30 s: ${err}`))), 30_000);
    proc.stderr!.on('data', (d) => (err += d));
    proc.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      clearTimeout(timer);
      const baseUrl = JSON.parse(line).listening as string;
      resolve({
        proc, baseUrl,
        stop: () => new Promise<void>((r) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return r();
          proc.once('exit', () => r());
          proc.kill('SIGTERM');
        }),
      });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bstar serve exited with ${code} before listening: ${err}`));
    });
  });
}
