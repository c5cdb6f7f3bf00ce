// `bstar export gguf <checkpoint> <out.gguf> [--type f32|f16]`: a checkpoint (HF layout) as a GGUF file
// that llama.cpp (and everything built on it: llama-server, ollama, node-llama-cpp) loads.
import type { Command } from 'commander';
import { loadCheckpoint } from '../model/checkpoint.js';
import { ggufFromCheckpoint, GgufError, writeGguf } from '../model/gguf.js';

export function register(program: Command): void {
  const exp = program.command('export').description('write a checkpoint in another format');
  exp
    .command('gguf <checkpoint> <out>')
    .description('GGUF v3 for llama.cpp, e.g. bstar export gguf runs/x/checkpoints/3 model.gguf --type f16')
    .option('--type <t>', 'tensor type of matrices: f32 or f16 (norms stay f32)', 'f32')
    .option('--name <s>', 'general.name in the file', 'bstar')
    .action((checkpoint: string, out: string, o: { type: string; name: string }) => {
      if (o.type !== 'f32' && o.type !== 'f16') throw new GgufError(`--type: expected f32 or f16, found "${o.type}"`);
      const ck = loadCheckpoint(checkpoint, { trainingState: false });
      const { metadata, tensors } = ggufFromCheckpoint(ck.config, ck.weights, ck.tokenizer, { type: o.type, name: o.name });
      const bytes = writeGguf(out, metadata, tensors);
      console.log(JSON.stringify({ out, type: o.type, tensors: tensors.length, bytes, architecture: (metadata.get('general.architecture') as { value: string }).value }));
    });
}
