// Durable file writes: a file is written under a temporary name, fsynced, renamed into place and
// its directory fsynced, so a kill or power loss at any instant leaves the old or the new content,
// never a mix or an empty file.

import fs from 'node:fs';
import path from 'node:path';
import { crashPoint } from './crash-points.js';

/** fsync a file or a directory by path (directories: so a rename inside it is durable). */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write via a temporary file, fsync, rename, fsync the directory. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  crashPoint('atomic-file:before-rename');
  fs.renameSync(tmp, file);
  fsyncPath(dir);
}

/** Remove temporary files and directories a killed writer left in `dir` (names starting '.' and holding '.tmp-'). */
export function removeStrayTemporaries(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.') && name.includes('.tmp-')) {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** Every file under dir, then dir itself, fsynced. */
export function fsyncTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

/** Replace a directory as a unit: write into a temporary sibling, fsync it, swap it in. */
export async function writeDirAtomic(dir: string, write: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await write(tmp);
  fsyncTree(tmp);
  const old = path.join(parent, `.${path.basename(dir)}.old.tmp-${process.pid}`);
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  crashPoint('atomic-dir:between-renames');
  fs.renameSync(tmp, dir);
  fsyncPath(parent);
  fs.rmSync(old, { recursive: true, force: true });
}
