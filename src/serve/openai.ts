// The OpenAI-compatible request/response shapes bstar serve speaks: validation of /v1/completions and
// /v1/chat/completions bodies (each problem an ApiError naming the parameter, as OpenAI reports it) and
// the response objects. Pure: no I/O. Ranges follow the run config where both have the parameter
// (temperature ≤ MAX_TEMPERATURE, as `sampling.temperature` and `bstar generate`), OpenAI elsewhere;
// vLLM's extensions top_k, ignore_eos and return_tokens_as_token_ids are accepted too. A value out
// of range is refused (400 naming it), never clamped.
import { MAX_TEMPERATURE } from '../run/config.js';

/** An error the API returns: HTTP status + OpenAI's {error: {message, type, param, code}} body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface Limits {
  /** Most completions per request (n × prompts). */
  maxN: number;
  maxTokens: number;
  /** Most prompts in one /v1/completions request. */
  maxPrompts: number;
  /** Most top logprobs per token (completions `logprobs`, chat `top_logprobs`); vLLM's max_logprobs. Default 20. */
  maxLogprobs?: number;
}

/** The default of Limits.maxLogprobs (vLLM's default max_logprobs). */
export const MAX_LOGPROBS = 20;

export interface ParsedParams {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  seed: number | null;
  stream: boolean;
  /** Per-token logprobs asked: null = none; k ≥ 0 = the sampled token's and the k most likely (completions `logprobs: k`; chat `logprobs: true` with `top_logprobs: k`). */
  logprobs: number | null;
  /** completions only: the prompt is returned before each completion (text and logprobs). */
  echo: boolean;
  /** vLLM top_k: keep the k most likely tokens; 0 = off (vLLM's -1 is read as 0). */
  topK: number;
  /** vLLM ignore_eos: generate max_tokens tokens whatever the model says. */
  ignoreEos: boolean;
  /** vLLM return_tokens_as_token_ids: logprobs name tokens "token_id:<id>" instead of their text. */
  tokenIds: boolean;
}

export interface ParsedCompletion extends ParsedParams {
  kind: 'completion';
  model: string | null;
  prompts: string[];
  /** vLLM's `return_token_ids`: each choice also carries `prompt_token_ids` and `token_ids` (non-streamed). */
  returnTokenIds: boolean;
}

export interface ChatMessageIn {
  role: string;
  content: string;
}

export interface ParsedChat extends ParsedParams {
  kind: 'chat';
  model: string | null;
  messages: ChatMessageIn[];
}

const bad = (param: string, message: string) => new ApiError(400, message, 'invalid_request_error', param, null);

function obj(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'The request body must be a JSON object.', 'invalid_request_error', null, null);
  return body as Record<string, unknown>;
}

function num(o: Record<string, unknown>, k: string, def: number, lo: number, hi: number, int = false): number {
  const v = o[k];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw bad(k, `Invalid type for '${k}': expected ${int ? 'an integer' : 'a number'}, but got ${JSON.stringify(v)}.`);
  }
  if (v < lo || v > hi) throw bad(k, `Invalid '${k}': ${v} is not in [${lo}, ${hi}].`);
  return v;
}

/** Parameters bstar cannot honour are refused rather than silently ignored. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  best_of: (v) => v === 1,
  suffix: (v) => v === null || v === '',
  logit_bias: (v) => v === null || (typeof v === 'object' && Object.keys(v as object).length === 0),
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  tools: (v) => Array.isArray(v) && v.length === 0,
  response_format: (v) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'text',
};
const IGNORED = new Set(['user', 'stream_options', 'metadata', 'store', 'max_completion_tokens']);
/** vLLM's sampling extensions bstar serve honours. */
const VLLM_EXTRAS = ['top_k', 'ignore_eos', 'return_tokens_as_token_ids'];

function common(o: Record<string, unknown>, known: string[], limits: Limits, chat: boolean): ParsedParams {
  if (chat && o.echo !== undefined && o.echo !== null && o.echo !== false) throw bad('echo', `'echo' is not supported by bstar serve on /v1/chat/completions (found ${JSON.stringify(o.echo)}); use /v1/completions.`);
  for (const k of Object.keys(o)) {
    if (k === 'echo' && chat) continue;
    if (k in UNSUPPORTED) {
      if (o[k] !== undefined && o[k] !== null && !UNSUPPORTED[k](o[k])) throw bad(k, `'${k}' is not supported by bstar serve (found ${JSON.stringify(o[k])}).`);
      continue;
    }
    if (!known.includes(k) && !IGNORED.has(k)) throw bad(k, `Unrecognized request argument supplied: ${k}`);
  }
  const n = num(o, 'n', 1, 1, limits.maxN, true);
  const temperature = num(o, 'temperature', 1, 0, MAX_TEMPERATURE);
  const topP = num(o, 'top_p', 1, 0, 1);
  if (topP === 0) throw bad('top_p', "Invalid 'top_p': 0 leaves no token to sample; use (0, 1].");
  if (o.echo !== undefined && o.echo !== null && typeof o.echo !== 'boolean') throw bad('echo', `Invalid type for 'echo': expected a boolean, but got ${JSON.stringify(o.echo)}.`);
  const echo = !chat && o.echo === true;
  const maxKey = chat && o.max_completion_tokens !== undefined && o.max_tokens === undefined ? 'max_completion_tokens' : 'max_tokens';
  // max_tokens 0 only with echo (vLLM's convention): the prompt is scored, nothing generated
  const maxTokens = num(o, maxKey, chat ? Math.min(limits.maxTokens, 256) : 16, echo ? 0 : 1, limits.maxTokens, true);
  let stop: string[] = [];
  if (o.stop !== undefined && o.stop !== null) {
    if (typeof o.stop === 'string') stop = [o.stop];
    else if (Array.isArray(o.stop) && o.stop.length <= 4 && o.stop.every((s) => typeof s === 'string')) stop = o.stop as string[];
    else throw bad('stop', `Invalid 'stop': expected a string or an array of at most 4 strings, but got ${JSON.stringify(o.stop)}.`);
    if (stop.some((s) => s.length === 0)) throw bad('stop', "Invalid 'stop': stop strings must not be empty.");
  }
  if (echo && o.stream === true) throw bad('stream', "'echo' together with 'stream' is not supported by bstar serve; send the echo request without streaming.");
  const seed = o.seed === undefined || o.seed === null ? null : num(o, 'seed', 0, 0, 2 ** 53 - 1, true);
  if (o.stream !== undefined && o.stream !== null && typeof o.stream !== 'boolean') throw bad('stream', `Invalid type for 'stream': expected a boolean, but got ${JSON.stringify(o.stream)}.`);
  const maxLp = limits.maxLogprobs ?? MAX_LOGPROBS;
  let logprobs: number | null = null;
  if (chat) {
    if (o.logprobs !== undefined && o.logprobs !== null && typeof o.logprobs !== 'boolean') throw bad('logprobs', `Invalid type for 'logprobs': expected a boolean, but got ${JSON.stringify(o.logprobs)}.`);
    const top = o.top_logprobs === undefined || o.top_logprobs === null ? null : num(o, 'top_logprobs', 0, 0, maxLp, true);
    if (top !== null && top > 0 && o.logprobs !== true) throw bad('top_logprobs', "Invalid 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is given.");
    logprobs = o.logprobs === true ? (top ?? 0) : null;
  } else {
    logprobs = o.logprobs === undefined || o.logprobs === null ? null : num(o, 'logprobs', 0, 0, maxLp, true);
  }
  const topK = num(o, 'top_k', 0, -1, Number.MAX_SAFE_INTEGER, true);
  const flag = (k: string) => {
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'boolean') throw bad(k, `Invalid type for '${k}': expected a boolean, but got ${JSON.stringify(o[k])}.`);
    return o[k] === true;
  };
  return { n, temperature, topP, maxTokens, stop, seed, stream: o.stream === true, logprobs, echo, topK: Math.max(0, topK), ignoreEos: flag('ignore_eos'), tokenIds: flag('return_tokens_as_token_ids') };
}

function model(o: Record<string, unknown>): string | null {
  if (o.model === undefined) throw bad('model', 'You must provide a model parameter.');
  if (typeof o.model !== 'string') throw bad('model', `Invalid type for 'model': expected a string, but got ${JSON.stringify(o.model)}.`);
  return o.model;
}

export function parseCompletion(body: unknown, limits: Limits): ParsedCompletion {
  const o = obj(body);
  const m = model(o);
  const p = o.prompt;
  let prompts: string[];
  if (typeof p === 'string') prompts = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) prompts = p as string[];
  else throw bad('prompt', `Invalid 'prompt': expected a string or a non-empty array of strings, but got ${p === undefined ? 'nothing' : JSON.stringify(p).slice(0, 80)}.`);
  if (prompts.length > limits.maxPrompts) throw bad('prompt', `Invalid 'prompt': at most ${limits.maxPrompts} prompts per request, found ${prompts.length}.`);
  const c = common(o, ['model', 'prompt', 'n', 'temperature', 'top_p', 'max_tokens', 'stop', 'seed', 'stream', 'logprobs', 'echo', 'return_token_ids', ...VLLM_EXTRAS], limits, false);
  if (c.n * prompts.length > limits.maxN) throw bad('n', `Invalid 'n': n × prompts = ${c.n * prompts.length} exceeds the server limit ${limits.maxN}.`);
  const r = o.return_token_ids;
  if (r !== undefined && r !== null && typeof r !== 'boolean') throw bad('return_token_ids', `Invalid type for 'return_token_ids': expected a boolean, but got ${JSON.stringify(r)}.`);
  if (r === true && c.stream) throw bad('return_token_ids', "'return_token_ids' together with 'stream' is not supported by bstar serve; send the request without streaming.");
  return { kind: 'completion', model: m, prompts, ...c, returnTokenIds: r === true };
}

export function parseChat(body: unknown, limits: Limits): ParsedChat {
  const o = obj(body);
  const m = model(o);
  const ms = o.messages;
  if (!Array.isArray(ms) || ms.length === 0) throw bad('messages', "Invalid 'messages': expected a non-empty array of {role, content}.");
  const messages = ms.map((x, i) => {
    const e = x as { role?: unknown; content?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.role !== 'string') throw bad(`messages[${i}].role`, `Invalid 'messages[${i}].role': expected a string.`);
    if (!['system', 'user', 'assistant'].includes(e.role)) throw bad(`messages[${i}].role`, `Invalid 'messages[${i}].role': expected 'system', 'user' or 'assistant', but got ${JSON.stringify(e.role)}.`);
    let content = e.content;
    if (Array.isArray(content) && content.every((c) => c?.type === 'text' && typeof c.text === 'string')) content = content.map((c) => c.text).join('');
    if (typeof content !== 'string') throw bad(`messages[${i}].content`, `Invalid 'messages[${i}].content': expected a string (or text parts).`);
    return { role: e.role, content };
  });
  const c = common(o, ['model', 'messages', 'n', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'stop', 'seed', 'stream', 'logprobs', 'top_logprobs', ...VLLM_EXTRAS], limits, true);
  return { kind: 'chat', model: m, messages, ...c };
}

/** OpenAI's finish_reason: an eos or a stop string is "stop". */
export function finishReason(f: 'eos' | 'stop' | 'length'): 'stop' | 'length' {
  return f === 'length' ? 'length' : 'stop';
}
