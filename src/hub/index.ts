// Models and datasets by Hugging Face hub id (`--model org/name`, `--dataset org/name`): the repository's
// files bstar reads are fetched with @huggingface/hub into the standard hub cache, laid out as
// huggingface_hub lays it out, so Python tools and bstar share downloads:
//
//   $HF_HUB_CACHE (else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub)
//     models--org--name/refs/main             the commit the revision pointed at
//     models--org--name/snapshots/<commit>/…  the files (links into blobs/)
//     models--org--name/blobs/<etag>
//
// The hub is $HF_ENDPOINT (default https://huggingface.co); $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN) is sent
// for private and gated repositories. With HF_HUB_OFFLINE=1, or when the hub cannot be reached, a snapshot
// already in the cache is used; with none, the error is one line saying how to pass a local path instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** A hub id could not be resolved: unreachable hub with nothing cached, unknown repo, no usable files. */
export class HubError extends Error {
  override name = 'HubError';
}

export type RepoKind = 'model' | 'dataset';

/** `org/name` (the hub's repository id form); a path that exists locally is never taken for one. */
export function isHubId(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s) && !s.includes('..') && !/\.(jsonl|json|parquet|gz|safetensors|gguf|ya?ml)$/i.test(s);
}

/** The hub's base URL: $HF_ENDPOINT, else https://huggingface.co. */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** The hub cache directory, resolved as huggingface_hub resolves it. */
export function hubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** The cache folder of one repository: `<cache>/models--org--name`. */
export function repoCacheDir(kind: RepoKind, id: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, `${kind}s--${id.split('/').join('--')}`);
}

function token(): string | undefined {
  const t = process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (t !== undefined && !t.startsWith('hf_')) throw new HubError('HF_TOKEN: a Hugging Face access token starts with "hf_"; unset it for public repositories');
  return t;
}

function localHint(kind: RepoKind): string {
  return kind === 'model'
    ? 'pass a local checkpoint folder instead: --model ./path (config.json, model.safetensors, tokenizer.json)'
    : 'pass a local dataset instead: --dataset ./file.jsonl (or .json, .parquet, or a folder laid out as <name>/data/<split>-*.parquet)';
}

/** The snapshot already in the cache for `revision` (a commit hash, or a ref under refs/), or null. */
export function cachedSnapshot(kind: RepoKind, id: string, revision = 'main', cacheDir = hubCacheDir()): string | null {
  const repo = repoCacheDir(kind, id, cacheDir);
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    const ref = join(repo, 'refs', revision);
    if (!existsSync(ref)) return null;
    commit = readFileSync(ref, 'utf8').trim();
  }
  const snap = join(repo, 'snapshots', commit);
  return existsSync(snap) && readdirSync(snap).length > 0 ? snap : null;
}

/** A failure that means "no network", as opposed to an answer from the hub. */
/** The HTTP status of an @huggingface/hub HubApiError, else null. */
function httpStatus(e: unknown): number | null {
  const s = (e as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' ? s : null;
}

function isUnreachable(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== null) return status >= 500;
  const err = e as { name?: string; message?: string; cause?: { code?: string } };
  return err?.name === 'TypeError' && /fetch failed/i.test(err.message ?? '') || ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH'].includes(err?.cause?.code ?? '');
}

function reason(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err?.cause?.code ?? err?.cause?.message ?? (err?.message ?? String(e)).split('. URL:')[0];
}

export interface ResolveOptions {
  kind: RepoKind;
  /** `org/name`. */
  id: string;
  /** Branch, tag or commit (default main). */
  revision?: string;
  /** Which repository paths to fetch (default: all). */
  want?: (path: string) => boolean;
  log?: (line: string) => void;
}

/**
 * The local snapshot folder of a hub repository, fetching the wanted files into the hub cache first
 * (files already there are not fetched again). Offline (HF_HUB_OFFLINE=1) or unreachable: the cached
 * snapshot, else a HubError saying how to pass a local path.
 */
export async function resolveHubRepo(o: ResolveOptions): Promise<string> {
  const revision = o.revision ?? 'main';
  const log = o.log ?? (() => {});
  const endpoint = hubEndpoint();
  const cacheDir = hubCacheDir();
  const cached = cachedSnapshot(o.kind, o.id, revision, cacheDir);
  const what = `${o.kind} ${o.id}`;
  if (process.env.HF_HUB_OFFLINE === '1' || process.env.HF_HUB_OFFLINE === 'true') {
    if (cached !== null) return cached;
    throw new HubError(`${what}: not in the hub cache ${cacheDir} and HF_HUB_OFFLINE is set; ${localHint(o.kind)}`);
  }
  const accessToken = token();
  // loaded only when a hub id is used
  const { datasetInfo, downloadFileToCacheDir, listFiles, modelInfo } = await import('@huggingface/hub');
  const common = { hubUrl: endpoint, ...(accessToken ? { accessToken } : {}) };
  const repo = { type: o.kind, name: o.id } as const;
  let commit: string;
  let paths: string[];
  try {
    const info = o.kind === 'model'
      ? await modelInfo({ ...common, name: o.id, revision, additionalFields: ['sha'] })
      : await datasetInfo({ ...common, name: o.id, revision, additionalFields: ['sha'] });
    commit = (info as { sha?: string }).sha ?? '';
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new HubError(`${what}: the hub at ${endpoint} gave no commit for revision ${revision}`);
    paths = [];
    for await (const f of listFiles({ ...common, repo, recursive: true, revision: commit })) {
      if (f.type === 'file' && (o.want?.(f.path) ?? true)) paths.push(f.path);
    }
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (isUnreachable(e)) {
      if (cached !== null) {
        log(`hub: ${endpoint} unreachable (${reason(e)}); using the cached snapshot ${cached}`);
        return cached;
      }
      throw new HubError(`${what}: cannot reach the Hugging Face hub at ${endpoint} (${reason(e)}) and it is not in the hub cache ${cacheDir}; ${localHint(o.kind)}`);
    }
    const status = httpStatus(e);
    if (status !== null && [401, 403, 404].includes(status)) {
      throw new HubError(`${what}: not found on ${endpoint} or not accessible (HTTP ${status}); check the id, set HF_TOKEN for a private or gated repository, or ${localHint(o.kind)}`);
    }
    throw new HubError(`${what}: the hub at ${endpoint} answered with an error (${reason(e)}); ${localHint(o.kind)}`);
  }
  if (paths.length === 0) throw new HubError(`${what} @ ${commit.slice(0, 12)}: no files bstar reads in this repository; ${localHint(o.kind)}`);
  const repoDir = repoCacheDir(o.kind, o.id, cacheDir);
  if (revision !== commit) {
    mkdirSync(join(repoDir, 'refs', dirname(revision)), { recursive: true });
    writeFileSync(join(repoDir, 'refs', revision), commit);
  }
  const snapshot = join(repoDir, 'snapshots', commit);
  for (const p of paths) {
    if (existsSync(join(snapshot, p))) continue;
    log(`hub: fetching ${o.id}/${p} @ ${commit.slice(0, 12)} into ${cacheDir}`);
    // @huggingface/hub announces each download with console.debug (stdout); bstar logs its own line.
    const debug = console.debug;
    console.debug = () => {};
    try {
      await downloadFileToCacheDir({ ...common, repo, path: p, revision: commit, cacheDir });
    } catch (e) {
      if (isUnreachable(e)) throw new HubError(`${what}: the hub at ${endpoint} stopped answering while fetching ${p} (${reason(e)}); run again to resume, or ${localHint(o.kind)}`);
      throw new HubError(`${what}: fetching ${p} failed (${reason(e)}); ${localHint(o.kind)}`);
    } finally {
      console.debug = debug;
    }
  }
  return snapshot;
}

/** The repository files a model checkpoint needs: top-level JSON (config, tokenizer), safetensors weights, templates. */
export function isModelFile(path: string): boolean {
  return !path.includes('/') && (/\.(json|safetensors|jinja)$/.test(path) || path === 'tokenizer.model');
}

/**
 * A model given as a local folder or a hub id: the folder when it exists, else the hub id's snapshot
 * (config, tokenizer and safetensors fetched into the hub cache), else the path unchanged (the caller
 * reports the missing checkpoint).
 */
export async function resolveModelPath(pathOrId: string, log?: (line: string) => void): Promise<string> {
  if (existsSync(pathOrId) || !isHubId(pathOrId)) return pathOrId;
  return resolveHubRepo({ kind: 'model', id: pathOrId, want: isModelFile, log });
}
