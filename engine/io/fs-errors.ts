// Filesystem errors that say what happened and where: Node's errno errors (EACCES, EROFS, ENOSPC,
// ENOTDIR, EEXIST, ...) become one FsError whose message names the action, the path and the cause in
// words. Used by run directories, data file reads and model saving.

import fs from 'node:fs';
import path from 'node:path';

/** A filesystem operation failed; `code` is Node's errno code (e.g. 'EROFS'). */
export class FsError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
    readonly action: string,
  ) {
    super(message);
    this.name = 'FsError';
  }
}

const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (permission)',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device (disk full)',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, expected a file',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
};

/** The nearest existing ancestor of `p` (or p itself) that is not a directory, if any. */
function fileInTheWay(p: string): string | undefined {
  let cur = path.resolve(p);
  for (;;) {
    try {
      if (!fs.statSync(cur).isDirectory()) return cur;
      return undefined;
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return undefined;
      cur = up;
    }
  }
}

function parentExists(p: string): boolean {
  try {
    return fs.statSync(path.dirname(path.resolve(p))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * An FsError for `err` raised while doing `action` (e.g. 'create the run directory', 'write') on
 * `target`. Anything that is not a Node errno error is returned unchanged.
 */
export function describeFsError(err: unknown, target: string, action: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || err instanceof FsError) return err instanceof Error ? err : new Error(String(err));
  const code = e.code;
  // The syscall's own path when it differs (e.g. the component mkdir -p failed on).
  const at = e.path && path.resolve(e.path) !== path.resolve(target) ? ` (at ${e.path})` : '';
  let cause: string;
  if (code === 'ENOTDIR') {
    const file = fileInTheWay(target);
    cause = file ? `${file} is a file, not a directory` : 'a component of the path is not a directory';
  } else if (code === 'EEXIST') {
    let isDir = false;
    try {
      isDir = fs.statSync(target).isDirectory();
    } catch {
      // gone again: plain "already exists"
    }
    cause = !isDir && e.syscall === 'mkdir' ? 'already exists and is not a directory' : 'already exists';
  } else if (code === 'ENOENT' && e.syscall === 'mkdir' && parentExists(e.path ?? target)) {
    cause = 'the file system does not allow creating a directory here';
  } else cause = CAUSES[code] ?? e.message;
  return new FsError(`cannot ${action} ${target}${at}: ${cause} (${code})`, code, target, action);
}

/** Run `fn`, turning a filesystem error into an FsError naming `target` and `action`. */
export function withFsErrors<T>(target: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw describeFsError(err, target, action);
  }
}

/**
 * mkdir -p `dir` one component at a time. Node 20's recursive mkdirSync loops forever on some
 * pseudo file systems (e.g. under /proc, where mkdir fails with ENOENT although the parent exists);
 * this one fails with an FsError naming `dir` instead.
 */
export function makeDirs(dir: string, action = 'create the directory'): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let cur = target;
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw describeFsError(err, dir, action);
    }
    if (st) {
      if (!st.isDirectory()) {
        const e = Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${target}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: target });
        throw describeFsError(e, dir, action);
      }
      break;
    }
    missing.push(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      fs.mkdirSync(missing[i]!);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(missing[i]!)) continue; // made by someone else meanwhile
      throw describeFsError(err, dir, action);
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
