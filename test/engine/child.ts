// Runs this Node on a script in a child process and returns its stdout. Under qemu-user (the arm64
// check, .ci/arm64.sh) a child cannot be executed directly (no binfmt_misc), so BSTAR_TEST_EXEC_PREFIX
// names the emulator command that starts it ("qemu-aarch64"); empty or unset, Node runs itself.
import { execFileSync } from 'node:child_process';

export function runNode(args: string[], env: NodeJS.ProcessEnv): string {
  const prefix = (process.env.BSTAR_TEST_EXEC_PREFIX ?? '').split(' ').filter((s) => s !== '');
  const [cmd, ...pre] = prefix.length > 0 ? prefix : [process.execPath];
  const argv = prefix.length > 0 ? [...pre, process.execPath, ...args] : args;
  return execFileSync(cmd, argv, { env }).toString();
}
