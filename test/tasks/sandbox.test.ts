// Hostile programs against the sandbox: each must be contained, reported with a clear reason, and leave
// no process and no file behind. Runs in parallel (the sandbox queues by core count).

import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox, SandboxOptionError, SandboxUnavailableError, seccompFilter, type RunResult } from '../../src/tasks/sandbox.js';
import { failureReason } from '../../src/tasks/code.js';

const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
const SKIP = HAVE_BWRAP ? false : 'bubblewrap is not installed (apt-get install bubblewrap); the sandbox cannot run';
const ROOT = process.getuid?.() === 0;
const REPO = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();
const TOKEN = `t${process.pid}x${Date.now().toString(36)}`;
const SECRET = `sekrit-${TOKEN}`;

const LIMITS = { wallMs: 6000, cpuSeconds: 1, memoryBytes: 512 << 20, stdoutBytes: 64 << 10, stderrBytes: 64 << 10, maxProcs: 16 };
const sb = new Sandbox(LIMITS);

// ---------------------------------------------------------------------------------------------------
// Leftover detection: a process is ours if it lives in another PID namespace than this test, is bwrap,
// or (when we are root) runs as the sandbox uid.

interface Proc {
  pid: number;
  name: string;
  uid: number;
  ns: string | null;
  /** Dead, waiting to be reaped by its parent (holds no memory, files or CPU). */
  zombie: boolean;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/status`, 'utf8');
      let ns: string | null = null;
      try {
        ns = readlinkSync(`/proc/${e}/ns/pid`);
      } catch {
        /* zombie or gone */
      }
      out.push({
        pid: Number(e),
        name: /^Name:\s*(.*)$/m.exec(st)?.[1] ?? '',
        uid: Number(/^Uid:\s*(\d+)/m.exec(st)?.[1]),
        ns,
        zombie: /^State:\s*Z/m.test(st),
      });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

const MY_NS = readlinkSync('/proc/self/ns/pid');
const isSandboxish = (p: Proc) => (p.ns !== null && p.ns !== MY_NS) || p.name === 'bwrap' || (ROOT && p.uid === 65534);
let baseline = new Set<number>();

async function strays(filter: (p: Proc) => boolean, graceMs = 3000): Promise<Proc[]> {
  const t0 = Date.now();
  for (;;) {
    const left = processes().filter((p) => filter(p) && !baseline.has(p.pid));
    if (left.length === 0 || Date.now() - t0 > graceMs) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** After a run: nothing of its PID namespace is alive. */
async function assertNothingLeft(r: RunResult): Promise<void> {
  assert.ok(r.pidNs !== null, 'the run reported its PID namespace');
  const left = await strays((p) => p.ns === `pid:[${r.pidNs}]`);
  assert.deepEqual(left, [], `processes of the sandbox survived it: ${JSON.stringify(left)}`);
}

const ESCAPES = [
  `/tmp/bstar-escape-${TOKEN}`,
  `${REPO}/escape-${TOKEN}`,
  `${homedir()}/escape-${TOKEN}`,
  `/var/tmp/escape-${TOKEN}`,
  `/dev/shm/escape-${TOKEN}`, // the sandbox's own /dev/shm: written there, never on the host
  `/escape-${TOKEN}`,
  `/usr/escape-${TOKEN}`,
  `/etc/escape-${TOKEN}`,
];

// ---------------------------------------------------------------------------------------------------
// The hostile programs

interface Case {
  name: string;
  code: string;
  stdin?: string;
  cpuSeconds?: number;
  check(r: RunResult): void;
}

let server: Server;
let port = 0;
let connections = 0;

const cases = (): Case[] => [
  {
    name: 'fork bomb is capped by the process limit and killed',
    code: 'import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n',
    check: (r) => assert.match(failureReason(r), /^timeout/),
  },
  {
    name: 'fork until refused: at most maxProcs processes in the sandbox',
    code: 'import os, time\nn = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(30); os._exit(0)\n        n += 1\n    except OSError:\n        break\nprint(n)\n',
    check: (r) => {
      assert.equal(r.status, 'exited');
      const n = Number(r.stdout.trim());
      assert.ok(n >= 1 && n <= LIMITS.maxProcs - 2, `forked ${n}`);
    },
  },
  {
    name: 'thread bomb is capped by the process limit',
    code: 'import threading, time\nn = 0\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(30,), daemon=True).start(); n += 1\nexcept RuntimeError:\n    print(n)\n',
    check: (r) => {
      const n = Number(r.stdout.trim());
      assert.ok(n >= 1 && n <= LIMITS.maxProcs, `started ${n} threads`);
    },
  },
  {
    name: 'memory bomb (one big allocation) → memory',
    code: 'x = bytearray(8 << 30)\n',
    check: (r) => assert.equal(failureReason(r), 'memory'),
  },
  {
    name: 'memory bomb (growing list) → memory',
    code: 'a = []\nwhile True:\n    a.append(b"x" * (10 << 20))\n',
    cpuSeconds: 5, // page faults are CPU time; a loaded machine must not turn this into a CPU timeout
    check: (r) => assert.equal(failureReason(r), 'memory'),
  },
  {
    name: 'memory spread over processes → the watchdog kills the sandbox',
    cpuSeconds: 5,
    code: 'import os, time\nfor i in range(4):\n    if os.fork() == 0:\n        x = b"x" * (300 << 20)\n        time.sleep(30)\ntime.sleep(30)\n',
    check: (r) => assert.equal(r.status, 'memory'),
  },
  {
    name: 'filling /tmp stops at its size cap',
    code: 'import os\ni = 0\nwhile True:\n    open(f"/tmp/f{i}", "wb").write(b"x" * (1 << 20)); i += 1\n',
    check: (r) => {
      assert.equal(failureReason(r), 'exception: OSError');
      assert.match(r.stderr, /No space left on device/);
    },
  },
  {
    name: 'one huge file stops at the file-size limit',
    code: 'f = open("/tmp/big", "wb")\nwhile True:\n    f.write(b"x" * (1 << 20))\n',
    check: (r) => assert.match(r.stderr, /File too large/),
  },
  {
    name: 'infinite loop → CPU timeout',
    code: 'while True:\n    pass\n',
    check: (r) => assert.equal(failureReason(r), 'timeout (cpu)'),
  },
  {
    name: 'sleeping past the wall clock → timeout',
    code: 'import time\ntime.sleep(60)\n',
    check: (r) => {
      assert.equal(failureReason(r), 'timeout');
      assert.ok(r.wallMs < LIMITS.wallMs + 3000, `took ${r.wallMs} ms`);
    },
  },
  {
    name: 'ignoring SIGXCPU does not beat the hard CPU limit',
    code: 'import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n',
    check: (r) => assert.match(failureReason(r), /^timeout|SIGKILL/),
  },
  {
    name: 'huge stdout → output limit, truncated at the cap',
    code: 'while True:\n    print("y" * 1000)\n',
    check: (r) => {
      assert.equal(failureReason(r), 'output limit');
      assert.ok(r.stdout.length <= LIMITS.stdoutBytes);
    },
  },
  {
    name: 'one giant line without newline → output limit',
    code: 'import sys\nsys.stdout.write("z" * (50 << 20))\n',
    check: (r) => assert.equal(failureReason(r), 'output limit'),
  },
  {
    name: 'huge stderr → output limit',
    code: 'import sys\nwhile True:\n    sys.stderr.write("e" * 1000 + "\\n")\n',
    check: (r) => {
      assert.equal(failureReason(r), 'output limit');
      assert.ok(r.stderr.length <= LIMITS.stderrBytes);
    },
  },
  {
    name: 'recursion bomb → RecursionError',
    code: 'def f(n):\n    return f(n + 1) + 1\nf(0)\n',
    check: (r) => assert.equal(failureReason(r), 'exception: RecursionError'),
  },
  {
    name: 'recursion bomb with the limit lifted is still stopped',
    code: 'import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n',
    check: (r) => assert.match(failureReason(r), /^(timeout|crash: SIGSEGV|memory)/),
  },
  {
    name: 'connecting to a listener on the host loopback is refused (private loopback)',
    code: `import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(("127.0.0.1", PORT))\n    print("CONNECTED")\nexcept OSError as e:\n    print(type(e).__name__)\n`,
    check: (r) => {
      assert.equal(r.stdout.trim(), 'ConnectionRefusedError');
      assert.equal(connections, 0);
    },
  },
  {
    name: 'connecting to an external address fails before sending (no route)',
    code: 'import socket, errno\nfor host in ("1.1.1.1", "8.8.8.8"):\n    s = socket.socket(); s.settimeout(2)\n    try:\n        s.connect((host, 80)); print("CONNECTED")\n    except OSError as e:\n        print(errno.errorcode[e.errno])\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n    u.sendto(b"x", ("8.8.8.8", 53)); print("SENT")\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\nprint(sorted(n for _, n in socket.if_nameindex()))\n',
    check: (r) => assert.equal(r.stdout, "ENETUNREACH\nENETUNREACH\nENETUNREACH\n['lo']\n"),
  },
  {
    name: 'name resolution fails',
    code: 'import socket\ntry:\n    socket.getaddrinfo("example.com", 80); print("RESOLVED")\nexcept OSError as e:\n    print("no dns")\n',
    check: (r) => assert.equal(r.stdout.trim(), 'no dns'),
  },
  {
    name: 'home, ~/.ssh and the repository are not visible',
    code: `import os\nfor p in [os.path.expanduser("~/.ssh/id_rsa"), "${homedir()}/.ssh", "/root", "/home", "${REPO}/package.json", "${REPO}", "/work", "/etc/passwd", "/etc/shadow"]:\n    print(p, os.path.exists(p))\n`,
    check: (r) => {
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 9);
      for (const l of lines) assert.ok(l.endsWith(' False'), l);
    },
  },
  {
    name: 'the whole visible filesystem outside /usr and /proc is the minimal view',
    code: 'import os\nseen = []\nfor d, ds, fs in os.walk("/"):\n    if d.startswith(("/usr", "/proc", "/dev")):\n        ds[:] = []\n        continue\n    seen += [os.path.join(d, f) for f in fs + ds]\nprint("\\n".join(sorted(seen)))\n',
    check: (r) => {
      const allowed = /^\/(tmp|tmp\/main\.py|dev|proc|usr|etc|bin|sbin|lib|lib32|lib64|libx32|etc\/(ld\.so\.cache|localtime|alternatives(\/.*)?|python3(\.\d+)?(\/[\w.]+)?))$/;
      const seen = r.stdout.trim().split('\n');
      assert.ok(seen.includes('/tmp/main.py'));
      for (const p of seen) assert.match(p, allowed);
    },
  },
  {
    name: 'writes outside /tmp fail; /tmp writes stay inside the sandbox',
    code: `import os\nfor p in ${JSON.stringify(ESCAPES)}:\n    try:\n        open(p, "w").write("x"); print("wrote", p)\n    except OSError as e:\n        print("refused", p)\n`,
    check: (r) => {
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, ESCAPES.length);
      assert.equal(lines[0], `wrote ${ESCAPES[0]}`); // its own /tmp
      for (const l of lines.slice(1)) assert.match(l, l.includes('/dev/shm/') ? /^wrote / : /^refused /); // its own /dev/shm
    },
  },
  {
    name: "the parent's environment is not visible",
    code: 'import os\nprint(dict(os.environ))\nfor p in os.listdir("/proc"):\n    if p.isdigit():\n        for f in ("environ", "cmdline"):\n            try:\n                print(open(f"/proc/{p}/{f}", "rb").read())\n            except OSError:\n                pass\n',
    check: (r) => {
      assert.ok(r.stdout.length > 0);
      assert.ok(!r.stdout.includes(SECRET), 'the secret leaked');
      assert.ok(!r.stdout.includes(REPO), 'the repository path leaked');
    },
  },
  {
    name: 'only its own processes are in /proc',
    code: `import os\npids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())\nprint(pids)\nprint(os.path.exists("/proc/${process.pid}/environ"))\n`,
    check: (r) => {
      const [pids, parent] = r.stdout.trim().split('\n');
      assert.ok(JSON.parse(pids).length <= 3, pids);
      assert.equal(parent, 'False');
    },
  },
  {
    name: 'killing the parent, init and everything: only the sandbox is hit',
    code: `import os, signal\nfor pid in (os.getppid(), 1, ${process.pid}, ${process.ppid}):\n    try:\n        os.kill(pid, signal.SIGKILL); print("sent", pid)\n    except OSError as e:\n        print(type(e).__name__)\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint("alive")\n`,
    check: (r) => {
      assert.match(r.stdout, /alive/);
      // Signals to the bwrap init from inside are ignored by the kernel; the host pids do not exist here.
      assert.doesNotMatch(r.stdout, new RegExp(`sent ${process.pid}\\b`));
    },
  },
  {
    name: 'a double-fork daemon does not outlive the program',
    code: 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        for fd in (0, 1, 2):\n            os.close(fd)\n        while True:\n            time.sleep(0.05)\n    os._exit(0)\nos.wait()\nprint("parent done")\n',
    check: (r) => {
      assert.equal(r.stdout, 'parent done\n');
      assert.equal(r.exitCode, 0);
      assert.ok(r.wallMs < LIMITS.wallMs, `took ${r.wallMs} ms: the run waited for the daemon`);
    },
  },
  {
    name: 'a grandchild holding stdout dies with the program',
    code: 'import os, time, sys\nif os.fork() == 0:\n    time.sleep(20)\n    print("late"); sys.exit(0)\nprint("bye")\n',
    check: (r) => {
      assert.equal(r.stdout, 'bye\n');
      assert.ok(r.wallMs < LIMITS.wallMs, `took ${r.wallMs} ms: the run waited for the grandchild`);
    },
  },
  {
    name: 'setsid + ignored signals + busy child: killed at the timeout',
    code: 'import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n        signal.signal(s, signal.SIG_IGN)\n    while True:\n        time.sleep(0.01)\ntime.sleep(60)\n',
    check: (r) => assert.equal(failureReason(r), 'timeout'),
  },
  {
    name: 'limits cannot be raised from inside',
    code: 'import resource as R\nfor r in (R.RLIMIT_AS, R.RLIMIT_NPROC, R.RLIMIT_CPU, R.RLIMIT_FSIZE):\n    try:\n        R.setrlimit(r, (R.RLIM_INFINITY, R.RLIM_INFINITY)); print("raised")\n    except (ValueError, OSError):\n        print("refused")\n',
    check: (r) => assert.equal(r.stdout, 'refused\nrefused\nrefused\nrefused\n'),
  },
  {
    name: 'no new namespaces, no mounts',
    code: 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.unshare(0x10000000), libc.unshare(0x40000000), libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))\nprint(open("/proc/self/status").read().split("CapEff:")[1].split()[0])\n',
    check: (r) => assert.equal(r.stdout, '-1 -1 -1\n0000000000000000\n'),
  },
  {
    name: 'seccomp: ptrace of init, cross-process memory, io_uring, keyrings, bpf and x32 calls are refused',
    code: 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nrs = [libc.ptrace(16, 1, 0, 0)]\nfor nr in (310, 425, 250, 321, 298, 0x40000000 + 39):\n    rs.append(libc.syscall(nr, 0, 0, 0, 0, 0, 0))\nprint(rs, os.getpid() > 0)\n',
    check: (r) => {
      if (process.arch !== 'x64') return; // the numbers above are x86-64's
      assert.equal(r.stdout, '[-1, -1, -1, -1, -1, -1, -1] True\n');
    },
  },
  {
    name: "the host's kernel command line is hidden",
    code: 'print(repr(open("/proc/cmdline").read()))\n',
    check: (r) => assert.equal(r.stdout, "''\n"),
  },
  {
    name: 'a private writable /dev/shm: a multiprocessing pool (POSIX semaphores) works',
    cpuSeconds: 5,
    code: 'import multiprocessing as mp\ndef sq(x):\n    return x * x\nif __name__ == "__main__":\n    with mp.Pool(2) as p:\n        print(p.map(sq, range(6)))\n    q = mp.Queue(); q.put(7); print(q.get())\n',
    check: (r) => assert.equal(r.stdout, '[0, 1, 4, 9, 16, 25]\n7\n'),
  },
  {
    name: '/dev/shm is capped like /tmp and counted by the memory watchdog',
    code: 'i = 0\nwhile True:\n    open(f"/dev/shm/f{i}", "wb").write(b"x" * (1 << 20)); i += 1\n',
    check: (r) => {
      assert.equal(failureReason(r), 'exception: OSError');
      assert.match(r.stderr, /No space left on device/);
    },
  },
  {
    name: 'stdin is the given input, then EOF',
    code: 'import sys\ndata = sys.stdin.read()\nprint(len(data), data.split())\nprint(repr(sys.stdin.read()))\n',
    stdin: 'alpha beta\ngamma\n',
    check: (r) => assert.equal(r.stdout, "17 ['alpha', 'beta', 'gamma']\n''\n"),
  },
];

// ---------------------------------------------------------------------------------------------------

describe('sandbox: hostile programs', { skip: SKIP, concurrency: true }, () => {
  before(async () => {
    baseline = new Set(processes().filter(isSandboxish).map((p) => p.pid));
    process.env.BSTAR_TEST_SECRET = SECRET;
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    port = (server.address() as { port: number }).port;
    await sb.ready();
  });
  after(() => {
    server.close();
    delete process.env.BSTAR_TEST_SECRET;
  });

  for (const c of cases()) {
    it(c.name, async () => {
      const r = await sb.run({ code: c.code.replace('PORT', String(port)), stdin: c.stdin, cpuSeconds: c.cpuSeconds });
      try {
        c.check(r);
      } catch (e) {
        (e as Error).message += `\n  status ${r.status} exit ${r.exitCode} signal ${r.signal}\n  stdout ${JSON.stringify(r.stdout.slice(0, 300))}\n  stderr ${JSON.stringify(r.stderr.slice(-300))}`;
        throw e;
      }
      await assertNothingLeft(r);
    });
  }
});

test('sandbox: after all hostile runs, no stray process and no file outside the sandbox', { skip: SKIP }, async () => {
  const left = await strays(isSandboxish);
  assert.deepEqual(left, [], `stray sandbox processes: ${JSON.stringify(left)}`);
  for (const p of ESCAPES) assert.equal(existsSync(p), false, `${p} exists on the host`);
  assert.equal(readdirSync(tmpdir()).filter((f) => f.includes(TOKEN)).length, 0);
});

test('sandbox: if the parent process dies, its sandboxes die with it', { skip: SKIP }, async () => {
  // A child Node process starts a long-running sandbox (a program that forks and sleeps) and is SIGKILLed,
  // so no cleanup code of ours runs. None of the sandbox's processes may stay alive. (With their reaper
  // gone, they end as zombies that the system's init reaps; zombies hold nothing.)
  const mod = new URL('../../src/tasks/sandbox.js', import.meta.url).href;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { Sandbox } = await import(${JSON.stringify(mod)});
    const s = new Sandbox({ wallMs: 60000, cpuSeconds: 60 });
    await s.ready();
    s.run({ code: 'import os, time\\nos.fork()\\nprint("up", flush=True)\\ntime.sleep(60)\\n' });
    console.log('started');
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('started') && res());
    child.on('exit', (c) => rej(new Error(`helper exited early (${c})`)));
  });
  try {
    const mine = (p: Proc) => isSandboxish(p) && isDescendant(p.pid, child.pid!);
    const inside = (ps: Proc[]) => ps.filter((p) => p.ns !== MY_NS);
    let running: Proc[] = [];
    for (const t0 = Date.now(); inside(running).length < 3 && Date.now() - t0 < 20_000; await new Promise((r) => setTimeout(r, 50)))
      running = processes().filter(mine);
    // In the sandbox's namespace: bwrap's init, the program and its fork (outside: the reaper and bwrap).
    assert.equal(inside(running).length, 3, `processes under the helper: ${JSON.stringify(running)}`);
    child.kill('SIGKILL');
    const pids = new Set(running.map((p) => p.pid));
    const left = await strays((p) => pids.has(p.pid) && !p.zombie);
    assert.deepEqual(left, [], `sandbox processes outlived their parent: ${JSON.stringify(left)}`);
  } finally {
    child.kill('SIGKILL');
  }
});

function isDescendant(pid: number, ancestor: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 64; i++) {
    if (p === ancestor) return true;
    try {
      p = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]);
    } catch {
      return false;
    }
  }
  return false;
}

test('sandbox: runs killed at any moment of their start-up leave nothing behind', { skip: SKIP }, async () => {
  const s = new Sandbox({ concurrency: 4 });
  await s.ready();
  const runs: Promise<RunResult>[] = [];
  for (let i = 0; i < 12; i++) {
    runs.push(s.run({ code: 'import os, time\nos.fork()\ntime.sleep(60)\n' }));
    await new Promise((r) => setTimeout(r, 3 * i)); // kill after 0, 3, 6, … ms: inside bwrap's setup and after
    s.killAll();
  }
  const rs = await Promise.all(runs);
  for (const r of rs) assert.equal(r.status, 'timeout');
  const left = await strays(isSandboxish);
  assert.deepEqual(left, [], `processes left by killed runs: ${JSON.stringify(left)}`);
});

test('sandbox: gives the program an exit code, its output and stdin', { skip: SKIP }, async () => {
  const r = await sb.run({ code: 'import sys\nprint(sys.stdin.readline().strip()[::-1])\nsys.exit(3)\n', stdin: 'abc\n' });
  assert.equal(r.status, 'exited');
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout, 'cba\n');
  assert.equal(failureReason(r), 'exit 3');
});

test('sandbox: programs run in parallel up to the concurrency', { skip: SKIP }, async () => {
  const two = new Sandbox({ concurrency: 2 });
  // Each program reports when it ran (the realtime clock is shared with the host); the queue must
  // let exactly two overlap at any time.
  const code = 'import time\nt0 = time.time()\ntime.sleep(1.5)\nprint(t0, time.time())\n';
  const rs = await Promise.all([0, 1, 2, 3, 4].map(() => two.run({ code })));
  const spans = rs.map((r) => r.stdout.trim().split(' ').map(Number));
  const events = spans.flatMap(([a, b]) => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  assert.equal(most, 2, JSON.stringify(spans));
});

// A tiny classic-BPF interpreter (the subset the filter uses), to check the filter's decisions.
function runBpf(prog: Buffer, arch: number, nr: number): number {
  const data = [nr, arch];
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = data[k / 4];
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x35) pc += acc >= k ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`unexpected BPF opcode ${code}`);
  }
  throw new Error('fell off the end');
}

test('seccomp filter: denies the listed calls with EPERM, allows the rest, kills foreign ABIs', () => {
  const ALLOW = 0x7fff0000, EPERM = 0x00050001, KILL = 0x80000000;
  const x64 = seccompFilter('x64')!;
  for (const nr of [101, 310, 311, 321, 425, 272, 165, 442, 173]) assert.equal(runBpf(x64, 0xc000003e, nr), EPERM, `x64 ${nr}`);
  for (const nr of [0, 1, 2, 3, 9, 56, 57, 59, 61, 62, 231, 435]) assert.equal(runBpf(x64, 0xc000003e, nr), ALLOW, `x64 ${nr}`);
  assert.equal(runBpf(x64, 0xc000003e, 0x40000000 + 1), EPERM, 'x32 ABI');
  assert.equal(runBpf(x64, 0x40000003, 1), KILL, 'i386 ABI');
  const arm = seccompFilter('arm64')!;
  for (const nr of [117, 270, 280, 97, 40]) assert.equal(runBpf(arm, 0xc00000b7, nr), EPERM, `arm64 ${nr}`);
  for (const nr of [63, 64, 56, 220, 221, 93]) assert.equal(runBpf(arm, 0xc00000b7, nr), ALLOW, `arm64 ${nr}`);
  assert.equal(runBpf(arm, 0xc000003e, 63), KILL);
  assert.equal(seccompFilter('ppc64'), null);
});

test('sandbox: a missing bwrap is a clear error, never a silent fallback', async () => {
  const s = new Sandbox({ bwrap: '/nonexistent/bwrap' });
  await assert.rejects(s.run({ code: 'print(1)' }), (e: Error) => {
    assert.ok(e instanceof SandboxUnavailableError);
    assert.match(e.message, /bubblewrap not found at \/nonexistent\/bwrap/);
    assert.match(e.message, /apt-get install bubblewrap/);
    assert.match(e.message, /sandbox: 'none'/);
    return true;
  });
});

test('sandbox: bad options are refused with the option named', () => {
  assert.throws(() => new Sandbox({ wallMs: -1 }), (e: Error) => e instanceof SandboxOptionError && /wallMs/.test(e.message));
  assert.throws(() => new Sandbox({ mode: 'docker' as 'none' }), /mode: expected 'bwrap' or 'none'/);
  assert.throws(() => new Sandbox({ wallMS: 5 } as object), /wallMS: unknown/);
  assert.throws(() => new Sandbox({ python: '/root/.pyenv/shims/python3' }), /not under \/usr/);
  assert.throws(() => new Sandbox({ sandboxUid: 0 }), /non-root uid/);
});

test("sandbox: mode 'none' (trusted code only) still applies limits and cleans its temp dir", async () => {
  const s = new Sandbox({ mode: 'none', wallMs: 3000, cpuSeconds: 1, memoryBytes: 512 << 20 });
  const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('bstar-run-')));
  const ok = await s.run({ code: 'import os\nprint(os.getcwd().startswith("/"), "BSTAR_TEST_SECRET" in os.environ)\n' });
  assert.equal(ok.stdout, 'True False\n');
  assert.equal(failureReason(await s.run({ code: 'x = bytearray(8 << 30)\n' })), 'memory');
  assert.equal(failureReason(await s.run({ code: 'import time\ntime.sleep(60)\n' })), 'timeout');
  assert.equal(failureReason(await s.run({ code: 'while True: print("y" * 1000)\n' })), 'output limit');
  const leftover = readdirSync(tmpdir()).filter((f) => f.startsWith('bstar-run-') && !before.has(f));
  assert.deepEqual(leftover, []);
});
