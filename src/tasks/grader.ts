// Grading a code candidate outside its reach: the tests run in a pristine Python interpreter (the
// harness), the candidate in a separate process (the server) that the harness calls through a pipe
// carrying plain data only.
//
// Why: when the asserts run in the candidate's own interpreter, a candidate can pass without solving
// anything: return an object whose __eq__ is always true, patch the builtins the asserts use (sorted, abs,
// math.isclose), exit(0) from an atexit hook, or read the test file and print the harness's end marker. In
// RL those are exactly the reward hacks a policy learns.
//
// How one grading run goes (one sandbox run, ./sandbox.ts, with two Python processes in it):
//   1. The sandbox starts HARNESS_PY as /tmp/main.py under `python3 -I`. It makes itself non-dumpable (no
//      process of the same uid can open its /proc/<pid>/mem, fd or environ), ignores SIGINT, and reads the
//      job from stdin: a fresh random nonce, the candidate program, the tests, and trusted code (a
//      HumanEval prompt's helpers, a reference solution's imports). The tests exist only in its memory.
//   2. It overwrites /tmp/main.py with the candidate program and starts SERVER_PY, which runs that program
//      as __main__ in the candidate's own interpreter and then answers requests: bind names, call, get
//      and set attributes. Return values travel as type-tagged JSON of plain data (None, bool, int, float,
//      complex, str, bytes, list, tuple, dict, set, frozenset, OrderedDict, Counter, defaultdict, deque,
//      range, Fraction, Decimal, builtin types; an iterator is materialised). Anything else stays in the
//      candidate process and is an opaque handle here: it can be called, its attributes read and set, and
//      it can be passed back (a Node or Pair the tests build), but ==, hash, bool, len, str... on it raise.
//   3. The harness runs each test in its own namespace, with the names the tests take from the candidate
//      bound to handles (the entry point; for MBPP, the reference solution's top-level names the tests
//      use). Every comparison, builtin and module the tests touch is the harness's own. A candidate
//      exception is re-raised here as CandidateError named after it, never as the real type.
//   4. It prints one verdict line, "<nonce> {json}", and exits. The candidate never sees the nonce, so
//      anything it prints, forges or kills can only make the run fail.
//
// Expected values come from the tests' own literals and helper code, evaluated in the harness (the same
// assert, with the candidate's return value as plain data).

import { randomBytes } from 'node:crypto';
import type { RunResult, Sandbox } from './sandbox.js';

// ---------------------------------------------------------------------------------------------------
// The harness (trusted; runs the tests)

export const HARNESS_PY = String.raw`# bstar grading harness (trusted). The tests run here, in a pristine interpreter that never loads the
# candidate's code; the candidate runs in a child process (the server) and is reached only through a pipe
# that carries plain data. Whatever the candidate does, what comes back is decoded by a strict parser into
# fresh objects of this interpreter's own types, and every comparison uses this interpreter's builtins.
import sys, os
import builtins, collections, ctypes, json, select, signal
# Started with -I -S (no site: its .pth files cost more than the rest of a run); the system site
# directories are added without running their .pth files, so a test may still import numpy.
import site
sys.path.extend(d for d in site.getsitepackages() if os.path.isdir(d) and d not in sys.path)

signal.signal(signal.SIGINT, signal.SIG_IGN)  # a signal from the candidate must not become an exception here
# Not dumpable: a process of the same uid (the candidate) cannot open our /proc/<pid>/mem, fd or environ.
if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE
    os.write(2, b'bstar harness: prctl(PR_SET_DUMPABLE) failed\n')
    os._exit(70)

job = json.loads(sys.stdin.buffer.read())
_null = os.open(os.devnull, os.O_RDONLY)  # fd 0 stays taken (a pipe must not land on it)
os.dup2(_null, 0)
os.close(_null)
NONCE = job['nonce']


def verdict(d):
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os.write(1, ('\n' + NONCE + ' ' + json.dumps(d) + '\n').encode())
    os._exit(0)


# ---------------------------------------------------------------------------------------------------
# Exceptions that end a test

class Died(Exception):
    """The candidate process is gone (or stopped answering on its pipe)."""


class Garbled(Exception):
    """The candidate process answered something that is not the protocol."""


class NotPlainData(TypeError):
    """An opaque candidate object was used in a comparison, truth test or other operation."""

    def __init__(self, type_name, op):
        super().__init__('the candidate returned a %s object, not plain data (used in %s)' % (type_name, op))
        self.type_name = type_name


class CandidateError(Exception):
    """The candidate raised an exception (always this type here, whatever its name there: a candidate's
    StopIteration must not end a test's map() early, nor a test's except clause catch what it did not mean)."""

    def __init__(self, name, msg):
        super().__init__(msg)
        self.name = name


# ---------------------------------------------------------------------------------------------------
# Plain data: encode (what we send) and a strict decode (what we accept)

class Handle:
    """An object that lives in the candidate process. It can be called, its attributes read and set, and
    it can be passed back as an argument; nothing else (no ==, hash, bool, len, iteration, str...)."""
    __slots__ = ('_id', '_type')

    def __init__(self, i, t):
        object.__setattr__(self, '_id', i)
        object.__setattr__(self, '_type', t)

    def __call__(self, *args, **kwargs):
        return conn.request(['call', self._id, enc(list(args)), enc(kwargs)])

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return conn.request(['get', self._id, name])

    def __setattr__(self, name, value):
        conn.request(['set', self._id, name, enc(value)])

    def __repr__(self):
        return '<candidate %s object>' % self._type

    __hash__ = object.__hash__


def _refuse(op):
    def f(self, *a):
        raise NotPlainData(object.__getattribute__(self, '_type'), op)
    return f


for _op in ('__eq__', '__ne__', '__lt__', '__le__', '__gt__', '__ge__', '__bool__', '__len__', '__iter__',
            '__contains__', '__getitem__', '__setitem__', '__delitem__', '__str__', '__format__', '__int__',
            '__float__', '__complex__', '__index__', '__abs__', '__neg__', '__pos__', '__invert__', '__round__',
            '__add__', '__radd__', '__sub__', '__rsub__', '__mul__', '__rmul__', '__truediv__', '__rtruediv__',
            '__floordiv__', '__rfloordiv__', '__mod__', '__rmod__', '__pow__', '__rpow__', '__and__', '__rand__',
            '__or__', '__ror__', '__xor__', '__rxor__', '__lshift__', '__rshift__', '__matmul__', '__reversed__',
            '__enter__', '__exit__', '__copy__', '__deepcopy__', '__reduce__', '__reduce_ex__'):
    setattr(Handle, _op, _refuse(_op.strip('_')))

handles = {}

SCALARS = (type(None), bool, int, float, str)


def enc(x, depth=0):
    """Plain data of this interpreter (the tests' arguments) as tagged JSON; a Handle as its id."""
    if depth > 200:
        raise ValueError('argument nested too deeply')
    t = type(x)
    if t in SCALARS:
        if t is int and not -(1 << 53) < x < (1 << 53):
            return ['I', hex(x)]
        return x
    d = depth + 1
    if t is Handle:
        return ['h', object.__getattribute__(x, '_id')]
    if isinstance(x, tuple):
        return ['t', [enc(v, d) for v in x]]
    if isinstance(x, list):
        return ['l', [enc(v, d) for v in x]]
    if isinstance(x, collections.Counter):
        return ['C', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
    if isinstance(x, collections.OrderedDict):
        return ['o', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
    if isinstance(x, dict):
        return ['d', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
    if isinstance(x, (set, frozenset)):
        return ['S' if isinstance(x, set) else 'f', [enc(v, d) for v in x]]
    if isinstance(x, int):  # bool and int subclasses
        return enc(int(x), depth)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, str):
        return str(x)
    if isinstance(x, (bytes, bytearray)):
        return ['Y' if isinstance(x, bytearray) else 'y', bytes(x).hex()]
    if isinstance(x, complex):
        return ['c', x.real, x.imag]
    if isinstance(x, collections.deque):
        return ['q', [enc(v, d) for v in x], x.maxlen]
    if isinstance(x, range):
        return ['r', x.start, x.stop, x.step]
    if t.__module__ == 'fractions' and t.__name__ == 'Fraction':
        return ['F', enc(x.numerator), enc(x.denominator)]
    if t.__module__ == 'decimal' and t.__name__ == 'Decimal':
        return ['M', str(x)]
    if isinstance(x, type) and getattr(builtins, x.__name__, None) is x:
        return ['T', x.__name__]
    raise TypeError('cannot pass a %s to the candidate (only plain data)' % t.__name__)


def _seq(v):
    if type(v) is not list:
        raise Garbled('expected a list')
    return v


def _num(v, *types):
    if type(v) not in types:
        raise Garbled('expected a number')
    return v


def dec(v, depth=0):
    """Strict decoder: tagged JSON from the candidate → fresh plain objects (or Handles)."""
    t = type(v)
    if t in SCALARS:
        return v
    if depth > 200:
        raise Garbled('nested too deeply')
    if t is not list or not v or type(v[0]) is not str:
        raise Garbled('not a tagged value')
    tag, d = v[0], depth + 1
    n = len(v)
    if tag == 'l' and n == 2:
        return [dec(x, d) for x in _seq(v[1])]
    if tag == 't' and n == 2:
        return tuple(dec(x, d) for x in _seq(v[1]))
    if tag in ('d', 'o', 'C', 'D', 'E') and n == 2:
        pairs = []
        for p in _seq(v[1]):
            if type(p) is not list or len(p) != 2:
                raise Garbled('expected a [key, value] pair')
            pairs.append((dec(p[0], d), dec(p[1], d)))
        if tag == 'd':
            return dict(pairs)
        if tag == 'o':
            return collections.OrderedDict(pairs)
        if tag == 'C':
            return collections.Counter(dict(pairs))
        if tag == 'D':
            return collections.defaultdict(None, pairs)
        return dict(pairs).items()
    if tag in ('S', 'f', 'K', 'V', 'it') and n == 2:
        xs = [dec(x, d) for x in _seq(v[1])]
        if tag == 'S':
            return set(xs)
        if tag == 'f':
            return frozenset(xs)
        if tag == 'K':
            return dict.fromkeys(xs).keys()
        if tag == 'V':
            return dict(enumerate(xs)).values()
        return iter(xs)
    if tag == 'I' and n == 2 and type(v[1]) is str:
        return int(v[1], 16)
    if tag in ('y', 'Y') and n == 2 and type(v[1]) is str:
        b = bytes.fromhex(v[1])
        return b if tag == 'y' else bytearray(b)
    if tag == 'c' and n == 3:
        return complex(_num(v[1], int, float), _num(v[2], int, float))
    if tag == 'q' and n == 3 and (v[2] is None or type(v[2]) is int):
        return collections.deque([dec(x, d) for x in _seq(v[1])], v[2])
    if tag == 'r' and n == 4:
        return range(_num(v[1], int), _num(v[2], int), _num(v[3], int))
    if tag == 'F' and n == 3:
        import fractions
        return fractions.Fraction(_num(dec(v[1], d), int), _num(dec(v[2], d), int))
    if tag == 'M' and n == 2 and type(v[1]) is str:
        import decimal
        return decimal.Decimal(v[1])
    if tag == 'T' and n == 2 and type(v[1]) is str:
        b = getattr(builtins, v[1], None)
        if isinstance(b, type):
            return b
    if tag == 'h' and n == 3 and type(v[1]) is int and type(v[2]) is str:
        h = handles.get(v[1])
        if h is None:
            h = handles[v[1]] = Handle(v[1], v[2][:100])
        return h
    raise Garbled('unknown tag %r' % tag[:20])


# ---------------------------------------------------------------------------------------------------
# The connection to the candidate process

class Conn:
    def __init__(self, pid, wfd, rfd):
        self.pid, self.wfd, self.rfd, self.buf, self.status = pid, wfd, rfd, b'', None

    def poll(self, wait=False):
        """The candidate process's wait status once it has ended (None while it runs)."""
        if self.status is None:
            try:
                p, st = os.waitpid(self.pid, 0 if wait else os.WNOHANG)
            except ChildProcessError:
                return None
            if p == self.pid:
                self.status = st
        return self.status

    def died(self):
        for _ in range(20):  # it closed its pipe: give it a moment to end, so its status is known
            if self.poll() is not None:
                break
            select.select([], [], [], 0.05)
        return Died()

    def send(self, msg):
        data = (json.dumps(msg) + '\n').encode()
        try:
            while data:
                data = data[os.write(self.wfd, data):]
        except OSError:
            raise self.died()

    def recv(self):
        while b'\n' not in self.buf:
            r, _, _ = select.select([self.rfd], [], [], 0.1)
            if not r:
                if self.poll() is not None:
                    raise self.died()
                continue
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                raise self.died()
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            raise Garbled('not JSON')

    def request(self, msg):
        self.send(msg)
        r = self.recv()
        if type(r) is list and len(r) == 2 and r[0] == 'ok':
            try:
                return dec(r[1])
            except RecursionError:
                raise Garbled('nested too deeply')
            except (TypeError, ValueError) as e:  # e.g. an unhashable set element
                raise Garbled(str(e))
        if type(r) is list and len(r) == 3 and r[0] == 'err' and type(r[1]) is str and type(r[2]) is str:
            name = r[1] if r[1].isidentifier() else 'Exception'
            raise CandidateError(name[:100], r[2][:500])
        raise Garbled('not a reply')


# ---------------------------------------------------------------------------------------------------
# Which names the tests take from the candidate

def bound_names(tree):
    import ast
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.arg):
            out.add(n.arg)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split('.')[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
    return out


def loaded_names(tree):
    import ast
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def reference_names(src, tests, ns):
    """The reference solution's top-level imports run here; its other top-level bindings that the tests
    use but do not bind themselves are taken from the candidate."""
    import ast
    tree = ast.parse(src)
    provided = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            try:
                exec(compile(ast.Module(body=[node], type_ignores=[]), '<reference imports>', 'exec'), ns)
            except Exception:
                pass
        else:
            provided |= bound_names(ast.Module(body=[node], type_ignores=[]))
    used, bound = set(), set()
    for t in tests:
        tr = ast.parse(t)
        used |= loaded_names(tr)
        bound |= bound_names(tr)
    return sorted((provided & used) - bound)


# ---------------------------------------------------------------------------------------------------
# The run

ns = {'__name__': '__bstar_tests__', '__builtins__': builtins}
try:
    exec(compile(job.get('trusted') or '', '<trusted>', 'exec'), ns)
    remote = list(job.get('remote') or [])
    if job.get('remoteFrom'):
        remote += [n for n in reference_names(job['remoteFrom'], job['tests'], ns) if n not in remote]
    tests = [compile(t, '<test %d>' % i, 'exec') for i, t in enumerate(job['tests'])]
except Exception as e:
    verdict({'ok': False, 'harness': '%s: %s' % (type(e).__name__, e)})

path = os.path.abspath(sys.argv[0])
with open(path, 'w', encoding='utf-8') as f:
    f.write(job['program'])
r1, w1 = os.pipe()
r2, w2 = os.pipe()
server = job['server']
pid = os.fork()
if pid == 0:  # the candidate process: stdin /dev/null (fd 0 already is), stdout and stderr shared, pipes at 3 and 4
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.dup2(r1, 3)
        os.dup2(w2, 4)
        os.set_inheritable(3, True)  # dup2 onto itself leaves the pipe's close-on-exec flag set
        os.set_inheritable(4, True)
        os.closerange(5, 65536)
        os.chdir(os.path.dirname(path))
        os.execv(sys.executable, [sys.executable, '-s', '-B', '-c', server, path, '3', '4'])
    finally:
        os._exit(127)
os.close(r1)
os.close(w2)
conn = Conn(pid, w1, r2)


def died_verdict(test):
    st = conn.poll()
    code = os.waitstatus_to_exitcode(st) if st is not None else None
    verdict({'ok': False, 'test': test, 'died': True,
             'exit': code if code is not None and code >= 0 else None,
             'signal': signal.Signals(-code).name if code is not None and code < 0 and -code in signal.Signals._value2member_map_ else None})


def run():
    try:
        if conn.recv() != ['ready']:
            raise Garbled('no ready')
        if remote:
            conn.send(['bind', remote])
            r = conn.recv()
            if type(r) is not list or len(r) != 2 or r[0] != 'ok' or type(r[1]) is not dict:
                raise Garbled('bad bind reply')
            for k, v in r[1].items():
                if k in remote:
                    ns[k] = dec(v)
    except Died:
        died_verdict(None)
    except (Garbled, RecursionError, TypeError, ValueError) as e:
        verdict({'ok': False, 'test': None, 'garbled': str(e)[:200]})
    for i, code in enumerate(tests):
        try:
            exec(code, ns)
        except Died:
            died_verdict(i)
        except Garbled as e:
            verdict({'ok': False, 'test': i, 'garbled': str(e)[:200]})
        except NotPlainData as e:
            verdict({'ok': False, 'test': i, 'notPlain': e.type_name})
        except CandidateError as e:
            verdict({'ok': False, 'test': i, 'exception': e.name})
        except BaseException as e:
            verdict({'ok': False, 'test': i, 'exception': type(e).__name__})
    verdict({'ok': True})


run()
`;

// ---------------------------------------------------------------------------------------------------
// The server (runs in the candidate's interpreter; nothing in it is trusted)

export const SERVER_PY = String.raw`# bstar call server: runs the candidate program as __main__, then answers the harness's requests (bind
# names, call, get and set attributes) with plain data as tagged JSON. It runs inside the candidate's own
# interpreter, so nothing here is trusted: the harness parses whatever comes back strictly.
import sys


def _bstar_serve(path, rfd, wfd):
    import os, sys, json, builtins, collections, collections.abc
    g = sys.modules['__main__'].__dict__
    for k in [k for k in g if k not in ('__builtins__', '__name__', '__doc__', '__spec__', '__loader__', '__package__')]:
        del g[k]
    g['__file__'] = path
    g['__cached__'] = None
    sys.argv[:] = [path]
    sys.path[0] = os.path.dirname(path)
    with open(path, 'rb') as f:
        code = compile(f.read(), path, 'exec')
    exec(code, g)

    objs = {}
    ids = {}

    def handle(x):
        k = id(x)
        if k not in ids:
            ids[k] = len(objs) + 1
            objs[ids[k]] = x
        return ['h', ids[k], type(x).__name__]

    def enc(x, depth=0):
        t = type(x)
        if x is None or t is bool or t is str or t is float:
            return x
        if t is int:
            return x if -(1 << 53) < x < (1 << 53) else ['I', hex(x)]
        if depth > 100:
            raise ValueError('return value nested too deeply')
        d = depth + 1
        if t is list:
            return ['l', [enc(v, d) for v in x]]
        if t is tuple or (isinstance(x, tuple) and hasattr(x, '_fields')):
            return ['t', [enc(v, d) for v in x]]
        if t is dict:
            return ['d', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
        if t is set or t is frozenset:
            return ['S' if t is set else 'f', [enc(v, d) for v in x]]
        if t is collections.OrderedDict:
            return ['o', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
        if t is collections.Counter:
            return ['C', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
        if t is collections.defaultdict:
            return ['D', [[enc(k, d), enc(v, d)] for k, v in x.items()]]
        if t is collections.deque:
            return ['q', [enc(v, d) for v in x], x.maxlen]
        if t is bytes or t is bytearray:
            return ['y' if t is bytes else 'Y', x.hex()]
        if t is complex:
            return ['c', x.real, x.imag]
        if t is range:
            return ['r', x.start, x.stop, x.step]
        if t.__module__ == 'fractions' and t.__name__ == 'Fraction':
            return ['F', enc(x.numerator), enc(x.denominator)]
        if t.__module__ == 'decimal' and t.__name__ == 'Decimal':
            return ['M', str(x)]
        if t is type({}.keys()):
            return ['K', [enc(v, d) for v in x]]
        if t is type({}.values()):
            return ['V', [enc(v, d) for v in x]]
        if t is type({}.items()):
            return ['E', [[enc(k, d), enc(v, d)] for k, v in x]]
        if t is type and getattr(builtins, x.__name__, None) is x:
            return ['T', x.__name__]
        if t.__module__ == 'numpy' and hasattr(x, 'item') and getattr(x, 'shape', None) == ():
            return enc(x.item(), depth)
        if isinstance(x, collections.abc.Iterator) and not isinstance(x, type):
            items = []
            for v in x:
                items.append(enc(v, d))
                if len(items) > 1000000:
                    raise ValueError('returned iterator is too long')
            return ['it', items]
        return handle(x)

    def dec(v):
        if type(v) is not list:
            return v
        tag = v[0]
        if tag == 'l':
            return [dec(x) for x in v[1]]
        if tag == 't':
            return tuple(dec(x) for x in v[1])
        if tag in ('d', 'o', 'C'):
            pairs = [(dec(k), dec(x)) for k, x in v[1]]
            return dict(pairs) if tag == 'd' else collections.OrderedDict(pairs) if tag == 'o' else collections.Counter(dict(pairs))
        if tag == 'S':
            return {dec(x) for x in v[1]}
        if tag == 'f':
            return frozenset(dec(x) for x in v[1])
        if tag == 'I':
            return int(v[1], 16)
        if tag in ('y', 'Y'):
            return bytes.fromhex(v[1]) if tag == 'y' else bytearray.fromhex(v[1])
        if tag == 'c':
            return complex(v[1], v[2])
        if tag == 'q':
            return collections.deque([dec(x) for x in v[1]], v[2])
        if tag == 'r':
            return range(v[1], v[2], v[3])
        if tag == 'F':
            import fractions
            return fractions.Fraction(dec(v[1]), dec(v[2]))
        if tag == 'M':
            import decimal
            return decimal.Decimal(v[1])
        if tag == 'T':
            return getattr(builtins, v[1])
        if tag == 'h':
            return objs[v[1]]
        raise ValueError('unknown tag')

    rf = os.fdopen(rfd, 'rb')
    wf = os.fdopen(wfd, 'wb')
    wf.write(b'["ready"]\n')
    wf.flush()
    for line in rf:
        try:
            msg = json.loads(line)
            op = msg[0]
            if op == 'bind':
                out = ['ok', {n: enc(g[n]) for n in msg[1] if n in g}]
            elif op == 'call':
                out = ['ok', enc(objs[msg[1]](*dec(msg[2]), **dec(msg[3])))]
            elif op == 'get':
                out = ['ok', enc(getattr(objs[msg[1]], msg[2]))]
            elif op == 'set':
                setattr(objs[msg[1]], msg[2], dec(msg[3]))
                out = ['ok', None]
            else:
                raise ValueError('unknown request')
            data = json.dumps(out)
        except Exception as e:
            try:
                text = str(e)[:500]
            except Exception:
                text = ''
            data = json.dumps(['err', type(e).__name__, text])
        wf.write(data.encode() + b'\n')
        wf.flush()
    os._exit(0)


_bstar_serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
`;

// ---------------------------------------------------------------------------------------------------
// Jobs and verdicts

export interface GradeJob {
  /** The candidate's program (run as /tmp/main.py, __name__ == '__main__'). */
  program: string;
  /** Test code, run in order in one namespace of the harness; the first to raise ends the run. */
  tests: string[];
  /** Trusted code run in that namespace first (e.g. a HumanEval prompt: its imports and helpers). */
  trusted?: string;
  /** Names the tests take from the candidate (bound when the candidate defines them). */
  remote?: string[];
  /** A reference solution (trusted): its top-level imports run in the harness, and its other top-level
   *  names that the tests use without binding them are taken from the candidate too. */
  remoteFrom?: string;
}

export interface GradeResult {
  ok: boolean;
  /** 'pass', or why not (the code task's reasons, see docs/code.md). */
  reason: string;
  /** Index into job.tests of the test that failed (null: before the tests, or unknown). */
  test: number | null;
}

interface Verdict {
  ok: boolean;
  test?: number | null;
  died?: boolean;
  exit?: number | null;
  signal?: string | null;
  exception?: string;
  notPlain?: string;
  garbled?: string;
  harness?: string;
}

/** Why a run failed, from its status and the last line of its traceback. */
export function failureReason(r: RunResult): string {
  switch (r.status) {
    case 'timeout':
      return 'timeout';
    case 'cpu-timeout':
      return 'timeout (cpu)';
    case 'memory':
      return 'memory';
    case 'output-limit':
      return 'output limit';
    case 'exited':
      break;
  }
  if (r.signal) return `crash: ${r.signal}`;
  // An uncaught exception ends stderr with "Type: message" (or just "Type"), after a traceback — or,
  // for a syntax error in the program itself, after the offending line with no traceback header.
  const last = r.stderr.trimEnd().split('\n').pop() ?? '';
  const m = /^([A-Za-z_][\w.]*)(?::|$)/.exec(last);
  if (m && r.exitCode !== 0) {
    const type = m[1].split('.').pop()!;
    if (r.stderr.includes('Traceback (most recent call last):') || /(Error|Exception)$/.test(type)) return exceptionReason(type);
  }
  if (r.exitCode !== 0) return `exit ${r.exitCode}`;
  return 'exited before the tests ran';
}

/** The reason for an exception of this type name. */
export function exceptionReason(type: string): string {
  if (type === 'SyntaxError' || type === 'IndentationError' || type === 'TabError') return 'syntax error';
  if (type === 'AssertionError') return 'failed assertion';
  if (type === 'MemoryError') return 'memory';
  return `exception: ${type}`;
}

/** The verdict line the harness printed (null when there is none: it was killed or crashed). */
export function parseVerdict(stdout: string, nonce: string): Verdict | null {
  const at = stdout.indexOf(`${nonce} `);
  if (at < 0) return null;
  const end = stdout.indexOf('\n', at);
  try {
    const v = JSON.parse(stdout.slice(at + nonce.length + 1, end < 0 ? undefined : end)) as Verdict;
    return v !== null && typeof v === 'object' && typeof v.ok === 'boolean' ? v : null;
  } catch {
    return null;
  }
}

/** The result of one grading run. A pass needs the harness's verdict AND a clean end of the run. */
export function judgeRun(r: RunResult, nonce: string): GradeResult {
  const v = parseVerdict(r.stdout, nonce);
  if (v === null || r.status !== 'exited' || r.exitCode !== 0) return { ok: false, reason: failureReason(r), test: null };
  const test = typeof v.test === 'number' ? v.test : null;
  if (v.ok) return { ok: true, reason: 'pass', test: null };
  if (v.harness !== undefined) return { ok: false, reason: `harness error (${v.harness})`, test };
  if (v.died) {
    // The candidate process ended: its exit status and traceback (on the shared stderr) say why.
    const status = v.signal === 'SIGXCPU' ? 'cpu-timeout' : 'exited';
    const reason = failureReason({ ...r, status, exitCode: v.exit ?? null, signal: v.signal ?? null });
    return { ok: false, reason: reason === 'exited before the tests ran' && test !== null ? 'exited during the tests' : reason, test };
  }
  if (v.exception !== undefined) return { ok: false, reason: exceptionReason(v.exception), test };
  if (v.notPlain !== undefined) return { ok: false, reason: `not plain data (${v.notPlain})`, test };
  return { ok: false, reason: 'garbled reply', test };
}

/** Grade one program against its tests (see the top of this file). Never rejects for what the program does. */
export async function gradeInSandbox(sandbox: Sandbox, job: GradeJob): Promise<GradeResult> {
  const nonce = randomBytes(16).toString('hex');
  const stdin = JSON.stringify({ ...job, nonce, server: SERVER_PY });
  const r = await sandbox.run({ code: HARNESS_PY, stdin, isolated: true });
  return judgeRun(r, nonce);
}
