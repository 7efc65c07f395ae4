// A run's directory: outputs/<task>/<dataset>/<time>/ with the resolved config, a log, metrics as
// JSONL, atomic checkpoints and a resume state file.

import fs from 'node:fs';
import path from 'node:path';
import { makeDirs, withFsErrors } from '../../engine/io/fs-errors.js';
import type { Config } from '../config.js';

export class RunDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    makeDirs(dir, 'create the run directory');
  }

  /** A new run directory (or the one given by `resume`). */
  static create(outputs: string, task: string, dataset: string, resume: string | null): RunDir {
    if (resume) {
      if (!fs.existsSync(path.join(resume, 'config.json'))) throw new Error(`--resume: '${resume}' is not a run directory (no config.json)`);
      return new RunDir(resume);
    }
    const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
    let dir = path.join(outputs, task, dataset, stamp);
    for (let i = 1; fs.existsSync(dir); i++) dir = path.join(outputs, task, dataset, `${stamp}_${i}`);
    return new RunDir(dir);
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  writeConfig(cfg: Config): void {
    writeAtomic(this.path('config.json'), JSON.stringify(cfg, null, 2) + '\n');
  }

  log(line: string): void {
    withFsErrors(this.path('log.txt'), 'write', () => fs.appendFileSync(this.path('log.txt'), `[${new Date().toISOString()}] ${line}\n`));
  }

  metric(record: Record<string, unknown>): void {
    withFsErrors(this.path('metrics.jsonl'), 'write', () => fs.appendFileSync(this.path('metrics.jsonl'), JSON.stringify({ time: Date.now(), ...record }) + '\n'));
  }

  readMetrics(): Record<string, unknown>[] {
    const f = this.path('metrics.jsonl');
    if (!fs.existsSync(f)) return [];
    return withFsErrors(f, 'read', () => fs.readFileSync(f, 'utf8'))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  saveState(state: unknown): void {
    writeAtomic(this.path('state.json'), JSON.stringify(state, null, 2));
  }

  loadState<T>(): T | null {
    const f = this.path('state.json');
    return fs.existsSync(f) ? (JSON.parse(withFsErrors(f, 'read', () => fs.readFileSync(f, 'utf8'))) as T) : null;
  }
}

/** Write via a temporary file and rename, so a kill never leaves a half-written file. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  makeDirs(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}`;
  withFsErrors(tmp, 'write', () => fs.writeFileSync(tmp, data));
  withFsErrors(file, `rename ${tmp} to`, () => fs.renameSync(tmp, file));
}

/** Replace a directory atomically: write into dir.tmp, then swap. */
export async function writeDirAtomic(dir: string, write: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  withFsErrors(tmp, 'remove', () => fs.rmSync(tmp, { recursive: true, force: true }));
  makeDirs(tmp);
  await write(tmp);
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) withFsErrors(old, `rename ${dir} to`, () => fs.renameSync(dir, old));
  withFsErrors(dir, `rename ${tmp} to`, () => fs.renameSync(tmp, dir));
  withFsErrors(old, 'remove', () => fs.rmSync(old, { recursive: true, force: true }));
}
