import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReferenceMarkdown, describeConfig } from '../../src/run/configDoc.js';
import { loadConfig } from '../../src/run/configLoad.js';

test('every documented key is a real key: setting it to its default changes nothing', () => {
  const defaults = loadConfig();
  const keys = describeConfig();
  assert.ok(keys.length > 60);
  for (const k of keys) assert.deepEqual(loadConfig({ overrides: [`${k.path}=${k.default}`] }), defaults, k.path);
  const byPath = new Map(keys.map((k) => [k.path, k]));
  assert.equal(byPath.get('eval.k')!.type, 'integer ≥ 1');
  assert.equal(byPath.get('search.thresholdSearchOn')!.type, '"dev" | "pool"');
  assert.equal(byPath.get('selection.nStar')!.type, '"ceil(N/M)" | number > 0');
  assert.equal(byPath.get('model.checkpoint')!.type, 'string | null');
  assert.ok(keys.every((k) => k.description.length > 0), 'every key has a description');
});

test('every leaf of the resolved config is documented', () => {
  const documented = new Set(describeConfig().map((k) => k.path));
  const leaves: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k;
      const isSection = typeof v === 'object' && v !== null && !Array.isArray(v) && !p.startsWith('search.t') && p !== 'task.options';
      if (isSection) walk(v as Record<string, unknown>, p);
      else leaves.push(p);
    }
  };
  walk(loadConfig() as unknown as Record<string, unknown>, '');
  assert.deepEqual(leaves.filter((p) => !documented.has(p)), []);
});

test('docs/config.md is the generated reference', () => {
  const doc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
  assert.equal(doc, configReferenceMarkdown(), 'docs/config.md is stale: regenerate it (command in its header)');
});
