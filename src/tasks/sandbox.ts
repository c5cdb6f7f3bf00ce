// Sandbox for untrusted Python programs (the code task's candidates).
//
// Each program runs in its own process tree inside bubblewrap (`bwrap`): new user, PID, network, IPC,
// UTS and cgroup namespaces; a read-only view of /usr (+ the /lib*, /bin links and a few /etc files
// python needs); a private size-capped tmpfs at /tmp as the only writable place; an empty environment;
// rlimits (address space, CPU, process count, file size, open files, no core dumps) set by a tiny
// trusted launcher before it execs the program; wall-clock timeout, output caps and a total-memory
// watchdog enforced from here. When this process runs as root, bwrap is started as an unprivileged
// uid (65534 by default) because the kernel exempts root from RLIMIT_NPROC.
//
// What it guarantees and what it does not: docs/sandbox.md.
// Without bubblewrap the sandbox refuses to run (SandboxUnavailableError) unless the caller opts into
// mode 'none' explicitly (trusted code only: rlimits and an empty environment, no isolation).

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, lstatSync, statSync, statfsSync, readdirSync, readFileSync, readlinkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------------
// Options, requests, results

export type SandboxMode = 'bwrap' | 'none';

export interface SandboxOptions {
  /** 'bwrap' (default): full isolation. 'none': NO isolation, for trusted code only (explicit opt-in). */
  mode?: SandboxMode;
  /** Interpreter run inside the sandbox; must live under /usr (default /usr/bin/python3). */
  python?: string;
  /** bubblewrap binary (default /usr/bin/bwrap). */
  bwrap?: string;
  /** Wall-clock limit per program, ms (default 10000). */
  wallMs?: number;
  /** CPU-time limit per process, s (RLIMIT_CPU; default 5). */
  cpuSeconds?: number;
  /** Address-space limit per process, bytes (RLIMIT_AS and RLIMIT_DATA; default 1 GiB). Also the cap on
   *  the sandbox's total resident memory + /tmp usage, checked by a watchdog every `watchMs`. */
  memoryBytes?: number;
  /** Size of the private /tmp tmpfs, bytes (default 64 MiB). */
  tmpBytes?: number;
  /** Largest file a program may write, bytes (RLIMIT_FSIZE; default 16 MiB). */
  fileBytes?: number;
  /** Processes + threads inside one sandbox (RLIMIT_NPROC, counted per user namespace; default 16). */
  maxProcs?: number;
  /** Open files per process (RLIMIT_NOFILE; default 64). */
  maxFiles?: number;
  /** stdout beyond this many bytes fails the run ('output-limit'; default 1 MiB). */
  stdoutBytes?: number;
  /** stderr beyond this many bytes fails the run (default 256 KiB). */
  stderrBytes?: number;
  /** Programs run at the same time (default: the number of cores). */
  concurrency?: number;
  /** uid/gid bwrap runs as when this process is root (default 65534, "nobody"). */
  sandboxUid?: number;
  /** Watchdog period, ms (default 50). */
  watchMs?: number;
}

export interface RunRequest {
  /** Python source, run as the script /tmp/main.py with /tmp as working directory. */
  code: string;
  /** Bytes fed to the program's stdin (then EOF). Default: empty. */
  stdin?: string;
  /** Per-request overrides of the wall and CPU limits. */
  wallMs?: number;
  cpuSeconds?: number;
  /** Run /tmp/main.py with `python3 -I -S` (isolated: neither its directory nor the user site on sys.path,
   *  no PYTHON* variables, no site module) instead of `-s`; for trusted harness code (./grader.ts). */
  isolated?: boolean;
}

export type RunStatus =
  | 'exited' //       the program ended by itself: see exitCode (0 = success) or signal
  | 'timeout' //      wall-clock limit reached; the whole sandbox was killed
  | 'cpu-timeout' //  RLIMIT_CPU reached (SIGXCPU)
  | 'memory' //       the watchdog saw resident memory + /tmp above memoryBytes; killed
  | 'output-limit'; // stdout or stderr beyond its cap; killed

export interface RunResult {
  status: RunStatus;
  /** Exit code of the program (null when killed by a signal or by us). */
  exitCode: number | null;
  /** Signal that ended the program, e.g. 'SIGSEGV' (null otherwise). */
  signal: string | null;
  /** Captured output, each cut at its cap. */
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Inode of the sandbox's PID namespace (as in /proc/<pid>/ns/pid → pid:[N]); null in mode 'none'. */
  pidNs: number | null;
}

const DEFAULTS: Required<Omit<SandboxOptions, 'concurrency'>> = {
  mode: 'bwrap',
  python: '/usr/bin/python3',
  bwrap: '/usr/bin/bwrap',
  wallMs: 10_000,
  cpuSeconds: 5,
  memoryBytes: 1 << 30,
  tmpBytes: 64 << 20,
  fileBytes: 16 << 20,
  maxProcs: 16,
  maxFiles: 64,
  stdoutBytes: 1 << 20,
  stderrBytes: 256 << 10,
  sandboxUid: 65534,
  watchMs: 50,
};

// ---------------------------------------------------------------------------------------------------
// Errors

/** bwrap is missing or cannot create namespaces here; the message says how to fix it. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

/** A sandbox option is out of range or of the wrong type. */
export class SandboxOptionError extends Error {
  override name = 'SandboxOptionError';
}

const FIX =
  'Fix: install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) ' +
  'and make sure user namespaces are allowed (`sysctl kernel.unprivileged_userns_clone=1` on older Debian; ' +
  'on Ubuntu ≥ 23.10 `sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for bwrap; ' +
  'in Docker, run with a seccomp profile that permits unshare/clone with namespaces). ' +
  "Only for code you trust, the unsandboxed mode can be chosen explicitly with sandbox: 'none'.";

// ---------------------------------------------------------------------------------------------------
// The launcher: trusted Python that sets the rlimits, closes stray descriptors and execs the program.
// argv: python AS CPU NPROC FSIZE NOFILE FLAGS (the program's python flags, comma-separated: -s, or -I,-S
// for a trusted harness). The launcher itself runs with -I -S: no site, whose .pth files are slow.

const LAUNCHER = `
import os, resource, sys
py, mem, cpu, nproc, fsize, nofile = sys.argv[1], *map(int, sys.argv[2:7])
flags = sys.argv[7].split(',')
R = resource
for r, v in ((R.RLIMIT_AS, mem), (R.RLIMIT_DATA, mem), (R.RLIMIT_NPROC, nproc), (R.RLIMIT_FSIZE, fsize),
             (R.RLIMIT_NOFILE, nofile), (R.RLIMIT_CORE, 0)):
    R.setrlimit(r, (v, v))
R.setrlimit(R.RLIMIT_CPU, (cpu, cpu + 1))
os.closerange(3, 65536)
os.execv(py, [py, *flags, '-B', '/tmp/main.py'])
`;

// The reaper: trusted Python between us and bwrap. bwrap's outer process exits as soon as the program
// does, leaving the namespace's init to die and be reaped by whoever adopts it (the system's init, which
// in a container may never reap). The reaper is a child subreaper: it adopts init and every other
// orphan, reaps them all, and only then exits, so a run ends when all of its processes are gone. SIGTERM
// makes it SIGKILL bwrap (and with it the whole sandbox) first. It dies with us (PDEATHSIG).
// argv: bwrap bwrap-args…

const REAPER = `
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)            # PR_SET_CHILD_SUBREAPER
libc.prctl(1, signal.SIGKILL, 0, 0, 0) # PR_SET_PDEATHSIG
if os.getppid() == 1:
    os._exit(125)
pid = 0
stopping = False
def stop(*_):
    global stopping
    stopping = True
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
signal.signal(signal.SIGTERM, stop)   # installed before the fork: an early SIGTERM is not lost
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.closerange(7, 65536)           # descriptors our parent inherited from its own parent
    os.execv(sys.argv[1], sys.argv[1:])
if stopping:
    stop()
os.close(0)
os.closerange(3, 65536)
_, status = os.waitpid(pid, 0)
# bwrap is gone, so the sandbox is over: kill whatever we adopted (its init, even one still in setup,
# and anything else), and reap until nothing is left.
me = os.getpid()
def adopted():
    try:
        with open('/proc/self/task/%d/children' % me) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        pass
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/' + d + '/stat') as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == me:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out
while True:
    for c in adopted():
        try:
            os.kill(c, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.wait()
    except ChildProcessError:
        break
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
`;

// Environment inside the sandbox: ours, never the parent's. Fixed hash seed for deterministic verdicts;
// one BLAS thread so that numpy imports stay under the process cap.
const SANDBOX_ENV: Record<string, string> = {
  PATH: '/usr/bin:/bin',
  HOME: '/tmp',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
  PYTHONHASHSEED: '0',
  PYTHONIOENCODING: 'utf-8',
  PYTHONDONTWRITEBYTECODE: '1',
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
};

// ---------------------------------------------------------------------------------------------------
// Filesystem view: /usr read-only; /bin, /lib, /lib64, /sbin … mirrored (symlink stays symlink);
// a few /etc files the dynamic loader and Debian's python read. Nothing else of the host.

function rootViewArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const d of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let st;
    try {
      st = lstatSync(d);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(d), d);
    else if (st.isDirectory()) args.push('--ro-bind', d, d);
  }
  // /etc/alternatives: Debian reaches shared libraries through it (libblas.so.3 for numpy).
  const etc = ['/etc/ld.so.cache', '/etc/localtime', '/etc/alternatives'];
  try {
    for (const e of readdirSync('/etc')) if (/^python3(\.\d+)?$/.test(e)) etc.push(`/etc/${e}`);
  } catch {
    /* no /etc: nothing to add */
  }
  for (const p of etc) args.push('--ro-bind-try', p, p);
  return args;
}

// ---------------------------------------------------------------------------------------------------
// Seccomp: a small deny-list (classic BPF, handed to bwrap with --seccomp) of system calls no test program
// needs and that widen the kernel surface or reach other processes: ptrace and cross-process memory,
// kernel keyrings, BPF, perf, userfaultfd, io_uring, mounts, namespaces, modules, kexec, reboot, swap,
// clock and syslog. Denied calls fail with EPERM; a call from a foreign ABI (i386, x32) kills the process.

const DENY: Record<string, number[]> = {
  // ptrace, process_vm_readv/writev, kexec_load, kexec_file_load, bpf, perf_event_open, userfaultfd,
  // add_key, request_key, keyctl, mount, umount2, pivot_root, swapon, swapoff, reboot, init_module,
  // finit_module, delete_module, name_to_handle_at, open_by_handle_at, io_uring_setup/enter/register,
  // unshare, setns, acct, settimeofday, clock_settime, syslog, quotactl, open_tree, move_mount, fsopen,
  // fsconfig, fsmount, fspick, mount_setattr (+ iopl, ioperm on x86-64)
  x64: [101, 310, 311, 246, 320, 321, 298, 323, 248, 249, 250, 165, 166, 155, 167, 168, 169, 175, 313, 176, 303, 304,
    425, 426, 427, 272, 308, 163, 164, 227, 103, 179, 428, 429, 430, 431, 432, 433, 442, 172, 173],
  arm64: [117, 270, 271, 104, 294, 280, 241, 282, 217, 218, 219, 40, 39, 41, 224, 225, 142, 105, 273, 106, 264, 265,
    425, 426, 427, 97, 268, 89, 170, 112, 116, 60, 428, 429, 430, 431, 432, 433, 442],
};
const AUDIT_ARCH: Record<string, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };

/** The filter for this machine's architecture, or null where we have no syscall table (documented). */
export function seccompFilter(arch: string = process.arch): Buffer | null {
  const deny = DENY[arch];
  if (!deny) return null;
  const LD_ABS = 0x20, JEQ = 0x15, JGE = 0x35, RET = 0x06;
  const ALLOW = 0x7fff0000, ERRNO_EPERM = 0x00050000 | 1, KILL_PROCESS = 0x80000000;
  const ins: Array<[number, number, number, number]> = [];
  const n = deny.length;
  ins.push([LD_ABS, 0, 0, 4]); // seccomp_data.arch
  ins.push([JEQ, 1, 0, AUDIT_ARCH[arch]]);
  ins.push([RET, 0, 0, KILL_PROCESS]);
  ins.push([LD_ABS, 0, 0, 0]); // seccomp_data.nr
  // x32 system calls (nr | 0x40000000) on x86-64: deny as a block. Then jump tables to the final EPERM.
  const x32 = arch === 'x64' ? 1 : 0;
  if (x32) ins.push([JGE, n + 1, 0, 0x40000000]);
  deny.forEach((nr, i) => ins.push([JEQ, n - i, 0, nr]));
  ins.push([RET, 0, 0, ALLOW]);
  ins.push([RET, 0, 0, ERRNO_EPERM]);
  const buf = Buffer.alloc(ins.length * 8);
  ins.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}

// ---------------------------------------------------------------------------------------------------
// Validation

function checkPositiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new SandboxOptionError(`sandbox option ${name}: expected a positive integer, found ${JSON.stringify(v)}`);
}

function resolveOptions(opts: SandboxOptions): Required<SandboxOptions> {
  const known = new Set([...Object.keys(DEFAULTS), 'concurrency']);
  for (const k of Object.keys(opts))
    if (!known.has(k)) throw new SandboxOptionError(`sandbox option ${k}: unknown (known: ${[...known].join(', ')})`);
  const o = { ...DEFAULTS, concurrency: availableParallelism(), ...stripUndefined(opts) } as Required<SandboxOptions>;
  if (o.mode !== 'bwrap' && o.mode !== 'none')
    throw new SandboxOptionError(`sandbox option mode: expected 'bwrap' or 'none', found ${JSON.stringify(o.mode)}`);
  for (const k of ['wallMs', 'cpuSeconds', 'memoryBytes', 'tmpBytes', 'fileBytes', 'maxProcs', 'maxFiles',
    'stdoutBytes', 'stderrBytes', 'concurrency', 'watchMs'] as const)
    checkPositiveInt(k, o[k]);
  if (!Number.isInteger(o.sandboxUid) || o.sandboxUid <= 0)
    throw new SandboxOptionError(`sandbox option sandboxUid: expected a non-root uid (> 0), found ${o.sandboxUid}`);
  if (o.mode === 'bwrap' && !o.python.startsWith('/usr/'))
    throw new SandboxOptionError(
      `sandbox option python: ${o.python} is not under /usr, so it is not visible inside the sandbox; use the system python3 (/usr/bin/python3)`);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------------
// The sandbox

export class Sandbox {
  readonly opts: Required<SandboxOptions>;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private checked: Promise<void> | null = null;
  private readonly live = new Set<{ kill(): void }>();

  constructor(opts: SandboxOptions = {}) {
    this.opts = resolveOptions(opts);
  }

  /** Resolves once a trivial program ran correctly in this sandbox; rejects with SandboxUnavailableError. */
  ready(): Promise<void> {
    if (!this.checked) this.checked = this.selfTest();
    return this.checked;
  }

  /** Run one program (queued behind `concurrency` others). Never rejects for anything the program does. */
  async run(req: RunRequest): Promise<RunResult> {
    await this.ready();
    return this.queued(() => this.runOne(req));
  }

  /** Kill every program still running (e.g. on shutdown). */
  killAll(): void {
    for (const r of this.live) r.kill();
  }

  private async queued<T>(f: () => Promise<T>): Promise<T> {
    if (this.running >= this.opts.concurrency) await new Promise<void>((res) => this.waiting.push(res));
    this.running++;
    try {
      return await f();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async selfTest(): Promise<void> {
    const o = this.opts;
    const need = o.mode === 'bwrap' ? [o.bwrap, o.python] : [o.python];
    for (const p of need) {
      try {
        accessSync(p, fsConstants.X_OK);
      } catch {
        throw new SandboxUnavailableError(
          p === o.bwrap ? `sandbox: bubblewrap not found at ${p}. ${FIX}` : `sandbox: python not found at ${p} (install python3).`);
      }
    }
    const r = await this.runOne({ code: 'import sys\nprint(sys.version_info[0] * 7)\n', wallMs: 20_000 }, true);
    if (r.status !== 'exited' || r.exitCode !== 0 || r.stdout.trim() !== '21')
      throw new SandboxUnavailableError(
        `sandbox: a trivial python program failed to run in the ${o.mode} sandbox (status ${r.status}, exit ${r.exitCode}, ` +
          `stderr: ${JSON.stringify(r.stderr.slice(0, 500))}). ${o.mode === 'bwrap' ? FIX : ''}`);
  }

  private command(req: RunRequest): { file: string; args: string[]; uid?: number; gid?: number } {
    const o = this.opts;
    const cpu = req.cpuSeconds ?? o.cpuSeconds;
    const launch = [o.python, '-I', '-S', '-B', '-c', LAUNCHER, o.python, String(o.memoryBytes), String(cpu), String(o.maxProcs),
      String(o.fileBytes), String(o.maxFiles), programFlags(req)];
    const args = [
      '--unshare-all', // user, ipc, pid, net, uts, cgroup namespaces: no network but a private loopback
      '--unshare-user',
      '--disable-userns', // no nested user namespaces (less kernel surface)
      '--die-with-parent',
      '--new-session', // no controlling terminal (TIOCSTI)
      '--clearenv',
      ...Object.entries(SANDBOX_ENV).flatMap(([k, v]) => ['--setenv', k, v]),
      ...rootViewArgs(),
      '--proc', '/proc', // this PID namespace only
      '--ro-bind-data', '6', '/proc/cmdline', // empty: the host's kernel command line stays hidden
      '--dev', '/dev', // null, zero, full, random, urandom, tty
      '--size', String(o.tmpBytes), '--tmpfs', '/tmp',
      '--size', String(o.tmpBytes), '--tmpfs', '/dev/shm', // private and writable (POSIX semaphores, multiprocessing)
      '--remount-ro', '/dev',
      '--file', '3', '/tmp/main.py',
      '--remount-ro', '/', // the root tmpfs (mount points, /etc) becomes read-only: /tmp is the only writable place
      '--json-status-fd', '4',
      ...(seccompFilter() ? ['--seccomp', '5'] : []),
      '--chdir', '/tmp',
      '--', ...launch,
    ];
    const root = process.getuid?.() === 0;
    return {
      file: o.python,
      args: ['-I', '-S', '-c', REAPER, o.bwrap, ...args],
      ...(root ? { uid: o.sandboxUid, gid: o.sandboxUid } : {}),
    };
  }

  private runOne(req: RunRequest, probe = false): Promise<RunResult> {
    const o = this.opts;
    if (typeof req.code !== 'string') throw new SandboxOptionError(`sandbox run: code must be a string, found ${typeof req.code}`);
    const wallMs = req.wallMs ?? o.wallMs;
    checkPositiveInt('wallMs', wallMs);
    checkPositiveInt('cpuSeconds', req.cpuSeconds ?? o.cpuSeconds);
    return o.mode === 'none' ? this.runUnsandboxed(req, wallMs) : this.runBwrap(req, wallMs, probe);
  }

  private runBwrap(req: RunRequest, wallMs: number, probe: boolean): Promise<RunResult> {
    const o = this.opts;
    const cmd = this.command(req);
    const t0 = performance.now();
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(cmd.file, cmd.args, {
        env: {},
        cwd: '/',
        stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
        uid: cmd.uid,
        gid: cmd.gid,
        detached: false,
      });
      const out = new Capture(o.stdoutBytes);
      const err = new Capture(o.stderrBytes);
      let status: RunStatus | null = null;
      let childPid: number | null = null;
      let pidNs: number | null = null;
      let sandboxExit: number | null = null;
      let statusText = '';
      let spawnError: Error | null = null;
      let hardKill: NodeJS.Timeout | null = null;
      const kill = (why: RunStatus) => {
        if (status === null) status = why;
        // The reaper SIGKILLs bwrap → its PID-1 gets SIGKILL (die-with-parent) → the kernel kills the
        // namespace; the reaper reaps it all and exits. Should it hang, it is killed outright.
        child.kill('SIGTERM');
        hardKill ??= setTimeout(() => child.kill('SIGKILL'), 5000);
      };
      const handle = { kill: () => kill('timeout') };
      this.live.add(handle);
      const timer = setTimeout(() => kill('timeout'), wallMs);
      const watch = setInterval(() => {
        if (childPid !== null && pidNs !== null && sandboxExit === null && sandboxMemory(childPid, pidNs) > o.memoryBytes) kill('memory');
      }, o.watchMs);

      child.on('error', (e) => (spawnError = e));
      child.stdout!.on('data', (b: Buffer) => out.push(b) || kill('output-limit'));
      child.stderr!.on('data', (b: Buffer) => err.push(b) || kill('output-limit'));
      const status4 = child.stdio[4] as NodeJS.ReadableStream;
      status4.on('data', (b: Buffer) => {
        statusText += b.toString('utf8');
        const m = /"child-pid"\s*:\s*(\d+)/.exec(statusText);
        if (m && childPid === null) childPid = Number(m[1]);
        const ns = /"pid-namespace"\s*:\s*(\d+)/.exec(statusText);
        if (ns) pidNs = Number(ns[1]);
        const e = /"exit-code"\s*:\s*(\d+)/.exec(statusText);
        if (e) sandboxExit = Number(e[1]);
      });
      const src = child.stdio[3] as NodeJS.WritableStream;
      src.on('error', () => {});
      src.end(req.code);
      const filter = (child.stdio as unknown as NodeJS.WritableStream[])[5];
      filter.on('error', () => {});
      filter.end(seccompFilter() ?? Buffer.alloc(0));
      const cmdline = (child.stdio as unknown as NodeJS.WritableStream[])[6];
      cmdline.on('error', () => {});
      cmdline.end();
      child.stdin!.on('error', () => {}); // EPIPE when the program does not read its input
      child.stdin!.end(req.stdin ?? '');

      child.on('close', (code, sig) => {
        clearTimeout(timer);
        clearInterval(watch);
        if (hardKill) clearTimeout(hardKill);
        this.live.delete(handle);
        const wall = performance.now() - t0;
        if (spawnError) return reject(new SandboxUnavailableError(`sandbox: cannot start ${cmd.file}: ${spawnError.message}. ${FIX}`));
        if (status === null && childPid === null && !probe)
          // bwrap failed before starting the program (its own error is on stderr).
          return reject(new SandboxUnavailableError(`sandbox: bwrap could not set up the sandbox: ${err.text().slice(0, 500)} ${FIX}`));
        let exitCode: number | null = null;
        let signal: string | null = null;
        const ec = sandboxExit ?? code;
        if (status === null) {
          if (ec !== null && ec > 128 && ec < 128 + 65) {
            signal = signalName(ec - 128);
            status = signal === 'SIGXCPU' ? 'cpu-timeout' : 'exited';
          } else if (ec !== null) {
            exitCode = ec;
            status = 'exited';
          } else {
            signal = sig;
            status = 'exited';
          }
        }
        resolve({ status, exitCode, signal, stdout: out.text(), stderr: err.text(), wallMs: wall, pidNs });
      });
    });
  }

  // Trusted code only: no namespaces, just the launcher's rlimits, an empty environment, a fresh temp
  // directory as cwd, and a process group killed on timeout.
  private runUnsandboxed(req: RunRequest, wallMs: number): Promise<RunResult> {
    const o = this.opts;
    const dir = mkdtempSync(join(tmpdir(), 'bstar-run-'));
    writeFileSync(join(dir, 'main.py'), req.code);
    const launcher = LAUNCHER.replace("'/tmp/main.py'", JSON.stringify(join(dir, 'main.py')));
    const args = ['-I', '-S', '-B', '-c', launcher, o.python, String(o.memoryBytes), String(req.cpuSeconds ?? o.cpuSeconds),
      String(o.maxProcs), String(o.fileBytes), String(o.maxFiles), programFlags(req)];
    const t0 = performance.now();
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(o.python, args, { env: { ...SANDBOX_ENV, HOME: dir, TMPDIR: dir }, cwd: dir, stdio: 'pipe', detached: true });
      const out = new Capture(o.stdoutBytes);
      const err = new Capture(o.stderrBytes);
      let status: RunStatus | null = null;
      let spawnError: Error | null = null;
      const kill = (why: RunStatus) => {
        if (status === null) status = why;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      const handle = { kill: () => kill('timeout') };
      this.live.add(handle);
      const timer = setTimeout(() => kill('timeout'), wallMs);
      child.on('error', (e) => (spawnError = e));
      child.stdout.on('data', (b: Buffer) => out.push(b) || kill('output-limit'));
      child.stderr.on('data', (b: Buffer) => err.push(b) || kill('output-limit'));
      child.stdin.on('error', () => {});
      child.stdin.end(req.stdin ?? '');
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        this.live.delete(handle);
        kill('exited'); // stragglers in the group
        rmSync(dir, { recursive: true, force: true });
        if (spawnError) return reject(new SandboxUnavailableError(`sandbox: cannot start ${o.python}: ${spawnError.message}`));
        const st: RunStatus = status === 'exited' || status === null ? (sig === 'SIGXCPU' ? 'cpu-timeout' : 'exited') : status;
        resolve({ status: st, exitCode: code, signal: sig, stdout: out.text(), stderr: err.text(), wallMs: performance.now() - t0, pidNs: null });
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/** Python flags of the program: `-s` (no user site), or `-I -S` for a trusted harness (isolated, no site). */
function programFlags(req: RunRequest): string {
  return req.isolated ? '-I,-S' : '-s';
}

/** Bounded output buffer: push returns false once the cap is exceeded (the excess is dropped). */
class Capture {
  private readonly parts: Buffer[] = [];
  private n = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): boolean {
    const room = this.cap - this.n;
    if (room > 0) this.parts.push(b.length <= room ? b : b.subarray(0, room));
    this.n += b.length;
    return this.n <= this.cap;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

function signalName(n: number): string {
  for (const [k, v] of Object.entries(osConstants.signals)) if (v === n) return k;
  return `signal ${n}`;
}

/** Resident memory of every process in the sandbox's PID namespace plus its /tmp usage, in bytes.
 *  Read through the sandbox's own /proc (via /proc/<pid>/root); 0 when it is already gone (the pid's
 *  namespace is checked first, so a recycled pid is never mistaken for the sandbox). */
export function sandboxMemory(childPid: number, pidNs: number): number {
  const root = `/proc/${childPid}/root`;
  let total = 0;
  try {
    if (readlinkSync(`/proc/${childPid}/ns/pid`) !== `pid:[${pidNs}]`) return 0;
    // Until bwrap has set up the new root, the child still sees the host's /proc: not the sandbox yet.
    if (statSync(`${root}/proc`).dev === HOST_PROC_DEV) return 0;
    const page = 4096;
    for (const e of readdirSync(`${root}/proc`)) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const statm = readFileSync(`${root}/proc/${e}/statm`, 'utf8').split(' ');
        total += Number(statm[1]) * page;
      } catch {
        /* exited meanwhile */
      }
    }
  } catch {
    return 0;
  }
  return total + tmpUsage(root);
}

const HOST_PROC_DEV = statSync('/proc').dev;

/** What the sandbox's /tmp and /dev/shm tmpfs hold, in bytes (tmpfs pages are memory too). */
function tmpUsage(root: string): number {
  let total = 0;
  for (const d of ['tmp', 'dev/shm']) {
    try {
      const st = statfsSync(`${root}/${d}`);
      total += (st.blocks - st.bfree) * st.bsize;
    } catch {
      /* gone */
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// A shared default sandbox (created on first use, so importing this module probes nothing).

let shared: Sandbox | null = null;

export function defaultSandbox(): Sandbox {
  if (!shared) shared = new Sandbox();
  return shared;
}
