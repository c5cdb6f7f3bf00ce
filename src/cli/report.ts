// `bstar report runs/a [runs/b …] [--out file] [--serve [--port n]]`: the run report (src/report/).
// One directory → its report.html (written into the run dir unless --out); several → a comparison page
// (default comparison.html in the current directory). --serve serves the page on 127.0.0.1, built anew
// on each request, so a reloading browser follows a run while it goes.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { buildReport, REPORT_FILE, writeAtomic } from '../report/report.js';

export interface ReportCliOptions {
  out?: string;
  serve?: boolean;
  port: string;
}

/** Serves the report of `dirs` on 127.0.0.1:port (0 = any free port); resolves once listening. */
export function serveReport(dirs: readonly string[], port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/' && req.url !== '/index.html' && req.url !== `/${REPORT_FILE}`)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the report is at /\n');
      return;
    }
    buildReport(dirs).then(
      (html) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`bstar report: ${e.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a ? a.port : port;
      resolve({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write the HTML report of a run (or a comparison of several runs), or serve it live (example: bstar report runs/a --serve)')
    .argument('<runs...>', 'run directories')
    .option('--out <file>', `where to write the page (default: <run>/${REPORT_FILE} for one run, comparison.html for several)`)
    .option('--serve', 'serve the page on 127.0.0.1 instead of writing it (rebuilt on every request)')
    .option('--port <n>', 'port for --serve (0 = any free port)', '8765')
    .action(async (dirs: string[], o: ReportCliOptions) => {
      if (o.serve) {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected an integer in 0…65535, found "${o.port}"`);
        await buildReport(dirs); // fail fast on a bad directory
        const { url } = await serveReport(dirs, port);
        console.log(`bstar report: serving ${dirs.join(', ')} at ${url} (Ctrl-C to stop)`);
        await new Promise<never>(() => {});
      }
      const out = o.out ?? (dirs.length === 1 ? path.join(dirs[0], REPORT_FILE) : 'comparison.html');
      writeAtomic(out, await buildReport(dirs));
      console.log(`bstar report: wrote ${out}`);
    });
}
