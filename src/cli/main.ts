#!/usr/bin/env node
// `bstar` command line. Thin: parse, validate, call into the library, print; user mistakes get a
// one-line error and a non-zero exit, never a stack trace. The commands are in program.ts.
import { buildProgram, rewriteArgv } from './program.js';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(rewriteArgv(program, argv), { from: 'user' });
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message: string };
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 1;
    console.error(`bstar: ${err.message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
