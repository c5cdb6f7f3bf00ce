#!/usr/bin/env node
// `bstar` command line. Thin: parse, validate, call into the library, print; user mistakes get a
// one-line error and a non-zero exit, never a stack trace.
import { Command } from 'commander';
import { getKernels } from '../engine/index.js';
import { register as registerData } from './data.js';
import { register as registerGenerate } from './generate.js';
import { register as registerDemo } from './demo.js';
import { register as registerExport } from './export.js';
import { register as registerRun } from './run.js';
import { register as registerServe } from './serve.js';
import { register as registerTrain } from './train.js';
import { register as registerEval } from './eval.js';
import { register as registerCompare } from './compare.js';
import { register as registerExperiment } from './experiment.js';
import { register as registerPrm } from './prm.js';
import { register as registerReport } from './report.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program.name('bstar').description('Self-taught reasoning with B-STaR').exitOverride();

  program
    .command('info')
    .description('print the engine backend, instruction set and threads')
    .action(() => {
      const k = getKernels();
      console.log(JSON.stringify(k.info()));
    });
  registerData(program);

  registerGenerate(program);

  registerDemo(program);
  registerRun(program);
  registerEval(program);
  registerCompare(program);
  registerExperiment(program);
  registerReport(program);

  registerExport(program);

  registerServe(program);

  registerTrain(program);
  registerPrm(program);

  try {
    await program.parseAsync(argv, { from: 'user' });
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
