// The PRM pieces: step splitting, MATH-Shepherd labels through a fake deterministic completer, the
// min-step mapping and reward combination, AUC against hand-computed cases, tag-position loss masking,
// a tiny PRM learning a separable labelling, scoring cache, corruptions, and bad-input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tsKernels } from '../../src/engine/index.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/config.js';
import { localPolicy } from '../../src/policy/local.js';
import { CharTokenizer } from '../../src/tokenizer/char.js';
import { makeBatch } from '../../src/train/batch.js';
import type { Query, Task } from '../../src/tasks/types.js';
import { getTask } from '../../src/tasks/index.js';
import { STEP_SPLITS, splitSteps, stepPrefix, resolveStepSplit } from '../../src/reward/prm/steps.js';
import { labelsFromRollouts } from '../../src/reward/prm/labels.js';
import { annotateChunk, annotateToFile, type Completer } from '../../src/reward/prm/annotate.js';
import { readAnnotations } from '../../src/reward/prm/annotation.js';
import { rocAuc, stepAccuracy } from '../../src/reward/prm/metrics.js';
import { cachedPrmScorer } from '../../src/reward/prm/scorer.js';
import { combineReward, prmMin } from '../../src/reward/combine.js';
import { scoreCompletions } from '../../src/reward/score.js';
import { TagPrm, tagSequence, type StepItem } from '../../src/reward/prm/model.js';
import { checkPolicyVocab, readPrmSpec, vocabDigest, type PrmSpec } from '../../src/reward/prm/spec.js';
import { AnnotationError, PrmCheckpointError } from '../../src/reward/prm/errors.js';
import { corruptArith } from '../../src/reward/prm/corrupt.js';
import { majorityAtK } from '../../src/reward/prm/evaluate.js';
import { Rng } from '../../src/util/rng.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bstar-prm-'));

// ------------------------------------------------------------------------------------------------
// steps

test('line split: one step per line, blank lines dropped, the #### line joins the last step', () => {
  const s = splitSteps('A has <<1+2=3>>3.\n\nB has <<3*2=6>>6.\n#### 6\n', STEP_SPLITS.line);
  assert.deepEqual(s, ['A has <<1+2=3>>3.', 'B has <<3*2=6>>6.\n#### 6']);
  assert.equal(stepPrefix(s, 1, STEP_SPLITS.line), 'A has <<1+2=3>>3.\n');
  assert.equal(stepPrefix(s, 0, STEP_SPLITS.line), '');
  assert.equal(s.join('\n'), 'A has <<1+2=3>>3.\nB has <<3*2=6>>6.\n#### 6');
  assert.deepEqual(splitSteps('#### 6', STEP_SPLITS.line), ['#### 6']); // an answer alone is a step
  assert.deepEqual(splitSteps('', STEP_SPLITS.line), []);
});

test('paragraph split (MATH): "\\n\\n" separates steps, "# Answer" joins the last; custom separators', () => {
  const text = 'First, x = 2.\nSo y = 3.\n\nThen z = 5.\n\n# Answer\n\n5';
  assert.deepEqual(splitSteps(text, STEP_SPLITS.paragraph), ['First, x = 2.\nSo y = 3.', 'Then z = 5.\n\n# Answer\n\n5']);
  assert.deepEqual(splitSteps('a;b;;c', resolveStepSplit({ separator: ';', answerPattern: null })), ['a', 'b', 'c']);
  assert.throws(() => resolveStepSplit('sentence'), /"line" or "paragraph"/);
});

// ------------------------------------------------------------------------------------------------
// labels (hard / soft) through a fake deterministic completer

test('labelsFromRollouts: hard = any correct, soft = fraction; the last step is the verdict', () => {
  assert.deepEqual(labelsFromRollouts([[false, true, false, false], [false, false, false, false]], true), { hard: [1, 0, 1], soft: [0.25, 0, 1] });
  assert.deepEqual(labelsFromRollouts([], false), { hard: [0], soft: [0] });
  assert.throws(() => labelsFromRollouts([[]], true), /rollouts\[0\]/);
});

// A fake task: a solution is lines of digits; the answer is the last line; correct iff it equals gold.
const fakeTask: Task = {
  name: 'fake',
  load: () => [],
  formatPrompt: (q) => `Q${q.prompt}\n`,
  extractAnswer: (t) => t.trim().split('\n').pop() ?? null,
  verify: (t, q) => {
    const a = t.trim().split('\n').pop() ?? null;
    return { correct: a === q.gold.answer, answer: a, reason: '' };
  },
  goldSolution: (q) => q.gold.answer,
};

test('annotation with a fake completer: hard/soft labels per step prefix, as computed by hand', async () => {
  const q: Query = { id: 'q1', prompt: '1', gold: { answer: '7' } };
  // The generator writes one solution "1\n2\n9" (wrong). The completer, from a prefix whose last line is
  // "1", finishes correctly in 3 of 4 rollouts; after "2" in 1 of 4; anything else never.
  const seen: string[] = [];
  const gen: Completer = (reqs) => reqs.map((r) => Array.from({ length: r.n }, () => '1\n2\n9'));
  const comp: Completer = (reqs, temperature) => {
    assert.equal(temperature, 0.7);
    return reqs.map((r) => {
      seen.push(r.prompt);
      const last = r.prompt.trimEnd().split('\n').pop();
      const good = last === '1' ? 3 : last === '2' ? 1 : 0;
      return Array.from({ length: r.n }, (_, j) => (j < good ? '7' : '8'));
    });
  };
  const rows = await annotateChunk(fakeTask, [q], gen, comp, {
    split: STEP_SPLITS.line, samplesPerQuery: 1, temperature: 1, rollouts: 4, rolloutTemperature: 0.7, seed: 0,
  });
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].steps, ['1', '2', '9']);
  assert.deepEqual(rows[0].hard, [1, 1, 0]);
  assert.deepEqual(rows[0].soft, [0.75, 0.25, 0]);
  assert.equal(rows[0].correct, false);
  // one request per step prefix except the full solution, each with the prompt + prefix
  assert.deepEqual(seen, ['Q1\n1\n', 'Q1\n1\n2\n']);
});

test('annotateToFile appends and resumes: queries already in the file are skipped', async () => {
  const dir = tmp();
  const out = path.join(dir, 'a.jsonl');
  const qs: Query[] = ['a', 'b', 'c'].map((id) => ({ id, prompt: id, gold: { answer: '1' } }));
  let calls = 0;
  const c: Completer = (reqs) => {
    calls++;
    return reqs.map((r) => Array.from({ length: r.n }, () => '1'));
  };
  const o = { split: STEP_SPLITS.line, samplesPerQuery: 2, temperature: 1, rollouts: 2, rolloutTemperature: 1, seed: 0, out, chunk: 2 };
  const r1 = await annotateToFile(fakeTask, qs.slice(0, 2), c, c, o);
  assert.deepEqual(r1, { written: 4, skipped: 0 });
  const r2 = await annotateToFile(fakeTask, qs, c, c, o);
  assert.deepEqual(r2, { written: 2, skipped: 2 });
  const rows = readAnnotations(out);
  assert.deepEqual(rows.map((r) => r.id), ['a#0', 'a#1', 'b#0', 'b#1', 'c#0', 'c#1']);
  assert.ok(calls > 0);
  rmSync(dir, { recursive: true });
});

test('annotateToFile after a crash mid-write: the torn last line is cut, its query redone, no row spoiled', async () => {
  const dir = tmp();
  const out = path.join(dir, 'a.jsonl');
  const qs: Query[] = ['a', 'b', 'c'].map((id) => ({ id, prompt: id, gold: { answer: '1' } }));
  const c: Completer = (reqs) => reqs.map((r) => Array.from({ length: r.n }, () => '1'));
  const o = { split: STEP_SPLITS.line, samplesPerQuery: 1, temperature: 1, rollouts: 2, rolloutTemperature: 1, seed: 0, out, chunk: 1 };
  await annotateToFile(fakeTask, qs.slice(0, 2), c, c, o);
  const [ra, rb] = readFileSync(out, 'utf8').split('\n');
  // killed while writing b's line: half of it is on disk, without a newline
  writeFileSync(out, `${ra}\n${rb.slice(0, 25)}`);
  assert.throws(() => readAnnotations(out), /a\.jsonl:2: \(line\): expected one JSON object per line, found invalid JSON/);
  assert.deepEqual(await annotateToFile(fakeTask, qs, c, c, o), { written: 2, skipped: 1 });
  assert.deepEqual(readAnnotations(out).map((r) => r.id), ['a#0', 'b#0', 'c#0']);
  assert.equal(readFileSync(out, 'utf8'), [ra, rb, readFileSync(out, 'utf8').split('\n')[2]].join('\n') + '\n');
  // a complete last line without its newline (edited by hand) is kept, and the next row starts a line of its own
  writeFileSync(out, `${ra}\n${rb}`);
  assert.deepEqual(await annotateToFile(fakeTask, qs, c, c, o), { written: 1, skipped: 2 });
  assert.deepEqual(readAnnotations(out).map((r) => r.id), ['a#0', 'b#0', 'c#0']);
  rmSync(dir, { recursive: true });
});

// ------------------------------------------------------------------------------------------------
// scores, mapping, combination, metrics

test('min-step mapping and reward combination (paper and official) on PRM step probabilities, exactly', () => {
  const steps = [0.9, 0.25, 0.6];
  assert.equal(prmMin(steps, 'paper'), -0.5); // 2·0.25 − 1
  assert.equal(combineReward(1, steps, 'paper'), 0.5);
  assert.equal(combineReward(0, steps, 'paper'), -0.5);
  assert.equal(prmMin([0, 1], 'paper'), -1);
  assert.equal(prmMin([1], 'paper'), 1);
  assert.ok(Math.abs(prmMin([0.75, 0.9], 'official') - Math.log(3) / 5) < 1e-15); // logit(0.75)/5
  assert.ok(Math.abs(combineReward(1, [0.75], 'official') - (1 + Math.log(3) / 5)) < 1e-15);
  assert.equal(combineReward(1, undefined), 1); // no PRM: answer only
  assert.throws(() => prmMin([1.5]), /probability/);
});

test('rocAuc: hand-computed cases with ties; accuracy at 0.5', () => {
  // pos scores {0.8, 0.4}, neg {0.4, 0.1}: pairs (0.8>0.4)=1, (0.8>0.1)=1, (0.4=0.4)=½, (0.4>0.1)=1 → 3.5/4
  assert.equal(rocAuc([0.8, 0.4, 0.4, 0.1], [1, 1, 0, 0]), 0.875);
  assert.equal(rocAuc([0.1, 0.2, 0.3], [1, 0, 0]), 0);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
  assert.equal(stepAccuracy([0.8, 0.4, 0.6], [1, 1, 0]), 1 / 3);
});

test('majority vote: a unanimous pool and a 3-vs-1 pool at K = 4 are exact', () => {
  const rng = new Rng(1);
  const c = (answer: string, correct: boolean) => ({ answer, correct, prmMin: 0 });
  assert.equal(majorityAtK([c('5', true), c('5', true), c('5', true), c('6', false)], 4, rng, 50), 1);
  assert.equal(majorityAtK([c('5', true), c('6', false), c('6', false), c('6', false)], 4, rng, 50), 0);
});

// ------------------------------------------------------------------------------------------------
// the tag PRM

const ALPHA = 'ab\n';
const TINY_CFG = {
  hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2,
  max_position_embeddings: 32, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3,
};
function tinyPrm(seed = 1): TagPrm & { policy: ReturnType<typeof localPolicy> } {
  const tok = new CharTokenizer(['a', 'b', '\n', 'x', '+', '-', '¶']);
  const config = parseModelConfig({ ...TINY_CFG, vocab_size: tok.vocabSize });
  const policy = localPolicy({ config, tokenizer: tok, maxSeq: 32, maxBatch: 16, kernels: tsKernels, initSeed: seed });
  const spec: PrmSpec = { format: 'bstar-prm', version: 1, step_tag: '¶', positive: '+', negative: '-', steps: STEP_SPLITS.line, base_vocab: { size: 7, sha256: '' }, labels: 'hard', task: 'fake' };
  return new TagPrm(policy, tok, spec) as TagPrm & { policy: ReturnType<typeof localPolicy> };
}
/** The training rows the PRM's local policy builds from labelled items. */
const rows = (prm: ReturnType<typeof tinyPrm>, items: Parameters<TagPrm['examples']>[0], maxSeq = 32) =>
  makeBatch(prm.policy.backend.examples(prm.examples(items)), { padId: prm.tokenizer.padId, vocabSize: prm.tokenizer.vocabSize, maxSeq });

test('tagged input: a tag after every step; the loss mask is exactly the tag positions with label targets', async () => {
  const prm = tinyPrm();
  const tok = prm.tokenizer;
  const item = { prompt: 'x', steps: ['ab', 'b'] };
  const seq = tagSequence(tok, prm.ids, item, '\n');
  // <s> x | a b ¶ \n b ¶
  assert.deepEqual(seq.promptIds, [tok.bosId, ...tok.encode('x')]);
  assert.deepEqual(seq.completionIds, [...tok.encode('ab'), prm.ids.tag, ...tok.encode('\nb'), prm.ids.tag]);
  assert.deepEqual(seq.tagAt, [2, 5]);
  const b = rows(prm, [{ ...item, labels: [1, 0] }, { prompt: 'x', steps: ['a'], labels: [1] }]);
  assert.equal(b.B, 2);
  assert.equal(b.T, 8);
  const marked = [...b.mask].flatMap((m, i) => (m ? [[i, m, b.targets[i]]] : []));
  assert.deepEqual(marked, [[4, 1, prm.ids.pos], [7, 1, prm.ids.neg], [8 + 3, 1, prm.ids.pos]]);
  assert.equal(b.tokens, 3);
  // soft labels: a twin row, weights p and 1 − p at the same tag
  const s = rows(prm, [{ prompt: 'x', steps: ['a'], labels: [0.25] }]);
  assert.equal(s.B, 2);
  assert.deepEqual([s.mask[3], s.targets[3], s.mask[s.T + 3], s.targets[s.T + 3]], [0.25, prm.ids.pos, 0.75, prm.ids.neg]);

  // the policy's loss on these examples = mean CE at the tags, computed here from the logits by hand
  const loss = await prm.policy.evalLoss(prm.examples([{ ...item, labels: [1, 0] }, { prompt: 'x', steps: ['a'], labels: [1] }]));
  const model = prm.policy.backend.model;
  model.forward(b.inputs, null, null, b.B, b.T);
  const lg = model.logits();
  const V = model.config.vocab_size;
  let want = 0;
  for (const [i, , target] of marked) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, lg[i * V + v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(lg[i * V + v] - m);
    want += -(lg[i * V + target] - m - Math.log(z)) / 3;
  }
  assert.ok(Math.abs(loss - want) < 1e-5, `loss ${loss} vs hand ${want}`);
  // scoring reads the same logits: P(+) = σ(ℓ₊ − ℓ₋) at each tag
  const [scores] = await prm.scoreSteps([item]);
  [4, 7].forEach((t, j) => assert.ok(Math.abs(scores[j] - 1 / (1 + Math.exp(lg[t * V + prm.ids.neg] - lg[t * V + prm.ids.pos]))) < 1e-6));
});

test('a tiny PRM learns a separable labelling (steps with b are bad) in a few dozen steps', async () => {
  const prm = tinyPrm(3);
  const rng = new Rng(7);
  const mk = (): { prompt: string; steps: string[]; labels: number[] } => {
    const n = 1 + rng.int(3);
    const steps = Array.from({ length: n }, () => (rng.int(2) ? 'aa' : 'ab'));
    return { prompt: 'x', steps, labels: steps.map((s) => (s.includes('b') ? 0 : 1)) };
  };
  const train = Array.from({ length: 64 }, mk);
  const held = Array.from({ length: 16 }, mk);
  await prm.policy.configureOptimizer({ lr: 1e-2, minLr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 40, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, freeze: [], microBatch: 16 }, { reset: true });
  for (let s = 0; s < 40; s++) await prm.policy.train(prm.examples(train.slice((s % 4) * 16, (s % 4) * 16 + 16)));
  const scores = await prm.scoreSteps(held);
  assert.equal(rocAuc(scores.flat(), held.flatMap((h) => h.labels)), 1);
  assert.equal(stepAccuracy(scores.flat(), held.flatMap((h) => h.labels)), 1);
});

test('scorer: one batched scoring call for the new samples, cached per sample; the loop records prmSteps and reward', async () => {
  const prm = tinyPrm(5);
  const scorer = cachedPrmScorer(prm);
  const items = [{ query: 'x', text: 'ab\naa' }, { query: 'x', text: 'a' }, { query: 'x', text: 'ab\naa' }];
  const s1 = await scorer(items);
  assert.equal(scorer.calls, 1);
  assert.deepEqual(s1[0], s1[2]);
  assert.deepEqual(s1[0], (await prm.scoreSteps([{ prompt: 'x', steps: ['ab', 'aa'] }]))[0]);
  assert.deepEqual(s1[1], (await prm.scoreSteps([{ prompt: 'x', steps: ['a'] }]))[0]);
  await scorer(items);
  assert.equal(scorer.calls, 1);
  assert.deepEqual(await scorer([{ query: 'x', text: '  ' }]), [[0]]); // broken: no step → P = 0
  // through the loop's scoring: fakeTask formats prompt '1' as 'Q1\n'; gold 'aa'
  const task: Task = { ...fakeTask, formatPrompt: () => 'x' };
  const q: Query = { id: 'q', prompt: '1', gold: { answer: 'aa' } };
  const raw = [{ query: q, iteration: 0, temperature: 1, text: 'ab\naa', tokens: 5, logprob: 0 }, { query: q, iteration: 0, temperature: 1, text: 'a', tokens: 1, logprob: 0 }];
  const { samples } = await scoreCompletions(raw, { task, prm: scorer, combine: 'paper' });
  assert.deepEqual(samples[0].prmSteps, s1[0]);
  assert.equal(samples[0].reward, 1 + 2 * Math.min(...s1[0]) - 1);
  assert.equal(samples[1].reward, 0 + 2 * s1[1][0] - 1);
  assert.equal(scorer.calls, 1); // all cached
});

// ------------------------------------------------------------------------------------------------
// arith corruptions

test('arith corruptions: slip gives a wrong answer, lucky keeps the right one; truth marks the wrong steps', async () => {
  const task = getTask('arith');
  const qs = (await task.load('test', { limit: 30 })).filter((q) => task.goldSolution(q).split('\n').length >= 3);
  let n = 0;
  for (const q of qs) {
    const slip = corruptArith(q, 'slip', 0);
    const lucky = corruptArith(q, 'lucky', 0);
    if (!slip || !lucky) continue;
    n++;
    assert.equal((task.verify(slip.text, q) as { correct: boolean }).correct, false);
    assert.equal((task.verify(lucky.text, q) as { correct: boolean }).correct, true);
    const steps = splitSteps(slip.text, STEP_SPLITS.line);
    assert.equal(slip.truth.length, steps.length);
    const j = slip.truth.indexOf(0);
    assert.ok(j >= 0 && slip.truth.slice(j).every((t) => t === 0) && slip.truth.slice(0, j).every((t) => t === 1));
    // the first wrong step's equation does not hold
    const eq = /<<(\d+)([-+*/])(\d+)=(\d+)>>/.exec(steps[j])!;
    const [a, op, b, c] = [Number(eq[1]), eq[2], Number(eq[3]), Number(eq[4])];
    const v = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
    assert.notEqual(v, c);
    assert.equal(lucky.truth.filter((t) => t === 0).length, 1);
    assert.deepEqual(corruptArith(q, 'slip', 0), slip); // seeded
  }
  assert.ok(n >= 10, `only ${n} corruptible problems`);
});

// ------------------------------------------------------------------------------------------------
// bad input

test('bad annotation files name the line and the field', () => {
  const dir = tmp();
  const f = path.join(dir, 'bad.jsonl');
  const good = { id: 'q#0', queryId: 'q', prompt: 'p', steps: ['a', 'b'], hard: [1, 0], soft: [0.5, 0], correct: false, rollouts: 2 };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, steps: undefined }, /bad\.jsonl:2: steps: expected a non-empty array of step strings, found missing/],
    [{ ...good, steps: [] }, /:2: steps: expected a non-empty array/],
    [{ ...good, hard: undefined }, /:2: hard: expected an array of 2 labels \(one per step\), found missing/],
    [{ ...good, hard: [1] }, /:2: hard: expected 2 labels \(one per step\), found 1/],
    [{ ...good, hard: [1, 2] }, /:2: hard\[1\]: expected 0 or 1, found 2/],
    [{ ...good, soft: [0.5, 1.5] }, /:2: soft\[1\]: expected a number in \[0, 1\]/],
    [{ ...good, steps: ['a', ''] }, /:2: steps\[1\]: expected a non-empty string/],
  ];
  for (const [row, re] of cases) {
    writeFileSync(f, JSON.stringify(good) + '\n' + JSON.stringify(row) + '\n');
    assert.throws(() => readAnnotations(f), (e: Error) => e instanceof AnnotationError && re.test(e.message));
  }
  writeFileSync(f, '{"id": \n');
  assert.throws(() => readAnnotations(f), /bad\.jsonl:1: \(line\): expected one JSON object per line, found invalid JSON/);
  assert.throws(() => readAnnotations(path.join(dir, 'none.jsonl')), /no such file/);
  rmSync(dir, { recursive: true });
});

test('PRM checkpoints: no prm.json, no step tag, a step tag not in the tokenizer, a policy with another vocabulary', async () => {
  const dir = tmp();
  const prm = tinyPrm();
  const ck = path.join(dir, 'prm');
  await prm.save(ck);
  const loaded = TagPrm.load(ck, { kernels: tsKernels });
  const items: StepItem[] = [{ prompt: 'x', steps: ['ab', 'a'] }];
  assert.deepEqual(await loaded.scoreSteps(items), await prm.scoreSteps(items));

  const spec = JSON.parse(readFileSync(path.join(ck, 'prm.json'), 'utf8'));
  writeFileSync(path.join(ck, 'prm.json'), JSON.stringify({ ...spec, step_tag: undefined }));
  assert.throws(() => TagPrm.load(ck), (e: Error) => e instanceof PrmCheckpointError && /prm\.json: step_tag: expected a non-empty string/.test(e.message));
  writeFileSync(path.join(ck, 'prm.json'), JSON.stringify({ ...spec, step_tag: 'ки' }));
  assert.throws(() => TagPrm.load(ck), /prm\.json: step_tag: expected "ки" to be exactly one token of the PRM tokenizer/);
  rmSync(path.join(ck, 'prm.json'));
  assert.throws(() => readPrmSpec(ck), /prm\.json: expected a PRM checkpoint .*found no prm\.json/);

  // a PRM made from a policy records the policy vocabulary; another vocabulary is refused
  const policyTok = new CharTokenizer(['a', 'b', '\n', 'x', '+', '-']);
  const pdir = path.join(dir, 'policy');
  await localPolicy({ config: parseModelConfig({ ...TINY_CFG, vocab_size: policyTok.vocabSize }), tokenizer: policyTok, maxSeq: 32, maxBatch: 2, kernels: tsKernels, initSeed: 1 }).save(pdir, null, { optimizer: false });
  const fromPolicy = TagPrm.fromPolicy(pdir, { split: STEP_SPLITS.line, task: 'fake', labels: 'hard', kernels: tsKernels });
  assert.equal(fromPolicy.spec.base_vocab.size, 10);
  assert.equal(fromPolicy.spec.base_vocab.sha256, vocabDigest(policyTok));
  assert.equal(fromPolicy.tokenizer.vocabSize, 11);
  // the policy's weights, and for the new id (the tag) a fresh embedding row
  const pw = loadCheckpoint(pdir).weights.get('model.embed_tokens.weight')!;
  const fw = (fromPolicy.policy as ReturnType<typeof localPolicy>).backend.model.namedParams().get('model.embed_tokens.weight')!;
  assert.deepEqual(fw.slice(0, pw.length), pw);
  assert.ok(fw.slice(pw.length).some((x) => x !== 0) && fw.length === 11 * 16);
  checkPolicyVocab(fromPolicy.spec, policyTok, 'prm', 'policy'); // same vocabulary: fine
  assert.throws(() => checkPolicyVocab(fromPolicy.spec, new CharTokenizer(['a', 'b', '\n', 'y', '+', '-']), 'prm', 'other'),
    (e: Error) => e instanceof PrmCheckpointError && /prm\.json: base_vocab\.sha256/.test(e.message) && /other/.test(e.message));
  assert.throws(() => checkPolicyVocab(fromPolicy.spec, new CharTokenizer(['a', 'b']), 'prm', 'other'), /base_vocab\.size/);
  assert.throws(() => TagPrm.fromPolicy(pdir, { split: STEP_SPLITS.line, task: 'fake', labels: 'hard', stepTag: 'a' }), /step_tag: expected a character the policy never writes/);
  rmSync(dir, { recursive: true });
});

test('scoring past the PRM context: steps whose tag does not fit are left out, the rest score as without them', async () => {
  const prm = tinyPrm(2); // maxSeq 32
  const long = { prompt: 'x', steps: Array.from({ length: 12 }, () => 'ab') }; // 2 + 12·3 + 11 = 49 tokens
  const [got] = await prm.scoreSteps([long]);
  // tags at 4, 8, …: those below 32 are the first 7
  assert.equal(got.length, 7);
  const [short] = await prm.scoreSteps([{ prompt: 'x', steps: long.steps.slice(0, 7) }]);
  got.forEach((p, i) => assert.ok(Math.abs(p - short[i]) < 1e-6));
});

test('training rows past the PRM context are cut: only tags inside it are trained on', () => {
  const prm = tinyPrm(2); // maxSeq 32
  const steps = Array.from({ length: 12 }, () => 'ab');
  const b = rows(prm, [{ prompt: 'x', steps, labels: steps.map(() => 1) }]);
  assert.equal(b.T, 32);
  assert.equal(b.tokens, 7); // tags at 4, 8, …, 28
  assert.throws(() => rows(prm, [{ prompt: 'x', steps: ['ab'], labels: [1] }], 3), /at least one target within maxSeq = 3 tokens/);
});
