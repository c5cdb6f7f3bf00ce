// The run's Policy from config.policy: local sampling/training (the in-process engine), an
// OpenAI-compatible fleet for sampling (policy.sampling.backend = openai) and/or an external trainer
// command (policy.training.backend = external), glued by composePolicy.
//
// Keeping the fleet current: after training, the next sample call syncs. With the openai backend the
// sync gets the trained checkpoint — the external trainer's latest {out}, or the local weights saved
// to <run>/policy/sync-<k> — and runs policy.sampling.reload with {checkpoint} substituted; that
// command must return once every endpoint serves it (e.g. restart the servers on it and wait for
// /health). bstar cannot restart a fleet generically, so without the command the config is refused.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { composePolicy } from '../policy/compose.js';
import { ExternalTrainer } from '../policy/external.js';
import { OpenAiSamplingBackend } from '../policy/openai.js';
import { PolicyError, type Policy, type TrainingBackend } from '../policy/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Config } from './config.js';

/**
 * `local` is the in-process policy, used for whichever side is local (null when neither is: then no
 * weights are loaded on this machine). `policyDir` holds external rounds and fleet syncs.
 */
export function policyFromConfig(c: Config, local: Policy | null, policyDir: string, log: (line: string) => void, tokenizer?: Tokenizer): Policy {
  const ps = c.policy.sampling;
  const pt = c.policy.training;
  const need = (): Policy => {
    if (!local) throw new PolicyError('policyFromConfig: a local side is configured but no local policy was built');
    return local;
  };
  if (ps.backend === 'local' && pt.backend === 'local') return need();
  const training: TrainingBackend = pt.backend === 'external'
    ? new ExternalTrainer({ command: pt.command, init: c.model.checkpoint!, workDir: path.join(policyDir, 'rounds'), timeoutMs: pt.timeoutMs, log })
    : need().training;
  if (ps.backend === 'local') {
    // local sampling from an external trainer's checkpoints: load each new one into the local engine
    const loc = need();
    const sampling = loc.sampling;
    return composePolicy({
      name: sampling.name,
      sample: (r, p, f) => sampling.sample(r, p, f),
      logprobs: (items) => sampling.logprobs(items),
      nextTokenLogprobs: (items, candidates) => sampling.nextTokenLogprobs(items, candidates),
      syncWeights: async (from) => {
        await loc.training.load(await (from as ExternalTrainer).currentCheckpoint());
      },
    }, training);
  }
  const apiKey = ps.apiKeyEnv !== null ? process.env[ps.apiKeyEnv] : undefined;
  if (ps.apiKeyEnv !== null && !apiKey) throw new PolicyError(`policy.sampling.apiKeyEnv: environment variable ${ps.apiKeyEnv} is not set`);
  // a resumed run continues the numbering: a sync never overwrites a directory a server may be reading
  let syncs = existsSync(policyDir) ? Math.max(0, ...readdirSync(policyDir).map((f) => /^sync-(\d+)$/.exec(f)).filter((m) => m !== null).map((m) => Number(m![1]))) : 0;
  const fleet = new OpenAiSamplingBackend({
    endpoints: ps.endpoints.map((baseUrl) => ({ baseUrl, concurrency: ps.concurrency, ...(apiKey ? { apiKey } : {}) })),
    model: ps.model, timeoutMs: ps.timeoutMs, maxAttempts: ps.retries + 1, log, ...(tokenizer ? { tokenizer } : {}),
    reload: async (from) => {
      const dir = from instanceof ExternalTrainer ? await from.currentCheckpoint() : path.join(policyDir, `sync-${++syncs}`);
      if (!(from instanceof ExternalTrainer)) await from.save(dir, null);
      const argv = ps.reload!.map((a) => a.replaceAll('{checkpoint}', dir));
      log(`fleet: weights changed; policy.sampling.reload: ${argv.join(' ')}`);
      const t0 = Date.now();
      await runReload(argv, ps.timeoutMs);
      log(`fleet: ${ps.endpoints.length} endpoint(s) serve ${dir} (reload ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    },
  });
  log(`policy: sampling on ${ps.endpoints.length} openai endpoint(s) (${ps.endpoints.join(', ')}), training ${training.name}; after training bstar runs policy.sampling.reload and expects it to return once every endpoint serves {checkpoint}`);
  return composePolicy(fleet, training);
}

function runReload(argv: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-2000));
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => (clearTimeout(timer), reject(new PolicyError(`policy.sampling.reload: cannot run ${argv[0]}: ${e.message}`))));
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new PolicyError(`policy.sampling.reload: ${argv.join(' ')} ${signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, timeout ${timeoutMs} ms` : ''})` : `exited with status ${code}`}; output ends: ${tail.trim().slice(-500)}`));
    });
  });
}
