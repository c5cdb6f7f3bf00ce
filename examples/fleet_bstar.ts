// B-STaR with sampling on a fleet of OpenAI-compatible servers (vLLM, `bstar serve`, llama-server) and
// training in the local engine (docs/scale.md §4). The fleet is the config's policy.sampling section; the
// reload command makes every server serve the checkpoint each iteration trained ({checkpoint}).
//   BSTAR_ENDPOINTS=http://gpu-1:8000/v1,http://gpu-2:8000/v1 BSTAR_RELOAD='ssh … {checkpoint}' \
//   node fleet_bstar.js <start checkpoint> [run-dir] [--set key=value …]
import { loadConfig, startRun, taskNames } from 'bstar';

const [init, dir = 'runs/fleet-bstar', ...rest] = process.argv.slice(2);
const endpoints = (process.env.BSTAR_ENDPOINTS ?? '').split(',').filter(Boolean);
const reload = process.env.BSTAR_RELOAD;
if (!init || endpoints.length === 0 || !reload) throw new Error('usage: BSTAR_ENDPOINTS=url[,url…] BSTAR_RELOAD="cmd {checkpoint}" node fleet_bstar.js <checkpoint> [run-dir] [--set k=v …]');
const sets = rest.flatMap((a, i) => (rest[i - 1] === '--set' ? [a] : []));
const config = loadConfig({
  preset: 'gsm8k',
  overrides: [
    'method=bstar', `model.checkpoint=${JSON.stringify(init)}`,
    'policy.sampling.backend=openai', `policy.sampling.endpoints=${JSON.stringify(endpoints)}`, 'policy.sampling.concurrency=16',
    `policy.sampling.reload=${JSON.stringify(['sh', '-c', reload])}`,
    ...sets,
  ],
  taskNames: taskNames(),
});
const out = await startRun(config, dir, { log: (l) => console.log(l) });
console.log(`done: ${out.dir}`);
