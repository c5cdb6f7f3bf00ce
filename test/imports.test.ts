// The folder layout's one-way arrows (DESIGN §2): a file that imports "upwards" is a piece in the wrong
// place. This reads every import of every src/ file (static `from '…'`, side-effect `import '…'` and
// dynamic `import('…')`), resolves it to a src/ folder and fails on each forbidden edge, naming the file
// and the import.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

const src = path.join(repoRoot(), 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ folder (first path segment under src/) of a file, or '' for src/index.ts. */
const folderOf = (file: string) => {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '';
};

/** Relative specifiers a file imports (static, re-export, side-effect and dynamic). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

/** Forbidden edges: [importing folder, imported folder, why]. */
const FORBIDDEN: [string, string, string][] = [
  ['methods', 'run', 'the options a method reads are methods/ types (methods/options.ts); run/config maps the schema onto them'],
  ['run', 'report', 'the report is handed to run/ as a callback (RunHooks.report, a plot renderer)'],
  ['reward', 'train', 'the PRM trains through the Policy (policy.train, the one loop is reached via policy/)'],
  ['reward', 'model', 'the PRM loads, scores and saves through the Policy (policy/local.ts: loadLocalPolicy, freshLocalPolicy)'],
  ['train', 'policy', 'the one training loop drives anything with train(batch); policy/ builds on train/, not the reverse'],
];

function edges(): { file: string; spec: string; from: string; to: string }[] {
  return tsFiles(src).flatMap((file) => {
    const from = folderOf(file);
    return importsOf(readFileSync(file, 'utf8')).map((spec) => ({ file: path.relative(src, file), spec, from, to: folderOf(path.resolve(path.dirname(file), spec)) }));
  });
}

test('the import scanner sees static, type, re-export, side-effect and dynamic imports', () => {
  const text = [
    "import { a } from '../run/config.js';",
    "import type { B } from '../report/plots.js';",
    "export { c } from './x.js';",
    "import '../engine/native.js';",
    "const m = await import('../model/llama.js');",
    "import fs from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['../run/config.js', '../report/plots.js', './x.js', '../engine/native.js', '../model/llama.js']);
});

test('no folder imports against the arrows (methods ↛ run, run ↛ report, reward ↛ train/model, train ↛ policy)', () => {
  const all = edges();
  assert.ok(all.length > 200, `scanned ${all.length} imports`);
  const bad = all.flatMap((e) => FORBIDDEN.filter(([f, t]) => e.from === f && e.to === t).map(([, , why]) => `src/${e.file} imports ${e.spec} (${e.from}/ → ${e.to}/: ${why})`));
  assert.deepEqual(bad, []);
});
