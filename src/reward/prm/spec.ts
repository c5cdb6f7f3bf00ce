// prm.json: what turns a Llama checkpoint into a PRM. It sits beside config.json / model.safetensors /
// tokenizer.json in the PRM's HF-layout directory:
//
//   { "format": "bstar-prm", "version": 1,
//     "step_tag": "¶", "positive": "+", "negative": "-",      one token each in the PRM's tokenizer
//     "steps": { "separator": "\n", "answerPattern": "^\\s*####" },
//     "base_vocab": { "size": 86, "sha256": "…" },             the policy tokenizer the PRM reads text of
//     "labels": "hard" | "soft", "task": "arith" }
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Tokenizer } from '../../tokenizer/types.js';
import { PrmCheckpointError } from './errors.js';
import { resolveStepSplit, type StepSplit } from './steps.js';

export const PRM_FILE = 'prm.json';

export interface PrmSpec {
  format: 'bstar-prm';
  version: 1;
  step_tag: string;
  positive: string;
  negative: string;
  steps: StepSplit;
  /** The policy vocabulary (ids 0..size-1 of the PRM's tokenizer are exactly those tokens). */
  base_vocab: { size: number; sha256: string };
  labels: 'hard' | 'soft';
  task: string;
}

/** sha256 over the decoded text of ids 0..n-1 (what "the same vocabulary" means). */
export function vocabDigest(tok: Tokenizer, n = tok.vocabSize): string {
  const h = createHash('sha256');
  for (let i = 0; i < n; i++) h.update(JSON.stringify(tok.decodeToken(i)) + '\n');
  return h.digest('hex');
}

export function readPrmSpec(dir: string): PrmSpec {
  const file = path.join(dir, PRM_FILE);
  if (!existsSync(file)) {
    throw new PrmCheckpointError(dir, PRM_FILE, 'a PRM checkpoint (prm.json with step_tag, positive, negative; written by `bstar prm train`)', 'no prm.json: is this a policy checkpoint?');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PrmCheckpointError(file, 'JSON', 'valid JSON', (e as Error).message);
  }
  return validatePrmSpec(raw, file);
}

export function validatePrmSpec(raw: unknown, file: string): PrmSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PrmCheckpointError(file, '(top level)', 'a JSON object', JSON.stringify(raw));
  const o = raw as Record<string, unknown>;
  if (o.format !== 'bstar-prm') throw new PrmCheckpointError(file, 'format', '"bstar-prm"', JSON.stringify(o.format));
  if (o.version !== 1) throw new PrmCheckpointError(file, 'version', '1', JSON.stringify(o.version));
  for (const f of ['step_tag', 'positive', 'negative'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) throw new PrmCheckpointError(file, f, 'a non-empty string (one token of the PRM tokenizer)', JSON.stringify(o[f]));
  }
  const steps = resolveStepSplit(o.steps as StepSplit, `${file}: steps`);
  const bv = o.base_vocab as { size?: unknown; sha256?: unknown } | undefined;
  if (!bv || !Number.isInteger(bv.size) || typeof bv.sha256 !== 'string') throw new PrmCheckpointError(file, 'base_vocab', '{size: integer, sha256: string}', JSON.stringify(o.base_vocab));
  if (o.labels !== 'hard' && o.labels !== 'soft') throw new PrmCheckpointError(file, 'labels', '"hard" or "soft"', JSON.stringify(o.labels));
  if (typeof o.task !== 'string') throw new PrmCheckpointError(file, 'task', 'a task name', JSON.stringify(o.task));
  return { format: 'bstar-prm', version: 1, step_tag: o.step_tag as string, positive: o.positive as string, negative: o.negative as string, steps, base_vocab: { size: bv.size as number, sha256: bv.sha256 }, labels: o.labels, task: o.task };
}

/** The single id of `text` in `tok`, or a PrmCheckpointError naming the prm.json field. */
export function singleTokenId(tok: Tokenizer, text: string, field: string, where: string): number {
  let ids: number[];
  try {
    ids = tok.encode(text);
  } catch {
    ids = [];
  }
  if (ids.length !== 1) throw new PrmCheckpointError(where, field, `${JSON.stringify(text)} to be exactly one token of the PRM tokenizer`, `${ids.length} tokens`);
  return ids[0];
}

/**
 * A policy whose text the PRM reads must have the PRM's base vocabulary (same tokens in the same ids):
 * otherwise a PRM trained on one tokenizer silently misreads the other's text.
 */
export function checkPolicyVocab(spec: PrmSpec, policyTok: Tokenizer, prmDir: string, policyName: string): void {
  const file = path.join(prmDir, PRM_FILE);
  if (policyTok.vocabSize !== spec.base_vocab.size) {
    throw new PrmCheckpointError(file, 'base_vocab.size', `the policy (${policyName}) vocabulary size ${spec.base_vocab.size}`, `${policyTok.vocabSize} ids in ${policyName}'s tokenizer`);
  }
  const d = vocabDigest(policyTok);
  if (d !== spec.base_vocab.sha256) {
    throw new PrmCheckpointError(file, 'base_vocab.sha256', `${spec.base_vocab.sha256.slice(0, 12)}… (the tokens the PRM was trained on)`, `${d.slice(0, 12)}… for ${policyName}'s tokenizer (different tokens)`);
  }
}
