// engine/io/fs-errors.ts: every errno code the project names, with injected errors (EROFS, ENOSPC,
// EACCES cannot be produced reliably as root) and real ones (/dev/full, a file in the way, EEXIST),
// and makeDirs, which must fail rather than loop where recursive mkdirSync hangs (/proc).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFsError, FsError, makeDirs, withFsErrors } from '../../engine/io/fs-errors.js';

const errno = (code: string, syscall = 'open', p?: string) => Object.assign(new Error(`${code}: something, ${syscall}`), { code, syscall, path: p });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-fserr-'));

describe('describeFsError', () => {
  it('names the action, the path and the cause for each code', () => {
    const cases: [string, string][] = [
      ['EACCES', 'permission denied'],
      ['EPERM', 'operation not permitted (permission)'],
      ['EROFS', 'read-only file system'],
      ['ENOSPC', 'no space left on device (disk full)'],
      ['EDQUOT', 'disk quota exceeded'],
      ['EISDIR', 'is a directory, expected a file'],
    ];
    for (const [code, cause] of cases) {
      const e = describeFsError(errno(code, 'open', '/out/x.json'), '/out/x.json', 'write');
      expect(e).toBeInstanceOf(FsError);
      expect(e.message).toBe(`cannot write /out/x.json: ${cause} (${code})`);
      expect((e as FsError).code).toBe(code);
    }
    expect(describeFsError(errno('EROFS', 'mkdir', '/ro'), '/ro/runs/a', 'create the run directory').message).toBe('cannot create the run directory /ro/runs/a (at /ro): read-only file system (EROFS)');
    expect(describeFsError(errno('EWHATEVER'), '/x', 'write').message).toBe('cannot write /x: EWHATEVER: something, open (EWHATEVER)');
  });

  it('passes other errors through unchanged', () => {
    const plain = new Error('not an fs error');
    expect(describeFsError(plain, '/x', 'write')).toBe(plain);
    const already = describeFsError(errno('EROFS'), '/x', 'write');
    expect(describeFsError(already, '/y', 'read')).toBe(already);
  });

  it('real errors: disk full (/dev/full), a file in the way (ENOTDIR), EEXIST', () => {
    if (fs.existsSync('/dev/full')) {
      expect(() => withFsErrors('/dev/full', 'write', () => fs.writeFileSync('/dev/full', 'x'))).toThrow('cannot write /dev/full: no space left on device (disk full) (ENOSPC)');
    }
    const d = tmp();
    const file = path.join(d, 'f');
    fs.writeFileSync(file, 'x');
    expect(() => withFsErrors(path.join(file, 'a.json'), 'write', () => fs.writeFileSync(path.join(file, 'a.json'), 'x'))).toThrow(`cannot write ${path.join(file, 'a.json')}: ${file} is a file, not a directory (ENOTDIR)`);
    expect(() => withFsErrors(file, 'create', () => fs.mkdirSync(file))).toThrow(`cannot create ${file}: already exists and is not a directory (EEXIST)`);
  });
});

describe('makeDirs', () => {
  it('creates missing levels, accepts an existing directory', () => {
    const d = path.join(tmp(), 'a', 'b', 'c');
    makeDirs(d);
    expect(fs.statSync(d).isDirectory()).toBe(true);
    makeDirs(d);
  });

  it('a file in the way, at the path or above it: ENOTDIR naming the file', () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    expect(() => makeDirs(file, 'create the run directory')).toThrow(`cannot create the run directory ${file}: ${file} is a file, not a directory (ENOTDIR)`);
    expect(() => makeDirs(path.join(file, 'x', 'y'))).toThrow(`cannot create the directory ${path.join(file, 'x', 'y')}: ${file} is a file, not a directory (ENOTDIR)`);
  });

  it('fails (does not loop) where mkdir gives ENOENT under an existing parent (/proc)', { timeout: 10_000 }, () => {
    if (!fs.existsSync('/proc/self')) return;
    let code: string | undefined;
    try {
      fs.mkdirSync('/proc/camels-probe');
      fs.rmdirSync('/proc/camels-probe');
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    if (code !== 'ENOENT') return;
    expect(() => makeDirs('/proc/camels-x/y')).toThrow('cannot create the directory /proc/camels-x/y (at /proc/camels-x): the file system does not allow creating a directory here (ENOENT)');
  });
});
