// The config reference, read from the schema itself: every key with its type, range, default and
// description — for `--help`-style listings and docs. Nothing here is maintained by hand.

import type { z } from 'zod';
import { ConfigSchema, type Config } from './config.js';
import { loadConfig } from './configLoad.js';

export interface ConfigKeyDoc {
  /** Dotted key path, e.g. `train.lr`. */
  path: string;
  /** Type and range, e.g. `integer ≥ 1 | null`, `"dev" | "pool"`. */
  type: string;
  /** The default (of the schema, i.e. the demo), as YAML-ish text. */
  default: string;
  description: string;
}

type AnySchema = z.core.$ZodType;
type Def = { type: string; innerType?: AnySchema; in?: AnySchema; out?: AnySchema; shape?: Record<string, AnySchema>; checks?: { _zod: { def: Record<string, unknown> } }[]; entries?: Record<string, string>; values?: unknown[]; options?: AnySchema[]; element?: AnySchema };

const defOf = (s: AnySchema) => s._zod.def as unknown as Def;
const descriptionOf = (s: AnySchema) => (s as unknown as { description?: string }).description;

function numberType(d: Def): string {
  let t = 'number';
  const parts: string[] = [];
  for (const c of d.checks ?? []) {
    const cd = c._zod.def;
    if (cd.check === 'number_format' && (cd.format === 'safeint' || cd.format === 'int32')) t = 'integer';
    if (cd.check === 'greater_than') parts.push(`${cd.inclusive ? '≥' : '>'} ${cd.value}`);
    if (cd.check === 'less_than') parts.push(`${cd.inclusive ? '≤' : '<'} ${cd.value}`);
  }
  return [t, ...parts].join(' ');
}

function typeOf(s: AnySchema): string {
  const d = defOf(s);
  switch (d.type) {
    case 'default':
    case 'prefault':
    case 'optional':
      return typeOf(d.innerType!);
    case 'nullable':
      return `${typeOf(d.innerType!)} | null`;
    case 'pipe':
      return defOf(d.in!).type === 'transform' ? typeOf(d.out!) : typeOf(d.in!);
    case 'number':
      return numberType(d);
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'enum':
      return Object.values(d.entries!).map((v) => JSON.stringify(v)).join(' | ');
    case 'literal':
      return d.values!.map((v) => JSON.stringify(v)).join(' | ');
    case 'union':
      return d.options!.map(typeOf).join(' | ');
    case 'array':
      return `list of ${typeOf(d.element!)}`;
    case 'record':
      return 'mapping';
    case 'object':
      return 'grid {from, to, step} | {values} | list';
    default:
      return d.type;
  }
}

/** An object section (descend) or a leaf (document)? Grids are leaves. */
function sectionShape(s: AnySchema): Record<string, AnySchema> | null {
  let d = defOf(s);
  while (['default', 'prefault', 'optional', 'nullable'].includes(d.type)) d = defOf(d.innerType!);
  if (d.type !== 'object') return null;
  return 'values' in d.shape! ? null : d.shape!;
}

function getIn(obj: unknown, path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], obj);
}

/**
 * Every config key in schema order.
 * Example: describeConfig().find((k) => k.path === 'eval.k') → {path: 'eval.k', type: 'integer ≥ 1', default: '16', ...}.
 */
export function describeConfig(): ConfigKeyDoc[] {
  const defaults: Config = loadConfig();
  const out: ConfigKeyDoc[] = [];
  const walk = (shape: Record<string, AnySchema>, prefix: string[]) => {
    for (const [key, s] of Object.entries(shape)) {
      const path = [...prefix, key];
      const inner = sectionShape(s);
      if (inner) walk(inner, path);
      else out.push({ path: path.join('.'), type: typeOf(s), default: JSON.stringify(getIn(defaults, path)), description: descriptionOf(s) ?? '' });
    }
  };
  walk(sectionShape(defOf(ConfigSchema as unknown as AnySchema).in ?? (ConfigSchema as unknown as AnySchema))!, []);
  return out;
}

/** The config reference as a Markdown table (docs/config.md is this text; a test keeps them equal). */
export function configReferenceMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = describeConfig().map((k) => `| \`${k.path}\` | ${esc(k.type)} | \`${esc(k.default)}\` | ${esc(k.description)} |`);
  return [
    '# Config reference',
    '',
    'Every key of the run config (`src/run/config.ts`), with its type, range and default. The defaults are the',
    'embedded demo; presets (`demo`, `math`, `gsm8k`, `arc`, `code`), a YAML/JSON file and `--set key.path=value`',
    'override them in that order. See docs/algorithm.md for what the selection and search options mean.',
    '',
    'Generated from the schema by `configReferenceMarkdown()` (src/run/configDoc.ts); regenerate with',
    '`node -e "import(\'./dist/src/run/configDoc.js\').then(m => process.stdout.write(m.configReferenceMarkdown()))" > docs/config.md`.',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
