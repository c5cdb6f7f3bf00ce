// File-system durability helpers shared by checkpoints (model/) and run directories (run/).
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsync a directory, so a rename or a new entry in it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
