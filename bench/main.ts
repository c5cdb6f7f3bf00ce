// `npm run bench -- <suite> [--json]`. Each suite is a module in bench/ exporting
// `run(opts): Promise<unknown>` that prints its human-readable table (nothing with --json) and returns
// its figures; with --json this file prints all suites' figures as one JSON line. References (OpenBLAS, PyTorch) are measured in the same run; a missing reference is
// reported as "not available", never an invented number.
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

export interface BenchOptions {
  json: boolean;
  args: string[];
}

const suites: Record<string, string[]> = {
  engine: ['gemm', 'train'],
  gemm: ['gemm'],
  train: ['train'],
  sample: ['sample'],
  sandbox: ['sandbox'],
  serve: ['serve'],
  calibrate: ['calibrate'],
  padding: ['padding'],
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const suite = rest[0] ?? 'engine';
  const mods = suites[suite];
  if (!mods) {
    console.error(`bench: unknown suite "${suite}"; expected one of ${Object.keys(suites).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const results: Record<string, unknown> = {};
  for (const m of mods) {
    const file = path.join(here, `${m}.js`);
    if (!existsSync(file)) {
      console.error(`bench: suite part "${m}" is not built yet (${file})`);
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as { run(o: BenchOptions): Promise<unknown> };
    results[m] = await mod.run({ json, args: rest.slice(1) });
  }
  if (json) console.log(JSON.stringify({ suite, ...results }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
