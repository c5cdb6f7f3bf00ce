// The one argument reader of the bench suites (each gets the words after its suite name).

/** The value after `--name` in a suite's arguments, or undefined. */
export function arg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : undefined;
}
