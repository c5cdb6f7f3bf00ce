// Starts real `bstar serve` processes on loopback for tests (port 0: the OS picks a free port).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * A policy.sampling.reload script for tests: `node reload.mjs <stateFile> <cli> <checkpoint>` stops
 * the server whose pid is in the state file, starts `bstar serve <checkpoint>` on the same port
 * (detached, output to a log) and returns once it listens; the state file lists every checkpoint served.
 */
export const RELOAD_SCRIPT = `
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
const [stateFile, cli, ckpt] = process.argv.slice(2);
const s = JSON.parse(readFileSync(stateFile, 'utf8'));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try { process.kill(s.pid, 'SIGTERM'); } catch {}
for (let t = 0; alive(s.pid); t++) { if (t === 200) process.kill(s.pid, 'SIGKILL'); if (t > 400) throw new Error('old server does not exit'); await sleep(25); }
const log = stateFile + '.' + s.served.length + '.log';
const fd = openSync(log, 'w');
const p = spawn(process.execPath, [cli, 'serve', ckpt, '--port', String(s.port), '--grace-ms', '0'], { detached: true, stdio: ['ignore', fd, fd] });
p.unref();
for (let t = 0; !readFileSync(log, 'utf8').includes('"listening"'); t++) {
  if (t > 1200 || p.exitCode !== null) { console.error(readFileSync(log, 'utf8')); process.exit(1); }
  await sleep(25);
}
writeFileSync(stateFile, JSON.stringify({ pid: p.pid, port: s.port, served: [...s.served, ckpt] }));
`;

/** A loopback server answering every POST with `answer(body)` (status, JSON). */
export async function fake(answer: (body: any) => Promise<[number, unknown]>): Promise<{ base: string; close: () => Promise<void>; seen: any[] }> {
  const seen: any[] = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', async () => {
      const body = JSON.parse(b);
      seen.push(body);
      const [status, out] = await answer(body);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`, seen, close: () => new Promise((r) => srv.close(() => r())) };
}
