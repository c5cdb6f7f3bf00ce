// Hostile candidates against the code grader (src/tasks/grader.ts): programs that solve nothing but try to
// pass anyway — __eq__/__hash__ tricks, patched builtins and modules, exit(0) from atexit, reading the
// harness or forging its verdict, os._exit, fork-and-exit, killing or stalling the harness, timing
// tricks. Every one must be graded fail. Each group also has its control: the honest solution passes, so
// a failure is the grader's judgement and not a broken task.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { makeHumanEvalTask, makeMbppTask, appsTask } from '../../src/tasks/code.js';
import { gradeInSandbox, judgeRun, parseVerdict } from '../../src/tasks/grader.js';
import { Sandbox, type RunResult } from '../../src/tasks/sandbox.js';
import type { Query, Task } from '../../src/tasks/types.js';

const SKIP = existsSync('/usr/bin/bwrap') ? false : 'bubblewrap is not installed (apt-get install bubblewrap)';
const sandbox = new Sandbox({ wallMs: 8000, cpuSeconds: 3 });
const mbpp = makeMbppTask({ sandbox });
const humaneval = makeHumanEvalTask({ sandbox });

const find = (task: Task, split: 'test' | 'train', id: string): Query => {
  const q = (task.load(split) as Query[]).find((x) => x.id === id);
  assert.ok(q, id);
  return q;
};

// ---------------------------------------------------------------------------------------------------
// MBPP/17: square_perimeter(a) == 4a, asserted as `assert square_perimeter(10)==40` etc.

const WRONG = 'def square_perimeter(a):\n    return 3 * a\n';

/** Hostile programs for MBPP/17. None computes 4a. */
const MBPP_HOSTILE: Array<[string, string]> = [
  ['__eq__ always true', 'class A:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\ndef square_perimeter(a):\n    return A()\n'],
  ['int subclass whose __eq__ is always true', 'class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\ndef square_perimeter(a):\n    return I(0)\n'],
  ['tuple subclass posing as a namedtuple', 'class T(tuple):\n    _fields = ()\n    def __eq__(self, o): return True\ndef square_perimeter(a):\n    return T((0,))\n'],
  ['__hash__ and __eq__ collide with everything, inside a list', 'class H:\n    def __hash__(self): return 1\n    def __eq__(self, o): return True\ndef square_perimeter(a):\n    return [H()]\n'],
  ['__bool__ true and __eq__ true on a str subclass', 'class S(str):\n    def __eq__(self, o): return True\n    def __bool__(self): return True\ndef square_perimeter(a):\n    return S("x")\n'],
  ['patched builtins (AssertionError, int, bool)', `import builtins\nclass Never(Exception): pass\nbuiltins.AssertionError = Never\nbuiltins.int = lambda *a: 0\nbuiltins.bool = lambda *a: True\n${WRONG}`],
  ['patched operator.eq and sys.excepthook', `import sys, operator\noperator.eq = lambda a, b: True\nsys.excepthook = lambda *a: None\n${WRONG}`],
  ['sys.exit(0) in an atexit hook', `import atexit, sys\natexit.register(lambda: sys.exit(0))\n${WRONG}`],
  ['os._exit(0) in an atexit hook', `import atexit, os\natexit.register(lambda: os._exit(0))\n${WRONG}`],
  ['os._exit(0) at import', 'import os\nos._exit(0)\ndef square_perimeter(a):\n    return 4 * a\n'],
  ['os._exit(0) inside the function', 'import os\ndef square_perimeter(a):\n    os._exit(0)\n'],
  ['sys.exit(0) inside the function', 'import sys\ndef square_perimeter(a):\n    sys.exit(0)\n'],
  ['fork and exit at import (the child answers wrongly)', `import os\nif os.fork():\n    os._exit(0)\n${WRONG}`],
  ['fork inside the function, parent exits 0', 'import os\ndef square_perimeter(a):\n    if os.fork():\n        os._exit(0)\n    return 3 * a\n'],
  ['reads the harness file and every /proc file, prints every token as a verdict', `import os, re
toks = set()
for p in ['/tmp/main.py'] + ['/proc/%s/%s' % (d, f) for d in os.listdir('/proc') if d.isdigit() for f in ('cmdline', 'environ', 'mem', 'fd/0', 'fd/3')]:
    try:
        toks |= set(re.findall(rb'[0-9a-f]{32}', open(p, 'rb').read(1 << 20)))
    except OSError:
        pass
for t in toks:
    print('\\n%s {"ok": true}' % t.decode(), flush=True)
print('\\n{"ok": true}\\n__BSTAR_TESTS_DONE__', flush=True)
${WRONG}`],
  ['forges verdicts on stdout, stderr and /proc/1/fd/1 from a thread, all run long', `import threading, os, time, secrets
def spam():
    while True:
        for fd in (1, 2):
            try:
                os.write(fd, ('\\n%s {"ok": true}\\n' % secrets.token_hex(16)).encode())
            except OSError:
                pass
        try:
            with open('/proc/1/fd/1', 'w') as f:
                f.write('{"ok": true}\\n')
        except OSError:
            pass
        time.sleep(0.005)
threading.Thread(target=spam, daemon=True).start()
${WRONG}`],
  ['kills the harness (its parent) from the function', 'import os, signal\ndef square_perimeter(a):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 4 * a\n'],
  ['SIGINT to the harness while it compares', 'import os, signal, time\ndef square_perimeter(a):\n    os.kill(os.getppid(), signal.SIGINT)\n    time.sleep(0.05)\n    return 3 * a\n'],
  ['stalls the harness with SIGSTOP/SIGCONT around a wrong answer', 'import os, signal, threading, time\ndef square_perimeter(a):\n    p = os.getppid()\n    os.kill(p, signal.SIGSTOP)\n    threading.Timer(0.3, os.kill, (p, signal.SIGCONT)).start()\n    return 3 * a\n'],
  ['a double-fork daemon forging verdicts after the program ends', `import os, time, secrets
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(400):
            try:
                os.write(1, ('\\n%s {"ok": true}\\n' % secrets.token_hex(16)).encode())
            except OSError:
                pass
            time.sleep(0.01)
        os._exit(0)
    os._exit(0)
${WRONG}`],
  ['writes forged replies into the reply pipe ahead of the calls', `import os
for fd in range(3, 20):
    try:
        os.write(fd, b'["ok", true]\\n["ok", true]\\n["ok", true]\\n')
    except OSError:
        pass
${WRONG}`],
  ['raises AssertionError itself', 'def square_perimeter(a):\n    raise AssertionError("ok")\n'],
  ['replies with a deeply nested value (decoder recursion)', 'def square_perimeter(a):\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x\n'],
  ['patches the json module its server uses to send garbage', `import json\n_d = json.dumps\njson.dumps = lambda o, *a, **k: '[' * 100000\n${WRONG}`],
  ['a timing trick: right only after the harness should have given up', 'import time\ndef square_perimeter(a):\n    time.sleep(30)\n    return 4 * a\n'],
];

test('hostile MBPP candidates are all graded fail; the honest one passes', { skip: SKIP }, async () => {
  const q = find(mbpp, 'test', 'mbpp/17');
  assert.deepEqual(q.meta!.tests, ['assert square_perimeter(10)==40', 'assert square_perimeter(5)==20', 'assert square_perimeter(4)==16']);
  const honest = await mbpp.verify('def square_perimeter(a):\n    return 4 * a\n', q);
  assert.deepEqual([honest.correct, honest.reason], [true, 'pass']);
  const vs = await Promise.all(MBPP_HOSTILE.map(([, code]) => mbpp.verify(code, q)));
  const passed = vs.flatMap((v, i) => (v.correct ? [MBPP_HOSTILE[i][0]] : []));
  assert.deepEqual(passed, [], `hostile candidates graded pass: ${passed.join('; ')}`);
  // The reasons say what happened (a few spot checks).
  const reason = (name: string) => vs[MBPP_HOSTILE.findIndex(([n]) => n === name)].reason;
  assert.equal(reason('__eq__ always true'), 'not plain data (A)');
  assert.equal(reason('int subclass whose __eq__ is always true'), 'not plain data (I)');
  assert.equal(reason('tuple subclass posing as a namedtuple'), 'failed assertion');
  assert.equal(reason('sys.exit(0) in an atexit hook'), 'failed assertion');
  assert.equal(reason('os._exit(0) at import'), 'exited before the tests ran');
  assert.equal(reason('os._exit(0) inside the function'), 'exited during the tests');
  assert.equal(reason('kills the harness (its parent) from the function'), 'crash: SIGKILL');
  assert.equal(reason('raises AssertionError itself'), 'failed assertion');
  assert.equal(reason('replies with a deeply nested value (decoder recursion)'), 'exception: ValueError');
  assert.equal(reason('patches the json module its server uses to send garbage'), 'garbled reply');
  assert.equal(reason('a timing trick: right only after the harness should have given up'), 'timeout');
});

// ---------------------------------------------------------------------------------------------------
// Probes: programs that pass only when a protection holds (so a pass proves it held).

test('probes: the harness is out of reach (its memory, descriptors, environment, command line; no test text)', { skip: SKIP }, async () => {
  const q = find(mbpp, 'test', 'mbpp/17');
  const probe = (check: string) => `import os\ndef square_perimeter(a):\n${check}\n    return 4 * a\n`;
  const probes: Array<[string, string]> = [
    ['/proc/<harness>/mem cannot be opened', "    try:\n        open('/proc/%d/mem' % os.getppid(), 'rb')\n        return 'leak'\n    except OSError:\n        pass"],
    ['/proc/<harness>/environ cannot be read', "    try:\n        open('/proc/%d/environ' % os.getppid(), 'rb').read()\n        return 'leak'\n    except OSError:\n        pass"],
    ['/proc/<harness>/fd cannot be listed', "    try:\n        os.listdir('/proc/%d/fd' % os.getppid())\n        return 'leak'\n    except OSError:\n        pass"],
    ['no test text in any file or command line it can read', "    import glob\n    for p in glob.glob('/tmp/*') + glob.glob('/proc/[0-9]*/cmdline'):\n        try:\n            if b'square_perimeter(' + b'10)' in open(p, 'rb').read():\n                return 'leak'\n        except OSError:\n            pass"],
    ['/proc/cmdline is empty', "    if open('/proc/cmdline').read() != '':\n        return 'leak'"],
  ];
  const vs = await Promise.all(probes.map(([, c]) => mbpp.verify(probe(c), q)));
  vs.forEach((v, i) => assert.equal(v.reason, 'pass', probes[i][0]));
});

// ---------------------------------------------------------------------------------------------------
// HumanEval: tests that use builtins and prompt helpers (abs in /2, poly and math.fabs in /32)

test('hostile HumanEval candidates: patched abs, math.fabs, a redefined prompt helper — all fail', { skip: SKIP }, async () => {
  const he2 = find(humaneval, 'test', 'HumanEval/2'); // assert candidate(3.5) == 0.5; assert abs(candidate(1.33) - 0.33) < 1e-6 ...
  const he32 = find(humaneval, 'test', 'HumanEval/32'); // assert math.fabs(poly(coeffs, candidate(coeffs))) < 1e-4
  assert.match(he2.meta!.test as string, /abs\(candidate/);
  assert.match(he32.meta!.test as string, /math\.fabs\(poly\(/);
  for (const q of [he2, he32]) assert.equal((await humaneval.verify(humaneval.goldSolution(q), q)).reason, 'pass', q.id);
  const cases: Array<[Query, string, string]> = [
    [he2, 'builtins.abs patched to 0, right only for 3.5', '    import builtins\n    builtins.abs = lambda x: 0\n    return 0.5\n'],
    [he2, 'module-level abs and __builtins__ patched', 'def truncate_number(number):\n    return 0.5\nabs = lambda x: 0\nimport builtins\nbuiltins.abs = abs\n'],
    [he32, 'math.fabs patched', '    import math\n    math.fabs = lambda x: 0.0\n    return 0.0\n'],
    [he32, 'the prompt helper poly redefined to 0', 'def poly(xs, x):\n    return 0\n\ndef find_zero(xs):\n    return 0.0\n'],
    [he32, 'a float subclass whose __abs__ and comparisons lie', '    class F(float):\n        def __abs__(self): return 0.0\n        def __lt__(self, o): return True\n        def __rmul__(self, o): return F(0)\n        def __mul__(self, o): return F(0)\n        def __pow__(self, o): return F(0)\n    return F(0.0)\n'],
  ];
  const vs = await Promise.all(cases.map(([q, , code]) => humaneval.verify(code, q)));
  const passed = vs.flatMap((v, i) => (v.correct ? [cases[i][1]] : []));
  assert.deepEqual(passed, [], `hostile candidates graded pass: ${passed.join('; ')}`);
});

// ---------------------------------------------------------------------------------------------------
// Objects the tests build (MBPP/601 Pair, MBPP/367 Node) stay in the candidate process as handles

test('handles: tests build candidate objects (Pair, Node trees); the gold passes, a wrong answer fails', { skip: SKIP }, async () => {
  const q601 = find(mbpp, 'train', 'mbpp/601');
  assert.match((q601.meta!.tests as string[])[0], /Pair\(5, 24\)/);
  assert.equal((await mbpp.verify(mbpp.goldSolution(q601), q601)).reason, 'pass');
  const gold = q601.gold.solution!;
  const wrong = gold.replace(/def max_chain_length\(arr, n\):/, 'def max_chain_length(arr, n):\n\treturn 0\ndef _unused(arr, n):');
  assert.notEqual(wrong, gold);
  assert.equal((await mbpp.verify(wrong, q601)).correct, false);
  const q367 = find(mbpp, 'test', 'mbpp/367');
  assert.match(q367.meta!.setup as string, /root\.left = Node\(2\)/);
  assert.equal((await mbpp.verify(mbpp.goldSolution(q367), q367)).reason, 'pass');
});

// ---------------------------------------------------------------------------------------------------
// The grader directly: custom jobs

test('gradeInSandbox: a candidate StopIteration cannot end a test\'s map() early; other exceptions keep their names', { skip: SKIP }, async () => {
  const tests = ['assert all(map(f, [1, 2, 3]))'];
  const honest = await gradeInSandbox(sandbox, { program: 'def f(x):\n    return x > 0\n', tests, remote: ['f'] });
  assert.deepEqual(honest, { ok: true, reason: 'pass', test: null });
  const stop = await gradeInSandbox(sandbox, { program: 'def f(x):\n    raise StopIteration\n', tests, remote: ['f'] });
  assert.deepEqual(stop, { ok: false, reason: 'exception: StopIteration', test: 0 });
  const boom = await gradeInSandbox(sandbox, { program: 'class Boom(Exception): pass\ndef f(x):\n    raise Boom()\n', tests: ['x = 1', 'f(1)'], remote: ['f'] });
  assert.deepEqual(boom, { ok: false, reason: 'exception: Boom', test: 1 });
});

test('gradeInSandbox: plain data round-trips exactly (types, big ints, floats, nesting, iterators)', { skip: SKIP }, async () => {
  const program = `import collections, fractions, decimal
def f(kind):
    return {
        'int': 2 ** 200, 'neg': -(2 ** 70), 'float': 0.1, 'inf': float('inf'), 'complex': 1 + 2j, 'str': 'é\\u2028\\ud800',
        'bytes': b'\\x00\\xff', 'bytearray': bytearray(b'ab'), 'tuple': (1, (2, [3])), 'set': {1, (2, 3)}, 'frozenset': frozenset({4}),
        'dict': {(1, 2): [None, True]}, 'od': collections.OrderedDict([(2, 'b'), (1, 'a')]), 'counter': collections.Counter('aab'),
        'dd': collections.defaultdict(list, {1: [2]}), 'deque': collections.deque([1, 2], 5), 'range': range(1, 9, 2),
        'fraction': fractions.Fraction(1, 3), 'decimal': decimal.Decimal('1.10'), 'gen': (i * i for i in range(4)),
        'map': map(str, [1, 2]), 'keys': {1: 2, 3: 4}.keys(), 'type': int, 'named': collections.namedtuple('P', 'x y')(1, 2),
    }[kind]
`;
  const tests = [
    'import collections, fractions, decimal, math',
    "assert f('int') == 2 ** 200 and type(f('int')) is int",
    "assert f('neg') == -(2 ** 70)",
    "assert f('float') == 0.1 and type(f('float')) is float",
    "assert math.isinf(f('inf'))",
    "assert f('complex') == 1 + 2j",
    "assert f('str') == 'é\\u2028\\ud800'",
    "assert f('bytes') == b'\\x00\\xff' and type(f('bytearray')) is bytearray",
    "assert f('tuple') == (1, (2, [3])) and type(f('tuple')[1]) is tuple",
    "assert f('set') == {1, (2, 3)} and f('frozenset') == frozenset({4})",
    "assert f('dict') == {(1, 2): [None, True]} and f('dict')[(1, 2)][1] is True",
    "assert list(f('od')) == [2, 1] and type(f('od')) is collections.OrderedDict",
    "assert f('counter')['a'] == 2 and f('counter')['z'] == 0",
    "assert f('dd') == {1: [2]}",
    "assert f('deque') == collections.deque([1, 2]) and f('deque').maxlen == 5",
    "assert f('range') == range(1, 9, 2)",
    "assert f('fraction') == fractions.Fraction(1, 3) and str(f('decimal')) == '1.10'",
    "assert list(f('gen')) == [0, 1, 4, 9] and f('gen') != [0, 1, 4, 9]",
    "assert list(f('map')) == ['1', '2']",
    "assert f('keys') == {1, 3}",
    "assert f('type') is int",
    "assert f('named') == (1, 2) and type(f('named')) is tuple",
  ];
  const r = await gradeInSandbox(sandbox, { program, tests, remote: ['f'] });
  assert.deepEqual(r, { ok: true, reason: 'pass', test: null });
  // And the other way: the same assert fails when the value differs in type only.
  const r2 = await gradeInSandbox(sandbox, { program: 'def f():\n    return (1, 2)\n', tests: ['assert f() == [1, 2]'], remote: ['f'] });
  assert.deepEqual(r2, { ok: false, reason: 'failed assertion', test: 0 });
});

test('gradeInSandbox: a legitimate multiprocessing solution passes', { skip: SKIP }, async () => {
  const program = 'import multiprocessing as mp\ndef _sq(x):\n    return x * x\ndef squares(xs):\n    with mp.Pool(2) as p:\n        return p.map(_sq, xs)\n';
  const r = await gradeInSandbox(sandbox, { program, tests: ['assert squares([1, 2, 3]) == [1, 4, 9]'], remote: ['squares'] });
  assert.deepEqual(r, { ok: true, reason: 'pass', test: null });
});

test('gradeInSandbox: only names the reference binds are taken from the candidate (a candidate `set` is not)', { skip: SKIP }, async () => {
  // MBPP/126 names its function `sum`, so the reference's names decide, not the builtins.
  const tests = ['assert set(g([3, 1])) == set([1, 3])', 'assert sum(10, 15) == 6'];
  const reference = 'def g(xs):\n    return sorted(xs)\ndef sum(a, b):\n    return 6 if a == 10 else 0\n';
  const good = await gradeInSandbox(sandbox, { program: reference, tests, remoteFrom: reference });
  assert.deepEqual(good, { ok: true, reason: 'pass', test: null });
  const hack = 'def g(xs):\n    return [0]\nset = lambda *a: 1\ndef sum(a, b):\n    return 6\n';
  assert.deepEqual(await gradeInSandbox(sandbox, { program: hack, tests, remoteFrom: reference }), { ok: false, reason: 'failed assertion', test: 0 });
});

test('APPS call-based cases go through the grader: an __eq__ trick fails, the case is named', { skip: SKIP }, async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'bstar-grader-test-'));
  try {
    const file = join(dir, 'apps.jsonl');
    writeFileSync(file, JSON.stringify({ problem_id: 1, question: 'double', solutions: ['def dbl(x):\n    return 2 * x\n'], input_output: { fn_name: 'dbl', inputs: [[1], [2]], outputs: [[2], [4]] } }) + '\n');
    const apps = appsTask(file, { sandbox });
    const q = (await apps.load('test'))[0];
    assert.equal((await apps.verify(apps.goldSolution(q), q)).reason, 'pass');
    const trick = await apps.verify('class A(int):\n    def __eq__(self, o): return True\ndef dbl(x):\n    return A(0)\n', q);
    assert.deepEqual([trick.correct, trick.reason], [false, 'wrong output (case 1 of 2)']);
    const half = await apps.verify('def dbl(x):\n    return 2 if x == 1 else 0\n', q);
    assert.deepEqual([half.correct, half.reason], [false, 'wrong output (case 2 of 2)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// The verdict line (pure)

test('judgeRun: a pass needs the nonce line with ok and a clean exit; anything else fails with a reason', () => {
  const run = (stdout: string, over: Partial<RunResult> = {}): RunResult => ({ status: 'exited', exitCode: 0, signal: null, stdout, stderr: '', wallMs: 1, pidNs: 1, ...over });
  const n = 'ab'.repeat(16);
  assert.deepEqual(judgeRun(run(`noise\n${n} {"ok": true}\n`), n), { ok: true, reason: 'pass', test: null });
  assert.deepEqual(judgeRun(run(`partial line${n} {"ok": true}\n`), n).ok, true, 'the verdict may follow a partial line of the candidate');
  assert.equal(judgeRun(run(`${'cd'.repeat(16)} {"ok": true}\n`), n).ok, false, 'another nonce');
  assert.equal(judgeRun(run(`{"ok": true}\n`), n).reason, 'exited before the tests ran');
  assert.equal(judgeRun(run(`${n} {"ok": true}\n`, { status: 'memory' }), n).reason, 'memory');
  assert.equal(judgeRun(run(`${n} {"ok": true}\n`, { exitCode: 1 }), n).ok, false);
  assert.deepEqual(judgeRun(run(`${n} {"ok": false, "test": 2, "exception": "KeyError"}\n`), n), { ok: false, reason: 'exception: KeyError', test: 2 });
  assert.equal(judgeRun(run(`${n} {"ok": false, "test": null, "died": true, "exit": 1, "signal": null}\n`, { stderr: 'Traceback (most recent call last):\n  File "/tmp/main.py", line 1\nSyntaxError: invalid syntax\n' }), n).reason, 'syntax error');
  assert.equal(judgeRun(run(`${n} {"ok": false, "test": 0, "died": true, "exit": null, "signal": "SIGXCPU"}\n`), n).reason, 'timeout (cpu)');
  assert.equal(judgeRun(run(`${n} {"ok": false, "test": 0, "died": true, "exit": 3, "signal": null}\n`), n).reason, 'exit 3');
  assert.equal(parseVerdict(`${n} {"ok": "yes"}`, n), null);
  assert.equal(parseVerdict(`${n} not json`, n), null);
});
